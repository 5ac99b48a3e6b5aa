/* stats.c: the "stats" command family with memcached's field names and
 * order, so memcstat and Prometheus' memcached_exporter read us unchanged.
 * Values come from three places: the store (items, memory), the per-thread
 * counters registered here, and the network layer (struct stats_source). */
#include "proto/stats.h"
#include "proto/proto.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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
#define X(name) out->name += LOAD(ts->name);
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
#define X(name) out->name -= LOAD(stats_baseline.name);
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

/* Set when an answer line did not fit the connection's output buffer: the
 * partial answer is then replaced by memcached's out-of-memory error. */
static _Thread_local bool stats_truncated;

static void emit(struct buf *out, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void emit(struct buf *out, const char *name, const char *fmt, ...)
{
    char line[512];
    int n = snprintf(line, sizeof(line), "STAT %s ", name);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 2, fmt, ap);
    va_end(ap);
    if (m < 0) {
        return;
    }
    size_t len = (size_t)n + (size_t)m;
    if (len > sizeof(line) - 3) {
        len = sizeof(line) - 3;
    }
    line[len++] = '\r';
    line[len++] = '\n';
    if (!buf_append(out, line, len)) {
        stats_truncated = true;
    }
}

#define EMIT_U64(out, name, v) emit((out), (name), "%" PRIu64, (uint64_t)(v))

static void emit_rusage(struct buf *out, const char *name, uint64_t us)
{
    emit(out, name, "%" PRIu64 ".%06" PRIu64, us / 1000000, us % 1000000);
}

static void stats_general(struct store *st, const struct settings *s,
                          const struct stats_source *src, struct buf *out)
{
    struct server_info si;
    struct thread_stats t;
    struct store_stats ss;
    src->server_info(&si);
    stats_snapshot(&t);
    store_stats(st, &ss);

    EMIT_U64(out, "pid", si.pid);
    EMIT_U64(out, "uptime", si.uptime);
    EMIT_U64(out, "time", si.now_unix);
    emit(out, "version", "%s", PROTO_VERSION);
    emit(out, "libevent", "%s", si.libevent_version);
    EMIT_U64(out, "pointer_size", sizeof(void *) * 8);
    emit_rusage(out, "rusage_user", si.rusage_user_us);
    emit_rusage(out, "rusage_system", si.rusage_system_us);
    EMIT_U64(out, "max_connections", si.max_connections);
    EMIT_U64(out, "curr_connections", si.curr_connections);
    EMIT_U64(out, "total_connections", si.total_connections);
    EMIT_U64(out, "rejected_connections", si.rejected_connections);
    EMIT_U64(out, "connection_structures", si.connection_structures);
    EMIT_U64(out, "response_obj_oom", si.response_obj_oom);
    EMIT_U64(out, "response_obj_count", si.response_obj_count);
    EMIT_U64(out, "response_obj_bytes", si.response_obj_bytes);
    EMIT_U64(out, "read_buf_count", si.read_buf_count);
    EMIT_U64(out, "read_buf_bytes", si.read_buf_bytes);
    EMIT_U64(out, "read_buf_bytes_free", 0);
    EMIT_U64(out, "read_buf_oom", si.read_buf_oom);
    EMIT_U64(out, "reserved_fds", si.reserved_fds);
#define X(name) EMIT_U64(out, #name, t.name);
    X(cmd_get) X(cmd_set) X(cmd_flush) X(cmd_touch) X(cmd_meta)
    X(get_hits) X(get_misses)
    EMIT_U64(out, "get_expired", ss.get_expired);
    EMIT_U64(out, "get_flushed", ss.get_flushed);
    X(delete_misses) X(delete_hits) X(incr_misses) X(incr_hits)
    X(decr_misses) X(decr_hits) X(cas_misses) X(cas_hits) X(cas_badval)
    X(touch_hits) X(touch_misses) X(store_too_large) X(store_no_memory)
    X(auth_cmds) X(auth_errors) X(bytes_read) X(bytes_written)
#undef X
    EMIT_U64(out, "limit_maxbytes", s->mem_limit);
    EMIT_U64(out, "accepting_conns", si.accepting_conns);
    EMIT_U64(out, "listen_disabled_num", si.listen_disabled_num);
    EMIT_U64(out, "time_in_listen_disabled_us", 0);
    EMIT_U64(out, "threads", si.threads);
    EMIT_U64(out, "conn_yields", t.conn_yields);
    EMIT_U64(out, "http_request_closes", t.http_request_closes);  /* ours */
    EMIT_U64(out, "hash_power_level", ss.hash_power_level);
    EMIT_U64(out, "hash_bytes", ss.hash_bytes);
    EMIT_U64(out, "hash_is_expanding", 0);
    EMIT_U64(out, "slabs_moved", ss.slabs_moved);
    EMIT_U64(out, "lru_crawler_running", 0);
    EMIT_U64(out, "lru_crawler_starts", 0);
    EMIT_U64(out, "lru_maintainer_juggles", 0);
    EMIT_U64(out, "malloc_fails", 0);
    EMIT_U64(out, "bytes", ss.bytes);
    EMIT_U64(out, "curr_items", ss.curr_items);
    EMIT_U64(out, "total_items", ss.total_items);
    EMIT_U64(out, "slab_global_page_pool", 0);
    EMIT_U64(out, "expired_unfetched", ss.expired_unfetched);
    EMIT_U64(out, "evicted_unfetched", ss.evicted_unfetched);
    EMIT_U64(out, "evicted_active", ss.evicted_active);
    EMIT_U64(out, "evictions", ss.evictions);
    EMIT_U64(out, "reclaimed", ss.reclaimed);
    EMIT_U64(out, "crawler_reclaimed", 0);
    EMIT_U64(out, "crawler_items_checked", 0);
    EMIT_U64(out, "lrutail_reflocked", 0);
    EMIT_U64(out, "moves_to_cold", 0);
    EMIT_U64(out, "moves_to_warm", 0);
    EMIT_U64(out, "moves_within_lru", 0);
    EMIT_U64(out, "direct_reclaims", 0);
    EMIT_U64(out, "lru_bumps_dropped", 0);
    EMIT_U64(out, "allowlist_rejects", si.allowlist_rejects);
    EMIT_U64(out, "per_ip_rejects", si.per_ip_rejects);
    EMIT_U64(out, "read_timeouts", si.read_timeouts);
    EMIT_U64(out, "idle_timeouts", si.idle_timeouts);
    EMIT_U64(out, "conn_mem_peak", si.conn_mem_peak);
}

