/* SIGUSR2: replace the running master by a new binary without closing the
 * listening sockets, and roll back if the new one does not come up. */
#ifndef FCGIPM_UPGRADE_H
#define FCGIPM_UPGRADE_H

#include <sys/types.h>

#include "manager.h"

/* No origin known yet: not started by an upgrade, nothing to exec. */
void upgrade_origin_init(struct upgrade_origin *o);
/* Remember in m how we were started (argv, the binary's path) so that
 * an upgrade can exec the same command again. */
void upgrade_init(struct manager *m, char **argv);

/* At start-up of a master started by an upgrade: put the sockets the
 * old master handed over in m->inherited, for listen_open(), and note
 * the old master's pid (upgrade_parent()). 0, or -1 (logged) on a
 * malformed hand-over. */
int upgrade_take_sockets(struct manager *m);
/* The old master's pid when we were started by an upgrade, else 0. */
pid_t upgrade_parent(const struct manager *m);
/* Tell the old master we serve now (once our workers are forked); from
 * then on the socket files it handed over are ours to remove. */
void upgrade_report_ready(struct manager *m);

/* Fork and exec the new master, handing it every listening socket, the
 * status socket's too. */
void upgrade_start(struct manager *m, uint64_t now);
/* Give up on a new master that did not get ready in time. */
void upgrade_run_due(struct manager *m, uint64_t now);
uint64_t upgrade_deadline(const struct manager *m);
bool upgrade_in_progress(const struct manager *m);
/* 1 if pid was the new master (its death logged and handled), else 0. */
int upgrade_reaped(struct manager *m, pid_t pid, int st);

#endif
