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
#include <unistd.h>

#include "log.h"
#include "serve.h"
#include "sig.h"
#include "worker.h"

extern char **environ;

/* Close every descriptor from 3 up but keep, which may be -1. */
static int
close_from_3(int keep)
{
    if (keep > 3 && close_range(3, (unsigned)keep - 1, 0) == -1)
        return -1;
    return close_range(keep >= 3 ? (unsigned)keep + 1 : 3, ~0U, 0);
}

/* Fds 1 and 2 go to out_fd, the master's pipe, or without one to the log
 * file when there is one. In both cases the worker's own messages keep
 * going to the log (a close-on-exec descriptor), with their level. */
static int
place_stdio(int out_fd)
{
    if (out_fd != -1) {
        if (log_detach_stdio() == -1 || dup2(out_fd, 1) == -1
            || dup2(out_fd, 2) == -1)
            return -1;
        return 0;
    }
    int lfd = log_fd();
    if (lfd != -1) {
        if (dup2(lfd, 1) == -1 || dup2(lfd, 2) == -1)
            return -1;
        log_open("stderr", log_current_level);
    }
    return 0;
}

/* fds 0-2 were open in the master (main.c ensures it), so listen_fd,
 * out_fd and the log's descriptor are 3 or above, except an inherited
 * listening socket already on fd 0. */
static int
place_fds(const struct pool_conf *pc, int listen_fd, int out_fd)
{
    if (listen_fd == 0) {
        if (fcntl(0, F_SETFD, 0) == -1)
            goto fail;
    } else if (listen_fd > 0 && dup2(listen_fd, 0) == -1) {
        goto fail;
    }
    if (place_stdio(out_fd) == -1)
        goto fail;
    /* Descriptors the master inherited without CLOEXEC must not reach the
     * application either; the log's is CLOEXEC and goes at exec. */
    if (close_from_3(log_fd()) == -1)
        goto fail;
    return 0;
fail:
    log_error_errno("pool %s: worker %d: cannot set up descriptors",
                    pc->name, (int)getpid());
    return -1;
}

static int
drop_privileges(const struct pool_conf *pc)
{
    if (pc->gid != (gid_t)-1) {
        int rc = pc->user != NULL && pc->uid != (uid_t)-1
                     ? initgroups(pc->user, pc->gid)
                     : setgroups(0, NULL);
        if (rc == -1 || setgid(pc->gid) == -1) {
            log_error_errno("pool %s: worker %d: cannot set group %d",
                            pc->name, (int)getpid(), (int)pc->gid);
            return -1;
        }
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
 * died before it was set, hence the getppid() check. */
static int
tie_to_master(const struct pool_conf *pc, pid_t master)
{
    if (prctl(PR_SET_PDEATHSIG, pc->stop_signal) == -1) {
        log_error_errno("pool %s: worker %d: cannot set death signal",
                        pc->name, (int)getpid());
        return -1;
    }
    if (getppid() != master)
        _exit(0);
    return 0;
}

static char **
build_env(const struct pool_conf *pc)
{
    static char *no_env[] = { NULL };

    if (pc->clear_env)
        return pc->env != NULL ? pc->env : no_env;
    for (size_t i = 0; i < pc->nenv; i++)
        if (putenv(pc->env[i]) != 0)
            log_warn_errno("pool %s: cannot set %s", pc->name, pc->env[i]);
    return environ;
}

noreturn void
worker_main(const struct pool_conf *pc, const struct worker_start *ws)
{
    /* Its own process group: a terminal's ^C reaches only the master,
     * which stops workers in order, and KILL can take a whole group. */
    setpgid(0, 0);
    sig_reset_defaults();
    if (place_fds(pc, ws->listen_fd, ws->out_fd) == -1)
        _exit(127);
    if (drop_privileges(pc) == -1)
        _exit(126);
    if (tie_to_master(pc, ws->master) == -1)
        _exit(127);
    if (pc->chdir != NULL && chdir(pc->chdir) == -1) {
        log_error_errno("pool %s: worker %d: cannot chdir to %s", pc->name,
                        (int)getpid(), pc->chdir);
        _exit(127);
    }
    if (pc->mode != MODE_EXEC) {
        environ = build_env(pc);
        serve_main(pc, ws->scoreboard, ws->slot);
    }
    /* conf.c resolved the command against PATH and chdir already. */
    execve(pc->command_path != NULL ? pc->command_path : pc->command[0],
           pc->command, build_env(pc));
    log_error_errno("pool %s: worker %d: cannot execute %s", pc->name,
                    (int)getpid(), pc->command[0]);
    _exit(127);
}
