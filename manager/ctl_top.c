/* fcgipm ctl top: every worker's state, current request and how long it
 * has run, requests served and resident memory, asked of the master
 * each second and drawn until q, Ctrl-C or -n COUNT frames. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "control_proto.h"
#include "ctl.h"

#define FRAME_MS 1000
#define WAIT_MS 5000
#define FIELDS_MAX 12
#define LINE_MAX_COLS 1024

static volatile sig_atomic_t top_quit;

static void
on_quit(int sig)
{
    (void)sig;
    top_quit = 1;
}

struct top_term {
    bool keys;                  /* stdin is a terminal: q quits */
    bool screen;                /* stdout is a terminal: redraw in place */
    struct termios saved;
    size_t cols;                /* cut lines here; 0: never */
};

/* Keys without Enter when stdin is a terminal; Ctrl-C and TERM end the
 * loop (poll returns EINTR) instead of the process, so that the
 * terminal gets its mode back. */
static void
term_setup(struct top_term *t)
{
    struct sigaction sa = { .sa_handler = on_quit };
    struct winsize ws;

    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGINT, &sa, NULL) == -1
        || sigaction(SIGTERM, &sa, NULL) == -1)
        perror("fcgipm ctl: top: sigaction");
    t->screen = isatty(STDOUT_FILENO);
    t->cols = 0;
    if (t->screen && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0
        && ws.ws_col > 0)
        t->cols = ws.ws_col < LINE_MAX_COLS ? ws.ws_col : LINE_MAX_COLS;
    t->keys = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &t->saved) == 0;
    if (!t->keys)
        return;
    struct termios raw = t->saved;
    raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
    raw.c_cc[VMIN] = 1;
    raw.c_cc[VTIME] = 0;
    if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) == -1)
        t->keys = false;
}

static void
term_restore(const struct top_term *t)
{
    if (t->keys && tcsetattr(STDIN_FILENO, TCSANOW, &t->saved) == -1)
        perror("fcgipm ctl: top: cannot restore the terminal");
}

/* Wait a frame's time; true when the user asked to quit meanwhile. */
static bool
wait_frame(const struct top_term *t)
{
    struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
    struct timespec start, now;
    char key;

    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        long spent = (now.tv_sec - start.tv_sec) * 1000
                     + (now.tv_nsec - start.tv_nsec) / 1000000;
        if (top_quit)
            return true;
        if (spent >= FRAME_MS)
            return false;
        int n = poll(&pfd, t->keys ? 1 : 0, (int)(FRAME_MS - spent));
        if (n == 1 && read(STDIN_FILENO, &key, 1) == 1
            && (key == 'q' || key == 'Q'))
            return true;
    }
}

/* One line, cut at the terminal's width (in bytes, a bound), never
 * inside a UTF-8 character: the answer is printable UTF-8 (ctl_exchange
 * cleaned it) and stays so. */
static void
put_line(const struct top_term *t, const char *s)
{
    size_t n = strlen(s);

    if (t->cols > 0 && n > t->cols) {
        n = t->cols;
        while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
            n--;
    }
    printf("%.*s\n", (int)n, s);
}

/* "1.2s" from milliseconds, "-" when not busy. */
static const char *
duration(const char *ms, char *buf, size_t len)
{
    if (strcmp(ms, "-") == 0)
        return "-";
    snprintf(buf, len, "%.1fs", strtod(ms, NULL) / 1000);
    return buf;
}

static void
draw_row(const struct top_term *t, char **f, size_t n)
{
    char line[LINE_MAX_COLS + SB_URI_MAX], dur[32];

    if (strcmp(f[0], "pool") == 0 && n >= 11) {
        snprintf(line, sizeof(line), "pool %s (%s, %s): %s workers, "
                 "target %s, max %s, %s active, listen queue %s", f[1],
                 f[2], f[3], f[5], f[4], f[8], f[7], f[10]);
        put_line(t, line);
    } else if (strcmp(f[0], "worker") == 0 && n >= 9) {
        snprintf(line, sizeof(line), "%-12.12s %7s %-9.9s %8s %9s %7s "
                 "%-6.6s %s", f[1], f[2], f[3], f[4], f[5],
                 duration(f[6], dur, sizeof(dur)), f[7], f[8]);
        put_line(t, line);
    }
}

static void
draw(const struct top_term *t, const char *path, struct ctl_answer *ans)
{
    char *f[FIELDS_MAX], header[LINE_MAX_COLS], when[16];
    size_t pos = 0, n;
    time_t now = time(NULL);
    struct tm tm;

    if (t->screen)
        fputs("\033[H\033[2J", stdout);
    strftime(when, sizeof(when), "%H:%M:%S", localtime_r(&now, &tm));
    snprintf(header, sizeof(header), "fcgipm top  %s  %s  %s%s", path,
             when, ans->text, t->keys ? "  (q quits)" : "");
    put_line(t, header);
    /* The pools first, then every worker in one table. */
    struct ctl_answer copy = *ans;
    copy.data = strndup(ans->data, ans->len);
    while (copy.data != NULL
           && (n = ctl_next_row(&copy, &pos, f, FIELDS_MAX)) > 0)
        if (strcmp(f[0], "pool") == 0)
            draw_row(t, f, n);
    free(copy.data);
    snprintf(header, sizeof(header), "\n%-12s %7s %-9s %8s %9s %7s %-6s %s",
             "POOL", "PID", "STATE", "REQS", "RSS_KB", "TIME", "METHOD",
             "URI");
    put_line(t, header);
    for (pos = 0; (n = ctl_next_row(ans, &pos, f, FIELDS_MAX)) > 0;)
        if (strcmp(f[0], "worker") == 0)
            draw_row(t, f, n);
    if (!t->screen)
        putchar('\n');
    fflush(stdout);
}

/* -n COUNT: how many frames; 0 for no end. 0, or -1 (usage). */
static int
parse_count(int argc, char **argv, long *count)
{
    char *end;

    *count = 0;
    if (argc == 1)
        return 0;
    if (argc != 3 || strcmp(argv[1], "-n") != 0)
        return -1;
    errno = 0;
    *count = strtol(argv[2], &end, 10);
    return errno != 0 || end == argv[2] || *end != '\0' || *count < 1 ? -1
                                                                       : 0;
}

int
ctl_top_main(const char *path, int argc, char **argv)
{
    struct control_request rq = { .verb = CONTROL_STATUS };
    struct top_term t;
    struct ctl_answer ans;
    long count;
    int rc = 0;

    if (parse_count(argc, argv, &count) == -1) {
        fprintf(stderr, "fcgipm ctl: usage: top [-n COUNT]\n");
        return CONTROL_EXIT_USAGE;
    }
    term_setup(&t);
    for (long frame = 1;; frame++) {
        rc = ctl_exchange(path, &rq, WAIT_MS, &ans);
        if (rc != 0)
            break;
        rc = ans.code;
        if (rc == 0)
            draw(&t, path, &ans);
        else
            fprintf(stderr, "fcgipm ctl: %s\n", ans.text);
        ctl_answer_free(&ans);
        if (rc != 0 || frame == count || wait_frame(&t))
            break;
    }
    term_restore(&t);
    return rc;
}
