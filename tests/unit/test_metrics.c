/* test_metrics.c: the metric tables against what "stats" prints. Every row
 * of every table (proto's stats_tables and the network layer's NET_METRICS)
 * is printed exactly once, every printed field is a row with a description,
 * the order is stats_fields' (memcached's, then ours), values reach the
 * right line, and stats_check refuses tables that would break any of this.
 * "stats" runs against a real store and a source with the real net table. */
#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "conf/settings.h"
#include "net/worker.h"
#include "proto/proto.h"
#include "proto/stats.h"

#define MAX_LINES 256

static struct settings settings;
static struct store *store;

/* The network layer's table, value i + 1000 for row i. */
static void net_info(struct server_info *si)
{
    memset(si, 0, sizeof(*si));
    si->libevent_version = "test";
    si->metrics = net_metric_table;
    si->nmetrics = net_metric_count;
    for (size_t i = 0; i < net_metric_count; i++) {
        si->value[i] = 1000 + i;
    }
}

static void bare_info(struct server_info *si)
{
    memset(si, 0, sizeof(*si));
    si->libevent_version = "test";
}

static bool no_conns(struct buf *out)
{
    (void)out;
    return true;
}

static const struct stats_source net_src = { net_info, no_conns };
static const struct stats_source bare_src = { bare_info, no_conns };

static void setup(void)
{
    clock_init((int64_t)time(NULL));
    settings_defaults(&settings);
    settings.mem_limit = 8 * 1024 * 1024;
    struct store_config cfg = { .mem_limit = settings.mem_limit,
                                .item_size_max = settings.item_size_max,
                                .growth_factor = 1.25, .chunk_min = 48, .evictions = true,
                                .use_cas = true };
    store = store_create(&cfg);
    ck_assert_ptr_nonnull(store);
}

static void teardown(void)
{
    store_destroy(&store);
}

/* One "stats" answer split into names and values (pointers into text). */
struct answer {
    char text[64 * 1024];
    const char *name[MAX_LINES], *value[MAX_LINES];
    size_t n;
};

static void run_stats(const struct stats_source *src, struct answer *a)
{
    struct buf out;
    buf_init(&out, sizeof(a->text) - 1);
    stats_command(store, &settings, src, "", 0, &out);
    size_t len = buf_len(&out);
    ck_assert_uint_lt(len, sizeof(a->text));
    memcpy(a->text, buf_head(&out), len);
    a->text[len] = '\0';
    buf_deinit(&out);
    ck_assert_msg(len >= 5 && strcmp(a->text + len - 5, "END\r\n") == 0, "%s", a->text);
    a->n = 0;
    for (char *line = a->text; strncmp(line, "STAT ", 5) == 0;) {
        char *end = strstr(line, "\r\n");
        ck_assert_ptr_nonnull(end);
        *end = '\0';
        char *sp = strchr(line + 5, ' ');
        ck_assert_msg(sp != NULL, "no value: %s", line);
        *sp = '\0';
        ck_assert_uint_lt(a->n, MAX_LINES);
        a->name[a->n] = line + 5;
        a->value[a->n] = sp + 1;
        a->n++;
        line = end + 2;
    }
}

static size_t times_printed(const struct answer *a, const char *name)
{
    size_t k = 0;
    for (size_t i = 0; i < a->n; i++) {
        k += strcmp(a->name[i], name) == 0;
    }
    return k;
}

static const char *printed_value(const struct answer *a, const char *name)
{
    for (size_t i = 0; i < a->n; i++) {
        if (strcmp(a->name[i], name) == 0) {
            return a->value[i];
        }
    }
    return NULL;
}

/* The row called name in any table, or NULL. */
static const struct metric *row_named(const char *name)
{
    for (size_t t = 0; t < stats_table_count; t++) {
        for (size_t r = 0; r < stats_tables[t].n; r++) {
            if (strcmp(stats_tables[t].rows[r].name, name) == 0) {
                return &stats_tables[t].rows[r];
            }
        }
    }
    for (size_t r = 0; r < net_metric_count; r++) {
        if (strcmp(net_metric_table[r].name, name) == 0) {
            return &net_metric_table[r];
        }
    }
    return NULL;
}

START_TEST(the_tables_are_sound)
{
    char err[256] = "";
    ck_assert_msg(stats_check(net_metric_table, net_metric_count, err, sizeof err), "%s", err);
    ck_assert_uint_ge(stats_table_count, 4);
    ck_assert_uint_gt(net_metric_count, 10);
}
END_TEST

