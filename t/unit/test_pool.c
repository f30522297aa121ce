/* Unit tests for manager/pool.c: backoff, sizing and the slot life cycle,
 * with fork and kill replaced by t/unit/fake_sys.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "pool.h"
#include "queue.h"

static struct pool_conf pc = {
    .name = "t",
    .workers = 3,
    .max_workers = 8,
    .stop_signal = SIGUSR1,
    .graceful_timeout_ms = 30000,
    .kill_timeout_ms = 5000,
    .backoff_min_ms = 100,
    .backoff_max_ms = 1000,
    .min_uptime_ms = 1000,
};

static int
setup(void **state)
{
    struct pool *p = calloc(1, sizeof(*p));

    log_set_level(LOG_LEVEL_ERROR);
    assert_non_null(p);
    pool_init(p, NULL, &pc, NULL, 0);
    *state = p;
    return 0;
}

static int
teardown(void **state)
{
    pool_fini(*state);
    free(*state);
    return 0;
}

/* Fill the pool to its target with forks returning 100, 101, ... */
static void
fill(struct pool *p, uint64_t now)
{
    for (unsigned i = 0; i < p->target; i++)
        will_return(sys_fork, 100 + i);
    pool_reconcile(p, now);
}

static void
test_backoff_doubles_until_cap(void **state)
{
    (void)state;
    assert_int_equal(backoff_ms(&pc, 0), 0);
    assert_int_equal(backoff_ms(&pc, 1), 100);
    assert_int_equal(backoff_ms(&pc, 3), 400);
    assert_int_equal(backoff_ms(&pc, 4), 800);
    assert_int_equal(backoff_ms(&pc, 5), 1000);
    assert_int_equal(backoff_ms(&pc, 4000000000u), 1000);
}

static void
test_clean_exits_are_not_crashes_unless_instant(void **state)
{
    (void)state;
    assert_true(died_quickly(&pc, W_EXITCODE(3, 0), 999));
    assert_false(died_quickly(&pc, W_EXITCODE(3, 0), 1000));
    assert_true(died_quickly(&pc, W_EXITCODE(0, SIGSEGV), 500));
    /* php-cgi retiring after PHP_FCGI_MAX_REQUESTS within a second */
    assert_false(died_quickly(&pc, W_EXITCODE(0, 0), 300));
    /* a command that exits 0 at once is still a crash loop */
    assert_true(died_quickly(&pc, W_EXITCODE(0, 0), 5));
    assert_false(died_quickly(&pc, W_EXITCODE(0, 0), 20));
}

/* php-cgi retiring fast under load respawns at once; a program that
 * exits 0 over and over still ends up backing off. */
static void
test_clean_exits_are_bounded(void **state)
{
    struct pool *p = *state;
    uint64_t now = 5000;
    int i;

    fill(p, now);
    /* A worker exiting cleanly every 20 ms: 50 a second, over the 30 a
     * second (10 per worker) that respawn at once. */
    for (i = 0; i < 200; i++) {
        now += 20;
        pool_child_died(p, &p->slots[0], W_EXITCODE(0, 0), now);
        if (p->slots[0].fail_streak > 0)
            break;
        assert_int_equal(p->slots[0].respawn_at, now);
        will_return(sys_fork, 400 + i);
        pool_run_due(p, now);
    }
    assert_true(i >= 50);           /* php-cgi retiring fast is fine */
    assert_true(i < 200);           /* exiting 0 forever is not */
    assert_true(p->slots[0].respawn_at > now);
}

static void
test_plan(void **state)
{
    (void)state;
    assert_int_equal(pool_plan(3, 0), 3);
    assert_int_equal(pool_plan(3, 3), 0);
    assert_int_equal(pool_plan(0, 2), -2);
}

static void
test_reconcile_spawns_target(void **state)
{
    struct pool *p = *state;

    fill(p, 5000);
    assert_int_equal(p->slots[0].state, SLOT_RUNNING);
    assert_int_equal(p->slots[2].pid, 102);
    assert_true(p->nslots > 3);
    assert_int_equal(p->slots[3].state, SLOT_EMPTY);
    assert_int_equal(p->spawns, 3);
    pool_reconcile(p, 5001);    /* nothing to do: no fork expected */
    assert_int_equal(pool_next_deadline(p), NEVER);
}

