/* conf_check(): the checks across keys and pools, once the file is read
 * and the CLI applied, naming the pool and the key: where keys apply (the
 * modes and pms of their rows), then the cross-field ones by hand, which
 * make pm sizes, chroot and cgi_root, the command's path and ids
 * effective. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "conf_int.h"
#include "fcgi_addr.h"
#include "nofollow.h"

/* An address as fcgi_addr_format() writes it. */
#define CONF_ADDR_MAX (sizeof(((struct fcgi_addr *)0)->path) + 64)

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
    conf_fail_order(x, p->name, "restart_backoff",
                    conf_keys_line(s, "restart_backoff"), lo,
                    "restart_backoff_max",
                    conf_keys_line(s, "restart_backoff_max"), hi);
    return -1;
}

/* A key of other process managers, set to other than its default, is an
 * error: of those, the one set first in the file. */
static int
conf_check_pm_keys(struct conf_ctx *x, const struct pool_conf *p,
                   const struct conf_src *s)
{
    const struct conf_key *first = NULL;
    char pms[CONF_MSG_MAX];
    int first_line = 0;

    for (size_t i = 0; i < conf_keys_count; i++) {
        const struct conf_key *k = &conf_keys[i];
        int line = conf_keys_line(s, k->name);
        if (k->pms == 0 || (k->pms & CONF_PM_BIT(p->pm)) != 0
            || conf_keys_is_default(k, p))
            continue;
        if (first == NULL || line < first_line) {
            first = k;
            first_line = line;
        }
    }
    if (first == NULL)
        return 0;
    conf_fail_at(x, p->name, first_line, first->name, "only used with pm = "
                 "%s (this pool is pm = %s)",
                 conf_value_enum_list("pm", first->pms, pms, sizeof(pms)),
                 conf_value_enum_name("pm", (int)p->pm));
    return -1;
}

/* The bounds of dynamic and adaptive pools: min_workers up to
 * max_workers, and workers, when set, between them. */
static int
conf_check_min_workers(struct conf_ctx *x, const struct pool_conf *p,
                       const struct conf_src *s)
{
    int min_line = conf_keys_line(s, "min_workers");
    int workers_line = conf_keys_line(s, "workers");

    if (conf_check_le(x, p->name, "min_workers", min_line, p->min_workers,
                      "max_workers", conf_keys_line(s, "max_workers"),
                      p->max_workers) == -1)
        return -1;
    if (workers_line != CONF_FROM_DEFAULT)
        return conf_check_le(x, p->name, "min_workers", min_line,
                             p->min_workers, "workers", workers_line,
                             p->workers);
    return 0;
}

/* dynamic: idle workers are counted from the scoreboard, which exec
 * workers do not write. */
static int
conf_check_dynamic(struct conf_ctx *x, const struct pool_conf *p,
                   const struct conf_src *s)
{
    int min_spare = conf_keys_line(s, "min_spare");

    if (p->mode == MODE_EXEC) {
        conf_fail_at(x, p->name, conf_keys_line(s, "pm"), "pm", "dynamic "
                     "needs mode cgi or module (fcgipm cannot see whether "
                     "exec workers are busy; use adaptive)");
        return -1;
    }
    if (conf_check_le(x, p->name, "min_spare", min_spare, p->min_spare,
                      "max_spare", conf_keys_line(s, "max_spare"),
                      p->max_spare) == -1
        || conf_check_le(x, p->name, "min_spare", min_spare, p->min_spare,
                         "max_workers", conf_keys_line(s, "max_workers"),
                         p->max_workers) == -1)
        return -1;
    return 0;
}

/*
 * The process manager's keys, made effective: min_workers is 0 where it
 * is no key (static pools shrink to 0 with TTOU, ondemand ones when idle);
 * workers, when not set, is 0 in an ondemand pool (it starts empty) and
 * at least min_workers in the others.
 */
