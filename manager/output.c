/* Workers' output pipes: read them without blocking, cut what they carry
 * into log lines tagged with pool and pid, free each reader at end of
 * file (which may come after its worker died: its children hold on). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"
#include "output.h"

/* Room for a burst: a worker blocks on write only once this much waits
 * unread, and only until the master's next turn. */
#define PIPE_SIZE (256 * 1024)
/* One read of at most this much per wake-up: the loop is level-triggered,
 * so a chatty worker gets the rest on the next turn, after the others. */
#define READ_MAX (64 * 1024)
/* At exit, at most this much more is read from each pipe: a worker's
 * child still writing must not keep the master from exiting. */
#define DRAIN_MAX (1024 * 1024)

/* A whole piece with markers, tag and log prefix must fit one log line. */
_Static_assert(LOG_LINE_MAX >= OUTPUT_LINE_MAX + 512,
               "a worker's output line must fit in a log line");

struct output {
    struct watch watch;         /* first: the loop hands back &watch */
    struct manager *m;
    struct output *prev;
    struct output *next;
    char *pool;                 /* a copy: a reload may free the conf */
    pid_t pid;                  /* the worker forked with this pipe */
    int write_fd;               /* the master's copy, until the fork */
    struct output_lines lines;
};

/* Every open reader, for output_drain_all. */
static struct output *outputs;
/* The master is single-threaded: one read buffer serves every pipe. */
static char read_buf[READ_MAX];

/* Where to cut a full buffer: before a UTF-8 sequence the cut would
 * break, so that each piece stays valid text when the line is. */
static size_t
cut_point(const char *buf, size_t len)
{
    const unsigned char *b = (const unsigned char *)buf;
    size_t i = len;

    while (i > 0 && len - i < 3 && (b[i - 1] & 0xc0) == 0x80)
        i--;
    if (i == 0 || b[i - 1] < 0xc0)
        return len;
    size_t need = b[i - 1] >= 0xf0 ? 4 : b[i - 1] >= 0xe0 ? 3 : 2;
    return len - (i - 1) < need ? i - 1 : len;
}

/* The buffer is full: pass it on as a piece the next one continues,
 * keeping back only an unfinished UTF-8 sequence. */
static void
cut(struct output_lines *ol, output_line_fn *fn, void *ctx)
{
    size_t at = cut_point(ol->buf, ol->len);
    unsigned part = OUTPUT_PART_MORE;

    if (ol->continued)
        part |= OUTPUT_PART_CONTINUED;
    fn(ctx, ol->buf, at, part);
    memmove(ol->buf, ol->buf + at, ol->len - at);
    ol->len -= at;
    ol->continued = true;
}

static void
append(struct output_lines *ol, const char *s, size_t n,
       output_line_fn *fn, void *ctx)
{
    if (ol->len + n > sizeof(ol->buf))
        cut(ol, fn, ctx);
    memcpy(ol->buf + ol->len, s, n);
    ol->len += n;
}

/* A log line is one line: control bytes but tab become \xNN. Bytes from
 * 0x80 up pass as they are, so UTF-8 text reads as it was written. */
static void
add_byte(struct output_lines *ol, unsigned char c, output_line_fn *fn,
         void *ctx)
{
    static const char hex[] = "0123456789abcdef";

    if ((c < 0x20 && c != '\t') || c == 0x7f) {
        char esc[4] = { '\\', 'x', hex[c >> 4], hex[c & 0xf] };
        append(ol, esc, sizeof(esc), fn, ctx);
    } else {
        char ch = (char)c;
        append(ol, &ch, 1, fn, ctx);
    }
}

static void
end_line(struct output_lines *ol, output_line_fn *fn, void *ctx)
{
    fn(ctx, ol->buf, ol->len, ol->continued ? OUTPUT_PART_CONTINUED : 0);
    ol->len = 0;
    ol->continued = false;
}

void
output_lines_feed(struct output_lines *ol, const char *data, size_t n,
                  output_line_fn *fn, void *ctx)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)data[i];
        /* A \r is held until the next byte, which may come in the next
         * read: before \n it is dropped (CRLF), elsewhere escaped. */
        if (ol->cr) {
            ol->cr = false;
            if (c != '\n')
                add_byte(ol, '\r', fn, ctx);
        }
        if (c == '\n')
            end_line(ol, fn, ctx);
        else if (c == '\r')
            ol->cr = true;
        else
            add_byte(ol, c, fn, ctx);
    }
}

void
output_lines_flush(struct output_lines *ol, output_line_fn *fn, void *ctx)
{
    ol->cr = false;             /* trailing, as before a \n */
    if (ol->len > 0)
        end_line(ol, fn, ctx);
}

/* php-fpm's choice: what a worker prints is a warning, since stdout and
 * stderr share the pipe and a FastCGI program answers on its socket. */
static void
log_line(void *ctx, const char *text, size_t len, unsigned part)
{
    const struct output *o = ctx;

    log_warn("pool %s: worker %d: %s%.*s%s", o->pool, (int)o->pid,
             part & OUTPUT_PART_CONTINUED ? OUTPUT_MARK_CONTINUED : "",
             (int)len, text, part & OUTPUT_PART_MORE ? OUTPUT_MARK_MORE : "");
}

