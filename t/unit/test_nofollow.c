/* Unit tests for common/nofollow.c: a directory is opened by path only
 * when no component on the way is a symlink someone else could have made
 * or aimed; a file to run code from, only when no one but root could have
 * written it or any directory on its way. */
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


/* The path of rel in the test directory, in buf (128 bytes). */
static const char *
tree_path(char *buf, const char *rel)
{
    snprintf(buf, 128, "%s/%s", dir, rel);
    return buf;
}

/* The owner of files given away in these tests. */
#define NOBODY 65534

/* trusted_errno PATH: nofollow_open_trusted's errno (its message in why),
 * or 0 when it opened the file PATH names, checked by its inode. */
static char why[512];

static int
trusted_errno(const char *rel)
{
    char p[128];
    struct stat want, got;
    int fd;

    snprintf(p, sizeof(p), "%s/%s", dir, rel);
    errno = 0;
    why[0] = '\0';
    if ((fd = nofollow_open_trusted(p, why, sizeof(why))) == -1) {
        assert_true(why[0] != '\0');
        return errno;
    }
    assert_int_equal(fstat(fd, &got), 0);
    assert_int_equal(stat(p, &want), 0);
    assert_true(got.st_ino == want.st_ino && got.st_dev == want.st_dev);
    assert_int_equal(fcntl(fd, F_GETFD), FD_CLOEXEC);
    assert_int_equal(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDONLY);
    assert_int_equal(close(fd), 0);
    assert_int_equal(nofollow_check_trusted(p, why, sizeof(why)), 0);
    return 0;
}

static void
why_has(const char *part)
{
    if (strstr(why, part) == NULL)
        fail_msg("'%s' not in '%s'", part, why);
}

/* path relative to the test directory, made with mode: a file, or a
 * directory when mode has S_IFDIR. */
static void
make(const char *rel, mode_t mode)
{
    char p[128];

    snprintf(p, sizeof(p), "%s/%s", dir, rel);
    if (S_ISDIR(mode)) {
        assert_int_equal(mkdir(p, 0700), 0);
    } else {
        FILE *f = fopen(p, "w");
        assert_non_null(f);
        assert_int_equal(fclose(f), 0);
    }
    assert_int_equal(chmod(p, mode & 07777), 0);
}

static void
own(const char *rel, uid_t uid)
{
    char p[128];

    snprintf(p, sizeof(p), "%s/%s", dir, rel);
    assert_int_equal(lchown(p, uid, (gid_t)-1), 0);
}

/* Root's 0644 file in root's 0755 directories (the test directory itself
 * is in /tmp: sticky, root's), by a trusted link too, and from the working
 * directory. */
static void
test_trusted_file_opens(void **state)
{
    char cwd[4096], p[128];

    (void)state;
    make("lib", S_IFDIR | 0755);
    make("lib/app.so", 0644);
    assert_int_equal(trusted_errno("lib/app.so"), 0);
    assert_int_equal(chmod(tree_path(p, "real/file"), 0644), 0);
    assert_int_equal(trusted_errno("real/file"), 0);
    assert_int_equal(trusted_errno("link/file"), 0);
    assert_int_equal(trusted_errno("lib/../real/file"), 0);
    snprintf(p, sizeof(p), "%s/lib/app-link.so", dir);
    assert_int_equal(symlink("app.so", p), 0);
    assert_int_equal(trusted_errno("lib/app-link.so"), 0);
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    assert_int_equal(chdir(dir), 0);
    assert_int_equal(nofollow_check_trusted("lib/app.so", why, sizeof(why)),
                     0);
    errno = 0;
    assert_int_equal(nofollow_check_trusted("lib/none.so", why, sizeof(why)),
                     -1);
    assert_int_equal(errno, ENOENT);
    snprintf(p, sizeof(p), "%s/lib/none.so", dir);
    why_has(p);
    assert_int_equal(chdir(cwd), 0);
}

/* The audit's case: a module file a pool user owns. */
static void
test_someone_elses_file_is_refused(void **state)
{
    char p[128];

    (void)state;
    if (geteuid() != 0)
        skip();
    make("lib", S_IFDIR | 0755);
    make("lib/app.so", 0644);
    own("lib/app.so", NOBODY);
    assert_int_equal(trusted_errno("lib/app.so"), EPERM);
    snprintf(p, sizeof(p), "%s/lib/app.so belongs to uid 65534, not to root",
             dir);
    why_has(p);
    /* Someone else's directory on the way, root's file in it. */
    own("lib/app.so", 0);
    own("lib", NOBODY);
    assert_int_equal(trusted_errno("lib/app.so"), EPERM);
    snprintf(p, sizeof(p), "%s/lib belongs to uid 65534", dir);
    why_has(p);
}

/* A directory or file others may write: anyone may have changed it. */
static void
test_writable_by_others_is_refused(void **state)
{
    char p[128];

    (void)state;
    make("lib", S_IFDIR | 0775);
    make("lib/app.so", 0644);
    assert_int_equal(trusted_errno("lib/app.so"), EPERM);
    snprintf(p, sizeof(p), "directory %s/lib is writable by its group", dir);
    why_has(p);
    assert_int_equal(chmod(tree_path(p, "lib"), 0757), 0);
    assert_int_equal(trusted_errno("lib/app.so"), EPERM);
    why_has("is writable by others");
    assert_int_equal(chmod(tree_path(p, "lib"), 0755), 0);
    assert_int_equal(trusted_errno("lib/app.so"), 0);
    assert_int_equal(chmod(tree_path(p, "lib/app.so"), 0664), 0);
    assert_int_equal(trusted_errno("lib/app.so"), EPERM);
    snprintf(p, sizeof(p), "%s/lib/app.so is writable by its group", dir);
    why_has(p);
}

