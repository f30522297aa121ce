/* Pool sizing and slot life cycle: spawn to the target, respawn with
 * backoff, stop and escalate; the process managers that move the target.
 * doc/pool.md tells how they stay off the CPU. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"
#include "log.h"
#include "loop.h"
#include "pool.h"
#include "procfs.h"
#include "queue.h"
#include "sys.h"
#include "wstatus.h"

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

static watch_fn on_wake, on_busy_wake;
static void wake_close(struct pool *p);
static void busy_wake_close(struct pool *p);

void
pool_init(struct pool *p, struct manager *m, const struct pool_conf *pc,
          struct listener *ls, size_t nls)
{
    /* Slots are allocated when the first worker needs one, so that this
     * cannot fail halfway through a reload. */
    memset(p, 0, sizeof(*p));
    p->m = m;
    p->conf = pc;
    p->target = pm_initial_target(pc);
    p->listeners = ls;
    p->nlisteners = nls;
    p->started_wall = sys_wall_time();
    pm_init(&p->pm, pc, p->target);
    p->pm_wake.fd = -1;
    p->pm_wake.fn = on_wake;
    p->busy_wake.fd = -1;
    p->busy_wake.fn = on_busy_wake;
    if (pc->pm == PM_DYNAMIC && pc->mode == MODE_EXEC)
        log_warn("pool %s: pm dynamic needs to see idle workers, which "
                 "exec mode cannot; running it as adaptive", pc->name);
}

