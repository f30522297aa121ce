/* Workers' output pipes: read them without blocking, cut what they carry
 * into log lines tagged with pool and pid, free each reader at end of
 * file (which may come after its worker died: its children hold on). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"
#include "manager.h"
#include "output.h"
#include "sys.h"

/* Room for a burst: a worker blocks on write only once this much waits
 * unread, and only until the master's next turn. */
#define PIPE_SIZE (256 * 1024)
/* One read of at most this much per wake-up: the loop is level-triggered,
 * so a chatty worker gets the rest on the next turn, after the others. */
#define READ_MAX (64 * 1024)
/* At exit, at most this much more is read from each pipe: a worker's
 * child still writing must not keep the master from exiting. */
#define DRAIN_MAX (1024 * 1024)
/* A worker over its output_rate_limit is read no more often than this:
 * what it writes is dropped, and reading it line by line as it comes
 * would keep the master busy all the same. It blocks only when it fills
 * PIPE_SIZE in that time (over 25 MB/s). */
#define FLOOD_PAUSE_MS 10

/* A whole piece with markers, tag and log prefix must fit one log line. */
_Static_assert(LOG_LINE_MAX >= LINES_MAX + 512,
               "a worker's output line must fit in a log line");

struct output {
    struct watch watch;         /* first: the loop hands back &watch */
    struct manager *m;
    struct output *prev;
    struct output *next;
    char *pool;                 /* a copy: a reload may free the conf */
    pid_t pid;                  /* the worker forked with this pipe */
    int write_fd;               /* the master's copy, until the fork */
    uint64_t resume_at;         /* not watched until then; 0: watched */
    bool own_levels;            /* cgi, module: the worker is fcgipm's own
                                   code, whose "<N>" lines keep their level */
    struct output_budget budget;
    struct lines lines;
};

/* The master is single-threaded: one read buffer serves every pipe. */
static char read_buf[READ_MAX];

/* The line being assembled is dropped: the budget ran out in it. */
static void
drop_line(struct lines *ol, struct output_budget *b)
{
    b->dropping = true;
    b->dropped_bytes += ol->len;
    ol->len = 0;
    ol->continued = false;
    ol->cr = false;
    ol->npend = 0;
}

/* Count dropped bytes up to and with the first end of line; the rest is
 * not dropped unless the budget is still spent. Returns the bytes taken. */
static size_t
drop_to_eol(struct output_budget *b, const char *data, size_t n)
{
    const char *nl = memchr(data, '\n', n);
    size_t k = nl != NULL ? (size_t)(nl - data) + 1 : n;

    b->dropped_bytes += k;
    if (nl != NULL) {
        b->dropped_lines++;
        b->dropping = false;
    }
    return k;
}

void
output_take(struct lines *ol, struct output_budget *b,
            const char *data, size_t n, uint64_t now, lines_fn *fn,
            void *ctx)
{
    if (b->limit == 0) {
        lines_feed(ol, data, n, fn, ctx);
        return;
    }
    if (b->window_end_at == 0 || now >= b->window_end_at) {
        b->window_end_at = now + 1000;
        b->used = 0;
    }
    while (n > 0) {
        if (!b->dropping && b->used >= b->limit)
            drop_line(ol, b);
        size_t k;
        if (b->dropping) {
            k = drop_to_eol(b, data, n);
        } else {
            k = b->limit - b->used < n ? (size_t)(b->limit - b->used) : n;
            lines_feed(ol, data, k, fn, ctx);
            b->used += k;
        }
        data += k;
        n -= k;
    }
}

bool
output_budget_report(struct output_budget *b, uint64_t now,
                     unsigned long long *lines, unsigned long long *bytes)
{
    if (b->dropped_bytes == 0 || now < b->window_end_at)
        return false;
    /* A line still being dropped is counted with the next report. */
    *lines = b->dropped_lines;
    *bytes = b->dropped_bytes;
    b->dropped_lines = b->dropped_bytes = 0;
    return true;
}

size_t
output_relayed_level(const char *text, size_t len, const char *pool,
                     pid_t pid, enum log_level *level)
{
    static const enum log_level of_prio[] = {
        LOG_LEVEL_ERROR, LOG_LEVEL_ERROR, LOG_LEVEL_ERROR, LOG_LEVEL_ERROR,
        LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG,
    };
    char self[128];

    if (len < 3 || text[0] != '<' || text[1] < '0' || text[1] > '7'
        || text[2] != '>')
        return 0;
    *level = of_prio[text[1] - '0'];
    int n = snprintf(self, sizeof(self), "pool %s: worker %d: ", pool,
                     (int)pid);
    if (n > 0 && (size_t)n < sizeof(self) && len - 3 >= (size_t)n
        && memcmp(text + 3, self, (size_t)n) == 0)
        return 3 + (size_t)n;
    return 3;
}

/* php-fpm's choice: what a worker prints is a warning, since stdout and
 * stderr share the pipe and a FastCGI program answers on its socket. The
 * worker's own messages come with their level (log_relay). */
