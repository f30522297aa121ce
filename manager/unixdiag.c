/* NETLINK_SOCK_DIAG for one Unix socket: the request by inode, the one
 * answer, the attribute wanted (queue.c, sockperm.c and conns.c ask). */
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unixdiag.h"

/* The attribute attr of the answer h about socket inode ino, up to *len
 * bytes of it into out, *len set to its whole length. 1, 0 or -1 with
 * errno EPROTO, as unixdiag_query. */
static int
parse_answer(const struct nlmsghdr *h, ino_t ino, unsigned short attr,
             void *out, size_t *len, unsigned char *state)
{
    const struct unix_diag_msg *msg = NLMSG_DATA(h);

    if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*msg)) || msg->udiag_ino != ino) {
        errno = EPROTO;
        return -1;
    }
    *state = msg->udiag_state;
    int left = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof(*msg)));
    struct rtattr *a = (struct rtattr *)(msg + 1);
    for (; RTA_OK(a, left); a = RTA_NEXT(a, left)) {
        if (a->rta_type != attr)
            continue;
        size_t n = RTA_PAYLOAD(a);
        memcpy(out, RTA_DATA(a), n < *len ? n : *len);
        *len = n;
        return 1;
    }
    return 0;
}

/* Read the one answer to our request from nl. */
static int
receive_answer(int nl, ino_t ino, unsigned short attr, void *out,
               size_t *len, unsigned char *state)
{
    /* Aligned for struct nlmsghdr; one message with small attributes. */
    union {
        struct nlmsghdr h;
        char buf[8192];
    } u;
    ssize_t n = recv(nl, u.buf, sizeof(u.buf), MSG_DONTWAIT);

    if (n == -1)
        return -1;
    int left = (int)n;
    for (struct nlmsghdr *h = &u.h; NLMSG_OK(h, left);
         h = NLMSG_NEXT(h, left)) {
        if (h->nlmsg_type == NLMSG_ERROR) {
            const struct nlmsgerr *e = NLMSG_DATA(h);
            errno = h->nlmsg_len >= NLMSG_LENGTH(sizeof(*e)) && e->error < 0
                        ? -e->error : EPROTO;
            return -1;
        }
        if (h->nlmsg_type == SOCK_DIAG_BY_FAMILY)
            return parse_answer(h, ino, attr, out, len, state);
    }
    errno = EPROTO;
    return -1;
}

int
unixdiag_query(int fd, unsigned show, unsigned short attr, void *out,
               size_t len, unsigned char *state)
{
    struct stat st;
    size_t got = len;

    if (fstat(fd, &st) == -1)
        return -1;
    int rc = unixdiag_query_ino(st.st_ino, show, attr, out, &got, state);
    /* A shorter attribute than asked for is none of the kind wanted. */
    return rc == 1 && got < len ? 0 : rc;
}

int
unixdiag_query_ino(unsigned long ino, unsigned show, unsigned short attr,
                   void *out, size_t *len, unsigned char *state)
{
    struct {
        struct nlmsghdr h;
        struct unix_diag_req req;
    } rq;
    struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
    int saved, rc;

    memset(&rq, 0, sizeof(rq));
    rq.h.nlmsg_len = sizeof(rq);
    rq.h.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    rq.h.nlmsg_flags = NLM_F_REQUEST;
    rq.req.sdiag_family = AF_UNIX;
    /* An exact lookup by inode ignores the states: the caller checks. */
    rq.req.udiag_states = ~0u;
    rq.req.udiag_ino = (unsigned)ino;
    rq.req.udiag_show = show;
    rq.req.udiag_cookie[0] = rq.req.udiag_cookie[1] = ~0u;
    int nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (nl == -1)
        return -1;
    if (sendto(nl, &rq, sizeof(rq), MSG_DONTWAIT,
               (struct sockaddr *)&kernel, sizeof(kernel)) == -1)
        goto fail;
    rc = receive_answer(nl, ino, attr, out, len, state);
    if (rc == -1)
        goto fail;
    close(nl);
    return rc;
fail:
    saved = errno;
    close(nl);
    errno = saved;
    return -1;
}
