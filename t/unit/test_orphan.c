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
    pid_t ppid = 0, pgid = 0, sid = 0;

    (void)state;
    assert_int_equal(orphan_parse_stat("555 (sh) S 9 555 556 0 -1 4194560 "
                                       "90 0 0 0", &ppid, &pgid, &sid), 0);
    assert_int_equal(ppid, 9);
    assert_int_equal(pgid, 555);
    assert_int_equal(sid, 556);
    /* The name is the worker's to choose: spaces, ') 1 1 ', anything. */
    assert_int_equal(orphan_parse_stat("777 (a) S 1 1 b) R 7 42 43 0",
                                       &ppid, &pgid, &sid), 0);
    assert_int_equal(ppid, 7);
    assert_int_equal(pgid, 42);
    assert_int_equal(sid, 43);
    assert_int_equal(orphan_parse_stat("777 (x", &ppid, &pgid, &sid), -1);
    assert_int_equal(orphan_parse_stat("777 (x) S 1 2", &ppid, &pgid, &sid),
                     -1);
    assert_int_equal(orphan_parse_stat("", &ppid, &pgid, &sid), -1);
}

static void
test_parse_uid(void **state)
{
    uid_t uid = 0;

    (void)state;
    assert_int_equal(orphan_parse_uid("Name:\tsleep\nUmask:\t0022\n"
                                      "Uid:\t1000\t0\t0\t0\nGid:\t5\n",
                                      &uid), 0);
    assert_int_equal(uid, 1000);    /* the real one, the first */
    assert_int_equal(orphan_parse_uid("Uid:\t33\t33\t33\t33\n", &uid), 0);
    assert_int_equal(uid, 33);
    /* The name is the process's: a "Uid:" in it is not the line. */
    assert_int_equal(orphan_parse_uid("Name:\tUid:\t0\nGid:\t0\n", &uid),
                     -1);
    assert_int_equal(orphan_parse_uid("Name:\tx\nUid:\t0\nGid:\t0\n", &uid),
                     0);
    assert_int_equal(uid, 0);
    assert_int_equal(orphan_parse_uid("Name:\tx\nUid:\t-1\t0\n", &uid), -1);
    assert_int_equal(orphan_parse_uid("Uid:\t12x\t0\n", &uid), -1);
    assert_int_equal(orphan_parse_uid("Uid:\t4294967295\t0\n", &uid), -1);
    assert_int_equal(orphan_parse_uid("Uid:\t99999999999\t0\n", &uid), -1);
    assert_int_equal(orphan_parse_uid("Uid:", &uid), -1);
    assert_int_equal(orphan_parse_uid("", &uid), -1);
}

