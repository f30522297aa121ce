/* fcgipm ctl: find the control socket (-S, or control_listen in the
 * configuration), check that root or our user listens there, send one
 * request, and print the answer, made printable, as aligned columns or
 * JSON; the exit status is the master's. */
#include <errno.h>
#include <limits.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "conf.h"
#include "control_proto.h"
#include "ctl.h"
#include "lines.h"

/* Where fcgipm ctl looks for control_listen without -S or -c: the
 * configuration the shipped systemd unit runs. */
#ifndef FCGIPM_CONFIG
#define FCGIPM_CONFIG "/etc/fcgipm/fcgipm.conf"
#endif
/* Most an answer may be: far beyond a status of every possible worker. */
#define ANSWER_MAX (64u << 20)
#define WAIT_MS 10000
#define FIELDS_MAX 12

static const char ctl_usage[] =
    "usage: fcgipm ctl [-S SOCKET | -c CONFIG] [-p PID] [--json] COMMAND "
    "[ARGS]\n"
    "Control a running fcgipm master through its control socket\n"
    "(control_listen in the configuration).\n"
    "\n"
    "  -S, --socket PATH    the control socket: unix:/path or /path\n"
    "  -c, --config FILE    read control_listen from FILE (default\n"
    "                       " FCGIPM_CONFIG ")\n"
    "  -p, --pid PID        the master's pid (systemd's $MAINPID): when no\n"
    "                       control socket answers, reload and reopen\n"
    "                       signal it instead (HUP, USR1), without an answer\n"
    "  -j, --json           print the answer as JSON\n"
    "  -h, --help           this help\n"
    "\n"
    "Commands:\n"
    "  status [POOL]        pools and workers: state, request, RSS\n"
    "  reload               reload the configuration, wait for the result\n"
    "  scale POOL N|+N|-N   set or change a pool's size (to max_workers)\n"
    "  upgrade              start the new binary, wait until it is ready\n"
    "  stop [--graceful]    stop the master (fast, or let requests end)\n"
    "  reopen               reopen the log files\n"
    "  top [-n COUNT]       every worker, refreshed each second (q quits)\n"
    "\n"
    "Exit: 0 ok, 1 no master answers, 2 the master could not do it,\n"
    "64 usage, 77 permission denied, 78 configuration error.\n";

static const struct option ctl_options[] = {
    { "socket", required_argument, NULL, 'S' },
    { "config", required_argument, NULL, 'c' },
    { "pid", required_argument, NULL, 'p' },
    { "json", no_argument, NULL, 'j' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
};

struct ctl_opts {
    const char *socket;
    const char *config;
    long pid;                   /* -p; 0: not given */
    bool json;
    bool no_socket;             /* the configuration sets no socket */
};

static int
ctl_usage_error(const char *what)
{
    fprintf(stderr, "fcgipm ctl: %s\nTry 'fcgipm ctl --help'.\n", what);
    return CONTROL_EXIT_USAGE;
}

/* --- the connection --------------------------------------------------- */

static int
connect_to(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };

    if (strlen(path) >= sizeof(sa.sun_path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd == -1)
        return -1;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

/* Read until the master closes; 0, or -1 with errno (ETIMEDOUT). */
static int
read_all(int fd, int timeout_ms, struct ctl_answer *ans)
{
    size_t cap = 0;

    for (;;) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        int n = poll(&pfd, 1, timeout_ms);
        if (n == -1 && errno == EINTR)
            continue;
        if (n == 0)
            errno = ETIMEDOUT;
        if (n <= 0)
            return -1;
        if (ans->len + 4096 + 1 > cap) {
            cap = cap == 0 ? 8192 : cap * 2;
            char *grown = cap <= ANSWER_MAX ? realloc(ans->data, cap) : NULL;
            if (grown == NULL) {
                errno = cap > ANSWER_MAX ? EFBIG : ENOMEM;
                return -1;
            }
            ans->data = grown;
        }
        ssize_t got = read(fd, ans->data + ans->len, 4096);
        if (got == -1 && errno == EINTR)
            continue;
        /* A reset after the answer (bytes of ours left unread) ends it. */
        if (got == 0 || (got == -1 && errno == ECONNRESET))
            return 0;
        if (got == -1)
            return -1;
        ans->len += (size_t)got;
        ans->data[ans->len] = '\0';
    }
}

/* Everything the master sent, made printable before anything reads or
 * prints it: each line cleaned by lines_clean, tabs (the fields'
 * separator) and newlines kept. 0, or -1 (ENOMEM). */
static int
clean_answer(struct ctl_answer *ans)
{
    size_t cap = LINES_CLEAN_SIZE(ans->len), len = 0, pos = 0;
    char *clean = malloc(cap);

    if (clean == NULL)
        return -1;
    while (pos < ans->len) {
        char *line = ans->data + pos;
        char *nl = memchr(line, '\n', ans->len - pos);
        size_t n = nl != NULL ? (size_t)(nl - line) : ans->len - pos;
        len += lines_clean(clean + len, cap - len, line, n, LINES_KEEP_TAB);
        if (nl != NULL)
            clean[len++] = '\n';
        pos += n + (nl != NULL);
    }
    clean[len] = '\0';
    free(ans->data);
    ans->data = clean;
    ans->len = len;
    return 0;
}

/* The last line must be the final one. 0, or -1. */
static int
take_final(struct ctl_answer *ans)
{
    if (ans->len == 0 || ans->data[ans->len - 1] != '\n')
        return -1;
    ans->data[ans->len - 1] = '\0';
    char *last = strrchr(ans->data, '\n');
    last = last == NULL ? ans->data : last + 1;
    ans->len = (size_t)(last - ans->data);
    return control_proto_parse_final(last, &ans->code, &ans->text) == 1
               ? 0 : -1;
}

/* The process at the socket must be root or our own user: anyone else
 * bound the path first (a directory others can write) and must not
 * answer for the master. 0, or -1 having said why. */
static int
check_peer(int fd, const char *path)
{
    struct ucred cred;
    socklen_t len = sizeof(cred);

    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1) {
        fprintf(stderr, "fcgipm ctl: %s: cannot read who listens there: "
                "%s\n", path, strerror(errno));
        return -1;
    }
    if (cred.uid != 0 && cred.uid != geteuid()) {
        fprintf(stderr, "fcgipm ctl: %s: not asked: the process there "
                "(pid %ld) runs as uid %lu, neither root nor uid %lu; "
                "is the socket's directory writable by others?\n", path,
                (long)cred.pid, (unsigned long)cred.uid,
                (unsigned long)geteuid());
        return -1;
    }
    return 0;
}

