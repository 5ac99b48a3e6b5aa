/* test_span.c: the bounded byte views every parser walks (base/span.h):
 * comparisons never read past the span, trim, skip and split at the edges
 * (empty input, separator first or last, no separator), copies that do not
 * fit are cut and say so; byte sets, counts and digits stop at the span's
 * end. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "base/span.h"

START_TEST(compare_within_bounds)
{
    const char buf[] = { 'g', 'e', 't', 'x' };      /* no NUL: must not be read past */
    struct span s = span_of(buf, 3);
    ck_assert(span_eq(s, "get"));
    ck_assert(!span_eq(s, "getx"));
    ck_assert(!span_eq(s, "ge"));
    ck_assert(span_starts_with(s, "ge"));
    ck_assert(!span_starts_with(s, "getx"));
    ck_assert(span_eq(SPAN_EMPTY, ""));
    ck_assert(span_eq_span(span_of(buf, 2), span_cstr("ge")));
    ck_assert_uint_eq(span_find(s, 't'), 2);
    ck_assert_uint_eq(span_find(s, 'x'), 3);          /* outside: not found */
    ck_assert_uint_eq(span_find(SPAN_EMPTY, 'x'), 0);
}
END_TEST

START_TEST(trim_and_sub)
{
    struct span s = span_trim(span_cstr(" \t a b \t"));
    ck_assert(span_eq(s, "a b"));
    ck_assert(span_is_empty(span_trim(span_cstr(" \t "))));
    ck_assert(span_eq(span_sub(span_cstr("abcdef"), 2, 3), "cde"));
    ck_assert(span_eq(span_sub(span_cstr("abcdef"), 4, 10), "ef"));
    ck_assert(span_is_empty(span_sub(span_cstr("abc"), 7, 1)));
}
END_TEST

START_TEST(skip_a_run_of_one_byte)
{
    const char buf[] = { ' ', ' ', 'k', ' ', ' ' };   /* no NUL: must not be read past */
    struct span s = span_skip(span_of(buf, 5), ' ');
    ck_assert(s.p == buf + 2);
    ck_assert_uint_eq(s.n, 3);
    ck_assert(span_skip(s, ' ').p == s.p);              /* nothing to skip: s itself */
    struct span end = span_skip(span_of(buf, 2), ' ');  /* all skipped: empty, at the end */
    ck_assert(end.p == buf + 2);
    ck_assert(span_is_empty(end));
    ck_assert(span_is_empty(span_skip(SPAN_EMPTY, ' ')));
    ck_assert(span_skip(SPAN_EMPTY, ' ').p == NULL);
    ck_assert_uint_eq(span_skip(span_of(buf + 3, 2), ' ').n, 0);   /* stops at the span's end */
}
END_TEST

START_TEST(split_every_edge)
{
    struct span rest = span_cstr("a,,b,"), head;
    const char *want[] = { "a", "", "b", "" };
    for (int i = 0; i < 4; i++) {
        ck_assert(span_split(&rest, ',', &head));
        ck_assert_msg(span_eq(head, want[i]), "piece %d", i);
    }
    ck_assert(!span_split(&rest, ',', &head));
    rest = span_cstr("no-separator");
    ck_assert(span_split(&rest, ',', &head));
    ck_assert(span_eq(head, "no-separator"));
    ck_assert(!span_split(&rest, ',', &head));
    rest = SPAN_EMPTY;
    ck_assert(!span_split(&rest, ',', &head));
}
END_TEST

START_TEST(copy_cuts_and_says_so)
{
    char out[4];
    ck_assert(span_copy(span_cstr("abc"), out, sizeof(out)));
    ck_assert_str_eq(out, "abc");
    ck_assert(!span_copy(span_cstr("abcd"), out, sizeof(out)));
    ck_assert_str_eq(out, "abc");
    ck_assert(span_copy(SPAN_EMPTY, out, sizeof(out)));
    ck_assert_str_eq(out, "");
    ck_assert(!span_copy(span_cstr("a"), out, 0));
}
END_TEST

START_TEST(sets_counts_and_digits)
{
    const char buf[] = { ' ', 'a', '=', 'b', ' ', '#' };   /* no NUL: must not be read past */
    struct span s = span_of(buf, 5);
    ck_assert_uint_eq(span_find_any(s, "=#"), 2);
    ck_assert_uint_eq(span_find_any(s, "#"), 5);            /* outside: not found */
    ck_assert_uint_eq(span_find_any(SPAN_EMPTY, "#"), 0);
    ck_assert_uint_eq(span_run(s, " "), 1);
    ck_assert_uint_eq(span_run(span_cstr("--x"), "-"), 2);
    ck_assert_uint_eq(span_run(span_cstr("x"), ""), 0);     /* the NUL is in no set */
    ck_assert(span_eq(span_trim_any(s, " "), "a=b"));
    ck_assert(span_eq(span_trim_any(span_cstr("\t a \t"), " "), "\t a \t"));
    ck_assert(span_is_empty(span_trim_any(span_cstr("   "), " ")));
    ck_assert_uint_eq(span_count(span_cstr("::1:"), ':'), 3);
    ck_assert_uint_eq(span_count(span_of(buf, 2), '='), 0);

    unsigned long long v = 7;
    ck_assert_uint_eq(span_uint(span_cstr("1234x"), 10, &v), 4);
    ck_assert_uint_eq(v, 1234);
    ck_assert_uint_eq(span_uint(span_cstr("0789"), 8, &v), 2);  /* octal stops at 8 */
    ck_assert_uint_eq(v, 7);
    ck_assert_uint_eq(span_uint(span_cstr("18446744073709551615"), 10, &v), 20);
    ck_assert(v == ~0ull);
    ck_assert_uint_eq(span_uint(span_cstr("18446744073709551616"), 10, &v), 0);  /* no wrap */
    ck_assert_uint_eq(span_uint(span_cstr("-1"), 10, &v), 0);
    ck_assert_uint_eq(span_uint(span_cstr(" 1"), 10, &v), 0);
    ck_assert_uint_eq(span_uint(SPAN_EMPTY, 10, &v), 0);
    const char digits[] = { '1', '2', '3' };
    ck_assert_uint_eq(span_uint(span_of(digits, 2), 10, &v), 2);  /* stops at the span's end */
    ck_assert_uint_eq(v, 12);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("span");
    TCase *tc = tcase_create("span");
    tcase_add_test(tc, compare_within_bounds);
    tcase_add_test(tc, trim_and_sub);
    tcase_add_test(tc, skip_a_run_of_one_byte);
    tcase_add_test(tc, split_every_edge);
    tcase_add_test(tc, copy_cuts_and_says_so);
    tcase_add_test(tc, sets_counts_and_digits);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
