/* test_store.c: the store's command semantics (store.h) as memcached answers
 * them: storage modes, cas, delete, touch, expiry, flush_all, incr/decr and
 * the too-large limit. Memory pressure is in test_store_mem.c, threads in
 * test_store_mt.c. Time is driven with clock_init/clock_tick. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "store/store.h"

#define T0 1700000000
#define S(lit) (lit), (sizeof(lit) - 1)

static struct store *st;
static int64_t t_now;

struct got {
    char data[2048];
    uint32_t ndata, flags;
    uint64_t cas;
    unsigned clsid;
};

static void copy_view(void *ctx, const struct item_view *v)
{
    struct got *g = ctx;
    ck_assert_uint_le(v->ndata, sizeof g->data);
    memcpy(g->data, v->data, v->ndata);
    g->ndata = v->ndata;
    g->flags = v->flags;
    g->cas = v->cas;
    g->clsid = v->clsid;
}

static struct store_config config(void)
{
    struct store_config c = {
        .mem_limit = 8u << 20, .item_size_max = 1u << 20, .growth_factor = 1.25,
        .chunk_min = 48, .evictions = true, .use_cas = true, .hash_power = 0,
    };
    return c;
}

static void setup(void)
{
    t_now = T0;
    clock_init(t_now);
    struct store_config c = config();
    st = store_create(&c);
    ck_assert_ptr_nonnull(st);
}

static void teardown(void)
{
    store_destroy(&st);
    ck_assert_ptr_null(st);
}

static void advance(int64_t secs)
{
    t_now += secs;
    clock_tick(t_now);
}

static enum store_status put(const char *key, const char *val, size_t nval, uint32_t flags,
                             rel_time_t exptime, enum store_mode mode, uint64_t cas_in,
                             uint64_t *cas_out)
{
    enum store_status s = STORE_OK;
    struct item *it = store_item_alloc(st, key, strlen(key), flags, exptime,
                                       (uint32_t)nval, &s);
    if (it == NULL) {
        return s;
    }
    memcpy(store_item_data(it), val, nval);
    s = store_item_link(st, &it, mode, cas_in, cas_out);
    ck_assert_ptr_null(it);
    return s;
}

static enum store_status set(const char *key, const char *val)
{
    return put(key, val, strlen(val), 0, 0, STORE_SET, 0, NULL);
}

static bool get(const char *key, struct got *g)
{
    memset(g, 0, sizeof *g);
    return store_get(st, key, strlen(key), false, 0, copy_view, g) == STORE_OK;
}

static void assert_value(const char *key, const char *want)
{
    struct got g;
    ck_assert_msg(get(key, &g), "%s missing", key);
    ck_assert_uint_eq(g.ndata, strlen(want));
    ck_assert(memcmp(g.data, want, g.ndata) == 0);
}

static void assert_missing(const char *key)
{
    struct got g;
    ck_assert_msg(!get(key, &g), "%s present", key);
}

/* ---- storage commands ---------------------------------------------------- */

START_TEST(set_get_round_trip)
{
    struct got g;
    uint64_t cas = 0;
    ck_assert_int_eq(put("foo", S("bar"), 42, 0, STORE_SET, 0, &cas), STORE_OK);
    ck_assert(get("foo", &g));
    ck_assert_uint_eq(g.ndata, 3);
    ck_assert(memcmp(g.data, "bar", 3) == 0);
    ck_assert_uint_eq(g.flags, 42);
    ck_assert_uint_eq(g.cas, cas);
    ck_assert_uint_ne(cas, 0);
    ck_assert_uint_eq(store_cas_peek(st), cas);
    ck_assert_uint_ne(g.clsid, 0);
    assert_missing("fo");
    assert_missing("fooo");

    /* binary values, the empty value, overwrite */
    ck_assert_int_eq(put("bin", S("a\0b\r\nc"), 0, 0, STORE_SET, 0, NULL), STORE_OK);
    ck_assert(get("bin", &g) && g.ndata == 6 && memcmp(g.data, "a\0b\r\nc", 6) == 0);
    ck_assert_int_eq(set("empty", ""), STORE_OK);
    assert_value("empty", "");
    ck_assert_int_eq(set("foo", "baz"), STORE_OK);
    assert_value("foo", "baz");

    struct store_stats ss;
    store_stats(st, &ss);
    ck_assert_uint_eq(ss.curr_items, 3);
    ck_assert_uint_eq(ss.total_items, 4);
    /* 14-byte headers (no exptime, values under 64 KiB), flags only when
     * not 0 (foo's are 0 now) */
    ck_assert_uint_eq(ss.bytes, (14 + 3 + 3) + (14 + 3 + 6) + (14 + 5));
}
END_TEST

