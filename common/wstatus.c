/* Decoding waitpid() statuses for the log. */
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "wstatus.h"

const char *
wstatus_describe(int st, char *buf, size_t len)
{
    if (WIFEXITED(st))
        snprintf(buf, len, "exited with status %d", WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        snprintf(buf, len, "killed by SIG%s%s",
                 sigabbrev_np(WTERMSIG(st)) ? sigabbrev_np(WTERMSIG(st))
                                            : "?",
                 WCOREDUMP(st) ? " (core dumped)" : "");
    else
        snprintf(buf, len, "changed state (wait status 0x%x)",
                 (unsigned)st);
    return buf;
}

bool
wstatus_is_clean(int st)
{
    return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}
