/* Unit tests for manager/pidfile.c: the pid file is written under a
 * fresh name and renamed, in its directory reached through no symlink
 * another user could have made; it is removed only while it is the file
 * we wrote holding our pid. */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "pidfile.h"

/* A tree: D/run, D/target (directories), D/link -> target. */
static char dir[64];

static const char *
at(const char *rel)
{
    static char p[4][128];
    static int i;

    i = (i + 1) % 4;
    snprintf(p[i], sizeof(p[i]), "%s/%s", dir, rel);
    return p[i];
}

static int
setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/fcgipm-pidfile.XXXXXX");
    if (mkdtemp(dir) == NULL)
        return -1;
    if (mkdir(at("run"), 0755) == -1 || mkdir(at("target"), 0700) == -1)
        return -1;
    return symlink("target", at("link"));
}

static int
teardown(void **state)
{
    char cmd[128];

    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void
put(const char *rel, const char *text)
{
    FILE *f = fopen(at(rel), "w");

    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

/* The file's text, "" when there is none. */
static const char *
text_of(const char *rel)
{
    static char buf[64];
    FILE *f = fopen(at(rel), "r");

    buf[0] = '\0';
    if (f == NULL)
        return buf;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* How many entries the directory rel holds. */
static int
entries(const char *rel)
{
    int n = 0;
    DIR *d = opendir(at(rel));

    assert_non_null(d);
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

static void
test_written_then_removed(void **state)
{
    struct stat st;

    (void)state;
    assert_int_equal(pidfile_write(at("run/p.pid"), 1234, 0), 0);
    assert_string_equal(text_of("run/p.pid"), "1234\n");
    assert_int_equal(lstat(at("run/p.pid"), &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0644);
    assert_int_equal(entries("run"), 1);        /* no temporary left */
    pidfile_remove(at("run/p.pid"), 1234);
    assert_int_equal(entries("run"), 0);
}

/* A symlink at the path is replaced, not written or read through. */
static void
test_a_symlink_at_the_path_is_replaced(void **state)
{
    struct stat st;

    (void)state;
    put("target/secret", "1\n");
    assert_int_equal(symlink(at("target/secret"), at("run/p.pid")), 0);
    assert_int_equal(pidfile_write(at("run/p.pid"), 1234, 0), 0);
    assert_int_equal(lstat(at("run/p.pid"), &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_string_equal(text_of("target/secret"), "1\n");
    pidfile_remove(at("run/p.pid"), 1234);
    assert_int_equal(unlink(at("target/secret")), 0);
}

static void
test_a_live_master_is_not_replaced(void **state)
{
    (void)state;
    put("run/p.pid", "4321\n");
    expect_value(sys_kill, pid, 4321);
    expect_value(sys_kill, sig, 0);
    will_return(sys_kill, 0);
    errno = 0;
    assert_int_equal(pidfile_write(at("run/p.pid"), 1234, 0), -1);
    assert_int_equal(errno, EEXIST);
    assert_string_equal(text_of("run/p.pid"), "4321\n");
    /* Not ours: left alone. */
    pidfile_remove(at("run/p.pid"), 1234);
    assert_string_equal(text_of("run/p.pid"), "4321\n");
    assert_int_equal(unlink(at("run/p.pid")), 0);
}

/* A file naming us that another user made is not the one we wrote. */
static void
test_another_users_file_is_left(void **state)
{
    (void)state;
    if (geteuid() != 0)
        skip();
    put("run/p.pid", "1234\n");
    assert_int_equal(chown(at("run/p.pid"), 65534, 65534), 0);
    pidfile_remove(at("run/p.pid"), 1234);
    assert_string_equal(text_of("run/p.pid"), "1234\n");
    assert_int_equal(unlink(at("run/p.pid")), 0);
}

/* In a directory others may write, the link may be anyone's: nothing
 * is written, replaced or removed where it leads. */
static void
test_a_symlink_above_is_refused(void **state)
{
    (void)state;
    put("target/p.pid", "1234\n");
    assert_int_equal(chmod(dir, 0777), 0);
    errno = 0;
    assert_int_equal(pidfile_write(at("link/q.pid"), 1234, 0), -1);
    assert_int_equal(errno, ELOOP);
    assert_int_equal(pidfile_write(at("link/p.pid"), 1234, 0), -1);
    pidfile_remove(at("link/p.pid"), 1234);
    assert_int_equal(chmod(dir, 0700), 0);
    assert_int_equal(entries("target"), 1);
    assert_string_equal(text_of("target/p.pid"), "1234\n");
    /* Our own link in a directory only we write: an admin's, followed. */
    pidfile_remove(at("link/p.pid"), 1234);
    assert_int_equal(entries("target"), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_written_then_removed),
        cmocka_unit_test(test_a_symlink_at_the_path_is_replaced),
        cmocka_unit_test(test_a_live_master_is_not_replaced),
        cmocka_unit_test(test_another_users_file_is_left),
        cmocka_unit_test(test_a_symlink_above_is_refused),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
