/* One FastCGI exchange for fcgi-request: connect, then send the request
 * and read the response at the same time under one poll(), so a peer that
 * answers before reading all of a large body cannot deadlock us. */
#include "request.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct request_conn {
    struct request *rq;
    int fd;
    uint8_t *out;               /* encoded records waiting to be sent */
    size_t out_cap;
    size_t out_len;
    size_t out_off;             /* sent so far */
    bool sending;               /* false once done or the peer stopped */
    bool stdin_ended;           /* the empty STDIN record is queued */
    bool ended;                 /* END_REQUEST came */
    struct fcgi_end_request end;
    struct fcgi_record_decoder dec;
    struct request_output resp;
};

size_t
request_stream_size(size_t len)
{
    size_t rest = len % REQUEST_CHUNK;

    return len / REQUEST_CHUNK * fcgi_record_size(REQUEST_CHUNK) +
           (rest > 0 ? fcgi_record_size(rest) : 0) + fcgi_record_size(0);
}

/* Queue BEGIN_REQUEST and the PARAMS stream, ended by an empty record. */
static int
request_conn_queue_params(struct request_conn *c)
{
    uint8_t body[FCGI_RECORD_BODY_LEN], *pairs;
    size_t len, off = 0, chunk;

    if (request_params_encode(&c->rq->params, &pairs, &len) == -1)
        return -1;
    c->out_cap = fcgi_record_size(sizeof(body)) +
                 request_stream_size(len);
    /* Later the same buffer carries one STDIN record at a time. */
    if (c->out_cap < fcgi_record_size(REQUEST_CHUNK))
        c->out_cap = fcgi_record_size(REQUEST_CHUNK);
    c->out = malloc(c->out_cap);
    if (c->out == NULL) {
        free(pairs);
        return -1;
    }
    fcgi_record_encode_begin(body, FCGI_ROLE_RESPONDER, 0);
    c->out_len = (size_t)fcgi_record_encode(c->out, c->out_cap,
                                            FCGI_TYPE_BEGIN_REQUEST,
                                            REQUEST_ID, body, sizeof(body));
    do {
        chunk = len - off > REQUEST_CHUNK ? REQUEST_CHUNK : len - off;
        c->out_len += (size_t)fcgi_record_encode(
            c->out + c->out_len, c->out_cap - c->out_len, FCGI_TYPE_PARAMS,
            REQUEST_ID, pairs + off, chunk);
        off += chunk;
    } while (chunk > 0);
    free(pairs);
    return 0;
}

/* The send queue is empty: queue the next STDIN record, or stop. */
static int
request_conn_refill(struct request_conn *c)
{
    struct request_body *b = &c->rq->body;
    ssize_t n = 0;

    c->out_len = c->out_off = 0;
    if (c->stdin_ended) {
        c->sending = false;
        return 0;
    }
    if (b->present) {
        n = request_body_read(b, c->out + FCGI_RECORD_HEADER_LEN,
                              REQUEST_CHUNK);
        if (n == -1 && errno == ENODATA) {
            request_error(c->rq, "%s shrank while being sent", b->name);
            return REQUEST_EXIT_FAIL;
        }
        if (n == -1) {
            request_error(c->rq, "reading %s: %s", b->name, strerror(errno));
            return REQUEST_EXIT_FAIL;
        }
    }
    c->stdin_ended = n == 0;
    c->out_len = (size_t)fcgi_record_encode(c->out, c->out_cap,
                                            FCGI_TYPE_STDIN, REQUEST_ID,
                                            c->out + FCGI_RECORD_HEADER_LEN,
                                            (size_t)n);
    return 0;
}

static int
request_conn_send(struct request_conn *c)
{
    ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
                     MSG_NOSIGNAL);

    if (n >= 0) {
        c->out_off += (size_t)n;
        return 0;
    }
    if (errno == EAGAIN || errno == EINTR)
        return 0;
    /* The peer may have answered without reading all we had to say: stop
     * sending and read on; if no END_REQUEST comes, reading says so. */
    if (errno == EPIPE || errno == ECONNRESET) {
        c->sending = false;
        return 0;
    }
    request_error(c->rq, "send: %s", strerror(errno));
    return REQUEST_EXIT_FAIL;
}

