/* Unit tests for manager/pool.c: sizing, slots and reconfiguration, with
 * fork and kill replaced by t/unit/fake_sys.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"
#include "pool_fixture.h"

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
test_shrink_stops_newest(void **state)
{
    struct pool *p = *state;

    fill(p, 5000);
    p->target = 2;
    pool_reconcile(p, 6000);
    assert_int_equal(p->slots[2].state, SLOT_STOPPING);
    assert_int_equal(p->slots[1].state, SLOT_RUNNING);
    /* A stopping worker's exit is not a crash: no respawn. */
    child_died(p, &p->slots[2], W_EXITCODE(0, 0), 6100);
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

static const struct pool_conf dyn_mod = {
    .name = "dy", .mode = MODE_MODULE, .pm = PM_DYNAMIC, .workers = 2,
    .min_workers = 1, .max_workers = 6, .min_spare = 1, .max_spare = 2,
    .stop_signal = SIGUSR1, .graceful_timeout_ms = 30000,
    .kill_timeout_ms = 5000, .backoff_min_ms = 100, .backoff_max_ms = 1000,
    .min_uptime_ms = 1000, .idle_timeout_ms = 1000, .max_spawn_rate = 32,
};

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
    child_died(p, last, W_EXITCODE(0, 0), 6500);
    assert_int_equal(last->state, SLOT_WAITING);
    assert_int_equal(last->respawn_at, 6500);
    assert_int_equal(last->fail_streak, 0);
    pm_pool_free(p);
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
    child_died(p, &p->slots[0], W_EXITCODE(0, 0), 5020);
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

/* The slot of pid's worker, which must be running or stopping. */
static struct slot *
slot_of(struct pool *p, pid_t pid)
{
    struct slot *s = pool_find_pid(p, pid);

    assert_non_null(s);
    return s;
}

/* Old workers serve on, beside the new ones, until these have lived
 * min_uptime; then they are asked to stop. (Workers that stop themselves,
 * as cgi and module ones do, get stop_signal at once: the ask is seen.) */
static void
test_replace_keeps_old_workers_until_new_ones_are_up(void **state)
{
    struct pool *p = *state;

    fill(p, 5000);
    for (pid_t pid = 100; pid < 103; pid++)
        slot_of(p, pid)->stops_itself = true;
    for (pid_t pid = 200; pid < 203; pid++)
        will_return(sys_fork, pid);
    pool_replace(p, "/srv/app", 6000);
    assert_true(pool_is_replacing(p));
    for (pid_t pid = 100; pid < 103; pid++)
        assert_int_equal(slot_of(p, pid)->state, SLOT_RUNNING);
    pool_reconcile(p, 6001);    /* the old ones are not counted: no fork */
    assert_int_equal(pool_next_deadline(p), 7000);
    pool_run_due(p, 6999);
    for (pid_t pid = 100; pid < 103; pid++)
        assert_int_equal(slot_of(p, pid)->state, SLOT_RUNNING);
    for (pid_t pid = 100; pid < 103; pid++)
        expect_signal(pid, SIGUSR1);
    pool_run_due(p, 7000);
    assert_false(pool_is_replacing(p));
    for (pid_t pid = 100; pid < 103; pid++)
        assert_int_equal(slot_of(p, pid)->state, SLOT_STOPPING);
    for (pid_t pid = 200; pid < 203; pid++)
        assert_int_equal(slot_of(p, pid)->state, SLOT_RUNNING);
}

/* A new program that dies at once: after three quick deaths in a row the
 * new workers go and the old ones are the pool again, none stopped. */
static void
test_replace_that_crash_loops_keeps_the_old_workers(void **state)
{
    struct pool *p = *state;
    uint64_t now = 6000;
    pid_t pid = 300;

    fill(p, 5000);
    for (pid_t i = 200; i < 203; i++)
        will_return(sys_fork, i);
    pool_replace(p, "/srv/app", now);
    slot_of(p, 201)->stops_itself = true;
    slot_of(p, 202)->stops_itself = true;
    struct slot *s = slot_of(p, 200);
    s->exit_status = W_EXITCODE(1, 0);
    child_died(p, s, W_EXITCODE(1, 0), ++now);
    for (int i = 0; i < 2; i++) {
        now = s->respawn_at;
        will_return(sys_fork, pid);
        pool_run_due(p, now);
        assert_int_equal(slot_of(p, pid++), s);
        s->exit_status = W_EXITCODE(1, 0);
        child_died(p, s, W_EXITCODE(1, 0), ++now);
    }
    assert_int_equal(s->fail_streak, 3);
    expect_signal(201, SIGUSR1);
    expect_signal(202, SIGUSR1);
    pool_run_due(p, now);       /* the two other new ones: asked to stop */
    assert_false(pool_is_replacing(p));
    assert_int_equal(s->state, SLOT_EMPTY);
    for (pid_t i = 100; i < 103; i++) {
        assert_int_equal(slot_of(p, i)->state, SLOT_RUNNING);
        assert_false(slot_of(p, i)->outgoing);
    }
    assert_int_equal(slot_of(p, 201)->state, SLOT_STOPPING);
    pool_reconcile(p, now);     /* 3 live workers: nothing to start */
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plan),
        cmocka_unit_test_setup_teardown(test_reconcile_spawns_target, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_shrink_stops_newest, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_fork_failure_retries_later,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_spawn_rate_defers_growth,
                                        setup, teardown),
        cmocka_unit_test(test_signals_move_the_floor_of_a_dynamic_pool),
        cmocka_unit_test(
            test_reload_that_grows_keeps_every_worker_on_the_scoreboard),
        cmocka_unit_test(test_slots_never_outgrow_the_scoreboard),
        cmocka_unit_test(test_conf_caps_max_workers_within_the_slots),
        cmocka_unit_test_setup_teardown(
            test_replace_keeps_old_workers_until_new_ones_are_up, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            test_replace_that_crash_loops_keeps_the_old_workers, setup,
            teardown),
    };
    return cmocka_run_group_tests_name("pool", tests, NULL, NULL);
}
