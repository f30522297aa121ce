/* fcgi-request: send one FastCGI request and print the response, like
 * curl for FastCGI, or send it many times as a load generator. Options,
 * the request it builds, and exit codes. */
#include "clock.h"
#include "request.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef FCGIPM_VERSION
#define FCGIPM_VERSION "0.1.0"
#endif

struct request_override {
    int opt;                    /* 'H' or 'p' */
    const char *arg;
};

/* What the command line asked for, before it becomes a request. */
struct request_cli {
    const char *method;         /* -X, NULL: GET or POST */
    const char *data;           /* -d, NULL: no body */
    struct request_override *overrides; /* -H and -p, in order */
    size_t noverrides;
    double timeout_s;
    bool include_headers;
    bool verbose;
    bool load;                  /* -c, -n or -D was given */
    struct request_load_opts lo;
    const char *addr;
    const char *uri;
};

static const char request_usage[] =
    "Usage: fcgi-request [OPTIONS] ADDR [URI]\n"
    "Send one FastCGI request to ADDR and print the response body.\n"
    "ADDR is unix:/path, /path, unix:@name, host:port, [v6]:port; URI\n"
    "defaults to /.\n"
    "\n"
    "  -X, --request METHOD    method (default GET, POST with a body)\n"
    "  -d, --data DATA         body: a string, @FILE, or - for stdin\n"
    "  -H, --header 'N: V'     a request header: Content-Type sets\n"
    "                          CONTENT_TYPE, others HTTP_N\n"
    "  -p, --param NAME=VALUE  a FastCGI param; overrides the defaults\n"
    "  -i, --include           print the CGI response headers too\n"
    "  -v, --verbose           print each record received to stderr\n"
    "  -t, --timeout SECONDS   overall timeout (default 30, 0: none); in\n"
    "                          load mode, the timeout of each request\n"
    "  -h, --help              print this help\n"
    "  -V, --version           print the version\n"
    "\n"
    "Load mode: send the same request many times, print requests/s,\n"
    "errors and latency, then a summary line \"requests=N errors=N\n"
    "seconds=S rps=R p50_ms=X p99_ms=Y max_ms=Z\" (rps counts successful\n"
    "requests; latency is from connect, or from the first write on a kept\n"
    "connection, to END_REQUEST).\n"
    "  -c, --concurrency CONC  connections at once (1 to 1024; needs -n\n"
    "                          or -D)\n"
    "  -n, --requests COUNT    send COUNT requests in all (-c 1 alone)\n"
    "  -D, --duration SECONDS  start requests for SECONDS (-c 1 alone);\n"
    "                          -c CONC -d SECONDS says the same\n"
    "  -k, --keep-alive        FCGI_KEEP_CONN: reuse each connection\n"
    "\n"
    "Exit status: 0 success (2xx), 22 status not 2xx, 7 cannot connect,\n"
    "28 timeout, 1 protocol or I/O error, 64 usage error; in load mode\n"
    "0 when every request succeeded, else 1.\n";

static const struct option request_options[] = {
    { "request", required_argument, NULL, 'X' },
    { "data", required_argument, NULL, 'd' },
    { "header", required_argument, NULL, 'H' },
    { "param", required_argument, NULL, 'p' },
    { "include", no_argument, NULL, 'i' },
    { "verbose", no_argument, NULL, 'v' },
    { "timeout", required_argument, NULL, 't' },
    { "help", no_argument, NULL, 'h' },
    { "version", no_argument, NULL, 'V' },
    { "concurrency", required_argument, NULL, 'c' },
    { "requests", required_argument, NULL, 'n' },
    { "duration", required_argument, NULL, 'D' },
    { "keep-alive", no_argument, NULL, 'k' },
    { NULL, 0, NULL, 0 },
};

void
request_error(const struct request *rq, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "fcgi-request: %s: ", rq->addr_arg);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

__attribute__((format(printf, 1, 2)))
static int
request_usage_error(const char *fmt, ...)
{
    va_list ap;

    fputs("fcgi-request: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\nTry 'fcgi-request --help'.\n", stderr);
    return -1;
}

int
request_left_ms(const struct request *rq)
{
    int64_t left;

    if (rq->deadline_at == 0)
        return -1;
    left = rq->deadline_at - (int64_t)clock_now_ms();
    if (left <= 0)
        return 0;
    return left > INT_MAX ? INT_MAX : (int)left;
}

static int
request_parse_timeout(const char *s, double *out)
{
    char *end;
    double t;

    errno = 0;
    t = strtod(s, &end);
    if (end == s || *end != '\0' || errno == ERANGE || !isfinite(t) ||
        t < 0 || t > INT_MAX / 1000)
        return request_usage_error("-t: bad timeout \"%s\" (seconds, 0 "
                                   "for none)", s);
    *out = t;
    return 0;
}

