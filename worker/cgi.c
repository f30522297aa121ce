/* The CGI gateway (mode = cgi): each request runs one CGI/1.1 script
 * (RFC 3875) in its own process group, with the request body streamed
 * to its stdin and its stdout streamed back, under request_timeout,
 * which holds while the web server blocks us too. */
#include <errno.h>
#include <fcgiapp.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
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
#include "handler.h"
#include "log.h"
#include "output.h"

/* Bytes moved per read or write: with the header block and the stderr
 * line, all the memory a request takes, whatever its size. */
#define CGI_CHUNK (64 * 1024)
/* After the script exits, how long its output may stay silent but open
 * (held by what it left behind) before its process group is killed; as
 * long again after that, and the pipes are closed. */
#define CGI_GRACE_MS 1000
/* Without kill_timeout: SIGKILL this long after SIGTERM. */
#define CGI_KILL_MS 2000
/* Without a pidfd: how often to look whether the script exited. */
#define CGI_REAP_POLL_MS 50
/* Nothing was sent, the client left: nginx's number for it. */
#define CGI_CLIENT_GONE 499
/* Past request_timeout, the request timer fires again this often until
 * the connection is shut: a signal that came between two system calls
 * interrupted nothing, the next one does. */
#define CGI_TIMER_REPEAT_MS 100

/* The longest a request's strings get in a log line, escaped. */
#define CGI_LOG_NAME_MAX 1024

/* "pool P: worker W: SCRIPT: ..." on every line about a request. */
#define CGI_LOG(fn, r, fmt, ...)                                            \
    fn("pool %s: worker %d: %s: " fmt, (r)->pc->name, (int)getpid(),        \
       (r)->script, __VA_ARGS__)

/* Large, so allocated per request; nothing in it needs zeroing but the
 * counters cgi_run_new sets. */
struct cgi_buffers {
    struct cgi_headers hdr;     /* the script's header block */
    struct output_lines err;    /* the stderr line being assembled */
    char pend[CGI_CHUNK];       /* body read, not yet in the stdin pipe */
    char io[CGI_CHUNK];         /* stdout and stderr reads */
};

struct cgi_run {
    FCGX_Request *req;
    const struct pool_conf *pc;
    char script[CGI_LOG_NAME_MAX]; /* the resolved path, for logs */
    struct cgi_buffers *b;
    pid_t pid;                  /* the script, leader of its own group */
    int pidfd;                  /* readable once it exits; -1: none */
    int in_fd;                  /* our ends of its stdin, stdout, stderr; */
    int out_fd;                 /* -1 once closed */
    int err_fd;
    unsigned long long body_len;   /* CONTENT_LENGTH */
    unsigned long long body_left;  /* still to read from the web server */
    size_t pend_at;
    size_t pend_len;
    int status;                 /* HTTP status sent; 0 before */
    int wstatus;                /* the script's, once reaped */
    bool reaped;
    bool unflushed;             /* libfcgi holds response bytes unsent */
    bool client_gone;
    bool client_done;           /* connection shut: nothing more for it */
    bool timed_out;
    bool stopped;               /* SIGTERM sent to the group */
    bool group_killed;          /* SIGKILL sent after the grace */
    uint64_t start_ms;
    uint64_t timeout_at;        /* request_timeout; 0: none */
    uint64_t kill_at;           /* SIGKILL to the group; 0: not due */
    uint64_t grace_at;          /* after exit: output silent until then */
};