START_TEST(keys_bounded)
{
    char key[252];
    memset(key, 'k', sizeof key);
    key[250] = '\0';
    ck_assert_int_eq(set(key, "v"), STORE_OK);
    assert_value(key, "v");
    key[250] = 'k';
    key[251] = '\0';
    enum store_status s = STORE_OK;
    ck_assert_ptr_null(store_item_alloc(st, key, 251, 0, 0, 1, &s));
    ck_assert_int_eq(s, STORE_TOO_LARGE);
    ck_assert_int_eq(store_get(st, key, 251, false, 0, copy_view, NULL), STORE_NOT_FOUND);
    ck_assert_int_eq(store_get(st, key, 0, false, 0, copy_view, NULL), STORE_NOT_FOUND);
}
END_TEST

START_TEST(add_and_replace)
{
    ck_assert_int_eq(put("k", S("1"), 0, 0, STORE_REPLACE, 0, NULL), STORE_NOT_STORED);
    assert_missing("k");
    ck_assert_int_eq(put("k", S("1"), 0, 0, STORE_ADD, 0, NULL), STORE_OK);
    ck_assert_int_eq(put("k", S("2"), 0, 0, STORE_ADD, 0, NULL), STORE_NOT_STORED);
    assert_value("k", "1");
    ck_assert_int_eq(put("k", S("3"), 7, 0, STORE_REPLACE, 0, NULL), STORE_OK);
    struct got g;
    ck_assert(get("k", &g) && g.flags == 7);
    assert_value("k", "3");

    /* an expired item is no item: add succeeds, replace does not */
    ck_assert_int_eq(put("e", S("old"), 0, clock_now() + 1, STORE_SET, 0, NULL), STORE_OK);
    advance(1);
    ck_assert_int_eq(put("e", S("r"), 0, 0, STORE_REPLACE, 0, NULL), STORE_NOT_STORED);
    ck_assert_int_eq(put("e", S("new"), 0, 0, STORE_ADD, 0, NULL), STORE_OK);
    assert_value("e", "new");
}
END_TEST

START_TEST(append_and_prepend)
{
    ck_assert_int_eq(put("a", S("x"), 0, 0, STORE_APPEND, 0, NULL), STORE_NOT_STORED);
    ck_assert_int_eq(put("a", S("x"), 0, 0, STORE_PREPEND, 0, NULL), STORE_NOT_STORED);
    assert_missing("a");

    rel_time_t exp = clock_now() + 100;
    ck_assert_int_eq(put("a", S("mid"), 5, exp, STORE_SET, 0, NULL), STORE_OK);
    uint64_t cas = 0;
    ck_assert_int_eq(put("a", S("_end"), 9, 0, STORE_APPEND, 0, &cas), STORE_OK);
    ck_assert_int_eq(put("a", S("start_"), 9, 0, STORE_PREPEND, 0, NULL), STORE_OK);
    struct got g;
    ck_assert(get("a", &g));
    ck_assert_uint_eq(g.ndata, 13);
    ck_assert(memcmp(g.data, "start_mid_end", 13) == 0);
    ck_assert_uint_eq(g.flags, 5);              /* old flags kept */
    ck_assert_uint_gt(g.cas, cas);
    advance(100);                                /* old exptime kept */
    assert_missing("a");
}
END_TEST

