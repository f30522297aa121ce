/* Accept-queue depth of a listening socket: one NETLINK_SOCK_DIAG round
 * trip for Unix sockets, TCP_INFO for TCP. Never blocks: the kernel
 * answers a sock_diag request before sendto() returns. */
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "queue.h"

/* Find UNIX_DIAG_RQLEN in the attributes after a unix_diag_msg. 0, or -1
 * with errno EPROTO when the answer lacks it. */
static int
parse_rqlen(const struct nlmsghdr *h, ino_t ino, struct queue_depth *out)
{
    const struct unix_diag_msg *msg = NLMSG_DATA(h);

    if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*msg)) || msg->udiag_ino != ino) {
        errno = EPROTO;
        return -1;
    }
    /* An exact lookup ignores udiag_states: check it is listening. */
    if (msg->udiag_state != TCP_LISTEN) {
        errno = EINVAL;
        return -1;
    }
    int len = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof(*msg)));
    struct rtattr *a = (struct rtattr *)(msg + 1);
    for (; RTA_OK(a, len); a = RTA_NEXT(a, len)) {
        struct unix_diag_rqlen rq;
        if (a->rta_type != UNIX_DIAG_RQLEN || RTA_PAYLOAD(a) < sizeof(rq))
            continue;
        memcpy(&rq, RTA_DATA(a), sizeof(rq));
        out->len = rq.udiag_rqueue;
        out->max = rq.udiag_wqueue;
        return 0;
    }
    errno = EPROTO;
    return -1;
}

/* Read the one answer to our request from nl. 0 or -1 with errno. */
static int
receive_rqlen(int nl, ino_t ino, struct queue_depth *out)
{
    /* Aligned for struct nlmsghdr; one message with one small attribute. */
    union {
        struct nlmsghdr h;
        char buf[8192];
    } u;
    ssize_t n = recv(nl, u.buf, sizeof(u.buf), MSG_DONTWAIT);

    if (n == -1)
        return -1;
    int len = (int)n;
    for (struct nlmsghdr *h = &u.h; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
        if (h->nlmsg_type == NLMSG_ERROR) {
            const struct nlmsgerr *e = NLMSG_DATA(h);
            errno = h->nlmsg_len >= NLMSG_LENGTH(sizeof(*e)) && e->error < 0
                        ? -e->error : EPROTO;
            return -1;
        }
        if (h->nlmsg_type == SOCK_DIAG_BY_FAMILY)
            return parse_rqlen(h, ino, out);
    }
    errno = EPROTO;
    return -1;
}

static int
read_unix(int fd, struct queue_depth *out)
{
    struct stat st;
    struct {
        struct nlmsghdr h;
        struct unix_diag_req req;
    } rq;
    struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
    int saved;

    if (fstat(fd, &st) == -1)
        return -1;
    memset(&rq, 0, sizeof(rq));
    rq.h.nlmsg_len = sizeof(rq);
    rq.h.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    rq.h.nlmsg_flags = NLM_F_REQUEST;
    rq.req.sdiag_family = AF_UNIX;
    /* unix_diag numbers socket states like TCP does. */
    rq.req.udiag_states = 1 << TCP_LISTEN;
    rq.req.udiag_ino = (unsigned)st.st_ino;
    rq.req.udiag_show = UDIAG_SHOW_RQLEN;
    rq.req.udiag_cookie[0] = rq.req.udiag_cookie[1] = ~0u;
    int nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (nl == -1)
        return -1;
    if (sendto(nl, &rq, sizeof(rq), MSG_DONTWAIT,
               (struct sockaddr *)&kernel, sizeof(kernel)) == -1)
        goto fail;
    if (receive_rqlen(nl, st.st_ino, out) == -1)
        goto fail;
    close(nl);
    return 0;
fail:
    saved = errno;
    close(nl);
    errno = saved;
    return -1;
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
