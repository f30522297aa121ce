/* Unit tests for manager/inetdiag.c: parts of a dump built here
 * (matches, other ports, errors, the end, messages cut short), then real
 * loopback connections asked of the kernel, more of them than one part
 * of the answer holds. */
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
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
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

static void
add_done(struct part *p)
{
    *(int *)NLMSG_DATA(add_msg(p, NLMSG_DONE, sizeof(int))) = 0;
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
    /* A connection its holder closed is no longer one. */
    close(accepted[CONNS - 1]);
    assert_int_equal(inetdiag_port_count_matching(AF_INET, port,
                                                  inos + CONNS - 1, 1), 0);
    for (int i = 0; i < CONNS; i++) {
        close(clients[i]);
        if (i < CONNS - 1)
            close(accepted[i]);
    }
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
        cmocka_unit_test(test_cut_short),
        cmocka_unit_test(test_real_dump),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
