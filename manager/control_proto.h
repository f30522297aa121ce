/* The control socket's line protocol, pure: a request is one line,
 * "fcgipm-ctl/1 VERB [ARGS]"; an answer is data lines (tab-separated
 * fields, the first naming the row) and a final "ok TEXT" or "error
 * CODE TEXT", CODE being the exit status of fcgipm ctl. */
#ifndef FCGIPM_CONTROL_PROTO_H
#define FCGIPM_CONTROL_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "status_format.h"

#define CONTROL_PROTO "fcgipm-ctl/1"
/* A request line, its newline included: longer ones are refused. */
#define CONTROL_LINE_MAX 512
#define CONTROL_POOL_MAX 64

/* fcgipm ctl's exit statuses, the codes of "error" lines. */
enum control_exit {
    CONTROL_EXIT_OK = 0,
    CONTROL_EXIT_UNREACHABLE = 1,   /* no master answers at the socket */
    CONTROL_EXIT_FAILED = 2,        /* the master could not do it */
    CONTROL_EXIT_USAGE = 64,
    CONTROL_EXIT_NOPERM = 77,       /* neither root nor the master's user */
    CONTROL_EXIT_CONFIG = 78,       /* reload: the configuration is wrong */
};

enum control_verb {
    CONTROL_STATUS,
    CONTROL_RELOAD,
    CONTROL_SCALE,
    CONTROL_UPGRADE,
    CONTROL_STOP,
    CONTROL_REOPEN,
};

enum control_scale {
    CONTROL_SCALE_TO,               /* N: the size */
    CONTROL_SCALE_BY,               /* +N, -N: a change */
};

struct control_request {
    enum control_verb verb;
    char pool[CONTROL_POOL_MAX + 1];    /* status (""; all), scale */
    enum control_scale how;             /* scale */
    long n;                             /* scale: the size or the change */
    bool graceful;                      /* stop */
};

/* The columns of the "pool" and "worker" rows after the row's name,
 * NULL-terminated: what fcgipm ctl --json calls them. */
extern const char *const control_pool_columns[];
extern const char *const control_worker_columns[];

/* A command as words ("scale", "app", "+2"): 0 with *rq, or -1 with why
 * (a usage error). */
int control_proto_parse_words(size_t argc, char *const *argv,
                              struct control_request *rq, char *why,
                              size_t len);
/* A request line without its newline, NUL-terminated: the protocol
 * word, then the words. 0 with *rq, or -1 with why. */
int control_proto_parse_line(const char *line, struct control_request *rq,
                             char *why, size_t len);
/* rq as a request line, newline included, into buf: its length, or -1
 * when it does not fit. */
int control_proto_format_request(const struct control_request *rq,
                                 char *buf, size_t len);

/* Append the final line: "ok TEXT" for code 0, else "error CODE TEXT";
 * control characters in text become '?'. 0, or -1 (out->failed). */
int control_proto_final(struct status_buf *out, int code, const char *text);
/* Whether line (no newline) is a final line: 1 with the exit code in
 * *code and the text in *text (within line), 0 for a data line, -1 for
 * an "error" line without a valid code. */
int control_proto_parse_final(const char *line, int *code,
                              const char **text);
/* Cut line at its tabs into at most max fields; returns how many. */
size_t control_proto_split(char *line, char **fields, size_t max);

/* Append r as "pool" rows, each followed by its "worker" rows; rss_kb
 * holds one value per worker, in the report's order (STATUS_UNKNOWN:
 * not known). Strings a worker wrote lose their control characters.
 * 0, or -1 (out->failed). */
int control_proto_format_status(const struct status_report *r,
                                const uint64_t *rss_kb,
                                struct status_buf *out);

#endif
