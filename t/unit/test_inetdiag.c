/* Unit tests for manager/inetdiag.c: parts of a dump built here
 * (matches, other ports, errors, the end and an end that says the dump
 * stopped early, a dump marked interrupted, messages cut short), then
 * real loopback connections asked of the kernel, more of them than one
 * part of the answer holds, some closing on either side; and a
 * dual-stack IPv6 listener's connections, IPv4 ones among them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "inetdiag.h"

#define PORT 9000

/* A part of a dump being built, aligned as the kernel's. */
struct part {
    union {
        struct nlmsghdr h;
        char buf[4096];
    } u;
    size_t len;
};

static struct nlmsghdr *
add_msg(struct part *p, uint16_t type, size_t payload)
{
    struct nlmsghdr *h = (struct nlmsghdr *)(p->u.buf + p->len);

    assert_true(p->len + NLMSG_SPACE(payload) <= sizeof(p->u.buf));
    memset(h, 0, NLMSG_SPACE(payload));
    h->nlmsg_len = NLMSG_LENGTH(payload);
    h->nlmsg_type = type;
    h->nlmsg_flags = NLM_F_MULTI;
    p->len += NLMSG_SPACE(payload);
    return h;
}

static void
add_sock(struct part *p, uint16_t port, unsigned ino)
{
    struct nlmsghdr *h = add_msg(p, SOCK_DIAG_BY_FAMILY,
                                 sizeof(struct inet_diag_msg));
    struct inet_diag_msg *m = NLMSG_DATA(h);

    m->idiag_family = AF_INET;
    m->idiag_state = 1;         /* TCP_ESTABLISHED */
    m->id.idiag_sport = htons(port);
    m->id.idiag_dport = htons(40000);
    m->idiag_inode = ino;
}

/* The end of a dump, with the error the kernel puts in it (0: whole). */
static void
add_done_error(struct part *p, int error)
{
    *(int *)NLMSG_DATA(add_msg(p, NLMSG_DONE, sizeof(int))) = error;
}

static void
add_done(struct part *p)
{
    add_done_error(p, 0);
}

static void
add_error(struct part *p, int error)
{
    struct nlmsghdr *h = add_msg(p, NLMSG_ERROR, sizeof(struct nlmsgerr));

    ((struct nlmsgerr *)NLMSG_DATA(h))->error = error;
}

static const unsigned long held[] = { 101, 102, 103 };

static void
test_matches(void **state)
{
    struct inetdiag_match w = { .port = PORT, .inos = held, .n = 3 };
    struct part p = { .len = 0 };

    (void)state;
    add_sock(&p, PORT, 7);
    add_sock(&p, PORT, 102);
    add_sock(&p, PORT, 0);      /* no inode: nobody's (TIME_WAIT) */
    add_sock(&p, PORT, 55);
    add_sock(&p, PORT, 101);
    assert_int_equal(inetdiag_match_part(&p.u, p.len, &w), 0);
    assert_int_equal(w.found, 2);
    /* The next part ends the answer; the count goes on across parts. */
    p.len = 0;
    add_sock(&p, PORT, 8);
    add_done(&p);
    add_sock(&p, PORT, 103);    /* after the end: not looked at */
    assert_int_equal(inetdiag_match_part(&p.u, p.len, &w), 1);
    assert_int_equal(w.found, 2);
    /* An empty part: more to read. */
    assert_int_equal(inetdiag_match_part(&p.u, 0, &w), 0);
}

static void
test_other_port(void **state)
{
    struct inetdiag_match w = { .port = PORT, .inos = held, .n = 3 };
    struct part p = { .len = 0 };

    (void)state;
    /* A kernel that does not filter by port sends others' sockets: a
     * client's own end, say, whose local port is not the listener's. */
    add_sock(&p, PORT + 1, 101);
    add_sock(&p, 40000, 102);
    add_msg(&p, NLMSG_NOOP, 0); /* neither a socket nor the end */
    add_sock(&p, PORT, 103);
    add_done(&p);
    assert_int_equal(inetdiag_match_part(&p.u, p.len, &w), 1);
    assert_int_equal(w.found, 1);
}

static void
test_all_found(void **state)
{
    const unsigned long twice[] = { 101, 101 };
    struct inetdiag_match w = { .port = PORT, .inos = held, .n = 2 };
    struct part p = { .len = 0 };

    (void)state;
    /* Once every inode looked for is seen, the rest is not read. */
    add_sock(&p, PORT, 102);
    add_sock(&p, PORT, 101);
    add_error(&p, -EIO);
    assert_int_equal(inetdiag_match_part(&p.u, p.len, &w), 1);
    assert_int_equal(w.found, 2);
    /* A socket on two of the worker's fds counts on each. */
    w = (struct inetdiag_match){ .port = PORT, .inos = twice, .n = 2 };
    assert_int_equal(inetdiag_match_part(&p.u, p.len, &w), 1);
    assert_int_equal(w.found, 2);
}

