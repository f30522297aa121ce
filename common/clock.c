/* Reading the clocks; manager code reads them through sys.c, so that
 * unit tests can drive time. */
#include <time.h>

#include "clock.h"

uint64_t
clock_now_us(void)
{
    struct timespec ts;

    /* CLOCK_MONOTONIC cannot fail with a valid clock id and pointer. */
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

uint64_t
clock_now_ms(void)
{
    return clock_now_us() / 1000;
}

double
clock_wall_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
