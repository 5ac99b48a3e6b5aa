/* test_num.c: strict number parsing (base/num.c) against the accept rules
 * memcached's answers depend on, and against overflow. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "base/num.h"

#define S(lit) (lit), (sizeof(lit) - 1)

START_TEST(u64_accepts_what_strtoull_accepts)
{
    uint64_t v = 1;
    ck_assert(num_parse_u64(S("0"), &v) && v == 0);
    ck_assert(num_parse_u64(S("18446744073709551615"), &v) && v == UINT64_MAX);
    ck_assert(num_parse_u64(S("+7"), &v) && v == 7);
    ck_assert(num_parse_u64(S("\t42"), &v) && v == 42);
    ck_assert(num_parse_u64(S("42\tjunk"), &v) && v == 42);   /* space ends it */
    ck_assert(num_parse_u64(S("-0"), &v) && v == 0);
    ck_assert(num_parse_u64(S("-18446744073709551615"), &v) && v == 1);
}
END_TEST

START_TEST(u64_rejects)
{
    uint64_t v;
    ck_assert(!num_parse_u64(S(""), &v));
    ck_assert(!num_parse_u64(S("18446744073709551616"), &v));
    ck_assert(!num_parse_u64(S("-1"), &v));
    ck_assert(!num_parse_u64(S("12a"), &v));
    ck_assert(!num_parse_u64(S("0x10"), &v));
    ck_assert(!num_parse_u64(S("+"), &v));
    ck_assert(!num_parse_u64(S(" "), &v));
}
END_TEST

START_TEST(u32_bounds)
{
    uint32_t v;
    ck_assert(num_parse_u32(S("4294967295"), &v) && v == UINT32_MAX);
    ck_assert(!num_parse_u32(S("4294967296"), &v));
    ck_assert(!num_parse_u32(S("-1"), &v));
}
END_TEST

START_TEST(i32_bounds)
{
    int32_t v;
    ck_assert(num_parse_i32(S("2147483647"), &v) && v == INT32_MAX);
    ck_assert(num_parse_i32(S("-2147483648"), &v) && v == INT32_MIN);
    ck_assert(!num_parse_i32(S("2147483648"), &v));
    ck_assert(!num_parse_i32(S("-2147483649"), &v));
    ck_assert(!num_parse_i32(S("4294967298"), &v));
    ck_assert(num_parse_i32(S("-5"), &v) && v == -5);
    ck_assert(!num_parse_i32(S("5-"), &v));
}
END_TEST

START_TEST(never_reads_past_len)
{
    /* "12" followed by digits that are outside the span */
    const char *s = "1234";
    uint64_t v;
    ck_assert(num_parse_u64(s, 2, &v) && v == 12);
}
END_TEST

START_TEST(format_round_trip)
{
    char buf[24];
    uint64_t samples[] = { 0, 9, 10, 99, 100, 12345678901234ULL, UINT64_MAX };
    for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
        size_t n = num_format_u64(samples[i], buf);
        uint64_t back;
        ck_assert(num_parse_u64(buf, n, &back));
        ck_assert_uint_eq(back, samples[i]);
    }
    ck_assert_uint_eq(num_format_u64(UINT64_MAX, buf), 20);
    ck_assert(memcmp(buf, "18446744073709551615", 20) == 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("num");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, u64_accepts_what_strtoull_accepts);
    tcase_add_test(tc, u64_rejects);
    tcase_add_test(tc, u32_bounds);
    tcase_add_test(tc, i32_bounds);
    tcase_add_test(tc, never_reads_past_len);
    tcase_add_test(tc, format_round_trip);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
