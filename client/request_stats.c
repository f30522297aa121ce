/* Latency statistics of the load mode: a log-linear histogram (fixed
 * memory, under 1.6% error) and nearest-rank percentiles from it. */
#include "request.h"

#include <string.h>

#define STATS_EXACT (2 * REQUEST_STATS_SUB)    /* values kept exactly */
#define STATS_CAP_US ((UINT64_C(1) << REQUEST_STATS_MAX_BITS) - 1)

void
request_stats_init(struct request_stats *st)
{
    memset(st, 0, sizeof(*st));
}

size_t
request_stats_bucket(uint64_t us)
{
    unsigned shift;

    if (us > STATS_CAP_US)
        us = STATS_CAP_US;
    if (us < STATS_EXACT)
        return (size_t)us;
    /* Shift us down to 7 bits (64..127): that is its place in its power of
     * two, and the shift says which power. */
    shift = (unsigned)(64 - __builtin_clzll(us)) - 7;
    return STATS_EXACT + (size_t)(shift - 1) * REQUEST_STATS_SUB +
           (size_t)((us >> shift) - REQUEST_STATS_SUB);
}

uint64_t
request_stats_bucket_low(size_t idx)
{
    unsigned shift;
    uint64_t m;

    if (idx < STATS_EXACT)
        return idx;
    shift = (unsigned)((idx - STATS_EXACT) / REQUEST_STATS_SUB) + 1;
    m = (idx - STATS_EXACT) % REQUEST_STATS_SUB + REQUEST_STATS_SUB;
    return m << shift;
}

uint64_t
request_stats_bucket_high(size_t idx)
{
    if (idx < STATS_EXACT)
        return idx;
    return request_stats_bucket_low(idx + 1) - 1;
}

void
request_stats_add(struct request_stats *st, uint64_t us)
{
    if (st->count == 0 || us < st->min_us)
        st->min_us = us;
    if (us > st->max_us)
        st->max_us = us;
    st->bucket[request_stats_bucket(us)]++;
    st->count++;
}

uint64_t
request_stats_percentile(const struct request_stats *st, double pct)
{
    double want = pct / 100 * (double)st->count;
    uint64_t rank, seen = 0, v;
    size_t i;

    if (st->count == 0)
        return 0;
    if (!(pct > 0))
        return st->min_us;
    if (pct >= 100)
        return st->max_us;
    /* Nearest rank: the smallest value with at least pct% at or below;
     * rounded up by hand, since fcgi-request does not link libm. */
    rank = (uint64_t)want;
    if ((double)rank < want || rank == 0)
        rank++;
    for (i = 0; i < REQUEST_STATS_BUCKETS - 1; i++) {
        seen += st->bucket[i];
        if (seen >= rank)
            break;
    }
    v = request_stats_bucket_low(i) +
        (request_stats_bucket_high(i) - request_stats_bucket_low(i)) / 2;
    if (v < st->min_us)
        return st->min_us;
    return v > st->max_us ? st->max_us : v;
}
