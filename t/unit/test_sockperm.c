/* Unit tests for manager/sockperm.c: real sockets in a temporary
 * directory, their files swapped for a symlink, another file or another
 * socket; mode, owner and removal reach only the file a socket is bound
 * to. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "sockperm.h"

struct fixture {
    char dir[64];
    char sock_path[128];
    char target[128];
    int sock;
};

/* A listening socket bound at path. */
static int
bind_at(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    assert_true(fd >= 0);
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(fd, 4), 0);
    return fd;
}

static mode_t
mode_of(const char *path)
{
    struct stat st;

    assert_int_equal(lstat(path, &st), 0);
    return st.st_mode & 07777;
}

static int
setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    snprintf(f->dir, sizeof(f->dir), "/tmp/fcgipm-sockperm.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->sock_path, sizeof(f->sock_path), "%s/s.sock", f->dir);
    snprintf(f->target, sizeof(f->target), "%s/target", f->dir);
    int fd = open(f->target, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    close(fd);
    f->sock = bind_at(f->sock_path);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;
    char cmd[128];

    close(f->sock);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static void
test_apply_to_our_file(void **state)
{
    struct fixture *f = *state;
    struct stat st;

    assert_int_equal(sockperm_check(f->sock, f->sock_path), SOCKPERM_OURS);
    assert_int_equal(sockperm_apply(f->sock, f->sock_path, 0604, (uid_t)-1,
                                    (gid_t)-1, "test", "s"), 0);
    assert_int_equal(mode_of(f->sock_path), 0604);
    if (geteuid() != 0)
        return;
    assert_int_equal(sockperm_apply(f->sock, f->sock_path, 0660, (uid_t)-1,
                                    65534, "test", "s"), 0);
    assert_int_equal(stat(f->sock_path, &st), 0);
    assert_int_equal(st.st_gid, 65534);
    assert_int_equal(st.st_mode & 07777, 0660);
}

static void
test_symlink_refused(void **state)
{
    struct fixture *f = *state;
    struct stat st;

    assert_int_equal(unlink(f->sock_path), 0);
    assert_int_equal(symlink(f->target, f->sock_path), 0);
    assert_int_equal(sockperm_check(f->sock, f->sock_path),
                     SOCKPERM_REPLACED);
    assert_int_equal(sockperm_apply(f->sock, f->sock_path, 0666, 65534,
                                    65534, "test", "s"), -1);
    assert_int_equal(mode_of(f->target), 0600);
    assert_int_equal(stat(f->target, &st), 0);
    assert_int_equal(st.st_uid, geteuid());
    /* Not removed either: the symlink stays, and so does its target. */
    assert_int_equal(sockperm_unlink(f->sock, f->sock_path, "test", "s"),
                     -1);
    assert_int_equal(lstat(f->sock_path, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    assert_int_equal(access(f->target, F_OK), 0);
}

static void
test_other_file_refused(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(unlink(f->sock_path), 0);
    assert_int_equal(rename(f->target, f->sock_path), 0);
    assert_int_equal(sockperm_apply(f->sock, f->sock_path, 0666, (uid_t)-1,
                                    (gid_t)-1, "test", "s"), -1);
    assert_int_equal(mode_of(f->sock_path), 0600);
    assert_int_equal(sockperm_unlink(f->sock, f->sock_path, "test", "s"),
                     -1);
    assert_int_equal(access(f->sock_path, F_OK), 0);
}

static void
test_other_socket_refused(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(unlink(f->sock_path), 0);
    int other = bind_at(f->sock_path);
    mode_t before = mode_of(f->sock_path);
    assert_int_equal(sockperm_check(f->sock, f->sock_path),
                     SOCKPERM_REPLACED);
    assert_int_equal(sockperm_check(other, f->sock_path), SOCKPERM_OURS);
    assert_int_equal(sockperm_apply(f->sock, f->sock_path, 0666, (uid_t)-1,
                                    (gid_t)-1, "test", "s"), -1);
    assert_int_equal(mode_of(f->sock_path), before);
    assert_int_equal(sockperm_unlink(f->sock, f->sock_path, "test", "s"),
                     -1);
    assert_int_equal(access(f->sock_path, F_OK), 0);
    /* Its own socket removes it. */
    assert_int_equal(sockperm_unlink(other, f->sock_path, "test", "o"), 0);
    assert_int_equal(access(f->sock_path, F_OK), -1);
    close(other);
}

static void
test_unlink_ours_and_gone(void **state)
{
    struct fixture *f = *state;
    char moved[160];

    /* A renamed file is still ours (an upgrade's takeover renames). */
    snprintf(moved, sizeof(moved), "%s/moved.sock", f->dir);
    assert_int_equal(rename(f->sock_path, moved), 0);
    assert_int_equal(sockperm_check(f->sock, f->sock_path), SOCKPERM_GONE);
    assert_int_equal(sockperm_check(f->sock, moved), SOCKPERM_OURS);
    assert_int_equal(sockperm_apply(f->sock, f->sock_path, 0666, (uid_t)-1,
                                    (gid_t)-1, "test", "s"), -1);
    assert_int_equal(sockperm_unlink(f->sock, moved, "test", "s"), 0);
    assert_int_equal(access(moved, F_OK), -1);
    assert_int_equal(sockperm_unlink(f->sock, moved, "test", "s"), 0);
}

static void
test_relative_path(void **state)
{
    struct fixture *f = *state;
    char cwd[4096];

    assert_non_null(getcwd(cwd, sizeof(cwd)));
    assert_int_equal(chdir(f->dir), 0);
    assert_int_equal(sockperm_unlink(f->sock, "s.sock", "test", "s"), 0);
    assert_int_equal(chdir(cwd), 0);
    assert_int_equal(access(f->sock_path, F_OK), -1);
}

static void
test_no_file_to_compare(void **state)
{
    struct fixture *f = *state;
    int sv[2];

    /* A socket bound to no file owns no path at all. */
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
                     0);
    assert_int_equal(sockperm_check(sv[0], f->sock_path), SOCKPERM_REPLACED);
    close(sv[0]);
    close(sv[1]);
    /* Not a socket: the kernel cannot tell, so nothing is done. */
    assert_int_equal(sockperm_check(-1, f->sock_path), SOCKPERM_ERROR);
    assert_int_equal(sockperm_unlink(-1, f->sock_path, "test", "s"), -1);
    assert_int_equal(access(f->sock_path, F_OK), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_apply_to_our_file, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_symlink_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_other_file_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_other_socket_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_unlink_ours_and_gone, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_relative_path, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_no_file_to_compare, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