static void
test_long_lived_death_respawns_now(void **state)
{
    struct pool *p = *state;

    fill(p, 5000);
    pool_child_died(p, &p->slots[1], W_EXITCODE(0, 0), 9000);
    assert_int_equal(p->slots[1].state, SLOT_WAITING);
    assert_int_equal(p->slots[1].respawn_at, 9000);
    will_return(sys_fork, 200);
    pool_run_due(p, 9000);
    assert_int_equal(p->slots[1].state, SLOT_RUNNING);
    assert_int_equal(p->slots[1].pid, 200);
    assert_int_equal(p->respawns, 1);
}

static void
test_quick_deaths_back_off_and_flag_crash_loop(void **state)
{
    struct pool *p = *state;
    uint64_t now = 5000;

    fill(p, now);
    for (unsigned n = 1; n <= 4; n++) {
        pool_child_died(p, &p->slots[0], W_EXITCODE(3, 0), now + 10);
        assert_int_equal(p->slots[0].fail_streak, n);
        uint64_t delay = p->slots[0].respawn_at - (now + 10);
        assert_true(delay >= backoff_ms(&pc, n));
        assert_true(delay <= backoff_ms(&pc, n) * 11 / 10 + 1);
        /* Nothing is due before the delay has passed. */
        pool_run_due(p, now + 10 + backoff_ms(&pc, n) - 1);
        assert_int_equal(p->slots[0].state, SLOT_WAITING);
        now = p->slots[0].respawn_at;
        will_return(sys_fork, 300 + n);
        pool_run_due(p, now);
        assert_int_equal(p->slots[0].state, SLOT_RUNNING);
    }
    assert_true(p->crash_loop);
    /* Living past min_uptime clears the streak and the crash loop. */
    assert_int_equal(pool_next_deadline(p), now + pc.min_uptime_ms);
    pool_run_due(p, now + pc.min_uptime_ms);
    assert_int_equal(p->slots[0].fail_streak, 0);
    assert_false(p->crash_loop);
}

#define IN_ACCEPT "43 0x0 0x7ffe0 0x7ffd8 0x1 0x0 0xffffffff 0x7ffb8 0x7f56f0\n"
#define IN_SLEEP "230 0x0 0x0 0x7ffae0 0x7ffae0 0x19 0x0 0x7ffac8 0x7fa503\n"
#define STOPPED "100 (hello world) T 1 100 100 0 -1 4194560\n"
#define RUNNING "100 (hello world) S 1 100 100 0 -1 4194560\n"

static void
will_read(pid_t pid, const char *name, const char *text)
{
    expect_value(sys_proc_read, pid, pid);
    expect_string(sys_proc_read, name, name);
    will_return(sys_proc_read, text);
}

static void
expect_signal(pid_t pid, int sig)
{
    expect_value(sys_kill, pid, pid);
    expect_value(sys_kill, sig, sig);
    will_return(sys_kill, 0);
}

/* One worker, asked to stop gracefully at 6000. */
static struct pool *
one_stopping(void **state)
{
    struct pool *p = *state;

    p->target = 1;
    fill(p, 5000);
    pool_stop_all(p, true, 6000);   /* no signal yet */
    assert_int_equal(p->slots[0].state, SLOT_STOPPING);
    assert_int_equal(p->slots[0].stage, STOP_IDLE_WAIT);
    assert_int_equal(pool_next_deadline(p), 6000);
    return p;
}

static void
test_graceful_stop_waits_for_idle_accept(void **state)
{
    struct pool *p = one_stopping(state);

    will_read(100, "syscall", IN_SLEEP);        /* busy: look again */
    pool_run_due(p, 6000);
    assert_int_equal(pool_next_deadline(p), 6010);
    will_read(100, "syscall", IN_ACCEPT);       /* idle: freeze it */
    will_return(sys_proc_fd_count, 3);
    expect_signal(100, SIGSTOP);
    pool_run_due(p, 6010);
    assert_int_equal(p->slots[0].stage, STOP_FROZEN);
    will_read(100, "stat", RUNNING);            /* not stopped yet */
    pool_run_due(p, 6011);
    will_read(100, "stat", STOPPED);            /* same accept, no new fd */
    will_read(100, "syscall", IN_ACCEPT);
    will_return(sys_proc_fd_count, 3);
    expect_signal(100, SIGUSR1);
    expect_signal(100, SIGCONT);
    pool_run_due(p, 6012);
    assert_int_equal(p->slots[0].stage, STOP_ASKED);
    assert_int_equal(pool_next_deadline(p), 6012 + pc.graceful_timeout_ms);
    expect_signal(-100, SIGKILL);
    pool_run_due(p, 6012 + pc.graceful_timeout_ms);
    assert_int_equal(p->slots[0].stage, STOP_KILLED);
    pool_child_died(p, &p->slots[0], W_EXITCODE(0, SIGKILL), 40000);
    assert_true(pool_is_empty(p));
}

