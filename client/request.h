/* The pieces of the fcgi-request tool: the request it builds (params,
 * body), the exchange with the peer, the CGI response it prints, and the
 * load mode that sends the same request many times. */
#ifndef FCGIPM_REQUEST_H
#define FCGIPM_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "fcgi_addr.h"
#include "fcgi_record.h"

/* Exit codes; 7, 22 and 28 are curl's, so scripts read them alike. */
enum request_exit {
    REQUEST_EXIT_OK = 0,
    REQUEST_EXIT_FAIL = 1,      /* protocol or I/O error */
    REQUEST_EXIT_CONNECT = 7,   /* cannot connect */
    REQUEST_EXIT_HTTP = 22,     /* the response Status is not 2xx */
    REQUEST_EXIT_TIMEOUT = 28,
    REQUEST_EXIT_USAGE = 64,
};

/* The request ID we use: one request per connection. */
#define REQUEST_ID 1
/* STDIN and PARAMS record content: the largest multiple of 8 that fits,
 * so no padding. */
#define REQUEST_CHUNK 65528

/* Params in the order they are sent; setting a name again replaces it. */
struct request_param {
    char *name;
    char *value;
};

struct request_params {
    struct request_param *v;
    size_t n;
    size_t cap;
};

/* Where the body comes from: nowhere, memory, or a regular file. */
struct request_body {
    bool present;
    const char *name;       /* "stdin", the file or "-d", for messages */
    int fd;                 /* -1 unless streamed from a regular file */
    uint8_t *mem;           /* -d STRING or a slurped pipe; owned */
    uint64_t len;           /* CONTENT_LENGTH */
    uint64_t sent;          /* bytes handed out by request_body_read */
};

struct request {
    const char *addr_arg;   /* ADDR as written, for messages */
    struct fcgi_addr addr;
    struct request_params params;
    struct request_body body;
    bool include_headers;   /* -i */
    bool verbose;           /* -v */
    double timeout_s;       /* -t, for messages; 0: none */
    int64_t deadline_at;    /* monotonic ms; 0: no timeout */
};