START_TEST(append_too_large_is_not_stored)
{
    size_t max = (1u << 20) - 48 - 8 - 1 - 1 - 2;   /* key "b" */
    char *big = malloc(max);
    ck_assert_ptr_nonnull(big);
    memset(big, 'v', max);
    ck_assert_int_eq(put("b", big, max - 1, 0, 0, STORE_SET, 0, NULL), STORE_OK);
    ck_assert_int_eq(put("b", S("1"), 0, 0, STORE_APPEND, 0, NULL), STORE_OK);
    ck_assert_int_eq(put("b", S("2"), 0, 0, STORE_APPEND, 0, NULL), STORE_NOT_STORED);
    struct store_stats ss;
    store_stats(st, &ss);
    ck_assert_uint_eq(ss.curr_items, 1);
    free(big);
}
END_TEST

START_TEST(cas_semantics)
{
    uint64_t cas = 0, cas2 = 0;
    ck_assert_int_eq(put("c", S("1"), 0, 0, STORE_CAS, 1, NULL), STORE_NOT_FOUND);
    ck_assert_int_eq(put("c", S("1"), 0, 0, STORE_SET, 0, &cas), STORE_OK);
    ck_assert_int_eq(put("c", S("2"), 0, 0, STORE_CAS, cas + 1, NULL), STORE_EXISTS);
    ck_assert_int_eq(put("c", S("2"), 0, 0, STORE_CAS, 0, NULL), STORE_EXISTS);
    assert_value("c", "1");
    ck_assert_int_eq(put("c", S("2"), 0, 0, STORE_CAS, cas, &cas2), STORE_OK);
    ck_assert_uint_gt(cas2, cas);
    assert_value("c", "2");
    ck_assert_int_eq(put("c", S("3"), 0, 0, STORE_CAS, cas, NULL), STORE_EXISTS);
    struct got g;
    ck_assert(get("c", &g) && g.cas == cas2);
}
END_TEST

START_TEST(cas_disabled)
{
    store_destroy(&st);
    struct store_config c = config();
    c.use_cas = false;
    st = store_create(&c);
    ck_assert_ptr_nonnull(st);
    uint64_t cas = 99;
    ck_assert_int_eq(put("c", S("1"), 0, 0, STORE_SET, 0, &cas), STORE_OK);
    ck_assert_uint_eq(cas, 0);
    struct got g;
    ck_assert(get("c", &g) && g.cas == 0);
    /* memcached -C: its items hold no cas, and a cas of 0 matches nothing:
     * every cas of an existing item is EXISTS (measured on 1.6.18), while an
     * append's cas is not checked at all */
    ck_assert_int_eq(put("c", S("2"), 0, 0, STORE_CAS, 12345, NULL), STORE_EXISTS);
    ck_assert_int_eq(put("c", S("2"), 0, 0, STORE_CAS, 0, NULL), STORE_EXISTS);
    ck_assert_int_eq(put("none", S("2"), 0, 0, STORE_CAS, 0, NULL), STORE_NOT_FOUND);
    ck_assert_int_eq(put("c", S("2"), 0, 0, STORE_APPEND, 12345, NULL), STORE_OK);
    assert_value("c", "12");
    ck_assert_uint_gt(store_cas_peek(st), 0);   /* the sequence still runs */
}
END_TEST

START_TEST(delete_semantics)
{
    ck_assert_int_eq(store_delete(st, S("d")), STORE_NOT_FOUND);
    ck_assert_int_eq(set("d", "v"), STORE_OK);
    ck_assert_int_eq(store_delete(st, S("d")), STORE_OK);
    assert_missing("d");
    ck_assert_int_eq(store_delete(st, S("d")), STORE_NOT_FOUND);
    struct store_stats ss;
    store_stats(st, &ss);
    ck_assert_uint_eq(ss.curr_items, 0);
    ck_assert_uint_eq(ss.bytes, 0);
}
END_TEST

