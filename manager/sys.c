/* The real system calls behind sys.h; the only file that forks, kills,
 * waits or reads the clock. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "sys.h"

uint64_t
sys_now_ms(void)
{
    return clock_now_ms();
}

double
sys_wall_time(void)
{
    return clock_wall_s();
}

pid_t
sys_fork(void)
{
    return fork();
}

int
sys_kill(pid_t pid, int sig)
{
    return kill(pid, sig);
}

pid_t
sys_waitpid(pid_t pid, int *status, int options)
{
    return waitpid(pid, status, options);
}

ssize_t
sys_proc_read(pid_t pid, const char *name, char *buf, size_t len)
{
    char path[64];

    snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1)
        return -1;
    ssize_t n = read(fd, buf, len - 1);
    int saved = errno;
    close(fd);
    if (n == -1) {
        errno = saved;
        return -1;
    }
    buf[n] = '\0';
    return n;
}

ssize_t
sys_proc_readlink(pid_t pid, const char *name, char *buf, size_t len)
{
    char path[64];

    snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
    ssize_t n = readlink(path, buf, len - 1);
    if (n == -1)
        return -1;
    buf[n] = '\0';
    return n;
}

ssize_t
sys_proc_read_all(pid_t pid, const char *name, char **out)
{
    char path[64];
    size_t len = 0, cap = 4096;
    char *buf = malloc(cap);
    int saved;

    if (buf == NULL)
        return -1;
    if (pid == 0)
        snprintf(path, sizeof(path), "/proc/thread-self/%s", name);
    else
        snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1)
        goto fail_free;
    for (;;) {
        if (cap - len < 2) {
            char *more = realloc(buf, cap * 2);
            if (more == NULL)
                goto fail_close;
            buf = more;
            cap *= 2;
        }
        ssize_t n = read(fd, buf + len, cap - len - 1);
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1)
            goto fail_close;
        if (n == 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    buf[len] = '\0';
    *out = buf;
    return (ssize_t)len;
fail_close:
    saved = errno;
    close(fd);
    errno = saved;
fail_free:
    saved = errno;
    free(buf);
    errno = saved;
    return -1;
}

int
sys_set_child_subreaper(void)
{
    return prctl(PR_SET_CHILD_SUBREAPER, 1L, 0L, 0L, 0L);
}

int
sys_group_stopped(pid_t pid)
{
    siginfo_t si;

    /* WNOWAIT leaves the state for no one else to miss; the kernel
     * reports a stop only once every thread of pid has stopped, where
     * /proc/PID/stat shows the first thread's state alone. */
    si.si_pid = 0;
    if (waitid(P_PID, (id_t)pid, &si, WSTOPPED | WNOHANG | WNOWAIT) == -1)
        return -1;
    return si.si_pid == pid && si.si_code == CLD_STOPPED;
}

int
sys_proc_fd_count(pid_t pid, int max)
{
    char path[64];
    int n = 0;

    snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    if (d == NULL)
        return -1;
    /* A worker decides how many descriptors it holds: past max the count
     * says nothing more, and reading on would cost the master. */
    for (struct dirent *e; n <= max && (e = readdir(d)) != NULL;)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

int
sys_accept4(int fd, int flags)
{
    return accept4(fd, NULL, NULL, flags);
}

uint32_t
sys_random(uint32_t bound)
{
    static unsigned short seed[3];
    static int seeded;

    if (!seeded) {
        /* Jitter only needs to differ between runs, not be secret, so a
         * failed getrandom falls back to the pid and the clock. */
        if (getrandom(seed, sizeof(seed), GRND_NONBLOCK) != sizeof(seed)) {
            seed[0] = (unsigned short)getpid();
            seed[1] = (unsigned short)sys_now_ms();
        }
        seeded = 1;
    }
    return (uint32_t)(nrand48(seed) % bound);
}
