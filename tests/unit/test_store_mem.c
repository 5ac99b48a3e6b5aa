/* test_store_mem.c: the segment store under memory pressure: eviction keeps
 * memory bounded, -M answers out-of-memory and gets room back by compaction
 * and expiry, accessed items get a second chance, expired segments are freed
 * without a read, memory moves between item sizes, the counters stay
 * consistent, and RSS stays within the bound. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "store/store.h"

#define T0 1700000000
#define MIB (1u << 20)

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

static struct store *st;
static int64_t t_now;
static char value[64 * 1024];

static struct store *make(size_t mem, bool evictions)
{
    struct store_config c = {
        .mem_limit = mem, .item_size_max = MIB, .growth_factor = 1.25,
        .chunk_min = 48, .evictions = evictions, .use_cas = true, .hash_power = 0,
    };
    return store_create(&c);
}

static void setup(void)
{
    t_now = T0;
    clock_init(t_now);
    memset(value, 'v', sizeof value);
}

static void teardown(void)
{
    store_destroy(&st);
}

static void advance(int64_t secs)
{
    t_now += secs;
    clock_tick(t_now);
}

static enum store_status put_n(const char *prefix, unsigned i, size_t nval, rel_time_t exptime)
{
    char key[64];
    int nkey = snprintf(key, sizeof key, "%s:%07u", prefix, i);
    enum store_status s = STORE_OK;
    struct item *it = store_item_alloc(st, key, (size_t)nkey, 0, exptime, (uint32_t)nval, &s);
    if (it == NULL) {
        return s;
    }
    memcpy(store_item_data(it), value, nval);
    return store_item_link(st, &it, STORE_SET, 0, NULL);
}

static void count_view(void *ctx, const struct item_view *v)
{
    (void)v;
    ++*(unsigned *)ctx;
}

static bool has_n(const char *prefix, unsigned i)
{
    char key[64];
    int nkey = snprintf(key, sizeof key, "%s:%07u", prefix, i);
    unsigned hits = 0;
    return store_get(st, key, (size_t)nkey, false, 0, count_view, &hits) == STORE_OK;
}

#define SEG MIB
/* an item's bytes: its header (14, +4 with an exptime), key, value */
#define ITEM(nkey, nval) (14u + (nkey) + (nval))
#define ITEM_EXP(nkey, nval) (18u + (nkey) + (nval))

/* The one class adds up: its items are the store's, its bytes fit its
 * segments, and the segments fit -m. */
static void assert_consistent(size_t mem)
{
    struct store_stats ss;
    struct store_class_stats cs;
    store_stats(st, &ss);
    ck_assert_uint_eq(store_class_count(st), 1);
    ck_assert(store_class_stats(st, 1, &cs));
    ck_assert_uint_eq(cs.number, ss.curr_items);
    ck_assert_uint_eq(cs.mem_requested, ss.bytes);
    ck_assert_uint_le(cs.mem_requested, cs.total_pages * cs.chunk_size);
    ck_assert_uint_le(cs.total_pages * SEG, mem);
    ck_assert_uint_eq(ss.total_malloced, cs.total_pages * SEG);
    ck_assert_uint_le(ss.total_malloced, ss.limit_maxbytes);
}

START_TEST(eviction_bounds_memory)
{
    size_t mem = 2 * MIB;
    st = make(mem, true);
    ck_assert_ptr_nonnull(st);
    unsigned n = 10 * (unsigned)(mem / 150);
    for (unsigned i = 0; i < n; i++) {
        ck_assert_int_eq(put_n("k", i, 100, 0), STORE_OK);
    }
    struct store_stats ss;
    store_stats(st, &ss);
    ck_assert_uint_gt(ss.evictions, 0);
    ck_assert_uint_eq(ss.curr_items + ss.evictions, n);
    ck_assert_uint_le(ss.curr_items, mem / ITEM(9, 100));
    /* at least every segment but the one being refilled is full */
    ck_assert_uint_ge(ss.curr_items, (mem - SEG) / ITEM(9, 100) - 1);
    ck_assert_uint_eq(ss.evicted_unfetched, ss.evictions);
    for (unsigned i = n - 100; i < n; i++) {
        ck_assert(has_n("k", i));                       /* newest survive */
    }
    ck_assert(!has_n("k", 0));                          /* oldest went */
    assert_consistent(mem);
}
END_TEST

