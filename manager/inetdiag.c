/* inet_diag dumps of TCP sockets: which of some inodes are connections
 * on a local port, or the port of the listening socket with an inode;
 * the request, the answer looked through part by part as it is read,
 * nothing kept but a count (conns.c asks). */
#include <errno.h>
#include <limits.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "inetdiag.h"

/* Ask for every state but LISTEN and TIME_WAIT: a connection a worker
 * holds may be established, or closing on either side; a TIME_WAIT entry
 * is what remains of one nobody holds any more (its inode is 0). */
#define STATES_HELD \
    (0xfffu & ~(1u << TCP_LISTEN) & ~(1u << TCP_TIME_WAIT))

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

/* Called for each socket of a dump that has an inode; true when the
 * dump has told all that was asked (the rest is not read). */
typedef bool sock_fn(const struct inet_diag_msg *m, void *arg);

/* The end of a dump: NLMSG_DONE carries an int, negative when the dump
 * ended early (-ENOMEM, say: the sockets not yet sent were never looked
 * at, and "none of them" would be a guess). 1, or -1 with errno. Older
 * kernels may send no int: the end as it is. */
static int
dump_done(const struct nlmsghdr *h)
{
    int error;

    if (h->nlmsg_len < NLMSG_LENGTH(sizeof(error)))
        return 1;
    memcpy(&error, NLMSG_DATA(h), sizeof(error));
    if (error >= 0)
        return 1;
    errno = error == INT_MIN ? EPROTO : -error;
    return -1;
}

/* Look through one part of the answer, len bytes at part. 1 at its end
 * (NLMSG_DONE) or when each says so, 0 for more to read, -1 with errno:
 * the kernel's error, EPROTO for a message cut short (which may have
 * been one looked for, so that nothing is told from a part in pieces),
 * or EAGAIN for a dump the kernel marks as interrupted. */
static int
walk_part(const void *part, size_t len, sock_fn *each, void *arg)
{
    const struct nlmsghdr *h = part;
    int left = len > INT_MAX ? INT_MAX : (int)len;

    for (; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
        /* NLM_F_DUMP_INTR: the sockets changed while the dump was being
         * made, so it may have skipped or repeated some, ours among them.
         * Nothing is told from it. EAGAIN, not EINTR: no signal came (and
         * EINTR reads as "call again at once"); a later dump, made anew,
         * may well be whole, as at a later look. */
        if (h->nlmsg_flags & NLM_F_DUMP_INTR) {
            errno = EAGAIN;
            return -1;
        }
        if (h->nlmsg_type == NLMSG_DONE)
            return dump_done(h);
        if (h->nlmsg_type == NLMSG_ERROR) {
            const struct nlmsgerr *e = NLMSG_DATA(h);
            errno = h->nlmsg_len >= NLMSG_LENGTH(sizeof(*e)) && e->error < 0
                        ? -e->error : EPROTO;
            return -1;
        }
        if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY)
            continue;
        const struct inet_diag_msg *m = NLMSG_DATA(h);
        if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*m))) {
            errno = EPROTO;
            return -1;
        }
        if (m->idiag_inode != 0 && each(m, arg))
            return 1;
    }
    /* Bytes left that hold no whole message (a last one without its
     * padding leaves left below 0, which is fine). */
    if (left > 0) {
        errno = EPROTO;
        return -1;
    }
    return 0;
}

static bool
match_one(const struct inet_diag_msg *m, void *arg)
{
    struct inetdiag_match *w = arg;

    /* Older kernels may not filter by port: check it here. */
    if (ntohs(m->id.idiag_sport) != w->port)
        return false;
    for (size_t i = 0; i < w->n; i++)
        w->found += w->inos[i] == m->idiag_inode;
    return w->found >= w->n;
}

int
inetdiag_match_part(const void *part, size_t len, struct inetdiag_match *w)
{
    return walk_part(part, len, match_one, w);
}

/* The listening socket looked for by inode, its port once seen. */
struct listener_want {
    unsigned long ino;
    uint16_t port;
};

static bool
listener_one(const struct inet_diag_msg *m, void *arg)
{
    struct listener_want *w = arg;

    if (m->idiag_inode != w->ino)
        return false;
    w->port = ntohs(m->id.idiag_sport);
    return true;
}

/* Dump the TCP sockets of family in states (on port, unless 0), each
 * with an inode given to each until it says it has all it wanted. */
static int
dump(int family, unsigned states, uint16_t port, sock_fn *each, void *arg)
{
    /* Aligned for struct nlmsghdr. The kernel sizes the parts of a dump
     * to the reader's buffer (up to 32 KiB): MSG_TRUNC tells of one that
     * did not fit all the same. */
    union {
        struct nlmsghdr h;
        char buf[16384];
    } u;
    int rc = 0, saved;
    int nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);

    if (nl == -1)
        return -1;
    if (send_request(nl, family, states, port) == -1)
        goto fail;
    while (rc == 0) {
        ssize_t got = recv(nl, u.buf, sizeof(u.buf), MSG_DONTWAIT | MSG_TRUNC);
        if (got == -1 && errno == EINTR)
            continue;
        if (got <= 0 || (size_t)got > sizeof(u.buf)) {
            if (got == 0)
                errno = EPROTO;
            else if (got > 0)
                errno = EMSGSIZE;
            goto fail;
        }
        rc = walk_part(&u.h, (size_t)got, each, arg);
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
inetdiag_port_count_matching(int family, uint16_t port,
                             const unsigned long *inos, size_t n)
{
    struct inetdiag_match w = { .port = port, .inos = inos, .n = n };

    if (n == 0)
        return 0;
    if (port == 0 || n > INT_MAX) {
        errno = EINVAL;
        return -1;
    }
    if (dump(family, STATES_HELD, port, match_one, &w) == -1)
        return -1;
    return (int)(w.found < n ? w.found : n);
}

int
inetdiag_listener(unsigned long ino, int *family, uint16_t *port)
{
    static const int families[] = { AF_INET, AF_INET6 };

    for (size_t i = 0; i < 2; i++) {
        struct listener_want w = { .ino = ino };
        if (dump(families[i], 1u << TCP_LISTEN, 0, listener_one, &w) == -1)
            return -1;
        if (w.port != 0) {
            *family = families[i];
            *port = w.port;
            return 1;
        }
    }
    return 0;
}
