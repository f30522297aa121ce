/* What the tests of pool.c, child.c and scale.c share: a pool whose
 * forks, signals and /proc reads t/unit/fake_sys.c answers from the cmocka
 * queue. Include after cmocka.h. */
#ifndef FCGIPM_T_POOL_FIXTURE_H
#define FCGIPM_T_POOL_FIXTURE_H

#include <signal.h>
#include <stdlib.h>

#include "log.h"
#include "pool.h"
#include "sys.h"

static struct pool_conf pc = {
    .name = "t",
    .workers = 3,
    .max_workers = 8,
    .stop_signal = SIGUSR1,
    .graceful_timeout_ms = 30000,
    .kill_timeout_ms = 5000,
    .backoff_min_ms = 100,
    .backoff_max_ms = 1000,
    .min_uptime_ms = 1000,
};

/* Setup and teardown: a pool for pc, none of its workers forked yet. */
static inline int
setup(void **state)
{
    struct pool *p = calloc(1, sizeof(*p));

    log_set_level(LOG_LEVEL_ERROR);
    assert_non_null(p);
    pool_init(p, NULL, &pc, NULL, 0);
    *state = p;
    return 0;
}

static inline int
teardown(void **state)
{
    pool_fini(*state);
    free(*state);
    return 0;
}

/* Fill the pool to its target with forks returning 100, 101, ... */
static inline void
fill(struct pool *p, uint64_t now)
{
    for (unsigned i = 0; i < p->target; i++)
        will_return(sys_fork, 100 + i);
    pool_reconcile(p, now);
}

#define IN_ACCEPT "43 0x0 0x7ffe0 0x7ffd8 0x1 0x0 0xffffffff 0x7ffb8 0x7f56f0\n"
#define IN_SLEEP "230 0x0 0x0 0x7ffae0 0x7ffae0 0x19 0x0 0x7ffac8 0x7fa503\n"

static inline void
will_read(pid_t pid, const char *name, const char *text)
{
    expect_value(sys_proc_read, pid, pid);
    expect_string(sys_proc_read, name, name);
    will_return(sys_proc_read, text);
}

static inline void
expect_signal(pid_t pid, int sig)
{
    expect_value(sys_kill, pid, pid);
    expect_value(sys_kill, sig, sig);
    will_return(sys_kill, 0);
}

/* A pool for c, listening on a fake socket (never polled: no loop). */
static inline struct pool *
pm_pool(const struct pool_conf *c)
{
    static struct listener fake_listener = {
        .name = "unix:/fake", .fd = 1000,
    };
    struct pool *p = calloc(1, sizeof(*p));

    log_set_level(LOG_LEVEL_ERROR);
    assert_non_null(p);
    pool_init(p, NULL, c, &fake_listener, 1);
    return p;
}

static inline void
pm_pool_free(struct pool *p)
{
    p->listeners = NULL;
    p->nlisteners = 0;
    pool_fini(p);
    free(p);
}

#endif
