/* The request loop of cgi and module workers: conn.c finds the next
 * connection with a whole request head, libfcgi reads it and speaks the
 * protocol, and this file does the rest: scoreboard state, access and
 * slow logs, recycling, stopping, and the request timeout of modules. */
#include <errno.h>
#include <fcgiapp.h>
#include <fcntl.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "access.h"
#include "cgi.h"
#include "clock.h"
#include "conn.h"
#include "handler.h"
#include "lines.h"
#include "log.h"
#include "serve.h"

/* One log file a worker appends to, reopened when the master bumps the
 * scoreboard's log generation (USR1, logrotate). */
struct serve_log {
    const char *path;
    int fd;
    uint32_t generation;
};

struct serve {
    const struct pool_conf *pc;
    struct scoreboard *sb;
    struct sb_slot *slot;
    unsigned long limit;        /* requests before recycling; 0: none */
    unsigned long served;
    struct serve_log access;
    struct serve_log slow;
    int wake_fd;                /* see scoreboard_take_wake; or -1 */
    bool wake_failed;           /* writing it failed: logged */
    struct conn_set conns;
};


/* SIGTERM: the master's fast stop, or its death (the parent-death
 * signal, worker.c); the pool's stop_signal: a graceful stop. serving is
 * set while a request runs (from reading its head to its finish). */
static volatile sig_atomic_t serving;
static volatile sig_atomic_t stop_asked;
/* An eventfd: readable once a stop is asked, which wakes conn.c's
 * epoll_wait whenever the signal lands; and, not being a socket, what
 * fd 0 becomes when SIGTERM gives up the listening socket. */
static int stop_fd = -1;

static void
ask_stop(void)
{
    uint64_t one = 1;
    int saved = errno;

    stop_asked = 1;
    if (write(stop_fd, &one, sizeof(one)) == -1) {
        /* A full counter is readable already. */
    }
    errno = saved;
}

/* Idle, the worker leaves at once. Serving, it gives up the listening
 * socket at once, so that a master started anew can bind its address
 * (nothing answers there any more), and leaves after the request: no
 * worker accepts once its master is gone. dup2 rather than close keeps
 * fd 0 from being reused by the request's own descriptors. */
static void
on_term(int sig)
{
    (void)sig;
    if (!serving)
        _exit(0);
    dup2(stop_fd, 0);
    ask_stop();
}

/* The graceful stop: no more connections; the request in hand and those
 * already received on kept connections are served, then the worker
 * leaves. This replaces libfcgi's SIGUSR1 handler, which would make it
 * drop a connection it had just accepted. */
static void
on_stop(int sig)
{
    (void)sig;
    ask_stop();
}

/* After FCGX_Init, which installs libfcgi's handlers. 0 or -1. */
static int
catch_stop(const struct pool_conf *pc)
{
    /* SA_RESTART: a stop while a request runs must not cut libfcgi's
     * reads and writes short (epoll_wait and poll still return EINTR). */
    struct sigaction term = { .sa_handler = on_term,
                              .sa_flags = SA_RESTART };
    struct sigaction stop = { .sa_handler = on_stop,
                              .sa_flags = SA_RESTART };

    stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (stop_fd == -1) {
        log_error_errno("pool %s: worker %d: eventfd", pc->name,
                        (int)getpid());
        return -1;
    }
    sigemptyset(&term.sa_mask);
    sigemptyset(&stop.sa_mask);
    if (sigaction(SIGTERM, &term, NULL) == -1
        || (pc->stop_signal != SIGTERM
            && sigaction(pc->stop_signal, &stop, NULL) == -1)) {
        log_error_errno("pool %s: worker %d: cannot handle its stop "
                        "signals", pc->name, (int)getpid());
        return -1;
    }
    return 0;
}

/* A request head larger than conn_head.c's peek is read with the worker
 * waiting, in state reading: this timer's signal (without SA_RESTART)
 * ends libfcgi's blocked read at the connection's read deadline. */
static timer_t head_timer;
static bool head_timer_ready;

static void
head_timer_fired(int sig)
{
    (void)sig;                  /* interrupting is all it does */
}

