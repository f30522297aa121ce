/* libFuzzer target for the status connection: the input is what a client
 * sends, in chunks its first byte sizes; every answer queued must be a
 * well-formed record stream, and output is "sent" in partial writes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "status_conn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *
or_dash(const char *s)
{
    return s != NULL ? s : "-";
}

/* Echo the params back, as the real answer would quote some of them. */
static int
answer(void *ctx, const struct status_request *rq, struct status_buf *out)
{
    (void)ctx;
    return status_buf_printf(out, "Content-Type: text/plain\r\n\r\n"
                             "%s %s %s %s %s\n", or_dash(rq->method),
                             or_dash(rq->document_uri),
                             or_dash(rq->script_name),
                             or_dash(rq->request_uri),
                             or_dash(rq->query_string));
}

/* What is queued decodes as whole, well-formed records. */
static void
check_output(const struct status_conn *c)
{
    static struct fcgi_record_decoder d;
    const uint8_t *p = (const uint8_t *)c->out.data;
    size_t len = c->out.len;
    struct fcgi_record r;

    fcgi_record_decoder_init(&d);
    while (len > 0) {
        size_t n = fcgi_record_decoder_feed(&d, p, len);

        p += n;
        len -= n;
        while (fcgi_record_decoder_next(&d, &r) == FCGI_DECODE_RECORD)
            ;
        if (fcgi_record_decoder_error(&d) != NULL)
            abort();
    }
    if (fcgi_record_decoder_buffered(&d) != 0)
        abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct status_conn c;
    size_t chunk, off = 1;
    unsigned steps = 0;

    if (size == 0)
        return 0;
    chunk = (size_t)data[0] * 64 + 1;
    status_conn_init(&c);
    for (;;) {
        enum status_conn_result res = status_conn_process(&c, answer, NULL);
        size_t room, n;
        void *space;

        /* Each step consumes input or output; bound it anyway. */
        if (++steps > 1000000)
            abort();
        if (res == STATUS_CONN_ERROR) {
            if (c.error == NULL)
                abort();
            break;
        }
        if (res == STATUS_CONN_OUTPUT) {
            size_t pending = status_conn_pending(&c);

            if (pending == 0 && !c.close_after)
                abort();
            /* A new answer starts on a record boundary. */
            if (c.out_sent == 0)
                check_output(&c);
            if (pending == 0)
                break;
            status_conn_sent(&c, pending < chunk ? pending : chunk);
            continue;
        }
        if (off >= size)
            break;
        space = fcgi_record_decoder_space(&c.dec, &room);
        if (room == 0)
            abort();
        n = size - off < chunk ? size - off : chunk;
        n = n < room ? n : room;
        memcpy(space, data + off, n);
        fcgi_record_decoder_commit(&c.dec, n);
        off += n;
    }
    status_conn_free(&c);
    return 0;
}