static void
log_line(void *ctx, const char *text, size_t len, unsigned part)
{
    const struct output *o = ctx;
    enum log_level level = LOG_LEVEL_WARN;

    if (!(part & LINES_PART_CONTINUED)) {
        size_t skip = output_relayed_level(text, len, o->pool, o->pid,
                                           &level);
        text += skip;
        len -= skip;
        /* An exec program could print "<3>" too: its lines, and our own
         * before its exec, stay warnings. */
        if (!o->own_levels)
            level = LOG_LEVEL_WARN;
    }
    LOG_AT(level, 0, "pool %s: worker %d: %s%.*s%s", o->pool, (int)o->pid,
           part & LINES_PART_CONTINUED ? LINES_MARK_CONTINUED : "",
           (int)len, text, part & LINES_PART_MORE ? LINES_MARK_MORE : "");
}

/* Log o's count of dropped lines if its second is over (or at end of
 * file, whatever the time: UINT64_MAX). */
static void
report_drops(struct output *o, uint64_t now)
{
    unsigned long long lines, bytes;

    if (!output_budget_report(&o->budget, now, &lines, &bytes))
        return;
    o->m->outputs.nreports_due--;
    log_warn("pool %s: worker %d: output over output_rate_limit (%llu "
             "bytes a second): %llu lines (%llu bytes) dropped", o->pool,
             (int)o->pid, o->budget.limit, lines, bytes);
}

/* Take n bytes read from o's pipe. Returns whether o is dropping. */
static bool
take(struct output *o, const char *data, size_t n)
{
    uint64_t now = sys_now_ms();
    bool was_due = o->budget.dropped_bytes > 0;

    report_drops(o, now);
    output_take(&o->lines, &o->budget, data, n, now, log_line, o);
    if (!was_due && o->budget.dropped_bytes > 0)
        o->m->outputs.nreports_due++;
    return o->budget.dropping;
}

/* o floods: stop watching it for FLOOD_PAUSE_MS. */
static void
pause_reading(struct output *o)
{
    loop_unwatch(o->m, &o->watch);
    o->resume_at = sys_now_ms() + FLOOD_PAUSE_MS;
    o->m->outputs.npaused++;
}

static void
resume_reading(struct output *o)
{
    o->resume_at = 0;
    o->m->outputs.npaused--;
    if (loop_watch(o->m, &o->watch, EPOLLIN) == -1)
        log_error("pool %s: worker %d: its output is no longer read",
                  o->pool, (int)o->pid);
}

/* Close o's descriptors, unlink and free it. The caller has taken the
 * read end out of the epoll set, or the loop is over. */
static void
output_free(struct output *o)
{
    struct output_set *set = &o->m->outputs;

    report_drops(o, UINT64_MAX);
    if (o->resume_at != 0)
        set->npaused--;
    if (close(o->watch.fd) == -1)
        log_warn_errno("pool %s: worker %d: cannot close its output pipe",
                       o->pool, (int)o->pid);
    if (o->write_fd != -1)
        close(o->write_fd);     /* never handed to a worker: no data lost */
    if (o->prev != NULL)
        o->prev->next = o->next;
    else
        set->list = o->next;
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
        if (take(o, read_buf, (size_t)n))
            pause_reading(o);
        return;
    }
    if (n == -1 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n == -1)
        log_warn_errno("pool %s: worker %d: cannot read its output",
                       o->pool, (int)o->pid);
    /* End of file: the worker and every child of it closed the pipe. */
    lines_flush(&o->lines, log_line, o);
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
output_open(struct manager *m, const struct pool_conf *pc)
{
    struct output *o = calloc(1, sizeof(*o));

    if (o == NULL || (o->pool = strdup(pc->name)) == NULL) {
        log_error_errno("pool %s: cannot allocate a worker's output reader",
                        pc->name);
        free(o);
        return NULL;
    }
    o->m = m;
    o->budget.limit = pc->output_rate_limit;
    o->own_levels = pc->mode != MODE_EXEC;
    o->watch.fd = -1;
    o->write_fd = -1;
    if (open_pipe(o) == -1) {
        free(o->pool);
        free(o);
        return NULL;
    }
    o->next = m->outputs.list;
    if (o->next != NULL)
        o->next->prev = o;
    m->outputs.list = o;
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
        take(o, read_buf, (size_t)n);
        total += (size_t)n;
    }
    lines_flush(&o->lines, log_line, o);
    if (total >= DRAIN_MAX)
        log_warn("pool %s: worker %d: still writing at exit; the rest of "
                 "its output is dropped", o->pool, (int)o->pid);
}

void
output_drain_all(struct manager *m)
{
    while (m->outputs.list != NULL) {
        struct output *o = m->outputs.list;
        drain_one(o);
        /* No loop_unwatch: the loop is over, and closing the last
         * descriptor of the pipe's read end drops its registration. */
        output_free(o);
    }
}

uint64_t
output_next_deadline(const struct manager *m)
{
    const struct output_set *set = &m->outputs;
    uint64_t next = NEVER;

    for (const struct output *o = set->list;
         (set->nreports_due > 0 || set->npaused > 0) && o != NULL;
         o = o->next) {
        if (o->budget.dropped_bytes > 0 && o->budget.window_end_at < next)
            next = o->budget.window_end_at;
        if (o->resume_at != 0 && o->resume_at < next)
            next = o->resume_at;
    }
    return next;
}

void
output_run_due(struct manager *m, uint64_t now)
{
    struct output_set *set = &m->outputs;

    for (struct output *o = set->list;
         (set->nreports_due > 0 || set->npaused > 0) && o != NULL;
         o = o->next) {
        report_drops(o, now);
        if (o->resume_at != 0 && now >= o->resume_at)
            resume_reading(o);
    }
}
