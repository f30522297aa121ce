/* The control protocol, without I/O: requests parsed from words or a
 * line and written back, answers' final lines, and the status rows.
 * Both ends use it: control.c in the master, ctl.c in fcgipm ctl. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control_proto.h"
#include "lines.h"
#include "pool_conf.h"

#define WORDS_MAX 8

static const char *const verbs[] = {
    [CONTROL_STATUS] = "status",   [CONTROL_RELOAD] = "reload",
    [CONTROL_SCALE] = "scale",     [CONTROL_UPGRADE] = "upgrade",
    [CONTROL_STOP] = "stop",       [CONTROL_REOPEN] = "reopen",
};

const char *const control_pool_columns[] = {
    "name", "mode", "pm", "target", "total", "idle", "active",
    "max_workers", "accepted", "listen_queue", NULL,
};

const char *const control_worker_columns[] = {
    "pool", "pid", "state", "requests", "rss_kb", "duration_ms", "method",
    "uri", NULL,
};

static bool
pool_name_ok(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > CONTROL_POOL_MAX)
        return false;
    for (; *s != '\0'; s++)
        if (!isalnum((unsigned char)*s) && strchr("_-.", *s) == NULL)
            return false;
    return true;
}

/* "N", "+N" or "-N", N at most CONF_MAX_WORKERS, digits only. */
static int
parse_size(const char *s, struct control_request *rq)
{
    const char *digits = s + (*s == '+' || *s == '-');
    char *end;

    if (*digits < '0' || *digits > '9')
        return -1;
    errno = 0;
    long v = strtol(digits, &end, 10);
    if (errno != 0 || *end != '\0' || v > CONF_MAX_WORKERS)
        return -1;
    rq->how = digits == s ? CONTROL_SCALE_TO : CONTROL_SCALE_BY;
    rq->n = *s == '-' ? -v : v;
    return 0;
}

static int
verb_of(const char *word)
{
    for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
        if (strcmp(word, verbs[i]) == 0)
            return (int)i;
    return -1;
}

/* The arguments after the verb; argv[0] is the verb. */
static int
parse_args(size_t argc, char *const *argv, struct control_request *rq,
           char *why, size_t len)
{
    const char *v = argv[0];

    switch (rq->verb) {
    case CONTROL_STATUS:
        if (argc > 2)
            break;
        if (argc == 2 && !pool_name_ok(argv[1])) {
            snprintf(why, len, "status: not a pool name");
            return -1;
        }
        if (argc == 2)
            snprintf(rq->pool, sizeof(rq->pool), "%s", argv[1]);
        return 0;
    case CONTROL_SCALE:
        if (argc != 3)
            break;
        if (!pool_name_ok(argv[1])) {
            snprintf(why, len, "scale: not a pool name");
            return -1;
        }
        snprintf(rq->pool, sizeof(rq->pool), "%s", argv[1]);
        if (parse_size(argv[2], rq) == -1) {
            snprintf(why, len, "scale: the size is N, +N or -N, N at most "
                     "%d", CONF_MAX_WORKERS);
            return -1;
        }
        return 0;
    case CONTROL_STOP:
        if (argc == 2 && strcmp(argv[1], "--graceful") == 0)
            rq->graceful = true;
        else if (argc != 1)
            break;
        return 0;
    default:
        if (argc == 1)
            return 0;
        break;
    }
    snprintf(why, len, "%s: %s", v,
             rq->verb == CONTROL_STATUS ? "usage: status [POOL]"
             : rq->verb == CONTROL_SCALE ? "usage: scale POOL N|+N|-N"
             : rq->verb == CONTROL_STOP ? "usage: stop [--graceful]"
                                        : "takes no argument");
    return -1;
}

int
control_proto_parse_words(size_t argc, char *const *argv,
                          struct control_request *rq, char *why, size_t len)
{
    *rq = (struct control_request){ .verb = CONTROL_STATUS };
    if (argc == 0) {
        snprintf(why, len, "no command");
        return -1;
    }
    int verb = verb_of(argv[0]);
    if (verb == -1) {
        snprintf(why, len, "unknown command");
        return -1;
    }
    rq->verb = (enum control_verb)verb;
    return parse_args(argc, argv, rq, why, len);
}

int
control_proto_parse_line(const char *line, struct control_request *rq,
                         char *why, size_t len)
{
    char copy[CONTROL_LINE_MAX];
    char *words[WORDS_MAX + 1];
    size_t n = 0;

    if (strlen(line) >= sizeof(copy)) {
        snprintf(why, len, "request line too long");
        return -1;
    }
    strcpy(copy, line);
    for (const char *p = copy; *p != '\0'; p++)
        if (iscntrl((unsigned char)*p) || (unsigned char)*p >= 0x80) {
            snprintf(why, len, "not a request line");
            return -1;
        }
    /* Words are separated by one space: no empty word. */
    for (char *p = copy, *w = copy;; p++) {
        if (*p != ' ' && *p != '\0')
            continue;
        bool last = *p == '\0';
        *p = '\0';
        if (*w == '\0' || n == WORDS_MAX) {
            snprintf(why, len, "not a request line");
            return -1;
        }
        words[n++] = w;
        w = p + 1;
        if (last)
            break;
    }
    if (strcmp(words[0], CONTROL_PROTO) != 0) {
        snprintf(why, len, strncmp(words[0], "fcgipm-ctl/", 11) == 0
                 ? "unsupported protocol version (this master speaks "
                   CONTROL_PROTO ")" : "not a " CONTROL_PROTO " request");
        return -1;
    }
    return control_proto_parse_words(n - 1, words + 1, rq, why, len);
}

