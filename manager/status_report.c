/* The status report from the master's own state: its pools, their
 * scoreboards and accept queues, and the peaks seen since it started
 * (kept by pool name, so that they outlive reloads). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "manager.h"
#include "queue.h"
#include "status_report.h"

/* Accept queues are read by the loop at most this often (status
 * requests read them every time). */
#define QUEUE_SAMPLE_MS 1000

/* A pool's highest values seen, by name, so they outlive reloads. */
struct status_peak {
    char *name;
    uint64_t active;
    uint64_t queue;
    bool queue_failing;         /* logged once until it reads again */
};

static const char *
pm_name(enum pm_kind pm)
{
    switch (pm) {
    case PM_DYNAMIC: return "dynamic";
    case PM_ONDEMAND: return "ondemand";
    case PM_ADAPTIVE: return "adaptive";
    default: return "static";
    }
}

static const char *
mode_name(enum pool_mode mode)
{
    switch (mode) {
    case MODE_CGI: return "cgi";
    case MODE_MODULE: return "module";
    default: return "exec";
    }
}

/* --- peaks ------------------------------------------------------------ */

/* The peaks of the pool called name, created at zero; NULL when out of
 * memory (the report then shows current values as peaks). */
static struct status_peak *
peak_of(struct status_peaks *peaks, const char *name)
{
    for (size_t i = 0; i < peaks->n; i++)
        if (strcmp(peaks->all[i].name, name) == 0)
            return &peaks->all[i];
    struct status_peak *grown = realloc(peaks->all,
                                        (peaks->n + 1) * sizeof(*grown));
    if (grown == NULL)
        return NULL;
    peaks->all = grown;
    struct status_peak *pk = &peaks->all[peaks->n];
    *pk = (struct status_peak){ .name = strdup(name) };
    if (pk->name == NULL)
        return NULL;
    peaks->n++;
    return pk;
}

/* The pool's accept queue, summed over its sockets. false when none
 * could be read (logged once until one can). */
static bool
read_queue(const struct pool *p, struct status_peak *pk,
           struct queue_depth *out)
{
    bool any = false;
    int err = 0;

    *out = (struct queue_depth){ 0 };
    for (size_t i = 0; i < p->nlisteners; i++) {
        struct queue_depth q;
        if (p->listeners[i].fd == -1)
            continue;           /* closed: the pool is stopping */
        if (queue_read(&p->listeners[i], &q) == -1) {
            err = errno;
            continue;
        }
        out->len += q.len;
        out->max += q.max;
        any = true;
    }
    if (!any && err != 0 && pk != NULL && !pk->queue_failing) {
        errno = err;
        log_warn_errno("status: pool %s: cannot read the accept queue",
                       p->conf->name);
    }
    if (pk != NULL) {
        pk->queue_failing = !any;
        if (any && out->len > pk->queue)
            pk->queue = out->len;
    }
    return any;
}

struct counts {
    uint64_t idle, active, total, requests, slow;
};

/* A live worker's row for ?full. */
static void
worker_row(const struct slot *s, const struct sb_snapshot *snap,
           uint64_t now_ms, double now_wall, struct status_worker *w)
{
    uint64_t age_ms = now_ms > s->started_at ? now_ms - s->started_at : 0;

    memset(w, 0, sizeof(*w));
    w->slot = s->index;
    w->pid = s->pid;
    w->start_wall = now_wall - (double)age_ms / 1000;
    w->start_since_s = age_ms / 1000;
    if (snap == NULL) {
        w->state = s->state == SLOT_STOPPING ? "stopping" : "running";
        w->requests = STATUS_UNKNOWN;
        return;
    }
    w->state = scoreboard_state_name(snap->state);
    w->requests = snap->requests;
    w->busy = snap->state == SB_BUSY;
    if (!w->busy)
        return;
    w->duration_ms = now_ms > snap->req_started_ms
                         ? now_ms - snap->req_started_ms : 0;
    memcpy(w->method, snap->method, sizeof(w->method));
    memcpy(w->uri, snap->uri, sizeof(w->uri));
}