static void
head_timer_make(const struct pool_conf *pc)
{
    struct sigaction sa = { .sa_handler = head_timer_fired };
    struct sigevent ev = { .sigev_notify = SIGEV_SIGNAL,
                           .sigev_signo = SIGRTMIN + 1 };

    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGRTMIN + 1, &sa, NULL) == -1
        || timer_create(CLOCK_MONOTONIC, &ev, &head_timer) == -1) {
        log_warn_errno("pool %s: worker %d: no read timer: request heads "
                       "over %d bytes are refused", pc->name, (int)getpid(),
                       CONN_PEEK_MAX);
        return;
    }
    head_timer_ready = true;
}

/* Past the deadline it fires again every HEAD_TIMER_AGAIN_MS: a signal
 * that lands while libfcgi parses, outside a system call, interrupts
 * nothing. 0 disarms it. */
#define HEAD_TIMER_AGAIN_MS 100

static void
head_timer_set(const struct pool_conf *pc, uint64_t ms)
{
    struct itimerspec it = { 0 };

    it.it_value.tv_sec = (time_t)(ms / 1000);
    it.it_value.tv_nsec = (long)(ms % 1000) * 1000000;
    if (ms > 0)
        it.it_interval.tv_nsec = HEAD_TIMER_AGAIN_MS * 1000000L;
    if (timer_settime(head_timer, 0, &it, NULL) == -1)
        log_warn_errno("pool %s: worker %d: cannot set the read timer",
                       pc->name, (int)getpid());
}

static double
wall_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
log_file_open(struct serve_log *l, const char *path, uint32_t generation)
{
    l->path = path;
    l->generation = generation;
    if (path == NULL) {
        l->fd = -1;
        return;
    }
    l->fd = log_open_file(path);
    if (l->fd == -1)
        log_error_errno("worker %d: cannot open %s", (int)getpid(), path);
}

/* Append one line with one write(2): O_APPEND makes it atomic against
 * the other workers' lines. */
static void
log_file_write(struct serve_log *l, const struct scoreboard *sb,
               const char *line, size_t len)
{
    uint32_t gen = sb != NULL ? __atomic_load_n(&sb->log_generation,
                                                __ATOMIC_ACQUIRE)
                              : 0;

    if (l->path == NULL)
        return;
    if (gen != l->generation) {
        if (l->fd != -1)
            close(l->fd);
        log_file_open(l, l->path, gen);
    }
    if (l->fd != -1 && write(l->fd, line, len) != (ssize_t)len)
        log_warn_errno("worker %d: short write to %s", (int)getpid(),
                       l->path);
}

static const char *
param(FCGX_Request *r, const char *name)
{
    return FCGX_GetParam(name, r->envp);
}

/* The access line for r into line (before FCGX_Finish_r frees the
 * params); its length. */
static size_t
format_access(struct serve *sv, FCGX_Request *r, int status, double start,
              double duration, char *line, size_t size)
{
    const char *uri = param(r, "REQUEST_URI");
    const char *len = param(r, "CONTENT_LENGTH");
    struct access_entry e = {
        .pool = sv->pc->name,
        .pid = (int)getpid(),
        .remote_addr = param(r, "REMOTE_ADDR"),
        .remote_user = param(r, "REMOTE_USER"),
        .method = param(r, "REQUEST_METHOD"),
        .request_uri = uri != NULL ? uri : param(r, "SCRIPT_NAME"),
        .query_string = param(r, "QUERY_STRING"),
        .script_filename = param(r, "SCRIPT_FILENAME"),
        .status = status,
        .start_wall = start,
        .duration_s = duration,
        .content_length = len != NULL ? strtoull(len, NULL, 10) : 0,
    };
    return access_format(sv->pc->access_format, &e, line, size);
}

/* A slow request's line for the slowlog into line (or, without a
 * slowlog, straight to the main log); its length, 0 if not slow. */