START_TEST(touch_and_gat)
{
    ck_assert_int_eq(store_touch(st, S("t"), 0), STORE_NOT_FOUND);
    ck_assert_int_eq(put("t", S("v"), 0, clock_now() + 5, STORE_SET, 0, NULL), STORE_OK);
    ck_assert_int_eq(store_touch(st, S("t"), 0), STORE_OK);          /* never */
    advance(10);
    assert_value("t", "v");
    ck_assert_int_eq(store_touch(st, S("t"), clock_now() + 3), STORE_OK);
    advance(2);
    assert_value("t", "v");
    advance(1);
    assert_missing("t");

    /* gat: touch on the read path */
    struct got g;
    ck_assert_int_eq(put("g", S("v"), 0, clock_now() + 2, STORE_SET, 0, NULL), STORE_OK);
    ck_assert_int_eq(store_get(st, S("g"), true, clock_now() + 50, copy_view, &g), STORE_OK);
    ck_assert_uint_eq(g.ndata, 1);
    advance(10);
    assert_value("g", "v");
    advance(40);
    assert_missing("g");

    /* an item stored to never expire has no exptime field: touch and gat
     * copy it into room with one, keeping its value, flags and cas */
    struct got g2;
    ck_assert_int_eq(put("n", S("val"), 9, 0, STORE_SET, 0, NULL), STORE_OK);
    ck_assert_int_eq(store_get(st, S("n"), false, 0, copy_view, &g), STORE_OK);
    ck_assert_int_eq(store_touch(st, S("n"), clock_now() + 4), STORE_OK);
    ck_assert_int_eq(store_get(st, S("n"), false, 0, copy_view, &g2), STORE_OK);
    ck_assert(g2.ndata == 3 && memcmp(g2.data, "val", 3) == 0);
    ck_assert_uint_eq(g2.flags, 9);
    ck_assert_uint_eq(g2.cas, g.cas);
    struct store_stats ss;
    store_stats(st, &ss);
    ck_assert_uint_eq(ss.curr_items, 1);
    ck_assert_uint_eq(ss.bytes, 18 + 1 + 4 + 3);
    advance(4);
    assert_missing("n");
    ck_assert_int_eq(put("m", S("w"), 0, 0, STORE_SET, 0, NULL), STORE_OK);
    ck_assert_int_eq(store_get(st, S("m"), true, clock_now() + 2, copy_view, &g), STORE_OK);
    ck_assert(g.ndata == 1 && g.data[0] == 'w');
    advance(1);
    assert_value("m", "w");
    ck_assert_int_eq(store_touch(st, S("m"), 0), STORE_OK);        /* never again */
    advance(5);
    assert_value("m", "w");
}
END_TEST

START_TEST(expiry)
{
    rel_time_t now = clock_now();
    ck_assert_int_eq(put("x", S("v"), 0, now + 2, STORE_SET, 0, NULL), STORE_OK);
    ck_assert_int_eq(put("y", S("v"), 0, now + 2, STORE_SET, 0, NULL), STORE_OK);
    ck_assert_int_eq(put("z", S("v"), 0, 1, STORE_SET, 0, NULL), STORE_OK); /* past */
    assert_missing("z");
    advance(1);
    assert_value("x", "v");
    advance(1);
    assert_missing("x");
    ck_assert_int_eq(store_delete(st, S("y")), STORE_NOT_FOUND);
    ck_assert_int_eq(store_delta(st, S("y"), true, 1, NULL), STORE_NOT_FOUND);

    struct store_stats ss;
    store_stats(st, &ss);
    ck_assert_uint_eq(ss.curr_items, 0);
    ck_assert_uint_eq(ss.get_expired, 3);
    ck_assert_uint_eq(ss.expired_unfetched, 2);     /* y and z were never read */
}
END_TEST

START_TEST(flush_now)
{
    ck_assert_int_eq(set("a", "1"), STORE_OK);
    ck_assert_int_eq(set("b", "2"), STORE_OK);
    store_flush(st, 0);
    assert_missing("a");
    ck_assert_int_eq(store_delete(st, S("b")), STORE_NOT_FOUND);
    /* stored in the same second as the flush: alive (cas cut-off, not time) */
    ck_assert_int_eq(set("c", "3"), STORE_OK);
    assert_value("c", "3");
    advance(1);
    assert_value("c", "3");
    struct store_stats ss;
    store_stats(st, &ss);
    ck_assert_uint_eq(ss.get_flushed, 2);
    ck_assert_uint_eq(ss.curr_items, 1);
}
END_TEST