static void
request_conn_trace(const struct fcgi_record *r)
{
    struct fcgi_end_request e;

    fprintf(stderr, "< %s id=%u len=%u pad=%u",
            fcgi_record_type_name(r->type), (unsigned)r->request_id,
            (unsigned)r->content_len, (unsigned)r->padding_len);
    if (r->type != FCGI_TYPE_END_REQUEST ||
        fcgi_record_decode_end(r, &e) == -1)
        fprintf(stderr, "\n");
    else
        fprintf(stderr, " app_status=%u protocol_status=%s\n",
                (unsigned)e.app_status,
                fcgi_record_proto_status_name(e.protocol_status));
}

/* One record from the peer: 0, or the exit code after saying why. */
static int
request_conn_record(struct request_conn *c, const struct fcgi_record *r)
{
    if (c->rq->verbose)
        request_conn_trace(r);
    if (r->type == FCGI_TYPE_UNKNOWN_TYPE) {
        request_error(c->rq, "peer does not know record type %u",
                      (unsigned)r->content[0]);
        return REQUEST_EXIT_FAIL;
    }
    if (r->request_id != REQUEST_ID) {
        request_error(c->rq, "%s record for request %u, not %u",
                      fcgi_record_type_name(r->type),
                      (unsigned)r->request_id, REQUEST_ID);
        return REQUEST_EXIT_FAIL;
    }
    switch (r->type) {
    case FCGI_TYPE_STDOUT:
        if (request_output_feed(&c->resp, r->content, r->content_len) == 0)
            return 0;
        if (c->resp.error != NULL)
            request_error(c->rq, "%s", c->resp.error);
        else
            request_error(c->rq, "stdout: %s", strerror(errno));
        return REQUEST_EXIT_FAIL;
    case FCGI_TYPE_STDERR:
        if (request_output_write(STDERR_FILENO, r->content,
                                 r->content_len) == -1)
            return REQUEST_EXIT_FAIL;
        return 0;
    case FCGI_TYPE_END_REQUEST:
        c->ended = true;
        return fcgi_record_decode_end(r, &c->end) == 0 ? 0
                                                       : REQUEST_EXIT_FAIL;
    default:
        request_error(c->rq, "unexpected %s record (type %u)",
                      fcgi_record_type_name(r->type), (unsigned)r->type);
        return REQUEST_EXIT_FAIL;
    }
}

/* The peer hung up (how: "closed" or "reset") before END_REQUEST. */
static int
request_conn_eof(struct request_conn *c, const char *how)
{
    if (fcgi_record_decoder_buffered(&c->dec) > 0)
        request_error(c->rq, "connection %s in the middle of a record", how);
    else
        request_error(c->rq, "connection %s before END_REQUEST", how);
    return REQUEST_EXIT_FAIL;
}

/* Read what the peer sent and handle each complete record. */
static int
request_conn_recv(struct request_conn *c)
{
    struct fcgi_record r;
    enum fcgi_decode_result res = FCGI_DECODE_NEED_MORE;
    size_t room;
    void *space = fcgi_record_decoder_space(&c->dec, &room);
    ssize_t n = read(c->fd, space, room);
    int rc;

    if (n == -1 && (errno == EAGAIN || errno == EINTR))
        return 0;
    /* A peer closing with our body unread resets the connection. */
    if (n == -1 && errno == ECONNRESET)
        return request_conn_eof(c, "reset");
    if (n == -1) {
        request_error(c->rq, "read: %s", strerror(errno));
        return REQUEST_EXIT_FAIL;
    }
    if (n == 0)
        return request_conn_eof(c, "closed");
    fcgi_record_decoder_commit(&c->dec, (size_t)n);
    while (!c->ended &&
           (res = fcgi_record_decoder_next(&c->dec, &r)) ==
           FCGI_DECODE_RECORD) {
        rc = request_conn_record(c, &r);
        if (rc != 0)
            return rc;
    }
    if (!c->ended && res == FCGI_DECODE_MALFORMED) {
        request_error(c->rq, "malformed response: %s",
                      fcgi_record_decoder_error(&c->dec));
        return REQUEST_EXIT_FAIL;
    }
    return 0;
}

