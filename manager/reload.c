/* Reload: parse the new configuration, prepare every listening socket
 * (kept or newly bound), and only then swap: no step after the swap can
 * fail, so an error anywhere leaves the master as it was. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control.h"
#include "control_proto.h"
#include "change.h"
#include "handler.h"
#include "log.h"
#include "pidfile.h"
#include "pool.h"
#include "reload.h"
#include "status.h"

/* The listeners prepared for one new pool. */
struct plan {
    struct listener *ls;
    /* Per listener: for a kept socket given the new settings, the pool
     * configuration it had, to put back if the reload fails; else NULL. */
    const struct pool_conf **was;
    size_t nls;
    struct pool *old;           /* the running pool of the same name */
    struct pool *fresh;         /* or a new one, allocated ahead */
};

/* The running listener for the configured address name, or NULL; *pc is
 * then its pool's configuration. */
static struct listener *
find_listener(struct manager *m, const char *name,
              const struct pool_conf **pc)
{
    struct fcgi_addr a;
    char err[128];

    if (fcgi_addr_parse(name, &a, err, sizeof(err)) == -1)
        return NULL;
    for (size_t i = 0; i < m->npools; i++) {
        struct pool *p = m->pools[i];
        for (size_t j = 0; j < p->nlisteners; j++)
            if (p->listeners[j].fd != -1
                && fcgi_addr_equal(&p->listeners[j].addr, &a)) {
                *pc = p->conf;
                return &p->listeners[j];
            }
    }
    return NULL;
}

/*
 * The running listener whose socket is fd, or NULL. A planned listener
 * is a kept one exactly when a running listener has its fd: a socket
 * bound anew cannot share the number of one still open. Unlike its name,
 * the fd identifies any socket, whatever its address reads like (an
 * adopted one's may not name it again).
 */
static struct listener *
find_listener_fd(struct manager *m, int fd)
{
    for (size_t i = 0; fd != -1 && i < m->npools; i++) {
        struct pool *p = m->pools[i];
        for (size_t j = 0; j < p->nlisteners; j++)
            if (p->listeners[j].fd == fd)
                return &p->listeners[j];
    }
    return NULL;
}

/* Close what plan bound anew; kept sockets (fd shared with a running
 * listener) get their old settings back and are only forgotten. */
static void
plan_undo(struct manager *m, struct plan *pl)
{
    for (size_t i = 0; i < pl->nls; i++) {
        struct listener *l = &pl->ls[i];
        if (pl->was != NULL && pl->was[i] != NULL
            && listen_refresh(l, pl->was[i]) == -1)
            log_warn("reload: listen %s: old settings not restored",
                     l->name);
        if (find_listener_fd(m, l->fd) != NULL) {
            free(l->name);
            continue;
        }
        listen_close(l);
    }
    free(pl->ls);
    free(pl->was);
    free(pl->fresh);
    pl->ls = NULL;
    pl->was = NULL;
    pl->fresh = NULL;
    pl->nls = 0;
}

static void
undo_all(struct manager *m, struct plan *plans, size_t n)
{
    for (size_t i = 0; i < n; i++)
        plan_undo(m, &plans[i]);
}

/* A pool with no listen runs on the socket it adopted (fd 0, systemd):
 * it keeps that across reloads. */
static int
plan_adopted(const struct pool_conf *pc, struct plan *pl)
{
    struct pool *old = pl->old;

    if (old == NULL || old->nlisteners == 0) {
        log_error("reload: pool %s: no listen address, and no adopted "
                  "socket to keep", pc->name);
        return -1;
    }
    free(pl->ls);
    free(pl->was);
    pl->ls = calloc(old->nlisteners, sizeof(*pl->ls));
    pl->was = calloc(old->nlisteners, sizeof(*pl->was));
    if (pl->ls == NULL || pl->was == NULL) {
        log_error_errno("reload: pool %s: out of memory", pc->name);
        return -1;
    }
    for (; pl->nls < old->nlisteners; pl->nls++) {
        pl->ls[pl->nls] = old->listeners[pl->nls];
        pl->ls[pl->nls].name = strdup(old->listeners[pl->nls].name);
        if (pl->ls[pl->nls].name == NULL) {
            log_error_errno("reload: pool %s: out of memory", pc->name);
            return -1;
        }
    }
    return 0;
}

