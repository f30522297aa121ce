/* The line splitter: escapes control bytes, drops CR before LF, cuts
 * long lines into pieces at UTF-8 boundaries. No system calls. */
#include <string.h>

#include "lines.h"

/* Where to cut a full buffer: before a UTF-8 sequence the cut would
 * break, so that each piece stays valid text when the line is. */
static size_t
cut_point(const char *buf, size_t len)
{
    const unsigned char *b = (const unsigned char *)buf;
    size_t i = len;

    while (i > 0 && len - i < 3 && (b[i - 1] & 0xc0) == 0x80)
        i--;
    if (i == 0 || b[i - 1] < 0xc0)
        return len;
    size_t need = b[i - 1] >= 0xf0 ? 4 : b[i - 1] >= 0xe0 ? 3 : 2;
    return len - (i - 1) < need ? i - 1 : len;
}

/* The buffer is full: pass it on as a piece the next one continues,
 * keeping back only an unfinished UTF-8 sequence. */
static void
cut(struct lines *ol, lines_fn *fn, void *ctx)
{
    size_t at = cut_point(ol->buf, ol->len);
    unsigned part = LINES_PART_MORE;

    if (ol->continued)
        part |= LINES_PART_CONTINUED;
    fn(ctx, ol->buf, at, part);
    memmove(ol->buf, ol->buf + at, ol->len - at);
    ol->len -= at;
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

/* A log line is one line: control bytes but tab become \xNN. Bytes from
 * 0x80 up pass as they are, so UTF-8 text reads as it was written. */
static void
add_byte(struct lines *ol, unsigned char c, lines_fn *fn,
         void *ctx)
{
    static const char hex[] = "0123456789abcdef";

    if ((c < 0x20 && c != '\t') || c == 0x7f) {
        char esc[4] = { '\\', 'x', hex[c >> 4], hex[c & 0xf] };
        append(ol, esc, sizeof(esc), fn, ctx);
    } else {
        char ch = (char)c;
        append(ol, &ch, 1, fn, ctx);
    }
}

static void
end_line(struct lines *ol, lines_fn *fn, void *ctx)
{
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
        if (c == '\n')
            end_line(ol, fn, ctx);
        else if (c == '\r')
            ol->cr = true;
        else
            add_byte(ol, c, fn, ctx);
    }
}

void
lines_flush(struct lines *ol, lines_fn *fn, void *ctx)
{
    ol->cr = false;             /* trailing, as before a \n */
    if (ol->len > 0)
        end_line(ol, fn, ctx);
}
