/* The control commands: what each request does to the master and what it
 * answers. Reload and upgrade run where a signal's would (manager.c's
 * pending work), and their clients wait for the result. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control.h"
#include "control_int.h"
#include "control_proto.h"
#include "manager.h"
#include "pool.h"
#include "procfs.h"
#include "status_report.h"
#include "sys.h"
#include "upgrade.h"

/* The resident size of each worker of r, in its order. NULL when out of
 * memory (then none is shown). */
static uint64_t *
read_rss(const struct status_report *r)
{
    size_t n = 0, k = 0;

    for (size_t i = 0; i < r->npools; i++)
        n += r->pools[i].nworkers;
    uint64_t *rss = calloc(n + 1, sizeof(*rss));
    long page_kb = sysconf(_SC_PAGESIZE) / 1024;
    if (rss == NULL)
        return NULL;
    for (size_t i = 0; i < r->npools; i++)
        for (size_t j = 0; j < r->pools[i].nworkers; j++, k++)
            if (page_kb <= 0
                || procfs_rss_pages(r->pools[i].workers[j].pid, &rss[k])
                       == -1)
                rss[k] = STATUS_UNKNOWN;
            else
                rss[k] *= (uint64_t)page_kb;
    return rss;
}

static void
cmd_status(struct manager *m, struct control_client *c, const char *pool)
{
    struct status_report r;
    size_t shown = 0, workers = 0;

    if (status_collect(m, true, sys_now_ms(), sys_wall_time(), &r) == -1) {
        control_answer(m, c, CONTROL_EXIT_FAILED, "out of memory");
        return;
    }
    struct status_report view = r;
    if (pool[0] != '\0') {
        view.npools = 0;
        for (size_t i = 0; i < r.npools; i++)
            if (strcmp(r.pools[i].name, pool) == 0)
                view = (struct status_report){ .pools = &r.pools[i],
                                               .npools = 1 };
    }
    if (pool[0] != '\0' && view.npools == 0) {
        status_report_free(&r);
        control_answer(m, c, CONTROL_EXIT_FAILED, "no pool %s", pool);
        return;
    }
    uint64_t *rss = read_rss(&view);
    control_proto_format_status(&view, rss, &c->out);
    shown = view.npools;
    for (size_t i = 0; i < view.npools; i++)
        workers += view.pools[i].nworkers;
    free(rss);
    status_report_free(&r);
    control_answer(m, c, CONTROL_EXIT_OK, "%zu pool%s, %zu worker%s", shown,
                   shown == 1 ? "" : "s", workers, workers == 1 ? "" : "s");
}

static void
cmd_scale(struct manager *m, struct control_client *c,
          const struct control_request *rq)
{
    struct pool *p = manager_find_pool(m, rq->pool);

    if (p == NULL) {
        control_answer(m, c, CONTROL_EXIT_FAILED, "no pool %s", rq->pool);
        return;
    }
    long delta = rq->how == CONTROL_SCALE_TO ? rq->n - (long)p->target
                                             : rq->n;
    long want = (long)p->target + delta;
    unsigned max = p->conf->max_workers;
    unsigned target = pool_resize(p, delta, "control");
    status_buf_printf(&c->out, "scale\t%s\t%u\t%u\n", p->conf->name, target,
                      max);
    if (want > (long)max)
        control_answer(m, c, CONTROL_EXIT_OK, "pool %s: target %u (bounded "
                       "by max_workers %u)", p->conf->name, target, max);
    else
        control_answer(m, c, CONTROL_EXIT_OK, "pool %s: target %u%s",
                       p->conf->name, target, want < 0 ? " (at least 0)"
                                                       : "");
}

static void
cmd_stop(struct manager *m, struct control_client *c, bool graceful)
{
    m->pending |= graceful ? PENDING_STOP_GRACEFUL : PENDING_STOP_FAST;
    status_buf_printf(&c->out, "stop\t%d\n", (int)getpid());
    control_answer(m, c, CONTROL_EXIT_OK, "master %d stops %s",
                   (int)getpid(), graceful ? "gracefully" : "fast");
}

static void
cmd_reopen(struct manager *m, struct control_client *c)
{
    if (manager_reopen_logs(m) == -1)
        control_answer(m, c, CONTROL_EXIT_FAILED, "cannot reopen the log "
                       "file (see the log)");
    else
        control_answer(m, c, CONTROL_EXIT_OK, "log reopened");
}

void
control_cmd_run(struct manager *m, struct control_client *c,
                const struct control_request *rq)
{
    uint64_t now = sys_now_ms();

    if (rq->verb == CONTROL_STATUS) {
        cmd_status(m, c, rq->pool);
        return;
    }
    if (m->state != RUN_SERVING) {
        control_answer(m, c, CONTROL_EXIT_FAILED, "the master is stopping");
        return;
    }
    switch (rq->verb) {
    case CONTROL_RELOAD:
        m->pending |= PENDING_RELOAD;
        control_wait(m, c, CONTROL_WAIT_RELOAD,
                     now + CONTROL_CLIENT_TIMEOUT_MS);
        break;
    case CONTROL_UPGRADE:
        m->pending |= PENDING_UPGRADE;
        control_wait(m, c, CONTROL_WAIT_UPGRADE,
                     now + m->conf.upgrade_timeout_ms
                         + CONTROL_CLIENT_TIMEOUT_MS);
        break;
    case CONTROL_SCALE:
        cmd_scale(m, c, rq);
        break;
    case CONTROL_STOP:
        cmd_stop(m, c, rq->graceful);
        break;
    default:
        cmd_reopen(m, c);
        break;
    }
}
