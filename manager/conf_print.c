/* conf_print(): the effective configuration (fcgipm -t) in the file's
 * syntax, so that conf_load() reads back what it printed. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "conf.h"
#include "conf_int.h"

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
    if (p->mode == MODE_CGI)
        fprintf(f, "%scgi_no_new_privs = %s\n", in,
                p->cgi_no_new_privs ? "true" : "false");
    conf_print_key_str(f, in, "module", p->module);
    if (p->nmodule_args > 1)
        conf_print_list(f, in, "module_args", p->module_args + 1,
                        p->nmodule_args - 1);
    if (p->mode == MODE_MODULE)
        fprintf(f, "%spreload = %s\n", in, p->preload ? "true" : "false");
    conf_print_size(f, in, "max_body", p->max_body);
    conf_print_duration(f, in, "request_timeout", p->request_timeout_ms);
    conf_print_duration(f, in, "read_timeout", p->read_timeout_ms);
    conf_print_duration(f, in, "keepalive_timeout", p->keepalive_timeout_ms);
    fprintf(f, "%skeepalive_max = %u\n", in, p->keepalive_max);
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
    conf_print_size(f, in, "output_rate_limit", p->output_rate_limit);
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
    conf_print_duration(f, "", "upgrade_timeout", c->upgrade_timeout_ms);
    conf_print_key_str(f, "", "status_listen", c->status_listen);
    fprintf(f, "status_socket_mode = %04o\n",
            (unsigned)c->status_socket_mode);
    conf_print_key_str(f, "", "status_socket_user", c->status_socket_user);
    conf_print_key_str(f, "", "status_socket_group", c->status_socket_group);
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
