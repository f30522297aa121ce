/* Socket addresses as users write them: "unix:/path", "/path", "host:port",
 * "[v6]:port", "*:port" and ":port" (all interfaces). Needs only libc. */
#ifndef FCGIPM_FCGI_ADDR_H
#define FCGIPM_FCGI_ADDR_H

#include <sys/socket.h>
#include <sys/un.h>

struct fcgi_addr {
    int family;                     /* AF_UNIX, AF_INET or AF_INET6 */
    struct sockaddr_storage sa;
    socklen_t salen;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)]; /* AF_UNIX */
};

/*
 * Parse s into *out. Host names are not resolved: hosts must be numeric
 * (IPv4 dotted quad, IPv6 in brackets) or "localhost" (127.0.0.1), "*" or
 * empty (any). Returns 0, or -1 with errno = EINVAL and a reason in
 * err (e.g. "port out of range", "unix socket path too long").
 */
int fcgi_addr_parse(const char *s, struct fcgi_addr *out, char *err,
                    size_t errlen);

/* Format *a as "unix:/path", "1.2.3.4:9000" or "[::1]:9000". */
void fcgi_addr_format(const struct fcgi_addr *a, char *buf, size_t len);

/* True when a and b name the same socket ("/a" and "unix:/a", "*:80" and
 * "0.0.0.0:80" do). */
int fcgi_addr_equal(const struct fcgi_addr *a, const struct fcgi_addr *b);

/* Fill *out from the local address of socket fd (getsockname). Returns 0,
 * or -1 with errno (EAFNOSUPPORT for families other than unix and IP). */
int fcgi_addr_of_socket(int fd, struct fcgi_addr *out);

/* A connected stream socket to *a, O_CLOEXEC; -1 with errno on failure. */
int fcgi_addr_connect(const struct fcgi_addr *a);

/* fcgi_addr_connect bounded by timeout_ms (<= 0: no bound); a connect that
 * does not complete in time fails with errno = ETIMEDOUT. */
int fcgi_addr_connect_timeout(const struct fcgi_addr *a, int timeout_ms);

#endif
