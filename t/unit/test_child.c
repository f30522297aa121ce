/* Unit tests for manager/child.c: how a worker's death is counted,
 * respawns with backoff, and stops escalating to KILL, with fork, kill
 * and /proc reads replaced by t/unit/fake_sys.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"
#include "conns.h"
#include "pool_fixture.h"

/* The connections a worker holds, from the cmocka queue: conns.c reads
 * /proc and sock_diag (test_procfs.c tests its parsers). This double
 * takes the place of conns.o in this executable. */
int
conns_held(pid_t pid)
{
    check_expected(pid);
    return mock_type(int);
}

static void
will_hold(pid_t pid, int conns)
{
    expect_value(conns_held, pid, pid);
    will_return(conns_held, conns);
}

static void
test_backoff_doubles_until_cap(void **state)
{
    (void)state;
    assert_int_equal(child_backoff_ms(&pc, 0), 0);
    /* The first quick death in a row is free. */
    assert_int_equal(child_backoff_ms(&pc, 1), 0);
    assert_int_equal(child_backoff_ms(&pc, 2), 100);
    assert_int_equal(child_backoff_ms(&pc, 4), 400);
    assert_int_equal(child_backoff_ms(&pc, 5), 800);
    assert_int_equal(child_backoff_ms(&pc, 6), 1000);
    assert_int_equal(child_backoff_ms(&pc, 4000000000u), 1000);
}

