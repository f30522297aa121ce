/* Unit tests for manager/acceptor.c, the listening side of the status
 * and control servers: accept4 (faked in fake_sys.c) failing for want
 * of descriptors or memory pauses the listener, logged once, and it is
 * watched again after the pause (later and later, logged once, if epoll
 * refuses then);
 * transient failures do not pause; one wake-up accepts a bounded
 * number; a full status server closes its oldest client for a new one,
 * a full control server refuses the new one. The listener and the epoll set are real: whether the listener is
 * watched is what epoll_wait reports. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "acceptor.h"
#include "control.h"
#include "log.h"
#include "manager.h"
#include "status.h"

#define PAUSE_MS 100            /* acceptor.c's ACCEPT_PAUSE_MS */
#define MAX_PEERS 80

struct fixture {
    struct manager m;
    struct acceptor *a;         /* the server under test's */
    char path[108];             /* the listener's file */
    int waiting;                /* a connection keeping it readable */
    int peers[MAX_PEERS];       /* our ends of the accepted ones */
    size_t npeers;
};

static char log_path[] = "/tmp/test_acceptor.XXXXXX";

static int
group_setup(void **state)
{
    int fd = mkstemp(log_path);

    (void)state;
    if (fd == -1)
        return -1;
    close(fd);
    return log_open(log_path, LOG_LEVEL_DEBUG);
}

static int
group_teardown(void **state)
{
    (void)state;
    log_close();
    unlink(log_path);
    return 0;
}

/* How many lines of the log hold text. */
static int
log_count(const char *text)
{
    char line[1024];
    int n = 0;
    FILE *f = fopen(log_path, "r");

    assert_non_null(f);
    while (fgets(line, sizeof(line), f) != NULL)
        if (strstr(line, text) != NULL)
            n++;
    fclose(f);
    return n;
}

/* Listen on a new socket file with a, and connect to it once. */
static void
listen_on(struct fixture *f, struct acceptor *a, const char *tag)
{
    struct listen_settings set = { .kind = a->kind, .backlog = 8,
                                   .mode = 0600, .uid = (uid_t)-1,
                                   .gid = (gid_t)-1 };
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    struct acceptor_plan p;
    char name[128], why[256];

    snprintf(f->path, sizeof(f->path), "/tmp/test_acceptor.%d.%s",
             (int)getpid(), tag);
    unlink(f->path);
    snprintf(name, sizeof(name), "unix:%s", f->path);
    assert_int_equal(acceptor_plan(&f->m, a, name, &set, &p, why,
                                   sizeof(why)), 0);
    assert_true(p.open);
    acceptor_commit(&f->m, a, &p, true);
    f->a = a;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->path);
    if (f->waiting != -1)
        close(f->waiting);
    f->waiting = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_int_not_equal(f->waiting, -1);
    assert_int_equal(connect(f->waiting, (struct sockaddr *)&sa,
                             sizeof(sa)), 0);
}

static int
setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    if (f == NULL)
        return -1;
    manager_init(&f->m);
    f->m.epfd = epoll_create1(EPOLL_CLOEXEC);
    f->waiting = -1;
    assert_int_equal(truncate(log_path, 0), 0);
    *state = f;
    return f->m.epfd == -1 ? -1 : 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;

    status_stop(&f->m);
    control_stop(&f->m);
    for (size_t i = 0; i < f->npeers; i++)
        if (f->peers[i] != -1)
            close(f->peers[i]);
    if (f->waiting != -1)
        close(f->waiting);
    close(f->m.epfd);
    free(f);
    return 0;
}

/* Whether the loop would be woken for the listener now: its watch is in
 * the epoll set, and a connection waits. Client watches may be reported
 * too; they are left alone. */
static bool
listener_reported(struct fixture *f)
{
    struct epoll_event ev[MAX_PEERS];
    int n = epoll_wait(f->m.epfd, ev, MAX_PEERS, 0);

    assert_int_not_equal(n, -1);
    for (int i = 0; i < n; i++)
        if (ev[i].data.ptr == &f->a->ws[f->a->cur].w)
            return true;
    return false;
}

/* The loop's call for the listener at now; its accept4 results must be
 * queued. */
static void
wake(struct fixture *f, uint64_t now)
{
    struct watch *w = &f->a->ws[f->a->cur].w;

    assert_true(listener_reported(f));
    will_return(sys_now_ms, now);
    w->fn(&f->m, w, EPOLLIN);
}

