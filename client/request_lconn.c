/* One connection of fcgi-request's load mode: a non-blocking connect,
 * send and read state machine driven by epoll, with the same encoded
 * request sent each time and only the response's Status looked at. */
#include "clock.h"
#include "request.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define LCONN_RETRY_MAX_MS 16

static void
request_lconn_scan_init(struct request_lconn_scan *s)
{
    s->in_headers = true;
    s->line_colon = s->line_long = false;
    s->status = 200;
    s->error = NULL;
    s->line_len = 0;
}

/* "Status: 404 Not Found": three digits, then the end or a blank. */
static void
request_lconn_scan_status(struct request_lconn_scan *s)
{
    const char *v = s->line + 7;
    size_t len = s->line_len - 7;

    while (len > 0 && (*v == ' ' || *v == '\t')) {
        v++;
        len--;
    }
    if (len < 3 || v[0] < '1' || v[0] > '5' || v[1] < '0' || v[1] > '9' ||
        v[2] < '0' || v[2] > '9' ||
        (len > 3 && v[3] != ' ' && v[3] != '\t')) {
        s->error = "bad Status header in the response";
        return;
    }
    s->status = (v[0] - '0') * 100 + (v[1] - '0') * 10 + (v[2] - '0');
}

/* A whole header line is in (its start, if long): check it. */
static void
request_lconn_scan_line(struct request_lconn_scan *s)
{
    if (s->line_len > 0 && s->line[s->line_len - 1] == '\r' &&
        !s->line_long)
        s->line_len--;
    if (s->line_len == 0 && !s->line_long)
        s->in_headers = false;
    else if (!s->line_colon || s->line[0] == ':')
        s->error = "malformed CGI header line in the response";
    else if (s->line_len >= 7 && strncasecmp(s->line, "Status:", 7) == 0)
        request_lconn_scan_status(s);
    s->line_len = 0;
    s->line_colon = s->line_long = false;
}

/* STDOUT content: read the header block until its blank line. */
static void
request_lconn_scan_feed(struct request_lconn_scan *s, const uint8_t *p,
                        size_t len)
{
    for (size_t i = 0; i < len && s->in_headers && s->error == NULL; i++) {
        if (p[i] == '\n') {
            request_lconn_scan_line(s);
            continue;
        }
        s->line_colon |= p[i] == ':';
        if (s->line_len < sizeof(s->line))
            s->line[s->line_len++] = (char)p[i];
        else
            s->line_long = true;
    }
}

void
request_lconn_close(struct request_lconn *c)
{
    if (c->fd != -1)
        close(c->fd);   /* which also takes it out of the epoll set */
    c->fd = -1;
    c->events = 0;
}

static void
request_lconn_ready(struct request_lconn *c)
{
    struct request_load *l = c->load;

    c->state = REQUEST_LCONN_READY;
    l->ready[l->nready++] = c;
}

/* The request ended with r: count it, keep the connection if it can carry
 * the next one, and queue c to start that. */
static void
request_lconn_finish(struct request_lconn *c, enum request_load_result r)
{
    struct request_load *l = c->load;
    bool answered = r == REQUEST_LOAD_OK || r == REQUEST_LOAD_STATUS;

    request_load_count(l, r, c->start_us);
    if (!answered || !l->o->keep_conn || c->send_failed ||
        c->out_off < l->req_len ||
        fcgi_record_decoder_buffered(&c->dec) > 0)
        request_lconn_close(c);
    request_lconn_ready(c);
}

/* The request failed: say why the first time for this kind of error. */
__attribute__((format(printf, 3, 4)))
static void
request_lconn_fail(struct request_lconn *c, enum request_load_result r,
                   const char *fmt, ...)
{
    struct request_load *l = c->load;
    char msg[256];
    va_list ap;

    if (!l->said[r]) {
        l->said[r] = true;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        request_error(l->rq, "%s (the first such error; others are only "
                      "counted)", msg);
    }
    request_lconn_finish(c, r);
}

/* Have epoll watch events on c's socket. 0, or -1 when the request
 * failed. */
static int
request_lconn_watch(struct request_lconn *c, uint32_t events)
{
    struct epoll_event ev = { .events = events, .data.ptr = c };
    int op = c->events == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;

    if (c->events == events)
        return 0;
    if (epoll_ctl(c->load->epfd, op, c->fd, &ev) == -1) {
        request_lconn_fail(c, REQUEST_LOAD_IO, "epoll_ctl: %s",
                           strerror(errno));
        return -1;
    }
    c->events = events;
    return 0;
}

