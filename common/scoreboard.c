/* Scoreboard slots in a MAP_SHARED anonymous mapping. Writers are single
 * (each slot's worker, or the master while no worker owns it); stores
 * and loads are atomic, and the strings are versioned by seq. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "scoreboard.h"

#define STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define LOAD(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)

static size_t
map_size(size_t nslots)
{
    return sizeof(struct scoreboard) + nslots * sizeof(struct sb_slot);
}

/* Every live map, for scoreboard_keep_only: a worker must lose them all,
 * whichever pool they belong to now. */
static struct sb_map *all_maps;

struct sb_map *
scoreboard_create(size_t nslots)
{
    struct sb_map *map = malloc(sizeof(*map));
    int saved;

    if (map == NULL)
        return NULL;
    map->nslots = nslots;
    map->shm = mmap(NULL, map_size(nslots), PROT_READ | PROT_WRITE,
                    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (map->shm == MAP_FAILED) {
        saved = errno;
        free(map);
        errno = saved;
        return NULL;
    }
    map->shm->nslots = nslots;  /* the mapping starts zeroed */
    map->next = all_maps;
    all_maps = map;
    return map;
}

void
scoreboard_destroy(struct sb_map *map)
{
    if (map == NULL)
        return;
    for (struct sb_map **at = &all_maps; *at != NULL; at = &(*at)->next)
        if (*at == map) {
            *at = map->next;
            break;
        }
    /* munmap fails only on a bad range, and this one is what mmap gave. */
    munmap(map->shm, map_size(map->nslots));
    free(map);
}

void
scoreboard_keep_only(const struct sb_map *own)
{
    for (const struct sb_map *map = all_maps; map != NULL; map = map->next)
        if (map != own)
            munmap(map->shm, map_size(map->nslots));
}

struct sb_slot *
scoreboard_map_slot(const struct sb_map *map, size_t i)
{
    return map != NULL && i < map->nslots ? &map->shm->slots[i] : NULL;
}

struct sb_slot *
scoreboard_slot(struct scoreboard *sb, size_t i)
{
    return sb != NULL && i < sb->nslots ? &sb->slots[i] : NULL;
}

void
scoreboard_claim(struct sb_slot *s, uint64_t now_ms)
{
    if (s == NULL)
        return;
    STORE(&s->state, SB_STARTING);
    STORE(&s->pid, 0);
    STORE(&s->started_ms, now_ms);
    STORE(&s->requests, 0);
    STORE(&s->slow_requests, 0);
    STORE(&s->req_started_ms, 0);
}

void
scoreboard_release(struct sb_slot *s)
{
    if (s != NULL)
        STORE(&s->state, SB_EMPTY);
}

void
scoreboard_set_state(struct sb_slot *s, enum sb_state state)
{
    if (s == NULL)
        return;
    if (state == SB_IDLE || state == SB_STARTING)
        STORE(&s->pid, (int32_t)getpid());
    STORE(&s->state, state);
}

/* Copy src into a field of n bytes, NUL-padded, one byte at a time with
 * atomic stores, so that a reader never sees a torn field it accepts. */
static void
store_str(char *dst, const char *src, size_t n)
{
    size_t i = 0;

    for (; src != NULL && src[i] != '\0' && i < n - 1; i++)
        STORE(&dst[i], src[i]);
    for (; i < n; i++)
        STORE(&dst[i], '\0');
}

void
scoreboard_begin_request(struct sb_slot *s, const char *method,
                         const char *uri, uint64_t now_ms)
{
    if (s == NULL)
        return;
    uint32_t seq = LOAD(&s->seq);
    STORE(&s->seq, seq + 1);
    store_str(s->method, method, sizeof(s->method));
    store_str(s->uri, uri, sizeof(s->uri));
    STORE(&s->req_started_ms, now_ms);
    STORE(&s->seq, seq + 2);
    STORE(&s->state, SB_BUSY);
}

void
scoreboard_end_request(struct sb_slot *s)
{
    if (s == NULL)
        return;
    STORE(&s->requests, LOAD(&s->requests) + 1);
    STORE(&s->state, SB_IDLE);
}

void
scoreboard_count_slow(struct sb_slot *s)
{
    if (s != NULL)
        STORE(&s->slow_requests, LOAD(&s->slow_requests) + 1);
}

static void
load_str(char *dst, const char *src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = LOAD(&src[i]);
    dst[n - 1] = '\0';
}

void
scoreboard_read(const struct sb_slot *s, struct sb_snapshot *out)
{
    memset(out, 0, sizeof(*out));
    if (s == NULL)
        return;
    /* A worker rewrites its request fields a few times a second at most
     * while we read them once: a handful of retries always suffices, and
     * a torn read after that costs only a garbled URI in a log line. */
    for (int tries = 0; tries < 100; tries++) {
        uint32_t before = LOAD(&s->seq);
        if (before & 1)
            continue;
        load_str(out->method, s->method, sizeof(s->method));
        load_str(out->uri, s->uri, sizeof(s->uri));
        out->req_started_ms = LOAD(&s->req_started_ms);
        if (LOAD(&s->seq) == before)
            break;
    }
    out->state = (enum sb_state)LOAD(&s->state);
    out->pid = LOAD(&s->pid);
    out->started_ms = LOAD(&s->started_ms);
    out->requests = LOAD(&s->requests);
    out->slow_requests = LOAD(&s->slow_requests);
}

char *
scoreboard_printable_n(char *s, size_t size)
{
    char raw[SB_URI_MAX];
    size_t n = strnlen(s, size < sizeof(raw) ? size : sizeof(raw) - 1);

    memcpy(raw, s, n);
    lines_clean(s, size, raw, n, 0);
    return s;
}

const char *
scoreboard_state_name(enum sb_state state)
{
    static const char *const names[] = {
        [SB_EMPTY] = "empty",       [SB_STARTING] = "starting",
        [SB_IDLE] = "idle",         [SB_BUSY] = "busy",
        [SB_STOPPING] = "stopping", [SB_RECYCLING] = "recycling",
        [SB_READING] = "reading",
    };

    return (unsigned)state < sizeof(names) / sizeof(*names) ? names[state]
                                                            : "?";
}

/* The fences pair up: the master arms, then reads the states; a worker
 * stores SB_BUSY, then takes the wake. One of the two sees the other's
 * store, so a worker going busy is never missed by both. */
void
scoreboard_set_wake(struct sb_map *map, bool armed)
{
    if (map == NULL)
        return;
    STORE(&map->shm->wake_armed, armed ? 1u : 0u);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

bool
scoreboard_any_busy(const struct sb_map *map, size_t nslots)
{
    for (size_t i = 0; map != NULL && i < nslots && i < map->nslots; i++)
        if (LOAD(&map->shm->slots[i].state) == SB_BUSY)
            return true;
    return false;
}

void
scoreboard_next_log_generation(struct sb_map *map)
{
    if (map != NULL)
        __atomic_add_fetch(&map->shm->log_generation, 1, __ATOMIC_RELEASE);
}

bool
scoreboard_take_wake(struct scoreboard *sb)
{
    if (sb == NULL)
        return false;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return LOAD(&sb->wake_armed) != 0
           && __atomic_exchange_n(&sb->wake_armed, 0u, __ATOMIC_SEQ_CST) != 0;
}
