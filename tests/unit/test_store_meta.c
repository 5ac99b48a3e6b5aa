/* test_store_meta.c: the store's side of the meta commands (store.h's
 * store_meta_*, STORE_CAS_STALE, cas on append) and the item state they
 * read: the fetched, stale and win bits, the exptime a callback writes back,
 * and the last-access time a read moves at most once a minute, as memcached
 * does. Time is driven with clock_init/clock_tick. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "store/store.h"

#define T0 1700000000
#define S(lit) (lit), (sizeof(lit) - 1)

static struct store *st;
static int64_t t_now;

static void setup(void)
{
    t_now = T0;
    clock_init(t_now);
    struct store_config c = {
        .mem_limit = 8u << 20, .item_size_max = 1u << 20, .growth_factor = 1.25,
        .chunk_min = 48, .evictions = true, .use_cas = true,
    };
    st = store_create(&c);
    ck_assert_ptr_nonnull(st);
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

static enum store_status put(const char *key, const char *val, rel_time_t exptime,
                             enum store_mode mode, uint64_t cas_in, uint64_t *cas_out)
{
    enum store_status s;
    struct item *it = store_item_alloc(st, key, strlen(key), 0, exptime, (uint32_t)strlen(val), &s);
    if (it == NULL) {
        return s;
    }
    memcpy(store_item_data(it), val, strlen(val));
    return store_item_link(st, &it, mode, cas_in, cas_out);
}

/* What a callback saw, and what it does: set exptime (0: leave), win, bump. */
struct probe {
    struct meta_view seen;
    char data[64];
    int calls;
    rel_time_t set_exptime;
    bool win, no_bump;
};

static void probe_fn(void *ctx, struct meta_view *v)
{
    struct probe *p = ctx;
    p->seen = *v;
    memcpy(p->data, v->item.data, v->item.ndata < sizeof(p->data) ? v->item.ndata : sizeof(p->data));
    p->calls++;
    if (p->set_exptime != 0) {
        v->exptime = p->set_exptime;
    }
    v->won = p->win;
    v->bump = v->bump && !p->no_bump;
}

static struct probe look(const char *key, bool bump)
{
    struct probe p = { 0 };
    store_meta_get(st, key, strlen(key), bump, false, probe_fn, &p);
    return p;
}

START_TEST(meta_get_reads_before_it_bumps)
{
    ck_assert_int_eq(put("k", "v", 0, STORE_SET, 0, NULL), STORE_OK);
    struct probe p = look("k", true);
    ck_assert_int_eq(p.calls, 1);
    ck_assert(!p.seen.fetched && !p.seen.created && !p.seen.stale && !p.seen.win_sent);
    ck_assert_uint_eq(p.seen.item.cas, 1);
    ck_assert(look("k", false).seen.fetched);
    /* u: a look that is not a fetch */
    ck_assert_int_eq(put("u", "v", 0, STORE_SET, 0, NULL), STORE_OK);
    look("u", false);
    ck_assert(!look("u", false).seen.fetched);
    ck_assert_int_eq(store_meta_get(st, S("none"), true, false, probe_fn, &p), STORE_NOT_FOUND);
    ck_assert_int_eq(p.calls, 1);
}
END_TEST

START_TEST(last_access_moves_once_a_minute)
{
    ck_assert_int_eq(put("k", "v", 0, STORE_SET, 0, NULL), STORE_OK);
    rel_time_t stored = look("k", false).seen.atime;
    advance(30);
    look("k", true);
    ck_assert_uint_eq(look("k", false).seen.atime, stored);
    advance(31);
    look("k", true);                        /* 61 s: moves */
    ck_assert_uint_eq(look("k", false).seen.atime, clock_now());
    /* incr and an add that finds the item count as accesses, not fetches */
    ck_assert_int_eq(put("n", "1", 0, STORE_SET, 0, NULL), STORE_OK);
    advance(61);
    uint64_t v;
    ck_assert_int_eq(store_delta(st, S("n"), true, 1, &v), STORE_OK);
    struct probe p = look("n", false);
    ck_assert_uint_eq(p.seen.atime, clock_now());
    ck_assert(!p.seen.fetched);
    advance(61);
    ck_assert_int_eq(put("n", "x", 0, STORE_ADD, 0, NULL), STORE_NOT_STORED);
    ck_assert_uint_eq(look("n", false).seen.atime, clock_now());
}
END_TEST

