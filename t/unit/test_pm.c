/* Unit tests for manager/pm.c: the spawn-rate bucket and the process
 * managers' decisions, from sampled counts and time to sizes and ticks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "manager.h"
#include "pm.h"

static struct pool_conf dyn = {
    .name = "d", .mode = MODE_MODULE, .pm = PM_DYNAMIC,
    .workers = 2, .min_workers = 1, .max_workers = 6,
    .min_spare = 2, .max_spare = 3, .idle_timeout_ms = 1000,
    .max_spawn_rate = 32,
};

static struct pool_conf ond = {
    .name = "o", .mode = MODE_MODULE, .pm = PM_ONDEMAND,
    .workers = 0, .max_workers = 4, .idle_timeout_ms = 1000,
    .max_spawn_rate = 32,
};

static struct pool_conf ada = {
    .name = "a", .mode = MODE_EXEC, .pm = PM_ADAPTIVE,
    .workers = 1, .min_workers = 1, .max_workers = 8,
    .idle_timeout_ms = 1000, .max_spawn_rate = 32,
};

static struct pm_sample
seen(unsigned live, unsigned idle, unsigned starting, unsigned queued)
{
    struct pm_sample s = { .live = live, .idle = idle,
                           .starting = starting, .queued = queued,
                           .queue_read = queued > 0, .sees_idle = true,
                           .idle_sampled = true };
    return s;
}

static void
test_bucket_bounds_forks_per_second(void **state)
{
    struct pm_bucket b;

    (void)state;
    pm_bucket_init(&b, 2, 5);
    /* The first workers go at once, even more than a second's worth. */
    assert_int_equal(pm_bucket_take(&b, 2, 5, 1000), 5);
    assert_int_equal(pm_bucket_take(&b, 2, 1, 1000), 0);
    uint64_t at = pm_bucket_ready_at(&b, 2, 1000);
    assert_in_range(at, 1500, 1501);
    assert_int_equal(pm_bucket_take(&b, 2, 3, at - 2), 0);
    assert_int_equal(pm_bucket_take(&b, 2, 3, at), 1);
    /* A long pause fills it to one second's worth, no more. */
    assert_int_equal(pm_bucket_take(&b, 2, 9, 60000), 2);
    assert_int_equal(pm_bucket_ready_at(&b, 2, 60000) > 60000, 1);
}

static void
test_bucket_rate_zero_is_unbounded(void **state)
{
    struct pm_bucket b;

    (void)state;
    pm_bucket_init(&b, 0, 0);
    assert_int_equal(pm_bucket_take(&b, 0, 1000, 5), 1000);
    assert_int_equal(pm_bucket_ready_at(&b, 0, 5), 5);
}

static void
test_kinds_floors_and_start_sizes(void **state)
{
    struct pool_conf pc = dyn;

    (void)state;
    assert_int_equal(pm_kind_for(&dyn), PM_DYNAMIC);
    pc.mode = MODE_EXEC;
    assert_int_equal(pm_kind_for(&pc), PM_ADAPTIVE);
    assert_int_equal(pm_initial_target(&dyn), 2);
    pc = dyn;
    pc.workers = 0;
    assert_int_equal(pm_initial_target(&pc), 1);     /* min_workers */
    assert_int_equal(pm_default_floor(&ond), 0);
    assert_int_equal(pm_initial_target(&ond), 0);
    pc = ond;
    pc.workers = 9;
    assert_int_equal(pm_initial_target(&pc), 4);     /* max_workers */
    pc.pm = PM_STATIC;
    assert_int_equal(pm_initial_target(&pc), 9);
    assert_int_equal(pm_sample_ms(&ond), 125);
    pc.idle_timeout_ms = 10;
    assert_int_equal(pm_sample_ms(&pc), 20);
    pc.idle_timeout_ms = 3600000;
    assert_int_equal(pm_sample_ms(&pc), 1000);
}

static void
test_queue_want_counts_idle_and_starting(void **state)
{
    struct pm_sample s = seen(4, 1, 2, 5);

    (void)state;
    assert_int_equal(pm_queue_want(&s), 2);
    s.queued = 3;
    assert_int_equal(pm_queue_want(&s), 0);
}

/* A worker reading a request's head (a slow client holds it) is no
 * spare: like a busy one, it makes a dynamic pool grow. */
