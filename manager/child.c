/* A worker slot's life: fork a worker into it, account for its death and
 * respawn it with backoff, and stop it, escalating by kill_at: stop
 * signal (once an exec worker is seen idle), TERM, KILL. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"
#include "conns.h"
#include "log.h"
#include "output.h"
#include "procfs.h"
#include "scale.h"
#include "sys.h"
#include "worker.h"
#include "wstatus.h"

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
    ws.wake_fd = ws.scoreboard != NULL ? scale_busy_wake_fd(p) : -1;

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
    s->stops_itself = pc->mode != MODE_EXEC;
    scale_spawned(p, s, now);
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

unsigned
child_backoff_ms(const struct pool_conf *pc, unsigned streak)
{
    /* The first quick death in a row is free: an OOM kill or an
     * operator's kill -9 that lands on a young worker is no crash loop,
     * and the pool should not stay a worker short for it. */
    if (streak <= 1)
        return 0;
    uint64_t d = pc->backoff_min_ms;
    for (unsigned i = 2; i < streak && d < pc->backoff_max_ms; i++)
        d *= 2;
    return d > pc->backoff_max_ms ? pc->backoff_max_ms : (unsigned)d;
}

/* Respawn slot s after the backoff its fail_streak calls for. The first
 * quick death in a row is free (child_backoff_ms), except for a failed
 * fork and a clean exit counted as a crash (over the clean-respawn
 * budget, or instant), which back off one step further: exits
 * alternating within and over the budget would otherwise never wait. */
static void
schedule_respawn(struct pool *p, struct slot *s, uint64_t now,
                 bool no_free_step)
{
    unsigned delay = child_backoff_ms(p->conf,
                                      s->fail_streak + no_free_step);

    /* Up to 10% jitter keeps slots that crashed together from coming back
     * in lockstep. */
    if (delay > 0)
        delay += sys_random(delay / 10 + 1);
    s->state = SLOT_WAITING;
    s->respawn_at = now + delay;
    if (s->fail_streak >= 3 && !p->crash_loop) {
        p->crash_loop = true;
        log_error("pool %s: crash loop: worker slot %u died %u times in a "
                  "row within %ums of starting; respawning with backoff "
                  "up to %ums", p->conf->name, s->index, s->fail_streak,
                  p->conf->min_uptime_ms, p->conf->backoff_max_ms);
    }
}

bool
child_died_quickly(const struct pool_conf *pc, int st, uint64_t lived_ms)
{
    /* A clean exit is a program retiring itself (php-cgi after
     * PHP_FCGI_MAX_REQUESTS), which under load comes well within
     * min_uptime: only one within a hundredth of it (10 ms) looks like a
     * program that cannot start at all. clean_respawn_allowed() bounds
     * the others. */
    if (wstatus_is_clean(st))
        return lived_ms < pc->min_uptime_ms / 100;
    return lived_ms < pc->min_uptime_ms;
}

/* Clean exits within min_uptime respawn at once, up to
 * CLEAN_RESPAWNS_PER_WORKER a second per worker of the pool (php-cgi
 * retiring every 500 requests at 5000 requests/s); beyond that they
 * count as crashes and back off, so no program becomes a fork storm by
 * exiting 0. A token bucket, refilled continuously. */
#define CLEAN_RESPAWNS_PER_WORKER 10.0

static bool
clean_respawn_allowed(struct pool *p, uint64_t now)
{
    double rate = CLEAN_RESPAWNS_PER_WORKER * (p->target ? p->target : 1);

    if (p->clean_at == 0 || now < p->clean_at)
        p->clean_tokens = rate;
    else
        p->clean_tokens += (double)(now - p->clean_at) * rate / 1000.0;
    if (p->clean_tokens > rate)
        p->clean_tokens = rate;
    p->clean_at = now;
    if (p->clean_tokens < 1.0)
        return false;
    p->clean_tokens -= 1.0;
    return true;
}

/* Whether a death feeds the backoff: an unclean one within min_uptime,
 * or a clean one too fast to be a program retiring itself, or too
 * frequent to be left unbounded. */
static bool
counts_as_crash(struct pool *p, int st, uint64_t lived, uint64_t now)
{
    if (lived >= p->conf->min_uptime_ms)
        return false;
    if (!wstatus_is_clean(st) || child_died_quickly(p->conf, st, lived))
        return true;
    return !clean_respawn_allowed(p, now);
}

/* What the worker's scoreboard slot says about its end, for cgi and
 * module workers: recycled on purpose, killed by its request timeout, or
 * died while serving a request (named in the log). Returns true when the
 * end is normal and needs no backoff. Logs it. The slot is what the
 * worker wrote: its counters and strings are only shown, and what it
 * left running is found by the master itself (orphan.c), not named by
 * the slot. */
