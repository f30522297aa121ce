/* The status page's three forms (text, JSON, OpenMetrics), from a report
 * status_report.c filled in. Strings from clients (URIs, methods) are
 * cleaned (lines_clean), then escaped for each form. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lines.h"
#include "status_format.h"

void
status_buf_free(struct status_buf *b)
{
    free(b->data);
    *b = (struct status_buf){ 0 };
}

static int
buf_reserve(struct status_buf *b, size_t more)
{
    if (b->failed)
        return -1;
    if (b->len + more + 1 <= b->cap)
        return 0;
    size_t cap = b->cap > 0 ? b->cap : 4096;
    while (cap < b->len + more + 1)
        cap *= 2;
    char *grown = realloc(b->data, cap);
    if (grown == NULL) {
        b->failed = true;
        return -1;
    }
    b->data = grown;
    b->cap = cap;
    return 0;
}

int
status_buf_append(struct status_buf *b, const void *data, size_t len)
{
    if (buf_reserve(b, len) == -1)
        return -1;
    if (len > 0)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

int
status_buf_printf(struct status_buf *b, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || buf_reserve(b, (size_t)n) == -1) {
        b->failed = true;
        return -1;
    }
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

static int
put(struct status_buf *b, const char *s)
{
    return status_buf_append(b, s, strlen(s));
}

enum escape {
    ESCAPE_TEXT,        /* cleaned only */
    ESCAPE_JSON,        /* JSON string content */
    ESCAPE_LABEL,       /* OpenMetrics label value */
};

/* Append s cleaned by lines_clean (control bytes, C1 controls and bytes
 * that are not UTF-8 become \xNN: every form is printable UTF-8), then
 * with '"' and '\\' escaped for JSON and OpenMetrics, escapes included. */
static int
put_escaped(struct status_buf *b, const char *s, enum escape how)
{
    size_t n = strlen(s);

    while (n > 0) {
        char out[LINES_CHAR_MAX];
        size_t len, took = lines_clean_char(s, n, 0, out, &len);
        for (size_t i = 0; i < len; i++) {
            if (how != ESCAPE_TEXT && (out[i] == '"' || out[i] == '\\'))
                status_buf_append(b, "\\", 1);
            status_buf_append(b, &out[i], 1);
        }
        s += took;
        n -= took;
    }
    return b->failed ? -1 : 0;
}

/* php-fpm's "17/Nov/2023:12:00:00 +0000", local time. */
static void
human_time(double wall, char *buf, size_t len)
{
    time_t t = (time_t)wall;
    struct tm tm;

    if (localtime_r(&t, &tm) == NULL
        || strftime(buf, len, "%d/%b/%Y:%H:%M:%S %z", &tm) == 0)
        snprintf(buf, len, "%lld", (long long)t);
}

/* --- text: "key:" padded to php-fpm's 22 columns -------------------- */

static void
text_key(struct status_buf *b, const char *key)
{
    status_buf_printf(b, "%s:%*s", key, (int)(21 - strlen(key)), "");
}

static void
text_num(struct status_buf *b, const char *key, uint64_t v)
{
    text_key(b, key);
    if (v == STATUS_UNKNOWN)
        put(b, "-\n");
    else
        status_buf_printf(b, "%llu\n", (unsigned long long)v);
}

static void
text_str(struct status_buf *b, const char *key, const char *s)
{
    text_key(b, key);
    put_escaped(b, s, ESCAPE_TEXT);
    put(b, "\n");
}

static void
text_time(struct status_buf *b, const char *key, double wall)
{
    char when[64];

    human_time(wall, when, sizeof(when));
    text_str(b, key, when);
}

