/* Process-manager rules as pure functions: how many workers a pool wants
 * from what was sampled, when to sample again, and the spawn-rate bucket.
 * No system calls here; scale.c samples and acts. */
#include <string.h>

#include "manager.h"
#include "pm.h"

void
pm_bucket_init(struct pm_bucket *b, unsigned rate, unsigned first)
{
    b->tokens = first > rate ? first : rate;
    b->at = 0;
}

static void
refill(struct pm_bucket *b, unsigned rate, uint64_t now)
{
    /* A bucket over its size (the start) keeps its surplus until spent. */
    if (b->at != 0 && now > b->at && b->tokens < rate) {
        b->tokens += (double)(now - b->at) * rate / 1000.0;
        if (b->tokens > rate)
            b->tokens = rate;
    }
    if (now > b->at)
        b->at = now;
}

unsigned
pm_bucket_take(struct pm_bucket *b, unsigned rate, unsigned want,
               uint64_t now)
{
    if (rate == 0)
        return want;
    refill(b, rate, now);
    unsigned n = b->tokens >= want ? want : (unsigned)b->tokens;
    b->tokens -= n;
    return n;
}

uint64_t
pm_bucket_ready_at(const struct pm_bucket *b, unsigned rate, uint64_t now)
{
    struct pm_bucket t = *b;

    if (rate == 0)
        return now;
    refill(&t, rate, now);
    if (t.tokens >= 1.0)
        return now;
    /* Round up: at the returned time the token is whole. */
    uint64_t ms = (uint64_t)((1.0 - t.tokens) * 1000.0 / rate) + 1;
    return now + ms;
}

enum pm_kind
pm_kind_for(const struct pool_conf *pc)
{
    if (pc->pm == PM_DYNAMIC && pc->mode == MODE_EXEC)
        return PM_ADAPTIVE;
    return pc->pm;
}

