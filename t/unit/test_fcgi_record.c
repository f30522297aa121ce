/* fcgi_record: record and pair encoding round trips, the incremental
 * decoder fed in every chunking, and malformed or random input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fcgi_record.h"

static struct fcgi_record_decoder *
decoder_new(void)
{
    struct fcgi_record_decoder *d = malloc(sizeof(*d));

    assert_non_null(d);
    fcgi_record_decoder_init(d);
    return d;
}

/* Feed all of data, which must hold exactly one record, and take it. */
static void
decode_one(struct fcgi_record_decoder *d, const void *data, size_t len,
           struct fcgi_record *r)
{
    assert_int_equal(fcgi_record_decoder_feed(d, data, len), len);
    assert_int_equal(fcgi_record_decoder_next(d, r), FCGI_DECODE_RECORD);
    assert_int_equal(fcgi_record_decoder_buffered(d), 0);
}

/* Feed data and expect MALFORMED with a reason. */
static void
decode_malformed(const void *data, size_t len)
{
    struct fcgi_record_decoder *d = decoder_new();
    struct fcgi_record r;

    assert_int_equal(fcgi_record_decoder_feed(d, data, len), len);
    assert_int_equal(fcgi_record_decoder_next(d, &r), FCGI_DECODE_MALFORMED);
    assert_non_null(fcgi_record_decoder_error(d));
    /* Final: more input does not revive it. */
    assert_int_equal(fcgi_record_decoder_next(d, &r), FCGI_DECODE_MALFORMED);
    free(d);
}

static void
test_sizes(void **state)
{
    (void)state;
    assert_int_equal(fcgi_record_padding(0), 0);
    assert_int_equal(fcgi_record_padding(1), 7);
    assert_int_equal(fcgi_record_padding(8), 0);
    assert_int_equal(fcgi_record_padding(65535), 1);
    assert_int_equal(fcgi_record_size(0), 8);
    assert_int_equal(fcgi_record_size(5), 16);
    assert_int_equal(fcgi_record_size(65535), 8 + 65536);
    assert_int_equal(FCGI_RECORD_MAX_SIZE, 8 + 65535 + 255);
}

static void
test_encode_header(void **state)
{
    uint8_t buf[32];
    const uint8_t want[] = { 1, FCGI_TYPE_STDOUT, 0x12, 0x34, 0, 5, 3, 0,
                             'h', 'e', 'l', 'l', 'o', 0, 0, 0 };

    (void)state;
    memset(buf, 0xee, sizeof(buf));
    assert_int_equal(fcgi_record_encode(buf, sizeof(buf), FCGI_TYPE_STDOUT,
                                        0x1234, "hello", 5), 16);
    assert_memory_equal(buf, want, sizeof(want));
    assert_int_equal(buf[16], 0xee);
}

static void
test_encode_errors(void **state)
{
    static uint8_t big[FCGI_RECORD_MAX_SIZE + 8];
    uint8_t buf[16];

    (void)state;
    errno = 0;
    assert_int_equal(fcgi_record_encode(big, sizeof(big), FCGI_TYPE_STDIN, 1,
                                        big, 65536), -1);
    assert_int_equal(errno, EINVAL);
    assert_int_equal(fcgi_record_encode(buf, sizeof(buf), FCGI_TYPE_STDIN, 1,
                                        NULL, 3), -1);
    assert_int_equal(errno, EINVAL);
    assert_int_equal(fcgi_record_encode(buf, 15, FCGI_TYPE_STDIN, 1, "x", 1),
                     -1);
    assert_int_equal(errno, ENOBUFS);
    assert_int_equal(fcgi_record_encode(buf, 7, FCGI_TYPE_STDIN, 1, NULL, 0),
                     -1);
    assert_int_equal(errno, ENOBUFS);
    assert_int_equal(fcgi_record_encode(buf, 8, FCGI_TYPE_STDIN, 1, NULL, 0),
                     8);
}

/* Content already written at buf + 8 is encoded in place. */
static void
test_encode_in_place(void **state)
{
    uint8_t buf[24];
    struct fcgi_record_decoder *d = decoder_new();
    struct fcgi_record r;

    (void)state;
    memcpy(buf + 8, "in place", 8);
    assert_int_equal(fcgi_record_encode(buf, sizeof(buf), FCGI_TYPE_STDIN, 7,
                                        buf + 8, 8), 16);
    decode_one(d, buf, 16, &r);
    assert_int_equal(r.content_len, 8);
    assert_memory_equal(r.content, "in place", 8);
    free(d);
}