/* A new connection for accept4 to return: the server's end; ours is
 * kept in f->peers. */
static int
connection(struct fixture *f)
{
    int sv[2];

    assert_true(f->npeers < MAX_PEERS);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC
                                | SOCK_NONBLOCK, 0, sv), 0);
    f->peers[f->npeers++] = sv[0];
    return sv[1];
}

/* Whether the server closed its end of peer i. */
static bool
peer_closed(struct fixture *f, size_t i)
{
    char buf[256];
    ssize_t n;

    while ((n = recv(f->peers[i], buf, sizeof(buf), MSG_DONTWAIT)) > 0)
        ;
    if (n == -1)
        assert_int_equal(errno, EAGAIN);
    return n == 0;
}

/* Queue one connection then EAGAIN, and wake the listener at now. */
static void
accept_one(struct fixture *f, uint64_t now)
{
    will_return(sys_accept4, connection(f));
    will_return(sys_accept4, -EAGAIN);
    wake(f, now);
}

/* --- running out of descriptors --------------------------------------- */

static void
test_emfile_pauses_once_then_resumes(void **state)
{
    struct fixture *f = *state;
    struct acceptor *a = &f->m.status.acc;

    listen_on(f, a, "status");
    will_return(sys_accept4, -EMFILE);
    wake(f, 1000);
    /* Unwatched: the loop is not woken for it, however readable. */
    assert_false(listener_reported(f));
    assert_int_equal(acceptor_next_deadline(a), 1000 + PAUSE_MS);
    assert_int_equal(log_count("cannot accept, pausing"), 1);
    char want[256];
    snprintf(want, sizeof(want), "status unix:%s: cannot accept, pausing: "
             "%s", f->path, strerror(EMFILE));
    assert_int_equal(log_count(want), 1);

    acceptor_run_due(&f->m, a, 1000 + PAUSE_MS - 1);
    assert_false(listener_reported(f));
    acceptor_run_due(&f->m, a, 1000 + PAUSE_MS);
    assert_true(listener_reported(f));
    assert_int_equal(acceptor_next_deadline(a), NEVER);

    /* Still out of descriptors: paused again, and not logged again. */
    for (uint64_t t = 1100; t < 1500; t += PAUSE_MS) {
        will_return(sys_accept4, -EMFILE);
        wake(f, t);
        assert_false(listener_reported(f));
        assert_int_equal(acceptor_next_deadline(a), t + PAUSE_MS);
        acceptor_run_due(&f->m, a, t + PAUSE_MS);
    }
    assert_int_equal(log_count("cannot accept"), 1);

    /* Descriptors again: the connection is taken, no pause. */
    accept_one(f, 1500);
    assert_int_equal(f->m.status.nclients, 1);
    assert_true(listener_reported(f));
    assert_int_equal(acceptor_next_deadline(a), NEVER);
    assert_false(peer_closed(f, 0));
    assert_int_equal(log_count("cannot accept"), 1);

    /* Accepting worked in between: a new shortage is logged anew. */
    will_return(sys_accept4, -ENFILE);
    wake(f, 2000);
    assert_false(listener_reported(f));
    assert_int_equal(log_count("cannot accept, pausing"), 2);
}

static void
test_each_shortage_pauses(void **state)
{
    static const int errs[] = { EMFILE, ENFILE, ENOBUFS, ENOMEM };
    struct fixture *f = *state;
    struct acceptor *a = &f->m.control.acc;

    listen_on(f, a, "control");
    for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
        uint64_t t = 1000 * (i + 1);
        will_return(sys_accept4, -errs[i]);
        wake(f, t);
        assert_false(listener_reported(f));
        assert_int_equal(acceptor_next_deadline(a), t + PAUSE_MS);
        acceptor_run_due(&f->m, a, t + PAUSE_MS);
        assert_true(listener_reported(f));
        /* Accepting works again, so the next shortage is logged. */
        accept_one(f, t + PAUSE_MS);
        assert_int_equal(f->m.control.nclients, i + 1);
        char want[256];
        snprintf(want, sizeof(want), "control unix:%s: cannot accept, "
                 "pausing: %s", f->path, strerror(errs[i]));
        assert_int_equal(log_count(want), 1);
    }
}

