/* Daemonizing with a readiness pipe: errors before readiness still reach
 * the terminal that started us. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "sig.h"
#include "sigdefaults.h"
#include "sys.h"

/* In the foreground process: wait for the daemon's word, then exit. */
static _Noreturn void
wait_for_daemon(int fd)
{
    char buf[16];
    size_t len = 0;

    for (;;) {
        ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);
        if (n == -1 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
        buf[len] = '\0';
        if (strstr(buf, "READY\n") != NULL)
            _exit(0);
        if (len == sizeof(buf) - 1)
            break;
    }
    _exit(1);
}

/* Close fd if it is one the caller left us rather than one of ours. */
static void
close_if_foreign(int fd)
{
    int flags = fcntl(fd, F_GETFD);

    if (fd <= 2 || flags == -1 || (flags & FD_CLOEXEC))
        return;
    if (close(fd) == -1)
        log_warn_errno("daemon: cannot close inherited fd %d", fd);
}

/*
 * Close the descriptors above 2 that our caller left open (a shell's
 * 3>&1, a pipe from a supervisor): a daemon holding them for ever keeps
 * its caller's pipe from ending. They are exactly those without
 * close-on-exec: every descriptor fcgipm opens is O_CLOEXEC, those it
 * takes over (LISTEN_FDS, fd 0) are marked so when taken, before this
 * runs, and exec clears the flag from everything it passes on.
 */
static void
close_foreign_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;

    if (d == NULL) {
        /* No /proc: try every number up to the limit. */
        struct rlimit rl;
        rlim_t max = 1 << 20;
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < max)
            max = rl.rlim_cur;
        for (rlim_t fd = 3; fd < max; fd++)
            close_if_foreign((int)fd);
        return;
    }
    while ((e = readdir(d)) != NULL) {
        char *end;
        long fd = strtol(e->d_name, &end, 10);
        if (end != e->d_name && *end == '\0' && fd != dirfd(d))
            close_if_foreign((int)fd);
    }
    closedir(d);
}

int
daemon_start(int *ready_fd)
{
    int fds[2];

    if (pipe2(fds, O_CLOEXEC) == -1) {
        log_error_errno("daemon: cannot create a pipe");
        return -1;
    }
    pid_t pid = sys_fork();
    if (pid == -1) {
        log_error_errno("daemon: cannot fork");
        return -1;
    }
    if (pid > 0) {
        /* Waiting for the daemon: ^C and TERM must work on us. */
        sigdefaults_reset();
        close(fds[1]);
        wait_for_daemon(fds[0]);
    }
    close(fds[0]);
    /* A new session without a controlling terminal; the second fork
     * makes sure we can never acquire one again. */
    if (setsid() == -1) {
        log_error_errno("daemon: setsid");
        _exit(1);
    }
    pid = sys_fork();
    if (pid == -1) {
        log_error_errno("daemon: cannot fork");
        _exit(1);
    }
    if (pid > 0)
        _exit(0);
    *ready_fd = fds[1];
    close_foreign_fds();
    return 0;
}

void
daemon_report_ready(int *ready_fd)
{
    static const char msg[] = "READY\n";

    if (*ready_fd == -1)
        return;
    if (write(*ready_fd, msg, sizeof(msg) - 1) != sizeof(msg) - 1)
        log_warn_errno("daemon: cannot report readiness");
    close(*ready_fd);
    *ready_fd = -1;
    int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (nul == -1) {
        log_warn_errno("daemon: cannot open /dev/null");
        return;
    }
    /* fd 0 may be the listening socket we adopted: leave it alone. */
    for (int fd = 0; fd <= 2; fd++) {
        int listening = 0;
        socklen_t len = sizeof(listening);
        if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == 0
            && listening)
            continue;
        if (dup2(nul, fd) == -1)
            log_warn_errno("daemon: cannot redirect fd %d", fd);
    }
    close(nul);
}