static void
test_round_trip_sizes(void **state)
{
    static uint8_t content[FCGI_RECORD_MAX_CONTENT];
    static uint8_t buf[FCGI_RECORD_MAX_SIZE];
    const size_t sizes[] = { 0, 1, 7, 8, 9, 127, 128, 4096, 65534, 65535 };
    struct fcgi_record_decoder *d = decoder_new();
    struct fcgi_record r;
    ssize_t n;

    (void)state;
    for (size_t i = 0; i < sizeof(content); i++)
        content[i] = (uint8_t)(i * 7 + 3);
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        n = fcgi_record_encode(buf, sizeof(buf), FCGI_TYPE_STDOUT, 65535,
                               content, sizes[i]);
        assert_int_equal(n, fcgi_record_size(sizes[i]));
        assert_int_equal(n % 8, 0);
        decode_one(d, buf, (size_t)n, &r);
        assert_int_equal(r.type, FCGI_TYPE_STDOUT);
        assert_int_equal(r.request_id, 65535);
        assert_int_equal(r.content_len, sizes[i]);
        assert_int_equal(r.padding_len, fcgi_record_padding(sizes[i]));
        assert_memory_equal(r.content, content, sizes[i]);
    }
    free(d);
}

static void
test_fixed_bodies(void **state)
{
    uint8_t body[8], buf[16];
    struct fcgi_record_decoder *d = decoder_new();
    struct fcgi_record r;
    struct fcgi_begin_request b;
    struct fcgi_end_request e;

    (void)state;
    fcgi_record_encode_begin(body, FCGI_ROLE_RESPONDER, FCGI_FLAG_KEEP_CONN);
    assert_int_equal(fcgi_record_encode(buf, sizeof(buf),
                                        FCGI_TYPE_BEGIN_REQUEST, 1, body, 8),
                     16);
    decode_one(d, buf, 16, &r);
    assert_int_equal(fcgi_record_decode_begin(&r, &b), 0);
    assert_int_equal(b.role, FCGI_ROLE_RESPONDER);
    assert_int_equal(b.flags, FCGI_FLAG_KEEP_CONN);
    errno = 0;
    assert_int_equal(fcgi_record_decode_end(&r, &e), -1);
    assert_int_equal(errno, EINVAL);

    fcgi_record_encode_end(body, 0xdeadbeef, FCGI_PROTO_OVERLOADED);
    fcgi_record_encode(buf, sizeof(buf), FCGI_TYPE_END_REQUEST, 2, body, 8);
    decode_one(d, buf, 16, &r);
    assert_int_equal(fcgi_record_decode_end(&r, &e), 0);
    assert_int_equal(e.app_status, 0xdeadbeef);
    assert_int_equal(e.protocol_status, FCGI_PROTO_OVERLOADED);
    assert_int_equal(fcgi_record_decode_begin(&r, &b), -1);

    fcgi_record_encode_unknown(body, 42);
    fcgi_record_encode(buf, sizeof(buf), FCGI_TYPE_UNKNOWN_TYPE, 0, body, 8);
    decode_one(d, buf, 16, &r);
    assert_int_equal(r.type, FCGI_TYPE_UNKNOWN_TYPE);
    assert_int_equal(r.content[0], 42);
    free(d);
}

static void
test_names(void **state)
{
    (void)state;
    assert_string_equal(fcgi_record_type_name(FCGI_TYPE_BEGIN_REQUEST),
                        "BEGIN_REQUEST");
    assert_string_equal(fcgi_record_type_name(FCGI_TYPE_UNKNOWN_TYPE),
                        "UNKNOWN_TYPE");
    assert_string_equal(fcgi_record_type_name(0), "UNKNOWN");
    assert_string_equal(fcgi_record_type_name(12), "UNKNOWN");
    assert_string_equal(fcgi_record_type_name(255), "UNKNOWN");
    assert_string_equal(fcgi_record_proto_status_name(0),
                        "REQUEST_COMPLETE");
    assert_string_equal(fcgi_record_proto_status_name(3), "UNKNOWN_ROLE");
    assert_string_equal(fcgi_record_proto_status_name(4), "UNKNOWN");
}

/* Encode a pair with the given lengths, check the length bytes, and read
 * it back. */
