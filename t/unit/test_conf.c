/* Unit tests for manager/conf.c: the defaults, every key, every error with
 * its file, line and key, the CLI over the file over the defaults, and the
 * round trip through conf_print(). Config files go into a mkdtemp dir. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"

#define TEST_ERR_MAX 1024

/* A config's first two lines in the error tables: errors start on line 3. */
#define BASE "listen = \"unix:/tmp/fcgipm-test.sock\"\n" \
             "command = \"/bin/sh\"\n"
/* The same for cgi and module pools: errors start on line 4. */
#define CGI "listen = \"unix:/tmp/fcgipm-test.sock\"\n" \
            "mode = cgi\ncgi_root = /tmp\n"
#define MOD "listen = \"unix:/tmp/fcgipm-test.sock\"\n" \
            "mode = module\nmodule = \"builtin:hello\"\n"
#define ACCESS_FORMAT "%R - %u %t \"%m %r%Q%q\" %s %d"
#define NO_EFFECT "has no effect in mode exec (fcgipm does not see exec " \
                  "workers' requests)"
#define NO_DYNAMIC "pm: dynamic needs mode cgi or module (fcgipm cannot " \
                   "see whether exec workers are busy; use adaptive)"
#define NOT_IPV4 "is not an IPv4 address (libfcgi checks IPv4 peers only)"
#define NOT_ABS "is not an absolute path (with chroot, workers look it up " \
                "inside /tmp)"
#define NOT_SIZE_CORE "is neither unlimited nor a size (like 512k, 10m, " \
                      "1g, or a number of bytes)"

static char test_dir[] = "/tmp/test_conf.XXXXXX";
static char test_file[256];        /* the config of the current test */

/* Write text to name in test_dir; the path goes into buf. */
static void
test_write(char *buf, size_t len, const char *name, const char *text,
           size_t textlen)
{
    snprintf(buf, len, "%s/%s", test_dir, name);
    FILE *f = fopen(buf, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, textlen, f), textlen);
    assert_int_equal(fclose(f), 0);
}

/* Load text as the config file, with cli's other settings. */
static int
test_load(const char *text, struct conf_cli *cli, struct conf *c, char *err)
{
    test_write(test_file, sizeof(test_file), "t.conf", text, strlen(text));
    cli->config = test_file;
    return conf_load(cli, c, err, TEST_ERR_MAX);
}

/* Load text, which must be valid. */
static void
test_load_ok(const char *text, struct conf *c)
{
    struct conf_cli cli;
    char err[TEST_ERR_MAX];

    conf_cli_init(&cli);
    if (test_load(text, &cli, c, err) == -1)
        fail_msg("unexpected error: %s", err);
}

/* Load text, which must fail with "FILE:LINE: msg" (line > 0) or msg. */
static void
test_load_bad(const char *text, int line, const char *msg, bool prefix)
{
    struct conf_cli cli;
    struct conf c;
    char err[TEST_ERR_MAX], want[TEST_ERR_MAX];

    conf_cli_init(&cli);
    if (test_load(text, &cli, &c, err) == 0) {
        conf_free(&c);
        fail_msg("no error for:\n%s", text);
    }
    if (line > 0)
        snprintf(want, sizeof(want), "%s:%d: %s", test_file, line, msg);
    else
        snprintf(want, sizeof(want), "%s", msg);
    if (prefix ? strncmp(err, want, strlen(want)) != 0
               : strcmp(err, want) != 0)
        fail_msg("for:\n%s\nwant: %s\n got: %s", text, want, err);
    /* A failed load leaves nothing to free. */
    assert_int_equal(c.npools, 0);
    assert_null(c.pools);
    assert_null(c.log);
    conf_free(&c);
}

/* conf_print() into a malloc'd string. */
static char *
test_print(const struct conf *c)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    assert_non_null(f);
    conf_print(c, f);
    assert_int_equal(fclose(f), 0);
    return buf;
}

static int
test_setup(void **state)
{
    (void)state;
    return mkdtemp(test_dir) == NULL ? -1 : 0;
}

static int
test_teardown(void **state)
{
    char cmd[PATH_MAX + 16];

    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", test_dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Defaults. */

static void
test_defaults(void **state)
{
    struct conf c;

    (void)state;
    test_load_ok(BASE, &c);
    assert_string_equal(c.path, test_file);
    assert_null(c.pid_file);
    assert_string_equal(c.log, "stderr");
    assert_int_equal(c.log_level, LOG_LEVEL_INFO);
    assert_false(c.daemon);
    assert_null(c.status_listen);
    assert_int_equal(c.status_socket_mode, 0660);
    assert_int_equal(c.upgrade_timeout_ms, 30000);
    assert_string_equal(c.status_path, "/status");
    assert_string_equal(c.ping_path, "/ping");
    assert_int_equal(c.npools, 1);
    const struct pool_conf *p = &c.pools[0];
    assert_string_equal(p->name, "default");
    assert_int_equal(p->nlisten, 1);
    assert_string_equal(p->listen[0], "unix:/tmp/fcgipm-test.sock");
    assert_null(p->listen[1]);
    assert_int_equal(p->backlog, 511);
    assert_int_equal(p->socket_mode, 0660);
    assert_null(p->socket_user);
    assert_null(p->socket_group);
    assert_int_equal(p->socket_uid, (uid_t)-1);
    assert_int_equal(p->socket_gid, (gid_t)-1);
    assert_int_equal(p->mode, MODE_EXEC);
    assert_int_equal(p->pm, PM_STATIC);
    assert_int_equal(p->ncommand, 1);
    assert_string_equal(p->command[0], "/bin/sh");
    assert_null(p->command[1]);
    assert_string_equal(p->command_path, "/bin/sh");
    assert_null(p->user);
    assert_null(p->group);
    assert_int_equal(p->uid, (uid_t)-1);
    assert_int_equal(p->gid, (gid_t)-1);
    assert_null(p->chdir);
    assert_true(p->clear_env);
    assert_int_equal(p->nenv, 0);
    assert_non_null(p->env);
    assert_null(p->env[0]);
    assert_int_equal(p->workers, 1);
    assert_int_equal(p->max_workers, 256);
    assert_int_equal(p->stop_signal, SIGUSR1);
    assert_int_equal(p->graceful_timeout_ms, 30000);
    assert_int_equal(p->kill_timeout_ms, 5000);
    assert_int_equal(p->backoff_min_ms, 100);
    assert_int_equal(p->backoff_max_ms, 30000);
    assert_int_equal(p->min_uptime_ms, 1000);
    assert_null(p->cgi_root);
    assert_null(p->module);
    assert_null(p->module_args);
    assert_int_equal(p->nmodule_args, 0);
    assert_false(p->preload);
    assert_int_equal(p->max_body, 0);
    assert_int_equal(p->request_timeout_ms, 0);
    assert_int_equal(p->max_requests, 0);
    assert_int_equal(p->max_requests_jitter, 0);
    assert_int_equal(p->max_rss, 0);
    assert_int_equal(p->slow_request_time_ms, 0);
    assert_null(p->slowlog);
    assert_null(p->access_log);
    assert_string_equal(p->access_format, ACCESS_FORMAT);
    /* A static pool: min_workers is no key, and nothing shrinks below 0. */
    assert_int_equal(p->min_workers, 0);
    assert_int_equal(p->min_spare, 1);
    assert_int_equal(p->max_spare, 3);
    assert_int_equal(p->idle_timeout_ms, 10000);
    assert_int_equal(p->max_spawn_rate, 32);
    assert_null(p->chroot);
    assert_int_equal(p->rlimit_files, -1);
    assert_int_equal(p->rlimit_core, -1);
    assert_int_equal(p->priority, 0);
    assert_false(p->has_priority);
    assert_null(p->allowed_clients);
    assert_int_equal(p->nallowed_clients, 0);
    conf_free(&c);
    assert_null(c.pools);
    assert_int_equal(c.npools, 0);
    assert_null(c.status_path);
}

/* No file at all: the defaults and the CLI. */
static void
test_defaults_without_file(void **state)
{
    static const char *binds[] = { "127.0.0.1:9000", NULL };
    static char *command[] = { "/bin/sh", "-c", "exit 0", NULL };
    struct conf_cli cli;
    struct conf c;
    char err[TEST_ERR_MAX];

    (void)state;
    conf_cli_init(&cli);
    cli.binds = binds;
    cli.command = command;
    assert_int_equal(conf_load(&cli, &c, err, sizeof(err)), 0);
    assert_null(c.path);
    assert_string_equal(c.log, "stderr");
    assert_int_equal(c.npools, 1);
    assert_string_equal(c.pools[0].name, "default");
    assert_string_equal(c.pools[0].listen[0], "127.0.0.1:9000");
    assert_int_equal(c.pools[0].ncommand, 3);
    assert_string_equal(c.pools[0].command[2], "exit 0");
    assert_int_equal(c.pools[0].workers, 1);
    conf_free(&c);
}

/* Every key. */

static void
test_every_key(void **state)
{
    struct conf c;

    (void)state;
    test_load_ok("pid_file = \"/run/t.pid\"\n"
                 "log = syslog\n"
                 "log_level = debug\n"
                 "daemon = yes\n"
                 "upgrade_timeout = 2m\n"
                 "status_listen = \"unix:/tmp/st.sock\"\n"
                 "status_socket_mode = 600\n"
                 "status_socket_user = root\n"
                 "status_socket_group = \"0\"\n"
                 "status_path = \"/fpm-status\"\n"
                 "ping_path = /fpm-ping\n"
                 "listen = {\"[::1]:9001\"}\n"
                 "backlog = 64\n"
                 "socket_mode = \"0600\"\n"
                 "socket_user = root\n"
                 "socket_group = \"0\"\n"
                 "mode = exec\n"
                 "pm = static\n"
                 "command = {\"/bin/sh\", \"-c\", \"exec cat\"}\n"
                 "user = root\n"
                 "group = root\n"
                 "chdir = /tmp\n"
                 "clear_env = false\n"
                 "env = {\"A=1\", \"B_2=x=y\", \"EMPTY=\"}\n"
                 "workers = 7\n"
                 "max_workers = 9\n"
                 "stop_signal = SIGQUIT\n"
                 "graceful_timeout = 1m\n"
                 "kill_timeout = 2.5s\n"
                 "restart_backoff = 50ms\n"
                 "restart_backoff_max = 10\n"
                 "min_uptime = 0\n"
                 "max_spawn_rate = 0\n"
                 "rlimit_files = 65536\n"
                 "rlimit_core = 0\n"
                 "priority = 0\n", &c);
    assert_string_equal(c.pid_file, "/run/t.pid");
    assert_string_equal(c.status_listen, "unix:/tmp/st.sock");
    assert_int_equal(c.status_socket_mode, 0600);
    assert_string_equal(c.status_socket_user, "root");
    assert_int_equal(c.status_socket_uid, 0);
    assert_int_equal(c.status_socket_gid, 0);
    assert_string_equal(c.status_path, "/fpm-status");
    assert_string_equal(c.ping_path, "/fpm-ping");
    assert_string_equal(c.log, "syslog");
    assert_int_equal(c.log_level, LOG_LEVEL_DEBUG);
    assert_true(c.daemon);
    assert_int_equal(c.upgrade_timeout_ms, 120000);
    const struct pool_conf *p = &c.pools[0];
    assert_int_equal(p->nlisten, 1);
    assert_string_equal(p->listen[0], "[::1]:9001");
    assert_int_equal(p->backlog, 64);
    assert_int_equal(p->socket_mode, 0600);
    assert_string_equal(p->socket_user, "root");
    assert_string_equal(p->socket_group, "0");
    assert_int_equal(p->socket_uid, 0);
    assert_int_equal(p->socket_gid, 0);
    assert_int_equal(p->ncommand, 3);
    assert_string_equal(p->command[2], "exec cat");
    assert_string_equal(p->user, "root");
    assert_string_equal(p->group, "root");
    assert_int_equal(p->uid, 0);
    assert_int_equal(p->gid, 0);
    assert_string_equal(p->chdir, "/tmp");
    assert_false(p->clear_env);
    assert_int_equal(p->nenv, 3);
    assert_string_equal(p->env[1], "B_2=x=y");
    assert_string_equal(p->env[2], "EMPTY=");
    assert_null(p->env[3]);
    assert_int_equal(p->workers, 7);
    assert_int_equal(p->max_workers, 9);
    assert_int_equal(p->stop_signal, SIGQUIT);
    assert_int_equal(p->graceful_timeout_ms, 60000);
    assert_int_equal(p->kill_timeout_ms, 2500);
    assert_int_equal(p->backoff_min_ms, 50);
    assert_int_equal(p->backoff_max_ms, 10000);
    assert_int_equal(p->min_uptime_ms, 0);
    assert_int_equal(p->max_spawn_rate, 0);
    assert_int_equal(p->rlimit_files, 65536);
    assert_int_equal(p->rlimit_core, 0);
    /* Set, even to 0: the worker sets it (the master may be niced). */
    assert_int_equal(p->priority, 0);
    assert_true(p->has_priority);
    conf_free(&c);
}

/* libconfuse 3.3 takes one string for a list; `+=` appends. */
static void
test_lists_single_string_and_append(void **state)
{
    struct conf c;

    (void)state;
    test_load_ok("listen = \"/tmp/one.sock\"\n"
                 "command = /bin/sh\n"
                 "command += {\"-c\", \"true\"}\n"
                 "env = \"A=1\"\n"
                 "env += \"B=2\"\n", &c);
    assert_int_equal(c.pools[0].nlisten, 1);
    assert_string_equal(c.pools[0].listen[0], "/tmp/one.sock");
    assert_int_equal(c.pools[0].ncommand, 3);
    assert_string_equal(c.pools[0].command[2], "true");
    assert_int_equal(c.pools[0].nenv, 2);
    assert_string_equal(c.pools[0].env[1], "B=2");
    conf_free(&c);
}

/* A key given twice: the last one wins, a list starts over with `=`. */
static void
test_last_value_wins(void **state)
{
    struct conf c;

    (void)state;
    test_load_ok(BASE "workers = 2\nworkers = 3\n"
                 "listen = {\"/tmp/x.sock\"}\n", &c);
    assert_int_equal(c.pools[0].workers, 3);
    assert_int_equal(c.pools[0].nlisten, 1);
    assert_string_equal(c.pools[0].listen[0], "/tmp/x.sock");
    conf_free(&c);
}

static void
test_durations(void **state)
{
    static const struct {
        const char *text;
        unsigned ms;
    } cases[] = {
        { "30s", 30000 },  { "500ms", 500 },    { "2m", 120000 },
        { "1.5s", 1500 },  { "10", 10000 },     { "0.25", 250 },
        { "1h", 3600000 }, { "0", 0 },          { "\"7s\"", 7000 },
        { "0.0005s", 1 },  { "0.0004s", 0 },    { "24h", 86400000 },
        { "1.25m", 75000 }, { "86400", 86400000 },
    };
    char text[256];
    struct conf c;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(text, sizeof(text), BASE "graceful_timeout = %s\n",
                 cases[i].text);
        test_load_ok(text, &c);
        if (c.pools[0].graceful_timeout_ms != cases[i].ms)
            fail_msg("%s: %u ms, want %u", cases[i].text,
                     c.pools[0].graceful_timeout_ms, cases[i].ms);
        conf_free(&c);
    }
}

