/* vlog.h: the -v / -vv log on stderr and its level. The level starts at the
 * -v count; "verbosity N" may lower it at run time and raise it back, never
 * above what the operator started with (a client cannot turn on a log of
 * every key). Lines are written with one write(2) each, so threads do not
 * interleave them, and every byte from a client is escaped. */
#ifndef HC_BASE_VLOG_H
#define HC_BASE_VLOG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

enum vlog_level {
    VLOG_QUIET = 0,
    VLOG_ERRORS = 1,        /* -v: connections closed for a limit or a timeout */
    VLOG_TRAFFIC = 2,       /* -vv: each command line and the kind of its answer
                               (its first line, values and counters left out) */
    VLOG_MAX = 3,           /* -vvv is accepted and logs what -vv does */
};

/* Client bytes shown per line; a longer line is cut and marked "...". */
#define VLOG_SHOW_MAX 200

extern _Atomic unsigned vlog_current;

/* At start-up: the level and the ceiling "verbosity N" cannot pass. */
void vlog_init(unsigned level);
/* "verbosity N": min(N, the start-up level). */
void vlog_set(unsigned level);

static inline unsigned vlog_level(void)
{
    return atomic_load_explicit(&vlog_current, memory_order_relaxed);
}

static inline bool vlog_on(enum vlog_level level)
{
    return vlog_level() >= (unsigned)level;
}

/* "<id " or ">id " then p[0, n) escaped: bytes outside printable ASCII and
 * the backslash become \xNN. The caller chooses what may be shown: command
 * lines, never value bytes or counters (proto/ascii.c trace_answer). */
void vlog_traffic(int id, char dir, const char *p, size_t n);

/* "<id " then the message, for connection events. */
void vlog_conn(int id, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The escaping alone, for tests: writes at most outlen-1 bytes and a NUL;
 * returns the length written. */
size_t vlog_escape(const char *p, size_t n, char *out, size_t outlen);

#endif
