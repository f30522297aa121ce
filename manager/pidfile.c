/* Pid file handling for the master, which runs as root in a directory
 * others may write: no symlink is followed, in the pid file's directory
 * or on the way to it; no name is predictable. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "nofollow.h"
#include "pidfile.h"
#include "sys.h"

/* Tries at a fresh temporary name before giving up (EEXIST). */
#define PIDFILE_TMP_TRIES 16

/* Close fd keeping errno, the caller's reason. */
static void
close_keep_errno(int fd)
{
    int saved = errno;

    close(fd);
    errno = saved;
}


/* What to add to "cannot open its directory: <errno>": ELOOP alone does
 * not say that a symlink was refused on purpose. */
static const char *
dir_hint(int errnum)
{
    return errnum == ELOOP ? " (a symbolic link on the way could be "
                             "another user's, not root's)"
                           : "";
}

/* The pid recorded in name under dir, 0 if none or unreadable; *st is
 * the file's when it was opened (st_ino 0 otherwise). A symlink there is
 * not ours (we write a plain file), so it is not read through; nor is a
 * fifo opened, which could hold us. */
static pid_t
read_pid(int dir, const char *name, struct stat *st)
{
    char buf[32];
    int fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK
                    | O_CLOEXEC);

    memset(st, 0, sizeof(*st));
    if (fd == -1)
        return 0;
    ssize_t n = -1;
    if (fstat(fd, st) == 0 && S_ISREG(st->st_mode))
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

/* Create "NAME.<random>.tmp" under dir with O_EXCL, so that a symlink or
 * a file planted there is never opened, named with 64 bits from
 * getrandom() that no one can guess. Its descriptor, the name in tmp;
 * or -1 with errno. */
static int
create_tmp(int dir, const char *name, char *tmp, size_t size)
{
    for (int i = 0; i < PIDFILE_TMP_TRIES; i++) {
        uint64_t r;
        if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
            return -1;
        int len = snprintf(tmp, size, "%s.%016llx.tmp", name,
                           (unsigned long long)r);
        if (len < 0 || (size_t)len >= size) {
            errno = ENAMETOOLONG;
            return -1;
        }
        int fd = openat(dir, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW
                        | O_CLOEXEC, 0600);
        if (fd != -1 || errno != EEXIST)
            return fd;
    }
    return -1;
}

/* Write pid into a fresh temporary file under dir, then rename it to
 * name there. 0, or -1 logged (path names the pid file). */
static int
write_in(int dir, const char *name, const char *path, pid_t pid)
{
    char tmp[256], line[32];
    int fd = create_tmp(dir, name, tmp, sizeof(tmp));

    if (fd == -1) {
        log_error_errno("pid file %s: cannot create a temporary file in its "
                        "directory", path);
        return -1;
    }
    int len = snprintf(line, sizeof(line), "%d\n", (int)pid);
    /* 0600 at creation; a pid file is for everyone to read. */
    int rc = fchmod(fd, 0644);
    if (rc == 0)
        rc = write_all(fd, line, (size_t)len);
    if (rc == 0)
        rc = fsync(fd);
    if (close(fd) == -1)
        rc = -1;
    if (rc == 0 && renameat(dir, tmp, dir, name) == 0)
        return 0;
    /* renameat() replaces a symlink at name, it does not follow it. */
    log_error_errno("pid file %s: cannot %s %s in its directory", path,
                    rc == 0 ? "rename into place" : "write", tmp);
    if (unlinkat(dir, tmp, 0) == -1)
        log_warn_errno("pid file %s: cannot remove %s in its directory",
                       path, tmp);
    return -1;
}

int
pidfile_write(const char *path, pid_t pid, pid_t may_replace)
{
    struct stat st;
    const char *name;
    int dir = nofollow_open_parent(path, &name);

    if (dir == -1) {
        int saved = errno;
        log_error("pid file %s: cannot create it: cannot open its "
                  "directory%s: %s", path, dir_hint(saved), strerror(saved));
        errno = saved;
        return -1;
    }
    pid_t old = read_pid(dir, name, &st);
    if (old > 0 && old != pid && old != may_replace
        && (sys_kill(old, 0) == 0 || errno == EPERM)) {
        log_error("pid file %s: fcgipm %d is already running", path,
                  (int)old);
        close(dir);
        errno = EEXIST;
        return -1;
    }
    int rc = write_in(dir, name, path, pid);
    close_keep_errno(dir);
    return rc;
}

/* Whether the file open as st, holding pid, is still at name in dir and
 * ours: a plain file of our uid, as we wrote it. */
static bool
is_ours(int dir, const char *name, const struct stat *st)
{
    struct stat now;

    return S_ISREG(st->st_mode) && st->st_uid == geteuid()
           && fstatat(dir, name, &now, AT_SYMLINK_NOFOLLOW) == 0
           && now.st_dev == st->st_dev && now.st_ino == st->st_ino;
}

void
pidfile_remove(const char *path, pid_t pid)
{
    struct stat st;
    const char *name;
    int dir = nofollow_open_parent(path, &name);

    if (dir == -1) {
        int saved = errno;
        if (saved != ENOENT)
            log_warn("pid file %s: not removed: cannot open its directory%s: "
                     "%s", path, dir_hint(saved), strerror(saved));
        return;
    }
    /* Another pid there: a successor owns the file now. */
    if (read_pid(dir, name, &st) != pid) {
        close(dir);
        return;
    }
    if (!is_ours(dir, name, &st))
        log_warn("pid file %s: not removed: it names us but is not the file "
                 "we wrote", path);
    else if (unlinkat(dir, name, 0) == -1 && errno != ENOENT)
        log_warn_errno("pid file %s: cannot remove it", path);
    close(dir);
}
