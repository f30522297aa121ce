/* Test doubles for manager/sys.c: each call takes its result from the
 * cmocka queue (will_return), so tests drive time, forks and signals. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "sys.h"

uint64_t
sys_now_ms(void)
{
    return mock_type(uint64_t);
}

double
sys_wall_time(void)
{
    return 1700000000.0;
}

pid_t
sys_fork(void)
{
    pid_t pid = mock_type(pid_t);

    if (pid == -1)
        errno = EAGAIN;
    return pid;
}

int
sys_kill(pid_t pid, int sig)
{
    check_expected(pid);
    check_expected(sig);
    return mock_type(int);
}

pid_t
sys_waitpid(pid_t pid, int *status, int options)
{
    (void)pid;
    (void)options;
    *status = mock_type(int);
    return mock_type(pid_t);
}

ssize_t
sys_proc_read(pid_t pid, const char *name, char *buf, size_t len)
{
    const char *text;

    check_expected(pid);
    check_expected(name);
    text = mock_ptr_type(const char *);
    if (text == NULL) {
        errno = ENOENT;
        return -1;
    }
    snprintf(buf, len, "%s", text);
    return (ssize_t)strlen(buf);
}

ssize_t
sys_proc_readlink(pid_t pid, const char *name, char *buf, size_t len)
{
    const char *text;

    check_expected(pid);
    check_expected(name);
    text = mock_ptr_type(const char *);
    if (text == NULL) {
        errno = ENOENT;
        return -1;
    }
    snprintf(buf, len, "%s", text);
    return (ssize_t)strlen(buf);
}

ssize_t
sys_proc_read_all(pid_t pid, const char *name, char **out)
{
    const char *text;

    check_expected(pid);
    check_expected(name);
    text = mock_ptr_type(const char *);
    if (text == NULL) {
        errno = ENOENT;
        return -1;
    }
    *out = strdup(text);
    return *out != NULL ? (ssize_t)strlen(text) : -1;
}

int
sys_set_child_subreaper(void)
{
    return mock_type(int);
}

int
sys_group_stopped(pid_t pid)
{
    (void)pid;
    return mock_type(int);
}

int
sys_proc_fd_count(pid_t pid, int max)
{
    (void)pid;
    (void)max;
    return mock_type(int);
}

/* The queued value: a descriptor, or -errno for a failure. A new
 * connection must come non-blocking and close-on-exec. */
int
sys_accept4(int fd, int flags)
{
    int r = mock_type(int);

    (void)fd;
    assert_int_equal(flags & (SOCK_NONBLOCK | SOCK_CLOEXEC),
                     SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (r < 0) {
        errno = -r;
        return -1;
    }
    return r;
}

uint32_t
sys_random(uint32_t bound)
{
    (void)bound;
    return 0;
}
