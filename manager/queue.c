/* Accept-queue depth of a listening socket: one NETLINK_SOCK_DIAG round
 * trip for Unix sockets, TCP_INFO for TCP. Never blocks: the kernel
 * answers a sock_diag request before sendto() returns. */
#include <errno.h>
#include <linux/unix_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>

#include "queue.h"
#include "unixdiag.h"

static int
read_unix(int fd, struct queue_depth *out)
{
    struct unix_diag_rqlen rq;
    unsigned char state;
    int rc = unixdiag_query(fd, UDIAG_SHOW_RQLEN, UNIX_DIAG_RQLEN, &rq,
                            sizeof(rq), &state);

    if (rc == -1)
        return -1;
    /* On a listening socket these are the accept queue and its limit. */
    if (rc == 0 || state != TCP_LISTEN) {
        errno = rc == 0 ? EPROTO : EINVAL;
        return -1;
    }
    out->len = rq.udiag_rqueue;
    out->max = rq.udiag_wqueue;
    return 0;
}

static int
read_tcp(int fd, struct queue_depth *out)
{
    struct tcp_info ti;
    socklen_t len = sizeof(ti);

    memset(&ti, 0, sizeof(ti));
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == -1)
        return -1;
    /* On a listening socket the kernel reuses these two fields for the
     * accept queue and its limit. */
    if (ti.tcpi_state != TCP_LISTEN) {
        errno = EINVAL;
        return -1;
    }
    out->len = ti.tcpi_unacked;
    out->max = ti.tcpi_sacked;
    return 0;
}

int
queue_read(const struct listener *l, struct queue_depth *out)
{
    int domain = 0;
    socklen_t len = sizeof(domain);

    memset(out, 0, sizeof(*out));
    if (l->fd == -1) {
        errno = EBADF;
        return -1;
    }
    /* Ask the socket: an adopted one may not match what addr says. */
    if (getsockopt(l->fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) == -1)
        return -1;
    if (domain == AF_UNIX)
        return read_unix(l->fd, out);
    if (domain == AF_INET || domain == AF_INET6)
        return read_tcp(l->fd, out);
    errno = EAFNOSUPPORT;
    return -1;
}
