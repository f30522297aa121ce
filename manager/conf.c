/* conf_load(): the libconfuse options, built from the rows of conf_keys,
 * and their callbacks, the parse, the copy into plain struct conf by the
 * rows, and conf_free(). The only file that includes confuse.h; errors of
 * the load in progress are reported here. */
#include <confuse.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "conf_int.h"

/* The line of one value, noted while libconfuse parses: cfg_opt_t has no
 * line of its own in libconfuse 3.3. opt is per section, since libconfuse
 * gives each section its own copy of the table. */
struct conf_line {
    const cfg_opt_t *opt;
    unsigned idx;
    int line;
};

static struct conf_ctx *conf_cur;

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
conf_line_at(const struct conf_ctx *x, const struct conf_src *s,
             const char *key, unsigned idx)
{
    return conf_line_of(x, s->sec, key, idx);
}

static int
conf_on_bool(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
    int b;

    if ((b = cfg_parse_boolean(value)) == -1) {
        cfg_error(cfg, "%s: '%s' is not a boolean (true or false)",
                  opt->name, value);
        return -1;
    }
    *(int *)result = b;
    return 0;
}

/* Every value of every key comes here first: its line is noted, and it is
 * parsed and checked by its row. Strings are checked once set
 * (conf_on_valid). Sizes stay strings in libconfuse, whose integers are a
 * long: 32 bits on some Linux targets; the copy parses them again. */
static int
conf_on_value(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
    const struct conf_key *k = conf_keys_find(opt->name);
    char why[CONF_MSG_MAX];
    long long n = 0;
    long bound;

    if (conf_note_line(cfg, opt) == -1)
        return -1;
    if (opt->type == CFGT_BOOL)
        return conf_on_bool(cfg, opt, value, result);
    if (!conf_keys_is_str(k)) {
        bound = k->bound != NULL ? cfg_getint(cfg, k->bound) : 0;
        if (conf_value_parse_key(k, value, bound, &n, why, sizeof(why))
            == -1) {
            cfg_error(cfg, "%s: %s", opt->name, why);
            return -1;
        }
    }
    if (opt->type == CFGT_INT)
        *(long *)result = (long)n;
    else
        *(const char **)result = value;
    return 0;
}

/* The string just set, checked by its row. libconfuse validates a list
 * after each value and again at its closing brace, so the last value is
 * the one to check. */
static int
conf_on_valid(cfg_t *cfg, cfg_opt_t *opt)
{
    const struct conf_key *k = conf_keys_find(opt->name);
    const char *s = NULL;
    char why[CONF_MSG_MAX];
    long long unused;

    if (opt->nvalues > 0)
        s = cfg_opt_getnstr(opt, opt->nvalues - 1);
    if (s != NULL
        && conf_value_parse_key(k, s, 0, &unused, why, sizeof(why)) == -1) {
        cfg_error(cfg, "%s: %s", opt->name, why);
        return -1;
    }
    return 0;
}

/* The option of row k. Every value goes through conf_on_value(), which
 * notes its line; strings are then validated as cfg_set_validate_func()
 * would, set here for every section's copy of the option at once. */
static cfg_opt_t
conf_opt_of(const struct conf_key *k)
{
    cfg_opt_t o = { .name = k->name, .parsecb = conf_on_value };

    if (conf_keys_is_str(k)) {
        o.type = CFGT_STR;
        o.flags = k->type == CONF_T_LIST ? CFGF_LIST : CFGF_NONE;
        o.def.string = k->def_str;
        o.validcb = conf_on_valid;
    } else if (k->type == CONF_T_BOOL) {
        o.type = CFGT_BOOL;
        o.def.boolean = k->def != 0 ? cfg_true : cfg_false;
    } else if (k->type == CONF_T_SIZE || k->type == CONF_T_CORE) {
        o.type = CFGT_STR;      /* unset: the copy takes the row's default */
    } else {
        o.type = CFGT_INT;
        o.def.number = (long)k->def;
    }
    return o;
}

/* The options of a pool section, then of the top level (its own keys, a
 * pool's for the default pool, and the pool sections), in one block to
 * free once cfg_init() has copied them; *top points into it. NULL when
 * out of memory. */
