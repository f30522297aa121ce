/* A worker slot's life: spawn a worker into it, account for its death,
 * respawn it with backoff, and stop it, escalating to KILL. */
#ifndef FCGIPM_CHILD_H
#define FCGIPM_CHILD_H

#include <stddef.h>

#include "manager.h"

/* Fork a worker for pool p into slot s (which becomes SLOT_RUNNING; the
 * pm looks at the pool again soon, scale_spawned). Returns 0, or -1
 * having logged why (s unchanged). */
int child_spawn(struct pool *p, struct slot *s, uint64_t now);

/* Delay before respawning a slot whose workers died streak times in a row
 * within min_uptime: 0 for streak 0 and 1 (the first quick death is
 * respawned at once), then backoff_min_ms, doubling, capped at
 * backoff_max_ms. Pure. */
unsigned child_backoff_ms(const struct pool_conf *pc, unsigned streak);

/* Whether a worker that lived lived_ms and ended with wait status st
 * counts as a crash at start-up (toward the backoff). Pure. */
bool child_died_quickly(const struct pool_conf *pc, int st,
                        uint64_t lived_ms);

/* Account for slot s's worker having exited with wait status st: a
 * stopping one leaves its slot empty, another is respawned, at once or
 * after a backoff if it counts as a crash. Logs how it ended. */
void child_died(struct pool *p, struct slot *s, int st, uint64_t now);

/* The fork for slot s failed: it waits (SLOT_WAITING) and is tried again
 * with backoff, from restart_backoff on. */
void child_fork_failed(struct pool *p, struct slot *s, uint64_t now);

/* Deadlines that have come for slot s: its respawn (SLOT_WAITING,
 * respawn_at), the next step of its stop (SLOT_STOPPING, kill_at), and
 * its worker counting as healthy after a crash (SLOT_RUNNING,
 * stable_at). */
void child_respawn_due(struct pool *p, struct slot *s, uint64_t now);
void child_escalate_due(struct pool *p, struct slot *s, uint64_t now);
void child_stable_due(struct pool *p, struct slot *s);

/* What a look at an exec worker being stopped saw. */
struct idle_look {
    bool in_accept;             /* blocked in accept() on fd 0 */
    int conns;                  /* connections it holds from its listening
                                   socket (conns_held); -1 unknown */
    bool asked;                 /* stop_signal already sent, idle */
};

enum idle_verdict {
    IDLE_BUSY,                  /* serving, or cannot tell: look later */
    IDLE_ASK,                   /* freeze, look again, send stop_signal */
    IDLE_END,                   /* freeze, look again, send TERM or KILL */
};

/* Whether an exec worker may be signalled now. Before stop_signal: when
 * it holds no connection, or waits in accept() on fd 0 (a threaded
 * libfcgi program may hold others, which stop_signal lets finish). After
 * it, the worker is still there: ended only when it holds no connection,
 * known for sure. Pure. */
enum idle_verdict child_idle_verdict(const struct idle_look *l);

/* Ask s's worker to finish and exit, within graceful_timeout: a cgi or
 * module worker gets the stop signal at once, an exec worker once it is
 * seen idle (child_idle_verdict) and, if that did not end it, TERM or
 * KILL once idle again; one never idle gets TERM at graceful_timeout,
 * KILL kill_timeout later. */
void child_ask_stop(struct pool *p, struct slot *s, uint64_t now);

/* Send sig to s's worker, mark it stopping at stage, to escalate at
 * kill_at. */
void child_signal_stop(struct pool *p, struct slot *s, int sig,
                       enum stop_stage stage, uint64_t kill_at);

#endif
