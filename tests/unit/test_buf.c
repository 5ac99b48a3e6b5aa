/* test_buf.c: bounded buffers and their shared budget (base/buf.c): the
 * per-buffer limit, the free allowance every buffer gets, the budget's
 * bulk and the last eighth kept for small holders, giving memory back on
 * shrink and deinit, and the counters "stats" reads. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"

#define KiB 1024u
#define MiB (1024u * KiB)

START_TEST(limit_is_hard)
{
    struct buf b;
    buf_init(&b, 10000);
    ck_assert(buf_reserve(&b, 10000));
    ck_assert(!buf_reserve(&b, 10001));
    ck_assert(buf_append(&b, "abc", 3));
    ck_assert(!buf_reserve(&b, 9998));
    ck_assert(buf_reserve(&b, 9997));
    ck_assert_uint_le(b.cap, 10000);
    buf_deinit(&b);
}
END_TEST

START_TEST(consume_and_compact_keep_bytes)
{
    struct buf b;
    buf_init(&b, 8192);
    char in[4096];
    for (size_t i = 0; i < sizeof(in); i++) {
        in[i] = (char)i;
    }
    ck_assert(buf_append(&b, in, sizeof(in)));
    buf_consume(&b, 4000);
    ck_assert(buf_reserve(&b, 8000));       /* fits only after moving to the front */
    ck_assert_uint_eq(buf_len(&b), 96);
    ck_assert_mem_eq(buf_head(&b), in + 4000, 96);
    buf_deinit(&b);
}
END_TEST

START_TEST(large_growth_is_not_doubled)
{
    struct buf b;
    buf_init(&b, 64 * MiB);
    ck_assert(buf_reserve(&b, 33 * MiB + 100));
    ck_assert_uint_lt(b.cap, 34 * MiB);     /* doubling would take 64 MiB */
    buf_deinit(&b);
}
END_TEST

START_TEST(shrink_when_idle)
{
    struct buf b;
    buf_init(&b, 4 * MiB);
    ck_assert(buf_reserve(&b, 1 * MiB));
    ck_assert(buf_append(&b, "x", 1));
    buf_shrink(&b, 64 * KiB);
    ck_assert_uint_eq(b.cap, 64 * KiB);
    ck_assert_uint_eq(buf_len(&b), 1);
    buf_consume(&b, 1);
    buf_shrink(&b, 1024);
    ck_assert_uint_eq(b.cap, 0);
    buf_deinit(&b);
}
END_TEST

START_TEST(free_allowance_always_granted)
{
    struct buf_budget bb = { .limit = 1 * MiB };
    struct buf b[40];
    for (int i = 0; i < 40; i++) {          /* 40 x 32 KiB = 1.25 MiB > limit */
        buf_init(&b[i], 4 * MiB);
        buf_join_budget(&b[i], &bb, BUF_IN, 32 * KiB);
        ck_assert_msg(buf_reserve(&b[i], 32 * KiB), "buffer %d", i);
    }
    ck_assert_uint_eq(atomic_load(&bb.used), 40 * 32 * KiB);
    ck_assert_uint_eq(atomic_load(&bb.count[BUF_IN]), 40);
    ck_assert(!buf_reserve(&b[0], 64 * KiB));   /* beyond it: the budget is spent */
    ck_assert_uint_eq(atomic_load(&bb.refused[BUF_IN]), 1);
    for (int i = 0; i < 40; i++) {
        buf_deinit(&b[i]);
    }
    ck_assert_uint_eq(atomic_load(&bb.used), 0);
    ck_assert_uint_eq(atomic_load(&bb.count[BUF_IN]), 0);
    ck_assert_uint_eq(atomic_load(&bb.bytes[BUF_IN]), 0);
    ck_assert_uint_eq(atomic_load(&bb.peak), 40 * 32 * KiB);
}
END_TEST

