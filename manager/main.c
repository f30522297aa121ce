/* fcgipm: options, start-up and exit codes (0 ok, 64 usage, 78 config,
 * 1 runtime). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conf.h"
#include "control.h"
#include "ctl.h"
#include "daemon.h"
#include "handler.h"
#include "log.h"
#include "loop.h"
#include "manager.h"
#include "orphan.h"
#include "output.h"
#include "pidfile.h"
#include "pool.h"
#include "sig.h"
#include "status.h"
#include "upgrade.h"

#ifndef FCGIPM_VERSION
#define FCGIPM_VERSION "0.1.0"
#endif

enum { EXIT_USAGE = 64, EXIT_CONFIG = 78 };
enum { OPT_LOG_LEVEL = 256 };

static const char usage_text[] =
    "usage: fcgipm [OPTIONS] [--] [COMMAND [ARGS...]]\n"
    "A FastCGI process manager: binds the socket, runs a pool of workers\n"
    "on it, respawns them, stops them gracefully.\n"
    "\n"
    "  -c, --config FILE        configuration file (libconfuse syntax)\n"
    "  -b, --bind ADDR          listen on unix:/path, /path, unix:@name,\n"
    "                           host:port or [v6]:port (repeatable)\n"
    "  -s, --socket PATH        same as -b unix:PATH\n"
    "  -w, --workers N          number of workers\n"
    "  -m, --mode MODE          exec (default), cgi or module\n"
    "  -u, --user USER          run workers as USER\n"
    "  -g, --group GROUP        run workers as GROUP\n"
    "  -M, --socket-mode OCTAL  unix socket mode (default 0660)\n"
    "  -U, --socket-user USER   unix socket owner\n"
    "  -G, --socket-group GRP   unix socket group\n"
    "  -p, --pid-file FILE      write the master's pid to FILE\n"
    "  -l, --log TARGET         stderr (default), syslog or a file path\n"
    "      --log-level LEVEL    error, warn, info (default) or debug\n"
    "  -t, --test               check the configuration, print it, exit\n"
    "  -D, --daemon             run in the background\n"
    "  -V, --version            print the version\n"
    "  -h, --help               this help\n"
    "\n"
    "Signals: QUIT graceful stop, TERM/INT fast stop, HUP reload, USR2\n"
    "binary upgrade, TTIN/TTOU one more/fewer worker, USR1 reopen logs.\n"
    "'fcgipm ctl --help': the control command (control_listen).\n"
    "Exit: 0 ok, 64 usage, 78 config, 1 runtime failure.\n"
    "See fcgipm(8) and fcgipm.conf(5).\n";

static const struct option long_options[] = {
    { "config", required_argument, NULL, 'c' },
    { "bind", required_argument, NULL, 'b' },
    { "socket", required_argument, NULL, 's' },
    { "workers", required_argument, NULL, 'w' },
    { "mode", required_argument, NULL, 'm' },
    { "user", required_argument, NULL, 'u' },
    { "group", required_argument, NULL, 'g' },
    { "socket-mode", required_argument, NULL, 'M' },
    { "socket-user", required_argument, NULL, 'U' },
    { "socket-group", required_argument, NULL, 'G' },
    { "pid-file", required_argument, NULL, 'p' },
    { "log", required_argument, NULL, 'l' },
    { "log-level", required_argument, NULL, OPT_LOG_LEVEL },
    { "test", no_argument, NULL, 't' },
    { "daemon", no_argument, NULL, 'D' },
    { "version", no_argument, NULL, 'V' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
};

static int
usage_error(const char *what, const char *arg)
{
    fprintf(stderr, "fcgipm: %s%s\nTry 'fcgipm --help'.\n", what, arg);
    return EXIT_USAGE;
}

struct options {
    struct conf_cli cli;
    const char **binds;         /* -b and -s values, NULL-terminated */
    char **owned;               /* the strings -s made, to free */
    size_t nbinds;
    size_t nowned;
    bool test;
    bool help;
    bool version;
};

static void
options_free(struct options *o)
{
    for (size_t i = 0; i < o->nowned; i++)
        free(o->owned[i]);
    free(o->owned);
    free(o->binds);
}

/* "-s PATH" is "-b unix:PATH". Returns 0 or -1 (out of memory). */
static int
add_socket_bind(struct options *o, const char *path)
{
    size_t len = strlen(path) + sizeof("unix:");
    char *s = malloc(len);

    if (s == NULL)
        return -1;
    snprintf(s, len, "unix:%s", path);
    o->owned[o->nowned++] = s;
    o->binds[o->nbinds++] = s;
    return 0;
}


