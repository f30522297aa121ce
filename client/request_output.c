/* The CGI response as fcgi-request prints it: the header block is held
 * back until its blank line (CRLF or LF), read for Status, then printed
 * with -i or dropped; the body goes straight to stdout. */
#include "request.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>
#include <unistd.h>

void
request_output_init(struct request_output *o, bool include_headers)
{
    o->include_headers = include_headers;
    o->in_headers = true;
    o->status = 200;
    o->error = NULL;
    o->hdr_len = 0;
    o->scan_at = 0;
}

int
request_output_write(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    struct pollfd pfd = { .fd = fd, .events = POLLOUT };
    ssize_t n;

    while (len > 0) {
        n = write(fd, p, len);
        if (n == -1 && errno == EINTR)
            continue;
        /* stdout may be a non-blocking pipe we inherited. */
        if (n == -1 && errno == EAGAIN) {
            if (poll(&pfd, 1, -1) == -1 && errno != EINTR)
                return -1;
            continue;
        }
        if (n == -1)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* "Status: 404 Not Found": three digits, then the end or a blank. */
static int
request_output_status(struct request_output *o, const char *v, size_t len)
{
    while (len > 0 && (*v == ' ' || *v == '\t')) {
        v++;
        len--;
    }
    if (len < 3 || v[0] < '1' || v[0] > '5' || v[1] < '0' || v[1] > '9' ||
        v[2] < '0' || v[2] > '9' ||
        (len > 3 && v[3] != ' ' && v[3] != '\t')) {
        o->error = "bad Status header in the response";
        return -1;
    }
    o->status = (v[0] - '0') * 100 + (v[1] - '0') * 10 + (v[2] - '0');
    return 0;
}

/* One header line, without its line end. */
static int
request_output_header(struct request_output *o, const char *line,
                      size_t len)
{
    const char *colon = memchr(line, ':', len);
    size_t name_len;

    if (colon == NULL || colon == line) {
        o->error = "malformed CGI header line in the response";
        return -1;
    }
    name_len = (size_t)(colon - line);
    if (name_len == 6 && strncasecmp(line, "Status", 6) == 0)
        return request_output_status(o, colon + 1, len - name_len - 1);
    return 0;
}

/* Check the whole lines not checked yet. Returns the offset just past the
 * blank line, 0 when it has not come yet, -1 on a bad header. */
static ssize_t
request_output_scan(struct request_output *o)
{
    const char *line, *nl;
    size_t len;

    while ((nl = memchr(o->hdr + o->scan_at, '\n',
                        o->hdr_len - o->scan_at)) != NULL) {
        line = o->hdr + o->scan_at;
        len = (size_t)(nl - line);
        if (len > 0 && line[len - 1] == '\r')
            len--;
        o->scan_at = (size_t)(nl + 1 - o->hdr);
        if (len == 0)
            return (ssize_t)o->scan_at;
        if (request_output_header(o, line, len) == -1)
            return -1;
    }
    return 0;
}

int
request_output_feed(struct request_output *o, const uint8_t *data,
                    size_t len)
{
    size_t take = sizeof(o->hdr) - o->hdr_len;
    ssize_t end;

    if (!o->in_headers)
        return request_output_write(STDOUT_FILENO, data, len);
    if (take > len)
        take = len;
    memcpy(o->hdr + o->hdr_len, data, take);
    o->hdr_len += take;
    end = request_output_scan(o);
    if (end == -1)
        return -1;
    if (end == 0) {
        if (o->hdr_len < sizeof(o->hdr))
            return 0;
        o->error = "CGI headers in the response exceed 64 KiB";
        return -1;
    }
    o->in_headers = false;
    if (o->include_headers &&
        request_output_write(STDOUT_FILENO, o->hdr, (size_t)end) == -1)
        return -1;
    if (request_output_write(STDOUT_FILENO, o->hdr + end,
                             o->hdr_len - (size_t)end) == -1)
        return -1;
    return request_output_write(STDOUT_FILENO, data + take, len - take);
}

int
request_output_finish(struct request_output *o)
{
    if (!o->in_headers)
        return 0;
    /* Show what came: it is the best clue to what the app did wrong. */
    if (request_output_write(STDOUT_FILENO, o->hdr, o->hdr_len) == -1)
        return -1;
    o->error = o->hdr_len == 0 ? "empty response (no CGI headers)"
                               : "response ended inside the CGI headers";
    return -1;
}