static bool
explain_death(struct pool *p, struct slot *s, int st, const char *how,
              double lived_s, uint64_t now)
{
    struct sb_slot *sbs = scoreboard_map_slot(p->scoreboard, s->index);
    struct sb_snapshot snap;
    const char *name = p->conf->name;

    scoreboard_read(sbs, &snap);
    scoreboard_release(sbs);
    if (sbs == NULL)
        return false;
    p->gone_requests += snap.requests;
    p->gone_slow += snap.slow_requests;
    if (snap.state == SB_RECYCLING) {
        log_info("pool %s: worker %d (slot %u) recycled after %llu "
                 "requests and %.1fs", name, (int)s->pid, s->index,
                 (unsigned long long)snap.requests, lived_s);
        return true;
    }
    if (snap.state != SB_BUSY)
        return false;
    double busy_s = now > snap.req_started_ms
                        ? (double)(now - snap.req_started_ms) / 1000.0 : 0;
    scoreboard_printable(snap.method);
    scoreboard_printable(snap.uri);
    if (WIFSIGNALED(st) && WTERMSIG(st) == SIGALRM) {
        log_warn("pool %s: worker %d (slot %u) killed: request_timeout "
                 "(%ums) serving %s %s for %.1fs", name, (int)s->pid,
                 s->index, p->conf->request_timeout_ms, snap.method,
                 snap.uri, busy_s);
        return true;
    }
    log_warn("pool %s: worker %d (slot %u) %s while serving %s %s for "
             "%.1fs", name, (int)s->pid, s->index, how, snap.method,
             snap.uri, busy_s);
    return false;
}

void
child_died(struct pool *p, struct slot *s, int st, uint64_t now)
{
    char how[96];
    double lived_s = (double)(now - s->started_at) / 1000.0;
    int pid = (int)s->pid;

    wstatus_describe(st, how, sizeof(how));
    bool normal = explain_death(p, s, st, how, lived_s, now);
    if (s->state == SLOT_STOPPING) {
        log_info("pool %s: worker %d (slot %u) stopped: %s after %.1fs",
                 p->conf->name, pid, s->index, how, lived_s);
        s->state = SLOT_EMPTY;
        s->pid = 0;
        s->fail_streak = 0;
        return;
    }
    /* "Recycled" or "timed out" is the worker's word, read from its
     * scoreboard: it spares the backoff only within the clean-respawn
     * budget, or a worker could fork-storm the master by claiming it. */
    uint64_t lived = now - s->started_at;
    bool crash = normal ? lived < p->conf->min_uptime_ms
                              && !clean_respawn_allowed(p, now)
                        : counts_as_crash(p, st, lived, now);
    if (crash)
        s->fail_streak++;
    else
        s->fail_streak = 0;
    s->pid = 0;
    schedule_respawn(p, s, now, crash && wstatus_is_clean(st));
    if (normal)
        return;
    if (wstatus_is_clean(st) && s->fail_streak == 0)
        log_info("pool %s: worker %d (slot %u) %s after %.1fs, "
                 "respawning", p->conf->name, pid, s->index, how, lived_s);
    else if (s->respawn_at == now)
        log_warn("pool %s: worker %d (slot %u) %s after %.1fs, "
                 "respawning", p->conf->name, pid, s->index, how, lived_s);
    else
        log_warn("pool %s: worker %d (slot %u) %s after %.1fs, respawn in "
                 "%ums", p->conf->name, pid, s->index, how, lived_s,
                 (unsigned)(s->respawn_at - now));
}

void
child_fork_failed(struct pool *p, struct slot *s, uint64_t now)
{
    /* Out of memory or pids: unlike a young worker's death, no reason to
     * try again at once. */
    s->fail_streak++;
    schedule_respawn(p, s, now, true);
}

void
child_respawn_due(struct pool *p, struct slot *s, uint64_t now)
{
    unsigned streak = s->fail_streak;

    s->state = SLOT_EMPTY;
    if (child_spawn(p, s, now) == -1) {
        s->fail_streak = streak;
        child_fork_failed(p, s, now);
        return;
    }
    p->respawns++;
    log_info("pool %s: respawned slot %u (%lu respawns so far)",
             p->conf->name, s->index, p->respawns);
    s->fail_streak = streak;
    s->stable_at = streak > 0 ? now + p->conf->min_uptime_ms : NEVER;
}