/* Close o's descriptors, unlink and free it. The caller has taken the
 * read end out of the epoll set, or the loop is over. */
static void
output_free(struct output *o)
{
    if (close(o->watch.fd) == -1)
        log_warn_errno("pool %s: worker %d: cannot close its output pipe",
                       o->pool, (int)o->pid);
    if (o->write_fd != -1)
        close(o->write_fd);     /* never handed to a worker: no data lost */
    if (o->prev != NULL)
        o->prev->next = o->next;
    else
        outputs = o->next;
    if (o->next != NULL)
        o->next->prev = o->prev;
    free(o->pool);
    free(o);
}

static void
on_readable(struct manager *m, struct watch *w, uint32_t events)
{
    struct output *o = (struct output *)w;  /* watch is the first member */
    ssize_t n = read(w->fd, read_buf, sizeof(read_buf));

    (void)events;
    if (n > 0) {
        output_lines_feed(&o->lines, read_buf, (size_t)n, log_line, o);
        return;
    }
    if (n == -1 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n == -1)
        log_warn_errno("pool %s: worker %d: cannot read its output",
                       o->pool, (int)o->pid);
    /* End of file: the worker and every child of it closed the pipe. */
    output_lines_flush(&o->lines, log_line, o);
    /* Out of the set before closing: a worker being forked may still
     * hold a copy of this read end, which would keep the stale
     * registration (and this freed pointer) alive. */
    loop_unwatch(m, w);
    output_free(o);
}

/* Make a pipe whose read end the master watches. 0 or -1 (logged). */
static int
open_pipe(struct output *o)
{
    int fds[2];

    if (pipe2(fds, O_CLOEXEC) == -1) {
        log_error_errno("pool %s: cannot make a pipe for a worker's output; "
                        "it keeps the master's stderr", o->pool);
        return -1;
    }
    o->watch.fd = fds[0];
    o->write_fd = fds[1];
    /* Only the master's end: the worker's stays blocking, as programs
     * expect of their stdout and stderr. */
    if (fcntl(fds[0], F_SETFL, O_NONBLOCK) == -1) {
        log_error_errno("pool %s: cannot make a worker's output pipe "
                        "non-blocking", o->pool);
        goto fail;
    }
    if (fcntl(fds[0], F_SETPIPE_SZ, PIPE_SIZE) == -1)
        log_debug("pool %s: cannot grow a worker's output pipe to %d "
                  "bytes: %s", o->pool, PIPE_SIZE, strerror(errno));
    o->watch.fn = on_readable;
    if (loop_watch(o->m, &o->watch, EPOLLIN) == -1)
        goto fail;
    return 0;
fail:
    close(fds[0]);
    close(fds[1]);
    return -1;
}

struct output *
output_open(struct manager *m, const char *pool)
{
    struct output *o = calloc(1, sizeof(*o));

    if (o == NULL || (o->pool = strdup(pool)) == NULL) {
        log_error_errno("pool %s: cannot allocate a worker's output reader",
                        pool);
        free(o);
        return NULL;
    }
    o->m = m;
    o->watch.fd = -1;
    o->write_fd = -1;
    if (open_pipe(o) == -1) {
        free(o->pool);
        free(o);
        return NULL;
    }
    o->next = outputs;
    if (outputs != NULL)
        outputs->prev = o;
    outputs = o;
    return o;
}

int
output_write_fd(const struct output *o)
{
    return o->write_fd;
}

void
output_attach(struct output *o, pid_t pid)
{
    o->pid = pid;
    /* Only the worker and its children may hold the write end, or end of
     * file would never come. */
    if (close(o->write_fd) == -1)
        log_warn_errno("pool %s: worker %d: cannot close the master's end "
                       "of its output pipe", o->pool, (int)pid);
    o->write_fd = -1;
}

void
output_abort(struct output *o)
{
    loop_unwatch(o->m, &o->watch);
    output_free(o);
}

/* Read what is left in o's pipe, up to DRAIN_MAX, and log it. */
static void
drain_one(struct output *o)
{
    size_t total = 0;

    while (total < DRAIN_MAX) {
        ssize_t n = read(o->watch.fd, read_buf, sizeof(read_buf));
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1 && errno != EAGAIN)
            log_warn_errno("pool %s: worker %d: cannot read its output",
                           o->pool, (int)o->pid);
        if (n <= 0)
            break;
        output_lines_feed(&o->lines, read_buf, (size_t)n, log_line, o);
        total += (size_t)n;
    }
    output_lines_flush(&o->lines, log_line, o);
    if (total >= DRAIN_MAX)
        log_warn("pool %s: worker %d: still writing at exit; the rest of "
                 "its output is dropped", o->pool, (int)o->pid);
}

void
output_drain_all(void)
{
    while (outputs != NULL) {
        struct output *o = outputs;
        drain_one(o);
        /* No loop_unwatch: the loop is over, and closing the last
         * descriptor of the pipe's read end drops its registration. */
        output_free(o);
    }
}
