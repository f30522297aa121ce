/* Parsing /proc/PID/syscall and /proc/PID/stat for the idle check. */
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>

#include "idle.h"

bool
idle_syscall_is_accept(const char *text)
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

bool
idle_stat_is_stopped(const char *text)
{
    /* "pid (comm) S ...": comm may hold spaces and parentheses, so the
     * state follows the last ')'. */
    const char *p = strrchr(text, ')');

    return p != NULL && p[1] == ' ' && (p[2] == 'T' || p[2] == 't');
}
