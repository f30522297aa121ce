/* Pools: their slots, how many workers each wants, and starting or
 * stopping workers to meet that. */
#ifndef FCGIPM_POOL_H
#define FCGIPM_POOL_H

#include "manager.h"

/* Workers to start (> 0) or stop (< 0) to bring live to target. Pure. */
int pool_plan(unsigned target, unsigned live);

/* Bind every address of pc, or take it from in, into a new array *out
 * (free with pool_fini or listen_close + free). Returns how many, or -1
 * having logged why and closed what it had opened. */
int pool_listen_all(const struct pool_conf *pc, struct inherited_sockets *in,
                    struct listener **out);

/* Set up p for pc with the nls listeners ls, which p now owns; its
 * target is the pm's start size (pm_initial_target). */
void pool_init(struct pool *p, struct manager *m, const struct pool_conf *pc,
              struct listener *ls, size_t nls);
/* Close listeners (removing socket files) and free p's memory. */
void pool_fini(struct pool *p);

/* Move p to pc (a reloaded configuration): the size set by TTIN/TTOU
 * stays when pc leaves workers unchanged (static), and a pm's size and
 * floor when pc keeps its pm and min_workers; every worker is replaced,
 * the new ones forked before the old ones are asked to stop. */
void pool_reconfigure(struct pool *p, const struct pool_conf *pc,
                      uint64_t now);

/* Replace every worker of p because file changed (reload_on_change),
 * new before old: the old workers keep serving, one stopping as each new
 * one has lived min_uptime. If the new ones crash-loop, they go and the
 * old ones stay (logged once); the next change tries again. Logs "pool
 * NAME: FILE changed: replacing N workers". */
void pool_replace(struct pool *p, const char *file, uint64_t now);
/* Whether a pool_replace is in progress. */
bool pool_is_replacing(const struct pool *p);

/* Start or stop workers so that the live count meets the target; starts
 * take max_spawn_rate tokens, and those it lacks wait for a deadline.
 * Stops take a waiting slot first, then an idle worker, then the newest. */
void pool_reconcile(struct pool *p, uint64_t now);
/* Move p's target by delta workers, within 0..max_workers, and log it
 * with by ("signal"). A pm pool keeps the size so set: its floor rises to
 * a larger one and falls to a smaller one below it. Returns the new
 * target. Workers start or stop at the next pool_reconcile. */
unsigned pool_resize(struct pool *p, long delta, const char *by);
/* Act on deadlines that have come: respawns, stop escalation, and the
 * process manager's look at the pool (which may move the target, and
 * watches the listening socket in m's epoll set while it sleeps). */
void pool_run_due(struct pool *p, uint64_t now);
/* The earliest deadline of p: its slots' and its pm's; NEVER if none. */
uint64_t pool_next_deadline(const struct pool *p);
/* Ask every worker to stop: graceful uses stop_signal and
 * graceful_timeout, fast uses TERM and kill_timeout; KILL follows. The
 * process manager stops sizing p for good. */
void pool_stop_all(struct pool *p, bool graceful, uint64_t now);
/* Send KILL to every worker at once (a second fast-stop request). */
void pool_kill_all(struct pool *p);
/* True when no slot holds a process or a scheduled respawn. */
bool pool_is_empty(const struct pool *p);
/* The slot whose worker has this pid, or NULL. */
struct slot *pool_find_pid(struct pool *p, pid_t pid);

#endif