static void
text_worker(struct status_buf *b, const struct status_worker *w)
{
    put(b, "\n************************\n");
    text_num(b, "pid", (uint64_t)w->pid);
    text_num(b, "slot", w->slot);
    text_str(b, "state", w->state);
    text_time(b, "start time", w->start_wall);
    text_num(b, "start since", w->start_since_s);
    text_num(b, "requests", w->requests);
    /* php-fpm's unit, microseconds. */
    text_num(b, "request duration",
             w->busy ? w->duration_ms * 1000 : STATUS_UNKNOWN);
    text_str(b, "request method", w->busy ? w->method : "-");
    text_str(b, "request URI", w->busy ? w->uri : "-");
}

static void
text_pool(struct status_buf *b, const struct status_pool *p, bool full)
{
    text_str(b, "pool", p->name);
    text_str(b, "process manager", p->pm);
    text_time(b, "start time", p->start_wall);
    text_num(b, "start since", p->start_since_s);
    text_num(b, "accepted conn", p->accepted);
    text_num(b, "listen queue", p->listen_queue);
    text_num(b, "max listen queue", p->max_listen_queue);
    text_num(b, "listen queue len", p->listen_queue_len);
    text_num(b, "idle processes", p->idle);
    text_num(b, "active processes", p->active);
    text_num(b, "total processes", p->total);
    text_num(b, "max active processes", p->max_active);
    text_num(b, "max children reached", p->max_children_reached);
    text_num(b, "slow requests", p->slow);
    text_str(b, "mode", p->mode);
    for (size_t i = 0; i < p->nlisten; i++)
        text_str(b, "listen", p->listen[i]);
    text_num(b, "min workers", p->min_workers);
    text_num(b, "max workers", p->max_workers);
    text_num(b, "target workers", p->target);
    text_num(b, "spawns", p->spawns);
    text_num(b, "respawns", p->respawns);
    text_str(b, "crash loop", p->crash_loop ? "yes" : "no");
    for (size_t i = 0; full && i < p->nworkers; i++)
        text_worker(b, &p->workers[i]);
}

int
status_format_text(const struct status_report *r, bool full,
                   struct status_buf *out)
{
    for (size_t i = 0; i < r->npools; i++) {
        if (i > 0)
            put(out, "\n");
        text_pool(out, &r->pools[i], full);
    }
    return out->failed ? -1 : 0;
}

/* --- JSON: php-fpm's keys, one object per pool in "pools" ------------ */

static void
json_key(struct status_buf *b, const char *key)
{
    status_buf_printf(b, ",\"%s\":", key);
}

static void
json_string(struct status_buf *b, const char *s)
{
    put(b, "\"");
    put_escaped(b, s, ESCAPE_JSON);
    put(b, "\"");
}

static void
json_num(struct status_buf *b, const char *key, uint64_t v)
{
    json_key(b, key);
    if (v == STATUS_UNKNOWN)
        put(b, "null");
    else
        status_buf_printf(b, "%llu", (unsigned long long)v);
}

static void
json_str(struct status_buf *b, const char *key, const char *s)
{
    json_key(b, key);
    if (s == NULL)
        put(b, "null");
    else
        json_string(b, s);
}

static void
json_worker(struct status_buf *b, const struct status_worker *w)
{
    status_buf_printf(b, "{\"pid\":%d", (int)w->pid);
    json_num(b, "slot", w->slot);
    json_str(b, "state", w->state);
    json_num(b, "start time", (uint64_t)w->start_wall);
    json_num(b, "start since", w->start_since_s);
    json_num(b, "requests", w->requests);
    json_num(b, "request duration",
             w->busy ? w->duration_ms * 1000 : STATUS_UNKNOWN);
    json_str(b, "request method", w->busy ? w->method : NULL);
    json_str(b, "request uri", w->busy ? w->uri : NULL);
    put(b, "}");
}