START_TEST(flush_delayed)
{
    ck_assert_int_eq(set("a", "1"), STORE_OK);
    rel_time_t when = clock_now() + 5;
    store_flush(st, when);
    advance(4);
    assert_value("a", "1");
    ck_assert_int_eq(set("b", "2"), STORE_OK);      /* time <= when: dies too */
    advance(1);
    assert_missing("a");
    assert_missing("b");
    advance(1);
    ck_assert_int_eq(set("c", "3"), STORE_OK);
    assert_value("c", "3");

    /* an immediate flush cancels a pending delayed one ... */
    store_flush(st, clock_now() + 10);
    store_flush(st, 0);
    advance(1);
    ck_assert_int_eq(set("d", "4"), STORE_OK);
    advance(20);
    assert_value("d", "4");
    /* ... and a later delayed flush does not bring back what it killed */
    assert_missing("c");
    ck_assert_int_eq(set("e", "5"), STORE_OK);
    store_flush(st, 0);
    store_flush(st, clock_now() + 100);
    assert_missing("e");
    /* a flush time already past acts now */
    ck_assert_int_eq(set("f", "6"), STORE_OK);
    store_flush(st, clock_now());
    assert_missing("f");
}
END_TEST

/* ---- incr / decr --------------------------------------------------------- */

static enum store_status delta(const char *key, bool incr, uint64_t by, uint64_t *out)
{
    return store_delta(st, key, strlen(key), incr, by, out);
}

START_TEST(incr_decr_basic)
{
    uint64_t v = 0;
    ck_assert_int_eq(delta("n", true, 1, &v), STORE_NOT_FOUND);
    ck_assert_int_eq(put("n", S("10"), 3, 0, STORE_SET, 0, NULL), STORE_OK);
    ck_assert_int_eq(delta("n", true, 5, &v), STORE_OK);
    ck_assert_uint_eq(v, 15);
    assert_value("n", "15");
    ck_assert_int_eq(delta("n", false, 100, &v), STORE_OK);
    ck_assert_uint_eq(v, 0);
    assert_value("n", "0 ");
    struct got g;
    ck_assert(get("n", &g) && g.flags == 3);

    ck_assert_int_eq(set("w", "18446744073709551615"), STORE_OK);
    ck_assert_int_eq(delta("w", true, 2, &v), STORE_OK);
    ck_assert_uint_eq(v, 1);
    assert_value("w", "1                   ");
    ck_assert_int_eq(set("w", "5"), STORE_OK);
    ck_assert_int_eq(delta("w", true, UINT64_MAX, &v), STORE_OK);
    ck_assert_uint_eq(v, 4);
}
END_TEST

START_TEST(incr_width)
{
    uint64_t v = 0, cas1 = 0;
    struct got g;
    ck_assert_int_eq(put("n", S("99"), 77, clock_now() + 50, STORE_SET, 0, &cas1), STORE_OK);
    ck_assert_int_eq(delta("n", true, 1, &v), STORE_OK);    /* new item */
    ck_assert_uint_eq(v, 100);
    ck_assert(get("n", &g));
    ck_assert_uint_eq(g.ndata, 3);
    ck_assert(memcmp(g.data, "100", 3) == 0);
    ck_assert_uint_eq(g.flags, 77);
    ck_assert_uint_gt(g.cas, cas1);
    uint64_t cas2 = g.cas;
    ck_assert_int_eq(delta("n", false, 1, &v), STORE_OK);   /* in place */
    ck_assert_uint_eq(v, 99);
    ck_assert(get("n", &g));
    ck_assert_uint_eq(g.ndata, 3);
    ck_assert(memcmp(g.data, "99 ", 3) == 0);
    ck_assert_uint_gt(g.cas, cas2);
    ck_assert_int_eq(delta("n", true, 1, &v), STORE_OK);    /* "99 " fits 100 */
    assert_value("n", "100");
    advance(50);                                            /* exptime kept */
    assert_missing("n");
    struct store_stats ss;
    store_stats(st, &ss);
    ck_assert_uint_eq(ss.curr_items, 0);
}
END_TEST