static int
cannot_connect(const char *path)
{
    if (errno == EACCES || errno == EPERM) {
        fprintf(stderr, "fcgipm ctl: cannot connect to %s: %s (only root "
                "and the master's user may use it)\n", path,
                strerror(errno));
        return CONTROL_EXIT_NOPERM;
    }
    fprintf(stderr, "fcgipm ctl: cannot connect to %s: %s (is fcgipm "
            "running? is control_listen set?)\n", path, strerror(errno));
    return CONTROL_EXIT_UNREACHABLE;
}

int
ctl_exchange(const char *path, const struct control_request *rq,
             int timeout_ms, struct ctl_answer *ans)
{
    char line[CONTROL_LINE_MAX + 1];
    int len = control_proto_format_request(rq, line, sizeof(line));

    *ans = (struct ctl_answer){ .code = CONTROL_EXIT_UNREACHABLE };
    if (len == -1)
        return ctl_usage_error("request too long");
    int fd = connect_to(path);
    if (fd == -1)
        return cannot_connect(path);
    if (check_peer(fd, path) == -1) {
        close(fd);
        return CONTROL_EXIT_UNREACHABLE;
    }
    /* A master that refuses us may close before reading: its answer is
     * still there to read. */
    if (send(fd, line, (size_t)len, MSG_NOSIGNAL) == -1 && errno != EPIPE
        && errno != ECONNRESET) {
        fprintf(stderr, "fcgipm ctl: %s: cannot send: %s\n", path,
                strerror(errno));
        close(fd);
        return CONTROL_EXIT_UNREACHABLE;
    }
    int rc = read_all(fd, timeout_ms, ans);
    close(fd);
    if (rc == 0 && clean_answer(ans) == -1)
        rc = -1;
    if (rc == -1 || take_final(ans) == -1) {
        fprintf(stderr, "fcgipm ctl: %s: no answer from the master%s%s\n",
                path, rc == -1 ? ": " : "", rc == -1 ? strerror(errno) : "");
        ctl_answer_free(ans);
        return CONTROL_EXIT_UNREACHABLE;
    }
    return 0;
}

void
ctl_answer_free(struct ctl_answer *ans)
{
    free(ans->data);
    *ans = (struct ctl_answer){ 0 };
}

size_t
ctl_next_row(struct ctl_answer *ans, size_t *pos, char **f, size_t max)
{
    if (*pos >= ans->len)
        return 0;
    char *line = ans->data + *pos;
    /* Bounded by the length read: a NUL byte in an answer must not make
     * the line's end unfindable. The last line may lack its newline. */
    char *nl = memchr(line, '\n', ans->len - *pos);
    if (nl == NULL)
        nl = ans->data + ans->len;
    *nl = '\0';
    *pos = (size_t)(nl + 1 - ans->data);
    size_t n = control_proto_split(line, f, max - 1);
    f[n] = NULL;
    return n;
}

/* --- output ----------------------------------------------------------- */

