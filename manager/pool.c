/* Pools: their slots, reconfiguration, and reconciling the live count
 * with the target. child.c runs a slot's life, scale.c moves the target on
 * load; doc/pool.md tells how the pieces fit. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "child.h"
#include "log.h"
#include "pool.h"
#include "scale.h"
#include "sys.h"
#include "wstatus.h"

/* A new worker whose slot died this many times in a row within
 * min_uptime of starting fails a pool_replace: the crash-loop bound. */
#define REPLACE_FAIL_STREAK 3

int
pool_plan(unsigned target, unsigned live)
{
    return (int)target - (int)live;
}

int
pool_listen_all(const struct pool_conf *pc, struct inherited_sockets *in,
                struct listener **out)
{
    struct listener *ls = calloc(pc->nlisten + 1, sizeof(*ls));

    if (ls == NULL) {
        log_error_errno("pool %s: cannot allocate listeners", pc->name);
        return -1;
    }
    for (size_t i = 0; i < pc->nlisten; i++) {
        if (listen_open(&ls[i], pc->listen[i], pc, in) == -1) {
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
    p->target = pm_initial_target(pc);
    p->listeners = ls;
    p->nlisteners = nls;
    p->started_wall = sys_wall_time();
    p->replace_check_at = NEVER;
    scale_init(p);
}

void
pool_fini(struct pool *p)
{
    scale_fini(p);
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

/* Start a worker in a free slot. False when there is none (free_slot):
 * a fork that fails is retried from its slot like a crash. */
static bool
start_one(struct pool *p, uint64_t now)
{
    struct slot *s = free_slot(p);

    if (s == NULL)
        return false;
    /* During a pool_replace every new worker runs the new program. */
    s->incoming = p->replacing;
    s->outgoing = false;
    if (child_spawn(p, s, now) == -1) {
        s->exit_status = -1;            /* for replace_fail */
        child_fork_failed(p, s, now);   /* memory, pid limit */
    }
    return true;
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
        if (idle == NULL && scale_looks_idle(p, s))
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
    child_ask_stop(p, s, now);
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
    scale_wake_close(p);
    choose_target(p, pc);
    p->conf = pc;
    p->crash_loop = false;
    /* A reload replaces every worker: a pool_replace in progress is
     * over, its old and new workers alike are outgoing. */
    p->replacing = false;
    p->replace_check_at = NEVER;
    for (size_t i = 0; i < p->nslots; i++) {
        struct slot *s = &p->slots[i];
        if (s->state == SLOT_WAITING)
            s->state = SLOT_EMPTY;
        s->fail_streak = 0;
        s->incoming = false;
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
        child_ask_stop(p, s, now);
    }
    log_info("pool %s: %u new workers started, old ones asked to stop",
             pc->name, started);
}

void
pool_replace(struct pool *p, const char *file, uint64_t now)
{
    unsigned old = 0, started = 0;

    for (size_t i = 0; i < p->nslots; i++) {
        struct slot *s = &p->slots[i];
        /* A respawn to come would run the new program: one of the new
         * workers takes its place. */
        if (s->state == SLOT_WAITING) {
            s->state = SLOT_EMPTY;
            s->fail_streak = 0;
        }
        s->incoming = false;
        s->outgoing = s->state == SLOT_RUNNING;
        old += s->outgoing;
    }
    log_info("pool %s: %s changed: replacing %u workers", p->conf->name,
             file, old);
    p->replacing = true;
    while (started < p->target && start_one(p, now))
        started++;
    p->replace_check_at = now + p->conf->min_uptime_ms;
}

bool
pool_is_replacing(const struct pool *p)
{
    return p->replacing;
}

/* Ask up to n old workers of a pool_replace to stop. */
static void
release_outgoing(struct pool *p, unsigned n, uint64_t now)
{
    for (size_t i = 0; i < p->nslots && n > 0; i++) {
        struct slot *s = &p->slots[i];
        if (!s->outgoing || s->state != SLOT_RUNNING)
            continue;
        s->outgoing = false;
        child_ask_stop(p, s, now);
        n--;
    }
}

/* The new program does not start: its workers go and the old ones stay,
 * serving as before, until the next change. Said once, with why. */
static void
replace_fail(struct pool *p, const struct slot *bad, uint64_t now)
{
    bool looping = false;
    char how[96];

    if (bad->exit_status == -1)
        snprintf(how, sizeof(how), "could not be forked");
    else
        wstatus_describe(bad->exit_status, how, sizeof(how));
    log_error("pool %s: replacing workers failed: a new worker (slot %u) "
              "%s, %u times in a row within %ums of starting; the old "
              "workers keep serving", p->conf->name, bad->index, how,
              bad->fail_streak, p->conf->min_uptime_ms);
    for (size_t i = 0; i < p->nslots; i++) {
        struct slot *s = &p->slots[i];
        if (s->incoming && s->state == SLOT_WAITING) {
            s->state = SLOT_EMPTY;
            s->fail_streak = 0;
        } else if (s->incoming && s->state == SLOT_RUNNING) {
            child_ask_stop(p, s, now);
        }
        s->incoming = false;
        s->outgoing = false;
        looping = looping || s->fail_streak > 0;
    }
    /* The crash loop was the new workers': a later one is logged. */
    p->crash_loop = p->crash_loop && looping;
    p->replacing = false;
    p->replace_check_at = NEVER;
}

/* A pool_replace in progress: each new worker that has lived min_uptime
 * lets an old one go, and once none is left to prove itself, the rest
 * go. An old worker that dies is not respawned: the new ones are its
 * replacements. A new one that crash-loops ends it (replace_fail). */
static void
replace_due(struct pool *p, uint64_t now)
{
    unsigned proven = 0, pending = 0;
    uint64_t next = NEVER;

    for (size_t i = 0; i < p->nslots; i++) {
        struct slot *s = &p->slots[i];
        uint64_t up_at = s->started_at + p->conf->min_uptime_ms;
        if (s->outgoing && s->state == SLOT_WAITING) {
            s->state = SLOT_EMPTY;
            s->fail_streak = 0;
            s->outgoing = false;
        }
        if (!s->incoming)
            continue;
        if (s->fail_streak >= REPLACE_FAIL_STREAK) {
            replace_fail(p, s, now);
            return;
        }
        if (s->state == SLOT_RUNNING && up_at <= now) {
            s->incoming = false;
            proven++;
        } else if (s->state == SLOT_RUNNING || s->state == SLOT_WAITING) {
            pending++;
            if (s->state == SLOT_RUNNING && up_at < next)
                next = up_at;
        } else {
            s->incoming = false;    /* stopped by the pm: not counted */
        }
    }
    release_outgoing(p, pending > 0 ? proven : UINT_MAX, now);
    p->replace_check_at = next;
    if (pending > 0)
        return;
    p->replacing = false;
    log_info("pool %s: new workers up, old ones asked to stop",
             p->conf->name);
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
    if (!scale_is_active(p))
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
    /* First: an old worker that died is not respawned below. */
    if (p->replacing)
        replace_due(p, now);
    for (size_t i = 0; i < p->nslots; i++) {
        struct slot *s = &p->slots[i];
        if (s->state == SLOT_WAITING && s->respawn_at <= now)
            child_respawn_due(p, s, now);
        else if (s->state == SLOT_STOPPING && s->kill_at <= now)
            child_escalate_due(p, s, now);
        else if (s->state == SLOT_RUNNING && s->stable_at <= now)
            child_stable_due(p, s);
    }
    scale_run_due(p, now);
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
    if (p->replacing && p->replace_check_at < next)
        next = p->replace_check_at;
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
    scale_stop(p);
    p->replacing = false;
    p->replace_check_at = NEVER;

    for (size_t i = 0; i < p->nslots; i++) {
        struct slot *s = &p->slots[i];
        if (s->state == SLOT_WAITING) {
            s->state = SLOT_EMPTY;
        } else if (graceful && s->state == SLOT_RUNNING) {
            child_ask_stop(p, s, now);
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
