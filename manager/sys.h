/* The system calls the manager's logic depends on, in one place so that
 * unit tests can replace them (t/unit/fake_sys.c). */
#ifndef FCGIPM_SYS_H
#define FCGIPM_SYS_H

#include <stdint.h>
#include <sys/types.h>

/* Milliseconds on CLOCK_MONOTONIC. */
uint64_t sys_now_ms(void);
/* Seconds since the epoch (CLOCK_REALTIME), for logs and status. */
double sys_wall_time(void);
pid_t sys_fork(void);
int sys_kill(pid_t pid, int sig);
pid_t sys_waitpid(pid_t pid, int *status, int options);
/* Read /proc/PID/NAME into buf, NUL-terminated. Returns the length or
 * -1 with errno. */
ssize_t sys_proc_read(pid_t pid, const char *name, char *buf, size_t len);
/* The target of the link /proc/PID/NAME ("fd/3": "socket:[1234]") into
 * buf, NUL-terminated, cut to len - 1 bytes. Returns the length or -1
 * with errno. */
ssize_t sys_proc_readlink(pid_t pid, const char *name, char *buf,
                          size_t len);
/* Read all of /proc/PID/NAME (PID 0: /proc/thread-self/NAME), however
 * long, into a new NUL-terminated buffer *out (the caller frees it).
 * Returns the length or -1 with errno. */
ssize_t sys_proc_read_all(pid_t pid, const char *name, char **out);
/* Make this process a child subreaper (PR_SET_CHILD_SUBREAPER): the
 * orphans among its descendants become its children. 0 or -1 with
 * errno. */
int sys_set_child_subreaper(void);
/* Whether child pid has stopped whole (every thread, a group stop): 1,
 * 0, or -1 with errno. Leaves its state to be waited for. */
int sys_group_stopped(pid_t pid);
/* How many descriptors pid has open, counted up to max + 1 (more is
 * reported as max + 1), or -1 with errno. */
int sys_proc_fd_count(pid_t pid, int max);
/* accept4(fd, NULL, NULL, flags): a new connection, or -1 with errno. */
int sys_accept4(int fd, int flags);
/* A uniformly distributed value in [0, bound), bound > 0. */
uint32_t sys_random(uint32_t bound);

#endif
