/* The pure sizing rules of pm = static, dynamic, ondemand and adaptive, and
 * the max_spawn_rate token bucket; scale.c samples, acts and logs
 * (doc/pool.md). */
#ifndef FCGIPM_PM_H
#define FCGIPM_PM_H

#include <stdbool.h>
#include <stdint.h>

#include "conf.h"
#include "scoreboard.h"

#define PM_SURGE_TICK_MS 20     /* connections wait: look again this soon */
#define PM_DYNAMIC_TICK_MS 100  /* dynamic: how often to read the
                                   scoreboard while a worker is busy */
#define PM_DYNAMIC_WINDOW_MS 1000 /* dynamic: idle above max_spare this
                                   long before the surplus is stopped */
#define PM_REARM_MS 50          /* after a connection woke the master for
                                   nothing (an idle worker took it), how
                                   long before it watches again */
#define PM_START_CHECK_MS 100   /* after a fork: look at the pool again */
#define PM_HOLD_MAX 32          /* adaptive: longest quiet time a shrink
                                   waits for, in idle_timeouts */

/* Forks allowed by max_spawn_rate: rate tokens a second, holding one
 * second's worth, or more only at start so that the first workers are
 * not held back. Rate 0 means no bound. */
struct pm_bucket {
    double tokens;
    uint64_t at;                /* when tokens was brought up to date;
                                   0: not yet */
};

/* A full bucket with room for first forks at once (the initial size). */
void pm_bucket_init(struct pm_bucket *b, unsigned rate, unsigned first);
/* Take up to want tokens at now; returns how many were granted. */
unsigned pm_bucket_take(struct pm_bucket *b, unsigned rate, unsigned want,
                        uint64_t now);
/* When the next token is there (now if one is). */
uint64_t pm_bucket_ready_at(const struct pm_bucket *b, unsigned rate,
                            uint64_t now);

/* What the master saw of a pool at one sample. */
struct pm_sample {
    unsigned live;              /* running or about to respawn, not
                                   stopping or being replaced */
    unsigned idle;              /* of which waiting for a connection */
    unsigned starting;          /* of which forked but not accepting yet,
                                   or about to respawn */
    unsigned queued;            /* connections in the accept queue */
    bool queue_read;            /* queued was read (else it is 0) */
    bool sees_idle;             /* idle counts every idle worker (the
                                   scoreboard): no need to confirm a
                                   queue before growing */
    bool idle_sampled;          /* idle was looked at (exec: /proc) */
    bool idle_blind;            /* idle workers cannot be seen at all
                                   (exec: none ever seen in accept()) */
};

/* Process-manager state of one pool, kept between samples. */
struct pm_state {
    enum pm_kind kind;          /* in force (see pm_kind_for) */
    bool stopped;               /* the pool is stopping: no more sizing */
    unsigned floor;             /* fewest workers; TTIN/TTOU move it */
    uint64_t tick_at;           /* next sample; NEVER: none needed */
    bool surge;                 /* connections wait: the queue is read
                                   every tick and the socket not watched */
    bool woken;                 /* a connection was waiting (EPOLLIN) */
    bool watching;              /* the listening socket is in epoll */
    uint64_t rearm_at;          /* do not watch before this */
    unsigned backlog;           /* samples in a row with a queue */
    uint64_t window_at;         /* dynamic: idle above max_spare since;
                                   adaptive: quiet since; NEVER: none */
    unsigned window_min_idle;   /* dynamic: fewest idle in the window */
    unsigned hold;              /* adaptive: the quiet time a shrink needs,
                                   in idle_timeouts (1..PM_HOLD_MAX) */
    uint64_t shrunk_at;         /* adaptive: the last shrink, until the
                                   pool grows again; NEVER: none */
    struct pm_bucket bucket;
    uint64_t deferred_at;       /* starts wait for the bucket until this;
                                   NEVER: none wait */
    bool rate_logged;           /* "max_spawn_rate reached", once */
    bool queue_logged;          /* a queue_read failure, once */
    bool watch_logged;          /* the socket could not be watched */
    bool accept_seen;           /* exec: a worker was seen in accept():
                                   idle workers can be told apart */
    bool own_sockets_known;     /* exec: own_sockets was measured */
    unsigned own_sockets;       /* exec: sockets from fd 3 up that a worker
                                   holds while idle in accept() (the
                                   program's own: a database, syslog); one
                                   more is a connection it accepted */
    bool capped;                /* the last sample wanted more workers
                                   than max_workers allows */
    unsigned long max_reached;  /* times that began (php-fpm's "max
                                   children reached", for status) */
};

/* What to do after a sample. */
struct pm_decision {
    unsigned grow;              /* workers to add */
    unsigned shrink;            /* idle workers to stop (dynamic,
                                   adaptive; ondemand stops by slot) */
    unsigned quiet_ms;          /* adaptive: how long it waited for it */
    bool surge;
    uint64_t tick_at;
};

/* The pm that runs: dynamic needs the scoreboard, so in exec mode it
 * runs as adaptive. */
enum pm_kind pm_kind_for(const struct pool_conf *pc);
/* Workers a pool starts with: workers, within the floor..max_workers
 * (conf.c makes an ondemand pool's workers 0 unless it is set). */
unsigned pm_initial_target(const struct pool_conf *pc);
/* The fewest workers pc allows: min_workers for dynamic and adaptive,
 * else 0. */
unsigned pm_default_floor(const struct pool_conf *pc);
/* Fresh state for pc, whose pool starts with target workers: its
 * spawn-rate bucket lets that many fork at once (pm_bucket_init). */
void pm_init(struct pm_state *st, const struct pool_conf *pc,
             unsigned target);
/* How often ondemand and adaptive look at idle workers: an eighth of
 * idle_timeout, within 20ms..1s. */
unsigned pm_sample_ms(const struct pool_conf *pc);

/* What a cgi or module worker's scoreboard state tells the pm. */
enum pm_seen {
    PM_SEEN_TAKEN,              /* serving, reading a request's head (a
                                   slow client holds it), leaving, or a
                                   value no state has: no spare */
    PM_SEEN_IDLE,               /* waiting for a connection */
    PM_SEEN_STARTING,           /* forked, about to wait */
};
/* The meaning of state (as read, maybe out of range). Pure. */
enum pm_seen pm_seen_state(enum sb_state state);

/* Connections waiting that no idle or starting worker is about to take. */
unsigned pm_queue_want(const struct pm_sample *s);

/* Decide from sample s at now; updates st's windows, backlog count and
 * max_reached. ondemand stops idle workers by slot (scale.c), unless idle
 * workers cannot be seen at all: then it shrinks like adaptive, down to
 * its floor. Pure. */
void pm_decide(const struct pool_conf *pc, struct pm_state *st,
               const struct pm_sample *s, uint64_t now,
               struct pm_decision *d);

/* When a worker has been idle since, given one more sample: NEVER when
 * it is not idle now; now when it just became idle or did some work since
 * the last sample (active); else since. Pure. */
uint64_t pm_idle_since(uint64_t since, bool idle_now, bool active,
                       uint64_t now);

#endif