/* A whole number in [min, max] for option opt. */
static int
request_parse_count(int opt, const char *s, unsigned long long min,
                    unsigned long long max, unsigned long long *out)
{
    char *end;
    unsigned long long v;

    errno = 0;
    v = strtoull(s, &end, 10);
    if (end == s || *end != '\0' || errno == ERANGE || s[0] == '-' ||
        v < min || v > max)
        return request_usage_error("-%c: bad number \"%s\" (%llu to %llu)",
                                   opt, s, min, max);
    *out = v;
    return 0;
}

/* Seconds, more than 0, fractions allowed: 0, or -1. */
static int
request_read_seconds(const char *s, double *out)
{
    char *end;
    double t;

    errno = 0;
    t = strtod(s, &end);
    if (end == s || *end != '\0' || errno == ERANGE || !isfinite(t) ||
        !(t > 0) || t > INT_MAX / 1000)
        return -1;
    *out = t;
    return 0;
}

static int
request_parse_duration(const char *s, double *out)
{
    if (request_read_seconds(s, out) == -1)
        return request_usage_error("-D: bad duration \"%s\" (seconds, "
                                   "more than 0)", s);
    return 0;
}

/* -c, -n, -D and -k: 0, or -1 on a usage error. */
static int
request_parse_load(int opt, const char *arg, struct request_cli *cli)
{
    unsigned long long v;

    cli->load |= opt != 'k';
    switch (opt) {
    case 'c':
        if (request_parse_count(opt, arg, 1, REQUEST_LOAD_MAX_CONC, &v) == -1)
            return -1;
        cli->lo.conc = (unsigned)v;
        return 0;
    case 'n':
        if (request_parse_count(opt, arg, 1, UINT64_MAX, &v) == -1)
            return -1;
        cli->lo.count = v;
        return 0;
    case 'D':
        return request_parse_duration(arg, &cli->lo.duration_s);
    default:
        cli->lo.keep_conn = true;
        return 0;
    }
}

/* -h, -V and the load options; 1 when -h or -V was handled, -1 on a usage
 * error. */
static int
request_parse_other(int opt, struct request_cli *cli)
{
    switch (opt) {
    case 'h':
        fputs(request_usage, stdout);
        return 1;
    case 'V':
        puts("fcgi-request (fcgipm) " FCGIPM_VERSION);
        return 1;
    case 'c':
    case 'n':
    case 'D':
    case 'k':
        return request_parse_load(opt, optarg, cli);
    default:
        /* getopt_long has said what is wrong. */
        fputs("Try 'fcgi-request --help'.\n", stderr);
        return -1;
    }
}

/* The load options go together, and not with -i or -v. */
static int
request_check_load(struct request_cli *cli)
{
    struct request_load_opts *lo = &cli->lo;

    if (!cli->load)
        return lo->keep_conn ? request_usage_error("-k: only with -c, -n "
                                                   "or -D (load mode)")
                             : 0;
    /* "-c CONC -d SECONDS", as fcgipm's design writes it: with neither -n
     * nor -D, a -d that is a number of seconds is the duration (a body in
     * load mode is then @FILE, - or text that is not a number). */
    if (lo->count == 0 && lo->duration_s == 0 && cli->data != NULL
        && request_read_seconds(cli->data, &lo->duration_s) == 0)
        cli->data = NULL;
    if (lo->count > 0 && lo->duration_s > 0)
        return request_usage_error("-n and -D: one or the other");
    if (lo->count == 0 && lo->duration_s == 0)
        return request_usage_error("-c: say how many requests (-n) or for "
                                   "how long (-D, or -d SECONDS)");
    if (cli->include_headers || cli->verbose)
        return request_usage_error("-%c: not in load mode, which prints "
                                   "no response", cli->verbose ? 'v' : 'i');
    if (lo->conc == 0)
        lo->conc = 1;
    return 0;
}

/* 0 to go on, 1 when -h or -V was handled, -1 on a usage error. */
static int
request_parse_args(int argc, char **argv, struct request_cli *cli)
{
    int opt, rc;

    while ((opt = getopt_long(argc, argv, "X:d:H:p:ivt:hVc:n:D:k",
                              request_options, NULL)) != -1) {
        switch (opt) {
        case 'X':
            cli->method = optarg;
            break;
        case 'd':
            if (cli->data != NULL)
                return request_usage_error("-d: one body per request");
            cli->data = optarg;
            break;
        case 'H':
        case 'p':
            /* One list for both, so that the later one wins. */
            cli->overrides[cli->noverrides].opt = opt;
            cli->overrides[cli->noverrides++].arg = optarg;
            break;
        case 'i':
            cli->include_headers = true;
            break;
        case 'v':
            cli->verbose = true;
            break;
        case 't':
            if (request_parse_timeout(optarg, &cli->timeout_s) == -1)
                return -1;
            break;
        default:
            rc = request_parse_other(opt, cli);
            if (rc != 0)
                return rc;
        }
    }
    if (request_check_load(cli) == -1)
        return -1;
    if (optind >= argc)
        return request_usage_error("missing ADDR");
    if (argc - optind > 2)
        return request_usage_error("too many arguments: \"%s\"",
                                   argv[optind + 2]);
    cli->addr = argv[optind];
    cli->uri = optind + 1 < argc ? argv[optind + 1] : "/";
    return 0;
}

