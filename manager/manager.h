/* The master's state, all of it: pools of worker slots, pending work
 * from signals, the status and control servers, the workers' output
 * pipes, the sockets inherited at start-up and an upgrade in progress;
 * and the orchestration the loop runs (manager.c). */
#ifndef FCGIPM_MANAGER_H
#define FCGIPM_MANAGER_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "change.h"
#include "conf.h"
#include "control.h"
#include "listen.h"
#include "loop.h"
#include "output.h"
#include "pm.h"
#include "scoreboard.h"
#include "status.h"

/* The most slots a pool ever has, and so the size of its scoreboard.
 * Workers write the scoreboard they inherited at fork, and the master
 * reads a worker's slot by its index, so a pool maps it once, before its
 * first cgi or module worker, and keeps it: a reload, a TTIN or a pm
 * never needs a bigger one, and old and new workers share it. It is
 * sized from the absolute cap on max_workers (CONF_MAX_WORKERS): a full
 * pool beside three generations of outgoing ones (reloads in quick
 * succession). That is 5 MiB of address space per pool, but a shared
 * anonymous mapping costs only the pages touched, and the lowest free
 * slot is taken first: 20 workers touch 2 pages. The slot array grows
 * as needed up to this (pool.c, free_slot), and the master walks only
 * that, so an index always has its scoreboard slot. */
#define POOL_SLOTS_MAX (4 * CONF_MAX_WORKERS + 8)

enum slot_state {
    SLOT_EMPTY,                 /* no process, none wanted yet */
    SLOT_WAITING,               /* respawn scheduled at respawn_at */
    SLOT_RUNNING,               /* a live worker */
    SLOT_STOPPING,              /* asked to exit; escalates at kill_at */
};

enum stop_stage {
    STOP_IDLE_WAIT,             /* waiting for it to block in accept() */
    STOP_FROZEN,                /* SIGSTOPped to check it is still idle */
    STOP_ASKED,                 /* stop_signal sent, waiting */
    STOP_TERMED,                /* TERM sent (fast stop) */
    STOP_KILLED,                /* KILL sent */
};

struct slot {
    unsigned index;
    enum slot_state state;
    pid_t pid;
    uint64_t started_at;
    uint64_t respawn_at;        /* SLOT_WAITING */
    uint64_t kill_at;           /* SLOT_STOPPING: next step */
    uint64_t give_up_at;        /* STOP_IDLE_WAIT: signal it anyway */
    unsigned look_ms;           /* STOP_IDLE_WAIT: until the next look */
    uint64_t frozen_at;         /* STOP_FROZEN: when SIGSTOP was sent */
    int idle_fds;               /* its open fds while idle in accept() */
    bool freeze_failed;         /* counting fds or SIGSTOP failed: logged */
    bool stop_asked;            /* exec: stop_signal sent once idle; the
                                   next idle look ends it */
    uint64_t stable_at;         /* a respawn after a crash counts as
                                   healthy once it lives to this */
    enum stop_stage stage;
    bool stops_itself;          /* a cgi or module worker: its own loop
                                   stops at any moment, no idle wait */
    unsigned fail_streak;       /* deaths in a row within min_uptime */
    bool outgoing;              /* being replaced (reload): stop it once
                                   its replacement is forked; or
                                   (pool_replace) once one is up */
    bool incoming;              /* started by pool_replace, not yet up
                                   (lived min_uptime) */
    int exit_status;            /* how its last worker ended (wait
                                   status); -1: the fork failed */
    /* process manager (scale.c): what the last look at the worker saw */
    bool pm_ready;              /* exec: seen waiting in accept() */
    uint64_t pm_activity;       /* requests served (cgi, module), or read
                                   and write calls (exec, /proc/PID/io) */
    uint64_t pm_idle_since;     /* idle with no activity since; NEVER:
                                   not seen idle */
};

struct pool {
    struct manager *m;          /* the master this pool belongs to */
    const struct pool_conf *conf;
    struct listener *listeners;
    size_t nlisteners;
    struct slot *slots;
    size_t nslots;              /* capacity: room for old and new workers,
                                   at most POOL_SLOTS_MAX */
    bool slots_full;            /* at POOL_SLOTS_MAX, none free: logged */
    unsigned target;            /* how many workers we want running */
    unsigned long spawns;
    unsigned long respawns;     /* spawns that replaced a dead worker */
    bool crash_loop;            /* logged once until a worker lives */
    bool replacing;             /* pool_replace in progress: an old worker
                                   stops as each new one is up */
    uint64_t replace_check_at;  /* when the next new worker is up */
    bool retired;               /* gone from the config: drains, then is
                                   freed; its conf is in old_confs */
    struct sb_map *scoreboard;  /* cgi and module pools; else NULL */
    double started_wall;        /* when the pool started (status) */
    unsigned long long gone_requests; /* requests served by workers that
                                   have exited (cgi and module modes) */
    unsigned long long gone_slow;  /* and their slow requests */
    double clean_tokens;        /* quick clean exits respawned at once */
    uint64_t clean_at;          /* when clean_tokens was last refilled */
    /* process manager (scale.c, pm.c) */
    struct pm_state pm;
    struct watch pm_wake;       /* a copy of listeners[0], in epoll while
                                   a waiting connection should wake us;
                                   fd -1 when not open */
    struct watch busy_wake;     /* pm dynamic, cgi/module: an eventfd its
                                   workers write when one goes busy while
                                   the pool sleeps (scoreboard_take_wake);
                                   fd -1 when not open */
};