static void
pair_round_trip(size_t name_len, size_t value_len)
{
    size_t size = fcgi_record_pair_size(name_len, value_len);
    size_t hdr = (name_len > 127 ? 4 : 1) + (value_len > 127 ? 4 : 1);
    uint8_t *buf = malloc(size + 1);
    char *name = malloc(name_len + 1), *value = malloc(value_len + 1);
    struct fcgi_record_pairs it;
    struct fcgi_record_pair p;

    assert_non_null(buf);
    assert_non_null(name);
    assert_non_null(value);
    assert_int_equal(size, hdr + name_len + value_len);
    memset(name, 'n', name_len);
    memset(value, 'v', value_len);
    assert_int_equal(fcgi_record_pair_encode(buf, size, name, name_len,
                                             value, value_len), size);
    if (name_len > 127)
        assert_int_equal(buf[0] & 0x80, 0x80);
    else
        assert_int_equal(buf[0], name_len);
    fcgi_record_pairs_init(&it, buf, size);
    assert_int_equal(fcgi_record_pairs_next(&it, &p), FCGI_PAIRS_PAIR);
    assert_int_equal(p.name_len, name_len);
    assert_int_equal(p.value_len, value_len);
    assert_memory_equal(p.name, name, name_len);
    assert_memory_equal(p.value, value, value_len);
    assert_int_equal(fcgi_record_pairs_next(&it, &p), FCGI_PAIRS_END);
    assert_int_equal(fcgi_record_pairs_check(buf, size), 0);
    /* One byte short is a cut pair, not a read past the end. */
    assert_int_equal(fcgi_record_pairs_check(buf, size - 1), -1);
    free(buf);
    free(name);
    free(value);
}

static void
test_pair_length_boundary(void **state)
{
    const size_t lens[] = { 0, 1, 126, 127, 128, 129, 255, 256, 65536 };
    const size_t n = sizeof(lens) / sizeof(lens[0]);
    uint8_t buf[8];

    (void)state;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            pair_round_trip(lens[i], lens[j]);
    /* The 4-byte form of 128 is 0x80000080. */
    assert_int_equal(fcgi_record_pair_encode(buf, sizeof(buf), "", 0, NULL,
                                             0), 2);
    assert_int_equal(buf[0], 0);
    assert_int_equal(buf[1], 0);
    assert_int_equal(fcgi_record_pair_size(128, 0), 4 + 1 + 128);
    assert_int_equal(fcgi_record_pair_size(127, 0), 1 + 1 + 127);
}

static void
test_pair_encode_errors(void **state)
{
    uint8_t buf[16];

    (void)state;
    assert_int_equal(fcgi_record_pair_size(0x80000000u, 0), 0);
    assert_int_equal(fcgi_record_pair_size(0, 0x80000000u), 0);
    assert_int_equal(fcgi_record_pair_size(0x7fffffffu, 0),
                     4 + 1 + 0x7fffffffu);
    errno = 0;
    assert_int_equal(fcgi_record_pair_encode(buf, sizeof(buf), "x",
                                             0x80000000u, "", 0), -1);
    assert_int_equal(errno, EINVAL);
    assert_int_equal(fcgi_record_pair_encode(buf, sizeof(buf), NULL, 1, "",
                                             0), -1);
    assert_int_equal(errno, EINVAL);
    assert_int_equal(fcgi_record_pair_encode(buf, 5, "ab", 2, "cd", 2), -1);
    assert_int_equal(errno, ENOBUFS);
    assert_int_equal(fcgi_record_pair_encode(buf, 6, "ab", 2, "cd", 2), 6);
    assert_memory_equal(buf, "\x02\x02" "abcd", 6);
}

static void
test_pairs_stream(void **state)
{
    uint8_t buf[256];
    size_t len = 0;
    struct fcgi_record_pairs it;
    struct fcgi_record_pair p;

    (void)state;
    len += (size_t)fcgi_record_pair_encode(buf + len, sizeof(buf) - len,
                                           "REQUEST_METHOD", 14, "GET", 3);
    len += (size_t)fcgi_record_pair_encode(buf + len, sizeof(buf) - len,
                                           "EMPTY", 5, "", 0);
    len += (size_t)fcgi_record_pair_encode(buf + len, sizeof(buf) - len,
                                           "QUERY_STRING", 12, "a=1", 3);
    fcgi_record_pairs_init(&it, buf, len);
    assert_int_equal(fcgi_record_pairs_next(&it, &p), FCGI_PAIRS_PAIR);
    assert_memory_equal(p.name, "REQUEST_METHOD", 14);
    assert_memory_equal(p.value, "GET", 3);
    assert_int_equal(fcgi_record_pairs_next(&it, &p), FCGI_PAIRS_PAIR);
    assert_int_equal(p.name_len, 5);
    assert_int_equal(p.value_len, 0);
    assert_int_equal(fcgi_record_pairs_next(&it, &p), FCGI_PAIRS_PAIR);
    assert_memory_equal(p.value, "a=1", 3);
    assert_int_equal(fcgi_record_pairs_next(&it, &p), FCGI_PAIRS_END);
    assert_int_equal(fcgi_record_pairs_next(&it, &p), FCGI_PAIRS_END);
    fcgi_record_pairs_init(&it, NULL, 0);
    assert_int_equal(fcgi_record_pairs_next(&it, &p), FCGI_PAIRS_END);
}

