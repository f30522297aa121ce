/* The cleaner of outside text (control bytes and what is not UTF-8
 * become \xNN) and the line splitter built on it: drops CR before LF,
 * cuts long lines into pieces between characters. No system calls. */
#include <string.h>

#include "lines.h"

/* Length of the UTF-8 sequence s starts with (Unicode's table of well-
 * formed sequences): 1 to 4; 0 when s (n bytes) ends inside one that is
 * well-formed so far; -1 when the first byte starts none. */
static int
seq_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0], lo = 0x80, hi = 0xbf;
    int len;

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        lo = c == 0xe0 ? 0xa0 : lo;         /* overlong */
        hi = c == 0xed ? 0x9f : hi;         /* surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        lo = c == 0xf0 ? 0x90 : lo;         /* overlong */
        hi = c == 0xf4 ? 0x8f : hi;         /* beyond U+10FFFF */
    } else {
        return -1;                          /* C0, C1: overlong */
    }
    for (int i = 1; i < len; i++) {
        if ((size_t)i >= n)
            return 0;
        if (s[i] < (i == 1 ? lo : 0x80) || s[i] > (i == 1 ? hi : 0xbf))
            return -1;
    }
    return len;
}

/* lines_clean_char, but with more set, 0 when s ends inside a character
 * that the bytes to come may finish. */
static size_t
clean_char(const unsigned char *s, size_t n, bool more, unsigned flags,
           char *out, size_t *outlen)
{
    static const char hex[] = "0123456789abcdef";
    int len = seq_len(s, n);
    bool escape;

    if (len == 0 && more)
        return 0;
    if (len <= 0) {
        len = 1;
        escape = true;
    } else if (len == 1) {
        escape = (s[0] < 0x20 && !(s[0] == '\t' && flags & LINES_KEEP_TAB))
                 || s[0] == 0x7f;
    } else {
        escape = len == 2 && s[0] == 0xc2 && s[1] < 0xa0;   /* C1 */
    }
    *outlen = 0;
    for (int i = 0; i < len; i++) {
        if (!escape) {
            out[(*outlen)++] = (char)s[i];
            continue;
        }
        out[(*outlen)++] = '\\';
        out[(*outlen)++] = 'x';
        out[(*outlen)++] = hex[s[i] >> 4];
        out[(*outlen)++] = hex[s[i] & 0xf];
    }
    return (size_t)len;
}

size_t
lines_clean_char(const char *s, size_t n, unsigned flags, char *out,
                 size_t *outlen)
{
    return clean_char((const unsigned char *)s, n, false, flags, out,
                      outlen);
}

size_t
lines_clean(char *dst, size_t size, const char *s, size_t n,
            unsigned flags)
{
    size_t len = 0;

    while (n > 0) {
        char out[LINES_CHAR_MAX];
        size_t outlen;
        size_t took = lines_clean_char(s, n, flags, out, &outlen);
        if (outlen >= size - len)
            break;
        memcpy(dst + len, out, outlen);
        len += outlen;
        s += took;
        n -= took;
    }
    dst[len] = '\0';
    return len;
}

/* Pass the full buffer on as a piece the next one continues. Characters
 * and escapes go in whole, so the cut never splits one. */
static void
cut(struct lines *ol, lines_fn *fn, void *ctx)
{
    unsigned part = LINES_PART_MORE;

    if (ol->continued)
        part |= LINES_PART_CONTINUED;
    fn(ctx, ol->buf, ol->len, part);
    ol->len = 0;
    ol->continued = true;
}

static void
append(struct lines *ol, const char *s, size_t n,
       lines_fn *fn, void *ctx)
{
    if (ol->len + n > sizeof(ol->buf))
        cut(ol, fn, ctx);
    memcpy(ol->buf + ol->len, s, n);
    ol->len += n;
}

/* Clean the characters waiting in pend into the line; with more, an
 * unfinished one waits for the next byte, else it is escaped. */
static void
take_pending(struct lines *ol, bool more, lines_fn *fn, void *ctx)
{
    while (ol->npend > 0) {
        char out[LINES_CHAR_MAX];
        size_t outlen;
        size_t took = clean_char(ol->pend, ol->npend, more, LINES_KEEP_TAB,
                                 out, &outlen);
        if (took == 0)
            return;
        append(ol, out, outlen, fn, ctx);
        ol->npend -= took;
        memmove(ol->pend, ol->pend + took, ol->npend);
    }
}

/* A log line is one line of printable text: see lines_clean. */
static void
add_byte(struct lines *ol, unsigned char c, lines_fn *fn, void *ctx)
{
    ol->pend[ol->npend++] = c;
    take_pending(ol, true, fn, ctx);
}

static void
end_line(struct lines *ol, lines_fn *fn, void *ctx)
{
    take_pending(ol, false, fn, ctx);
    fn(ctx, ol->buf, ol->len, ol->continued ? LINES_PART_CONTINUED : 0);
    ol->len = 0;
    ol->continued = false;
}

void
lines_feed(struct lines *ol, const char *data, size_t n,
                  lines_fn *fn, void *ctx)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)data[i];
        /* A \r is held until the next byte, which may come in the next
         * read: before \n it is dropped (CRLF), elsewhere escaped. */
        if (ol->cr) {
            ol->cr = false;
            if (c != '\n')
                add_byte(ol, '\r', fn, ctx);
        }
        if (c == '\n') {
            end_line(ol, fn, ctx);
        } else if (c == '\r') {
            take_pending(ol, false, fn, ctx);
            ol->cr = true;
        } else {
            add_byte(ol, c, fn, ctx);
        }
    }
}

void
lines_flush(struct lines *ol, lines_fn *fn, void *ctx)
{
    ol->cr = false;             /* trailing, as before a \n */
    take_pending(ol, false, fn, ctx);
    if (ol->len > 0)
        end_line(ol, fn, ctx);
}