/* Send what the socket takes, then watch for the answer (and for room
 * to send the rest). */
static void
request_lconn_send(struct request_lconn *c)
{
    struct request_load *l = c->load;
    ssize_t n;

    while (c->out_off < l->req_len) {
        n = send(c->fd, l->req + c->out_off, l->req_len - c->out_off,
                 MSG_NOSIGNAL);
        if (n >= 0) {
            c->out_off += (size_t)n;
            continue;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN) {
            request_lconn_watch(c, EPOLLIN | EPOLLOUT);
            return;
        }
        if (errno != EPIPE && errno != ECONNRESET) {
            request_lconn_fail(c, REQUEST_LOAD_IO, "send: %s",
                               strerror(errno));
            return;
        }
        /* The peer may have answered without reading all of the body:
         * read on; if no END_REQUEST comes, reading says so. */
        c->send_failed = true;
        break;
    }
    request_lconn_watch(c, EPOLLIN);
}

/* Connect (again, after EAGAIN) and send when connected. */
static void
request_lconn_connect(struct request_lconn *c)
{
    const struct fcgi_addr *a = &c->load->rq->addr;

    if (c->fd == -1)
        c->fd = socket(a->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                       0);
    if (c->fd == -1) {
        request_lconn_fail(c, REQUEST_LOAD_CONNECT, "socket: %s",
                           strerror(errno));
        return;
    }
    if (connect(c->fd, (const struct sockaddr *)&a->sa, a->salen) == 0) {
        c->state = REQUEST_LCONN_BUSY;
        request_lconn_send(c);
    } else if (errno == EINPROGRESS) {
        c->state = REQUEST_LCONN_CONNECTING;
        request_lconn_watch(c, EPOLLOUT);
    } else if (errno == EAGAIN) {
        /* A unix socket's backlog is full: no wait queue to sleep on, so
         * try again shortly; the request's timeout bounds this. */
        c->state = REQUEST_LCONN_RETRY;
        c->retry_at = (int64_t)clock_now_us() + c->retry_ms * 1000;
        if (c->retry_ms < LCONN_RETRY_MAX_MS)
            c->retry_ms *= 2;
        request_load_wake_at(c->load, c->retry_at);
    } else {
        request_lconn_fail(c, REQUEST_LOAD_CONNECT, "connect: %s",
                           strerror(errno));
    }
}

/* Send the request afresh on a new connection (or a kept one). */
static void
request_lconn_begin(struct request_lconn *c)
{
    c->out_off = 0;
    c->send_failed = c->replied = false;
    c->retry_ms = 1;
    request_lconn_scan_init(&c->scan);
    fcgi_record_decoder_init(&c->dec);
    c->reused = c->fd != -1;
    if (c->reused) {
        c->state = REQUEST_LCONN_BUSY;
        request_lconn_send(c);
    } else {
        request_lconn_connect(c);
    }
}

void
request_lconn_start(struct request_lconn *c)
{
    struct request_load *l = c->load;
    int64_t now = (int64_t)clock_now_us();

    if (!request_load_take(l, now)) {
        request_lconn_close(c);
        c->state = REQUEST_LCONN_IDLE;
        l->active--;
        return;
    }
    c->start_us = now;
    c->deadline_at = l->timeout_us > 0 ? now + l->timeout_us : 0;
    if (c->deadline_at != 0)
        request_load_wake_at(l, c->deadline_at);
    request_lconn_begin(c);
}

/* END_REQUEST: judge the response. */
static void
request_lconn_end(struct request_lconn *c, const struct fcgi_record *r)
{
    struct fcgi_end_request end;

    if (fcgi_record_decode_end(r, &end) == -1)
        request_lconn_fail(c, REQUEST_LOAD_PROTOCOL, "bad END_REQUEST");
    else if (end.protocol_status != FCGI_PROTO_REQUEST_COMPLETE)
        request_lconn_fail(c, REQUEST_LOAD_PROTOCOL, "request refused: %s",
                           fcgi_record_proto_status_name(
                               end.protocol_status));
    else if (c->scan.error == NULL && c->scan.in_headers)
        request_lconn_fail(c, REQUEST_LOAD_PROTOCOL, "response ended "
                           "before the end of its CGI headers");
    else if (c->scan.status < 200 || c->scan.status > 299)
        request_lconn_fail(c, REQUEST_LOAD_STATUS, "response status %d",
                           c->scan.status);
    else
        request_lconn_finish(c, REQUEST_LOAD_OK);
}

