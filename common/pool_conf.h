/* A pool's configuration as plain structs: what the master checks and
 * copies, and what a worker reads after fork. No libconfuse here. */
#ifndef FCGIPM_POOL_CONF_H
#define FCGIPM_POOL_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

enum pool_mode { MODE_EXEC, MODE_CGI, MODE_MODULE };
enum pm_kind { PM_STATIC, PM_DYNAMIC, PM_ONDEMAND, PM_ADAPTIVE };
/* The most workers a pool may have: the bound of workers, max_workers,
 * min_workers and the spares, and what the scoreboard is sized from. */
#define CONF_MAX_WORKERS 4096

/* One pool: a set of workers sharing listening sockets and a program. */
struct pool_conf {
    char *name;                 /* "default" for the top-level pool */
    char **listen;              /* addresses as written, NULL-terminated */
    size_t nlisten;
    int backlog;                /* listen(2) backlog, default 511 */
    mode_t socket_mode;         /* unix sockets, default 0660 */
    char *socket_user;          /* NULL: leave the owner alone */
    char *socket_group;
    uid_t socket_uid;           /* resolved; (uid_t)-1 when unset */
    gid_t socket_gid;           /* resolved; (gid_t)-1 when unset */
    enum pool_mode mode;
    enum pm_kind pm;
    char **command;             /* argv for exec mode, NULL-terminated */
    size_t ncommand;
    char *user;                 /* workers run as this; NULL: unchanged */
    char *group;
    uid_t uid;                  /* resolved; (uid_t)-1 when unset */
    gid_t gid;                  /* resolved; (gid_t)-1 when unset */
    char *chdir;                /* NULL: stay in the master's cwd */
    bool clear_env;             /* default true */
    char **env;                 /* "K=V" entries, NULL-terminated */
    size_t nenv;
    unsigned workers;           /* static size, default 1 */
    unsigned max_workers;       /* ceiling for TTIN, default 256 */
    int stop_signal;            /* default SIGUSR1 (libfcgi, php-cgi) */
    unsigned graceful_timeout_ms; /* default 30000 */
    unsigned kill_timeout_ms;   /* TERM then KILL after this, default 5000 */
    unsigned backoff_min_ms;    /* restart_backoff, default 100 */
    unsigned backoff_max_ms;    /* restart_backoff_max, default 30000 */
    unsigned min_uptime_ms;     /* a quicker death is a crash, default 1000 */
    unsigned long long output_rate_limit; /* bytes per second of output a
                                   worker may log, beyond which lines are
                                   dropped and counted; 0: no limit;
                                   default 1 MiB */
    char *command_path;         /* command[0] resolved when loaded: absolute,
                                   found in PATH or under chdir; NULL when
                                   there is no command */
    char **reload_on_change;    /* as written: "true" alone, or paths;
                                   NULL-terminated; NULL when unset */
    size_t nreload_on_change;
    char **watch;               /* reload_on_change resolved, as the master
                                   sees the files (absolute, under chroot):
                                   the program or module first, then the
                                   paths; NULL-terminated; NULL: none */
    size_t nwatch;

    /* cgi and module modes: fcgipm's own libfcgi accept loop runs in the
     * worker and sees every request. */
    char *cgi_root;             /* cgi: realpath of the scripts' root; a
                                   script must resolve inside it */
    bool cgi_no_new_privs;      /* cgi: scripts run with
                                   PR_SET_NO_NEW_PRIVS (setuid bits have
                                   no effect); default true */
    char *module;               /* module: a .so path, or "builtin:hello",
                                   "builtin:echo" */
    char **module_args;         /* argv for fcgipm_init, NULL-terminated
                                   (argv[0] is the module); NULL unless
                                   mode is module */
    size_t nmodule_args;
    bool preload;               /* module: dlopen in the master, not in
                                   each worker after fork */
    unsigned long long max_body;  /* bytes; 0: no limit (413 above it) */
    unsigned request_timeout_ms;  /* 0: none; a longer request is killed */
    unsigned read_timeout_ms;   /* a connection's request must arrive whole
                                   within this, or it is closed (>= 1) */
    unsigned keepalive_timeout_ms; /* a kept connection idle this long is
                                   closed (>= 1) */
    unsigned keepalive_max;     /* kept connections a worker holds; 0:
                                   close each after its request */
    unsigned max_requests;      /* recycle after N requests; 0: never */
    unsigned max_requests_jitter; /* + random 0..N to spread recycling;
                                   0 unless max_requests is set; both are
                                   at most INT_MAX, so the sum fits */
    unsigned long long max_rss; /* bytes; recycle above it; 0: no limit */
    unsigned slow_request_time_ms; /* 0: off; slower ones go to slowlog */
    char *slowlog;              /* file; NULL: the main log */
    char *access_log;           /* file; NULL: no access log (both paths
                                   absolute: workers open them after chdir) */
    /* process manager (pm) */
    unsigned min_workers;       /* dynamic: never fewer, default 1 */
    unsigned min_spare;         /* dynamic: idle workers kept, default 1 */
    unsigned max_spare;         /* dynamic: more idle are stopped, def. 3 */
    unsigned idle_timeout_ms;   /* ondemand/adaptive: an idle worker (or
                                   an empty queue) this long shrinks the
                                   pool, default 10000 */
    unsigned max_spawn_rate;    /* forks per second per pool; 0: no bound;
                                   default 32 */
    /* As conf_load() leaves them: in dynamic and adaptive pools
     * min_workers <= workers <= max_workers (workers, when not set, is
     * the larger of 1 and min_workers); min_workers is 0 in static and
     * ondemand pools, and an ondemand pool's workers is 0 unless set.
     * Keys another pm uses keep their defaults. */

    /* the worker process */
    /* chroot is a realpath. With it, command (command_path too), chdir,
     * cgi_root and module (unless preloaded) are absolute paths inside
     * it, as written; their existence is not checked. */
    char *chroot;               /* NULL: none */
    long rlimit_files;          /* RLIMIT_NOFILE; -1: unchanged */
    long rlimit_core;           /* RLIMIT_CORE; -1: unchanged, -2:
                                   unlimited */
    int priority;               /* nice value; 0 (the default): unchanged */
    bool has_priority;          /* priority was set */
    char **allowed_clients;     /* IPv4 addresses allowed to connect over
                                   TCP, NULL-terminated; NULL: any */
    size_t nallowed_clients;

    char *access_format;        /* see fcgipm.conf(5); default
                                   "%R - %u %t \"%m %r%Q%q\" %s %d" */
};

#endif
