/* The CGI gateway (mode = cgi): each request runs one CGI/1.1 script
 * (RFC 3875) in its own process group, with the request body streamed
 * to its stdin and its stdout streamed back (cgi_io.c), under
 * request_timeout, which holds while the web server blocks us too. */
#include <errno.h>
#include <fcgiapp.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cgi.h"
#include "cgi_proc.h"
#include "cgi_run.h"
#include "clock.h"
#include "handler.h"
#include "log.h"
#include "wstatus.h"

/* Without kill_timeout: SIGKILL this long after SIGTERM. */
#define CGI_KILL_MS 2000
/* Nothing was sent, the client left: nginx's number for it. */
#define CGI_CLIENT_GONE 499
/* Past request_timeout, the request timer fires again this often until
 * the connection is shut: a signal that came between two system calls
 * interrupted nothing, the next one does. */
#define CGI_TIMER_REPEAT_MS 100

void
cgi_close(int *fd)
{
    if (*fd != -1 && close(*fd) == -1 && errno != EINTR)
        log_warn_errno("worker %d: close fd %d", (int)getpid(), *fd);
    *fd = -1;
}

/* A whole small response of fcgipm's own; returns status. */
int
cgi_send_error(FCGX_Request *req, int status)
{
    FCGX_FPrintF(req->out, "Status: %d %s\r\nContent-Type: text/plain\r\n"
                 "\r\n%d %s\n", status, cgi_reason(status), status,
                 cgi_reason(status));
    return status;
}

/* A script that exits without reading its body must not take the worker
 * with SIGPIPE. libfcgi's FCGX_Init installs a handler; make sure. */
static void
cgi_ignore_sigpipe(void)
{
    struct sigaction sa;

    if (sigaction(SIGPIPE, NULL, &sa) == -1 || sa.sa_handler != SIG_DFL)
        return;
    sa.sa_handler = SIG_IGN;
    if (sigaction(SIGPIPE, &sa, NULL) == -1)
        log_warn_errno("worker %d: cannot ignore SIGPIPE", (int)getpid());
}

/* What the worker sets up at its first request. As a child subreaper it
 * inherits what a script's descendants leave outside its process group
 * (setsid, daemons), and kills it after the request (cgi_sweep). */
static void
cgi_setup(void)
{
    static bool done;

    if (done)
        return;
    done = true;
    cgi_ignore_sigpipe();
    if (cgi_proc_adopt_orphans() == -1)
        log_warn_errno("worker %d: cannot become a child subreaper: what "
                       "a script moves out of its process group outlives "
                       "its request", (int)getpid());
}

/*
 * The request timer. libfcgi blocks in read or write on the web server
 * (a body that stalls half-way, a response nobody reads) where poll
 * cannot help: it reads whole records. A signal whose handler is
 * installed without SA_RESTART ends such a call with EINTR, which
 * libfcgi takes for an error on the stream: the call returns, and the
 * deadline holds. Not SIGALRM, module mode's.
 */
static enum {
    CGI_TIMER_UNSET,
    CGI_TIMER_READY,
    CGI_TIMER_NONE,             /* could not be made: logged once */
} cgi_timer_state;
static timer_t cgi_timer;

static void
cgi_timer_fired(int sig)
{
    (void)sig;                  /* interrupting is all it does */
}

static bool
cgi_timer_ready(void)
{
    struct sigaction sa = { .sa_handler = cgi_timer_fired };
    struct sigevent ev = { .sigev_notify = SIGEV_SIGNAL,
                           .sigev_signo = SIGRTMIN };

    if (cgi_timer_state != CGI_TIMER_UNSET)
        return cgi_timer_state == CGI_TIMER_READY;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGRTMIN, &sa, NULL) == -1
        || timer_create(CLOCK_MONOTONIC, &ev, &cgi_timer) == -1) {
        log_warn_errno("worker %d: no request timer: request_timeout "
                       "cannot end a request blocked on the web server",
                       (int)getpid());
        cgi_timer_state = CGI_TIMER_NONE;
        return false;
    }
    cgi_timer_state = CGI_TIMER_READY;
    return true;
}

static struct timespec
cgi_ms_timespec(uint64_t ms)
{
    return (struct timespec){ .tv_sec = (time_t)(ms / 1000),
                              .tv_nsec = (long)(ms % 1000) * 1000000 };
}

/* on: fire in ms (at least 1), then every CGI_TIMER_REPEAT_MS; off:
 * stop. */
static void
cgi_timer_set(uint64_t ms, bool on)
{
    struct itimerspec its = { 0 };

    if (!on && cgi_timer_state != CGI_TIMER_READY)
        return;
    if (on && !cgi_timer_ready())
        return;
    if (on) {
        its.it_value = cgi_ms_timespec(ms > 0 ? ms : 1);
        its.it_interval = cgi_ms_timespec(CGI_TIMER_REPEAT_MS);
    }
    if (timer_settime(cgi_timer, 0, &its, NULL) == -1)
        log_warn_errno("worker %d: cannot %s the request timer",
                       (int)getpid(), on ? "arm" : "stop");
}