static void
test_reading_is_taken_not_idle(void **state)
{
    (void)state;
    assert_int_equal(pm_seen_state(SB_IDLE), PM_SEEN_IDLE);
    assert_int_equal(pm_seen_state(SB_STARTING), PM_SEEN_STARTING);
    assert_int_equal(pm_seen_state(SB_EMPTY), PM_SEEN_STARTING);
    assert_int_equal(pm_seen_state(SB_READING), PM_SEEN_TAKEN);
    assert_int_equal(pm_seen_state(SB_BUSY), PM_SEEN_TAKEN);
    assert_int_equal(pm_seen_state(SB_STOPPING), PM_SEEN_TAKEN);
    assert_int_equal(pm_seen_state(SB_RECYCLING), PM_SEEN_TAKEN);
    assert_int_equal(pm_seen_state((enum sb_state)0xdeadbeefu),
                     PM_SEEN_TAKEN);
}

static void
test_dynamic_keeps_min_spare(void **state)
{
    struct pm_state st;
    struct pm_decision d;
    struct pm_sample s = seen(3, 0, 0, 0);

    (void)state;
    pm_init(&st, &dyn, 2);
    pm_decide(&dyn, &st, &s, 1000, &d);
    assert_int_equal(d.grow, 2);
    s = seen(3, 1, 1, 0);       /* one on its way already */
    pm_decide(&dyn, &st, &s, 1100, &d);
    assert_int_equal(d.grow, 0);
    s = seen(5, 0, 0, 0);       /* only one more fits */
    pm_decide(&dyn, &st, &s, 1200, &d);
    assert_int_equal(d.grow, 1);
}

static void
test_dynamic_grows_for_waiting_connections(void **state)
{
    struct pm_state st;
    struct pm_decision d;
    struct pm_sample s = seen(2, 0, 0, 3);

    (void)state;
    pm_init(&st, &dyn, 2);
    pm_decide(&dyn, &st, &s, 1000, &d);
    assert_int_equal(d.grow, 3);    /* more than min_spare asks */
    assert_true(d.surge);
    assert_int_equal(d.tick_at, 1000 + PM_SURGE_TICK_MS);
}

static void
test_dynamic_sleeps_when_all_idle_within_spares(void **state)
{
    struct pm_state st;
    struct pm_decision d;
    struct pm_sample s = seen(3, 3, 0, 0);

    (void)state;
    pm_init(&st, &dyn, 3);
    pm_decide(&dyn, &st, &s, 1000, &d);
    assert_int_equal(d.grow, 0);
    assert_int_equal(d.shrink, 0);
    assert_false(d.surge);
    assert_int_equal(d.tick_at, NEVER);
    s = seen(3, 2, 0, 0);       /* one busy: it may free or need a spare */
    pm_decide(&dyn, &st, &s, 1000, &d);
    assert_int_equal(d.tick_at, 1000 + PM_DYNAMIC_TICK_MS);
}

static void
test_dynamic_stops_surplus_after_window(void **state)
{
    struct pm_state st;
    struct pm_decision d;
    struct pm_sample s = seen(6, 6, 0, 0);

    (void)state;
    pm_init(&st, &dyn, 6);
    pm_decide(&dyn, &st, &s, 1000, &d);
    assert_int_equal(d.shrink, 0);
    assert_int_equal(d.tick_at, 1000 + PM_DYNAMIC_TICK_MS);
    s = seen(6, 5, 0, 0);
    pm_decide(&dyn, &st, &s, 1500, &d);
    assert_int_equal(d.shrink, 0);
    s = seen(6, 6, 0, 0);
    pm_decide(&dyn, &st, &s, 1000 + PM_DYNAMIC_WINDOW_MS, &d);
    /* The fewest idle in the window was 5: two above max_spare. */
    assert_int_equal(d.shrink, 2);
    /* The one more left above max_spare gets its own window. */
    assert_int_equal(d.tick_at, 2000 + PM_DYNAMIC_TICK_MS);
    s = seen(4, 4, 0, 0);
    pm_decide(&dyn, &st, &s, 2999, &d);
    assert_int_equal(d.shrink, 0);
    pm_decide(&dyn, &st, &s, 3000, &d);
    assert_int_equal(d.shrink, 1);
    assert_int_equal(st.window_at, NEVER);
}