/* Count p's live workers; with rows, fill a row for each (rows has
 * room for p->nslots). Returns how many rows. */
static size_t
count_workers(const struct pool *p, struct counts *c,
              struct status_worker *rows, uint64_t now_ms, double now_wall)
{
    bool visible = p->conf->mode != MODE_EXEC;
    size_t n = 0;

    *c = (struct counts){ .requests = p->gone_requests,
                          .slow = p->gone_slow };
    for (size_t i = 0; i < p->nslots; i++) {
        const struct slot *s = &p->slots[i];
        struct sb_snapshot snap;
        const struct sb_slot *sbs = NULL;
        if ((s->state != SLOT_RUNNING && s->state != SLOT_STOPPING)
            || s->pid <= 0)
            continue;
        c->total++;
        if (visible)
            sbs = scoreboard_map_slot(p->scoreboard, s->index);
        if (sbs != NULL) {
            scoreboard_read(sbs, &snap);
            /* Reading a request's head is active, as php-fpm counts its
             * "Reading headers". */
            c->idle += snap.state == SB_IDLE;
            c->active += snap.state == SB_BUSY || snap.state == SB_READING;
            c->requests += snap.requests;
            c->slow += snap.slow_requests;
        }
        if (rows != NULL)
            worker_row(s, sbs != NULL ? &snap : NULL, now_ms, now_wall,
                       &rows[n++]);
    }
    return n;
}

/* Accept queues only now and then: they cost a system call each. */
void
status_sample_peaks(struct manager *m, uint64_t now)
{
    struct status_peaks *peaks = &m->status.peaks;
    bool queues = now >= peaks->sampled_at + QUEUE_SAMPLE_MS;

    if (queues)
        peaks->sampled_at = now;
    for (size_t i = 0; i < m->npools; i++) {
        struct pool *p = m->pools[i];
        struct counts c;
        struct queue_depth q;
        if (p->retired)
            continue;
        struct status_peak *pk = peak_of(peaks, p->conf->name);
        if (pk == NULL)
            return;
        if (p->conf->mode != MODE_EXEC) {
            count_workers(p, &c, NULL, 0, 0);
            if (c.active > pk->active)
                pk->active = c.active;
        }
        if (queues)
            read_queue(p, pk, &q);
    }
}

/* --- the report ------------------------------------------------------- */

/* What the configuration and the pool's own counters say. */
static void
describe_pool(const struct pool *p, double now_wall, struct status_pool *out)
{
    const struct pool_conf *pc = p->conf;

    out->name = pc->name;
    out->pm = pm_name(pc->pm);
    out->mode = mode_name(pc->mode);
    out->start_wall = p->started_wall;
    out->start_since_s = now_wall > p->started_wall
                             ? (uint64_t)(now_wall - p->started_wall) : 0;
    out->max_children_reached = p->pm.max_reached;
    out->min_workers = pc->min_workers;
    out->max_workers = pc->max_workers;
    out->target = p->target;
    out->spawns = p->spawns;
    out->respawns = p->respawns;
    out->crash_loop = p->crash_loop;
}

