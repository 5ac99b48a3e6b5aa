/* stats.c: the "stats" command family with memcached's field names and
 * order, so memcstat and Prometheus' memcached_exporter read us unchanged.
 * "stats" walks metric tables: the per-thread counters registered here, the
 * store's fields, its own, and the network layer's (struct stats_source), in
 * memcached's order as data (stats_order); each table has a reader. */
#include "proto/stats.h"
#include "proto/version.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/span.h"
#include "base/vlog.h"
#include "conf/options.h"
#include "conf/settings.h"

#define STATS_MAX_THREADS 1024

static struct thread_stats *stats_threads[STATS_MAX_THREADS];
static unsigned stats_nthreads;
static struct thread_stats stats_baseline;   /* subtracted after a reset */
static pthread_mutex_t stats_lock = PTHREAD_MUTEX_INITIALIZER;

void stats_register_thread(struct thread_stats *ts)
{
    pthread_mutex_lock(&stats_lock);
    if (stats_nthreads < STATS_MAX_THREADS) {
        stats_threads[stats_nthreads++] = ts;
    }
    pthread_mutex_unlock(&stats_lock);
}

#define LOAD(f) atomic_load_explicit(&(f), memory_order_relaxed)

/* Sums every worker into out (plain values in stat_t slots). */
static void stats_sum(struct thread_stats *out)
{
    memset(out, 0, sizeof(*out));
    for (unsigned t = 0; t < stats_nthreads; t++) {
        const struct thread_stats *ts = stats_threads[t];
#define X(name, kind, desc) out->name += LOAD(ts->name);
        THREAD_COUNTERS(X)
#undef X
        for (unsigned c = 0; c <= STORE_MAX_CLASSES; c++) {
#define X(name) out->cls[c].name += LOAD(ts->cls[c].name);
            CLASS_COUNTERS(X)
#undef X
        }
    }
}

/* Current totals minus the baseline of the last "stats reset". */
static void stats_snapshot(struct thread_stats *out)
{
    pthread_mutex_lock(&stats_lock);
    stats_sum(out);
#define X(name, kind, desc) out->name -= LOAD(stats_baseline.name);
    THREAD_COUNTERS(X)
#undef X
    for (unsigned c = 0; c <= STORE_MAX_CLASSES; c++) {
#define X(name) out->cls[c].name -= LOAD(stats_baseline.cls[c].name);
        CLASS_COUNTERS(X)
#undef X
    }
    pthread_mutex_unlock(&stats_lock);
}

void stats_reset(void)
{
    pthread_mutex_lock(&stats_lock);
    stats_sum(&stats_baseline);
    pthread_mutex_unlock(&stats_lock);
}

#define STAT_VALUE_MAX 500     /* a value longer than this is cut, as it was */

