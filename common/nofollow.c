/* Path resolution that follows no symlink a pool user could have made:
 * each component is opened with O_NOFOLLOW in the directory opened
 * before it, so what it names cannot be redirected between two checks;
 * a symlink is followed only when root (or the master's user) owns it and
 * the directory that holds it, which no one else may write. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nofollow.h"

/* As the kernel's own bound on symlinks followed in one lookup. */
#define NOFOLLOW_HOPS_MAX 40

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

/* Whether the symlink linkfd (an O_PATH descriptor of the link itself) in
 * directory dirfd can only have been made and aimed by root or by us:
 * both ours, and the directory writable by no one else. That is an
 * admin's link (a deploy's current -> releases/42); any other may be a
 * pool user's. */
static bool
link_is_trusted(int dirfd, int linkfd)
{
    struct stat dir, link;

    return fstat(dirfd, &dir) == 0 && fstat(linkfd, &link) == 0
           && owned_by_us(&dir) && owned_by_us(&link)
           && (dir.st_mode & (S_IWGRP | S_IWOTH)) == 0;
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
    int len = snprintf(joined, sizeof(joined), "%s/%s", target, rest);
    if (len < 0 || (size_t)len >= sizeof(joined) || (size_t)len >= size) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(buf, joined, (size_t)len + 1);
    return 0;
}

/* The next component name in dirfd: 0 with its O_PATH descriptor in *out
 * when a directory; 1 when a trusted link, its target then expanded into
 * buf and *out where to resolve it from (a copy of dirfd, or / for an
 * absolute target); -1 with errno. */
static int
nofollow_step(int dirfd, const char *name, char *buf, size_t size,
              const char *rest, int *hops, int *out)
{
    struct stat st;
    int fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);

    if (fd == -1)
        return -1;
    if (fstat(fd, &st) == -1)
        goto fail;
    if (S_ISDIR(st.st_mode)) {
        *out = fd;
        return 0;
    }
    errno = S_ISLNK(st.st_mode) ? ELOOP : ENOTDIR;
    if (!S_ISLNK(st.st_mode) || ++*hops > NOFOLLOW_HOPS_MAX
        || !link_is_trusted(dirfd, fd)
        || expand_link(fd, buf, size, rest) == -1)
        goto fail;
    close(fd);
    *out = buf[0] == '/' ? open("/", O_PATH | O_DIRECTORY | O_CLOEXEC)
                         : fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
    return *out == -1 ? -1 : 1;
fail:
    close_keep_errno(fd);
    return -1;
}

int
nofollow_open_dir(const char *path)
{
    char buf[PATH_MAX], name[NAME_MAX + 1];
    int hops = 0;
    size_t at = 0;

    if (strlen(path) >= sizeof(buf)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    strcpy(buf, path);
    int fd = open(buf[0] == '/' ? "/" : ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    while (fd != -1) {
        at += strspn(buf + at, "/");
        size_t len = strcspn(buf + at, "/");
        if (len == 0)
            return fd;
        if (len > NAME_MAX) {
            errno = ENAMETOOLONG;
            close_keep_errno(fd);
            return -1;
        }
        memcpy(name, buf + at, len);
        name[len] = '\0';
        at += len;
        /* rest is copied out before buf is rewritten with a link. */
        char rest[PATH_MAX];
        memcpy(rest, buf + at, strlen(buf + at) + 1);
        int next;
        int rc = nofollow_step(fd, name, buf, sizeof(buf), rest, &hops,
                               &next);
        close_keep_errno(fd);
        fd = rc == -1 ? -1 : next;
        if (rc == 1)
            at = 0;             /* buf now holds the link's target + rest */
    }
    return -1;
}
