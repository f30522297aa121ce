/* Unit tests for manager/scale.c: the process managers sampling a pool
 * (scoreboard, accept queue, /proc) and acting on pm.c's decisions, with
 * fork, kill, /proc reads and the queue depth given by the test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/wait.h>

#include "child.h"
#include "pool_fixture.h"
#include "queue.h"

/* queue_read stand-in: each call returns the depth the test queued. */
int
queue_read(const struct listener *l, struct queue_depth *out)
{
    (void)l;
    out->len = mock_type(unsigned);
    out->max = 511;
    return 0;
}

/* What the socket watch does when a connection waits. */
static void
connection_waits(struct pool *p)
{
    assert_true(p->pm.watching);
    p->pm_wake.fn(NULL, &p->pm_wake, 1);
    assert_false(p->pm.watching);
}

#define IO_TEXT(n) "rchar: 900\nwchar: 80\nsyscr: " #n "\nsyscw: 4\n"

static const struct pool_conf od_exec = {
    .name = "od", .mode = MODE_EXEC, .pm = PM_ONDEMAND, .max_workers = 4,
    .stop_signal = SIGUSR1, .graceful_timeout_ms = 30000,
    .kill_timeout_ms = 5000, .backoff_min_ms = 100, .backoff_max_ms = 1000,
    .min_uptime_ms = 1000, .idle_timeout_ms = 1000, .max_spawn_rate = 32,
};

static void
test_ondemand_exec_spawns_per_waiting_connection_then_idles_out(
    void **state)
{
    struct pool *p = pm_pool(&od_exec);

    (void)state;
    pool_run_due(p, 5000);
    assert_int_equal(p->target, 0);
    assert_int_equal(pool_next_deadline(p), NEVER);   /* asleep */
    connection_waits(p);
    will_return(queue_read, 2);
    pool_run_due(p, 6000);
    assert_int_equal(p->target, 2);
    will_return(sys_fork, 100);
    will_return(sys_fork, 101);
    pool_reconcile(p, 6000);
    assert_int_equal(pool_next_deadline(p), 6000 + PM_SURGE_TICK_MS);
    /* Both up and in accept() (fds 0-2 only: no socket of their own),
     * and the queue has drained: nothing to decide, so their idle time
     * starts at the next look. */
    will_read(100, "syscall", IN_ACCEPT);
    will_return(sys_proc_fd_count, 3);
    will_read(101, "syscall", IN_ACCEPT);
    will_return(sys_proc_fd_count, 3);
    will_return(queue_read, 0);
    pool_run_due(p, 6020);
    assert_true(p->pm.watching);
    assert_int_equal(pool_next_deadline(p), 6020 + pm_sample_ms(&od_exec));
    will_read(100, "syscall", IN_ACCEPT);
    will_read(100, "io", IO_TEXT(7));
    will_read(101, "syscall", IN_ACCEPT);
    will_read(101, "io", IO_TEXT(7));
    pool_run_due(p, 6145);
    /* 101 serves a request in between (its read calls went up). */
    will_read(100, "syscall", IN_ACCEPT);
    will_read(100, "io", IO_TEXT(7));
    will_read(101, "syscall", IN_ACCEPT);
    will_read(101, "io", IO_TEXT(9));
    pool_run_due(p, 6270);
    assert_int_equal(p->target, 2);
    /* 100 has been idle for idle_timeout; 101 not yet. */
    will_read(100, "syscall", IN_ACCEPT);
    will_read(100, "io", IO_TEXT(7));
    will_read(101, "syscall", IN_ACCEPT);
    will_read(101, "io", IO_TEXT(9));
    pool_run_due(p, 7145);
    assert_int_equal(p->target, 1);
    assert_int_equal(p->slots[0].state, SLOT_STOPPING);
    assert_int_equal(p->slots[1].state, SLOT_RUNNING);
    child_died(p, &p->slots[0], W_EXITCODE(0, 0), 7150);
    child_died(p, &p->slots[1], W_EXITCODE(0, SIGKILL), 7150);
    will_return(sys_fork, 102);     /* a crash: respawned, not shrunk */
    pool_run_due(p, 7150);
    assert_int_equal(p->target, 1);
    pm_pool_free(p);
}

