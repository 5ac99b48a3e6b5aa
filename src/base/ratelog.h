/* ratelog.h: log lines that cannot flood. A caller that may fire on every
 * packet of a scan (an allowlist rejection, a limit) logs through a
 * ratelog: at most one line per interval, with how many were suppressed. */
#ifndef HC_BASE_RATELOG_H
#define HC_BASE_RATELOG_H

#include <stdatomic.h>
#include <stdint.h>

struct ratelog {
    _Atomic uint32_t last;          /* clock second of the last line */
    _Atomic uint64_t suppressed;
    uint32_t interval;              /* seconds */
};

#define RATELOG_INIT(seconds) { 0, 0, (seconds) }

/* Logs "hardcached: <what> (<n> more suppressed)" to stderr when allowed. */
void ratelog(struct ratelog *rl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
