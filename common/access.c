/* Access-log lines: access_format's directives expanded from a request,
 * with whatever the client sent escaped so that a request is one line. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "access.h"

/* Every letter that may follow '%'; access_put_directive handles each. */
static const char access_directives[] = "RutmrqQsdpnfl%";

static const char access_months[12][4] = {
    "Jan", "Feb", "Mar", "Apr", "May", "Jun",
    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

/* A line being built: up to cap bytes of text, the "\n\0" after them
 * kept aside so that a cut line still ends like any other. */
struct access_line {
    char *buf;
    size_t cap;
    size_t n;
    bool full;
};

static void
access_put(struct access_line *l, const char *s, size_t n)
{
    if (l->full)
        return;
    if (n > l->cap - l->n) {
        n = l->cap - l->n;
        l->full = true;
    }
    memcpy(l->buf + l->n, s, n);
    l->n += n;
}

/* Quotes and backslashes are escaped in fields because formats put them
 * inside "...", and a literal "\x0a" in a URI must not read as an escape.
 * A tab is the format's own separator (tab-separated logs) but never a
 * field's, so that fields cannot add columns. */
static bool
access_needs_escape(unsigned char c, bool field)
{
    if (!field)
        return (c < 0x20 && c != '\t') || c == 0x7f;
    return c < 0x20 || c >= 0x7f || c == '"' || c == '\\';
}

/* An escape goes in whole or not at all: a cut line never ends in "\x0". */
static void
access_put_escape(struct access_line *l, unsigned char c)
{
    static const char hex[] = "0123456789abcdef";
    char esc[4] = { '\\', 'x', hex[c >> 4], hex[c & 0xf] };

    if (l->cap - l->n < sizeof(esc))
        l->full = true;
    access_put(l, esc, sizeof(esc));
}

static void
access_put_escaped(struct access_line *l, const char *s, size_t n,
                   bool field)
{
    size_t start = 0;

    for (size_t i = 0; i < n; i++) {
        if (!access_needs_escape((unsigned char)s[i], field))
            continue;
        access_put(l, s + start, i - start);
        access_put_escape(l, (unsigned char)s[i]);
        if (l->full)
            return;
        start = i + 1;
    }
    access_put(l, s + start, n - start);
}

/* A field from the request or the pool; NULL prints as "-". */
static void
access_put_field(struct access_line *l, const char *s)
{
    if (s == NULL)
        s = "-";
    access_put_escaped(l, s, strlen(s), true);
}

/* What snprintf wrote into tmp (of size bytes), given its return n. */
static void
access_put_tmp(struct access_line *l, const char *tmp, size_t size, int n)
{
    if (n > 0)
        access_put(l, tmp, (size_t)n < size ? (size_t)n : size - 1);
}

/* "[26/Nov/2026:16:20:00 +0100]"; month names are fixed, not the locale's,
 * since a module may call setlocale(). */
static void
access_put_time(struct access_line *l, double wall)
{
    time_t t = (time_t)(wall > 0 ? wall : 0);
    struct tm tm;
    char tmp[96];

    if (localtime_r(&t, &tm) == NULL) {
        access_put(l, "[-]", 3);
        return;
    }
    long off = tm.tm_gmtoff;
    char sign = off < 0 ? '-' : '+';
    off = labs(off);
    int n = snprintf(tmp, sizeof(tmp),
                     "[%02d/%s/%04d:%02d:%02d:%02d %c%02ld%02ld]",
                     tm.tm_mday, access_months[tm.tm_mon % 12],
                     tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     sign, off / 3600, off % 3600 / 60);
    access_put_tmp(l, tmp, sizeof(tmp), n);
}

/* Milliseconds, rounded; absurd values are clamped, not printed whole. */
static void
access_put_duration(struct access_line *l, double s)
{
    char tmp[64];

    if (!(s > 0))
        s = 0;
    if (s > 1e9)
        s = 1e9;
    access_put_tmp(l, tmp, sizeof(tmp), snprintf(tmp, sizeof(tmp), "%.3f", s));
}

static void
access_put_number(struct access_line *l, unsigned long long v, bool neg)
{
    char tmp[32];

    int n = snprintf(tmp, sizeof(tmp), "%s%llu", neg ? "-" : "", v);

    access_put_tmp(l, tmp, sizeof(tmp), n);
}

static void
access_put_int(struct access_line *l, int v)
{
    long long w = v;

    access_put_number(l, (unsigned long long)(w < 0 ? -w : w), w < 0);
}

static void
access_put_directive(struct access_line *l, char d,
                     const struct access_entry *e)
{
    const char *uri = e->request_uri;
    const char *q = e->query_string != NULL ? e->query_string : "";

    switch (d) {
    case 'R': access_put_field(l, e->remote_addr); break;
    case 'u': access_put_field(l, e->remote_user); break;
    case 't': access_put_time(l, e->start_wall); break;
    case 'm': access_put_field(l, e->method); break;
    case 'r':
        if (uri == NULL)
            access_put_field(l, NULL);
        else
            access_put_escaped(l, uri, strcspn(uri, "?"), true);
        break;
    case 'q': access_put_escaped(l, q, strlen(q), true); break;
    case 'Q': access_put(l, "?", *q != '\0' ? 1 : 0); break;
    case 's': access_put_int(l, e->status); break;
    case 'd': access_put_duration(l, e->duration_s); break;
    case 'p': access_put_int(l, e->pid); break;
    case 'n': access_put_field(l, e->pool); break;
    case 'f': access_put_field(l, e->script_filename); break;
    case 'l': access_put_number(l, e->content_length, false); break;
    default: access_put(l, "%", 1); break;
    }
}

static bool
access_is_directive(char c)
{
    return c != '\0' && strchr(access_directives, c) != NULL;
}

size_t
access_format(const char *fmt, const struct access_entry *e, char *buf,
              size_t len)
{
    if (len < 2) {
        if (len == 1)
            buf[0] = '\0';
        return 0;
    }
    struct access_line l = { .buf = buf, .cap = len - 2 };

    for (const char *p = fmt; *p != '\0' && !l.full;) {
        size_t run = strcspn(p, "%");

        access_put_escaped(&l, p, run, false);
        p += run;
        if (*p == '\0')
            break;
        if (access_is_directive(p[1])) {
            access_put_directive(&l, p[1], e);
            p += 2;
        } else {
            /* Unknown: the '%' now, the letter with the next run. */
            access_put(&l, "%", 1);
            p++;
        }
    }
    buf[l.n++] = '\n';
    buf[l.n] = '\0';
    return l.n;
}

int
access_format_check(const char *fmt, char *why, size_t len)
{
    if (*fmt == '\0') {
        snprintf(why, len, "empty");
        return -1;
    }
    for (const char *p = fmt; *p != '\0'; p++) {
        unsigned char c = (unsigned char)*p;
        size_t col = (size_t)(p - fmt) + 1;

        if ((c < 0x20 && c != '\t') || c == 0x7f) {
            snprintf(why, len, "control character \\x%02x at column %zu", c,
                     col);
            return -1;
        }
        if (c != '%')
            continue;
        c = (unsigned char)p[1];
        if (c == '\0') {
            snprintf(why, len, "lone %% at column %zu (write %%%% for a "
                     "percent sign)", col);
            return -1;
        }
        if (!access_is_directive((char)c)) {
            if (c > 0x20 && c < 0x7f)
                snprintf(why, len, "unknown directive %%%c at column %zu", c,
                         col);
            else
                snprintf(why, len, "unknown directive %%\\x%02x at column "
                         "%zu", c, col);
            return -1;
        }
        p++;
    }
    return 0;
}