static void
test_frozen_with_a_new_connection_is_thawed(void **state)
{
    struct pool *p = one_stopping(state);

    will_read(100, "syscall", IN_ACCEPT);
    will_return(sys_proc_fd_count, 3);
    expect_signal(100, SIGSTOP);
    pool_run_due(p, 6000);
    /* accept() returned a connection before the stop took effect. */
    will_read(100, "stat", STOPPED);
    will_read(100, "syscall", IN_ACCEPT);
    will_return(sys_proc_fd_count, 4);
    expect_signal(100, SIGCONT);
    pool_run_due(p, 6001);
    assert_int_equal(p->slots[0].stage, STOP_IDLE_WAIT);
    /* The looks went 10 ms, then 20 ms: it is serving. */
    assert_int_equal(pool_next_deadline(p), 6021);
}

/* An exec worker busy for long (a slow request, or pinned by a kept
 * connection) is looked at 10 ms after the stop, then twice as long
 * each time up to about a second, and never past graceful_timeout:
 * a few /proc reads a second, not a hundred. */
static void
test_looks_at_a_busy_exec_worker_back_off(void **state)
{
    struct pool *p = one_stopping(state);
    uint64_t now = 6000, end = 6000 + pc.graceful_timeout_ms;
    uint64_t gap = 0;
    unsigned looks = 0;

    while (now < end) {
        will_read(100, "syscall", IN_SLEEP);
        pool_run_due(p, now);
        uint64_t next = pool_next_deadline(p);
        assert_true(next > now);
        /* Doubling from 10 ms, capped near a second. */
        if (gap == 0)
            assert_int_equal(next - now, 10);
        else if (next < end)
            assert_int_equal(next - now, gap * 2 < 1024 ? gap * 2 : 1024);
        gap = next - now;
        now = next;
        looks++;
    }
    assert_int_equal(now, end);     /* exactly at graceful_timeout */
    assert_true(looks < 40);        /* 30 s: 7 doublings, then ~1/s */
    expect_signal(100, SIGUSR1);
    pool_run_due(p, end);
    assert_int_equal(p->slots[0].stage, STOP_ASKED);
}

static const struct pool_conf mod1 = {
    .name = "mod", .mode = MODE_MODULE, .pm = PM_STATIC, .workers = 1,
    .max_workers = 2, .stop_signal = SIGUSR1, .graceful_timeout_ms = 30000,
    .kill_timeout_ms = 5000, .backoff_min_ms = 100, .backoff_max_ms = 1000,
    .min_uptime_ms = 1000,
};

/* A module or cgi worker stops itself at any moment: the stop signal
 * goes at once, busy or idle, with no look at /proc (no sys_proc_read
 * is expected) and nothing to wake up for before graceful_timeout; KILL
 * follows it, as for any worker. */
static void
test_module_and_cgi_workers_get_the_stop_signal_at_once(void **state)
{
    enum pool_mode modes[] = { MODE_MODULE, MODE_CGI };

    (void)state;
    for (size_t i = 0; i < 2; i++) {
        struct pool_conf c = mod1;
        c.mode = modes[i];
        struct pool *p = calloc(1, sizeof(*p));
        assert_non_null(p);
        pool_init(p, NULL, &c, NULL, 0);
        will_return(sys_fork, 100);
        pool_reconcile(p, 5000);
        scoreboard_set_state(scoreboard_map_slot(p->scoreboard, 0),
                             SB_BUSY);
        expect_signal(100, SIGUSR1);
        pool_stop_all(p, true, 6000);
        assert_int_equal(p->slots[0].state, SLOT_STOPPING);
        assert_int_equal(p->slots[0].stage, STOP_ASKED);
        assert_int_equal(pool_next_deadline(p),
                         6000 + c.graceful_timeout_ms);
        pool_run_due(p, 6010);      /* nothing due: no /proc, no signal */
        pool_run_due(p, 6000 + c.graceful_timeout_ms - 1);
        expect_signal(-100, SIGKILL);
        pool_run_due(p, 6000 + c.graceful_timeout_ms);
        assert_int_equal(p->slots[0].stage, STOP_KILLED);
        pool_child_died(p, &p->slots[0], W_EXITCODE(0, SIGKILL), 40000);
        assert_true(pool_is_empty(p));
        pool_fini(p);
        free(p);
    }
}

