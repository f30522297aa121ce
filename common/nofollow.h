/* Opening a path without following a symlink a pool user could have made:
 * the master runs as root, and a pool user who can write a directory above
 * a watched path could otherwise point it anywhere. And opening a file the
 * master may run code from (a preloaded module): one only root could have
 * written or put there. */
#ifndef FCGIPM_NOFOLLOW_H
#define FCGIPM_NOFOLLOW_H

#include <stddef.h>

/* An O_PATH, O_CLOEXEC descriptor of the directory path names (absolute,
 * or relative to the working directory), opened one component at a time
 * from / (or .) with O_NOFOLLOW. A symlink is followed only when it and
 * the directory holding it belong to root or to us and that directory is
 * writable by no one else (an admin's link; at most 40 of them). -1 with
 * errno: ELOOP for any other symlink, ENOTDIR when a component is
 * something else, or openat's. */
int nofollow_open_dir(const char *path);

/* nofollow_open_dir of the directory that holds path, with *name pointed
 * at path's last component: for a file the master creates, opens or
 * removes relative to that descriptor. -1 with errno (EISDIR when path
 * names no file in a directory, ENAMETOOLONG, or nofollow_open_dir's). */
int nofollow_open_parent(const char *path, const char **name);

/* What nofollow_open_trusted asks of a file, for messages. */
#define NOFOLLOW_TRUSTED_RULE                                               \
    "the file and every directory above it must belong to root, or to "  \
    "fcgipm's user, and be writable by no one else"

/* An O_RDONLY, O_CLOEXEC descriptor of the regular file path names, for
 * the master to run code from: resolved from / (a relative path from the
 * working directory's name) as nofollow_open_dir does, symlinks by the same
 * rule, and every other entry on the way trusted too: each directory and
 * the file belong to root or to us; each directory holding one belongs to
 * root or to us and is writable by no one else, or is sticky (as /tmp,
 * where others may add names but not rename or remove ours; a file there
 * with a second name, maybe someone's hard link, is refused); the file is
 * writable by no one else. The checks are made on the descriptors opened,
 * the file's on the one returned. -1 with errno (EPERM for an entry not
 * trusted, ELOOP for a symlink not, ENOTDIR, EISDIR, EINVAL for what is
 * not a regular file, or the system's) and why, a sentence naming the path
 * at fault (as resolved). */
int nofollow_open_trusted(const char *path, char *why, size_t len);

/* nofollow_open_trusted's verdict alone (the descriptor closed): 0, or -1
 * with errno and why. */
int nofollow_check_trusted(const char *path, char *why, size_t len);

#endif