static void
test_stop_signals(void **state)
{
    static const struct {
        const char *text;
        int sig;
    } cases[] = {
        { "USR1", SIGUSR1 }, { "SIGTERM", SIGTERM }, { "QUIT", SIGQUIT },
        { "INT", SIGINT },   { "HUP", SIGHUP },      { "USR2", SIGUSR2 },
        { "KILL", SIGKILL }, { "TERM", SIGTERM },    { "sigusr1", SIGUSR1 },
    };
    char text[256];
    struct conf c;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(text, sizeof(text), BASE "stop_signal = %s\n",
                 cases[i].text);
        test_load_ok(text, &c);
        assert_int_equal(c.pools[0].stop_signal, cases[i].sig);
        conf_free(&c);
    }
}

static void
test_signal_names(void **state)
{
    (void)state;
    assert_int_equal(conf_signal_number("USR1"), SIGUSR1);
    assert_int_equal(conf_signal_number("SIGUSR1"), SIGUSR1);
    assert_int_equal(conf_signal_number("SIGTERM"), SIGTERM);
    assert_int_equal(conf_signal_number("quit"), SIGQUIT);
    assert_int_equal(conf_signal_number("SigInt"), SIGINT);
    assert_int_equal(conf_signal_number("WINCH"), SIGWINCH);
    assert_int_equal(conf_signal_number("NOPE"), -1);
    assert_int_equal(conf_signal_number("SIG"), -1);
    assert_int_equal(conf_signal_number(""), -1);
    assert_int_equal(conf_signal_number("15"), -1);
    assert_int_equal(conf_signal_number(NULL), -1);
    assert_string_equal(conf_signal_name(SIGUSR1), "USR1");
    assert_string_equal(conf_signal_name(SIGKILL), "KILL");
    assert_string_equal(conf_signal_name(SIGTTIN), "TTIN");
    assert_string_equal(conf_signal_name(0), "?");
    assert_string_equal(conf_signal_name(1000), "?");
    for (int sig = 1; sig < 32; sig++) {
        const char *name = conf_signal_name(sig);
        if (strcmp(name, "?") != 0)
            assert_int_equal(conf_signal_number(name), sig);
    }
}

static void
test_enums(void **state)
{
    static const struct {
        const char *text;
        enum pm_kind pm;
    } pms[] = {
        { CGI "pm = static\n", PM_STATIC },
        { CGI "pm = dynamic\n", PM_DYNAMIC },
        { CGI "pm = ondemand\n", PM_ONDEMAND },
        { CGI "pm = adaptive\n", PM_ADAPTIVE },
        { BASE "pm = ondemand\n", PM_ONDEMAND },
        { BASE "pm = adaptive\n", PM_ADAPTIVE },
    };
    struct conf c;

    (void)state;
    test_load_ok(BASE "mode = exec\npm = static\nlog_level = error\n", &c);
    assert_int_equal(c.log_level, LOG_LEVEL_ERROR);
    conf_free(&c);
    test_load_ok(BASE "log_level = warn\n", &c);
    assert_int_equal(c.log_level, LOG_LEVEL_WARN);
    conf_free(&c);
    test_load_ok(MOD, &c);
    assert_int_equal(c.pools[0].mode, MODE_MODULE);
    conf_free(&c);
    test_load_ok(CGI, &c);
    assert_int_equal(c.pools[0].mode, MODE_CGI);
    conf_free(&c);
    for (size_t i = 0; i < sizeof(pms) / sizeof(pms[0]); i++) {
        test_load_ok(pms[i].text, &c);
        assert_int_equal(c.pools[0].pm, pms[i].pm);
        conf_free(&c);
    }
}

/* Users and groups by name or number; a user alone brings its group. */
static void
test_users_and_groups(void **state)
{
    struct passwd *pw = getpwnam("daemon");
    struct conf c;

    (void)state;
    test_load_ok(BASE "user = \"0\"\n", &c);
    assert_int_equal(c.pools[0].uid, 0);
    assert_int_equal(c.pools[0].gid, 0);
    conf_free(&c);
    test_load_ok(BASE "user = \"54321\"\ngroup = \"54322\"\n", &c);
    assert_int_equal(c.pools[0].uid, 54321);
    assert_int_equal(c.pools[0].gid, 54322);
    conf_free(&c);
    test_load_ok(BASE "group = root\n", &c);
    assert_int_equal(c.pools[0].uid, (uid_t)-1);
    assert_int_equal(c.pools[0].gid, 0);
    conf_free(&c);
    if (pw == NULL)
        return;
    test_load_ok(BASE "user = daemon\n", &c);
    assert_int_equal(c.pools[0].uid, pw->pw_uid);
    assert_int_equal(c.pools[0].gid, pw->pw_gid);
    conf_free(&c);
    test_load_ok(BASE "user = daemon\ngroup = root\n", &c);
    assert_int_equal(c.pools[0].uid, pw->pw_uid);
    assert_int_equal(c.pools[0].gid, 0);
    conf_free(&c);
}

/* An executable script in test_dir, for command resolution. */
static void
test_make_app(const char *name, mode_t mode)
{
    static const char script[] = "#!/bin/sh\nexit 0\n";
    char path[PATH_MAX];

    test_write(path, sizeof(path), name, script, sizeof(script) - 1);
    assert_int_equal(chmod(path, mode), 0);
}

static void
test_command_resolution(void **state)
{
    char text[PATH_MAX * 2], want[PATH_MAX * 2], cwd[PATH_MAX];
    char *saved = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
    struct conf c;

    (void)state;
    test_make_app("app", 0755);
    test_make_app("noexec", 0644);
    /* A name without '/' is searched in PATH. */
    assert_int_equal(setenv("PATH", test_dir, 1), 0);
    test_load_ok("listen = \"/tmp/x.sock\"\n"
                 "command = {\"app\", \"-v\"}\n", &c);
    snprintf(want, sizeof(want), "%s/app", test_dir);
    assert_string_equal(c.pools[0].command_path, want);
    assert_string_equal(c.pools[0].command[0], "app");
    conf_free(&c);
    test_load_bad("listen = \"/tmp/x.sock\"\ncommand = \"noexec\"\n", 2,
                  "command: 'noexec' not found in PATH", false);
    if (saved != NULL)
        assert_int_equal(setenv("PATH", saved, 1), 0);
    free(saved);
    /* A relative path is relative to chdir, as the worker execs it. */
    snprintf(text, sizeof(text), "listen = \"/tmp/x.sock\"\n"
             "command = \"./app\"\nchdir = \"%s\"\n", test_dir);
    test_load_ok(text, &c);
    snprintf(want, sizeof(want), "%s/./app", test_dir);
    assert_string_equal(c.pools[0].command_path, want);
    conf_free(&c);
    /* Without chdir, relative to the current directory. */
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    assert_int_equal(chdir(test_dir), 0);
    test_load_ok("listen = \"/tmp/x.sock\"\ncommand = \"./app\"\n", &c);
    assert_string_equal(c.pools[0].command_path, want);
    conf_free(&c);
    test_load_bad("listen = \"/tmp/x.sock\"\ncommand = \"./noexec\"\n", 2,
                  "command: './noexec' is not executable", false);
    assert_int_equal(chdir(cwd), 0);
}

/* cgi and module modes. */

static void
test_cgi_pool(void **state)
{
    char text[PATH_MAX * 4], real[PATH_MAX], path[PATH_MAX], cwd[PATH_MAX];
    struct conf c;

    (void)state;
    snprintf(path, sizeof(path), "%s/cgi-real", test_dir);
    assert_int_equal(mkdir(path, 0755), 0);
    assert_non_null(realpath(path, real));
    snprintf(path, sizeof(path), "%s/cgi-link", test_dir);
    assert_int_equal(symlink("cgi-real", path), 0);
    snprintf(text, sizeof(text), "listen = \"/tmp/x.sock\"\nmode = cgi\n"
             "cgi_root = \"%s/cgi-link\"\nmax_body = 10m\n"
             "request_timeout = 1.5s\nmax_requests = 500\n"
             "max_requests_jitter = 1000\nmax_rss = 512k\n"
             "slow_request_time = 250ms\nslowlog = \"%s/slow.log\"\n"
             "access_log = \"%s/access.log\"\naccess_format = \"%%n %%p\"\n",
             test_dir, test_dir, test_dir);
    test_load_ok(text, &c);
    const struct pool_conf *p = &c.pools[0];
    assert_int_equal(p->mode, MODE_CGI);
    /* Its realpath: the root that scripts' realpaths are compared with. */
    assert_string_equal(p->cgi_root, real);
    assert_int_equal(p->ncommand, 0);
    assert_null(p->command_path);
    assert_null(p->module);
    assert_null(p->module_args);
    assert_int_equal(p->nmodule_args, 0);
    assert_int_equal(p->max_body, 10 * 1024 * 1024);
    assert_int_equal(p->request_timeout_ms, 1500);
    assert_int_equal(p->max_requests, 500);
    /* A jitter above max_requests only spreads recycling further. */
    assert_int_equal(p->max_requests_jitter, 1000);
    assert_int_equal(p->max_rss, 512 * 1024);
    assert_int_equal(p->slow_request_time_ms, 250);
    snprintf(path, sizeof(path), "%s/slow.log", test_dir);
    assert_string_equal(p->slowlog, path);
    snprintf(path, sizeof(path), "%s/access.log", test_dir);
    assert_string_equal(p->access_log, path);
    assert_string_equal(p->access_format, "%n %p");
    conf_free(&c);
    /* A relative cgi_root is relative to chdir, like command. */
    snprintf(text, sizeof(text), "listen = \"/tmp/x.sock\"\nmode = cgi\n"
             "cgi_root = cgi-link\nchdir = \"%s\"\n", test_dir);
    test_load_ok(text, &c);
    assert_string_equal(c.pools[0].cgi_root, real);
    conf_free(&c);
    /* Without chdir, to the directory fcgipm runs in. */
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    assert_int_equal(chdir(test_dir), 0);
    test_load_ok("listen = \"/tmp/x.sock\"\nmode = cgi\n"
                 "cgi_root = ./cgi-link/\n", &c);
    assert_string_equal(c.pools[0].cgi_root, real);
    conf_free(&c);
    test_load_bad("listen = \"/tmp/x.sock\"\nmode = cgi\n"
                  "cgi_root = ./nope\n", 3,
                  "cgi_root: './nope': No such file or directory", false);
    assert_int_equal(chdir(cwd), 0);
    /* An emptied command list is no command. */
    test_load_ok(CGI "command = \"/bin/sh\"\ncommand = {}\n", &c);
    assert_int_equal(c.pools[0].ncommand, 0);
    conf_free(&c);
}

/* A module file in test_dir/mods, readable or not. */
static void
test_make_module(const char *name, mode_t mode)
{
    char path[PATH_MAX];

    snprintf(path, sizeof(path), "%s/mods", test_dir);
    assert_true(mkdir(path, 0755) == 0 || errno == EEXIST);
    snprintf(path, sizeof(path), "mods/%s", name);
    test_make_app(path, mode);
}

static void
test_module_pool(void **state)
{
    char text[PATH_MAX * 2], want[TEST_ERR_MAX], cwd[PATH_MAX];
    struct conf c;

    (void)state;
    /* Without module_args, fcgipm_init gets argv = {module}. */
    test_load_ok(MOD, &c);
    const struct pool_conf *p = &c.pools[0];
    assert_int_equal(p->mode, MODE_MODULE);
    assert_string_equal(p->module, "builtin:hello");
    assert_int_equal(p->nmodule_args, 1);
    assert_string_equal(p->module_args[0], "builtin:hello");
    assert_null(p->module_args[1]);
    assert_false(p->preload);
    assert_null(p->cgi_root);
    conf_free(&c);
    /* With them, the module comes first. */
    test_load_ok(MOD "module = \"builtin:echo\"\n"
                 "module_args = {\"-v\", \"a b\", \"\"}\n"
                 "module_args += \"last\"\npreload = yes\n", &c);
    p = &c.pools[0];
    assert_int_equal(p->nmodule_args, 5);
    assert_string_equal(p->module_args[0], "builtin:echo");
    assert_string_equal(p->module_args[1], "-v");
    assert_string_equal(p->module_args[2], "a b");
    assert_string_equal(p->module_args[3], "");
    assert_string_equal(p->module_args[4], "last");
    assert_null(p->module_args[5]);
    assert_true(p->preload);
    conf_free(&c);
    /* A path is kept as written. */
    test_make_module("m.so", 0644);
    snprintf(text, sizeof(text), MOD "module = \"%s/mods/m.so\"\n"
             "module_args = x\n", test_dir);
    test_load_ok(text, &c);
    snprintf(want, sizeof(want), "%s/mods/m.so", test_dir);
    assert_string_equal(c.pools[0].module, want);
    assert_string_equal(c.pools[0].module_args[0], want);
    assert_string_equal(c.pools[0].module_args[1], "x");
    conf_free(&c);
    /* Relative to chdir: the worker loads it after changing directory. */
    snprintf(text, sizeof(text), MOD "module = ./mods/m.so\n"
             "chdir = \"%s\"\n", test_dir);
    test_load_ok(text, &c);
    assert_string_equal(c.pools[0].module, "./mods/m.so");
    conf_free(&c);
    /* With preload the master loads it, from its own directory. */
    snprintf(text, sizeof(text), MOD "module = ./mods/m.so\n"
             "chdir = \"%s\"\npreload = true\n", test_dir);
    test_load_bad(text, 4, "module: './mods/m.so': No such file or directory",
                  false);
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    assert_int_equal(chdir(test_dir), 0);
    test_load_ok(MOD "module = mods/m.so\npreload = true\n", &c);
    assert_string_equal(c.pools[0].module, "mods/m.so");
    conf_free(&c);
    assert_int_equal(chdir(cwd), 0);
    /* root reads anything. */
    if (geteuid() == 0)
        return;
    test_make_module("unreadable.so", 0);
    snprintf(text, sizeof(text), MOD "module = \"%s/mods/unreadable.so\"\n",
             test_dir);
    snprintf(want, sizeof(want), "module: '%s/mods/unreadable.so' is not "
             "readable", test_dir);
    test_load_bad(text, 4, want, false);
}

/* Sizes in, and out in the largest unit that is exact. */
static void
test_sizes(void **state)
{
    static const struct {
        const char *text;
        unsigned long long bytes;
        const char *printed;
    } cases[] = {
        { "0", 0, "0" },                  { "123", 123, "123" },
        { "1024", 1024, "1k" },           { "1k", 1024, "1k" },
        { "512K", 512 << 10, "512k" },    { "1536k", 1536 << 10, "1536k" },
        { "10m", 10 << 20, "10m" },       { "2048M", 2ULL << 30, "2g" },
        { "1g", 1ULL << 30, "1g" },       { "1024G", 1ULL << 40, "1024g" },
        { "1099511627776", 1ULL << 40, "1024g" },
        { "\"7m\"", 7 << 20, "7m" },      { "007k", 7 << 10, "7k" },
        { "1025", 1025, "1025" },         { "0g", 0, "0" },
    };
    char text[256], want[64];
    struct conf c;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(text, sizeof(text), CGI "max_body = %s\nmax_rss = %s\n",
                 cases[i].text, cases[i].text);
        test_load_ok(text, &c);
        if (c.pools[0].max_body != cases[i].bytes
            || c.pools[0].max_rss != cases[i].bytes)
            fail_msg("%s: %llu and %llu bytes, want %llu", cases[i].text,
                     c.pools[0].max_body, c.pools[0].max_rss,
                     cases[i].bytes);
        char *out = test_print(&c);
        snprintf(want, sizeof(want), "\nmax_body = %s\n", cases[i].printed);
        if (strstr(out, want) == NULL)
            fail_msg("%s: printed as:\n%s", cases[i].text, out);
        snprintf(want, sizeof(want), "\nmax_rss = %s\n", cases[i].printed);
        assert_non_null(strstr(out, want));
        free(out);
        conf_free(&c);
    }
}

