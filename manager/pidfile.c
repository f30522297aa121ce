/* Pid file handling for the master, which runs as root in a directory
 * others may write: no symlink is followed, no name is predictable. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "pidfile.h"
#include "sys.h"

/* The pid recorded in path, 0 if none or unreadable. A symlink there is
 * not ours (we write a plain file), so it is not read through; nor is a
 * fifo opened, which could hold us. */
static pid_t
read_pid(const char *path)
{
    char buf[32];
    struct stat st;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

    if (fd == -1)
        return 0;
    ssize_t n = -1;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
        n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    char *end;
    long v = strtol(buf, &end, 10);
    if (end == buf || (*end != '\n' && *end != '\0') || v <= 0
        || v > 0x3fffffff)
        return 0;
    return (pid_t)v;
}

static int
write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

int
pidfile_write(const char *path, pid_t pid, pid_t may_replace)
{
    char tmp[4096], line[32];
    pid_t old = read_pid(path);

    if (old > 0 && old != pid && old != may_replace
        && (sys_kill(old, 0) == 0 || errno == EPERM)) {
        log_error("pid file %s: fcgipm %d is already running", path,
                  (int)old);
        errno = EEXIST;
        return -1;
    }
    if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX.tmp", path)
        >= (int)sizeof(tmp)) {
        log_error("pid file %s: path too long", path);
        errno = ENAMETOOLONG;
        return -1;
    }
    /* A fresh name nobody can guess, created with O_EXCL: a symlink or a
     * file planted there is never opened. (rename() below replaces a
     * symlink at path itself, it does not follow it.) */
    int fd = mkostemps(tmp, 4, O_CLOEXEC);
    if (fd == -1) {
        log_error_errno("pid file %s: cannot create a temporary file", path);
        return -1;
    }
    int len = snprintf(line, sizeof(line), "%d\n", (int)pid);
    /* mkostemps() gives 0600; a pid file is for everyone to read. */
    int rc = fchmod(fd, 0644);
    if (rc == 0)
        rc = write_all(fd, line, (size_t)len);
    if (close(fd) == -1)
        rc = -1;
    if (rc == -1) {
        log_error_errno("pid file %s: cannot write %s", path, tmp);
        unlink(tmp);
        return -1;
    }
    if (rename(tmp, path) == -1) {
        log_error_errno("pid file %s: cannot rename %s into place", path,
                        tmp);
        unlink(tmp);
        return -1;
    }
    return 0;
}

void
pidfile_remove(const char *path, pid_t pid)
{
    if (read_pid(path) != pid)
        return;
    if (unlink(path) == -1)
        log_warn_errno("pid file %s: cannot remove", path);
}
