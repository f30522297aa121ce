/* fcgi-request's load mode: one thread, one epoll set, CONC connections
 * each sending the same pre-encoded request; counts, latency histogram,
 * the report and its machine-readable summary line. */
#include "clock.h"
#include "request.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define LOAD_NEV 64
/* Descriptors besides the connections: stdio, epoll, a spare. */
#define LOAD_SPARE_FDS 8

bool
request_load_take(struct request_load *l, int64_t now)
{
    if (l->o->count > 0 && l->started >= l->o->count)
        return false;
    if (l->stop_at != 0 && now >= l->stop_at)
        return false;
    l->started++;
    return true;
}

void
request_load_count(struct request_load *l, enum request_load_result r,
                   int64_t start_us)
{
    l->last_at = (int64_t)clock_now_us();
    l->results[r]++;
    if (r == REQUEST_LOAD_OK)
        request_stats_add(&l->stats, (uint64_t)(l->last_at - start_us));
}

void
request_load_wake_at(struct request_load *l, int64_t due)
{
    if (l->scan_at == 0 || due < l->scan_at)
        l->scan_at = due;
}

/* A stream of len bytes (data may be NULL when len is 0) as records of
 * type, ended by an empty one, at dst; returns the bytes written. */
static size_t
request_load_stream(uint8_t *dst, size_t cap, uint8_t type,
                    const uint8_t *data, size_t len)
{
    size_t w = 0, off = 0, chunk;

    do {
        chunk = len - off > REQUEST_CHUNK ? REQUEST_CHUNK : len - off;
        w += (size_t)fcgi_record_encode(dst + w, cap - w, type, REQUEST_ID,
                                        chunk > 0 ? data + off : NULL,
                                        chunk);
        off += chunk;
    } while (chunk > 0);
    return w;
}

/* The whole request on the wire: BEGIN_REQUEST, PARAMS, STDIN. */
static int
request_load_encode(struct request_load *l)
{
    const struct request *rq = l->rq;
    uint8_t begin[FCGI_RECORD_BODY_LEN], *pairs;
    size_t plen, cap;

    if (request_params_encode(&rq->params, &pairs, &plen) == -1)
        return -1;
    cap = fcgi_record_size(sizeof(begin)) + request_stream_size(plen) +
          request_stream_size((size_t)rq->body.len);
    l->req = malloc(cap);
    if (l->req == NULL) {
        free(pairs);
        return -1;
    }
    fcgi_record_encode_begin(begin, FCGI_ROLE_RESPONDER,
                             l->o->keep_conn ? FCGI_FLAG_KEEP_CONN : 0);
    l->req_len = (size_t)fcgi_record_encode(l->req, cap,
                                            FCGI_TYPE_BEGIN_REQUEST,
                                            REQUEST_ID, begin, sizeof(begin));
    l->req_len += request_load_stream(l->req + l->req_len, cap - l->req_len,
                                      FCGI_TYPE_PARAMS, pairs, plen);
    l->req_len += request_load_stream(l->req + l->req_len, cap - l->req_len,
                                      FCGI_TYPE_STDIN, rq->body.mem,
                                      (size_t)rq->body.len);
    free(pairs);
    return 0;
}

/* Room for every connection's descriptor: raise the soft limit if need
 * be. */
static int
request_load_fd_limit(unsigned conc)
{
    struct rlimit rl;
    rlim_t want = (rlim_t)conc + LOAD_SPARE_FDS;

    if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
        return -1;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
        if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want) {
            errno = EMFILE;
            return -1;
        }
        rl.rlim_cur = want;
        if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
            return -1;
    }
    return 0;
}

/* Body, request bytes, connections and epoll set: 0, or -1 said. */
static int
request_load_setup(struct request_load *l)
{
    unsigned n = l->o->conc;

    if (request_body_load(&l->rq->body) == -1) {
        request_error(l->rq, "%s: %s", l->rq->body.name, strerror(errno));
        return -1;
    }
    if (request_load_fd_limit(n) == -1) {
        request_error(l->rq, "%u connections: open files limit: %s", n,
                      strerror(errno));
        return -1;
    }
    l->conns = calloc(n, sizeof(*l->conns));
    l->ready = calloc(n, sizeof(*l->ready));
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (l->conns == NULL || l->ready == NULL || l->epfd == -1 ||
        request_load_encode(l) == -1) {
        request_error(l->rq, "%s", strerror(errno));
        return -1;
    }
    for (unsigned i = 0; i < n; i++) {
        l->conns[i].load = l;
        l->conns[i].fd = -1;
        l->conns[i].state = REQUEST_LCONN_READY;
        l->ready[l->nready++] = &l->conns[i];
    }
    l->active = n;
    return 0;
}

