/* test_num.c: strict number parsing (base/num.c) against the accept rules
 * memcached's answers depend on, and against overflow. */
#include <check.h>
#include <ctype.h>
#include <errno.h>
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

/* memcached's safe_strtoull refuses a result of 2^63 or more when the word
 * holds a '-' anywhere, even past the blank that may end the digits. */
START_TEST(u64_big_values_refuse_a_minus_anywhere)
{
    uint64_t v;
    ck_assert(!num_parse_u64(S("18446744073709551615\t-"), &v));
    ck_assert(!num_parse_u64(S("9223372036854775808\tz-z"), &v));
    ck_assert(!num_parse_u64(S("\t9223372036854775808\v--"), &v));
    ck_assert(!num_parse_u64(S("9223372036854775808\tT-1"), &v));
    ck_assert(!num_parse_u64(S("-9223372036854775808"), &v));
    /* below 2^63, or no '-': accepted as before */
    ck_assert(num_parse_u64(S("9223372036854775807\t-"), &v) && v == INT64_MAX);
    ck_assert(num_parse_u64(S("9223372036854775808\tz"), &v) && v == (uint64_t)1 << 63);
    ck_assert(num_parse_u64(S("9223372036854775808\t"), &v) && v == (uint64_t)1 << 63);
    ck_assert(num_parse_u64(S("5\t-"), &v) && v == 5);
    /* only the span is searched */
    ck_assert(num_parse_u64("9223372036854775808\t-", 20, &v) && v == (uint64_t)1 << 63);
}
END_TEST

/* memcached's safe_strtoull, on a NUL-terminated copy: the oracle. */
static bool ref_strtoull(const char *word, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(word, &end, 10);
    if (errno == ERANGE || end == word) {
        return false;
    }
    if (!isspace((unsigned char)*end) && *end != '\0') {
        return false;
    }
    if ((long long)v < 0 && strchr(word, '-') != NULL) {
        return false;
    }
    *out = v;
    return true;
}

/* Words of signs, blanks, digits and letters around big and small numbers
 * get the same verdict and value from num_parse_u64 as from the oracle. */
START_TEST(u64_matches_safe_strtoull)
{
    static const char *const parts[] = {
        "", "-", "+", "\t", "\v", "z", "0", "7", "9223372036854775807",
        "9223372036854775808", "18446744073709551615", "18446744073709551616",
        "-9223372036854775808", "-18446744073709551615",
    };
    const size_t np = sizeof(parts) / sizeof(parts[0]);
    char word[128];
    unsigned seed = 12345;
    for (int round = 0; round < 20000; round++) {
        word[0] = '\0';
        for (int k = 0; k < 4; k++) {
            seed = seed * 1103515245u + 12345u;
            strcat(word, parts[(seed >> 16) % np]);
        }
        uint64_t a = 0, b = 0;
        bool ra = num_parse_u64(word, strlen(word), &a);
        bool rb = ref_strtoull(word, &b);
        ck_assert_msg(ra == rb && (!ra || a == b), "word \"%s\": %d vs %d", word, ra, rb);
    }
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
    tcase_add_test(tc, u64_big_values_refuse_a_minus_anywhere);
    tcase_add_test(tc, u64_matches_safe_strtoull);
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