static cfg_opt_t *
conf_opts_build(cfg_opt_t **top)
{
    size_t n = conf_keys_count, npool = 0;
    cfg_opt_t *pool = calloc(2 * n + 3, sizeof(*pool));

    if (pool == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (conf_keys[i].scope == CONF_SCOPE_POOL)
            pool[npool++] = conf_opt_of(&conf_keys[i]);
    *top = pool + npool + 1;            /* after the pool's CFG_END() */
    for (size_t i = 0; i < n; i++)
        (*top)[i] = conf_opt_of(&conf_keys[i]);
    /* CFGF_NO_TITLE_DUPES: without it, a second pool "x" section silently
     * merges into the first. */
    (*top)[n] = (cfg_opt_t)CFG_SEC("pool", pool, CFGF_MULTI | CFGF_TITLE
                                   | CFGF_NO_TITLE_DUPES);
    return pool;
}

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

/* Keys valid at the top level only, and pool sections. */
static bool
conf_is_top_key(const char *key)
{
    const struct conf_key *k = conf_keys_find(key);

    return strcmp(key, "pool") == 0
           || (k != NULL && k->scope == CONF_SCOPE_TOP);
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

/* The values of list key in sec. */
static char **
conf_get_list(struct conf_ctx *x, cfg_t *sec, const char *key,
              size_t *count)
{
    unsigned n = cfg_size(sec, key);
    const char **v = calloc(n + 1, sizeof(*v));
    char **d;

    if (v == NULL)
        return conf_oom(x);
    for (unsigned i = 0; i < n; i++)
        v[i] = cfg_getnstr(sec, key, i);
    d = conf_strv_dup(x, v, n, count);
    free(v);
    return d;
}

/* The value of key k in sec, copied into its field of base. */
static void
conf_copy_key(struct conf_ctx *x, cfg_t *sec, const struct conf_key *k,
              void *base)
{
    void *f = conf_keys_field(k, base);
    char why[CONF_MSG_MAX];
    long long n = k->def;
    const char *v;

    switch (k->type) {
    case CONF_T_BOOL:
        conf_keys_set(k, base, cfg_getbool(sec, k->name));
        break;
    case CONF_T_SIZE:
    case CONF_T_CORE:
        /* As conf_on_value() accepted it. */
        if ((v = cfg_getstr(sec, k->name)) != NULL)
            conf_value_parse_key(k, v, 0, &n, why, sizeof(why));
        conf_keys_set(k, base, n);
        break;
    case CONF_T_LIST:
        *(char ***)f = conf_get_list(x, sec, k->name,
                                     (size_t *)((char *)base + k->count_off));
        break;
    case CONF_T_STR:
    case CONF_T_USER:
    case CONF_T_GROUP:
        *(char **)f = conf_strdup(x, cfg_getstr(sec, k->name));
        break;
    default:
        conf_keys_set(k, base, cfg_getint(sec, k->name));
        break;
    }
}

/* Copy the keys of scope from sec into base, noting in s where each came
 * from, then run the rows' fix hooks. 0, or -1 having said why. */
static int
conf_copy_keys(struct conf_ctx *x, cfg_t *sec, enum conf_scope scope,
               void *base, struct conf_src *s)
{
    s->sec = sec;
    if ((s->line = calloc(conf_keys_count, sizeof(*s->line))) == NULL) {
        conf_oom(x);
        return -1;
    }
    for (size_t i = 0; i < conf_keys_count; i++) {
        const struct conf_key *k = &conf_keys[i];
        if (k->scope != scope)
            continue;
        conf_copy_key(x, sec, k, base);
        /* A list emptied with `key = {}` is set nowhere. */
        if (cfg_size(sec, k->name) > 0)
            s->line[i] = conf_line_of(x, sec, k->name, 0);
    }
    for (size_t i = 0; i < conf_keys_count && !x->failed; i++)
        if (conf_keys[i].scope == scope && conf_keys[i].fix != NULL)
            conf_keys[i].fix(x, &conf_keys[i], base, s);
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
    p->uid = p->socket_uid = (uid_t)-1;
    p->gid = p->socket_gid = (gid_t)-1;
    return conf_copy_keys(x, sec, CONF_SCOPE_POOL, p, s);
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
    if (conf_copy_keys(x, cfg, CONF_SCOPE_TOP, c, &x->top) == -1)
        return -1;
    c->status_socket_uid = (uid_t)-1;
    c->status_socket_gid = (gid_t)-1;
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

/* The strings and lists of the keys of scope in base. */
static void
conf_free_keys(enum conf_scope scope, void *base)
{
    for (size_t i = 0; i < conf_keys_count; i++) {
        const struct conf_key *k = &conf_keys[i];
        if (k->scope != scope || !conf_keys_is_str(k))
            continue;
        if (k->type == CONF_T_LIST)
            conf_strv_free(*(char ***)conf_keys_field(k, base));
        else
            free(*(char **)conf_keys_field(k, base));
    }
}

void
conf_free(struct conf *c)
{
    for (size_t i = 0; i < c->npools; i++) {
        conf_free_keys(CONF_SCOPE_POOL, &c->pools[i]);
        free(c->pools[i].name);
        free(c->pools[i].command_path);
        conf_strv_free(c->pools[i].watch);
    }
    free(c->pools);
    conf_free_keys(CONF_SCOPE_TOP, c);
    free(c->path);
    memset(c, 0, sizeof(*c));
}

static void
conf_ctx_free(struct conf_ctx *x, size_t npools)
{
    for (size_t i = 0; x->src != NULL && i < npools; i++) {
        free(x->src[i].listen);
        free(x->src[i].line);
    }
    free(x->src);
    free(x->top.line);
    free(x->lines);
    free(x->sections);
}

int
conf_load(const struct conf_cli *cli, struct conf *out, char *err,
          size_t errlen)
{
    struct conf_ctx x = { .file = cli->config, .err = err,
                          .errlen = errlen };
    cfg_opt_t *opts, *top = NULL;
    cfg_t *cfg = NULL;
    int rc = -1;

    memset(out, 0, sizeof(*out));
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    conf_cur = &x;
    /* cfg_init() copies the options, and the sections' with them. */
    if ((opts = conf_opts_build(&top)) != NULL)
        cfg = cfg_init(top, CFGF_NONE);
    free(opts);
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
