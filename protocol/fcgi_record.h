/* The FastCGI 1.0 wire format for both sides of a connection: encoding
 * records and name-value pairs, and an incremental, bounded decoder.
 * Needs only libc; does no I/O. */
#ifndef FCGIPM_FCGI_RECORD_H
#define FCGIPM_FCGI_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define FCGI_RECORD_VERSION      1
#define FCGI_RECORD_HEADER_LEN   8
#define FCGI_RECORD_MAX_CONTENT  65535  /* contentLength is 16 bits */
#define FCGI_RECORD_MAX_PADDING  255    /* paddingLength is 8 bits */
#define FCGI_RECORD_MAX_SIZE     (FCGI_RECORD_HEADER_LEN + \
                                  FCGI_RECORD_MAX_CONTENT + \
                                  FCGI_RECORD_MAX_PADDING)
/* Body of BEGIN_REQUEST, END_REQUEST and UNKNOWN_TYPE. */
#define FCGI_RECORD_BODY_LEN     8
/* Longest name or value a pair can declare (31-bit length). */
#define FCGI_RECORD_PAIR_MAX_LEN 0x7fffffffu

/* Prefixed names, so that this header and libfcgi's fastcgi.h can meet. */
enum fcgi_type {
    FCGI_TYPE_BEGIN_REQUEST = 1,
    FCGI_TYPE_ABORT_REQUEST = 2,
    FCGI_TYPE_END_REQUEST = 3,
    FCGI_TYPE_PARAMS = 4,
    FCGI_TYPE_STDIN = 5,
    FCGI_TYPE_STDOUT = 6,
    FCGI_TYPE_STDERR = 7,
    FCGI_TYPE_DATA = 8,
    FCGI_TYPE_GET_VALUES = 9,
    FCGI_TYPE_GET_VALUES_RESULT = 10,
    FCGI_TYPE_UNKNOWN_TYPE = 11,
};

enum fcgi_role {
    FCGI_ROLE_RESPONDER = 1,
    FCGI_ROLE_AUTHORIZER = 2,
    FCGI_ROLE_FILTER = 3,
};

/* BEGIN_REQUEST flags. */
#define FCGI_FLAG_KEEP_CONN 1

/* END_REQUEST protocolStatus. */
enum fcgi_proto_status {
    FCGI_PROTO_REQUEST_COMPLETE = 0,
    FCGI_PROTO_CANT_MPX_CONN = 1,
    FCGI_PROTO_OVERLOADED = 2,
    FCGI_PROTO_UNKNOWN_ROLE = 3,
};

/* A decoded record; content points into the decoder's buffer. */
struct fcgi_record {
    uint8_t type;
    uint16_t request_id;
    uint16_t content_len;
    uint8_t padding_len;
    const uint8_t *content;
};

struct fcgi_begin_request {
    uint16_t role;
    uint8_t flags;
};

struct fcgi_end_request {
    uint32_t app_status;
    uint8_t protocol_status;
};

/* "BEGIN_REQUEST", ...; "UNKNOWN" for a type the spec does not define. */
const char *fcgi_record_type_name(unsigned type);
/* "REQUEST_COMPLETE", ...; "UNKNOWN" for others. */
const char *fcgi_record_proto_status_name(unsigned status);

/* Padding that aligns content_len bytes of content to 8 (0..7). */
size_t fcgi_record_padding(size_t content_len);
/* Bytes on the wire for a record with content_len bytes of content. */
size_t fcgi_record_size(size_t content_len);

/*
 * Write one record (header, content, zero padding to 8) to buf. content
 * may be NULL when content_len is 0, and may already sit at buf + 8.
 * Returns the bytes written, or -1 with errno EINVAL (content_len over
 * FCGI_RECORD_MAX_CONTENT) or ENOBUFS (buflen too small).
 */
ssize_t fcgi_record_encode(void *buf, size_t buflen, uint8_t type,
                           uint16_t request_id, const void *content,
                           size_t content_len);

/* The 8-byte bodies of BEGIN_REQUEST, END_REQUEST and UNKNOWN_TYPE,
 * to pass as content to fcgi_record_encode. */
void fcgi_record_encode_begin(uint8_t body[FCGI_RECORD_BODY_LEN],
                              uint16_t role, uint8_t flags);
void fcgi_record_encode_end(uint8_t body[FCGI_RECORD_BODY_LEN],
                            uint32_t app_status, uint8_t protocol_status);
void fcgi_record_encode_unknown(uint8_t body[FCGI_RECORD_BODY_LEN],
                                uint8_t type);

/* Read the body of a BEGIN_REQUEST or END_REQUEST record. Returns 0, or
 * -1 with errno EINVAL when r has another type or length. */
int fcgi_record_decode_begin(const struct fcgi_record *r,
                             struct fcgi_begin_request *out);
int fcgi_record_decode_end(const struct fcgi_record *r,
                           struct fcgi_end_request *out);

/* Name-value pairs (PARAMS, GET_VALUES, GET_VALUES_RESULT content):
 * lengths up to 127 take 1 byte, longer ones 4 bytes with the top bit set. */