void
child_stable_due(struct pool *p, struct slot *s)
{
    s->fail_streak = 0;
    s->stable_at = NEVER;
    if (!p->crash_loop)
        return;
    for (size_t i = 0; i < p->nslots; i++)
        if (p->slots[i].fail_streak > 0)
            return;
    p->crash_loop = false;
    log_info("pool %s: recovered: worker %d has run for %ums",
             p->conf->name, (int)s->pid, p->conf->min_uptime_ms);
}

#define IDLE_LOOK_MIN_MS 10     /* first look for an idle exec worker */
#define IDLE_LOOK_MAX_MS 1024   /* the looks back off, doubling, to this */
#define FREEZE_CHECK_MS 1       /* how soon a SIGSTOP has taken effect */
#define FREEZE_MAX_MS 100       /* a SIGSTOP that takes longer: retry */
#define END_GRACE_MS 200        /* stop_signal's time to end an idle one */

enum idle_verdict
child_idle_verdict(const struct idle_look *l)
{
    if (l->asked)
        return l->conns == 0 ? IDLE_END : IDLE_BUSY;
    return l->conns == 0 || l->in_accept ? IDLE_ASK : IDLE_BUSY;
}

/* Look at s's worker: what it does and the connections it holds (not
 * looked at, -1, when accept() alone settles it). */
static enum idle_verdict
look(const struct slot *s, struct idle_look *l)
{
    l->asked = s->stop_asked;
    l->in_accept = procfs_in_accept(s->pid);
    l->conns = l->in_accept && !s->stop_asked ? -1 : conns_held(s->pid);
    return child_idle_verdict(l);
}

/* Ask s's worker to finish and exit. A cgi or module worker stops itself
 * at any moment (its own loop finishes the request in hand and drops no
 * connection it accepted): it gets the stop signal at once. An exec
 * program gets it once it is seen idle (child_idle_verdict), frozen
 * meanwhile: libfcgi drops a connection it has just accepted when the
 * signal comes. One the signal does not end (Go ignores USR1, Ruby's
 * fcgi exits after one more request) is ended once idle again; one never
 * seen idle gets TERM at graceful_timeout, KILL kill_timeout later. */
void
child_ask_stop(struct pool *p, struct slot *s, uint64_t now)
{
    const struct pool_conf *pc = p->conf;

    if (s->stops_itself) {
        child_signal_stop(p, s, pc->stop_signal, STOP_ASKED,
                          now + pc->graceful_timeout_ms);
        return;
    }
    s->state = SLOT_STOPPING;
    s->stage = STOP_IDLE_WAIT;
    s->stop_asked = false;
    s->give_up_at = now + pc->graceful_timeout_ms;
    s->look_ms = IDLE_LOOK_MIN_MS;
    s->kill_at = now;
}

/* The next look at an exec worker not seen idle: 10 ms, then twice as
 * long each time up to about a second, so that one serving a long
 * request (or pinned by a kept connection) costs a few /proc reads, not
 * a hundred a second. Never past give_up_at. */
static void
next_look(struct slot *s, uint64_t now)
{
    s->kill_at = now + s->look_ms;
    if (s->kill_at > s->give_up_at)
        s->kill_at = s->give_up_at;
    s->look_ms = s->look_ms < IDLE_LOOK_MAX_MS / 2 ? s->look_ms * 2
                                                   : IDLE_LOOK_MAX_MS;
}

/* graceful_timeout is over and s's worker was never seen idle (or never
 * again after stop_signal): a fast stop from here. */
static void
give_up(struct pool *p, struct slot *s, uint64_t now)
{
    const struct pool_conf *pc = p->conf;

    log_warn("pool %s: worker %d not seen idle within graceful_timeout "
             "(%ums); sending TERM, KILL in %ums", pc->name, (int)s->pid,
             pc->graceful_timeout_ms, pc->kill_timeout_ms);
    child_signal_stop(p, s, SIGTERM, STOP_TERMED, now + pc->kill_timeout_ms);
}

/* Looks idle: freeze it, so that a connection arriving now cannot be
 * taken between our check and the signal. Stopping a process can make
 * some of its blocking calls (epoll_wait) return EINTR once it runs
 * again, which every event loop handles. */
static void
idle_wait_due(struct pool *p, struct slot *s, uint64_t now)
{
    const struct pool_conf *pc = p->conf;
    struct idle_look l;

    if (now >= s->give_up_at) {
        give_up(p, s, now);
        return;
    }
    next_look(s, now);
    if (look(s, &l) == IDLE_BUSY)
        return;
    s->idle_fds = sys_proc_fd_count(s->pid, PROCFS_FDS_MAX);
    if (s->idle_fds == -1 || sys_kill(s->pid, SIGSTOP) == -1) {
        /* ESRCH: it is exiting, and its reaping ends this. Anything else
         * is retried at the next look, and said once. */
        bool failed = errno != ESRCH;
        if (failed && !s->freeze_failed)
            log_warn_errno("pool %s: cannot %s worker %d to stop it idle",
                           pc->name, s->idle_fds == -1 ? "count the fds of"
                                                       : "SIGSTOP",
                           (int)s->pid);
        s->freeze_failed = failed;
        return;
    }
    s->stage = STOP_FROZEN;
    s->frozen_at = now;
    s->kill_at = now + FREEZE_CHECK_MS;
}

