/* The pid file: refuse to start over a live master, write atomically,
 * remove at exit. */
#ifndef FCGIPM_PIDFILE_H
#define FCGIPM_PIDFILE_H

#include <sys/types.h>

/* Write pid to path: in its directory, reached following no symlink but
 * root's (nofollow_open_dir), a temporary file of unpredictable name is
 * created with O_EXCL, written, synced and renamed to path's last
 * component; a symlink there is replaced, never read or written through.
 * Fails with EEXIST when path names another live process, unless that
 * process is may_replace (the master we upgrade from; 0 for none). 0 or
 * -1 (logged, naming path). */
int pidfile_write(const char *path, pid_t pid, pid_t may_replace);

/* Remove path if it still holds pid (a successor may own it now) and is
 * the plain file of our uid we wrote, found and removed relative to its
 * directory as pidfile_write reaches it. Failures are logged. */
void pidfile_remove(const char *path, pid_t pid);

#endif