static const struct pool_conf od8_exec = {
    .name = "od8", .mode = MODE_EXEC, .pm = PM_ONDEMAND, .max_workers = 8,
    .stop_signal = SIGUSR1, .graceful_timeout_ms = 30000,
    .kill_timeout_ms = 5000, .backoff_min_ms = 100, .backoff_max_ms = 1000,
    .min_uptime_ms = 1000, .idle_timeout_ms = 1000, .max_spawn_rate = 32,
};

#define RUNNING_NOW "running\n"
#define EXECED "100 (hello) S 1 100 100 0 -1 4194560 96 0 0 0\n"
#define FORKED "100 (fcgipm) R 1 100 100 0 -1 4194368 12 0 0 0\n"
#define SOCKET_INFO "pos:\t0\nflags:\t02\nmnt_id:\t8\nino:\t4242\n"
#define FILE_INFO "pos:\t832\nflags:\t02100000\nmnt_id:\t27\nino:\t733\n"

/* A young exec worker 100 looked at: in syscall (IN_SLEEP or
 * RUNNING_NOW), 4 fds, exec'd, its fd 0 the listening socket and fd 3
 * what fd3 says (SOCKET_INFO: a connection; FILE_INFO: a file). */
static void
will_look_young(const char *syscall, const char *fd3)
{
    will_read(100, "syscall", syscall);
    will_return(sys_proc_fd_count, 4);
    will_read(100, "stat", EXECED);
    will_read(100, "fdinfo/0", SOCKET_INFO);
    will_read(100, "fdinfo/3", fd3);
}

/* From zero: c connections wait, and the pool forks for them at 6000,
 * pids 100 on. */
static struct pool *
od_forked(const struct pool_conf *c, unsigned n)
{
    struct pool *p = pm_pool(c);

    pool_run_due(p, 5000);
    connection_waits(p);
    will_return(queue_read, n);
    pool_run_due(p, 6000);
    assert_int_equal(p->target, n);
    for (unsigned i = 0; i < n; i++)
        will_return(sys_fork, 100 + (pid_t)i);
    pool_reconcile(p, 6000);
    return p;
}

/* The worker started for the first connection of a burst took it before
 * the next look, and the other seven arrived meanwhile: it holds a
 * connection (a socket at fd 3), so it is busy, not starting, and the
 * pool has a worker for each of the eight at that look. */
static void
test_ondemand_exec_new_worker_holding_a_connection_is_busy(void **state)
{
    struct pool *p = od_forked(&od8_exec, 1);

    (void)state;
    will_look_young(IN_SLEEP, SOCKET_INFO);
    will_return(queue_read, 7);
    will_read(100, "syscall", IN_SLEEP);        /* up: looked at as such */
    pool_run_due(p, 6020);
    assert_int_equal(p->target, 8);
    assert_true(p->slots[0].pm_ready);
    pm_pool_free(p);
}

/* Not a connection: a file the dynamic loader has open, or the master's
 * own sockets in a child that has not exec'd yet. Both are starting, so
 * with three waiting only one more is started. */
static void
test_ondemand_exec_new_worker_without_connection_is_starting(void **state)
{
    struct pool *p = od_forked(&od8_exec, 2);

    (void)state;
    will_look_young(RUNNING_NOW, FILE_INFO);
    will_read(101, "syscall", RUNNING_NOW);
    will_return(sys_proc_fd_count, 12);
    will_read(101, "stat", FORKED);
    will_return(queue_read, 3);
    pool_run_due(p, 6020);
    assert_int_equal(p->target, 3);
    assert_false(p->slots[0].pm_ready);
    assert_false(p->slots[1].pm_ready);
    pm_pool_free(p);
}

/* A program slow to reach accept() (here past EXEC_START_MS) holds no
 * connection: the ones waiting are its, and no more workers start for
 * them however long it takes. */
static void
test_ondemand_exec_slow_start_is_no_fork_storm(void **state)
{
    struct pool *p = od_forked(&od8_exec, 3);

    (void)state;
    for (uint64_t now = 6020; now <= 7000; now += 20) {
        for (pid_t pid = 100; pid < 103; pid++) {
            will_read(pid, "syscall", RUNNING_NOW);
            will_return(sys_proc_fd_count, 3);
        }
        will_return(queue_read, 3);
        pool_run_due(p, now);
        assert_int_equal(p->target, 3);
    }
    pm_pool_free(p);
}

/* A program with a socket of its own (a database) holds it idle in
 * accept(): seen so once, only a socket beyond it is a connection. */
