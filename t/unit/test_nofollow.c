/* Unit tests for common/nofollow.c: a directory is opened by path only
 * when no component on the way is a symlink someone else could have made
 * or aimed. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "nofollow.h"

/* A tree: D/real/sub (directories), D/link -> real, D/real/file. */
static char dir[64];

static int
setup(void **state)
{
    char p[128];

    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/fcgipm-nofollow.XXXXXX");
    if (mkdtemp(dir) == NULL)
        return -1;
    snprintf(p, sizeof(p), "%s/real", dir);
    if (mkdir(p, 0700) == -1)
        return -1;
    snprintf(p, sizeof(p), "%s/real/sub", dir);
    if (mkdir(p, 0700) == -1)
        return -1;
    snprintf(p, sizeof(p), "%s/real/file", dir);
    FILE *f = fopen(p, "w");
    if (f == NULL || fclose(f) != 0)
        return -1;
    snprintf(p, sizeof(p), "%s/link", dir);
    if (symlink("real", p) == -1)
        return -1;
    snprintf(p, sizeof(p), "%s/loop", dir);
    return symlink("loop", p);
}

static int
teardown(void **state)
{
    char cmd[128];

    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* open_errno PATH: nofollow_open_dir's errno, or 0 when it opened. */
static int
open_errno(const char *rel)
{
    char p[128];
    int fd;

    snprintf(p, sizeof(p), "%s/%s", dir, rel);
    errno = 0;
    if ((fd = nofollow_open_dir(p)) == -1)
        return errno;
    close(fd);
    return 0;
}

static void
test_a_directory_opens(void **state)
{
    (void)state;
    assert_int_equal(open_errno("real/sub"), 0);
    assert_int_equal(open_errno("real//sub/"), 0);
}

/* The tree is ours, in a directory only we may write: an admin's link,
 * followed, relative or absolute. */
static void
test_our_link_is_followed(void **state)
{
    char p[128], target[128];

    (void)state;
    assert_int_equal(open_errno("link"), 0);
    assert_int_equal(open_errno("link/sub"), 0);
    snprintf(p, sizeof(p), "%s/abs", dir);
    snprintf(target, sizeof(target), "%s/real", dir);
    assert_int_equal(symlink(target, p), 0);
    assert_int_equal(open_errno("abs/sub"), 0);
    assert_int_equal(open_errno("loop"), ELOOP);
}

/* A directory others may write: a link in it may be anyone's. */
static void
test_link_in_a_shared_directory_is_refused(void **state)
{
    (void)state;
    assert_int_equal(chmod(dir, 0777), 0);
    assert_int_equal(open_errno("link"), ELOOP);
    assert_int_equal(open_errno("link/sub"), ELOOP);
    assert_int_equal(open_errno("real/sub"), 0);
    assert_int_equal(chmod(dir, 0700), 0);
}

/* A link owned by another user (as root: a pool user's). */
static void
test_someone_elses_link_is_refused(void **state)
{
    char p[128];

    (void)state;
    if (geteuid() != 0)
        skip();
    snprintf(p, sizeof(p), "%s/link", dir);
    assert_int_equal(lchown(p, 65534, 65534), 0);
    assert_int_equal(open_errno("link/sub"), ELOOP);
    assert_int_equal(lchown(p, 0, 0), 0);
}

static void
test_a_file_or_nothing_is_refused(void **state)
{
    (void)state;
    assert_int_equal(open_errno("real/file"), ENOTDIR);
    assert_int_equal(open_errno("real/file/x"), ENOTDIR);
    assert_int_equal(open_errno("real/none"), ENOENT);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_directory_opens),
        cmocka_unit_test(test_our_link_is_followed),
        cmocka_unit_test(test_link_in_a_shared_directory_is_refused),
        cmocka_unit_test(test_someone_elses_link_is_refused),
        cmocka_unit_test(test_a_file_or_nothing_is_refused),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