static void
json_string(const char *s)
{
    putchar('"');
    for (; *s != '\0'; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            printf("\\%c", ch);
        else if (ch < 0x20)
            printf("\\u%04x", ch);
        else
            putchar(ch);
    }
    putchar('"');
}

/* A field as JSON: null for "-", a number when it is digits only. */
static void
json_value(const char *s)
{
    size_t digits = strspn(s, "0123456789");

    if (strcmp(s, "-") == 0)
        fputs("null", stdout);
    else if (digits > 0 && digits < 20 && s[digits] == '\0')
        fputs(s, stdout);
    else
        json_string(s);
}

/* The fields of f from 1 on, named by cols. */
static void
json_fields(char **f, size_t n, const char *const *cols)
{
    for (size_t i = 0; cols[i] != NULL; i++) {
        printf("%s\"%s\": ", i > 0 ? ", " : "", cols[i]);
        json_value(i + 1 < n ? f[i + 1] : "-");
    }
}

/* {"ok": ..., "code": ..., "message": ..., then the rows: "pools" (each
 * with its "workers") for status, the fields of scale and stop. */
static void
print_json(struct ctl_answer *ans)
{
    static const char *const scale_cols[] = { "pool", "target",
                                              "max_workers", NULL };
    static const char *const stop_cols[] = { "pid", NULL };
    char *f[FIELDS_MAX];
    size_t pos = 0, n, pools = 0, workers = 0;

    printf("{\"ok\": %s, \"code\": %d, \"message\": ",
           ans->code == 0 ? "true" : "false", ans->code);
    json_string(ans->text);
    while ((n = ctl_next_row(ans, &pos, f, FIELDS_MAX)) > 0) {
        if (strcmp(f[0], "pool") == 0) {
            printf("%s{", pools++ == 0 ? ", \"pools\": [" : "]}, ");
            json_fields(f, n, control_pool_columns);
            printf(", \"workers\": [");
            workers = 0;
        } else if (strcmp(f[0], "worker") == 0) {
            printf("%s{", workers++ > 0 ? ", " : "");
            json_fields(f, n, control_worker_columns);
            putchar('}');
        } else if (strcmp(f[0], "scale") == 0 || strcmp(f[0], "stop") == 0) {
            fputs(", ", stdout);
            json_fields(f, n, f[0][1] == 'c' ? scale_cols : stop_cols);
        }
    }
    printf("%s}\n", pools > 0 ? "]}]" : "");
}

/* Rows of one kind from the answer as aligned columns under a header. */
static void
print_table(struct ctl_answer *ans, const char *kind,
            const char *const *cols)
{
    char *f[FIELDS_MAX];
    size_t width[FIELDS_MAX] = { 0 }, ncols = 0, pos, n;

    for (; cols[ncols] != NULL; ncols++)
        width[ncols] = strlen(cols[ncols]);
    /* Twice over the rows: the widths, then the lines. ctl_next_row
     * cuts the text, so the first pass works on a copy. */
    struct ctl_answer copy = *ans;
    copy.data = strndup(ans->data, ans->len);
    if (copy.data == NULL)
        return;
    for (pos = 0; (n = ctl_next_row(&copy, &pos, f, FIELDS_MAX)) > 0;)
        for (size_t i = 1; strcmp(f[0], kind) == 0 && i < n && i <= ncols;
             i++)
            if (strlen(f[i]) > width[i - 1])
                width[i - 1] = strlen(f[i]);
    free(copy.data);
    for (size_t i = 0; i < ncols; i++)
        printf("%-*s%s", i + 1 < ncols ? (int)width[i] : 0, cols[i],
               i + 1 < ncols ? "  " : "\n");
    copy = *ans;
    copy.data = strndup(ans->data, ans->len);
    for (pos = 0; copy.data != NULL
                  && (n = ctl_next_row(&copy, &pos, f, FIELDS_MAX)) > 0;) {
        if (strcmp(f[0], kind) != 0)
            continue;
        for (size_t i = 0; i < ncols; i++)
            printf("%-*s%s", i + 1 < ncols ? (int)width[i] : 0,
                   i + 1 < n ? f[i + 1] : "-", i + 1 < ncols ? "  " : "\n");
    }
    free(copy.data);
}

static void
print_text(struct ctl_answer *ans, const struct control_request *rq)
{
    if (rq->verb == CONTROL_STATUS && ans->code == 0) {
        print_table(ans, "pool", control_pool_columns);
        putchar('\n');
        print_table(ans, "worker", control_worker_columns);
        return;
    }
    if (ans->code == 0)
        printf("%s\n", ans->text);
}

/* --- the command ------------------------------------------------------ */

/* The socket path: -S's, or control_listen from the configuration.
 * NULL having said why, with *rc the exit status; *owned is freed by
 * the caller. */