static void
assert_pairs_malformed(const void *data, size_t len)
{
    struct fcgi_record_pairs it;
    struct fcgi_record_pair p;

    fcgi_record_pairs_init(&it, data, len);
    while (fcgi_record_pairs_next(&it, &p) == FCGI_PAIRS_PAIR)
        continue;
    assert_int_equal(fcgi_record_pairs_next(&it, &p), FCGI_PAIRS_MALFORMED);
    errno = 0;
    assert_int_equal(fcgi_record_pairs_check(data, len), -1);
    assert_int_equal(errno, EBADMSG);
}

static void
test_pairs_malformed(void **state)
{
    (void)state;
    /* Only a name length. */
    assert_pairs_malformed("\x03", 1);
    /* A 4-byte length cut after 2 bytes. */
    assert_pairs_malformed("\x80\x00", 2);
    assert_pairs_malformed("\x01\x80\x00\x00", 4);
    /* Name longer than the data. */
    assert_pairs_malformed("\x05\x00" "abc", 5);
    /* Value longer than what the name leaves. */
    assert_pairs_malformed("\x01\x05" "abc", 5);
    /* A good pair, then a cut one. */
    assert_pairs_malformed("\x01\x01" "ab" "\x01\x02" "cd", 8);
    /* Huge declared lengths: 2^31 - 1 each, whose sum overflows 32 bits. */
    assert_pairs_malformed("\xff\xff\xff\xff\xff\xff\xff\xff" "ab", 10);
    assert_pairs_malformed("\x80\x00\x00\x80\x00", 5);
}

static void
test_decoder_one_byte_at_a_time(void **state)
{
    uint8_t stream[512], body[8];
    size_t len = 0;
    struct fcgi_record_decoder *d = decoder_new();
    struct fcgi_record r;
    unsigned got = 0;

    (void)state;
    fcgi_record_encode_begin(body, FCGI_ROLE_RESPONDER, 0);
    len += (size_t)fcgi_record_encode(stream + len, sizeof(stream) - len,
                                      FCGI_TYPE_BEGIN_REQUEST, 1, body, 8);
    len += (size_t)fcgi_record_encode(stream + len, sizeof(stream) - len,
                                      FCGI_TYPE_STDOUT, 1, "abcdefghijk", 11);
    len += (size_t)fcgi_record_encode(stream + len, sizeof(stream) - len,
                                      FCGI_TYPE_STDOUT, 1, NULL, 0);
    fcgi_record_encode_end(body, 0, FCGI_PROTO_REQUEST_COMPLETE);
    len += (size_t)fcgi_record_encode(stream + len, sizeof(stream) - len,
                                      FCGI_TYPE_END_REQUEST, 1, body, 8);
    for (size_t i = 0; i < len; i++) {
        assert_int_equal(fcgi_record_decoder_feed(d, stream + i, 1), 1);
        while (fcgi_record_decoder_next(d, &r) == FCGI_DECODE_RECORD) {
            switch (got++) {
            case 0:
                assert_int_equal(r.type, FCGI_TYPE_BEGIN_REQUEST);
                break;
            case 1:
                assert_int_equal(r.content_len, 11);
                assert_memory_equal(r.content, "abcdefghijk", 11);
                break;
            case 2:
                assert_int_equal(r.type, FCGI_TYPE_STDOUT);
                assert_int_equal(r.content_len, 0);
                break;
            case 3:
                assert_int_equal(r.type, FCGI_TYPE_END_REQUEST);
                assert_int_equal(i, len - 1);
                break;
            default:
                fail();
            }
        }
    }
    assert_int_equal(got, 4);
    assert_int_equal(fcgi_record_decoder_buffered(d), 0);
    free(d);
}

