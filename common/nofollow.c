/* Path resolution that follows no symlink a pool user could have made:
 * each component is opened with O_NOFOLLOW in the directory opened
 * before it, so what it names cannot be redirected between two checks;
 * a symlink is followed only when root (or the master's user) owns it and
 * the directory that holds it, which no one else may write. Resolving a
 * file to run code from holds every component to that rule, sticky
 * directories aside. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nofollow.h"

/* As the kernel's own bound on symlinks followed in one lookup. */
#define NOFOLLOW_HOPS_MAX 40

/* A resolution in progress. */
struct walk {
    bool every;                 /* every entry checked, not links alone */
    int hops;                   /* symlinks followed so far */
    char *why;                  /* NULL when no message is wanted */
    size_t why_len;
    char at[PATH_MAX];          /* the directory reached, for messages */
};

/* Close fd keeping errno, the caller's reason. */
static void
close_keep_errno(int fd)
{
    int saved = errno;

    close(fd);
    errno = saved;
}

static bool
owned_by_us(const struct stat *st)
{
    return st->st_uid == 0 || st->st_uid == geteuid();
}

/* -1 with errno err, and the message in w->why when one is wanted. */
static int __attribute__((format(printf, 3, 4)))
refuse(struct walk *w, int err, const char *fmt, ...)
{
    va_list ap;

    if (w->why != NULL) {
        va_start(ap, fmt);
        vsnprintf(w->why, w->why_len, fmt, ap);
        va_end(ap);
    }
    errno = err;
    return -1;
}

/* name in the directory reached, for messages (cut at len). */
static const char *
walk_path(const struct walk *w, const char *name, char *out, size_t len)
{
    const char *sep = strcmp(w->at, "/") == 0 ? "" : "/";
    int n = snprintf(out, len, "%s%s%s", w->at, sep, name);

    if (n < 0)
        out[0] = '\0';
    return out;
}

/* The directory name (path, as walk_path wrote it) reached: w->at is
 * always where the descriptor is, so ".." is its parent. */
static void
walk_enter(struct walk *w, const char *name, const char *path)
{
    char *slash;

    if (strcmp(name, "..") == 0) {
        slash = strrchr(w->at, '/');
        if (slash != NULL && slash != w->at)
            *slash = '\0';
        else if (slash != NULL)
            strcpy(w->at, "/");
    } else if (strcmp(name, ".") != 0) {
        strcpy(w->at, path);
    }
}

static const char *
writers(mode_t mode)
{
    if ((mode & S_IWGRP) && (mode & S_IWOTH))
        return "its group and others";
    return mode & S_IWGRP ? "its group" : "others";
}

/* 0 when entry, named name in dir, can only have been put there and
 * changed by root or us: both ours, and dir writable by no one else. With
 * sticky, dir may also be a sticky one others may write (no one else may
 * rename or remove an entry of ours there), but then a non-directory with
 * a second name (a hard link anyone could have made) is not trusted.
 * Else -1 with errno err, having said why. */
static int
entry_check(struct walk *w, const struct stat *dir, const struct stat *entry,
            const char *name, bool sticky, int err)
{
    char path[PATH_MAX];
    bool shared = (dir->st_mode & (S_IWGRP | S_IWOTH)) != 0;
    const char *us = geteuid() == 0 ? "" : " or to fcgipm's user";

    if (!owned_by_us(dir))
        return refuse(w, err, "directory %s belongs to uid %u, not to root%s",
                      w->at, (unsigned)dir->st_uid, us);
    if (shared && !(sticky && (dir->st_mode & S_ISVTX)))
        return refuse(w, err, "directory %s is writable by %s", w->at,
                      writers(dir->st_mode));
    walk_path(w, name, path, sizeof(path));
    if (!owned_by_us(entry))
        return refuse(w, err, "%s belongs to uid %u, not to root%s", path,
                      (unsigned)entry->st_uid, us);
    if (shared && !S_ISDIR(entry->st_mode) && entry->st_nlink != 1)
        return refuse(w, err, "%s has %lu names, and its directory %s is "
                      "writable by others", path,
                      (unsigned long)entry->st_nlink, w->at);
    return 0;
}

