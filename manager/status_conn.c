/* The status socket's side of FastCGI: BEGIN_REQUEST and PARAMS in, the
 * answer out as STDOUT and END_REQUEST; GET_VALUES answered, other
 * management records UNKNOWN_TYPE, anything malformed ends it. */
#include <stdlib.h>
#include <string.h>

#include "status_conn.h"

/* STDOUT content per record: a multiple of 8, so no padding. */
#define STDOUT_CHUNK 32768

void
status_conn_init(struct status_conn *c)
{
    memset(c, 0, sizeof(*c));
    fcgi_record_decoder_init(&c->dec);
}

void
status_conn_free(struct status_conn *c)
{
    status_buf_free(&c->out);
    free(c->params);
    c->params = NULL;
}

size_t
status_conn_pending(const struct status_conn *c)
{
    return c->out.len - c->out_sent;
}

void
status_conn_sent(struct status_conn *c, size_t n)
{
    c->out_sent += n;
    if (c->out_sent < c->out.len)
        return;
    /* A big answer (?full of a large pool) need not stay allocated. */
    if (c->out.cap > 4 * STDOUT_CHUNK)
        status_buf_free(&c->out);
    c->out.len = 0;
    c->out_sent = 0;
}

/* Queue one record. 0, or -1 (out of memory). */
static int
queue_record(struct status_conn *c, uint8_t type, uint16_t id,
             const void *content, size_t len)
{
    uint8_t rec[FCGI_RECORD_HEADER_LEN + STDOUT_CHUNK + 8];
    ssize_t n = fcgi_record_encode(rec, sizeof(rec), type, id, content, len);

    if (n < 0)
        return -1;
    return status_buf_append(&c->out, rec, (size_t)n);
}

static int
queue_end(struct status_conn *c, uint16_t id, uint8_t proto_status)
{
    uint8_t body[FCGI_RECORD_BODY_LEN];

    fcgi_record_encode_end(body, 0, proto_status);
    return queue_record(c, FCGI_TYPE_END_REQUEST, id, body, sizeof(body));
}

static int
queue_unknown_type(struct status_conn *c, uint8_t type)
{
    uint8_t body[FCGI_RECORD_BODY_LEN];

    fcgi_record_encode_unknown(body, type);
    return queue_record(c, FCGI_TYPE_UNKNOWN_TYPE, 0, body, sizeof(body));
}

static bool
pair_is(const struct fcgi_record_pair *p, const char *name)
{
    return p->name_len == strlen(name)
           && memcmp(p->name, name, p->name_len) == 0;
}

/* GET_VALUES: answer the names we know, in one record. */
static int
queue_values(struct status_conn *c, const struct fcgi_record *r)
{
    static const struct {
        const char *name, *value;
    } known[] = {
        { "FCGI_MAX_CONNS", "64" },
        { "FCGI_MAX_REQS", "64" },
        { "FCGI_MPXS_CONNS", "0" },
    };
    uint8_t content[256];
    size_t len = 0;
    struct fcgi_record_pairs it;
    struct fcgi_record_pair p;

    fcgi_record_pairs_init(&it, r->content, r->content_len);
    while (fcgi_record_pairs_next(&it, &p) == FCGI_PAIRS_PAIR) {
        for (size_t i = 0; i < sizeof(known) / sizeof(*known); i++) {
            size_t nl = strlen(known[i].name), vl = strlen(known[i].value);
            if (!pair_is(&p, known[i].name)
                || fcgi_record_pair_size(nl, vl) > sizeof(content) - len)
                continue;
            len += (size_t)fcgi_record_pair_encode(content + len,
                                                   sizeof(content) - len,
                                                   known[i].name, nl,
                                                   known[i].value, vl);
        }
    }
    return queue_record(c, FCGI_TYPE_GET_VALUES_RESULT, 0, content, len);
}

static void
request_free(struct status_request *rq)
{
    free(rq->method);
    free(rq->document_uri);
    free(rq->script_name);
    free(rq->request_uri);
    free(rq->query_string);
}

