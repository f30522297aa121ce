/* The status socket (status_listen): the master itself answers FastCGI
 * requests for ping_path and status_path there (status_report.c),
 * without ever blocking. */
#ifndef FCGIPM_STATUS_H
#define FCGIPM_STATUS_H

#include "manager.h"
#include "status_conn.h"

/* How long a client has for one request, from connecting (or from the
 * previous answer on a kept connection) to the end of its answer. */
#define STATUS_CLIENT_TIMEOUT_MS 5000
/* Clients at once; a new one beyond this closes the oldest. */
#define STATUS_MAX_CLIENTS STATUS_MAX_CONNS

/*
 * Listen on m->conf.status_listen when it is set. In a master started by
 * a binary upgrade, the old master's status socket is taken over: a Unix
 * socket file is replaced once this master runs, a TCP port is bound as
 * soon as the old master lets it go. Returns 0, or -1 having logged why.
 */
int status_start(struct manager *m);
/* Close the socket (removing its file if it is still ours) and every
 * client. */
void status_stop(struct manager *m);

/* The earliest client deadline or retry, or NEVER. */
uint64_t status_next_deadline(const struct manager *m);
/* Close clients past their deadline, follow a reload that changed
 * status_listen or status_socket_mode, give the socket up once an
 * upgrade's new master serves, and note the pools' peaks (max active
 * processes, max listen queue) whenever the loop wakes up. */
void status_run_due(struct manager *m, uint64_t now);

#endif
