/* inet_diag dumps of TCP sockets: those on a local port, or the
 * listening one with an inode; the request, the answer read part by
 * part (conns.c asks). */
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "inetdiag.h"

/* Ask for every state but LISTEN: a connection a worker holds may be
 * established, or closing on either side. */
#define STATES_BUT_LISTEN (0xfffu & ~(1u << TCP_LISTEN))

static int
send_request(int nl, int family, unsigned states, uint16_t port)
{
    struct {
        struct nlmsghdr h;
        struct inet_diag_req_v2 req;
    } rq;
    struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };

    memset(&rq, 0, sizeof(rq));
    rq.h.nlmsg_len = sizeof(rq);
    rq.h.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    rq.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    rq.req.sdiag_family = (unsigned char)family;
    rq.req.sdiag_protocol = IPPROTO_TCP;
    rq.req.idiag_states = states;
    rq.req.id.idiag_sport = htons(port);
    return sendto(nl, &rq, sizeof(rq), MSG_DONTWAIT,
                  (struct sockaddr *)&kernel, sizeof(kernel)) == -1 ? -1 : 0;
}

/* What a dump looks for: the sockets on a port (port set, inodes kept
 * into out), or the port of the listening socket with inode ino. */
struct want {
    uint16_t port;
    unsigned long ino;
    unsigned long *out;
    size_t max, n;
};

/* Look through one part of the answer. 1 at its end (NLMSG_DONE), 0 for
 * more to read, -1 with errno. */
static int
read_part(const struct nlmsghdr *h, int left, struct want *w)
{
    for (; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
        if (h->nlmsg_type == NLMSG_DONE)
            return 1;
        if (h->nlmsg_type == NLMSG_ERROR) {
            const struct nlmsgerr *e = NLMSG_DATA(h);
            errno = h->nlmsg_len >= NLMSG_LENGTH(sizeof(*e)) && e->error < 0
                        ? -e->error : EPROTO;
            return -1;
        }
        const struct inet_diag_msg *m = NLMSG_DATA(h);
        if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*m)) || m->idiag_inode == 0)
            continue;
        if (w->out == NULL) {
            if (m->idiag_inode == w->ino)
                w->port = ntohs(m->id.idiag_sport);
            continue;
        }
        /* Older kernels may not filter by port: check it here. */
        if (ntohs(m->id.idiag_sport) != w->port)
            continue;
        if (w->n == w->max) {
            errno = ENOBUFS;
            return -1;
        }
        w->out[w->n++] = m->idiag_inode;
    }
    return 0;
}

static int
dump(int family, unsigned states, struct want *w)
{
    /* Aligned for struct nlmsghdr. */
    union {
        struct nlmsghdr h;
        char buf[16384];
    } u;
    int rc = 0, saved;
    int nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);

    if (nl == -1)
        return -1;
    if (send_request(nl, family, states, w->out != NULL ? w->port : 0) == -1)
        goto fail;
    while (rc == 0) {
        ssize_t got = recv(nl, u.buf, sizeof(u.buf), MSG_DONTWAIT);
        if (got == -1 && errno == EINTR)
            continue;
        if (got <= 0) {
            if (got == 0)
                errno = EPROTO;
            goto fail;
        }
        rc = read_part(&u.h, (int)got, w);
        if (rc == -1)
            goto fail;
    }
    close(nl);
    return 0;
fail:
    saved = errno;
    close(nl);
    errno = saved;
    return -1;
}

int
inetdiag_port_inodes(int family, uint16_t port, unsigned long *out,
                     size_t max)
{
    struct want w = { .port = port, .out = out, .max = max };

    return dump(family, STATES_BUT_LISTEN, &w) == -1 ? -1 : (int)w.n;
}

int
inetdiag_listener(unsigned long ino, int *family, uint16_t *port)
{
    static const int families[] = { AF_INET, AF_INET6 };

    for (size_t i = 0; i < 2; i++) {
        struct want w = { .ino = ino };
        if (dump(families[i], 1u << TCP_LISTEN, &w) == -1)
            return -1;
        if (w.port != 0) {
            *family = families[i];
            *port = w.port;
            return 1;
        }
    }
    return 0;
}
