/* clock.c: the coarse server clock. clock_tick() is called once a second by
 * the listener thread; readers on any thread see a relaxed atomic load. The
 * epoch is two seconds before start-up so that rel time 1 is always past:
 * memcached relies on that to mean "already expired". */
#include "base/clock.h"

#include <stdatomic.h>

static _Atomic int64_t clock_epoch;
static _Atomic rel_time_t clock_current;

void clock_init(int64_t unix_now)
{
    atomic_store(&clock_epoch, unix_now - 2);
    atomic_store(&clock_current, 2);
}

void clock_tick(int64_t unix_now)
{
    int64_t rel = unix_now - atomic_load(&clock_epoch);
    if (rel < 2) {
        rel = 2; /* the wall clock stepped back: never go before start */
    }
    atomic_store_explicit(&clock_current, (rel_time_t)rel, memory_order_relaxed);
}

rel_time_t clock_now(void)
{
    return atomic_load_explicit(&clock_current, memory_order_relaxed);
}

int64_t clock_started(void)
{
    return atomic_load(&clock_epoch);
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
        int64_t epoch = clock_started();
        if (exptime <= epoch) {
            return 1; /* an absolute time before start: expired */
        }
        int64_t rel = exptime - epoch;
        return rel > UINT32_MAX ? UINT32_MAX : (rel_time_t)rel;
    }
    return (rel_time_t)(exptime + clock_now());
}
