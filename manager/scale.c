/* Sizing pools on load, the process managers' acting half: sample a pool
 * (scoreboard, accept queue, /proc), let pm.c decide, grow or shrink the
 * target; and the watches that wake a sleeping pm. doc/pool.md tells how
 * it stays off the CPU. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "child.h"
#include "log.h"
#include "loop.h"
#include "procfs.h"
#include "queue.h"
#include "scale.h"
#include "sys.h"

#define EXEC_START_MS 200       /* an exec worker neither seen in accept()
                                   nor holding a connection counts as
                                   starting this long */

bool
scale_is_active(const struct pool *p)
{
    return p->pm.kind != PM_STATIC && !p->pm.stopped;
}

/* A worker was just forked into s: nothing is known of it yet, and the
 * pm looks at the pool again soon (it is starting). */
void
scale_spawned(struct pool *p, struct slot *s, uint64_t now)
{
    s->pm_ready = false;
    s->pm_activity = 0;
    s->pm_idle_since = NEVER;
    if (p->pm.kind != PM_STATIC && !p->pm.stopped
        && p->pm.tick_at > now + PM_START_CHECK_MS)
        p->pm.tick_at = now + PM_START_CHECK_MS;
}

/* Whether the idle workers of p show in its scoreboard. */
static bool
sees_idle(const struct pool *p)
{
    return p->conf->mode != MODE_EXEC && p->scoreboard != NULL;
}

/* Idle at the last look: the scoreboard says so, or (exec) the pm saw it
 * in accept(). */
bool
scale_looks_idle(struct pool *p, const struct slot *s)
{
    struct sb_snapshot snap;

    if (!sees_idle(p))
        return s->pm_idle_since != NEVER;
    scoreboard_read(scoreboard_map_slot(p->scoreboard, s->index), &snap);
    return pm_seen_state(snap.state) == PM_SEEN_IDLE;
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

void
scale_wake_close(struct pool *p)
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
scale_busy_wake_fd(struct pool *p)
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
    int nfds = sys_proc_fd_count(s->pid, PROCFS_FDS_MAX);
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
    int nfds = sys_proc_fd_count(s->pid, PROCFS_FDS_MAX);

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
    p->target = to;
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
    p->target = to;
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
        child_ask_stop(p, s, now);
        live--;
        n++;
    }
    if (n == 0)
        return;
    unsigned was = p->target;
    unsigned to = was > n ? was - n : 0;
    p->target = to > p->pm.floor ? to : p->pm.floor;
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
run_pm(struct pool *p, uint64_t now)
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
        p->target = st->floor;
    st->surge = d.surge;
    st->tick_at = d.tick_at;
    busy_wake_settle(p, now);
    if (woken && !d.surge && d.grow == 0 && st->rearm_at < now + PM_REARM_MS)
        st->rearm_at = now + PM_REARM_MS;
}

void
scale_init(struct pool *p)
{
    const struct pool_conf *pc = p->conf;

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
scale_fini(struct pool *p)
{
    scale_wake_close(p);
    busy_wake_close(p);
}

void
scale_stop(struct pool *p)
{
    p->pm.stopped = true;
    scale_wake_close(p);
    p->pm.tick_at = NEVER;
    p->pm.deferred_at = NEVER;
    p->pm.surge = false;
}

void
scale_run_due(struct pool *p, uint64_t now)
{
    if (!scale_is_active(p))
        return;
    if (p->pm.tick_at <= now)
        run_pm(p, now);
    watch_update(p, now);
}