START_TEST(accessed_items_get_a_second_chance)
{
    size_t mem = 2 * MIB;
    st = make(mem, true);
    ck_assert_ptr_nonnull(st);
    ck_assert_int_eq(put_n("hot", 0, 100, 0), STORE_OK);
    for (unsigned i = 0; i < 50000; i++) {
        ck_assert_int_eq(put_n("cold", i, 100, 0), STORE_OK);
        if (i % 1000 == 0) {
            ck_assert_msg(has_n("hot", 0), "hot item evicted by %u", i);
        }
    }
    ck_assert(has_n("hot", 0));
}
END_TEST

/* Even when every item was read since it was stored, eviction goes on: a
 * second chance is given once, and at most half a segment is kept. */
START_TEST(all_accessed_still_evicts)
{
    size_t mem = 2 * MIB;
    st = make(mem, true);
    ck_assert_ptr_nonnull(st);
    unsigned n = 5 * (unsigned)(mem / ITEM(9, 100));
    for (unsigned i = 0; i < n; i++) {
        ck_assert_int_eq(put_n("s", i, 100, 0), STORE_OK);
        for (unsigned j = i > 50 ? i - 50 : 0; j <= i; j += 10) {
            (void)has_n("s", j);                      /* everything gets read */
        }
    }
    struct store_stats ss;
    store_stats(st, &ss);
    ck_assert_uint_gt(ss.evictions, 0);
    ck_assert_uint_gt(ss.evicted_active, 0);
    ck_assert_uint_eq(ss.curr_items + ss.evictions, n);
    ck_assert(has_n("s", n - 1));
    assert_consistent(mem);
}
END_TEST

START_TEST(no_evictions_answers_no_memory)
{
    size_t mem = 2 * MIB;
    st = make(mem, false);
    ck_assert_ptr_nonnull(st);
    unsigned stored = 0;
    enum store_status s = STORE_OK;
    for (unsigned i = 0; i < 100000 && s == STORE_OK; i++) {
        s = put_n("k", i, 100, 0);
        stored += s == STORE_OK;
    }
    ck_assert_int_eq(s, STORE_NO_MEMORY);
    /* with -M every item has the exptime field (touch never needs room) */
    ck_assert_uint_ge(stored, mem / ITEM_EXP(9, 100) - 16);
    struct store_stats ss;
    store_stats(st, &ss);
    ck_assert_uint_eq(ss.evictions, 0);
    ck_assert_uint_eq(ss.curr_items, stored);
    for (unsigned i = 0; i < stored; i++) {
        ck_assert(has_n("k", i));
    }
    /* full, yet every item takes a first exptime in place: none is copied,
     * so none can be evicted for want of room */
    for (unsigned i = 0; i < stored; i++) {
        char tk[32];
        int ntk = snprintf(tk, sizeof tk, "k:%07u", i);
        ck_assert_int_eq(store_touch(st, tk, (size_t)ntk, clock_now() + 1000), STORE_OK);
    }
    store_stats(st, &ss);
    ck_assert_uint_eq(ss.evictions, 0);
    ck_assert_uint_eq(ss.curr_items, stored);
    struct store_class_stats cs;
    ck_assert(store_class_stats(st, 1, &cs));
    ck_assert_uint_ge(cs.outofmemory, 1);
    /* a larger item finds no room either */
    ck_assert_int_eq(put_n("big", 0, 10000, 0), STORE_NO_MEMORY);

    /* room comes back by delete (the segment is compacted), and by flush
     * (reclaimed, not evicted) */
    char key[32];
    int nkey = snprintf(key, sizeof key, "k:%07u", 5u);
    ck_assert_int_eq(store_delete(st, key, (size_t)nkey), STORE_OK);
    ck_assert_int_eq(put_n("n", 0, 100, 0), STORE_OK);
    ck_assert_int_eq(put_n("n", 1, 100, 0), STORE_NO_MEMORY);
    store_flush(st, 0);
    for (unsigned i = 0; i < stored; i++) {
        ck_assert_int_eq(put_n("a", i, 100, 0), STORE_OK);
    }
    store_stats(st, &ss);
    ck_assert_uint_eq(ss.evictions, 0);
    ck_assert_uint_gt(ss.reclaimed, 0);
    assert_consistent(mem);
}
END_TEST

