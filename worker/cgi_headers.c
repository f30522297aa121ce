/* A CGI script's header block (RFC 3875 section 6): where it ends in the
 * script's output, what it says, and how it goes to the web server. */
#include <string.h>
#include <strings.h>

#include "cgi.h"

char *
cgi_headers_room(struct cgi_headers *h, size_t *room)
{
    *room = sizeof(h->buf) - h->len;
    return h->buf + h->len;
}

enum cgi_headers_state
cgi_headers_added(struct cgi_headers *h, size_t n)
{
    h->len += n;
    /* Line by line from the start of the unfinished one, so each byte is
     * looked at about once however the reads cut the block. */
    for (;;) {
        size_t at = h->line_at;
        const char *nl;

        if (at < h->len && h->buf[at] == '\n') {
            h->end = at + 1;
            return CGI_HEADERS_DONE;
        }
        if (at + 1 < h->len && h->buf[at] == '\r' && h->buf[at + 1] == '\n') {
            h->end = at + 2;
            return CGI_HEADERS_DONE;
        }
        nl = memchr(h->buf + at, '\n', h->len - at);
        if (nl == NULL)
            break;
        h->line_at = (size_t)(nl - h->buf) + 1;
    }
    return h->len == sizeof(h->buf) ? CGI_HEADERS_TOO_BIG : CGI_HEADERS_MORE;
}

/* The next line of a block from *at, its length without LF or CRLF in
 * *n (0: the blank line); NULL when no line ends before end. */
static const char *
cgi_next_line(const char **at, const char *end, size_t *n)
{
    const char *line = *at;
    const char *nl = memchr(line, '\n', (size_t)(end - line));

    if (nl == NULL)
        return NULL;
    *n = (size_t)(nl - line);
    if (*n > 0 && line[*n - 1] == '\r')
        (*n)--;
    *at = nl + 1;
    return line;
}

/* RFC 9110 token characters. */
static bool
cgi_is_token(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z')
              || (c >= 'a' && c <= 'z')
              || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL)))
            return false;
    }
    return true;
}

/* A bare CR or other control byte could end the line early in the web
 * server's parser: a header the script did not mean to send. */
static bool
cgi_has_control(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return true;
    }
    return false;
}

static bool
cgi_is_name(const char *name, size_t n, const char *want)
{
    return n == strlen(want) && strncasecmp(name, want, n) == 0;
}

/* "NNN" or "NNN reason": the status, or -1. */
static int
cgi_status_value(const char *v, size_t n)
{
    if (n < 3 || (n > 3 && v[3] != ' ' && v[3] != '\t'))
        return -1;
    for (size_t i = 0; i < 3; i++)
        if (v[i] < '0' || v[i] > '9')
            return -1;
    int status = (v[0] - '0') * 100 + (v[1] - '0') * 10 + (v[2] - '0');
    return status >= 100 && status <= 599 ? status : -1;
}

static int
cgi_reply_bad(struct cgi_reply *r, const char *why)
{
    r->why = why;
    return -1;
}

/* One "Name: value" line into r; -1 with r->why if it is not one. */
static int
cgi_reply_line(struct cgi_reply *r, const char *line, size_t n)
{
    const char *colon = memchr(line, ':', n);

    if (cgi_has_control(line, n))
        return cgi_reply_bad(r, "control byte in a header line");
    if (colon == NULL)
        return cgi_reply_bad(r, "header line without a colon");
    size_t name_len = (size_t)(colon - line);
    if (!cgi_is_token(line, name_len))
        return cgi_reply_bad(r, "invalid header name");
    const char *v = colon + 1, *end = line + n;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    if (cgi_is_name(line, name_len, "Status")) {
        if (r->has_status)
            return cgi_reply_bad(r, "Status given twice");
        r->status = cgi_status_value(v, (size_t)(end - v));
        if (r->status == -1)
            return cgi_reply_bad(r, "invalid Status");
        r->has_status = true;
    } else if (cgi_is_name(line, name_len, "Content-Type")) {
        r->has_type = true;
    } else if (cgi_is_name(line, name_len, "Location")) {
        if (v == end)
            return cgi_reply_bad(r, "empty Location");
        r->has_location = true;
    }
    return 0;
}

enum cgi_reply_check
cgi_reply_parse(const char *block, size_t len, struct cgi_reply *r)
{
    const char *at = block, *end = block + len, *line;
    size_t n;

    *r = (struct cgi_reply){ .status = 200 };
    while ((line = cgi_next_line(&at, end, &n)) != NULL && n > 0)
        if (cgi_reply_line(r, line, n) == -1)
            return CGI_REPLY_MALFORMED;
    if (line == NULL) {
        r->why = "no blank line after the headers";
        return CGI_REPLY_MALFORMED;
    }
    if (!r->has_status && r->has_location)
        r->status = 302;
    if (!r->has_status && !r->has_type && !r->has_location) {
        r->why = "no Content-Type";
        return CGI_REPLY_NO_TYPE;
    }
    return CGI_REPLY_OK;
}

int
cgi_reply_emit(const char *block, size_t len, const struct cgi_reply *r,
               cgi_write_fn *fn, void *ctx)
{
    static const char found[] = "Status: 302 Found\r\n";
    const char *at = block, *end = block + len, *line;
    size_t n;

    /* RFC 3875 6.2.3: a redirect without a Status is a 302. */
    if (r->has_location && !r->has_status
        && fn(ctx, found, sizeof(found) - 1) == -1)
        return -1;
    while ((line = cgi_next_line(&at, end, &n)) != NULL && n > 0)
        if (fn(ctx, line, n) == -1 || fn(ctx, "\r\n", 2) == -1)
            return -1;
    return fn(ctx, "\r\n", 2);
}

const char *
cgi_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 302: return "Found";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 413: return "Content Too Large";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 504: return "Gateway Timeout";
    default: return "";
    }
}
