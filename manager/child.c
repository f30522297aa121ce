/* Forking workers into slots, signalling them, describing their deaths. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"
#include "log.h"
#include "output.h"
#include "pool.h"
#include "sys.h"
#include "worker.h"

/* cgi and module workers report to a scoreboard, made with the first
 * of them and kept for the pool's life: sized for any configuration
 * (POOL_SLOTS_MAX, manager.h, says why), never for the current one,
 * since workers keep the mapping they were forked with. */
static struct sb_slot *
claim_scoreboard(struct pool *p, struct slot *s, uint64_t now)
{
    const struct pool_conf *pc = p->conf;

    if (pc->mode == MODE_EXEC)
        return NULL;
    if (p->scoreboard == NULL) {
        p->scoreboard = scoreboard_create(POOL_SLOTS_MAX);
        if (p->scoreboard == NULL)
            log_error_errno("pool %s: cannot map the scoreboard; workers "
                            "run without one", pc->name);
    }
    struct sb_slot *sb = scoreboard_map_slot(p->scoreboard, s->index);
    scoreboard_claim(sb, now);
    return sb;
}

int
child_spawn(struct pool *p, struct slot *s, uint64_t now)
{
    const struct pool_conf *pc = p->conf;
    /* Without a loop to read it (unit tests), no pipe: the worker keeps
     * the master's stderr, as it does when the pipe cannot be made. */
    struct output *out = p->m != NULL ? output_open(p->m, pc) : NULL;
    int out_fd = out != NULL ? output_write_fd(out) : -1;
    struct worker_start ws = {
        .listen_fd = p->nlisteners > 0 ? p->listeners[0].fd : -1,
        .out_fd = out_fd,
        .master = getpid(),
        .scoreboard = claim_scoreboard(p, s, now) != NULL
                          ? p->scoreboard->shm : NULL,
        .slot = s->index,
    };
    /* After the initializer, whose order of evaluation is unspecified:
     * claim_scoreboard may just have mapped it. */
    ws.wake_fd = ws.scoreboard != NULL ? pool_busy_wake_fd(p) : -1;

    /* The handled signals are already blocked (sig_setup); the child
     * inherits that mask and resets it in worker_main before exec. */
    pid_t pid = sys_fork();
    if (pid == -1) {
        log_error_errno("pool %s: unable to fork worker", pc->name);
        if (out != NULL)
            output_abort(out);
        return -1;
    }
    if (pid == 0) {
        /* Other pools' scoreboards are shared with their workers, who
         * may run as other users: keep only this pool's, so that a
         * worker can neither read nor forge theirs. */
        scoreboard_keep_only(p->scoreboard);
        worker_main(pc, &ws);
    }
    if (out != NULL)
        output_attach(out, pid);
    /* Also set the group from this side: whichever runs first wins the
     * race, so a KILL to the group right after fork finds it. EACCES
     * means the child already exec'd, having set it itself. */
    if (setpgid(pid, pid) == -1 && errno != EACCES && errno != ESRCH)
        log_debug("pool %s: setpgid %d: %s", pc->name, (int)pid,
                  strerror(errno));
    s->state = SLOT_RUNNING;
    s->pid = pid;
    s->started_at = now;
    s->stable_at = NEVER;
    s->kill_at = NEVER;
    s->freeze_failed = false;
    p->spawns++;
    log_info("pool %s: worker %d started (slot %u)", pc->name, (int)pid,
             s->index);
    return 0;
}

void
child_signal_stop(struct pool *p, struct slot *s, int sig,
                  enum stop_stage stage, uint64_t kill_at)
{
    /* Never let a zero pid turn kill() into "my own process group". */
    if (s->pid <= 0)
        return;
    /* KILL goes to the whole process group so that a worker's own
     * children (php-cgi with PHP_FCGI_CHILDREN, CGI scripts) die too. */
    int rc = sig == SIGKILL ? sys_kill(-s->pid, sig) : -1;
    if (rc == -1)
        rc = sys_kill(s->pid, sig);
    if (rc == -1 && errno != ESRCH)
        log_error_errno("pool %s: cannot send SIG%s to worker %d",
                        p->conf->name, sigabbrev_np(sig), (int)s->pid);
    else
        log_debug("pool %s: sent SIG%s to worker %d", p->conf->name,
                  sigabbrev_np(sig), (int)s->pid);
    /* A worker frozen for the idle check must run to see the signal. */
    if (s->state == SLOT_STOPPING && s->stage == STOP_FROZEN
        && sig != SIGKILL && sys_kill(s->pid, SIGCONT) == -1
        && errno != ESRCH)
        log_error_errno("pool %s: cannot send SIGCONT to worker %d",
                        p->conf->name, (int)s->pid);
    s->state = SLOT_STOPPING;
    s->stage = stage;
    s->kill_at = kill_at;
}