/* One record from the peer; true when it ended the request. */
static bool
request_lconn_record(struct request_lconn *c, const struct fcgi_record *r)
{
    if (r->request_id != REQUEST_ID || (r->type != FCGI_TYPE_STDOUT &&
                                        r->type != FCGI_TYPE_STDERR &&
                                        r->type != FCGI_TYPE_END_REQUEST)) {
        request_lconn_fail(c, REQUEST_LOAD_PROTOCOL,
                           "unexpected %s record (type %u) for request %u",
                           fcgi_record_type_name(r->type), (unsigned)r->type,
                           (unsigned)r->request_id);
        return true;
    }
    if (r->type == FCGI_TYPE_END_REQUEST) {
        request_lconn_end(c, r);
        return true;
    }
    if (r->type == FCGI_TYPE_STDOUT) {
        request_lconn_scan_feed(&c->scan, r->content, r->content_len);
        if (c->scan.error != NULL) {
            request_lconn_fail(c, REQUEST_LOAD_PROTOCOL, "%s",
                               c->scan.error);
            return true;
        }
    }
    return false;
}

/* The peer hung up (how: "closed" or "reset") before END_REQUEST. A kept
 * connection the peer closed before answering (a worker that retired) is
 * not the request's fault: it goes again on a new connection, as a web
 * server does. */
static void
request_lconn_hangup(struct request_lconn *c, const char *how)
{
    if (c->reused && !c->replied) {
        request_lconn_close(c);
        request_lconn_begin(c);
        return;
    }
    request_lconn_fail(c, REQUEST_LOAD_IO, "connection %s %s", how,
                       fcgi_record_decoder_buffered(&c->dec) > 0
                           ? "in the middle of a record"
                           : "before END_REQUEST");
}

/* Read once and take every complete record. */
static void
request_lconn_recv(struct request_lconn *c)
{
    struct fcgi_record r;
    enum fcgi_decode_result res;
    size_t room;
    void *space = fcgi_record_decoder_space(&c->dec, &room);
    ssize_t n = read(c->fd, space, room);

    if (n == -1 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n == 0 || (n == -1 && errno == ECONNRESET)) {
        request_lconn_hangup(c, n == 0 ? "closed" : "reset");
        return;
    }
    if (n == -1) {
        request_lconn_fail(c, REQUEST_LOAD_IO, "read: %s", strerror(errno));
        return;
    }
    c->replied = true;
    fcgi_record_decoder_commit(&c->dec, (size_t)n);
    while ((res = fcgi_record_decoder_next(&c->dec, &r)) ==
           FCGI_DECODE_RECORD)
        if (request_lconn_record(c, &r))
            return;
    if (res == FCGI_DECODE_MALFORMED)
        request_lconn_fail(c, REQUEST_LOAD_PROTOCOL, "malformed response: %s",
                           fcgi_record_decoder_error(&c->dec));
}

/* A TCP connect finished, one way or the other. */
static void
request_lconn_connected(struct request_lconn *c)
{
    int err = 0;
    socklen_t len = sizeof(err);

    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
        err = errno;
    if (err != 0) {
        request_lconn_fail(c, REQUEST_LOAD_CONNECT, "connect: %s",
                           strerror(err));
        return;
    }
    c->state = REQUEST_LCONN_BUSY;
    request_lconn_send(c);
}

void
request_lconn_event(struct request_lconn *c, uint32_t events)
{
    if (c->state == REQUEST_LCONN_CONNECTING) {
        request_lconn_connected(c);
        return;
    }
    if (c->state != REQUEST_LCONN_BUSY)
        return;
    if ((events & EPOLLOUT) && c->out_off < c->load->req_len) {
        request_lconn_send(c);
        if (c->state != REQUEST_LCONN_BUSY)
            return;
    }
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
        request_lconn_recv(c);
}

int64_t
request_lconn_tick(struct request_lconn *c, int64_t now)
{
    if (c->state != REQUEST_LCONN_RETRY &&
        c->state != REQUEST_LCONN_CONNECTING &&
        c->state != REQUEST_LCONN_BUSY)
        return 0;
    if (c->deadline_at != 0 && now >= c->deadline_at) {
        request_lconn_fail(c, REQUEST_LOAD_TIMEOUT, "timed out after %g s",
                           c->load->rq->timeout_s);
        return 0;
    }
    if (c->state == REQUEST_LCONN_RETRY && now >= c->retry_at)
        request_lconn_connect(c);
    if (c->state == REQUEST_LCONN_RETRY &&
        (c->deadline_at == 0 || c->retry_at < c->deadline_at))
        return c->retry_at;
    return c->state == REQUEST_LCONN_READY ? 0 : c->deadline_at;
}
