/* Logging: one line per event, with time, level and pid, to stderr, a file
 * or syslog. The master and, before exec, its children use it. */
#ifndef FCGIPM_LOG_H
#define FCGIPM_LOG_H

enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_WARN, LOG_LEVEL_INFO,
                 LOG_LEVEL_DEBUG };

#define LOG_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* The longest log line: a worker's output line of LINES_MAX bytes
 * with its markers, tag and prefix fits whole. */
#define LOG_LINE_MAX (16384 + 1024)

/*
 * Send logs to target: "stderr", "syslog" or a file path (appended,
 * created 0640), opened relative to its directory, itself reached
 * following no symbolic link but root's (nofollow_open_dir). Returns 0,
 * or -1 with errno when the file cannot be opened (the previous target
 * stays in use): ELOOP when the path is a symbolic link or one on the
 * way to its directory could be another user's, EMLINK when the file has
 * other hard links, EPERM when it belongs to neither root nor our
 * effective uid, EINVAL when it is neither a regular file nor a
 * character device. ELOOP from the directory and EPERM are also logged,
 * naming the path.
 */
int log_open(const char *target, enum log_level level);
/* Open path to append log lines, as log_open does: a new descriptor
 * (close-on-exec), or -1 with errno as log_open sets it. */
int log_open_file(const char *path);
/* Reopen a file target (logrotate), as log_open opens it. Returns 0, or
 * -1 with errno, having logged why with the path; the open file stays in
 * use. */
int log_reopen(void);
void log_close(void);
void log_set_level(enum log_level level);
/* Parse "error".."debug"; -1 if unknown. */
int log_level_parse(const char *name);
const char *log_level_name(enum log_level level);
/*
 * In a worker whose fds 1 and 2 are its output pipe to the master: close
 * the master's log (a worker must not hold it: it could truncate it, and
 * it would miss a logrotate) and write each line to fd 2 as "<N>message",
 * N being syslog's number for its level, for the master to log
 * (output_relayed_level).
 */
void log_relay(void);

void log_msg(enum log_level level, int errnum, const char *fmt, ...)
    LOG_PRINTF(3, 4);

extern enum log_level log_current_level;

#define LOG_AT(lvl, errnum, ...)                                            \
    do {                                                                    \
        if ((lvl) <= log_current_level)                                     \
            log_msg((lvl), (errnum), __VA_ARGS__);                          \
    } while (0)
#define log_error(...) LOG_AT(LOG_LEVEL_ERROR, 0, __VA_ARGS__)
#define log_warn(...)  LOG_AT(LOG_LEVEL_WARN, 0, __VA_ARGS__)
#define log_info(...)  LOG_AT(LOG_LEVEL_INFO, 0, __VA_ARGS__)
#define log_debug(...) LOG_AT(LOG_LEVEL_DEBUG, 0, __VA_ARGS__)
#define log_error_errno(...) LOG_AT(LOG_LEVEL_ERROR, errno, __VA_ARGS__)
#define log_warn_errno(...)  LOG_AT(LOG_LEVEL_WARN, errno, __VA_ARGS__)

#endif
