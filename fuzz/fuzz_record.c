/* libFuzzer target for the FastCGI decoder: the input arrives in chunks
 * whose sizes its first bytes choose; every record is checked, its pairs
 * and bodies decoded, and what decodes re-encodes to the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fcgi_record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A PARAMS stream is bounded here only to keep the fuzzer fast. */
#define STREAM_MAX (256 * 1024)

struct chunker {
    const uint8_t *spec;        /* chunk sizes, cycled */
    size_t nspec;
    size_t next;
};

/* 1..128 bytes for a spec byte under 128, else up to 64 KiB. */
static size_t
chunker_size(struct chunker *ch)
{
    uint8_t b;

    if (ch->nspec == 0)
        return SIZE_MAX;
    b = ch->spec[ch->next++ % ch->nspec];
    return b < 128 ? (size_t)b + 1 : (size_t)(b - 127) * 512;
}

/* Every pair re-encodes; a canonical encoding gives the same bytes. */
static void
check_pairs(const uint8_t *data, size_t len)
{
    struct fcgi_record_pairs it;
    struct fcgi_record_pair p;
    enum fcgi_pairs_result res;
    uint8_t *buf = malloc(len + 8);
    size_t prev = 0;

    if (buf == NULL)
        abort();
    fcgi_record_pairs_init(&it, data, len);
    while ((res = fcgi_record_pairs_next(&it, &p)) == FCGI_PAIRS_PAIR) {
        size_t used = it.off - prev;
        size_t want = fcgi_record_pair_size(p.name_len, p.value_len);
        ssize_t n;

        if (it.off > len || want == 0 || want > used)
            abort();
        if (p.name < data || p.name + p.name_len > data + len ||
            p.value < data || p.value + p.value_len > data + len)
            abort();
        n = fcgi_record_pair_encode(buf, len + 8, p.name, p.name_len,
                                    p.value, p.value_len);
        if (n < 0 || (size_t)n != want)
            abort();
        /* 4-byte lengths under 128 are legal but not canonical. */
        if (want == used && memcmp(buf, data + prev, used) != 0)
            abort();
        prev = it.off;
    }
    if (res == FCGI_PAIRS_END && it.off != len)
        abort();
    if ((res == FCGI_PAIRS_END) != (fcgi_record_pairs_check(data, len) == 0))
        abort();
    /* MALFORMED is sticky. */
    if (res == FCGI_PAIRS_MALFORMED &&
        fcgi_record_pairs_next(&it, &p) != FCGI_PAIRS_MALFORMED)
        abort();
    free(buf);
}

/* The record re-encodes and decodes again to the same fields. */
static void
check_reencode(const struct fcgi_record *r)
{
    static uint8_t buf[FCGI_RECORD_MAX_SIZE];
    static struct fcgi_record_decoder d;
    struct fcgi_record again;
    ssize_t n;

    n = fcgi_record_encode(buf, sizeof(buf), r->type, r->request_id,
                           r->content, r->content_len);
    if (n != (ssize_t)fcgi_record_size(r->content_len))
        abort();
    fcgi_record_decoder_init(&d);
    if (fcgi_record_decoder_feed(&d, buf, (size_t)n) != (size_t)n)
        abort();
    if (fcgi_record_decoder_next(&d, &again) != FCGI_DECODE_RECORD)
        abort();
    if (again.type != r->type || again.request_id != r->request_id ||
        again.content_len != r->content_len ||
        (r->content_len > 0 &&
         memcmp(again.content, r->content, r->content_len) != 0) ||
        fcgi_record_decoder_buffered(&d) != 0)
        abort();
}

static void
check_bodies(const struct fcgi_record *r)
{
    struct fcgi_begin_request b;
    struct fcgi_end_request e;
    uint8_t body[FCGI_RECORD_BODY_LEN];
    int fits = r->content_len == FCGI_RECORD_BODY_LEN;

    if (fcgi_record_decode_begin(r, &b) == 0) {
        if (r->type != FCGI_TYPE_BEGIN_REQUEST || !fits)
            abort();
        fcgi_record_encode_begin(body, b.role, b.flags);
        if (memcmp(body, r->content, 3) != 0)
            abort();
    } else if (r->type == FCGI_TYPE_BEGIN_REQUEST && fits) {
        abort();
    }
    if (fcgi_record_decode_end(r, &e) == 0) {
        if (r->type != FCGI_TYPE_END_REQUEST || !fits)
            abort();
        fcgi_record_encode_end(body, e.app_status, e.protocol_status);
        if (memcmp(body, r->content, 5) != 0)
            abort();
    } else if (r->type == FCGI_TYPE_END_REQUEST && fits) {
        abort();
    }
    (void)fcgi_record_type_name(r->type);
}

