/* Reload on deploy (reload_on_change): one inotify descriptor in the
 * loop's epoll set for the files every pool watches, and the quiet period
 * that turns a burst of changes into one replacement of a pool's workers. */
#ifndef FCGIPM_CHANGE_H
#define FCGIPM_CHANGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loop.h"

/* A deploy copies many files: a pool's workers are replaced once no
 * change has come for CHANGE_QUIET_MS, and at the latest
 * CHANGE_MAX_WAIT_MS after the first change of the burst. */
#define CHANGE_QUIET_MS 500
#define CHANGE_MAX_WAIT_MS 5000

struct manager;
struct pool;

/* Changes seen since the last replacement: first_at NEVER when none. */
struct change_debounce {
    uint64_t first_at;
    uint64_t last_at;
};

/* One watched path: a name in its directory's watch, or a directory of
 * its own (name NULL), whose every entry counts. */
struct change_file {
    size_t pool;                /* index in change_set.pools */
    const char *path;           /* the pool's conf->watch[i] */
    const char *name;           /* last component of path; NULL: a dir */
    int wd;                     /* inotify watch; -1: not watched */
    bool warned;                /* watching it failed: logged */
};

/* A pool with watched files, and its pending changes. */
struct change_pool {
    struct pool *p;
    struct change_debounce d;
    const char *file;           /* the first path changed; NULL: none */
};

struct change_set {
    struct watch w;             /* the inotify descriptor; fd -1: none */
    struct change_file *files;
    size_t nfiles;
    struct change_pool *pools;
    size_t npools;
    bool rearm;                 /* some file lost its watch (its directory
                                   went): watch it again at the next
                                   replacement */
};

/* The debounce, pure. note: a change came at now. due_at: when the
 * replacement is due, NEVER if no change is pending. */
void change_debounce_reset(struct change_debounce *d);
void change_debounce_note(struct change_debounce *d, uint64_t now);
uint64_t change_debounce_due_at(const struct change_debounce *d);

/* Whether an inotify event (wd, mask, name: NULL for none) concerns f:
 * an event of its directory's watch that names it, any entry of a
 * watched directory, or its directory gone or moved. Pure. */
bool change_file_matches(const struct change_file *f, int wd, uint32_t mask,
                         const char *name);

/* An empty set, nothing watched. */
void change_init(struct change_set *cs);
/* Watch the files of m's serving pools, dropping what was watched before
 * (start-up, and after a reload's commit: retired pools drop theirs).
 * Pending changes are forgotten: a reload has replaced every worker. A
 * file that cannot be watched is logged and skipped. */
void change_arm(struct manager *m);
/* Stop watching and free the set. */
void change_disarm(struct manager *m);
/* Replace the workers of the pools whose quiet period is over; a pool
 * still replacing waits for another quiet period. */
void change_run_due(struct manager *m, uint64_t now);
/* The earliest pool's due time, or NEVER. */
uint64_t change_next_deadline(const struct manager *m);

#endif
