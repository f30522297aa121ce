/* The CGI gateway's processes: a script runs from the descriptor of the
 * file that was checked (fork + execveat), and what a script leaves
 * outside its process group is adopted (subreaper), killed and reaped. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdnoreturn.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cgi_proc.h"
#include "clock.h"
#include "worker.h"

/* Children listed per look at /proc; more are found on the next look. */
#define CGI_SWEEP_BATCH 512

/* The child between fork and exec: system calls only, and on failure
 * errno to the parent through status_fd (close-on-exec: EOF there means
 * the exec happened). */
static noreturn void
cgi_proc_child(const struct cgi_exec *x, volatile int *status)
{
    struct sigaction dfl = { .sa_handler = SIG_DFL };
    sigset_t none;

    /* sigaction refuses SIGKILL, SIGSTOP and glibc's own signals, which
     * have nothing to reset. */
    for (int sig = 1; sig < NSIG; sig++)
        sigaction(sig, &dfl, NULL);
    /* Its own group, so that its children can be killed with it and the
     * worker cannot; before exec, so that the parent never signals a
     * group that is not there yet. */
    if (setpgid(0, 0) == -1 || fchdir(x->dir_fd) == -1)
        goto fail;
    for (int fd = 0; fd < 3; fd++)
        if (dup2(x->stdio[fd], fd) == -1)
            goto fail;
    /* libfcgi's connection to the web server is not close-on-exec, nor is
     * anything a web server or the master may have left. */
    if (worker_close_from_3(x->fd, -1) == -1)
        goto fail;
    if (x->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
        goto fail;
    sigemptyset(&none);
    if (sigprocmask(SIG_SETMASK, &none, NULL) == -1)
        goto fail;
    execveat(x->fd, "", x->argv, x->envp, AT_EMPTY_PATH);
    /* ENOENT: a #! script, whose interpreter the kernel hands /dev/fd/N,
     * which a close-on-exec descriptor would not be after the exec (the
     * exec has not begun). Only then does the program inherit it. */
    if (errno == ENOENT && fcntl(x->fd, F_SETFD, 0) != -1)
        execveat(x->fd, "", x->argv, x->envp, AT_EMPTY_PATH);
fail:
    /* The parent's memory, which it reads once we exit (vfork). */
    *status = errno != 0 ? errno : EIO;
    _exit(127);
}

int
cgi_proc_spawn(const struct cgi_exec *x, pid_t *pid)
{
    volatile int status = 0;
    sigset_t all, old;

    /* No handler of the worker's (libfcgi's, the request timer's) may run
     * in the child before it has reset them: it shares our memory. */
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, &old);
    /* vfork, as posix_spawn does: no copy of the worker's page tables
     * (a fork cost a seventh of a CGI request), and we resume once the
     * child has executed the script or failed to, its errno in status. */
    pid_t child = vfork();
    if (child == 0)
        cgi_proc_child(x, &status);
    int err = child == -1 ? errno : status;
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (child == -1)
        return err;
    if (err == 0) {
        *pid = child;
        return 0;
    }
    while (waitpid(child, NULL, 0) == -1 && errno == EINTR)
        continue;
    return err;
}

int
cgi_proc_adopt_orphans(void)
{
    return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
}

/* Up to max children of this thread, from /proc; how many, or -1. A
 * number cut at the end of the buffer is left for the next look. */
static ssize_t
cgi_proc_children(pid_t *pids, size_t max)
{
    char path[64], buf[4096];
    size_t len = 0, count = 0;
    ssize_t n;

    snprintf(path, sizeof(path), "/proc/self/task/%d/children",
             (int)gettid());
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1)
        return -1;
    while (len < sizeof(buf) - 1
           && (n = read(fd, buf + len, sizeof(buf) - 1 - len)) != 0) {
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1) {
            int saved = errno;
            close(fd);
            errno = saved;
            return -1;
        }
        len += (size_t)n;
    }
    close(fd);
    buf[len] = '\0';
    bool full = len == sizeof(buf) - 1;
    for (char *s = buf, *end; count < max; s = end) {
        long v = strtol(s, &end, 10);
        if (end == s || (full && *end == '\0'))
            break;
        pids[count++] = (pid_t)v;
    }
    return (ssize_t)count;
}

/* SIGKILL to a leftover child, and to the group it leads: what it
 * started is in that group unless it moved again (and then comes here
 * once its parent is dead). */
static void
cgi_proc_kill(pid_t pid, pid_t own_group)
{
    if (pid <= 1)
        return;
    pid_t group = getpgid(pid);
    if (group == pid && group != own_group)
        kill(-group, SIGKILL);
    kill(pid, SIGKILL);
}

void
cgi_proc_sweep(struct cgi_sweep *s, unsigned wait_ms)
{
    pid_t pids[CGI_SWEEP_BATCH];
    pid_t own_group = getpgrp();
    uint64_t end_at = clock_now_ms() + wait_ms;
    sigset_t chld, old;
    ssize_t n = 0;

    *s = (struct cgi_sweep){ 0 };
    /* Blocked, SIGCHLD stays pending for sigtimedwait: an exit between
     * waitpid and the wait is not missed. */
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, &old);
    for (;;) {
        n = s->blind ? 0 : cgi_proc_children(pids, CGI_SWEEP_BATCH);
        if (n == -1) {
            s->blind = true;
            n = 0;
        }
        for (ssize_t i = 0; i < n; i++)
            cgi_proc_kill(pids[i], own_group);
        pid_t got;
        while ((got = waitpid(-1, NULL, WNOHANG)) > 0)
            s->reaped++;
        if (got == -1 && errno == EINTR)
            continue;
        /* ECHILD: nothing left. 0: some still run, which blind we can
         * neither find nor wait for. */
        if (got == -1 || s->blind)
            break;
        uint64_t now = clock_now_ms();
        if (now >= end_at) {
            s->left = (size_t)n;
            break;
        }
        struct timespec ts = { .tv_sec = (time_t)((end_at - now) / 1000),
                               .tv_nsec = (long)((end_at - now) % 1000)
                                          * 1000000 };
        sigtimedwait(&chld, NULL, &ts);
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
}
