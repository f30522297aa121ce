/* The accept loop of cgi and module workers (libfcgi owns the protocol):
 * scoreboard state, access and slow logs, recycling, and the request
 * timeout of modules. */
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
#include "handler.h"
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
};


/* SIGTERM: the master's fast stop, or its death (the parent-death
 * signal, worker.c). Set while a request runs (from accept to finish)
 * and when SIGTERM came during one. */
static volatile sig_atomic_t serving;
static volatile sig_atomic_t stop_asked;
/* Not a socket: put on fd 0 in place of the listening socket. */
static int not_listening_fd = -1;

/* Idle, the worker leaves at once. Serving, it gives up the listening
 * socket at once, so that a master started anew can bind its address
 * (nothing answers there any more), and leaves after the request: no
 * worker accepts once its master is gone. dup2 rather than close keeps
 * fd 0 from being reused by the request's own descriptors. This replaces
 * libfcgi's handler, which only asks its accept loop to end: a worker
 * busy for long would keep the socket, and one waiting for the first
 * bytes of a connection it has just accepted would spin. */
static void
on_term(int sig)
{
    (void)sig;
    if (!serving)
        _exit(0);
    if (not_listening_fd != -1)
        dup2(not_listening_fd, 0);
    stop_asked = 1;
}

/* After FCGX_Init, which installs libfcgi's SIGTERM handler. 0 or -1. */
static int
catch_term(const struct pool_conf *pc)
{
    struct sigaction sa = { .sa_handler = on_term };

    not_listening_fd = eventfd(0, EFD_CLOEXEC);
    if (not_listening_fd == -1) {
        log_error_errno("pool %s: worker %d: eventfd", pc->name,
                        (int)getpid());
        return -1;
    }
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGTERM, &sa, NULL) == -1) {
        log_error_errno("pool %s: worker %d: cannot handle SIGTERM",
                        pc->name, (int)getpid());
        return -1;
    }
    return 0;
}

static uint64_t
mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
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
    char when[32];
    localtime_r(&now, &tm);
    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
    int n = snprintf(line, size, "%s pool %s worker %d: %s %s took %.3fs "
                     "(status %d)\n", when, pc->name, (int)getpid(),
                     method ? method : "-", uri ? uri : "-", duration,
                     status);
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

/* Whether the rest of r's input, to its end record, is already here: read
 * it (at most DRAIN_MAX bytes) with the socket non-blocking, so that a
 * client that has not sent it costs nothing but its kept connection. A
 * handler that never reads the body (a GET, whose empty end record has
 * not been read either) then keeps nginx's connection (FCGI_KEEP_CONN)
 * for the next request. */
static bool
input_drained(FCGX_Request *r)
{
    char buf[4096];
    size_t total = 0;

    if (FCGX_HasSeenEOF(r->in))
        return FCGX_GetError(r->in) == 0;
    int fl = fcntl(r->ipcFd, F_GETFL);
    if (fl == -1 || fcntl(r->ipcFd, F_SETFL, fl | O_NONBLOCK) == -1)
        return false;
    while (!FCGX_HasSeenEOF(r->in) && total < DRAIN_MAX) {
        int n = FCGX_GetStr(buf, sizeof(buf), r->in);
        if (n <= 0)
            break;
        total += (size_t)n;
    }
    /* libfcgi takes EAGAIN for an error and marks the stream closed:
     * HasSeenEOF alone cannot tell a real end from that. */
    bool drained = FCGX_HasSeenEOF(r->in) && FCGX_GetError(r->in) == 0;
    if (fcntl(r->ipcFd, F_SETFL, fl) == -1)
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

static void
serve_one(struct serve *sv, FCGX_Request *r)
{
    const struct pool_conf *pc = sv->pc;
    uint64_t t0 = mono_ms();
    double start = wall_s();
    const char *uri = param(r, "REQUEST_URI");

    scoreboard_begin_request(sv->slot, param(r, "REQUEST_METHOD"),
                             uri != NULL ? uri : param(r, "SCRIPT_NAME"),
                             t0);
    wake_master(sv);
    arm_timeout(pc, true);
    int status = pc->mode == MODE_CGI ? cgi_handle(r, pc) : module_handle(r);
    arm_timeout(pc, false);
    double duration = (double)(mono_ms() - t0) / 1000.0;
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
    bool drained = input_drained(r);
    if (r->keepConnection && (stop_asked || !drained))
        r->keepConnection = 0;
    /* Input read to its end: nothing is left that a close could make the
     * kernel discard, so close at once instead of libfcgi's shutdown and
     * wait for the client to close (up to 2 s, with the worker unable to
     * accept). Issue 11's fast close. */
    if (!r->keepConnection && drained)
        FCGX_Detach(r);
    /* The client has its answer before we write logs. */
    FCGX_Finish_r(r);
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
    unsigned seed = (unsigned)getpid() ^ (unsigned)mono_ms();

    if (pc->max_requests == 0)
        return 0;
    if (pc->max_requests_jitter == 0)
        return pc->max_requests;
    return pc->max_requests
           + (unsigned long)rand_r(&seed) % (pc->max_requests_jitter + 1);
}

noreturn void
serve_main(const struct pool_conf *pc, struct scoreboard *sb, size_t slot,
           int wake_fd)
{
    struct serve sv = { .pc = pc, .sb = sb,
                        .slot = scoreboard_slot(sb, slot),
                        .limit = request_limit(pc), .wake_fd = wake_fd };
    uint32_t gen = sb != NULL ? sb->log_generation : 0;
    FCGX_Request req;

    if (FCGX_Init() != 0 || FCGX_InitRequest(&req, 0, 0) != 0) {
        log_error("pool %s: worker %d: cannot initialise libfcgi",
                  pc->name, (int)getpid());
        _exit(1);
    }
    if (catch_term(pc) == -1)
        _exit(1);
    /* With preload the master loaded it already: then this is a no-op. */
    if (pc->mode == MODE_MODULE && module_load(pc) == -1)
        _exit(1);
    log_file_open(&sv.access, pc->access_log, gen);
    log_file_open(&sv.slow, pc->slowlog, gen);
    scoreboard_set_state(sv.slot, SB_IDLE);
    bool recycled = false;
    /* FCGX_Accept_r fails once libfcgi's SIGUSR1 handler has asked for
     * shutdown: the master's stop signal ends the loop between requests. */
    while (!recycled && !stop_asked && FCGX_Accept_r(&req) >= 0) {
        serving = 1;
        serve_one(&sv, &req);
        serving = 0;
        recycled = recycle_due(&sv);
    }
    scoreboard_set_state(sv.slot, recycled ? SB_RECYCLING : SB_STOPPING);
    if (pc->mode == MODE_MODULE)
        module_unload();
    /* A module's stdio goes out, but no atexit handler the master may
     * have registered runs in this child. */
    fflush(NULL);
    _exit(0);
}