START_TEST(exptime_and_win_are_written_back)
{
    ck_assert_int_eq(put("k", "v", 0, STORE_SET, 0, NULL), STORE_OK);
    struct probe p = { .set_exptime = clock_now() + 5, .win = true };
    store_meta_get(st, S("k"), true, false, probe_fn, &p);
    p = look("k", false);
    ck_assert_uint_eq(p.seen.exptime, clock_now() + 5);
    ck_assert(p.seen.win_sent);
    advance(6);
    ck_assert_int_eq(look("k", false).calls, 0);
}
END_TEST

START_TEST(vivify_links_an_empty_item)
{
    struct probe p = { .win = true };
    ck_assert_int_eq(store_meta_get(st, S("v"), true, true, probe_fn, &p), STORE_OK);
    ck_assert(p.seen.created);
    ck_assert_uint_eq(p.seen.item.ndata, 0);
    ck_assert_uint_eq(p.seen.exptime, 0);
    ck_assert_uint_eq(p.seen.item.cas, 1);
    p = look("v", false);
    ck_assert(!p.seen.created && p.seen.win_sent && p.seen.fetched);
    /* a hit does not vivify again */
    struct probe q = { 0 };
    ck_assert_int_eq(store_meta_get(st, S("v"), true, true, probe_fn, &q), STORE_OK);
    ck_assert(!q.seen.created);
    ck_assert_uint_eq(store_cas_peek(st), 1);
}
END_TEST

START_TEST(meta_delete_marks_stale)
{
    struct meta_delete_req del = { .has_cas = true, .cas_in = 9 };
    ck_assert_int_eq(store_meta_delete(st, S("k"), &del), STORE_NOT_FOUND);
    ck_assert_int_eq(put("k", "v", 0, STORE_SET, 0, NULL), STORE_OK);
    ck_assert_int_eq(store_meta_delete(st, S("k"), &del), STORE_EXISTS);
    struct probe w = { .win = true };
    store_meta_get(st, S("k"), true, false, probe_fn, &w);
    del = (struct meta_delete_req){ .stale = true, .set_exptime = true, .exptime = clock_now() + 30 };
    ck_assert_int_eq(store_meta_delete(st, S("k"), &del), STORE_OK);
    struct probe p = look("k", false);
    ck_assert(p.seen.stale && !p.seen.win_sent);
    ck_assert_uint_eq(p.seen.item.cas, 2);
    ck_assert_uint_eq(p.seen.exptime, clock_now() + 30);
    del = (struct meta_delete_req){ .has_cas = true, .cas_in = 2 };
    ck_assert_int_eq(store_meta_delete(st, S("k"), &del), STORE_OK);
    ck_assert_int_eq(look("k", false).calls, 0);
}
END_TEST

START_TEST(cas_stale_stores_older_values_stale)
{
    uint64_t cas = 0;
    ck_assert_int_eq(put("k", "a", 0, STORE_CAS_STALE, 1, NULL), STORE_NOT_FOUND);
    ck_assert_int_eq(put("k", "a", clock_now() + 100, STORE_SET, 0, NULL), STORE_OK);
    ck_assert_int_eq(put("k", "b", 0, STORE_SET, 0, NULL), STORE_OK);     /* cas 2, no TTL */
    ck_assert_int_eq(store_meta_get(st, S("k"), false, false, probe_fn,
                                    &(struct probe){ .win = true }), STORE_OK);
    ck_assert_int_eq(put("k", "c", 0, STORE_CAS_STALE, 0, NULL), STORE_EXISTS);  /* C0 */
    ck_assert_int_eq(put("k", "c", 0, STORE_CAS_STALE, 99, NULL), STORE_EXISTS);
    ck_assert_int_eq(put("k", "c", clock_now() + 7, STORE_CAS_STALE, 1, &cas), STORE_OK);
    ck_assert_uint_eq(cas, 3);
    struct probe p = look("k", false);
    ck_assert(p.seen.stale && p.seen.win_sent);         /* the W sent still stands */
    ck_assert_uint_eq(p.seen.exptime, 0);               /* the old item's TTL */
    ck_assert_int_eq(memcmp(p.data, "c", 1), 0);
    /* the current cas stores normally: no longer stale */
    ck_assert_int_eq(put("k", "d", 0, STORE_CAS_STALE, 3, NULL), STORE_OK);
    p = look("k", false);
    ck_assert(!p.seen.stale && !p.seen.win_sent);
    /* ... and under its own TTL, not the old item's (which had one; the new
     * item was made without an exptime field) */
    uint64_t cur = 0;
    ck_assert_int_eq(put("k", "e", clock_now() + 30, STORE_SET, 0, &cur), STORE_OK);
    ck_assert_int_eq(put("k", "f", 0, STORE_CAS_STALE, cur, NULL), STORE_OK);
    p = look("k", false);
    ck_assert(!p.seen.stale);
    ck_assert_uint_eq(p.seen.exptime, 0);
}
END_TEST

