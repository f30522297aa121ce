/* The config keys, one row each (see conf_keys.h): the table, what the
 * plain copy of a row cannot do, and the rows' fields in the plain
 * structs. Adding a key is a row here, the field it fills and its entry
 * in fcgipm.conf(5). */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "access.h"
#include "conf.h"
#include "conf_int.h"
#include "fcgi_addr.h"

#define CONF_MAX_NOFILE 1048576        /* the kernel's default nr_open */
#define CONF_ACCESS_FORMAT "%R - %u %t \"%m %r%Q%q\" %s %d"
/* Defaults of the worker loop's keys. A web server sends a request whole,
 * so 10 s is generous; 75 s outlasts nginx's upstream keepalive_timeout
 * (60 s), so that nginx, not fcgipm, closes a kept connection; 64 kept
 * connections per worker cover nginx's "keepalive 32" from two processes. */
#define CONF_READ_TIMEOUT_MS 10000
#define CONF_KEEPALIVE_TIMEOUT_MS 75000
#define CONF_KEEPALIVE_MAX 64

/* The C type of each conf_type's field, which CONF_KEY() checks: a
 * comparison of distinct pointer types does not compile (-Werror). An
 * enum has a type of its own. */
#define CONF_CTYPE_INT int
#define CONF_CTYPE_UINT unsigned
#define CONF_CTYPE_LONG long
#define CONF_CTYPE_DURATION unsigned
#define CONF_CTYPE_SIZE unsigned long long
#define CONF_CTYPE_CORE long
#define CONF_CTYPE_BOOL bool
#define CONF_CTYPE_ENUM void
#define CONF_CTYPE_SIGNAL int
#define CONF_CTYPE_MODE mode_t
#define CONF_CTYPE_STR char *
#define CONF_CTYPE_USER char *
#define CONF_CTYPE_GROUP char *
#define CONF_CTYPE_LIST char **
#define CONF_STRUCT_TOP struct conf
#define CONF_STRUCT_POOL struct pool_conf

/* The start of a row: key name, scope TOP or POOL, the field it fills,
 * its type. */
