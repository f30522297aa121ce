/* The status socket (status_listen): the master itself answers FastCGI
 * requests for ping_path and status_path there (status_report.c),
 * without ever blocking. listen.c binds it like a pool's socket, and an
 * upgrade hands it to the new master by descriptor like a pool's. */
#ifndef FCGIPM_STATUS_H
#define FCGIPM_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
    struct listener listener;   /* fd -1: not listening */
    struct watch w;             /* on listener.fd */
    bool watched;               /* w is in the epoll set */
    struct listen_settings set; /* what its socket file was last given */
    bool retired;               /* handed over to an upgrade's new master */
    bool accept_failing;        /* logged once until accept works */
    bool crowded;               /* "too many clients" logged, until the
                                   number halves */
    uint64_t resume_at;         /* accepting paused (out of fds) until */
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

/* After a reload swapped m->conf in: follow a new status_listen (the
 * old socket stays when the new one cannot be opened, logged), none at
 * all, or a new status_socket_mode, _user or _group. */
void status_reconfigure(struct manager *m);
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
