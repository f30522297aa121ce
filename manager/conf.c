/* The configuration: libconfuse option tables and callbacks, the checks, the
 * copy into plain struct conf, the CLI overrides, and conf_print, which
 * writes the result back in the same syntax. */
#include <confuse.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "conf_int.h"
#include "access.h"
#include "fcgi_addr.h"

#define CONF_MAX_WORKERS 4096
#define CONF_MAX_FILE (1024 * 1024)    /* a config file is not a database */
#define CONF_DEPTH_MAX 8               /* braces the scanner remembers */
#define CONF_ACCESS_FORMAT "%R - %u %t \"%m %r%Q%q\" %s %d"
#define CONF_MAX_NOFILE 1048576        /* the kernel's default nr_open */
#define CONF_CORE_UNLIMITED "unlimited"
/* An address as fcgi_addr_format() writes it. */
#define CONF_ADDR_MAX (sizeof(((struct fcgi_addr *)0)->path) + 64)

/* Where a value came from: a line of the file (> 0), the defaults, the CLI */
enum { CONF_FROM_DEFAULT = 0, CONF_FROM_CLI = -1 };

/* The line of one value, noted while libconfuse parses: cfg_opt_t has no
 * line of its own in libconfuse 3.3. opt is per section, since libconfuse
 * gives each section its own copy of the table. */
struct conf_line {
    const cfg_opt_t *opt;
    unsigned idx;
    int line;
};

/* For one pool, the lines of the values that checks after parsing name. */
struct conf_src {
    int section;                /* `pool "x" {`; 0 for the top-level pool */
    int mode, pm, workers, command, user;
    int backoff_min, backoff_max;
    int min_workers, max_workers;
    int *listen;                /* one per address */
    cfg_t *sec;                 /* the pool's section, for the lines of keys
                                   the CLI cannot set (conf_key_line) */
};

/* One conf_load() in progress. libconfuse callbacks get no user pointer, so
 * they reach it through conf_cur; its lexer is global state anyway. */
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
    struct conf_src *src;       /* parallel to conf.pools */
    int status_listen, status_path, ping_path;  /* their lines */
};

static struct conf_ctx *conf_cur;

struct conf_range {
    const char *key;
    long lo, hi;
};

static const struct conf_range conf_ranges[] = {
    { "backlog", 1, 65535 },
    { "workers", 0, CONF_MAX_WORKERS },
    { "max_workers", 1, CONF_MAX_WORKERS },
    /* max_requests + max_requests_jitter then fits an unsigned. */
    { "max_requests", 0, INT_MAX },
    { "max_requests_jitter", 0, INT_MAX },
    { "min_workers", 0, CONF_MAX_WORKERS },
    { "min_spare", 0, CONF_MAX_WORKERS },
    { "max_spare", 1, CONF_MAX_WORKERS },
    { "max_spawn_rate", 0, INT_MAX },
    { "rlimit_files", 1, CONF_MAX_NOFILE },
    { "priority", -20, 19 },
};

/* Keys that one mode only uses: set in a pool of another mode, they are
 * an error rather than silently ignored. */
struct conf_mode_key {
    const char *key;
    enum pool_mode mode;
};

static const struct conf_mode_key conf_mode_keys[] = {
    { "command", MODE_EXEC },   { "cgi_root", MODE_CGI },
    { "module", MODE_MODULE },  { "module_args", MODE_MODULE },
    { "preload", MODE_MODULE },
};

/* Keys that some process managers only use: set to other than their
 * default in a pool of another pm, they are an error. pms has a bit per
 * enum pm_kind. */
#define CONF_PM(kind) (1u << (kind))

struct conf_pm_key {
    const char *key;
    unsigned pms;
};

static const struct conf_pm_key conf_pm_keys[] = {
    { "min_workers", CONF_PM(PM_DYNAMIC) | CONF_PM(PM_ADAPTIVE) },
    { "min_spare", CONF_PM(PM_DYNAMIC) },
    { "max_spare", CONF_PM(PM_DYNAMIC) },
    { "idle_timeout", CONF_PM(PM_ONDEMAND) | CONF_PM(PM_ADAPTIVE) },
};

/* Durations where 0 is an error: a zero backoff would respawn a crashing
 * worker at once, forever; a zero idle_timeout would stop a worker the
 * moment it goes idle. */
static const char *const conf_nonzero_durations[] = {
    "restart_backoff", "restart_backoff_max", "idle_timeout",
};

/* Keys valid at the top level only, and what the CLI calls each key. */
static const char *const conf_top_keys[] = {
    "pid_file", "log", "log_level", "daemon", "status_listen",
    "status_socket_mode", "status_path", "ping_path", "pool",
};

struct conf_cli_name {
    const char *key;
    const char *option;
};

static const struct conf_cli_name conf_cli_names[] = {
    { "listen", "option -b" },       { "workers", "option -w" },
    { "mode", "option -m" },         { "user", "option -u" },
    { "group", "option -g" },        { "socket_mode", "option -M" },
    { "socket_user", "option -U" },  { "socket_group", "option -G" },
    { "pid_file", "option -p" },     { "log", "option -l" },
    { "log_level", "option --log-level" },
    { "command", "COMMAND" },
};

