/* One listening socket of the master's own servers (status, control):
 * accepting without blocking, a pause when accept runs out of
 * descriptors or memory, and a reload's move of the socket, planned in
 * a second watch slot and swapped at the commit. Its owner takes each
 * accepted descriptor and keeps its own clients and protocol. */
#ifndef FCGIPM_ACCEPTOR_H
#define FCGIPM_ACCEPTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "listen.h"
#include "loop.h"

struct manager;
struct acceptor;

/* Take fd, a new connection (non-blocking, close-on-exec), accepted at
 * now (monotonic ms): the owner keeps it or closes it. */
typedef void acceptor_fn(struct manager *m, int fd, uint64_t now);

/* A watch slot: the loop hands us &w, and a back to the acceptor. */
struct acceptor_watch {
    struct watch w;             /* first */
    struct acceptor *a;
};

/* Embedded in its server (struct status_server, struct control_server),
 * which lives as long as the manager: the slots point back to it. */
struct acceptor {
    const char *kind;           /* "status", "control": the log's and the
                                   key's prefix (KIND_listen) */
    acceptor_fn *take;
    unsigned accepts_per_event;
    bool perm_needed;           /* a socket taken over from an old master
                                   whose mode cannot be set is refused */
    struct listener listener;   /* fd -1: not listening */
    struct acceptor_watch ws[2]; /* ws[cur] on listener.fd; a reload
                                   readies a new socket in the other */
    unsigned cur;
    bool watched;               /* ws[cur] is in the epoll set */
    bool retired;               /* handed over to an upgrade's new master */
    bool accept_failing;        /* logged once until accept works */
    uint64_t resume_at;         /* accepting paused (out of fds) until */
    unsigned rewatch_ms;        /* 0, or epoll refuses the listener back:
                                   the wait before the next try (logged
                                   once until a try works) */
};

/* Not listening; kind is a static string. */
void acceptor_init(struct acceptor *a, const char *kind, acceptor_fn *take,
                   unsigned accepts_per_event);

/* What a reload readies before its swap. */
struct acceptor_plan {
    bool open;                  /* l is new: bound, watched, not in use */
    bool kept;                  /* name is the socket we listen on */
    struct listener l;
};

/*
 * Ready a socket for name (NULL: none wanted): when it moves, bind it
 * with set (or take the one an upgrade's old master handed over) and
 * watch it under the slot not in use, so that the commit cannot fail.
 * Nothing is done once retired. Returns 0, or -1 with why ("KIND_listen:
 * cannot bind NAME: REASON"), logged and nothing changed.
 */
int acceptor_plan(struct manager *m, struct acceptor *a, const char *name,
                  const struct listen_settings *set, struct acceptor_plan *p,
                  char *why, size_t len);
/* The reload fails after all: close the socket p bound. */
void acceptor_undo(struct manager *m, struct acceptor *a,
                   struct acceptor_plan *p);
/* After the swap: serve on p's socket (closing the old one), on none
 * when not configured, or on the kept one. Cannot fail. */
void acceptor_commit(struct manager *m, struct acceptor *a,
                     const struct acceptor_plan *p, bool configured);
/* Stop listening: close the socket, removing its file if it is ours. */
void acceptor_close(struct manager *m, struct acceptor *a);
/* An upgrade's new master serves: it has the socket and its file. */
void acceptor_handover(struct manager *m, struct acceptor *a);
/* The listening socket, for an upgrade to pass on; NULL when none. */
struct listener *acceptor_listener(struct acceptor *a);

/* When accepting resumes after a pause, or NEVER. */
uint64_t acceptor_next_deadline(const struct acceptor *a);
/* Accept again once the pause is over; when the listener cannot be
 * watched again, try again a second later, then twice as long each time
 * up to 10 s (logged once, when that starts, and when it ends). */
void acceptor_run_due(struct manager *m, struct acceptor *a, uint64_t now);

#endif