/* Keep the running socket for each unchanged address, bind the others. */
static int
plan_pool(struct manager *m, const struct pool_conf *pc, struct plan *pl)
{
    /* A preloaded module that fails to load fails the reload; one loaded
     * before is not loaded again (an upgrade, USR2, picks up new code). */
    if (pc->mode == MODE_MODULE && pc->preload && module_load(pc) == -1)
        return -1;
    pl->old = manager_find_pool(m, pc->name);
    if (pl->old == NULL)
        pl->fresh = calloc(1, sizeof(*pl->fresh));
    pl->ls = calloc(pc->nlisten + 1, sizeof(*pl->ls));
    pl->was = calloc(pc->nlisten + 1, sizeof(*pl->was));
    if (pl->ls == NULL || pl->was == NULL
        || (pl->old == NULL && pl->fresh == NULL)) {
        log_error_errno("reload: pool %s: out of memory", pc->name);
        return -1;
    }
    if (pc->nlisten == 0)
        return plan_adopted(pc, pl);
    for (; pl->nls < pc->nlisten; pl->nls++) {
        struct listener *l = &pl->ls[pl->nls];
        const struct pool_conf *was = NULL;
        struct listener *cur = find_listener(m, pc->listen[pl->nls], &was);
        if (cur == NULL) {
            if (listen_open(l, pc->listen[pl->nls], pc, &m->inherited)
                == -1)
                return -1;
            log_info("pool %s: listening on %s", pc->name, l->name);
            continue;
        }
        *l = *cur;
        l->name = strdup(pc->listen[pl->nls]);
        if (l->name == NULL) {
            log_error_errno("reload: pool %s: out of memory", pc->name);
            return -1;
        }
        /* The address stays, its settings may not: backlog, mode and
         * owner apply in place, as they would to a socket bound anew, and
         * one that cannot be applied fails the reload like a failed bind.
         * The old ones are noted first, so that an undo puts them back
         * even after a partial change. */
        pl->was[pl->nls] = was;
        if (listen_refresh(l, pc) == -1) {
            /* A socket file no longer ours was left as it was: nothing
             * to put back (and no second refusal to log). */
            if (errno == ESTALE)
                pl->was[pl->nls] = NULL;
            pl->nls++;
            return -1;
        }
    }
    return 0;
}

/* Prepare every new pool; on failure undo what was prepared. */
static struct plan *
plan_all(struct manager *m, const struct conf *nc)
{
    struct plan *plans = calloc(nc->npools, sizeof(*plans));

    if (plans == NULL) {
        log_error_errno("reload: out of memory");
        return NULL;
    }
    for (size_t i = 0; i < nc->npools; i++) {
        if (plan_pool(m, &nc->pools[i], &plans[i]) == 0)
            continue;
        for (size_t j = 0; j <= i; j++)
            plan_undo(m, &plans[j]);
        free(plans);
        return NULL;
    }
    return plans;
}

/* Kept sockets now belong to the plans: the running listeners forget
 * them, so that closing the running arrays closes only dropped ones. */
static void
hand_over_kept(struct manager *m, const struct conf *nc, struct plan *plans)
{
    for (size_t i = 0; i < nc->npools; i++)
        for (size_t j = 0; j < plans[i].nls; j++) {
            struct listener *cur = find_listener_fd(m, plans[i].ls[j].fd);
            if (cur != NULL) {
                cur->fd = -1;
                cur->owns_path = false;
            }
        }
}

static void
retire(struct pool *p, uint64_t now)
{
    log_info("pool %s: no longer configured: stopping its workers",
             p->conf->name);
    for (size_t i = 0; i < p->nlisteners; i++)
        listen_close(&p->listeners[i]);
    p->nlisteners = 0;
    p->retired = true;
    pool_stop_all(p, true, now);
}

/* Swap in nc. Nothing here can fail but the two allocations, which are
 * made before anything changes. */
static int
commit(struct manager *m, struct conf *nc, struct plan *plans,
       uint64_t now)
{
    struct pool **pools = calloc(nc->npools + m->npools, sizeof(*pools));
    struct old_conf *old = calloc(1, sizeof(*old));
    size_t n = 0;

    if (pools == NULL || old == NULL) {
        log_error_errno("reload: out of memory");
        free(pools);
        free(old);
        return -1;
    }
    hand_over_kept(m, nc, plans);
    for (size_t i = 0; i < nc->npools; i++) {
        struct pool *p = plans[i].old;
        if (p != NULL) {
            for (size_t j = 0; j < p->nlisteners; j++)
                listen_close(&p->listeners[j]);
            free(p->listeners);
            p->listeners = plans[i].ls;
            p->nlisteners = plans[i].nls;
            pool_reconfigure(p, &nc->pools[i], now);
        } else {
            p = plans[i].fresh;
            pool_init(p, m, &nc->pools[i], plans[i].ls, plans[i].nls);
        }
        pools[n++] = p;
    }
    bool any_retired = false;
    for (size_t i = 0; i < m->npools; i++) {
        struct pool *p = m->pools[i];
        bool kept = false;
        for (size_t j = 0; j < nc->npools; j++)
            kept = kept || plans[j].old == p;
        if (kept)
            continue;
        if (!p->retired)
            retire(p, now);
        any_retired = true;
        pools[n++] = p;
    }
    free(m->pools);
    m->pools = pools;
    m->npools = n;
    old->conf = m->conf;
    m->conf = *nc;
    if (any_retired) {
        old->next = m->old_confs;
        m->old_confs = old;
    } else {
        conf_free(&old->conf);
        free(old);
    }
    return 0;
}