static void
json_pool(struct status_buf *b, const struct status_pool *p, bool full)
{
    put(b, "{\"pool\":");
    json_string(b, p->name);
    json_str(b, "process manager", p->pm);
    json_num(b, "start time", (uint64_t)p->start_wall);
    json_num(b, "start since", p->start_since_s);
    json_num(b, "accepted conn", p->accepted);
    json_num(b, "listen queue", p->listen_queue);
    json_num(b, "max listen queue", p->max_listen_queue);
    json_num(b, "listen queue len", p->listen_queue_len);
    json_num(b, "idle processes", p->idle);
    json_num(b, "active processes", p->active);
    json_num(b, "total processes", p->total);
    json_num(b, "max active processes", p->max_active);
    json_num(b, "max children reached", p->max_children_reached);
    json_num(b, "slow requests", p->slow);
    json_str(b, "mode", p->mode);
    json_key(b, "listen");
    put(b, "[");
    for (size_t i = 0; i < p->nlisten; i++) {
        put(b, i > 0 ? "," : "");
        json_string(b, p->listen[i]);
    }
    put(b, "]");
    json_num(b, "min workers", p->min_workers);
    json_num(b, "max workers", p->max_workers);
    json_num(b, "target workers", p->target);
    json_num(b, "spawns", p->spawns);
    json_num(b, "respawns", p->respawns);
    json_key(b, "crash loop");
    put(b, p->crash_loop ? "true" : "false");
    if (full) {
        json_key(b, "processes");
        put(b, "[");
        for (size_t i = 0; i < p->nworkers; i++) {
            put(b, i > 0 ? "," : "");
            json_worker(b, &p->workers[i]);
        }
        put(b, "]");
    }
    put(b, "}");
}

int
status_format_json(const struct status_report *r, bool full,
                   struct status_buf *out)
{
    put(out, "{\"pools\":[");
    for (size_t i = 0; i < r->npools; i++) {
        put(out, i > 0 ? "," : "");
        json_pool(out, &r->pools[i], full);
    }
    put(out, "]}\n");
    return out->failed ? -1 : 0;
}

/* --- OpenMetrics: one family at a time, every pool's sample in it ----- */

struct om_family {
    const char *name;
    const char *type;           /* gauge or counter (samples get _total) */
    size_t offset;              /* of a uint64_t in struct status_pool */
    const char *help;
};

#define OM_FIELD(f) offsetof(struct status_pool, f)

static const struct om_family om_pool_families[] = {
    { "fcgipm_accepted_connections", "counter", OM_FIELD(accepted),
      "Requests served by the pool's workers (not known in exec mode)." },
    { "fcgipm_listen_queue", "gauge", OM_FIELD(listen_queue),
      "Connections waiting in the accept queue." },
    { "fcgipm_max_listen_queue", "gauge", OM_FIELD(max_listen_queue),
      "Longest accept queue seen since the master started." },
    { "fcgipm_listen_queue_length", "gauge", OM_FIELD(listen_queue_len),
      "Size of the accept queue (the listen backlog)." },
    { "fcgipm_idle_processes", "gauge", OM_FIELD(idle),
      "Workers waiting for a connection." },
    { "fcgipm_active_processes", "gauge", OM_FIELD(active),
      "Workers serving a request." },
    { "fcgipm_total_processes", "gauge", OM_FIELD(total),
      "Worker processes alive." },
    { "fcgipm_max_active_processes", "gauge", OM_FIELD(max_active),
      "Most workers seen serving at once since the master started." },
    { "fcgipm_max_children_reached", "counter",
      OM_FIELD(max_children_reached),
      "Times the pool wanted to grow past max_workers." },
    { "fcgipm_slow_requests", "counter", OM_FIELD(slow),
      "Requests slower than slow_request_time." },
    { "fcgipm_min_workers", "gauge", OM_FIELD(min_workers),
      "Configured min_workers." },
    { "fcgipm_max_workers", "gauge", OM_FIELD(max_workers),
      "Configured max_workers." },
    { "fcgipm_target_workers", "gauge", OM_FIELD(target),
      "Workers the pool wants running now." },
    { "fcgipm_spawns", "counter", OM_FIELD(spawns),
      "Workers started." },
    { "fcgipm_respawns", "counter", OM_FIELD(respawns),
      "Workers started to replace one that died." },
};

