/* The configuration: built-in defaults, the libconfuse file, then the CLI,
 * copied into plain structs that nothing else needs libconfuse to read. */
#ifndef FCGIPM_CONF_H
#define FCGIPM_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include "log.h"
#include "pool_conf.h"

struct conf {
    char *path;                 /* the file read, NULL when none */
    char *status_listen;        /* the status socket's address; NULL: none */
    mode_t status_socket_mode;  /* default 0660 */
    char *status_socket_user;   /* NULL: leave the owner alone */
    char *status_socket_group;
    uid_t status_socket_uid;    /* resolved; (uid_t)-1 when unset */
    gid_t status_socket_gid;    /* resolved; (gid_t)-1 when unset */
    char *status_path;          /* default "/status" */
    char *ping_path;            /* default "/ping"; answers "pong" */
    char *control_listen;       /* fcgipm ctl's socket; NULL: none */
    char *pid_file;             /* NULL: none */
    char *log;                  /* "stderr", "syslog" or a path */
    enum log_level log_level;   /* default info */
    bool daemon;
    unsigned upgrade_timeout_ms;    /* default 30 s; never 0 */
    struct pool_conf *pools;
    size_t npools;
};

/* What the command line asked for; NULL or -1 means "not given". */
struct conf_cli {
    const char *config;
    const char **binds;         /* -b/-s, NULL-terminated, may be NULL */
    long workers;
    const char *mode;
    const char *user;
    const char *group;
    const char *socket_mode;
    const char *socket_user;
    const char *socket_group;
    const char *pid_file;
    const char *log;
    const char *log_level;
    int daemon;                 /* -1 unset, 1 set */
    char **command;             /* after the options, NULL-terminated */
    bool listen_optional;       /* a listening socket was inherited (fd 0):
                                   the default pool, or the only pool, may
                                   then have no listen address */
};

/* Initialise a conf_cli with everything "not given". */
void conf_cli_init(struct conf_cli *cli);

/*
 * Build the effective configuration: defaults, then cli->config (when not
 * NULL), then the CLI overrides, then conf_check(). On success fill *out and
 * return 0; the caller frees it with conf_free(). On failure return -1 and
 * write one line into err: "FILE:LINE: KEY: what is wrong" for file errors,
 * "pool NAME: KEY: what is wrong" for cross-field ones, "option -X: ..." for
 * CLI values. *out is then left empty (safe to conf_free). Not reentrant:
 * libconfuse's lexer is global state.
 */
int conf_load(const struct conf_cli *cli, struct conf *out, char *err,
              size_t errlen);

/* Write the effective configuration, in config-file syntax, to f. */
void conf_print(const struct conf *c, FILE *f);

/* Release everything conf_load() allocated; leaves *c zeroed. */
void conf_free(struct conf *c);

/* Signal number for "USR1", "SIGUSR1", "TERM"...; -1 if unknown. */
int conf_signal_number(const char *name);
/* "USR1" for SIGUSR1; "?" if unknown. */
const char *conf_signal_name(int sig);

#endif
