/* Unit tests for manager/procfs.c: what the text of a worker's /proc
 * files says. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>

#include "procfs.h"

static void
test_accept_on_fd0(void **state)
{
    (void)state;
    assert_true(procfs_syscall_is_accept("43 0x0 0x7ffe 0x7ffd 0x1 0x0 0x0 "
                                         "0x7ffb 0x7f56\n"));
    assert_true(procfs_syscall_is_accept("288 0x0 0x0 0x0 0x80000 0x0 0x0 "
                                         "0x7ffb 0x7f56\n"));
}

static void
test_not_idle(void **state)
{
    (void)state;
    /* accept on another fd, other calls, running, truncated, garbage */
    assert_false(procfs_syscall_is_accept("43 0x3 0x7ffe 0x7ffd 0x1 0x0 0x0 "
                                          "0x7ffb 0x7f56\n"));
    assert_false(procfs_syscall_is_accept("0 0x3 0x7ffe 0x2000 0x0 0x0 0x0 "
                                          "0x7ffb 0x7f56\n"));
    assert_false(procfs_syscall_is_accept("23 0x1 0x7ffe 0x0 0x0 0x7ffc 0x0 "
                                          "0x7ffb 0x7f56\n"));
    assert_false(procfs_syscall_is_accept("running\n"));
    assert_false(procfs_syscall_is_accept("-1 0x7ffe 0x7f56\n"));
    assert_false(procfs_syscall_is_accept("43"));
    assert_false(procfs_syscall_is_accept(""));
}

static void
test_io_activity(void **state)
{
    uint64_t n = 0;

    (void)state;
    assert_int_equal(procfs_io_activity("rchar: 6976\nwchar: 0\nsyscr: 10\n"
                                        "syscw: 3\nread_bytes: 0\n", &n), 0);
    assert_int_equal(n, 13);
    assert_int_equal(procfs_io_activity("rchar: 1\nsyscr: 2\n", &n), -1);
    assert_int_equal(procfs_io_activity("", &n), -1);
}

static void
test_stat_before_exec(void **state)
{
    (void)state;
    /* fork sets PF_FORKNOEXEC (0x40); execve clears it. */
    assert_true(procfs_stat_before_exec("7 (fcgipm) R 1 7 7 0 -1 4194368 "
                                        "5 0"));
    assert_false(procfs_stat_before_exec("7 (hello) S 1 7 7 0 -1 4194560 "
                                         "5 0"));
    /* comm may hold spaces and parentheses. */
    assert_false(procfs_stat_before_exec("7 (a) b (c) S 1 7 7 0 -1 "
                                         "4194304 0"));
    assert_true(procfs_stat_before_exec("7 (a) b (c) S 1 7 7 0 -1 64 0"));
    assert_true(procfs_stat_before_exec("7 (hello) S 1 7"));
    assert_true(procfs_stat_before_exec(""));
}

static void
test_fdinfo_mnt_id(void **state)
{
    int id = -1;

    (void)state;
    assert_int_equal(procfs_fdinfo_mnt_id("pos:\t0\nflags:\t02\nmnt_id:\t8\n"
                                          "ino:\t40924407\nscm_fds: 0\n", &id),
                     0);
    assert_int_equal(id, 8);
    assert_int_equal(procfs_fdinfo_mnt_id("pos:\t0\nflags:\t02\n", &id), -1);
    assert_int_equal(procfs_fdinfo_mnt_id("mnt_id:\t\n", &id), -1);
}

static void
test_link_socket_inode(void **state)
{
    unsigned long ino = 0;

    (void)state;
    assert_int_equal(procfs_link_socket_inode("socket:[129537389]", &ino),
                     0);
    assert_int_equal(ino, 129537389);
    assert_int_equal(procfs_link_socket_inode("pipe:[129537393]", &ino), -1);
    assert_int_equal(procfs_link_socket_inode("anon_inode:[eventpoll]",
                                              &ino), -1);
    assert_int_equal(procfs_link_socket_inode("socket:[12", &ino), -1);
    assert_int_equal(procfs_link_socket_inode("socket:[]", &ino), -1);
    assert_int_equal(procfs_link_socket_inode("socket:[-1]", &ino), -1);
    assert_int_equal(procfs_link_socket_inode("socket:[12]x", &ino), -1);
    assert_int_equal(procfs_link_socket_inode("/tmp/socket:[12]", &ino), -1);
}