static void
test_error(void **state)
{
    struct inetdiag_match w = { .port = PORT, .inos = held, .n = 3 };
    struct part p = { .len = 0 };

    (void)state;
    add_sock(&p, PORT, 101);
    add_error(&p, -EACCES);
    add_done(&p);
    errno = 0;
    assert_int_equal(inetdiag_match_part(&p.u, p.len, &w), -1);
    assert_int_equal(errno, EACCES);
    /* An error message too short to carry its error. */
    p.len = 0;
    add_msg(&p, NLMSG_ERROR, 2);
    errno = 0;
    assert_int_equal(inetdiag_match_part(&p.u, p.len, &w), -1);
    assert_int_equal(errno, EPROTO);
    /* One that says no error is no answer either. */
    p.len = 0;
    add_error(&p, 0);
    errno = 0;
    assert_int_equal(inetdiag_match_part(&p.u, p.len, &w), -1);
    assert_int_equal(errno, EPROTO);
}

static void
test_done_error(void **state)
{
    struct inetdiag_match w = { .port = PORT, .inos = held, .n = 3 };
    struct part p = { .len = 0 };

    (void)state;
    /* The kernel ended the dump early (out of memory): the sockets it
     * did not send may be the worker's, so this is no "none". */
    add_sock(&p, PORT, 7);
    add_done_error(&p, -ENOMEM);
    errno = 0;
    assert_int_equal(inetdiag_match_part(&p.u, p.len, &w), -1);
    assert_int_equal(errno, ENOMEM);
    /* A whole dump's end, and one without an int (older kernels). */
    p.len = 0;
    add_sock(&p, PORT, 101);
    add_done_error(&p, 0);
    w.found = 0;
    assert_int_equal(inetdiag_match_part(&p.u, p.len, &w), 1);
    assert_int_equal(w.found, 1);
    p.len = 0;
    add_msg(&p, NLMSG_DONE, 0);
    assert_int_equal(inetdiag_match_part(&p.u, p.len, &w), 1);
}

static void
test_dump_interrupted(void **state)
{
    struct inetdiag_match w = { .port = PORT, .inos = held, .n = 3 };
    struct part p = { .len = 0 };

    (void)state;
    /* The sockets changed while the dump was made: it may have skipped
     * or repeated some. Marked on a socket... */
    add_sock(&p, PORT, 7);
    add_sock(&p, PORT, 8);
    ((struct nlmsghdr *)(p.u.buf + NLMSG_SPACE(sizeof(struct inet_diag_msg))))
        ->nlmsg_flags |= NLM_F_DUMP_INTR;
    add_done(&p);
    errno = 0;
    assert_int_equal(inetdiag_match_part(&p.u, p.len, &w), -1);
    assert_int_equal(errno, EAGAIN);
    /* ...or on the end alone. */
    p.len = 0;
    add_sock(&p, PORT, 7);
    add_done(&p);
    ((struct nlmsghdr *)(p.u.buf + NLMSG_SPACE(sizeof(struct inet_diag_msg))))
        ->nlmsg_flags |= NLM_F_DUMP_INTR;
    errno = 0;
    assert_int_equal(inetdiag_match_part(&p.u, p.len, &w), -1);
    assert_int_equal(errno, EAGAIN);
}

static void
test_cut_short(void **state)
{
    struct inetdiag_match w = { .port = PORT, .inos = held, .n = 3 };
    struct part p = { .len = 0 };

    (void)state;
    /* The last message goes past the part's end: it might have been one
     * of the worker's, so nothing is told. */
    add_sock(&p, PORT, 7);
    add_sock(&p, PORT, 101);
    errno = 0;
    assert_int_equal(inetdiag_match_part(&p.u, p.len - 8, &w), -1);
    assert_int_equal(errno, EPROTO);
    /* A header alone, cut. */
    errno = 0;
    assert_int_equal(inetdiag_match_part(&p.u, 10, &w), -1);
    assert_int_equal(errno, EPROTO);
    /* A socket message too short for its inet_diag_msg. */
    p.len = 0;
    add_msg(&p, SOCK_DIAG_BY_FAMILY, sizeof(struct inet_diag_msg) - 4);
    add_done(&p);
    errno = 0;
    assert_int_equal(inetdiag_match_part(&p.u, p.len, &w), -1);
    assert_int_equal(errno, EPROTO);
    /* A header claiming less than itself. */
    p.len = 0;
    add_sock(&p, PORT, 101);
    p.u.h.nlmsg_len = 4;
    errno = 0;
    assert_int_equal(inetdiag_match_part(&p.u, p.len, &w), -1);
    assert_int_equal(errno, EPROTO);
}

