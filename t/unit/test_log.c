/* Unit tests for common/log.c's files: a log is opened relative to its
 * directory, reached through no symlink another user could have made,
 * never through a symlink, a hard link or a file another user owns; a
 * refused reopen keeps the open file. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "log.h"

/* A tree: D/real (a directory), D/link -> real. */
static char dir[64];

static int
setup(void **state)
{
    char p[128];

    (void)state;
    umask(022);
    snprintf(dir, sizeof(dir), "/tmp/fcgipm-log.XXXXXX");
    if (mkdtemp(dir) == NULL)
        return -1;
    snprintf(p, sizeof(p), "%s/real", dir);
    if (mkdir(p, 0755) == -1)
        return -1;
    snprintf(p, sizeof(p), "%s/link", dir);
    return symlink("real", p);
}

static int
teardown(void **state)
{
    char cmd[128];

    (void)state;
    log_close();
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static const char *
at(const char *rel)
{
    static char p[4][128];
    static int i;

    i = (i + 1) % 4;
    snprintf(p[i], sizeof(p[i]), "%s/%s", dir, rel);
    return p[i];
}

/* open_errno REL: log_open_file's errno, or 0 when it opened. */
static int
open_errno(const char *rel)
{
    errno = 0;
    int fd = log_open_file(at(rel));
    if (fd == -1)
        return errno;
    close(fd);
    return 0;
}

static off_t
size_of(const char *rel)
{
    struct stat st;

    return stat(at(rel), &st) == 0 ? st.st_size : -1;
}

static void
make_file(const char *rel)
{
    FILE *f = fopen(at(rel), "w");

    assert_non_null(f);
    assert_int_equal(fclose(f), 0);
}

static void
test_a_new_log_is_created_ours(void **state)
{
    struct stat st;

    (void)state;
    assert_int_equal(open_errno("real/a.log"), 0);
    assert_int_equal(stat(at("real/a.log"), &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0640);
    assert_int_equal(st.st_uid, geteuid());
    /* An admin's link (ours, in a directory only we write): followed. */
    assert_int_equal(open_errno("link/a.log"), 0);
    assert_int_equal(open_errno("real"), EISDIR);
    assert_int_equal(open_errno("real/"), EISDIR);
}

static void
test_a_symlink_at_the_path_is_refused(void **state)
{
    (void)state;
    make_file("real/target");
    assert_int_equal(symlink("target", at("real/l.log")), 0);
    assert_int_equal(open_errno("real/l.log"), ELOOP);
    assert_int_equal(size_of("real/target"), 0);
}

/* In a directory others may write, the link may be anyone's: the log's
 * directory is not reached through it, nothing is created. */
static void
test_a_symlink_above_is_refused(void **state)
{
    (void)state;
    assert_int_equal(chmod(dir, 0777), 0);
    assert_int_equal(open_errno("link/b.log"), ELOOP);
    assert_int_equal(chmod(dir, 0700), 0);
    assert_int_equal(size_of("real/b.log"), -1);
    assert_int_equal(open_errno("link/b.log"), 0);
}

static void
test_a_hard_link_is_refused(void **state)
{
    (void)state;
    make_file("real/h");
    assert_int_equal(link(at("real/h"), at("real/h.log")), 0);
    assert_int_equal(open_errno("real/h.log"), EMLINK);
}

/* A file a pool user made where it can write (after a logrotate). */
static void
test_another_users_file_is_refused(void **state)
{
    (void)state;
    if (geteuid() != 0)
        skip();
    make_file("real/o.log");
    assert_int_equal(chown(at("real/o.log"), 65534, 65534), 0);
    assert_int_equal(chmod(at("real/o.log"), 0666), 0);
    assert_int_equal(open_errno("real/o.log"), EPERM);
    assert_int_equal(size_of("real/o.log"), 0);
    assert_int_equal(chown(at("real/o.log"), 0, 0), 0);
    assert_int_equal(open_errno("real/o.log"), 0);
}

/* The refusal goes to the log still open, naming the path; nothing to
 * the refused file. */
static void
test_a_refused_reopen_keeps_the_open_log(void **state)
{
    char buf[4096];

    (void)state;
    if (geteuid() != 0)
        skip();
    assert_int_equal(log_open(at("real/m.log"), LOG_LEVEL_INFO), 0);
    assert_int_equal(rename(at("real/m.log"), at("real/m.log.1")), 0);
    make_file("real/m.log");
    assert_int_equal(chown(at("real/m.log"), 65534, 65534), 0);
    errno = 0;
    assert_int_equal(log_reopen(), -1);
    assert_int_equal(errno, EPERM);
    log_info("after the refusal");
    log_close();
    assert_int_equal(size_of("real/m.log"), 0);
    FILE *f = fopen(at("real/m.log.1"), "r");
    assert_non_null(f);
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    char want[256];
    snprintf(want, sizeof(want), "error fcgipm[%d]: log %s: not appended "
             "to: the file belongs to uid 65534, neither root nor uid 0 "
             "(ours)\n", (int)getpid(), at("real/m.log"));
    assert_non_null(strstr(buf, want));
    assert_non_null(strstr(buf, "info fcgipm"));
    assert_non_null(strstr(buf, "after the refusal\n"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_new_log_is_created_ours),
        cmocka_unit_test(test_a_symlink_at_the_path_is_refused),
        cmocka_unit_test(test_a_symlink_above_is_refused),
        cmocka_unit_test(test_a_hard_link_is_refused),
        cmocka_unit_test(test_another_users_file_is_refused),
        cmocka_unit_test(test_a_refused_reopen_keeps_the_open_log),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
