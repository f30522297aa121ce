/* Path resolution that follows no symlink: each component is opened with
 * O_NOFOLLOW in the directory opened before it, so what it names cannot
 * be redirected by a symlink put in its place between two checks. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nofollow.h"

/* Close fd keeping errno, the caller's reason. */
static void
close_keep_errno(int fd)
{
    int saved = errno;

    close(fd);
    errno = saved;
}

/* The directory name in dirfd, not followed: O_PATH descriptor, or -1. */
static int
nofollow_step(int dirfd, const char *name)
{
    struct stat st;
    int fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);

    if (fd == -1)
        return -1;
    if (fstat(fd, &st) == -1)
        goto fail;
    if (!S_ISDIR(st.st_mode)) {
        errno = S_ISLNK(st.st_mode) ? ELOOP : ENOTDIR;
        goto fail;
    }
    return fd;
fail:
    close_keep_errno(fd);
    return -1;
}

int
nofollow_open_dir(const char *path)
{
    char name[NAME_MAX + 1];
    const char *p = path;
    int fd = open(path[0] == '/' ? "/" : ".",
                  O_PATH | O_DIRECTORY | O_CLOEXEC);

    while (fd != -1) {
        p += strspn(p, "/");
        size_t len = strcspn(p, "/");
        if (len == 0)
            return fd;
        if (len > NAME_MAX) {
            errno = ENAMETOOLONG;
            close_keep_errno(fd);
            return -1;
        }
        memcpy(name, p, len);
        name[len] = '\0';
        p += len;
        int next = nofollow_step(fd, name);
        close_keep_errno(fd);
        fd = next;
    }
    return -1;
}
