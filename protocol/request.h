/* The pieces of the fcgi-request tool: the request it builds (params,
 * body), the exchange with the peer, and the CGI response it prints. */
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

/* Monotonic milliseconds, and what is left until rq's deadline (-1: no
 * deadline, 0: expired), for poll(). */
int64_t request_now_ms(void);
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

/* Open the body: "-" (stdin), "@FILE" or the string itself. A pipe is
 * read to the end, under rq's deadline, to learn CONTENT_LENGTH. Returns
 * 0, or -1 with errno (ETIMEDOUT when the deadline passed). */
int request_body_open(struct request *rq, const char *arg);
/* Up to max bytes of the body into buf: how many, 0 at its end, or -1
 * with errno (ENODATA when a file shrank below CONTENT_LENGTH). */
ssize_t request_body_read(struct request_body *b, void *buf, size_t max);
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

#endif