/* Bytes the pair takes encoded; 0 when a length is over 2^31 - 1. */
size_t fcgi_record_pair_size(size_t name_len, size_t value_len);

/* Append one pair to buf. Returns the bytes written, or -1 with errno
 * EINVAL (length over 2^31 - 1) or ENOBUFS (buflen too small). */
ssize_t fcgi_record_pair_encode(void *buf, size_t buflen, const void *name,
                                size_t name_len, const void *value,
                                size_t value_len);

/* One pair; name and value point into the iterated data, not NUL-ended. */
struct fcgi_record_pair {
    const uint8_t *name;
    size_t name_len;
    const uint8_t *value;
    size_t value_len;
};

/* Iterator over a complete pair stream (a PARAMS stream is the content of
 * all its records concatenated: a pair may straddle two records). */
struct fcgi_record_pairs {
    const uint8_t *data;
    size_t len;
    size_t off;
    int malformed;          /* sticky */
};

enum fcgi_pairs_result {
    FCGI_PAIRS_PAIR,        /* *out holds the next pair */
    FCGI_PAIRS_END,         /* the data ended exactly after a pair */
    FCGI_PAIRS_MALFORMED,   /* a length runs past the end of the data */
};

void fcgi_record_pairs_init(struct fcgi_record_pairs *it, const void *data,
                            size_t len);
/* Never reads past data + len; after MALFORMED it keeps returning it. */
enum fcgi_pairs_result fcgi_record_pairs_next(
    struct fcgi_record_pairs *it, struct fcgi_record_pair *out);
/* 0 when data holds only whole pairs, else -1 with errno EBADMSG. */
int fcgi_record_pairs_check(const void *data, size_t len);

/*
 * Incremental decoder: feed bytes as they arrive, take complete records.
 * Its memory is fixed (one largest record), so a peer cannot make it grow;
 * embed or allocate it, then call fcgi_record_decoder_init.
 */
struct fcgi_record_decoder {
    size_t start;           /* first byte not yet returned in a record */
    size_t end;             /* one past the last byte buffered */
    const char *error;      /* why the stream is malformed; NULL if not */
    uint8_t buf[FCGI_RECORD_MAX_SIZE];
};

enum fcgi_decode_result {
    FCGI_DECODE_RECORD,     /* *out holds a complete record */
    FCGI_DECODE_NEED_MORE,  /* feed more bytes */
    FCGI_DECODE_MALFORMED,  /* broken stream; fcgi_record_decoder_error */
};

void fcgi_record_decoder_init(struct fcgi_record_decoder *d);

/* Copy up to len bytes in. Returns how many were taken: fewer than len
 * only when a whole record is buffered; take it with
 * fcgi_record_decoder_next, then feed the rest. */
size_t fcgi_record_decoder_feed(struct fcgi_record_decoder *d,
                                const void *data, size_t len);

/* For reading straight from a socket: the free space is *room bytes (never
 * 0 once fcgi_record_decoder_next said NEED_MORE); read into it, then
 * commit the bytes read. */
void *fcgi_record_decoder_space(struct fcgi_record_decoder *d, size_t *room);
void fcgi_record_decoder_commit(struct fcgi_record_decoder *d, size_t n);

/*
 * The next complete record. Checks the version, the 8-byte bodies of
 * BEGIN_REQUEST, END_REQUEST and UNKNOWN_TYPE, and the pairs of
 * GET_VALUES(_RESULT); other types, known or not, are returned as they
 * are. out->content stays valid until the next feed or space call.
 * MALFORMED is final: the decoder returns it from then on.
 */
enum fcgi_decode_result fcgi_record_decoder_next(
    struct fcgi_record_decoder *d, struct fcgi_record *out);

/* Why the stream is malformed, or NULL. */
const char *fcgi_record_decoder_error(const struct fcgi_record_decoder *d);
/* Bytes buffered but not yet returned: not 0 at EOF means a cut record. */
size_t fcgi_record_decoder_buffered(const struct fcgi_record_decoder *d);

enum fcgi_head {
    FCGI_HEAD_PARTIAL,      /* no whole head yet: wait for more bytes */
    FCGI_HEAD_COMPLETE,     /* a BEGIN_REQUEST and its PARAMS stream up to
                               its empty record */
    FCGI_HEAD_INVALID,      /* a record of another protocol version, or
                               padding where libfcgi reads none (after
                               BEGIN_REQUEST or the empty PARAMS) */
    FCGI_HEAD_REPLIES,      /* whole, but reading it makes the reader
                               answer (management records, a second
                               BEGIN_REQUEST): it may block on a client
                               that does not read */
};

/*
 * Whether the first len bytes a connection sent (peeked, not consumed)
 * hold a whole request head, so that reading it cannot block. Records
 * before the BEGIN_REQUEST and of other request ids are skipped whole;
 * everything but the version is left for the reader to judge. Looks at
 * the bytes only: no state, no allocation. With a whole head,
 * *input_ended (if not NULL) says whether the request's empty STDIN
 * record is within the bytes too: then its whole input is here.
 */
enum fcgi_head fcgi_record_scan_head(const void *buf, size_t len,
                                     bool *input_ended);

#endif
