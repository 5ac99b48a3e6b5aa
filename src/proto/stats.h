/* stats.h: the metric tables and the "stats" family of commands. Every
 * module declares its metrics once, as an X-macro of rows (name, kind,
 * one-line description) next to the code that counts them; "stats", the man
 * page and the tests walk those tables. Each worker owns one struct
 * thread_stats and is its only writer (relaxed atomic load+store, no lock, no
 * shared cache line on the hot path); "stats" sums all workers. "stats reset"
 * records a baseline instead of writing into another thread's counters, so it
 * cannot race with a worker. */
#ifndef HC_PROTO_STATS_H
#define HC_PROTO_STATS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "store/store.h"

/* ---- metric tables ------------------------------------------------------- */

enum metric_kind {
    METRIC_COUNTER,     /* only grows */
    METRIC_GAUGE,       /* a value now */
    METRIC_TEXT,        /* a string */
    METRIC_USEC,        /* a counter of microseconds, shown as seconds.micro */
};

/* One row of a module's table; X-macro rows are X(name, kind, description). */
struct metric {
    const char *name;
    enum metric_kind kind;
    const char *desc;
};
#define METRIC_ROW(name, kind, desc) { #name, kind, desc },

struct metric_table {
    const char *name;               /* the module, for the man page and tests */
    const struct metric *rows;
    size_t n;
};

/* "counter", "gauge", ... as the man page shows a kind. */
const char *metric_kind_name(enum metric_kind kind);

/* ---- per-thread counters ----------------------------------------------- */

typedef _Atomic uint64_t stat_t;

#define STAT_ADD(field, n) atomic_store_explicit(&(field), \
        atomic_load_explicit(&(field), memory_order_relaxed) + (n), memory_order_relaxed)
#define STAT_INC(field) STAT_ADD(field, 1)

/* Every per-thread counter; "stats reset" sets these (and only these) to 0. */
#define THREAD_COUNTERS(X) \
    X(cmd_get, METRIC_COUNTER, "keys looked up by get, gets and mg, one per key (an mg hit with T counts as a touch)") \
    X(cmd_set, METRIC_COUNTER, \
      "storage commands (set, add, replace, append, prepend, cas, ms) whose data arrived, " \
      "stored or not") \
    X(cmd_flush, METRIC_COUNTER, "flush_all commands, refused ones (-F) included") \
    X(cmd_touch, METRIC_COUNTER, "touch commands, keys looked up by gat and gats, and mg hits with T") \
    X(cmd_meta, METRIC_COUNTER, \
      "me (meta debug) commands answered; memcached 1.6.18 counts no other meta command " \
      "here (mg, ms, md, ma count as get, set, delete, incr/decr and touch)") \
    X(get_hits, METRIC_COUNTER, "keys get, gets and mg found (not mg hits with T)") \
    X(get_misses, METRIC_COUNTER, "keys get, gets and mg did not find (expired ones included)") \
    X(delete_misses, METRIC_COUNTER, "delete and md commands that found no item (md: or another cas)") \
    X(delete_hits, METRIC_COUNTER, "delete and md commands that removed an item") \
    X(incr_misses, METRIC_COUNTER, "incr and ma commands that found no item") \
    X(incr_hits, METRIC_COUNTER, "incr and ma commands that changed a value") \
    X(decr_misses, METRIC_COUNTER, "decr and ma commands that found no item") \
    X(decr_hits, METRIC_COUNTER, "decr and ma commands that changed a value") \
    X(cas_misses, METRIC_COUNTER, "cas commands (and ms with C) that found no item") \
    X(cas_hits, METRIC_COUNTER, "cas commands (and ms with C) that stored their value") \
    X(cas_badval, METRIC_COUNTER, "cas commands (and ms with C) refused because the item had changed (EXISTS)") \
    X(touch_hits, METRIC_COUNTER, "touch commands and gat/gats keys that found the item") \
    X(touch_misses, METRIC_COUNTER, "touch commands and gat/gats keys that did not") \
    X(store_too_large, METRIC_COUNTER, \
      "storage commands refused because the item is larger than -I") \
    X(store_no_memory, METRIC_COUNTER, \
      "storage commands refused for lack of memory (SERVER_ERROR out of memory storing object)") \
    X(auth_cmds, METRIC_COUNTER, \
      "-Y logins checked against the credentials, refused ones included (a malformed " \
      "login, with a bad token format or termination, is not counted)") \
    X(auth_errors, METRIC_COUNTER, \
      "-Y logins refused for a wrong user or password (CLIENT_ERROR authentication failure)") \
    X(bytes_read, METRIC_COUNTER, "bytes read from clients") \
    X(bytes_written, METRIC_COUNTER, "bytes written to clients") \
    X(conn_yields, METRIC_COUNTER, \
      "times a connection ran its -R commands and yielded to the other clients") \
    X(http_request_closes, METRIC_COUNTER, \
      "connections closed at once because they sent an HTTP request line")

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
#define X(name, kind, desc) stat_t name;
    THREAD_COUNTERS(X)
#undef X
    struct class_counters cls[STORE_MAX_CLASSES + 1];
};

/* ---- the store's fields ----------------------------------------------------- */

