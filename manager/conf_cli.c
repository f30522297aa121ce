/* The command line over the file: its options applied to the top level
 * and to the default pool, and what messages call each key the CLI sets. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "conf_int.h"

/* Room for why a value is wrong: an error names the value whole, as far
 * as the caller's buffer goes. */
#define CONF_CLI_WHY_MAX 4096

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
    const struct conf_key *k = conf_keys_find(key);

    return k != NULL && k->option != NULL ? k->option : key;
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

/* Key set by the CLI to value over what the file said, in base (c or a
 * pool), checked as the file's value would be; s notes where it came
 * from. 0, or -1 having said why, naming the option. */
static int
conf_cli_set(struct conf_ctx *x, const char *key, const char *value,
             void *base, struct conf_src *s)
{
    const struct conf_key *k = conf_keys_find(key);
    char why[CONF_CLI_WHY_MAX];
    long long n;

    if (value == NULL)
        return 0;
    if (conf_value_parse_key(k, value, 0, &n, why, sizeof(why)) == -1) {
        conf_fail(x, "%s: %s", k->option, why);
        return -1;
    }
    conf_keys_set_line(s, key, CONF_FROM_CLI);
    if (conf_keys_is_str(k))
        return conf_cli_replace_str(x, conf_keys_field(k, base), value);
    conf_keys_set(k, base, n);
    return 0;
}

static int
conf_cli_top(struct conf_ctx *x, const struct conf_cli *cli, struct conf *c)
{
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
    if (conf_cli_set(x, "log_level", cli->log_level, c, &x->top) == -1)
        return -1;
    if (cli->daemon == 1)
        c->daemon = true;
    return 0;
}

static int
conf_cli_binds(struct conf_ctx *x, const char **binds, struct pool_conf *p,
               struct conf_src *s)
{
    const struct conf_key *k = conf_keys_find("listen");
    char why[CONF_CLI_WHY_MAX];
    long long unused;
    size_t n = 0;

    for (; binds[n] != NULL; n++)
        if (conf_value_parse_key(k, binds[n], 0, &unused, why, sizeof(why))
            == -1) {
            conf_fail(x, "%s: %s", k->option, why);
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
    conf_keys_set_line(s, k->name, CONF_FROM_CLI);
    return 0;
}

static int
conf_cli_ids(struct conf_ctx *x, const struct conf_cli *cli,
             struct pool_conf *p, struct conf_src *s)
{
    if (conf_cli_set(x, "user", cli->user, p, s) == -1
        || conf_cli_set(x, "group", cli->group, p, s) == -1
        || conf_cli_set(x, "socket_user", cli->socket_user, p, s) == -1
        || conf_cli_set(x, "socket_group", cli->socket_group, p, s) == -1)
        return -1;
    return 0;
}

static int
conf_cli_mode(struct conf_ctx *x, const struct conf_cli *cli,
              struct pool_conf *p, struct conf_src *s)
{
    if (conf_cli_set(x, "socket_mode", cli->socket_mode, p, s) == -1
        || conf_cli_set(x, "mode", cli->mode, p, s) == -1)
        return -1;
    /* With -m too, conf_check() names the mismatch. */
    if (cli->mode == NULL && cli->command != NULL) {
        p->mode = MODE_EXEC;
        conf_keys_set_line(s, "mode", CONF_FROM_CLI);
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
    conf_keys_set_line(s, "command", CONF_FROM_CLI);
    return 0;
}

/* -w, checked here once: against max_workers, which the file has set by
 * now. */
static int
conf_cli_workers(struct conf_ctx *x, long workers, struct pool_conf *p,
                 struct conf_src *s)
{
    const struct conf_key *k = conf_keys_find("workers");
    char why[CONF_CLI_WHY_MAX];

    if (conf_value_check_number(k, workers, (long)p->max_workers, why,
                                sizeof(why)) == -1) {
        conf_fail(x, "%s: %s", k->option, why);
        return -1;
    }
    p->workers = (unsigned)workers;
    conf_keys_set_line(s, k->name, CONF_FROM_CLI);
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
    if (cli->workers != -1)
        return conf_cli_workers(x, cli->workers, p, s);
    return 0;
}

int
conf_cli_apply(struct conf_ctx *x, const struct conf_cli *cli, struct conf *c)
{
    if (conf_cli_top(x, cli, c) == -1 || conf_cli_pool(x, cli, c) == -1)
        return -1;
    return 0;
}