static uint64_t
om_value(const struct status_pool *p, const struct om_family *f)
{
    uint64_t v;

    memcpy(&v, (const char *)p + f->offset, sizeof(v));
    return v;
}

static void
om_head(struct status_buf *b, const char *name, const char *type,
        const char *help)
{
    status_buf_printf(b, "# TYPE %s %s\n# HELP %s %s\n", name, type, name,
                      help);
}

static void
om_label(struct status_buf *b, const char *name, const char *value,
         bool first)
{
    status_buf_printf(b, "%s%s=\"", first ? "" : ",", name);
    put_escaped(b, value, ESCAPE_LABEL);
    put(b, "\"");
}

static void
om_pool_counts(struct status_buf *b, const struct status_report *r)
{
    size_t nf = sizeof(om_pool_families) / sizeof(*om_pool_families);

    for (size_t f = 0; f < nf; f++) {
        const struct om_family *fam = &om_pool_families[f];
        bool any = false;
        for (size_t i = 0; i < r->npools; i++)
            any = any || om_value(&r->pools[i], fam) != STATUS_UNKNOWN;
        if (!any)
            continue;
        om_head(b, fam->name, fam->type, fam->help);
        bool counter = strcmp(fam->type, "counter") == 0;
        for (size_t i = 0; i < r->npools; i++) {
            uint64_t v = om_value(&r->pools[i], fam);
            if (v == STATUS_UNKNOWN)
                continue;
            status_buf_printf(b, "%s%s{", fam->name, counter ? "_total" : "");
            om_label(b, "pool", r->pools[i].name, true);
            status_buf_printf(b, "} %llu\n", (unsigned long long)v);
        }
    }
}

static void
om_pool_info(struct status_buf *b, const struct status_report *r)
{
    om_head(b, "fcgipm_pool", "info",
            "The pool's process manager and mode.");
    for (size_t i = 0; i < r->npools; i++) {
        const struct status_pool *p = &r->pools[i];
        put(b, "fcgipm_pool_info{");
        om_label(b, "pool", p->name, true);
        om_label(b, "process_manager", p->pm, false);
        om_label(b, "mode", p->mode, false);
        put(b, "} 1\n");
    }
    om_head(b, "fcgipm_pool_listen", "info", "An address the pool serves.");
    for (size_t i = 0; i < r->npools; i++) {
        for (size_t j = 0; j < r->pools[i].nlisten; j++) {
            put(b, "fcgipm_pool_listen_info{");
            om_label(b, "pool", r->pools[i].name, true);
            om_label(b, "address", r->pools[i].listen[j], false);
            put(b, "} 1\n");
        }
    }
    om_head(b, "fcgipm_start_time_seconds", "gauge",
            "When the pool started, in seconds since the epoch.");
    for (size_t i = 0; i < r->npools; i++) {
        put(b, "fcgipm_start_time_seconds{");
        om_label(b, "pool", r->pools[i].name, true);
        status_buf_printf(b, "} %.3f\n", r->pools[i].start_wall);
    }
    om_head(b, "fcgipm_crash_loop", "gauge",
            "1 while the pool's workers keep dying at start-up.");
    for (size_t i = 0; i < r->npools; i++) {
        put(b, "fcgipm_crash_loop{");
        om_label(b, "pool", r->pools[i].name, true);
        status_buf_printf(b, "} %d\n", r->pools[i].crash_loop ? 1 : 0);
    }
}

/* A worker's labels: pool, slot and pid. */
static void
om_worker_labels(struct status_buf *b, const char *name,
                 const struct status_pool *p, const struct status_worker *w)
{
    status_buf_printf(b, "%s{", name);
    om_label(b, "pool", p->name, true);
    status_buf_printf(b, ",slot=\"%u\",pid=\"%d\"", w->slot, (int)w->pid);
}

enum om_worker_family {
    OM_WORKER_INFO,
    OM_WORKER_START,
    OM_WORKER_REQUESTS,
    OM_WORKER_DURATION,
    OM_WORKER_REQUEST,
    OM_WORKER_NFAMILIES,
};