/* Replace what is left to resolve, rest (inside buf), by the target of
 * linkfd followed by rest. 0, or -1 with errno. */
static int
expand_link(int linkfd, char *buf, size_t size, const char *rest)
{
    char target[PATH_MAX], joined[PATH_MAX];
    ssize_t n = readlinkat(linkfd, "", target, sizeof(target) - 1);

    if (n == -1)
        return -1;
    target[n] = '\0';
    /* rest is empty or starts with a slash: a last component may be a
     * file, so no slash is added after it. */
    int len = snprintf(joined, sizeof(joined), "%s%s", target, rest);
    if (len < 0 || (size_t)len >= sizeof(joined) || (size_t)len >= size) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(buf, joined, (size_t)len + 1);
    return 0;
}

/* The symlink linkfd (stat st), named name in dirfd (stat dir): 1 with
 * its target expanded into buf and *out where to resolve it from (a copy
 * of dirfd, or / for an absolute target), or -1 with errno. */
static int
walk_link(struct walk *w, int dirfd, const struct stat *dir, int linkfd,
          const struct stat *st, const char *name, char *buf, size_t size,
          const char *rest, int *out)
{
    char path[PATH_MAX];

    if (++w->hops > NOFOLLOW_HOPS_MAX)
        return refuse(w, ELOOP, "%s: more than %d symlinks on the way",
                      walk_path(w, name, path, sizeof(path)),
                      NOFOLLOW_HOPS_MAX);
    if (entry_check(w, dir, st, name, false, ELOOP) == -1)
        return -1;
    if (expand_link(linkfd, buf, size, rest) == -1)
        return refuse(w, errno, "symlink %s: %s",
                      walk_path(w, name, path, sizeof(path)),
                      strerror(errno));
    if (buf[0] == '/')
        strcpy(w->at, "/");
    *out = buf[0] == '/' ? open("/", O_PATH | O_DIRECTORY | O_CLOEXEC)
                         : fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
    return *out == -1 ? -1 : 1;
}

/* The regular file name in dirfd (stat dir), the last component, seen as
 * st through an O_PATH descriptor: 2 with an O_RDONLY descriptor of that
 * very file in *out, checked through it, or -1 with errno. O_NONBLOCK, as
 * a FIFO put in its place would block the open. */
static int
walk_file(struct walk *w, int dirfd, const struct stat *dir,
          const struct stat *st, const char *name, int *out)
{
    char path[PATH_MAX];
    struct stat now;
    int fd = openat(dirfd, name,
                    O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);

    walk_path(w, name, path, sizeof(path));
    if (fd == -1)
        return refuse(w, errno, "%s: %s", path, strerror(errno));
    if (fstat(fd, &now) == -1) {
        refuse(w, errno, "%s: %s", path, strerror(errno));
        goto fail;
    }
    if (now.st_dev != st->st_dev || now.st_ino != st->st_ino) {
        refuse(w, EAGAIN, "%s was replaced as it was checked", path);
        goto fail;
    }
    if (entry_check(w, dir, &now, name, true, EPERM) == -1)
        goto fail;
    if (now.st_mode & (S_IWGRP | S_IWOTH)) {
        refuse(w, EPERM, "%s is writable by %s", path, writers(now.st_mode));
        goto fail;
    }
    *out = fd;
    return 2;
fail:
    close_keep_errno(fd);
    return -1;
}

/* The next component name in dirfd: 0 with its O_PATH descriptor in *out
 * when a directory; 1 when a trusted link, its target then expanded into
 * buf and *out where to resolve it from; 2 with an O_RDONLY descriptor
 * when w->every and a trusted regular file ends the path; -1 with errno. */