/* Retries and timeouts that are due; when the next one is. */
static void
request_load_scan(struct request_load *l, int64_t now)
{
    int64_t due;

    l->scan_at = 0;
    for (unsigned i = 0; i < l->o->conc; i++) {
        due = request_lconn_tick(&l->conns[i], now);
        if (due != 0)
            request_load_wake_at(l, due);
    }
}

/* Milliseconds epoll may sleep: until the next scan, rounded up. */
static int
request_load_sleep_ms(const struct request_load *l, int64_t now)
{
    int64_t left;

    if (l->scan_at == 0)
        return -1;
    left = l->scan_at - now;
    if (left <= 0)
        return 0;
    return left / 1000 >= 60000 ? 60000 : (int)((left + 999) / 1000);
}

static int
request_load_loop(struct request_load *l)
{
    struct epoll_event ev[LOAD_NEV];
    int n;

    for (;;) {
        /* Starting may fail at once and queue the connection again. */
        while (l->nready > 0)
            request_lconn_start(l->ready[--l->nready]);
        if (l->active == 0)
            return 0;
        n = epoll_wait(l->epfd, ev, LOAD_NEV,
                       request_load_sleep_ms(l, (int64_t)clock_now_us()));
        if (n == -1 && errno != EINTR) {
            request_error(l->rq, "epoll_wait: %s", strerror(errno));
            return -1;
        }
        for (int i = 0; i < n; i++)
            request_lconn_event(ev[i].data.ptr, ev[i].events);
        if (l->scan_at != 0 && (int64_t)clock_now_us() >= l->scan_at)
            request_load_scan(l, (int64_t)clock_now_us());
    }
}

static double
request_load_ms(uint64_t us)
{
    return (double)us / 1000;
}

static void
request_load_report(const struct request_load *l)
{
    const uint64_t *r = l->results;
    uint64_t total = 0, errors;
    double secs = (double)(l->last_at - l->begin_at) / 1e6, rps;
    double p50 = request_load_ms(request_stats_percentile(&l->stats, 50));
    double p99 = request_load_ms(request_stats_percentile(&l->stats, 99));
    double max = request_load_ms(l->stats.max_us);

    for (int i = 0; i < REQUEST_LOAD_NRESULTS; i++)
        total += r[i];
    errors = total - r[REQUEST_LOAD_OK];
    rps = secs > 0 ? (double)r[REQUEST_LOAD_OK] / secs : 0;
    printf("%" PRIu64 " requests in %.3f s over %u connection%s%s: "
           "%.1f successful requests/s\n", total, secs, l->o->conc,
           l->o->conc == 1 ? "" : "s", l->o->keep_conn ? " (kept)" : "",
           rps);
    printf("errors: %" PRIu64 " (connect %" PRIu64 ", io %" PRIu64
           ", protocol %" PRIu64 ", status %" PRIu64 ", timeout %" PRIu64
           ")\n", errors, r[REQUEST_LOAD_CONNECT], r[REQUEST_LOAD_IO],
           r[REQUEST_LOAD_PROTOCOL], r[REQUEST_LOAD_STATUS],
           r[REQUEST_LOAD_TIMEOUT]);
    printf("latency of successful requests (ms): p50 %.3f  p99 %.3f  "
           "max %.3f\n", p50, p99, max);
    printf("requests=%" PRIu64 " errors=%" PRIu64 " seconds=%.3f rps=%.1f "
           "p50_ms=%.3f p99_ms=%.3f max_ms=%.3f\n", total, errors, secs, rps,
           p50, p99, max);
}

static void
request_load_free(struct request_load *l)
{
    if (l->conns != NULL)
        for (unsigned i = 0; i < l->o->conc; i++)
            request_lconn_close(&l->conns[i]);
    if (l->epfd != -1)
        close(l->epfd);
    free(l->conns);
    free(l->ready);
    free(l->req);
}

enum request_exit
request_load_run(struct request *rq, const struct request_load_opts *o)
{
    struct request_load *l = calloc(1, sizeof(*l));
    int rc = -1;

    if (l == NULL) {
        request_error(rq, "%s", strerror(errno));
        return REQUEST_EXIT_FAIL;
    }
    l->rq = rq;
    l->o = o;
    l->epfd = -1;
    l->timeout_us = (int64_t)(rq->timeout_s * 1e6);
    request_stats_init(&l->stats);
    if (request_load_setup(l) == 0) {
        l->begin_at = l->last_at = (int64_t)clock_now_us();
        if (o->duration_s > 0)
            l->stop_at = l->begin_at + (int64_t)(o->duration_s * 1e6);
        rc = request_load_loop(l);
    }
    if (rc == 0)
        request_load_report(l);
    if (rc == 0 && l->results[REQUEST_LOAD_OK] != l->started)
        rc = -1;
    request_load_free(l);
    free(l);
    return rc == 0 ? REQUEST_EXIT_OK : REQUEST_EXIT_FAIL;
}
