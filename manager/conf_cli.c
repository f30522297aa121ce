/* The command line over the file: its options applied to the top level
 * and to the default pool, and what messages call each key the CLI sets. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "conf_int.h"
#include "fcgi_addr.h"

/* What the CLI calls each key. */
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

void
conf_cli_init(struct conf_cli *cli)
{
    memset(cli, 0, sizeof(*cli));
    cli->workers = -1;
    cli->daemon = -1;
}

const char *
conf_cli_option(const char *key)
{
    for (size_t i = 0; i < CONF_NELEM(conf_cli_names); i++)
        if (strcmp(conf_cli_names[i].key, key) == 0)
            return conf_cli_names[i].option;
    return key;
}

bool
conf_cli_has_pool_opts(const struct conf_cli *cli)
{
    return cli->binds != NULL || cli->workers != -1 || cli->mode != NULL
           || cli->user != NULL || cli->group != NULL
           || cli->socket_mode != NULL || cli->socket_user != NULL
           || cli->socket_group != NULL || cli->command != NULL;
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

int
conf_cli_apply(struct conf_ctx *x, const struct conf_cli *cli, struct conf *c)
{
    if (conf_cli_top(x, cli, c) == -1 || conf_cli_pool(x, cli, c) == -1)
        return -1;
    return 0;
}
