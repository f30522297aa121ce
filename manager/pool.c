/* Pool sizing and slot life cycle: spawn to the target, respawn with
 * backoff, stop and escalate. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "child.h"
#include "idle.h"
#include "log.h"
#include "pool.h"
#include "sys.h"

unsigned
backoff_ms(const struct pool_conf *pc, unsigned streak)
{
    if (streak == 0)
        return 0;
    uint64_t d = pc->backoff_min_ms;
    for (unsigned i = 1; i < streak && d < pc->backoff_max_ms; i++)
        d *= 2;
    return d > pc->backoff_max_ms ? pc->backoff_max_ms : (unsigned)d;
}

int
pool_plan(unsigned target, unsigned live)
{
    return (int)target - (int)live;
}

int
pool_listen_all(const struct pool_conf *pc, struct listener **out)
{
    struct listener *ls = calloc(pc->nlisten + 1, sizeof(*ls));

    if (ls == NULL) {
        log_error_errno("pool %s: cannot allocate listeners", pc->name);
        return -1;
    }
    for (size_t i = 0; i < pc->nlisten; i++) {
        if (listen_open(&ls[i], pc->listen[i], pc) == -1) {
            while (i-- > 0)
                listen_close(&ls[i]);
            free(ls);
            return -1;
        }
        log_info("pool %s: listening on %s", pc->name, pc->listen[i]);
    }
    *out = ls;
    return (int)pc->nlisten;
}

void
pool_init(struct pool *p, struct manager *m, const struct pool_conf *pc,
          struct listener *ls, size_t nls)
{
    /* Slots are allocated when the first worker needs one, so that this
     * cannot fail halfway through a reload. */
    memset(p, 0, sizeof(*p));
    p->m = m;
    p->conf = pc;
    p->target = pc->workers;
    p->listeners = ls;
    p->nlisteners = nls;
    p->started_wall = sys_wall_time();
}

void
pool_fini(struct pool *p)
{
    for (size_t i = 0; i < p->nlisteners; i++)
        listen_close(&p->listeners[i]);
    free(p->listeners);
    free(p->slots);
    scoreboard_destroy(p->scoreboard);
    p->scoreboard = NULL;
    p->listeners = NULL;
    p->slots = NULL;
    p->nlisteners = 0;
    p->nslots = 0;
}

/* An empty slot, growing the array when every slot is taken. Slots are
 * found by index or pid each time, never kept by pointer, so moving them
 * is safe. NULL when out of memory (logged). */
static struct slot *
free_slot(struct pool *p)
{
    for (size_t i = 0; i < p->nslots; i++)
        if (p->slots[i].state == SLOT_EMPTY)
            return &p->slots[i];
    /* Room for a replacement beside each worker it replaces (reload,
     * recycling). */
    size_t n = p->nslots > 0 ? p->nslots * 2 : 2 * (size_t)p->target + 8;
    struct slot *grown = realloc(p->slots, n * sizeof(*grown));
    if (grown == NULL) {
        log_error_errno("pool %s: cannot grow to %zu slots", p->conf->name,
                        n);
        return NULL;
    }
    memset(grown + p->nslots, 0, (n - p->nslots) * sizeof(*grown));
    for (size_t i = p->nslots; i < n; i++)
        grown[i].index = (unsigned)i;
    struct slot *s = &grown[p->nslots];
    p->slots = grown;
    p->nslots = n;
    return s;
}

static unsigned
live_count(const struct pool *p)
{
    unsigned n = 0;

    for (size_t i = 0; i < p->nslots; i++)
        if ((p->slots[i].state == SLOT_RUNNING && !p->slots[i].outgoing)
            || p->slots[i].state == SLOT_WAITING)
            n++;
    return n;
}

#define IDLE_POLL_MS 10         /* how often to look for an idle worker */
#define FREEZE_CHECK_MS 1       /* how soon a SIGSTOP has taken effect */
#define FREEZE_MAX_MS 100       /* a SIGSTOP that takes longer: retry */

/* Ask s's worker to finish and exit, but only once it waits in accept():
 * the stop signal makes libfcgi drop a connection it has just accepted.
 * If it is never seen idle, it gets the signal after graceful_timeout. */