static void
test_ondemand_exec_learns_the_programs_own_sockets(void **state)
{
    struct pool *p = od_forked(&od8_exec, 1);

    (void)state;
    will_read(100, "syscall", IN_ACCEPT);
    will_return(sys_proc_fd_count, 4);
    will_read(100, "fdinfo/0", SOCKET_INFO);
    will_read(100, "fdinfo/3", SOCKET_INFO);
    will_return(queue_read, 0);
    pool_run_due(p, 6020);
    assert_int_equal(p->pm.own_sockets, 1);
    /* Busy now, and two more wait: one beyond the live worker at once,
     * the other once confirmed. */
    connection_waits(p);
    will_return(queue_read, 2);
    will_read(100, "syscall", IN_SLEEP);
    pool_run_due(p, 6500);
    assert_int_equal(p->target, 2);
    will_return(sys_fork, 101);
    pool_reconcile(p, 6500);
    will_read(101, "syscall", RUNNING_NOW);
    will_return(sys_proc_fd_count, 4);          /* its own socket only */
    will_return(queue_read, 2);
    will_read(100, "syscall", IN_SLEEP);
    pool_run_due(p, 6520);
    assert_false(p->slots[1].pm_ready);
    assert_int_equal(p->target, 3);
    will_return(sys_fork, 102);
    pool_reconcile(p, 6520);
    /* 101 is still starting; 102 holds one socket more: a connection. */
    will_read(101, "syscall", RUNNING_NOW);
    will_return(sys_proc_fd_count, 4);
    will_read(102, "syscall", IN_SLEEP);
    will_return(sys_proc_fd_count, 5);
    will_read(102, "stat", EXECED);
    will_read(102, "fdinfo/0", SOCKET_INFO);
    will_read(102, "fdinfo/3", SOCKET_INFO);
    will_read(102, "fdinfo/4", SOCKET_INFO);
    will_return(queue_read, 1);
    pool_run_due(p, 6540);
    assert_true(p->slots[2].pm_ready);
    assert_int_equal(p->target, 3);     /* 101 takes the one waiting */
    pm_pool_free(p);
}

/* A worker that came up holding a connection and is idle later tells
 * what its program holds by itself. */
static void
test_ondemand_exec_learns_from_a_worker_up_with_a_connection(void **state)
{
    struct pool *p = od_forked(&od8_exec, 1);

    (void)state;
    will_look_young(IN_SLEEP, SOCKET_INFO);
    will_return(queue_read, 0);
    pool_run_due(p, 6020);
    assert_true(p->slots[0].pm_ready);
    assert_false(p->pm.own_sockets_known);
    will_read(100, "syscall", IN_ACCEPT);
    will_return(sys_proc_fd_count, 3);
    will_read(100, "io", IO_TEXT(9));
    pool_run_due(p, 6020 + pm_sample_ms(&od8_exec));
    assert_true(p->pm.own_sockets_known);
    assert_int_equal(p->pm.own_sockets, 0);
    pm_pool_free(p);
}

static const struct pool_conf dyn_mod = {
    .name = "dy", .mode = MODE_MODULE, .pm = PM_DYNAMIC, .workers = 2,
    .min_workers = 1, .max_workers = 6, .min_spare = 1, .max_spare = 2,
    .stop_signal = SIGUSR1, .graceful_timeout_ms = 30000,
    .kill_timeout_ms = 5000, .backoff_min_ms = 100, .backoff_max_ms = 1000,
    .min_uptime_ms = 1000, .idle_timeout_ms = 1000, .max_spawn_rate = 32,
};

static void
set_sb(struct pool *p, unsigned from, unsigned to, enum sb_state st)
{
    for (unsigned i = from; i <= to; i++)
        scoreboard_set_state(scoreboard_map_slot(p->scoreboard, i), st);
}