static void
test_access_formats(void **state)
{
    static const char *const formats[] = {
        "%R %u %t %m %r %q %Q %s %d %p %n %f %l %%",
        "plain text, no directive",
        "%%", "100%% of %n\\t%p", "\\\"%m %r%Q%q\\\"",
        "\xc3\xa9t\xc3\xa9 %R",
    };
    char text[512];
    struct conf c;

    (void)state;
    for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
        snprintf(text, sizeof(text), CGI "access_log = /tmp/a.log\n"
                 "access_format = \"%s\"\n", formats[i]);
        test_load_ok(text, &c);
        conf_free(&c);
    }
    test_load_ok(CGI "access_log = /tmp/a.log\n"
                 "access_format = \"%s\\t%d\"\n", &c);
    assert_string_equal(c.pools[0].access_format, "%s\t%d");
    conf_free(&c);
}

/* In exec mode, the keys about requests may still say their default. */
static void
test_exec_request_key_defaults(void **state)
{
    struct conf c;

    (void)state;
    test_load_ok(BASE "max_body = 0\nrequest_timeout = 0\nmax_requests = 0\n"
                 "max_requests_jitter = 0\nmax_rss = 0k\n"
                 "slow_request_time = 0ms\n"
                 "access_format = \"%R - %u %t \\\"%m %r%Q%q\\\" %s %d\"\n",
                 &c);
    assert_int_equal(c.pools[0].mode, MODE_EXEC);
    assert_string_equal(c.pools[0].access_format, ACCESS_FORMAT);
    conf_free(&c);
}

/* Log files are kept absolute: workers open them after their chdir. */
static void
test_log_paths_absolute(void **state)
{
    char cwd[PATH_MAX], here[PATH_MAX], want[PATH_MAX + 16];
    struct conf c;

    (void)state;
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    assert_int_equal(chdir(test_dir), 0);
    assert_non_null(getcwd(here, sizeof(here)));
    test_load_ok(CGI "slow_request_time = 1s\nslowlog = slow.log\n"
                 "access_log = \"./a.log\"\nchdir = /\n", &c);
    snprintf(want, sizeof(want), "%s/slow.log", here);
    assert_string_equal(c.pools[0].slowlog, want);
    snprintf(want, sizeof(want), "%s/./a.log", here);
    assert_string_equal(c.pools[0].access_log, want);
    conf_free(&c);
    assert_int_equal(chdir(cwd), 0);
}

/* Process managers. */

/* Each pm's sizes as conf_load() leaves them. */
static void
test_pm_sizes(void **state)
{
    static const struct {
        const char *text;
        enum pm_kind pm;
        unsigned workers, min_workers, max_workers;
        unsigned min_spare, max_spare, idle_timeout_ms;
    } cases[] = {
        { BASE, PM_STATIC, 1, 0, 256, 1, 3, 10000 },
        { BASE "workers = 0\n", PM_STATIC, 0, 0, 256, 1, 3, 10000 },
        /* Keys of other pms may say their default. */
        { BASE "min_workers = 1\nmin_spare = 1\nmax_spare = 3\n"
          "idle_timeout = 10s\n", PM_STATIC, 1, 0, 256, 1, 3, 10000 },
        /* ondemand starts empty unless workers is set. */
        { BASE "pm = ondemand\n", PM_ONDEMAND, 0, 0, 256, 1, 3, 10000 },
        { BASE "pm = ondemand\nworkers = 1\n", PM_ONDEMAND, 1, 0, 256, 1, 3,
          10000 },
        { BASE "pm = ondemand\nworkers = 2\nidle_timeout = 30s\n"
          "max_workers = 8\n", PM_ONDEMAND, 2, 0, 8, 1, 3, 30000 },
        { BASE "pm = ondemand\nmin_workers = 1\n", PM_ONDEMAND, 0, 0, 256, 1,
          3, 10000 },
        /* adaptive and dynamic: workers, when not set, is at least
         * min_workers. */
        { BASE "pm = adaptive\n", PM_ADAPTIVE, 1, 1, 256, 1, 3, 10000 },
        { BASE "pm = adaptive\nmin_workers = 4\nmax_workers = 16\n"
          "idle_timeout = 2s\n", PM_ADAPTIVE, 4, 4, 16, 1, 3, 2000 },
        { BASE "pm = adaptive\nmin_workers = 0\n", PM_ADAPTIVE, 1, 0, 256, 1,
          3, 10000 },
        { BASE "pm = adaptive\nmin_workers = 0\nworkers = 0\n", PM_ADAPTIVE,
          0, 0, 256, 1, 3, 10000 },
        { BASE "pm = adaptive\nmin_workers = 8\nmax_workers = 8\n",
          PM_ADAPTIVE, 8, 8, 8, 1, 3, 10000 },
        { CGI "pm = dynamic\n", PM_DYNAMIC, 1, 1, 256, 1, 3, 10000 },
        { CGI "pm = dynamic\nmin_workers = 2\nworkers = 5\nmax_workers = 10\n"
          "min_spare = 2\nmax_spare = 4\n", PM_DYNAMIC, 5, 2, 10, 2, 4,
          10000 },
        { MOD "pm = dynamic\nmin_workers = 3\n", PM_DYNAMIC, 3, 3, 256, 1, 3,
          10000 },
        { MOD "pm = dynamic\nmin_spare = 0\nmax_spare = 1\nmin_workers = 0\n"
          "workers = 0\n", PM_DYNAMIC, 0, 0, 256, 0, 1, 10000 },
        { CGI "pm = dynamic\nmin_spare = 8\nmax_spare = 8\nmax_workers = 8\n",
          PM_DYNAMIC, 1, 1, 8, 8, 8, 10000 },
        { CGI "pm = dynamic\nidle_timeout = 10000ms\n", PM_DYNAMIC, 1, 1, 256,
          1, 3, 10000 },
    };
    struct conf c;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        test_load_ok(cases[i].text, &c);
        const struct pool_conf *p = &c.pools[0];
        if (p->pm != cases[i].pm || p->workers != cases[i].workers
            || p->min_workers != cases[i].min_workers
            || p->max_workers != cases[i].max_workers
            || p->min_spare != cases[i].min_spare
            || p->max_spare != cases[i].max_spare
            || p->idle_timeout_ms != cases[i].idle_timeout_ms)
            fail_msg("case %zu: pm %d workers %u min %u max %u spare %u..%u "
                     "idle %ums", i, (int)p->pm, p->workers, p->min_workers,
                     p->max_workers, p->min_spare, p->max_spare,
                     p->idle_timeout_ms);
        assert_int_equal(p->max_spawn_rate, 32);
        conf_free(&c);
    }
    test_load_ok(BASE "pm = adaptive\nmax_spawn_rate = 2147483647\n", &c);
    assert_int_equal(c.pools[0].max_spawn_rate, INT_MAX);
    conf_free(&c);
}

/* -w sets the start size, within the pm's bounds. */
static void
test_cli_pm(void **state)
{
    static char *command[] = { "/bin/sh", NULL };
    struct conf_cli cli;
    struct conf c;
    char err[TEST_ERR_MAX], want[TEST_ERR_MAX];

    (void)state;
    conf_cli_init(&cli);
    cli.workers = 3;
    assert_int_equal(test_load(BASE "pm = ondemand\n", &cli, &c, err), 0);
    assert_int_equal(c.pools[0].workers, 3);
    conf_free(&c);
    cli.workers = 5;
    assert_int_equal(test_load(BASE "pm = adaptive\nmin_workers = 2\n", &cli,
                               &c, err), 0);
    assert_int_equal(c.pools[0].workers, 5);
    assert_int_equal(c.pools[0].min_workers, 2);
    conf_free(&c);
    cli.workers = 1;
    assert_int_equal(test_load(BASE "pm = adaptive\nmin_workers = 2\n", &cli,
                               &c, err), -1);
    assert_string_equal(err, "option -w: 1 is less than min_workers (2)");
    /* A COMMAND means exec mode, which dynamic cannot size. */
    conf_cli_init(&cli);
    cli.command = command;
    assert_int_equal(test_load("listen = \"/tmp/x.sock\"\npm = dynamic\n",
                               &cli, &c, err), -1);
    snprintf(want, sizeof(want), "%s:2: pm: dynamic needs mode cgi or module "
             "(fcgipm cannot see whether exec workers are busy; use "
             "adaptive)", test_file);
    assert_string_equal(err, want);
}

/* Worker processes: chroot, limits, priority. */

static void
test_chroot(void **state)
{
    char text[PATH_MAX * 2], real[PATH_MAX], path[PATH_MAX], cwd[PATH_MAX];
    struct conf c;

    (void)state;
    snprintf(path, sizeof(path), "%s/jail", test_dir);
    assert_int_equal(mkdir(path, 0755), 0);
    assert_non_null(realpath(path, real));
    snprintf(path, sizeof(path), "%s/jail-link", test_dir);
    assert_int_equal(symlink("jail", path), 0);
    /* Kept as its realpath; paths inside it are not looked up. */
    snprintf(text, sizeof(text), "listen = \"/tmp/x.sock\"\n"
             "command = {\"/nonexistent_xyz/app\", \"-v\"}\n"
             "chroot = \"%s/jail-link/\"\nchdir = /nonexistent_srv\n",
             test_dir);
    test_load_ok(text, &c);
    assert_string_equal(c.pools[0].chroot, real);
    assert_string_equal(c.pools[0].command_path, "/nonexistent_xyz/app");
    assert_string_equal(c.pools[0].chdir, "/nonexistent_srv");
    conf_free(&c);
    snprintf(text, sizeof(text), "listen = \"/tmp/x.sock\"\nmode = cgi\n"
             "cgi_root = /cgi-bin/\nchroot = \"%s/jail\"\n", test_dir);
    test_load_ok(text, &c);
    assert_string_equal(c.pools[0].cgi_root, "/cgi-bin/");
    conf_free(&c);
    snprintf(text, sizeof(text), MOD "module = /lib/nonexistent_xyz.so\n"
             "chroot = \"%s/jail\"\n", test_dir);
    test_load_ok(text, &c);
    assert_string_equal(c.pools[0].module, "/lib/nonexistent_xyz.so");
    conf_free(&c);
    /* A preloaded module is loaded by the master, outside the chroot. */
    test_make_module("pre.so", 0644);
    snprintf(text, sizeof(text), MOD "module = \"%s/mods/pre.so\"\n"
             "preload = true\nchroot = \"%s/jail\"\n", test_dir, test_dir);
    test_load_ok(text, &c);
    conf_free(&c);
    snprintf(text, sizeof(text), MOD "module = /nonexistent_xyz/m.so\n"
             "preload = true\nchroot = \"%s/jail\"\n", test_dir);
    test_load_bad(text, 4, "module: '/nonexistent_xyz/m.so': No such file or "
                  "directory", false);
    /* A relative chroot is relative to the directory fcgipm runs in. */
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    assert_int_equal(chdir(test_dir), 0);
    test_load_ok(BASE "chroot = jail\n", &c);
    assert_string_equal(c.pools[0].chroot, real);
    conf_free(&c);
    assert_int_equal(chdir(cwd), 0);
}

static void
test_rlimits_priority(void **state)
{
    static const struct {
        const char *text;
        long bytes;
        const char *printed;
    } cores[] = {
        { "unlimited", -2, "unlimited" }, { "UNLIMITED", -2, "unlimited" },
        { "\"unlimited\"", -2, "unlimited" }, { "0", 0, "0" },
        { "4096", 4096, "4k" },           { "1g", 1L << 30, "1g" },
        { "1025", 1025, "1025" },         { "1024g", 1L << 40, "1024g" },
    };
    char text[256], want[64];
    struct conf c;

    (void)state;
    for (size_t i = 0; i < sizeof(cores) / sizeof(cores[0]); i++) {
        snprintf(text, sizeof(text), BASE "rlimit_core = %s\n",
                 cores[i].text);
        test_load_ok(text, &c);
        assert_int_equal(c.pools[0].rlimit_core, cores[i].bytes);
        char *out = test_print(&c);
        snprintf(want, sizeof(want), "\nrlimit_core = %s\n",
                 cores[i].printed);
        if (strstr(out, want) == NULL)
            fail_msg("%s: printed as:\n%s", cores[i].text, out);
        free(out);
        conf_free(&c);
    }
    test_load_ok(BASE "rlimit_files = 1\npriority = -20\n", &c);
    assert_int_equal(c.pools[0].rlimit_files, 1);
    assert_int_equal(c.pools[0].priority, -20);
    assert_true(c.pools[0].has_priority);
    conf_free(&c);
    test_load_ok(BASE "rlimit_files = 1048576\npriority = 19\n", &c);
    assert_int_equal(c.pools[0].rlimit_files, 1048576);
    assert_int_equal(c.pools[0].priority, 19);
    conf_free(&c);
}

static void
test_allowed_clients(void **state)
{
    static const char *const tcp[] = {
        "127.0.0.1:9000", "*:9000", ":9000", "0.0.0.0:9000",
        "localhost:9000",
    };
    static const char *binds[] = { "/tmp/cli.sock", NULL };
    char text[256], want[TEST_ERR_MAX];
    struct conf_cli cli;
    struct conf c;

    (void)state;
    for (size_t i = 0; i < sizeof(tcp) / sizeof(tcp[0]); i++) {
        snprintf(text, sizeof(text), "listen = \"%s\"\ncommand = /bin/sh\n"
                 "allowed_clients = {\"127.0.0.1\", \"10.1.2.3\"}\n"
                 "allowed_clients += \"192.168.0.1\"\n", tcp[i]);
        test_load_ok(text, &c);
        const struct pool_conf *p = &c.pools[0];
        assert_int_equal(p->nallowed_clients, 3);
        assert_string_equal(p->allowed_clients[0], "127.0.0.1");
        assert_string_equal(p->allowed_clients[2], "192.168.0.1");
        assert_null(p->allowed_clients[3]);
        conf_free(&c);
    }
    /* An empty list is any peer, whatever the listen address. */
    test_load_ok(BASE "allowed_clients = {}\n", &c);
    assert_null(c.pools[0].allowed_clients);
    assert_int_equal(c.pools[0].nallowed_clients, 0);
    conf_free(&c);
    /* An inherited socket is not known yet. */
    conf_cli_init(&cli);
    cli.listen_optional = true;
    assert_int_equal(test_load("command = /bin/sh\n"
                               "allowed_clients = 127.0.0.1\n", &cli, &c,
                               want), 0);
    assert_int_equal(c.pools[0].nallowed_clients, 1);
    conf_free(&c);
    /* -b over the file's TCP address. */
    conf_cli_init(&cli);
    cli.binds = binds;
    assert_int_equal(test_load("listen = \"127.0.0.1:9000\"\n"
                               "command = /bin/sh\n"
                               "allowed_clients = 127.0.0.1\n", &cli, &c,
                               text), -1);
    snprintf(want, sizeof(want), "%s:3: allowed_clients: only for TCP listen "
             "addresses", test_file);
    assert_string_equal(text, want);
}

/* The status socket. */

