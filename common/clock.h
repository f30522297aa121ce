/* The one clock helper: monotonic milliseconds for deadlines and elapsed
 * times, wall seconds for log and access-log stamps. */
#ifndef FCGIPM_CLOCK_H
#define FCGIPM_CLOCK_H

#include <stdint.h>

/* Microseconds and milliseconds on CLOCK_MONOTONIC. */
uint64_t clock_now_us(void);
uint64_t clock_now_ms(void);
/* Seconds since the epoch (CLOCK_REALTIME), with nanoseconds. */
double clock_wall_s(void);

#endif
