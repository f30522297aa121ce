/* The master's event loop: one wait point, then pending work and due
 * deadlines. */
#ifndef FCGIPM_LOOP_H
#define FCGIPM_LOOP_H

#include "manager.h"

/* epoll_wait timeout in ms until the earliest deadline: -1 when there is
 * none, 0 when one is already due. Pure in (deadline, now). */
int loop_timeout_ms(uint64_t deadline, uint64_t now);

/* Register m->sigfd with a new epoll set in m->epfd. 0 or -1 (logged). */
int loop_init(struct manager *m);

/* Add w->fd to the epoll set for events; w must live until unwatched.
 * Returns 0 or -1 (logged). */
int loop_watch(struct manager *m, struct watch *w, uint32_t events);
/* Remove w->fd from the epoll set (before closing it). */
void loop_unwatch(struct manager *m, struct watch *w);

/* Run until every pool has stopped. Returns the exit code. */
int loop_run(struct manager *m);

#endif
