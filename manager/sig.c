/* Signals become pending bits: the dispatcher records intent only. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"
#include "sig.h"

static const int handled[] = {
    SIGCHLD, SIGHUP, SIGINT, SIGTERM, SIGQUIT, SIGUSR1, SIGUSR2,
    SIGTTIN, SIGTTOU,
};

void
sig_handled_set(sigset_t *set)
{
    sigemptyset(set);
    for (size_t i = 0; i < sizeof(handled) / sizeof(*handled); i++)
        sigaddset(set, handled[i]);
}

int
sig_setup(void)
{
    sigset_t set;

    sig_handled_set(&set);
    if (sigprocmask(SIG_BLOCK, &set, NULL) == -1)
        return -1;
    /* A peer that hangs up must cost an EPIPE, not the master. */
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
        return -1;
    return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

static void
record(struct manager *m, const struct signalfd_siginfo *si)
{
    int sig = (int)si->ssi_signo;

    if (sig != SIGCHLD)
        log_info("received SIG%s from pid %u", sigabbrev_np(sig),
                 si->ssi_pid);
    switch (sig) {
    case SIGCHLD: m->pending |= PENDING_REAP; break;
    case SIGQUIT: m->pending |= PENDING_STOP_GRACEFUL; break;
    case SIGINT:
    case SIGTERM: m->pending |= PENDING_STOP_FAST; break;
    case SIGHUP: m->pending |= PENDING_RELOAD; break;
    case SIGUSR1: m->pending |= PENDING_REOPEN_LOGS; break;
    case SIGUSR2: m->pending |= PENDING_UPGRADE; break;
    case SIGTTIN: m->resize++; m->pending |= PENDING_RESIZE; break;
    case SIGTTOU: m->resize--; m->pending |= PENDING_RESIZE; break;
    default: log_warn("SIG%s is not handled yet", sigabbrev_np(sig));
    }
}

/* Read every queued signal from the signalfd and record it in m. */
static void
on_signalfd(struct manager *m, struct watch *w, uint32_t events)
{
    struct signalfd_siginfo si[16];

    (void)w;
    (void)events;
    for (;;) {
        ssize_t n = read(m->sigfd, si, sizeof(si));
        if (n == -1) {
            if (errno != EAGAIN && errno != EINTR)
                log_error_errno("reading signalfd");
            if (errno != EINTR)
                return;
            continue;
        }
        for (size_t i = 0; i < (size_t)n / sizeof(*si); i++)
            record(m, &si[i]);
    }
}

int
sig_watch(struct manager *m)
{
    m->sig_watch.fd = m->sigfd;
    m->sig_watch.fn = on_signalfd;
    return loop_watch(m, &m->sig_watch, EPOLLIN);
}