/* Whether the reload moves the pid file from was to now (either NULL). */
static bool
pid_file_moves(const char *was, const char *now)
{
    if (was == NULL || now == NULL)
        return was != now;
    return strcmp(was, now) != 0;
}

/* A pid file the reload moves is written before the commit, so that one
 * that cannot be written fails the reload and the old one stays. 0 or
 * -1 (pidfile_write logged why). */
static int
plan_pid_file(const char *was, const char *now)
{
    if (now == NULL || !pid_file_moves(was, now))
        return 0;
    return pidfile_write(now, getpid(), 0);
}

static void
apply_globals(struct manager *m, const struct conf *was)
{
    const struct conf *c = &m->conf;

    if (strcmp(c->log, was->log) != 0 || c->log_level != was->log_level) {
        if (log_open(c->log, c->log_level) == -1)
            log_error_errno("reload: cannot open log %s; keeping the old "
                            "one", c->log);
    }
    if (c->daemon != was->daemon)
        log_warn("reload: daemon takes effect at the next start only");
}

/* The status and control sockets of nc, readied like the pools' ones. */
struct plan_servers {
    struct status_plan status;
    struct control_plan control;
};

/* Ready what is not a pool's: the status and control sockets (one that
 * cannot be bound fails the reload, code 2 like a pool's, naming its
 * key), and a moved pid file. 0, or -1 (logged, result set, nothing
 * changed). */
static int
plan_rest(struct manager *m, const struct conf *nc, struct plan_servers *ps)
{
    char why[512];

    if (status_plan(m, nc, &ps->status, why, sizeof(why)) == -1)
        goto fail;
    if (control_plan(m, nc, &ps->control, why, sizeof(why)) == -1)
        goto fail_status;
    if (plan_pid_file(m->conf.pid_file, nc->pid_file) == -1) {
        snprintf(why, sizeof(why), "pid file %s cannot be written",
                 nc->pid_file);
        goto fail_control;
    }
    return 0;
fail_control:
    control_plan_undo(m, &ps->control);
fail_status:
    status_plan_undo(m, &ps->status);
fail:
    log_error("reload: %s; keeping the running configuration", why);
    control_result_set(&m->reload_result, CONTROL_EXIT_FAILED, "%s; nothing "
                       "changed", why);
    return -1;
}

static void
plan_rest_undo(struct manager *m, struct plan_servers *ps)
{
    control_plan_undo(m, &ps->control);
    status_plan_undo(m, &ps->status);
}

void
reload_run(struct manager *m, uint64_t now)
{
    struct conf nc;
    char err[1024];

    log_info("reload: reading the configuration again");
    if (conf_load(m->cli, &nc, err, sizeof(err)) == -1) {
        log_error("reload: %s; keeping the running configuration", err);
        control_result_set(&m->reload_result, CONTROL_EXIT_CONFIG, "%s",
                           err);
        return;
    }
    struct plan *plans = plan_all(m, &nc);
    if (plans == NULL) {
        log_error("reload: keeping the running configuration");
        control_result_set(&m->reload_result, CONTROL_EXIT_FAILED,
                           "a socket or module could not be prepared (see "
                           "the log); nothing changed");
        conf_free(&nc);
        return;
    }
    struct plan_servers ps;
    if (plan_rest(m, &nc, &ps) == -1) {
        undo_all(m, plans, nc.npools);
        free(plans);
        conf_free(&nc);
        return;
    }
    bool moved = pid_file_moves(m->conf.pid_file, nc.pid_file);
    /* Keep the old globals for comparison: commit() may free them. */
    struct conf was = { .log = strdup(m->conf.log),
                        .log_level = m->conf.log_level,
                        .daemon = m->conf.daemon };
    char *old_pid_file = m->conf.pid_file ? strdup(m->conf.pid_file) : NULL;
    if (commit(m, &nc, plans, now) == -1) {
        control_result_set(&m->reload_result, CONTROL_EXIT_FAILED, "out of "
                           "memory; nothing changed");
        plan_rest_undo(m, &ps);
        undo_all(m, plans, nc.npools);
        if (moved && nc.pid_file != NULL)
            pidfile_remove(nc.pid_file, getpid());
        conf_free(&nc);
    } else {
        for (size_t i = 0; i < nc.npools; i++)
            free(plans[i].was);
        if (was.log != NULL)
            apply_globals(m, &was);
        if (moved && old_pid_file != NULL)
            pidfile_remove(old_pid_file, getpid());
        /* Before "done": whoever waits for it finds the status socket
         * where, and as, the new configuration says, and the new
         * reload_on_change files watched. */
        status_commit(m, &ps.status);
        control_commit(m, &ps.control);
        change_arm(m);
        log_info("reload: done, %zu pool%s", nc.npools,
                 nc.npools == 1 ? "" : "s");
        control_result_set(&m->reload_result, CONTROL_EXIT_OK, "reload "
                           "done, %zu pool%s", nc.npools,
                           nc.npools == 1 ? "" : "s");
    }
    free(plans);
    free(was.log);
    free(old_pid_file);
}