static void
test_dynamic_surplus_window_restarts_on_a_dip(void **state)
{
    struct pm_state st;
    struct pm_decision d;
    struct pm_sample s = seen(6, 6, 0, 0);

    (void)state;
    pm_init(&st, &dyn, 6);
    pm_decide(&dyn, &st, &s, 1000, &d);
    s = seen(6, 3, 0, 0);       /* back within max_spare */
    pm_decide(&dyn, &st, &s, 1500, &d);
    s = seen(6, 6, 0, 0);
    pm_decide(&dyn, &st, &s, 2000, &d);
    assert_int_equal(d.shrink, 0);
    pm_decide(&dyn, &st, &s, 2000 + PM_DYNAMIC_WINDOW_MS, &d);
    assert_int_equal(d.shrink, 3);
}

static void
test_dynamic_surplus_respects_floor(void **state)
{
    struct pm_state st;
    struct pm_decision d;
    struct pm_sample s = seen(6, 6, 0, 0);

    (void)state;
    pm_init(&st, &dyn, 6);
    st.floor = 5;               /* raised by TTIN */
    pm_decide(&dyn, &st, &s, 1000, &d);
    pm_decide(&dyn, &st, &s, 1000 + PM_DYNAMIC_WINDOW_MS, &d);
    assert_int_equal(d.shrink, 1);
}

static void
test_ondemand_from_zero_grows_at_once(void **state)
{
    struct pm_state st;
    struct pm_decision d;
    struct pm_sample s = seen(0, 0, 0, 3);

    (void)state;
    pm_init(&st, &ond, 0);
    s.sees_idle = false;        /* even for exec: nobody else takes them */
    pm_decide(&ond, &st, &s, 1000, &d);
    assert_int_equal(d.grow, 3);
    assert_true(d.surge);
}

static void
test_ondemand_counts_workers_starting(void **state)
{
    struct pm_state st;
    struct pm_decision d;
    struct pm_sample s = seen(3, 0, 3, 4);

    (void)state;
    pm_init(&st, &ond, 0);
    pm_decide(&ond, &st, &s, 1000, &d);
    assert_int_equal(d.grow, 1);        /* not 4: three are starting */
    s = seen(4, 0, 4, 4);
    pm_decide(&ond, &st, &s, 1020, &d);
    assert_int_equal(d.grow, 0);
    assert_true(d.surge);               /* watch them come up */
}

static void
test_ondemand_exec_confirms_a_queue(void **state)
{
    struct pm_state st;
    struct pm_decision d;
    struct pm_sample s = seen(1, 0, 0, 1);

    (void)state;
    pm_init(&st, &ond, 0);
    s.sees_idle = false;
    pm_decide(&ond, &st, &s, 1000, &d);
    assert_int_equal(d.grow, 0);
    assert_true(d.surge);
    pm_decide(&ond, &st, &s, 1020, &d);
    assert_int_equal(d.grow, 1);
}

/* Six connections wait and two workers live: whatever the two are doing,
 * each takes at most one of them next, so four more start at the first
 * sight of the queue, and the rest once it is confirmed. */
static void
test_ondemand_exec_grows_beyond_live_workers_at_once(void **state)
{
    struct pool_conf pc = ond;
    struct pm_state st;
    struct pm_decision d;
    struct pm_sample s = seen(2, 0, 0, 6);

    (void)state;
    pc.max_workers = 8;
    pm_init(&st, &pc, 0);
    s.sees_idle = false;
    pm_decide(&pc, &st, &s, 1000, &d);
    assert_int_equal(d.grow, 4);
    assert_true(d.surge);
    /* Confirmed: the two are busy, the four starting. */
    s = seen(6, 0, 4, 6);
    s.sees_idle = false;
    pm_decide(&pc, &st, &s, 1020, &d);
    assert_int_equal(d.grow, 2);
    /* One waiting per worker at most, never more than max_workers. */
    s = seen(8, 0, 2, 2);
    s.sees_idle = false;
    pm_decide(&pc, &st, &s, 1040, &d);
    assert_int_equal(d.grow, 0);
    pm_init(&st, &pc, 0);
    s = seen(2, 0, 0, 20);
    s.sees_idle = false;
    pm_decide(&pc, &st, &s, 2000, &d);
    assert_int_equal(d.grow, 6);
    assert_int_equal(st.max_reached, 1);
}

/* No more connections than live workers: each may be about to take one
 * (finishing its request as its client connects again), so until the
 * queue is confirmed none starts; adaptive does not chase a burst at
 * once either. */