static int
collect_pool(struct pool *p, struct status_peaks *peaks, bool full,
             uint64_t now_ms, double now_wall, struct status_pool *out)
{
    bool visible = p->conf->mode != MODE_EXEC;
    struct status_peak *pk = peak_of(peaks, p->conf->name);
    struct queue_depth q;
    struct counts c;
    const char **listen = calloc(p->nlisteners + 1, sizeof(*listen));

    if (listen == NULL
        || (full && (out->workers = calloc(p->nslots + 1,
                                           sizeof(*out->workers))) == NULL)) {
        free(listen);
        return -1;
    }
    for (size_t i = 0; i < p->nlisteners; i++)
        listen[i] = p->listeners[i].name != NULL ? p->listeners[i].name : "?";
    out->listen = listen;
    out->nlisten = p->nlisteners;
    describe_pool(p, now_wall, out);
    out->nworkers = count_workers(p, &c, out->workers, now_ms, now_wall);
    bool known = read_queue(p, pk, &q);
    out->listen_queue = known ? q.len : STATUS_UNKNOWN;
    out->listen_queue_len = known ? q.max : STATUS_UNKNOWN;
    out->max_listen_queue = pk != NULL ? pk->queue : out->listen_queue;
    if (visible && pk != NULL && c.active > pk->active)
        pk->active = c.active;
    out->accepted = visible ? c.requests : STATUS_UNKNOWN;
    out->idle = visible ? c.idle : STATUS_UNKNOWN;
    out->active = visible ? c.active : STATUS_UNKNOWN;
    out->total = c.total;
    out->max_active = !visible ? STATUS_UNKNOWN
                      : pk != NULL ? pk->active : c.active;
    out->slow = visible ? c.slow : STATUS_UNKNOWN;
    return 0;
}

void
status_report_free(struct status_report *r)
{
    for (size_t i = 0; i < r->npools; i++) {
        free(r->pools[i].workers);
        free((void *)r->pools[i].listen);
    }
    free(r->pools);
    *r = (struct status_report){ 0 };
}

int
status_collect(struct manager *m, bool full, uint64_t now_ms,
               double now_wall, struct status_report *r)
{
    *r = (struct status_report){ 0 };
    r->pools = calloc(m->npools + 1, sizeof(*r->pools));
    if (r->pools == NULL)
        return -1;
    for (size_t i = 0; i < m->npools; i++) {
        /* A retired pool drains under a name a new pool may have. */
        if (m->pools[i]->retired)
            continue;
        if (collect_pool(m->pools[i], &m->status.peaks, full, now_ms,
                         now_wall, &r->pools[r->npools]) == -1) {
            status_report_free(r);
            return -1;
        }
        r->npools++;
    }
    return 0;
}

/* --- answers ---------------------------------------------------------- */

static const char no_cache[] =
    "Cache-Control: no-cache, no-store, must-revalidate\r\n"
    "Expires: Thu, 01 Jan 1970 00:00:00 GMT\r\n";

int
status_answer(struct manager *m, const struct status_request *rq,
              uint64_t now_ms, double now_wall, struct status_buf *out)
{
    const char *sp = m->conf.status_path ? m->conf.status_path : "/status";
    const char *pp = m->conf.ping_path ? m->conf.ping_path : "/ping";
    bool head = rq->method != NULL && strcmp(rq->method, "HEAD") == 0;
    struct status_query q;
    struct status_report r;
    size_t body_at;

    switch (status_route(rq->document_uri, rq->script_name, rq->request_uri,
                         sp, pp)) {
    case STATUS_ROUTE_PING:
        status_buf_printf(out, "Status: 200 OK\r\nContent-Type: text/plain;"
                          " charset=utf-8\r\n%s\r\n%s", no_cache,
                          head ? "" : "pong\n");
        break;
    case STATUS_ROUTE_STATUS:
        status_query_parse(status_query_of(rq->query_string,
                                           rq->request_uri), &q);
        if (status_collect(m, q.full, now_ms, now_wall, &r) == -1)
            return -1;
        status_buf_printf(out, "Status: 200 OK\r\nContent-Type: %s\r\n%s\r\n",
                          status_content_type(q.format), no_cache);
        body_at = out->len;
        status_format(&r, &q, out);
        status_report_free(&r);
        if (head && !out->failed) {
            out->len = body_at;
            out->data[body_at] = '\0';
        }
        break;
    default:
        status_buf_printf(out, "Status: 404 Not Found\r\nContent-Type: "
                          "text/plain; charset=utf-8\r\n\r\n%s",
                          head ? "" : "not found\n");
        break;
    }
    return out->failed ? -1 : 0;
}

void
status_peaks_free(struct status_peaks *pk)
{
    for (size_t i = 0; i < pk->n; i++)
        free(pk->all[i].name);
    free(pk->all);
    *pk = (struct status_peaks){ 0 };
}
