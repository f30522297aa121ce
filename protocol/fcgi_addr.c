/* Parsing, formatting and connecting the socket addresses users write:
 * unix paths, IPv4 and bracketed IPv6 with a port. Strict: no resolving. */
#include "fcgi_addr.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <unistd.h>

#define UNIX_PREFIX "unix:"

__attribute__((format(printf, 3, 4)))
static int
fcgi_addr_fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err != NULL && errlen > 0) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    errno = EINVAL;
    return -1;
}

static int
fcgi_addr_parse_unix(const char *path, struct fcgi_addr *out, char *err,
                     size_t errlen)
{
    struct sockaddr_un *sun = (struct sockaddr_un *)&out->sa;
    size_t len = strlen(path);

    if (len == 0)
        return fcgi_addr_fail(err, errlen, "empty unix socket path");
    /* Keep room for the NUL: a path filling sun_path exactly is legal
     * for the kernel but cannot be handed back as a C string. */
    if (len >= sizeof(sun->sun_path))
        return fcgi_addr_fail(err, errlen,
                              "unix socket path too long (%zu bytes, "
                              "max %zu)", len, sizeof(sun->sun_path) - 1);
    out->family = AF_UNIX;
    sun->sun_family = AF_UNIX;
    memcpy(sun->sun_path, path, len + 1);
    memcpy(out->path, path, len + 1);
    out->salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
    return 0;
}

/* Digits only: strtol alone would also take a sign and leading blanks. */
static int
fcgi_addr_parse_port(const char *s, in_port_t *port, char *err,
                     size_t errlen)
{
    char *end;
    long v;

    if (*s == '\0')
        return fcgi_addr_fail(err, errlen, "missing port");
    if (!isdigit((unsigned char)*s))
        return fcgi_addr_fail(err, errlen, "bad port \"%s\"", s);
    errno = 0;
    v = strtol(s, &end, 10);
    if (*end != '\0')
        return fcgi_addr_fail(err, errlen, "junk after port: \"%s\"", end);
    if (errno == ERANGE || v < 1 || v > 65535)
        return fcgi_addr_fail(err, errlen, "port out of range: %s "
                              "(1..65535)", s);
    *port = htons((in_port_t)v);
    return 0;
}

static int
fcgi_addr_parse_v6(const char *s, struct fcgi_addr *out, char *err,
                   size_t errlen)
{
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&out->sa;
    const char *rbracket = strchr(s, ']');
    char host[INET6_ADDRSTRLEN];
    size_t len;

    if (rbracket == NULL)
        return fcgi_addr_fail(err, errlen, "unterminated '[' in \"%s\"", s);
    len = (size_t)(rbracket - (s + 1));
    if (len == 0 || len >= sizeof(host))
        return fcgi_addr_fail(err, errlen, "bad IPv6 address in \"%s\"", s);
    memcpy(host, s + 1, len);
    host[len] = '\0';
    if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
        return fcgi_addr_fail(err, errlen, "bad IPv6 address \"%s\"", host);
    if (rbracket[1] != ':')
        return fcgi_addr_fail(err, errlen, "expected ':port' after ']' "
                              "in \"%s\"", s);
    if (fcgi_addr_parse_port(rbracket + 2, &sin6->sin6_port, err,
                             errlen) == -1)
        return -1;
    out->family = AF_INET6;
    sin6->sin6_family = AF_INET6;
    out->salen = sizeof(*sin6);
    return 0;
}

static int
fcgi_addr_parse_v4_host(const char *host, struct in_addr *in, char *err,
                        size_t errlen)
{
    if (*host == '\0' || strcmp(host, "*") == 0)
        in->s_addr = htonl(INADDR_ANY);
    else if (strcasecmp(host, "localhost") == 0)
        in->s_addr = htonl(INADDR_LOOPBACK);
    else if (strchr(host, ':') != NULL)
        return fcgi_addr_fail(err, errlen, "IPv6 address needs brackets: "
                              "\"[%s]:port\"", host);
    else if (inet_pton(AF_INET, host, in) != 1)
        return fcgi_addr_fail(err, errlen, "bad host \"%s\" (numeric "
                              "addresses and localhost only)", host);
    return 0;
}

static int
fcgi_addr_parse_v4(const char *s, struct fcgi_addr *out, char *err,
                   size_t errlen)
{
    struct sockaddr_in *sin = (struct sockaddr_in *)&out->sa;
    const char *colon = strrchr(s, ':');
    char host[64];
    size_t len;

    if (colon == NULL)
        return fcgi_addr_fail(err, errlen, "missing port in \"%s\" (a unix "
                              "socket path needs a '/')", s);
    len = (size_t)(colon - s);
    if (len >= sizeof(host))
        return fcgi_addr_fail(err, errlen, "bad host in \"%s\"", s);
    memcpy(host, s, len);
    host[len] = '\0';
    if (fcgi_addr_parse_v4_host(host, &sin->sin_addr, err, errlen) == -1)
        return -1;
    if (fcgi_addr_parse_port(colon + 1, &sin->sin_port, err, errlen) == -1)
        return -1;
    out->family = AF_INET;
    sin->sin_family = AF_INET;
    out->salen = sizeof(*sin);
    return 0;
}