/* "fcgi-request: ADDR: <message>" on stderr. */
void request_error(const struct request *rq, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* What is left until rq's deadline in ms (-1: no deadline, 0: expired),
 * for poll(). */
int request_left_ms(const struct request *rq);

/* Whether s[0..len) is a non-empty RFC 9110 token (method, header). */
bool request_params_is_token(const char *s, size_t len);
/* Set name to value (both copied), replacing an earlier value in place.
 * Returns 0, or -1 with errno ENOMEM. */
int request_params_set(struct request_params *ps, const char *name,
                       const char *value);
/* "NAME=VALUE" (-p): -1 with errno EINVAL when NAME is empty or there is
 * no '='. */
int request_params_set_arg(struct request_params *ps, const char *arg);
/* "Name: value" (-H) as a web server passes it: Content-Type and
 * Content-Length become CONTENT_TYPE and CONTENT_LENGTH, others
 * HTTP_NAME. -1 with errno EINVAL when it is not a header. */
int request_params_set_header(struct request_params *ps, const char *arg);
/* The CGI defaults for method, uri and body. */
int request_params_defaults(struct request_params *ps, const char *method,
                            const char *uri, const struct request_body *b);
/* The PARAMS stream as name-value pairs in *out (malloc'd, caller frees),
 * its length in *len. -1 with errno ENOMEM or EINVAL. */
int request_params_encode(const struct request_params *ps, uint8_t **out,
                          size_t *len);
void request_params_free(struct request_params *ps);

/* Bytes on the wire for a stream of len bytes cut into REQUEST_CHUNK
 * records, with the empty record that ends it. */
size_t request_stream_size(size_t len);

/* Open the body: "-" (stdin), "@FILE" or the string itself. A pipe is
 * read to the end, under rq's deadline, to learn CONTENT_LENGTH. Returns
 * 0, or -1 with errno (ETIMEDOUT when the deadline passed). */
int request_body_open(struct request *rq, const char *arg);
/* Up to max bytes of the body into buf: how many, 0 at its end, or -1
 * with errno (ENODATA when a file shrank below CONTENT_LENGTH). */
ssize_t request_body_read(struct request_body *b, void *buf, size_t max);
/* Read a body streamed from a file into b->mem, so that it can be sent
 * again and again. 0, or -1 with errno (ENODATA: the file shrank). */
int request_body_load(struct request_body *b);
void request_body_close(struct request_body *b);

/* The CGI response on STDOUT: the header block is held until its blank
 * line, checked for Status, then printed (with -i) or dropped. */
#define REQUEST_MAX_HEADERS 65536

struct request_output {
    bool include_headers;
    bool in_headers;        /* the blank line has not come yet */
    int status;             /* from Status:, 200 without one */
    const char *error;      /* why the response is malformed */
    size_t hdr_len;
    size_t scan_at;         /* start of the first line not yet checked */
    char hdr[REQUEST_MAX_HEADERS];
};

void request_output_init(struct request_output *o, bool include_headers);
/* Take STDOUT content. Returns 0, or -1: o->error set for a malformed
 * response, else errno from writing stdout. */
int request_output_feed(struct request_output *o, const uint8_t *data,
                        size_t len);
/* At END_REQUEST: -1 with o->error set when the headers never ended. */
int request_output_finish(struct request_output *o);
/* write(2) all of buf to fd, waiting out EAGAIN. 0, or -1 with errno. */
int request_output_write(int fd, const void *buf, size_t len);

/* Connect, send the request, print the response; returns the exit code. */
enum request_exit request_conn_run(struct request *rq);

/*
 * Latency histogram with bounded memory: values in microseconds, exact
 * below 128 us, then 64 buckets per power of two (each under 1.6% wide);
 * values from 2^40 us (12 days) up count as 2^40 - 1.
 */
#define REQUEST_STATS_SUB 64
#define REQUEST_STATS_MAX_BITS 40
#define REQUEST_STATS_BUCKETS \
    (2 * REQUEST_STATS_SUB + (REQUEST_STATS_MAX_BITS - 7) * REQUEST_STATS_SUB)

struct request_stats {
    uint64_t count;
    uint64_t min_us;
    uint64_t max_us;
    uint64_t bucket[REQUEST_STATS_BUCKETS];
};

void request_stats_init(struct request_stats *st);
void request_stats_add(struct request_stats *st, uint64_t us);
/* The nearest-rank percentile pct (0..100] of the values added: the middle
 * of its bucket, kept within [min, max]; 0 when nothing was added. */
uint64_t request_stats_percentile(const struct request_stats *st,
                                  double pct);
/* Bucket index of a value, and the lowest and highest value of a bucket;
 * exposed for tests. */
size_t request_stats_bucket(uint64_t us);
uint64_t request_stats_bucket_low(size_t idx);
uint64_t request_stats_bucket_high(size_t idx);

/* Load mode (-c, -n, -D, -k). */
#define REQUEST_LOAD_MAX_CONC 1024  /* each connection holds ~66 KiB */

struct request_load_opts {
    unsigned conc;              /* -c: connections at once */
    uint64_t count;             /* -n: requests in all; 0 with -D */
    double duration_s;          /* -D: start requests for this long */
    bool keep_conn;             /* -k: FCGI_KEEP_CONN, reuse connections */
};

/* Send rq's request (body already in memory) over o->conc connections
 * until o->count requests are done or o->duration_s has passed, each
 * bounded by rq->timeout_s; print the report and the summary line on
 * stdout. REQUEST_EXIT_OK when every request succeeded, REQUEST_EXIT_FAIL
 * when any failed or the run could not start. */
enum request_exit request_load_run(struct request *rq,
                                   const struct request_load_opts *o);

/* How a load-mode request ended. */
enum request_load_result {
    REQUEST_LOAD_OK,
    REQUEST_LOAD_CONNECT,       /* connect failed */
    REQUEST_LOAD_IO,            /* closed, reset or I/O error */
    REQUEST_LOAD_PROTOCOL,      /* malformed, unexpected or refused */
    REQUEST_LOAD_STATUS,        /* the Status is not 2xx */
    REQUEST_LOAD_TIMEOUT,
    REQUEST_LOAD_NRESULTS,
};

enum request_lconn_state {
    REQUEST_LCONN_IDLE,         /* no request left for it */
    REQUEST_LCONN_READY,        /* on the ready list, to start one */
    REQUEST_LCONN_RETRY,        /* connect said EAGAIN; again at retry_at */
    REQUEST_LCONN_CONNECTING,   /* TCP connect in progress */
    REQUEST_LCONN_BUSY,         /* sending and reading */
};

/* What the load mode reads of a response's CGI headers: Status only. */
struct request_lconn_scan {
    bool in_headers;
    bool line_colon;            /* the current line has a ':' */
    bool line_long;             /* ... and more than line can hold */
    int status;                 /* 200 without a Status header */
    const char *error;
    size_t line_len;
    char line[64];
};

/* One connection of the load mode and the request it carries. */
struct request_lconn {
    struct request_load *load;
    enum request_lconn_state state;
    int fd;                     /* -1: none */
    uint32_t events;            /* what epoll watches on fd; 0: not added */
    bool reused;                /* the request runs on a kept connection */
    bool send_failed;           /* the peer stopped reading: do not keep */
    bool replied;               /* a byte of the response came */
    size_t out_off;             /* bytes of the request sent */
    int retry_ms;
    int64_t start_us;
    int64_t retry_at;           /* monotonic us, in REQUEST_LCONN_RETRY */
    int64_t deadline_at;        /* monotonic us; 0: no timeout */
    struct request_lconn_scan scan;
    struct fcgi_record_decoder dec;
};

struct request_load {
    struct request *rq;
    const struct request_load_opts *o;
    int epfd;
    uint8_t *req;               /* the encoded request, sent by all */
    size_t req_len;
    struct request_lconn *conns;
    struct request_lconn **ready;   /* a stack of up to o->conc */
    unsigned nready;
    unsigned active;            /* connections not idle */
    uint64_t started;
    uint64_t results[REQUEST_LOAD_NRESULTS];
    bool said[REQUEST_LOAD_NRESULTS];   /* first error of a kind shown */
    int64_t timeout_us;         /* 0: none */
    int64_t begin_at, last_at;  /* monotonic us: start, last end */
    int64_t stop_at;            /* -D: no request starts after; 0: -n */
    int64_t scan_at;            /* next retry or timeout check; 0: none */
    struct request_stats stats;
};

/* Whether another request may start now; counts it when so. */
bool request_load_take(struct request_load *l, int64_t now);
/* Count a request that ended with r, started at start_us. */
void request_load_count(struct request_load *l, enum request_load_result r,
                        int64_t start_us);
/* Wake up for retries and timeouts at due (monotonic us) at the latest. */
void request_load_wake_at(struct request_load *l, int64_t due);

/* Start c's next request, or make c idle when none is left. */
void request_lconn_start(struct request_lconn *c);
/* epoll reported events on c's socket. */
void request_lconn_event(struct request_lconn *c, uint32_t events);
/* Retry a connect or expire a request that is due at now; returns when
 * c next needs a look (monotonic us), 0 for never. */
int64_t request_lconn_tick(struct request_lconn *c, int64_t now);
/* Close c's socket, if any. */
void request_lconn_close(struct request_lconn *c);

#endif