enum pending {
    PENDING_REAP = 1 << 0,
    PENDING_STOP_GRACEFUL = 1 << 1,
    PENDING_STOP_FAST = 1 << 2,
    PENDING_RELOAD = 1 << 3,
    PENDING_REOPEN_LOGS = 1 << 4,
    PENDING_RESIZE = 1 << 5,
    PENDING_UPGRADE = 1 << 6,
};

enum run_state {
    RUN_SERVING,
    RUN_STOPPING_GRACEFUL,
    RUN_STOPPING_FAST,
    RUN_DONE,
};

/* A replaced configuration kept while retired pools still point into it. */
struct old_conf {
    struct conf conf;
    struct old_conf *next;
};

/* A binary upgrade in progress (USR2): the new master we forked and the
 * pipe on which it says it is ready. */
struct upgrade {
    pid_t pid;                  /* 0: none in progress */
    struct watch ready;         /* read end of the readiness pipe */
    char buf[16];               /* what the new master wrote so far */
    size_t len;
    uint64_t deadline_at;
    bool waiting;               /* for READY on the pipe */
    bool handed_over;           /* the new master is serving: we drain */
};

/* How this master was started (upgrade.c): the command an upgrade execs
 * again, and the old master that started this one, if one did. */
struct upgrade_origin {
    char **argv;
    char exe_path[PATH_MAX];    /* "": use argv[0] */
    pid_t parent;               /* the old master; 0: none */
    int ready_fd;               /* to tell it we serve; -1: told, or none */
};

/* A process left by a dead worker, reparented to the master (a child
 * subreaper) and killed, not yet reaped. */
struct orphan {
    pid_t pid;
    pid_t from;                 /* the worker (or process) that left it */
    char pool[32];              /* from's pool, truncated; "" if none */
    uid_t uid;                  /* what it leaves is swept by this uid
                                   (orphan_sweep); (uid_t)-1: by none */
};

/* A few uids the orphans of which are to be swept (orphan.c). */
#define ORPHAN_UIDS_MAX 16
struct orphan_uids {
    uid_t uid[ORPHAN_UIDS_MAX];
    size_t n;
};

/* Orphans tracked until reaped; more are killed all the same, and reaped
 * with a plainer log line. */
#define ORPHANS_MAX 64

struct manager {
    struct conf conf;
    const struct conf_cli *cli;  /* what to load again on HUP */
    struct pool **pools;        /* live pools first, then retired ones */
    size_t npools;
    struct old_conf *old_confs;
    int epfd;
    struct loop_stale stale;    /* the loop's batch bookkeeping */
    int sigfd;
    struct watch sig_watch;
    unsigned pending;           /* enum pending bits */
    int resize;                 /* TTIN minus TTOU not yet applied */
    enum run_state state;
    struct upgrade upgrade;
    struct upgrade_origin origin;
    struct inherited_sockets inherited;  /* start-up only: drained once
                                   the pools and the status socket took
                                   theirs */
    int daemon_ready_fd;        /* -D: the waiting foreground process */
    struct status_server status;
    struct control_server control;
    struct control_result reload_result;   /* for fcgipm ctl reload */
    struct control_result upgrade_result;  /* for fcgipm ctl upgrade */
    struct output_set outputs;
    struct change_set change;   /* reload_on_change's watches */
    struct orphan orphans[ORPHANS_MAX];  /* killed, not yet reaped */
    size_t norphans;
    bool orphans_unlisted;      /* reading our children failed: logged */
    struct orphan_uids orphans_owed;  /* uids of orphans reaped in this
                                         batch: swept once at its end */
    struct orphan_uids orphans_lost;  /* uids of orphans killed but not
                                         kept (ORPHANS_MAX): an unknown
                                         orphan reaped owes them a sweep */
};

/* An idle manager: nothing open, nothing listening, no pool. */
void manager_init(struct manager *m);

/* Run m until every pool has stopped: the first due work (the first
 * workers), readiness (to an old master, a -D parent, systemd), then
 * the loop. Returns the exit code. */
int manager_run(struct manager *m);

/* After the loop's wait: the work signals asked for (enum pending),
 * in a fixed order: reap, stop, reopen, reload, upgrade, resize. */
void manager_run_pending(struct manager *m, uint64_t now);
/* USR1's work, also fcgipm ctl reopen's: reopen the log now, the
 * workers' logs before their next line. 0, or -1 (logged) when the log
 * file cannot be reopened. */
int manager_reopen_logs(struct manager *m);
/* Every module's work due at now; sets RUN_DONE once stopping is over. */
void manager_run_due(struct manager *m, uint64_t now);
/* The earliest deadline of every module, or NEVER. */
uint64_t manager_next_deadline(const struct manager *m);
/* The pool named name that is not being retired, or NULL. */
struct pool *manager_find_pool(struct manager *m, const char *name);

#endif
