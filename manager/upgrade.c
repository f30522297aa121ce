/* Binary upgrade: the master re-execs its binary with the listening
 * sockets open and waits for the new one to say READY on a pipe; then it
 * drains and exits, or, if the new one fails, goes on serving. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "child.h"
#include "control.h"
#include "control_proto.h"
#include "log.h"
#include "loop.h"
#include "notify.h"
#include "pidfile.h"
#include "sig.h"
#include "sigdefaults.h"
#include "status.h"
#include "sys.h"
#include "upgrade.h"
#include "wstatus.h"

#define ENV_FDS "FCGIPM_INHERIT_FDS"
#define ENV_READY "FCGIPM_READY_FD"
#define ENV_FROM "FCGIPM_UPGRADE_FROM"

void
upgrade_origin_init(struct upgrade_origin *o)
{
    *o = (struct upgrade_origin){ .ready_fd = -1 };
}

void
upgrade_init(struct manager *m, char **argv)
{
    static const char deleted[] = " (deleted)";
    char *exe_path = m->origin.exe_path;
    size_t room = sizeof(m->origin.exe_path);

    m->origin.argv = argv;
    ssize_t n = readlink("/proc/self/exe", exe_path, room - 1);
    if (n <= 0) {
        exe_path[0] = '\0';
        return;
    }
    exe_path[n] = '\0';
    /* A package upgrade replaced the file we run: exec the new one. */
    size_t len = (size_t)n, dl = sizeof(deleted) - 1;
    if (len > dl && strcmp(exe_path + len - dl, deleted) == 0)
        exe_path[len - dl] = '\0';
}

static int
parse_fd(const char *s, const char **end)
{
    char *e;

    errno = 0;
    long v = strtol(s, &e, 10);
    if (errno != 0 || e == s || v < 0 || v > INT_MAX)
        return -1;
    *end = e;
    return (int)v;
}

static int
take_fd_list(struct inherited_sockets *in, const char *list)
{
    const char *p = list;

    /* "5+,6": fd 5's socket file was the old master's to remove (so
     * ours, once we are ready); fd 6's belongs to systemd or a web
     * server. */
    while (*p != '\0') {
        int fd = parse_fd(p, &p);
        bool owned = *p == '+';
        p += owned;
        if (fd == -1 || (*p != ',' && *p != '\0')) {
            log_error(ENV_FDS "=%s: malformed", list);
            return -1;
        }
        if (listen_inherit(in, fd, "the old master", owned) == -1)
            return -1;
        if (*p == ',')
            p++;
    }
    return 0;
}

int
upgrade_take_sockets(struct manager *m)
{
    const char *fds = getenv(ENV_FDS), *ready = getenv(ENV_READY);
    const char *from = getenv(ENV_FROM), *end;
    int rc = 0;

    if (fds == NULL)
        return 0;
    if (take_fd_list(&m->inherited, fds) == -1)
        rc = -1;
    if (ready != NULL) {
        int fd = parse_fd(ready, &end);
        if (fd == -1 || fcntl(fd, F_SETFD, FD_CLOEXEC) == -1) {
            log_error(ENV_READY "=%s: not an open descriptor", ready);
            fd = -1;
            rc = -1;
        }
        m->origin.ready_fd = fd;
    }
    if (from != NULL) {
        int pid = parse_fd(from, &end);
        m->origin.parent = pid > 0 ? pid : 0;
    }
    /* Neither workers nor a later upgrade may see these again. */
    unsetenv(ENV_FDS);
    unsetenv(ENV_READY);
    unsetenv(ENV_FROM);
    return rc;
}

pid_t
upgrade_parent(const struct manager *m)
{
    return m->origin.parent;
}

/* Run fn on every listener of every pool, and on the status and control
 * sockets: they pass to a new master like a pool's. */
static void
each_listener(struct manager *m, void (*fn)(struct listener *l, void *arg),
              void *arg)
{
    struct listener *status = status_listener(m);
    struct listener *control = control_listener(m);

    for (size_t i = 0; i < m->npools; i++)
        for (size_t j = 0; j < m->pools[i]->nlisteners; j++)
            if (m->pools[i]->listeners[j].fd != -1)
                fn(&m->pools[i]->listeners[j], arg);
    if (status != NULL)
        fn(status, arg);
    if (control != NULL)
        fn(control, arg);
}