static void
test_exec_blip_within_live_workers_waits_for_confirmation(void **state)
{
    struct pm_state st;
    struct pm_decision d;
    struct pm_sample s = seen(3, 0, 0, 3);

    (void)state;
    s.sees_idle = false;
    pm_init(&st, &ond, 0);
    pm_decide(&ond, &st, &s, 1000, &d);
    assert_int_equal(d.grow, 0);
    s = seen(1, 0, 0, 5);
    s.sees_idle = false;
    pm_init(&st, &ada, 1);
    pm_decide(&ada, &st, &s, 1000, &d);
    assert_int_equal(d.grow, 0);
}

static void
test_ondemand_ticks_only_with_workers(void **state)
{
    struct pm_state st;
    struct pm_decision d;
    struct pm_sample s = seen(2, 2, 0, 0);

    (void)state;
    pm_init(&st, &ond, 0);
    pm_decide(&ond, &st, &s, 1000, &d);
    assert_int_equal(d.tick_at, 1000 + pm_sample_ms(&ond));
    s = seen(0, 0, 0, 0);
    pm_decide(&ond, &st, &s, 2000, &d);
    assert_int_equal(d.tick_at, NEVER);
    assert_false(d.surge);
}

static void
test_ondemand_blind_to_idle_shrinks_on_a_quiet_queue(void **state)
{
    struct pm_state st;
    struct pm_decision d;
    struct pm_sample s = seen(2, 0, 0, 0);
    unsigned shrunk = 0;

    (void)state;
    s.sees_idle = s.idle_sampled = false;
    s.idle_blind = true;
    pm_init(&st, &ond, 0);
    for (uint64_t now = 1000; now <= 2000; now += 100) {
        pm_decide(&ond, &st, &s, now, &d);
        shrunk += d.shrink;
    }
    assert_int_equal(shrunk, 1);
    /* Seeing idle workers, ondemand stops them by slot instead. */
    s.idle_blind = false;
    s.idle_sampled = true;
    s.idle = 2;
    pm_decide(&ond, &st, &s, 9000, &d);
    assert_int_equal(d.shrink, 0);
}

static void
test_at_max_workers_nothing_to_chase(void **state)
{
    struct pm_state st;
    struct pm_decision d;
    struct pm_sample s = seen(4, 0, 0, 9);

    (void)state;
    pm_init(&st, &ond, 0);
    pm_decide(&ond, &st, &s, 1000, &d);
    assert_int_equal(d.grow, 0);
    assert_false(d.surge);
    /* Counted once per time the pool runs into max_workers. */
    pm_decide(&ond, &st, &s, 1100, &d);
    assert_int_equal(st.max_reached, 1);
    s.queued = 0;
    pm_decide(&ond, &st, &s, 1200, &d);
    s.queued = 2;
    pm_decide(&ond, &st, &s, 1300, &d);
    assert_int_equal(st.max_reached, 2);
}

static void
test_adaptive_grows_on_a_lasting_queue_only(void **state)
{
    struct pm_state st;
    struct pm_decision d;
    struct pm_sample s = seen(1, 0, 0, 4);
    struct pm_sample empty = seen(1, 0, 0, 0);

    (void)state;
    s.sees_idle = empty.sees_idle = false;
    pm_init(&st, &ada, 1);
    pm_decide(&ada, &st, &s, 1000, &d);
    pm_decide(&ada, &st, &s, 1020, &d);
    pm_decide(&ada, &st, &empty, 1040, &d);     /* a blip */
    pm_decide(&ada, &st, &s, 1060, &d);
    pm_decide(&ada, &st, &s, 1080, &d);
    assert_int_equal(d.grow, 0);
    pm_decide(&ada, &st, &s, 1100, &d);
    assert_int_equal(d.grow, 4);
}

/* A pool of live workers, one idle at every sample, sampled every 100ms
 * from *now until until; returns the shrinks decided. */
static unsigned
quiet(struct pm_state *st, unsigned live, uint64_t *now, uint64_t until)
{
    struct pm_sample s = seen(live, 1, 0, 0);
    struct pm_decision d;
    unsigned shrunk = 0;

    s.sees_idle = false;
    for (; *now < until; *now += 100) {
        pm_decide(&ada, st, &s, *now, &d);
        shrunk += d.shrink;
        s.live -= d.shrink;
    }
    return shrunk;
}