static int
conf_check_pm(struct conf_ctx *x, struct pool_conf *p,
              const struct conf_src *s)
{
    int workers_line = conf_keys_line(s, "workers");

    if (conf_check_pm_keys(x, p, s) == -1)
        return -1;
    /* workers from the file, against a max_workers that may come later in
     * it; -w was checked when it was applied. */
    if (workers_line != CONF_FROM_CLI && p->workers > p->max_workers) {
        conf_fail_at(x, p->name, workers_line, "workers", "%u is not in "
                     "0..%u", p->workers, p->max_workers);
        return -1;
    }
    switch (p->pm) {
    case PM_DYNAMIC:
        if (conf_check_dynamic(x, p, s) == -1)
            return -1;
        /* FALLTHROUGH */
    case PM_ADAPTIVE:
        if (conf_check_min_workers(x, p, s) == -1)
            return -1;
        break;
    case PM_ONDEMAND:
    case PM_STATIC:
        p->min_workers = 0;
        break;
    }
    if (workers_line == CONF_FROM_DEFAULT && p->pm == PM_ONDEMAND)
        p->workers = 0;
    else if (workers_line == CONF_FROM_DEFAULT && p->workers < p->min_workers)
        p->workers = p->min_workers;
    return 0;
}

/* A key of another mode is an error, and each mode has its own required
 * key. */
static int
conf_check_mode_keys(struct conf_ctx *x, const struct pool_conf *p,
                     const struct conf_src *s)
{
    const char *mode = conf_value_enum_name("mode", (int)p->mode);
    unsigned bit = CONF_MODE_BIT(p->mode);
    char why[CONF_MSG_MAX];

    for (size_t i = 0; i < conf_keys_count; i++) {
        const struct conf_key *k = &conf_keys[i];
        int line = conf_keys_line(s, k->name);
        if (k->modes == 0 || (k->modes & bit) != 0
            || (k->flags & CONF_KF_REQUEST) || line == CONF_FROM_DEFAULT)
            continue;
        conf_fail_at(x, p->name, line, k->name, "only used in mode %s "
                     "(this pool is %s)", conf_value_enum_list("mode",
                     k->modes, why, sizeof(why)), mode);
        return -1;
    }
    for (size_t i = 0; i < conf_keys_count; i++) {
        const struct conf_key *k = &conf_keys[i];
        if ((k->flags & CONF_KF_REQUIRED) && (k->modes & bit) != 0
            && conf_keys_is_default(k, p)) {
            snprintf(why, sizeof(why), "required in %s mode", mode);
            conf_fail_missing(x, p->name, s, k->name, why);
            return -1;
        }
    }
    return 0;
}

/* Of the keys about requests that p sets to other than their default
 * while its mode does not see requests, the one set first in the file,
 * with its line; NULL if there is none. */
static const struct conf_key *
conf_first_request_key(const struct pool_conf *p, const struct conf_src *s,
                       int *line)
{
    const struct conf_key *first = NULL;

    for (size_t i = 0; i < conf_keys_count; i++) {
        const struct conf_key *k = &conf_keys[i];
        if (!(k->flags & CONF_KF_REQUEST)
            || (k->modes & CONF_MODE_BIT(p->mode)) != 0
            || conf_keys_is_default(k, p))
            continue;
        int l = conf_keys_line(s, k->name);
        if (first == NULL || l < *line) {
            first = k;
            *line = l;
        }
    }
    return first;
}

/* Whether p sets key to other than its default. */
static bool
conf_check_is_set(const struct pool_conf *p, const char *key)
{
    return !conf_keys_is_default(conf_keys_find(key), p);
}

/* Only workers that fcgipm runs itself see requests; and a key that
 * refines another is an error while that other is off. */