START_TEST(append_compares_a_cas)
{
    uint64_t cas = 0;
    ck_assert_int_eq(put("k", "a", 0, STORE_SET, 0, &cas), STORE_OK);
    ck_assert_int_eq(put("k", "b", 0, STORE_APPEND, cas + 1, NULL), STORE_EXISTS);
    ck_assert_int_eq(put("k", "b", 0, STORE_PREPEND, cas, &cas), STORE_OK);
    ck_assert_int_eq(put("k", "c", 0, STORE_APPEND, 0, NULL), STORE_OK);
    ck_assert_int_eq(memcmp(look("k", false).data, "bac", 3), 0);
    ck_assert_int_eq(put("none", "c", 0, STORE_APPEND, 5, NULL), STORE_NOT_STORED);
}
END_TEST

START_TEST(key_binary_is_kept)
{
    enum store_status s;
    struct item *it = store_item_alloc(st, S("a b"), 0, 0, 1, &s);
    store_item_set_key_binary(it);
    size_t n;
    ck_assert_int_eq(memcmp(store_item_key(it, &n), "a b", 3), 0);
    ck_assert_uint_eq(n, 3);
    store_item_data(it)[0] = 'x';
    ck_assert_int_eq(store_item_link(st, &it, STORE_SET, 0, NULL), STORE_OK);
    ck_assert(look("a b", false).seen.key_binary);
    /* an append makes a new item: the mark is not carried (memcached) */
    ck_assert_int_eq(put("a b", "y", 0, STORE_APPEND, 0, NULL), STORE_OK);
    ck_assert(!look("a b", false).seen.key_binary);
}
END_TEST

static void number_fn(void *ctx, struct meta_view *v)
{
    struct probe *p = ctx;
    p->seen = *v;
    p->calls++;
    v->exptime = p->set_exptime;
}

START_TEST(meta_delta_as_memcached)
{
    struct meta_delta_req r = { .incr = true, .delta = 1 };
    struct probe p = { 0 };
    ck_assert_int_eq(store_meta_delta(st, S("n"), &r, number_fn, &p), STORE_NOT_FOUND);
    r.vivify = true;
    r.initial = 10;
    p.set_exptime = clock_now() + 50;
    ck_assert_int_eq(store_meta_delta(st, S("n"), &r, number_fn, &p), STORE_OK);
    ck_assert(p.seen.created);
    ck_assert_uint_eq(p.seen.number, 10);
    ck_assert_uint_eq(look("n", false).seen.exptime, clock_now() + 50);
    /* in place: a new exptime sticks */
    p.set_exptime = clock_now() + 60;
    ck_assert_int_eq(store_meta_delta(st, S("n"), &r, number_fn, &p), STORE_OK);
    ck_assert(!p.seen.created);
    ck_assert_uint_eq(p.seen.number, 11);
    ck_assert_uint_eq(look("n", false).seen.exptime, clock_now() + 60);
    /* wider: a new item, and (memcached) the new exptime is lost */
    r.delta = 100;
    p.set_exptime = clock_now() + 70;
    ck_assert_int_eq(store_meta_delta(st, S("n"), &r, number_fn, &p), STORE_OK);
    ck_assert_uint_eq(p.seen.number, 111);
    ck_assert_uint_eq(p.seen.exptime, clock_now() + 60);
    ck_assert_uint_eq(look("n", false).seen.exptime, clock_now() + 60);
    /* cas: checked after the empty value, before the number */
    r = (struct meta_delta_req){ .incr = false, .delta = 1, .cas_in = 99 };
    ck_assert_int_eq(store_meta_delta(st, S("n"), &r, number_fn, &p), STORE_EXISTS);
    ck_assert_int_eq(put("e", "", 0, STORE_SET, 0, NULL), STORE_OK);
    ck_assert_int_eq(store_meta_delta(st, S("e"), &r, number_fn, &p), STORE_NON_NUMERIC);
    ck_assert_int_eq(put("x", "x", 0, STORE_SET, 0, NULL), STORE_OK);
    ck_assert_int_eq(store_meta_delta(st, S("x"), &r, number_fn, &p), STORE_EXISTS);
    r.cas_in = 0;
    ck_assert_int_eq(store_meta_delta(st, S("x"), &r, number_fn, &p), STORE_NON_NUMERIC);
}
END_TEST