/* Only a pool user of its own: not unset, root, nor the master's. */
static void
test_uid_rule(void **state)
{
    (void)state;
    assert_true(orphan_uid_rule(1000, 0));
    assert_true(orphan_uid_rule(1000, 500));
    assert_false(orphan_uid_rule((uid_t)-1, 0));
    assert_false(orphan_uid_rule(0, 0));
    assert_false(orphan_uid_rule(0, 1000));
    assert_false(orphan_uid_rule(1000, 1000));
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
status_is(pid_t pid, const char *text)
{
    expect_value(sys_proc_read, pid, pid);
    expect_string(sys_proc_read, name, "status");
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

    snprintf(t, sizeof(text[0]), "%d (x) S %d %d %d 0 -1", (int)pid,
             (int)getpid(), (int)pgid, (int)sid);
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
    char odd[64];
    snprintf(odd, sizeof(odd), "777 (x) S 1 777 y) S %d 102 1 0",
             (int)getpid());
    stat_is(777, odd);
    expect_kill(777);
    stat_is(888, stat_of(888, 888, 888));
    stat_is(999, stat_of(999, 100, sid));
    orphan_sweep(&f->m, "www", 102, (uid_t)-1);
    assert_int_equal(f->m.norphans, 2);
    assert_true(orphan_pending(&f->m));
    assert_string_equal(f->m.orphans[1].pool, "www");
    assert_int_equal(f->m.orphans[1].from, 102);

    orphan_reaped(&f->m, 555, W_EXITCODE(0, SIGKILL));
    orphan_reaped(&f->m, 888, W_EXITCODE(0, 0));
    assert_int_equal(f->m.norphans, 1);
    orphan_reaped(&f->m, 777, W_EXITCODE(0, SIGKILL));
    assert_false(orphan_pending(&f->m));
    orphan_sweep_owed(&f->m);       /* no uid: nothing owed */
}

/* What cannot be read or parsed kills nothing. */
static void
test_sweep_without_a_list_kills_nothing(void **state)
{
    struct fixture *f = fixture();

    (void)state;
    children_are(NULL);
    orphan_sweep(&f->m, "www", 100, 1000);
    assert_true(f->m.orphans_unlisted);
    children_are("100 555 oops ");
    orphan_sweep(&f->m, "www", 100, 1000);
    assert_false(f->m.orphans_unlisted);
    children_are("100 556 ");
    stat_is(556, NULL);
    orphan_sweep(&f->m, NULL, 4000, (uid_t)-1);
    /* A stat that does not name us as the parent, a status without a
     * uid: not killed. */
    children_are("557 558 ");
    stat_is(557, "557 (x) S 1 557 557 0");
    stat_is(558, stat_of(558, 558, 558));
    status_is(558, "Name:\tx\nUid:\tnone\n");
    orphan_sweep(&f->m, "www", 100, 1000);
    assert_int_equal(f->m.norphans, 0);
}

/* Dead cgi worker 102 of pool www, uid 1000 (not ours: the test runs as
 * anything but 1000): its setsid escapee 555 (a session of its own, uid
 * 1000) is killed with its group; 888 (an exec job of uid 33, also in a
 * session of its own) is spared. When 555 is reaped, what it left (666,
 * uid 1000, setsid again) is swept once at the end of the batch, not at
 * the reap; reaping 888, killed by no one, owes nothing. */
static void
test_sweep_kills_the_pool_users_escapees(void **state)
{
    struct fixture *f = fixture();

    (void)state;
    if (getuid() == 1000)
        skip();
    children_are("100 555 888 ");
    stat_is(555, stat_of(555, 555, 555));
    status_is(555, "Name:\tsleep\nUid:\t1000\t1000\t1000\t1000\n");
    expect_kill(555);
    expect_kill(-555);
    stat_is(888, stat_of(888, 888, 888));
    status_is(888, "Name:\tjob\nUid:\t33\t33\t33\t33\n");
    orphan_sweep(&f->m, "www", 102, 1000);
    assert_int_equal(f->m.norphans, 1);
    assert_int_equal(f->m.orphans[0].uid, 1000);

    orphan_reaped(&f->m, 555, W_EXITCODE(0, SIGKILL));
    orphan_reaped(&f->m, 888, W_EXITCODE(0, 0));
    children_are("100 666 889 ");
    stat_is(666, stat_of(666, 666, 666));
    status_is(666, "Name:\tsleep\nUid:\t1000\t1000\t1000\t1000\n");
    expect_kill(666);
    expect_kill(-666);
    stat_is(889, stat_of(889, 889, 889));
    status_is(889, "Name:\tjob\nUid:\t33\t33\t33\t33\n");
    orphan_sweep_owed(&f->m);
    orphan_sweep_owed(&f->m);       /* owed once */
    assert_int_equal(f->m.norphans, 1);
    assert_int_equal(f->m.orphans[0].from, 0);
    orphan_reaped(&f->m, 666, W_EXITCODE(0, SIGKILL));
    children_are("100 889 ");
    stat_is(889, stat_of(889, 889, 889));
    status_is(889, "Name:\tjob\nUid:\t33\t33\t33\t33\n");
    orphan_sweep_owed(&f->m);
    assert_false(orphan_pending(&f->m));
}

/* Root, unset, or the master's own uid: no rule, the setsid escapee of
 * a root pool stays (its script is root: it could escape any rule). */
static void
test_sweep_without_a_pool_user(void **state)
{
    struct fixture *f = fixture();

    (void)state;
    children_are("555 ");
    stat_is(555, stat_of(555, 555, 555));
    orphan_sweep(&f->m, "www", 102, 0);
    children_are("555 ");
    stat_is(555, stat_of(555, 555, 555));
    orphan_sweep(&f->m, "www", 102, getuid());
    assert_int_equal(f->m.norphans, 0);
}

/* Beyond ORPHANS_MAX, a killed orphan is not kept: any unknown orphan
 * reaped then owes its uid a sweep, until one finds nothing. */
static void
test_sweep_beyond_orphans_max(void **state)
{
    struct fixture *f = fixture();

    (void)state;
    if (getuid() == 1000)
        skip();
    f->m.norphans = ORPHANS_MAX;
    for (size_t i = 0; i < ORPHANS_MAX; i++)
        f->m.orphans[i] = (struct orphan){ .pid = (pid_t)(1000 + i),
                                           .uid = (uid_t)-1 };
    children_are("555 ");
    stat_is(555, stat_of(555, 555, 555));
    status_is(555, "Uid:\t1000\t1000\t1000\t1000\n");
    expect_kill(555);
    expect_kill(-555);
    orphan_sweep(&f->m, "www", 102, 1000);
    assert_int_equal(f->m.orphans_lost.n, 1);
    orphan_reaped(&f->m, 555, W_EXITCODE(0, SIGKILL));
    children_are("");
    orphan_sweep_owed(&f->m);
    assert_int_equal(f->m.orphans_lost.n, 0);
    orphan_reaped(&f->m, 556, W_EXITCODE(0, 0));
    orphan_sweep_owed(&f->m);       /* nothing owed: no /proc read */
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_children),
        cmocka_unit_test(test_parse_stat),
        cmocka_unit_test(test_parse_uid),
        cmocka_unit_test(test_uid_rule),
        cmocka_unit_test(test_left_by),
        cmocka_unit_test(test_pick),
        cmocka_unit_test(test_group_killable),
        cmocka_unit_test(test_sweep_kills_what_the_worker_left),
        cmocka_unit_test(test_sweep_without_a_list_kills_nothing),
        cmocka_unit_test(test_sweep_kills_the_pool_users_escapees),
        cmocka_unit_test(test_sweep_without_a_pool_user),
        cmocka_unit_test(test_sweep_beyond_orphans_max),
    };
    return cmocka_run_group_tests_name("orphan", tests, NULL, NULL);
}