/* A stream of largest records fed in one go: feed takes what fits, and
 * there is always room after NEED_MORE. */
static void
test_decoder_full_buffer(void **state)
{
    const size_t nrec = 5, rec = FCGI_RECORD_MAX_SIZE;
    uint8_t *stream = malloc(nrec * rec);
    struct fcgi_record_decoder *d = decoder_new();
    struct fcgi_record r;
    size_t off = 0, got = 0, n;
    enum fcgi_decode_result res;

    (void)state;
    assert_non_null(stream);
    for (size_t i = 0; i < nrec; i++) {
        uint8_t *h = stream + i * rec;

        memset(h, (int)i, rec);
        /* Hand-made header: maximum content and maximum padding. */
        memcpy(h, "\x01\x06\x00\x01\xff\xff\xff\x00", 8);
    }
    while (off < nrec * rec) {
        n = fcgi_record_decoder_feed(d, stream + off, nrec * rec - off);
        assert_true(n > 0);
        off += n;
        while ((res = fcgi_record_decoder_next(d, &r)) ==
               FCGI_DECODE_RECORD) {
            assert_int_equal(r.content_len, 65535);
            assert_int_equal(r.padding_len, 255);
            assert_int_equal(r.content[0], got);
            assert_int_equal(r.content[65534], got);
            got++;
        }
        assert_int_equal(res, FCGI_DECODE_NEED_MORE);
    }
    assert_int_equal(got, nrec);
    free(stream);
    free(d);
}

/* The read(2) path: space, then commit. */
static void
test_decoder_space_commit(void **state)
{
    uint8_t rec[16];
    struct fcgi_record_decoder *d = decoder_new();
    struct fcgi_record r;
    size_t room;
    uint8_t *p;

    (void)state;
    fcgi_record_encode(rec, sizeof(rec), FCGI_TYPE_STDERR, 3, "oops", 4);
    p = fcgi_record_decoder_space(d, &room);
    assert_int_equal(room, FCGI_RECORD_MAX_SIZE);
    memcpy(p, rec, 10);
    fcgi_record_decoder_commit(d, 10);
    assert_int_equal(fcgi_record_decoder_next(d, &r), FCGI_DECODE_NEED_MORE);
    p = fcgi_record_decoder_space(d, &room);
    assert_int_equal(room, FCGI_RECORD_MAX_SIZE - 10);
    memcpy(p, rec + 10, 6);
    fcgi_record_decoder_commit(d, 6);
    assert_int_equal(fcgi_record_decoder_next(d, &r), FCGI_DECODE_RECORD);
    assert_int_equal(r.type, FCGI_TYPE_STDERR);
    assert_memory_equal(r.content, "oops", 4);
    /* An oversized commit is clamped, never past the buffer. */
    fcgi_record_decoder_space(d, &room);
    fcgi_record_decoder_commit(d, room + 1000);
    assert_int_equal(fcgi_record_decoder_buffered(d), FCGI_RECORD_MAX_SIZE);
    free(d);
}

static void
test_decoder_truncated_header(void **state)
{
    struct fcgi_record_decoder *d = decoder_new();
    struct fcgi_record r;

    (void)state;
    assert_int_equal(fcgi_record_decoder_feed(d, "\x01\x06\x00\x01\x00\x00"
                                                 "\x00", 7), 7);
    assert_int_equal(fcgi_record_decoder_next(d, &r), FCGI_DECODE_NEED_MORE);
    assert_int_equal(fcgi_record_decoder_buffered(d), 7);
    assert_null(fcgi_record_decoder_error(d));
    assert_int_equal(fcgi_record_decoder_feed(d, "\x00", 1), 1);
    assert_int_equal(fcgi_record_decoder_next(d, &r), FCGI_DECODE_RECORD);
    assert_int_equal(r.content_len, 0);
    free(d);
}

/* Huge declared lengths: a header alone never yields a record. */
static void
test_decoder_huge_lengths(void **state)
{
    struct fcgi_record_decoder *d = decoder_new();
    struct fcgi_record r;

    (void)state;
    fcgi_record_decoder_feed(d, "\x01\x06\x00\x01\xff\xff\xff\x00", 8);
    assert_int_equal(fcgi_record_decoder_next(d, &r), FCGI_DECODE_NEED_MORE);
    fcgi_record_decoder_feed(d, "abc", 3);
    assert_int_equal(fcgi_record_decoder_next(d, &r), FCGI_DECODE_NEED_MORE);
    assert_int_equal(fcgi_record_decoder_buffered(d), 11);
    free(d);
}