/* Copy the params we route on out of the PARAMS stream. 0, or -1 with
 * c->error set. */
static int
read_params(struct status_conn *c, struct status_request *rq)
{
    struct {
        const char *name;
        char **field;
    } wanted[] = {
        { "REQUEST_METHOD", &rq->method },
        { "DOCUMENT_URI", &rq->document_uri },
        { "SCRIPT_NAME", &rq->script_name },
        { "REQUEST_URI", &rq->request_uri },
        { "QUERY_STRING", &rq->query_string },
    };
    struct fcgi_record_pairs it;
    struct fcgi_record_pair p;
    enum fcgi_pairs_result res;

    fcgi_record_pairs_init(&it, c->params, c->params_len);
    while ((res = fcgi_record_pairs_next(&it, &p)) == FCGI_PAIRS_PAIR) {
        for (size_t i = 0; i < sizeof(wanted) / sizeof(*wanted); i++) {
            if (!pair_is(&p, wanted[i].name))
                continue;
            free(*wanted[i].field);
            *wanted[i].field = strndup((const char *)p.value, p.value_len);
            if (*wanted[i].field == NULL) {
                c->error = "out of memory";
                return -1;
            }
        }
    }
    if (res == FCGI_PAIRS_MALFORMED) {
        c->error = "malformed name-value pair in PARAMS";
        return -1;
    }
    return 0;
}

/* The empty PARAMS record: answer the request. 0 or -1 (c->error). */
static int
answer(struct status_conn *c, status_answer_fn *fn, void *ctx)
{
    struct status_request rq = { 0 };
    struct status_buf resp = { 0 };
    uint16_t id = c->request_id;
    int rc = -1;

    if (read_params(c, &rq) == -1)
        goto done;
    if (fn(ctx, &rq, &resp) == -1 || resp.failed) {
        c->error = "cannot build the answer (out of memory)";
        goto done;
    }
    for (size_t off = 0; off < resp.len; off += STDOUT_CHUNK) {
        size_t n = resp.len - off < STDOUT_CHUNK ? resp.len - off
                                                 : STDOUT_CHUNK;
        if (queue_record(c, FCGI_TYPE_STDOUT, id, resp.data + off, n) == -1)
            break;
    }
    queue_record(c, FCGI_TYPE_STDOUT, id, NULL, 0);
    queue_end(c, id, FCGI_PROTO_REQUEST_COMPLETE);
    if (c->out.failed) {
        c->error = "out of memory";
        goto done;
    }
    c->request_id = 0;
    c->params_len = 0;
    c->close_after = !c->keep_conn;
    rc = 0;
done:
    request_free(&rq);
    status_buf_free(&resp);
    return rc;
}

static int
add_params(struct status_conn *c, const struct fcgi_record *r)
{
    if (c->params_len + r->content_len > STATUS_PARAMS_MAX) {
        c->error = "PARAMS over 64 KiB";
        return -1;
    }
    if (c->params == NULL) {
        c->params = malloc(STATUS_PARAMS_MAX);
        if (c->params == NULL) {
            c->error = "out of memory";
            return -1;
        }
    }
    memcpy(c->params + c->params_len, r->content, r->content_len);
    c->params_len += r->content_len;
    return 0;
}

/* BEGIN_REQUEST: start a request, or refuse it. Returns OUTPUT when a
 * refusal was queued, NEED_INPUT to go on, ERROR. */
static enum status_conn_result
begin(struct status_conn *c, const struct fcgi_record *r)
{
    struct fcgi_begin_request b;

    if (fcgi_record_decode_begin(r, &b) == -1) {
        c->error = "malformed BEGIN_REQUEST";
        return STATUS_CONN_ERROR;
    }
    if (r->request_id == c->request_id) {
        c->error = "BEGIN_REQUEST for a request in progress";
        return STATUS_CONN_ERROR;
    }
    if (c->request_id != 0 || b.role != FCGI_ROLE_RESPONDER) {
        uint8_t why = c->request_id != 0 ? FCGI_PROTO_CANT_MPX_CONN
                                         : FCGI_PROTO_UNKNOWN_ROLE;
        if (queue_end(c, r->request_id, why) == -1) {
            c->error = "out of memory";
            return STATUS_CONN_ERROR;
        }
        if (c->request_id == 0 && !(b.flags & FCGI_FLAG_KEEP_CONN))
            c->close_after = true;
        return STATUS_CONN_OUTPUT;
    }
    c->request_id = r->request_id;
    c->keep_conn = b.flags & FCGI_FLAG_KEEP_CONN;
    c->params_len = 0;
    return STATUS_CONN_NEED_INPUT;
}

