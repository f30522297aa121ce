/* The status report built from the master's pools, their scoreboards
 * and accept queues, with the peaks seen since the master started; and
 * the answer to one status request. */
#ifndef FCGIPM_STATUS_REPORT_H
#define FCGIPM_STATUS_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "status_conn.h"
#include "status_format.h"

struct manager;
struct status_peak;

/* The pools' highest values seen, by pool name, so that they outlive
 * reloads; the status server keeps them (struct status_server). */
struct status_peaks {
    struct status_peak *all;
    size_t n;
    uint64_t sampled_at;        /* when accept queues were last read */
};

/* Fill *r from m's pools (workers too when full) at now_ms (monotonic)
 * and now_wall (epoch), updating the peaks. The report points into m:
 * use it before m changes. 0, or -1 when out of memory. */
int status_collect(struct manager *m, bool full, uint64_t now_ms,
                   double now_wall, struct status_report *r);
void status_report_free(struct status_report *r);

/* The CGI response (headers and body) to rq, routed with m's
 * status_path and ping_path. 0, or -1 when out of memory. */
int status_answer(struct manager *m, const struct status_request *rq,
                  uint64_t now_ms, double now_wall, struct status_buf *out);

/* Note the pools' peaks (max active processes; max listen queue at most
 * once a second) whenever the loop wakes up: php-fpm's maxima would
 * otherwise only see the moments someone asked for the status. */
void status_sample_peaks(struct manager *m, uint64_t now);
/* Forget the peaks (exit). */
void status_peaks_free(struct status_peaks *pk);

#endif
