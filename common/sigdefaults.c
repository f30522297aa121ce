/* Resetting signal dispositions and the mask in a child. */
#include <signal.h>
#include <string.h>

#include "sigdefaults.h"

void
sigdefaults_reset(void)
{
    struct sigaction sa;
    sigset_t none;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; sig++)
        sigaction(sig, &sa, NULL);  /* EINVAL for KILL, STOP, RT: fine */
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}