static const char *
find_socket(struct ctl_opts *o, char **owned, int *rc)
{
    const char *s = o->socket;

    *owned = NULL;
    if (s == NULL) {
        struct conf_cli cli;
        struct conf c;
        char err[1024];
        conf_cli_init(&cli);
        cli.config = o->config != NULL ? o->config : FCGIPM_CONFIG;
        cli.listen_optional = true;
        if (conf_load(&cli, &c, err, sizeof(err)) == -1) {
            fprintf(stderr, "fcgipm ctl: %s\n", err);
            *rc = CONTROL_EXIT_CONFIG;
            return NULL;
        }
        if (c.control_listen != NULL)
            *owned = strdup(c.control_listen);
        conf_free(&c);
        if (*owned == NULL) {
            fprintf(stderr, "fcgipm ctl: %s: control_listen is not set\n",
                    cli.config);
            o->no_socket = true;
            *rc = CONTROL_EXIT_CONFIG;
            return NULL;
        }
        s = *owned;
    }
    if (strncmp(s, "unix:", 5) == 0)
        s += 5;
    if (*s == '\0' || *s == '@') {
        *rc = ctl_usage_error("-S: a Unix socket path, unix:/path or /path");
        return NULL;
    }
    return s;
}

/* No control socket answers, but the caller named the master (systemd's
 * $MAINPID): reload and reopen are then done by a signal, as before
 * fcgipm ctl, without knowing their result. rc when there is nothing to
 * fall back to. */
static int
signal_instead(const struct ctl_opts *o, const struct control_request *rq,
               int rc)
{
    int sig = rq->verb == CONTROL_RELOAD   ? SIGHUP
              : rq->verb == CONTROL_REOPEN ? SIGUSR1 : 0;

    if (sig == 0 || o->pid <= 1)
        return rc;
    if (kill((pid_t)o->pid, sig) == -1) {
        fprintf(stderr, "fcgipm ctl: cannot send SIG%s to %ld: %s\n",
                sigabbrev_np(sig), o->pid, strerror(errno));
        return CONTROL_EXIT_UNREACHABLE;
    }
    fprintf(stderr, "fcgipm ctl: no control socket: sent SIG%s to %ld; "
            "the master's log tells the result\n", sigabbrev_np(sig), o->pid);
    return 0;
}

static int
run_command(const char *path, const struct ctl_opts *o,
            const struct control_request *rq)
{
    struct ctl_answer ans;
    /* A reload or an upgrade takes what it takes: the master bounds it
     * (upgrade_timeout) and answers. */
    int wait = rq->verb == CONTROL_RELOAD || rq->verb == CONTROL_UPGRADE
                   ? -1 : WAIT_MS;
    int rc = ctl_exchange(path, rq, wait, &ans);

    if (rc == CONTROL_EXIT_UNREACHABLE)
        return signal_instead(o, rq, rc);
    if (rc != 0)
        return rc;
    if (o->json)
        print_json(&ans);
    else
        print_text(&ans, rq);
    if (ans.code != 0)
        fprintf(stderr, "fcgipm ctl: %s\n", ans.text);
    rc = ans.code;
    ctl_answer_free(&ans);
    return rc;
}

int
ctl_main(int argc, char **argv)
{
    struct ctl_opts o = { 0 };
    struct control_request rq;
    char why[256], *owned;
    int c, rc = 0;

    optind = 1;
    while ((c = getopt_long(argc, argv, "+S:c:p:jh", ctl_options, NULL))
           != -1) {
        char *end;
        switch (c) {
        case 'S': o.socket = optarg; break;
        case 'c': o.config = optarg; break;
        case 'p':
            errno = 0;
            o.pid = strtol(optarg, &end, 10);
            if (errno != 0 || end == optarg || *end != '\0' || o.pid <= 1
                || o.pid > INT_MAX)
                return ctl_usage_error("-p: a pid above 1");
            break;
        case 'j': o.json = true; break;
        case 'h': fputs(ctl_usage, stdout); return 0;
        default: return ctl_usage_error("invalid option");
        }
    }
    if (o.socket != NULL && o.config != NULL)
        return ctl_usage_error("-S and -c: one or the other");
    bool top = optind < argc && strcmp(argv[optind], "top") == 0;
    if (!top && control_proto_parse_words((size_t)(argc - optind),
                                          argv + optind, &rq, why,
                                          sizeof(why)) == -1)
        return ctl_usage_error(why);
    const char *path = find_socket(&o, &owned, &rc);
    if (path == NULL && o.no_socket && !top)
        rc = signal_instead(&o, &rq, rc);
    else if (path != NULL)
        rc = top ? ctl_top_main(path, argc - optind, argv + optind)
                 : run_command(path, &o, &rq);
    free(owned);
    return rc;
}