/* Padding is skipped whatever its length, and a record is not complete
 * until its padding is in. */
static void
test_decoder_padding(void **state)
{
    uint8_t stream[8 + 3 + 255 + 16];
    struct fcgi_record_decoder *d = decoder_new();
    struct fcgi_record r;
    size_t len = 8 + 3 + 255;

    (void)state;
    memcpy(stream, "\x01\x06\x00\x01\x00\x03\xff\x00" "abc", 11);
    memset(stream + 11, 'P', 255);
    len += (size_t)fcgi_record_encode(stream + len, sizeof(stream) - len,
                                      FCGI_TYPE_STDOUT, 1, "next", 4);
    assert_int_equal(fcgi_record_decoder_feed(d, stream, 8 + 3 + 254),
                     8 + 3 + 254);
    assert_int_equal(fcgi_record_decoder_next(d, &r), FCGI_DECODE_NEED_MORE);
    fcgi_record_decoder_feed(d, stream + 8 + 3 + 254, len - (8 + 3 + 254));
    assert_int_equal(fcgi_record_decoder_next(d, &r), FCGI_DECODE_RECORD);
    assert_int_equal(r.content_len, 3);
    assert_int_equal(r.padding_len, 255);
    assert_memory_equal(r.content, "abc", 3);
    assert_int_equal(fcgi_record_decoder_next(d, &r), FCGI_DECODE_RECORD);
    assert_memory_equal(r.content, "next", 4);
    /* Unaligned padding (1 byte for 3 of content) is as good. */
    decode_one(d, "\x01\x06\x00\x01\x00\x03\x01\x00" "xyzP", 12, &r);
    assert_memory_equal(r.content, "xyz", 3);
    free(d);
}

static void
test_decoder_malformed(void **state)
{
    (void)state;
    /* Bad versions, including an HTTP client on the wrong port. */
    decode_malformed("\x00\x06\x00\x01\x00\x00\x00\x00", 8);
    decode_malformed("\x02\x06\x00\x01\x00\x00\x00\x00", 8);
    decode_malformed("GET / HTTP/1.1\r\n", 16);
    /* Fixed bodies of the wrong size. */
    decode_malformed("\x01\x01\x00\x01\x00\x07\x01\x00" "1234567P", 16);
    decode_malformed("\x01\x03\x00\x01\x00\x09\x07\x00" "123456789"
                     "PPPPPPP", 24);
    decode_malformed("\x01\x0b\x00\x00\x00\x00\x00\x00", 8);
    /* GET_VALUES whose pair length exceeds the record content. */
    decode_malformed("\x01\x09\x00\x00\x00\x04\x04\x00" "\x05\x00" "ab"
                     "PPPP", 16);
    decode_malformed("\x01\x0a\x00\x00\x00\x02\x06\x00" "\x80\x00"
                     "PPPPPP", 16);
}

/* Records before the broken one still come out. */
static void
test_decoder_good_then_bad(void **state)
{
    uint8_t buf[64];
    struct fcgi_record_decoder *d = decoder_new();
    struct fcgi_record r;
    size_t n;

    (void)state;
    n = (size_t)fcgi_record_encode(buf, sizeof(buf), FCGI_TYPE_STDOUT, 1,
                                   "ok", 2);
    memcpy(buf + n, "\x07\x06\x00\x01\x00\x00\x00\x00", 8);
    fcgi_record_decoder_feed(d, buf, n + 8);
    assert_int_equal(fcgi_record_decoder_next(d, &r), FCGI_DECODE_RECORD);
    assert_memory_equal(r.content, "ok", 2);
    assert_int_equal(fcgi_record_decoder_next(d, &r), FCGI_DECODE_MALFORMED);
    assert_string_equal(fcgi_record_decoder_error(d),
                        "bad version byte (not FastCGI 1?)");
    free(d);
}

static void
test_decoder_passes_other_types(void **state)
{
    uint8_t buf[32];
    struct fcgi_record_decoder *d = decoder_new();
    struct fcgi_record r;
    size_t n;

    (void)state;
    n = (size_t)fcgi_record_encode(buf, sizeof(buf), 42, 0, "?", 1);
    decode_one(d, buf, n, &r);
    assert_int_equal(r.type, 42);
    n = (size_t)fcgi_record_encode(buf, sizeof(buf), FCGI_TYPE_GET_VALUES, 0,
                                   "\x0e\x00" "FCGI_MAX_CONNS", 16);
    decode_one(d, buf, n, &r);
    assert_int_equal(fcgi_record_pairs_check(r.content, r.content_len), 0);
    free(d);
}