static void
claim_path(struct listener *l, void *arg)
{
    (void)arg;
    if (l->claim_path)
        l->owns_path = true;
}

void
upgrade_report_ready(struct manager *m)
{
    static const char msg[] = "READY\n";
    struct upgrade_origin *o = &m->origin;

    if (o->ready_fd == -1)
        return;
    if (write(o->ready_fd, msg, sizeof(msg) - 1) != sizeof(msg) - 1)
        log_error_errno("upgrade: cannot tell the old master %d we are "
                        "ready", (int)o->parent);
    else
        each_listener(m, claim_path, NULL);
    if (close(o->ready_fd) == -1)
        log_warn_errno("upgrade: close readiness pipe");
    o->ready_fd = -1;
}

static void
append_fd(struct listener *l, void *arg)
{
    char *list = arg;
    size_t len = strlen(list);

    snprintf(list + len, 4096 - len, "%s%d%s", len ? "," : "", l->fd,
             l->owns_path ? "+" : "");
}

static void
keep_open_on_exec(struct listener *l, void *arg)
{
    (void)arg;
    if (fcntl(l->fd, F_SETFD, 0) == -1)
        log_error_errno("upgrade: cannot pass fd %d", l->fd);
}

/* The binary to exec: ours, or argv[0] when /proc could not say. */
static const char *
upgrade_exe(const struct manager *m)
{
    return m->origin.exe_path[0] != '\0' ? m->origin.exe_path
                                         : m->origin.argv[0];
}

/* In the forked child: exec the binary again with the sockets open. */
static _Noreturn void
exec_new_master(struct manager *m, int ready_w, pid_t old)
{
    char fds[4096] = "", num[32];
    const char *exe = upgrade_exe(m);

    sigdefaults_reset();
    each_listener(m, append_fd, fds);
    each_listener(m, keep_open_on_exec, NULL);
    if (fcntl(ready_w, F_SETFD, 0) == -1) {
        log_error_errno("upgrade: cannot pass the readiness pipe");
        _exit(127);
    }
    snprintf(num, sizeof(num), "%d", ready_w);
    if (setenv(ENV_FDS, fds, 1) == -1 || setenv(ENV_READY, num, 1) == -1) {
        log_error_errno("upgrade: cannot set " ENV_FDS " and " ENV_READY);
        _exit(127);
    }
    snprintf(num, sizeof(num), "%d", (int)old);
    if (setenv(ENV_FROM, num, 1) == -1) {
        log_error_errno("upgrade: cannot set " ENV_FROM);
        _exit(127);
    }
    execv(exe, m->origin.argv);
    log_error_errno("upgrade: cannot execute %s", exe);
    _exit(127);
}

static void on_ready_pipe(struct manager *m, struct watch *w, uint32_t ev);

void
upgrade_start(struct manager *m, uint64_t now)
{
    struct upgrade *u = &m->upgrade;
    int fds[2];

    if (u->pid != 0) {
        log_warn("upgrade: new master %d is still starting; ignoring "
                 "SIGUSR2", (int)u->pid);
        return;
    }
    if (pipe2(fds, O_CLOEXEC) == -1) {
        log_error_errno("upgrade: cannot create the readiness pipe");
        control_result_set(&m->upgrade_result, CONTROL_EXIT_FAILED,
                           "cannot create the readiness pipe");
        return;
    }
    pid_t old = getpid();
    pid_t pid = sys_fork();
    if (pid == 0)
        exec_new_master(m, fds[1], old);
    close(fds[1]);
    if (pid == -1) {
        log_error_errno("upgrade: cannot fork the new master");
        control_result_set(&m->upgrade_result, CONTROL_EXIT_FAILED,
                           "cannot fork the new master");
        close(fds[0]);
        return;
    }
    *u = (struct upgrade){ .pid = pid, .waiting = true,
                           .deadline_at = now + m->conf.upgrade_timeout_ms,
                           .ready = { .fd = fds[0], .fn = on_ready_pipe } };
    if (loop_watch(m, &u->ready, EPOLLIN) == -1) {
        sys_kill(pid, SIGKILL);
        close(fds[0]);
        u->waiting = false;
        control_result_set(&m->upgrade_result, CONTROL_EXIT_FAILED,
                           "cannot watch the readiness pipe");
        return;
    }
    log_info("upgrade: started new master %d (%s), waiting up to %.3gs for "
             "it to be ready", (int)pid, upgrade_exe(m),
             m->conf.upgrade_timeout_ms / 1000.0);
}

