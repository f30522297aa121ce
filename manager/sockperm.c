/* A Unix socket's file is changed or removed only through a descriptor
 * of the file the kernel says the socket is bound to: a pool user who
 * can write the socket's directory cannot redirect root's chmod, chown
 * or unlink with a symlink or another file. */
#include <errno.h>
#include <fcntl.h>
#include <linux/unix_diag.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "log.h"
#include "nofollow.h"
#include "sockperm.h"
#include "unixdiag.h"

/* The file a Unix socket is bound to, as NETLINK_SOCK_DIAG reports it:
 * the kernel's own device number (major << 20 | minor, not st_dev's
 * encoding) and the inode number cut to 32 bits. */
struct bound_file {
    bool has_file;              /* false: abstract or unbound */
    uint32_t dev;
    uint32_t ino;
};

/* Ask the kernel which file sock is bound to. 0 or -1 with errno. */
static int
bound_file_of(int sock, struct bound_file *bf)
{
    struct unix_diag_vfs vfs;
    unsigned char state;
    int rc = unixdiag_query(sock, UDIAG_SHOW_VFS, UNIX_DIAG_VFS, &vfs,
                            sizeof(vfs), &state);

    if (rc == -1)
        return -1;
    /* No UNIX_DIAG_VFS: the socket has no file at all. */
    *bf = (struct bound_file){ .has_file = rc == 1,
                               .dev = rc == 1 ? vfs.udiag_vfs_dev : 0,
                               .ino = rc == 1 ? vfs.udiag_vfs_ino : 0 };
    return 0;
}

/*
 * Open name under dirfd as an O_PATH descriptor without following a
 * final symlink, and compare it with the file sock is bound to. *fd is
 * the descriptor when the answer is SOCKPERM_OURS, else -1.
 */
static enum sockperm_state
open_checked(int sock, int dirfd, const char *name, int *fd)
{
    struct bound_file bf;
    struct stat st;
    int saved;

    *fd = -1;
    if (bound_file_of(sock, &bf) == -1)
        return SOCKPERM_ERROR;
    int f = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (f == -1)
        return errno == ENOENT ? SOCKPERM_GONE : SOCKPERM_ERROR;
    if (fstat(f, &st) == -1) {
        saved = errno;
        close(f);
        errno = saved;
        return SOCKPERM_ERROR;
    }
    if (!bf.has_file || !S_ISSOCK(st.st_mode)
        || major(st.st_dev) != bf.dev >> 20
        || minor(st.st_dev) != (bf.dev & 0xfffff)
        || (uint32_t)st.st_ino != bf.ino) {
        close(f);
        return SOCKPERM_REPLACED;
    }
    *fd = f;
    return SOCKPERM_OURS;
}

enum sockperm_state
sockperm_check(int sock, const char *path)
{
    int fd;
    enum sockperm_state state = open_checked(sock, AT_FDCWD, path, &fd);

    if (fd != -1)
        close(fd);
    return state;
}

/* Change the mode and owner of the file open as the O_PATH fd. 0, or -1
 * with errno and *what the step that failed. */
static int
change(int fd, mode_t mode, uid_t uid, gid_t gid, const char **what)
{
    char self[64];

    /* fchmod() refuses an O_PATH descriptor, and fchmod() of a socket's
     * own descriptor changes only its sockfs inode, not the file that
     * connect() checks. The magic link names the opened file itself:
     * nothing at the path can be swapped in. */
    snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
    *what = "chmod";
    if (chmod(self, mode) == -1)
        return -1;
    *what = "chown";
    if ((uid != (uid_t)-1 || gid != (gid_t)-1)
        && fchownat(fd, "", uid, gid, AT_EMPTY_PATH) == -1)
        return -1;
    return 0;
}

int
sockperm_apply(int sock, const char *path, mode_t mode, uid_t uid,
               gid_t gid, const char *kind, const char *name)
{
    const char *what;
    int fd;

    switch (open_checked(sock, AT_FDCWD, path, &fd)) {
    case SOCKPERM_OURS:
        break;
    case SOCKPERM_GONE:
        log_error("%s %s: socket file %s is gone: mode and owner not set",
                  kind, name, path);
        errno = ESTALE;
        return -1;
    case SOCKPERM_REPLACED:
        log_error("%s %s: %s was replaced: it is not our socket any more; "
                  "mode and owner not set", kind, name, path);
        errno = ESTALE;
        return -1;
    default:
        log_error_errno("%s %s: cannot check that %s is our socket", kind,
                        name, path);
        return -1;
    }
    int rc = change(fd, mode, uid, gid, &what);
    if (rc == -1)
        log_error_errno("%s %s: cannot %s %s to mode %04o, owner %d:%d",
                        kind, name, what, path, (unsigned)mode, (int)uid,
                        (int)gid);
    close(fd);
    return rc;
}

int
sockperm_unlink(int sock, const char *path, const char *kind,
                const char *name)
{
    const char *base;
    int fd, rc = -1;

    /* Check and remove through one descriptor of the directory, so that
     * the name removed is the name checked, in the same directory; reached
     * through no symlink a pool user could have made. */
    int dir = nofollow_open_parent(path, &base);
    if (dir == -1) {
        if (errno == ENOENT)
            return 0;
        log_warn_errno("%s %s: cannot open the directory of %s", kind, name,
                       path);
        return -1;
    }
    switch (open_checked(sock, dir, base, &fd)) {
    case SOCKPERM_OURS:
        close(fd);
        rc = unlinkat(dir, base, 0);
        if (rc == -1 && errno == ENOENT)
            rc = 0;
        if (rc == -1)
            log_warn_errno("%s %s: cannot remove %s", kind, name, path);
        break;
    case SOCKPERM_GONE:
        rc = 0;
        break;
    case SOCKPERM_REPLACED:
        log_warn("%s %s: %s was replaced: it is not our socket any more; "
                 "left in place", kind, name, path);
        break;
    default:
        log_warn_errno("%s %s: cannot check that %s is our socket; left in "
                       "place", kind, name, path);
        break;
    }
    close(dir);
    return rc;
}
