/* The event loop: sleep in epoll_wait until a signal, a descriptor or the
 * earliest deadline, then run pending work and due timers. */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"
#include "daemon.h"
#include "log.h"
#include "loop.h"
#include "notify.h"
#include "orphan.h"
#include "output.h"
#include "pool.h"
#include "reload.h"
#include "sig.h"
#include "status.h"
#include "sys.h"
#include "upgrade.h"

#define NEV 16

int
loop_timeout_ms(uint64_t deadline, uint64_t now)
{
    if (deadline == NEVER)
        return -1;
    if (deadline <= now)
        return 0;
    uint64_t ms = deadline - now;
    return ms > 3600 * 1000 ? 3600 * 1000 : (int)ms;
}

int
loop_watch(struct manager *m, struct watch *w, uint32_t events)
{
    struct epoll_event ev = { .events = events, .data.ptr = w };

    if (epoll_ctl(m->epfd, EPOLL_CTL_ADD, w->fd, &ev) == -1) {
        log_error_errno("cannot add fd %d to the epoll set", w->fd);
        return -1;
    }
    return 0;
}

/* Watches removed while a batch of events is being dispatched: a later
 * event of the same batch may still point at one (freed by its owner, as
 * when the status server closes its oldest client to take a new one), so
 * it is skipped. Level-triggered epoll reports again what still holds. */
#define STALE_MAX 64
static const struct watch *stale[STALE_MAX];
static size_t nstale;
static bool stale_overflow;

void
loop_unwatch(struct manager *m, struct watch *w)
{
    if (epoll_ctl(m->epfd, EPOLL_CTL_DEL, w->fd, NULL) == -1)
        log_warn_errno("cannot remove fd %d from the epoll set", w->fd);
    if (nstale < STALE_MAX)
        stale[nstale++] = w;
    else
        stale_overflow = true;
}

static bool
is_stale(const struct watch *w)
{
    for (size_t i = 0; i < nstale; i++)
        if (stale[i] == w)
            return true;
    return false;
}

/* Run the callbacks of a batch, skipping watches removed meanwhile. */
static void
dispatch(struct manager *m, const struct epoll_event *ev, int n)
{
    nstale = 0;
    stale_overflow = false;
    for (int i = 0; i < n && !stale_overflow; i++) {
        struct watch *w = ev[i].data.ptr;
        if (!is_stale(w))
            w->fn(m, w, ev[i].events);
    }
    nstale = 0;
}

static void
on_signalfd(struct manager *m, struct watch *w, uint32_t events)
{
    (void)w;
    (void)events;
    sig_dispatch(m);
}

int
loop_init(struct manager *m)
{
    m->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (m->epfd == -1) {
        log_error_errno("cannot create epoll instance");
        return -1;
    }
    m->sig_watch.fd = m->sigfd;
    m->sig_watch.fn = on_signalfd;
    /* Here, after daemonizing and before the first worker. */
    orphan_init();
    return loop_watch(m, &m->sig_watch, EPOLLIN);
}

/* Each death may leave orphans, reparented to us as it happened: look
 * for them at once, while its worker is still known by its pid. */
static void
reap(struct manager *m, uint64_t now)
{
    for (;;) {
        int st;
        pid_t pid = sys_waitpid(-1, &st, WNOHANG);
        if (pid == 0)
            return;
        if (pid == -1) {
            if (errno == EINTR)
                continue;
            if (errno != ECHILD)
                log_error_errno("waitpid");
            return;
        }
        struct slot *s = NULL;
        size_t i;
        for (i = 0; i < m->npools && s == NULL; i++)
            s = pool_find_pid(m->pools[i], pid);
        if (s != NULL) {
            struct pool *p = m->pools[i - 1];
            child_died(p, s, st, now);
            if (p->conf->mode != MODE_EXEC)
                orphan_sweep(m, p->conf->name, pid);
        } else if (upgrade_reaped(m, pid, st) != 0) {
            orphan_sweep(m, NULL, pid);
        } else {
            orphan_reaped(m, pid, st);
        }
    }
}

static void
begin_stop(struct manager *m, bool graceful, uint64_t now)
{
    if (!graceful && m->state == RUN_STOPPING_FAST) {
        log_warn("second fast stop request: killing every worker now");
        for (size_t i = 0; i < m->npools; i++)
            pool_kill_all(m->pools[i]);
        return;
    }
    if (graceful && m->state != RUN_SERVING)
        return;
    m->state = graceful ? RUN_STOPPING_GRACEFUL : RUN_STOPPING_FAST;
    notify_send("STOPPING=1");
    log_info("%s stop: asking workers to exit", graceful ? "graceful"
                                                         : "fast");
    for (size_t i = 0; i < m->npools; i++)
        pool_stop_all(m->pools[i], graceful, now);
}

