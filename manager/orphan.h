/* The master as a child subreaper: what a dead worker leaves running (a
 * CGI script, php-cgi's children, anything that called setsid) becomes
 * the master's child, and is killed. */
#ifndef FCGIPM_ORPHAN_H
#define FCGIPM_ORPHAN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "manager.h"

/* Become a child subreaper, after daemonizing (fork does not pass it
 * on). A failure is logged: orphans then go to init, as before. */
void orphan_init(void);

/* After reaping a cgi or module worker (pool its pool's name) or the new
 * master of a failed upgrade (pool NULL), from: kill the children of the
 * master that from left (orphan_left_by) and that are neither workers
 * nor the new master of an upgrade, and the process group each one
 * leads; one log line says how many, and who left them. Exec workers are
 * not swept: a program's background jobs outlive it, as they would
 * under any other manager. For a cgi worker, uid is its pool's uid (from
 * the configuration, never from the worker): when orphan_uid_rule holds,
 * every such child whose real uid is uid is killed too, whatever its
 * session or group (a script's setsid child, which its worker adopted
 * as a child subreaper until it died); (uid_t)-1 for none. */
void orphan_sweep(struct manager *m, const char *pool, pid_t from,
                  uid_t uid);
/* The sweep owed to the orphans reaped since the last call, if any: what
 * an orphan killed by the uid rule left came to us as it died, and is
 * swept by the same rule; one sweep for all those reaped together (one
 * each would read /proc for every other orphan still dying). */
void orphan_sweep_owed(struct manager *m);
/* pid was reaped and is none of ours: an orphan. Logs it at debug level,
 * with the pool that left it when it was killed by a sweep; owes
 * orphan_sweep_owed its uid, if it was killed by a uid rule. */
void orphan_reaped(struct manager *m, pid_t pid, int st);
/* Whether orphans killed by a sweep are still to be reaped: the master
 * waits for them before it exits. */
bool orphan_pending(const struct manager *m);

/* The pids in a /proc/PID/task/TID/children text ("12 345 ": each one
 * followed by a space) into out, which has room for max. Returns how
 * many, or -1 (nothing to act on) when the text holds anything else or
 * more than max. Pure. */
ssize_t orphan_parse_children(const char *text, pid_t *out, size_t max);
/* The parent, process group and session in a /proc/PID/stat text ("pid
 * (comm) state ppid pgrp session ..."; comm may hold spaces and
 * parentheses, so the last ')' ends it). 0, or -1 when malformed. Pure. */
int orphan_parse_stat(const char *stat, pid_t *ppid, pid_t *pgid,
                      pid_t *sid);
/* The real uid (the first of the "Uid:" line) in a /proc/PID/status
 * text. 0, or -1 when there is none or it is malformed. Pure. */
int orphan_parse_uid(const char *status, uid_t *uid);
/* Whether a pool's uid (its configuration's; (uid_t)-1 when unset) names
 * the orphans of its dead workers: not when unset, nor root, nor the
 * master's own (master_uid): processes of those users are not only the
 * pool's. Pure. */
bool orphan_uid_rule(uid_t uid, uid_t master_uid);
/* Which of the n children (any order) to kill: those > 1, not self, not
 * among the nknown pids of known (sorted ascending). Moves them to the
 * front of children, in their order, and returns how many. Pure. */
size_t orphan_pick(pid_t *children, size_t n, const pid_t *known,
                   size_t nknown, pid_t self);
/* Whether to kill the process group pgid of orphan pid too: only one it
 * leads, never a group <= 1 nor the master's own (self_pgid). Pure. */
bool orphan_group_killable(pid_t pid, pid_t pgid, pid_t self_pgid);
/* Whether orphan pid, in group pgid and session sid, was left by the
 * dead worker from: in its group (what a module forked), or leading a
 * group of its own in the master's session (a CGI script, which its
 * worker started so). A process in a session of its own (setsid: an exec
 * program's daemon, or what escaped a script) or in a live worker's
 * group (a background job) is not. Pure. */
bool orphan_left_by(pid_t pid, pid_t pgid, pid_t sid, pid_t from,
                    pid_t master_sid);

#endif