static int
conf_check_request_keys(struct conf_ctx *x, const struct pool_conf *p,
                        const struct conf_src *s)
{
    const char *mode = conf_value_enum_name("mode", (int)p->mode);
    const struct conf_key *k;
    int line = 0;

    if ((k = conf_first_request_key(p, s, &line)) != NULL)
        conf_fail_at(x, p->name, line, k->name, "has no effect in mode %s "
                     "(fcgipm does not see %s workers' requests)", mode,
                     mode);
    else if (p->max_requests_jitter != 0 && p->max_requests == 0)
        conf_fail_at(x, p->name, conf_keys_line(s, "max_requests_jitter"),
                     "max_requests_jitter", "has no effect while "
                     "max_requests is 0 (never recycle)");
    else if (p->slowlog != NULL && p->slow_request_time_ms == 0)
        conf_fail_at(x, p->name, conf_keys_line(s, "slowlog"), "slowlog",
                     "has no effect while slow_request_time is 0 (off)");
    else if (p->access_log == NULL && conf_check_is_set(p, "access_format"))
        conf_fail_at(x, p->name, conf_keys_line(s, "access_format"),
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
        conf_fail_at(x, p->name, conf_keys_line(s, "chroot"), "chroot",
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
    int line = conf_keys_line(s, "chdir");
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
    int line = conf_keys_line(s, "cgi_root"), saved;
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
 * no chroot changes) and root's, as the master runs it as root. The path
 * itself is kept as written. */
static int
conf_check_module(struct conf_ctx *x, const struct pool_conf *p,
                  const struct conf_src *s)
{
    char why[CONF_MSG_MAX], trust[CONF_MSG_MAX - 260];
    struct stat st;
    char *abs;

    if (p->mode != MODE_MODULE || conf_value_is_builtin(p->module))
        return 0;
    if (p->chroot != NULL && !p->preload)
        return conf_check_in_chroot(x, p, conf_keys_line(s, "module"),
                                    "module", p->module);
    abs = conf_path_abs(p->module, p->preload ? NULL : p->chdir);
    if (abs == NULL || stat(abs, &st) == -1)
        snprintf(why, sizeof(why), "'%s': %s", p->module, strerror(errno));
    else if (!S_ISREG(st.st_mode))
        snprintf(why, sizeof(why), "'%s' is not a regular file", p->module);
    else if (access(abs, R_OK) == -1)
        snprintf(why, sizeof(why), "'%s' is not readable", p->module);
    else if (p->preload
             && nofollow_check_trusted(abs, trust, sizeof(trust)) == -1)
        snprintf(why, sizeof(why), "'%.100s' cannot be preloaded: %s (%s)",
                 p->module, trust, NOFOLLOW_TRUSTED_RULE);
    else
        why[0] = '\0';
    free(abs);
    if (why[0] != '\0')
        conf_fail_at(x, p->name, conf_keys_line(s, "module"), "module",
                     "%s", why);
    return x->failed ? -1 : 0;
}

static int
conf_check_command(struct conf_ctx *x, struct pool_conf *p,
                   const struct conf_src *s)
{
    int line = conf_keys_line(s, "command");
    char why[CONF_MSG_MAX];

    if (p->mode != MODE_EXEC)
        return 0;
    if (p->chroot != NULL) {
        if (conf_check_in_chroot(x, p, line, "command", p->command[0]) == -1)
            return -1;
        p->command_path = conf_strdup(x, p->command[0]);
        return p->command_path != NULL ? 0 : -1;
    }
    p->command_path = conf_path_command(p->command[0], p->chdir, why,
                                        sizeof(why));
    if (p->command_path == NULL) {
        conf_fail_at(x, p->name, line, "command", "%s", why);
        return -1;
    }
    return 0;
}

/* uid/gid from user/group: user alone means its primary group. The names
 * were checked as they were read, from the file or the CLI; these lookups
 * resolve them, and fail only if the user database changed meanwhile. */
static int
conf_check_ids(struct conf_ctx *x, struct pool_conf *p,
               const struct conf_src *s)
{
    int user_line = conf_keys_line(s, "user");
    gid_t primary = (gid_t)-1, unused;

    if (p->user != NULL
        && conf_value_user_lookup(p->user, &p->uid, &primary) == -1)
        conf_fail_at(x, p->name, user_line, "user", "unknown user '%s'",
                     p->user);
    else if (p->group != NULL
             && conf_value_group_lookup(p->group, &p->gid) == -1)
        conf_fail_at(x, p->name, 0, "group", "unknown group '%s'", p->group);
    else if (p->user != NULL && p->group == NULL) {
        if (primary == (gid_t)-1)
            conf_fail_at(x, p->name, user_line, "user", "%s has no passwd "
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
    int line = conf_keys_line(s, "allowed_clients");
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
/* The status socket's owner, resolved as the pools' socket owners are. */
static int
conf_check_status_owner(struct conf_ctx *x, struct conf *c)
{
    gid_t unused;

    if (c->status_socket_user != NULL
        && conf_value_user_lookup(c->status_socket_user,
                                  &c->status_socket_uid, &unused) == -1)
        conf_fail_at(x, NULL, conf_keys_line(&x->top, "status_socket_user"),
                     "status_socket_user",
                     "unknown user '%s'", c->status_socket_user);
    else if (c->status_socket_group != NULL
             && conf_value_group_lookup(c->status_socket_group,
                                        &c->status_socket_gid) == -1)
        conf_fail_at(x, NULL, conf_keys_line(&x->top, "status_socket_group"),
                     "status_socket_group",
                     "unknown group '%s'", c->status_socket_group);
    return x->failed ? -1 : 0;
}

static int
conf_check_status(struct conf_ctx *x, const struct conf *c)
{
    int status_path = conf_keys_line(&x->top, "status_path");
    int ping_path = conf_keys_line(&x->top, "ping_path");
    char key[CONF_ADDR_MAX], other[CONF_ADDR_MAX];

    if (c->status_listen != NULL)
        conf_listen_key(c->status_listen, key, sizeof(key));
    for (size_t i = 0; c->status_listen != NULL && i < c->npools; i++)
        for (size_t j = 0; j < c->pools[i].nlisten; j++) {
            conf_listen_key(c->pools[i].listen[j], other, sizeof(other));
            if (strcmp(key, other) == 0) {
                conf_fail_at(x, NULL, conf_keys_line(&x->top, "status_listen"),
                             "status_listen",
                             "'%s' is also used by pool %s",
                             c->status_listen, c->pools[i].name);
                return -1;
            }
        }
    if (strcmp(c->status_path, c->ping_path) != 0)
        return 0;
    if (conf_line_is_later(status_path, ping_path))
        conf_fail_at(x, NULL, status_path, "status_path", "'%s' is also "
                     "ping_path", c->status_path);
    else
        conf_fail_at(x, NULL, ping_path, "ping_path", "'%s' is also "
                     "status_path", c->ping_path);
    return -1;
}

/* The control socket is neither the status socket, which a web server
 * may expose, nor a pool's. */
static int
conf_check_control(struct conf_ctx *x, const struct conf *c)
{
    int line = conf_keys_line(&x->top, "control_listen");
    char key[CONF_ADDR_MAX], other[CONF_ADDR_MAX];

    if (c->control_listen == NULL)
        return 0;
    conf_listen_key(c->control_listen, key, sizeof(key));
    if (c->status_listen != NULL) {
        conf_listen_key(c->status_listen, other, sizeof(other));
        if (strcmp(key, other) == 0) {
            conf_fail_at(x, NULL, line, "control_listen", "'%s' is also "
                         "status_listen", c->control_listen);
            return -1;
        }
    }
    for (size_t i = 0; i < c->npools; i++)
        for (size_t j = 0; j < c->pools[i].nlisten; j++) {
            conf_listen_key(c->pools[i].listen[j], other, sizeof(other));
            if (strcmp(key, other) == 0) {
                conf_fail_at(x, NULL, line, "control_listen", "'%s' is also "
                             "used by pool %s", c->control_listen,
                             c->pools[i].name);
                return -1;
            }
        }
    return 0;
}

int
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
            || conf_path_watch(x, p, s) == -1
            || conf_check_ids(x, p, s) == -1
            || conf_check_allowed_clients(x, p, s) == -1)
            return -1;
    }
    if (conf_check_listen_unique(x, c) == -1
        || conf_check_status(x, c) == -1
        || conf_check_control(x, c) == -1
        || conf_check_status_owner(x, c) == -1)
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