START_TEST(no_evictions_moves_pages_of_dead_items)
{
    size_t mem = 4 * MIB;
    st = make(mem, false);
    ck_assert_ptr_nonnull(st);
    for (unsigned i = 0; put_n("k", i, 100, clock_now() + 10) == STORE_OK; i++) {
    }
    ck_assert_int_eq(put_n("big", 0, 10000, 0), STORE_NO_MEMORY);
    advance(10);                                    /* all small ones expire */
    for (unsigned i = 0; i < 200; i++) {
        ck_assert_int_eq(put_n("big", i, 10000, 0), STORE_OK);
    }
    struct store_stats ss;
    store_stats(st, &ss);
    ck_assert_uint_gt(ss.slabs_moved, 0);
    ck_assert_uint_eq(ss.evictions, 0);
    assert_consistent(mem);
}
END_TEST

/* Memory filled by small items is taken over by large ones: segments are
 * not tied to a size, so the large items end up with nearly all of it. */
START_TEST(memory_moves_between_sizes)
{
    size_t mem = 8 * MIB;
    st = make(mem, true);
    ck_assert_ptr_nonnull(st);
    for (unsigned i = 0; i < 2 * (unsigned)(mem / ITEM(12, 100)); i++) {
        ck_assert_int_eq(put_n("small", i, 100, 0), STORE_OK);
    }
    unsigned nbig = 2 * (unsigned)(mem / ITEM(10, 10240));
    for (unsigned i = 0; i < nbig; i++) {
        ck_assert_int_eq(put_n("big", i, 10240, 0), STORE_OK);
    }
    struct store_stats ss;
    store_stats(st, &ss);
    ck_assert_uint_ge(ss.bytes, (mem - 2 * SEG) / ITEM(10, 10240) * ITEM(10, 10240));
    unsigned held = 0;
    for (unsigned i = 0; i < nbig; i++) {
        held += has_n("big", i);
    }
    ck_assert_uint_ge(held, (mem - 2 * SEG) / ITEM(10, 10240));
    assert_consistent(mem);
}
END_TEST

/* Segcache's promise: items with a short TTL share segments, and once they
 * have expired those segments are freed whole without a read, before any
 * long-lived item is evicted. */
START_TEST(expired_segments_come_back_without_reads)
{
    size_t mem = 8 * MIB;
    st = make(mem, true);
    ck_assert_ptr_nonnull(st);
    unsigned nshort = (unsigned)(mem / 2 / ITEM_EXP(9, 100));
    for (unsigned i = 0; i < nshort; i++) {
        ck_assert_int_eq(put_n("t", i, 100, clock_now() + 2), STORE_OK);
    }
    advance(3);
    unsigned nlong = (unsigned)((mem - SEG) / ITEM(9, 100));   /* needs the short ones' room */
    for (unsigned i = 0; i < nlong; i++) {
        ck_assert_int_eq(put_n("l", i, 100, 0), STORE_OK);
    }
    struct store_stats ss;
    store_stats(st, &ss);
    ck_assert_uint_eq(ss.evictions, 0);
    ck_assert_uint_gt(ss.reclaimed, 0);
    for (unsigned i = 0; i < nlong; i++) {
        ck_assert(has_n("l", i));
    }
    assert_consistent(mem);
}
END_TEST

START_TEST(freed_pages_return_to_the_pool)
{
    size_t mem = 4 * MIB;
    st = make(mem, true);
    ck_assert_ptr_nonnull(st);
    unsigned n = (unsigned)((mem - SEG) / ITEM(9, 100));
    for (unsigned i = 0; i < n; i++) {
        ck_assert_int_eq(put_n("s", i, 100, 0), STORE_OK);
    }
    struct store_stats ss;
    store_stats(st, &ss);
    ck_assert_uint_eq(ss.evictions, 0);
    ck_assert_uint_ge(ss.total_malloced, mem - SEG);
    for (unsigned i = 0; i < n; i++) {
        char key[32];
        int nkey = snprintf(key, sizeof key, "s:%07u", i);
        ck_assert_int_eq(store_delete(st, key, (size_t)nkey), STORE_OK);
    }
    store_stats(st, &ss);
    ck_assert_uint_eq(ss.bytes, 0);
    ck_assert_uint_eq(ss.curr_items, 0);
    /* large items get the whole region back without evicting anything: the
     * dead segments are freed by the sweep or compacted */
    for (unsigned i = 0; i < 300; i++) {
        ck_assert_int_eq(put_n("b", i, 10240, 0), STORE_OK);
    }
    store_stats(st, &ss);
    ck_assert_uint_eq(ss.evictions, 0);
    assert_consistent(mem);
}
END_TEST

