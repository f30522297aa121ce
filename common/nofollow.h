/* Opening a directory by path without following a symlink a pool user
 * could have made: the master runs as root, and a pool user who can write
 * a directory above a watched path could otherwise point it anywhere. */
#ifndef FCGIPM_NOFOLLOW_H
#define FCGIPM_NOFOLLOW_H

/* An O_PATH, O_CLOEXEC descriptor of the directory path names (absolute,
 * or relative to the working directory), opened one component at a time
 * from / (or .) with O_NOFOLLOW. A symlink is followed only when it and
 * the directory holding it belong to root or to us and that directory is
 * writable by no one else (an admin's link; at most 40 of them). -1 with
 * errno: ELOOP for any other symlink, ENOTDIR when a component is
 * something else, or openat's. */
int nofollow_open_dir(const char *path);

#endif