static void
test_transient_failures_do_not_pause(void **state)
{
    struct fixture *f = *state;
    struct acceptor *a = &f->m.status.acc;

    listen_on(f, a, "status");
    will_return(sys_accept4, -EINTR);
    will_return(sys_accept4, -ECONNABORTED);
    will_return(sys_accept4, -EPROTO);
    will_return(sys_accept4, connection(f));
    will_return(sys_accept4, -EINTR);
    will_return(sys_accept4, -EAGAIN);
    wake(f, 1000);
    assert_int_equal(f->m.status.nclients, 1);
    assert_true(listener_reported(f));
    assert_int_equal(acceptor_next_deadline(a), NEVER);
    assert_int_equal(log_count("cannot accept"), 0);
    /* EAGAIN alone: nothing waits, nothing changes. */
    will_return(sys_accept4, -EAGAIN);
    wake(f, 1001);
    assert_true(listener_reported(f));
    assert_int_equal(acceptor_next_deadline(a), NEVER);
}

/* A stream of failures that do not pause still ends the wake-up after
 * accepts_per_event tries (more would find no queued result). */
static void
test_accepts_per_event_bounded(void **state)
{
    struct fixture *f = *state;
    struct acceptor *a = &f->m.status.acc;

    listen_on(f, a, "status");
    for (unsigned i = 0; i < a->accepts_per_event; i++)
        will_return(sys_accept4, -ECONNABORTED);
    wake(f, 1000);
    for (unsigned i = 0; i < a->accepts_per_event; i++)
        will_return(sys_accept4, connection(f));
    wake(f, 1001);
    assert_int_equal(f->m.status.nclients, a->accepts_per_event);
    assert_true(listener_reported(f));
    assert_int_equal(acceptor_next_deadline(a), NEVER);
}

/* Moved by a reload while paused: the new socket is watched at once,
 * and the old pause no longer counts. */
static void
test_reload_while_paused(void **state)
{
    struct fixture *f = *state;
    struct acceptor *a = &f->m.status.acc;
    char old[108];

    listen_on(f, a, "status");
    will_return(sys_accept4, -EMFILE);
    wake(f, 1000);
    assert_false(listener_reported(f));
    snprintf(old, sizeof(old), "%s", f->path);
    listen_on(f, a, "moved");
    assert_int_equal(access(old, F_OK), -1);
    assert_true(listener_reported(f));
    assert_int_equal(acceptor_next_deadline(a), NEVER);
    accept_one(f, 1001);
    assert_int_equal(f->m.status.nclients, 1);
}

/* The pause ends but epoll cannot take the listener back (out of
 * memory, as accept was): it is tried again later, not given up, less
 * and less often (1 s, doubling, up to 10 s), and logged once for the
 * episode, not at each try; once a try works, that is logged, and a new
 * episode is logged anew. */
static void
test_rewatch_failure_retried(void **state)
{
    static const uint64_t waits[] = { 1000, 2000, 4000, 8000, 10000, 10000 };
    struct fixture *f = *state;
    struct acceptor *a = &f->m.status.acc;
    int epfd = f->m.epfd;
    uint64_t t = 1000 + PAUSE_MS;
    char want[256];

    listen_on(f, a, "status");
    will_return(sys_accept4, -ENOMEM);
    wake(f, 1000);
    f->m.epfd = -1;             /* epoll_ctl fails (EBADF) */
    for (size_t i = 0; i < sizeof(waits) / sizeof(waits[0]); i++) {
        acceptor_run_due(&f->m, a, t);
        assert_false(a->watched);
        assert_int_equal(acceptor_next_deadline(a), t + waits[i]);
        /* Not before its time. */
        acceptor_run_due(&f->m, a, t + waits[i] - 1);
        assert_int_equal(acceptor_next_deadline(a), t + waits[i]);
        t += waits[i];
    }
    f->m.epfd = epfd;
    assert_false(listener_reported(f));
    snprintf(want, sizeof(want), "status unix:%s: accepting stays paused "
             "(next try in 1000 ms, then less often, up to every 10000 ms): "
             "cannot add fd %d to the epoll set: %s", f->path,
             a->listener.fd, strerror(EBADF));
    assert_int_equal(log_count(want), 1);
    assert_int_equal(log_count("stays paused"), 1);
    assert_int_equal(log_count("cannot add fd"), 1);
    /* epoll takes it back: watched, accepting, said once. */
    acceptor_run_due(&f->m, a, t);
    assert_true(listener_reported(f));
    assert_true(a->watched);
    assert_int_equal(acceptor_next_deadline(a), NEVER);
    snprintf(want, sizeof(want), "status unix:%s: watched again, accepting",
             f->path);
    assert_int_equal(log_count(want), 1);
    accept_one(f, t);
    assert_int_equal(f->m.status.nclients, 1);
    /* A later episode starts again from 1 s, and is logged. */
    will_return(sys_accept4, -ENOMEM);
    wake(f, t + 1);
    f->m.epfd = -1;
    acceptor_run_due(&f->m, a, t + 1 + PAUSE_MS);
    f->m.epfd = epfd;
    assert_int_equal(acceptor_next_deadline(a), t + 1 + PAUSE_MS + 1000);
    assert_int_equal(log_count("stays paused"), 2);
    acceptor_run_due(&f->m, a, t + 1 + PAUSE_MS + 1000);
    assert_true(listener_reported(f));
    assert_int_equal(log_count("watched again"), 2);
}