START_TEST(every_row_is_printed_once_and_every_field_is_described)
{
    static struct answer a;
    run_stats(&net_src, &a);
    for (size_t t = 0; t < stats_table_count; t++) {
        for (size_t r = 0; r < stats_tables[t].n; r++) {
            const char *name = stats_tables[t].rows[r].name;
            ck_assert_msg(times_printed(&a, name) == 1, "%s table: %s printed %zu times",
                          stats_tables[t].name, name, times_printed(&a, name));
        }
    }
    for (size_t r = 0; r < net_metric_count; r++) {
        const char *name = net_metric_table[r].name;
        ck_assert_msg(times_printed(&a, name) == 1, "net table: %s printed %zu times", name,
                      times_printed(&a, name));
    }
    for (size_t i = 0; i < a.n; i++) {
        const struct metric *m = row_named(a.name[i]);
        ck_assert_msg(m != NULL, "stats prints %s, a row of no table", a.name[i]);
        ck_assert_msg(m->desc != NULL && strlen(m->desc) > 10, "%s: no description", m->name);
    }
}
END_TEST

/* The tables walked directly, as a new row would be added to them. */
START_TEST(the_x_macros_are_the_tables)
{
    static struct answer a;
    run_stats(&net_src, &a);
#define X(name, kind, desc) ck_assert_msg(times_printed(&a, #name) == 1, "%s", #name);
    THREAD_COUNTERS(X)
    STORE_METRICS(X)
    NET_METRICS(X)
#undef X
}
END_TEST

START_TEST(printed_in_the_order_of_stats_fields)
{
    static struct answer a;
    struct stats_field f[STATS_MAX_FIELDS];
    run_stats(&net_src, &a);
    size_t n = stats_fields(net_metric_table, net_metric_count, f, STATS_MAX_FIELDS);
    ck_assert_uint_eq(n, a.n);
    for (size_t i = 0; i < n; i++) {
        ck_assert_str_eq(f[i].metric->name, a.name[i]);
    }
    /* memcached's order: a field it prints first and last, ours after them */
    ck_assert_str_eq(a.name[0], "pid");
    ck_assert_str_eq(f[0].table, "net");
    size_t dropped = 0, allowlist = 0;
    for (size_t i = 0; i < n; i++) {
        dropped = strcmp(a.name[i], "lru_bumps_dropped") == 0 ? i : dropped;
        allowlist = strcmp(a.name[i], "allowlist_rejects") == 0 ? i : allowlist;
    }
    ck_assert_uint_eq(allowlist, dropped + 1);
    ck_assert_uint_eq(stats_fields(net_metric_table, net_metric_count, f, 3), 3);
}
END_TEST

/* Prometheus' memcached_exporter reports the server down when one of these
 * is missing (NOTES.md, "Monitoring clients need every field"). */
START_TEST(memcached_exporter_finds_its_fields)
{
    static const char *const needed[] = {
        "version", "uptime", "time", "rusage_user", "rusage_system", "get_hits",
        "get_misses", "delete_hits", "delete_misses", "incr_hits", "incr_misses",
        "decr_hits", "decr_misses", "cas_hits", "cas_misses", "touch_hits", "touch_misses",
        "cas_badval", "cmd_flush", "cmd_set", "bytes", "limit_maxbytes", "curr_items",
        "total_items", "bytes_read", "bytes_written", "curr_connections",
        "total_connections", "rejected_connections", "conn_yields", "listen_disabled_num",
        "evictions", "reclaimed", "store_too_large", "store_no_memory", "lru_crawler_starts",
        "direct_reclaims", "crawler_items_checked", "crawler_reclaimed", "moves_to_cold",
        "moves_to_warm", "moves_within_lru", "accepting_conns",
    };
    static struct answer a;
    run_stats(&net_src, &a);
    for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++) {
        ck_assert_msg(times_printed(&a, needed[i]) == 1, "%s", needed[i]);
    }
}
END_TEST