START_TEST(incr_parse_rules)
{
    static const char *bad[] = {
        "12abc", "", "-5", "abc", " ", "+", "18446744073709551616", "1.5", "0x10", "- 5",
    };
    uint64_t v = 0;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(set("p", bad[i]), STORE_OK);
        ck_assert_msg(delta("p", true, 1, &v) == STORE_NON_NUMERIC, "accepted '%s'", bad[i]);
        assert_value("p", bad[i]);
    }
    static const struct { const char *in, *out; } good[] = {
        { " 7", "8 " }, { "+7", "8 " }, { "-0", "1 " }, { "7 junk", "8     " },
        { "41\r\n", "42  " }, { "007", "8  " },
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        ck_assert_int_eq(set("p", good[i].in), STORE_OK);
        ck_assert_msg(delta("p", true, 1, &v) == STORE_OK, "refused '%s'", good[i].in);
        assert_value("p", good[i].out);
    }
    /* a NUL ends the number, as it ends strtoull */
    ck_assert_int_eq(put("p", S("5\0x"), 0, 0, STORE_SET, 0, NULL), STORE_OK);
    ck_assert_int_eq(delta("p", true, 1, &v), STORE_OK);
    ck_assert_uint_eq(v, 6);
}
END_TEST

/* ---- limits -------------------------------------------------------------- */

static void big_view(void *ctx, const struct item_view *v)
{
    size_t *n = ctx;
    *n = v->ndata;
    ck_assert_int_eq(v->data[v->ndata - 1], 'E');
}

/* memcached: too large when 48 + 8 (cas) + nkey + 1 + ndata + 2 > -I */
START_TEST(too_large_boundary)
{
    size_t max = (1u << 20) - 48 - 8 - 3 - 1 - 2;    /* key "big" */
    enum store_status s = STORE_OK;
    ck_assert_ptr_null(store_item_alloc(st, S("big"), 0, 0, (uint32_t)max + 1, &s));
    ck_assert_int_eq(s, STORE_TOO_LARGE);
    ck_assert_uint_eq(store_class_for(st, 3, max + 1), 0);
    ck_assert_ptr_null(store_item_alloc(st, S("big"), 0, 0, UINT32_MAX, &s));
    ck_assert_int_eq(s, STORE_TOO_LARGE);

    struct item *it = store_item_alloc(st, S("big"), 0, 0, (uint32_t)max, &s);
    ck_assert_ptr_nonnull(it);
    memset(store_item_data(it), 'z', max);
    store_item_data(it)[max - 1] = 'E';
    ck_assert_int_eq(store_item_link(st, &it, STORE_SET, 0, NULL), STORE_OK);
    size_t n = 0;
    ck_assert_int_eq(store_get(st, S("big"), false, 0, big_view, &n), STORE_OK);
    ck_assert_uint_eq(n, max);

    /* flags other than 0 take 4 bytes of memcached's item: 4 fewer fit */
    ck_assert_ptr_null(store_item_alloc(st, S("big"), 5, 0, (uint32_t)max - 3, &s));
    ck_assert_int_eq(s, STORE_TOO_LARGE);
    it = store_item_alloc(st, S("flg"), 5, 0, (uint32_t)max - 4, &s);
    ck_assert_ptr_nonnull(it);
    store_item_free(st, &it);

    /* with -C memcached has no cas field: 8 more bytes fit */
    store_destroy(&st);
    struct store_config c = config();
    c.use_cas = false;
    st = store_create(&c);
    ck_assert_ptr_nonnull(st);
    ck_assert_uint_ne(store_class_for(st, 3, max + 8), 0);
    ck_assert_uint_eq(store_class_for(st, 3, max + 9), 0);
}
END_TEST

