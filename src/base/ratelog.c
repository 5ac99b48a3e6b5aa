/* ratelog.c: see ratelog.h. Uses the coarse clock, so it makes no system
 * call except the one write of an allowed line. */
#include "base/ratelog.h"

#include <stdarg.h>
#include <stdio.h>

#include "base/clock.h"

void ratelog(struct ratelog *rl, const char *fmt, ...)
{
    uint32_t now = clock_now();
    uint32_t last = atomic_load(&rl->last);
    if (last != 0 && now - last < rl->interval) {
        atomic_fetch_add(&rl->suppressed, 1);
        return;
    }
    if (!atomic_compare_exchange_strong(&rl->last, &last, now)) {
        atomic_fetch_add(&rl->suppressed, 1);
        return;
    }
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    uint64_t skipped = atomic_exchange(&rl->suppressed, 0);
    if (skipped > 0) {
        fprintf(stderr, "hardcached: %s (%llu similar suppressed)\n", line, (unsigned long long)skipped);
    } else {
        fprintf(stderr, "hardcached: %s\n", line);
    }
}
