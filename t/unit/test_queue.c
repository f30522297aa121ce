/* Unit tests for manager/queue.c: the accept queue of real listening
 * sockets that nobody accepts on, Unix and TCP. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "queue.h"

#define BACKLOG 16
#define PENDING 3

/* The kernel queues a TCP connection once the handshake's last ACK is
 * processed, which may trail connect() by a moment: poll for it. */
static void
read_until_len(struct listener *l, unsigned want, struct queue_depth *q)
{
    for (int i = 0; i < 200; i++) {
        assert_int_equal(queue_read(l, q), 0);
        if (q->len == want)
            return;
        nanosleep(&(struct timespec){ .tv_nsec = 5000000 }, NULL);
    }
}

static void
test_unix_queue(void **state)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    struct listener l = { .fd = -1 };
    struct queue_depth q;
    int clients[PENDING];

    (void)state;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "/tmp/fcgipm-queue.%d",
             (int)getpid());
    unlink(sa.sun_path);
    l.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(l.fd >= 0);
    assert_int_equal(bind(l.fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(l.fd, BACKLOG), 0);
    assert_int_equal(queue_read(&l, &q), 0);
    assert_int_equal(q.len, 0);
    assert_int_equal(q.max, BACKLOG);
    for (int i = 0; i < PENDING; i++) {
        clients[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_int_equal(connect(clients[i], (struct sockaddr *)&sa,
                                 sizeof(sa)), 0);
    }
    assert_int_equal(queue_read(&l, &q), 0);
    assert_int_equal(q.len, PENDING);
    assert_int_equal(q.max, BACKLOG);
    /* A new backlog is what queue_read reports next. */
    assert_int_equal(listen(l.fd, BACKLOG * 2), 0);
    assert_int_equal(queue_read(&l, &q), 0);
    assert_int_equal(q.max, BACKLOG * 2);
    for (int i = 0; i < PENDING; i++)
        close(clients[i]);
    close(l.fd);
    unlink(sa.sun_path);
}

static void
test_tcp_queue(void **state)
{
    struct sockaddr_in sa = { .sin_family = AF_INET };
    socklen_t salen = sizeof(sa);
    struct listener l = { .fd = -1 };
    struct queue_depth q;
    int clients[PENDING];

    (void)state;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    l.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(l.fd >= 0);
    assert_int_equal(bind(l.fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(l.fd, BACKLOG), 0);
    assert_int_equal(getsockname(l.fd, (struct sockaddr *)&sa, &salen), 0);
    for (int i = 0; i < PENDING; i++) {
        clients[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_int_equal(connect(clients[i], (struct sockaddr *)&sa,
                                 sizeof(sa)), 0);
    }
    read_until_len(&l, PENDING, &q);
    assert_int_equal(q.len, PENDING);
    assert_int_equal(q.max, BACKLOG);
    for (int i = 0; i < PENDING; i++)
        close(clients[i]);
    close(l.fd);
}

static void
test_not_a_listener(void **state)
{
    struct listener l = { .fd = -1 };
    struct queue_depth q;
    int sv[2];

    (void)state;
    assert_int_equal(queue_read(&l, &q), -1);
    assert_int_equal(errno, EBADF);
    /* A connected Unix socket is not in the listening state asked for. */
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    l.fd = sv[0];
    assert_int_equal(queue_read(&l, &q), -1);
    close(sv[0]);
    close(sv[1]);
    /* Nor is a TCP socket that never listened. */
    l.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_int_equal(queue_read(&l, &q), -1);
    close(l.fd);
    /* Nor a pipe. */
    assert_int_equal(pipe(sv), 0);
    l.fd = sv[0];
    assert_int_equal(queue_read(&l, &q), -1);
    close(sv[0]);
    close(sv[1]);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unix_queue),
        cmocka_unit_test(test_tcp_queue),
        cmocka_unit_test(test_not_a_listener),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