static void
test_status(void **state)
{
    static const char *binds[] = { "127.0.0.1:9100", NULL };
    struct conf_cli cli;
    struct conf c;
    char err[TEST_ERR_MAX], want[TEST_ERR_MAX];

    (void)state;
    test_load_ok(BASE "status_listen = \"127.0.0.1:9100\"\n", &c);
    assert_string_equal(c.status_listen, "127.0.0.1:9100");
    conf_free(&c);
    /* Swapped paths are still two paths. */
    test_load_ok(BASE "status_path = /ping\nping_path = /status\n", &c);
    assert_string_equal(c.status_path, "/ping");
    assert_string_equal(c.ping_path, "/status");
    conf_free(&c);
    test_load_ok("status_listen = \"/tmp/st.sock\"\n"
                 "pool \"a\" {\n" BASE "}\n", &c);
    assert_int_equal(c.npools, 1);
    assert_string_equal(c.status_listen, "/tmp/st.sock");
    conf_free(&c);
    /* The CLI's address against the status socket: the status key's line. */
    conf_cli_init(&cli);
    cli.binds = binds;
    assert_int_equal(test_load("status_listen = \"127.0.0.1:9100\"\n"
                               "command = /bin/sh\n", &cli, &c, err), -1);
    snprintf(want, sizeof(want), "%s:1: status_listen: '127.0.0.1:9100' is "
             "also used by pool default", test_file);
    assert_string_equal(err, want);
}

/* Pools. */

static void
test_pool_sections(void **state)
{
    struct conf c;

    (void)state;
    test_load_ok("log_level = warn\n"
                 "pool \"www\" {\n"
                 "    listen = \"/tmp/www.sock\"\n"
                 "    command = \"/bin/sh\"\n"
                 "    workers = 4\n"
                 "}\n"
                 "pool \"api-2.x_y\" {\n"
                 "    listen = \"127.0.0.1:9002\"\n"
                 "    command = {\"/bin/sh\", \"-c\", \"x\"}\n"
                 "    stop_signal = TERM\n"
                 "}\n", &c);
    /* No top-level listen or command: no default pool. */
    assert_int_equal(c.npools, 2);
    assert_string_equal(c.pools[0].name, "www");
    assert_int_equal(c.pools[0].workers, 4);
    assert_int_equal(c.pools[0].stop_signal, SIGUSR1);
    assert_string_equal(c.pools[1].name, "api-2.x_y");
    assert_int_equal(c.pools[1].workers, 1);
    assert_int_equal(c.pools[1].ncommand, 3);
    assert_int_equal(c.pools[1].stop_signal, SIGTERM);
    assert_int_equal(c.log_level, LOG_LEVEL_WARN);
    conf_free(&c);
}

static void
test_default_pool_beside_sections(void **state)
{
    struct conf c;

    (void)state;
    test_load_ok(BASE "workers = 3\n"
                 "pool \"www\" {\n"
                 "    listen = \"/tmp/www.sock\"\n"
                 "    command = \"/bin/sh\"\n"
                 "}\n", &c);
    assert_int_equal(c.npools, 2);
    assert_string_equal(c.pools[0].name, "default");
    assert_int_equal(c.pools[0].workers, 3);
    /* Top-level values are the default pool's, not defaults for others. */
    assert_string_equal(c.pools[1].name, "www");
    assert_int_equal(c.pools[1].workers, 1);
    conf_free(&c);
    /* A section may be the default pool too. */
    test_load_ok("pool \"default\" {\n" BASE "}\n", &c);
    assert_int_equal(c.npools, 1);
    assert_string_equal(c.pools[0].name, "default");
    conf_free(&c);
}

/* The error tables. */

struct test_bad {
    const char *text;
    int line;                   /* 0: no "FILE:LINE: " */
    const char *msg;
    bool prefix;                /* msg is a prefix (others' wording) */
};