/* The fields of struct store_stats that "stats" shows (each row names one).
 * Described here because the store, below proto, cannot use struct metric. */
#define STORE_METRICS(X) \
    X(get_expired, METRIC_COUNTER, "lookups that found their item expired (counted as misses)") \
    X(get_flushed, METRIC_COUNTER, \
      "lookups that found their item invalidated by flush_all (counted as misses)") \
    X(hash_power_level, METRIC_GAUGE, "log2 of the hash table's buckets (sized from -m at start)") \
    X(hash_bytes, METRIC_GAUGE, "bytes of the hash table") \
    X(slabs_moved, METRIC_COUNTER, "memory pages moved from one size class to another") \
    X(bytes, METRIC_GAUGE, "bytes held by the items stored now, headers included") \
    X(curr_items, METRIC_GAUGE, "items stored now") \
    X(total_items, METRIC_COUNTER, "items stored since start") \
    X(expired_unfetched, METRIC_COUNTER, "items expired or flushed that were never read") \
    X(evicted_unfetched, METRIC_COUNTER, "items evicted that were never read") \
    X(evicted_active, METRIC_COUNTER, \
      "items evicted although read since their last second chance at the LRU's head") \
    X(evictions, METRIC_COUNTER, "live items removed to make room for new ones") \
    X(reclaimed, METRIC_COUNTER, "items stored in the memory of an expired or flushed item")

/* ---- the network layer's fields ------------------------------------------- */

/* What the network layer reports through struct stats_source: the version of
 * its event library, and its own metric table (NET_METRICS in net/worker.h)
 * with the values now. proto cannot include net, so the table comes with the
 * values; "stats" shows every row of it. */
#define STATS_SOURCE_MAX 48
struct server_info {
    const char *libevent_version;
    const struct metric *metrics;   /* NULL: none (a test's source) */
    size_t nmetrics;                /* at most STATS_SOURCE_MAX */
    uint64_t value[STATS_SOURCE_MAX];   /* value[i] is metrics[i]'s */
};

struct stats_source {
    void (*server_info)(struct server_info *out);
    /* Appends "STAT <fd>:<field> <value>\r\n" lines for "stats conns";
     * false if they did not all fit. */
    bool (*conns)(struct buf *out);
};

/* ---- "stats" ------------------------------------------------------------------ */

/* proto's tables: the per-thread counters, the store's fields, the fields of
 * "stats" itself, and memcached's fields for machinery hardcached does not
 * have (always 0). With the network layer's table, they are all of "stats". */
extern const struct metric_table stats_tables[];
extern const size_t stats_table_count;

/* A field of "stats": its row, and the table (module) it belongs to. */
struct stats_field {
    const struct metric *metric;
    const char *table;
};
#define STATS_MAX_FIELDS 160

/* The fields "stats" prints, in the order it prints them, when the network
 * layer's table is net[0..nnet). Returns how many (never more than cap). */
size_t stats_fields(const struct metric *net, size_t nnet, struct stats_field *out, size_t cap);

/* True when the tables make a sound "stats" with the network table net: every
 * name of memcached's order is a row of exactly one table, no name is in two
 * rows, every row has a name and a description. Else false and why in err. */
bool stats_check(const struct metric *net, size_t nnet, char *err, size_t errlen);

/* One get (touch false) or touch (get-and-touch) of either protocol:
 * cmd_get/get_hits/get_misses or cmd_touch/touch_hits/touch_misses. Inline:
 * a multiget counts every key. */
static inline void stats_count_get(struct thread_stats *ts, bool hit, bool touch)
{
    if (touch) {
        STAT_INC(ts->cmd_touch);
        if (hit) {
            STAT_INC(ts->touch_hits);
        } else {
            STAT_INC(ts->touch_misses);
        }
    } else {
        STAT_INC(ts->cmd_get);
        if (hit) {
            STAT_INC(ts->get_hits);
        } else {
            STAT_INC(ts->get_misses);
        }
    }
}

/* Registration happens once per worker at start-up, before serving. */
void stats_register_thread(struct thread_stats *ts);
void stats_reset(void);

/* The "stats ..." command; args is the text after "stats " (may be empty).
 * Appends the whole answer, END included, or an error line. */
struct settings;
void stats_command(struct store *st, const struct settings *s,
                   const struct stats_source *src, const char *args, size_t nargs,
                   struct buf *out);

/* Where the stats of a section go, one (name, value) at a time: the text
 * protocol's "STAT name value" lines, or the binary protocol's packets
 * (proto/binary.c). put sets full when a stat did not fit; the caller then
 * replaces the whole answer with its out-of-memory error. */
struct stats_sink {
    void (*put)(struct stats_sink *sink, const char *name, size_t nname,
                const char *value, size_t nvalue);
    void *ctx;
    bool full;
};

/* The sections both protocols share, each produced by the same code. */
enum stats_section { STATS_GENERAL, STATS_SETTINGS, STATS_ITEMS, STATS_SLABS, STATS_SIZES };
void stats_emit_section(struct store *st, const struct settings *s,
                        const struct stats_source *src, enum stats_section which,
                        struct stats_sink *sink);

#endif
