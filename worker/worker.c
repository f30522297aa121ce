/* The worker side of a fork: set up the process the way a FastCGI program
 * expects to be started (socket on fd 0, clean signals), then exec it. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "log.h"
#include "serve.h"
#include "sigdefaults.h"
#include "worker.h"

extern char **environ;

int
worker_close_from_3(int keep_a, int keep_b)
{
    int keep[2] = { keep_a < keep_b ? keep_a : keep_b,
                    keep_a < keep_b ? keep_b : keep_a };
    unsigned from = 3;

    for (int i = 0; i < 2; i++) {
        if (keep[i] < (int)from)
            continue;
        if (keep[i] > (int)from
            && close_range(from, (unsigned)keep[i] - 1, 0) == -1)
            return -1;
        from = (unsigned)keep[i] + 1;
    }
    return close_range(from, ~0U, 0);
}

/* Fds 1 and 2 go to out_fd, the master's pipe, and so do the worker's
 * own messages, with their level: the master logs them. Without a pipe
 * (it could not be made) the worker keeps the master's stdio and writes
 * its messages there. Either way it holds no descriptor of the master's
 * log file, which it could truncate and which logrotate replaces. */
static int
place_stdio(int out_fd)
{
    if (out_fd == -1) {
        log_open("stderr", log_current_level);
        return 0;
    }
    if (dup2(out_fd, 1) == -1 || dup2(out_fd, 2) == -1)
        return -1;
    log_relay();
    return 0;
}

/* fds 0-2 were open in the master (main.c ensures it), so listen_fd and
 * out_fd are 3 or above, except an inherited listening socket already on
 * fd 0. */
static int
place_fds(const struct pool_conf *pc, int listen_fd, int out_fd, int wake_fd)
{
    if (listen_fd == 0) {
        if (fcntl(0, F_SETFD, 0) == -1)
            goto fail;
    } else if (listen_fd > 0 && dup2(listen_fd, 0) == -1) {
        goto fail;
    }
    /* A cgi or module worker that served this socket before a reload made
     * it non-blocking (conn.c); a program's accept() loop needs it
     * blocking. */
    if (pc->mode == MODE_EXEC && listen_fd >= 0) {
        int fl = fcntl(0, F_GETFL);
        if (fl == -1 || ((fl & O_NONBLOCK)
                         && fcntl(0, F_SETFL, fl & ~O_NONBLOCK) == -1))
            goto fail;
    }
    if (place_stdio(out_fd) == -1)
        goto fail;
    /* Descriptors the master inherited without CLOEXEC must not reach the
     * application either; the wake eventfd is CLOEXEC and goes at exec (a
     * CGI script's too). */
    if (worker_close_from_3(pc->mode != MODE_EXEC ? wake_fd : -1, -1) == -1)
        goto fail;
    return 0;
fail:
    log_error_errno("pool %s: worker %d: cannot set up descriptors",
                    pc->name, (int)getpid());
    return -1;
}

/* The supplementary groups come from the host's group database, so they
 * are set before confine() changes root: a chroot's /etc/group may be
 * written by the pool user itself, which would list itself in root's or
 * disk's groups there. A user gets its groups; a group without a user,
 * none. A user without a group (conf_check gives every user one) gets
 * none too rather than keep the master's. */
static int
set_groups(const struct pool_conf *pc)
{
    if (pc->uid != (uid_t)-1 && pc->gid != (gid_t)-1 && pc->user != NULL) {
        if (initgroups(pc->user, pc->gid) == 0)
            return 0;
        log_error_errno("pool %s: worker %d: cannot set the supplementary "
                        "groups of %s (group %d)", pc->name, (int)getpid(),
                        pc->user, (int)pc->gid);
        return -1;
    }
    if (pc->uid == (uid_t)-1 && pc->gid == (gid_t)-1)
        return 0;
    if (setgroups(0, NULL) == 0)
        return 0;
    log_error_errno("pool %s: worker %d: cannot clear the supplementary "
                    "groups", pc->name, (int)getpid());
    return -1;
}

/* After set_groups() and confine(): nothing here reads a file, which
 * would be the chroot's. */
static int
drop_privileges(const struct pool_conf *pc)
{
    if (pc->gid != (gid_t)-1 && setgid(pc->gid) == -1) {
        log_error_errno("pool %s: worker %d: cannot set group %d", pc->name,
                        (int)getpid(), (int)pc->gid);
        return -1;
    }
    if (pc->uid != (uid_t)-1 && setuid(pc->uid) == -1) {
        log_error_errno("pool %s: worker %d: cannot set user %d", pc->name,
                        (int)getpid(), (int)pc->uid);
        return -1;
    }
    return 0;
}

/* A worker must not outlive the master, or it would go on accepting on a
 * socket nobody supervises. The death signal is cleared by a credentials
 * change, so it is set after dropping privileges; the master may have
 * died before it was set, hence the getppid() check. It is TERM, not the
 * stop signal: libfcgi, given SIGUSR1 while it waits for the first bytes
 * of a connection it has just accepted, spins forever (its accept loop
 * goes on selecting and closing the stale descriptor), and a master that
 * was SIGKILLed cannot pick the moment as a graceful stop does. */
