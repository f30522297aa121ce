/* Status reports as plain data, and their text (php-fpm's layout), JSON
 * and OpenMetrics forms. Pure: no I/O, no clock (status_report.c fills
 * the report from the master). */
#ifndef FCGIPM_STATUS_FORMAT_H
#define FCGIPM_STATUS_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "scoreboard.h"
#include "status_route.h"

/* A number fcgipm cannot know (exec workers are opaque, a queue that
 * could not be read): "-" in text, null in JSON, no OpenMetrics sample. */
#define STATUS_UNKNOWN UINT64_MAX

/* A growing output buffer; failed is sticky once an allocation fails. */
struct status_buf {
    char *data;
    size_t len;
    size_t cap;
    bool failed;
};

void status_buf_free(struct status_buf *b);
/* Append len bytes / formatted text. 0, or -1 (b->failed) when out of
 * memory. */
int status_buf_append(struct status_buf *b, const void *data, size_t len);
int status_buf_printf(struct status_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* One worker, for ?full. */
struct status_worker {
    unsigned slot;
    pid_t pid;
    const char *state;          /* "idle", "busy", ... (static) */
    double start_wall;          /* epoch seconds */
    uint64_t start_since_s;
    uint64_t requests;          /* STATUS_UNKNOWN for exec workers */
    bool busy;                  /* the request fields are set */
    uint64_t duration_ms;
    char method[SB_METHOD_MAX];
    char uri[SB_URI_MAX];
};

/* One pool: php-fpm's fields, then fcgipm's own. Counts are
 * STATUS_UNKNOWN where they cannot be known. */
struct status_pool {
    const char *name;
    const char *pm;             /* "static", "dynamic", ... */
    const char *mode;           /* "exec", "cgi", "module" */
    double start_wall;
    uint64_t start_since_s;
    uint64_t accepted;          /* requests served */
    uint64_t listen_queue;
    uint64_t max_listen_queue;
    uint64_t listen_queue_len;  /* the backlog */
    uint64_t idle;
    uint64_t active;
    uint64_t total;
    uint64_t max_active;
    uint64_t max_children_reached;
    uint64_t slow;
    const char *const *listen;  /* addresses as configured */
    size_t nlisten;
    uint64_t min_workers;
    uint64_t max_workers;
    uint64_t target;
    uint64_t spawns;
    uint64_t respawns;
    bool crash_loop;
    struct status_worker *workers;
    size_t nworkers;
};

struct status_report {
    struct status_pool *pools;
    size_t npools;
};

/* Append the report in format q->format (with per-worker rows when
 * q->full) to out. 0, or -1 when out of memory. */
int status_format(const struct status_report *r, const struct status_query *q,
                  struct status_buf *out);
int status_format_text(const struct status_report *r, bool full,
                       struct status_buf *out);
int status_format_json(const struct status_report *r, bool full,
                       struct status_buf *out);
int status_format_openmetrics(const struct status_report *r, bool full,
                              struct status_buf *out);
/* The Content-Type header value for f. */
const char *status_content_type(enum status_format f);

#endif