static uint64_t
cgi_now_ms(void)
{
    struct timespec ts;

    /* CLOCK_MONOTONIC cannot fail with a valid clock id and pointer. */
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
cgi_close(int *fd)
{
    if (*fd != -1 && close(*fd) == -1 && errno != EINTR)
        log_warn_errno("worker %d: close fd %d", (int)getpid(), *fd);
    *fd = -1;
}

/* A whole small response of fcgipm's own; returns status. */
static int
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
static void
cgi_signal(struct cgi_run *r, int sig)
{
    /* kill(0) or kill(-1) would hit the worker's group or everything. */
    if (r->pid <= 1)
        return;
    if (kill(-r->pid, sig) == -1 && errno != ESRCH)
        CGI_LOG(log_warn_errno, r, "cannot signal process group %d",
                (int)r->pid);
}

static void
cgi_client_failed(struct cgi_run *r);

/* cgi_write_fn to the client; a failure means the client went away, or
 * did not read in time. */
static int
cgi_put(void *ctx, const char *data, size_t n)
{
    struct cgi_run *r = ctx;

    if (r->client_gone || r->client_done)
        return -1;
    if (n > 0 && FCGX_PutStr(data, (int)n, r->req->out) != (int)n) {
        cgi_client_failed(r);
        return -1;
    }
    r->unflushed = true;
    return 0;
}

/* Logs one line of the script's stderr (output_line_fn). */
static void
cgi_log_stderr(void *ctx, const char *text, size_t len, unsigned part)
{
    const struct cgi_run *r = ctx;

    CGI_LOG(log_warn, r, "%s%.*s%s",
            part & OUTPUT_PART_CONTINUED ? OUTPUT_MARK_CONTINUED : "",
            (int)len, text, part & OUTPUT_PART_MORE ? OUTPUT_MARK_MORE : "");
}

static void
cgi_close_stderr(struct cgi_run *r)
{
    if (r->err_fd == -1)
        return;
    output_lines_flush(&r->b->err, cgi_log_stderr, r);
    cgi_close(&r->err_fd);
}

static unsigned
cgi_kill_ms(const struct pool_conf *pc)
{
    return pc->kill_timeout_ms != 0 ? pc->kill_timeout_ms : CGI_KILL_MS;
}

/* End the script early: SIGTERM to its group now, SIGKILL at kill_at
 * (at once if it has exited: what is left was not asked to stop); no
 * more body for it, and no more of its output for the client. */
static void
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
            (double)(cgi_now_ms() - r->start_ms) / 1000.0, (int)r->pid);
    cgi_stop(r, cgi_now_ms());
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
static void
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
static void
cgi_client_failed(struct cgi_run *r)
{
    uint64_t now = cgi_now_ms();

    if (r->timeout_at != 0 && now >= r->timeout_at)
        cgi_timed_out(r, now, " waiting for the web server");
    else
        cgi_client_went_away(r);
}

/* Output came after the script exited: what holds the pipe is still
 * talking. Measured after passing it on, which may block on the client. */
static void
cgi_output_seen(struct cgi_run *r)
{
    if (r->reaped)
        r->grace_at = cgi_now_ms() + CGI_GRACE_MS;
}

/* The script's output is not a response we pass on: send ours instead
 * and stop reading it (a later write gets SIGPIPE). */
static void
cgi_reject(struct cgi_run *r, int status)
{
    r->status = cgi_send_error(r->req, status);
    r->unflushed = true;
    cgi_close(&r->out_fd);
}

/* The header block is complete: check it, pass it on, then the first
 * body bytes read with it. */
static void
cgi_headers_done(struct cgi_run *r)
{
    struct cgi_headers *h = &r->b->hdr;
    struct cgi_reply rep;

    switch (cgi_reply_parse(h->buf, h->end, &rep)) {
    case CGI_REPLY_MALFORMED:
        CGI_LOG(log_warn, r, "bad header block (%s): 502", rep.why);
        cgi_reject(r, 502);
        return;
    case CGI_REPLY_NO_TYPE:
        CGI_LOG(log_warn, r, "%s (nor Location or Status) in its header "
                "block: 500", rep.why);
        cgi_reject(r, 500);
        return;
    case CGI_REPLY_OK:
        break;
    }
    r->status = rep.status;
    if (cgi_reply_emit(h->buf, h->end, &rep, cgi_put, r) == 0)
        cgi_put(r, h->buf + h->end, h->len - h->end);
}

/* n more bytes of the header block were read. */
static void
cgi_headers_read(struct cgi_run *r, size_t n)
{
    switch (cgi_headers_added(&r->b->hdr, n)) {
    case CGI_HEADERS_MORE:
        return;
    case CGI_HEADERS_TOO_BIG:
        CGI_LOG(log_warn, r, "no end of headers in its first %d bytes: 502",
                CGI_HEADERS_MAX);
        cgi_reject(r, 502);
        return;
    case CGI_HEADERS_DONE:
        cgi_headers_done(r);
        return;
    }
}

