/* Workers' stdout and stderr: a pipe per worker, read by the master and
 * logged line by line, tagged with pool and pid. */
#ifndef FCGIPM_OUTPUT_H
#define FCGIPM_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "conf.h"

#include "manager.h"

/* The longest piece of a line logged as one log line, in bytes after
 * escaping: a longer line is cut into pieces of at most this size. */
#define OUTPUT_LINE_MAX 16384
/* What ends a piece that the next one continues, and starts that one. */
#define OUTPUT_MARK_MORE " [...]"
#define OUTPUT_MARK_CONTINUED "[...] "

/* Where a piece sits in a line longer than OUTPUT_LINE_MAX. */
enum output_part {
    OUTPUT_PART_CONTINUED = 1 << 0,     /* not the first piece */
    OUTPUT_PART_MORE = 1 << 1,          /* not the last piece */
};

/* Receives one line, or one piece of a long one (part: enum output_part
 * bits), without its newline; text is not NUL-terminated. */
typedef void output_line_fn(void *ctx, const char *text, size_t len,
                            unsigned part);

/* A line being assembled from reads that may end anywhere. */
struct output_lines {
    size_t len;
    bool continued;             /* buf continues a line already cut */
    bool cr;                    /* a \r waits to see if \n follows */
    char buf[OUTPUT_LINE_MAX];
};

/*
 * Split n bytes of output into lines and call fn for each complete one:
 * a trailing \r is dropped, other control bytes but tab are escaped as
 * \xNN, a line over OUTPUT_LINE_MAX is passed in pieces. An unfinished
 * line stays in ol for the next call. Pure: no system calls.
 */
void output_lines_feed(struct output_lines *ol, const char *data, size_t n,
                       output_line_fn *fn, void *ctx);
/* At end of file: pass the unfinished line, if any, to fn. */
void output_lines_flush(struct output_lines *ol, output_line_fn *fn,
                        void *ctx);

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
 * Like output_lines_feed, within b's budget at time now (ms): the bytes
 * over it are dropped, from the line in which the budget ran out (its
 * start too, if it was being assembled) to the first end of line after
 * the second is over. Dropped bytes are only counted, not scanned one by
 * one, so a flood costs little. Pure: no system calls.
 */
void output_take(struct output_lines *ol, struct output_budget *b,
                 const char *data, size_t n, uint64_t now,
                 output_line_fn *fn, void *ctx);
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
void output_drain_all(void);

/* When a pipe's count of dropped lines is next due to be logged; NEVER
 * when none is. */
uint64_t output_next_deadline(void);
/* Log the counts of dropped lines that are due at now. */
void output_run_due(uint64_t now);

#endif