static size_t
format_slow(struct serve *sv, FCGX_Request *r, int status, double duration,
            char *line, size_t size)
{
    const struct pool_conf *pc = sv->pc;
    const char *method = param(r, "REQUEST_METHOD");
    const char *uri = param(r, "REQUEST_URI");

    if (pc->slow_request_time_ms == 0
        || duration * 1000.0 < pc->slow_request_time_ms)
        return 0;
    if (uri == NULL)
        uri = param(r, "SCRIPT_NAME");
    if (pc->slowlog == NULL) {
        log_warn("pool %s: worker %d: slow request: %s %s took %.3fs "
                 "(status %d)", pc->name, (int)getpid(),
                 method ? method : "-", uri ? uri : "-", duration, status);
        return 0;
    }
    time_t now = time(NULL);
    struct tm tm;
    char when[32], m[64], u[1024];
    localtime_r(&now, &tm);
    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
    /* The client's bytes: a newline would forge a line of the file, a
     * control sequence would reach whoever reads it on a terminal. */
    method = method ? method : "-";
    uri = uri ? uri : "-";
    lines_clean(m, sizeof(m), method, strlen(method), 0);
    lines_clean(u, sizeof(u), uri, strlen(uri), 0);
    int n = snprintf(line, size, "%s pool %s worker %d: %s %s took %.3fs "
                     "(status %d)\n", when, pc->name, (int)getpid(), m, u,
                     duration, status);
    if (n <= 0)
        return 0;
    return (size_t)n < size ? (size_t)n : size - 1;
}

/* Modules run in this process: a handler stuck past request_timeout is
 * ended by SIGALRM's default action, and the master, seeing the
 * scoreboard busy, logs the request. (CGI scripts have their own
 * timeout in cgi.c and leave the worker alive.) */
static void
arm_timeout(const struct pool_conf *pc, bool on)
{
    struct itimerval it = { 0 };

    if (pc->mode != MODE_MODULE || pc->request_timeout_ms == 0)
        return;
    if (on) {
        it.it_value.tv_sec = pc->request_timeout_ms / 1000;
        it.it_value.tv_usec = (pc->request_timeout_ms % 1000) * 1000;
    }
    if (setitimer(ITIMER_REAL, &it, NULL) == -1)
        log_warn_errno("pool %s: worker %d: setitimer", pc->name,
                       (int)getpid());
}

#define DRAIN_MAX (64 * 1024)   /* unread body a kept connection may skip */

/* Whether the rest of c's input, to its end record, is already here:
 * read it (at most DRAIN_MAX bytes) without waiting for the client, so
 * that a client that has not sent it costs nothing but its kept
 * connection. A handler that never reads the body (a GET, whose empty
 * end record has not been read either) then keeps nginx's connection
 * (FCGI_KEEP_CONN) for the next request. When conn.c saw the whole input
 * in its peek, reading cannot block and the socket stays as it is. */
static bool
input_drained(const struct pool_conf *pc, struct conn *c)
{
    FCGX_Request *r = &c->req;
    char buf[4096];
    size_t total = 0;
    int fl = 0;

    if (FCGX_HasSeenEOF(r->in))
        return FCGX_GetError(r->in) == 0;
    if (!c->input_here) {
        fl = fcntl(r->ipcFd, F_GETFL);
        if (fl == -1 || fcntl(r->ipcFd, F_SETFL, fl | O_NONBLOCK) == -1) {
            log_warn_errno("pool %s: worker %d: connection %d: cannot read "
                           "what is left of its input", pc->name,
                           (int)getpid(), r->ipcFd);
            return false;
        }
    }
    while (!FCGX_HasSeenEOF(r->in) && total < DRAIN_MAX) {
        int n = FCGX_GetStr(buf, sizeof(buf), r->in);
        if (n <= 0)
            break;
        total += (size_t)n;
    }
    /* libfcgi takes EAGAIN for an error and marks the stream closed:
     * HasSeenEOF alone cannot tell a real end from that. */
    bool drained = FCGX_HasSeenEOF(r->in) && FCGX_GetError(r->in) == 0;
    if (!c->input_here && fcntl(r->ipcFd, F_SETFL, fl) == -1)
        return false;
    return drained;
}

/* Gone busy: wake the master if it sleeps counting on every worker idle
 * (pm = dynamic), so that it can start a spare before one is missed. A
 * full counter (EAGAIN) has woken it already. */