/* Read the script's stdout: into the header block until it is complete,
 * then straight on to the client. */
static void
cgi_read_stdout(struct cgi_run *r)
{
    bool in_headers = r->status == 0;
    size_t room = sizeof(r->b->io);
    char *buf = in_headers ? cgi_headers_room(&r->b->hdr, &room) : r->b->io;
    ssize_t n = read(r->out_fd, buf, room);

    if (n == -1 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        if (n == -1)
            CGI_LOG(log_warn_errno, r, "reading stdout of pid %d",
                    (int)r->pid);
        cgi_close(&r->out_fd);
        return;
    }
    if (!in_headers)
        cgi_put(r, buf, (size_t)n);
    else
        cgi_headers_read(r, (size_t)n);
    cgi_output_seen(r);
}

static void
cgi_read_stderr(struct cgi_run *r)
{
    ssize_t n = read(r->err_fd, r->b->io, sizeof(r->b->io));

    if (n > 0) {
        output_lines_feed(&r->b->err, r->b->io, (size_t)n, cgi_log_stderr, r);
        cgi_output_seen(r);
        return;
    }
    if (n == -1 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n == -1)
        CGI_LOG(log_warn_errno, r, "reading stderr of pid %d", (int)r->pid);
    cgi_close_stderr(r);
}

/* The next piece of the body into pend. libfcgi blocks until it has as
 * many bytes as asked, so ask for what its buffer holds, or for one byte
 * when it holds none (it then reads what the web server has sent). */
static void
cgi_read_body(struct cgi_run *r)
{
    FCGX_Stream *in = r->req->in;
    size_t want = r->body_left < CGI_CHUNK ? (size_t)r->body_left
                                           : CGI_CHUNK;
    size_t got = 0;

    if (in->stop == in->rdNext)
        got = (size_t)FCGX_GetStr(r->b->pend, 1, in);
    if (in->stop > in->rdNext && got < want) {
        size_t have = (size_t)(in->stop - in->rdNext);
        size_t n = have < want - got ? have : want - got;
        got += (size_t)FCGX_GetStr(r->b->pend + got, (int)n, in);
    }
    r->pend_at = 0;
    r->pend_len = got;
    r->body_left -= got;
    if (got > 0)
        return;
    if (FCGX_GetError(in) != 0) {
        cgi_client_failed(r);
        return;
    }
    CGI_LOG(log_info, r, "request body ended after %llu of %llu bytes",
            r->body_len - r->body_left, r->body_len);
    r->body_left = 0;
}

/* The script closed its stdin: it does not want the rest of the body,
 * which is its business. */
static void
cgi_drop_stdin(struct cgi_run *r)
{
    r->pend_len = 0;
    r->body_left = 0;
    cgi_close(&r->in_fd);
}

/* The stdin pipe has room: move the body on, then end it with EOF. */
static void
cgi_feed_stdin(struct cgi_run *r)
{
    if (r->pend_len == 0 && r->body_left > 0)
        cgi_read_body(r);
    if (r->pend_len > 0 && r->in_fd != -1) {
        ssize_t n = write(r->in_fd, r->b->pend + r->pend_at, r->pend_len);
        if (n == -1 && (errno == EAGAIN || errno == EINTR))
            return;
        if (n == -1) {
            if (errno != EPIPE)
                CGI_LOG(log_warn_errno, r, "writing stdin of pid %d",
                        (int)r->pid);
            cgi_drop_stdin(r);
            return;
        }
        r->pend_at += (size_t)n;
        r->pend_len -= (size_t)n;
    }
    if (r->pend_len == 0 && r->body_left == 0)
        cgi_close(&r->in_fd);
}

static void
cgi_reap(struct cgi_run *r, int flags, uint64_t now)
{
    pid_t got = waitpid(r->pid, &r->wstatus, flags);

    if (got == 0 || (got == -1 && errno == EINTR))
        return;
    if (got == -1) {
        /* ECHILD: SIGCHLD is ignored and the kernel reaped it. */
        CGI_LOG(log_warn_errno, r, "waitpid %d", (int)r->pid);
        r->wstatus = 0;
    }
    r->reaped = true;
    r->kill_at = 0;
    r->grace_at = now + CGI_GRACE_MS;
    cgi_close(&r->pidfd);
}

