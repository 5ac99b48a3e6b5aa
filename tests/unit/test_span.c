/* test_span.c: the bounded byte views every parser walks (base/span.h):
 * comparisons never read past the span, trim and split at the edges
 * (empty input, separator first or last, no separator), copies that do not
 * fit are cut and say so. */
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

int main(void)
{
    Suite *s = suite_create("span");
    TCase *tc = tcase_create("span");
    tcase_add_test(tc, compare_within_bounds);
    tcase_add_test(tc, trim_and_sub);
    tcase_add_test(tc, split_every_edge);
    tcase_add_test(tc, copy_cuts_and_says_so);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
