/* The master's orchestration: what the loop runs after each wake-up.
 * Signals leave pending bits (sig.c), run here in order; then the due
 * work of every module: pools, outputs, status, control, upgrade. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "change.h"
#include "child.h"
#include "control.h"
#include "daemon.h"
#include "log.h"
#include "loop.h"
#include "manager.h"
#include "notify.h"
#include "orphan.h"
#include "output.h"
#include "pool.h"
#include "reload.h"
#include "status.h"
#include "sys.h"
#include "upgrade.h"

void
manager_init(struct manager *m)
{
    *m = (struct manager){ .epfd = -1, .sigfd = -1, .daemon_ready_fd = -1 };
    upgrade_origin_init(&m->origin);
    status_init(&m->status);
    control_init(&m->control);
    change_init(&m->change);
}

/* Each death may leave orphans, reparented to us as it happened: look
 * for them at once, while its worker is still known by its pid; what the
 * orphans reaped here left, once for them all at the end. */
static void
reap(struct manager *m, uint64_t now)
{
    for (;;) {
        int st;
        pid_t pid = sys_waitpid(-1, &st, WNOHANG);
        if (pid == 0)
            break;
        if (pid == -1) {
            if (errno == EINTR)
                continue;
            if (errno != ECHILD)
                log_error_errno("waitpid");
            break;
        }
        struct slot *s = NULL;
        size_t i;
        for (i = 0; i < m->npools && s == NULL; i++)
            s = pool_find_pid(m->pools[i], pid);
        if (s != NULL) {
            struct pool *p = m->pools[i - 1];
            s->exit_status = st;    /* for pool_replace's failure */
            child_died(p, s, st, now);
            /* The uid is the pool's configuration, ours. */
            if (p->conf->mode != MODE_EXEC)
                orphan_sweep(m, p->conf->name, pid,
                             p->conf->mode == MODE_CGI ? p->conf->uid
                                                       : (uid_t)-1);
        } else if (upgrade_reaped(m, pid, st) != 0) {
            orphan_sweep(m, NULL, pid, (uid_t)-1);
        } else {
            orphan_reaped(m, pid, st);
        }
    }
    orphan_sweep_owed(m);
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

/* The workers' access and slow logs follow before their next line,
 * told by the scoreboard's generation. */
int
manager_reopen_logs(struct manager *m)
{
    int rc = log_reopen();

    if (rc == -1)
        log_error_errno("cannot reopen the log file");
    else
        log_info("log file reopened");
    for (size_t i = 0; i < m->npools; i++)
        scoreboard_next_log_generation(m->pools[i]->scoreboard);
    return rc;
}

void
manager_run_pending(struct manager *m, uint64_t now)
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
        manager_reopen_logs(m);
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

void
manager_run_due(struct manager *m, uint64_t now)
{
    bool empty = true;

    change_run_due(m, now);
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
    /* After every step that may end a reload or an upgrade: pending work
     * (reload, reap), the ready pipe (dispatch), the upgrade's deadline. */
    control_take_results(m);
    control_run_due(m, now);
    status_run_due(m, now);
    output_run_due(m, now);
    if (m->state != RUN_SERVING && empty && !upgrade_in_progress(m)
        && !orphan_pending(m) && !control_busy(m))
        m->state = RUN_DONE;
}

uint64_t
manager_next_deadline(const struct manager *m)
{
    uint64_t next = upgrade_deadline(m);
    uint64_t status_at = status_next_deadline(m);
    uint64_t output_at = output_next_deadline(m);
    uint64_t control_at = control_next_deadline(m);
    uint64_t change_at = change_next_deadline(m);

    if (status_at < next)
        next = status_at;
    if (control_at < next)
        next = control_at;
    if (output_at < next)
        next = output_at;
    if (change_at < next)
        next = change_at;

    for (size_t i = 0; i < m->npools; i++) {
        uint64_t at = pool_next_deadline(m->pools[i]);
        if (at < next)
            next = at;
    }
    return next;
}

int
manager_run(struct manager *m)
{
    change_arm(m);
    manager_run_due(m, sys_now_ms());
    /* Workers are forked: new connections will be served. */
    upgrade_report_ready(m);
    daemon_report_ready(&m->daemon_ready_fd);
    notify_send("READY=1");
    int rc = loop_run(m);
    change_disarm(m);
    return rc;
}

struct pool *
manager_find_pool(struct manager *m, const char *name)
{
    for (size_t i = 0; i < m->npools; i++)
        if (!m->pools[i]->retired
            && strcmp(m->pools[i]->conf->name, name) == 0)
            return m->pools[i];
    return NULL;
}