static void
test_dynamic_reads_the_scoreboard(void **state)
{
    struct pool *p = pm_pool(&dyn_mod);

    (void)state;
    pool_run_due(p, 5000);
    will_return(sys_fork, 100);
    will_return(sys_fork, 101);
    pool_reconcile(p, 5000);
    assert_non_null(p->scoreboard);
    pool_run_due(p, 5100);          /* starting: look again */
    assert_int_equal(pool_next_deadline(p), 5200);
    set_sb(p, 0, 1, SB_IDLE);
    pool_run_due(p, 5200);          /* two idle, max_spare 2: asleep */
    assert_int_equal(pool_next_deadline(p), NEVER);
    set_sb(p, 0, 1, SB_BUSY);
    connection_waits(p);
    will_return(queue_read, 1);
    pool_run_due(p, 6000);
    assert_int_equal(p->target, 3);
    will_return(sys_fork, 102);
    pool_reconcile(p, 6000);
    will_return(queue_read, 0);
    pool_run_due(p, 6020);
    assert_int_equal(p->target, 3);
    assert_int_equal(pool_next_deadline(p), 6020 + PM_DYNAMIC_TICK_MS);
    /* The burst is over: three idle, one more than max_spare. */
    set_sb(p, 0, 2, SB_IDLE);
    set_sb(p, 1, 1, SB_BUSY);
    pool_run_due(p, 6120);
    set_sb(p, 1, 1, SB_IDLE);
    /* 6120 had two idle: the window opens at 6220. */
    for (uint64_t t = 6220; t < 6220 + PM_DYNAMIC_WINDOW_MS; t += 100)
        pool_run_due(p, t);
    assert_int_equal(p->target, 3);
    pool_run_due(p, 6220 + PM_DYNAMIC_WINDOW_MS);
    assert_int_equal(p->target, 2);
    /* An idle worker goes, not the newest (busy) one, and it is told at
     * once: a module worker stops itself. */
    set_sb(p, 2, 2, SB_BUSY);
    expect_signal(101, SIGUSR1);
    pool_reconcile(p, 7220);
    assert_int_equal(p->slots[1].state, SLOT_STOPPING);
    assert_int_equal(p->slots[2].state, SLOT_RUNNING);
    pm_pool_free(p);
}

/* Workers reading requests' heads from slow clients are taken, not
 * idle: the dynamic pool grows past them to keep its spare, and an idle
 * worker, not a reading one, is the one a shrink stops. */
static void
test_dynamic_grows_past_workers_reading(void **state)
{
    struct pool *p = pm_pool(&dyn_mod);

    (void)state;
    pool_run_due(p, 5000);
    will_return(sys_fork, 100);
    will_return(sys_fork, 101);
    pool_reconcile(p, 5000);
    set_sb(p, 0, 1, SB_READING);
    pool_run_due(p, 5100);
    assert_int_equal(p->target, 3);             /* min_spare 1 */
    will_return(sys_fork, 102);
    pool_reconcile(p, 5200);
    set_sb(p, 2, 2, SB_IDLE);
    set_sb(p, 1, 1, SB_IDLE);
    p->target = 2;
    expect_signal(101, SIGUSR1);    /* idle; 100 and 102 are not */
    set_sb(p, 2, 2, SB_READING);
    pool_reconcile(p, 5300);
    assert_int_equal(p->slots[1].state, SLOT_STOPPING);
    assert_int_equal(p->slots[0].state, SLOT_RUNNING);
    pm_pool_free(p);
}

static void
test_stopping_pool_neither_watches_nor_ticks(void **state)
{
    struct pool *p = pm_pool(&od_exec);

    (void)state;
    pool_run_due(p, 5000);
    assert_true(p->pm.watching);
    pool_stop_all(p, true, 6000);
    assert_false(p->pm.watching);
    pool_run_due(p, 6001);
    assert_false(p->pm.watching);
    assert_int_equal(pool_next_deadline(p), NEVER);
    pm_pool_free(p);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            test_ondemand_exec_spawns_per_waiting_connection_then_idles_out),
        cmocka_unit_test(
            test_ondemand_exec_new_worker_holding_a_connection_is_busy),
        cmocka_unit_test(
            test_ondemand_exec_new_worker_without_connection_is_starting),
        cmocka_unit_test(test_ondemand_exec_slow_start_is_no_fork_storm),
        cmocka_unit_test(test_ondemand_exec_learns_the_programs_own_sockets),
        cmocka_unit_test(
            test_ondemand_exec_learns_from_a_worker_up_with_a_connection),
        cmocka_unit_test(test_dynamic_reads_the_scoreboard),
        cmocka_unit_test(test_dynamic_grows_past_workers_reading),
        cmocka_unit_test(test_stopping_pool_neither_watches_nor_ticks),
    };
    return cmocka_run_group_tests_name("scale", tests, NULL, NULL);
}
