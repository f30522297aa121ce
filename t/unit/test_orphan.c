/* Unit tests for manager/orphan.c: parsing /proc, which children to
 * kill, and the sweep and reaping with /proc and kill replaced by
 * t/unit/fake_sys.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "orphan.h"

static void
test_parse_children(void **state)
{
    pid_t out[4];

    (void)state;
    assert_int_equal(orphan_parse_children("", out, 4), 0);
    assert_int_equal(orphan_parse_children("12 345 6789 ", out, 4), 3);
    assert_int_equal(out[0], 12);
    assert_int_equal(out[1], 345);
    assert_int_equal(out[2], 6789);
    assert_int_equal(orphan_parse_children("7\n", out, 4), 1);
    assert_int_equal(out[0], 7);
    /* Anything else: nothing to act on. */
    assert_int_equal(orphan_parse_children("1 2 3 4 5 ", out, 4), -1);
    assert_int_equal(orphan_parse_children("12 -1 ", out, 4), -1);
    assert_int_equal(orphan_parse_children("12 x ", out, 4), -1);
    assert_int_equal(orphan_parse_children("12 3x ", out, 4), -1);
    assert_int_equal(orphan_parse_children("12 99999999999 ", out, 4), -1);
    /* A pid cut short (no space after it) is not taken for another. */
    assert_int_equal(orphan_parse_children("12 34", out, 4), -1);
}

static void
test_parse_stat(void **state)
{
    pid_t pgid = 0, sid = 0;

    (void)state;
    assert_int_equal(orphan_parse_stat("555 (sh) S 1 555 556 0 -1 4194560 "
                                       "90 0 0 0", &pgid, &sid), 0);
    assert_int_equal(pgid, 555);
    assert_int_equal(sid, 556);
    /* The name is the worker's to choose: spaces, ') 1 1 ', anything. */
    assert_int_equal(orphan_parse_stat("777 (a) S 1 1 b) R 1 42 43 0",
                                       &pgid, &sid), 0);
    assert_int_equal(pgid, 42);
    assert_int_equal(sid, 43);
    assert_int_equal(orphan_parse_stat("777 (x", &pgid, &sid), -1);
    assert_int_equal(orphan_parse_stat("777 (x) S 1 2", &pgid, &sid), -1);
    assert_int_equal(orphan_parse_stat("", &pgid, &sid), -1);
}

/* Dead worker 100, the master's session 10. */
static void
test_left_by(void **state)
{
    (void)state;
    assert_true(orphan_left_by(555, 100, 10, 100, 10));  /* its group */
    assert_true(orphan_left_by(555, 555, 10, 100, 10));  /* a CGI script */
    assert_false(orphan_left_by(555, 555, 555, 100, 10)); /* setsid */
    assert_false(orphan_left_by(555, 200, 10, 100, 10)); /* worker 200's */
}

static void
test_pick(void **state)
{
    pid_t known[] = { 100, 101, 300 };
    pid_t kids[] = { 555, 100, 1, 0, -1, 300, 4242, 777, 101 };

    (void)state;
    size_t n = orphan_pick(kids, 9, known, 3, 4242);
    assert_int_equal(n, 2);
    assert_int_equal(kids[0], 555);
    assert_int_equal(kids[1], 777);
    pid_t lone[] = { 5, 6 };
    assert_int_equal(orphan_pick(lone, 2, NULL, 0, 1), 2);
}

static void
test_group_killable(void **state)
{
    (void)state;
    assert_true(orphan_group_killable(555, 555, 10));
    assert_false(orphan_group_killable(555, 42, 10));   /* not its own */
    assert_false(orphan_group_killable(1, 1, 10));      /* kill(-1) */
    assert_false(orphan_group_killable(0, 0, 10));      /* our group */
    assert_false(orphan_group_killable(-3, -3, 10));
    assert_false(orphan_group_killable(10, 10, 10));    /* ours */
}

/* A master with one pool of two workers (100, 101) and an upgrade's new
 * master (300). */
struct fixture {
    struct manager m;
    struct pool pool;
    struct pool *pools[1];
    struct slot slots[2];
    struct pool_conf pc;
};

