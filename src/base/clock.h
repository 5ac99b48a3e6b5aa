/* clock.h: the server's coarse clock, in seconds since start-up, as memcached
 * keeps it. One thread ticks it once a second; every other thread only reads,
 * so a hot path never makes a time syscall. Also converts protocol exptimes. */
#ifndef HC_BASE_CLOCK_H
#define HC_BASE_CLOCK_H

#include <stdint.h>

typedef uint32_t rel_time_t;

/* Seconds in memcached's "relative" exptime window (30 days). */
#define CLOCK_MAX_RELATIVE (60 * 60 * 24 * 30)

void clock_init(int64_t unix_now);
void clock_tick(int64_t unix_now);
rel_time_t clock_now(void);
int64_t clock_started(void);          /* unix time that rel time 0 stands for */

/* memcached's realtime(): 0 -> 0 (never); negative -> already expired;
 * up to 30 days -> now + exptime; beyond -> absolute unix time. */
rel_time_t clock_exptime_to_rel(int64_t exptime);

#endif