static const struct test_bad test_bad_values[] = {
    { BASE "foo = 1\n", 3, "foo: unknown key", false },
    { BASE "workers = abc\n", 3, "workers: 'abc' is not a number in 0..256",
      false },
    { BASE "workers = -3\n", 3, "workers: -3 is not in 0..256", false },
    { BASE "workers = 5000\n", 3, "workers: 5000 is not in 0..4096", false },
    { BASE "workers = 1.5\n", 3, "workers: '1.5' is not a number in 0..256",
      false },
    { BASE "max_workers = 8\nworkers = 9\n", 4, "workers: 9 is not in 0..8",
      false },
    { BASE "workers = 9\nmax_workers = 8\n", 3, "workers: 9 is not in 0..8",
      false },
    { BASE "max_workers = 0\n", 3, "max_workers: 0 is not in 1..4096",
      false },
    { BASE "backlog = 70000\n", 3, "backlog: 70000 is not in 1..65535",
      false },
    { BASE "backlog = 99999999999999999999\n", 3,
      "backlog: '99999999999999999999' is not a number in 1..65535", false },
    { BASE "daemon = maybe\n", 3,
      "daemon: 'maybe' is not a boolean (true or false)", false },
    { BASE "clear_env = 2\n", 3,
      "clear_env: '2' is not a boolean (true or false)", false },
    { BASE "graceful_timeout = 5x\n", 3, "graceful_timeout: '5x' is not a "
      "duration (like 30s, 500ms, 2m, 1.5s)", false },
    { BASE "kill_timeout = 1.5.2s\n", 3, "kill_timeout: '1.5.2s' is not a "
      "duration (like 30s, 500ms, 2m, 1.5s)", false },
    { BASE "min_uptime = -1s\n", 3, "min_uptime: '-1s' is not a duration "
      "(like 30s, 500ms, 2m, 1.5s)", false },
    { BASE "min_uptime = \"1 s\"\n", 3, "min_uptime: '1 s' is not a "
      "duration (like 30s, 500ms, 2m, 1.5s)", false },
    { BASE "min_uptime = 1.s\n", 3, "min_uptime: '1.s' is not a duration "
      "(like 30s, 500ms, 2m, 1.5s)", false },
    { BASE "restart_backoff_max = 25h\n", 3,
      "restart_backoff_max: '25h' is longer than 24h", false },
    { BASE "restart_backoff_max = 99999999999999999999s\n", 3,
      "restart_backoff_max: '99999999999999999999s' is longer than 24h",
      false },
    { BASE "restart_backoff = 0\n", 3,
      "restart_backoff: must be at least 1ms", false },
    { BASE "restart_backoff = 1m\n", 3,
      "restart_backoff: 1m is more than restart_backoff_max (30s)", false },
    { BASE "restart_backoff = 2s\nrestart_backoff_max = 1500ms\n", 4,
      "restart_backoff_max: 1500ms is less than restart_backoff (2s)",
      false },
    { BASE "stop_signal = SEGV\n", 3, "stop_signal: 'SEGV' is not one of "
      "HUP, INT, QUIT, TERM, USR1, USR2, KILL", false },
    { BASE "stop_signal = FOO\n", 3, "stop_signal: 'FOO' is not one of HUP, "
      "INT, QUIT, TERM, USR1, USR2, KILL", false },
    { BASE "socket_mode = 0999\n", 3,
      "socket_mode: '0999' is not an octal mode in 0000..0777", false },
    { BASE "socket_mode = 01777\n", 3,
      "socket_mode: '01777' is not an octal mode in 0000..0777", false },
    { BASE "socket_mode = \"\"\n", 3,
      "socket_mode: '' is not an octal mode in 0000..0777", false },
    { BASE "user = nosuchuser_xyz\n", 3,
      "user: unknown user 'nosuchuser_xyz'", false },
    { BASE "group = nosuchgroup_xyz\n", 3,
      "group: unknown group 'nosuchgroup_xyz'", false },
    { BASE "socket_user = nosuchuser_xyz\n", 3,
      "socket_user: unknown user 'nosuchuser_xyz'", false },
    { BASE "socket_group = nosuchgroup_xyz\n", 3,
      "socket_group: unknown group 'nosuchgroup_xyz'", false },
    { BASE "status_socket_user = nosuchuser_xyz\n", 3,
      "status_socket_user: unknown user 'nosuchuser_xyz'", false },
    { BASE "status_socket_group = nosuchgroup_xyz\n", 3,
      "status_socket_group: unknown group 'nosuchgroup_xyz'", false },
    { BASE "user = \"54321\"\n", 3,
      "user: 54321 has no passwd entry: set group too", false },
    { BASE "user = \"-1\"\n", 3, "user: unknown user '-1'", false },
    { BASE "mode = cgi\n", 2, "command: only used in mode exec (this pool "
      "is cgi)", false },
    { BASE "mode = fast\n", 3,
      "mode: 'fast' is not one of exec, cgi, module", false },
    { BASE "pm = spare\n", 3, "pm: 'spare' is not one of static, dynamic, "
      "ondemand, adaptive", false },
    { BASE "log_level = loud\n", 3,
      "log_level: 'loud' is not one of error, warn, info, debug", false },
    { BASE "chdir = /nonexistent_dir_xyz\n", 3,
      "chdir: '/nonexistent_dir_xyz': No such file or directory", false },
    { BASE "chdir = /dev/null\n", 3, "chdir: '/dev/null' is not a directory",
      false },
    { BASE "chdir = \"\"\n", 3, "chdir: '': No such file or directory",
      false },
    { BASE "log = \"\"\n", 3, "log: empty", false },
    { BASE "pid_file = \"\"\n", 3, "pid_file: empty", false },
    { BASE "env = {\"A=1\",\n       \"FOO\"}\n", 4,
      "env: 'FOO' has no '=' (write \"FOO=value\")", false },
    { BASE "env = \"1X=2\"\n", 3, "env: '1X' is not a valid variable name",
      false },
    { BASE "env = \"=x\"\n", 3, "env: '' is not a valid variable name",
      false },
    { BASE "env = \"A-B=x\"\n", 3, "env: 'A-B' is not a valid variable name",
      false },
    { BASE "listen = {\"/tmp/a.sock\",\n  \"/tmp/b.sock\",\n"
      "  \"1.2.3.4:99999\"}\n", 5, "listen: '1.2.3.4:99999': ", true },
    { BASE "listen = \"\"\n", 3, "listen: '': ", true },
    { BASE "listen = \"example.com:80\"\n", 3, "listen: 'example.com:80': ",
      true },
    { BASE "listen = {\"/tmp/a.sock\",\n \"unix:/tmp/a.sock\"}\n", 4,
      "listen: 'unix:/tmp/a.sock' is listed twice", false },
    { BASE "listen = {\"/tmp/a.sock\",\n \"/tmp/b.sock\"}\n", 4,
      "listen: a pool serves one listen address (workers accept on fd 0 "
      "only)", false },
    { BASE "command = \"/nonexistent/app\"\n", 3,
      "command: '/nonexistent/app': No such file or directory", false },
    { BASE "command = \"no-such-program-xyz\"\n", 3,
      "command: 'no-such-program-xyz' not found in PATH", false },
    { BASE "command = \"/dev/null\"\n", 3,
      "command: '/dev/null' is not a regular file", false },
    { BASE "command = \"/tmp\"\n", 3, "command: '/tmp' is not a regular file",
      false },
    { BASE "command = {\"\", \"x\"}\n", 3,
      "command: the program name is empty", false },
    { BASE "command = {}\n", 0, "pool default: command: required in exec "
      "mode", false },
    { "command = \"/bin/sh\"\n", 0,
      "pool default: listen: no address (set listen, or -b/-s)", false },
    { "", 0, "pool default: listen: no address (set listen, or -b/-s)",
      false },
    /* Each mode's keys, and its required one. */
    { BASE "mode = module\n", 2, "command: only used in mode exec (this "
      "pool is module)", false },
    { "listen = \"/tmp/x.sock\"\nmode = cgi\n", 0,
      "pool default: cgi_root: required in cgi mode", false },
    { "listen = \"/tmp/x.sock\"\nmode = module\n", 0,
      "pool default: module: required in module mode", false },
    { BASE "cgi_root = /tmp\n", 3, "cgi_root: only used in mode cgi (this "
      "pool is exec)", false },
    { BASE "module = \"builtin:hello\"\n", 3, "module: only used in mode "
      "module (this pool is exec)", false },
    { BASE "module_args = {\"a\"}\n", 3, "module_args: only used in mode "
      "module (this pool is exec)", false },
    { BASE "preload = false\n", 3, "preload: only used in mode module (this "
      "pool is exec)", false },
    { MOD "mode = exec\n", 3, "module: only used in mode module (this pool "
      "is exec)", false },
    { CGI "module = \"builtin:echo\"\n", 4, "module: only used in mode "
      "module (this pool is cgi)", false },
    { CGI "module_args += \"x\"\n", 4, "module_args: only used in mode "
      "module (this pool is cgi)", false },
    { CGI "preload = true\n", 4, "preload: only used in mode module (this "
      "pool is cgi)", false },
    { MOD "cgi_root = /tmp\n", 4, "cgi_root: only used in mode cgi (this "
      "pool is module)", false },
    { MOD "command = {\"/bin/sh\",\n  \"-c\"}\n", 4, "command: only used "
      "in mode exec (this pool is module)", false },
    /* cgi_root and module. */
    { CGI "cgi_root = /nonexistent_dir_xyz\n", 4,
      "cgi_root: '/nonexistent_dir_xyz': No such file or directory", false },
    { CGI "cgi_root = /dev/null\n", 4,
      "cgi_root: '/dev/null' is not a directory", false },
    { CGI "cgi_root = \"/etc/passwd/\"\n", 4,
      "cgi_root: '/etc/passwd/': Not a directory", false },
    { CGI "cgi_root = \"\"\n", 4, "cgi_root: empty", false },
    { MOD "module = \"builtin:nope\"\n", 4, "module: unknown built-in "
      "'builtin:nope' (known: builtin:hello, builtin:echo)", false },
    { MOD "module = \"builtin:\"\n", 4, "module: unknown built-in "
      "'builtin:' (known: builtin:hello, builtin:echo)", false },
    { MOD "module = \"builtin:HELLO\"\n", 4, "module: unknown built-in "
      "'builtin:HELLO' (known: builtin:hello, builtin:echo)", false },
    { MOD "module = hello.so\n", 4, "module: 'hello.so' is neither a "
      "built-in (builtin:hello, builtin:echo) nor a path with a '/' (write "
      "./hello.so)", false },
    { MOD "module = \"\"\n", 4, "module: empty", false },
    { MOD "module = /nonexistent_xyz/m.so\n", 4,
      "module: '/nonexistent_xyz/m.so': No such file or directory", false },
    { MOD "module = /tmp\n", 4, "module: '/tmp' is not a regular file",
      false },
    { MOD "module = /dev/null\n", 4,
      "module: '/dev/null' is not a regular file", false },
    /* Sizes. */
    { CGI "max_body = 10x\n", 4, "max_body: '10x' is not a size (like 512k, "
      "10m, 1g, or a number of bytes)", false },
    { CGI "max_body = -1\n", 4, "max_body: '-1' is not a size (like 512k, "
      "10m, 1g, or a number of bytes)", false },
    { CGI "max_body = 1.5m\n", 4, "max_body: '1.5m' is not a size (like "
      "512k, 10m, 1g, or a number of bytes)", false },
    { CGI "max_body = 10mb\n", 4, "max_body: '10mb' is not a size (like "
      "512k, 10m, 1g, or a number of bytes)", false },
    { CGI "max_body = k\n", 4, "max_body: 'k' is not a size (like 512k, "
      "10m, 1g, or a number of bytes)", false },
    { CGI "max_body = \"1 k\"\n", 4, "max_body: '1 k' is not a size (like "
      "512k, 10m, 1g, or a number of bytes)", false },
    { CGI "max_body = \"\"\n", 4, "max_body: '' is not a size (like 512k, "
      "10m, 1g, or a number of bytes)", false },
    { CGI "max_rss = 1025g\n", 4, "max_rss: '1025g' is more than 1024g",
      false },
    { CGI "max_rss = 1048577m\n", 4, "max_rss: '1048577m' is more than "
      "1024g", false },
    { CGI "max_rss = 1099511627777\n", 4, "max_rss: '1099511627777' is "
      "more than 1024g", false },
    { CGI "max_rss = 99999999999999999999999k\n", 4, "max_rss: "
      "'99999999999999999999999k' is more than 1024g", false },
    /* Durations and counts. */
    { CGI "request_timeout = 25h\n", 4,
      "request_timeout: '25h' is longer than 24h", false },
    { CGI "request_timeout = soon\n", 4, "request_timeout: 'soon' is not a "
      "duration (like 30s, 500ms, 2m, 1.5s)", false },
    { CGI "slow_request_time = -1\n", 4, "slow_request_time: '-1' is not a "
      "duration (like 30s, 500ms, 2m, 1.5s)", false },
    { CGI "max_requests = -1\n", 4,
      "max_requests: -1 is not in 0..2147483647", false },
    { CGI "max_requests = 2147483648\n", 4,
      "max_requests: 2147483648 is not in 0..2147483647", false },
    { CGI "max_requests = many\n", 4,
      "max_requests: 'many' is not a number in 0..2147483647", false },
    { CGI "max_requests_jitter = -5\n", 4,
      "max_requests_jitter: -5 is not in 0..2147483647", false },
    { CGI "max_requests_jitter = 10\n", 4, "max_requests_jitter: has no "
      "effect while max_requests is 0 (never recycle)", false },
    { MOD "max_requests_jitter = 10\nmax_requests = 0\n", 4,
      "max_requests_jitter: has no effect while max_requests is 0 (never "
      "recycle)", false },
    /* Log files and the access format. */
    { CGI "slowlog = \"/tmp/slow.log\"\n", 4, "slowlog: has no effect "
      "while slow_request_time is 0 (off)", false },
    { CGI "slowlog = \"\"\n", 4, "slowlog: empty", false },
    { CGI "slowlog = /nonexistent_dir_xyz/slow.log\n", 4,
      "slowlog: '/nonexistent_dir_xyz/slow.log': /nonexistent_dir_xyz: No "
      "such file or directory", false },
    { CGI "slowlog = /tmp\n", 4, "slowlog: '/tmp' is a directory", false },
    { CGI "access_log = \"/tmp/\"\n", 4,
      "access_log: '/tmp/' is a directory", false },
    { CGI "access_log = /dev/null/a.log\n", 4,
      "access_log: '/dev/null/a.log': /dev/null is not a directory", false },
    { CGI "access_log = nonexistent_dir_xyz/a.log\n", 4,
      "access_log: 'nonexistent_dir_xyz/a.log': nonexistent_dir_xyz: No "
      "such file or directory", false },
    { CGI "access_log = \"\"\n", 4, "access_log: empty", false },
    { CGI "access_format = \"%x\"\n", 4,
      "access_format: unknown directive %x at column 1", false },
    { CGI "access_format = \"%R %u %T\"\n", 4,
      "access_format: unknown directive %T at column 7", false },
    { CGI "access_format = \"%%%\"\n", 4, "access_format: lone % at "
      "column 3 (write %% for a percent sign)", false },
    { CGI "access_format = \"%\xc3\xa9\"\n", 4,
      "access_format: unknown directive %\\xc3 at column 1", false },
    { CGI "access_format = \"a\\nb\"\n", 4,
      "access_format: control character \\x0a at column 2", false },
    { CGI "access_format = \"\"\n", 4, "access_format: empty", false },
    { CGI "access_format = \"%R\"\n", 4,
      "access_format: has no effect without access_log", false },
    /* Keys about requests, in the mode where fcgipm sees none. */
    { BASE "max_body = 1k\n", 3, "max_body: " NO_EFFECT, false },
    { BASE "request_timeout = 30s\n", 3, "request_timeout: " NO_EFFECT,
      false },
    { BASE "max_requests = 100\n", 3, "max_requests: " NO_EFFECT, false },
    { BASE "max_requests_jitter = 5\n", 3,
      "max_requests_jitter: " NO_EFFECT, false },
    { BASE "max_rss = 100m\n", 3, "max_rss: " NO_EFFECT, false },
    { BASE "slow_request_time = 1s\n", 3, "slow_request_time: " NO_EFFECT,
      false },
    { BASE "slowlog = \"/tmp/s.log\"\n", 3, "slowlog: " NO_EFFECT, false },
    { BASE "access_log = \"/tmp/a.log\"\n", 3, "access_log: " NO_EFFECT,
      false },
    { BASE "access_format = \"%R\"\n", 3, "access_format: " NO_EFFECT,
      false },
    { BASE "max_rss = 1g\nmax_body = 1k\n", 3, "max_rss: " NO_EFFECT,
      false },
    { CGI "listen = {\"/tmp/a.sock\",\n \"/tmp/b.sock\"}\n", 5,
      "listen: a pool serves one listen address (workers accept on fd 0 "
      "only)", false },
    /* Keys of other process managers. */
    { BASE "min_spare = 2\n", 3, "min_spare: only used with pm = dynamic "
      "(this pool is pm = static)", false },
    { BASE "max_spare = 5\n", 3, "max_spare: only used with pm = dynamic "
      "(this pool is pm = static)", false },
    { BASE "idle_timeout = 5s\n", 3, "idle_timeout: only used with pm = "
      "ondemand, adaptive (this pool is pm = static)", false },
    { BASE "min_workers = 2\n", 3, "min_workers: only used with pm = "
      "dynamic, adaptive (this pool is pm = static)", false },
    { BASE "min_workers = 0\n", 3, "min_workers: only used with pm = "
      "dynamic, adaptive (this pool is pm = static)", false },
    { BASE "pm = ondemand\nmin_workers = 0\n", 4, "min_workers: only used "
      "with pm = dynamic, adaptive (this pool is pm = ondemand)", false },
    { BASE "pm = ondemand\nmax_spare = 4\n", 4, "max_spare: only used with "
      "pm = dynamic (this pool is pm = ondemand)", false },
    { BASE "pm = adaptive\nmin_spare = 0\n", 4, "min_spare: only used with "
      "pm = dynamic (this pool is pm = adaptive)", false },
    { CGI "pm = dynamic\nidle_timeout = 1m\n", 5, "idle_timeout: only used "
      "with pm = ondemand, adaptive (this pool is pm = dynamic)", false },
    { BASE "max_spare = 4\nidle_timeout = 1s\n", 3, "max_spare: only used "
      "with pm = dynamic (this pool is pm = static)", false },
    { BASE "idle_timeout = 1s\nmax_spare = 4\n", 3, "idle_timeout: only "
      "used with pm = ondemand, adaptive (this pool is pm = static)", false },
    { BASE "min_spare = 2\nmin_spare = 1\nmax_spare = 9\n", 5, "max_spare: "
      "only used with pm = dynamic (this pool is pm = static)", false },
    /* dynamic. */
    { BASE "pm = dynamic\n", 3, NO_DYNAMIC, false },
    { BASE "mode = exec\npm = dynamic\nmin_spare = 2\n", 4, NO_DYNAMIC,
      false },
    { CGI "pm = dynamic\nmin_workers = 10\nmax_workers = 8\n", 6,
      "max_workers: 8 is less than min_workers (10)", false },
    { CGI "pm = dynamic\nmax_workers = 8\nmin_workers = 10\n", 6,
      "min_workers: 10 is more than max_workers (8)", false },
    { CGI "pm = dynamic\nmin_workers = 300\n", 5,
      "min_workers: 300 is more than max_workers (256)", false },
    { CGI "pm = dynamic\nmin_workers = 3\nworkers = 2\n", 6,
      "workers: 2 is less than min_workers (3)", false },
    { CGI "pm = dynamic\nworkers = 2\nmin_workers = 3\n", 6,
      "min_workers: 3 is more than workers (2)", false },
    { CGI "pm = dynamic\nworkers = 9\nmax_workers = 8\n", 5,
      "workers: 9 is not in 0..8", false },
    { CGI "pm = dynamic\nmin_spare = 4\n", 5,
      "min_spare: 4 is more than max_spare (3)", false },
    { CGI "pm = dynamic\nmax_spare = 2\nmin_spare = 3\n", 6,
      "min_spare: 3 is more than max_spare (2)", false },
    { CGI "pm = dynamic\nmin_spare = 3\nmax_spare = 2\n", 6,
      "max_spare: 2 is less than min_spare (3)", false },
    { CGI "pm = dynamic\nmax_workers = 2\nmin_spare = 3\nmax_spare = 3\n", 6,
      "min_spare: 3 is more than max_workers (2)", false },
    { CGI "pm = dynamic\nmin_spare = 3\nmax_spare = 3\nmax_workers = 2\n", 7,
      "max_workers: 2 is less than min_spare (3)", false },
    { CGI "pm = dynamic\nmax_spare = 0\n", 5,
      "max_spare: 0 is not in 1..4096", false },
    { CGI "pm = dynamic\nmin_spare = -1\n", 5,
      "min_spare: -1 is not in 0..4096", false },
    { CGI "pm = dynamic\nmin_workers = -1\n", 5,
      "min_workers: -1 is not in 0..4096", false },
    { CGI "pm = dynamic\nmin_workers = 5000\n", 5,
      "min_workers: 5000 is not in 0..4096", false },
    { CGI "pm = dynamic\nmax_spare = lots\n", 5,
      "max_spare: 'lots' is not a number in 1..4096", false },
    /* adaptive and ondemand. */
    { BASE "pm = adaptive\nmin_workers = 2\nworkers = 1\n", 5,
      "workers: 1 is less than min_workers (2)", false },
    { BASE "pm = adaptive\nmin_workers = 5\nmax_workers = 4\n", 5,
      "max_workers: 4 is less than min_workers (5)", false },
    { BASE "pm = adaptive\nidle_timeout = 0\n", 4,
      "idle_timeout: must be at least 1ms", false },
    { BASE "pm = ondemand\nidle_timeout = 0.0001s\n", 4,
      "idle_timeout: must be at least 1ms", false },
    { BASE "pm = ondemand\nidle_timeout = 25h\n", 4,
      "idle_timeout: '25h' is longer than 24h", false },
    { BASE "idle_timeout = soon\n", 3, "idle_timeout: 'soon' is not a "
      "duration (like 30s, 500ms, 2m, 1.5s)", false },
    { BASE "pm = ondemand\nworkers = 300\n", 4,
      "workers: 300 is not in 0..256", false },
    { BASE "max_spawn_rate = -1\n", 3,
      "max_spawn_rate: -1 is not in 0..2147483647", false },
    { BASE "max_spawn_rate = 2147483648\n", 3,
      "max_spawn_rate: 2147483648 is not in 0..2147483647", false },
    { BASE "max_spawn_rate = fast\n", 3,
      "max_spawn_rate: 'fast' is not a number in 0..2147483647", false },
    /* chroot, and paths inside it. */
    { BASE "chroot = /nonexistent_dir_xyz\n", 3,
      "chroot: '/nonexistent_dir_xyz': No such file or directory", false },
    { BASE "chroot = /dev/null\n", 3, "chroot: '/dev/null' is not a "
      "directory", false },
    { BASE "chroot = \"\"\n", 3, "chroot: '': No such file or directory",
      false },
    { "listen = \"/tmp/x.sock\"\ncommand = sh\nchroot = /tmp\n", 2,
      "command: 'sh' " NOT_ABS, false },
    { "listen = \"/tmp/x.sock\"\ncommand = {\"\"}\nchroot = /tmp\n", 2,
      "command: '' " NOT_ABS, false },
    { BASE "chroot = /tmp\nchdir = srv\n", 4, "chdir: 'srv' " NOT_ABS,
      false },
    { "listen = \"/tmp/x.sock\"\nmode = cgi\ncgi_root = cgi-bin\n"
      "chroot = /tmp\n", 3, "cgi_root: 'cgi-bin' " NOT_ABS, false },
    { MOD "module = ./m.so\nchroot = /tmp\n", 4, "module: './m.so' " NOT_ABS,
      false },
    /* Limits and priority. */
    { BASE "rlimit_files = 0\n", 3, "rlimit_files: 0 is not in 1..1048576",
      false },
    { BASE "rlimit_files = 1048577\n", 3,
      "rlimit_files: 1048577 is not in 1..1048576", false },
    { BASE "rlimit_files = -1\n", 3, "rlimit_files: -1 is not in 1..1048576",
      false },
    { BASE "rlimit_files = many\n", 3,
      "rlimit_files: 'many' is not a number in 1..1048576", false },
    { BASE "rlimit_core = -1\n", 3, "rlimit_core: '-1' " NOT_SIZE_CORE,
      false },
    { BASE "rlimit_core = infinity\n", 3,
      "rlimit_core: 'infinity' " NOT_SIZE_CORE, false },
    { BASE "rlimit_core = \"\"\n", 3, "rlimit_core: '' " NOT_SIZE_CORE,
      false },
    { BASE "rlimit_core = 1.5m\n", 3, "rlimit_core: '1.5m' " NOT_SIZE_CORE,
      false },
    { BASE "rlimit_core = 2048g\n", 3,
      "rlimit_core: '2048g' is more than 1024g (write unlimited)", false },
    { BASE "priority = -21\n", 3, "priority: -21 is not in -20..19", false },
    { BASE "priority = 20\n", 3, "priority: 20 is not in -20..19", false },
    { BASE "priority = high\n", 3,
      "priority: 'high' is not a number in -20..19", false },
    /* allowed_clients. */
    { "listen = \"127.0.0.1:9000\"\ncommand = /bin/sh\n"
      "allowed_clients = {\"127.0.0.1\",\n \"::1\"}\n", 4,
      "allowed_clients: '::1' " NOT_IPV4, false },
    { "listen = \"127.0.0.1:9000\"\ncommand = /bin/sh\n"
      "allowed_clients = localhost\n", 3,
      "allowed_clients: 'localhost' " NOT_IPV4, false },
    { "listen = \"127.0.0.1:9000\"\ncommand = /bin/sh\n"
      "allowed_clients = \"10.0.0.0/8\"\n", 3,
      "allowed_clients: '10.0.0.0/8' " NOT_IPV4, false },
    { "listen = \"127.0.0.1:9000\"\ncommand = /bin/sh\n"
      "allowed_clients = \"1.2.3\"\n", 3,
      "allowed_clients: '1.2.3' " NOT_IPV4, false },
    { "listen = \"127.0.0.1:9000\"\ncommand = /bin/sh\n"
      "allowed_clients = \"\"\n", 3, "allowed_clients: '' " NOT_IPV4, false },
    { "listen = \"127.0.0.1:9000\"\ncommand = /bin/sh\n"
      "allowed_clients = \"127.0.0.1,10.0.0.1\"\n", 3,
      "allowed_clients: '127.0.0.1,10.0.0.1' " NOT_IPV4, false },
    { BASE "allowed_clients = 127.0.0.1\n", 3,
      "allowed_clients: only for TCP listen addresses", false },
    { "listen = \"[::1]:9000\"\ncommand = /bin/sh\n"
      "allowed_clients = 127.0.0.1\n", 3, "allowed_clients: only for IPv4 "
      "listen addresses ('[::1]:9000' is not; libfcgi checks IPv4 peers "
      "only)", false },
    /* The status socket. */
    { BASE "status_listen = \"1.2.3.4:99999\"\n", 3,
      "status_listen: '1.2.3.4:99999': ", true },
    { BASE "status_listen = \"\"\n", 3, "status_listen: '': ", true },
    { BASE "status_listen = \"/tmp/fcgipm-test.sock\"\n", 3,
      "status_listen: '/tmp/fcgipm-test.sock' is also used by pool default",
      false },
    { BASE "status_socket_mode = 888\n", 3,
      "status_socket_mode: '888' is not an octal mode in 0000..0777", false },
    { BASE "status_path = status\n", 3,
      "status_path: 'status' does not start with '/'", false },
    { BASE "status_path = \"\"\n", 3,
      "status_path: '' does not start with '/'", false },
    { BASE "ping_path = \"/ping?x\"\n", 3, "ping_path: '/ping?x' has a '?' "
      "(a request's path never does: the query string follows it)", false },
    { BASE "ping_path = /status\n", 3,
      "ping_path: '/status' is also status_path", false },
    { BASE "status_path = /ping\n", 3,
      "status_path: '/ping' is also ping_path", false },
    { BASE "ping_path = /x\nstatus_path = /x\n", 4,
      "status_path: '/x' is also ping_path", false },
    { BASE "status_path = /x\nping_path = /x\n", 4,
      "ping_path: '/x' is also status_path", false },
};

