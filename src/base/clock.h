/* clock.h: the server's coarse clock, in seconds since start-up, as memcached
 * keeps it. One thread ticks it once a second; every other thread only reads,
 * so a hot path never makes a time syscall. Relative time follows the
 * monotonic clock: stepping the wall clock moves no TTL or timeout. The wall
 * clock only converts absolute exptimes and answers "stats time". */
#ifndef HC_BASE_CLOCK_H
#define HC_BASE_CLOCK_H

#include <stdint.h>

typedef uint32_t rel_time_t;

/* Seconds in memcached's "relative" exptime window (30 days). */
#define CLOCK_MAX_RELATIVE (60 * 60 * 24 * 30)

/* The daemon: clock_start() once at start-up, clock_update() once a second;
 * both read CLOCK_REALTIME and CLOCK_MONOTONIC. */
void clock_start(void);
void clock_update(void);

/* The same two steps with the clocks' readings given, in seconds: unix_now
 * is the wall clock, mono_now CLOCK_MONOTONIC. Tests drive time with these. */
void clock_init_at(int64_t unix_now, int64_t mono_now);
void clock_tick_at(int64_t unix_now, int64_t mono_now);

/* Simulated time in which the wall and the monotonic clock both read `now`
 * (clock_init_at(now, now)): the store tests and the fuzzer use these. */
void clock_init(int64_t now);
void clock_tick(int64_t now);

rel_time_t clock_now(void);

/* The unix time that rel time 0 stands for, by the wall clock at the last
 * tick: clock_started() + clock_now() is the wall clock ("stats time"). It
 * moves when the wall clock is stepped, so an absolute exptime always means
 * that wall-clock second. */
int64_t clock_started(void);

/* memcached's realtime(): 0 -> 0 (never); negative -> already expired;
 * up to 30 days -> now + exptime; beyond -> absolute unix time (at or before
 * clock_started(): already expired). */
rel_time_t clock_exptime_to_rel(int64_t exptime);

#endif