static int
parse_number(const char *s, long *out)
{
    char *end;

    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0')
        return -1;
    *out = v;
    return 0;
}

/* Fill *o from argv. Returns 0, or EXIT_USAGE having said why (1 when
 * out of memory). */
static int
parse_args(int argc, char **argv, struct options *o)
{
    int c;

    conf_cli_init(&o->cli);
    o->binds = calloc((size_t)argc + 1, sizeof(*o->binds));
    o->owned = calloc((size_t)argc + 1, sizeof(*o->owned));
    if (o->binds == NULL || o->owned == NULL) {
        perror("fcgipm");
        return 1;
    }
    /* '+': stop at the first non-option, which starts the command. */
    while ((c = getopt_long(argc, argv, "+c:b:s:w:m:u:g:M:U:G:p:l:tDVh",
                            long_options, NULL)) != -1) {
        switch (c) {
        case 'c': o->cli.config = optarg; break;
        case 'b': o->binds[o->nbinds++] = optarg; break;
        case 's':
            if (add_socket_bind(o, optarg) == -1) {
                perror("fcgipm");
                return 1;
            }
            break;
        case 'w':
            if (parse_number(optarg, &o->cli.workers) == -1
                || o->cli.workers < 0)
                return usage_error("-w: not a number >= 0: ", optarg);
            break;
        case 'm': o->cli.mode = optarg; break;
        case 'u': o->cli.user = optarg; break;
        case 'g': o->cli.group = optarg; break;
        case 'M': o->cli.socket_mode = optarg; break;
        case 'U': o->cli.socket_user = optarg; break;
        case 'G': o->cli.socket_group = optarg; break;
        case 'p': o->cli.pid_file = optarg; break;
        case 'l': o->cli.log = optarg; break;
        case OPT_LOG_LEVEL: o->cli.log_level = optarg; break;
        case 't': o->test = true; break;
        case 'D': o->cli.daemon = 1; break;
        case 'V': o->version = true; break;
        case 'h': o->help = true; break;
        default: return usage_error("invalid option", "");
        }
    }
    if (o->nbinds > 0)
        o->cli.binds = o->binds;
    if (optind < argc)
        o->cli.command = argv + optind;
    return 0;
}

/* Workers get fds 0-2 as their stdio: make sure they are open, so that a
 * socket opened later can never land on them by accident. */
static int
ensure_stdio(void)
{
    for (int fd = 0; fd <= 2; fd++) {
        if (fcntl(fd, F_GETFD) != -1)
            continue;
        int nul = open("/dev/null", O_RDWR);
        if (nul == -1)
            return -1;
        if (nul != fd) {
            errno = EBADF;
            return -1;
        }
    }
    return 0;
}

/* Sockets handed to us, into m->inherited: by an old master (upgrade),
 * by systemd (socket activation), or by a web server as fd 0 (lighttpd
 * bin-path, spawn-fcgi). Returns how many, or -1 (logged). */
static int
take_inherited_sockets(struct manager *m)
{
    int n = 0;
    const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
    long lpid, nfds;

    if (upgrade_take_sockets(m) == -1)
        return -1;
    if (upgrade_parent(m) != 0)
        return 1;
    if (pid != NULL && fds != NULL && parse_number(pid, &lpid) == 0
        && lpid == getpid() && parse_number(fds, &nfds) == 0) {
        for (long i = 0; i < nfds; i++, n++)
            if (listen_inherit(&m->inherited, 3 + (int)i, "systemd",
                               false) == -1)
                return -1;
    }
    /* Not for the workers' eyes, whatever clear_env says. */
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_FDNAMES");
    int listening = 0;
    socklen_t len = sizeof(listening);
    if (n == 0 && getsockopt(0, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len)
                      == 0 && listening) {
        if (listen_inherit(&m->inherited, 0, "fd 0", false) == -1)
            return -1;
        n++;
    }
    return n;
}

/* Bind (or adopt) every pool's addresses; a pool with none takes an
 * inherited socket. */
static int
start_pools(struct manager *m)
{
    m->pools = calloc(m->conf.npools, sizeof(*m->pools));
    if (m->pools == NULL) {
        log_error_errno("cannot allocate pools");
        return -1;
    }
    for (; m->npools < m->conf.npools; m->npools++) {
        const struct pool_conf *pc = &m->conf.pools[m->npools];
        struct listener *ls = NULL;
        int n = pool_listen_all(pc, &m->inherited, &ls);
        if (n == 0 && listen_adopt_any(&m->inherited, &ls[0]) == 0)
            n = 1;
        else if (n == 0) {
            log_error("pool %s: no listen address, and no inherited "
                      "socket left to adopt", pc->name);
            n = -1;
        }
        struct pool *p = calloc(1, sizeof(*p));
        if (n == -1 || p == NULL) {
            free(p);
            if (ls != NULL)
                free(ls);
            return -1;
        }
        pool_init(p, m, pc, ls, (size_t)n);
        m->pools[m->npools] = p;
        /* preload: one copy in the master, shared copy-on-write. */
        if (pc->mode == MODE_MODULE && pc->preload && module_load(pc) == -1)
            return -1;
    }
    return 0;
}