static void
wake_master(struct serve *sv)
{
    uint64_t one = 1;

    if (sv->wake_fd == -1 || !scoreboard_take_wake(sv->sb))
        return;
    if (write(sv->wake_fd, &one, sizeof(one)) == -1 && errno != EAGAIN
        && !sv->wake_failed) {
        log_warn_errno("pool %s: worker %d: cannot wake the master",
                       sv->pc->name, (int)getpid());
        sv->wake_failed = true;
    }
}

/* max_body holds for modules as for scripts: a body announced larger is
 * refused before the handler sees the request; conn_finish then drains
 * what still comes, bounded. */
static int
serve_module(FCGX_Request *r, const struct pool_conf *pc)
{
    const char *cl = param(r, "CONTENT_LENGTH");
    unsigned long long len;

    if (pc->max_body == 0 || cl == NULL || cgi_content_length(cl, &len) == -1
        || len <= pc->max_body)
        return module_handle(r);
    log_warn("pool %s: worker %d: body of %llu bytes over max_body (%llu): "
             "413", pc->name, (int)getpid(), len, pc->max_body);
    FCGX_FPrintF(r->out, "Status: 413 Content Too Large\r\n"
                 "Content-Type: text/plain\r\n\r\n413 Content Too Large\n");
    return 413;
}

static void
serve_one(struct serve *sv, struct conn *c)
{
    const struct pool_conf *pc = sv->pc;
    FCGX_Request *r = &c->req;
    uint64_t t0 = clock_now_ms();
    double start = wall_s();
    const char *uri = param(r, "REQUEST_URI");

    scoreboard_begin_request(sv->slot, param(r, "REQUEST_METHOD"),
                             uri != NULL ? uri : param(r, "SCRIPT_NAME"),
                             t0);
    wake_master(sv);
    arm_timeout(pc, true);
    int status = pc->mode == MODE_CGI ? cgi_handle(r, pc)
                                      : serve_module(r, pc);
    arm_timeout(pc, false);
    double duration = (double)(clock_now_ms() - t0) / 1000.0;
    char access[4096], slow[1024];
    size_t alen = pc->access_log == NULL ? 0
                  : format_access(sv, r, status, start, duration, access,
                                  sizeof(access));
    size_t slen = format_slow(sv, r, status, duration, slow, sizeof(slow));
    if (pc->slow_request_time_ms > 0
        && duration * 1000.0 >= pc->slow_request_time_ms)
        scoreboard_count_slow(sv->slot);
    /* A body left unread would be taken for the next request on a kept
     * connection (FCGI_KEEP_CONN): close the connection instead. So does
     * a worker that leaves after this request. */
    bool drained = input_drained(pc, c);
    bool keep = r->keepConnection && drained && !stop_asked
                && pc->keepalive_max > 0;
    /* conn.c closes the connection, not libfcgi: at once when the input
     * was read to its end (nothing is left that a close could make the
     * kernel discard: issue 11's fast close), else after a bounded drain
     * that does not hold the worker. libfcgi closes it only when a write
     * failed, and then without its shutdown and wait (detached). */
    r->keepConnection = 1;
    FCGX_ClearError(r->in);
    /* The client has its answer before we write logs. */
    FCGX_Finish_r(r);
    conn_finish(&sv->conns, c, keep, drained);
    scoreboard_end_request(sv->slot);
    sv->served++;
    if (alen > 0)
        log_file_write(&sv->access, sv->sb, access, alen);
    if (slen > 0)
        log_file_write(&sv->slow, sv->sb, slow, slen);
}

/* Resident memory in bytes, from /proc/self/statm; 0 if unreadable. */
static unsigned long long
resident_bytes(void)
{
    char buf[128];
    unsigned long long size, resident;
    int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);

    if (fd == -1)
        return 0;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    if (sscanf(buf, "%llu %llu", &size, &resident) != 2)
        return 0;
    return resident * (unsigned long long)sysconf(_SC_PAGESIZE);
}

