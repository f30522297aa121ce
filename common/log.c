/* Log lines "TIME LEVEL fcgipm[PID]: message" to stderr, a file or syslog.
 * Each line goes out in one write(2) so concurrent writers never mix. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "clock.h"
#include "nofollow.h"

/* LOG_TO_RELAY: a worker's lines to its output pipe, for the master. */
enum log_target { LOG_TO_STDERR, LOG_TO_FILE, LOG_TO_RELAY, LOG_TO_SYSLOG };

enum log_level log_current_level = LOG_LEVEL_INFO;

static enum log_target target = LOG_TO_STDERR;
static int file_fd = -1;
static char file_path[4096];

static const char *const level_names[] = {
    [LOG_LEVEL_ERROR] = "error",
    [LOG_LEVEL_WARN] = "warn",
    [LOG_LEVEL_INFO] = "info",
    [LOG_LEVEL_DEBUG] = "debug",
};

/* syslog's numbers for our levels: the relay's line prefix. */
static const int level_prio[] = {
    [LOG_LEVEL_ERROR] = LOG_ERR,
    [LOG_LEVEL_WARN] = LOG_WARNING,
    [LOG_LEVEL_INFO] = LOG_INFO,
    [LOG_LEVEL_DEBUG] = LOG_DEBUG,
};


/* Whether an existing file may have been put there by someone else: a
 * user who can write the log's directory could have made it (after a
 * logrotate, say) to read, or fill, what we append. */
static bool
owned_by_another(const struct stat *st)
{
    return st->st_uid != 0 && st->st_uid != geteuid();
}

/* The master is root, and the log's directory, or one above it, may be
 * writable by a pool user: never follow a symbolic link planted there
 * (in the directories above too: the file is opened relative to its
 * directory, reached by nofollow_open_dir), never write through another
 * name of a file (a hard link), nor to a file another user owns, never
 * block opening a FIFO. A character device (/dev/null, a terminal) is
 * fine: only root makes one. The refusals errno alone does not explain
 * are logged, naming path, and *logged set. */
static int
open_file(const char *path, bool *logged)
{
    struct stat st;
    const char *name;
    int saved;
    int dir = nofollow_open_parent(path, &name);

    *logged = false;
    if (dir == -1) {
        if (errno == ELOOP) {
            log_error_errno("log %s: not opened: a symbolic link on the way "
                            "to its directory could be another user's, "
                            "not root's", path);
            *logged = true;
        }
        return -1;
    }
    int fd = openat(dir, name, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW
                    | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0640);
    saved = errno;
    close(dir);
    errno = saved;
    if (fd == -1)
        return -1;
    if (fstat(fd, &st) == -1)
        goto fail;
    if (!S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode)) {
        errno = EINVAL;
        goto fail;
    }
    if (S_ISREG(st.st_mode) && st.st_nlink > 1) {
        errno = EMLINK;
        goto fail;
    }
    if (S_ISREG(st.st_mode) && owned_by_another(&st)) {
        log_error("log %s: not appended to: the file belongs to uid %d, "
                  "neither root nor uid %d (ours)", path, (int)st.st_uid,
                  (int)geteuid());
        *logged = true;
        errno = EPERM;
        goto fail;
    }
    /* Writes to a terminal may block, as they do on stderr. */
    if (fcntl(fd, F_SETFL, O_APPEND) == -1)
        goto fail;
    return fd;
fail:
    saved = errno;
    close(fd);
    errno = saved;
    return -1;
}

int
log_open_file(const char *path)
{
    bool logged;

    return open_file(path, &logged);
}

int
log_open(const char *where, enum log_level level)
{
    log_current_level = level;
    if (where == NULL || strcmp(where, "stderr") == 0) {
        log_close();
        target = LOG_TO_STDERR;
        return 0;
    }
    if (strcmp(where, "syslog") == 0) {
        log_close();
        openlog("fcgipm", LOG_PID | LOG_NDELAY, LOG_DAEMON);
        target = LOG_TO_SYSLOG;
        return 0;
    }
    if (strlen(where) >= sizeof(file_path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd = log_open_file(where);
    if (fd == -1)
        return -1;
    log_close();
    file_fd = fd;
    strcpy(file_path, where);
    target = LOG_TO_FILE;
    return 0;
}

int
log_reopen(void)
{
    bool logged;

    if (target != LOG_TO_FILE)
        return 0;
    int fd = open_file(file_path, &logged);
    if (fd == -1) {
        if (!logged)
            log_error_errno("log %s: cannot reopen it", file_path);
        return -1;
    }
    /* dup3 keeps the descriptor number, so children that were handed the
     * log as their stderr by number stay valid for new spawns. */
    if (dup3(fd, file_fd, O_CLOEXEC) == -1) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    close(fd);
    return 0;
}

void
log_relay(void)
{
    log_close();
    target = LOG_TO_RELAY;
}

void
log_close(void)
{
    if (target == LOG_TO_FILE && file_fd != -1)
        close(file_fd);
    if (target == LOG_TO_SYSLOG)
        closelog();
    file_fd = -1;
    target = LOG_TO_STDERR;
}

void
log_set_level(enum log_level level)
{
    log_current_level = level;
}

int
log_level_parse(const char *name)
{
    for (size_t i = 0; i < sizeof(level_names) / sizeof(*level_names); i++)
        if (strcmp(name, level_names[i]) == 0)
            return (int)i;
    return -1;
}

const char *
log_level_name(enum log_level level)
{
    return level_names[level];
}

static size_t
format_prefix(char *buf, size_t len, enum log_level level)
{
    double now = clock_wall_s();
    time_t sec = (time_t)now;
    struct tm tm;

    localtime_r(&sec, &tm);
    size_t n = strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
    int m = snprintf(buf + n, len - n, ".%03d %s fcgipm[%d]: ",
                     (int)((now - (double)sec) * 1000), level_names[level],
                     (int)getpid());
    return n + (size_t)m;
}

void
log_msg(enum log_level level, int errnum, const char *fmt, ...)
{
    char line[LOG_LINE_MAX];
    size_t n = 0;
    va_list ap;
    int saved = errno;

    if (target == LOG_TO_RELAY)
        n = (size_t)snprintf(line, sizeof(line), "<%d>", level_prio[level]);
    else if (target != LOG_TO_SYSLOG)
        n = format_prefix(line, sizeof(line), level);
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
    va_end(ap);
    n = m < 0 ? n : n + (size_t)m;
    if (n > sizeof(line) - 2)
        n = sizeof(line) - 2;
    if (errnum != 0) {
        m = snprintf(line + n, sizeof(line) - n, ": %s", strerror(errnum));
        n = m < 0 ? n : n + (size_t)m;
        if (n > sizeof(line) - 2)
            n = sizeof(line) - 2;
    }
    if (target == LOG_TO_SYSLOG) {
        syslog(level_prio[level], "%.*s", (int)n, line);
    } else {
        line[n++] = '\n';
        int fd = target == LOG_TO_FILE ? file_fd : STDERR_FILENO;
        /* Nowhere better to report a failed log write: drop the line. */
        ssize_t w = write(fd, line, n);
        (void)w;
    }
    errno = saved;
}