/* A symlink to someone else's file; someone else's symlink to ours. */
static void
test_link_to_an_untrusted_file_is_refused(void **state)
{
    char p[128];

    (void)state;
    if (geteuid() != 0)
        skip();
    make("lib", S_IFDIR | 0755);
    make("lib/app.so", 0644);
    make("lib/evil.so", 0644);
    own("lib/evil.so", NOBODY);
    snprintf(p, sizeof(p), "%s/lib/to-evil.so", dir);
    assert_int_equal(symlink("evil.so", p), 0);
    assert_int_equal(trusted_errno("lib/to-evil.so"), EPERM);
    snprintf(p, sizeof(p), "%s/lib/evil.so belongs to uid 65534", dir);
    why_has(p);
    snprintf(p, sizeof(p), "%s/real/up.so", dir);
    assert_int_equal(symlink("../lib/./evil.so", p), 0);
    assert_int_equal(trusted_errno("real/up.so"), EPERM);
    snprintf(p, sizeof(p), "%s/lib/evil.so belongs to uid 65534", dir);
    why_has(p);
    snprintf(p, sizeof(p), "%s/lib/theirs.so", dir);
    assert_int_equal(symlink("app.so", p), 0);
    own("lib/theirs.so", NOBODY);
    assert_int_equal(trusted_errno("lib/theirs.so"), ELOOP);
    why_has("theirs.so belongs to uid 65534");
}

/* A sticky directory others may write (as /tmp): someone else's file in
 * it is refused, ours accepted unless it has a second name; a link in it
 * is not followed, as everywhere. */
static void
test_sticky_directory(void **state)
{
    char p[128], q[128];

    (void)state;
    make("tmp", S_IFDIR | 01777);
    make("tmp/ours.so", 0644);
    assert_int_equal(trusted_errno("tmp/ours.so"), 0);
    make("tmp/lib", S_IFDIR | 0755);
    make("tmp/lib/app.so", 0644);
    assert_int_equal(trusted_errno("tmp/lib/app.so"), 0);
    snprintf(p, sizeof(p), "%s/tmp/ours.so", dir);
    snprintf(q, sizeof(q), "%s/tmp/other-name.so", dir);
    assert_int_equal(link(p, q), 0);
    assert_int_equal(trusted_errno("tmp/ours.so"), EPERM);
    why_has("ours.so has 2 names");
    assert_int_equal(unlink(q), 0);
    snprintf(q, sizeof(q), "%s/tmp/link.so", dir);
    assert_int_equal(symlink("ours.so", q), 0);
    assert_int_equal(trusted_errno("tmp/link.so"), ELOOP);
    why_has("is writable by");
    assert_int_equal(chmod(tree_path(p, "tmp"), 0777), 0);
    assert_int_equal(trusted_errno("tmp/lib/app.so"), EPERM);
    if (geteuid() != 0)
        return;
    assert_int_equal(chmod(tree_path(p, "tmp"), 01777), 0);
    make("tmp/theirs.so", 0644);
    own("tmp/theirs.so", NOBODY);
    assert_int_equal(trusted_errno("tmp/theirs.so"), EPERM);
    why_has("theirs.so belongs to uid 65534");
    own("tmp/lib", NOBODY);
    assert_int_equal(trusted_errno("tmp/lib/app.so"), EPERM);
}

/* Only a regular file: a directory, a FIFO (without blocking on it), a
 * path through a file. */
static void
test_not_a_regular_file_is_refused(void **state)
{
    char p[128];

    (void)state;
    assert_int_equal(trusted_errno("real"), EISDIR);
    assert_int_equal(trusted_errno("real/"), EISDIR);
    assert_int_equal(trusted_errno("real/file/"), ENOTDIR);
    assert_int_equal(trusted_errno("real/file/x"), ENOTDIR);
    assert_int_equal(trusted_errno("loop"), ELOOP);
    snprintf(p, sizeof(p), "%s/fifo", dir);
    assert_int_equal(mkfifo(p, 0644), 0);
    assert_int_equal(trusted_errno("fifo"), EINVAL);
    why_has("fifo is not a regular file");
}

/* Each test on a tree of its own. */
#define TREE_TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        TREE_TEST(test_a_directory_opens),
        TREE_TEST(test_our_link_is_followed),
        TREE_TEST(test_link_in_a_shared_directory_is_refused),
        TREE_TEST(test_someone_elses_link_is_refused),
        TREE_TEST(test_a_file_or_nothing_is_refused),
        TREE_TEST(test_trusted_file_opens),
        TREE_TEST(test_someone_elses_file_is_refused),
        TREE_TEST(test_writable_by_others_is_refused),
        TREE_TEST(test_link_to_an_untrusted_file_is_refused),
        TREE_TEST(test_sticky_directory),
        TREE_TEST(test_not_a_regular_file_is_refused),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