/* The stop follows the mode a worker was started in: after a reload
 * from exec to module, the old exec worker still waits to be seen idle,
 * the new module worker would be signalled at once. */
static void
test_stop_follows_the_mode_a_worker_started_in(void **state)
{
    struct pool *p = *state;
    struct pool_conf c = mod1;

    p->target = 1;
    fill(p, 5000);
    will_return(sys_fork, 200);
    pool_reconfigure(p, &c, 6000);  /* asks the exec worker: no signal */
    assert_int_equal(p->slots[0].stage, STOP_IDLE_WAIT);
    assert_int_equal(p->slots[1].pid, 200);
    expect_signal(200, SIGUSR1);
    p->target = 0;                  /* TTOU */
    pool_reconcile(p, 6001);
    assert_int_equal(p->slots[1].stage, STOP_ASKED);
    p->conf = &pc;                  /* for the teardown's pool_init */
}

static void
test_never_idle_is_signalled_after_graceful_timeout(void **state)
{
    struct pool *p = one_stopping(state);
    uint64_t end = 6000 + pc.graceful_timeout_ms;

    expect_signal(100, SIGUSR1);
    pool_run_due(p, end);
    assert_int_equal(p->slots[0].stage, STOP_ASKED);
    assert_int_equal(pool_next_deadline(p), end + pc.kill_timeout_ms);
}

static void
test_fast_stop_overrides_graceful(void **state)
{
    struct pool *p = one_stopping(state);

    will_read(100, "syscall", IN_ACCEPT);
    will_return(sys_proc_fd_count, 3);
    expect_signal(100, SIGSTOP);
    pool_run_due(p, 6000);
    /* Frozen: TERM must be followed by CONT, or it is never seen. */
    expect_signal(100, SIGTERM);
    expect_signal(100, SIGCONT);
    pool_stop_all(p, false, 6001);
    assert_int_equal(p->slots[0].stage, STOP_TERMED);
    assert_int_equal(p->slots[0].kill_at, 6001 + pc.kill_timeout_ms);
}

static void
test_shrink_stops_newest(void **state)
{
    struct pool *p = *state;

    fill(p, 5000);
    p->target = 2;
    pool_reconcile(p, 6000);
    assert_int_equal(p->slots[2].state, SLOT_STOPPING);
    assert_int_equal(p->slots[1].state, SLOT_RUNNING);
    /* A stopping worker's exit is not a crash: no respawn. */
    pool_child_died(p, &p->slots[2], W_EXITCODE(0, 0), 6100);
    assert_int_equal(p->slots[2].state, SLOT_EMPTY);
    pool_reconcile(p, 6200);
    assert_int_equal(p->respawns, 0);
}

static void
test_fork_failure_retries_later(void **state)
{
    struct pool *p = *state;

    p->target = 1;
    will_return(sys_fork, -1);
    pool_reconcile(p, 5000);
    assert_int_equal(p->slots[0].state, SLOT_WAITING);
    assert_true(p->slots[0].respawn_at >= 5100);
    assert_ptr_equal(pool_find_pid(p, 100), NULL);
}

static void
test_spawn_rate_defers_growth(void **state)
{
    struct pool_conf c = pc;
    struct pool *p = *state;

    c.workers = 1;
    c.max_spawn_rate = 2;
    pool_fini(p);
    pool_init(p, NULL, &c, NULL, 0);
    will_return(sys_fork, 100);
    pool_reconcile(p, 5000);
    p->target = 5;                  /* TTIN four times */
    will_return(sys_fork, 101);     /* the second token of the second */
    pool_reconcile(p, 5000);
    assert_int_equal(p->spawns, 2);
    uint64_t at = pool_next_deadline(p);
    assert_in_range(at, 5500, 5501);
    pool_reconcile(p, at - 10);     /* no fork before the token */
    will_return(sys_fork, 102);
    pool_reconcile(p, at);
    assert_int_equal(p->spawns, 3);
    pool_fini(p);
    pool_init(p, NULL, &pc, NULL, 0);
}