START_TEST(page_sized_items)
{
    size_t mem = 3 * MIB;
    st = make(mem, true);
    ck_assert_ptr_nonnull(st);
    size_t max = MIB - 48 - 8 - 5 - 1 - 2;
    static char big[MIB];
    memset(big, 'x', sizeof big);
    for (unsigned i = 0; i < 10; i++) {
        char key[16];
        snprintf(key, sizeof key, "p:%u", i);
        enum store_status s;
        struct item *it = store_item_alloc(st, key, 3, 0, 0, (uint32_t)max, &s);
        ck_assert_ptr_nonnull(it);
        memcpy(store_item_data(it), big, max);
        ck_assert_int_eq(store_item_link(st, &it, STORE_SET, 0, NULL), STORE_OK);
    }
    struct store_stats ss;
    store_stats(st, &ss);
    ck_assert_uint_eq(ss.curr_items, 3);
    ck_assert_uint_eq(ss.evictions, 7);
    assert_consistent(mem);
}
END_TEST

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages_total = 0, pages_res = 0;
    if (f == NULL) {
        return -1;
    }
    if (fscanf(f, "%ld %ld", &pages_total, &pages_res) != 2) {
        pages_res = -1;
    }
    fclose(f);
    return pages_res * 4;
}

/* The RSS promise, as the integration test states it: 10x -m of 100-byte
 * values, then 10x -m of 10 KiB values. (Sanitizer builds keep shadow memory
 * of their own, so the bound is only checked without them.) */
START_TEST(rss_stays_bounded)
{
#ifdef UNDER_ASAN
    size_t mem = 2 * MIB;       /* the bound is not checked: keep it short */
#else
    size_t mem = 8 * MIB;
#endif
    long before = rss_kib();
    st = make(mem, true);
    ck_assert_ptr_nonnull(st);
    for (unsigned i = 0; i < 10 * (mem / 150); i++) {
        ck_assert_int_eq(put_n("s", i, 100, 0), STORE_OK);
    }
    for (unsigned i = 0; i < 10 * (mem / 10240); i++) {
        ck_assert_int_eq(put_n("b", i, 10240, 0), STORE_OK);
        if (i % 200 == 0) {
            advance(1);
        }
    }
    long grown = rss_kib() - before;
    assert_consistent(mem);
#ifndef UNDER_ASAN
    ck_assert_int_le(grown, (long)(mem * 11 / 10 / 1024) + 16 * 1024);
#endif
    (void)grown;
}
END_TEST


/* A value still arriving pins no segment once detached: with one half-sent
 * value in each segment (fill between them), more than there are segments,
 * stores still find room; the detached ones then complete, keep their flags,
 * exptime and the bytes sent before, and answer cas, append and add as any
 * item; an abandoned one leaves nothing behind. */
#define PINS 12u
struct got {
    char data[512];
    uint32_t ndata, flags;
};

static void copy_view(void *ctx, const struct item_view *v)
{
    struct got *g = ctx;
    ck_assert_uint_le(v->ndata, sizeof g->data);
    memcpy(g->data, v->data, v->ndata);
    g->ndata = v->ndata;
    g->flags = v->flags;
}

