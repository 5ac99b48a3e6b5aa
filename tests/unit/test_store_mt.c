/* test_store_mt.c: the store under concurrent use. Threads run get, set,
 * add, append, prepend, delete, touch and incr on overlapping keys while
 * memory is short (so evictions and page moves happen under them), and every
 * value read must be one some writer could have written for that key. Then
 * exactness: no lost incr or cas update. Iterations are bounded. */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "store/store.h"

#define T0 1700000000
#define MIB (1u << 20)
#define NTHREADS 4
#define NKEYS 2000
#define NNUM 64
#ifndef OPS
#define OPS 60000
#endif
#define UNIT_MAX 3000

static struct store *st;

static struct store *make(size_t mem)
{
    struct store_config c = {
        .mem_limit = mem, .item_size_max = MIB, .growth_factor = 1.25,
        .chunk_min = 48, .evictions = true, .use_cas = true, .hash_power = 0,
    };
    return store_create(&c);
}

static void setup(void)
{
    clock_init(T0);
}

static void teardown(void)
{
    store_destroy(&st);
}

/* A value for key is its "key#" pattern repeated, any whole number of times:
 * set, append and prepend all keep that shape, so any mix of them does. */
static size_t fill(char *dst, const char *key, size_t nkey, unsigned units)
{
    size_t n = 0;
    for (unsigned u = 0; u < units; u++) {
        memcpy(dst + n, key, nkey);
        dst[n + nkey] = '#';
        n += nkey + 1;
    }
    return n;
}

struct check {
    const char *key;
    size_t nkey;
    bool bad;
    size_t len;
};

static void check_view(void *ctx, const struct item_view *v)
{
    struct check *c = ctx;
    size_t unit = c->nkey + 1;
    c->len = v->ndata;
    if (v->nkey != c->nkey || memcmp(v->key, c->key, c->nkey) != 0 || v->ndata % unit != 0) {
        c->bad = true;
        return;
    }
    for (size_t i = 0; i < v->ndata; i += unit) {
        if (memcmp(v->data + i, c->key, c->nkey) != 0 || v->data[i + c->nkey] != '#') {
            c->bad = true;
            return;
        }
    }
}

static void num_view(void *ctx, const struct item_view *v)
{
    bool *bad = ctx;
    size_t i = 0;
    while (i < v->ndata && v->data[i] >= '0' && v->data[i] <= '9') {
        i++;
    }
    while (i < v->ndata && v->data[i] == ' ') {
        i++;
    }
    *bad = *bad || i != v->ndata || v->ndata == 0;
}

static enum store_status store_units(const char *key, size_t nkey, unsigned units,
                                     enum store_mode mode, rel_time_t exptime)
{
    static _Thread_local char buf[(UNIT_MAX + 1) * 8];
    size_t n = fill(buf, key, nkey, units);
    enum store_status s;
    struct item *it = store_item_alloc(st, key, nkey, 0, exptime, (uint32_t)n, &s);
    if (it == NULL) {
        return s;
    }
    memcpy(store_item_data(it), buf, n);
    return store_item_link(st, &it, mode, 0, NULL);
}

struct worker {
    unsigned seed;
    unsigned bad, hits;
};

static unsigned rnd(unsigned *seed)
{
    *seed = *seed * 1103515245u + 12345u;
    return (*seed >> 8) & 0xffffffu;
}

static bool one_op(struct worker *w, unsigned op, const char *key, size_t nkey)
{
    struct check c = { .key = key, .nkey = nkey };
    switch (op % 16) {
    case 0: case 1: case 2: case 3: case 4: case 5: case 6: {
        bool touch = op % 16 == 6;
        if (store_get(st, key, nkey, touch, 0, check_view, &c) == STORE_OK) {
            w->hits++;
        }
        return !c.bad;
    }
    case 7: case 8: case 9:
        /* mostly small, sometimes large: many classes, so pages move */
        return store_units(key, nkey, 1 + rnd(&w->seed) % (op % 5 == 0 ? 400 : 8),
                           STORE_SET, 0) != STORE_TOO_LARGE;
    case 10:
        (void)store_units(key, nkey, 1 + rnd(&w->seed) % 4, STORE_ADD, 0);
        return true;
    case 11: case 12:
        (void)store_units(key, nkey, 1, op % 16 == 11 ? STORE_APPEND : STORE_PREPEND, 0);
        return true;
    case 13:
        (void)store_delete(st, key, nkey);
        return true;
    case 14:
        (void)store_touch(st, key, nkey, 0);
        return true;
    default:
        return true;
    }
}