/* Closed while paused: the pause's end watches nothing. */
static void
test_close_while_paused(void **state)
{
    struct fixture *f = *state;
    struct acceptor *a = &f->m.status.acc;

    listen_on(f, a, "status");
    will_return(sys_accept4, -EMFILE);
    wake(f, 1000);
    acceptor_close(&f->m, a);
    assert_int_equal(acceptor_next_deadline(a), NEVER);
    acceptor_run_due(&f->m, a, 1000 + PAUSE_MS);
    assert_false(a->watched);
    struct epoll_event ev;
    assert_int_equal(epoll_wait(f->m.epfd, &ev, 1, 0), 0);
}

/* --- full servers ----------------------------------------------------- */

static void
test_status_full_closes_oldest(void **state)
{
    struct fixture *f = *state;
    struct acceptor *a = &f->m.status.acc;

    listen_on(f, a, "status");
    for (unsigned i = 0; i < STATUS_MAX_CLIENTS; i++)
        accept_one(f, 1000 + i);
    assert_int_equal(f->m.status.nclients, STATUS_MAX_CLIENTS);
    assert_int_equal(log_count("clients at once"), 0);
    /* Each new one closes the oldest left, logged once. */
    for (unsigned i = 0; i < 3; i++) {
        accept_one(f, 2000 + i);
        assert_int_equal(f->m.status.nclients, STATUS_MAX_CLIENTS);
        for (size_t j = 0; j < f->npeers; j++)
            assert_int_equal(peer_closed(f, j), j <= i);
    }
    assert_int_equal(log_count("64 clients at once: closing the oldest"), 1);
    assert_true(listener_reported(f));
}

static void
test_control_full_refuses_newest(void **state)
{
    struct fixture *f = *state;
    struct acceptor *a = &f->m.control.acc;
    char buf[256];

    listen_on(f, a, "control");
    for (unsigned i = 0; i < CONTROL_MAX_CLIENTS; i++)
        accept_one(f, 1000 + i);
    assert_int_equal(f->m.control.nclients, CONTROL_MAX_CLIENTS);
    for (unsigned i = 0; i < 3; i++)
        accept_one(f, 2000 + i);
    assert_int_equal(f->m.control.nclients, CONTROL_MAX_CLIENTS);
    /* Each new one is told why and closed; the others stay. */
    ssize_t n = recv(f->peers[CONTROL_MAX_CLIENTS], buf, sizeof(buf) - 1,
                     MSG_DONTWAIT);
    assert_true(n > 0);
    buf[n] = '\0';
    assert_non_null(strstr(buf, "too many control clients at once"));
    for (size_t j = 0; j < f->npeers; j++)
        assert_int_equal(peer_closed(f, j), j >= CONTROL_MAX_CLIENTS);
    /* Logged once for the burst, not once a refusal. */
    assert_int_equal(log_count("32 clients at once: refusing others"), 1);
    assert_true(listener_reported(f));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
        T(test_emfile_pauses_once_then_resumes),
        T(test_each_shortage_pauses),
        T(test_transient_failures_do_not_pause),
        T(test_accepts_per_event_bounded),
        T(test_reload_while_paused),
        T(test_rewatch_failure_retried),
        T(test_close_while_paused),
        T(test_status_full_closes_oldest),
        T(test_control_full_refuses_newest),
#undef T
    };
    return cmocka_run_group_tests_name("acceptor", tests, group_setup,
                                       group_teardown);
}
