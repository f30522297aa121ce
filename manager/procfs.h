/* What the master reads of its workers in /proc, and what the text means:
 * waiting in accept() on fd 0, stopped, exec'd yet, serving, and which
 * descriptors are sockets. Reads go through sys.c (the unit tests' seam). */
#ifndef FCGIPM_PROCFS_H
#define FCGIPM_PROCFS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Whether pid waits, idle, in accept() on its listening socket (fd 0):
 * libfcgi drops a connection accepted just before its stop signal, so
 * graceful stops of exec workers wait for this, and the pm counts such
 * workers as idle. Unreadable means no. */
bool procfs_in_accept(pid_t pid);

/* Whether pid has not called execve() since fork: an exec worker still
 * holding the master's descriptors. Unreadable counts as not yet. */
bool procfs_before_exec(pid_t pid);

/* The read and write system calls pid has made (procfs_io_activity), into
 * *out. 0, or -1 when /proc/PID/io cannot be read or lacks them. */
int procfs_activity(pid_t pid, uint64_t *out);

/* How many of pid's descriptors from 3 up are sockets: those with the
 * mount id of fd 0, the listening socket. nfds (sys_proc_fd_count)
 * bounds the probe. -1 when fd 0 cannot be read. */
int procfs_sockets_from_3(pid_t pid, int nfds);

/* The inodes of pid's sockets, from its descriptors' links: at most max
 * into out, from fd 0 up, nfds (sys_proc_fd_count) bounding the probe.
 * Returns how many, or -1 when there are more than max, or more than
 * PROCFS_FDS_MAX descriptors to look through. */
#define PROCFS_FDS_MAX 256
int procfs_socket_inodes(pid_t pid, int nfds, unsigned long *out, int max);

/* Whether SIGTERM ends pid before it runs again: it has a single thread,
 * which runs its handler before it can return from any call, or it does
 * not catch TERM, which then kills it as it is sent. Unreadable means
 * no. */
bool procfs_term_ends_at_once(pid_t pid);

/* The parsers behind these, pure on the text read. */

/* The inode of a descriptor's link text "socket:[1234]" into *ino: 0,
 * or -1 when the link is not a socket. */
int procfs_link_socket_inode(const char *link, unsigned long *ino);

/* Whether /proc/PID/status text shows one thread ("Threads:"), or a
 * process that does not catch SIGTERM ("SigCgt:"). */
bool procfs_status_term_at_once(const char *text);

/* Whether /proc/PID/syscall text shows accept(2) or accept4(2) on fd 0. */
bool procfs_syscall_is_accept(const char *text);

/* Whether /proc/PID/stat text shows a process that has not called
 * execve() since fork (PF_FORKNOEXEC in its flags). Unreadable text
 * counts as not yet. */
bool procfs_stat_before_exec(const char *text);

/* The read and write system calls counted in /proc/PID/io text (syscr +
 * syscw), which change whenever an exec worker serves a request. 0, or
 * -1 when the text lacks them. */
int procfs_io_activity(const char *text, uint64_t *out);

/* The mount id in /proc/PID/fdinfo/N text ("mnt_id:"): every socket
 * shares the one of the kernel's socket file system. 0, or -1 when the
 * text lacks it. */
int procfs_fdinfo_mnt_id(const char *text, int *out);

/* pid's resident memory in pages (/proc/PID/statm), into *out: what
 * fcgipm ctl shows. 0, or -1 when it cannot be read. */
int procfs_rss_pages(pid_t pid, uint64_t *out);
/* The resident pages in /proc/PID/statm text (its second field). 0, or
 * -1 when the text lacks it. */
int procfs_statm_rss(const char *text, uint64_t *pages);

#endif
