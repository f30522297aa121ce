/* The status socket (status_listen): the master itself answers FastCGI
 * requests for ping_path and status_path there (status_report.c),
 * without ever blocking. listen.c binds it like a pool's socket, and an
 * upgrade hands it to the new master by descriptor like a pool's. */
#ifndef FCGIPM_STATUS_H
#define FCGIPM_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "acceptor.h"
#include "conf.h"
#include "listen.h"
#include "loop.h"
#include "status_conn.h"
#include "status_report.h"

/* How long a client has for one request, from connecting (or from the
 * previous answer on a kept connection) to the end of its answer. */
#define STATUS_CLIENT_TIMEOUT_MS 5000
/* Clients at once; a new one beyond this closes the oldest. */
#define STATUS_MAX_CLIENTS STATUS_MAX_CONNS

struct manager;
struct status_client;

/* The status server, in struct manager. */
struct status_server {
    struct acceptor acc;        /* the socket, its watches, its pauses */
    struct listen_settings set; /* what its socket file was last given */
    bool crowded;               /* "too many clients" logged, until the
                                   number halves */
    struct status_client *clients[STATUS_MAX_CLIENTS];
    size_t nclients;
    struct status_peaks peaks;
};

/* Not listening, no client, no peak. */
void status_init(struct status_server *s);

/*
 * Listen on m->conf.status_listen when it is set, taking the socket an
 * upgrade's old master handed over (m->inherited) when there is one.
 * Returns 0, or -1 having logged why.
 */
int status_start(struct manager *m);
/* Close the socket (removing its file if it is still ours) and every
 * client; forget the peaks. */
void status_stop(struct manager *m);

/* What a reload readies for the status socket before its swap: a new
 * socket when status_listen moves (bound and in the loop), or the kept
 * one's new mode and owner. */
struct status_plan {
    struct acceptor_plan acc;   /* a new socket, or the kept one */
    bool applied;               /* kept socket: set given to its file */
    struct listen_settings set; /* from the new configuration */
};

/*
 * Ready nc's status socket: bind and watch a new one when status_listen
 * changes, or give the kept one's file nc's mode and owner (a refusal
 * is logged, and the reload goes on, as before). Returns 0, or -1 with
 * why ("status_listen: cannot bind ADDR: REASON") when the new socket
 * cannot be had; nothing is changed then.
 */
int status_plan(struct manager *m, const struct conf *nc,
                struct status_plan *p, char *why, size_t len);
/* The reload fails after all: close the socket p bound, or put the kept
 * one's old mode and owner back. */
void status_plan_undo(struct manager *m, struct status_plan *p);
/* After the reload swapped m->conf in: serve on p's socket (closing the
 * old one), on none at all, or on the kept one. Cannot fail. */
void status_commit(struct manager *m, struct status_plan *p);
/* An upgrade's new master serves: it has the socket and its file; stop
 * accepting, and let the clients we have finish. */
void status_handover(struct manager *m);
/* The listening socket, for an upgrade to pass on; NULL when none. */
struct listener *status_listener(struct manager *m);

/* The earliest client deadline or pause, or NEVER. */
uint64_t status_next_deadline(const struct manager *m);
/* Close clients past their deadline, accept again after a pause, and
 * note the pools' peaks (max active processes, max listen queue)
 * whenever the loop wakes up. */
void status_run_due(struct manager *m, uint64_t now);

#endif