/* "7" and spaces: a number to memcached unless its item is chunked. */
static enum store_status put_number(struct store *to, const char *key, uint32_t flags,
                                    uint32_t n)
{
    enum store_status s;
    struct item *it = store_item_alloc(to, key, strlen(key), flags, 0, n, &s);
    if (it == NULL) {
        return s;
    }
    memset(store_item_data(it), ' ', n);
    store_item_data(it)[0] = '7';
    return store_item_link(to, &it, STORE_SET, 0, NULL);
}

/* memcached chunks an item over slab_chunk_max (48 + 8 of cas + key + 1 + 4
 * of flags when not 0 + value + 2 bytes over 512 KiB) and refuses to count
 * with it, before the cas check. Boundaries measured on 1.6.18: key "k"
 * flags 0: 524,228; flags 5: 524,224; with -C: 524,236. */
START_TEST(chunked_items_are_not_numbers)
{
    uint64_t v = 0;
    ck_assert_int_eq(put_number(st, "k", 0, 524228), STORE_OK);
    ck_assert_int_eq(store_delta(st, S("k"), true, 1, &v), STORE_OK);
    ck_assert_uint_eq(v, 8);
    ck_assert_int_eq(put_number(st, "k", 0, 524229), STORE_OK);
    ck_assert_int_eq(store_delta(st, S("k"), true, 1, &v), STORE_NON_NUMERIC);
    ck_assert_int_eq(store_delta(st, S("k"), false, 1, &v), STORE_NON_NUMERIC);
    struct meta_delta_req r = { .incr = true, .delta = 1, .cas_in = 999 };
    struct probe p = { 0 };
    ck_assert_int_eq(store_meta_delta(st, S("k"), &r, number_fn, &p), STORE_NON_NUMERIC);
    ck_assert_int_eq(p.calls, 0);
    ck_assert_int_eq(put_number(st, "k", 5, 524224), STORE_OK);
    ck_assert_int_eq(store_delta(st, S("k"), true, 1, &v), STORE_OK);
    ck_assert_int_eq(put_number(st, "k", 5, 524225), STORE_OK);
    ck_assert_int_eq(store_delta(st, S("k"), true, 1, &v), STORE_NON_NUMERIC);
}
END_TEST

/* -C drops the 8 bytes of cas; -o slab_chunk_max moves the line. */
START_TEST(chunk_max_follows_the_config)
{
    struct store_config c = {
        .mem_limit = 8u << 20, .item_size_max = 1u << 20, .growth_factor = 1.25,
        .chunk_min = 48, .evictions = true, .use_cas = false,
    };
    struct store *nocas = store_create(&c);
    c.chunk_max = 262144;
    c.use_cas = true;
    struct store *quarter = store_create(&c);
    ck_assert_ptr_nonnull(nocas);
    ck_assert_ptr_nonnull(quarter);
    uint64_t v;
    ck_assert_int_eq(put_number(nocas, "k", 0, 524236), STORE_OK);
    ck_assert_int_eq(store_delta(nocas, S("k"), true, 1, &v), STORE_OK);
    ck_assert_int_eq(put_number(nocas, "k", 0, 524237), STORE_OK);
    ck_assert_int_eq(store_delta(nocas, S("k"), true, 1, &v), STORE_NON_NUMERIC);
    ck_assert_int_eq(put_number(quarter, "k", 0, 262084), STORE_OK);
    ck_assert_int_eq(store_delta(quarter, S("k"), true, 1, &v), STORE_OK);
    ck_assert_int_eq(put_number(quarter, "k", 0, 262085), STORE_OK);
    ck_assert_int_eq(store_delta(quarter, S("k"), true, 1, &v), STORE_NON_NUMERIC);
    store_destroy(&nocas);
    store_destroy(&quarter);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("store_meta");
    TCase *tc = tcase_create("meta");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, meta_get_reads_before_it_bumps);
    tcase_add_test(tc, last_access_moves_once_a_minute);
    tcase_add_test(tc, exptime_and_win_are_written_back);
    tcase_add_test(tc, vivify_links_an_empty_item);
    tcase_add_test(tc, meta_delete_marks_stale);
    tcase_add_test(tc, cas_stale_stores_older_values_stale);
    tcase_add_test(tc, append_compares_a_cas);
    tcase_add_test(tc, key_binary_is_kept);
    tcase_add_test(tc, meta_delta_as_memcached);
    tcase_add_test(tc, chunked_items_are_not_numbers);
    tcase_add_test(tc, chunk_max_follows_the_config);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