/* Check -X, -H and -p before a body is read from stdin: 0, or the exit
 * code after saying why. */
static int
request_check_cli(const struct request_cli *cli,
                  struct request_params *extra)
{
    const struct request_override *o;
    int rc = 0;

    if (cli->method != NULL &&
        !request_params_is_token(cli->method, strlen(cli->method))) {
        request_usage_error("-X: bad method \"%s\"", cli->method);
        return REQUEST_EXIT_USAGE;
    }
    for (size_t i = 0; i < cli->noverrides && rc == 0; i++) {
        o = &cli->overrides[i];
        rc = o->opt == 'H' ? request_params_set_header(extra, o->arg)
                           : request_params_set_arg(extra, o->arg);
    }
    if (rc == 0)
        return 0;
    if (errno != EINVAL) {
        fprintf(stderr, "fcgi-request: %s\n", strerror(errno));
        return REQUEST_EXIT_FAIL;
    }
    if (o->opt == 'H')
        request_usage_error("-H: bad header \"%s\" (want 'Name: value')",
                            o->arg);
    else
        request_usage_error("-p: bad param \"%s\" (want NAME=VALUE)",
                            o->arg);
    return REQUEST_EXIT_USAGE;
}

/* -d: 0, or the exit code after saying why. */
static int
request_open_body(struct request *rq, const char *arg)
{
    if (request_body_open(rq, arg) == 0)
        return 0;
    if (errno == ETIMEDOUT) {
        request_error(rq, "timed out after %g s reading %s", rq->timeout_s,
                      rq->body.name);
        return REQUEST_EXIT_TIMEOUT;
    }
    request_error(rq, "%s: %s", rq->body.name, strerror(errno));
    return REQUEST_EXIT_FAIL;
}

/* From the command line to a request: 0, or the exit code. */
static int
request_build(struct request *rq, const struct request_cli *cli)
{
    struct request_params extra = { 0 };
    char err[160];
    const char *method;
    int rc;

    rq->addr_arg = cli->addr;
    if (fcgi_addr_parse(cli->addr, &rq->addr, err, sizeof(err)) == -1) {
        request_usage_error("%s: %s", cli->addr, err);
        return REQUEST_EXIT_USAGE;
    }
    rq->include_headers = cli->include_headers;
    rq->verbose = cli->verbose;
    rq->timeout_s = cli->timeout_s;
    /* Rounded up, so that a tiny -t still means "some time". */
    if (cli->timeout_s > 0)
        rq->deadline_at = (int64_t)clock_now_ms() + 1 +
                          (int64_t)(cli->timeout_s * 1000);
    rc = request_check_cli(cli, &extra);
    if (rc == 0 && cli->data != NULL)
        rc = request_open_body(rq, cli->data);
    method = cli->method ? cli->method : cli->data ? "POST" : "GET";
    if (rc == 0 && request_params_defaults(&rq->params, method, cli->uri,
                                           &rq->body) == -1)
        rc = -1;
    for (size_t i = 0; rc == 0 && i < extra.n; i++)
        rc = request_params_set(&rq->params, extra.v[i].name,
                                extra.v[i].value);
    if (rc == -1) {
        request_error(rq, "%s", strerror(errno));
        rc = REQUEST_EXIT_FAIL;
    }
    request_params_free(&extra);
    return rc;
}

int
main(int argc, char **argv)
{
    struct request_cli cli = { .timeout_s = 30 };
    struct request rq = { .body = { .fd = -1 } };
    int rc;

    cli.overrides = calloc((size_t)argc, sizeof(*cli.overrides));
    if (cli.overrides == NULL) {
        perror("fcgi-request");
        return REQUEST_EXIT_FAIL;
    }
    rc = request_parse_args(argc, argv, &cli);
    if (rc != 0) {
        free(cli.overrides);
        return rc == 1 ? REQUEST_EXIT_OK : REQUEST_EXIT_USAGE;
    }
    rc = request_build(&rq, &cli);
    if (rc == 0)
        rc = cli.load ? request_load_run(&rq, &cli.lo)
                      : request_conn_run(&rq);
    request_body_close(&rq.body);
    request_params_free(&rq.params);
    free(cli.overrides);
    return rc;
}