static void
test_adaptive_shrinks_one_per_quiet_timeout(void **state)
{
    struct pm_state st;
    struct pm_decision d;
    uint64_t now = 1000;

    (void)state;
    pm_init(&st, &ada, 3);
    assert_int_equal(quiet(&st, 3, &now, 1000 + 950), 0);
    assert_int_equal(quiet(&st, 3, &now, 2100), 1);
    /* A sample with every worker busy starts the wait over. */
    struct pm_sample busy = seen(2, 0, 0, 0);
    busy.sees_idle = false;
    pm_decide(&ada, &st, &busy, now, &d);
    assert_int_equal(d.tick_at, now + pm_sample_ms(&ada));
    uint64_t from = now;
    assert_int_equal(quiet(&st, 2, &now, from + 950), 0);
    assert_int_equal(quiet(&st, 2, &now, from + 1100), 1);
    /* At min_workers: no more, and no more ticks. */
    assert_int_equal(quiet(&st, 1, &now, now + 5000), 0);
    struct pm_sample one = seen(1, 1, 0, 0);
    pm_decide(&ada, &st, &one, now, &d);
    assert_int_equal(d.tick_at, NEVER);
}

static void
test_adaptive_flapping_doubles_the_wait(void **state)
{
    struct pm_state st;
    struct pm_decision d;
    struct pm_sample q = seen(1, 0, 0, 1);
    uint64_t now = 1000;

    (void)state;
    q.sees_idle = false;
    pm_init(&st, &ada, 2);
    assert_int_equal(quiet(&st, 2, &now, 2100), 1);
    /* The load needs two after all: it grows back soon after. */
    for (int i = 0; i < 3; i++, now += 20)
        pm_decide(&ada, &st, &q, now, &d);
    assert_int_equal(d.grow, 1);
    assert_int_equal(st.hold, 2);
    uint64_t from = now;
    assert_int_equal(quiet(&st, 2, &now, from + 1900), 0);
    assert_int_equal(quiet(&st, 2, &now, from + 2100), 1);
    /* That shrink held: the wait is halved after the next one. */
    assert_int_equal(quiet(&st, 2, &now, now + 2100), 1);
    assert_int_equal(st.hold, 1);
}

static void
test_idle_since(void **state)
{
    (void)state;
    assert_int_equal(pm_idle_since(NEVER, true, false, 500), 500);
    assert_int_equal(pm_idle_since(500, true, false, 900), 500);
    assert_int_equal(pm_idle_since(500, true, true, 900), 900);
    assert_int_equal(pm_idle_since(500, false, false, 900), NEVER);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bucket_bounds_forks_per_second),
        cmocka_unit_test(test_bucket_rate_zero_is_unbounded),
        cmocka_unit_test(test_kinds_floors_and_start_sizes),
        cmocka_unit_test(test_queue_want_counts_idle_and_starting),
        cmocka_unit_test(test_dynamic_keeps_min_spare),
        cmocka_unit_test(test_dynamic_grows_for_waiting_connections),
        cmocka_unit_test(test_dynamic_sleeps_when_all_idle_within_spares),
        cmocka_unit_test(test_dynamic_stops_surplus_after_window),
        cmocka_unit_test(test_dynamic_surplus_window_restarts_on_a_dip),
        cmocka_unit_test(test_dynamic_surplus_respects_floor),
        cmocka_unit_test(test_ondemand_from_zero_grows_at_once),
        cmocka_unit_test(test_ondemand_counts_workers_starting),
        cmocka_unit_test(test_ondemand_exec_confirms_a_queue),
        cmocka_unit_test(test_ondemand_exec_grows_beyond_live_workers_at_once),
        cmocka_unit_test(
            test_exec_blip_within_live_workers_waits_for_confirmation),
        cmocka_unit_test(test_ondemand_ticks_only_with_workers),
        cmocka_unit_test(
            test_ondemand_blind_to_idle_shrinks_on_a_quiet_queue),
        cmocka_unit_test(test_at_max_workers_nothing_to_chase),
        cmocka_unit_test(test_adaptive_grows_on_a_lasting_queue_only),
        cmocka_unit_test(test_adaptive_shrinks_one_per_quiet_timeout),
        cmocka_unit_test(test_adaptive_flapping_doubles_the_wait),
        cmocka_unit_test(test_idle_since),
        cmocka_unit_test(test_reading_is_taken_not_idle),
    };
    return cmocka_run_group_tests_name("pm", tests, NULL, NULL);
}