static void
test_status_term_at_once(void **state)
{
    (void)state;
    /* One thread: its TERM handler runs before it can take anything. */
    assert_true(procfs_status_term_at_once("Name:\truby\nThreads:\t1\n"
                                           "SigCgt:\t0000000042016e4f\n"));
    /* Several threads, TERM not caught: it dies as TERM is sent. */
    assert_true(procfs_status_term_at_once("Name:\tx\nThreads:\t4\n"
                                           "SigCgt:\t0000000000000200\n"));
    /* Go: several threads, everything caught. */
    assert_false(procfs_status_term_at_once("Name:\tapp\nThreads:\t5\n"
                                            "SigCgt:\tfffffffd7fc1feff\n"));
    assert_false(procfs_status_term_at_once("Name:\tx\nThreads:\t5\n"));
    assert_false(procfs_status_term_at_once("Name:\tx\nThreads:\t5\n"
                                            "SigCgt:\tzz\n"));
    assert_false(procfs_status_term_at_once(""));
}

static void
will_link(int fd, const char *target)
{
    static char names[8][16];

    snprintf(names[fd], sizeof(names[fd]), "fd/%d", fd);
    expect_value(sys_proc_readlink, pid, 100);
    expect_string(sys_proc_readlink, name, names[fd]);
    will_return(sys_proc_readlink, target);
}

/* Go's descriptors: the listener on 0 and its copy on 3, pipes, an
 * epoll; one fd number closed meanwhile (a gap). */
static void
test_socket_inodes(void **state)
{
    unsigned long inos[4];

    (void)state;
    will_link(0, "socket:[500]");
    will_link(1, "pipe:[7]");
    will_link(2, NULL);
    will_link(3, "socket:[500]");
    will_link(4, "anon_inode:[eventpoll]");
    will_link(5, "socket:[501]");
    assert_int_equal(procfs_socket_inodes(100, 5, inos, 4), 3);
    assert_int_equal(inos[0], 500);
    assert_int_equal(inos[1], 500);
    assert_int_equal(inos[2], 501);
    /* More sockets than room: cannot tell. */
    will_link(0, "socket:[500]");
    will_link(1, "socket:[501]");
    assert_int_equal(procfs_socket_inodes(100, 3, inos, 1), -1);
    assert_int_equal(procfs_socket_inodes(100, PROCFS_FDS_MAX + 1, inos, 4),
                     -1);
}

/* A connection moved above the descriptors looked at (fd 300): the
 * answer is "cannot tell", never "no socket", or a busy worker would be
 * taken for idle and its request cut. */
static void
test_socket_inodes_past_the_window(void **state)
{
    static char names[PROCFS_FDS_MAX][16];
    unsigned long inos[4];

    (void)state;
    for (int fd = 0; fd < PROCFS_FDS_MAX; fd++) {
        snprintf(names[fd], sizeof(names[fd]), "fd/%d", fd);
        expect_value(sys_proc_readlink, pid, 100);
        expect_string(sys_proc_readlink, name, names[fd]);
        will_return(sys_proc_readlink, fd == 0 ? "socket:[500]" : NULL);
    }
    assert_int_equal(procfs_socket_inodes(100, 2, inos, 4), -1);
}

static void
test_statm_rss(void **state)
{
    uint64_t pages = 0;

    (void)state;
    assert_int_equal(procfs_statm_rss("6142 301 245 1 0 157 0\n", &pages), 0);
    assert_int_equal(pages, 301);
    assert_int_equal(procfs_statm_rss("6142 301", &pages), 0);
    assert_int_equal(procfs_statm_rss("6142", &pages), -1);
    assert_int_equal(procfs_statm_rss("6142 x 1", &pages), -1);
    assert_int_equal(procfs_statm_rss("", &pages), -1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accept_on_fd0),
        cmocka_unit_test(test_not_idle),
        cmocka_unit_test(test_io_activity),
        cmocka_unit_test(test_stat_before_exec),
        cmocka_unit_test(test_fdinfo_mnt_id),
        cmocka_unit_test(test_link_socket_inode),
        cmocka_unit_test(test_status_term_at_once),
        cmocka_unit_test(test_socket_inodes),
        cmocka_unit_test(test_socket_inodes_past_the_window),
        cmocka_unit_test(test_statm_rss),
    };
    return cmocka_run_group_tests_name("procfs", tests, NULL, NULL);
}