START_TEST(half_sent_values_pin_no_segment)
{
    size_t mem = 8 * MIB;                 /* 8 segments */
    st = make(mem, true);
    ck_assert_ptr_nonnull(st);
    struct item *pin[PINS];
    char *data[PINS];
    unsigned fill = 0;
    for (unsigned p = 0; p < PINS; p++) {
        char key[32];
        int nkey = snprintf(key, sizeof key, "pin:%u", p);
        enum store_status s = STORE_OK;
        pin[p] = store_item_alloc(st, key, (size_t)nkey, 7 + p,
                                  p == 4 ? clock_now() + 1000 : 0, 200, &s);
        ck_assert_ptr_nonnull(pin[p]);
        memset(store_item_data(pin[p]), 'a' + (int)p, 100);   /* half the value */
        data[p] = store_item_detach(st, &pin[p], 100);
        ck_assert_ptr_nonnull(data[p]);
        for (unsigned j = 0; j < 20; j++, fill++) {          /* past the segment's end */
            ck_assert_int_eq(put_n("fill", fill, 60 * 1024, 0), STORE_OK);
        }
    }
    for (unsigned i = 0; i < 200; i++) {                      /* a bystander */
        ck_assert_int_eq(put_n("by", i, 10 * 1024, 0), STORE_OK);
        ck_assert(has_n("by", i));
    }
    struct store_stats ss;
    store_stats(st, &ss);
    ck_assert_uint_eq(ss.pending_items, PINS);
    ck_assert_uint_eq(ss.detached_items, PINS);
    for (unsigned p = 0; p < PINS; p++) {
        ck_assert_int_eq(data[p][99], 'a' + (int)p);          /* kept what came */
        memset(data[p] + 100, 'A' + (int)p, 100);
    }
    uint64_t cas = 0;
    ck_assert_int_eq(store_item_link(st, &pin[0], STORE_SET, 0, &cas), STORE_OK);
    ck_assert_ptr_null(pin[0]);
    ck_assert_int_eq(store_item_link(st, &pin[1], STORE_ADD, 0, NULL), STORE_OK);
    ck_assert_int_eq(store_item_link(st, &pin[2], STORE_CAS, cas + 100, NULL), STORE_NOT_FOUND);
    store_item_free(st, &pin[3]);
    ck_assert_ptr_null(pin[3]);
    for (unsigned p = 4; p < PINS; p++) {
        ck_assert_int_eq(store_item_link(st, &pin[p], STORE_SET, 0, NULL), STORE_OK);
    }
    struct got got = { 0 };
    char buf[400];
    for (unsigned p = 0; p < PINS; p++) {
        char key[32];
        int nkey = snprintf(key, sizeof key, "pin:%u", p);
        enum store_status s = store_get(st, key, (size_t)nkey, false, 0, copy_view, &got);
        if (p == 2 || p == 3) {
            ck_assert_int_eq(s, STORE_NOT_FOUND);
            continue;
        }
        ck_assert_int_eq(s, STORE_OK);
        ck_assert_uint_eq(got.flags, 7 + p);
        ck_assert_uint_eq(got.ndata, 200);
        memset(buf, 'a' + (int)p, 100);
        memset(buf + 100, 'A' + (int)p, 100);
        ck_assert_mem_eq(got.data, buf, 200);
    }
    /* cas, append and add take a detached item as they take any */
    enum store_status s = STORE_OK;
    struct item *it = store_item_alloc(st, "pin:0", 5, 1, 0, 3, &s);
    ck_assert_ptr_nonnull(it);
    char *d = store_item_detach(st, &it, 0);
    memcpy(d, "xyz", 3);
    ck_assert_int_eq(store_item_link(st, &it, STORE_CAS, cas, NULL), STORE_OK);
    it = store_item_alloc(st, "pin:0", 5, 9, 0, 2, &s);
    d = store_item_detach(st, &it, 1);
    d[0] = '!';
    d = store_item_detach(st, &it, 1);                        /* again: stays */
    d[1] = '?';
    ck_assert_int_eq(store_item_link(st, &it, STORE_APPEND, 0, NULL), STORE_OK);
    ck_assert_int_eq(store_get(st, "pin:0", 5, false, 0, copy_view, &got), STORE_OK);
    ck_assert_uint_eq(got.flags, 1);
    ck_assert_uint_eq(got.ndata, 5);
    ck_assert_mem_eq(got.data, "xyz!?", 5);
    it = store_item_alloc(st, "pin:0", 5, 0, 0, 1, &s);
    store_item_detach(st, &it, 0);
    ck_assert_int_eq(store_item_link(st, &it, STORE_ADD, 0, NULL), STORE_NOT_STORED);
    store_stats(st, &ss);
    ck_assert_uint_eq(ss.pending_items, 0);
    ck_assert_uint_eq(ss.detached_items, 0);
    ck_assert_uint_eq(ss.detached_bytes, 0);
    advance(1001);                                            /* exptimes kept */
    ck_assert_int_eq(store_get(st, "pin:4", 5, false, 0, copy_view, &got), STORE_NOT_FOUND);
    ck_assert_int_eq(store_get(st, "pin:5", 5, false, 0, copy_view, &got), STORE_OK);
    assert_consistent(mem);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("store_mem");
    TCase *tc = tcase_create("memory");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, eviction_bounds_memory);
    tcase_add_test(tc, accessed_items_get_a_second_chance);
    tcase_add_test(tc, all_accessed_still_evicts);
    tcase_add_test(tc, no_evictions_answers_no_memory);
    tcase_add_test(tc, no_evictions_moves_pages_of_dead_items);
    tcase_add_test(tc, memory_moves_between_sizes);
    tcase_add_test(tc, expired_segments_come_back_without_reads);
    tcase_add_test(tc, freed_pages_return_to_the_pool);
    tcase_add_test(tc, page_sized_items);
    tcase_add_test(tc, rss_stays_bounded);
    tcase_add_test(tc, half_sent_values_pin_no_segment);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