/* Each table's reader puts each value on its own row's line. */
START_TEST(values_reach_their_lines)
{
    static struct answer a;
    static struct thread_stats ts;      /* registered for good: static */
    stats_register_thread(&ts);
    STAT_ADD(ts.bytes_read, 41);
    STAT_ADD(ts.http_request_closes, 7);
    enum store_status why;
    struct item *it = store_item_alloc(store, "k", 1, 0, 0, 1, &why);
    ck_assert_ptr_nonnull(it);
    store_item_data(it)[0] = 'v';
    ck_assert_int_eq(store_item_link(store, &it, STORE_SET, 0, NULL), STORE_OK);
    stats_reset();
    STAT_ADD(ts.bytes_read, 41);
    STAT_ADD(ts.http_request_closes, 7);
    run_stats(&net_src, &a);
    ck_assert_str_eq(printed_value(&a, "bytes_read"), "41");
    ck_assert_str_eq(printed_value(&a, "http_request_closes"), "7");
    ck_assert_str_eq(printed_value(&a, "curr_items"), "1");
    ck_assert_str_eq(printed_value(&a, "total_items"), "1");
    ck_assert_str_eq(printed_value(&a, "limit_maxbytes"), "8388608");
    ck_assert_str_eq(printed_value(&a, "version"), PROTO_VERSION);
    ck_assert_str_eq(printed_value(&a, "libevent"), "test");
    ck_assert_str_eq(printed_value(&a, "lru_crawler_starts"), "0");
    for (size_t r = 0; r < net_metric_count; r++) {
        const struct metric *m = &net_metric_table[r];
        char want[32];
        if (m->kind == METRIC_USEC) {
            snprintf(want, sizeof want, "0.%06zu", 1000 + r);
        } else {
            snprintf(want, sizeof want, "%zu", 1000 + r);
        }
        ck_assert_msg(strcmp(printed_value(&a, m->name), want) == 0, "%s: %s, not %s",
                      m->name, printed_value(&a, m->name), want);
    }
    stats_reset();      /* zeroes the per-thread counters, and only them */
    run_stats(&net_src, &a);
    ck_assert_str_eq(printed_value(&a, "bytes_read"), "0");
    ck_assert_str_eq(printed_value(&a, "http_request_closes"), "0");
    ck_assert_str_eq(printed_value(&a, "curr_items"), "1");
    ck_assert_str_eq(printed_value(&a, net_metric_table[0].name), "1000");
}
END_TEST

/* A source without a table (the fuzzer's, test_proto's) gets proto's fields,
 * still in memcached's order. */
START_TEST(a_source_without_a_table)
{
    static struct answer a;
    struct stats_field f[STATS_MAX_FIELDS];
    run_stats(&bare_src, &a);
    size_t n = stats_fields(NULL, 0, f, STATS_MAX_FIELDS);
    ck_assert_uint_eq(n, a.n);
    for (size_t i = 0; i < n; i++) {
        ck_assert_str_eq(f[i].metric->name, a.name[i]);
        ck_assert_str_ne(f[i].table, "net");
    }
    ck_assert_str_eq(a.name[0], "version");
    ck_assert_uint_eq(times_printed(&a, "curr_connections"), 0);
    char err[256];
    ck_assert(!stats_check(NULL, 0, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "pid"));
}
END_TEST

/* What stats_check refuses: a network table that repeats a field, lacks one
 * of memcached's, has a row without a description or a bad name. */
START_TEST(stats_check_refuses_broken_tables)
{
    struct metric t[STATS_SOURCE_MAX];
    char err[256];
    memcpy(t, net_metric_table, net_metric_count * sizeof(t[0]));
    size_t n = net_metric_count;

    t[n] = (struct metric){ "cmd_get", METRIC_COUNTER, "again" };
    ck_assert(!stats_check(t, n + 1, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "cmd_get"));
    ck_assert_ptr_nonnull(strstr(err, "thread"));

    t[n] = (struct metric){ "new_counter", METRIC_COUNTER, "" };
    ck_assert(!stats_check(t, n + 1, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "description"));

    t[n] = (struct metric){ "New-Counter", METRIC_COUNTER, "a counter" };
    ck_assert(!stats_check(t, n + 1, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "New-Counter"));

    t[n] = (struct metric){ "new_counter", METRIC_COUNTER, "a new counter of ours" };
    ck_assert_msg(stats_check(t, n + 1, err, sizeof err), "%s", err);
    struct stats_field f[STATS_MAX_FIELDS];
    size_t k = stats_fields(t, n + 1, f, STATS_MAX_FIELDS);
    ck_assert_str_eq(f[k - 1].metric->name, "new_counter");   /* one row: ours come last */

    ck_assert(!stats_check(t + 1, n - 1, err, sizeof err));     /* no curr_connections */
    ck_assert_ptr_nonnull(strstr(err, net_metric_table[0].name));
    ck_assert(!stats_check(t, STATS_SOURCE_MAX + 1, err, sizeof err));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, the_tables_are_sound);
    tcase_add_test(tc, every_row_is_printed_once_and_every_field_is_described);
    tcase_add_test(tc, the_x_macros_are_the_tables);
    tcase_add_test(tc, printed_in_the_order_of_stats_fields);
    tcase_add_test(tc, memcached_exporter_finds_its_fields);
    tcase_add_test(tc, values_reach_their_lines);
    tcase_add_test(tc, a_source_without_a_table);
    tcase_add_test(tc, stats_check_refuses_broken_tables);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