static void
cgi_sweep(struct cgi_run *r);

/* The script exited, its output is open and silent: first kill what it
 * left in its group, then what escaped the group (setsid), and close. */
static void
cgi_grace_over(struct cgi_run *r, uint64_t now)
{
    if (!r->group_killed) {
        CGI_LOG(log_info, r, "pid %d exited but left processes holding "
                "its output: SIGKILL to process group %d", (int)r->pid,
                (int)r->pid);
        cgi_signal(r, SIGKILL);
        r->group_killed = true;
        r->grace_at = now + CGI_GRACE_MS;
        return;
    }
    CGI_LOG(log_warn, r, "pid %d exited and a process outside its group "
            "holds its output: killing what it left, closing it",
            (int)r->pid);
    /* The script is reaped: every child of this worker is a leftover. */
    cgi_sweep(r);
    cgi_close(&r->out_fd);
    cgi_close_stderr(r);
}

/* What time has brought: the timeout, SIGKILL after SIGTERM, the end of
 * the grace for what the script left behind. */
static void
cgi_check_time(struct cgi_run *r, uint64_t now)
{
    if (r->pidfd == -1 && !r->reaped)
        cgi_reap(r, WNOHANG, now);
    if (r->timeout_at != 0 && now >= r->timeout_at && !r->stopped)
        cgi_timed_out(r, now, "");
    if (r->kill_at != 0 && now >= r->kill_at && !r->reaped) {
        CGI_LOG(log_warn, r, "pid %d outlived SIGTERM by %ums: SIGKILL to "
                "its process group", (int)r->pid, cgi_kill_ms(r->pc));
        cgi_signal(r, SIGKILL);
        r->kill_at = 0;
    }
    if (r->reaped && now >= r->grace_at
        && (r->out_fd != -1 || r->err_fd != -1))
        cgi_grace_over(r, now);
}

/* How long poll may sleep: until the earliest deadline, or -1. */
static int
cgi_poll_timeout(const struct cgi_run *r, uint64_t now)
{
    uint64_t at = UINT64_MAX;

    if (r->timeout_at != 0 && !r->stopped)
        at = r->timeout_at;
    if (r->kill_at != 0 && r->kill_at < at)
        at = r->kill_at;
    if (r->reaped && (r->out_fd != -1 || r->err_fd != -1)
        && r->grace_at < at)
        at = r->grace_at;
    if (r->pidfd == -1 && !r->reaped && now + CGI_REAP_POLL_MS < at)
        at = now + CGI_REAP_POLL_MS;
    if (at == UINT64_MAX)
        return -1;
    return at <= now ? 0 : at - now > INT_MAX ? INT_MAX : (int)(at - now);
}

/* poll, but first send what libfcgi holds if poll is going to wait: a
 * script that writes a little now and then is streamed, not batched.
 * Not before the whole body is in the script's pipe: nginx stops sending
 * the body once it has the response header, and a script that prints
 * its header before reading its input would wait forever. */
static int
cgi_wait(struct cgi_run *r, struct pollfd *pfd, nfds_t n)
{
    int rc;

    if (r->unflushed && r->in_fd == -1) {
        rc = poll(pfd, n, 0);
        if (rc != 0)
            return rc;
        r->unflushed = false;
        if (FCGX_FFlush(r->req->out) == -1)
            cgi_client_failed(r);
        return 0;
    }
    return poll(pfd, n, cgi_poll_timeout(r, cgi_now_ms()));
}

static void
cgi_abandon(struct cgi_run *r);

/* Move bytes between the web server and the script until it has exited
 * and its output pipes are closed. */
