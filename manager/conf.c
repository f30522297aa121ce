/* conf_load(): the libconfuse option tables and their callbacks, the parse,
 * the copy into plain struct conf, and conf_free(). The only file that
 * includes confuse.h; errors of the load in progress are reported here. */
#include <confuse.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "conf.h"
#include "conf_int.h"
#include "access.h"
#include "fcgi_addr.h"

#define CONF_MAX_NOFILE 1048576        /* the kernel's default nr_open */

/* The line of one value, noted while libconfuse parses: cfg_opt_t has no
 * line of its own in libconfuse 3.3. opt is per section, since libconfuse
 * gives each section its own copy of the table. */
struct conf_line {
    const cfg_opt_t *opt;
    unsigned idx;
    int line;
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
    { "keepalive_max", 0, 1024 },
};

/* Durations where 0 is an error: a zero backoff would respawn a crashing
 * worker at once, forever; a zero idle_timeout would stop a worker the
 * moment it goes idle. */
static const char *const conf_nonzero_durations[] = {
    "restart_backoff", "restart_backoff_max", "idle_timeout",
    "upgrade_timeout", "read_timeout", "keepalive_timeout",
};

/* Keys valid at the top level only. */
static const char *const conf_top_keys[] = {
    "pid_file", "log", "log_level", "daemon", "upgrade_timeout",
    "status_listen",
    "status_socket_mode", "status_socket_user", "status_socket_group",
    "status_path", "ping_path", "pool",
};

void CONF_PRINTF(2, 3)
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

void CONF_PRINTF(5, 6)
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

void
conf_fail_missing(struct conf_ctx *x, const char *pool,
                  const struct conf_src *s, const char *key, const char *why)
{
    if (s->section > 0)
        conf_fail(x, "%s:%d: pool %s: %s: %s", x->file, s->section, pool,
                  key, why);
    else
        conf_fail(x, "pool %s: %s: %s", pool, key, why);
}

void *
conf_oom(struct conf_ctx *x)
{
    conf_fail(x, "out of memory");
    return NULL;
}

char *
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

int
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

int
conf_line_in(const struct conf_ctx *x, const struct conf_src *s,
             const char *key)
{
    return conf_line_of(x, s->sec, key, 0);
}

bool
conf_has_default(const struct conf_src *s, const char *key)
{
    return cfg_getint(s->sec, key) == cfg_getopt(s->sec, key)->def.number;
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
    CONF_SIZE("output_rate_limit", "1m"),                                   \
    CONF_STR("cgi_root", NULL, conf_valid_nonempty),                        \
    CONF_BOOL("cgi_no_new_privs", cfg_true),                                \
    CONF_STR("module", NULL, conf_valid_module),                            \
    CONF_LIST("module_args", NULL),                                         \
    CONF_BOOL("preload", cfg_false),                                        \
    CONF_SIZE("max_body", "0"),                                             \
    CONF_INT("request_timeout", 0, conf_on_duration),                       \
    CONF_INT("read_timeout", CONF_READ_TIMEOUT_MS, conf_on_duration),       \
    CONF_INT("keepalive_timeout", CONF_KEEPALIVE_TIMEOUT_MS,                \
             conf_on_duration),                                             \
    CONF_INT("keepalive_max", CONF_KEEPALIVE_MAX, conf_on_int),             \
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
    CONF_INT("upgrade_timeout", 30000, conf_on_duration),
    CONF_STR("status_listen", NULL, conf_valid_listen),
    CONF_INT("status_socket_mode", 0660, conf_on_mode),
    CONF_STR("status_socket_user", NULL, conf_valid_user),
    CONF_STR("status_socket_group", NULL, conf_valid_group),
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

static int
conf_parse_file(struct conf_ctx *x, cfg_t *cfg, const char *path)
{
    char *buf = conf_scan_file(x, path);
    int rc = -1;

    if (buf == NULL)
        return -1;
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

char **
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

void
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
    p->cgi_no_new_privs = cfg_getbool(sec, "cgi_no_new_privs");
    p->module = conf_strdup(x, cfg_getstr(sec, "module"));
    p->module_args = conf_get_module_args(x, sec, p->module,
                                          &p->nmodule_args);
    p->preload = cfg_getbool(sec, "preload");
    p->max_body = conf_get_size(sec, "max_body");
    p->request_timeout_ms = (unsigned)cfg_getint(sec, "request_timeout");
    p->read_timeout_ms = (unsigned)cfg_getint(sec, "read_timeout");
    p->keepalive_timeout_ms = (unsigned)cfg_getint(sec, "keepalive_timeout");
    p->keepalive_max = (unsigned)cfg_getint(sec, "keepalive_max");
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
    p->output_rate_limit = conf_get_size(sec, "output_rate_limit");
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
    c->upgrade_timeout_ms = (unsigned)cfg_getint(cfg, "upgrade_timeout");
    c->status_listen = conf_strdup(x, cfg_getstr(cfg, "status_listen"));
    c->status_socket_mode = (mode_t)cfg_getint(cfg, "status_socket_mode");
    c->status_socket_user = conf_strdup(x, cfg_getstr(cfg,
                                                      "status_socket_user"));
    c->status_socket_group = conf_strdup(x, cfg_getstr(cfg,
                                                       "status_socket_group"));
    c->status_socket_uid = (uid_t)-1;
    c->status_socket_gid = (gid_t)-1;
    x->status_socket_user = conf_line_of(x, cfg, "status_socket_user", 0);
    x->status_socket_group = conf_line_of(x, cfg, "status_socket_group", 0);
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
    free(c->status_socket_user);
    free(c->status_socket_group);
    free(c->status_path);
    free(c->ping_path);
    free(c->pid_file);
    free(c->log);
    memset(c, 0, sizeof(*c));
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
            && conf_cli_apply(&x, cli, out) == 0
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