static void num_op(struct worker *w, unsigned op)
{
    char key[16];
    int nkey = snprintf(key, sizeof key, "n%02u", rnd(&w->seed) % NNUM);
    (void)op;
    uint64_t v;
    bool bad = false;
    switch (rnd(&w->seed) % 4) {
    case 0: {
        const char *init = "98";
        enum store_status s;
        struct item *it = store_item_alloc(st, key, (size_t)nkey, 0, 0, 2, &s);
        if (it != NULL) {
            memcpy(store_item_data(it), init, 2);
            (void)store_item_link(st, &it, STORE_ADD, 0, NULL);
        }
        break;
    }
    case 1:
        (void)store_delta(st, key, (size_t)nkey, true, 1, &v);
        break;
    case 2:
        (void)store_delta(st, key, (size_t)nkey, false, 1, &v);
        break;
    default:
        (void)store_get(st, key, (size_t)nkey, false, 0, num_view, &bad);
        w->bad += bad;
    }
}

static void *hammer(void *arg)
{
    struct worker *w = arg;
    for (unsigned i = 0; i < OPS; i++) {
        unsigned op = rnd(&w->seed);
        if (op % 10 == 0) {
            num_op(w, op >> 4);
            continue;
        }
        char key[16];
        int nkey = snprintf(key, sizeof key, "key%04u", rnd(&w->seed) % NKEYS);
        if (!one_op(w, op >> 4, key, (size_t)nkey)) {
            w->bad++;
        }
    }
    return NULL;
}

static void assert_classes_consistent(void)
{
    struct store_stats ss;
    uint64_t items = 0;
    store_stats(st, &ss);
    for (unsigned id = 1; id <= store_class_count(st); id++) {
        struct store_class_stats cs;
        ck_assert(store_class_stats(st, id, &cs));
        ck_assert_uint_le(cs.mem_requested, cs.total_pages * cs.chunk_size);
        items += cs.number;
    }
    ck_assert_uint_eq(items, ss.curr_items);
    ck_assert_uint_le(ss.total_malloced, ss.limit_maxbytes);
}

START_TEST(hammer_under_pressure)
{
    st = make(2 * MIB);
    ck_assert_ptr_nonnull(st);
    pthread_t th[NTHREADS];
    struct worker w[NTHREADS];
    for (unsigned i = 0; i < NTHREADS; i++) {
        w[i] = (struct worker){ .seed = 7919u * (i + 1) };
        ck_assert_int_eq(pthread_create(&th[i], NULL, hammer, &w[i]), 0);
    }
    unsigned bad = 0, hits = 0;
    for (unsigned i = 0; i < NTHREADS; i++) {
        pthread_join(th[i], NULL);
        bad += w[i].bad;
        hits += w[i].hits;
    }
    ck_assert_uint_eq(bad, 0);
    ck_assert_uint_gt(hits, 0);

    /* every key left is well formed; the counters add up */
    for (unsigned k = 0; k < NKEYS; k++) {
        char key[16];
        int nkey = snprintf(key, sizeof key, "key%04u", k);
        struct check c = { .key = key, .nkey = (size_t)nkey };
        (void)store_get(st, key, (size_t)nkey, false, 0, check_view, &c);
        ck_assert_msg(!c.bad, "%s is corrupt", key);
    }
    struct store_stats ss;
    store_stats(st, &ss);
    /* under pressure: segments were compacted (overwritten items reclaimed,
     * live ones evicted when that was not enough) */
    ck_assert_uint_gt(ss.slabs_moved, 0);
    assert_classes_consistent();
}
END_TEST

#define EXACT_OPS 3000

static void cas_view(void *ctx, const struct item_view *v)
{
    uint64_t *out = ctx;
    uint64_t n = 0;
    for (uint32_t i = 0; i < v->ndata && v->data[i] >= '0' && v->data[i] <= '9'; i++) {
        n = n * 10 + (uint64_t)(v->data[i] - '0');
    }
    out[0] = v->cas;
    out[1] = n;
}

static void *cas_up(void *arg)
{
    (void)arg;
    for (unsigned i = 0; i < EXACT_OPS; i++) {
        uint64_t v;
        ck_assert_int_eq(store_delta(st, "ctr", 3, true, 1, &v), STORE_OK);
        ck_assert_int_eq(store_units("app", 3, 1, STORE_APPEND, 0), STORE_OK);
        enum store_status s;
        do {
            uint64_t got[2];
            char num[24];
            ck_assert_int_eq(store_get(st, "cas", 3, false, 0, cas_view, got), STORE_OK);
            int n = snprintf(num, sizeof num, "%llu", (unsigned long long)(got[1] + 1));
            struct item *it = store_item_alloc(st, "cas", 3, 0, 0, (uint32_t)n, &s);
            ck_assert_ptr_nonnull(it);
            memcpy(store_item_data(it), num, (size_t)n);
            s = store_item_link(st, &it, STORE_CAS, got[0], NULL);
            ck_assert(s == STORE_OK || s == STORE_EXISTS);
        } while (s != STORE_OK);
    }
    return NULL;
}