void
pool_fini(struct pool *p)
{
    wake_close(p);
    busy_wake_close(p);
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

static struct slot *
empty_slot(struct pool *p)
{
    for (size_t i = 0; i < p->nslots; i++)
        if (p->slots[i].state == SLOT_EMPTY)
            return &p->slots[i];
    return NULL;
}

/* Whether free_slot has a slot to give: an empty one, or room to grow.
 * If not, says so once until it has. */
static bool
slot_available(struct pool *p)
{
    if (p->nslots < POOL_SLOTS_MAX || empty_slot(p) != NULL) {
        p->slots_full = false;
        return true;
    }
    if (!p->slots_full)
        log_warn("pool %s: all %zu worker slots in use (old workers still "
                 "stopping); more start as they leave", p->conf->name,
                 p->nslots);
    p->slots_full = true;
    return false;
}

/* An empty slot, growing the array when every slot is taken, up to
 * POOL_SLOTS_MAX (the scoreboard's size). Slots are found by index or pid
 * each time, never kept by pointer, so moving them is safe. NULL when out
 * of memory or at POOL_SLOTS_MAX (logged); pool_reconcile tries again
 * once a stopping worker has left. */
static struct slot *
free_slot(struct pool *p)
{
    struct slot *s = empty_slot(p);

    if (s != NULL) {
        p->slots_full = false;
        return s;
    }
    if (!slot_available(p))
        return NULL;
    /* Room for a replacement beside each worker it replaces (reload,
     * recycling). */
    size_t n = p->nslots > 0 ? p->nslots * 2 : 2 * (size_t)p->target + 8;
    if (n > POOL_SLOTS_MAX)
        n = POOL_SLOTS_MAX;
    struct slot *grown = realloc(p->slots, n * sizeof(*grown));
    if (grown == NULL) {
        log_error_errno("pool %s: cannot grow to %zu slots", p->conf->name,
                        n);
        return NULL;
    }
    memset(grown + p->nslots, 0, (n - p->nslots) * sizeof(*grown));
    for (size_t i = p->nslots; i < n; i++)
        grown[i].index = (unsigned)i;
    s = &grown[p->nslots];
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

#define IDLE_LOOK_MIN_MS 10     /* first look for an idle exec worker */
#define IDLE_LOOK_MAX_MS 1024   /* the looks back off, doubling, to this */
#define FREEZE_CHECK_MS 1       /* how soon a SIGSTOP has taken effect */
#define FREEZE_MAX_MS 100       /* a SIGSTOP that takes longer: retry */

/* Ask s's worker to finish and exit. A cgi or module worker stops itself
 * at any moment (its own loop finishes the request in hand and drops no
 * connection it accepted): it gets the stop signal at once. An exec
 * program's libfcgi drops a connection it has just accepted when the
 * signal comes, so it gets the signal only once it is seen waiting in
 * accept(), or after graceful_timeout. */
static void
ask_stop(struct pool *p, struct slot *s, uint64_t now)
{
    const struct pool_conf *pc = p->conf;

    if (s->stops_itself) {
        child_signal_stop(p, s, pc->stop_signal, STOP_ASKED,
                          now + pc->graceful_timeout_ms);
        return;
    }
    s->state = SLOT_STOPPING;
    s->stage = STOP_IDLE_WAIT;
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
    next_look(s, now);
    if (!procfs_in_accept(s->pid))
        return;
    s->idle_fds = sys_proc_fd_count(s->pid);
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

/* Frozen: if it is still inside the same accept() with no new
 * descriptor, no connection reached it, and the stop signal interrupts
 * the accept() once it runs again. Otherwise let it serve and retry. */
static void
frozen_due(struct pool *p, struct slot *s, uint64_t now)
{
    const struct pool_conf *pc = p->conf;

    if (!procfs_is_stopped(s->pid)) {
        if (now - s->frozen_at < FREEZE_MAX_MS)
            s->kill_at = now + FREEZE_CHECK_MS;
        else
            thaw(s, now);
        return;
    }
    if (!procfs_in_accept(s->pid)
        || sys_proc_fd_count(s->pid) != s->idle_fds) {
        thaw(s, now);
        return;
    }
    /* child_signal_stop() sends SIGCONT after the signal. */
    child_signal_stop(p, s, pc->stop_signal, STOP_ASKED,
                      now + pc->graceful_timeout_ms);
}

/* A worker was just forked into s: nothing is known of it yet, and the
 * pm looks at the pool again soon (it is starting). */
static void
spawned(struct pool *p, struct slot *s, uint64_t now)
{
    s->stops_itself = p->conf->mode != MODE_EXEC;
    s->pm_ready = false;
    s->pm_activity = 0;
    s->pm_idle_since = NEVER;
    if (p->pm.kind != PM_STATIC && !p->pm.stopped
        && p->pm.tick_at > now + PM_START_CHECK_MS)
        p->pm.tick_at = now + PM_START_CHECK_MS;
}

/* Start a worker in a free slot. False when there is none (free_slot):
 * a fork that fails is retried from its slot like a crash. */
static bool
start_one(struct pool *p, uint64_t now)
{
    struct slot *s = free_slot(p);

    if (s == NULL)
        return false;
    if (child_spawn(p, s, now) == 0) {
        spawned(p, s, now);
    } else {
        /* fork failed (memory, pid limit): retry like a crash. */
        s->fail_streak++;
        s->state = SLOT_WAITING;
        s->respawn_at = now + backoff_ms(p->conf, s->fail_streak);
    }
    return true;
}

/* Whether the idle workers of p show in its scoreboard. */
static bool
sees_idle(const struct pool *p)
{
    return p->conf->mode != MODE_EXEC && p->scoreboard != NULL;
}

/* Idle at the last look: the scoreboard says so, or (exec) the pm saw it
 * in accept(). */
static bool
looks_idle(struct pool *p, const struct slot *s)
{
    struct sb_snapshot snap;

    if (!sees_idle(p))
        return s->pm_idle_since != NEVER;
    scoreboard_read(scoreboard_map_slot(p->scoreboard, s->index), &snap);
    return pm_seen_state(snap.state) == PM_SEEN_IDLE;
}

/* The slot to stop: a waiting one costs nothing to drop; then the newest
 * idle worker, which has no request to finish; then the newest. */
static struct slot *
pick_stop(struct pool *p)
{
    struct slot *idle = NULL, *newest = NULL;

    for (size_t i = p->nslots; i-- > 0;) {
        struct slot *s = &p->slots[i];
        if (s->state == SLOT_WAITING)
            return s;
        if (s->state != SLOT_RUNNING || s->outgoing)
            continue;
        if (newest == NULL)
            newest = s;
        if (idle == NULL && looks_idle(p, s))
            idle = s;
    }
    return idle != NULL ? idle : newest;
}

static void
stop_one(struct pool *p, uint64_t now)
{
    struct slot *s = pick_stop(p);

    if (s == NULL)
        return;
    if (s->state == SLOT_WAITING) {
        s->state = SLOT_EMPTY;
        s->fail_streak = 0;
        return;
    }
    ask_stop(p, s, now);
}

static void
choose_static_target(struct pool *p, const struct pool_conf *pc)
{
    unsigned old_workers = p->conf->workers;

    if (pc->workers != old_workers || p->target == pc->workers
        || p->pm.kind != PM_STATIC) {
        p->target = pc->workers;
        return;
    }
    if (p->target > pc->max_workers)
        p->target = pc->max_workers;
    log_info("pool %s: keeping size %u set by TTIN/TTOU (workers = %u "
             "unchanged)", pc->name, p->target, pc->workers);
}

/* Under the same pm and min_workers, the pool keeps its size and the
 * floor TTIN/TTOU set (within the new bounds); otherwise it starts over
 * as at start-up. */
static void
choose_target(struct pool *p, const struct pool_conf *pc)
{
    enum pm_kind kind = pm_kind_for(pc);
    unsigned floor = pm_default_floor(pc);

    if (kind == PM_STATIC) {
        choose_static_target(p, pc);
    } else if (kind != p->pm.kind
               || pc->min_workers != p->conf->min_workers) {
        p->target = pm_initial_target(pc);
    } else {
        floor = p->pm.floor < pc->max_workers ? p->pm.floor
                                              : pc->max_workers;
        if (floor != pm_default_floor(pc))
            log_info("pool %s: keeping at least %u workers set by "
                     "TTIN/TTOU (min_workers unchanged)", pc->name, floor);
        if (p->target < floor)
            p->target = floor;
        if (p->target > pc->max_workers)
            p->target = pc->max_workers;
    }
    pm_init(&p->pm, pc, p->target);
    p->pm.floor = floor;
}

void
pool_reconfigure(struct pool *p, const struct pool_conf *pc, uint64_t now)
{
    /* The listening socket may have changed: watch the new one. */
    wake_close(p);
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
    unsigned started = 0;
    while (started < p->target && start_one(p, now))
        started++;
    /* start_one may have grown (moved) the slots: index again. */
    for (size_t i = 0; i < p->nslots; i++) {
        struct slot *s = &p->slots[i];
        if (!s->outgoing)
            continue;
        s->outgoing = false;
        ask_stop(p, s, now);
    }
    log_info("pool %s: %u new workers started, old ones asked to stop",
             pc->name, started);
}

void
pool_reconcile(struct pool *p, uint64_t now)
{
    struct pm_state *st = &p->pm;
    unsigned rate = p->conf->max_spawn_rate;
    int delta = pool_plan(p->target, live_count(p));

    st->deferred_at = NEVER;
    if (delta > 0) {
        /* No slot: only a worker leaving makes room, and reaping it
         * brings us back here. No token is taken, no wake-up set. */
        if (!slot_available(p))
            return;
        unsigned n = pm_bucket_take(&st->bucket, rate, (unsigned)delta, now);
        for (unsigned i = 0; i < n; i++)
            if (!start_one(p, now))
                return;
        if (n == (unsigned)delta) {
            st->rate_logged = false;
            return;
        }
        st->deferred_at = pm_bucket_ready_at(&st->bucket, rate, now);
        if (!st->rate_logged)
            log_info("pool %s: max_spawn_rate (%u/s) reached: %u more "
                     "workers start as it allows", p->conf->name, rate,
                     (unsigned)delta - n);
        st->rate_logged = true;
        return;
    }
    st->rate_logged = false;
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
    if (!wstatus_is_clean(st) || died_quickly(p->conf, st, lived))
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
pool_child_died(struct pool *p, struct slot *s, int st, uint64_t now)
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
    schedule_respawn(p, s, now);
    if (normal)
        return;
    if (wstatus_is_clean(st) && s->fail_streak == 0)
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
    spawned(p, s, now);
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

/* ---- process managers: sample the pool, decide (pm.c), act ---- */

#define EXEC_START_MS 200       /* an exec worker neither seen in accept()
                                   nor holding a connection counts as
                                   starting this long */

static bool
pm_active(const struct pool *p)
{
    return p->pm.kind != PM_STATIC && !p->pm.stopped;
}

static void
set_target(struct pool *p, unsigned target)
{
    p->target = target;
}

/* A duplicate of the listening socket is what we watch, so that whoever
 * closes the listener (a reload, a retired pool) cannot leave a stale
 * registration behind: we remove ours, then close our copy. 0, or -1
 * (errno set, logged by loop_watch). */
static int
wake_add(struct pool *p)
{
    if (p->m == NULL)           /* unit tests: no loop */
        return 0;
    if (p->pm_wake.fd == -1)
        p->pm_wake.fd = fcntl(p->listeners[0].fd, F_DUPFD_CLOEXEC, 3);
    if (p->pm_wake.fd == -1)
        return -1;
    return loop_watch(p->m, &p->pm_wake, EPOLLIN);
}

static void
wake_arm(struct pool *p, uint64_t now)
{
    struct pm_state *st = &p->pm;

    if (wake_add(p) == 0) {
        st->watching = true;
        st->watch_logged = false;
        return;
    }
    if (!st->watch_logged)
        log_error_errno("pool %s: cannot watch the listening socket; "
                        "reading its queue every second instead",
                        p->conf->name);
    st->watch_logged = true;
    /* Look at the queue in a second as if woken, and try again then. */
    st->rearm_at = now + 1000;
    st->woken = true;
    if (st->tick_at > st->rearm_at)
        st->tick_at = st->rearm_at;
}

static void
wake_disarm(struct pool *p)
{
    if (!p->pm.watching)
        return;
    if (p->m != NULL)
        loop_unwatch(p->m, &p->pm_wake);
    p->pm.watching = false;
}

static void
wake_close(struct pool *p)
{
    wake_disarm(p);
    if (p->pm_wake.fd != -1 && close(p->pm_wake.fd) == -1)
        log_warn_errno("pool %s: cannot close the copy of the listening "
                       "socket", p->conf->name);
    p->pm_wake.fd = -1;
}

/* A connection waits: look at the pool now. */
static void
on_wake(struct manager *m, struct watch *w, uint32_t events)
{
    struct pool *p = (struct pool *)((char *)w - offsetof(struct pool,
                                                          pm_wake));

    (void)m;
    (void)events;
    wake_disarm(p);
    p->pm.woken = true;
    p->pm.tick_at = 0;
}

/* A worker went busy while the dynamic pool slept: look at it now. */
static void
on_busy_wake(struct manager *m, struct watch *w, uint32_t events)
{
    struct pool *p = (struct pool *)((char *)w - offsetof(struct pool,
                                                          busy_wake));
    uint64_t count;

    (void)m;
    (void)events;
    if (read(w->fd, &count, sizeof(count)) == -1 && errno != EAGAIN)
        log_warn_errno("pool %s: cannot read the busy-worker eventfd",
                       p->conf->name);
    if (!p->pm.stopped)
        p->pm.tick_at = 0;
}

int
pool_busy_wake_fd(struct pool *p)
{
    if (p->busy_wake.fd != -1 || p->m == NULL || p->pm.kind != PM_DYNAMIC
        || p->conf->mode == MODE_EXEC)
        return p->busy_wake.fd;
    p->busy_wake.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (p->busy_wake.fd == -1) {
        log_error_errno("pool %s: cannot create the busy-worker eventfd; "
                        "spares are refilled once a connection waits",
                        p->conf->name);
        return -1;
    }
    if (loop_watch(p->m, &p->busy_wake, EPOLLIN) == -1) {
        close(p->busy_wake.fd);
        p->busy_wake.fd = -1;
    }
    return p->busy_wake.fd;
}

static void
busy_wake_close(struct pool *p)
{
    if (p->busy_wake.fd == -1)
        return;
    if (p->m != NULL)
        loop_unwatch(p->m, &p->busy_wake);
    if (close(p->busy_wake.fd) == -1)
        log_warn_errno("pool %s: cannot close the busy-worker eventfd",
                       p->conf->name);
    p->busy_wake.fd = -1;
}

/* A dynamic pool about to sleep with no timer (every worker idle within
 * its spares) arms the scoreboard, so that the first worker to go busy
 * wakes it and the spares are refilled before a connection waits. A
 * worker that went busy since the sample missed the arming: then look
 * again after the usual tick. While the pool ticks, nobody needs waking. */
static void
busy_wake_settle(struct pool *p, uint64_t now)
{
    if (p->busy_wake.fd == -1 || p->scoreboard == NULL)
        return;
    if (p->pm.kind != PM_DYNAMIC || p->pm.tick_at != NEVER) {
        scoreboard_set_wake(p->scoreboard, false);
        return;
    }
    scoreboard_set_wake(p->scoreboard, true);
    if (scoreboard_any_busy(p->scoreboard, p->nslots)) {
        scoreboard_set_wake(p->scoreboard, false);
        p->pm.tick_at = now + PM_DYNAMIC_TICK_MS;
    }
}

/* Watch the socket when calm and below max_workers, else not. */
static void
watch_update(struct pool *p, uint64_t now)
{
    struct pm_state *st = &p->pm;
    bool want = !st->surge && p->target < p->conf->max_workers
                && p->nlisteners > 0 && p->listeners[0].fd != -1;

    if (want && now < st->rearm_at) {
        if (st->tick_at > st->rearm_at)
            st->tick_at = st->rearm_at;
        want = false;
    }
    if (want && !st->watching)
        wake_arm(p, now);
    else if (!want && st->watching)
        wake_disarm(p);
}

/* Worker s was seen idle in accept(): the sockets it holds from fd 3 up
 * are its program's own. Counted at the first idle worker and at each
 * new one seen idle, keeping the fewest, in case one took a connection
 * while they were counted. */
static void
learn_own_sockets(struct pool *p, const struct slot *s)
{
    struct pm_state *st = &p->pm;
    int nfds = sys_proc_fd_count(s->pid);
    int n = 0;

    if (nfds > 3)
        n = procfs_sockets_from_3(s->pid, nfds);
    if (nfds == -1 || n == -1)
        return;
    if (!st->own_sockets_known || (unsigned)n < st->own_sockets)
        st->own_sockets = (unsigned)n;
    st->own_sockets_known = true;
}

/* Whether exec worker s holds a connection it accepted: a socket beyond
 * those its program keeps while idle (own_sockets), once it has exec'd
 * (until then it holds the master's sockets). A program that opens a
 * socket of its own before its first accept() looks like that until a
 * worker of the pool has been seen idle. Unreadable means no. */
static bool
holds_connection(const struct pool *p, const struct slot *s)
{
    int nfds = sys_proc_fd_count(s->pid);

    /* Listener and stdio first: a connection comes on top of them. */
    if (nfds == -1 || (unsigned)nfds <= 3 + p->pm.own_sockets)
        return false;
    if (procfs_before_exec(s->pid))
        return false;
    int n = procfs_sockets_from_3(s->pid, nfds);
    return n > 0 && (unsigned)n > p->pm.own_sockets;
}

/* Exec workers not seen up yet, neither in accept() nor holding a
 * connection: is each one up now? Looked at before the queue is read, so
 * that one taking a connection in between counts as about to take it,
 * the connection being gone from the queue as well (one worker too few
 * for a sample), where after the read it would count as busy with a
 * connection the queue counts too (one too many). The ones still not up
 * are counted here, the others by sample(): starting within
 * EXEC_START_MS, then waiting (idle), for no connection reached them. A
 * worker that took one before the first look is told from one starting
 * by the connection it holds, not by its age. */
static void
look_new_workers(struct pool *p, uint64_t now, struct pm_sample *out)
{
    for (size_t i = 0; i < p->nslots; i++) {
        struct slot *s = &p->slots[i];
        if (s->state != SLOT_RUNNING || s->outgoing || s->pm_ready)
            continue;
        if (procfs_in_accept(s->pid)) {
            s->pm_ready = true;
            p->pm.accept_seen = true;
            learn_own_sockets(p, s);
            continue;
        }
        if (holds_connection(p, s)) {
            s->pm_ready = true;
            continue;
        }
        out->live++;
        if (now - s->started_at < EXEC_START_MS)
            out->starting++;
        else
            out->idle++;
    }
}

/* Look at one live worker: idle, starting, and whether it served since
 * the last look. Exec workers (all up: look_new_workers counted the
 * others) cost /proc reads, made only when look asks. */
static void
sample_slot(struct pool *p, struct slot *s, uint64_t now, bool look,
            struct pm_sample *out)
{
    bool idle, starting = false;
    uint64_t activity = s->pm_activity;

    if (out->sees_idle) {
        struct sb_snapshot snap;
        scoreboard_read(scoreboard_map_slot(p->scoreboard, s->index),
                        &snap);
        /* One reading a request's head is held by a slow client: taken,
         * so that the pool grows past it. */
        idle = pm_seen_state(snap.state) == PM_SEEN_IDLE;
        starting = pm_seen_state(snap.state) == PM_SEEN_STARTING;
        activity = snap.requests;
    } else {
        if (!look)
            return;
        idle = procfs_in_accept(s->pid);
        p->pm.accept_seen = p->pm.accept_seen || idle;
        /* Under ondemand most workers take a connection before they are
         * ever seen idle: learn from the first one that is. */
        if (idle && !p->pm.own_sockets_known)
            learn_own_sockets(p, s);
        /* Without /proc/PID/io, being in accept() at each look is all
         * there is to go by. */
        if (idle && procfs_activity(s->pid, &activity) == -1)
            activity = s->pm_activity;
    }
    s->pm_idle_since = pm_idle_since(s->pm_idle_since, idle,
                                     activity != s->pm_activity, now);
    s->pm_activity = activity;
    out->idle += idle;
    out->starting += starting;
}

/* Whether to read exec worker s's state from /proc in this sample: when
 * calm, every one for ondemand (each has its own idle time) and until one
 * idle is found for adaptive (it only asks whether one was spare); with
 * connections waiting, until enough are idle to take them all. */
static bool
worth_a_look(const struct pool *p, const struct pm_sample *out)
{
    if (out->queue_read)
        return out->idle + out->starting < out->queued;
    return p->pm.kind == PM_ONDEMAND || out->idle == 0;
}

/* Count p's workers into out, whose queue fields are filled already, as
 * are the exec workers not up yet (look_new_workers). A program that
 * waits for connections otherwise than blocked in accept(2) on fd 0
 * (select first, say) never looks idle: until one of the pool's workers
 * has, idle counts are not taken as such. */
static void
sample(struct pool *p, uint64_t now, struct pm_sample *out)
{
    out->idle_sampled = out->sees_idle || !out->queue_read;
    for (size_t i = 0; i < p->nslots; i++) {
        struct slot *s = &p->slots[i];
        if (s->state == SLOT_WAITING) {
            out->live++;
            out->starting++;
            continue;
        }
        if (s->state != SLOT_RUNNING || s->outgoing
            || (!out->sees_idle && !s->pm_ready))
            continue;
        out->live++;
        sample_slot(p, s, now, worth_a_look(p, out), out);
    }
    out->idle_blind = !out->sees_idle && !p->pm.accept_seen;
    if (out->idle_blind)
        out->idle_sampled = false;
}

static void
read_queue(struct pool *p, bool woken, struct pm_sample *s)
{
    struct queue_depth q;

    if (p->nlisteners == 0)
        return;
    s->queue_read = true;
    if (queue_read(&p->listeners[0], &q) == 0) {
        s->queued = q.len;
        p->pm.queue_logged = false;
        return;
    }
    if (!p->pm.queue_logged)
        log_warn_errno("pool %s: cannot read the accept queue of %s",
                       p->conf->name, p->listeners[0].name);
    p->pm.queue_logged = true;
    /* The readable socket said one connection waited, at least. */
    s->queued = woken ? 1 : 0;
}

static void
grow(struct pool *p, const struct pm_sample *s, unsigned n)
{
    unsigned was = p->target;
    unsigned to = s->live + n > was ? s->live + n : was;

    if (to > p->conf->max_workers)
        to = p->conf->max_workers;
    if (to == was)
        return;
    set_target(p, to);
    if (s->queued > 0)
        log_info("pool %s: %u connection%s waiting, %u -> %u workers",
                 p->conf->name, s->queued, s->queued == 1 ? "" : "s", was,
                 to);
    else
        log_info("pool %s: %u idle, fewer than min_spare %u, %u -> %u "
                 "workers", p->conf->name, s->idle, p->conf->min_spare,
                 was, to);
}

/* dynamic, adaptive (and ondemand blind to idle workers): fewer workers;
 * pool_reconcile stops idle ones first (pick_stop). */
static void
shrink(struct pool *p, const struct pm_sample *s,
       const struct pm_decision *d)
{
    unsigned n = d->shrink;
    const struct pool_conf *pc = p->conf;
    unsigned was = p->target;
    unsigned to = s->live > n ? s->live - n : 0;

    if (to < p->pm.floor)
        to = p->pm.floor;
    if (to >= was)
        return;
    set_target(p, to);
    if (p->pm.kind == PM_DYNAMIC)
        log_info("pool %s: more than max_spare %u idle for %ums, %u -> %u "
                 "workers", pc->name, pc->max_spare, PM_DYNAMIC_WINDOW_MS,
                 was, to);
    else if (!s->idle_blind)
        log_info("pool %s: no connection waited and a worker was idle "
                 "for %ums, %u -> %u workers", pc->name, d->quiet_ms, was,
                 to);
    else
        log_info("pool %s: no connection waited for %ums, %u -> %u "
                 "workers", pc->name, d->quiet_ms, was, to);
}

/* ondemand: stop each worker idle for idle_timeout, down to the floor. */
static void
stop_idle_timed_out(struct pool *p, const struct pm_sample *smp,
                    uint64_t now)
{
    const struct pool_conf *pc = p->conf;
    unsigned live = smp->live, n = 0;

    for (size_t i = p->nslots; i-- > 0 && live > p->pm.floor;) {
        struct slot *s = &p->slots[i];
        if (s->state != SLOT_RUNNING || s->outgoing
            || s->pm_idle_since == NEVER
            || now - s->pm_idle_since < pc->idle_timeout_ms)
            continue;
        ask_stop(p, s, now);
        live--;
        n++;
    }
    if (n == 0)
        return;
    unsigned was = p->target;
    unsigned to = was > n ? was - n : 0;
    set_target(p, to > p->pm.floor ? to : p->pm.floor);
    log_info("pool %s: %u worker%s idle for %ums, %u -> %u workers",
             pc->name, n, n == 1 ? "" : "s", pc->idle_timeout_ms, was,
             p->target);
}

/* The pool wants more workers than max_workers allows: said once each
 * time it begins (status counts these: max children reached). In exec
 * mode the usual cause is kept connections: nginx's fastcgi_keep_conn
 * holds a worker between requests, one per connection it keeps. */
static void
log_capped(const struct pool *p, const struct pm_sample *s)
{
    const struct pool_conf *pc = p->conf;

    log_warn("pool %s: max_workers (%u) reached with %u connection%s "
             "waiting; consider raising it%s", pc->name, pc->max_workers,
             s->queued, s->queued == 1 ? "" : "s",
             pc->mode != MODE_EXEC ? ""
             : ": a kept connection (fastcgi_keep_conn) holds an exec "
               "worker, so allow nginx's keepalive x worker_processes");
}

/* One look at the pool: sample, decide, act. */
static void
pm_run(struct pool *p, uint64_t now)
{
    struct pm_state *st = &p->pm;
    bool woken = st->woken;
    struct pm_sample s = { .sees_idle = sees_idle(p) };
    struct pm_decision d;
    unsigned long reached = st->max_reached;

    if (!s.sees_idle)
        look_new_workers(p, now, &s);
    /* Not when calm: then a connection waiting wakes us. The queue
     * before the workers up: one still idle after it was read is taking
     * one. */
    if (st->surge || woken)
        read_queue(p, woken, &s);
    st->woken = false;
    sample(p, now, &s);
    pm_decide(p->conf, st, &s, now, &d);
    if (st->max_reached != reached)
        log_capped(p, &s);
    if (d.grow > 0)
        grow(p, &s, d.grow);
    if (d.shrink > 0)
        shrink(p, &s, &d);
    if (st->kind == PM_ONDEMAND)
        stop_idle_timed_out(p, &s, now);
    if (p->target < st->floor)
        set_target(p, st->floor);
    st->surge = d.surge;
    st->tick_at = d.tick_at;
    busy_wake_settle(p, now);
    if (woken && !d.surge && d.grow == 0 && st->rearm_at < now + PM_REARM_MS)
        st->rearm_at = now + PM_REARM_MS;
}

unsigned
pool_resize(struct pool *p, long delta, const char *by)
{
    struct pm_state *st = &p->pm;
    unsigned was = p->target;
    long t = (long)was + delta;

    if (t < 0)
        t = 0;
    if (t > (long)p->conf->max_workers)
        t = p->conf->max_workers;
    if ((unsigned)t == was)
        return was;
    log_info("pool %s: size %u -> %ld (by %s)", p->conf->name, was, t, by);
    p->target = (unsigned)t;
    if (!pm_active(p))
        return p->target;
    /* The pool keeps at least the size a TTIN set (its floor rises to
     * it, or the spare and idle rules would take the worker back), and a
     * TTOU lowers the floor to the size it set when the floor was
     * higher. */
    unsigned floor = st->floor;
    if (p->target > was && p->target > floor)
        floor = p->target;
    else if (p->target < was && p->target < floor)
        floor = p->target;
    if (floor != st->floor)
        log_info("pool %s: at least %u workers from now on (by %s)",
                 p->conf->name, floor, by);
    st->floor = floor;
    st->tick_at = 0;
    return p->target;
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
    if (!pm_active(p))
        return;
    if (p->pm.tick_at <= now)
        pm_run(p, now);
    watch_update(p, now);
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
    if (p->pm.tick_at < next)
        next = p->pm.tick_at;
    if (p->pm.deferred_at < next)
        next = p->pm.deferred_at;
    return next;
}

void
pool_stop_all(struct pool *p, bool graceful, uint64_t now)
{
    const struct pool_conf *pc = p->conf;

    /* Stop accepting: the queue still drains, nothing new arrives. */
    for (size_t i = 0; i < p->nlisteners; i++)
        listen_unlink(&p->listeners[i]);
    /* No more sizing: the pool only shrinks to nothing now. */
    p->pm.stopped = true;
    wake_close(p);
    p->pm.tick_at = NEVER;
    p->pm.deferred_at = NEVER;
    p->pm.surge = false;

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