/* Deterministic xorshift, so a failure reproduces. */
static uint32_t
fuzz_rand(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static void
fuzz_check_record(const struct fcgi_record_decoder *d,
                  const struct fcgi_record *r)
{
    assert_true(r->content >= d->buf);
    assert_true(r->content + r->content_len + r->padding_len <=
                d->buf + sizeof(d->buf));
    if (r->type == FCGI_TYPE_GET_VALUES)
        assert_int_equal(fcgi_record_pairs_check(r->content,
                                                 r->content_len), 0);
}

/* Feed random chunks of buf; returns records seen. */
static unsigned
fuzz_feed(struct fcgi_record_decoder *d, const uint8_t *buf, size_t len,
          uint32_t *seed)
{
    struct fcgi_record r;
    enum fcgi_decode_result res = FCGI_DECODE_NEED_MORE;
    size_t off = 0, chunk;
    unsigned got = 0;

    while (off < len && res != FCGI_DECODE_MALFORMED) {
        chunk = 1 + fuzz_rand(seed) % 300;
        if (chunk > len - off)
            chunk = len - off;
        off += fcgi_record_decoder_feed(d, buf + off, chunk);
        while ((res = fcgi_record_decoder_next(d, &r)) ==
               FCGI_DECODE_RECORD) {
            fuzz_check_record(d, &r);
            got++;
        }
    }
    return got;
}

/* Chain plausible headers through buf (types 0..12, small lengths), then
 * flip a few bytes, so that records come out and some are broken. */
static void
fuzz_shape(uint8_t *buf, size_t len, uint32_t *seed)
{
    size_t i = 0;

    while (i + 8 <= len) {
        buf[i] = FCGI_RECORD_VERSION;
        buf[i + 1] = (uint8_t)(fuzz_rand(seed) % 13);
        buf[i + 4] = 0;
        buf[i + 5] = (uint8_t)(fuzz_rand(seed) % 3 == 0 ? 8 :
                               fuzz_rand(seed) % 48);
        buf[i + 6] = (uint8_t)(fuzz_rand(seed) % 8);
        i += 8 + buf[i + 5] + buf[i + 6];
    }
    for (int flips = (int)(fuzz_rand(seed) % 3); flips > 0 && len > 0;
         flips--)
        buf[fuzz_rand(seed) % len] = (uint8_t)fuzz_rand(seed);
}

/* Random bytes, and valid streams with random bytes flipped: no crash,
 * no out-of-bounds access (run it under ASan), every record in bounds. */
static void
test_fuzz(void **state)
{
    uint8_t *buf = malloc(4096);
    struct fcgi_record_decoder *d = decoder_new();
    struct fcgi_record_pairs it;
    struct fcgi_record_pair p;
    uint32_t seed = 0x12345678;
    unsigned records = 0;
    size_t len;

    (void)state;
    assert_non_null(buf);
    for (int round = 0; round < 20000; round++) {
        len = fuzz_rand(&seed) % 4096;
        for (size_t i = 0; i < len; i++)
            buf[i] = (uint8_t)fuzz_rand(&seed);
        if (round % 2 == 0)
            fuzz_shape(buf, len, &seed);
        fcgi_record_decoder_init(d);
        records += fuzz_feed(d, buf, len, &seed);
        fcgi_record_pairs_init(&it, buf, len);
        while (fcgi_record_pairs_next(&it, &p) == FCGI_PAIRS_PAIR) {
            assert_true(p.name >= buf && p.value >= p.name + p.name_len);
            assert_true(p.value + p.value_len <= buf + len);
        }
    }
    /* The shaped half must really exercise the record path. */
    assert_true(records > 10000);
    free(buf);
    free(d);
}

/* rec: one record with content c (n bytes) appended at b + *off. */
static void
scan_put(uint8_t *b, size_t *off, uint8_t type, uint16_t id, const char *c,
         size_t n)
{
    ssize_t w = fcgi_record_encode(b + *off, 4096 - *off, type, id, c, n);

    assert_true(w > 0);
    *off += (size_t)w;
}

static void
test_scan_head(void **state)
{
    uint8_t b[4096], body[FCGI_RECORD_BODY_LEN];
    size_t len = 0, begin_end, head_end;
    bool ended;

    (void)state;
    fcgi_record_encode_begin(body, FCGI_ROLE_RESPONDER, FCGI_FLAG_KEEP_CONN);
    scan_put(b, &len, FCGI_TYPE_GET_VALUES, 0, "", 0);
    scan_put(b, &len, FCGI_TYPE_BEGIN_REQUEST, 1, (char *)body, sizeof(body));
    begin_end = len;
    scan_put(b, &len, FCGI_TYPE_PARAMS, 1, "\x01\x01" "ab", 4);
    scan_put(b, &len, FCGI_TYPE_STDIN, 7, "other id", 8);
    scan_put(b, &len, FCGI_TYPE_PARAMS, 7, "", 0);   /* not this request */
    scan_put(b, &len, FCGI_TYPE_PARAMS, 1, "", 0);
    head_end = len;
    /* Every cut short of the empty PARAMS record waits for more. */
    for (size_t cut = 0; cut < head_end; cut++)
        assert_int_equal(fcgi_record_scan_head(b, cut, &ended),
                         FCGI_HEAD_PARTIAL);
    /* The GET_VALUES first: libfcgi answers it while reading. */
    assert_int_equal(fcgi_record_scan_head(b, len, &ended),
                     FCGI_HEAD_REPLIES);
    assert_false(ended);
    /* Without it, the head needs no answer. */
    memmove(b, b + 8, len - 8);
    len -= 8;
    begin_end -= 8;
    assert_int_equal(fcgi_record_scan_head(b, len, &ended),
                     FCGI_HEAD_COMPLETE);
    assert_false(ended);
    scan_put(b, &len, FCGI_TYPE_STDIN, 1, "body", 4);
    scan_put(b, &len, FCGI_TYPE_STDIN, 7, "", 0);
    assert_int_equal(fcgi_record_scan_head(b, len, &ended),
                     FCGI_HEAD_COMPLETE);
    assert_false(ended);
    scan_put(b, &len, FCGI_TYPE_STDIN, 1, "", 0);
    assert_int_equal(fcgi_record_scan_head(b, len - 1, &ended),
                     FCGI_HEAD_COMPLETE);
    assert_false(ended);
    assert_int_equal(fcgi_record_scan_head(b, len, &ended),
                     FCGI_HEAD_COMPLETE);
    assert_true(ended);
    /* Without a BEGIN_REQUEST, an empty PARAMS ends nothing. */
    assert_int_equal(fcgi_record_scan_head(b + begin_end, len - begin_end,
                                           NULL), FCGI_HEAD_PARTIAL);
    /* Padding after BEGIN_REQUEST or the empty PARAMS: libfcgi would
     * read it as a header. */
    b[begin_end - FCGI_RECORD_BODY_LEN - 2] = 8;
    assert_int_equal(fcgi_record_scan_head(b, len, NULL), FCGI_HEAD_INVALID);
    b[begin_end - FCGI_RECORD_BODY_LEN - 2] = 0;
    /* A header of another version is refused at once. */
    b[begin_end] = 2;
    assert_int_equal(fcgi_record_scan_head(b, len, NULL), FCGI_HEAD_INVALID);
    assert_int_equal(fcgi_record_scan_head("\x00", 1, NULL),
                     FCGI_HEAD_PARTIAL);
    assert_int_equal(fcgi_record_scan_head("\x02\x01\x00\x01\x00\x00\x00"
                                           "\x00", 8, NULL),
                     FCGI_HEAD_INVALID);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_encode_header),
        cmocka_unit_test(test_encode_errors),
        cmocka_unit_test(test_encode_in_place),
        cmocka_unit_test(test_round_trip_sizes),
        cmocka_unit_test(test_fixed_bodies),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_pair_length_boundary),
        cmocka_unit_test(test_pair_encode_errors),
        cmocka_unit_test(test_pairs_stream),
        cmocka_unit_test(test_pairs_malformed),
        cmocka_unit_test(test_decoder_one_byte_at_a_time),
        cmocka_unit_test(test_decoder_full_buffer),
        cmocka_unit_test(test_decoder_space_commit),
        cmocka_unit_test(test_decoder_truncated_header),
        cmocka_unit_test(test_decoder_huge_lengths),
        cmocka_unit_test(test_decoder_padding),
        cmocka_unit_test(test_decoder_malformed),
        cmocka_unit_test(test_decoder_good_then_bad),
        cmocka_unit_test(test_decoder_passes_other_types),
        cmocka_unit_test(test_fuzz),
        cmocka_unit_test(test_scan_head),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