/* Until END_REQUEST: 0, or the exit code after saying why. */
static int
request_conn_loop(struct request_conn *c)
{
    struct pollfd pfd = { .fd = c->fd };
    int left, n, rc = 0;

    while (rc == 0 && !c->ended) {
        if (c->sending && c->out_off == c->out_len)
            rc = request_conn_refill(c);
        left = request_left_ms(c->rq);
        if (rc != 0 || left == 0)
            break;
        pfd.events = (short)(POLLIN | (c->sending ? POLLOUT : 0));
        n = poll(&pfd, 1, left);
        if (n == -1 && errno != EINTR) {
            request_error(c->rq, "poll: %s", strerror(errno));
            return REQUEST_EXIT_FAIL;
        }
        if (n <= 0)
            continue;
        if (c->sending && (pfd.revents & (POLLOUT | POLLERR)))
            rc = request_conn_send(c);
        if (rc == 0 && (pfd.revents & (POLLIN | POLLHUP | POLLERR)))
            rc = request_conn_recv(c);
    }
    if (rc == 0 && !c->ended) {
        request_error(c->rq, "timed out after %g s", c->rq->timeout_s);
        return REQUEST_EXIT_TIMEOUT;
    }
    return rc;
}

/* After END_REQUEST: the exit code the response deserves. */
static enum request_exit
request_conn_verdict(struct request_conn *c)
{
    if (c->end.protocol_status != FCGI_PROTO_REQUEST_COMPLETE) {
        request_error(c->rq, "request refused: %s",
                      fcgi_record_proto_status_name(
                          c->end.protocol_status));
        return REQUEST_EXIT_FAIL;
    }
    if (request_output_finish(&c->resp) == -1) {
        if (c->resp.error != NULL)
            request_error(c->rq, "%s", c->resp.error);
        else
            request_error(c->rq, "stdout: %s", strerror(errno));
        return REQUEST_EXIT_FAIL;
    }
    if (c->resp.status < 200 || c->resp.status > 299) {
        request_error(c->rq, "response status %d", c->resp.status);
        return REQUEST_EXIT_HTTP;
    }
    return REQUEST_EXIT_OK;
}

static int
request_conn_connect(struct request_conn *c)
{
    int left = request_left_ms(c->rq);
    int flags;

    if (left == 0) {
        request_error(c->rq, "timed out after %g s", c->rq->timeout_s);
        return REQUEST_EXIT_TIMEOUT;
    }
    c->fd = fcgi_addr_connect_timeout(&c->rq->addr, left);
    if (c->fd == -1 && errno == ETIMEDOUT && c->rq->deadline_at != 0) {
        request_error(c->rq, "timed out after %g s connecting",
                      c->rq->timeout_s);
        return REQUEST_EXIT_TIMEOUT;
    }
    if (c->fd == -1) {
        request_error(c->rq, "connect: %s", strerror(errno));
        return REQUEST_EXIT_CONNECT;
    }
    flags = fcntl(c->fd, F_GETFL);
    if (flags == -1 || fcntl(c->fd, F_SETFL, flags | O_NONBLOCK) == -1) {
        request_error(c->rq, "fcntl: %s", strerror(errno));
        return REQUEST_EXIT_FAIL;
    }
    return 0;
}

enum request_exit
request_conn_run(struct request *rq)
{
    struct request_conn *c = calloc(1, sizeof(*c));
    int rc;

    if (c == NULL) {
        request_error(rq, "%s", strerror(errno));
        return REQUEST_EXIT_FAIL;
    }
    c->rq = rq;
    c->fd = -1;
    c->sending = true;
    fcgi_record_decoder_init(&c->dec);
    request_output_init(&c->resp, rq->include_headers);
    rc = request_conn_connect(c);
    if (rc == 0 && request_conn_queue_params(c) == -1) {
        request_error(rq, "params: %s", strerror(errno));
        rc = REQUEST_EXIT_FAIL;
    }
    if (rc == 0)
        rc = request_conn_loop(c);
    if (rc == 0)
        rc = request_conn_verdict(c);
    if (c->fd != -1)
        close(c->fd);
    free(c->out);
    free(c);
    return (enum request_exit)rc;
}