static void total_view(void *ctx, const struct item_view *v)
{
    uint64_t *out = ctx;
    out[0] = v->ndata;
    out[1] = 0;
    for (uint32_t i = 0; i < v->ndata && v->data[i] >= '0' && v->data[i] <= '9'; i++) {
        out[1] = out[1] * 10 + (uint64_t)(v->data[i] - '0');
    }
}

START_TEST(no_lost_updates)
{
    st = make(16 * MIB);
    ck_assert_ptr_nonnull(st);
    static const char *keys[] = { "ctr", "cas" };
    for (unsigned i = 0; i < 2; i++) {
        enum store_status s;
        struct item *it = store_item_alloc(st, keys[i], 3, 0, 0, 1, &s);
        ck_assert_ptr_nonnull(it);
        store_item_data(it)[0] = '0';
        ck_assert_int_eq(store_item_link(st, &it, STORE_SET, 0, NULL), STORE_OK);
    }
    ck_assert_int_eq(store_units("app", 3, 1, STORE_SET, 0), STORE_OK);
    pthread_t th[NTHREADS];
    for (unsigned i = 0; i < NTHREADS; i++) {
        ck_assert_int_eq(pthread_create(&th[i], NULL, cas_up, NULL), 0);
    }
    for (unsigned i = 0; i < NTHREADS; i++) {
        pthread_join(th[i], NULL);
    }
    uint64_t got[2];
    ck_assert_int_eq(store_get(st, "ctr", 3, false, 0, total_view, got), STORE_OK);
    ck_assert_uint_eq(got[1], NTHREADS * EXACT_OPS);
    ck_assert_int_eq(store_get(st, "cas", 3, false, 0, total_view, got), STORE_OK);
    ck_assert_uint_eq(got[1], NTHREADS * EXACT_OPS);
    struct check c = { .key = "app", .nkey = 3 };
    ck_assert_int_eq(store_get(st, "app", 3, false, 0, check_view, &c), STORE_OK);
    ck_assert(!c.bad);
    ck_assert_uint_eq(c.len, 4 * (NTHREADS * EXACT_OPS + 1));
    assert_classes_consistent();
}
END_TEST

/* An exptime given to an item stored without one (its copy made with the
 * stripe's mutex let go) must not be lost to an incr in place that comes in
 * meanwhile: the mg T returned first, so the incr'd item keeps its TTL. */
#define RACE_KEYS 4
#define RACE_ROUNDS 20000
static _Atomic bool race_done;

static void *incr_hammer(void *arg)
{
    (void)arg;
    char key[8];
    for (unsigned i = 0; !atomic_load(&race_done) && i < 50u * RACE_ROUNDS; i++) {
        uint64_t v;
        snprintf(key, sizeof key, "r%u", i % RACE_KEYS);
        (void)store_delta(st, key, strlen(key), true, 1, &v);
    }
    return NULL;
}

static void give_ttl(void *ctx, struct meta_view *v)
{
    v->exptime = *(rel_time_t *)ctx;
}

static void read_ttl(void *ctx, struct meta_view *v)
{
    *(rel_time_t *)ctx = v->exptime;
}

START_TEST(exptime_survives_racing_incr)
{
    st = make(4 * MIB);
    ck_assert_ptr_nonnull(st);
    atomic_store(&race_done, false);
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, incr_hammer, NULL), 0);
    rel_time_t ttl = clock_now() + 1000;
    unsigned lost = 0;
    for (unsigned r = 0; r < RACE_ROUNDS; r++) {
        char key[8];
        snprintf(key, sizeof key, "r%u", r % RACE_KEYS);
        enum store_status s;
        struct item *it = store_item_alloc(st, key, strlen(key), 0, 0, 1, &s);
        ck_assert_ptr_nonnull(it);
        store_item_data(it)[0] = '0';
        ck_assert_int_eq(store_item_link(st, &it, STORE_SET, 0, NULL), STORE_OK);
        if (store_meta_get(st, key, strlen(key), false, false, give_ttl, &ttl) != STORE_OK) {
            continue;                   /* evicted: a cache may */
        }
        rel_time_t seen = 0;
        if (store_meta_get(st, key, strlen(key), false, false, read_ttl, &seen) == STORE_OK
                && seen != ttl) {
            lost++;
        }
    }
    atomic_store(&race_done, true);
    pthread_join(th, NULL);
    ck_assert_uint_eq(lost, 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("store_mt");
    TCase *tc = tcase_create("threads");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, hammer_under_pressure);
    tcase_add_test(tc, no_lost_updates);
    tcase_add_test(tc, exptime_survives_racing_incr);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