/* Whether this worker should leave now, having said why. */
static bool
recycle_due(struct serve *sv)
{
    const struct pool_conf *pc = sv->pc;

    if (pc->max_rss > 0) {
        unsigned long long rss = resident_bytes();
        if (rss > pc->max_rss) {
            log_info("pool %s: worker %d: recycling: resident memory %llu "
                     "KiB above max_rss %llu KiB", pc->name, (int)getpid(),
                     rss / 1024, pc->max_rss / 1024);
            return true;
        }
    }
    if (sv->limit > 0 && sv->served >= sv->limit) {
        log_info("pool %s: worker %d: recycling after %lu requests",
                 pc->name, (int)getpid(), sv->served);
        return true;
    }
    return false;
}

/* max_requests plus up to max_requests_jitter more, different in each
 * worker, so that workers started together do not recycle together. */
static unsigned long
request_limit(const struct pool_conf *pc)
{
    unsigned seed = (unsigned)getpid() ^ (unsigned)clock_now_ms();

    if (pc->max_requests == 0)
        return 0;
    if (pc->max_requests_jitter == 0)
        return pc->max_requests;
    return pc->max_requests
           + (unsigned long)rand_r(&seed) % (pc->max_requests_jitter + 1);
}

/* Read c's head (waiting, within its read deadline, only when it did not
 * fit the peek) and serve its request. Whether the worker is due to
 * recycle. */
static bool
serve_conn(struct serve *sv, struct conn *c)
{
    bool waits = c->head_timed;

    if (waits) {
        uint64_t now = clock_now_ms();
        if (!head_timer_ready || now >= c->deadline_at) {
            conn_lost(&sv->conns, c);
            return false;
        }
        scoreboard_set_state(sv->slot, SB_READING);
        wake_master(sv);
        head_timer_set(sv->pc, c->deadline_at - now);
    }
    /* Kept and detached, libfcgi neither closes the connection before
     * reading it nor waits for the client when a bad head makes it close
     * it. */
    c->req.keepConnection = 1;
    c->req.detached = 1;
    serving = 1;
    int rc = FCGX_Accept_r(&c->req);
    if (waits) {
        head_timer_set(sv->pc, 0);
        scoreboard_set_state(sv->slot, SB_IDLE);
    }
    if (rc < 0) {
        log_debug("pool %s: worker %d: no whole request head (a bad "
                  "record, or read_timeout: libfcgi %d): connection closed",
                  sv->pc->name, (int)getpid(), rc);
        serving = 0;
        conn_lost(&sv->conns, c);
        return false;
    }
    serve_one(sv, c);
    serving = 0;
    return recycle_due(sv);
}

noreturn void
serve_main(const struct pool_conf *pc, struct scoreboard *sb, size_t slot,
           int wake_fd)
{
    struct serve sv = { .pc = pc, .sb = sb,
                        .slot = scoreboard_slot(sb, slot),
                        .limit = request_limit(pc), .wake_fd = wake_fd };
    uint32_t gen = sb != NULL ? sb->log_generation : 0;

    if (FCGX_Init() != 0) {
        log_error("pool %s: worker %d: cannot initialise libfcgi",
                  pc->name, (int)getpid());
        _exit(1);
    }
    if (catch_stop(pc) == -1
        || conn_set_open(&sv.conns, pc, stop_fd, &stop_asked) == -1)
        _exit(1);
    head_timer_make(pc);
    /* With preload the master loaded it already: then this is a no-op. */
    if (pc->mode == MODE_MODULE && module_load(pc) == -1)
        _exit(1);
    log_file_open(&sv.access, pc->access_log, gen);
    log_file_open(&sv.slow, pc->slowlog, gen);
    scoreboard_set_state(sv.slot, SB_IDLE);
    bool recycled = false;
    struct conn *c;
    while (!recycled && (c = conn_next(&sv.conns)) != NULL)
        recycled = serve_conn(&sv, c);
    scoreboard_set_state(sv.slot, recycled ? SB_RECYCLING : SB_STOPPING);
    /* What the web server has sent already is answered, not dropped. */
    stop_asked = 1;
    while ((c = conn_next_pending(&sv.conns)) != NULL)
        serve_conn(&sv, c);
    conn_set_close(&sv.conns);
    if (pc->mode == MODE_MODULE)
        module_unload();
    /* A module's stdio goes out, but no atexit handler the master may
     * have registered runs in this child. */
    fflush(NULL);
    _exit(0);
}
