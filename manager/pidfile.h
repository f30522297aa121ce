/* The pid file: refuse to start over a live master, write atomically,
 * remove at exit. */
#ifndef FCGIPM_PIDFILE_H
#define FCGIPM_PIDFILE_H

#include <sys/types.h>

/* Write pid to path via a temporary file of unpredictable name, created
 * with O_EXCL, and rename(2); a symlink at path is replaced, never read
 * or written through. Fails with EEXIST when path names another live
 * process, unless that process is may_replace (the master we upgrade
 * from; 0 for none). 0 or -1 (logged). */
int pidfile_write(const char *path, pid_t pid, pid_t may_replace);

/* Remove path if it still holds pid (a successor may own it now). */
void pidfile_remove(const char *path, pid_t pid);

#endif