static void
test_clean_exits_are_not_crashes_unless_instant(void **state)
{
    (void)state;
    assert_true(child_died_quickly(&pc, W_EXITCODE(3, 0), 999));
    assert_false(child_died_quickly(&pc, W_EXITCODE(3, 0), 1000));
    assert_true(child_died_quickly(&pc, W_EXITCODE(0, SIGSEGV), 500));
    /* php-cgi retiring after PHP_FCGI_MAX_REQUESTS within a second */
    assert_false(child_died_quickly(&pc, W_EXITCODE(0, 0), 300));
    /* a command that exits 0 at once is still a crash loop */
    assert_true(child_died_quickly(&pc, W_EXITCODE(0, 0), 5));
    assert_false(child_died_quickly(&pc, W_EXITCODE(0, 0), 20));
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
        child_died(p, &p->slots[0], W_EXITCODE(0, 0), now);
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
test_long_lived_death_respawns_now(void **state)
{
    struct pool *p = *state;

    fill(p, 5000);
    child_died(p, &p->slots[1], W_EXITCODE(0, 0), 9000);
    assert_int_equal(p->slots[1].state, SLOT_WAITING);
    assert_int_equal(p->slots[1].respawn_at, 9000);
    will_return(sys_fork, 200);
    pool_run_due(p, 9000);
    assert_int_equal(p->slots[1].state, SLOT_RUNNING);
    assert_int_equal(p->slots[1].pid, 200);
    assert_int_equal(p->respawns, 1);
}

/* A young worker killed once (an OOM kill, an operator's kill -9) is
 * replaced at once; its replacement killed young too waits
 * restart_backoff; one that lives min_uptime clears the streak, so the
 * next young death is free again. */
static void
test_first_quick_death_respawns_at_once(void **state)
{
    struct pool *p = *state;

    fill(p, 5000);
    child_died(p, &p->slots[0], W_EXITCODE(0, SIGKILL), 5050);
    assert_int_equal(p->slots[0].fail_streak, 1);
    assert_int_equal(p->slots[0].respawn_at, 5050);
    will_return(sys_fork, 200);
    pool_run_due(p, 5050);
    assert_int_equal(p->slots[0].pid, 200);
    child_died(p, &p->slots[0], W_EXITCODE(0, SIGKILL), 5060);
    assert_int_equal(p->slots[0].fail_streak, 2);
    assert_true(p->slots[0].respawn_at >= 5060 + pc.backoff_min_ms);
    will_return(sys_fork, 201);
    pool_run_due(p, p->slots[0].respawn_at);
    pool_run_due(p, p->slots[0].stable_at);
    assert_int_equal(p->slots[0].fail_streak, 0);
    child_died(p, &p->slots[0], W_EXITCODE(0, SIGKILL), 7000);
    assert_int_equal(p->slots[0].respawn_at, 7000);
}

static void
test_quick_deaths_back_off_and_flag_crash_loop(void **state)
{
    struct pool *p = *state;
    uint64_t now = 5000;

    fill(p, now);
    for (unsigned n = 1; n <= 4; n++) {
        child_died(p, &p->slots[0], W_EXITCODE(3, 0), now + 10);
        assert_int_equal(p->slots[0].fail_streak, n);
        uint64_t delay = p->slots[0].respawn_at - (now + 10);
        assert_true(delay >= child_backoff_ms(&pc, n));
        assert_true(delay <= child_backoff_ms(&pc, n) * 11 / 10 + 1);
        /* Nothing is due before the delay has passed. */
        pool_run_due(p, now + 10 + child_backoff_ms(&pc, n) - 1);
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
test_idle_verdict(void **state)
{
    struct idle_look l = { .in_accept = false, .conns = 1 };

    (void)state;
    assert_int_equal(child_idle_verdict(&l), IDLE_BUSY);
    /* Go: waits in epoll, holds nothing. */
    l.conns = 0;
    assert_int_equal(child_idle_verdict(&l), IDLE_ASK);
    /* Unknown connections, not in accept(): nothing to go by. */
    l.conns = -1;
    assert_int_equal(child_idle_verdict(&l), IDLE_BUSY);
    /* libfcgi in accept(), as before; a threaded one may hold others,
     * which its stop signal lets finish. */
    l.in_accept = true;
    assert_int_equal(child_idle_verdict(&l), IDLE_ASK);
    l.conns = 2;
    assert_int_equal(child_idle_verdict(&l), IDLE_ASK);
    /* After the stop signal only holding nothing, for sure, ends it. */
    l.asked = true;
    assert_int_equal(child_idle_verdict(&l), IDLE_BUSY);
    l.conns = -1;
    assert_int_equal(child_idle_verdict(&l), IDLE_BUSY);
    l.conns = 0;
    assert_int_equal(child_idle_verdict(&l), IDLE_END);
    l.in_accept = false;
    assert_int_equal(child_idle_verdict(&l), IDLE_END);
}

#define ONE_THREAD "Name:\tapp\nThreads:\t1\nSigCgt:\t0000000000004000\n"
#define GO_THREADS "Name:\tapp\nThreads:\t5\nSigCgt:\tfffffffd7fc1feff\n"

static void
test_graceful_stop_waits_for_idle_accept(void **state)
{
    struct pool *p = one_stopping(state);

    will_read(100, "syscall", IN_SLEEP);        /* busy: look again */
    will_hold(100, 1);
    pool_run_due(p, 6000);
    assert_int_equal(pool_next_deadline(p), 6010);
    will_read(100, "syscall", IN_ACCEPT);       /* idle: freeze it */
    will_return(sys_proc_fd_count, 3);
    expect_signal(100, SIGSTOP);
    pool_run_due(p, 6010);
    assert_int_equal(p->slots[0].stage, STOP_FROZEN);
    will_return(sys_group_stopped, 0);            /* not stopped yet */
    pool_run_due(p, 6011);
    will_return(sys_group_stopped, 1);            /* same accept, no new fd */
    will_read(100, "syscall", IN_ACCEPT);
    will_return(sys_proc_fd_count, 3);
    expect_signal(100, SIGUSR1);
    expect_signal(100, SIGCONT);
    pool_run_due(p, 6012);
    assert_int_equal(p->slots[0].stage, STOP_ASKED);
    /* libfcgi has exited by now; one still there (Ruby's fcgi waits for
     * one more request) and idle, single-threaded, gets TERM. */
    assert_int_equal(pool_next_deadline(p), 6212);
    will_read(100, "syscall", IN_ACCEPT);
    will_hold(100, 0);
    will_return(sys_proc_fd_count, 3);
    expect_signal(100, SIGSTOP);
    pool_run_due(p, 6212);
    will_return(sys_group_stopped, 1);
    will_read(100, "syscall", IN_ACCEPT);
    will_hold(100, 0);
    will_read(100, "status", ONE_THREAD);
    expect_signal(100, SIGTERM);
    expect_signal(100, SIGCONT);
    pool_run_due(p, 6213);
    assert_int_equal(p->slots[0].stage, STOP_TERMED);
    assert_int_equal(pool_next_deadline(p), 6213 + pc.kill_timeout_ms);
    child_died(p, &p->slots[0], W_EXITCODE(0, 0), 6214);
    assert_true(pool_is_empty(p));
}

/* A Go worker waits in epoll, never in accept(), and ignores SIGUSR1:
 * holding no connection, it gets the stop signal, then, idle again
 * after the grace, KILL, for its other threads could accept a
 * connection while one runs a TERM handler. A connection it took
 * meanwhile (it holds one when frozen) thaws it to finish. */
static void
test_idle_without_accept_is_asked_then_ended(void **state)
{
    struct pool *p = one_stopping(state);

    will_read(100, "syscall", IN_SLEEP);
    will_hold(100, 0);
    will_return(sys_proc_fd_count, 7);
    expect_signal(100, SIGSTOP);
    pool_run_due(p, 6000);
    will_return(sys_group_stopped, 1);
    will_read(100, "syscall", IN_SLEEP);
    will_hold(100, 0);
    expect_signal(100, SIGUSR1);
    expect_signal(100, SIGCONT);
    pool_run_due(p, 6001);
    assert_int_equal(p->slots[0].stage, STOP_ASKED);
    /* After the grace: serving a request, look later. */
    will_read(100, "syscall", IN_SLEEP);
    will_hold(100, 1);
    pool_run_due(p, 6201);
    assert_int_equal(p->slots[0].stage, STOP_IDLE_WAIT);
    assert_int_equal(pool_next_deadline(p), 6211);
    /* Idle, frozen, but a connection came before the stop took. */
    will_read(100, "syscall", IN_SLEEP);
    will_hold(100, 0);
    will_return(sys_proc_fd_count, 7);
    expect_signal(100, SIGSTOP);
    pool_run_due(p, 6211);
    will_return(sys_group_stopped, 1);
    will_read(100, "syscall", IN_SLEEP);
    will_hold(100, 1);
    expect_signal(100, SIGCONT);
    pool_run_due(p, 6212);
    assert_int_equal(p->slots[0].stage, STOP_IDLE_WAIT);
    /* Idle at last. */
    uint64_t at = pool_next_deadline(p);
    will_read(100, "syscall", IN_SLEEP);
    will_hold(100, 0);
    will_return(sys_proc_fd_count, 7);
    expect_signal(100, SIGSTOP);
    pool_run_due(p, at);
    will_return(sys_group_stopped, 1);
    will_read(100, "syscall", IN_SLEEP);
    will_hold(100, 0);
    will_read(100, "status", GO_THREADS);
    expect_signal(-100, SIGKILL);
    pool_run_due(p, at + 1);
    assert_int_equal(p->slots[0].stage, STOP_KILLED);
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
    will_return(sys_group_stopped, 1);
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
        will_hold(100, 1);
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
    expect_signal(100, SIGTERM);
    pool_run_due(p, end);
    assert_int_equal(p->slots[0].stage, STOP_TERMED);
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
        child_died(p, &p->slots[0], W_EXITCODE(0, SIGKILL), 40000);
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
test_never_idle_gets_term_after_graceful_timeout(void **state)
{
    struct pool *p = one_stopping(state);
    uint64_t end = 6000 + pc.graceful_timeout_ms;

    /* graceful_timeout is over: a fast stop, TERM then KILL, 35 s in
     * all, as the log and fcgipm.conf(5) say. */
    expect_signal(100, SIGTERM);
    pool_run_due(p, end);
    assert_int_equal(p->slots[0].stage, STOP_TERMED);
    assert_int_equal(pool_next_deadline(p), end + pc.kill_timeout_ms);
    expect_signal(-100, SIGKILL);
    pool_run_due(p, end + pc.kill_timeout_ms);
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

static const struct pool_conf mod2 = {
    .name = "mod", .mode = MODE_MODULE, .pm = PM_STATIC, .workers = 2,
    .max_workers = 2, .stop_signal = SIGUSR1, .graceful_timeout_ms = 30000,
    .kill_timeout_ms = 5000, .backoff_min_ms = 100, .backoff_max_ms = 1000,
    .min_uptime_ms = 1000,
};

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
        child_died(p, s, W_EXITCODE(0, 0), now);
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
    child_died(p, &p->slots[0], W_EXITCODE(0, SIGKILL), 6000);
    child_died(p, &p->slots[1], W_EXITCODE(0, SIGSEGV), 6000);
    assert_int_equal(p->slots[0].state, SLOT_WAITING);
    assert_int_equal(p->slots[1].state, SLOT_WAITING);
    pm_pool_free(p);            /* munmap by the master's own size */
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backoff_doubles_until_cap),
        cmocka_unit_test(test_clean_exits_are_not_crashes_unless_instant),
        cmocka_unit_test_setup_teardown(test_clean_exits_are_bounded, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_long_lived_death_respawns_now,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_first_quick_death_respawns_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_quick_deaths_back_off_and_flag_crash_loop, setup, teardown),
        cmocka_unit_test(test_idle_verdict),
        cmocka_unit_test_setup_teardown(
            test_graceful_stop_waits_for_idle_accept, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_idle_without_accept_is_asked_then_ended, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_frozen_with_a_new_connection_is_thawed, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_never_idle_gets_term_after_graceful_timeout, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            test_looks_at_a_busy_exec_worker_back_off, setup, teardown),
        cmocka_unit_test(
            test_module_and_cgi_workers_get_the_stop_signal_at_once),
        cmocka_unit_test_setup_teardown(
            test_stop_follows_the_mode_a_worker_started_in, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fast_stop_overrides_graceful,
                                        setup, teardown),
        cmocka_unit_test(test_scribbled_scoreboard_is_harmless),
        cmocka_unit_test(test_claimed_recycling_is_bounded),
    };
    return cmocka_run_group_tests_name("child", tests, NULL, NULL);
}
