/* Sizing pools on load: sample, let pm.c decide, act on the target; and
 * the watches that wake a pool's pm while it sleeps (doc/pool.md). */
#ifndef FCGIPM_SCALE_H
#define FCGIPM_SCALE_H

#include "manager.h"

/* Fresh pm state for p (its conf and start target set), its watches not
 * open yet. Says so when pm dynamic runs as adaptive (exec mode). */
void scale_init(struct pool *p);
/* Close what scale opened for p: the socket watch and the busy eventfd. */
void scale_fini(struct pool *p);
/* Stop watching p's listening socket and close the copy watched (a
 * reload may change the socket; the next look watches the new one). */
void scale_wake_close(struct pool *p);
/* The pool is stopping: no more sizing, nothing watched or due. */
void scale_stop(struct pool *p);

/* Whether p's pm sizes it: not static, not stopping. */
bool scale_is_active(const struct pool *p);
/* The pm's look at p, if due: may move p->target (pool_reconcile acts
 * on it), and watches the socket while the pm sleeps. */
void scale_run_due(struct pool *p, uint64_t now);

/* A worker was just forked into s: forget what the pm knew of the slot,
 * and look at the pool again soon. */
void scale_spawned(struct pool *p, struct slot *s, uint64_t now);
/* Whether s's worker was idle at the last look: its scoreboard says so,
 * or (exec) the pm saw it in accept(). */
bool scale_looks_idle(struct pool *p, const struct slot *s);

/* The eventfd a new cgi or module worker of dynamic pool p gets for
 * scoreboard_take_wake, opened and watched on first use; -1 for other
 * pools or when it cannot be made (logged). */
int scale_busy_wake_fd(struct pool *p);

#endif