static void
thaw(struct slot *s, uint64_t now)
{
    if (sys_kill(s->pid, SIGCONT) == -1 && errno != ESRCH)
        log_error_errno("cannot send SIGCONT to worker %d", (int)s->pid);
    s->stage = STOP_IDLE_WAIT;
    next_look(s, now);
}

/* Frozen and idle still: end it. TERM where it ends the worker before
 * it can take a connection (one thread, or TERM not caught); KILL where
 * another thread could accept one while the first runs its handler (a
 * Go program). */
static void
end_idle(struct pool *p, struct slot *s, uint64_t now)
{
    const struct pool_conf *pc = p->conf;
    int sig = procfs_term_ends_at_once(s->pid) ? SIGTERM : SIGKILL;

    log_info("pool %s: worker %d idle and still running after SIG%s; "
             "ending it with SIG%s", pc->name, (int)s->pid,
             sigabbrev_np(pc->stop_signal), sigabbrev_np(sig));
    if (sig == SIGTERM)
        child_signal_stop(p, s, sig, STOP_TERMED, now + pc->kill_timeout_ms);
    else
        child_signal_stop(p, s, sig, STOP_KILLED, now + 60000);
}

/* Frozen: if it is still idle (and, where only accept() told, inside
 * the same accept() with no new descriptor), no connection reached it:
 * the signal is seen before it runs again. Otherwise let it serve and
 * look again. */
static void
frozen_due(struct pool *p, struct slot *s, uint64_t now)
{
    const struct pool_conf *pc = p->conf;
    struct idle_look l;

    if (sys_group_stopped(s->pid) != 1) {
        if (now - s->frozen_at < FREEZE_MAX_MS)
            s->kill_at = now + FREEZE_CHECK_MS;
        else
            thaw(s, now);
        return;
    }
    enum idle_verdict v = look(s, &l);
    if (v == IDLE_BUSY
        || (l.conns != 0 && sys_proc_fd_count(s->pid, PROCFS_FDS_MAX) != s->idle_fds)) {
        thaw(s, now);
        return;
    }
    if (v == IDLE_END) {
        end_idle(p, s, now);
        return;
    }
    /* child_signal_stop() sends SIGCONT after the signal. */
    child_signal_stop(p, s, pc->stop_signal, STOP_ASKED,
                      now + END_GRACE_MS < s->give_up_at
                          ? now + END_GRACE_MS : s->give_up_at);
    s->stop_asked = true;
}

/* stop_signal went to s's idle exec worker END_GRACE_MS ago and it still
 * runs: look for it idle again, to end it. */
static void
asked_due(struct pool *p, struct slot *s, uint64_t now)
{
    if (now >= s->give_up_at) {
        give_up(p, s, now);
        return;
    }
    s->stage = STOP_IDLE_WAIT;
    s->look_ms = IDLE_LOOK_MIN_MS;
    idle_wait_due(p, s, now);
}

void
child_escalate_due(struct pool *p, struct slot *s, uint64_t now)
{
    if (s->stage == STOP_IDLE_WAIT) {
        idle_wait_due(p, s, now);
        return;
    }
    if (s->stage == STOP_FROZEN) {
        frozen_due(p, s, now);
        return;
    }
    if (s->stage == STOP_ASKED && !s->stops_itself) {
        asked_due(p, s, now);
        return;
    }
    const char *was = s->stage == STOP_ASKED ? "graceful" : "fast";
    unsigned waited = s->stage == STOP_ASKED ? p->conf->graceful_timeout_ms
                                             : p->conf->kill_timeout_ms;

    if (s->stage == STOP_KILLED) {
        /* KILL cannot be caught: only an unkillable (D-state) process is
         * still here. Say so once a minute rather than spin. */
        log_warn("pool %s: worker %d ignores KILL", p->conf->name,
                 (int)s->pid);
        s->kill_at = now + 60000;
        return;
    }
    log_warn("pool %s: worker %d still running %ums after %s stop, "
             "sending KILL", p->conf->name, (int)s->pid, waited, was);
    child_signal_stop(p, s, SIGKILL, STOP_KILLED, now + 60000);
}