static void
ask_stop(struct pool *p, struct slot *s, uint64_t now)
{
    s->state = SLOT_STOPPING;
    s->stage = STOP_IDLE_WAIT;
    s->give_up_at = now + p->conf->graceful_timeout_ms;
    s->kill_at = now;
}

static bool
in_accept(pid_t pid)
{
    char buf[256];

    return sys_proc_read(pid, "syscall", buf, sizeof(buf)) > 0
           && idle_syscall_is_accept(buf);
}

/* Looks idle: freeze it, so that a connection arriving now cannot be
 * taken between our check and the signal. */
static void
idle_wait_due(struct pool *p, struct slot *s, uint64_t now)
{
    const struct pool_conf *pc = p->conf;

    if (now >= s->give_up_at) {
        log_warn("pool %s: worker %d not seen idle in accept() within "
                 "%ums; sending SIG%s anyway", pc->name, (int)s->pid,
                 pc->graceful_timeout_ms, sigabbrev_np(pc->stop_signal));
        child_signal_stop(p, s, pc->stop_signal, STOP_ASKED,
                          now + pc->kill_timeout_ms);
        return;
    }
    s->kill_at = now + IDLE_POLL_MS;
    if (!in_accept(s->pid))
        return;
    s->idle_fds = sys_proc_fd_count(s->pid);
    if (s->idle_fds == -1 || sys_kill(s->pid, SIGSTOP) == -1)
        return;
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
    s->kill_at = now + IDLE_POLL_MS;
}

/* Frozen: if it is still inside the same accept() with no new
 * descriptor, no connection reached it, and the stop signal interrupts
 * the accept() once it runs again. Otherwise let it serve and retry. */
static void
frozen_due(struct pool *p, struct slot *s, uint64_t now)
{
    const struct pool_conf *pc = p->conf;
    char buf[512];

    if (sys_proc_read(s->pid, "stat", buf, sizeof(buf)) <= 0
        || !idle_stat_is_stopped(buf)) {
        if (now - s->frozen_at < FREEZE_MAX_MS)
            s->kill_at = now + FREEZE_CHECK_MS;
        else
            thaw(s, now);
        return;
    }
    if (!in_accept(s->pid) || sys_proc_fd_count(s->pid) != s->idle_fds) {
        thaw(s, now);
        return;
    }
    /* child_signal_stop() sends SIGCONT after the signal. */
    child_signal_stop(p, s, pc->stop_signal, STOP_ASKED,
                      now + pc->graceful_timeout_ms);
}

static void
start_one(struct pool *p, uint64_t now)
{
    struct slot *s = free_slot(p);

    if (s == NULL)
        return;
    if (child_spawn(p, s, now) == -1) {
        /* fork failed (memory, pid limit): retry like a crash. */
        s->fail_streak++;
        s->state = SLOT_WAITING;
        s->respawn_at = now + backoff_ms(p->conf, s->fail_streak);
    }
}

/* Stop the newest live slot: a waiting one costs nothing to drop. */
static void
stop_one(struct pool *p, uint64_t now)
{
    for (size_t i = p->nslots; i-- > 0;) {
        struct slot *s = &p->slots[i];
        if (s->state == SLOT_WAITING) {
            s->state = SLOT_EMPTY;
            s->fail_streak = 0;
            return;
        }
        if (s->state == SLOT_RUNNING) {
            ask_stop(p, s, now);
            return;
        }
    }
}

static void
choose_target(struct pool *p, const struct pool_conf *pc)
{
    unsigned old_workers = p->conf->workers;

    if (pc->workers != old_workers || p->target == pc->workers) {
        p->target = pc->workers;
        return;
    }
    if (p->target > pc->max_workers)
        p->target = pc->max_workers;
    log_info("pool %s: keeping size %u set by TTIN/TTOU (workers = %u "
             "unchanged)", pc->name, p->target, pc->workers);
}

