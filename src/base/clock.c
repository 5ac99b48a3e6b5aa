/* clock.c: the coarse server clock. Relative time -- what TTLs, read
 * timeouts and LRU ages are kept in -- is CLOCK_MONOTONIC seconds since
 * start-up plus 2, so a step of the wall clock (NTP, an operator) neither
 * stretches a timeout nor expires items early; rel time 1 is always past,
 * which memcached relies on to mean "already expired". The wall clock is
 * kept only as the offset between it and rel time, for absolute exptimes
 * and "stats time". Ticked once a second by the listener thread; readers on
 * any thread see relaxed atomic loads. */
#include "base/clock.h"

#include <stdatomic.h>
#include <time.h>

#define CLOCK_REL_START 2

static _Atomic int64_t clock_mono_start;    /* CLOCK_MONOTONIC seconds at start */
static _Atomic int64_t clock_offset;        /* wall clock - rel time, at the last tick */
static _Atomic rel_time_t clock_current;

static int64_t read_clock(clockid_t id)
{
    struct timespec ts;
    if (clock_gettime(id, &ts) != 0) {
        return 0;   /* cannot fail for these two clocks on Linux */
    }
    return (int64_t)ts.tv_sec;
}

void clock_init_at(int64_t unix_now, int64_t mono_now)
{
    atomic_store(&clock_mono_start, mono_now);
    atomic_store(&clock_current, CLOCK_REL_START);
    atomic_store(&clock_offset, unix_now - CLOCK_REL_START);
}

void clock_tick_at(int64_t unix_now, int64_t mono_now)
{
    int64_t rel = mono_now - atomic_load(&clock_mono_start) + CLOCK_REL_START;
    if (rel < CLOCK_REL_START) {
        rel = CLOCK_REL_START;  /* a reading from before start (only a test can give one) */
    } else if (rel > UINT32_MAX) {
        rel = UINT32_MAX;
    }
    atomic_store_explicit(&clock_current, (rel_time_t)rel, memory_order_relaxed);
    atomic_store_explicit(&clock_offset, unix_now - rel, memory_order_relaxed);
}

void clock_start(void)
{
    clock_init_at((int64_t)time(NULL), read_clock(CLOCK_MONOTONIC));
}

void clock_update(void)
{
    clock_tick_at((int64_t)time(NULL), read_clock(CLOCK_MONOTONIC));
}

void clock_init(int64_t now)
{
    clock_init_at(now, now);
}

void clock_tick(int64_t now)
{
    clock_tick_at(now, now);
}

rel_time_t clock_now(void)
{
    return atomic_load_explicit(&clock_current, memory_order_relaxed);
}

int64_t clock_started(void)
{
    return atomic_load_explicit(&clock_offset, memory_order_relaxed);
}

rel_time_t clock_exptime_to_rel(int64_t exptime)
{
    if (exptime == 0) {
        return 0;
    }
    if (exptime < 0) {
        return 1; /* negative: expired already */
    }
    if (exptime > CLOCK_MAX_RELATIVE) {
        int64_t zero = clock_started();
        if (exptime <= zero) {
            return 1; /* an absolute time before start: expired */
        }
        int64_t rel = exptime - zero;
        return rel > UINT32_MAX ? UINT32_MAX : (rel_time_t)rel;
    }
    return (rel_time_t)(exptime + clock_now());
}
