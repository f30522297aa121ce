/* Socket addresses as users write them: "unix:/path", "/path", "unix:@name"
 * and "@name" (Linux abstract namespace), "host:port", "[v6]:port", "*:port"
 * and ":port" (all interfaces). Needs only libc. */
#ifndef FCGIPM_FCGI_ADDR_H
#define FCGIPM_FCGI_ADDR_H

#include <sys/socket.h>
#include <sys/un.h>

/* Room for "@" and an abstract name of sun_path's size with every byte
 * written as \xHH. */
#define FCGI_ADDR_PATH_MAX \
    (4 * sizeof(((struct sockaddr_un *)0)->sun_path) + 2)

struct fcgi_addr {
    int family;                     /* AF_UNIX, AF_INET or AF_INET6 */
    struct sockaddr_storage sa;
    socklen_t salen;
    /* AF_UNIX: the file's path; for an abstract socket "@" and its name,
     * where space, '\' and every byte that is not printable ASCII are
     * written \xHH (the form fcgi_addr_parse takes back). */
    char path[FCGI_ADDR_PATH_MAX];
};

/*
 * Parse s into *out. Host names are not resolved: hosts must be numeric
 * (IPv4 dotted quad, IPv6 in brackets) or "localhost" (127.0.0.1), "*" or
 * empty (any). An abstract name ("unix:@name", "@name") is the bytes after
 * the '@', with no trailing NUL (as systemd's ListenStream=@name binds it);
 * \xHH in it stands for the byte HH. Returns 0, or -1 with errno = EINVAL
 * and a reason in err (e.g. "port out of range", "unix socket path too
 * long").
 */
int fcgi_addr_parse(const char *s, struct fcgi_addr *out, char *err,
                    size_t errlen);

/* Format *a as "unix:/path", "unix:@name", "1.2.3.4:9000" or
 * "[::1]:9000"; fcgi_addr_parse takes each back to the same address. */
void fcgi_addr_format(const struct fcgi_addr *a, char *buf, size_t len);

/* True when a and b name the same socket ("/a" and "unix:/a", "*:80" and
 * "0.0.0.0:80" do). */
int fcgi_addr_equal(const struct fcgi_addr *a, const struct fcgi_addr *b);

/* True when *a is a unix socket in the abstract namespace: no file, so
 * nothing to stat, chmod or remove. */
int fcgi_addr_is_abstract(const struct fcgi_addr *a);

/* Fill *out from the local address of socket fd (getsockname). Returns 0,
 * or -1 with errno (EAFNOSUPPORT for families other than unix and IP). */
int fcgi_addr_of_socket(int fd, struct fcgi_addr *out);

/*
 * Whether a server listens on the unix socket *a, found without blocking (a
 * blocking connect waits while the server's accept queue is full): 1 when a
 * connect succeeds or finds the queue full, 0 when nothing listens there
 * (ECONNREFUSED: a stale socket file), -1 with errno otherwise (ENOENT: no
 * such file). Connects at most once; nothing is left open.
 */
int fcgi_addr_probe_unix(const struct fcgi_addr *a);

/* A connected stream socket to *a, O_CLOEXEC; -1 with errno on failure. */
int fcgi_addr_connect(const struct fcgi_addr *a);

/* fcgi_addr_connect bounded by timeout_ms (<= 0: no bound); a connect that
 * does not complete in time fails with errno = ETIMEDOUT. */
int fcgi_addr_connect_timeout(const struct fcgi_addr *a, int timeout_ms);

#endif