void
pool_reconfigure(struct pool *p, const struct pool_conf *pc, uint64_t now)
{
    choose_target(p, pc);
    p->conf = pc;
    p->crash_loop = false;
    for (size_t i = 0; i < p->nslots; i++) {
        struct slot *s = &p->slots[i];
        if (s->state == SLOT_WAITING)
            s->state = SLOT_EMPTY;
        s->fail_streak = 0;
        s->outgoing = s->state == SLOT_RUNNING;
    }
    for (unsigned n = 0; n < p->target; n++)
        start_one(p, now);
    /* start_one may have grown (moved) the slots: index again. */
    for (size_t i = 0; i < p->nslots; i++) {
        struct slot *s = &p->slots[i];
        if (!s->outgoing)
            continue;
        s->outgoing = false;
        ask_stop(p, s, now);
    }
    log_info("pool %s: %u new workers started, old ones asked to stop",
             pc->name, p->target);
}

void
pool_reconcile(struct pool *p, uint64_t now)
{
    int delta = pool_plan(p->target, live_count(p));

    for (; delta > 0; delta--)
        start_one(p, now);
    for (; delta < 0; delta++)
        stop_one(p, now);
}

static void
schedule_respawn(struct pool *p, struct slot *s, uint64_t now)
{
    unsigned delay = backoff_ms(p->conf, s->fail_streak);

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
died_quickly(const struct pool_conf *pc, int st, uint64_t lived_ms)
{
    /* A clean exit is a program retiring itself (php-cgi after
     * PHP_FCGI_MAX_REQUESTS), which under load can come well within
     * min_uptime: only one faster than a tenth of it looks like a
     * program that cannot start at all. */
    if (child_status_is_clean(st))
        return lived_ms < pc->min_uptime_ms / 10;
    return lived_ms < pc->min_uptime_ms;
}

/* What the worker's scoreboard slot says about its end, for cgi and
 * module workers: recycled on purpose, killed by its request timeout, or
 * died while serving a request (named in the log). Returns true when the
 * end is normal and needs no backoff. Logs it. */
static bool
explain_death(struct pool *p, struct slot *s, int st, const char *how,
              double lived_s, uint64_t now)
{
    struct sb_slot *sbs = scoreboard_slot(p->scoreboard, s->index);
    struct sb_snapshot snap;
    const char *name = p->conf->name;

    scoreboard_read(sbs, &snap);
    scoreboard_release(sbs);
    if (sbs == NULL)
        return false;
    p->gone_requests += snap.requests;
    p->gone_slow += snap.slow_requests;
    /* A CGI script of a worker that died mid-request: its own group. */
    if (snap.child_pgid > 0 && sys_kill(-snap.child_pgid, SIGKILL) == 0)
        log_warn("pool %s: killed process group %d left by worker %d",
                 p->conf->name, (int)snap.child_pgid, (int)s->pid);
    if (snap.state == SB_RECYCLING) {
        log_info("pool %s: worker %d (slot %u) recycled after %llu "
                 "requests and %.1fs", name, (int)s->pid, s->index,
                 (unsigned long long)snap.requests, lived_s);
        return true;
    }
    if (snap.state != SB_BUSY)
        return false;
    double busy_s = (double)(now - snap.req_started_ms) / 1000.0;
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
pool_child_died(struct pool *p, struct slot *s, int st, uint64_t now)
{
    char how[96];
    double lived_s = (double)(now - s->started_at) / 1000.0;
    int pid = (int)s->pid;

    child_status_str(st, how, sizeof(how));
    bool normal = explain_death(p, s, st, how, lived_s, now);
    if (s->state == SLOT_STOPPING) {
        log_info("pool %s: worker %d (slot %u) stopped: %s after %.1fs",
                 p->conf->name, pid, s->index, how, lived_s);
        s->state = SLOT_EMPTY;
        s->pid = 0;
        s->fail_streak = 0;
        return;
    }
    if (!normal && died_quickly(p->conf, st, now - s->started_at))
        s->fail_streak++;
    else
        s->fail_streak = 0;
    s->pid = 0;
    schedule_respawn(p, s, now);
    if (normal)
        return;
    if (child_status_is_clean(st) && s->fail_streak == 0)
        log_info("pool %s: worker %d (slot %u) %s after %.1fs, "
                 "respawning", p->conf->name, pid, s->index, how, lived_s);
    else
        log_warn("pool %s: worker %d (slot %u) %s after %.1fs, respawn in "
                 "%ums", p->conf->name, pid, s->index, how, lived_s,
                 (unsigned)(s->respawn_at - now));
}

static void
respawn_due(struct pool *p, struct slot *s, uint64_t now)
{
    unsigned streak = s->fail_streak;

    s->state = SLOT_EMPTY;
    if (child_spawn(p, s, now) == -1) {
        s->fail_streak = streak + 1;
        schedule_respawn(p, s, now);
        return;
    }
    p->respawns++;
    log_info("pool %s: respawned slot %u (%lu respawns so far)",
             p->conf->name, s->index, p->respawns);
    s->fail_streak = streak;
    s->stable_at = streak > 0 ? now + p->conf->min_uptime_ms : NEVER;
}

static void
escalate_due(struct pool *p, struct slot *s, uint64_t now)
{
    if (s->stage == STOP_IDLE_WAIT) {
        idle_wait_due(p, s, now);
        return;
    }
    if (s->stage == STOP_FROZEN) {
        frozen_due(p, s, now);
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

static void
stable_due(struct pool *p, struct slot *s)
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

void
pool_run_due(struct pool *p, uint64_t now)
{
    for (size_t i = 0; i < p->nslots; i++) {
        struct slot *s = &p->slots[i];
        if (s->state == SLOT_WAITING && s->respawn_at <= now)
            respawn_due(p, s, now);
        else if (s->state == SLOT_STOPPING && s->kill_at <= now)
            escalate_due(p, s, now);
        else if (s->state == SLOT_RUNNING && s->stable_at <= now)
            stable_due(p, s);
    }
}

uint64_t
pool_next_deadline(const struct pool *p)
{
    uint64_t next = NEVER;

    for (size_t i = 0; i < p->nslots; i++) {
        const struct slot *s = &p->slots[i];
        uint64_t at = s->state == SLOT_WAITING    ? s->respawn_at
                      : s->state == SLOT_STOPPING ? s->kill_at
                      : s->state == SLOT_RUNNING  ? s->stable_at
                                                  : NEVER;
        if (at < next)
            next = at;
    }
    return next;
}

void
pool_stop_all(struct pool *p, bool graceful, uint64_t now)
{
    const struct pool_conf *pc = p->conf;

    /* Stop accepting: the queue still drains, nothing new arrives. */
    for (size_t i = 0; i < p->nlisteners; i++)
        listen_unlink(&p->listeners[i]);

    for (size_t i = 0; i < p->nslots; i++) {
        struct slot *s = &p->slots[i];
        if (s->state == SLOT_WAITING) {
            s->state = SLOT_EMPTY;
        } else if (graceful && s->state == SLOT_RUNNING) {
            ask_stop(p, s, now);
        } else if (!graceful && (s->state == SLOT_RUNNING
                                 || (s->state == SLOT_STOPPING
                                     && s->stage <= STOP_ASKED))) {
            child_signal_stop(p, s, SIGTERM, STOP_TERMED,
                              now + pc->kill_timeout_ms);
        }
    }
}

void
pool_kill_all(struct pool *p)
{
    for (size_t i = 0; i < p->nslots; i++) {
        struct slot *s = &p->slots[i];
        if (s->state == SLOT_RUNNING || s->state == SLOT_STOPPING)
            child_signal_stop(p, s, SIGKILL, STOP_KILLED, NEVER);
    }
}

bool
pool_is_empty(const struct pool *p)
{
    for (size_t i = 0; i < p->nslots; i++)
        if (p->slots[i].state != SLOT_EMPTY)
            return false;
    return true;
}

struct slot *
pool_find_pid(struct pool *p, pid_t pid)
{
    for (size_t i = 0; i < p->nslots; i++) {
        struct slot *s = &p->slots[i];
        if ((s->state == SLOT_RUNNING || s->state == SLOT_STOPPING)
            && s->pid == pid)
            return s;
    }
    return NULL;
}