static const struct test_bad test_bad_pools[] = {
    { "pool \"www\" {\n    listen = \"/tmp/w.sock\"\n}\n", 1,
      "pool www: command: required in exec mode", false },
    { "\npool \"www\" {\n    command = /bin/sh\n}\n", 2,
      "pool www: listen: no address (set listen, or -b/-s)", false },
    { "pool \"a\" {\n" BASE "}\n\npool \"a\" {\n" BASE "}\n", 6,
      "pool: \"a\" is defined twice", false },
    { "pool \"a b\" {\n}\n", 1, "pool: 'a b' is not a valid pool name (1 to "
      "64 letters, digits, '_', '-', '.')", false },
    { "pool \"\" {\n}\n", 1, "pool: '' is not a valid pool name (1 to 64 "
      "letters, digits, '_', '-', '.')", false },
    { BASE "pool {\n}\n", 3,
      "pool: missing name, as in pool \"www\" { ... }", false },
    { BASE "pool \"x\"\n", 3, "syntax error: unexpected end of file", false },
    { BASE "pool \"x\" listen\n", 3, "pool: missing '{'", false },
    { BASE "pool \"x\" {\n    pid_file = \"/x\"\n}\n", 4,
      "pid_file: allowed at the top level only", false },
    { BASE "pool \"x\" {\n    pool \"y\" {\n    }\n}\n", 4,
      "pool: pool sections do not nest", false },
    { BASE "pool \"x\" {\n  listen = \"/tmp/x.sock\"\n  command = /bin/sh\n"
      "  workers = -1\n}\n", 6, "workers: -1 is not in 0..256", false },
    { BASE "pool \"x\" {\n  listen = \"/tmp/x.sock\"\n  command = /bin/sh\n"
      "  max_workers = 2\n  workers = 3\n}\n", 7,
      "workers: 3 is not in 0..2", false },
    { BASE "pool \"x\" {\n  listen = \"/tmp/x.sock\"\n"
      "  command = \"/nonexistent/x\"\n}\n", 5,
      "command: '/nonexistent/x': No such file or directory", false },
    { BASE "pool \"x\" {\n  listen = \"/tmp/x.sock\"\n  command = /bin/sh\n"
      "  mode = cgi\n}\n", 5, "command: only used in mode exec (this pool "
      "is cgi)", false },
    { BASE "pool \"b\" {\n  listen = {\"/tmp/b.sock\",\n"
      "    \"unix:/tmp/fcgipm-test.sock\"}\n  command = /bin/sh\n}\n", 5,
      "listen: 'unix:/tmp/fcgipm-test.sock' is also used by pool default",
      false },
    { "workers = 2\npool \"a\" {\n" BASE "}\n", 1, "workers: no default pool "
      "to apply it to: set listen or command at the top level too, or move "
      "it into a pool section", false },
    { BASE "pool \"default\" {\n}\n", 1, "listen: makes the top level the "
      "default pool, but there is a pool \"default\" section too", false },
    { "command = \"/bin/sh\"\npool \"default\" {\n}\n", 1, "command: makes "
      "the top level the default pool, but there is a pool \"default\" "
      "section too", false },
    { "pool \"www\" {\n    listen = \"/tmp/w.sock\"\n    mode = cgi\n}\n",
      1, "pool www: cgi_root: required in cgi mode", false },
    { "log = stderr\n\npool \"www\" {\n  listen = \"/tmp/w.sock\"\n"
      "  mode = module\n}\n", 3, "pool www: module: required in module mode",
      false },
    { "cgi_root = /tmp\npool \"a\" {\n" BASE "}\n", 1, "cgi_root: no "
      "default pool to apply it to: set listen or command at the top level "
      "too, or move it into a pool section", false },
    /* Top-level values are the default pool's only. */
    { CGI "max_rss = 1m\npool \"x\" {\n  listen = \"/tmp/x.sock\"\n"
      "  command = /bin/sh\n  max_rss = 1m\n}\n", 8,
      "max_rss: " NO_EFFECT, false },
    { CGI "pool \"x\" {\n  listen = \"/tmp/x.sock\"\n  mode = module\n"
      "  module = \"builtin:echo\"\n  cgi_root = /tmp\n}\n", 8,
      "cgi_root: only used in mode cgi (this pool is module)", false },
    /* The status socket is the master's. */
    { BASE "pool \"x\" {\n    status_listen = \"/tmp/s.sock\"\n}\n", 4,
      "status_listen: allowed at the top level only", false },
    { BASE "pool \"x\" {\n    status_socket_mode = 0600\n}\n", 4,
      "status_socket_mode: allowed at the top level only", false },
    { BASE "pool \"x\" {\n    status_socket_group = root\n}\n", 4,
      "status_socket_group: allowed at the top level only", false },
    { BASE "pool \"x\" {\n    upgrade_timeout = 5s\n}\n", 4,
      "upgrade_timeout: allowed at the top level only", false },
    { BASE "upgrade_timeout = 0\n", 3,
      "upgrade_timeout: must be at least 1ms", false },
    { BASE "pool \"x\" {\n    status_path = /s\n}\n", 4,
      "status_path: allowed at the top level only", false },
    { BASE "pool \"x\" {\n    ping_path = /p\n}\n", 4,
      "ping_path: allowed at the top level only", false },
    { "status_listen = \"*:9000\"\npool \"w\" {\n"
      "  listen = \"0.0.0.0:9000\"\n  command = /bin/sh\n}\n", 1,
      "status_listen: '*:9000' is also used by pool w", false },
    /* Each pool has its own pm. */
    { CGI "pm = dynamic\npool \"x\" {\n  listen = \"/tmp/x.sock\"\n"
      "  command = /bin/sh\n  pm = dynamic\n}\n", 8, NO_DYNAMIC, false },
    { CGI "pm = ondemand\npool \"x\" {\n  listen = \"/tmp/x.sock\"\n"
      "  command = /bin/sh\n  idle_timeout = 1s\n}\n", 8, "idle_timeout: "
      "only used with pm = ondemand, adaptive (this pool is pm = static)",
      false },
    { "min_spare = 2\npool \"a\" {\n" BASE "}\n", 1, "min_spare: no default "
      "pool to apply it to: set listen or command at the top level too, or "
      "move it into a pool section", false },
    { BASE "pool \"x\" {\n  listen = \"/tmp/x.sock\"\n  command = /bin/sh\n"
      "  allowed_clients = 127.0.0.1\n}\n", 6,
      "allowed_clients: only for TCP listen addresses", false },
};

static const struct test_bad test_bad_syntax[] = {
    { BASE "workers 3\n", 3, "workers: missing '='", false },
    { BASE "workers = {1}\n", 3, "syntax error: unexpected '{'", false },
    { BASE "}\n", 3, "syntax error: '}' without '{'", false },
    { BASE "workers += 1\n", 3, "workers: '+=' works only on lists", false },
    { BASE "workers =\n\n\n", 3, "syntax error: unexpected end of file",
      false },
    { BASE "env = {\"A=1\",\n", 3, "env: '{' is never closed", false },
    { BASE "env = {\"A=1\",\n  \"B=2\"\n\n", 3, "env: '{' is never closed",
      false },
    { BASE "workers = \"abc\n\n\n", 3, "workers: unterminated string",
      false },
    { BASE "env = {\"A=1\",\n  \"B=2\n\n", 4, "env: unterminated string",
      false },
    { BASE "env = 'A=1\n", 3, "env: unterminated string", false },
    { BASE "\"abc\n", 3, "syntax error: unterminated string", false },
    { BASE "pool \"x\" {\n    listen = \"/tmp/x.sock\"\n", 3,
      "pool: '{' is never closed", false },
    { BASE "pool \"x\" {\n    listen = {\"/tmp/x.sock\"}\n", 3,
      "pool: '{' is never closed", false },
    { BASE "/* unterminated\n\n", 3, "syntax error: unterminated /* comment",
      false },
    { BASE "env = \"A=\\9\"\n", 3, "syntax error: bad escape '\\9'", false },
    { BASE "workers = 1 2\n", 3, "2: unknown key", false },
    /* libconfuse 3.3 counts a comment line as three: not here. */
    { BASE "# a\n// b\n/* c\n   d */\n#\nfoo = 1\n", 8, "foo: unknown key",
      false },
    { "# one\n# two\n" BASE "workers = 2 # three\n# four\nworkers = x\n", 7,
      "workers: 'x' is not a number in 0..256", false },
    { BASE "env = {\"A=multi\nline\nstring\"}\nfoo = 1\n", 6,
      "foo: unknown key", false },
    { BASE "env = {\"A=cont\\\nline\"}\nfoo = 1\n", 5, "foo: unknown key",
      false },
    { BASE "env = {\"A=${HOME}\", 'B=${'}\nfoo = 1\n", 4, "foo: unknown key",
      false },
    { BASE "env = \"A=//x#y\" // c\nfoo = 1\n", 4, "foo: unknown key", false },
};

static void
test_run_bad(const struct test_bad *t, size_t n)
{
    for (size_t i = 0; i < n; i++)
        test_load_bad(t[i].text, t[i].line, t[i].msg, t[i].prefix);
}

static void
test_bad_value_table(void **state)
{
    (void)state;
    test_run_bad(test_bad_values,
                 sizeof(test_bad_values) / sizeof(test_bad_values[0]));
}

static void
test_bad_pool_table(void **state)
{
    (void)state;
    test_run_bad(test_bad_pools,
                 sizeof(test_bad_pools) / sizeof(test_bad_pools[0]));
}

static void
test_bad_syntax_table(void **state)
{
    (void)state;
    test_run_bad(test_bad_syntax,
                 sizeof(test_bad_syntax) / sizeof(test_bad_syntax[0]));
}