/* kill(2) to the script's whole group. The group outlives its leader
 * while anything in it runs, so this works after the reap too. */
void
cgi_signal(struct cgi_run *r, int sig)
{
    /* kill(0) or kill(-1) would hit the worker's group or everything. */
    if (r->pid <= 1)
        return;
    if (kill(-r->pid, sig) == -1 && errno != ESRCH)
        CGI_LOG(log_warn_errno, r, "cannot signal process group %d",
                (int)r->pid);
}

unsigned
cgi_kill_ms(const struct pool_conf *pc)
{
    return pc->kill_timeout_ms != 0 ? pc->kill_timeout_ms : CGI_KILL_MS;
}

/* End the script early: SIGTERM to its group now, SIGKILL at kill_at
 * (at once if it has exited: what is left was not asked to stop); no
 * more body for it, and no more of its output for the client. */
void
cgi_stop(struct cgi_run *r, uint64_t now)
{
    if (r->stopped)
        return;
    r->stopped = true;
    cgi_close(&r->in_fd);
    r->pend_len = 0;
    cgi_close(&r->out_fd);
    if (r->reaped) {
        cgi_signal(r, SIGKILL);
        return;
    }
    cgi_signal(r, SIGTERM);
    cgi_signal(r, SIGCONT);     /* a stopped process acts on TERM only so */
    r->kill_at = now + cgi_kill_ms(r->pc);
}

static void
cgi_client_went_away(struct cgi_run *r)
{
    if (r->client_gone)
        return;
    r->client_gone = true;
    CGI_LOG(log_info, r, "client went away after %.1fs: stopping pid %d",
            (double)(clock_now_ms() - r->start_ms) / 1000.0, (int)r->pid);
    cgi_stop(r, clock_now_ms());
}

/* Shut the web server's connection: libfcgi's last writes, and its
 * lingering read at close, fail at once instead of blocking; and the
 * connection is not kept for another request. */
static void
cgi_shut_client(struct cgi_run *r)
{
    r->client_done = true;
    r->unflushed = false;
    r->req->keepConnection = 0;
    if (shutdown(r->req->ipcFd, SHUT_RDWR) == -1 && errno != ENOTCONN)
        CGI_LOG(log_warn_errno, r, "%s", "cannot shut the connection");
}

/* The deadline passed: the script's group is stopped, the client gets a
 * 504 if nothing was handed to libfcgi yet, else a response cut short
 * (never one that looks complete), and the connection is shut. */
void
cgi_timed_out(struct cgi_run *r, uint64_t now, const char *while_doing)
{
    if (r->timed_out)
        return;
    r->timed_out = true;
    cgi_stop(r, now);
    if (r->status == 0 && !r->client_gone && !r->client_done) {
        /* Interrupted if the web server does not read: the timer goes
         * on firing until it is stopped below. */
        r->status = cgi_send_error(r->req, 504);
        FCGX_FClose(r->req->err);
        FCGX_FClose(r->req->out);
    }
    if (!r->client_done)
        cgi_shut_client(r);
    cgi_timer_set(0, false);
    CGI_LOG(log_warn, r, "pid %d timed out after %.1fs%s (request_timeout "
            "%ums): stopping its process group", (int)r->pid,
            (double)(now - r->start_ms) / 1000.0, while_doing,
            r->pc->request_timeout_ms);
}

/* A read or write on the web server's connection failed: the request
 * timer ended it, or the client went away. */
void
cgi_client_failed(struct cgi_run *r)
{
    uint64_t now = clock_now_ms();

    if (r->timeout_at != 0 && now >= r->timeout_at)
        cgi_timed_out(r, now, " waiting for the web server");
    else
        cgi_client_went_away(r);
}

/* Pipes for the script's stdin, stdout and stderr: its ends in child[],
 * ours, non-blocking, in r. 0, or -1 with errno. */
static int
cgi_pipes(struct cgi_run *r, int child[3])
{
    int p[3][2];
    int i, saved;

    for (i = 0; i < 3; i++)
        if (pipe2(p[i], O_CLOEXEC) == -1)
            goto fail;
    child[0] = p[0][0];
    r->in_fd = p[0][1];
    child[1] = p[1][1];
    r->out_fd = p[1][0];
    child[2] = p[2][1];
    r->err_fd = p[2][0];
    /* The script's ends stay blocking: it expects plain stdio. */
    if (fcntl(r->in_fd, F_SETFL, O_NONBLOCK) == -1
        || fcntl(r->out_fd, F_SETFL, O_NONBLOCK) == -1
        || fcntl(r->err_fd, F_SETFL, O_NONBLOCK) == -1)
        goto fail;
    return 0;
fail:
    saved = errno;
    while (i-- > 0) {
        close(p[i][0]);
        close(p[i][1]);
    }
    r->in_fd = r->out_fd = r->err_fd = -1;
    errno = saved;
    return -1;
}

