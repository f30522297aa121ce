/* The scoreboard: shared memory per pool, one slot per worker, written by
 * workers in cgi and module modes with plain atomic stores (no locks on
 * the request path) and read by the master (logs, status). */
#ifndef FCGIPM_SCOREBOARD_H
#define FCGIPM_SCOREBOARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SB_METHOD_MAX 16
#define SB_URI_MAX 256

enum sb_state {
    SB_EMPTY,
    SB_STARTING,                /* forked, not yet accepting */
    SB_IDLE,                    /* waiting for a connection */
    SB_BUSY,                    /* serving a request */
    SB_STOPPING,                /* leaving (stop signal, shutdown) */
    SB_RECYCLING,               /* leaving after max_requests or max_rss */
};

/* One worker's slot. The request fields are guarded by seq, odd while
 * the worker rewrites them: a reader retries until it reads an even
 * value that did not change around its copy. */
struct sb_slot {
    uint32_t seq;
    uint32_t state;             /* enum sb_state */
    int32_t pid;
    int32_t child_pgid;         /* a CGI script's group, or 0 */
    uint64_t started_ms;        /* CLOCK_MONOTONIC, when forked */
    uint64_t requests;          /* served so far */
    uint64_t slow_requests;     /* of which over slow_request_time */
    uint64_t req_started_ms;    /* CLOCK_MONOTONIC, current request */
    char method[SB_METHOD_MAX];
    char uri[SB_URI_MAX];       /* truncated */
};

struct scoreboard {
    size_t nslots;
    uint32_t log_generation;    /* bumped on USR1: workers reopen logs */
    uint32_t wake_armed;        /* set: the next worker to go busy wakes
                                   the master (scoreboard_take_wake) */
    struct sb_slot slots[];
};

/* A consistent copy of a slot, for the master. */
struct sb_snapshot {
    enum sb_state state;
    pid_t pid;
    pid_t child_pgid;
    uint64_t started_ms;
    uint64_t requests;
    uint64_t slow_requests;
    uint64_t req_started_ms;
    char method[SB_METHOD_MAX];
    char uri[SB_URI_MAX];
};

/* A shared anonymous mapping with nslots slots, inherited by the workers
 * forked after it. NULL (errno set) when mmap fails. */
struct scoreboard *scoreboard_create(size_t nslots);
void scoreboard_destroy(struct scoreboard *sb);
/* Slot i, or NULL when sb is NULL or i is past its end. */
struct sb_slot *scoreboard_slot(struct scoreboard *sb, size_t i);

/* Master, before forking into slot s: a new worker's entry. */
void scoreboard_claim(struct sb_slot *s, uint64_t now_ms);
/* Master: a consistent copy of s. */
void scoreboard_read(const struct sb_slot *s, struct sb_snapshot *out);
/* Master: the worker is gone. */
void scoreboard_release(struct sb_slot *s);

/* Worker: its state changes. */
void scoreboard_set_state(struct sb_slot *s, enum sb_state state);
void scoreboard_begin_request(struct sb_slot *s, const char *method,
                              const char *uri, uint64_t now_ms);
void scoreboard_end_request(struct sb_slot *s);
/* Worker: the process group of a program run for this request, or 0. */
void scoreboard_set_child(struct sb_slot *s, pid_t pgid);
/* Worker: the request just ended was slow. */
void scoreboard_count_slow(struct sb_slot *s);

/* Master: whether the next worker to go busy must wake it (pm = dynamic
 * with every worker idle sleeps with no timer). After arming, check
 * scoreboard_any_busy: a worker that went busy just before missed it. */
void scoreboard_set_wake(struct scoreboard *sb, bool armed);
/* Master: whether any of the first nslots slots is busy. */
bool scoreboard_any_busy(struct scoreboard *sb, size_t nslots);
/* Worker, having gone busy: true when it must wake the master; then no
 * other worker will until the master arms it again. */
bool scoreboard_take_wake(struct scoreboard *sb);

const char *scoreboard_state_name(enum sb_state state);

#endif