static void CONF_PRINTF(2, 3)
conf_fail(struct conf_ctx *x, const char *fmt, ...)
{
    va_list ap;

    /* The first error is the one to fix first; later ones often follow
     * from it. */
    if (x->failed)
        return;
    x->failed = true;
    if (x->err == NULL || x->errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(x->err, x->errlen, fmt, ap);
    va_end(ap);
}

static const char *
conf_cli_option(const char *key)
{
    for (size_t i = 0; i < CONF_NELEM(conf_cli_names); i++)
        if (strcmp(conf_cli_names[i].key, key) == 0)
            return conf_cli_names[i].option;
    return key;
}

/* An error about the value of key in pool, anchored where the value came
 * from: "FILE:LINE: KEY: ...", "option -w: ..." or "pool NAME: KEY: ...". */
static void CONF_PRINTF(5, 6)
conf_fail_at(struct conf_ctx *x, const char *pool, int line, const char *key,
             const char *fmt, ...)
{
    char msg[CONF_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (line > 0)
        conf_fail(x, "%s:%d: %s: %s", x->file, line, key, msg);
    else if (line == CONF_FROM_CLI)
        conf_fail(x, "%s: %s", conf_cli_option(key), msg);
    else if (pool != NULL)
        conf_fail(x, "pool %s: %s: %s", pool, key, msg);
    else
        conf_fail(x, "%s: %s", key, msg);
}

/* A required value is missing: point at the pool's section when there is
 * one, since there is no line of the value itself. */
static void
conf_fail_missing(struct conf_ctx *x, const char *pool,
                  const struct conf_src *s, const char *key, const char *why)
{
    if (s->section > 0)
        conf_fail(x, "%s:%d: pool %s: %s: %s", x->file, s->section, pool,
                  key, why);
    else
        conf_fail(x, "pool %s: %s: %s", pool, key, why);
}

static void *
conf_oom(struct conf_ctx *x)
{
    conf_fail(x, "out of memory");
    return NULL;
}

static char *
conf_strdup(struct conf_ctx *x, const char *s)
{
    char *d;

    if (s == NULL)
        return NULL;
    if ((d = strdup(s)) == NULL)
        return conf_oom(x);
    return d;
}

/* Note the line of the value libconfuse is setting now: the last one of
 * opt. 0, or -1 when out of memory. */
static int
conf_note_line(cfg_t *cfg, cfg_opt_t *opt)
{
    struct conf_ctx *x = conf_cur;
    unsigned idx = opt->nvalues > 0 ? opt->nvalues - 1 : 0;

    if (x == NULL)
        return 0;
    for (size_t i = 0; i < x->nlines; i++)
        if (x->lines[i].opt == opt && x->lines[i].idx == idx) {
            x->lines[i].line = cfg->line;
            return 0;
        }
    if (x->nlines == x->caplines) {
        size_t cap = x->caplines > 0 ? x->caplines * 2 : 64;
        struct conf_line *l = realloc(x->lines, cap * sizeof(*l));
        if (l == NULL) {
            conf_oom(x);
            return -1;
        }
        x->lines = l;
        x->caplines = cap;
    }
    x->lines[x->nlines++] = (struct conf_line){ opt, idx, cfg->line };
    return 0;
}

/* The line of value idx of key in section sec, or CONF_FROM_DEFAULT. */
static int
conf_line_of(const struct conf_ctx *x, cfg_t *sec, const char *key,
             unsigned idx)
{
    const cfg_opt_t *opt = cfg_getopt(sec, key);

    for (size_t i = 0; i < x->nlines; i++)
        if (x->lines[i].opt == opt && x->lines[i].idx == idx)
            return x->lines[i].line;
    return CONF_FROM_DEFAULT;
}

static int
conf_on_str(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
    if (conf_note_line(cfg, opt) == -1)
        return -1;
    *(const char **)result = value;
    return 0;
}

static const struct conf_range *
conf_range_of(const char *key)
{
    for (size_t i = 0; i < CONF_NELEM(conf_ranges); i++)
        if (strcmp(conf_ranges[i].key, key) == 0)
            return &conf_ranges[i];
    return NULL;
}

static int
conf_on_int(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
    const struct conf_range *r = conf_range_of(opt->name);
    long v, hi = r->hi;
    int rc;

    if (conf_note_line(cfg, opt) == -1)
        return -1;
    rc = conf_value_parse_long(value, &v);
    /* workers is checked against the final max_workers after parsing; the
     * one known so far makes the better message for a hopeless value. */
    if (strcmp(opt->name, "workers") == 0 && (rc == -1 || v < r->lo))
        hi = cfg_getint(cfg, "max_workers");
    if (rc == -1) {
        cfg_error(cfg, "%s: '%s' is not a number in %ld..%ld", opt->name,
                  value, r->lo, hi);
        return -1;
    }
    if (v < r->lo || v > r->hi) {
        cfg_error(cfg, "%s: %ld is not in %ld..%ld", opt->name, v, r->lo,
                  hi);
        return -1;
    }
    *(long *)result = v;
    return 0;
}

static int
conf_on_duration(cfg_t *cfg, cfg_opt_t *opt, const char *value,
                 void *result)
{
    unsigned ms;

    if (conf_note_line(cfg, opt) == -1)
        return -1;
    if (conf_value_parse_duration_ms(value, &ms) == -1) {
        if (errno == ERANGE)
            cfg_error(cfg, "%s: '%s' is longer than 24h", opt->name, value);
        else
            cfg_error(cfg, "%s: '%s' is not a duration (like 30s, 500ms, "
                      "2m, 1.5s)", opt->name, value);
        return -1;
    }
    for (size_t i = 0; ms == 0 && i < CONF_NELEM(conf_nonzero_durations);
         i++)
        if (strcmp(opt->name, conf_nonzero_durations[i]) == 0) {
            cfg_error(cfg, "%s: must be at least 1ms", opt->name);
            return -1;
        }
    *(long *)result = (long)ms;
    return 0;
}

/* Sizes stay strings in libconfuse, whose integers are a long: 32 bits on
 * some Linux targets. conf_copy_pool() parses them again. */
static int
conf_on_size(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
    unsigned long long bytes;

    if (conf_note_line(cfg, opt) == -1)
        return -1;
    if (conf_value_parse_size(value, &bytes) == -1) {
        if (errno == ERANGE)
            cfg_error(cfg, "%s: '%s' is more than 1024g", opt->name, value);
        else
            cfg_error(cfg, "%s: '%s' is not a size (like 512k, 10m, 1g, or "
                      "a number of bytes)", opt->name, value);
        return -1;
    }
    *(const char **)result = value;
    return 0;
}

/* rlimit_core: "unlimited" or a size, kept as a string like sizes. */
static int
conf_on_core_size(cfg_t *cfg, cfg_opt_t *opt, const char *value,
                  void *result)
{
    unsigned long long bytes;

    if (conf_note_line(cfg, opt) == -1)
        return -1;
    if (strcasecmp(value, CONF_CORE_UNLIMITED) == 0) {
        *(const char **)result = value;
        return 0;
    }
    if (conf_value_parse_size(value, &bytes) == -1) {
        if (errno == ERANGE)
            cfg_error(cfg, "%s: '%s' is more than 1024g (write unlimited)",
                      opt->name, value);
        else
            cfg_error(cfg, "%s: '%s' is neither unlimited nor a size (like "
                      "512k, 10m, 1g, or a number of bytes)", opt->name,
                      value);
        return -1;
    }
    /* The field is a long: 32 bits on some Linux targets. */
    if (bytes > (unsigned long long)LONG_MAX) {
        cfg_error(cfg, "%s: '%s' does not fit a long here (write "
                  "unlimited)", opt->name, value);
        return -1;
    }
    *(const char **)result = value;
    return 0;
}

static int
conf_on_enum(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
    char names[CONF_MSG_MAX];
    int v;

    if (conf_note_line(cfg, opt) == -1)
        return -1;
    if ((v = conf_value_enum_parse(opt->name, value)) == -1) {
        cfg_error(cfg, "%s: '%s' is not one of %s", opt->name, value,
                  conf_value_enum_list(opt->name, names, sizeof(names)));
        return -1;
    }
    *(long *)result = v;
    return 0;
}

static int
conf_on_bool(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
    int b;

    if (conf_note_line(cfg, opt) == -1)
        return -1;
    if ((b = cfg_parse_boolean(value)) == -1) {
        cfg_error(cfg, "%s: '%s' is not a boolean (true or false)",
                  opt->name, value);
        return -1;
    }
    *(int *)result = b;
    return 0;
}

static int
conf_on_mode(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
    mode_t m;

    if (conf_note_line(cfg, opt) == -1)
        return -1;
    if (conf_value_parse_mode(value, &m) == -1) {
        cfg_error(cfg, "%s: '%s' is not an octal mode in 0000..0777",
                  opt->name, value);
        return -1;
    }
    *(long *)result = (long)m;
    return 0;
}

static int
conf_on_signal(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
    int sig;

    if (conf_note_line(cfg, opt) == -1)
        return -1;
    sig = conf_signal_number(value);
    if (sig == -1 || !conf_signal_is_stop(sig)) {
        cfg_error(cfg, "%s: '%s' is not one of HUP, INT, QUIT, TERM, USR1, "
                  "USR2, KILL", opt->name, value);
        return -1;
    }
    *(long *)result = sig;
    return 0;
}

/* The value just set. libconfuse validates a list after each value and
 * again at its closing brace, so the last value is the one to check. */
static const char *
conf_last_str(cfg_opt_t *opt)
{
    if (opt->nvalues == 0)
        return NULL;
    return cfg_opt_getnstr(opt, opt->nvalues - 1);
}

static int
conf_valid_listen(cfg_t *cfg, cfg_opt_t *opt)
{
    const char *s = conf_last_str(opt);
    char why[CONF_MSG_MAX];
    struct fcgi_addr a;

    if (s != NULL && fcgi_addr_parse(s, &a, why, sizeof(why)) == -1) {
        cfg_error(cfg, "%s: '%s': %s", opt->name, s, why);
        return -1;
    }
    return 0;
}

static int
conf_valid_user(cfg_t *cfg, cfg_opt_t *opt)
{
    const char *s = conf_last_str(opt);
    uid_t uid;
    gid_t gid;

    if (s != NULL && conf_value_user_lookup(s, &uid, &gid) == -1) {
        cfg_error(cfg, "%s: unknown user '%s'", opt->name, s);
        return -1;
    }
    return 0;
}

static int
conf_valid_group(cfg_t *cfg, cfg_opt_t *opt)
{
    const char *s = conf_last_str(opt);
    gid_t gid;

    if (s != NULL && conf_value_group_lookup(s, &gid) == -1) {
        cfg_error(cfg, "%s: unknown group '%s'", opt->name, s);
        return -1;
    }
    return 0;
}

static int
conf_valid_dir(cfg_t *cfg, cfg_opt_t *opt)
{
    const char *s = conf_last_str(opt);
    struct stat st;

    if (s == NULL)
        return 0;
    if (stat(s, &st) == -1) {
        cfg_error(cfg, "%s: '%s': %s", opt->name, s, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        cfg_error(cfg, "%s: '%s' is not a directory", opt->name, s);
        return -1;
    }
    return 0;
}

static int
conf_valid_nonempty(cfg_t *cfg, cfg_opt_t *opt)
{
    const char *s = conf_last_str(opt);

    if (s != NULL && *s == '\0') {
        cfg_error(cfg, "%s: empty", opt->name);
        return -1;
    }
    return 0;
}

/* A check of one string value: 0, or -1 with why. */
typedef int conf_check_fn(const char *s, char *why, size_t len);

static int
conf_valid_with(cfg_t *cfg, cfg_opt_t *opt, conf_check_fn *check)
{
    const char *s = conf_last_str(opt);
    char why[CONF_MSG_MAX];

    if (s != NULL && check(s, why, sizeof(why)) == -1) {
        cfg_error(cfg, "%s: %s", opt->name, why);
        return -1;
    }
    return 0;
}

static int
conf_valid_env(cfg_t *cfg, cfg_opt_t *opt)
{
    return conf_valid_with(cfg, opt, conf_value_check_env);
}

static int
conf_valid_client(cfg_t *cfg, cfg_opt_t *opt)
{
    return conf_valid_with(cfg, opt, conf_value_check_client);
}

static int
conf_valid_http_path(cfg_t *cfg, cfg_opt_t *opt)
{
    return conf_valid_with(cfg, opt, conf_value_check_http_path);
}

static int
conf_valid_module(cfg_t *cfg, cfg_opt_t *opt)
{
    return conf_valid_with(cfg, opt, conf_value_check_module_name);
}

static int
conf_valid_log_path(cfg_t *cfg, cfg_opt_t *opt)
{
    return conf_valid_with(cfg, opt, conf_path_check_log);
}

static int
conf_valid_access_format(cfg_t *cfg, cfg_opt_t *opt)
{
    /* The formatter's own checker: one list of directives. */
    return conf_valid_with(cfg, opt, access_format_check);
}

/* Every value goes through a parse callback, which notes its line, so the
 * tables are written out rather than built with CFG_INT_CB and friends,
 * which cannot also set a validate callback. */
#define CONF_INT(n, d, parse)                                               \
    { .name = (n), .type = CFGT_INT, .def.number = (d), .parsecb = (parse) }
#define CONF_BOOL(n, d)                                                     \
    { .name = (n), .type = CFGT_BOOL, .def.boolean = (d),                   \
      .parsecb = conf_on_bool }
#define CONF_STR(n, d, valid)                                               \
    { .name = (n), .type = CFGT_STR, .def.string = (d),                     \
      .parsecb = conf_on_str, .validcb = (valid) }
#define CONF_LIST(n, valid)                                                 \
    { .name = (n), .type = CFGT_STR, .flags = CFGF_LIST,                    \
      .parsecb = conf_on_str, .validcb = (valid) }
#define CONF_SIZE(n, d)                                                     \
    { .name = (n), .type = CFGT_STR, .def.string = (d),                     \
      .parsecb = conf_on_size }
#define CONF_CORE_SIZE(n)                                                   \
    { .name = (n), .type = CFGT_STR, .parsecb = conf_on_core_size }

/* A pool's keys: in pool sections, and at the top level for the default
 * pool. Defaults here are the documented ones (fcgipm.conf(5)). */
#define CONF_POOL_OPTS                                                      \
    CONF_LIST("listen", conf_valid_listen),                                 \
    CONF_INT("backlog", 511, conf_on_int),                                  \
    CONF_INT("socket_mode", 0660, conf_on_mode),                            \
    CONF_STR("socket_user", NULL, conf_valid_user),                         \
    CONF_STR("socket_group", NULL, conf_valid_group),                       \
    CONF_INT("mode", MODE_EXEC, conf_on_enum),                              \
    CONF_INT("pm", PM_STATIC, conf_on_enum),                                \
    CONF_LIST("command", NULL),                                             \
    CONF_LIST("allowed_clients", conf_valid_client),                        \
    CONF_STR("user", NULL, conf_valid_user),                                \
    CONF_STR("group", NULL, conf_valid_group),                              \
    CONF_STR("chroot", NULL, conf_valid_dir),                               \
    CONF_STR("chdir", NULL, NULL),                                          \
    CONF_INT("rlimit_files", -1, conf_on_int),                              \
    CONF_CORE_SIZE("rlimit_core"),                                          \
    CONF_INT("priority", 0, conf_on_int),                                   \
    CONF_BOOL("clear_env", cfg_true),                                       \
    CONF_LIST("env", conf_valid_env),                                       \
    CONF_INT("workers", 1, conf_on_int),                                    \
    CONF_INT("max_workers", 256, conf_on_int),                              \
    CONF_INT("min_workers", 1, conf_on_int),                                \
    CONF_INT("min_spare", 1, conf_on_int),                                  \
    CONF_INT("max_spare", 3, conf_on_int),                                  \
    CONF_INT("idle_timeout", 10000, conf_on_duration),                      \
    CONF_INT("max_spawn_rate", 32, conf_on_int),                            \
    CONF_INT("stop_signal", SIGUSR1, conf_on_signal),                       \
    CONF_INT("graceful_timeout", 30000, conf_on_duration),                  \
    CONF_INT("kill_timeout", 5000, conf_on_duration),                       \
    CONF_INT("restart_backoff", 100, conf_on_duration),                     \
    CONF_INT("restart_backoff_max", 30000, conf_on_duration),               \
    CONF_INT("min_uptime", 1000, conf_on_duration),                         \
    CONF_STR("cgi_root", NULL, conf_valid_nonempty),                        \
    CONF_STR("module", NULL, conf_valid_module),                            \
    CONF_LIST("module_args", NULL),                                         \
    CONF_BOOL("preload", cfg_false),                                        \
    CONF_SIZE("max_body", "0"),                                             \
    CONF_INT("request_timeout", 0, conf_on_duration),                       \
    CONF_INT("max_requests", 0, conf_on_int),                               \
    CONF_INT("max_requests_jitter", 0, conf_on_int),                        \
    CONF_SIZE("max_rss", "0"),                                              \
    CONF_INT("slow_request_time", 0, conf_on_duration),                     \
    CONF_STR("slowlog", NULL, conf_valid_log_path),                         \
    CONF_STR("access_log", NULL, conf_valid_log_path),                      \
    CONF_STR("access_format", CONF_ACCESS_FORMAT, conf_valid_access_format)

static cfg_opt_t conf_pool_opts[] = {
    CONF_POOL_OPTS,
    CFG_END()
};

/* CFGF_NO_TITLE_DUPES: without it, a second pool "x" section silently
 * merges into the first. */
static cfg_opt_t conf_top_opts[] = {
    CONF_STR("pid_file", NULL, conf_valid_nonempty),
    CONF_STR("log", "stderr", conf_valid_nonempty),
    CONF_INT("log_level", LOG_LEVEL_INFO, conf_on_enum),
    CONF_BOOL("daemon", cfg_false),
    CONF_STR("status_listen", NULL, conf_valid_listen),
    CONF_INT("status_socket_mode", 0660, conf_on_mode),
    CONF_STR("status_path", "/status", conf_valid_http_path),
    CONF_STR("ping_path", "/ping", conf_valid_http_path),
    CONF_POOL_OPTS,
    CFG_SEC("pool", conf_pool_opts,
            CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES),
    CFG_END()
};

/* libconfuse's own messages.
 * They name the option as 'x' in the middle of a sentence; ours start with
 * the key. Matched on the English text: fcgipm never calls setlocale, so
 * libconfuse's gettext leaves them untranslated. */

struct conf_confuse_msg {
    const char *fmt;            /* libconfuse's */
    const char *before;         /* ours: before, its %s argument, after */
    const char *after;
};

static const struct conf_confuse_msg conf_confuse_msgs[] = {
    { "no such option '%s'", "", ": unknown key" },
    { "missing equal sign after option '%s'", "", ": missing '='" },
    { "attempt to append to non-list option '%s'", "",
      ": '+=' works only on lists" },
    { "found duplicate title '%s'", "pool: \"", "\" is defined twice" },
    { "missing title for section '%s'", "",
      ": missing name, as in pool \"www\" { ... }" },
    { "missing opening brace for section '%s'", "", ": missing '{'" },
    { "unexpected token '%s'", "syntax error: unexpected '", "'" },
    { "bad escape sequence '%s'", "syntax error: bad escape '", "'" },
    { "invalid octal number '%s'", "syntax error: bad escape '", "'" },
    { "unexpected closing brace", "syntax error: '}' without '{'", "" },
    { "premature end of file", "syntax error: unexpected end of file", "" },
    { "unterminated string constant", "syntax error: unterminated string",
      "" },
};

static bool
conf_is_top_key(const char *key)
{
    for (size_t i = 0; i < CONF_NELEM(conf_top_keys); i++)
        if (strcmp(conf_top_keys[i], key) == 0)
            return true;
    return false;
}

static void CONF_PRINTF(2, 0)
conf_confuse_rewrite(cfg_t *cfg, const char *fmt, va_list ap, char *msg,
                     size_t len)
{
    for (size_t i = 0; i < CONF_NELEM(conf_confuse_msgs); i++) {
        const struct conf_confuse_msg *m = &conf_confuse_msgs[i];
        if (strcmp(fmt, m->fmt) != 0)
            continue;
        const char *arg = strstr(fmt, "%s") ? va_arg(ap, const char *) : "";
        const char *after = m->after;
        if (arg == NULL)
            arg = "?";
        if (i == 0 && strcmp(cfg->name, "pool") == 0 && conf_is_top_key(arg))
            after = strcmp(arg, "pool") == 0
                        ? ": pool sections do not nest"
                        : ": allowed at the top level only";
        snprintf(msg, len, "%s%s%s", m->before, arg, after);
        return;
    }
    vsnprintf(msg, len, fmt, ap);
}

/* cfg_error() lands here, from libconfuse and from our callbacks alike, with
 * the section being parsed: its line is the line of the current token. */
static void CONF_PRINTF(2, 0)
conf_on_confuse_error(cfg_t *cfg, const char *fmt, va_list ap)
{
    struct conf_ctx *x = conf_cur;
    char msg[CONF_MSG_MAX];
    int line = cfg->line;

    if (x == NULL || x->failed)
        return;
    /* At the end of the file, libconfuse's line is past the last one; the
     * statement left incomplete is on the line of the last token. */
    if (strcmp(fmt, "premature end of file") == 0 && x->last_line > 0)
        line = x->last_line;
    conf_confuse_rewrite(cfg, fmt, ap, msg, sizeof(msg));
    if (x->file != NULL && line > 0)
        conf_fail(x, "%s:%d: %s", x->file, line, msg);
    else
        conf_fail(x, "%s", msg);
}

/* The scanner.
 * A pass over the file before libconfuse parses it, following the lexical
 * rules of its lexer, for what libconfuse 3.3 gets wrong: it counts each
 * one-line comment as three lines and block comments wrongly too, so the
 * scanner blanks comments out (newlines stay) and libconfuse's line numbers
 * come out right; it accepts a file that ends inside a section or a
 * comment; it reports an unterminated string or list at the end of the
 * file rather than where it starts. The scanner reports those at the line
 * that opens them, and notes where each pool section starts, which
 * libconfuse does not keep. */

struct conf_tok {
    int kind;                   /* 'w' word, '"' string, or = + { } , ( ) */
    char text[CONF_KEY_MAX];    /* of a word */
};

struct conf_brace {
    int line;
    bool list;                  /* `key = {`, else a section */
    char key[CONF_KEY_MAX];
};

struct conf_scanner {
    struct conf_ctx *x;
    char *p;
    const char *end;
    int line;
    struct conf_tok prev, prev2;
    struct conf_brace open[CONF_DEPTH_MAX];
    unsigned depth;
};

static void
conf_scan_fail(struct conf_scanner *s, int line, const char *key,
               const char *what)
{
    if (key != NULL && *key != '\0')
        conf_fail(s->x, "%s:%d: %s: %s", s->x->file, line, key, what);
    else
        conf_fail(s->x, "%s:%d: syntax error: %s", s->x->file, line, what);
}

static void
conf_scan_token(struct conf_scanner *s, int kind, const char *text,
                size_t len)
{
    s->x->last_line = s->line;
    s->prev2 = s->prev;
    s->prev.kind = kind;
    if (len >= sizeof(s->prev.text))
        len = sizeof(s->prev.text) - 1;
    memcpy(s->prev.text, text, len);
    s->prev.text[len] = '\0';
}

static bool
conf_scan_is_word(char c)
{
    return strchr(" #\"'\t\n\r={}()+,*", c) == NULL;
}

/* Skip from p up to end, counting lines. */
static void
conf_scan_skip(struct conf_scanner *s, const char *end)
{
    for (; s->p < end; s->p++)
        if (*s->p == '\n')
            s->line++;
}

/* The key a string being read belongs to, when the tokens tell. */
static const char *
conf_scan_key(const struct conf_scanner *s)
{
    if (s->prev.kind == '=' || s->prev.kind == '+')
        return s->prev2.kind == 'w' ? s->prev2.text : NULL;
    if ((s->prev.kind == '{' || s->prev.kind == ',') && s->depth > 0
        && s->depth <= CONF_DEPTH_MAX && s->open[s->depth - 1].list)
        return s->open[s->depth - 1].key;
    return NULL;
}

/* A quoted string from its opening quote; a backslash escapes anything,
 * "${...}" runs to its brace even across the closing quote, as in the
 * lexer. 0, or -1 when the file ends first. */
static int
conf_scan_string(struct conf_scanner *s)
{
    char quote = *s->p;
    int line = s->line;
    const char *key = conf_scan_key(s);

    for (s->p++; s->p < s->end; s->p++) {
        if (*s->p == quote) {
            s->p++;
            conf_scan_token(s, '"', "", 0);
            return 0;
        }
        const char *brace = quote == '"' && *s->p == '$' && s->p[1] == '{'
            ? memchr(s->p, '}', (size_t)(s->end - s->p)) : NULL;
        if (brace != NULL)
            conf_scan_skip(s, brace);
        else if (*s->p == '\\' && s->p + 1 < s->end)
            s->p++;
        if (*s->p == '\n')
            s->line++;
    }
    conf_scan_fail(s, line, key, "unterminated string");
    return -1;
}

/* A block comment, from its opening slash-star, blanked out. */
static int
conf_scan_comment(struct conf_scanner *s)
{
    int line = s->line;

    memset(s->p, ' ', 2);
    for (s->p += 2; s->p + 1 < s->end; s->p++) {
        if (s->p[0] == '*' && s->p[1] == '/') {
            memset(s->p, ' ', 2);
            s->p += 2;
            return 0;
        }
        if (*s->p == '\n')
            s->line++;
        else
            *s->p = ' ';
    }
    conf_scan_fail(s, line, NULL, "unterminated /* comment");
    return -1;
}

static void
conf_scan_word(struct conf_scanner *s)
{
    const char *start = s->p;
    const char *brace = s->p[0] == '$' && s->p + 1 < s->end && s->p[1] == '{'
        ? memchr(s->p, '}', (size_t)(s->end - s->p)) : NULL;

    if (brace != NULL)
        conf_scan_skip(s, brace + 1);
    else
        while (s->p < s->end && conf_scan_is_word(*s->p))
            s->p++;
    conf_scan_token(s, 'w', start, (size_t)(s->p - start));
}

static int
conf_scan_open(struct conf_scanner *s)
{
    bool list = s->prev.kind == '=' || s->prev.kind == '+';
    struct conf_ctx *x = s->x;

    if (s->depth < CONF_DEPTH_MAX) {
        struct conf_brace *b = &s->open[s->depth];
        b->line = s->line;
        b->list = list;
        snprintf(b->key, sizeof(b->key), "%s",
                 s->prev2.kind == 'w' ? s->prev2.text : "");
    }
    if (s->depth == 0 && !list) {
        if (x->nsections == x->capsections) {
            size_t cap = x->capsections > 0 ? x->capsections * 2 : 8;
            int *l = realloc(x->sections, cap * sizeof(*l));
            if (l == NULL) {
                conf_oom(x);
                return -1;
            }
            x->sections = l;
            x->capsections = cap;
        }
        x->sections[x->nsections++] = s->line;
    }
    s->depth++;
    s->p++;
    conf_scan_token(s, '{', "", 0);
    return 0;
}

/* One token, comment or blank; 0, or -1 having said why. */
static int
conf_scan_step(struct conf_scanner *s)
{
    const char *eol;

    switch (*s->p) {
    case '\n':
        s->line++;
        /* FALLTHROUGH */
    case ' ': case '\t': case '\r': case '*':
        s->p++;
        return 0;
    case '"': case '\'':
        return conf_scan_string(s);
    case '{':
        return conf_scan_open(s);
    case '}':
        if (s->depth > 0)
            s->depth--;
        /* FALLTHROUGH */
    case '=': case ',': case '(': case ')':
        conf_scan_token(s, *s->p, "", 0);
        s->p++;
        return 0;
    case '+':
        if (s->p + 1 < s->end && s->p[1] == '=') {
            conf_scan_token(s, '+', "", 0);
            s->p++;
        }
        s->p++;
        return 0;
    case '/':
        /* At the start of a token, as libconfuse 3.3 has it: in the
         * middle of one ("a//b"), a slash is just a character. */
        if (s->p + 1 < s->end && s->p[1] == '*')
            return conf_scan_comment(s);
        if (s->p + 1 == s->end || s->p[1] != '/')
            break;
        /* FALLTHROUGH */
    case '#':
        eol = memchr(s->p, '\n', (size_t)(s->end - s->p));
        if (eol == NULL)
            eol = s->end;
        memset(s->p, ' ', (size_t)(eol - s->p));
        s->p += eol - s->p;
        return 0;
    }
    conf_scan_word(s);
    return 0;
}

/* Blank out the comments of buf. 0 if it has no unterminated string,
 * comment or brace; -1 otherwise, having said why. */
static int
conf_scan(struct conf_ctx *x, char *buf, size_t len)
{
    struct conf_scanner s = { .x = x, .p = buf, .end = buf + len, .line = 1 };
    const char *nul = memchr(buf, '\0', len);

    if (nul != NULL) {
        conf_scan_skip(&s, nul);
        conf_scan_fail(&s, s.line, NULL, "NUL byte");
        return -1;
    }
    while (s.p < s.end)
        if (conf_scan_step(&s) == -1)
            return -1;
    if (s.depth > 0) {
        unsigned i = s.depth <= CONF_DEPTH_MAX ? s.depth : CONF_DEPTH_MAX;
        const struct conf_brace *b = &s.open[i - 1];
        conf_scan_fail(&s, b->line, b->key, "'{' is never closed");
        return -1;
    }
    return 0;
}

/* The whole file, NUL-terminated: the scanner and libconfuse then read the
 * same bytes even if the file changes meanwhile. NULL having said why. */
static char *
conf_scan_read(struct conf_ctx *x, const char *path, size_t *len)
{
    FILE *f = fopen(path, "re");
    char *buf = NULL;
    size_t n = 0, cap = 0, got;

    if (f == NULL) {
        conf_fail(x, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    do {
        if (n + 1 >= cap) {
            char *nb = cap < CONF_MAX_FILE ? realloc(buf, cap + 4096) : NULL;
            if (nb == NULL) {
                conf_fail(x, "%s: %s", path, cap < CONF_MAX_FILE
                          ? "out of memory" : "larger than 1 MiB");
                goto fail;
            }
            buf = nb;
            cap += 4096;
        }
        got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
    } while (got > 0);
    if (ferror(f)) {
        conf_fail(x, "%s: cannot read: %s", path, strerror(errno));
        goto fail;
    }
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
fail:
    free(buf);
    fclose(f);
    return NULL;
}

static int
conf_parse_file(struct conf_ctx *x, cfg_t *cfg, const char *path)
{
    size_t len;
    char *buf = conf_scan_read(x, path, &len);
    int rc = -1;

    if (buf == NULL)
        return -1;
    if (conf_scan(x, buf, len) == -1)
        goto out;
    /* Our error function names x->file; libconfuse's "[buf]" goes unused. */
    if (cfg_parse_buf(cfg, buf) != CFG_SUCCESS || x->failed) {
        conf_fail(x, "%s: cannot parse", path);
        goto out;
    }
    rc = 0;
out:
    free(buf);
    return rc;
}

/* A NULL-terminated copy of n strings, n stored in *count. */
static char **
conf_strv_dup(struct conf_ctx *x, const char *const *v, size_t n,
              size_t *count)
{
    char **d = calloc(n + 1, sizeof(*d));

    if (d == NULL)
        return conf_oom(x);
    for (size_t i = 0; i < n; i++)
        if ((d[i] = strdup(v[i])) == NULL) {
            while (i-- > 0)
                free(d[i]);
            free(d);
            return conf_oom(x);
        }
    *count = n;
    return d;
}

static void
conf_strv_free(char **v)
{
    for (size_t i = 0; v != NULL && v[i] != NULL; i++)
        free(v[i]);
    free(v);
}

/* The values of list key in sec, with the line of each in *lines when
 * lines is not NULL. */
static char **
conf_get_list(struct conf_ctx *x, cfg_t *sec, const char *key,
              size_t *count, int **lines)
{
    unsigned n = cfg_size(sec, key);
    const char **v = calloc(n + 1, sizeof(*v));
    char **d = NULL;

    if (v == NULL)
        return conf_oom(x);
    for (unsigned i = 0; i < n; i++)
        v[i] = cfg_getnstr(sec, key, i);
    if (lines != NULL && (*lines = calloc(n + 1, sizeof(**lines))) == NULL)
        goto out;
    for (unsigned i = 0; lines != NULL && i < n; i++)
        (*lines)[i] = conf_line_of(x, sec, key, i);
    d = conf_strv_dup(x, v, n, count);
out:
    free(v);
    return d != NULL ? d : conf_oom(x);
}

static void
conf_copy_lines(const struct conf_ctx *x, cfg_t *sec, struct conf_src *s)
{
    s->sec = sec;
    s->mode = conf_line_of(x, sec, "mode", 0);
    s->pm = conf_line_of(x, sec, "pm", 0);
    s->workers = conf_line_of(x, sec, "workers", 0);
    s->command = conf_line_of(x, sec, "command", 0);
    s->user = conf_line_of(x, sec, "user", 0);
    s->backoff_min = conf_line_of(x, sec, "restart_backoff", 0);
    s->backoff_max = conf_line_of(x, sec, "restart_backoff_max", 0);
    s->min_workers = conf_line_of(x, sec, "min_workers", 0);
    s->max_workers = conf_line_of(x, sec, "max_workers", 0);
}

/* A size the parse callback accepted. */
static unsigned long long
conf_get_size(cfg_t *sec, const char *key)
{
    unsigned long long bytes = 0;

    conf_value_parse_size(cfg_getstr(sec, key), &bytes);
    return bytes;
}

/* A log file's path made absolute, relative to the directory fcgipm runs
 * in: a worker opens it after its chdir. NULL for NULL, or having said
 * why. */
static char *
conf_get_log_path(struct conf_ctx *x, cfg_t *sec, const char *key)
{
    const char *v = cfg_getstr(sec, key);
    char *abs;

    if (v == NULL)
        return NULL;
    if ((abs = conf_path_abs(v, NULL)) == NULL)
        conf_fail_at(x, NULL, conf_line_of(x, sec, key, 0), key, "'%s': %s",
                     v, strerror(errno));
    return abs;
}

/* fcgipm_init's argv: the module, then module_args. NULL without a
 * module: a pool whose mode uses none has no arguments either. */
static char **
conf_get_module_args(struct conf_ctx *x, cfg_t *sec, const char *module,
                     size_t *count)
{
    unsigned n = cfg_size(sec, "module_args");
    const char **v;
    char **d;

    if (module == NULL)
        return NULL;
    if ((v = calloc(n + 2, sizeof(*v))) == NULL)
        return conf_oom(x);
    v[0] = module;
    for (unsigned i = 0; i < n; i++)
        v[i + 1] = cfg_getnstr(sec, "module_args", i);
    d = conf_strv_dup(x, v, n + 1, count);
    free(v);
    return d;
}

/* rlimit_core as the callback accepted it; -1 when unset. */
static long
conf_get_core_size(cfg_t *sec)
{
    const char *v = cfg_getstr(sec, "rlimit_core");
    unsigned long long bytes = 0;

    if (v == NULL)
        return -1;
    if (strcasecmp(v, CONF_CORE_UNLIMITED) == 0)
        return -2;
    conf_value_parse_size(v, &bytes);
    return (long)bytes;
}

/* Copy the process manager's keys, as written: conf_check_pm() makes
 * them effective. */
static void
conf_copy_pm(cfg_t *sec, struct pool_conf *p)
{
    p->min_workers = (unsigned)cfg_getint(sec, "min_workers");
    p->min_spare = (unsigned)cfg_getint(sec, "min_spare");
    p->max_spare = (unsigned)cfg_getint(sec, "max_spare");
    p->idle_timeout_ms = (unsigned)cfg_getint(sec, "idle_timeout");
    p->max_spawn_rate = (unsigned)cfg_getint(sec, "max_spawn_rate");
}

/* Copy what a worker sets up for itself: root, limits, priority, and the
 * peers it accepts. */
static void
conf_copy_process(struct conf_ctx *x, cfg_t *sec, struct pool_conf *p)
{
    p->chroot = conf_strdup(x, cfg_getstr(sec, "chroot"));
    p->rlimit_files = cfg_getint(sec, "rlimit_files");
    p->rlimit_core = conf_get_core_size(sec);
    p->priority = (int)cfg_getint(sec, "priority");
    p->has_priority = conf_line_of(x, sec, "priority", 0)
                      != CONF_FROM_DEFAULT;
    /* NULL rather than an empty list: any peer. */
    if (cfg_size(sec, "allowed_clients") > 0)
        p->allowed_clients = conf_get_list(x, sec, "allowed_clients",
                                           &p->nallowed_clients, NULL);
}

/* Copy the keys of cgi and module modes. */
static void
conf_copy_served(struct conf_ctx *x, cfg_t *sec, struct pool_conf *p)
{
    p->cgi_root = conf_strdup(x, cfg_getstr(sec, "cgi_root"));
    p->module = conf_strdup(x, cfg_getstr(sec, "module"));
    p->module_args = conf_get_module_args(x, sec, p->module,
                                          &p->nmodule_args);
    p->preload = cfg_getbool(sec, "preload");
    p->max_body = conf_get_size(sec, "max_body");
    p->request_timeout_ms = (unsigned)cfg_getint(sec, "request_timeout");
    p->max_requests = (unsigned)cfg_getint(sec, "max_requests");
    p->max_requests_jitter = (unsigned)cfg_getint(sec, "max_requests_jitter");
    p->max_rss = conf_get_size(sec, "max_rss");
    p->slow_request_time_ms = (unsigned)cfg_getint(sec, "slow_request_time");
    p->slowlog = conf_get_log_path(x, sec, "slowlog");
    p->access_log = conf_get_log_path(x, sec, "access_log");
    p->access_format = conf_strdup(x, cfg_getstr(sec, "access_format"));
}

/* Copy the pool keys of sec into p. 0, or -1 having said why. */
static int
conf_copy_pool(struct conf_ctx *x, cfg_t *sec, struct pool_conf *p,
               struct conf_src *s)
{
    p->listen = conf_get_list(x, sec, "listen", &p->nlisten, &s->listen);
    p->command = conf_get_list(x, sec, "command", &p->ncommand, NULL);
    p->env = conf_get_list(x, sec, "env", &p->nenv, NULL);
    p->socket_user = conf_strdup(x, cfg_getstr(sec, "socket_user"));
    p->socket_group = conf_strdup(x, cfg_getstr(sec, "socket_group"));
    p->user = conf_strdup(x, cfg_getstr(sec, "user"));
    p->group = conf_strdup(x, cfg_getstr(sec, "group"));
    p->chdir = conf_strdup(x, cfg_getstr(sec, "chdir"));
    p->backlog = (int)cfg_getint(sec, "backlog");
    p->socket_mode = (mode_t)cfg_getint(sec, "socket_mode");
    p->mode = (enum pool_mode)cfg_getint(sec, "mode");
    p->pm = (enum pm_kind)cfg_getint(sec, "pm");
    p->clear_env = cfg_getbool(sec, "clear_env");
    p->workers = (unsigned)cfg_getint(sec, "workers");
    p->max_workers = (unsigned)cfg_getint(sec, "max_workers");
    p->stop_signal = (int)cfg_getint(sec, "stop_signal");
    p->graceful_timeout_ms = (unsigned)cfg_getint(sec, "graceful_timeout");
    p->kill_timeout_ms = (unsigned)cfg_getint(sec, "kill_timeout");
    p->backoff_min_ms = (unsigned)cfg_getint(sec, "restart_backoff");
    p->backoff_max_ms = (unsigned)cfg_getint(sec, "restart_backoff_max");
    p->min_uptime_ms = (unsigned)cfg_getint(sec, "min_uptime");
    p->uid = p->socket_uid = (uid_t)-1;
    p->gid = p->socket_gid = (gid_t)-1;
    conf_copy_pm(sec, p);
    conf_copy_process(x, sec, p);
    conf_copy_served(x, sec, p);
    conf_copy_lines(x, sec, s);
    return x->failed ? -1 : 0;
}

/* Add pool name, read from sec, to c. 0, or -1 having said why. */
static int
conf_add_pool(struct conf_ctx *x, struct conf *c, cfg_t *sec,
              const char *name, int section)
{
    struct pool_conf *p = &c->pools[c->npools];
    struct conf_src *s = &x->src[c->npools];

    /* Counted first, so that conf_free() releases a half-built pool. */
    c->npools++;
    s->section = section;
    if (!conf_value_pool_name_is_valid(name)) {
        conf_fail_at(x, NULL, section, "pool", "'%s' is not a valid pool "
                     "name (1 to %d letters, digits, '_', '-', '.')", name,
                     CONF_KEY_MAX);
        return -1;
    }
    if ((p->name = conf_strdup(x, name)) == NULL)
        return -1;
    return conf_copy_pool(x, sec, p, s);
}

static bool
conf_cli_has_pool_opts(const struct conf_cli *cli)
{
    return cli->binds != NULL || cli->workers != -1 || cli->mode != NULL
           || cli->user != NULL || cli->group != NULL
           || cli->socket_mode != NULL || cli->socket_user != NULL
           || cli->socket_group != NULL || cli->command != NULL;
}

/* The first line where the top level sets a pool key, or 0. */
static int
conf_first_top_pool_key(const struct conf_ctx *x, cfg_t *cfg,
                        const char **key)
{
    int first = 0;
    int nopts = cfg_numopts(cfg->opts);

    for (size_t i = 0; i < x->nlines; i++) {
        const cfg_opt_t *o = x->lines[i].opt;
        if (o < cfg->opts || o >= cfg->opts + nopts
            || conf_is_top_key(o->name))
            continue;
        if (first == 0 || x->lines[i].line < first) {
            first = x->lines[i].line;
            *key = o->name;
        }
    }
    return first;
}

/*
 * Whether the top level is a pool, "default": when there are no pool
 * sections, when it sets listen or command, or when the CLI has pool
 * options and no pool "default" section takes them. 1, 0, or -1 having
 * said why.
 */
static int
conf_has_top_pool(struct conf_ctx *x, cfg_t *cfg,
                  const struct conf_cli *cli)
{
    bool sets = cfg_size(cfg, "listen") > 0 || cfg_size(cfg, "command") > 0;
    bool named = cfg_gettsec(cfg, "pool", "default") != NULL;
    const char *key = "listen";
    int line;

    if (sets && named) {
        if ((line = conf_line_of(x, cfg, "listen", 0)) == 0) {
            key = "command";
            line = conf_line_of(x, cfg, "command", 0);
        }
        conf_fail_at(x, "default", line, key, "makes the top level the "
                     "default pool, but there is a pool \"default\" "
                     "section too");
        return -1;
    }
    if (sets || cfg_size(cfg, "pool") == 0
        || (!named && conf_cli_has_pool_opts(cli)))
        return 1;
    if ((line = conf_first_top_pool_key(x, cfg, &key)) > 0) {
        conf_fail_at(x, NULL, line, key, "no default pool to apply it to: "
                     "set listen or command at the top level too, or move "
                     "it into a pool section");
        return -1;
    }
    return 0;
}

static int
conf_build(struct conf_ctx *x, cfg_t *cfg, const struct conf_cli *cli,
           struct conf *c)
{
    unsigned nsec = cfg_size(cfg, "pool");
    int top = conf_has_top_pool(x, cfg, cli);

    if (top == -1)
        return -1;
    c->path = conf_strdup(x, cli->config);
    c->pid_file = conf_strdup(x, cfg_getstr(cfg, "pid_file"));
    c->log = conf_strdup(x, cfg_getstr(cfg, "log"));
    c->log_level = (enum log_level)cfg_getint(cfg, "log_level");
    c->daemon = cfg_getbool(cfg, "daemon");
    c->status_listen = conf_strdup(x, cfg_getstr(cfg, "status_listen"));
    c->status_socket_mode = (mode_t)cfg_getint(cfg, "status_socket_mode");
    c->status_path = conf_strdup(x, cfg_getstr(cfg, "status_path"));
    c->ping_path = conf_strdup(x, cfg_getstr(cfg, "ping_path"));
    x->status_listen = conf_line_of(x, cfg, "status_listen", 0);
    x->status_path = conf_line_of(x, cfg, "status_path", 0);
    x->ping_path = conf_line_of(x, cfg, "ping_path", 0);
    c->pools = calloc(nsec + 1, sizeof(*c->pools));
    x->src = calloc(nsec + 1, sizeof(*x->src));
    if (c->pools == NULL || x->src == NULL) {
        conf_oom(x);
        return -1;
    }
    if (top && conf_add_pool(x, c, cfg, "default", 0) == -1)
        return -1;
    for (unsigned i = 0; i < nsec; i++) {
        cfg_t *sec = cfg_getnsec(cfg, "pool", i);
        const char *title = cfg_title(sec);
        int line = i < x->nsections ? x->sections[i] : 0;
        if (conf_add_pool(x, c, sec, title != NULL ? title : "", line) == -1)
            return -1;
    }
    return x->failed ? -1 : 0;
}

/* Replace *dst with a copy of src. 0, or -1 when out of memory. */
static int
conf_cli_replace_str(struct conf_ctx *x, char **dst, const char *src)
{
    char *d = conf_strdup(x, src);

    if (d == NULL)
        return -1;
    free(*dst);
    *dst = d;
    return 0;
}

static int
conf_cli_top(struct conf_ctx *x, const struct conf_cli *cli, struct conf *c)
{
    char names[CONF_MSG_MAX];

    if (cli->pid_file != NULL && *cli->pid_file == '\0') {
        conf_fail(x, "option -p: empty file name");
        return -1;
    }
    if (cli->log != NULL && *cli->log == '\0') {
        conf_fail(x, "option -l: empty log target");
        return -1;
    }
    if (cli->pid_file != NULL
        && conf_cli_replace_str(x, &c->pid_file, cli->pid_file) == -1)
        return -1;
    if (cli->log != NULL && conf_cli_replace_str(x, &c->log, cli->log) == -1)
        return -1;
    if (cli->log_level != NULL) {
        int v = conf_value_enum_parse("log_level", cli->log_level);
        if (v == -1) {
            conf_fail(x, "option --log-level: '%s' is not one of %s",
                      cli->log_level,
                      conf_value_enum_list("log_level", names,
                                           sizeof(names)));
            return -1;
        }
        c->log_level = (enum log_level)v;
    }
    if (cli->daemon == 1)
        c->daemon = true;
    return 0;
}

static int
conf_cli_binds(struct conf_ctx *x, const char **binds, struct pool_conf *p,
               struct conf_src *s)
{
    char why[CONF_MSG_MAX];
    struct fcgi_addr a;
    size_t n = 0;

    for (; binds[n] != NULL; n++)
        if (fcgi_addr_parse(binds[n], &a, why, sizeof(why)) == -1) {
            conf_fail(x, "option -b: '%s': %s", binds[n], why);
            return -1;
        }
    int *lines = calloc(n + 1, sizeof(*lines));
    char **v = conf_strv_dup(x, binds, n, &n);
    if (lines == NULL || v == NULL) {
        free(lines);
        conf_strv_free(v);
        conf_oom(x);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        lines[i] = CONF_FROM_CLI;
    conf_strv_free(p->listen);
    free(s->listen);
    p->listen = v;
    p->nlisten = n;
    s->listen = lines;
    return 0;
}

static int
conf_cli_ids(struct conf_ctx *x, const struct conf_cli *cli,
             struct pool_conf *p, struct conf_src *s)
{
    uid_t uid;
    gid_t gid;

    if (cli->user != NULL
        && conf_value_user_lookup(cli->user, &uid, &gid) == -1)
        conf_fail(x, "option -u: unknown user '%s'", cli->user);
    else if (cli->group != NULL
             && conf_value_group_lookup(cli->group, &gid) == -1)
        conf_fail(x, "option -g: unknown group '%s'", cli->group);
    else if (cli->socket_user != NULL
             && conf_value_user_lookup(cli->socket_user, &uid, &gid) == -1)
        conf_fail(x, "option -U: unknown user '%s'", cli->socket_user);
    else if (cli->socket_group != NULL
             && conf_value_group_lookup(cli->socket_group, &gid) == -1)
        conf_fail(x, "option -G: unknown group '%s'", cli->socket_group);
    if (x->failed)
        return -1;
    if (cli->user != NULL)
        s->user = CONF_FROM_CLI;
    if ((cli->user != NULL && conf_cli_replace_str(x, &p->user, cli->user))
        || (cli->group != NULL
            && conf_cli_replace_str(x, &p->group, cli->group))
        || (cli->socket_user != NULL
            && conf_cli_replace_str(x, &p->socket_user, cli->socket_user))
        || (cli->socket_group != NULL
            && conf_cli_replace_str(x, &p->socket_group, cli->socket_group)))
        return -1;
    return 0;
}

static int
conf_cli_mode(struct conf_ctx *x, const struct conf_cli *cli,
              struct pool_conf *p, struct conf_src *s)
{
    char names[CONF_MSG_MAX];

    if (cli->socket_mode != NULL
        && conf_value_parse_mode(cli->socket_mode, &p->socket_mode) == -1) {
        conf_fail(x, "option -M: '%s' is not an octal mode in 0000..0777",
                  cli->socket_mode);
        return -1;
    }
    if (cli->mode != NULL) {
        int v = conf_value_enum_parse("mode", cli->mode);
        if (v == -1) {
            conf_fail(x, "option -m: '%s' is not one of %s", cli->mode,
                      conf_value_enum_list("mode", names, sizeof(names)));
            return -1;
        }
        /* With a COMMAND too, conf_check() names the mismatch. */
        p->mode = (enum pool_mode)v;
        s->mode = CONF_FROM_CLI;
    } else if (cli->command != NULL) {
        p->mode = MODE_EXEC;
        s->mode = CONF_FROM_CLI;
    }
    return 0;
}

static int
conf_cli_command(struct conf_ctx *x, char *const *command,
                 struct pool_conf *p, struct conf_src *s)
{
    size_t n = 0;

    while (command[n] != NULL)
        n++;
    char **v = conf_strv_dup(x, (const char *const *)command, n, &n);
    if (v == NULL)
        return -1;
    conf_strv_free(p->command);
    p->command = v;
    p->ncommand = n;
    s->command = CONF_FROM_CLI;
    return 0;
}

/* The pool the CLI's pool options apply to: conf_build() made sure that it
 * exists when there are such options. */
static int
conf_cli_pool(struct conf_ctx *x, const struct conf_cli *cli,
              struct conf *c)
{
    size_t i = 0;

    if (!conf_cli_has_pool_opts(cli))
        return 0;
    while (i < c->npools && strcmp(c->pools[i].name, "default") != 0)
        i++;
    if (i == c->npools) {
        conf_fail(x, "internal error: no default pool for the options");
        return -1;
    }
    struct pool_conf *p = &c->pools[i];
    struct conf_src *s = &x->src[i];
    if ((cli->binds != NULL && conf_cli_binds(x, cli->binds, p, s) == -1)
        || conf_cli_ids(x, cli, p, s) == -1
        || conf_cli_mode(x, cli, p, s) == -1
        || (cli->command != NULL
            && conf_cli_command(x, cli->command, p, s) == -1))
        return -1;
    if (cli->workers != -1) {
        if (cli->workers < 0 || cli->workers > (long)p->max_workers) {
            conf_fail(x, "option -w: %ld is not in 0..%u", cli->workers,
                      p->max_workers);
            return -1;
        }
        p->workers = (unsigned)cli->workers;
        s->workers = CONF_FROM_CLI;
    }
    return 0;
}

/* Whether line a, where a value came from, is later than line b: the CLI
 * comes after the whole file, the defaults before it. */
static bool
conf_line_is_later(int a, int b)
{
    if (a == CONF_FROM_CLI || b == CONF_FROM_CLI)
        return a == CONF_FROM_CLI && b != CONF_FROM_CLI;
    return a > b;
}

/* lo (the value of lo_key, written as lo_s) is more than hi: the error is
 * the one of the two set later, and names the other. */
static void
conf_fail_order(struct conf_ctx *x, const char *pool, const char *lo_key,
                int lo_line, const char *lo_s, const char *hi_key,
                int hi_line, const char *hi_s)
{
    if (!conf_line_is_later(hi_line, lo_line))
        conf_fail_at(x, pool, lo_line, lo_key, "%s is more than %s (%s)",
                     lo_s, hi_key, hi_s);
    else
        conf_fail_at(x, pool, hi_line, hi_key, "%s is less than %s (%s)",
                     hi_s, lo_key, lo_s);
}

/* The same for counts: 0 if lo <= hi, else -1 having said why. */
static int
conf_check_le(struct conf_ctx *x, const char *pool, const char *lo_key,
              int lo_line, unsigned lo, const char *hi_key, int hi_line,
              unsigned hi)
{
    char lo_s[16], hi_s[16];

    if (lo <= hi)
        return 0;
    snprintf(lo_s, sizeof(lo_s), "%u", lo);
    snprintf(hi_s, sizeof(hi_s), "%u", hi);
    conf_fail_order(x, pool, lo_key, lo_line, lo_s, hi_key, hi_line, hi_s);
    return -1;
}

static int
conf_check_backoff(struct conf_ctx *x, const struct pool_conf *p,
                   const struct conf_src *s)
{
    char lo[32], hi[32];

    if (p->backoff_min_ms <= p->backoff_max_ms)
        return 0;
    conf_value_format_duration(p->backoff_min_ms, lo, sizeof(lo));
    conf_value_format_duration(p->backoff_max_ms, hi, sizeof(hi));
    conf_fail_order(x, p->name, "restart_backoff", s->backoff_min, lo,
                    "restart_backoff_max", s->backoff_max, hi);
    return -1;
}

/* "ondemand, adaptive": the pms of a pm-only key. */
static const char *
conf_pm_list(unsigned pms, char *buf, size_t len)
{
    size_t used = 0;

    buf[0] = '\0';
    for (int k = PM_STATIC; k <= PM_ADAPTIVE && used < len; k++)
        if (pms & CONF_PM(k))
            used += (size_t)snprintf(buf + used, len - used, "%s%s",
                                     used > 0 ? ", " : "",
                                     conf_value_enum_name("pm", k));
    return buf;
}

/* A key of other process managers, set to other than its default, is an
 * error: of those, the one set first in the file. */
static int
conf_check_pm_keys(struct conf_ctx *x, const struct pool_conf *p,
                   const struct conf_src *s)
{
    const struct conf_pm_key *first = NULL;
    char pms[CONF_MSG_MAX];
    int first_line = 0;

    for (size_t i = 0; i < CONF_NELEM(conf_pm_keys); i++) {
        const struct conf_pm_key *k = &conf_pm_keys[i];
        const cfg_opt_t *opt = cfg_getopt(s->sec, k->key);
        int line = conf_line_of(x, s->sec, k->key, 0);
        if ((k->pms & CONF_PM(p->pm)) != 0
            || cfg_getint(s->sec, k->key) == opt->def.number)
            continue;
        if (first == NULL || line < first_line) {
            first = k;
            first_line = line;
        }
    }
    if (first == NULL)
        return 0;
    conf_fail_at(x, p->name, first_line, first->key, "only used with pm = "
                 "%s (this pool is pm = %s)",
                 conf_pm_list(first->pms, pms, sizeof(pms)),
                 conf_value_enum_name("pm", (int)p->pm));
    return -1;
}

/* The bounds of dynamic and adaptive pools, and the start size between
 * them: workers when set, else at least min_workers. */
static int
conf_check_min_workers(struct conf_ctx *x, struct pool_conf *p,
                       const struct conf_src *s)
{
    if (conf_check_le(x, p->name, "min_workers", s->min_workers,
                      p->min_workers, "max_workers", s->max_workers,
                      p->max_workers) == -1)
        return -1;
    if (s->workers != CONF_FROM_DEFAULT)
        return conf_check_le(x, p->name, "min_workers", s->min_workers,
                             p->min_workers, "workers", s->workers,
                             p->workers);
    if (p->workers < p->min_workers)
        p->workers = p->min_workers;
    return 0;
}

/* dynamic: idle workers are counted from the scoreboard, which exec
 * workers do not write. */
static int
conf_check_dynamic(struct conf_ctx *x, const struct pool_conf *p,
                   const struct conf_src *s)
{
    int min_spare = conf_line_of(x, s->sec, "min_spare", 0);

    if (p->mode == MODE_EXEC) {
        conf_fail_at(x, p->name, s->pm, "pm", "dynamic needs mode cgi or "
                     "module (fcgipm cannot see whether exec workers are "
                     "busy; use adaptive)");
        return -1;
    }
    if (conf_check_le(x, p->name, "min_spare", min_spare, p->min_spare,
                      "max_spare", conf_line_of(x, s->sec, "max_spare", 0),
                      p->max_spare) == -1
        || conf_check_le(x, p->name, "min_spare", min_spare, p->min_spare,
                         "max_workers", s->max_workers,
                         p->max_workers) == -1)
        return -1;
    return 0;
}

/*
 * The process manager's keys, made effective: min_workers is 0 where it
 * is no key (static pools shrink to 0 with TTOU, ondemand ones when idle),
 * and an ondemand pool starts empty unless workers is set.
 */
static int
conf_check_pm(struct conf_ctx *x, struct pool_conf *p,
              const struct conf_src *s)
{
    if (conf_check_pm_keys(x, p, s) == -1)
        return -1;
    if (p->workers > p->max_workers) {
        conf_fail_at(x, p->name, s->workers, "workers", "%u is not in 0..%u",
                     p->workers, p->max_workers);
        return -1;
    }
    switch (p->pm) {
    case PM_DYNAMIC:
        if (conf_check_dynamic(x, p, s) == -1)
            return -1;
        /* FALLTHROUGH */
    case PM_ADAPTIVE:
        return conf_check_min_workers(x, p, s);
    case PM_ONDEMAND:
        if (s->workers == CONF_FROM_DEFAULT)
            p->workers = 0;
        /* FALLTHROUGH */
    case PM_STATIC:
        p->min_workers = 0;
        break;
    }
    return 0;
}

/* The line where pool s sets key, CONF_FROM_CLI, or CONF_FROM_DEFAULT
 * when it does not (a list emptied with `key = {}` included). */
static int
conf_key_line(const struct conf_ctx *x, const struct conf_src *s,
              const char *key)
{
    if (strcmp(key, "command") == 0)
        return (cfg_size(s->sec, key) > 0 || s->command == CONF_FROM_CLI)
               ? s->command : CONF_FROM_DEFAULT;
    if (cfg_size(s->sec, key) == 0)
        return CONF_FROM_DEFAULT;
    return conf_line_of(x, s->sec, key, 0);
}

/* A key of another mode is an error, and each mode has its own required
 * key. */
static int
conf_check_mode_keys(struct conf_ctx *x, const struct pool_conf *p,
                     const struct conf_src *s)
{
    const char *mode = conf_value_enum_name("mode", (int)p->mode);

    for (size_t i = 0; i < CONF_NELEM(conf_mode_keys); i++) {
        const struct conf_mode_key *k = &conf_mode_keys[i];
        int line = conf_key_line(x, s, k->key);
        if (k->mode != p->mode && line != CONF_FROM_DEFAULT) {
            conf_fail_at(x, p->name, line, k->key, "only used in mode %s "
                         "(this pool is %s)",
                         conf_value_enum_name("mode", (int)k->mode), mode);
            return -1;
        }
    }
    if (p->mode == MODE_EXEC && p->ncommand == 0)
        conf_fail_missing(x, p->name, s, "command", "required in exec mode");
    else if (p->mode == MODE_CGI && p->cgi_root == NULL)
        conf_fail_missing(x, p->name, s, "cgi_root", "required in cgi mode");
    else if (p->mode == MODE_MODULE && p->module == NULL)
        conf_fail_missing(x, p->name, s, "module", "required in module mode");
    return x->failed ? -1 : 0;
}

/* Of the keys about requests that p sets to other than their default, the
 * one set first in the file, with its line; NULL if there is none. */
static const char *
conf_first_request_key(const struct conf_ctx *x, const struct pool_conf *p,
                       const struct conf_src *s, int *line)
{
    const struct {
        const char *key;
        bool set;
    } keys[] = {
        { "max_body", p->max_body != 0 },
        { "request_timeout", p->request_timeout_ms != 0 },
        { "max_requests", p->max_requests != 0 },
        { "max_requests_jitter", p->max_requests_jitter != 0 },
        { "max_rss", p->max_rss != 0 },
        { "slow_request_time", p->slow_request_time_ms != 0 },
        { "slowlog", p->slowlog != NULL },
        { "access_log", p->access_log != NULL },
        { "access_format", strcmp(p->access_format, CONF_ACCESS_FORMAT) != 0 },
    };
    const char *first = NULL;

    for (size_t i = 0; i < CONF_NELEM(keys); i++) {
        if (!keys[i].set)
            continue;
        int l = conf_key_line(x, s, keys[i].key);
        if (first == NULL || l < *line) {
            first = keys[i].key;
            *line = l;
        }
    }
    return first;
}

/* Only workers that fcgipm runs itself see requests; and a key that
 * refines another is an error while that other is off. */
static int
conf_check_request_keys(struct conf_ctx *x, const struct pool_conf *p,
                        const struct conf_src *s)
{
    const char *key;
    int line = 0;

    if (p->mode == MODE_EXEC
        && (key = conf_first_request_key(x, p, s, &line)) != NULL)
        conf_fail_at(x, p->name, line, key, "has no effect in mode exec "
                     "(fcgipm does not see exec workers' requests)");
    else if (p->max_requests_jitter != 0 && p->max_requests == 0)
        conf_fail_at(x, p->name, conf_key_line(x, s, "max_requests_jitter"),
                     "max_requests_jitter", "has no effect while "
                     "max_requests is 0 (never recycle)");
    else if (p->slowlog != NULL && p->slow_request_time_ms == 0)
        conf_fail_at(x, p->name, conf_key_line(x, s, "slowlog"), "slowlog",
                     "has no effect while slow_request_time is 0 (off)");
    else if (p->access_log == NULL
             && strcmp(p->access_format, CONF_ACCESS_FORMAT) != 0)
        conf_fail_at(x, p->name, conf_key_line(x, s, "access_format"),
                     "access_format", "has no effect without access_log");
    return x->failed ? -1 : 0;
}

/* chroot becomes its realpath: what workers change root to. */
static int
conf_check_chroot(struct conf_ctx *x, struct pool_conf *p,
                  const struct conf_src *s)
{
    char *real;

    if (p->chroot == NULL)
        return 0;
    if ((real = realpath(p->chroot, NULL)) == NULL) {
        conf_fail_at(x, p->name, conf_key_line(x, s, "chroot"), "chroot",
                     "'%s': %s", p->chroot, strerror(errno));
        return -1;
    }
    free(p->chroot);
    p->chroot = real;
    return 0;
}

/* With chroot, a worker looks command, chdir, cgi_root and a module it
 * loads itself up inside the new root: they must be absolute, and only
 * the worker can tell whether they are there. 0, or -1 having said why. */
static int
conf_check_in_chroot(struct conf_ctx *x, const struct pool_conf *p,
                     int line, const char *key, const char *path)
{
    if (path[0] == '/')
        return 0;
    conf_fail_at(x, p->name, line, key, "'%s' is not an absolute path "
                 "(with chroot, workers look it up inside %s)", path,
                 p->chroot);
    return -1;
}

/* chdir must be a directory, relative to the directory fcgipm runs in;
 * with chroot, an absolute path inside it. */
static int
conf_check_chdir(struct conf_ctx *x, const struct pool_conf *p,
                 const struct conf_src *s)
{
    int line = conf_key_line(x, s, "chdir");
    struct stat st;

    if (p->chdir == NULL)
        return 0;
    if (p->chroot != NULL)
        return conf_check_in_chroot(x, p, line, "chdir", p->chdir);
    if (stat(p->chdir, &st) == -1)
        conf_fail_at(x, p->name, line, "chdir", "'%s': %s", p->chdir,
                     strerror(errno));
    else if (!S_ISDIR(st.st_mode))
        conf_fail_at(x, p->name, line, "chdir", "'%s' is not a directory",
                     p->chdir);
    return x->failed ? -1 : 0;
}

/* cgi_root, relative to chdir like command, becomes its realpath: the
 * root that scripts' realpaths are compared with. With chroot it stays
 * as written. */
static int
conf_check_cgi_root(struct conf_ctx *x, struct pool_conf *p,
                    const struct conf_src *s)
{
    int line = conf_key_line(x, s, "cgi_root"), saved;
    char *abs, *real = NULL;
    struct stat st;

    if (p->mode != MODE_CGI)
        return 0;
    if (p->chroot != NULL)
        return conf_check_in_chroot(x, p, line, "cgi_root", p->cgi_root);
    if ((abs = conf_path_abs(p->cgi_root, p->chdir)) != NULL)
        real = realpath(abs, NULL);
    saved = errno;
    free(abs);
    if (real == NULL)
        conf_fail_at(x, p->name, line, "cgi_root", "'%s': %s", p->cgi_root,
                     strerror(saved));
    else if (stat(real, &st) == -1 || !S_ISDIR(st.st_mode))
        conf_fail_at(x, p->name, line, "cgi_root", "'%s' is not a "
                     "directory", p->cgi_root);
    if (x->failed) {
        free(real);
        return -1;
    }
    free(p->cgi_root);
    p->cgi_root = real;
    return 0;
}

/* A module file must be there to load: from chdir, as the worker loads it
 * after changing directory, or with preload, from the master's own (which
 * no chroot changes). The path itself is kept as written. */
static int
conf_check_module(struct conf_ctx *x, const struct pool_conf *p,
                  const struct conf_src *s)
{
    char why[CONF_MSG_MAX];
    struct stat st;
    char *abs;

    if (p->mode != MODE_MODULE || conf_value_is_builtin(p->module))
        return 0;
    if (p->chroot != NULL && !p->preload)
        return conf_check_in_chroot(x, p, conf_key_line(x, s, "module"),
                                    "module", p->module);
    abs = conf_path_abs(p->module, p->preload ? NULL : p->chdir);
    if (abs == NULL || stat(abs, &st) == -1)
        snprintf(why, sizeof(why), "'%s': %s", p->module, strerror(errno));
    else if (!S_ISREG(st.st_mode))
        snprintf(why, sizeof(why), "'%s' is not a regular file", p->module);
    else if (access(abs, R_OK) == -1)
        snprintf(why, sizeof(why), "'%s' is not readable", p->module);
    else
        why[0] = '\0';
    free(abs);
    if (why[0] != '\0')
        conf_fail_at(x, p->name, conf_key_line(x, s, "module"), "module",
                     "%s", why);
    return x->failed ? -1 : 0;
}

static int
conf_check_command(struct conf_ctx *x, struct pool_conf *p,
                   const struct conf_src *s)
{
    char why[CONF_MSG_MAX];

    if (p->mode != MODE_EXEC)
        return 0;
    if (p->chroot != NULL) {
        if (conf_check_in_chroot(x, p, s->command, "command",
                                 p->command[0]) == -1)
            return -1;
        p->command_path = conf_strdup(x, p->command[0]);
        return p->command_path != NULL ? 0 : -1;
    }
    p->command_path = conf_path_command(p->command[0], p->chdir, why,
                                        sizeof(why));
    if (p->command_path == NULL) {
        conf_fail_at(x, p->name, s->command, "command", "%s", why);
        return -1;
    }
    return 0;
}

/* uid/gid from user/group: user alone means its primary group. The names
 * were checked as they were read; looking them up again here takes the
 * CLI's into account. */
static int
conf_check_ids(struct conf_ctx *x, struct pool_conf *p,
               const struct conf_src *s)
{
    gid_t primary = (gid_t)-1, unused;

    if (p->user != NULL
        && conf_value_user_lookup(p->user, &p->uid, &primary) == -1)
        conf_fail_at(x, p->name, s->user, "user", "unknown user '%s'",
                     p->user);
    else if (p->group != NULL
             && conf_value_group_lookup(p->group, &p->gid) == -1)
        conf_fail_at(x, p->name, 0, "group", "unknown group '%s'", p->group);
    else if (p->user != NULL && p->group == NULL) {
        if (primary == (gid_t)-1)
            conf_fail_at(x, p->name, s->user, "user", "%s has no passwd "
                         "entry: set group too", p->user);
        p->gid = primary;
    }
    if (x->failed)
        return -1;
    if (p->socket_user != NULL
        && conf_value_user_lookup(p->socket_user, &p->socket_uid,
                                  &unused) == -1)
        conf_fail_at(x, p->name, 0, "socket_user", "unknown user '%s'",
                     p->socket_user);
    else if (p->socket_group != NULL
             && conf_value_group_lookup(p->socket_group, &p->socket_gid) == -1)
        conf_fail_at(x, p->name, 0, "socket_group", "unknown group '%s'",
                     p->socket_group);
    return x->failed ? -1 : 0;
}

/* allowed_clients filters IPv4 peers (libfcgi's FCGI_WEB_SERVER_ADDRS),
 * so the pool must listen on IPv4 TCP; an inherited socket, with no
 * listen, is not known until it is adopted. */
static int
conf_check_allowed_clients(struct conf_ctx *x, const struct pool_conf *p,
                           const struct conf_src *s)
{
    int line = conf_key_line(x, s, "allowed_clients");
    char why[CONF_MSG_MAX];
    struct fcgi_addr a;

    for (size_t i = 0; p->nallowed_clients > 0 && i < p->nlisten; i++) {
        if (fcgi_addr_parse(p->listen[i], &a, why, sizeof(why)) == -1)
            continue;           /* said when it was read */
        if (a.family == AF_UNIX)
            conf_fail_at(x, p->name, line, "allowed_clients", "only for "
                         "TCP listen addresses");
        else if (a.family != AF_INET)
            conf_fail_at(x, p->name, line, "allowed_clients", "only for "
                         "IPv4 listen addresses ('%s' is not; libfcgi "
                         "checks IPv4 peers only)", p->listen[i]);
        if (x->failed)
            return -1;
    }
    return 0;
}

/* addr as fcgi_addr_format() writes it, so that "/a" and "unix:/a" or
 * "*:9000" and "0.0.0.0:9000" compare equal; as written if it does not
 * parse (the CLI and the file checked that it does). */
static void
conf_listen_key(const char *addr, char *buf, size_t len)
{
    struct fcgi_addr a;
    char why[CONF_MSG_MAX];

    if (fcgi_addr_parse(addr, &a, why, sizeof(why)) == 0)
        fcgi_addr_format(&a, buf, len);
    else
        snprintf(buf, len, "%s", addr);
}

/* Whether address j of pool i is already used, and by which pool. */
static const struct pool_conf *
conf_listen_taken(const struct conf *c, size_t i, size_t j)
{
    char key[CONF_ADDR_MAX], other[CONF_ADDR_MAX];

    conf_listen_key(c->pools[i].listen[j], key, sizeof(key));
    for (size_t pi = 0; pi <= i; pi++) {
        const struct pool_conf *p = &c->pools[pi];
        for (size_t pj = 0; pj < (pi == i ? j : p->nlisten); pj++) {
            conf_listen_key(p->listen[pj], other, sizeof(other));
            if (strcmp(key, other) == 0)
                return p;
        }
    }
    return NULL;
}

/* A pool without an address cannot serve, unless it adopts an inherited
 * socket: the default pool, or the only one. */
static int
conf_check_has_listen(struct conf_ctx *x, const struct conf_cli *cli,
                      const struct conf *c, size_t i)
{
    const struct pool_conf *p = &c->pools[i];
    bool may_inherit = cli->listen_optional
        && (strcmp(p->name, "default") == 0 || c->npools == 1);

    if (p->nlisten == 0 && !may_inherit) {
        conf_fail_missing(x, p->name, &x->src[i], "listen",
                          "no address (set listen, or -b/-s)");
        return -1;
    }
    return 0;
}

/* Each address belongs to one pool: a second bind would fail, or worse,
 * replace a unix socket in use. */
static int
conf_check_listen_unique(struct conf_ctx *x, const struct conf *c)
{
    for (size_t i = 0; i < c->npools; i++) {
        const struct pool_conf *p = &c->pools[i];
        const struct conf_src *s = &x->src[i];
        for (size_t j = 0; j < p->nlisten; j++) {
            const struct pool_conf *o = conf_listen_taken(c, i, j);
            if (o == p)
                conf_fail_at(x, p->name, s->listen[j], "listen",
                             "'%s' is listed twice", p->listen[j]);
            else if (o != NULL)
                conf_fail_at(x, p->name, s->listen[j], "listen",
                             "'%s' is also used by pool %s", p->listen[j],
                             o->name);
            if (o != NULL)
                return -1;
        }
    }
    return 0;
}

/* The status socket is the master's own: no pool listens there. And a
 * request's path picks one of the two answers. */
static int
conf_check_status(struct conf_ctx *x, const struct conf *c)
{
    char key[CONF_ADDR_MAX], other[CONF_ADDR_MAX];

    if (c->status_listen != NULL)
        conf_listen_key(c->status_listen, key, sizeof(key));
    for (size_t i = 0; c->status_listen != NULL && i < c->npools; i++)
        for (size_t j = 0; j < c->pools[i].nlisten; j++) {
            conf_listen_key(c->pools[i].listen[j], other, sizeof(other));
            if (strcmp(key, other) == 0) {
                conf_fail_at(x, NULL, x->status_listen, "status_listen",
                             "'%s' is also used by pool %s",
                             c->status_listen, c->pools[i].name);
                return -1;
            }
        }
    if (strcmp(c->status_path, c->ping_path) != 0)
        return 0;
    if (conf_line_is_later(x->status_path, x->ping_path))
        conf_fail_at(x, NULL, x->status_path, "status_path", "'%s' is also "
                     "ping_path", c->status_path);
    else
        conf_fail_at(x, NULL, x->ping_path, "ping_path", "'%s' is also "
                     "status_path", c->ping_path);
    return -1;
}

static int
conf_check(struct conf_ctx *x, const struct conf_cli *cli, struct conf *c)
{
    for (size_t i = 0; i < c->npools; i++) {
        struct pool_conf *p = &c->pools[i];
        const struct conf_src *s = &x->src[i];
        if (conf_check_has_listen(x, cli, c, i) == -1
            || conf_check_pm(x, p, s) == -1
            || conf_check_backoff(x, p, s) == -1
            || conf_check_mode_keys(x, p, s) == -1
            || conf_check_request_keys(x, p, s) == -1
            || conf_check_chroot(x, p, s) == -1
            || conf_check_chdir(x, p, s) == -1
            || conf_check_command(x, p, s) == -1
            || conf_check_cgi_root(x, p, s) == -1
            || conf_check_module(x, p, s) == -1
            || conf_check_ids(x, p, s) == -1
            || conf_check_allowed_clients(x, p, s) == -1)
            return -1;
    }
    if (conf_check_listen_unique(x, c) == -1
        || conf_check_status(x, c) == -1)
        return -1;
    for (size_t i = 0; i < c->npools; i++)
        if (c->pools[i].nlisten > 1) {
            conf_fail_at(x, c->pools[i].name, x->src[i].listen[1], "listen",
                         "a pool serves one listen address (workers accept "
                         "on fd 0 only)");
            return -1;
        }
    return 0;
}

/* Printing.
 * In the file's syntax, so that conf_load() reads back what it printed. */

static void
conf_print_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        /* '$' too: "${NAME}" in a double-quoted string is the
         * environment's NAME. */
        if (*p == '"' || *p == '\\' || *p == '$')
            fprintf(f, "\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", f);
        else if (*p == '\t')
            fputs("\\t", f);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(f, "\\x%02x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

static void
conf_print_key_str(FILE *f, const char *in, const char *key, const char *v)
{
    if (v == NULL)
        return;
    fprintf(f, "%s%s = ", in, key);
    conf_print_str(f, v);
    fputc('\n', f);
}

static void
conf_print_list(FILE *f, const char *in, const char *key, char *const *v,
                size_t n)
{
    fprintf(f, "%s%s = {", in, key);
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            fputs(", ", f);
        conf_print_str(f, v[i]);
    }
    fputs("}\n", f);
}

static void
conf_print_duration(FILE *f, const char *in, const char *key, unsigned ms)
{
    char buf[32];

    fprintf(f, "%s%s = %s\n", in, key,
            conf_value_format_duration(ms, buf, sizeof(buf)));
}

static void
conf_print_size(FILE *f, const char *in, const char *key,
                unsigned long long bytes)
{
    char buf[32];

    fprintf(f, "%s%s = %s\n", in, key,
            conf_value_format_size(bytes, buf, sizeof(buf)));
}

/* The keys of cgi and module modes: in exec mode they have no effect, and
 * conf_check() made sure they are unset. */
static void
conf_print_served(FILE *f, const struct pool_conf *p, const char *in)
{
    if (p->mode == MODE_EXEC)
        return;
    conf_print_key_str(f, in, "cgi_root", p->cgi_root);
    conf_print_key_str(f, in, "module", p->module);
    if (p->nmodule_args > 1)
        conf_print_list(f, in, "module_args", p->module_args + 1,
                        p->nmodule_args - 1);
    if (p->mode == MODE_MODULE)
        fprintf(f, "%spreload = %s\n", in, p->preload ? "true" : "false");
    conf_print_size(f, in, "max_body", p->max_body);
    conf_print_duration(f, in, "request_timeout", p->request_timeout_ms);
    fprintf(f, "%smax_requests = %u\n", in, p->max_requests);
    fprintf(f, "%smax_requests_jitter = %u\n", in, p->max_requests_jitter);
    conf_print_size(f, in, "max_rss", p->max_rss);
    conf_print_duration(f, in, "slow_request_time", p->slow_request_time_ms);
    conf_print_key_str(f, in, "slowlog", p->slowlog);
    conf_print_key_str(f, in, "access_log", p->access_log);
    conf_print_key_str(f, in, "access_format", p->access_format);
}

/* The sizing keys of the pool's process manager (conf_check_pm_keys()
 * made sure the others keep their defaults). */
static void
conf_print_pm(FILE *f, const struct pool_conf *p, const char *in)
{
    if (p->pm == PM_DYNAMIC || p->pm == PM_ADAPTIVE)
        fprintf(f, "%smin_workers = %u\n", in, p->min_workers);
    fprintf(f, "%sworkers = %u\n", in, p->workers);
    fprintf(f, "%smax_workers = %u\n", in, p->max_workers);
    if (p->pm == PM_DYNAMIC) {
        fprintf(f, "%smin_spare = %u\n", in, p->min_spare);
        fprintf(f, "%smax_spare = %u\n", in, p->max_spare);
    }
    if (p->pm == PM_ONDEMAND || p->pm == PM_ADAPTIVE)
        conf_print_duration(f, in, "idle_timeout", p->idle_timeout_ms);
    fprintf(f, "%smax_spawn_rate = %u\n", in, p->max_spawn_rate);
}

/* Root, limits and priority of the workers, when set. */
static void
conf_print_process(FILE *f, const struct pool_conf *p, const char *in)
{
    char buf[32];

    conf_print_key_str(f, in, "chroot", p->chroot);
    conf_print_key_str(f, in, "chdir", p->chdir);
    if (p->rlimit_files != -1)
        fprintf(f, "%srlimit_files = %ld\n", in, p->rlimit_files);
    if (p->rlimit_core == -2)
        fprintf(f, "%srlimit_core = %s\n", in, CONF_CORE_UNLIMITED);
    else if (p->rlimit_core != -1)
        fprintf(f, "%srlimit_core = %s\n", in,
                conf_value_format_size((unsigned long long)p->rlimit_core,
                                       buf, sizeof(buf)));
    if (p->has_priority)
        fprintf(f, "%spriority = %d\n", in, p->priority);
}

static void
conf_print_pool(FILE *f, const struct pool_conf *p, const char *in)
{
    conf_print_list(f, in, "listen", p->listen, p->nlisten);
    fprintf(f, "%sbacklog = %d\n", in, p->backlog);
    fprintf(f, "%ssocket_mode = %04o\n", in, (unsigned)p->socket_mode);
    conf_print_key_str(f, in, "socket_user", p->socket_user);
    conf_print_key_str(f, in, "socket_group", p->socket_group);
    if (p->nallowed_clients > 0)
        conf_print_list(f, in, "allowed_clients", p->allowed_clients,
                        p->nallowed_clients);
    fprintf(f, "%smode = %s\n", in,
            conf_value_enum_name("mode", (int)p->mode));
    fprintf(f, "%spm = %s\n", in, conf_value_enum_name("pm", (int)p->pm));
    if (p->ncommand > 0)
        conf_print_list(f, in, "command", p->command, p->ncommand);
    conf_print_key_str(f, in, "user", p->user);
    conf_print_key_str(f, in, "group", p->group);
    conf_print_process(f, p, in);
    fprintf(f, "%sclear_env = %s\n", in, p->clear_env ? "true" : "false");
    if (p->nenv > 0)
        conf_print_list(f, in, "env", p->env, p->nenv);
    conf_print_pm(f, p, in);
    fprintf(f, "%sstop_signal = %s\n", in, conf_signal_name(p->stop_signal));
    conf_print_duration(f, in, "graceful_timeout", p->graceful_timeout_ms);
    conf_print_duration(f, in, "kill_timeout", p->kill_timeout_ms);
    conf_print_duration(f, in, "restart_backoff", p->backoff_min_ms);
    conf_print_duration(f, in, "restart_backoff_max", p->backoff_max_ms);
    conf_print_duration(f, in, "min_uptime", p->min_uptime_ms);
    conf_print_served(f, p, in);
}

void
conf_print(const struct conf *c, FILE *f)
{
    /* A lone default pool reads best at the top level; with others, every
     * pool gets a section, "default" included, which means the same. */
    bool top = c->npools == 1 && strcmp(c->pools[0].name, "default") == 0;

    fputs("# fcgipm: the effective configuration\n", f);
    conf_print_key_str(f, "", "pid_file", c->pid_file);
    conf_print_key_str(f, "", "log", c->log);
    fprintf(f, "log_level = %s\n",
            conf_value_enum_name("log_level", (int)c->log_level));
    fprintf(f, "daemon = %s\n", c->daemon ? "true" : "false");
    conf_print_key_str(f, "", "status_listen", c->status_listen);
    fprintf(f, "status_socket_mode = %04o\n",
            (unsigned)c->status_socket_mode);
    conf_print_key_str(f, "", "status_path", c->status_path);
    conf_print_key_str(f, "", "ping_path", c->ping_path);
    for (size_t i = 0; i < c->npools; i++) {
        fputc('\n', f);
        if (top) {
            conf_print_pool(f, &c->pools[i], "");
            continue;
        }
        fputs("pool ", f);
        conf_print_str(f, c->pools[i].name);
        fputs(" {\n", f);
        conf_print_pool(f, &c->pools[i], "    ");
        fputs("}\n", f);
    }
}

static void
conf_pool_free(struct pool_conf *p)
{
    free(p->name);
    conf_strv_free(p->listen);
    free(p->socket_user);
    free(p->socket_group);
    conf_strv_free(p->command);
    free(p->command_path);
    free(p->user);
    free(p->group);
    free(p->chdir);
    free(p->chroot);
    conf_strv_free(p->allowed_clients);
    conf_strv_free(p->env);
    free(p->cgi_root);
    free(p->module);
    conf_strv_free(p->module_args);
    free(p->slowlog);
    free(p->access_log);
    free(p->access_format);
}

void
conf_free(struct conf *c)
{
    for (size_t i = 0; i < c->npools; i++)
        conf_pool_free(&c->pools[i]);
    free(c->pools);
    free(c->path);
    free(c->status_listen);
    free(c->status_path);
    free(c->ping_path);
    free(c->pid_file);
    free(c->log);
    memset(c, 0, sizeof(*c));
}

void
conf_cli_init(struct conf_cli *cli)
{
    memset(cli, 0, sizeof(*cli));
    cli->workers = -1;
    cli->daemon = -1;
}

static void
conf_ctx_free(struct conf_ctx *x, size_t npools)
{
    for (size_t i = 0; x->src != NULL && i < npools; i++)
        free(x->src[i].listen);
    free(x->src);
    free(x->lines);
    free(x->sections);
}

int
conf_load(const struct conf_cli *cli, struct conf *out, char *err,
          size_t errlen)
{
    struct conf_ctx x = { .file = cli->config, .err = err,
                          .errlen = errlen };
    int rc = -1;

    memset(out, 0, sizeof(*out));
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    conf_cur = &x;
    cfg_t *cfg = cfg_init(conf_top_opts, CFGF_NONE);
    if (cfg == NULL) {
        conf_oom(&x);
    } else {
        cfg_set_error_function(cfg, conf_on_confuse_error);
        if ((cli->config == NULL || conf_parse_file(&x, cfg, cli->config) == 0)
            && conf_build(&x, cfg, cli, out) == 0
            && conf_cli_top(&x, cli, out) == 0
            && conf_cli_pool(&x, cli, out) == 0
            && conf_check(&x, cli, out) == 0)
            rc = 0;
        cfg_free(cfg);
    }
    if (rc == -1)
        conf_fail(&x, "invalid configuration");   /* if nothing said why */
    conf_ctx_free(&x, out->npools);
    conf_cur = NULL;
    if (rc == -1)
        conf_free(out);
    return rc;
}
