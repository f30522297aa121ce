/* Daemonizing with a readiness pipe: errors before readiness still reach
 * the terminal that started us. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "sig.h"
#include "sys.h"

static int ready_fd = -1;

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

int
daemon_start(void)
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
        sig_reset_defaults();
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
    ready_fd = fds[1];
    return 0;
}

void
daemon_report_ready(void)
{
    static const char msg[] = "READY\n";

    if (ready_fd == -1)
        return;
    if (write(ready_fd, msg, sizeof(msg) - 1) != sizeof(msg) - 1)
        log_warn_errno("daemon: cannot report readiness");
    close(ready_fd);
    ready_fd = -1;
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
