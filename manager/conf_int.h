/* What the conf*.c files share and nothing else uses: the state of one
 * conf_load() and its first error, and each file's functions that the
 * others call. Only conf.c includes confuse.h. */
#ifndef FCGIPM_CONF_INT_H
#define FCGIPM_CONF_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "conf.h"
#include "conf_keys.h"

#define CONF_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define CONF_NELEM(a) (sizeof(a) / sizeof((a)[0]))

#define CONF_KEY_MAX 64                /* key names the scanner remembers */
#define CONF_MSG_MAX 512
#define CONF_CORE_UNLIMITED "unlimited"

/* Where a value came from: a line of the file (> 0), the defaults, the CLI */
enum { CONF_FROM_DEFAULT = 0, CONF_FROM_CLI = -1 };

struct cfg_t;                           /* libconfuse's cfg_t */
struct conf_line;                       /* conf.c's */

/* For one pool, or the top level's own keys: where each value came from,
 * for the checks after parsing to name. */
struct conf_src {
    int section;                /* `pool "x" {`; 0 for the top level */
    int *line;                  /* by row of conf_keys: see
                                   conf_keys_line() */
    int *listen;                /* one per address */
    struct cfg_t *sec;          /* the section read (conf_line_at) */
};

/* One conf_load() in progress. libconfuse callbacks get no user pointer, so
 * they reach it through conf.c's conf_cur; its lexer is global state
 * anyway. */
struct conf_ctx {
    const char *file;
    char *err;
    size_t errlen;
    bool failed;
    struct conf_line *lines;
    size_t nlines, caplines;
    int *sections;              /* line of each `pool "x" {`, in order */
    size_t nsections, capsections;
    int last_line;              /* of the last token in the file */
    struct conf_src top;        /* the top level's own keys */
    struct conf_src *src;       /* parallel to conf.pools */
};

/* conf.c: errors and copies for the load in progress, and the lines that
 * libconfuse noted. */

/* Say why the load fails, unless something already did: the first error
 * is the one to fix first. */
void conf_fail(struct conf_ctx *x, const char *fmt, ...) CONF_PRINTF(2, 3);
/* An error about the value of key in pool, anchored where the value came
 * from: "FILE:LINE: KEY: ...", "option -w: ..." or "pool NAME: KEY: ...". */
void conf_fail_at(struct conf_ctx *x, const char *pool, int line,
                  const char *key, const char *fmt, ...) CONF_PRINTF(5, 6);
/* A required value is missing: point at the pool's section when there is
 * one, since there is no line of the value itself. */
void conf_fail_missing(struct conf_ctx *x, const char *pool,
                       const struct conf_src *s, const char *key,
                       const char *why);
/* Fail with "out of memory"; returns NULL. */
void *conf_oom(struct conf_ctx *x);
/* strdup(s), NULL for NULL or having said "out of memory". */
char *conf_strdup(struct conf_ctx *x, const char *s);
/* A NULL-terminated copy of n strings, n stored in *count; NULL having
 * said "out of memory". Free it with conf_strv_free(). */
char **conf_strv_dup(struct conf_ctx *x, const char *const *v, size_t n,
                     size_t *count);
void conf_strv_free(char **v);
/* The line of value idx of key in the section s was read from, or
 * CONF_FROM_DEFAULT. */
int conf_line_at(const struct conf_ctx *x, const struct conf_src *s,
                 const char *key, unsigned idx);

/* conf_value.c: single values, parsed, checked and written back. */

/* ms in the largest unit that writes it exactly: "2m", "30s", "100ms";
 * returns buf. */
const char *conf_value_format_duration(unsigned ms, char *buf, size_t len);
/* bytes in the largest unit that writes it exactly: "10m", "512k", "123";
 * returns buf. */
const char *conf_value_format_size(unsigned long long bytes, char *buf,
                                   size_t len);
/*
 * The value s of key k as the file or the CLI writes it, parsed and
 * checked alone, by its type: 0 with the number in *n (durations in ms,
 * sizes in bytes, rlimit_core's "unlimited" as -2, an enum's index, a
 * signal, a mode); strings are only checked. -1 with why. Durations are
 * "30s", "500ms", "2m", "1.5s", "1h", or a bare number of seconds, at
 * most a day; sizes "512k", "10m", "1g" or a bare number of bytes, at
 * most 1024g. bound is the value of k->bound so far: a number that no
 * bound allows names it as the upper end. Booleans are libconfuse's.
 */
int conf_value_parse_key(const struct conf_key *k, const char *s, long bound,
                         long long *n, char *why, size_t len);