/* Start the checked script; 0, or an errno value (logged). */
static int
cgi_spawn(struct cgi_run *r, const struct cgi_path *p, char **envp)
{
    char *argv[] = { (char *)p->real, NULL };
    struct cgi_exec x = { .fd = p->fd, .dir_fd = p->dir_fd, .argv = argv,
                          .envp = envp,
                          .no_new_privs = r->pc->cgi_no_new_privs };
    int rc = cgi_pipes(r, x.stdio) == -1 ? errno : 0;

    if (rc != 0) {
        CGI_LOG(log_error_errno, r, "%s", "cannot make its stdio pipes");
        return rc;
    }
    rc = cgi_proc_spawn(&x, &r->pid);
    for (int i = 0; i < 3; i++)
        cgi_close(&x.stdio[i]);
    if (rc != 0) {
        CGI_LOG(log_error, r, "cannot run it: %s", strerror(rc));
        cgi_close(&r->in_fd);
        cgi_close(&r->out_fd);
        cgi_close(&r->err_fd);
        return rc;
    }
    r->pidfd = pidfd_open(r->pid, 0);
    if (r->pidfd == -1)
        CGI_LOG(log_debug, r, "pidfd_open %d: %s: polling for its exit",
                (int)r->pid, strerror(errno));
    return 0;
}

/* Kill and reap what the script left outside its group: this worker is
 * their subreaper, and between requests has no other children. */
void
cgi_sweep(struct cgi_run *r)
{
    static bool blind_told;
    struct cgi_sweep s;

    cgi_proc_sweep(&s, cgi_kill_ms(r->pc));
    if (s.reaped > 0)
        CGI_LOG(log_info, r, "reaped %zu process%s it left behind (SIGKILL "
                "to those alive)", s.reaped, s.reaped == 1 ? "" : "es");
    if (s.left > 0)
        CGI_LOG(log_warn, r, "%zu processes it left behind still run %ums "
                "after SIGKILL", s.left, cgi_kill_ms(r->pc));
    if (s.blind && !blind_told) {
        blind_told = true;
        log_warn("pool %s: worker %d: cannot list its children in /proc "
                 "(is /proc mounted in the chroot?): processes a script "
                 "moves out of its process group outlive the request",
                 r->pc->name, (int)getpid());
    }
}

/* After the loop: nothing of the script's is left; the client has an
 * answer if it is still there. Returns the status sent. */
static int
cgi_finish(struct cgi_run *r)
{
    char how[96];

    /* Whatever it started and left in its group goes with it. */
    cgi_signal(r, SIGKILL);
    wstatus_describe(r->wstatus, how, sizeof(how));
    if (r->status == 0 && !r->client_gone && !r->client_done) {
        CGI_LOG(log_warn, r, "pid %d %s before the end of its headers "
                "(%zu bytes): 502", (int)r->pid, how, r->b->hdr.len);
        r->status = cgi_send_error(r->req, 502);
    }
    CGI_LOG(log_debug, r, "pid %d %s after %.3fs: status %d", (int)r->pid,
            how, (double)(clock_now_ms() - r->start_ms) / 1000.0, r->status);
    return r->status != 0 ? r->status : CGI_CLIENT_GONE;
}

static struct cgi_buffers *
cgi_buffers_new(void)
{
    struct cgi_buffers *b = malloc(sizeof(*b));

    if (b == NULL)
        return NULL;
    b->hdr.len = b->hdr.line_at = b->hdr.end = 0;
    b->err.len = 0;
    b->err.continued = b->err.cr = false;
    return b;
}

/* Run the checked script for the request; returns the status sent. */
static int
cgi_run(struct cgi_run *r, const struct cgi_path *p)
{
    struct cgi_env env;

    r->b = cgi_buffers_new();
    if (r->b == NULL || cgi_env_build(&env, r->req->envp, r->pc->env,
                                      p->real) == -1) {
        CGI_LOG(log_error_errno, r, "no memory for its run (%zu bytes)",
                sizeof(*r->b));
        free(r->b);
        return cgi_send_error(r->req, 500);
    }
    if (env.dropped > 0)
        CGI_LOG(log_debug, r, "%zu params left out of its environment",
                env.dropped);
    int rc = cgi_spawn(r, p, env.envp);
    cgi_env_free(&env);
    if (rc != 0) {
        free(r->b);
        return cgi_send_error(r->req, 500);
    }
    /* If this worker dies mid-request, the script is reparented to the
     * master (a child subreaper), which kills it and its group. */
    if (r->body_left == 0)
        cgi_close(&r->in_fd);
    cgi_io_loop(r);
    int status = cgi_finish(r);
    cgi_sweep(r);
    free(r->b);
    return status;
}

