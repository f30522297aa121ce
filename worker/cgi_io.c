/* The CGI gateway's bytes: the request body into the script's stdin,
 * its stdout (the header block checked) to the web server, held back
 * while the body still arrives, its stderr to the log, in one poll loop
 * under the request's deadlines. */
#include <errno.h>
#include <fcgiapp.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgi.h"
#include "cgi_run.h"
#include "clock.h"
#include "log.h"
#include "lines.h"

/* After the script exits, how long its output may stay silent but open
 * (held by what it left behind) before its process group is killed; as
 * long again after that, and what it left is killed and the pipes are
 * closed. */
#define CGI_GRACE_MS 1000
/* Without a pidfd: how often to look whether the script exited. */
#define CGI_REAP_POLL_MS 50

/* Bytes to the client; a failure means the client went away, or did
 * not read in time. */
static int
cgi_send(struct cgi_run *r, const char *data, size_t n)
{
    if (r->client_gone || r->client_done)
        return -1;
    if (n > 0 && FCGX_PutStr(data, (int)n, r->req->out) != (int)n) {
        cgi_client_failed(r);
        return -1;
    }
    r->unflushed = true;
    return 0;
}

/*
 * Whether output is held rather than sent: while the body still comes.
 * nginx stops sending a body once it has the response's header, and
 * Caddy reads no response before it has sent the whole body; so a
 * script that writes while it reads (cat) would wait for them, and they
 * for it, until request_timeout. Once the body is all read from the web
 * server, or the script closed its stdin, what is held goes out.
 */
static bool
cgi_holds(const struct cgi_run *r)
{
    return r->body_left > 0 && !r->hold_off;
}

/* Send what is held, in order, before anything else. Not through
 * r->b->io: what cgi_put is given may be there. */
static int
cgi_hold_send(struct cgi_run *r)
{
    char piece[16384];
    ssize_t n;

    while ((n = spool_take(&r->hold, piece, sizeof(piece))) > 0)
        if (cgi_send(r, piece, (size_t)n) == -1)
            return -1;
    if (n == -1) {
        CGI_LOG(log_error_errno, r, "%s", "cannot read back its output "
                "held while its body came: response cut short");
        cgi_client_failed(r);
        return -1;
    }
    return 0;
}

/* The hold is full: say so once, then output goes out as it comes. */
static void
cgi_hold_full(struct cgi_run *r)
{
    r->hold_off = true;
    if (errno == ENOSPC)
        CGI_LOG(log_warn, r, "wrote over %llu bytes before its %llu-byte "
                "body was read: sent as it comes (a web server that reads "
                "no response before it has sent the body waits for it)",
                (unsigned long long)SPOOL_MEM_MAX + SPOOL_FILE_MAX,
                r->body_len);
    else
        CGI_LOG(log_warn_errno, r, "wrote over %d bytes before its body "
                "was read and no temporary file holds more: sent as it "
                "comes", SPOOL_MEM_MAX);
}

/* cgi_write_fn to the client, through the hold while the body comes. */
static int
cgi_put(void *ctx, const char *data, size_t n)
{
    struct cgi_run *r = ctx;

    if (r->client_gone || r->client_done)
        return -1;
    if (cgi_holds(r)) {
        if (spool_add(&r->hold, data, n) == 0)
            return 0;
        cgi_hold_full(r);
    }
    if (cgi_hold_send(r) == -1)
        return -1;
    return cgi_send(r, data, n);
}

/* Logs one line of the script's stderr (lines_fn). */
static void
cgi_log_stderr(void *ctx, const char *text, size_t len, unsigned part)
{
    const struct cgi_run *r = ctx;

    CGI_LOG(log_warn, r, "%s%.*s%s",
            part & LINES_PART_CONTINUED ? LINES_MARK_CONTINUED : "",
            (int)len, text, part & LINES_PART_MORE ? LINES_MARK_MORE : "");
}

static void
cgi_close_stderr(struct cgi_run *r)
{
    if (r->err_fd == -1)
        return;
    lines_flush(&r->b->err, cgi_log_stderr, r);
    cgi_close(&r->err_fd);
}

/* Output came after the script exited: what holds the pipe is still
 * talking. Measured after passing it on, which may block on the client. */
static void
cgi_output_seen(struct cgi_run *r)
{
    if (r->reaped)
        r->grace_at = clock_now_ms() + CGI_GRACE_MS;
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
        lines_feed(&r->b->err, r->b->io, (size_t)n, cgi_log_stderr, r);
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
 * Not while the body comes (cgi_holds): only fcgipm's own error
 * responses are in libfcgi's buffer then. */
static int
cgi_wait(struct cgi_run *r, struct pollfd *pfd, nfds_t n)
{
    int rc;

    if (r->unflushed && !cgi_holds(r)) {
        rc = poll(pfd, n, 0);
        if (rc != 0)
            return rc;
        r->unflushed = false;
        if (FCGX_FFlush(r->req->out) == -1)
            cgi_client_failed(r);
        return 0;
    }
    return poll(pfd, n, cgi_poll_timeout(r, clock_now_ms()));
}

static void
cgi_abandon(struct cgi_run *r);

/* The body is all read, or no longer wanted: what is held goes out. */
static void
cgi_hold_release(struct cgi_run *r)
{
    if (!cgi_holds(r) && spool_len(&r->hold) > 0)
        cgi_hold_send(r);
}

/* Move bytes between the web server and the script until it has exited
 * and its output pipes are closed. */
static void
cgi_io_relay(struct cgi_run *r)
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
            cgi_reap(r, WNOHANG, clock_now_ms());
        cgi_hold_release(r);
        cgi_check_time(r, clock_now_ms());
    }
}

/* cgi_io_relay, then what is still held is sent: the script ended
 * before it read all of its body, and the rest is not needed. */
void
cgi_io_loop(struct cgi_run *r)
{
    spool_init(&r->hold, SPOOL_MEM_MAX, SPOOL_FILE_MAX, NULL);
    r->hold_off = false;
    cgi_io_relay(r);
    r->hold_off = true;
    cgi_hold_release(r);
    spool_free(&r->hold);
}

/* The loop cannot go on: kill the group and wait for the script. */
static void
cgi_abandon(struct cgi_run *r)
{
    cgi_signal(r, SIGKILL);
    while (!r->reaped)
        cgi_reap(r, 0, clock_now_ms());
    cgi_close(&r->in_fd);
    cgi_close(&r->out_fd);
    cgi_close_stderr(r);
}
