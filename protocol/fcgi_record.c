/* FastCGI records and name-value pairs: encoding, and a decoder that
 * trusts no length it reads. */
#include "fcgi_record.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

static const char *const fcgi_record_type_names[] = {
    [FCGI_TYPE_BEGIN_REQUEST] = "BEGIN_REQUEST",
    [FCGI_TYPE_ABORT_REQUEST] = "ABORT_REQUEST",
    [FCGI_TYPE_END_REQUEST] = "END_REQUEST",
    [FCGI_TYPE_PARAMS] = "PARAMS",
    [FCGI_TYPE_STDIN] = "STDIN",
    [FCGI_TYPE_STDOUT] = "STDOUT",
    [FCGI_TYPE_STDERR] = "STDERR",
    [FCGI_TYPE_DATA] = "DATA",
    [FCGI_TYPE_GET_VALUES] = "GET_VALUES",
    [FCGI_TYPE_GET_VALUES_RESULT] = "GET_VALUES_RESULT",
    [FCGI_TYPE_UNKNOWN_TYPE] = "UNKNOWN_TYPE",
};

static const char *const fcgi_record_proto_status_names[] = {
    [FCGI_PROTO_REQUEST_COMPLETE] = "REQUEST_COMPLETE",
    [FCGI_PROTO_CANT_MPX_CONN] = "CANT_MPX_CONN",
    [FCGI_PROTO_OVERLOADED] = "OVERLOADED",
    [FCGI_PROTO_UNKNOWN_ROLE] = "UNKNOWN_ROLE",
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

const char *
fcgi_record_type_name(unsigned type)
{
    if (type >= NELEM(fcgi_record_type_names) ||
        fcgi_record_type_names[type] == NULL)
        return "UNKNOWN";
    return fcgi_record_type_names[type];
}

const char *
fcgi_record_proto_status_name(unsigned status)
{
    if (status >= NELEM(fcgi_record_proto_status_names))
        return "UNKNOWN";
    return fcgi_record_proto_status_names[status];
}

size_t
fcgi_record_padding(size_t content_len)
{
    return (8 - content_len % 8) % 8;
}

size_t
fcgi_record_size(size_t content_len)
{
    return FCGI_RECORD_HEADER_LEN + content_len +
           fcgi_record_padding(content_len);
}

ssize_t
fcgi_record_encode(void *buf, size_t buflen, uint8_t type,
                   uint16_t request_id, const void *content,
                   size_t content_len)
{
    uint8_t *b = buf;
    size_t pad = fcgi_record_padding(content_len);

    if (content_len > FCGI_RECORD_MAX_CONTENT || (content == NULL &&
                                                   content_len > 0)) {
        errno = EINVAL;
        return -1;
    }
    if (buflen < fcgi_record_size(content_len)) {
        errno = ENOBUFS;
        return -1;
    }
    /* Move the content first: it may overlap where the header goes. */
    if (content_len > 0)
        memmove(b + FCGI_RECORD_HEADER_LEN, content, content_len);
    b[0] = FCGI_RECORD_VERSION;
    b[1] = type;
    b[2] = (uint8_t)(request_id >> 8);
    b[3] = (uint8_t)request_id;
    b[4] = (uint8_t)(content_len >> 8);
    b[5] = (uint8_t)content_len;
    b[6] = (uint8_t)pad;
    b[7] = 0;
    memset(b + FCGI_RECORD_HEADER_LEN + content_len, 0, pad);
    return (ssize_t)fcgi_record_size(content_len);
}

void
fcgi_record_encode_begin(uint8_t body[FCGI_RECORD_BODY_LEN], uint16_t role,
                         uint8_t flags)
{
    memset(body, 0, FCGI_RECORD_BODY_LEN);
    body[0] = (uint8_t)(role >> 8);
    body[1] = (uint8_t)role;
    body[2] = flags;
}

void
fcgi_record_encode_end(uint8_t body[FCGI_RECORD_BODY_LEN],
                       uint32_t app_status, uint8_t protocol_status)
{
    memset(body, 0, FCGI_RECORD_BODY_LEN);
    body[0] = (uint8_t)(app_status >> 24);
    body[1] = (uint8_t)(app_status >> 16);
    body[2] = (uint8_t)(app_status >> 8);
    body[3] = (uint8_t)app_status;
    body[4] = protocol_status;
}

void
fcgi_record_encode_unknown(uint8_t body[FCGI_RECORD_BODY_LEN], uint8_t type)
{
    memset(body, 0, FCGI_RECORD_BODY_LEN);
    body[0] = type;
}

int
fcgi_record_decode_begin(const struct fcgi_record *r,
                         struct fcgi_begin_request *out)
{
    if (r->type != FCGI_TYPE_BEGIN_REQUEST ||
        r->content_len != FCGI_RECORD_BODY_LEN) {
        errno = EINVAL;
        return -1;
    }
    out->role = (uint16_t)(r->content[0] << 8 | r->content[1]);
    out->flags = r->content[2];
    return 0;
}

int
fcgi_record_decode_end(const struct fcgi_record *r,
                       struct fcgi_end_request *out)
{
    const uint8_t *c = r->content;

    if (r->type != FCGI_TYPE_END_REQUEST ||
        r->content_len != FCGI_RECORD_BODY_LEN) {
        errno = EINVAL;
        return -1;
    }
    out->app_status = (uint32_t)c[0] << 24 | (uint32_t)c[1] << 16 |
                      (uint32_t)c[2] << 8 | (uint32_t)c[3];
    out->protocol_status = c[4];
    return 0;
}

size_t
fcgi_record_pair_size(size_t name_len, size_t value_len)
{
    if (name_len > FCGI_RECORD_PAIR_MAX_LEN ||
        value_len > FCGI_RECORD_PAIR_MAX_LEN)
        return 0;
    /* Two 31-bit lengths and 8 length bytes overflow a 32-bit size_t. */
    if (value_len > SIZE_MAX - 8 - name_len)
        return 0;
    return (name_len > 127 ? 4 : 1) + (value_len > 127 ? 4 : 1) +
           name_len + value_len;
}

static size_t
fcgi_record_put_len(uint8_t *p, size_t len)
{
    if (len <= 127) {
        p[0] = (uint8_t)len;
        return 1;
    }
    p[0] = (uint8_t)(0x80 | (len >> 24));
    p[1] = (uint8_t)(len >> 16);
    p[2] = (uint8_t)(len >> 8);
    p[3] = (uint8_t)len;
    return 4;
}

ssize_t
fcgi_record_pair_encode(void *buf, size_t buflen, const void *name,
                        size_t name_len, const void *value, size_t value_len)
{
    size_t size = fcgi_record_pair_size(name_len, value_len);
    uint8_t *p = buf;

    if (size == 0 || (name == NULL && name_len > 0) ||
        (value == NULL && value_len > 0)) {
        errno = EINVAL;
        return -1;
    }
    if (buflen < size) {
        errno = ENOBUFS;
        return -1;
    }
    p += fcgi_record_put_len(p, name_len);
    p += fcgi_record_put_len(p, value_len);
    if (name_len > 0)
        memcpy(p, name, name_len);
    if (value_len > 0)
        memcpy(p + name_len, value, value_len);
    return (ssize_t)size;
}

void
fcgi_record_pairs_init(struct fcgi_record_pairs *it, const void *data,
                       size_t len)
{
    it->data = data;
    it->len = len;
    it->off = 0;
    it->malformed = 0;
}

/* One length at p, which has avail bytes; -1 when it is cut short. */
static int
fcgi_record_get_len(const uint8_t *p, size_t avail, size_t *len,
                    size_t *used)
{
    if (avail < 1)
        return -1;
    if ((p[0] & 0x80) == 0) {
        *len = p[0];
        *used = 1;
        return 0;
    }
    if (avail < 4)
        return -1;
    *len = (size_t)(p[0] & 0x7f) << 24 | (size_t)p[1] << 16 |
           (size_t)p[2] << 8 | (size_t)p[3];
    *used = 4;
    return 0;
}

enum fcgi_pairs_result
fcgi_record_pairs_next(struct fcgi_record_pairs *it,
                       struct fcgi_record_pair *out)
{
    const uint8_t *p;
    size_t rest, name_len, value_len, n;

    if (it->malformed)
        return FCGI_PAIRS_MALFORMED;
    if (it->off >= it->len)
        return FCGI_PAIRS_END;
    p = it->data + it->off;
    rest = it->len - it->off;
    if (fcgi_record_get_len(p, rest, &name_len, &n) == -1)
        goto malformed;
    p += n;
    rest -= n;
    if (fcgi_record_get_len(p, rest, &value_len, &n) == -1)
        goto malformed;
    p += n;
    rest -= n;
    /* Compare by subtraction: name_len + value_len may not fit. */
    if (name_len > rest || value_len > rest - name_len)
        goto malformed;
    out->name = p;
    out->name_len = name_len;
    out->value = p + name_len;
    out->value_len = value_len;
    it->off = (size_t)(p - it->data) + name_len + value_len;
    return FCGI_PAIRS_PAIR;
malformed:
    it->malformed = 1;
    return FCGI_PAIRS_MALFORMED;
}

int
fcgi_record_pairs_check(const void *data, size_t len)
{
    struct fcgi_record_pairs it;
    struct fcgi_record_pair pair;
    enum fcgi_pairs_result r;

    fcgi_record_pairs_init(&it, data, len);
    while ((r = fcgi_record_pairs_next(&it, &pair)) == FCGI_PAIRS_PAIR)
        continue;
    if (r == FCGI_PAIRS_MALFORMED) {
        errno = EBADMSG;
        return -1;
    }
    return 0;
}

void
fcgi_record_decoder_init(struct fcgi_record_decoder *d)
{
    d->start = 0;
    d->end = 0;
    d->error = NULL;
}

void *
fcgi_record_decoder_space(struct fcgi_record_decoder *d, size_t *room)
{
    /* Slide the partial record down so a whole one always fits. */
    if (d->start > 0) {
        memmove(d->buf, d->buf + d->start, d->end - d->start);
        d->end -= d->start;
        d->start = 0;
    }
    *room = sizeof(d->buf) - d->end;
    return d->buf + d->end;
}

void
fcgi_record_decoder_commit(struct fcgi_record_decoder *d, size_t n)
{
    /* More than the space given would already have overrun; never let the
     * indices say so too. */
    if (n > sizeof(d->buf) - d->end)
        n = sizeof(d->buf) - d->end;
    d->end += n;
}

size_t
fcgi_record_decoder_feed(struct fcgi_record_decoder *d, const void *data,
                         size_t len)
{
    size_t room;
    void *space = fcgi_record_decoder_space(d, &room);

    if (len > room)
        len = room;
    if (len > 0)
        memcpy(space, data, len);
    d->end += len;
    return len;
}

/* What is wrong with the content of a complete record, or NULL. */
static const char *
fcgi_record_check(const struct fcgi_record *r)
{
    switch (r->type) {
    case FCGI_TYPE_BEGIN_REQUEST:
        if (r->content_len != FCGI_RECORD_BODY_LEN)
            return "BEGIN_REQUEST body is not 8 bytes";
        break;
    case FCGI_TYPE_END_REQUEST:
        if (r->content_len != FCGI_RECORD_BODY_LEN)
            return "END_REQUEST body is not 8 bytes";
        break;
    case FCGI_TYPE_UNKNOWN_TYPE:
        if (r->content_len != FCGI_RECORD_BODY_LEN)
            return "UNKNOWN_TYPE body is not 8 bytes";
        break;
    case FCGI_TYPE_GET_VALUES:
    case FCGI_TYPE_GET_VALUES_RESULT:
        if (fcgi_record_pairs_check(r->content, r->content_len) == -1)
            return "name-value pair runs past the end of its record";
        break;
    default:
        break;
    }
    return NULL;
}

enum fcgi_decode_result
fcgi_record_decoder_next(struct fcgi_record_decoder *d,
                         struct fcgi_record *out)
{
    const uint8_t *h = d->buf + d->start;
    size_t avail = d->end - d->start;
    struct fcgi_record r;

    if (d->error != NULL)
        return FCGI_DECODE_MALFORMED;
    if (avail < FCGI_RECORD_HEADER_LEN)
        return FCGI_DECODE_NEED_MORE;
    if (h[0] != FCGI_RECORD_VERSION) {
        d->error = "bad version byte (not FastCGI 1?)";
        return FCGI_DECODE_MALFORMED;
    }
    r.type = h[1];
    r.request_id = (uint16_t)(h[2] << 8 | h[3]);
    r.content_len = (uint16_t)(h[4] << 8 | h[5]);
    r.padding_len = h[6];
    r.content = h + FCGI_RECORD_HEADER_LEN;
    /* At most FCGI_RECORD_MAX_SIZE, which is what buf holds. */
    if (avail < (size_t)FCGI_RECORD_HEADER_LEN + r.content_len +
                r.padding_len)
        return FCGI_DECODE_NEED_MORE;
    d->error = fcgi_record_check(&r);
    if (d->error != NULL)
        return FCGI_DECODE_MALFORMED;
    d->start += FCGI_RECORD_HEADER_LEN + r.content_len + r.padding_len;
    *out = r;
    return FCGI_DECODE_RECORD;
}

const char *
fcgi_record_decoder_error(const struct fcgi_record_decoder *d)
{
    return d->error;
}

size_t
fcgi_record_decoder_buffered(const struct fcgi_record_decoder *d)
{
    return d->end - d->start;
}

/* Whether the records from off on hold request id's empty STDIN. */
static bool
scan_input_end(const uint8_t *b, size_t len, size_t off, uint16_t id)
{
    while (len - off >= FCGI_RECORD_HEADER_LEN) {
        const uint8_t *h = b + off;
        size_t content = (size_t)(h[4] << 8 | h[5]);
        size_t whole = FCGI_RECORD_HEADER_LEN + content + h[6];

        if (h[0] != FCGI_RECORD_VERSION || len - off < whole)
            return false;
        if (h[1] == FCGI_TYPE_STDIN && (uint16_t)(h[2] << 8 | h[3]) == id
            && content == 0)
            return true;
        off += whole;
    }
    return false;
}

enum fcgi_head
fcgi_record_scan_head(const void *buf, size_t len, bool *input_ended)
{
    const uint8_t *b = buf;
    bool begun = false, replies = false;
    uint16_t id = 0;

    if (input_ended != NULL)
        *input_ended = false;
    for (size_t off = 0; len - off >= FCGI_RECORD_HEADER_LEN;) {
        const uint8_t *h = b + off;
        uint16_t rid = (uint16_t)(h[2] << 8 | h[3]);
        size_t content = (size_t)(h[4] << 8 | h[5]);
        size_t whole = FCGI_RECORD_HEADER_LEN + content + h[6];

        if (h[0] != FCGI_RECORD_VERSION)
            return FCGI_HEAD_INVALID;
        if (len - off < whole)
            return FCGI_HEAD_PARTIAL;
        off += whole;
        if (rid == 0) {
            replies = true;
        } else if (h[1] == FCGI_TYPE_BEGIN_REQUEST) {
            /* libfcgi takes the padding of the BEGIN_REQUEST it starts
             * with for the next header; a later one it refuses. */
            if (!begun && h[6] != 0)
                return FCGI_HEAD_INVALID;
            replies |= begun;
            if (!begun)
                id = rid;
            begun = true;
        } else if (h[1] == FCGI_TYPE_PARAMS && begun && rid == id
                   && content == 0) {
            if (h[6] != 0)      /* read as the next header, as above */
                return FCGI_HEAD_INVALID;
            if (input_ended != NULL)
                *input_ended = !replies && scan_input_end(b, len, off, id);
            return replies ? FCGI_HEAD_REPLIES : FCGI_HEAD_COMPLETE;
        }
    }
    return FCGI_HEAD_PARTIAL;
}
