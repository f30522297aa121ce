/* Opening a directory by path without following any symlink on the way:
 * the master runs as root, and a pool user who can write a directory
 * above a watched path could otherwise point it anywhere. */
#ifndef FCGIPM_NOFOLLOW_H
#define FCGIPM_NOFOLLOW_H

/* An O_PATH, O_CLOEXEC descriptor of the directory path names (absolute,
 * or relative to the working directory), opened one component at a time
 * from / (or .) with O_NOFOLLOW. -1 with errno: ELOOP when a component is
 * a symlink, ENOTDIR when one is something else, or openat's. */
int nofollow_open_dir(const char *path);

#endif
