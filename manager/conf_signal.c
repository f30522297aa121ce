/* Signal names both ways, as stop_signal is written and printed, and
 * which signals may ask a worker to stop. */
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <strings.h>

#include "conf.h"
#include "conf_int.h"

struct conf_signal {
    const char *name;
    int sig;
};

static const struct conf_signal conf_signals[] = {
    { "HUP", SIGHUP },   { "INT", SIGINT },     { "QUIT", SIGQUIT },
    { "ILL", SIGILL },   { "TRAP", SIGTRAP },   { "ABRT", SIGABRT },
    { "BUS", SIGBUS },   { "FPE", SIGFPE },     { "KILL", SIGKILL },
    { "USR1", SIGUSR1 }, { "SEGV", SIGSEGV },   { "USR2", SIGUSR2 },
    { "PIPE", SIGPIPE }, { "ALRM", SIGALRM },   { "TERM", SIGTERM },
    { "CHLD", SIGCHLD }, { "CONT", SIGCONT },   { "STOP", SIGSTOP },
    { "TSTP", SIGTSTP }, { "TTIN", SIGTTIN },   { "TTOU", SIGTTOU },
    { "URG", SIGURG },   { "XCPU", SIGXCPU },   { "XFSZ", SIGXFSZ },
    { "VTALRM", SIGVTALRM }, { "PROF", SIGPROF }, { "WINCH", SIGWINCH },
    { "IO", SIGIO },     { "PWR", SIGPWR },     { "SYS", SIGSYS },
};

/* What may ask a worker to stop: the rest would crash or freeze it. */
static const int conf_stop_signals[] = {
    SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGKILL,
};

bool
conf_signal_is_stop(int sig)
{
    for (size_t i = 0; i < CONF_NELEM(conf_stop_signals); i++)
        if (conf_stop_signals[i] == sig)
            return true;
    return false;
}

int
conf_signal_number(const char *name)
{
    if (name == NULL)
        return -1;
    if (strncasecmp(name, "SIG", 3) == 0)
        name += 3;
    for (size_t i = 0; i < CONF_NELEM(conf_signals); i++)
        if (strcasecmp(name, conf_signals[i].name) == 0)
            return conf_signals[i].sig;
    return -1;
}

const char *
conf_signal_name(int sig)
{
    for (size_t i = 0; i < CONF_NELEM(conf_signals); i++)
        if (conf_signals[i].sig == sig)
            return conf_signals[i].name;
    return "?";
}