static void emit(struct stats_sink *out, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void emit(struct stats_sink *out, const char *name, const char *fmt, ...)
{
    char value[STAT_VALUE_MAX + 1];
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(value, sizeof(value), fmt, ap);
    va_end(ap);
    if (m < 0) {
        return;
    }
    size_t len = (size_t)m < STAT_VALUE_MAX ? (size_t)m : STAT_VALUE_MAX;
    out->put(out, name, strlen(name), value, len);
}

/* The text protocol's sink: "STAT name value\r\n" into the buf in ctx. */
static void put_text(struct stats_sink *sink, const char *name, size_t nname,
                     const char *value, size_t nvalue)
{
    struct buf *out = sink->ctx;
    if (!buf_reserve(out, 5 + nname + 1 + nvalue + 2)) {
        sink->full = true;
        return;
    }
    buf_append(out, "STAT ", 5);
    buf_append(out, name, nname);
    buf_append(out, " ", 1);
    buf_append(out, value, nvalue);
    buf_append(out, "\r\n", 2);
}

#define EMIT_U64(out, name, v) emit((out), (name), "%" PRIu64, (uint64_t)(v))

/* ---- the tables of "stats" ------------------------------------------------- */

/* The fields "stats" computes itself. */
#define STATS_OWN_METRICS(X) \
    X(version, METRIC_TEXT, "the server's version, as the version command answers it") \
    X(libevent, METRIC_TEXT, "the version of libevent the server runs on") \
    X(pointer_size, METRIC_GAUGE, "bits of a pointer: 64 on a 64-bit system") \
    X(limit_maxbytes, METRIC_GAUGE, "-m in bytes: the memory items may use")

/* memcached's fields for machinery hardcached does not have: always 0, and
 * shown because monitoring tools expect them. */
#define MEMCACHED_ZERO_METRICS(X) \
    X(read_buf_bytes_free, METRIC_GAUGE, "always 0: there is no cache of free buffers") \
    X(time_in_listen_disabled_us, METRIC_COUNTER, \
      "always 0: not measured (listen_disabled_num counts the pauses)") \
    X(hash_is_expanding, METRIC_GAUGE, "always 0: the hash table never grows") \
    X(lru_crawler_running, METRIC_GAUGE, "always 0: there is no LRU crawler") \
    X(lru_crawler_starts, METRIC_COUNTER, "always 0: there is no LRU crawler") \
    X(lru_maintainer_juggles, METRIC_COUNTER, "always 0: there is no LRU maintainer thread") \
    X(malloc_fails, METRIC_COUNTER, "always 0: item memory is one region reserved at start") \
    X(slab_global_page_pool, METRIC_GAUGE, "always 0: pages move between classes directly") \
    X(crawler_reclaimed, METRIC_COUNTER, "always 0: there is no LRU crawler") \
    X(crawler_items_checked, METRIC_COUNTER, "always 0: there is no LRU crawler") \
    X(lrutail_reflocked, METRIC_COUNTER, "always 0: items are not reference-counted") \
    X(moves_to_cold, METRIC_COUNTER, "always 0: one LRU per class, no hot, warm and cold ones") \
    X(moves_to_warm, METRIC_COUNTER, "always 0: one LRU per class, no hot, warm and cold ones") \
    X(moves_within_lru, METRIC_COUNTER, "always 0: one LRU per class, no hot, warm and cold ones") \
    X(direct_reclaims, METRIC_COUNTER, "always 0: not counted apart (see evictions, reclaimed)") \
    X(lru_bumps_dropped, METRIC_COUNTER, "always 0: a read only sets a bit, nothing is queued")

/* memcached 1.6's order of "stats", and http_request_closes (ours) where it
 * has always been: tools show the fields in the order they come. A metric not
 * named here is hardcached's own and follows these, table by table in the
 * order of stats_tables and then the network layer's: a new counter needs
 * only its row. stats_check proves every name here is a row. */
static const char *const stats_order[] = {
    "pid", "uptime", "time", "version", "libevent", "pointer_size",
    "rusage_user", "rusage_system", "max_connections", "curr_connections",
    "total_connections", "rejected_connections", "connection_structures",
    "response_obj_oom", "response_obj_count", "response_obj_bytes",
    "read_buf_count", "read_buf_bytes", "read_buf_bytes_free", "read_buf_oom",
    "reserved_fds", "cmd_get", "cmd_set", "cmd_flush", "cmd_touch", "cmd_meta",
    "get_hits", "get_misses", "get_expired", "get_flushed", "delete_misses",
    "delete_hits", "incr_misses", "incr_hits", "decr_misses", "decr_hits",
    "cas_misses", "cas_hits", "cas_badval", "touch_hits", "touch_misses",
    "store_too_large", "store_no_memory", "auth_cmds", "auth_errors",
    "bytes_read", "bytes_written", "limit_maxbytes", "accepting_conns",
    "listen_disabled_num", "time_in_listen_disabled_us", "threads",
    "conn_yields", "http_request_closes", "hash_power_level", "hash_bytes",
    "hash_is_expanding", "slabs_moved", "lru_crawler_running",
    "lru_crawler_starts", "lru_maintainer_juggles", "malloc_fails", "ssl_handshake_errors",
    "time_since_server_cert_refresh", "bytes",
    "curr_items", "total_items", "slab_global_page_pool", "expired_unfetched",
    "evicted_unfetched", "evicted_active", "evictions", "reclaimed",
    "crawler_reclaimed", "crawler_items_checked", "lrutail_reflocked",
    "moves_to_cold", "moves_to_warm", "moves_within_lru", "direct_reclaims",
    "lru_bumps_dropped",
};
#define STATS_ORDER_N (sizeof(stats_order) / sizeof(stats_order[0]))

static const struct metric thread_rows[] = { THREAD_COUNTERS(METRIC_ROW) };
static const struct metric store_rows[] = { STORE_METRICS(METRIC_ROW) };
static const struct metric own_rows[] = { STATS_OWN_METRICS(METRIC_ROW) };
static const struct metric zero_rows[] = { MEMCACHED_ZERO_METRICS(METRIC_ROW) };

#define TABLE(name, rows) { (name), (rows), sizeof(rows) / sizeof((rows)[0]) }
const struct metric_table stats_tables[] = {
    TABLE("thread", thread_rows), TABLE("store", store_rows),
    TABLE("stats", own_rows), TABLE("memcached", zero_rows),
};
const size_t stats_table_count = sizeof(stats_tables) / sizeof(stats_tables[0]);

#define COUNT_ROW(name, kind, desc) + 1
enum { PROTO_ROWS = 0 THREAD_COUNTERS(COUNT_ROW) STORE_METRICS(COUNT_ROW)
       STATS_OWN_METRICS(COUNT_ROW) MEMCACHED_ZERO_METRICS(COUNT_ROW) };
_Static_assert(PROTO_ROWS + STATS_SOURCE_MAX <= STATS_MAX_FIELDS, "raise STATS_MAX_FIELDS");

const char *metric_kind_name(enum metric_kind kind)
{
    switch (kind) {
    case METRIC_COUNTER: return "counter";
    case METRIC_GAUGE: return "gauge";
    case METRIC_TEXT: return "text";
    case METRIC_USEC: return "counter, seconds";
    }
    return "?";
}

/* ---- values: each table has its reader ------------------------------------------ */

/* Everything one "stats" reads, from all its sources at once. */
struct stats_input {
    struct thread_stats t;
    struct store_stats ss;
    struct server_info si;
    const struct settings *s;
};

struct stat_value {
    uint64_t n;
    const char *s;          /* METRIC_TEXT */
};

/* Each reader fills one value per row of its table, in the table's order. */
static void read_thread(const struct stats_input *in, struct stat_value *v)
{
    size_t i = 0;
#define X(name, kind, desc) v[i++].n = LOAD(in->t.name);
    THREAD_COUNTERS(X)
#undef X
}

static void read_store(const struct stats_input *in, struct stat_value *v)
{
    size_t i = 0;
#define X(name, kind, desc) v[i++].n = in->ss.name;
    STORE_METRICS(X)
#undef X
}

static void read_own(const struct stats_input *in, struct stat_value *v)
{
    struct {
#define X(name, kind, desc) struct stat_value name;
        STATS_OWN_METRICS(X)
#undef X
    } own = {
        .version = { .s = PROTO_VERSION },
        .libevent = { .s = in->si.libevent_version },
        .pointer_size = { .n = sizeof(void *) * 8 },
        .limit_maxbytes = { .n = in->s->mem_limit },
    };
    size_t i = 0;
#define X(name, kind, desc) v[i++] = own.name;
    STATS_OWN_METRICS(X)
#undef X
}

static void read_zero(const struct stats_input *in, struct stat_value *v)
{
    (void)in;
    for (size_t i = 0; i < sizeof(zero_rows) / sizeof(zero_rows[0]); i++) {
        v[i] = (struct stat_value){ 0, NULL };
    }
}

static void (*const stats_readers[])(const struct stats_input *, struct stat_value *) = {
    read_thread, read_store, read_own, read_zero,
};
_Static_assert(sizeof(stats_readers) / sizeof(stats_readers[0])
               == sizeof(stats_tables) / sizeof(stats_tables[0]), "a reader per table");

/* ---- the order ---------------------------------------------------------------------- */

/* Every field, table by table: proto's tables, then the network layer's. */
static size_t stats_collect(const struct metric *net, size_t nnet, struct stats_field *f)
{
    size_t n = 0;
    for (size_t t = 0; t < stats_table_count; t++) {
        for (size_t r = 0; r < stats_tables[t].n; r++) {
            f[n++] = (struct stats_field){ &stats_tables[t].rows[r], stats_tables[t].name };
        }
    }
    for (size_t r = 0; r < nnet && r < STATS_SOURCE_MAX; r++) {
        f[n++] = (struct stats_field){ &net[r], "net" };
    }
    return n;
}

/* The values of stats_collect's fields, in the same order. */
static void stats_read(const struct stats_input *in, struct stat_value *v)
{
    size_t n = 0;
    for (size_t t = 0; t < stats_table_count; t++) {
        stats_readers[t](in, v + n);
        n += stats_tables[t].n;
    }
    for (size_t r = 0; r < in->si.nmetrics && r < STATS_SOURCE_MAX; r++) {
        v[n++] = (struct stat_value){ in->si.value[r], NULL };
    }
}

static size_t field_find(const struct stats_field *f, size_t n, const char *name)
{
    size_t i = 0;
    while (i < n && strcmp(f[i].metric->name, name) != 0) {
        i++;
    }
    return i;
}

/* pos[] gets the indexes of f in the order "stats" prints them: memcached's
 * order first (a name no table has is skipped), then every other field. */
static void stats_arrange(const struct stats_field *f, size_t n, size_t *pos)
{
    bool placed[STATS_MAX_FIELDS] = { false };
    size_t k = 0;
    for (size_t o = 0; o < STATS_ORDER_N; o++) {
        size_t i = field_find(f, n, stats_order[o]);
        if (i < n && !placed[i]) {
            placed[i] = true;
            pos[k++] = i;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (!placed[i]) {
            pos[k++] = i;
        }
    }
}

size_t stats_fields(const struct metric *net, size_t nnet, struct stats_field *out, size_t cap)
{
    struct stats_field f[STATS_MAX_FIELDS];
    size_t pos[STATS_MAX_FIELDS];
    size_t n = stats_collect(net, nnet, f);
    stats_arrange(f, n, pos);
    size_t k = 0;
    for (; k < n && k < cap; k++) {
        out[k] = f[pos[k]];
    }
    return k;
}

static bool metric_name_ok(const char *name)
{
    if (name == NULL || name[0] == '\0') {
        return false;
    }
    for (const char *p = name; *p != '\0'; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_')) {
            return false;
        }
    }
    return true;
}

bool stats_check(const struct metric *net, size_t nnet, char *err, size_t errlen)
{
    struct stats_field f[STATS_MAX_FIELDS];
    if (nnet > STATS_SOURCE_MAX) {
        snprintf(err, errlen, "the network table has %zu rows, more than STATS_SOURCE_MAX",
                 nnet);
        return false;
    }
    size_t n = stats_collect(net, nnet, f);
    for (size_t i = 0; i < n; i++) {
        const struct metric *m = f[i].metric;
        const char *name = m->name != NULL ? m->name : "(null)";
        size_t first = field_find(f, n, name);
        if (!metric_name_ok(m->name)) {
            snprintf(err, errlen, "%s table: \"%s\" is not a field name", f[i].table, name);
        } else if (m->desc == NULL || m->desc[0] == '\0') {
            snprintf(err, errlen, "%s table: %s has no description", f[i].table, name);
        } else if (first != i) {
            snprintf(err, errlen, "%s is a row of the %s table and of the %s table", name,
                     f[first].table, f[i].table);
        } else {
            continue;
        }
        return false;
    }
    for (size_t o = 0; o < STATS_ORDER_N; o++) {
        if (field_find(f, n, stats_order[o]) == n) {
            snprintf(err, errlen, "%s is in memcached's order but in no table", stats_order[o]);
            return false;
        }
        for (size_t p = 0; p < o; p++) {
            if (strcmp(stats_order[p], stats_order[o]) == 0) {
                snprintf(err, errlen, "%s is twice in memcached's order", stats_order[o]);
                return false;
            }
        }
    }
    return true;
}

/* ---- "stats" ------------------------------------------------------------------------- */

static void emit_field(struct stats_sink *out, const struct metric *m, const struct stat_value *v)
{
    switch (m->kind) {
    case METRIC_TEXT:
        emit(out, m->name, "%s", v->s != NULL ? v->s : "");
        break;
    case METRIC_USEC:
        emit(out, m->name, "%" PRIu64 ".%06" PRIu64, v->n / 1000000, v->n % 1000000);
        break;
    default:
        EMIT_U64(out, m->name, v->n);
        break;
    }
}

static void stats_general(struct store *st, const struct settings *s,
                          const struct stats_source *src, struct stats_sink *out)
{
    struct stats_input in = { .s = s };
    struct stats_field f[STATS_MAX_FIELDS];
    struct stat_value v[STATS_MAX_FIELDS];
    size_t pos[STATS_MAX_FIELDS];
    src->server_info(&in.si);
    stats_snapshot(&in.t);
    store_stats(st, &in.ss);
    size_t n = stats_collect(in.si.metrics, in.si.nmetrics, f);
    stats_read(&in, v);
    stats_arrange(f, n, pos);
    for (size_t k = 0; k < n; k++) {
        emit_field(out, f[pos[k]].metric, &v[pos[k]]);
    }
}

static void emit_setting(void *ctx, const char *name, const char *value)
{
    struct stats_sink *sink = ctx;
    if (strcmp(name, "verbosity") == 0) {
        emit(sink, name, "%u", vlog_level());   /* "verbosity N" changes it */
        return;
    }
    emit(sink, name, "%s", value);
}

static void stats_slabs(struct store *st, struct stats_sink *out)
{
    struct thread_stats t;
    stats_snapshot(&t);
    unsigned n = store_class_count(st), active = 0;
    uint64_t malloced = 0;
    char name[64];
    for (unsigned id = 1; id <= n; id++) {
        struct store_class_stats cs;
        if (!store_class_stats(st, id, &cs) || cs.total_pages == 0) {
            continue;
        }
        active++;
        malloced += cs.total_pages * cs.chunk_size * cs.chunks_per_page;
#define F(field, v) snprintf(name, sizeof(name), "%u:%s", id, field); EMIT_U64(out, name, v);
        F("chunk_size", cs.chunk_size) F("chunks_per_page", cs.chunks_per_page)
        F("total_pages", cs.total_pages) F("total_chunks", cs.total_chunks)
        F("used_chunks", cs.used_chunks) F("free_chunks", cs.free_chunks)
        F("free_chunks_end", cs.free_chunks_end) F("mem_requested", cs.mem_requested)
        const struct class_counters *cc = &t.cls[id <= STORE_MAX_CLASSES ? id : 0];
#define X(counter) F(#counter, cc->counter)
        CLASS_COUNTERS(X)
#undef X
#undef F
    }
    struct store_stats ss;
    store_stats(st, &ss);
    EMIT_U64(out, "active_slabs", active);
    EMIT_U64(out, "total_malloced", ss.total_malloced ? ss.total_malloced : malloced);
}

static void stats_items(struct store *st, struct stats_sink *out)
{
    unsigned n = store_class_count(st);
    char name[64];
    for (unsigned id = 1; id <= n; id++) {
        struct store_class_stats cs;
        if (!store_class_stats(st, id, &cs) || cs.number == 0) {
            continue;
        }
#define F(field, v) snprintf(name, sizeof(name), "items:%u:%s", id, field); EMIT_U64(out, name, v);
        F("number", cs.number) F("number_hot", 0) F("number_warm", 0)
        F("number_cold", cs.number) F("age_hot", 0) F("age_warm", 0)
        F("age", cs.age) F("mem_requested", cs.mem_requested)
        F("evicted", cs.evicted) F("evicted_nonzero", cs.evicted_nonzero)
        F("evicted_time", cs.evicted_time) F("outofmemory", cs.outofmemory)
        F("tailrepairs", 0) F("reclaimed", cs.reclaimed)
        F("expired_unfetched", cs.expired_unfetched)
        F("evicted_unfetched", cs.evicted_unfetched)
        F("evicted_active", cs.evicted_active)
        F("crawler_reclaimed", 0) F("crawler_items_checked", 0)
        F("lrutail_reflocked", 0) F("moves_to_cold", 0) F("moves_to_warm", 0)
        F("moves_within_lru", 0) F("direct_reclaims", 0)
        F("hits_to_hot", 0) F("hits_to_warm", 0) F("hits_to_cold", 0) F("hits_to_temp", 0)
#undef F
    }
}

void stats_emit_section(struct store *st, const struct settings *s,
                        const struct stats_source *src, enum stats_section which,
                        struct stats_sink *sink)
{
    switch (which) {
    case STATS_GENERAL: stats_general(st, s, src, sink); break;
    case STATS_SETTINGS: options_each_setting(s, emit_setting, sink); break;
    case STATS_ITEMS: stats_items(st, sink); break;
    case STATS_SLABS: stats_slabs(st, sink); break;
    case STATS_SIZES: emit(sink, "sizes_status", "%s", "disabled"); break;
    }
}

/* The text protocol's sections, by their word after "stats". */
static const struct { const char *word; enum stats_section which; } text_sections[] = {
    { "settings", STATS_SETTINGS }, { "items", STATS_ITEMS }, { "slabs", STATS_SLABS },
    { "sizes", STATS_SIZES },
};

/* Appends the answer of "stats <word>" (word may be empty), END included. */
static void stats_answer(struct store *st, const struct settings *s,
                         const struct stats_source *src, struct span word,
                         struct stats_sink *sink, struct buf *out)
{
    if (span_is_empty(word)) {
        stats_general(st, s, src, sink);
    } else if (span_eq(word, "reset")) {
        stats_reset();
        buf_append_lit(out, "RESET\r\n");
        return;
    } else if (span_eq(word, "conns")) {
        sink->full |= !src->conns(out);
    } else if (span_eq(word, "detail")) {
        buf_append_lit(out, "CLIENT_ERROR usage: stats detail on|off|dump\r\n");
        return;
    } else if (span_eq(word, "cachedump")) {
        /* SECURITY: dumping keys helps an attacker map the cache. */
        buf_append_lit(out, "CLIENT_ERROR stats cachedump not allowed\r\n");
        return;
    } else {
        size_t i = 0;
        while (i < sizeof(text_sections) / sizeof(text_sections[0])
               && !span_eq(word, text_sections[i].word)) {
            i++;
        }
        if (i == sizeof(text_sections) / sizeof(text_sections[0])) {
            buf_append_lit(out, "ERROR\r\n");
            return;
        }
        stats_emit_section(st, s, src, text_sections[i].which, sink);
    }
    sink->full |= !buf_append_lit(out, "END\r\n");
}

void stats_command(struct store *st, const struct settings *s,
                   const struct stats_source *src, const char *sub, size_t nsub,
                   struct buf *out)
{
    size_t mark = buf_len(out);
    struct stats_sink sink = { put_text, out, false };
    stats_answer(st, s, src, span_of(sub, nsub), &sink, out);   /* the word is untrusted */
    if (sink.full) {
        out->end = out->start + mark;
        buf_append_lit(out, "SERVER_ERROR out of memory writing stats response\r\n");
    }
}
