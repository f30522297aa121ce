/* Reading workers' /proc files (through sys.c) and parsing what they say:
 * syscall, stat, status, io, fdinfo and fd links, for the idle check and
 * the pm's samples. */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>

#include "procfs.h"
#include "sys.h"

#define FD_PROBES_MAX 64        /* most fdinfo files read per worker */

bool
procfs_syscall_is_accept(const char *text)
{
    char *end;
    long nr = strtol(text, &end, 10);

    if (end == text || *end != ' ')
        return false;
    if (nr != SYS_accept && nr != SYS_accept4)
        return false;
    /* The first argument, in hex: the listening socket must be fd 0. */
    unsigned long fd = strtoul(end + 1, &end, 16);
    return (*end == ' ' || *end == '\n' || *end == '\0') && fd == 0;
}

/* The number after "key:" at the start of a line of /proc text. */
static int
proc_field(const char *text, const char *key, uint64_t *out)
{
    size_t klen = strlen(key);

    for (const char *p = text; p != NULL && *p != '\0';) {
        if (strncmp(p, key, klen) == 0 && p[klen] == ':') {
            char *end;
            unsigned long long v = strtoull(p + klen + 1, &end, 10);
            if (end == p + klen + 1)
                return -1;
            *out = v;
            return 0;
        }
        p = strchr(p, '\n');
        if (p != NULL)
            p++;
    }
    return -1;
}

int
procfs_io_activity(const char *text, uint64_t *out)
{
    uint64_t r, w;

    if (proc_field(text, "syscr", &r) == -1
        || proc_field(text, "syscw", &w) == -1)
        return -1;
    *out = r + w;
    return 0;
}

/* PF_FORKNOEXEC from the kernel's sched.h (no uapi header has it): set by
 * fork, cleared by a successful execve(). */
#define PROCFS_PF_FORKNOEXEC 0x40UL

bool
procfs_stat_before_exec(const char *text)
{
    /* "pid (comm) state ppid pgrp session tty_nr tpgid flags ...": comm
     * may hold spaces and parentheses, so count fields from the last ')'.
     * Each turn finds the space before the next field, 3 to 9. */
    const char *p = strrchr(text, ')');

    for (int field = 3; p != NULL && field <= 9; field++)
        p = strchr(p + 1, ' ');
    if (p == NULL)
        return true;
    char *end;
    unsigned long flags = strtoul(p + 1, &end, 10);
    if (end == p + 1)
        return true;
    return (flags & PROCFS_PF_FORKNOEXEC) != 0;
}

int
procfs_fdinfo_mnt_id(const char *text, int *out)
{
    uint64_t v;

    if (proc_field(text, "mnt_id", &v) == -1 || v > INT_MAX)
        return -1;
    *out = (int)v;
    return 0;
}

int
procfs_link_socket_inode(const char *link, unsigned long *ino)
{
    char *end;

    if (strncmp(link, "socket:[", 8) != 0 || link[8] < '0' || link[8] > '9')
        return -1;
    unsigned long v = strtoul(link + 8, &end, 10);
    if (end[0] != ']' || end[1] != '\0')
        return -1;
    *ino = v;
    return 0;
}

bool
procfs_status_term_at_once(const char *text)
{
    uint64_t threads;
    const char *p = strstr(text, "\nSigCgt:");
    char *end;

    if (proc_field(text, "Threads", &threads) == 0 && threads == 1)
        return true;
    if (p == NULL)
        return false;
    /* A hexadecimal mask: signal n is bit n - 1. */
    unsigned long long caught = strtoull(p + 8, &end, 16);
    return end != p + 8 && (caught & (1ULL << (SIGTERM - 1))) == 0;
}

bool
procfs_in_accept(pid_t pid)
{
    char buf[256];

    return sys_proc_read(pid, "syscall", buf, sizeof(buf)) > 0
           && procfs_syscall_is_accept(buf);
}

bool
procfs_before_exec(pid_t pid)
{
    char buf[512];

    return sys_proc_read(pid, "stat", buf, sizeof(buf)) <= 0
           || procfs_stat_before_exec(buf);
}

int
procfs_activity(pid_t pid, uint64_t *out)
{
    char buf[512];

    if (sys_proc_read(pid, "io", buf, sizeof(buf)) <= 0)
        return -1;
    return procfs_io_activity(buf, out);
}

int
procfs_socket_inodes(pid_t pid, int nfds, unsigned long *out, int max)
{
    char name[32], link[64];
    int n = 0, found = 0;
    unsigned long ino;

    if (nfds > PROCFS_FDS_MAX)
        return -1;
    for (int fd = 0; found < nfds && fd < PROCFS_FDS_MAX; fd++) {
        snprintf(name, sizeof(name), "fd/%d", fd);
        if (sys_proc_readlink(pid, name, link, sizeof(link)) <= 0)
            continue;           /* a gap, or closed meanwhile */
        found++;
        if (procfs_link_socket_inode(link, &ino) == -1)
            continue;
        if (n == max)
            return -1;
        out[n++] = ino;
    }
    /* Descriptors above PROCFS_FDS_MAX were not looked at: one of them
     * may be a connection, so the answer is "cannot tell". */
    return found < nfds ? -1 : n;
}

bool
procfs_term_ends_at_once(pid_t pid)
{
    char buf[4096];

    return sys_proc_read(pid, "status", buf, sizeof(buf)) > 0
           && procfs_status_term_at_once(buf);
}

/* fds 0-2 are the listening socket and stdio, which may be a socket too
 * (the journal), so the count starts at 3; the numbers may have gaps. */
int
procfs_sockets_from_3(pid_t pid, int nfds)
{
    char name[32], buf[256];
    int sock_mnt, mnt, n = 0, found = 3;

    if (sys_proc_read(pid, "fdinfo/0", buf, sizeof(buf)) <= 0
        || procfs_fdinfo_mnt_id(buf, &sock_mnt) == -1)
        return -1;
    for (int fd = 3; found < nfds && fd < 3 + FD_PROBES_MAX; fd++) {
        snprintf(name, sizeof(name), "fdinfo/%d", fd);
        if (sys_proc_read(pid, name, buf, sizeof(buf)) <= 0)
            continue;           /* a gap, or closed meanwhile */
        found++;
        if (procfs_fdinfo_mnt_id(buf, &mnt) == 0 && mnt == sock_mnt)
            n++;
    }
    return n;
}

int
procfs_statm_rss(const char *text, uint64_t *pages)
{
    char *end;

    /* "size resident shared text lib data dt", in pages. */
    strtoull(text, &end, 10);
    if (end == text || *end != ' ')
        return -1;
    const char *p = end + 1;
    unsigned long long v = strtoull(p, &end, 10);
    if (end == p || (*end != ' ' && *end != '\n' && *end != '\0'))
        return -1;
    *pages = v;
    return 0;
}

int
procfs_rss_pages(pid_t pid, uint64_t *out)
{
    char buf[256];

    if (sys_proc_read(pid, "statm", buf, sizeof(buf)) <= 0)
        return -1;
    return procfs_statm_rss(buf, out);
}
