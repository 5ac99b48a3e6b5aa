/* stats.h: per-worker-thread counters and the "stats" family of commands.
 * Each worker owns one struct thread_stats and is its only writer (relaxed
 * atomic load+store, no lock, no shared cache line on the hot path); "stats"
 * sums all workers. "stats reset" records a baseline instead of writing into
 * another thread's counters, so it cannot race with a worker. */
#ifndef HC_PROTO_STATS_H
#define HC_PROTO_STATS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "store/store.h"

typedef _Atomic uint64_t stat_t;

#define STAT_ADD(field, n) atomic_store_explicit(&(field), \
        atomic_load_explicit(&(field), memory_order_relaxed) + (n), memory_order_relaxed)
#define STAT_INC(field) STAT_ADD(field, 1)

/* X-macro: every per-thread counter, in memcached's order of "stats". */
#define THREAD_COUNTERS(X) \
    X(cmd_get) X(cmd_set) X(cmd_flush) X(cmd_touch) X(cmd_meta) \
    X(get_hits) X(get_misses) \
    X(delete_misses) X(delete_hits) X(incr_misses) X(incr_hits) \
    X(decr_misses) X(decr_hits) X(cas_misses) X(cas_hits) X(cas_badval) \
    X(touch_hits) X(touch_misses) X(store_too_large) X(store_no_memory) \
    X(auth_cmds) X(auth_errors) X(bytes_read) X(bytes_written) X(conn_yields) \
    X(http_request_closes)

/* Per memory class, for "stats slabs". */
#define CLASS_COUNTERS(X) \
    X(get_hits) X(cmd_set) X(delete_hits) X(incr_hits) X(decr_hits) \
    X(cas_hits) X(cas_badval) X(touch_hits)

struct class_counters {
#define X(name) stat_t name;
    CLASS_COUNTERS(X)
#undef X
};

struct thread_stats {
#define X(name) stat_t name;
    THREAD_COUNTERS(X)
#undef X
    struct class_counters cls[STORE_MAX_CLASSES + 1];
};

/* Facts about the server that only the network layer and main know. */
struct server_info {
    int64_t pid;
    uint64_t uptime, now_unix;
    uint64_t rusage_user_us, rusage_system_us;
    uint64_t max_connections, curr_connections, total_connections;
    uint64_t rejected_connections, connection_structures, reserved_fds;
    uint64_t listen_disabled_num, threads;
    int accepting_conns;
    const char *libevent_version;
    /* security counters: extra fields, ignored by memcached tools */
    uint64_t allowlist_rejects, per_ip_rejects, read_timeouts, idle_timeouts;
    /* connection buffers (memcached's read_buf_* / response_obj_* fields) */
    uint64_t response_obj_oom, response_obj_count, response_obj_bytes;
    uint64_t read_buf_count, read_buf_bytes, read_buf_oom;
    uint64_t conn_mem_peak;
};

struct stats_source {
    void (*server_info)(struct server_info *out);
    /* Appends "STAT <fd>:<field> <value>\r\n" lines for "stats conns";
     * false if they did not all fit. */
    bool (*conns)(struct buf *out);
};

/* Registration happens once per worker at start-up, before serving. */
void stats_register_thread(struct thread_stats *ts);
void stats_reset(void);

/* The "stats ..." command; args is the text after "stats " (may be empty).
 * Appends the whole answer, END included, or an error line. */
struct settings;
void stats_command(struct store *st, const struct settings *s,
                   const struct stats_source *src, const char *args, size_t nargs,
                   struct buf *out);

#endif