/* Whether the number v is in k->lo..hi, where hi is k->hi or, once it is
 * known, the value of k->bound: 0, or -1 with why. */
int conf_value_check_number(const struct conf_key *k, long v, long hi,
                            char *why, size_t len);
/* The enum-valued keys mode, pm and log_level: the name of a value, "?"
 * if none; and "cgi, module", the names of the values in mask (a bit per
 * value), what an error message offers instead, in buf. */
const char *conf_value_enum_name(const char *key, int value);
const char *conf_value_enum_list(const char *key, unsigned mask, char *buf,
                                 size_t len);
/* A user by name or number: 0 with its uid and primary group ((gid_t)-1
 * for a number without a passwd entry), or -1 if there is no such user. */
int conf_value_user_lookup(const char *s, uid_t *uid, gid_t *gid);
/* A group by name or number: 0 with its gid, or -1. */
int conf_value_group_lookup(const char *s, gid_t *gid);
/* Checks of one string value: 0, or -1 with why. nonempty: not "".
 * listen: an address fcgi_addr_parse() takes. env: "NAME=value" with a
 * name a shell would accept. client: an allowed_clients entry, IPv4.
 * http_path: status_path, ping_path. module_name: a built-in, or a path
 * with a slash (whether the file exists is checked later). */
int conf_value_check_nonempty(const char *s, char *why, size_t len);
int conf_value_check_listen(const char *s, char *why, size_t len);
int conf_value_check_env(const char *s, char *why, size_t len);
int conf_value_check_client(const char *s, char *why, size_t len);
int conf_value_check_http_path(const char *s, char *why, size_t len);
int conf_value_check_module_name(const char *s, char *why, size_t len);
/* Whether module is one of the "builtin:NAME" handlers. */
bool conf_value_is_builtin(const char *module);
/* Pool names go into logs and status output as they are. */
bool conf_value_pool_name_is_valid(const char *s);

/* conf_path.c: paths as a worker will see them. */

/* path made absolute the way a worker sees it: relative to dir (itself
 * relative to the current directory) or to the current directory.
 * malloc'd; NULL with errno. */
char *conf_path_abs(const char *path, const char *dir);
/* The absolute path of the program a worker will exec, malloc'd; NULL with
 * why when there is none. dir is the pool's chdir, NULL for none. */
char *conf_path_command(const char *cmd, const char *dir, char *why,
                        size_t len);
/* A file fcgipm appends to: named, not a directory, in a directory that
 * exists. 0, or -1 with why. */
int conf_path_check_log(const char *s, char *why, size_t len);
/* A directory that exists (chroot). 0, or -1 with why. */
int conf_path_check_dir(const char *s, char *why, size_t len);
/* reload_on_change resolved into p->watch, the files as the master sees
 * them: the program (exec) or module (not built in, not preloaded),
 * then the paths, each absolute (relative ones to chdir; with chroot,
 * absolute inside it) in a directory that exists. 0, or -1 having said
 * why. */
int conf_path_watch(struct conf_ctx *x, struct pool_conf *p,
                    const struct conf_src *s);

/* conf_signal.c */

/* Whether sig may ask a worker to stop: the rest would crash or freeze
 * it. */
bool conf_signal_is_stop(int sig);

/* conf_scan.c */

/* The file at path, read whole and NUL-terminated, with its comments
 * blanked out for libconfuse (newlines kept, so its line numbers are
 * right). malloc'd; NULL having said why: unreadable, too large, a NUL
 * byte, or an unterminated string, comment or brace. Notes the line of
 * each top-level section in x->sections and of the last token in
 * x->last_line. */
char *conf_scan_file(struct conf_ctx *x, const char *path);

/* conf_print.c: the print hooks of rows. listen: even when empty.
 * priority: when set. module_args: without the module, argv[0]. */
conf_print_fn conf_print_listen, conf_print_priority, conf_print_module_args;

/* conf_cli.c */

/* What the CLI calls key in messages: "option -w", "COMMAND"; else key. */
const char *conf_cli_option(const char *key);
/* Whether the CLI sets keys of the default pool. */
bool conf_cli_has_pool_opts(const struct conf_cli *cli);
/* Apply the CLI's options over c, read from the file: the top-level ones,
 * then the default pool's. 0, or -1 having said why. */
int conf_cli_apply(struct conf_ctx *x, const struct conf_cli *cli,
                   struct conf *c);

/* conf_check.c */

/* The checks across keys and pools once c is read and the CLI applied;
 * makes some values effective (pm sizes, realpaths, command_path, ids).
 * 0, or -1 having said why. */
int conf_check(struct conf_ctx *x, const struct conf_cli *cli,
               struct conf *c);

#endif