static void emit_setting(void *ctx, const char *name, const char *value)
{
    if (strcmp(name, "verbosity") == 0) {
        emit(ctx, name, "%u", vlog_level());   /* "verbosity N" changes it */
        return;
    }
    emit(ctx, name, "%s", value);
}

static void stats_slabs(struct store *st, struct buf *out)
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

static void stats_items(struct store *st, struct buf *out)
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

static bool word_is(const char *p, size_t n, const char *word)
{
    return n == strlen(word) && memcmp(p, word, n) == 0;
}

static void stats_answer(struct store *st, const struct settings *s,
                         const struct stats_source *src, const char *sub, size_t nsub,
                         struct buf *out)
{
    if (nsub == 0) {
        stats_general(st, s, src, out);
    } else if (word_is(sub, nsub, "reset")) {
        stats_reset();
        buf_append_lit(out, "RESET\r\n");
        return;
    } else if (word_is(sub, nsub, "settings")) {
        options_each_setting(s, emit_setting, out);
    } else if (word_is(sub, nsub, "items")) {
        stats_items(st, out);
    } else if (word_is(sub, nsub, "slabs")) {
        stats_slabs(st, out);
    } else if (word_is(sub, nsub, "conns")) {
        if (!src->conns(out)) {
            stats_truncated = true;
        }
    } else if (word_is(sub, nsub, "sizes")) {
        emit(out, "sizes_status", "%s", "disabled");
    } else if (word_is(sub, nsub, "detail")) {
        buf_append_lit(out, "CLIENT_ERROR usage: stats detail on|off|dump\r\n");
        return;
    } else if (word_is(sub, nsub, "cachedump")) {
        /* SECURITY: dumping keys helps an attacker map the cache. */
        buf_append_lit(out, "CLIENT_ERROR stats cachedump not allowed\r\n");
        return;
    } else {
        buf_append_lit(out, "ERROR\r\n");
        return;
    }
    if (!buf_append_lit(out, "END\r\n")) {
        stats_truncated = true;
    }
}

void stats_command(struct store *st, const struct settings *s,
                   const struct stats_source *src, const char *sub, size_t nsub,
                   struct buf *out)
{
    size_t mark = buf_len(out);
    stats_truncated = false;
    stats_answer(st, s, src, sub, nsub, out);
    if (stats_truncated) {
        out->end = out->start + mark;
        buf_append_lit(out, "SERVER_ERROR out of memory writing stats response\r\n");
    }
}
