/* The reactor: one epoll set, the watches in it, and one wait point that
 * sleeps until a descriptor is ready or the earliest deadline. */
#ifndef FCGIPM_LOOP_H
#define FCGIPM_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* No deadline: the loop may sleep forever. */
#define NEVER UINT64_MAX

struct manager;
struct watch;

/* Called by the loop when w->fd has the events it was watched for. */
typedef void watch_fn(struct manager *m, struct watch *w, uint32_t events);

/* A descriptor in the loop's epoll set; embed it in the owner's struct. */
struct watch {
    int fd;
    watch_fn *fn;
};

/* Watches removed while a batch of events is being dispatched: a later
 * event of the same batch may still point at one (freed by its owner, as
 * when the status server closes its oldest client to take a new one), so
 * it is skipped. Level-triggered epoll reports again what still holds. */
#define LOOP_STALE_MAX 64
struct loop_stale {
    const struct watch *w[LOOP_STALE_MAX];
    size_t n;
    bool overflow;
};

/* epoll_wait timeout in ms until the earliest deadline: -1 when there is
 * none, 0 when one is already due. Pure in (deadline, now). */
int loop_timeout_ms(uint64_t deadline, uint64_t now);

/* Create m's epoll set in m->epfd. 0 or -1 (logged). */
int loop_init(struct manager *m);

/* Add w->fd to the epoll set for events; w must live until unwatched.
 * Returns 0 or -1 (logged). */
int loop_watch(struct manager *m, struct watch *w, uint32_t events);
/* Remove w->fd from the epoll set (before closing it). */
void loop_unwatch(struct manager *m, struct watch *w);

/* Wait and dispatch, then run the manager's pending and due work, until
 * m is done (RUN_DONE). Returns the exit code. */
int loop_run(struct manager *m);

#endif