static void
test_nul_byte(void **state)
{
    static const char text[] = BASE "\nworkers = 2\0\n";
    struct conf_cli cli;
    struct conf c;
    char err[TEST_ERR_MAX], want[TEST_ERR_MAX];

    (void)state;
    test_write(test_file, sizeof(test_file), "nul.conf", text,
               sizeof(text) - 1);
    conf_cli_init(&cli);
    cli.config = test_file;
    assert_int_equal(conf_load(&cli, &c, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s:4: syntax error: NUL byte", test_file);
    assert_string_equal(err, want);
}

static void
test_unreadable_file(void **state)
{
    struct conf_cli cli;
    struct conf c;
    char err[TEST_ERR_MAX], want[TEST_ERR_MAX];

    (void)state;
    conf_cli_init(&cli);
    snprintf(test_file, sizeof(test_file), "%s/missing.conf", test_dir);
    cli.config = test_file;
    assert_int_equal(conf_load(&cli, &c, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s: cannot open: %s", test_file,
             strerror(ENOENT));
    assert_string_equal(err, want);
    cli.config = test_dir;
    assert_int_equal(conf_load(&cli, &c, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s: cannot read: %s", test_dir,
             strerror(EISDIR));
    assert_string_equal(err, want);
}

/* A short error buffer truncates; none at all is allowed. */
static void
test_error_buffer_sizes(void **state)
{
    struct conf_cli cli;
    struct conf c;
    char err[8];

    (void)state;
    conf_cli_init(&cli);
    assert_int_equal(conf_load(&cli, &c, err, sizeof(err)), -1);
    assert_string_equal(err, "pool de");
    assert_int_equal(conf_load(&cli, &c, NULL, 0), -1);
}

/* The CLI. */

static void
test_cli_over_file_over_defaults(void **state)
{
    static const char *binds[] = { "/tmp/cli1.sock",
                                   NULL };
    static char *command[] = { "/bin/sh", "-c", "exit 1", NULL };
    static const char file[] =
        "pid_file = \"/tmp/file.pid\"\nlog = \"/tmp/file.log\"\n"
        "log_level = warn\nlisten = \"/tmp/file.sock\"\n"
        "command = {\"/bin/sh\"}\nworkers = 3\nmax_workers = 500\n"
        "user = daemon\ngroup = daemon\nsocket_mode = 0600\n"
        "socket_user = daemon\nsocket_group = daemon\nbacklog = 7\n";
    struct conf_cli cli;
    struct conf c;
    char err[TEST_ERR_MAX];

    (void)state;
    if (getpwnam("daemon") == NULL || getgrnam("daemon") == NULL)
        skip();
    /* The file over the defaults. */
    conf_cli_init(&cli);
    assert_int_equal(test_load(file, &cli, &c, err), 0);
    assert_string_equal(c.pid_file, "/tmp/file.pid");
    assert_string_equal(c.log, "/tmp/file.log");
    assert_int_equal(c.log_level, LOG_LEVEL_WARN);
    assert_false(c.daemon);
    assert_int_equal(c.pools[0].workers, 3);
    assert_int_equal(c.pools[0].socket_mode, 0600);
    assert_string_equal(c.pools[0].user, "daemon");
    conf_free(&c);
    /* The CLI over the file; what it does not name stays. */
    cli.binds = binds;
    cli.command = command;
    cli.workers = 400;
    cli.mode = "exec";
    cli.user = "root";
    cli.group = "root";
    cli.socket_mode = "0666";
    cli.socket_user = "root";
    cli.socket_group = "0";
    cli.pid_file = "/tmp/cli.pid";
    cli.log = "syslog";
    cli.log_level = "debug";
    cli.daemon = 1;
    assert_int_equal(test_load(file, &cli, &c, err), 0);
    assert_string_equal(c.pid_file, "/tmp/cli.pid");
    assert_string_equal(c.log, "syslog");
    assert_int_equal(c.log_level, LOG_LEVEL_DEBUG);
    assert_true(c.daemon);
    const struct pool_conf *p = &c.pools[0];
    assert_int_equal(p->nlisten, 1);
    assert_string_equal(p->listen[0], "/tmp/cli1.sock");
    assert_null(p->listen[1]);
    assert_int_equal(p->ncommand, 3);
    assert_string_equal(p->command[2], "exit 1");
    assert_int_equal(p->workers, 400);
    assert_int_equal(p->max_workers, 500);
    assert_int_equal(p->backlog, 7);
    assert_string_equal(p->user, "root");
    assert_int_equal(p->uid, 0);
    assert_int_equal(p->gid, 0);
    assert_int_equal(p->socket_mode, 0666);
    assert_int_equal(p->socket_uid, 0);
    assert_int_equal(p->socket_gid, 0);
    conf_free(&c);
}

/* -u alone keeps the file's group; without one, the user's own. */
static void
test_cli_user_group(void **state)
{
    struct passwd *pw = getpwnam("daemon");
    struct conf_cli cli;
    struct conf c;
    char err[TEST_ERR_MAX];

    (void)state;
    if (pw == NULL)
        skip();
    conf_cli_init(&cli);
    cli.user = "daemon";
    assert_int_equal(test_load(BASE "group = root\n", &cli, &c, err), 0);
    assert_int_equal(c.pools[0].uid, pw->pw_uid);
    assert_int_equal(c.pools[0].gid, 0);
    conf_free(&c);
    assert_int_equal(test_load(BASE "user = root\n", &cli, &c, err), 0);
    assert_int_equal(c.pools[0].uid, pw->pw_uid);
    assert_int_equal(c.pools[0].gid, pw->pw_gid);
    conf_free(&c);
}

/* With only pool sections, pool options of the CLI make a default pool. */
static void
test_cli_creates_default_pool(void **state)
{
    static const char *binds[] = { "/tmp/cli.sock", NULL };
    static char *command[] = { "/bin/sh", NULL };
    static const char file[] = "pool \"www\" {\n" BASE "}\n";
    struct conf_cli cli;
    struct conf c;
    char err[TEST_ERR_MAX];

    (void)state;
    conf_cli_init(&cli);
    cli.pid_file = "/tmp/x.pid";
    assert_int_equal(test_load(file, &cli, &c, err), 0);
    assert_int_equal(c.npools, 1);
    conf_free(&c);
    cli.binds = binds;
    cli.command = command;
    assert_int_equal(test_load(file, &cli, &c, err), 0);
    assert_int_equal(c.npools, 2);
    assert_string_equal(c.pools[0].name, "default");
    assert_string_equal(c.pools[0].listen[0], "/tmp/cli.sock");
    assert_string_equal(c.pools[1].name, "www");
    conf_free(&c);
    /* ... which needs what every pool needs. */
    cli.binds = NULL;
    assert_int_equal(test_load(file, &cli, &c, err), -1);
    assert_string_equal(err, "pool default: listen: no address (set "
                        "listen, or -b/-s)");
}

/* A pool "default" section takes the CLI's pool options. */
static void
test_cli_applies_to_default_section(void **state)
{
    struct conf_cli cli;
    struct conf c;
    char err[TEST_ERR_MAX];

    (void)state;
    conf_cli_init(&cli);
    cli.workers = 5;
    assert_int_equal(test_load("pool \"www\" {\n"
                               "    listen = \"/tmp/w.sock\"\n"
                               "    command = /bin/sh\n}\n"
                               "pool \"default\" {\n" BASE "}\n",
                               &cli, &c, err), 0);
    assert_int_equal(c.npools, 2);
    assert_string_equal(c.pools[1].name, "default");
    assert_int_equal(c.pools[1].workers, 5);
    assert_int_equal(c.pools[0].workers, 1);
    conf_free(&c);
}

/* The CLI's binds may clash with a file's pool. */
static void
test_cli_bind_clash(void **state)
{
    static const char *binds[] = { "unix:/tmp/w.sock", NULL };
    struct conf_cli cli;
    struct conf c;
    char err[TEST_ERR_MAX];

    (void)state;
    conf_cli_init(&cli);
    cli.binds = binds;
    assert_int_equal(test_load(BASE "pool \"www\" {\n"
                               "    listen = \"/tmp/w.sock\"\n"
                               "    command = /bin/sh\n}\n",
                               &cli, &c, err), -1);
    char want[TEST_ERR_MAX];
    snprintf(want, sizeof(want), "%s:4: listen: '/tmp/w.sock' is also used "
             "by pool default", test_file);
    assert_string_equal(err, want);
}

struct test_cli_bad {
    const char *bind;
    bool set_workers;
    long workers;
    const char *mode, *user, *group, *socket_mode, *socket_user;
    const char *socket_group, *log_level, *pid_file, *log, *command;
    bool no_command;
    const char *msg;
    bool prefix;
};

static const struct test_cli_bad test_cli_bads[] = {
    { .set_workers = true, .workers = 300,
      .msg = "option -w: 300 is not in 0..256" },
    { .set_workers = true, .workers = -5,
      .msg = "option -w: -5 is not in 0..256" },
    { .mode = "fast", .msg = "option -m: 'fast' is not one of exec, cgi, "
      "module" },
    { .mode = "cgi", .msg = "COMMAND: only used in mode exec (this pool is "
      "cgi)" },
    { .mode = "module", .msg = "COMMAND: only used in mode exec (this pool "
      "is module)" },
    { .mode = "cgi", .no_command = true,
      .msg = "pool default: cgi_root: required in cgi mode" },
    { .mode = "module", .no_command = true,
      .msg = "pool default: module: required in module mode" },
    { .user = "nosuchuser_xyz",
      .msg = "option -u: unknown user 'nosuchuser_xyz'" },
    { .group = "nosuchgroup_xyz",
      .msg = "option -g: unknown group 'nosuchgroup_xyz'" },
    { .user = "54321", .msg = "option -u: 54321 has no passwd entry: set "
      "group too" },
    { .socket_mode = "888",
      .msg = "option -M: '888' is not an octal mode in 0000..0777" },
    { .socket_user = "nosuchuser_xyz",
      .msg = "option -U: unknown user 'nosuchuser_xyz'" },
    { .socket_group = "nosuchgroup_xyz",
      .msg = "option -G: unknown group 'nosuchgroup_xyz'" },
    { .log_level = "loud", .msg = "option --log-level: 'loud' is not one of "
      "error, warn, info, debug" },
    { .pid_file = "", .msg = "option -p: empty file name" },
    { .log = "", .msg = "option -l: empty log target" },
    { .bind = "1.2.3.4", .msg = "option -b: '1.2.3.4': ", .prefix = true },
    { .command = "no-such-program-xyz",
      .msg = "COMMAND: 'no-such-program-xyz' not found in PATH" },
    { .command = "/nonexistent/app",
      .msg = "COMMAND: '/nonexistent/app': No such file or directory" },
    { .no_command = true,
      .msg = "pool default: command: required in exec mode" },
};

static void
test_cli_error_table(void **state)
{
    const size_t n = sizeof(test_cli_bads) / sizeof(test_cli_bads[0]);

    (void)state;
    for (size_t i = 0; i < n; i++) {
        const struct test_cli_bad *t = &test_cli_bads[i];
        const char *binds[] = { t->bind ? t->bind : "/tmp/cli.sock", NULL };
        char *command[] = { (char *)(t->command ? t->command : "/bin/sh"),
                            NULL };
        struct conf_cli cli;
        struct conf c;
        char err[TEST_ERR_MAX];

        conf_cli_init(&cli);
        cli.binds = binds;
        cli.command = t->no_command ? NULL : command;
        if (t->set_workers)
            cli.workers = t->workers;
        cli.mode = t->mode;
        cli.user = t->user;
        cli.group = t->group;
        cli.socket_mode = t->socket_mode;
        cli.socket_user = t->socket_user;
        cli.socket_group = t->socket_group;
        cli.log_level = t->log_level;
        cli.pid_file = t->pid_file;
        cli.log = t->log;
        assert_int_equal(conf_load(&cli, &c, err, sizeof(err)), -1);
        if (t->prefix ? strncmp(err, t->msg, strlen(t->msg)) != 0
                      : strcmp(err, t->msg) != 0)
            fail_msg("case %zu: want: %s\n got: %s", i, t->msg, err);
        assert_int_equal(c.npools, 0);
    }
}

/* Workers up to the file's max_workers, from the CLI. */
static void
test_cli_workers_range(void **state)
{
    struct conf_cli cli;
    struct conf c;
    char err[TEST_ERR_MAX];

    (void)state;
    conf_cli_init(&cli);
    cli.workers = 0;
    assert_int_equal(test_load(BASE, &cli, &c, err), 0);
    assert_int_equal(c.pools[0].workers, 0);
    conf_free(&c);
    cli.workers = 1000;
    assert_int_equal(test_load(BASE "max_workers = 1000\n", &cli, &c, err),
                     0);
    assert_int_equal(c.pools[0].workers, 1000);
    conf_free(&c);
    assert_int_equal(test_load(BASE "max_workers = 999\n", &cli, &c, err),
                     -1);
    assert_string_equal(err, "option -w: 1000 is not in 0..999");
}

/* A COMMAND means exec mode, whatever the file said. */
static void
test_cli_command_means_exec(void **state)
{
    static char *command[] = { "/bin/sh", NULL };
    struct conf_cli cli;
    struct conf c;
    char err[TEST_ERR_MAX];

    (void)state;
    conf_cli_init(&cli);
    cli.command = command;
    assert_int_equal(test_load("listen = \"/tmp/x.sock\"\nmode = cgi\n", &cli,
                               &c, err), 0);
    assert_int_equal(c.pools[0].mode, MODE_EXEC);
    conf_free(&c);
}

/* -m picks cgi or module for the file's keys; a mode's keys from the file
 * are an error when the CLI picks another. */
static void
test_cli_modes(void **state)
{
    static char *command[] = { "/bin/sh", NULL };
    static const char cgi_keys[] = "listen = \"/tmp/x.sock\"\n"
                                   "cgi_root = /tmp\n";
    struct conf_cli cli;
    struct conf c;
    char err[TEST_ERR_MAX], want[TEST_ERR_MAX];

    (void)state;
    conf_cli_init(&cli);
    cli.mode = "cgi";
    assert_int_equal(test_load(cgi_keys, &cli, &c, err), 0);
    assert_int_equal(c.pools[0].mode, MODE_CGI);
    assert_string_equal(c.pools[0].cgi_root, "/tmp");
    conf_free(&c);
    cli.mode = "module";
    assert_int_equal(test_load("listen = \"/tmp/x.sock\"\n"
                               "module = \"builtin:echo\"\n"
                               "module_args = x\n", &cli, &c, err), 0);
    assert_int_equal(c.pools[0].mode, MODE_MODULE);
    assert_int_equal(c.pools[0].nmodule_args, 2);
    conf_free(&c);
    assert_int_equal(test_load(cgi_keys, &cli, &c, err), -1);
    snprintf(want, sizeof(want), "%s:2: cgi_root: only used in mode cgi "
             "(this pool is module)", test_file);
    assert_string_equal(err, want);
    /* The file's command in another mode: its line. */
    cli.mode = "cgi";
    assert_int_equal(test_load(BASE, &cli, &c, err), -1);
    snprintf(want, sizeof(want), "%s:2: command: only used in mode exec "
             "(this pool is cgi)", test_file);
    assert_string_equal(err, want);
    /* The CLI's: the option. */
    cli.command = command;
    assert_int_equal(test_load(BASE, &cli, &c, err), -1);
    assert_string_equal(err, "COMMAND: only used in mode exec (this pool is "
                        "cgi)");
    /* A COMMAND alone means exec mode, which cgi_root is not for. */
    cli.mode = NULL;
    assert_int_equal(test_load(CGI, &cli, &c, err), -1);
    snprintf(want, sizeof(want), "%s:3: cgi_root: only used in mode cgi "
             "(this pool is exec)", test_file);
    assert_string_equal(err, want);
    cli.mode = "exec";
    assert_int_equal(test_load(CGI, &cli, &c, err), -1);
    assert_string_equal(err, want);
}

/* An inherited socket (fd 0) lets the default pool go without listen. */
static void
test_listen_optional(void **state)
{
    static char *command[] = { "/bin/sh", NULL };
    struct conf_cli cli;
    struct conf c;
    char err[TEST_ERR_MAX];

    (void)state;
    conf_cli_init(&cli);
    cli.command = command;
    cli.listen_optional = true;
    assert_int_equal(conf_load(&cli, &c, err, sizeof(err)), 0);
    assert_int_equal(c.pools[0].nlisten, 0);
    assert_non_null(c.pools[0].listen);
    assert_null(c.pools[0].listen[0]);
    conf_free(&c);
    /* The only pool, whatever its name. */
    cli.command = NULL;
    assert_int_equal(test_load("pool \"www\" {\n  command = /bin/sh\n}\n",
                               &cli, &c, err), 0);
    conf_free(&c);
    /* But not every pool of several. */
    assert_int_equal(test_load("pool \"www\" {\n  command = /bin/sh\n}\n"
                               "pool \"api\" {\n  command = /bin/sh\n}\n",
                               &cli, &c, err), -1);
}

/* Printing. */

static void
test_same_str(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        assert_ptr_equal(a, b);
    else
        assert_string_equal(a, b);
}

/* The keys of cgi and module modes, the same in a and b. */
static void
test_same_served(const struct pool_conf *a, const struct pool_conf *b)
{
    assert_int_equal(a->mode, b->mode);
    test_same_str(a->cgi_root, b->cgi_root);
    test_same_str(a->module, b->module);
    assert_int_equal(a->nmodule_args, b->nmodule_args);
    for (size_t j = 0; j < a->nmodule_args; j++)
        assert_string_equal(a->module_args[j], b->module_args[j]);
    assert_int_equal(a->preload, b->preload);
    assert_int_equal(a->max_body, b->max_body);
    assert_int_equal(a->request_timeout_ms, b->request_timeout_ms);
    assert_int_equal(a->max_requests, b->max_requests);
    assert_int_equal(a->max_requests_jitter, b->max_requests_jitter);
    assert_int_equal(a->max_rss, b->max_rss);
    assert_int_equal(a->slow_request_time_ms, b->slow_request_time_ms);
    test_same_str(a->slowlog, b->slowlog);
    test_same_str(a->access_log, b->access_log);
    test_same_str(a->access_format, b->access_format);
}

/* The process manager's and the worker process's keys, the same in a
 * and b. */
static void
test_same_pm_process(const struct pool_conf *a, const struct pool_conf *b)
{
    assert_int_equal(a->pm, b->pm);
    assert_int_equal(a->workers, b->workers);
    assert_int_equal(a->min_workers, b->min_workers);
    assert_int_equal(a->max_workers, b->max_workers);
    assert_int_equal(a->min_spare, b->min_spare);
    assert_int_equal(a->max_spare, b->max_spare);
    assert_int_equal(a->idle_timeout_ms, b->idle_timeout_ms);
    assert_int_equal(a->max_spawn_rate, b->max_spawn_rate);
    test_same_str(a->chroot, b->chroot);
    test_same_str(a->chdir, b->chdir);
    test_same_str(a->command_path, b->command_path);
    assert_int_equal(a->rlimit_files, b->rlimit_files);
    assert_int_equal(a->rlimit_core, b->rlimit_core);
    assert_int_equal(a->priority, b->priority);
    assert_int_equal(a->has_priority, b->has_priority);
    assert_int_equal(a->nallowed_clients, b->nallowed_clients);
    for (size_t j = 0; j < a->nallowed_clients; j++)
        assert_string_equal(a->allowed_clients[j], b->allowed_clients[j]);
}

/* Print, read back, print again: the same text, the same values. */
static void
test_roundtrip(const char *text)
{
    struct conf a, b;
    char *first, *second;

    test_load_ok(text, &a);
    first = test_print(&a);
    test_load_ok(first, &b);
    second = test_print(&b);
    assert_string_equal(first, second);
    test_same_str(a.status_listen, b.status_listen);
    assert_int_equal(a.status_socket_mode, b.status_socket_mode);
    test_same_str(a.status_socket_user, b.status_socket_user);
    test_same_str(a.status_socket_group, b.status_socket_group);
    test_same_str(a.status_path, b.status_path);
    test_same_str(a.ping_path, b.ping_path);
    assert_int_equal(a.npools, b.npools);
    for (size_t i = 0; i < a.npools; i++) {
        assert_string_equal(a.pools[i].name, b.pools[i].name);
        assert_int_equal(a.pools[i].nenv, b.pools[i].nenv);
        for (size_t j = 0; j < a.pools[i].nenv; j++)
            assert_string_equal(a.pools[i].env[j], b.pools[i].env[j]);
        assert_int_equal(a.pools[i].uid, b.pools[i].uid);
        assert_int_equal(a.pools[i].gid, b.pools[i].gid);
        assert_int_equal(a.pools[i].graceful_timeout_ms,
                         b.pools[i].graceful_timeout_ms);
        test_same_served(&a.pools[i], &b.pools[i]);
        test_same_pm_process(&a.pools[i], &b.pools[i]);
    }
    free(first);
    free(second);
    conf_free(&a);
    conf_free(&b);
}

static void
test_print_roundtrip(void **state)
{
    (void)state;
    test_roundtrip(BASE);
    test_roundtrip("pid_file = \"/run/a b.pid\"\nlog = \"/tmp/l\"\n"
                   "log_level = error\ndaemon = true\n"
                   "listen = {\"[::1]:9000\"}\n"
                   "command = {\"/bin/sh\", \"-c\","
                   " \"echo \\\"$1\\\" \\\\\"}\n"
                   "env = {\"Q=\\\"quoted\\\" \\\\ ${HOME} \\$X\","
                   " \"T=tab\\tnl\\nbell\\a\", \"U=\xc3\xa9t\xc3\xa9\","
                   " 'S=single \\' quote'}\n"
                   "user = root\nsocket_user = \"0\"\nsocket_group = root\n"
                   "socket_mode = 0\nclear_env = off\nchdir = /\n"
                   "workers = 0\nmax_workers = 4096\nstop_signal = KILL\n"
                   "graceful_timeout = 1.5s\nkill_timeout = 90m\n"
                   "restart_backoff = 1\nrestart_backoff_max = 24h\n"
                   "min_uptime = 0\n"
                   "pool \"www\" {\n" BASE "    backlog = 1\n}\n"
                   "pool \"b\" {\n  listen = \"*:9001\"\n"
                   "  command = /bin/sh\n}\n");
    test_roundtrip("pool \"only\" {\n" BASE "}\n");
    test_roundtrip(CGI);
    test_roundtrip(MOD);
    test_roundtrip("pool \"c\" {\n" CGI "  max_body = 1536k\n"
                   "  request_timeout = 2m\n  max_requests = 10\n"
                   "  max_requests_jitter = 3\n  max_rss = 1g\n"
                   "  slow_request_time = 0.5s\n  slowlog = \"/tmp/s.log\"\n"
                   "  access_log = \"/tmp/a \\\"b\\\".log\"\n"
                   "  access_format = \"%n %p \\\"%f\\\" 100%% \\$x\\t\"\n"
                   "}\n"
                   "pool \"m\" {\n  listen = \"/tmp/m.sock\"\n"
                   "  mode = module\n  module = \"builtin:echo\"\n"
                   "  module_args = {\"a\",\n"
                   "    \"b \\\"c\\\" ${NOPE_XYZ:-d}\", \"\"}\n"
                   "  preload = true\n  max_requests = 1\n}\n"
                   "pool \"m2\" {\n  listen = \"/tmp/m2.sock\"\n"
                   "  mode = module\n  module = /bin/sh\n"
                   "  max_rss = 123\n}\n");
    /* Process managers, the status socket, the workers' process. */
    test_roundtrip("status_listen = \"[::1]:9200\"\n"
                   "status_socket_mode = 0\nstatus_socket_group = root\n"
                   "status_path = \"/s \\\"x\\\"\"\n"
                   "ping_path = \"/$\"\n"
                   "pool \"d\" {\n" CGI "  pm = dynamic\n  min_workers = 2\n"
                   "  min_spare = 0\n  max_spare = 7\n  max_workers = 9\n"
                   "  max_spawn_rate = 0\n  chroot = /\n  chdir = /x\n"
                   "  cgi_root = /cgi/\n  rlimit_core = unlimited\n"
                   "  priority = 0\n}\n"
                   "pool \"o\" {\n  listen = \"127.0.0.1:9000\"\n"
                   "  command = /bin/sh\n  pm = ondemand\n"
                   "  idle_timeout = 1.5s\n  rlimit_files = 7\n"
                   "  rlimit_core = 0\n  priority = -20\n"
                   "  allowed_clients = {\"127.0.0.1\", \"10.9.8.7\"}\n}\n"
                   "pool \"o2\" {\n  listen = \"/tmp/o2.sock\"\n"
                   "  command = /bin/sh\n  pm = ondemand\n  workers = 3\n}\n"
                   "pool \"a\" {\n  listen = \"*:9001\"\n"
                   "  command = /bin/sh\n  pm = adaptive\n"
                   "  min_workers = 0\n  idle_timeout = 100ms\n"
                   "  allowed_clients = 127.0.0.1\n}\n"
                   "pool \"a2\" {\n  listen = \"/tmp/a2.sock\"\n"
                   "  command = /bin/sh\n  pm = adaptive\n"
                   "  min_workers = 3\n  rlimit_core = 4097\n}\n");
}

static void
test_print_format(void **state)
{
    struct conf c;
    char *out;

    (void)state;
    test_load_ok(BASE "env = \"A=${NOPE_XYZ:-dflt}\"\n", &c);
    out = test_print(&c);
    assert_string_equal(out,
        "# fcgipm: the effective configuration\n"
        "log = \"stderr\"\n"
        "log_level = info\n"
        "daemon = false\n"
        "upgrade_timeout = 30s\n"
        "status_socket_mode = 0660\n"
        "status_path = \"/status\"\n"
        "ping_path = \"/ping\"\n"
        "\n"
        "listen = {\"unix:/tmp/fcgipm-test.sock\"}\n"
        "backlog = 511\n"
        "socket_mode = 0660\n"
        "mode = exec\n"
        "pm = static\n"
        "command = {\"/bin/sh\"}\n"
        "clear_env = true\n"
        "env = {\"A=dflt\"}\n"
        "workers = 1\n"
        "max_workers = 256\n"
        "max_spawn_rate = 32\n"
        "stop_signal = USR1\n"
        "graceful_timeout = 30s\n"
        "kill_timeout = 5s\n"
        "restart_backoff = 100ms\n"
        "restart_backoff_max = 30s\n"
        "min_uptime = 1s\n"
        "output_rate_limit = 1m\n");
    free(out);
    conf_free(&c);
    /* What is set of the status socket and the workers' process. */
    test_load_ok("status_listen = \"/tmp/st.sock\"\n"
                 "listen = \"127.0.0.1:9000\"\ncommand = /bin/sh\n"
                 "allowed_clients = {\"10.0.0.1\", \"10.0.0.2\"}\n"
                 "chroot = /\nchdir = /srv\nrlimit_files = 1024\n"
                 "rlimit_core = 1024m\npriority = -3\n", &c);
    out = test_print(&c);
    assert_non_null(strstr(out,
        "daemon = false\n"
        "upgrade_timeout = 30s\n"
        "status_listen = \"/tmp/st.sock\"\n"
        "status_socket_mode = 0660\n"));
    assert_non_null(strstr(out,
        "socket_mode = 0660\n"
        "allowed_clients = {\"10.0.0.1\", \"10.0.0.2\"}\n"
        "mode = exec\n"));
    assert_non_null(strstr(out,
        "command = {\"/bin/sh\"}\n"
        "chroot = \"/\"\n"
        "chdir = \"/srv\"\n"
        "rlimit_files = 1024\n"
        "rlimit_core = 1g\n"
        "priority = -3\n"
        "clear_env = true\n"));
    free(out);
    conf_free(&c);
    /* Each pm prints its own keys. */
    test_load_ok(CGI "pm = dynamic\n", &c);
    out = test_print(&c);
    assert_non_null(strstr(out,
        "min_workers = 1\n"
        "workers = 1\n"
        "max_workers = 256\n"
        "min_spare = 1\n"
        "max_spare = 3\n"
        "max_spawn_rate = 32\n"));
    assert_null(strstr(out, "idle_timeout"));
    free(out);
    conf_free(&c);
    test_load_ok(BASE "pm = ondemand\n", &c);
    out = test_print(&c);
    assert_non_null(strstr(out,
        "\nworkers = 0\n"
        "max_workers = 256\n"
        "idle_timeout = 10s\n"
        "max_spawn_rate = 32\n"));
    assert_null(strstr(out, "min_workers"));
    assert_null(strstr(out, "spare"));
    free(out);
    conf_free(&c);
    test_load_ok(BASE "pm = adaptive\nmax_spawn_rate = 0\n", &c);
    out = test_print(&c);
    assert_non_null(strstr(out,
        "min_workers = 1\n"
        "workers = 1\n"
        "max_workers = 256\n"
        "idle_timeout = 10s\n"
        "max_spawn_rate = 0\n"));
    assert_null(strstr(out, "spare"));
    free(out);
    conf_free(&c);
    /* cgi and module pools print their keys, and no command. */
    test_load_ok(CGI "max_body = 1048577\n", &c);
    out = test_print(&c);
    assert_non_null(strstr(out,
        "min_uptime = 1s\n"
        "output_rate_limit = 1m\n"
        "cgi_root = \"/tmp\"\n"
        "cgi_no_new_privs = true\n"
        "max_body = 1048577\n"
        "request_timeout = 0s\n"
        "read_timeout = 10s\n"
        "keepalive_timeout = 75s\n"
        "keepalive_max = 64\n"
        "max_requests = 0\n"
        "max_requests_jitter = 0\n"
        "max_rss = 0\n"
        "slow_request_time = 0s\n"
        "access_format = \"%R - %u %t \\\"%m %r%Q%q\\\" %s %d\"\n"));
    assert_null(strstr(out, "command"));
    assert_null(strstr(out, "preload"));
    free(out);
    conf_free(&c);
    test_load_ok(MOD "module_args = {\"x\"}\nslow_request_time = 2s\n"
                 "slowlog = \"/tmp/s.log\"\naccess_log = \"/tmp/a.log\"\n",
                 &c);
    out = test_print(&c);
    assert_non_null(strstr(out,
        "min_uptime = 1s\n"
        "output_rate_limit = 1m\n"
        "module = \"builtin:hello\"\n"
        "module_args = {\"x\"}\n"
        "preload = false\n"
        "max_body = 0\n"
        "request_timeout = 0s\n"
        "read_timeout = 10s\n"
        "keepalive_timeout = 75s\n"
        "keepalive_max = 64\n"
        "max_requests = 0\n"
        "max_requests_jitter = 0\n"
        "max_rss = 0\n"
        "slow_request_time = 2s\n"
        "slowlog = \"/tmp/s.log\"\n"
        "access_log = \"/tmp/a.log\"\n"
        "access_format = "));
    free(out);
    conf_free(&c);
    /* With several pools, each gets a section. */
    test_load_ok(BASE "pool \"x\" {\n  listen = \"/tmp/x.sock\"\n"
                 "  command = /bin/sh\n}\n", &c);
    out = test_print(&c);
    assert_non_null(strstr(out, "\npool \"default\" {\n    listen = "));
    assert_non_null(strstr(out, "\npool \"x\" {\n"));
    free(out);
    conf_free(&c);
}

/* The shipped config: valid once the demo app exists. */
static void
test_shipped_config(void **state)
{
    char cwd[PATH_MAX], path[PATH_MAX + 32], top[256];
    struct conf_cli cli;
    struct conf c;
    char err[TEST_ERR_MAX];

    (void)state;
    /* Tests run from the top of the tree, where `make run` runs. */
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    snprintf(path, sizeof(path), "%s/etc/fcgipm.conf", cwd);
    if (access(path, R_OK) == -1)
        skip();
    /* The demo app, as `make` builds it, in a copy of the tree. */
    snprintf(top, sizeof(top), "%s/tree", test_dir);
    assert_int_equal(mkdir(top, 0755), 0);
    assert_int_equal(chdir(top), 0);
    assert_int_equal(mkdir("build", 0755), 0);
    assert_int_equal(mkdir("build/t", 0755), 0);
    assert_int_equal(mkdir("build/t/apps", 0755), 0);
    FILE *f = fopen("build/t/apps/hello", "w");
    assert_non_null(f);
    fputs("#!/bin/sh\n", f);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod("build/t/apps/hello", 0755), 0);
    conf_cli_init(&cli);
    cli.config = path;
    int rc = conf_load(&cli, &c, err, sizeof(err));
    assert_int_equal(chdir(cwd), 0);
    if (rc == -1)
        fail_msg("%s", err);
    assert_int_equal(c.npools, 1);
    assert_string_equal(c.pools[0].listen[0], "unix:run/fcgipm.sock");
    assert_int_equal(c.pools[0].workers, 2);
    assert_string_equal(c.pools[0].command[0], "build/t/apps/hello");
    assert_string_equal(c.log, "stderr");
    assert_int_equal(c.log_level, LOG_LEVEL_INFO);
    conf_free(&c);
}

/* conf_load() twice in a row, and after a failure: no state left over. */
static void
test_load_again(void **state)
{
    struct conf_cli cli;
    struct conf c;
    char err[TEST_ERR_MAX];

    (void)state;
    conf_cli_init(&cli);
    assert_int_equal(test_load(BASE "workers = \"abc\n", &cli, &c, err), -1);
    assert_int_equal(test_load(BASE "foo {\n", &cli, &c, err), -1);
    assert_int_equal(test_load(BASE "foo = {\n", &cli, &c, err), -1);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(test_load(BASE "# x\nworkers = 2\n", &cli, &c, err),
                         0);
        assert_int_equal(c.pools[0].workers, 2);
        conf_free(&c);
    }
    /* conf_free() of an empty or freed conf is harmless. */
    conf_free(&c);
}

static void
test_cli_init(void **state)
{
    struct conf_cli cli;

    (void)state;
    memset(&cli, 0x55, sizeof(cli));
    conf_cli_init(&cli);
    assert_null(cli.config);
    assert_null(cli.binds);
    assert_int_equal(cli.workers, -1);
    assert_int_equal(cli.daemon, -1);
    assert_null(cli.mode);
    assert_null(cli.command);
    assert_false(cli.listen_optional);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_defaults_without_file),
        cmocka_unit_test(test_every_key),
        cmocka_unit_test(test_lists_single_string_and_append),
        cmocka_unit_test(test_last_value_wins),
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_stop_signals),
        cmocka_unit_test(test_signal_names),
        cmocka_unit_test(test_enums),
        cmocka_unit_test(test_users_and_groups),
        cmocka_unit_test(test_command_resolution),
        cmocka_unit_test(test_cgi_pool),
        cmocka_unit_test(test_module_pool),
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_access_formats),
        cmocka_unit_test(test_exec_request_key_defaults),
        cmocka_unit_test(test_log_paths_absolute),
        cmocka_unit_test(test_pm_sizes),
        cmocka_unit_test(test_cli_pm),
        cmocka_unit_test(test_chroot),
        cmocka_unit_test(test_rlimits_priority),
        cmocka_unit_test(test_allowed_clients),
        cmocka_unit_test(test_status),
        cmocka_unit_test(test_pool_sections),
        cmocka_unit_test(test_default_pool_beside_sections),
        cmocka_unit_test(test_bad_value_table),
        cmocka_unit_test(test_bad_pool_table),
        cmocka_unit_test(test_bad_syntax_table),
        cmocka_unit_test(test_nul_byte),
        cmocka_unit_test(test_unreadable_file),
        cmocka_unit_test(test_error_buffer_sizes),
        cmocka_unit_test(test_cli_over_file_over_defaults),
        cmocka_unit_test(test_cli_user_group),
        cmocka_unit_test(test_cli_creates_default_pool),
        cmocka_unit_test(test_cli_applies_to_default_section),
        cmocka_unit_test(test_cli_bind_clash),
        cmocka_unit_test(test_cli_error_table),
        cmocka_unit_test(test_cli_workers_range),
        cmocka_unit_test(test_cli_command_means_exec),
        cmocka_unit_test(test_cli_modes),
        cmocka_unit_test(test_listen_optional),
        cmocka_unit_test(test_print_roundtrip),
        cmocka_unit_test(test_print_format),
        cmocka_unit_test(test_shipped_config),
        cmocka_unit_test(test_load_again),
        cmocka_unit_test(test_cli_init),
    };

    return cmocka_run_group_tests(tests, test_setup, test_teardown);
}
