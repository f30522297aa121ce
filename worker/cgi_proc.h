/* The CGI gateway's processes (worker/cgi_proc.c): a script started from
 * the descriptor that was checked, and the sweep of what scripts leave
 * behind outside their process group. */
#ifndef FCGIPM_CGI_PROC_H
#define FCGIPM_CGI_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* What a script is started with. */
struct cgi_exec {
    int fd;                     /* the checked file (O_PATH) */
    int dir_fd;                 /* its directory: the script's cwd */
    int stdio[3];               /* the script's ends of its pipes */
    char *const *argv;
    char *const *envp;
    bool no_new_privs;          /* PR_SET_NO_NEW_PRIVS (cgi_no_new_privs) */
};

/*
 * vfork, and in the child: default dispositions and an empty signal mask,
 * a process group of its own, cwd dir_fd, stdio on the pipes, no other
 * descriptor but fd (left open across exec: the interpreter of a #!
 * script opens /dev/fd/N), then execveat(fd, "", AT_EMPTY_PATH). Waits
 * until the child has executed the file or failed to. Returns 0 with
 * *pid, or an errno value: vfork's, or the child's (which then exited
 * 127, was reaped, and wrote nothing to the pipes). Under valgrind,
 * which runs vfork as a fork, a failed exec is only an exit status 127.
 */
int cgi_proc_spawn(const struct cgi_exec *x, pid_t *pid);

/*
 * Make this worker a child subreaper (once): what a script's descendants
 * leave when their parent dies comes to it, not to init. 0, or -1 with
 * errno.
 */
int cgi_proc_adopt_orphans(void);

/* What cgi_proc_sweep did. */
struct cgi_sweep {
    size_t reaped;              /* leftovers reaped (killed if alive) */
    size_t left;                /* children still alive at the deadline */
    bool blind;                 /* /proc could not list the children */
};

/*
 * Between requests, every child of this worker is something a script
 * left (adopted as subreaper): SIGKILL each, and the process group it
 * leads (never a group <= 1 or the worker's own), and reap, until none
 * is left or wait_ms have passed. Children are listed in
 * /proc/self/task/TID/children: without it (a chroot without /proc),
 * only the dead ones are reaped and s->blind is set.
 */
void cgi_proc_sweep(struct cgi_sweep *s, unsigned wait_ms);

#endif
