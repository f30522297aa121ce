/* Parsing, formatting and connecting the socket addresses users write:
 * unix paths and abstract names, IPv4 and bracketed IPv6 with a port.
 * Strict: no resolving. */
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

/* Whether byte c stands for itself in the written form of an abstract
 * name: printable ASCII, but not space (a name must stay one word in a
 * log line) nor the escape character. */
static int
fcgi_addr_is_plain(unsigned char c)
{
    return c > ' ' && c < 0x7f && c != '\\';
}

/* Write '@' and the abstract name name[0..len) into buf, which holds
 * FCGI_ADDR_PATH_MAX bytes; len is at most sizeof(sun_path) - 1. */
static void
fcgi_addr_format_abstract(const char *name, size_t len, char *buf)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;

    buf[o++] = '@';
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (fcgi_addr_is_plain(c)) {
            buf[o++] = (char)c;
            continue;
        }
        buf[o++] = '\\';
        buf[o++] = 'x';
        buf[o++] = hex[c >> 4];
        buf[o++] = hex[c & 0xf];
    }
    buf[o] = '\0';
}

static int
fcgi_addr_hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* name: what follows the '@'. The kernel takes the name's length from
 * salen, so no NUL follows it: that is how systemd and others bind. */
static int
fcgi_addr_parse_abstract(const char *name, struct fcgi_addr *out, char *err,
                         size_t errlen)
{
    struct sockaddr_un *sun = (struct sockaddr_un *)&out->sa;
    size_t max = sizeof(sun->sun_path) - 1, len = 0;

    if (*name == '\0')
        return fcgi_addr_fail(err, errlen, "empty abstract socket name");
    for (const char *s = name; *s != '\0'; len++) {
        int c = (unsigned char)*s++;
        if (c == '\\') {
            int hi = s[0] == 'x' ? fcgi_addr_hex_digit(s[1]) : -1;
            int lo = hi != -1 ? fcgi_addr_hex_digit(s[2]) : -1;
            if (lo == -1)
                return fcgi_addr_fail(err, errlen, "bad escape in abstract "
                                      "socket name \"%s\" (\\xHH expected)",
                                      name);
            c = (hi << 4) | lo;
            s += 3;
        }
        if (len == max)
            return fcgi_addr_fail(err, errlen, "abstract socket name too "
                                  "long (max %zu bytes)", max);
        /* sun_path[0] stays NUL: that makes the name abstract. */
        sun->sun_path[1 + len] = (char)c;
    }
    out->family = AF_UNIX;
    sun->sun_family = AF_UNIX;
    out->salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1
                             + len);
    fcgi_addr_format_abstract(sun->sun_path + 1, len, out->path);
    return 0;
}

static int
fcgi_addr_parse_unix(const char *path, struct fcgi_addr *out, char *err,
                     size_t errlen)
{
    struct sockaddr_un *sun = (struct sockaddr_un *)&out->sa;
    size_t len = strlen(path);

    if (path[0] == '@')
        return fcgi_addr_parse_abstract(path + 1, out, err, errlen);
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
    /* No host or port form contains a '/' or starts with '@', so either
     * means a unix socket. */
    if (s[0] == '@' || strchr(s, '/') != NULL)
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
        /* A file whose relative path starts with '@' (read back from a
         * socket) must not read as an abstract name. */
        snprintf(buf, len, UNIX_PREFIX "%s%s",
                 a->path[0] == '@' && !fcgi_addr_is_abstract(a) ? "./" : "",
                 a->path);
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

    if (a->family != b->family
        || fcgi_addr_is_abstract(a) != fcgi_addr_is_abstract(b))
        return 0;
    fcgi_addr_format(a, x, sizeof(x));
    fcgi_addr_format(b, y, sizeof(y));
    return strcmp(x, y) == 0;
}

int
fcgi_addr_is_abstract(const struct fcgi_addr *a)
{
    const struct sockaddr_un *sun = (const struct sockaddr_un *)&a->sa;

    return a->family == AF_UNIX
           && a->salen > offsetof(struct sockaddr_un, sun_path)
           && sun->sun_path[0] == '\0';
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
    size_t off = offsetof(struct sockaddr_un, sun_path);
    size_t n = out->salen > off ? out->salen - off : 0;
    if (n > sizeof(sun->sun_path))
        n = sizeof(sun->sun_path);
    /* An abstract name (systemd's ListenStream=@name, an autobound
     * socket) starts with a NUL and may hold more: write it out in the
     * form fcgi_addr_parse reads, so that it names the socket again. */
    if (n > 0 && sun->sun_path[0] == '\0') {
        fcgi_addr_format_abstract(sun->sun_path + 1, n - 1, out->path);
        return 0;
    }
    memcpy(out->path, sun->sun_path, n);
    out->path[n] = '\0';
    return 0;
}

int
fcgi_addr_probe_unix(const struct fcgi_addr *a)
{
    int fd, rc, saved;

    if (a->family != AF_UNIX) {
        errno = EAFNOSUPPORT;
        return -1;
    }
    /* Non-blocking: a blocking connect to a server whose accept queue is
     * full waits until it accepts, which may be never. A full queue
     * (EAGAIN) means a live server as surely as a connection does. */
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd == -1)
        return -1;
    rc = connect(fd, (const struct sockaddr *)&a->sa, a->salen);
    saved = errno;
    close(fd);
    if (rc == 0 || saved == EAGAIN)
        return 1;
    errno = saved;
    return saved == ECONNREFUSED ? 0 : -1;
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
