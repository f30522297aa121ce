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
 * under any other manager. */
void orphan_sweep(struct manager *m, const char *pool, pid_t from);
/* pid was reaped and is none of ours: an orphan. Logs it at debug level,
 * with the pool that left it when it was killed by a sweep. */
void orphan_reaped(struct manager *m, pid_t pid, int st);
/* Whether orphans killed by a sweep are still to be reaped: the master
 * waits for them before it exits. */
bool orphan_pending(const struct manager *m);

/* The pids in a /proc/PID/task/TID/children text ("12 345 ": each one
 * followed by a space) into out, which has room for max. Returns how
 * many, or -1 (nothing to act on) when the text holds anything else or
 * more than max. Pure. */
ssize_t orphan_parse_children(const char *text, pid_t *out, size_t max);
/* The process group and session in a /proc/PID/stat text ("pid (comm)
 * state ppid pgrp session ..."; comm may hold spaces and parentheses, so
 * the last ')' ends it). 0, or -1 when malformed. Pure. */
int orphan_parse_stat(const char *stat, pid_t *pgid, pid_t *sid);
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