START_TEST(abandoned_item_is_freed)
{
    enum store_status s;
    struct item *it = store_item_alloc(st, S("k"), 0, 0, 100, &s);
    ck_assert_ptr_nonnull(it);
    store_item_free(st, &it);
    ck_assert_ptr_null(it);
    store_item_free(st, &it);                       /* NULL: no-op */
    struct store_class_stats cs;
    ck_assert(store_class_stats(st, 1, &cs));
    ck_assert_uint_eq(cs.number, 0);
    ck_assert_uint_eq(cs.mem_requested, 0);
    assert_missing("k");
    /* a failed link consumes the item */
    ck_assert_int_eq(set("k", "1"), STORE_OK);
    ck_assert_int_eq(put("k", S("2"), 0, 0, STORE_ADD, 0, NULL), STORE_NOT_STORED);
    ck_assert(store_class_stats(st, 1, &cs));
    ck_assert_uint_eq(cs.number, 1);
    ck_assert_uint_eq(cs.mem_requested, 14 + 1 + 1);
}
END_TEST

START_TEST(config_checked)
{
    struct store_config c = config();
    struct store *bad;
    c.mem_limit = (2u << 20) - 1;               /* fewer than 2 pages */
    errno = 0;
    bad = store_create(&c);
    ck_assert_ptr_null(bad);
    ck_assert_int_eq(errno, EINVAL);
    c = config();
    c.item_size_max = 5u << 20;                 /* pages of 5 MiB: 1 page */
    ck_assert_ptr_null(store_create(&c));
    c = config();
    c.growth_factor = 1.0;
    ck_assert_ptr_null(store_create(&c));
    c = config();
    c.hash_power = 33;
    ck_assert_ptr_null(store_create(&c));
    c = config();
    c.item_size_max = 3u << 20;
    c.mem_limit = 6u << 20;                     /* 2 pages of 3 MiB */
    bad = store_create(&c);
    ck_assert_ptr_nonnull(bad);
    store_destroy(&bad);
}
END_TEST

/* One memory class: segments of 1 MiB (or -I rounded up), one "chunk" each;
 * an item takes its 14-byte header (+2 for a value of 64 KiB or more, +4
 * for an exptime), key, flags when not 0, and value. */
START_TEST(one_class_of_segments)
{
    struct store_class_stats cs;
    ck_assert_uint_eq(store_class_count(st), 1);
    ck_assert_uint_eq(store_class_for(st, 10, 100), 1);
    ck_assert_int_eq(set("k", "v"), STORE_OK);
    ck_assert(store_class_stats(st, 1, &cs));
    ck_assert_uint_eq(cs.chunk_size, 1u << 20);
    ck_assert_uint_eq(cs.chunks_per_page, 1);
    ck_assert_uint_eq(cs.total_pages, 1);
    ck_assert_uint_eq(cs.number, 1);
    ck_assert_uint_eq(cs.mem_requested, 16);
    ck_assert_int_eq(put("f", S("v"), 7, 0, STORE_SET, 0, NULL), STORE_OK);
    ck_assert(store_class_stats(st, 1, &cs));
    ck_assert_uint_eq(cs.mem_requested, 16 + 20);
    ck_assert_int_eq(put("e", S("v"), 0, 1000, STORE_SET, 0, NULL), STORE_OK);
    ck_assert(store_class_stats(st, 1, &cs));
    ck_assert_uint_eq(cs.mem_requested, 16 + 20 + 20);
    ck_assert(!store_class_stats(st, 0, &cs));
    ck_assert(!store_class_stats(st, 2, &cs));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("store");
    TCase *tc = tcase_create("commands");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, set_get_round_trip);
    tcase_add_test(tc, keys_bounded);
    tcase_add_test(tc, add_and_replace);
    tcase_add_test(tc, append_and_prepend);
    tcase_add_test(tc, append_too_large_is_not_stored);
    tcase_add_test(tc, cas_semantics);
    tcase_add_test(tc, cas_disabled);
    tcase_add_test(tc, delete_semantics);
    tcase_add_test(tc, touch_and_gat);
    tcase_add_test(tc, expiry);
    tcase_add_test(tc, flush_now);
    tcase_add_test(tc, flush_delayed);
    tcase_add_test(tc, incr_decr_basic);
    tcase_add_test(tc, incr_width);
    tcase_add_test(tc, incr_parse_rules);
    tcase_add_test(tc, too_large_boundary);
    tcase_add_test(tc, abandoned_item_is_freed);
    tcase_add_test(tc, config_checked);
    tcase_add_test(tc, one_class_of_segments);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