static unsigned long
inode(int fd)
{
    struct stat st;

    assert_int_equal(fstat(fd, &st), 0);
    return st.st_ino;
}

#define CONNS 300               /* more than one part of the answer holds */

static int
tcp_state(int fd)
{
    struct tcp_info ti;
    socklen_t len = sizeof(ti);

    assert_int_equal(getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len), 0);
    return ti.tcpi_state;
}

static uint64_t
now_ms(void)
{
    struct timespec ts;

    assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &ts), 0);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Poll fd's state until it is want (the peer's packets are handled
 * apart from our calls), for 10 s at most. */
static void
wait_state(int fd, int want)
{
    const struct timespec tick = { .tv_nsec = 1000000 };
    uint64_t end = now_ms() + 10000;

    while (tcp_state(fd) != want && now_ms() < end)
        nanosleep(&tick, NULL);
    assert_int_equal(tcp_state(fd), want);
}

/* Send on fd until it can take no more: its peer reads nothing, so its
 * window closes and data waits unacknowledged, and a FIN behind it. */
static void
fill(int fd)
{
    static const char buf[65536];

    while (send(fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_NOSIGNAL) > 0)
        ;
    assert_int_equal(errno, EAGAIN);
}

static int
count_one(uint16_t port, unsigned long ino)
{
    return inetdiag_port_count_matching(AF_INET, port, &ino, 1);
}

/* A connection its holder has yet to close is one in each state it may
 * be in while either side closes: the first four given become those. */
static void
closing_states(uint16_t port, int *clients, int *accepted,
               const unsigned long *inos)
{
    /* CLOSE_WAIT: the client closed, the worker has yet to answer. */
    close(clients[0]);
    clients[0] = -1;
    wait_state(accepted[0], TCP_CLOSE_WAIT);
    assert_int_equal(count_one(port, inos[0]), 1);
    /* FIN_WAIT2: the worker shut its side, the client has not. */
    assert_int_equal(shutdown(accepted[1], SHUT_WR), 0);
    wait_state(accepted[1], TCP_FIN_WAIT2);
    assert_int_equal(count_one(port, inos[1]), 1);
    /* FIN_WAIT1: the same, its FIN behind data the client does not read. */
    fill(accepted[2]);
    assert_int_equal(shutdown(accepted[2], SHUT_WR), 0);
    wait_state(accepted[2], TCP_FIN_WAIT1);
    assert_int_equal(count_one(port, inos[2]), 1);
    /* LAST_ACK: the client shut its side first; so did the worker after,
     * its FIN behind data the client does not read. */
    assert_int_equal(shutdown(clients[3], SHUT_WR), 0);
    wait_state(accepted[3], TCP_CLOSE_WAIT);
    fill(accepted[3]);
    assert_int_equal(shutdown(accepted[3], SHUT_WR), 0);
    wait_state(accepted[3], TCP_LAST_ACK);
    assert_int_equal(count_one(port, inos[3]), 1);
    /* All four at once, and the ones still established. */
    assert_int_equal(inetdiag_port_count_matching(AF_INET, port, inos, 6),
                     6);
}