/* Refuse a request for what its path names; returns the status sent. */
static int
cgi_refuse(FCGX_Request *req, const struct pool_conf *pc,
           const struct cgi_path *p, enum cgi_path_result res)
{
    int status = res == CGI_PATH_NOT_FOUND ? 404
                 : res == CGI_PATH_FORBIDDEN ? 403 : 500;
    char name[CGI_LOG_NAME_MAX];

    cgi_printable(name, sizeof(name),
                  p->requested[0] != '\0' ? p->requested : NULL);
    log_warn("pool %s: worker %d: refused %s: %s: %d", pc->name,
             (int)getpid(), name, p->why, status);
    return cgi_send_error(req, status);
}

/* The end of the response (libfcgi's last buffer, and the end records
 * but on a kept connection) is written here, while the request timer
 * runs: a web server that stops reading holds the worker no longer than
 * request_timeout. On a kept connection the web server may send its
 * next request as soon as it has the end records: serve.c writes them
 * once it has read what is left of this request's input. */
static void
cgi_end_response(struct cgi_run *r)
{
    int rc;

    if (r->client_gone || r->client_done)
        return;
    if (r->req->keepConnection)
        rc = FCGX_FFlush(r->req->out);
    else if ((rc = FCGX_FClose(r->req->err)) == 0)
        rc = FCGX_FClose(r->req->out);
    if (rc == 0)
        return;
    if (r->timeout_at != 0 && clock_now_ms() >= r->timeout_at)
        CGI_LOG(log_warn, r, "the web server did not take the response "
                "within request_timeout (%ums): connection shut",
                r->pc->request_timeout_ms);
    else
        CGI_LOG(log_info, r, "client went away after %.1fs, before the "
                "end of the response",
                (double)(clock_now_ms() - r->start_ms) / 1000.0);
    cgi_shut_client(r);
}

/* Check the request and run its script; returns the status sent. */
static int
cgi_answer(struct cgi_run *r)
{
    FCGX_Request *req = r->req;
    const struct pool_conf *pc = r->pc;
    const char *len = FCGX_GetParam("CONTENT_LENGTH", req->envp);
    struct cgi_path path;
    char shown[32];
    int status;

    enum cgi_path_result res = cgi_path_resolve(
        &path, pc->cgi_root, FCGX_GetParam("SCRIPT_FILENAME", req->envp),
        FCGX_GetParam("SCRIPT_NAME", req->envp), "/proc/self/exe");
    if (res != CGI_PATH_OK) {
        cgi_printable(r->script, sizeof(r->script), path.requested);
        return cgi_refuse(req, pc, &path, res);
    }
    cgi_printable(r->script, sizeof(r->script), path.real);
    if (cgi_content_length(len, &r->body_len) == -1) {
        CGI_LOG(log_warn, r, "invalid CONTENT_LENGTH \"%s\": 400",
                cgi_printable(shown, sizeof(shown), len));
        status = cgi_send_error(req, 400);
    } else if (pc->max_body > 0 && r->body_len > pc->max_body) {
        CGI_LOG(log_warn, r, "body of %llu bytes over max_body (%llu): 413",
                r->body_len, pc->max_body);
        status = cgi_send_error(req, 413);
    } else {
        r->body_left = r->body_len;
        status = cgi_run(r, &path);
    }
    cgi_path_close(&path);
    return status;
}

int
cgi_handle(FCGX_Request *req, const struct pool_conf *pc)
{
    struct cgi_run r = { .req = req, .pc = pc, .pidfd = -1, .in_fd = -1,
                         .out_fd = -1, .err_fd = -1,
                         .start_ms = clock_now_ms() };

    cgi_setup();
    if (pc->request_timeout_ms > 0) {
        r.timeout_at = r.start_ms + pc->request_timeout_ms;
        cgi_timer_set(pc->request_timeout_ms, true);
    }
    int status = cgi_answer(&r);
    cgi_end_response(&r);
    /* Not a signal more once the request is over: libfcgi would take it
     * for an error while it reads the next one. */
    if (pc->request_timeout_ms > 0)
        cgi_timer_set(0, false);
    return status;
}

/* Before the first request, in the master as it starts: what fcgipm's
 * binary is, for a worker in a chroot without /proc, where it can no
 * longer look (worker.c changes root before the first request). */
__attribute__((constructor)) static void
cgi_note_self(void)
{
    cgi_path_note_self("/proc/self/exe");
}