static void
cgi_loop(struct cgi_run *r)
{
    while (!r->reaped || r->out_fd != -1 || r->err_fd != -1) {
        struct pollfd pfd[4] = {
            { .fd = r->in_fd, .events = POLLOUT },
            { .fd = r->out_fd, .events = POLLIN },
            { .fd = r->err_fd, .events = POLLIN },
            { .fd = r->reaped ? -1 : r->pidfd, .events = POLLIN },
        };
        int rc = cgi_wait(r, pfd, 4);

        if (rc == -1 && errno != EINTR) {
            CGI_LOG(log_error_errno, r, "poll on pid %d", (int)r->pid);
            cgi_abandon(r);
            return;
        }
        if (rc > 0 && (pfd[0].revents & POLLERR))
            cgi_drop_stdin(r);
        else if (rc > 0 && pfd[0].revents != 0)
            cgi_feed_stdin(r);
        if (rc > 0 && pfd[1].revents != 0 && r->out_fd != -1)
            cgi_read_stdout(r);
        if (rc > 0 && pfd[2].revents != 0 && r->err_fd != -1)
            cgi_read_stderr(r);
        if (rc > 0 && pfd[3].revents != 0 && !r->reaped)
            cgi_reap(r, WNOHANG, cgi_now_ms());
        cgi_check_time(r, cgi_now_ms());
    }
}

/* The loop cannot go on: kill the group and wait for the script. */
static void
cgi_abandon(struct cgi_run *r)
{
    cgi_signal(r, SIGKILL);
    while (!r->reaped)
        cgi_reap(r, 0, cgi_now_ms());
    cgi_close(&r->in_fd);
    cgi_close(&r->out_fd);
    cgi_close_stderr(r);
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
static void
cgi_sweep(struct cgi_run *r)
{
    static bool blind_told;
    struct cgi_sweep s;

    cgi_proc_sweep(&s, cgi_kill_ms(r->pc));
    if (s.reaped > 0)
        CGI_LOG(log_info, r, "reaped %zu processes it left behind (SIGKILL "
                "to those alive)", s.reaped);
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

/* "exited with status 3", "killed by signal 9 (Killed)" into buf. */
static const char *
cgi_exit_str(int wstatus, char *buf, size_t len)
{
    if (WIFSIGNALED(wstatus))
        snprintf(buf, len, "killed by signal %d (%s)", WTERMSIG(wstatus),
                 strsignal(WTERMSIG(wstatus)));
    else
        snprintf(buf, len, "exited with status %d", WEXITSTATUS(wstatus));
    return buf;
}

/* After the loop: nothing of the script's is left; the client has an
 * answer if it is still there. Returns the status sent. */
static int
cgi_finish(struct cgi_run *r)
{
    char how[96];

    /* Whatever it started and left in its group goes with it. */
    cgi_signal(r, SIGKILL);
    cgi_exit_str(r->wstatus, how, sizeof(how));
    if (r->status == 0 && !r->client_gone && !r->client_done) {
        CGI_LOG(log_warn, r, "pid %d %s before the end of its headers "
                "(%zu bytes): 502", (int)r->pid, how, r->b->hdr.len);
        r->status = cgi_send_error(r->req, 502);
    }
    CGI_LOG(log_debug, r, "pid %d %s after %.3fs: status %d", (int)r->pid,
            how, (double)(cgi_now_ms() - r->start_ms) / 1000.0, r->status);
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
    /* If this worker dies mid-request, the master kills the script's
     * group too: it is not in the worker's group. */
    serve_note_child(r->pid);
    if (r->body_left == 0)
        cgi_close(&r->in_fd);
    cgi_loop(r);
    int status = cgi_finish(r);
    serve_note_child(0);
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

/* The end of the response (libfcgi's last buffer and the end records)
 * is written here, while the request timer runs: a web server that
 * stops reading holds the worker no longer than request_timeout. */
static void
cgi_end_response(struct cgi_run *r)
{
    if (r->client_gone || r->client_done)
        return;
    FCGX_FClose(r->req->err);
    if (FCGX_FClose(r->req->out) == 0)
        return;
    if (r->timeout_at != 0 && cgi_now_ms() >= r->timeout_at)
        CGI_LOG(log_warn, r, "the web server did not take the response "
                "within request_timeout (%ums): connection shut",
                r->pc->request_timeout_ms);
    else
        CGI_LOG(log_info, r, "client went away after %.1fs, before the "
                "end of the response",
                (double)(cgi_now_ms() - r->start_ms) / 1000.0);
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
                         .start_ms = cgi_now_ms() };

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