static int
tie_to_master(const struct pool_conf *pc, pid_t master)
{
    if (prctl(PR_SET_PDEATHSIG, SIGTERM) == -1) {
        log_error_errno("pool %s: worker %d: cannot set death signal",
                        pc->name, (int)getpid());
        return -1;
    }
    if (getppid() != master)
        _exit(0);
    return 0;
}

/* "FCGI_WEB_SERVER_ADDRS=a,b,c": libfcgi closes a TCP connection from
 * any other address right after accept(), before reading a byte. NULL
 * when allowed_clients is unset (or out of memory: then logged, and the
 * worker must not start unprotected). */
static char *
web_server_addrs(const struct pool_conf *pc)
{
    static const char name[] = "FCGI_WEB_SERVER_ADDRS=";
    size_t len = sizeof(name);

    for (size_t i = 0; i < pc->nallowed_clients; i++)
        len += strlen(pc->allowed_clients[i]) + 1;
    char *s = malloc(len);
    if (s == NULL)
        return NULL;
    strcpy(s, name);
    for (size_t i = 0; i < pc->nallowed_clients; i++) {
        if (i > 0)
            strcat(s, ",");
        strcat(s, pc->allowed_clients[i]);
    }
    return s;
}

/* The environment the worker runs with: only pc->env with clear_env,
 * else ours plus pc->env; and allowed_clients for libfcgi. NULL when
 * out of memory (logged). */
static char **
build_env(const struct pool_conf *pc)
{
    char *addrs = NULL;

    if (pc->nallowed_clients > 0 && (addrs = web_server_addrs(pc)) == NULL)
        goto oom;
    if (!pc->clear_env) {
        for (size_t i = 0; i < pc->nenv; i++)
            if (putenv(pc->env[i]) != 0)
                goto oom;
        if (addrs != NULL && putenv(addrs) != 0)
            goto oom;
        return environ;
    }
    char **env = calloc(pc->nenv + 2, sizeof(*env));
    if (env == NULL)
        goto oom;
    for (size_t i = 0; i < pc->nenv; i++)
        env[i] = pc->env[i];
    env[pc->nenv] = addrs;
    return env;
oom:
    log_error_errno("pool %s: worker %d: cannot build the environment",
                    pc->name, (int)getpid());
    return NULL;
}

static int
set_limit(const struct pool_conf *pc, int resource, const char *name,
          long value)
{
    struct rlimit rl;

    if (value == -1)
        return 0;
    rl.rlim_cur = rl.rlim_max = value == -2 ? RLIM_INFINITY : (rlim_t)value;
    if (setrlimit(resource, &rl) == 0)
        return 0;
    log_error_errno("pool %s: worker %d: cannot set %s to %ld", pc->name,
                    (int)getpid(), name, value);
    return -1;
}

/* Limits, priority and chroot need the master's privileges: before they
 * are dropped, and after the supplementary groups are set (set_groups()
 * reads the host's /etc/group, not the chroot's). */
static int
confine(const struct pool_conf *pc)
{
    if (set_limit(pc, RLIMIT_NOFILE, "rlimit_files", pc->rlimit_files) == -1
        || set_limit(pc, RLIMIT_CORE, "rlimit_core", pc->rlimit_core) == -1)
        return -1;
    if (pc->has_priority && setpriority(PRIO_PROCESS, 0, pc->priority) == -1) {
        log_error_errno("pool %s: worker %d: cannot set priority %d",
                        pc->name, (int)getpid(), pc->priority);
        return -1;
    }
    if (pc->chroot != NULL && (chroot(pc->chroot) == -1 || chdir("/") == -1)) {
        log_error_errno("pool %s: worker %d: cannot chroot to %s", pc->name,
                        (int)getpid(), pc->chroot);
        return -1;
    }
    return 0;
}

noreturn void
worker_main(const struct pool_conf *pc, const struct worker_start *ws)
{
    /* Its own process group: a terminal's ^C reaches only the master,
     * which stops workers in order, and KILL can take a whole group. */
    setpgid(0, 0);
    sigdefaults_reset();
    if (place_fds(pc, ws->listen_fd, ws->out_fd, ws->wake_fd) == -1)
        _exit(127);
    if (set_groups(pc) == -1 || confine(pc) == -1)
        _exit(126);
    if (drop_privileges(pc) == -1)
        _exit(126);
    if (tie_to_master(pc, ws->master) == -1)
        _exit(127);
    if (pc->chdir != NULL && chdir(pc->chdir) == -1) {
        log_error_errno("pool %s: worker %d: cannot chdir to %s", pc->name,
                        (int)getpid(), pc->chdir);
        _exit(127);
    }
    char **env = build_env(pc);
    if (env == NULL)
        _exit(127);
    if (pc->mode != MODE_EXEC) {
        environ = env;
        serve_main(pc, ws->scoreboard, ws->slot, ws->wake_fd);
    }
    /* conf.c resolved the command against PATH and chdir already. */
    execve(pc->command_path != NULL ? pc->command_path : pc->command[0],
           pc->command, env);
    log_error_errno("pool %s: worker %d: cannot execute %s", pc->name,
                    (int)getpid(), pc->command[0]);
    _exit(127);
}