static struct fixture *
fixture(void)
{
    static struct fixture f;

    memset(&f, 0, sizeof(f));
    log_set_level(LOG_LEVEL_ERROR);
    f.pc.name = "www";
    f.slots[0] = (struct slot){ .index = 0, .state = SLOT_RUNNING,
                                .pid = 100 };
    f.slots[1] = (struct slot){ .index = 1, .state = SLOT_STOPPING,
                                .pid = 101 };
    f.pool = (struct pool){ .m = &f.m, .conf = &f.pc, .slots = f.slots,
                            .nslots = 2 };
    f.pools[0] = &f.pool;
    f.m.pools = f.pools;
    f.m.npools = 1;
    f.m.upgrade.pid = 300;
    return &f;
}

static void
children_are(const char *text)
{
    expect_value(sys_proc_read_all, pid, 0);
    expect_string(sys_proc_read_all, name, "children");
    will_return(sys_proc_read_all, text);
}

static void
stat_is(pid_t pid, const char *text)
{
    expect_value(sys_proc_read, pid, pid);
    expect_string(sys_proc_read, name, "stat");
    will_return(sys_proc_read, text);
}

static void
expect_kill(pid_t pid)
{
    expect_value(sys_kill, pid, pid);
    expect_value(sys_kill, sig, SIGKILL);
    will_return(sys_kill, 0);
}

/* stat_of PID PGID SID: a /proc/PID/stat text. */
static const char *
stat_of(pid_t pid, pid_t pgid, pid_t sid)
{
    static char text[4][128];
    static int next;
    char *t = text[next++ % 4];

    snprintf(t, sizeof(text[0]), "%d (x) S 1 %d %d 0 -1", (int)pid,
             (int)pgid, (int)sid);
    return t;
}

/* Dead worker 102 of pool www: workers, the new master, pid 1 and
 * ourselves are never killed; what 102 left is: in its group (alone),
 * leading a group in our session (with its group). A process in a
 * session of its own, or in live worker 100's group, is not. Each killed
 * one is kept until reaped; reaping an orphan sweeps nothing. */
static void
test_sweep_kills_what_the_worker_left(void **state)
{
    struct fixture *f = fixture();
    pid_t sid = getsid(0);
    char text[128];

    (void)state;
    snprintf(text, sizeof(text), "100 101 300 555 1 %d 777 888 999 ",
             (int)getpid());
    children_are(text);
    stat_is(555, stat_of(555, 555, sid));
    expect_kill(555);
    expect_kill(-555);
    stat_is(777, "777 (x) S 1 777 y) S 1 102 1 0");
    expect_kill(777);
    stat_is(888, stat_of(888, 888, 888));
    stat_is(999, stat_of(999, 100, sid));
    orphan_sweep(&f->m, "www", 102);
    assert_int_equal(f->m.norphans, 2);
    assert_true(orphan_pending(&f->m));
    assert_string_equal(f->m.orphans[1].pool, "www");
    assert_int_equal(f->m.orphans[1].from, 102);

    orphan_reaped(&f->m, 555, W_EXITCODE(0, SIGKILL));
    orphan_reaped(&f->m, 888, W_EXITCODE(0, 0));
    assert_int_equal(f->m.norphans, 1);
    orphan_reaped(&f->m, 777, W_EXITCODE(0, SIGKILL));
    assert_false(orphan_pending(&f->m));
}

/* What cannot be read or parsed kills nothing. */
static void
test_sweep_without_a_list_kills_nothing(void **state)
{
    struct fixture *f = fixture();

    (void)state;
    children_are(NULL);
    orphan_sweep(&f->m, "www", 100);
    assert_true(f->m.orphans_unlisted);
    children_are("100 555 oops ");
    orphan_sweep(&f->m, "www", 100);
    assert_false(f->m.orphans_unlisted);
    children_are("100 556 ");
    stat_is(556, NULL);
    orphan_sweep(&f->m, NULL, 4000);
    assert_int_equal(f->m.norphans, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_children),
        cmocka_unit_test(test_parse_stat),
        cmocka_unit_test(test_left_by),
        cmocka_unit_test(test_pick),
        cmocka_unit_test(test_group_killable),
        cmocka_unit_test(test_sweep_kills_what_the_worker_left),
        cmocka_unit_test(test_sweep_without_a_list_kills_nothing),
    };
    return cmocka_run_group_tests_name("orphan", tests, NULL, NULL);
}