/* queue_read stand-in: each call returns the depth the test queued. */
int
queue_read(const struct listener *l, struct queue_depth *out)
{
    (void)l;
    out->len = mock_type(unsigned);
    out->max = 511;
    return 0;
}

static struct listener fake_listener = { .name = "unix:/fake", .fd = 1000 };

static struct pool *
pm_pool(const struct pool_conf *c)
{
    struct pool *p = calloc(1, sizeof(*p));

    log_set_level(LOG_LEVEL_ERROR);
    assert_non_null(p);
    pool_init(p, NULL, c, &fake_listener, 1);
    return p;
}

static void
pm_pool_free(struct pool *p)
{
    p->listeners = NULL;
    p->nlisteners = 0;
    pool_fini(p);
    free(p);
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
    pool_child_died(p, &p->slots[0], W_EXITCODE(0, 0), 7150);
    pool_child_died(p, &p->slots[1], W_EXITCODE(0, SIGKILL), 7150);
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
test_signals_move_the_floor_of_a_dynamic_pool(void **state)
{
    struct pool *p = pm_pool(&dyn_mod);

    (void)state;
    pool_run_due(p, 5000);
    assert_int_equal(p->pm.floor, 1);
    assert_int_equal(pool_resize(p, 2, "signal"), 4);   /* TTIN twice */
    assert_int_equal(p->pm.floor, 4);   /* kept: 2 + 2 */
    assert_int_equal(pool_resize(p, -1, "signal"), 3);
    assert_int_equal(p->pm.floor, 3);
    assert_int_equal(pool_resize(p, -10, "signal"), 0);
    assert_int_equal(p->pm.floor, 0);
    p->target = 5;                  /* a pm decision above the floor... */
    assert_int_equal(pool_resize(p, -1, "signal"), 4);  /* ...and TTOU */
    assert_int_equal(p->pm.floor, 0);   /* the floor stays */
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

static const struct pool_conf mod2 = {
    .name = "mod", .mode = MODE_MODULE, .pm = PM_STATIC, .workers = 2,
    .max_workers = 2, .stop_signal = SIGUSR1, .graceful_timeout_ms = 30000,
    .kill_timeout_ms = 5000, .backoff_min_ms = 100, .backoff_max_ms = 1000,
    .min_uptime_ms = 1000,
};

/* Every worker of p, live or stopping, has its slot in p's scoreboard. */
static void
assert_all_on_scoreboard(struct pool *p, unsigned running,
                         unsigned stopping)
{
    unsigned r = 0, st = 0;

    assert_true(p->nslots <= POOL_SLOTS_MAX);
    for (size_t i = 0; i < p->nslots; i++) {
        struct slot *s = &p->slots[i];
        if (s->state != SLOT_RUNNING && s->state != SLOT_STOPPING)
            continue;
        r += s->state == SLOT_RUNNING;
        st += s->state == SLOT_STOPPING;
        assert_non_null(scoreboard_map_slot(p->scoreboard, s->index));
    }
    assert_int_equal(r, running);
    assert_int_equal(st, stopping);
}

/* A reload from 2 to 20 workers (max_workers 2 to 20) puts 22 side by
 * side in the scoreboard mapped for the first 2, the one the new workers
 * inherit; the master knows the newest one's end from it: recycled. The
 * process group a worker names there is not signalled (no sys_kill is
 * expected): orphans are found by the master itself. */
static void
test_reload_that_grows_keeps_every_worker_on_the_scoreboard(void **state)
{
    struct pool_conf big = mod2;
    struct pool *p = pm_pool(&mod2);

    (void)state;
    big.workers = 20;
    big.max_workers = 20;
    will_return_count(sys_fork, 100, 2);
    pool_reconcile(p, 5000);
    struct sb_map *sb = p->scoreboard;
    assert_non_null(sb);
    for (unsigned i = 0; i < 20; i++)
        will_return(sys_fork, 200 + i);
    expect_signal(100, SIGUSR1);    /* the old ones, told at once */
    expect_signal(100, SIGUSR1);
    pool_reconfigure(p, &big, 6000);
    assert_ptr_equal(p->scoreboard, sb);
    assert_all_on_scoreboard(p, 20, 2);
    struct slot *last = &p->slots[21];
    assert_int_equal(last->pid, 219);
    struct sb_slot *sbs = scoreboard_map_slot(sb, last->index);
    scoreboard_set_state(sbs, SB_RECYCLING);
    pool_child_died(p, last, W_EXITCODE(0, 0), 6500);
    assert_int_equal(last->state, SLOT_WAITING);
    assert_int_equal(last->respawn_at, 6500);
    assert_int_equal(last->fail_streak, 0);
    pm_pool_free(p);
}

/* A worker that claims on its scoreboard to be recycling, and exits at
 * once, again and again: what it wrote spares it the backoff only as
 * long as a genuine fast recycler would be spared. */
static void
test_claimed_recycling_is_bounded(void **state)
{
    struct pool *p = pm_pool(&mod2);
    uint64_t now = 5000;
    int i;

    (void)state;
    will_return_count(sys_fork, 100, 2);
    pool_reconcile(p, now);
    struct slot *s = &p->slots[0];
    for (i = 0; i < 200; i++) {
        scoreboard_set_state(scoreboard_map_slot(p->scoreboard, s->index),
                             SB_RECYCLING);
        now += 1;
        pool_child_died(p, s, W_EXITCODE(0, 0), now);
        if (s->fail_streak > 0)
            break;
        will_return(sys_fork, 300 + i);
        pool_run_due(p, now);
    }
    assert_true(i < 200);
    assert_true(s->respawn_at > now);
    pm_pool_free(p);
}

/* A worker scribbles on its scoreboard: a pid of 1 (kill(-1) would
 * kill every process), the master's own group, states out of range,
 * unterminated strings, times in the future, and a slot count that would
 * make munmap take the master's stack. The master signals nothing
 * (no sys_kill is expected), indexes and unmaps by its own size, and
 * its log lines stay one line each. */
static void
test_scribbled_scoreboard_is_harmless(void **state)
{
    struct pool *p = pm_pool(&mod2);

    (void)state;
    will_return_count(sys_fork, 100, 2);
    pool_reconcile(p, 5000);
    struct sb_map *map = p->scoreboard;
    assert_non_null(map);
    uint32_t states[] = { SB_BUSY, 0xdeadbeefu, SB_RECYCLING + 1 };
    for (size_t i = 0; i < map->nslots && i < 3; i++) {
        struct sb_slot *sbs = &map->shm->slots[i];
        sbs->pid = i == 0 ? 1 : (int32_t)getpgrp();
        sbs->state = states[i];
        sbs->req_started_ms = UINT64_MAX;
        sbs->requests = UINT64_MAX;
        memset(sbs->method, '\n', sizeof(sbs->method));
        memset(sbs->uri, 'A', sizeof(sbs->uri));
        sbs->seq = 1;           /* "being rewritten", for ever */
    }
    map->shm->nslots = SIZE_MAX / sizeof(struct sb_slot);
    assert_null(scoreboard_map_slot(map, POOL_SLOTS_MAX));
    assert_non_null(scoreboard_map_slot(map, POOL_SLOTS_MAX - 1));
    pool_run_due(p, 5100);
    pool_child_died(p, &p->slots[0], W_EXITCODE(0, SIGKILL), 6000);
    pool_child_died(p, &p->slots[1], W_EXITCODE(0, SIGSEGV), 6000);
    assert_int_equal(p->slots[0].state, SLOT_WAITING);
    assert_int_equal(p->slots[1].state, SLOT_WAITING);
    pm_pool_free(p);            /* munmap by the master's own size */
}

/* Reloads of the largest pool in quick succession: its slots stop at
 * POOL_SLOTS_MAX, the scoreboard's size; the workers a reload could not
 * start then come as old ones leave. */
static void
test_slots_never_outgrow_the_scoreboard(void **state)
{
    struct pool_conf max = mod2;
    unsigned largest = (POOL_SLOTS_MAX - 8) / 4;    /* CONF_MAX_WORKERS */
    unsigned forks = POOL_SLOTS_MAX;    /* 4 full generations, 8 more */
    struct pool *p;

    (void)state;
    max.workers = largest;
    max.max_workers = largest;
    p = pm_pool(&max);
    will_return_count(sys_fork, 100, (int)forks);
    pool_reconcile(p, 5000);
    /* Each reload tells the workers it replaces to stop, at once. */
    expect_any_count(sys_kill, pid, (int)(4 * largest));
    expect_value_count(sys_kill, sig, SIGUSR1, (int)(4 * largest));
    will_return_count(sys_kill, 0, (int)(4 * largest));
    for (unsigned i = 1; i <= 4; i++)
        pool_reconfigure(p, &max, 5000 + i);
    /* No room: no fork, no waking up for spawn tokens, and the one
     * token left is kept for when a slot frees. */
    max.max_spawn_rate = 32;
    p->pm.bucket.tokens = 1;
    pool_reconcile(p, 5010);
    assert_int_equal(p->pm.deferred_at, NEVER);
    assert_int_equal(p->nslots, POOL_SLOTS_MAX);
    assert_int_equal(p->spawns, forks);
    assert_all_on_scoreboard(p, 8, forks - 8);
    pool_child_died(p, &p->slots[0], W_EXITCODE(0, 0), 5020);
    assert_int_equal(p->slots[0].state, SLOT_EMPTY);
    will_return(sys_fork, 300);
    pool_reconcile(p, 5020);
    assert_int_equal(p->slots[0].pid, 300);
    assert_all_on_scoreboard(p, 9, forks - 9);
    pm_pool_free(p);
}

/* POOL_SLOTS_MAX holds four generations of the largest pool: conf
 * refuses a max_workers beyond that (CONF_MAX_WORKERS, conf.c). */
static void
test_conf_caps_max_workers_within_the_slots(void **state)
{
    char path[] = "/tmp/test_pool.XXXXXX";
    int fd = mkstemp(path);
    struct conf_cli cli;
    struct conf c;
    char err[512];

    (void)state;
    assert_true(fd != -1);
    FILE *f = fdopen(fd, "w");
    assert_non_null(f);
    fprintf(f, "listen = \"unix:/tmp/fcgipm-test.sock\"\n"
               "command = \"/bin/sh\"\nmax_workers = %d\n",
            (POOL_SLOTS_MAX - 8) / 4 + 1);
    assert_int_equal(fclose(f), 0);
    conf_cli_init(&cli);
    cli.config = path;
    assert_int_equal(conf_load(&cli, &c, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "max_workers"));
    conf_free(&c);
    unlink(path);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backoff_doubles_until_cap),
        cmocka_unit_test(test_plan),
        cmocka_unit_test(test_clean_exits_are_not_crashes_unless_instant),
        cmocka_unit_test_setup_teardown(test_clean_exits_are_bounded, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_reconcile_spawns_target, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_long_lived_death_respawns_now,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_quick_deaths_back_off_and_flag_crash_loop, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_graceful_stop_waits_for_idle_accept, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_frozen_with_a_new_connection_is_thawed, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_never_idle_is_signalled_after_graceful_timeout, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            test_looks_at_a_busy_exec_worker_back_off, setup, teardown),
        cmocka_unit_test(
            test_module_and_cgi_workers_get_the_stop_signal_at_once),
        cmocka_unit_test_setup_teardown(
            test_stop_follows_the_mode_a_worker_started_in, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fast_stop_overrides_graceful,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_shrink_stops_newest, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_fork_failure_retries_later,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_spawn_rate_defers_growth,
                                        setup, teardown),
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
        cmocka_unit_test(test_signals_move_the_floor_of_a_dynamic_pool),
        cmocka_unit_test(test_stopping_pool_neither_watches_nor_ticks),
        cmocka_unit_test(
            test_reload_that_grows_keeps_every_worker_on_the_scoreboard),
        cmocka_unit_test(test_scribbled_scoreboard_is_harmless),
        cmocka_unit_test(test_claimed_recycling_is_bounded),
        cmocka_unit_test(test_slots_never_outgrow_the_scoreboard),
        cmocka_unit_test(test_conf_caps_max_workers_within_the_slots),
    };
    return cmocka_run_group_tests_name("pool", tests, NULL, NULL);
}