#define CONF_KEY(n, where, field, t)                                        \
    .name = (n), .scope = CONF_SCOPE_##where, .type = CONF_T_##t,           \
    .off = offsetof(CONF_STRUCT_##where, field)                             \
           + 0 * sizeof(&((CONF_STRUCT_##where *)0)->field                  \
                        == (CONF_CTYPE_##t *)0)
#define CONF_COUNT(field) .count_off = offsetof(struct pool_conf, field)
#define CONF_NAMES(...) (const char *const[]){ __VA_ARGS__, NULL }
#define CONF_SERVED (CONF_MODE_BIT(MODE_CGI) | CONF_MODE_BIT(MODE_MODULE))

_Static_assert(sizeof(enum pool_mode) == sizeof(int), "enum pool_mode");
_Static_assert(sizeof(enum pm_kind) == sizeof(int), "enum pm_kind");
_Static_assert(sizeof(enum log_level) == sizeof(int), "enum log_level");

static conf_check_fn conf_keys_check_control;
static conf_fix_fn conf_keys_fix_listen, conf_keys_fix_clients,
    conf_keys_fix_priority, conf_keys_fix_module_args, conf_keys_fix_log,
    conf_keys_fix_reload_on_change;

/* Defaults are the documented ones (fcgipm.conf(5)). */
const struct conf_key conf_keys[] = {
    { CONF_KEY("pid_file", TOP, pid_file, STR),
      .check = conf_value_check_nonempty, .option = "option -p" },
    { CONF_KEY("log", TOP, log, STR), .def_str = "stderr",
      .check = conf_value_check_nonempty, .option = "option -l" },
    { CONF_KEY("log_level", TOP, log_level, ENUM), .def = LOG_LEVEL_INFO,
      .names = CONF_NAMES("error", "warn", "info", "debug"),
      .option = "option --log-level" },
    { CONF_KEY("daemon", TOP, daemon, BOOL), .def = false },
    { CONF_KEY("upgrade_timeout", TOP, upgrade_timeout_ms, DURATION),
      .def = 30000, .lo = 1 },
    { CONF_KEY("status_listen", TOP, status_listen, STR),
      .check = conf_value_check_listen },
    { CONF_KEY("status_socket_mode", TOP, status_socket_mode, MODE),
      .def = 0660 },
    { CONF_KEY("status_socket_user", TOP, status_socket_user, USER) },
    { CONF_KEY("status_socket_group", TOP, status_socket_group, GROUP) },
    { CONF_KEY("status_path", TOP, status_path, STR), .def_str = "/status",
      .check = conf_value_check_http_path },
    { CONF_KEY("ping_path", TOP, ping_path, STR), .def_str = "/ping",
      .check = conf_value_check_http_path },
    { CONF_KEY("control_listen", TOP, control_listen, STR),
      .check = conf_keys_check_control },

    /* Sockets. */
    { CONF_KEY("listen", POOL, listen, LIST), CONF_COUNT(nlisten),
      .check = conf_value_check_listen, .fix = conf_keys_fix_listen,
      .print = conf_print_listen, .option = "option -b" },
    { CONF_KEY("backlog", POOL, backlog, INT), .def = 511, .lo = 1,
      .hi = 65535 },
    { CONF_KEY("socket_mode", POOL, socket_mode, MODE), .def = 0660,
      .option = "option -M" },
    { CONF_KEY("socket_user", POOL, socket_user, USER),
      .option = "option -U" },
    { CONF_KEY("socket_group", POOL, socket_group, GROUP),
      .option = "option -G" },
    { CONF_KEY("allowed_clients", POOL, allowed_clients, LIST),
      CONF_COUNT(nallowed_clients), .check = conf_value_check_client,
      .fix = conf_keys_fix_clients },

    /* What workers run, and as whom. */
    { CONF_KEY("mode", POOL, mode, ENUM), .def = MODE_EXEC,
      .names = CONF_NAMES("exec", "cgi", "module"), .option = "option -m" },
    { CONF_KEY("pm", POOL, pm, ENUM), .def = PM_STATIC,
      .names = CONF_NAMES("static", "dynamic", "ondemand", "adaptive") },
    { CONF_KEY("command", POOL, command, LIST), CONF_COUNT(ncommand),
      .modes = CONF_MODE_BIT(MODE_EXEC), .flags = CONF_KF_REQUIRED,
      .option = "COMMAND" },
    { CONF_KEY("user", POOL, user, USER), .option = "option -u" },
    { CONF_KEY("group", POOL, group, GROUP), .option = "option -g" },
    { CONF_KEY("chroot", POOL, chroot, STR), .check = conf_path_check_dir },
    { CONF_KEY("chdir", POOL, chdir, STR) },
    { CONF_KEY("rlimit_files", POOL, rlimit_files, LONG), .def = -1,
      .lo = 1, .hi = CONF_MAX_NOFILE, .flags = CONF_KF_OPTIONAL },
    { CONF_KEY("rlimit_core", POOL, rlimit_core, CORE), .def = -1,
      .flags = CONF_KF_OPTIONAL },
    { CONF_KEY("priority", POOL, priority, INT), .lo = -20, .hi = 19,
      .fix = conf_keys_fix_priority, .print = conf_print_priority },
    { CONF_KEY("clear_env", POOL, clear_env, BOOL), .def = true },
    { CONF_KEY("env", POOL, env, LIST), CONF_COUNT(nenv),
      .check = conf_value_check_env },

    /* The process manager. */
    { CONF_KEY("min_workers", POOL, min_workers, UINT), .def = 1,
      .hi = CONF_MAX_WORKERS,
      .pms = CONF_PM_BIT(PM_DYNAMIC) | CONF_PM_BIT(PM_ADAPTIVE) },
    { CONF_KEY("workers", POOL, workers, UINT), .def = 1,
      .hi = CONF_MAX_WORKERS, .bound = "max_workers",
      .option = "option -w" },
    { CONF_KEY("max_workers", POOL, max_workers, UINT), .def = 256,
      .lo = 1, .hi = CONF_MAX_WORKERS },
    { CONF_KEY("min_spare", POOL, min_spare, UINT), .def = 1,
      .hi = CONF_MAX_WORKERS, .pms = CONF_PM_BIT(PM_DYNAMIC) },
    { CONF_KEY("max_spare", POOL, max_spare, UINT), .def = 3, .lo = 1,
      .hi = CONF_MAX_WORKERS, .pms = CONF_PM_BIT(PM_DYNAMIC) },
    /* 0 would stop a worker the moment it goes idle. */
    { CONF_KEY("idle_timeout", POOL, idle_timeout_ms, DURATION),
      .def = 10000, .lo = 1,
      .pms = CONF_PM_BIT(PM_ONDEMAND) | CONF_PM_BIT(PM_ADAPTIVE) },
    { CONF_KEY("max_spawn_rate", POOL, max_spawn_rate, UINT), .def = 32,
      .hi = INT_MAX },

    /* Stopping and restarting workers. A zero backoff would respawn a
     * crashing worker at once, forever. */
    { CONF_KEY("stop_signal", POOL, stop_signal, SIGNAL), .def = SIGUSR1 },
    { CONF_KEY("graceful_timeout", POOL, graceful_timeout_ms, DURATION),
      .def = 30000 },
    { CONF_KEY("kill_timeout", POOL, kill_timeout_ms, DURATION),
      .def = 5000 },
    { CONF_KEY("restart_backoff", POOL, backoff_min_ms, DURATION),
      .def = 100, .lo = 1 },
    { CONF_KEY("restart_backoff_max", POOL, backoff_max_ms, DURATION),
      .def = 30000, .lo = 1 },
    { CONF_KEY("min_uptime", POOL, min_uptime_ms, DURATION), .def = 1000 },
    { CONF_KEY("output_rate_limit", POOL, output_rate_limit, SIZE),
      .def = 1 << 20 },
    /* Reload on deploy: "true" alone, or paths; conf_path_watch()
     * resolves them with the program's. */
    { CONF_KEY("reload_on_change", POOL, reload_on_change, LIST),
      CONF_COUNT(nreload_on_change), .check = conf_value_check_nonempty,
      .fix = conf_keys_fix_reload_on_change },

    /* cgi and module modes. */
    { CONF_KEY("cgi_root", POOL, cgi_root, STR),
      .modes = CONF_MODE_BIT(MODE_CGI), .flags = CONF_KF_REQUIRED,
      .check = conf_value_check_nonempty },
    { CONF_KEY("module", POOL, module, STR),
      .modes = CONF_MODE_BIT(MODE_MODULE), .flags = CONF_KF_REQUIRED,
      .check = conf_value_check_module_name },
    { CONF_KEY("module_args", POOL, module_args, LIST),
      CONF_COUNT(nmodule_args), .modes = CONF_MODE_BIT(MODE_MODULE),
      .fix = conf_keys_fix_module_args, .print = conf_print_module_args },
    { CONF_KEY("preload", POOL, preload, BOOL), .def = false,
      .modes = CONF_MODE_BIT(MODE_MODULE) },
    { CONF_KEY("cgi_no_new_privs", POOL, cgi_no_new_privs, BOOL),
      .def = true, .modes = CONF_MODE_BIT(MODE_CGI) },

    /* Requests, which fcgipm sees in cgi and module modes only. max_requests
     * + max_requests_jitter fits an unsigned. */
    { CONF_KEY("max_body", POOL, max_body, SIZE),
      .modes = CONF_SERVED, .flags = CONF_KF_REQUEST },
    { CONF_KEY("request_timeout", POOL, request_timeout_ms, DURATION),
      .modes = CONF_SERVED, .flags = CONF_KF_REQUEST },
    { CONF_KEY("read_timeout", POOL, read_timeout_ms, DURATION),
      .def = CONF_READ_TIMEOUT_MS, .lo = 1,
      .modes = CONF_SERVED, .flags = CONF_KF_REQUEST },
    { CONF_KEY("keepalive_timeout", POOL, keepalive_timeout_ms, DURATION),
      .def = CONF_KEEPALIVE_TIMEOUT_MS, .lo = 1,
      .modes = CONF_SERVED, .flags = CONF_KF_REQUEST },
    { CONF_KEY("keepalive_max", POOL, keepalive_max, UINT),
      .def = CONF_KEEPALIVE_MAX, .hi = 1024,
      .modes = CONF_SERVED, .flags = CONF_KF_REQUEST },
    { CONF_KEY("max_requests", POOL, max_requests, UINT), .hi = INT_MAX,
      .modes = CONF_SERVED, .flags = CONF_KF_REQUEST },
    { CONF_KEY("max_requests_jitter", POOL, max_requests_jitter, UINT),
      .hi = INT_MAX, .modes = CONF_SERVED, .flags = CONF_KF_REQUEST },
    { CONF_KEY("max_rss", POOL, max_rss, SIZE),
      .modes = CONF_SERVED, .flags = CONF_KF_REQUEST },
    { CONF_KEY("slow_request_time", POOL, slow_request_time_ms, DURATION),
      .modes = CONF_SERVED, .flags = CONF_KF_REQUEST },
    { CONF_KEY("slowlog", POOL, slowlog, STR), .check = conf_path_check_log,
      .fix = conf_keys_fix_log, .modes = CONF_SERVED,
      .flags = CONF_KF_REQUEST },
    { CONF_KEY("access_log", POOL, access_log, STR),
      .check = conf_path_check_log, .fix = conf_keys_fix_log,
      .modes = CONF_SERVED, .flags = CONF_KF_REQUEST },
    /* The formatter's own checker: one list of directives. */
    { CONF_KEY("access_format", POOL, access_format, STR),
      .def_str = CONF_ACCESS_FORMAT, .check = access_format_check,
      .modes = CONF_SERVED, .flags = CONF_KF_REQUEST },
};

const size_t conf_keys_count = CONF_NELEM(conf_keys);

const struct conf_key *
conf_keys_find(const char *name)
{
    for (size_t i = 0; i < CONF_NELEM(conf_keys); i++)
        if (strcmp(conf_keys[i].name, name) == 0)
            return &conf_keys[i];
    return NULL;
}

bool
conf_keys_is_str(const struct conf_key *k)
{
    return k->type == CONF_T_STR || k->type == CONF_T_USER
           || k->type == CONF_T_GROUP || k->type == CONF_T_LIST;
}

void *
conf_keys_field(const struct conf_key *k, void *base)
{
    return (char *)base + k->off;
}

const void *
conf_keys_cfield(const struct conf_key *k, const void *base)
{
    return (const char *)base + k->off;
}

long long
conf_keys_get(const struct conf_key *k, const void *base)
{
    const void *f = conf_keys_cfield(k, base);

    switch (k->type) {
    case CONF_T_INT:
    case CONF_T_ENUM:           /* int-sized, and int is its signed type */
    case CONF_T_SIGNAL:
        return *(const int *)f;
    case CONF_T_UINT:
    case CONF_T_DURATION:
        return *(const unsigned *)f;
    case CONF_T_LONG:
    case CONF_T_CORE:
        return *(const long *)f;
    case CONF_T_SIZE:
        return (long long)*(const unsigned long long *)f;
    case CONF_T_BOOL:
        return *(const bool *)f;
    case CONF_T_MODE:
        return *(const mode_t *)f;
    default:
        return 0;
    }
}

void
conf_keys_set(const struct conf_key *k, void *base, long long v)
{
    void *f = conf_keys_field(k, base);

    switch (k->type) {
    case CONF_T_INT:
    case CONF_T_ENUM:
    case CONF_T_SIGNAL:
        *(int *)f = (int)v;
        break;
    case CONF_T_UINT:
    case CONF_T_DURATION:
        *(unsigned *)f = (unsigned)v;
        break;
    case CONF_T_LONG:
    case CONF_T_CORE:
        *(long *)f = (long)v;
        break;
    case CONF_T_SIZE:
        *(unsigned long long *)f = (unsigned long long)v;
        break;
    case CONF_T_BOOL:
        *(bool *)f = v != 0;
        break;
    case CONF_T_MODE:
        *(mode_t *)f = (mode_t)v;
        break;
    default:
        break;
    }
}

bool
conf_keys_is_default(const struct conf_key *k, const void *base)
{
    const char *s;

    if (k->type == CONF_T_LIST)
        return *(const size_t *)((const char *)base + k->count_off) == 0;
    if (!conf_keys_is_str(k))
        return conf_keys_get(k, base) == k->def;
    s = *(char *const *)conf_keys_cfield(k, base);
    if (s == NULL || k->def_str == NULL)
        return s == k->def_str;
    return strcmp(s, k->def_str) == 0;
}

bool
conf_keys_applies(const struct conf_key *k, const struct pool_conf *p)
{
    return (k->modes == 0 || (k->modes & CONF_MODE_BIT(p->mode)) != 0)
           && (k->pms == 0 || (k->pms & CONF_PM_BIT(p->pm)) != 0);
}

int
conf_keys_line(const struct conf_src *s, const char *key)
{
    const struct conf_key *k = conf_keys_find(key);

    if (k == NULL || s->line == NULL)
        return CONF_FROM_DEFAULT;
    return s->line[k - conf_keys];
}

void
conf_keys_set_line(struct conf_src *s, const char *key, int line)
{
    const struct conf_key *k = conf_keys_find(key);

    if (k != NULL && s->line != NULL)
        s->line[k - conf_keys] = line;
}

/* listen: the line of each address, for the errors that name one. */
static int
conf_keys_fix_listen(struct conf_ctx *x, const struct conf_key *k,
                     void *base, struct conf_src *s)
{
    const struct pool_conf *p = base;

    if ((s->listen = calloc(p->nlisten + 1, sizeof(*s->listen))) == NULL) {
        conf_oom(x);
        return -1;
    }
    for (size_t i = 0; i < p->nlisten; i++)
        s->listen[i] = conf_line_at(x, s, k->name, (unsigned)i);
    return 0;
}

/* allowed_clients: NULL rather than an empty list: any peer. */
static int
conf_keys_fix_clients(struct conf_ctx *x, const struct conf_key *k,
                      void *base, struct conf_src *s)
{
    struct pool_conf *p = base;

    (void)x;
    (void)k;
    (void)s;
    if (p->nallowed_clients == 0) {
        conf_strv_free(p->allowed_clients);
        p->allowed_clients = NULL;
    }
    return 0;
}

static int
conf_keys_fix_priority(struct conf_ctx *x, const struct conf_key *k,
                       void *base, struct conf_src *s)
{
    struct pool_conf *p = base;

    (void)x;
    p->has_priority = conf_keys_line(s, k->name) != CONF_FROM_DEFAULT;
    return 0;
}

/* fcgipm_init's argv: the module, then module_args. NULL without a
 * module: a pool whose mode uses none has no arguments either. */
static int
conf_keys_fix_module_args(struct conf_ctx *x, const struct conf_key *k,
                          void *base, struct conf_src *s)
{
    struct pool_conf *p = base;
    char **args = p->module_args;
    size_t n = p->nmodule_args;
    const char **v;
    int rc = 0;

    (void)k;
    (void)s;
    p->module_args = NULL;
    p->nmodule_args = 0;
    if (p->module == NULL)
        goto out;
    if ((v = calloc(n + 2, sizeof(*v))) == NULL) {
        conf_oom(x);
        rc = -1;
        goto out;
    }
    v[0] = p->module;
    for (size_t i = 0; i < n; i++)
        v[i + 1] = args[i];
    p->module_args = conf_strv_dup(x, v, n + 1, &p->nmodule_args);
    rc = p->module_args != NULL ? 0 : -1;
    free(v);
out:
    conf_strv_free(args);
    return rc;
}

/* control_listen: a socket file by its absolute path, since its mode and
 * owner keep others out, and fcgipm ctl -c finds it from any directory. */
static int
conf_keys_check_control(const char *s, char *why, size_t len)
{
    struct fcgi_addr a;
    char msg[CONF_MSG_MAX];

    if (fcgi_addr_parse(s, &a, msg, sizeof(msg)) == -1) {
        snprintf(why, len, "'%s': %s", s, msg);
        return -1;
    }
    if (a.family == AF_UNIX && !fcgi_addr_is_abstract(&a)
        && a.path[0] == '/')
        return 0;
    snprintf(why, len, "'%s': not a Unix socket file by its absolute path "
             "(unix:/path)", s);
    return -1;
}

/* slowlog, access_log: made absolute, relative to the directory fcgipm
 * runs in: a worker opens it after its chdir. */
static int
conf_keys_fix_log(struct conf_ctx *x, const struct conf_key *k, void *base,
                  struct conf_src *s)
{
    char **v = conf_keys_field(k, base);
    char *abs;

    if (*v == NULL)
        return 0;
    if ((abs = conf_path_abs(*v, NULL)) == NULL) {
        conf_fail_at(x, NULL, conf_keys_line(s, k->name), k->name,
                     "'%s': %s", *v, strerror(errno));
        return -1;
    }
    free(*v);
    *v = abs;
    return 0;
}

/* 1 for true, yes, on; 0 for false, no, off (libconfuse's words); -1 for
 * anything else, a path. */
static int
conf_keys_bool_word(const char *s)
{
    static const char *const words[] = { "false", "no", "off",
                                         "true", "yes", "on" };

    for (size_t i = 0; i < CONF_NELEM(words); i++)
        if (strcasecmp(s, words[i]) == 0)
            return i >= 3;
    return -1;
}

/* reload_on_change: "true" alone (spelt so from here on) watches the
 * program or module; "false" alone is the default, an empty list. Among
 * paths either is an error: the program is watched whenever paths are. */
static int
conf_keys_fix_reload_on_change(struct conf_ctx *x, const struct conf_key *k,
                               void *base, struct conf_src *s)
{
    struct pool_conf *p = base;

    for (size_t i = 0; i < p->nreload_on_change; i++) {
        int b = conf_keys_bool_word(p->reload_on_change[i]);
        if (b == -1)
            continue;
        if (p->nreload_on_change > 1) {
            conf_fail_at(x, NULL, conf_line_at(x, s, k->name, (unsigned)i),
                         k->name, "'%s' among paths: write %s = true "
                         "alone, or list the paths (the program is "
                         "watched with them)", p->reload_on_change[i],
                         k->name);
            return -1;
        }
        if (b == 0) {
            conf_strv_free(p->reload_on_change);
            p->reload_on_change = NULL;
            p->nreload_on_change = 0;
            return 0;
        }
        /* One spelling for conf_path_watch() and -t. */
        char *t = conf_strdup(x, "true");
        if (t == NULL)
            return -1;
        free(p->reload_on_change[i]);
        p->reload_on_change[i] = t;
    }
    return 0;
}
