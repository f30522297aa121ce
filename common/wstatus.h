/* How a process ended, in words: one description for the master's log
 * of its workers and for cgi workers' log of their scripts. */
#ifndef FCGIPM_WSTATUS_H
#define FCGIPM_WSTATUS_H

#include <stdbool.h>
#include <stddef.h>

/* "exited with status 3", "killed by SIGKILL", "killed by SIGSEGV (core
 * dumped)" for a waitpid() status, into buf (cut to len); returns buf. */
const char *wstatus_describe(int st, char *buf, size_t len);
/* Exited with status 0. */
bool wstatus_is_clean(int st);

#endif
