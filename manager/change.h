/* Reload on deploy (reload_on_change): an inotify descriptor per pool in
 * the loop's epoll set for the files it watches, the quiet period that
 * turns a burst of changes into one replacement of a pool's workers, and
 * the retries that watch again a directory that went and came back. */
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
/* A file whose watch went (its directory removed, moved, or a symlink put
 * in its path) is watched again every CHANGE_RETRY_MS for
 * CHANGE_RETRY_FAST_FOR_MS, then every CHANGE_RETRY_SLOW_MS. */
#define CHANGE_RETRY_MS 1000
#define CHANGE_RETRY_FAST_FOR_MS 30000
#define CHANGE_RETRY_SLOW_MS 10000

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
    int wd;                     /* watch in its pool's inotify
                                   descriptor; -1: not watched */
    bool warned;                /* watching it failed: logged */
};

/* A pool with watched files, and its pending changes. Its own inotify
 * descriptor: events lost to a full queue (IN_Q_OVERFLOW), which a pool
 * user can cause in a directory it writes, concern only this pool. */
struct change_pool {
    struct watch w;             /* first: the loop hands back &w */
    struct pool *p;
    struct change_debounce d;
    const char *file;           /* the first path changed; NULL: none */
};

struct change_set {
    struct change_file *files;
    size_t nfiles;
    struct change_pool *pools;
    size_t npools;
    uint64_t rearm_at;          /* some file is not watched: try again
                                   then; NEVER: every file is watched */
    uint64_t rearm_since;       /* when the first try failed */
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

/* When to try again to watch a file first missed at since, tried last at
 * now. Pure. */
uint64_t change_retry_at(uint64_t since, uint64_t now);

/* An empty set, nothing watched. */
void change_init(struct change_set *cs);
/* Watch the files of m's serving pools, dropping what was watched before
 * (start-up, and after a reload's commit: retired pools drop theirs).
 * Pending changes are forgotten: a reload has replaced every worker. A
 * file that cannot be watched is logged, and tried again later. A path
 * through a symlink is never watched: the master follows none. */
void change_arm(struct manager *m);
/* Stop watching and free the set. */
void change_disarm(struct manager *m);
/* Watch again the files whose retry is due (one watched again counts as
 * changed: it may have while unwatched), then replace the workers of the
 * pools whose quiet period is over; a pool still replacing waits for
 * another quiet period. */
void change_run_due(struct manager *m, uint64_t now);
/* The earliest pool's due time or retry, or NEVER. */
uint64_t change_next_deadline(const struct manager *m);

#endif