static void
stop_waiting(struct manager *m)
{
    struct upgrade *u = &m->upgrade;

    loop_unwatch(m, &u->ready);
    if (close(u->ready.fd) == -1)
        log_warn_errno("upgrade: close readiness pipe");
    u->ready.fd = -1;
    u->waiting = false;
}

static void
release_path(struct listener *l, void *arg)
{
    (void)arg;
    l->owns_path = false;
}

/* The new master serves: give it the socket files, then drain. */
static void
hand_over(struct manager *m)
{
    char msg[32];

    stop_waiting(m);
    m->upgrade.handed_over = true;
    each_listener(m, release_path, NULL);
    snprintf(msg, sizeof(msg), "MAINPID=%d", (int)m->upgrade.pid);
    notify_send(msg);
    log_info("upgrade: new master %d is ready; this one drains and exits",
             (int)m->upgrade.pid);
    control_result_set(&m->upgrade_result, CONTROL_EXIT_OK, "new master %d "
                       "is ready; master %d drains and exits",
                       (int)m->upgrade.pid, (int)getpid());
    status_handover(m);
    control_handover(m);
    m->pending |= PENDING_STOP_GRACEFUL;
}

/* The new master failed: we go on serving, and own the pid file again. */
static void
roll_back(struct manager *m, const char *why)
{
    log_error("upgrade: new master %d %s; this master goes on serving",
              (int)m->upgrade.pid, why);
    control_result_set(&m->upgrade_result, CONTROL_EXIT_FAILED, "new "
                       "master %d %s; master %d goes on serving",
                       (int)m->upgrade.pid, why, (int)getpid());
    if (m->upgrade.waiting)
        stop_waiting(m);
    if (m->conf.pid_file != NULL)
        pidfile_write(m->conf.pid_file, getpid(), m->upgrade.pid);
}

static void
on_ready_pipe(struct manager *m, struct watch *w, uint32_t ev)
{
    struct upgrade *u = &m->upgrade;
    size_t room = sizeof(u->buf) - 1 - u->len;
    ssize_t n = read(w->fd, u->buf + u->len, room);

    (void)ev;
    if (n == -1 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n > 0) {
        u->len += (size_t)n;
        u->buf[u->len] = '\0';
        if (strstr(u->buf, "READY\n") != NULL)
            hand_over(m);
        else if (u->len == sizeof(u->buf) - 1)
            roll_back(m, "sent garbage on the readiness pipe");
        return;
    }
    /* EOF (or an error) before READY: it exited or closed the pipe. */
    roll_back(m, n == 0 ? "exited before it was ready"
                        : "broke the readiness pipe");
}

void
upgrade_run_due(struct manager *m, uint64_t now)
{
    struct upgrade *u = &m->upgrade;

    if (!u->waiting || now < u->deadline_at)
        return;
    /* KILL, not TERM: a master that is not ready must not get to run its
     * shutdown, which could remove socket files we still serve. */
    if (sys_kill(u->pid, SIGKILL) == -1 && errno != ESRCH)
        log_error_errno("upgrade: cannot kill new master %d", (int)u->pid);
    roll_back(m, "was not ready in time (killed)");
}

uint64_t
upgrade_deadline(const struct manager *m)
{
    return m->upgrade.waiting ? m->upgrade.deadline_at : NEVER;
}

bool
upgrade_in_progress(const struct manager *m)
{
    return m->upgrade.waiting;
}

int
upgrade_reaped(struct manager *m, pid_t pid, int st)
{
    struct upgrade *u = &m->upgrade;
    char how[96];

    if (u->pid == 0 || pid != u->pid)
        return 0;
    wstatus_describe(st, how, sizeof(how));
    if (u->waiting)
        roll_back(m, how);
    else if (u->handed_over)
        log_warn("upgrade: new master %d %s", (int)pid, how);
    else
        log_info("upgrade: failed new master %d %s", (int)pid, how);
    u->pid = 0;
    return 1;
}