struct stream {
    uint8_t *data;
    size_t len;
};

static void
take_record(struct stream *params, const struct fcgi_record *r)
{
    if (r->content_len > FCGI_RECORD_MAX_CONTENT)
        abort();
    check_bodies(r);
    check_reencode(r);
    if (r->type == FCGI_TYPE_GET_VALUES ||
        r->type == FCGI_TYPE_GET_VALUES_RESULT) {
        /* The decoder promised whole pairs. */
        if (fcgi_record_pairs_check(r->content, r->content_len) != 0)
            abort();
        check_pairs(r->content, r->content_len);
    }
    if (r->type != FCGI_TYPE_PARAMS)
        return;
    check_pairs(r->content, r->content_len);
    if (r->content_len == 0) {
        check_pairs(params->data, params->len);
        params->len = 0;
    } else if (params->len + r->content_len <= STREAM_MAX) {
        memcpy(params->data + params->len, r->content, r->content_len);
        params->len += r->content_len;
    }
}

/* Take every complete record; 0 on NEED_MORE, -1 once malformed. */
static int
drain(struct fcgi_record_decoder *d, struct stream *params)
{
    struct fcgi_record r;
    enum fcgi_decode_result res;

    while ((res = fcgi_record_decoder_next(d, &r)) == FCGI_DECODE_RECORD)
        take_record(params, &r);
    if (res == FCGI_DECODE_MALFORMED) {
        if (fcgi_record_decoder_error(d) == NULL ||
            fcgi_record_decoder_next(d, &r) != FCGI_DECODE_MALFORMED)
            abort();
        return -1;
    }
    return 0;
}

/* Feed via feed() or via space()/commit(), as a spec bit says. */
static size_t
push(struct fcgi_record_decoder *d, const uint8_t *p, size_t len, int raw)
{
    size_t room, n;
    void *space;

    if (!raw)
        return fcgi_record_decoder_feed(d, p, len);
    space = fcgi_record_decoder_space(d, &room);
    n = len < room ? len : room;
    memcpy(space, p, n);
    fcgi_record_decoder_commit(d, n);
    return n;
}

/* The head scan looks within its bytes only, and its answer is final: a
 * prefix that holds a whole head (or a bad version) still does so with
 * any bytes after it. */
static void
check_scan_head(const uint8_t *data, size_t size)
{
    enum fcgi_head whole = fcgi_record_scan_head(data, size, NULL);
    size_t cuts[] = { size / 2, size / 3, size > 8 ? size - 8 : 0 };

    for (size_t i = 0; i < sizeof(cuts) / sizeof(*cuts); i++) {
        enum fcgi_head part = fcgi_record_scan_head(data, cuts[i], NULL);
        if (part != FCGI_HEAD_PARTIAL && part != whole)
            abort();
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct fcgi_record_decoder d;
    static uint8_t stream_buf[STREAM_MAX];
    struct stream params = { stream_buf, 0 };
    struct chunker ch = { NULL, 0, 0 };
    size_t off;

    if (size == 0)
        return 0;
    check_scan_head(data, size);
    ch.nspec = data[0] % 8;
    if (1 + ch.nspec > size)
        return 0;
    ch.spec = data + 1;
    off = 1 + ch.nspec;
    fcgi_record_decoder_init(&d);
    while (off < size) {
        size_t want = chunker_size(&ch);
        size_t len = size - off < want ? size - off : want;
        int raw = ch.nspec > 0 && (ch.spec[ch.next % ch.nspec] & 1);
        size_t took = push(&d, data + off, len, raw);

        if (took > len)
            abort();
        off += took;
        if (drain(&d, &params) == -1)
            return 0;
        /* drain() left no whole record, so some byte must fit. */
        if (took == 0)
            abort();
    }
    if (drain(&d, &params) == 0 && params.len > 0)
        check_pairs(params.data, params.len);
    return 0;
}