static void
test_real_dump(void **state)
{
    struct sockaddr_in sa = { .sin_family = AF_INET };
    socklen_t salen = sizeof(sa);
    struct rlimit rl;
    int clients[CONNS], accepted[CONNS], family;
    unsigned long inos[CONNS + 2];
    uint16_t port;

    (void)state;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    if (rl.rlim_cur < 2 * CONNS + 16 && rl.rlim_max >= 2 * CONNS + 16) {
        rl.rlim_cur = 2 * CONNS + 16;
        assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
    }
    if (rl.rlim_cur < 2 * CONNS + 16)
        skip();
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(l >= 0);
    assert_int_equal(bind(l, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(l, CONNS), 0);
    assert_int_equal(getsockname(l, (struct sockaddr *)&sa, &salen), 0);
    assert_int_equal(inetdiag_listener(inode(l), &family, &port), 1);
    assert_int_equal(family, AF_INET);
    assert_int_equal(port, ntohs(sa.sin_port));
    for (int i = 0; i < CONNS; i++) {
        clients[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_int_equal(connect(clients[i], (struct sockaddr *)&sa,
                                 sizeof(sa)), 0);
        accepted[i] = accept4(l, NULL, NULL, SOCK_CLOEXEC);
        assert_true(accepted[i] >= 0);
        inos[i] = inode(accepted[i]);
    }
    /* The last connection accepted, a client's end (its local port is
     * another) and the listener (LISTEN is not asked for): one. */
    inos[CONNS] = inode(clients[0]);
    inos[CONNS + 1] = inode(l);
    assert_int_equal(inetdiag_port_count_matching(AF_INET, port,
                                                  inos + CONNS - 1, 3), 1);
    /* Every accepted one, wherever it is in the answer. */
    assert_int_equal(inetdiag_port_count_matching(AF_INET, port, inos,
                                                  CONNS + 2), CONNS);
    /* None of the worker's; another family; nothing looked for. */
    assert_int_equal(inetdiag_port_count_matching(AF_INET, port,
                                                  inos + CONNS, 2), 0);
    assert_int_equal(inetdiag_port_count_matching(AF_INET6, port, inos,
                                                  CONNS), 0);
    assert_int_equal(inetdiag_port_count_matching(AF_INET, port, inos, 0),
                     0);
    errno = 0;
    assert_int_equal(inetdiag_port_count_matching(AF_INET, 0, inos, 1), -1);
    assert_int_equal(errno, EINVAL);
    closing_states(port, clients, accepted, inos);
    /* A connection its holder closed is no longer one. */
    close(accepted[CONNS - 1]);
    assert_int_equal(inetdiag_port_count_matching(AF_INET, port,
                                                  inos + CONNS - 1, 1), 0);
    for (int i = 0; i < CONNS; i++) {
        if (clients[i] != -1)
            close(clients[i]);
        if (i < CONNS - 1)
            close(accepted[i]);
    }
    close(l);
}

/* A dual-stack IPv6 listener (as "[::]:PORT" binds): its connections are
 * IPv6 sockets, from IPv6 clients and from IPv4 ones alike (their
 * addresses v4-mapped), all in the IPv6 dump of its port. */
static void
test_dual_stack(void **state)
{
    struct sockaddr_in6 sa = { .sin6_family = AF_INET6,
                               .sin6_addr = IN6ADDR_ANY_INIT };
    struct sockaddr_in sa4 = { .sin_family = AF_INET };
    socklen_t salen = sizeof(sa);
    int off = 0, family, c[2], a[2];
    unsigned long inos[2];
    uint16_t port;

    (void)state;
    int l = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (l == -1 && errno == EAFNOSUPPORT)
        skip();
    assert_true(l >= 0);
    assert_int_equal(setsockopt(l, IPPROTO_IPV6, IPV6_V6ONLY, &off,
                                sizeof(off)), 0);
    assert_int_equal(bind(l, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(l, 4), 0);
    assert_int_equal(getsockname(l, (struct sockaddr *)&sa, &salen), 0);
    assert_int_equal(inetdiag_listener(inode(l), &family, &port), 1);
    assert_int_equal(family, AF_INET6);
    assert_int_equal(port, ntohs(sa.sin6_port));
    /* One client over IPv4, one over IPv6 (skipped without ::1). */
    sa4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa4.sin_port = sa.sin6_port;
    sa.sin6_addr = in6addr_loopback;
    c[0] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_int_equal(connect(c[0], (struct sockaddr *)&sa4, sizeof(sa4)), 0);
    c[1] = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int n = connect(c[1], (struct sockaddr *)&sa, sizeof(sa)) == 0 ? 2 : 1;
    for (int i = 0; i < n; i++) {
        a[i] = accept4(l, NULL, NULL, SOCK_CLOEXEC);
        assert_true(a[i] >= 0);
        inos[i] = inode(a[i]);
    }
    /* The IPv4 one alone first: mapped, it is in the IPv6 dump. */
    assert_int_equal(inetdiag_port_count_matching(AF_INET6, port, inos, 1),
                     1);
    assert_int_equal(inetdiag_port_count_matching(AF_INET6, port, inos, n),
                     n);
    /* Not an IPv4 socket, whatever its peer. */
    assert_int_equal(inetdiag_port_count_matching(AF_INET, port, inos, n),
                     0);
    for (int i = 0; i < n; i++)
        close(a[i]);
    close(c[0]);
    close(c[1]);
    close(l);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matches),
        cmocka_unit_test(test_other_port),
        cmocka_unit_test(test_all_found),
        cmocka_unit_test(test_error),
        cmocka_unit_test(test_done_error),
        cmocka_unit_test(test_dump_interrupted),
        cmocka_unit_test(test_cut_short),
        cmocka_unit_test(test_real_dump),
        cmocka_unit_test(test_dual_stack),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