static int
walk_step(struct walk *w, int dirfd, const char *name, char *buf,
          size_t size, const char *rest, int *out)
{
    char path[PATH_MAX];
    struct stat st, dir;
    int rc = -1;
    int fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);

    walk_path(w, name, path, sizeof(path));
    if (fd == -1)
        return refuse(w, errno, "%s: %s", path, strerror(errno));
    if (fstat(fd, &st) == -1 || fstat(dirfd, &dir) == -1)
        refuse(w, errno, "%s: %s", path, strerror(errno));
    else if (S_ISLNK(st.st_mode))
        rc = walk_link(w, dirfd, &dir, fd, &st, name, buf, size, rest, out);
    else if (S_ISDIR(st.st_mode)) {
        if (!w->every || entry_check(w, &dir, &st, name, true, EPERM) == 0) {
            walk_enter(w, name, path);
            *out = fd;
            return 0;
        }
    } else if (!w->every || rest[0] != '\0')
        refuse(w, ENOTDIR, "%s is not a directory", path);
    else if (!S_ISREG(st.st_mode))
        refuse(w, EINVAL, "%s is not a regular file", path);
    else
        rc = walk_file(w, dirfd, &dir, &st, name, out);
    close_keep_errno(fd);
    return rc;
}

/* Resolve path (shorter than PATH_MAX) from / or the working directory,
 * as w says: the last directory's O_PATH descriptor, or (w->every) the
 * file's O_RDONLY one; -1 with errno. */
static int
walk(struct walk *w, const char *path)
{
    char buf[PATH_MAX], name[NAME_MAX + 1];
    size_t at = 0;

    strcpy(buf, path);
    strcpy(w->at, buf[0] == '/' ? "/" : ".");
    int fd = open(w->at, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd == -1)
        return refuse(w, errno, "%s: %s", w->at, strerror(errno));
    while (fd != -1) {
        at += strspn(buf + at, "/");
        size_t len = strcspn(buf + at, "/");
        if (len == 0 && !w->every)
            return fd;
        if (len == 0) {
            close(fd);
            return refuse(w, EISDIR, "%s is a directory", w->at);
        }
        if (len > NAME_MAX) {
            close(fd);
            return refuse(w, ENAMETOOLONG, "%.*s...: %s", 64, buf + at,
                          strerror(ENAMETOOLONG));
        }
        memcpy(name, buf + at, len);
        name[len] = '\0';
        at += len;
        /* rest is copied out before buf is rewritten with a link. */
        char rest[PATH_MAX];
        memcpy(rest, buf + at, strlen(buf + at) + 1);
        int next = -1;
        int rc = walk_step(w, fd, name, buf, sizeof(buf), rest, &next);
        close_keep_errno(fd);
        if (rc == 2)
            return next;
        fd = rc == -1 ? -1 : next;
        if (rc == 1)
            at = 0;             /* buf now holds the link's target + rest */
    }
    return -1;
}

int
nofollow_open_dir(const char *path)
{
    struct walk w = { .every = false };

    if (strlen(path) >= sizeof(w.at)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return walk(&w, path);
}

int
nofollow_open_trusted(const char *path, char *why, size_t len)
{
    struct walk w = { .every = true, .why = why, .why_len = len };
    char abs[PATH_MAX], cwd[PATH_MAX];
    int n;

    if (path[0] == '/')
        n = snprintf(abs, sizeof(abs), "%s", path);
    else if (getcwd(cwd, sizeof(cwd)) == NULL)
        return refuse(&w, errno, "cannot find the working directory: %s",
                      strerror(errno));
    else
        n = snprintf(abs, sizeof(abs), "%s/%s", cwd, path);
    if (n < 0 || (size_t)n >= sizeof(abs))
        return refuse(&w, ENAMETOOLONG, "%s: %s", path,
                      strerror(ENAMETOOLONG));
    return walk(&w, abs);
}

int
nofollow_check_trusted(const char *path, char *why, size_t len)
{
    int fd = nofollow_open_trusted(path, why, len);

    if (fd == -1)
        return -1;
    close(fd);
    return 0;
}

int
nofollow_open_parent(const char *path, const char **name)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');

    *name = slash != NULL ? slash + 1 : path;
    if (**name == '\0' || strcmp(*name, ".") == 0
        || strcmp(*name, "..") == 0) {
        errno = EISDIR;
        return -1;
    }
    if (slash == NULL)
        return nofollow_open_dir(".");
    size_t len = slash == path ? 1 : (size_t)(slash - path);
    if (len >= sizeof(dir)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(dir, path, len);
    dir[len] = '\0';
    return nofollow_open_dir(dir);
}