int
control_proto_format_request(const struct control_request *rq, char *buf,
                             size_t len)
{
    char arg[CONTROL_POOL_MAX + 32] = "";
    int n;

    if (rq->verb == CONTROL_SCALE)
        snprintf(arg, sizeof(arg), " %s %s%ld", rq->pool,
                 rq->how == CONTROL_SCALE_BY && rq->n >= 0 ? "+" : "",
                 rq->n);
    else if (rq->verb == CONTROL_STATUS && rq->pool[0] != '\0')
        snprintf(arg, sizeof(arg), " %s", rq->pool);
    else if (rq->verb == CONTROL_STOP && rq->graceful)
        snprintf(arg, sizeof(arg), " --graceful");
    n = snprintf(buf, len, "%s %s%s\n", CONTROL_PROTO, verbs[rq->verb], arg);
    if (n < 0 || (size_t)n >= len || (size_t)n > CONTROL_LINE_MAX)
        return -1;
    return n;
}

/* Append s cleaned by lines_clean: one line, no tab, printable UTF-8
 * (a worker's URI may carry a terminal's escapes or any bytes). */
static int
put_clean(struct status_buf *out, const char *s)
{
    for (size_t n = strlen(s); n > 0;) {
        char c[LINES_CHAR_MAX];
        size_t len, took = lines_clean_char(s, n, 0, c, &len);
        if (status_buf_append(out, c, len) == -1)
            return -1;
        s += took;
        n -= took;
    }
    return 0;
}

int
control_proto_final(struct status_buf *out, int code, const char *text)
{
    if (code == CONTROL_EXIT_OK)
        status_buf_printf(out, "ok");
    else
        status_buf_printf(out, "error %d", code);
    if (text != NULL && *text != '\0') {
        status_buf_append(out, " ", 1);
        put_clean(out, text);
    }
    status_buf_append(out, "\n", 1);
    return out->failed ? -1 : 0;
}

int
control_proto_parse_final(const char *line, int *code, const char **text)
{
    if (strncmp(line, "ok", 2) == 0 && (line[2] == '\0' || line[2] == ' ')) {
        *code = CONTROL_EXIT_OK;
        *text = line[2] == ' ' ? line + 3 : line + 2;
        return 1;
    }
    if (strncmp(line, "error ", 6) != 0)
        return 0;
    const char *p = line + 6;
    char *end;
    if (*p < '1' || *p > '9')
        return -1;
    long v = strtol(p, &end, 10);
    if (v > 125 || (*end != ' ' && *end != '\0'))
        return -1;
    *code = (int)v;
    *text = *end == ' ' ? end + 1 : end;
    return 1;
}

size_t
control_proto_split(char *line, char **fields, size_t max)
{
    size_t n = 0;

    while (n < max) {
        fields[n++] = line;
        line = strchr(line, '\t');
        if (line == NULL)
            break;
        *line++ = '\0';
    }
    return n;
}

/* A count, or "-" when it cannot be known. */
static void
put_count(struct status_buf *out, uint64_t v)
{
    if (v == STATUS_UNKNOWN)
        status_buf_append(out, "\t-", 2);
    else
        status_buf_printf(out, "\t%" PRIu64, v);
}

static void
put_field(struct status_buf *out, const char *s)
{
    status_buf_append(out, "\t", 1);
    if (s == NULL || *s == '\0')
        status_buf_append(out, "-", 1);
    else
        put_clean(out, s);
}

static void
format_worker(const struct status_pool *p, const struct status_worker *w,
              uint64_t rss_kb, struct status_buf *out)
{
    status_buf_printf(out, "worker\t%s\t%d", p->name, (int)w->pid);
    put_field(out, w->state);
    put_count(out, w->requests);
    put_count(out, rss_kb);
    put_count(out, w->busy ? w->duration_ms : STATUS_UNKNOWN);
    put_field(out, w->busy ? w->method : NULL);
    put_field(out, w->busy ? w->uri : NULL);
    status_buf_append(out, "\n", 1);
}

int
control_proto_format_status(const struct status_report *r,
                            const uint64_t *rss_kb, struct status_buf *out)
{
    size_t k = 0;

    for (size_t i = 0; i < r->npools; i++) {
        const struct status_pool *p = &r->pools[i];
        status_buf_printf(out, "pool");
        put_field(out, p->name);
        put_field(out, p->mode);
        put_field(out, p->pm);
        put_count(out, p->target);
        put_count(out, p->total);
        put_count(out, p->idle);
        put_count(out, p->active);
        put_count(out, p->max_workers);
        put_count(out, p->accepted);
        put_count(out, p->listen_queue);
        status_buf_append(out, "\n", 1);
        for (size_t j = 0; j < p->nworkers; j++, k++)
            format_worker(p, &p->workers[j],
                          rss_kb != NULL ? rss_kb[k] : STATUS_UNKNOWN, out);
    }
    return out->failed ? -1 : 0;
}