static const struct {
    const char *name, *type, *sample, *help;
} om_worker_families[] = {
    [OM_WORKER_INFO] = { "fcgipm_worker", "info", "fcgipm_worker_info",
                         "A worker process and its state." },
    [OM_WORKER_START] = { "fcgipm_worker_start_time_seconds", "gauge",
                          "fcgipm_worker_start_time_seconds",
                          "When the worker started, since the epoch." },
    [OM_WORKER_REQUESTS] = { "fcgipm_worker_requests", "counter",
                             "fcgipm_worker_requests_total",
                             "Requests the worker has served." },
    [OM_WORKER_DURATION] = { "fcgipm_worker_request_duration_seconds",
                             "gauge",
                             "fcgipm_worker_request_duration_seconds",
                             "How long the current request has run." },
    [OM_WORKER_REQUEST] = { "fcgipm_worker_request", "info",
                            "fcgipm_worker_request_info",
                            "The request a busy worker is serving." },
};

/* Whether w has a sample in family f. */
static bool
om_worker_has(const struct status_worker *w, enum om_worker_family f)
{
    switch (f) {
    case OM_WORKER_REQUESTS: return w->requests != STATUS_UNKNOWN;
    case OM_WORKER_DURATION:
    case OM_WORKER_REQUEST: return w->busy;
    default: return true;
    }
}

static void
om_worker_sample(struct status_buf *b, enum om_worker_family f,
                 const struct status_pool *p, const struct status_worker *w)
{
    om_worker_labels(b, om_worker_families[f].sample, p, w);
    switch (f) {
    case OM_WORKER_INFO:
        om_label(b, "state", w->state, false);
        put(b, "} 1\n");
        break;
    case OM_WORKER_START:
        status_buf_printf(b, "} %.3f\n", w->start_wall);
        break;
    case OM_WORKER_REQUESTS:
        status_buf_printf(b, "} %llu\n", (unsigned long long)w->requests);
        break;
    case OM_WORKER_DURATION:
        status_buf_printf(b, "} %.3f\n", (double)w->duration_ms / 1000);
        break;
    default:
        om_label(b, "method", w->method, false);
        om_label(b, "uri", w->uri, false);
        put(b, "} 1\n");
        break;
    }
}

static void
om_workers(struct status_buf *b, const struct status_report *r)
{
    for (int f = 0; f < OM_WORKER_NFAMILIES; f++) {
        bool head = false;
        for (size_t i = 0; i < r->npools; i++) {
            const struct status_pool *p = &r->pools[i];
            for (size_t j = 0; j < p->nworkers; j++) {
                if (!om_worker_has(&p->workers[j], f))
                    continue;
                if (!head)
                    om_head(b, om_worker_families[f].name,
                            om_worker_families[f].type,
                            om_worker_families[f].help);
                head = true;
                om_worker_sample(b, f, p, &p->workers[j]);
            }
        }
    }
}

int
status_format_openmetrics(const struct status_report *r, bool full,
                          struct status_buf *out)
{
    om_pool_info(out, r);
    om_pool_counts(out, r);
    if (full)
        om_workers(out, r);
    put(out, "# EOF\n");
    return out->failed ? -1 : 0;
}

int
status_format(const struct status_report *r, const struct status_query *q,
              struct status_buf *out)
{
    switch (q->format) {
    case STATUS_FORMAT_JSON:
        return status_format_json(r, q->full, out);
    case STATUS_FORMAT_OPENMETRICS:
        return status_format_openmetrics(r, q->full, out);
    default:
        return status_format_text(r, q->full, out);
    }
}

const char *
status_content_type(enum status_format f)
{
    switch (f) {
    case STATUS_FORMAT_JSON:
        return "application/json";
    case STATUS_FORMAT_OPENMETRICS:
        return "application/openmetrics-text; version=1.0.0; charset=utf-8";
    default:
        return "text/plain; charset=utf-8";
    }
}