static void
stop_pools(struct manager *m)
{
    for (size_t i = 0; i < m->npools; i++) {
        pool_fini(m->pools[i]);
        free(m->pools[i]);
    }
    free(m->pools);
    m->pools = NULL;
    m->npools = 0;
    while (m->old_confs != NULL) {
        struct old_conf *o = m->old_confs;
        m->old_confs = o->next;
        conf_free(&o->conf);
        free(o);
    }
}

/* Everything between a valid configuration and the loop. 0 or -1. */
static int
start(struct manager *m)
{
    if (log_open(m->conf.log, m->conf.log_level) == -1) {
        fprintf(stderr, "fcgipm: cannot open log %s: %s\n", m->conf.log,
                strerror(errno));
        return -1;
    }
    /* An upgrade's new master is detached already: its parent was. */
    if (m->conf.daemon && upgrade_parent(m) == 0) {
        if (strcmp(m->conf.log, "stderr") == 0)
            log_warn("daemon: log = stderr is discarded once started; set "
                     "log to a file or syslog");
        if (daemon_start(&m->daemon_ready_fd) == -1)
            return -1;
    }
    if (loop_init(m) == -1 || sig_watch(m) == -1)
        return -1;
    /* Here, after daemonizing and before the first worker. */
    orphan_init();
    /* The status and control sockets first: a pool with no listen adopts
     * whatever inherited socket is left, which must not be one of those
     * an old master handed over. */
    if (status_start(m) == -1 || control_start(m) == -1
        || start_pools(m) == -1)
        return -1;
    listen_inherit_close_unused(&m->inherited);
    if (m->conf.pid_file != NULL
        && pidfile_write(m->conf.pid_file, getpid(), upgrade_parent(m))
               == -1)
        return -1;
    log_info("fcgipm %s started: pid %d, %zu pool%s", FCGIPM_VERSION,
             (int)getpid(), m->npools, m->npools == 1 ? "" : "s");
    return 0;
}

/* Check or run the configuration o describes; returns the exit code. */
static int
run(struct options *o, char **argv)
{
    struct manager m;
    char err[1024];

    manager_init(&m);
    upgrade_init(&m, argv);
    if (ensure_stdio() == -1) {
        perror("fcgipm: cannot open /dev/null for stdio");
        return 1;
    }
    /* Block signals before anything else: one that arrives while the
     * configuration loads waits in the signalfd instead of killing us. */
    if (!o->test && (m.sigfd = sig_setup()) == -1) {
        perror("fcgipm: cannot set up signal handling");
        return 1;
    }
    int inherited = take_inherited_sockets(&m);
    if (inherited == -1)
        return 1;
    o->cli.listen_optional = inherited > 0;
    m.cli = &o->cli;
    if (conf_load(&o->cli, &m.conf, err, sizeof(err)) == -1) {
        fprintf(stderr, "fcgipm: %s\n", err);
        return EXIT_CONFIG;
    }
    if (o->test) {
        conf_print(&m.conf, stdout);
        fprintf(stderr, "fcgipm: configuration %s is valid\n",
                m.conf.path ? m.conf.path : "(command line)");
        conf_free(&m.conf);
        return 0;
    }
    int rc = start(&m) == 0 ? manager_run(&m) : 1;
    /* Workers are reaped; log what they wrote last, before the log and
     * the pools go. */
    output_drain_all(&m);
    status_stop(&m);
    control_stop(&m);
    stop_pools(&m);
    if (m.conf.pid_file != NULL)
        pidfile_remove(m.conf.pid_file, getpid());
    log_info("fcgipm %d exiting with status %d", (int)getpid(), rc);
    conf_free(&m.conf);
    log_close();
    return rc;
}

int
main(int argc, char **argv)
{
    struct options o = { 0 };

    if (argc > 1 && strcmp(argv[1], "ctl") == 0)
        return ctl_main(argc - 1, argv + 1);
    int rc = parse_args(argc, argv, &o);

    if (rc == 0 && (o.help || o.version))
        fputs(o.help ? usage_text : "fcgipm " FCGIPM_VERSION "\n", stdout);
    else if (rc == 0)
        rc = run(&o, argv);
    options_free(&o);
    return rc;
}