static void
apply_resize(struct manager *m)
{
    for (size_t i = 0; i < m->npools; i++) {
        struct pool *p = m->pools[i];
        if (p->retired)
            continue;
        pool_resize(p, m->resize, "signal");
    }
    m->resize = 0;
}

/* USR1: our log now; the workers' access and slow logs before their
 * next line, told by the scoreboard's generation. */
static void
reopen_logs(struct manager *m)
{
    if (log_reopen() == -1)
        log_error_errno("cannot reopen the log file");
    else
        log_info("log file reopened");
    for (size_t i = 0; i < m->npools; i++)
        scoreboard_next_log_generation(m->pools[i]->scoreboard);
}

static void
run_pending(struct manager *m, uint64_t now)
{
    unsigned todo = m->pending;

    m->pending = 0;
    if (todo & PENDING_REAP)
        reap(m, now);
    if (todo & PENDING_STOP_FAST)
        begin_stop(m, false, now);
    if (todo & PENDING_STOP_GRACEFUL)
        begin_stop(m, true, now);
    if (todo & PENDING_REOPEN_LOGS)
        reopen_logs(m);
    if ((todo & PENDING_RELOAD) && m->state == RUN_SERVING) {
        notify_send("RELOADING=1");
        reload_run(m, now);
        notify_send("READY=1");
    }
    if ((todo & PENDING_UPGRADE) && m->state == RUN_SERVING)
        upgrade_start(m, now);
    if ((todo & PENDING_RESIZE) && m->state == RUN_SERVING)
        apply_resize(m);
}

/* Free retired pools whose workers are all gone, and the configurations
 * they kept alive once none is left. */
static void
drop_drained(struct manager *m)
{
    size_t kept = 0;

    for (size_t i = 0; i < m->npools; i++) {
        struct pool *p = m->pools[i];
        if (p->retired && pool_is_empty(p)) {
            log_info("pool %s: retired pool drained", p->conf->name);
            pool_fini(p);
            free(p);
            continue;
        }
        m->pools[kept++] = p;
    }
    m->npools = kept;
    for (size_t i = 0; i < m->npools; i++)
        if (m->pools[i]->retired)
            return;
    while (m->old_confs != NULL) {
        struct old_conf *o = m->old_confs;
        m->old_confs = o->next;
        conf_free(&o->conf);
        free(o);
    }
}

static void
run_due(struct manager *m, uint64_t now)
{
    bool empty = true;

    for (size_t i = 0; i < m->npools; i++) {
        struct pool *p = m->pools[i];
        pool_run_due(p, now);
        if (m->state == RUN_SERVING && !p->retired)
            pool_reconcile(p, now);
        empty = empty && pool_is_empty(p);
    }
    if (m->old_confs != NULL)
        drop_drained(m);
    upgrade_run_due(m, now);
    status_run_due(m, now);
    output_run_due(now);
    if (m->state != RUN_SERVING && empty && !upgrade_in_progress(m)
        && !orphan_pending(m))
        m->state = RUN_DONE;
}

static uint64_t
next_deadline(const struct manager *m)
{
    uint64_t next = upgrade_deadline(m);
    uint64_t status_at = status_next_deadline(m);
    uint64_t output_at = output_next_deadline();

    if (status_at < next)
        next = status_at;
    if (output_at < next)
        next = output_at;

    for (size_t i = 0; i < m->npools; i++) {
        uint64_t at = pool_next_deadline(m->pools[i]);
        if (at < next)
            next = at;
    }
    return next;
}

int
loop_run(struct manager *m)
{
    struct epoll_event ev[NEV];

    run_due(m, sys_now_ms());
    /* Workers are forked: new connections will be served. */
    upgrade_report_ready(m);
    daemon_report_ready();
    notify_send("READY=1");
    while (m->state != RUN_DONE) {
        int timeout = loop_timeout_ms(next_deadline(m), sys_now_ms());
        int n = epoll_wait(m->epfd, ev, NEV, timeout);
        if (n == -1 && errno != EINTR)
            log_error_errno("epoll_wait");  /* keep going */
        dispatch(m, ev, n);
        uint64_t now = sys_now_ms();
        run_pending(m, now);
        run_due(m, now);
    }
    return 0;
}
