/* The file of a Unix socket we listen on: its mode and owner set, and
 * the file removed, only while its path still names the very file the
 * socket is bound to (never through a planted symlink or another file). */
#ifndef FCGIPM_SOCKPERM_H
#define FCGIPM_SOCKPERM_H

#include <sys/types.h>

enum sockperm_state {
    SOCKPERM_OURS,              /* path names the file sock is bound to */
    SOCKPERM_GONE,              /* nothing at path */
    SOCKPERM_REPLACED,          /* something else at path */
    SOCKPERM_ERROR,             /* cannot tell (errno) */
};

/*
 * What path names, compared with the file the kernel says the socket
 * sock is bound to (NETLINK_SOCK_DIAG, UNIX_DIAG_VFS). The last component
 * of path is not followed, so a symlink is REPLACED. Logs nothing.
 */
enum sockperm_state sockperm_check(int sock, const char *path);

/*
 * Give the file of the listening Unix socket sock, bound at path, the
 * mode and the owner uid:gid ((uid_t)-1, (gid_t)-1: unchanged), through
 * a descriptor of that very file. Refuses when path names another file.
 * Returns 0, or -1 logged as "KIND NAME: ..."; errno ESTALE when path no
 * longer names the socket's file (logged as replaced or gone), and then
 * nothing was changed.
 */
int sockperm_apply(int sock, const char *path, mode_t mode, uid_t uid,
                   gid_t gid, const char *kind, const char *name);

/*
 * Remove path if it still names the file of sock; leave anything else
 * there (logged). Returns 0 when removed or already gone, -1 otherwise
 * (logged as "KIND NAME: ...").
 */
int sockperm_unlink(int sock, const char *path, const char *kind,
                    const char *name);

#endif