/* A record for request r->request_id (not 0). */
static enum status_conn_result
app_record(struct status_conn *c, const struct fcgi_record *r,
           status_answer_fn *fn, void *ctx)
{
    bool ours = c->request_id != 0 && r->request_id == c->request_id;

    switch (r->type) {
    case FCGI_TYPE_BEGIN_REQUEST:
        return begin(c, r);
    case FCGI_TYPE_ABORT_REQUEST:
        if (!ours)
            return STATUS_CONN_NEED_INPUT;
        c->request_id = 0;
        c->close_after = !c->keep_conn;
        if (queue_end(c, r->request_id, FCGI_PROTO_REQUEST_COMPLETE) == -1) {
            c->error = "out of memory";
            return STATUS_CONN_ERROR;
        }
        return STATUS_CONN_OUTPUT;
    case FCGI_TYPE_PARAMS:
        if (!ours)
            return STATUS_CONN_NEED_INPUT;
        if (r->content_len > 0)
            return add_params(c, r) == 0 ? STATUS_CONN_NEED_INPUT
                                         : STATUS_CONN_ERROR;
        return answer(c, fn, ctx) == 0 ? STATUS_CONN_OUTPUT
                                       : STATUS_CONN_ERROR;
    case FCGI_TYPE_STDIN:
    case FCGI_TYPE_DATA:
        /* A body means nothing here; the answer may already be sent. */
        return STATUS_CONN_NEED_INPUT;
    case FCGI_TYPE_END_REQUEST:
    case FCGI_TYPE_STDOUT:
    case FCGI_TYPE_STDERR:
    case FCGI_TYPE_GET_VALUES:
    case FCGI_TYPE_GET_VALUES_RESULT:
    case FCGI_TYPE_UNKNOWN_TYPE:
        c->error = "a record only an application sends";
        return STATUS_CONN_ERROR;
    default:
        return queue_unknown_type(c, r->type) == 0 ? STATUS_CONN_OUTPUT
                                                   : STATUS_CONN_ERROR;
    }
}

enum status_conn_result
status_conn_process(struct status_conn *c, status_answer_fn *fn, void *ctx)
{
    struct fcgi_record r;

    if (c->error != NULL)
        return STATUS_CONN_ERROR;
    if (status_conn_pending(c) > 0 || c->close_after)
        return STATUS_CONN_OUTPUT;
    for (;;) {
        enum status_conn_result res;
        switch (fcgi_record_decoder_next(&c->dec, &r)) {
        case FCGI_DECODE_NEED_MORE:
            return STATUS_CONN_NEED_INPUT;
        case FCGI_DECODE_MALFORMED:
            c->error = fcgi_record_decoder_error(&c->dec);
            return STATUS_CONN_ERROR;
        default:
            break;
        }
        if (r.request_id != 0)
            res = app_record(c, &r, fn, ctx);
        else if (r.type == FCGI_TYPE_GET_VALUES)
            res = queue_values(c, &r) == 0 ? STATUS_CONN_OUTPUT
                                           : STATUS_CONN_ERROR;
        else
            res = queue_unknown_type(c, r.type) == 0 ? STATUS_CONN_OUTPUT
                                                     : STATUS_CONN_ERROR;
        if (res == STATUS_CONN_ERROR && c->error == NULL)
            c->error = "out of memory";
        if (res != STATUS_CONN_NEED_INPUT)
            return res;
    }
}