int
fcgi_addr_parse(const char *s, struct fcgi_addr *out, char *err,
                size_t errlen)
{
    memset(out, 0, sizeof(*out));
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (s == NULL || *s == '\0')
        return fcgi_addr_fail(err, errlen, "empty address");
    if (strncmp(s, UNIX_PREFIX, strlen(UNIX_PREFIX)) == 0)
        return fcgi_addr_parse_unix(s + strlen(UNIX_PREFIX), out, err,
                                    errlen);
    /* No host or port form contains a '/', so any '/' means a path. */
    if (strchr(s, '/') != NULL)
        return fcgi_addr_parse_unix(s, out, err, errlen);
    if (s[0] == '[')
        return fcgi_addr_parse_v6(s, out, err, errlen);
    return fcgi_addr_parse_v4(s, out, err, errlen);
}

void
fcgi_addr_format(const struct fcgi_addr *a, char *buf, size_t len)
{
    const struct sockaddr_in *sin = (const struct sockaddr_in *)&a->sa;
    const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&a->sa;
    char host[INET6_ADDRSTRLEN];

    if (buf == NULL || len == 0)
        return;
    switch (a->family) {
    case AF_UNIX:
        snprintf(buf, len, UNIX_PREFIX "%s", a->path);
        break;
    case AF_INET:
        if (inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host)) == NULL)
            snprintf(host, sizeof(host), "?");
        snprintf(buf, len, "%s:%u", host, (unsigned)ntohs(sin->sin_port));
        break;
    case AF_INET6:
        if (inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host)) == NULL)
            snprintf(host, sizeof(host), "?");
        snprintf(buf, len, "[%s]:%u", host, (unsigned)ntohs(sin6->sin6_port));
        break;
    default:
        snprintf(buf, len, "(unknown address family %d)", a->family);
        break;
    }
}

int
fcgi_addr_equal(const struct fcgi_addr *a, const struct fcgi_addr *b)
{
    char x[sizeof(a->path) + 16], y[sizeof(x)];

    if (a->family != b->family)
        return 0;
    fcgi_addr_format(a, x, sizeof(x));
    fcgi_addr_format(b, y, sizeof(y));
    return strcmp(x, y) == 0;
}

int
fcgi_addr_of_socket(int fd, struct fcgi_addr *out)
{
    memset(out, 0, sizeof(*out));
    out->salen = sizeof(out->sa);
    if (getsockname(fd, (struct sockaddr *)&out->sa, &out->salen) == -1)
        return -1;
    out->family = out->sa.ss_family;
    if (out->family == AF_INET || out->family == AF_INET6)
        return 0;
    if (out->family != AF_UNIX) {
        errno = EAFNOSUPPORT;
        return -1;
    }
    const struct sockaddr_un *sun = (const struct sockaddr_un *)&out->sa;
    size_t n = out->salen - offsetof(struct sockaddr_un, sun_path);
    if (n >= sizeof(out->path))
        n = sizeof(out->path) - 1;
    memcpy(out->path, sun->sun_path, n);
    out->path[n] = '\0';
    return 0;
}

static int
fcgi_addr_set_send_timeout(int fd, int timeout_ms)
{
    struct timeval tv = {
        .tv_sec = timeout_ms / 1000,
        .tv_usec = (timeout_ms % 1000) * 1000,
    };

    return setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

int
fcgi_addr_connect_timeout(const struct fcgi_addr *a, int timeout_ms)
{
    int fd, saved;

    fd = socket(a->family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd == -1)
        return -1;
    /* Linux bounds a blocking connect by SO_SNDTIMEO, for TCP and unix
     * sockets alike; this saves a non-blocking connect and a poll. */
    if (timeout_ms > 0 && fcgi_addr_set_send_timeout(fd, timeout_ms) == -1)
        goto fail_close;
    if (connect(fd, (const struct sockaddr *)&a->sa, a->salen) == -1) {
        /* A timed-out connect reports EINPROGRESS (TCP) or EAGAIN (unix,
         * backlog full). */
        if (timeout_ms > 0 && (errno == EINPROGRESS || errno == EAGAIN))
            errno = ETIMEDOUT;
        goto fail_close;
    }
    if (timeout_ms > 0 && fcgi_addr_set_send_timeout(fd, 0) == -1)
        goto fail_close;
    return fd;
fail_close:
    saved = errno;
    close(fd);
    errno = saved;
    return -1;
}

int
fcgi_addr_connect(const struct fcgi_addr *a)
{
    return fcgi_addr_connect_timeout(a, 0);
}