START_TEST(refused_growth_falls_back_to_allowance)
{
    struct buf_budget bb = { .limit = 1 * MiB };
    atomic_store(&bb.used, 1 * MiB - 16 * KiB);     /* other buffers hold the rest */
    struct buf b;
    buf_init(&b, 4 * MiB);
    buf_join_budget(&b, &bb, BUF_IN, 32 * KiB);
    ck_assert(buf_append(&b, "0123456789", 10));
    /* 4 KiB now; asking 20 KiB more doubles to 32 KiB: still the allowance */
    ck_assert(buf_reserve(&b, 20 * KiB));
    ck_assert_uint_eq(b.cap, 32 * KiB);
    ck_assert(!buf_reserve(&b, 40 * KiB));
    ck_assert_uint_eq(b.cap, 32 * KiB);
    ck_assert_mem_eq(buf_head(&b), "0123456789", 10);  /* a refusal loses nothing */
    buf_deinit(&b);
    ck_assert_uint_eq(atomic_load(&bb.used), 1 * MiB - 16 * KiB);
}
END_TEST

START_TEST(last_eighth_only_for_small_holders)
{
    struct buf_budget bb = { .limit = 16 * MiB };
    /* bulk: 14 MiB; small holder: at most 1 MiB held after the growth */
    ck_assert(buf_budget_charge(&bb, 0, 14 * MiB));
    ck_assert(!buf_budget_charge(&bb, 2 * MiB, 512 * KiB));  /* large holder */
    ck_assert(buf_budget_charge(&bb, 256 * KiB, 512 * KiB)); /* small one */
    ck_assert(!buf_budget_charge(&bb, 0, 2 * MiB));          /* past the limit */
    ck_assert(buf_budget_charge(&bb, 0, 1 * MiB));
    ck_assert(!buf_budget_charge(&bb, 0, 1 * MiB));          /* 16.5 > 16 */
    buf_budget_release(&bb, 15 * MiB + 512 * KiB);
    ck_assert_uint_eq(atomic_load(&bb.used), 0);
}
END_TEST

START_TEST(no_budget_means_no_limit_but_the_buffers_own)
{
    struct buf_budget bb = { .limit = 0 };
    ck_assert(buf_budget_charge(&bb, 0, (size_t)1 << 40));
    buf_budget_release(&bb, (size_t)1 << 40);
    struct buf b;
    buf_init(&b, 8 * MiB);
    ck_assert(buf_reserve(&b, 8 * MiB));
    buf_deinit(&b);
}
END_TEST

START_TEST(shrink_gives_memory_back)
{
    struct buf_budget bb = { .limit = 8 * MiB };
    struct buf b;
    buf_init(&b, 4 * MiB);
    buf_join_budget(&b, &bb, BUF_OUT, 32 * KiB);
    ck_assert(buf_reserve(&b, 3 * MiB));
    ck_assert(buf_append(&b, "y", 1));
    size_t before = atomic_load(&bb.used);
    ck_assert_uint_ge(before, 3 * MiB);
    buf_shrink(&b, 64 * KiB);
    ck_assert_uint_eq(atomic_load(&bb.used), 64 * KiB);
    ck_assert_uint_eq(atomic_load(&bb.bytes[BUF_OUT]), 64 * KiB);
    buf_deinit(&b);
    ck_assert_uint_eq(atomic_load(&bb.used), 0);
    ck_assert_uint_eq(atomic_load(&bb.count[BUF_OUT]), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("buf");
    TCase *tc = tcase_create("buf");
    tcase_add_test(tc, limit_is_hard);
    tcase_add_test(tc, consume_and_compact_keep_bytes);
    tcase_add_test(tc, large_growth_is_not_doubled);
    tcase_add_test(tc, shrink_when_idle);
    tcase_add_test(tc, free_allowance_always_granted);
    tcase_add_test(tc, refused_growth_falls_back_to_allowance);
    tcase_add_test(tc, last_eighth_only_for_small_holders);
    tcase_add_test(tc, no_budget_means_no_limit_but_the_buffers_own);
    tcase_add_test(tc, shrink_gives_memory_back);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
