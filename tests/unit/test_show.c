/* test_show.c: how refused operator input is quoted back in error messages
 * (base/show.c): printable ASCII only, at most SHOW_IN_MAX bytes of it, "..."
 * when cut, never past the output buffer. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "base/show.h"

START_TEST(replaces_unprintable_and_quote)
{
    char out[64];
    show_text("a\"b\x01\x7f\xff\tc", out, sizeof(out));
    ck_assert_str_eq(out, "a?b????c");
}
END_TEST

START_TEST(cuts_long_input_with_dots)
{
    char in[200], out[256];
    memset(in, 'x', sizeof(in) - 1);
    in[sizeof(in) - 1] = '\0';
    show_text(in, out, sizeof(out));
    ck_assert_uint_eq(strlen(out), SHOW_IN_MAX + 3);
    ck_assert_str_eq(out + SHOW_IN_MAX, "...");
    in[SHOW_IN_MAX] = '\0';                    /* exactly the maximum: not cut */
    show_text(in, out, sizeof(out));
    ck_assert_uint_eq(strlen(out), SHOW_IN_MAX);
}
END_TEST

START_TEST(never_writes_past_outlen)
{
    char out[16];
    memset(out, 'Z', sizeof(out));
    show_text("0123456789abcdefghij", out, 8);
    ck_assert_uint_lt(strlen(out), 8);
    ck_assert_int_eq(out[8], 'Z');
    show_text("abc", out, 1);
    ck_assert_str_eq(out, "");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("show");
    TCase *tc = tcase_create("show");
    tcase_add_test(tc, replaces_unprintable_and_quote);
    tcase_add_test(tc, cuts_long_input_with_dots);
    tcase_add_test(tc, never_writes_past_outlen);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
