/* Workers' stdout and stderr: a pipe per worker, read by the master and
 * logged line by line, tagged with pool and pid. */
#ifndef FCGIPM_OUTPUT_H
#define FCGIPM_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "conf.h"
#include "lines.h"

struct manager;

/* How much a worker may log: limit bytes a second (output_rate_limit);
 * beyond it, lines are dropped and counted until the second is over. */
struct output_budget {
    unsigned long long limit;   /* 0: no limit */
    uint64_t window_end_at;     /* the current second ends; 0: none yet */
    unsigned long long used;    /* bytes taken in the current second */
    unsigned long long dropped_lines;   /* since the last report */
    unsigned long long dropped_bytes;
    bool dropping;              /* the line being read is dropped */
};

/*
 * Like lines_feed, within b's budget at time now (ms): the bytes
 * over it are dropped, from the line in which the budget ran out (its
 * start too, if it was being assembled) to the first end of line after
 * the second is over. Dropped bytes are only counted, not scanned one by
 * one, so a flood costs little. Pure: no system calls.
 */
void output_take(struct lines *ol, struct output_budget *b,
                 const char *data, size_t n, uint64_t now,
                 lines_fn *fn, void *ctx);
/*
 * Whether the second is over at now with lines dropped in it: then
 * *lines and *bytes say how many, and b starts counting anew. Pure.
 */
bool output_budget_report(struct output_budget *b, uint64_t now,
                          unsigned long long *lines,
                          unsigned long long *bytes);

/*
 * A worker's own log line comes through its pipe as "<N>message", N a
 * syslog level (log_relay). Returns how many bytes of text are that
 * prefix, setting *level, plus a following "pool POOL: worker PID: "
 * when it names this worker (the master puts its own, so a line cannot
 * pass for another worker's); 0 for any other line. Pure.
 */
size_t output_relayed_level(const char *text, size_t len, const char *pool,
                            pid_t pid, enum log_level *level);

struct output;

/* Every open reader, in struct manager. */
struct output_set {
    struct output *list;
    /* How many of them have dropped lines not yet reported, or are
     * paused: while none is, output_next_deadline need not look. */
    size_t nreports_due;
    size_t npaused;
};

/*
 * Before forking a worker of pool pc: make its output pipe and watch the
 * read end in m's loop. Returns the object (it frees itself at end of
 * file), or NULL having logged why, in which case the worker keeps the
 * master's stderr.
 */
struct output *output_open(struct manager *m, const struct pool_conf *pc);
/* The write end, for the worker to put on its fds 1 and 2. */
int output_write_fd(const struct output *o);
/* After a fork: tag lines with pid and close the master's write end. */
void output_attach(struct output *o, pid_t pid);
/* After a failed fork: close and free o. */
void output_abort(struct output *o);

/*
 * At exit, once every worker is reaped: log what is left in every pipe
 * (bounded, without blocking), then close and free all of them.
 */
void output_drain_all(struct manager *m);

/* When a pipe's count of dropped lines is next due to be logged, or a
 * paused one to be read again; NEVER when none is. */
uint64_t output_next_deadline(const struct manager *m);
/* Log the counts of dropped lines that are due at now, and read again
 * the pipes whose pause is over. */
void output_run_due(struct manager *m, uint64_t now);

#endif