static unsigned
clamp(unsigned v, unsigned lo, unsigned hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

unsigned
pm_default_floor(const struct pool_conf *pc)
{
    switch (pm_kind_for(pc)) {
    case PM_DYNAMIC:
    case PM_ADAPTIVE:
        return pc->min_workers < pc->max_workers ? pc->min_workers
                                                 : pc->max_workers;
    case PM_STATIC:
    case PM_ONDEMAND:
        break;
    }
    return 0;
}

unsigned
pm_initial_target(const struct pool_conf *pc)
{
    if (pm_kind_for(pc) == PM_STATIC)
        return pc->workers;
    return clamp(pc->workers, pm_default_floor(pc), pc->max_workers);
}

void
pm_init(struct pm_state *st, const struct pool_conf *pc, unsigned target)
{
    memset(st, 0, sizeof(*st));
    st->kind = pm_kind_for(pc);
    st->floor = pm_default_floor(pc);
    /* The first look comes with the first run of the loop. */
    st->tick_at = st->kind == PM_STATIC ? NEVER : 0;
    st->window_at = NEVER;
    st->hold = 1;
    st->shrunk_at = NEVER;
    st->deferred_at = NEVER;
    pm_bucket_init(&st->bucket, pc->max_spawn_rate, target);
}

unsigned
pm_sample_ms(const struct pool_conf *pc)
{
    return clamp(pc->idle_timeout_ms / 8, 20, 1000);
}

enum pm_seen
pm_seen_state(enum sb_state state)
{
    switch (state) {
    case SB_IDLE:
        return PM_SEEN_IDLE;
    case SB_EMPTY:
    case SB_STARTING:
        return PM_SEEN_STARTING;
    case SB_BUSY:
    case SB_STOPPING:
    case SB_RECYCLING:
    case SB_READING:
        break;
    }
    return PM_SEEN_TAKEN;
}

unsigned
pm_queue_want(const struct pm_sample *s)
{
    unsigned ready = s->idle + s->starting;

    return s->queued > ready ? s->queued - ready : 0;
}

/* Samples in a row that must see connections waiting before the pool
 * grows for all of them. A connection that an idle worker is about to
 * take (it was woken but has not run yet, which on a busy machine takes
 * a while) counts against the queue already; what remains is a worker
 * finishing its last connection while the same client connects again.
 * So: with no worker at all, nobody else will take it; where idle workers
 * show in the scoreboard, at once; exec workers, twice (but see
 * beyond_live); adaptive, whose point is not to chase every blip, three
 * times. */
static unsigned
confirmations(const struct pm_state *st, const struct pm_sample *s)
{
    if (s->live == 0)
        return 1;
    if (st->kind == PM_ADAPTIVE)
        return 3;
    return s->sees_idle ? 1 : 2;
}

/* Connections beyond what the live workers can take, one each next,
 * whatever they seem to be doing: a worker that looks busy may be
 * finishing its request, one counted as starting may be up already. No
 * blip explains these, so ondemand, whose promise is a worker per waiting
 * connection, starts workers for them before any confirmation; a queue
 * that lasts gets the rest (pm_queue_want) once confirmed. */
static unsigned
beyond_live(const struct pm_sample *s)
{
    return s->queued > s->live ? s->queued - s->live : 0;
}

static unsigned
queue_growth(const struct pm_state *st, const struct pm_sample *s)
{
    if (st->backlog >= confirmations(st, s))
        return pm_queue_want(s);
    return st->kind == PM_ONDEMAND ? beyond_live(s) : 0;
}

/* dynamic: stop what stayed above max_spare for a whole window. */
static unsigned
dynamic_surplus(const struct pool_conf *pc, struct pm_state *st,
                const struct pm_sample *s, uint64_t now)
{
    if (s->idle <= pc->max_spare || s->live <= st->floor) {
        st->window_at = NEVER;
        return 0;
    }
    if (st->window_at == NEVER) {
        st->window_at = now;
        st->window_min_idle = s->idle;
        return 0;
    }
    if (s->idle < st->window_min_idle)
        st->window_min_idle = s->idle;
    if (now - st->window_at < PM_DYNAMIC_WINDOW_MS)
        return 0;
    unsigned n = st->window_min_idle - pc->max_spare;
    if (n > s->live - st->floor)
        n = s->live - st->floor;
    /* Idle workers above the window's fewest remain above max_spare:
     * their own window starts now. */
    st->window_at = s->idle - n > pc->max_spare ? now : NEVER;
    st->window_min_idle = s->idle - n;
    return n;
}

/* adaptive: one fewer worker once, for idle_timeout, no connection had to
 * wait and some worker was idle at every sample (the pool had one to
 * spare). Growth, a backlog or a fully busy sample start the wait over.
 * A shrink the load undoes (the pool grows again within two waits) makes
 * the next wait twice as long, up to PM_HOLD_MAX times idle_timeout; a
 * shrink that lasts halves it again. That is the hysteresis that keeps a
 * load on the edge between two sizes from flapping. */
static unsigned
adaptive_shrink(const struct pool_conf *pc, struct pm_state *st,
                const struct pm_sample *s, uint64_t now, bool grew,
                bool pressure, unsigned *quiet_ms)
{
    uint64_t wait_ms = (uint64_t)pc->idle_timeout_ms * st->hold;

    if (grew && st->shrunk_at != NEVER) {
        if (now - st->shrunk_at < 2 * wait_ms && st->hold < PM_HOLD_MAX)
            st->hold *= 2;
        st->shrunk_at = NEVER;
    }
    if (s->live <= st->floor) {
        st->window_at = NEVER;
        return 0;
    }
    if (st->window_at == NEVER || grew || pressure || s->starting > 0
        || (s->idle_sampled && s->idle == 0)) {
        st->window_at = now;
        return 0;
    }
    if (now - st->window_at < wait_ms)
        return 0;
    *quiet_ms = (unsigned)(now - st->window_at);
    if (st->shrunk_at != NEVER && st->hold > 1)
        st->hold /= 2;
    st->shrunk_at = now;
    st->window_at = now;
    return 1;
}

static uint64_t
calm_tick(const struct pool_conf *pc, const struct pm_state *st,
          const struct pm_sample *s, uint64_t now)
{
    switch (st->kind) {
    case PM_DYNAMIC:
        /* A busy worker going idle, or the reverse, can change the
         * decision; with every worker idle only a connection can, and
         * the socket is watched for that. */
        if (s->live > s->idle || st->window_at != NEVER)
            return now + PM_DYNAMIC_TICK_MS;
        return NEVER;
    case PM_ONDEMAND:
    case PM_ADAPTIVE:
        /* Idle workers to time out, or a shrink to wait for. */
        if (s->live > st->floor)
            return now + pm_sample_ms(pc);
        return NEVER;
    case PM_STATIC:
        break;
    }
    return NEVER;
}

void
pm_decide(const struct pool_conf *pc, struct pm_state *st,
          const struct pm_sample *s, uint64_t now, struct pm_decision *d)
{
    unsigned room = pc->max_workers > s->live ? pc->max_workers - s->live
                                              : 0;
    unsigned want;

    memset(d, 0, sizeof(*d));
    st->backlog = s->queued > 0 ? st->backlog + 1 : 0;
    want = queue_growth(st, s);
    if (st->kind == PM_DYNAMIC) {
        unsigned spare = s->idle + s->starting;
        if (spare < pc->min_spare && pc->min_spare - spare > want)
            want = pc->min_spare - spare;
    }
    d->grow = want < room ? want : room;
    if (want > room && !st->capped)
        st->max_reached++;
    st->capped = want > room;
    if (st->kind == PM_DYNAMIC && d->grow == 0)
        d->shrink = dynamic_surplus(pc, st, s, now);
    else if (st->kind == PM_DYNAMIC)
        st->window_at = NEVER;
    if (st->kind == PM_ADAPTIVE
        || (st->kind == PM_ONDEMAND && s->idle_blind))
        d->shrink = adaptive_shrink(pc, st, s, now, d->grow > 0,
                                    st->backlog >= confirmations(st, s),
                                    &d->quiet_ms);
    /* At max_workers with nothing starting, looking every tick would
     * change nothing: calm down, and let a worker leaving wake us. */
    d->surge = s->queued > 0 && (room > 0 || s->starting > 0);
    d->tick_at = d->surge ? now + PM_SURGE_TICK_MS
                          : calm_tick(pc, st, s, now);
}

uint64_t
pm_idle_since(uint64_t since, bool idle_now, bool active, uint64_t now)
{
    if (!idle_now)
        return NEVER;
    if (active || since == NEVER)
        return now;
    return since;
}
