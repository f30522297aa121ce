/* The scoreboard: shared memory per pool, one slot per worker, written by
 * workers in cgi and module modes with plain atomic stores (no locks on
 * the request path) and read by the master (logs, status), which trusts
 * no value in it: a worker can write anything there. */
#ifndef FCGIPM_SCOREBOARD_H
#define FCGIPM_SCOREBOARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lines.h"

#define SB_METHOD_MAX 16
#define SB_URI_MAX 256

enum sb_state {
    SB_EMPTY,
    SB_STARTING,                /* forked, not yet accepting */
    SB_IDLE,                    /* waiting for a connection */
    SB_BUSY,                    /* serving a request */
    SB_STOPPING,                /* leaving (stop signal, shutdown) */
    SB_RECYCLING,               /* leaving after max_requests or max_rss */
    SB_READING,                 /* reading a request's head from a slow
                                   client: taken, but not serving */
};

/* One worker's slot. The request fields are guarded by seq, odd while
 * the worker rewrites them: a reader retries until it reads an even
 * value that did not change around its copy. */
struct sb_slot {
    uint32_t seq;
    uint32_t state;             /* enum sb_state */
    int32_t pid;
    uint64_t started_ms;        /* CLOCK_MONOTONIC, when forked */
    uint64_t requests;          /* served so far */
    uint64_t slow_requests;     /* of which over slow_request_time */
    uint64_t req_started_ms;    /* CLOCK_MONOTONIC, current request */
    char method[SB_METHOD_MAX];
    char uri[SB_URI_MAX];       /* truncated */
};

/* The shared mapping. */
struct scoreboard {
    size_t nslots;              /* for the pool's workers, to bound their
                                   own slot; never read by the master,
                                   which keeps the size in struct sb_map */
    uint32_t log_generation;    /* bumped on USR1: workers reopen logs */
    uint32_t wake_armed;        /* set: the next worker to go busy wakes
                                   the master (scoreboard_take_wake) */
    struct sb_slot slots[];
};

/* The master's handle on a pool's scoreboard, in its own memory: the
 * mapping and the size it was made with. Every index, loop and munmap of
 * the master uses this nslots, never the copy in the mapping. */
struct sb_map {
    struct scoreboard *shm;
    size_t nslots;
    struct sb_map *next;        /* every map of this master
                                   (scoreboard_keep_only) */
};

/* A consistent copy of a slot, for the master. Every field is what a
 * worker wrote, to be shown or compared, never used as a size, an index
 * or a process to signal; state may be outside enum sb_state. */
struct sb_snapshot {
    enum sb_state state;
    pid_t pid;
    uint64_t started_ms;
    uint64_t requests;
    uint64_t slow_requests;
    uint64_t req_started_ms;
    /* As read, with room for scoreboard_printable's escapes. */
    char method[LINES_CLEAN_SIZE(SB_METHOD_MAX - 1)];
    char uri[LINES_CLEAN_SIZE(SB_URI_MAX - 1)];
};

/* Master: a shared anonymous mapping with nslots slots, inherited by the
 * workers forked after it, and its handle. NULL (errno set) when malloc
 * or mmap fails. Free both with scoreboard_destroy. */
struct sb_map *scoreboard_create(size_t nslots);
void scoreboard_destroy(struct sb_map *map);
/* In a worker just forked: unmap every scoreboard the master has mapped
 * but own (NULL: all of them), those of retired pools included, so that
 * the worker can neither read nor write another pool's. The handles are
 * the child's copies, left as they are. */
void scoreboard_keep_only(const struct sb_map *own);
/* Master: slot i, or NULL when map is NULL or i is past its end. */
struct sb_slot *scoreboard_map_slot(const struct sb_map *map, size_t i);
/* Worker: slot i of the mapping it inherited, or NULL when sb is NULL or
 * i is past its end. Bounded by the mapping's own nslots, which the
 * pool's workers could rewrite: never for the master. */
struct sb_slot *scoreboard_slot(struct scoreboard *sb, size_t i);

/* Master, before forking into slot s: a new worker's entry. */
void scoreboard_claim(struct sb_slot *s, uint64_t now_ms);
/* Master: a consistent copy of s, strings NUL-terminated. */
void scoreboard_read(const struct sb_slot *s, struct sb_snapshot *out);
/* Master: s, a snapshot's method or uri, made printable in place by
 * lines_clean: control bytes (a newline would forge a log line), C1
 * controls (a terminal's CSI) and what is not UTF-8 become \xNN. s must
 * be the array itself, whose size is the room (checked at build time).
 * Returns s. */
#define scoreboard_printable(s)                                           \
    scoreboard_printable_n((s), sizeof(s)                                 \
        + 0 * sizeof(char[__builtin_types_compatible_p(__typeof__(s),     \
                                                        char *) ? -1 : 1]))
/* The same with the room given: at most SB_URI_MAX - 1 bytes of s are
 * cleaned, and cut to fit size. */
char *scoreboard_printable_n(char *s, size_t size);
/* Master: the worker is gone. */
void scoreboard_release(struct sb_slot *s);

/* Worker: its state changes. */
void scoreboard_set_state(struct sb_slot *s, enum sb_state state);
void scoreboard_begin_request(struct sb_slot *s, const char *method,
                              const char *uri, uint64_t now_ms);
void scoreboard_end_request(struct sb_slot *s);
/* Worker: the request just ended was slow. */
void scoreboard_count_slow(struct sb_slot *s);

/* Master: whether the next worker to go busy must wake it (pm = dynamic
 * with every worker idle sleeps with no timer). After arming, check
 * scoreboard_any_busy: a worker that went busy just before missed it. */
void scoreboard_set_wake(struct sb_map *map, bool armed);
/* Master: whether any of the first nslots slots is busy. */
bool scoreboard_any_busy(const struct sb_map *map, size_t nslots);
/* Master: tell the workers to reopen their logs (USR1). */
void scoreboard_next_log_generation(struct sb_map *map);
/* Worker, having gone busy: true when it must wake the master; then no
 * other worker will until the master arms it again. */
bool scoreboard_take_wake(struct scoreboard *sb);

/* "idle", ...; "?" for a value outside enum sb_state. */
const char *scoreboard_state_name(enum sb_state state);

#endif
