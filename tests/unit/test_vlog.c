/* test_vlog.c: the -v/-vv log's level rules (a client's "verbosity N" never
 * passes the start-up level) and its escaping of client bytes, which must
 * never split an escape or write past the buffer it is given. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "base/vlog.h"

#define S(lit) (lit), (sizeof(lit) - 1)

START_TEST(level_is_capped_by_start_level)
{
    vlog_init(1);
    ck_assert_uint_eq(vlog_level(), 1);
    vlog_set(2);
    ck_assert_uint_eq(vlog_level(), 1);
    vlog_set(0);
    ck_assert(!vlog_on(VLOG_ERRORS));
    vlog_set(1);
    ck_assert(vlog_on(VLOG_ERRORS) && !vlog_on(VLOG_TRAFFIC));
    vlog_init(99);                           /* -vvvv... saturates */
    ck_assert_uint_eq(vlog_level(), VLOG_MAX);
    vlog_init(0);
    vlog_set(2);
    ck_assert_uint_eq(vlog_level(), 0);
}
END_TEST

START_TEST(escapes_every_unprintable_byte_and_backslash)
{
    char out[128];
    size_t n = vlog_escape(S("get a\x01\\\x7f\xff\r\n\0z"), out, sizeof(out));
    ck_assert_str_eq(out, "get a\\x01\\x5c\\x7f\\xff\\x0d\\x0a\\x00z");
    ck_assert_uint_eq(n, strlen(out));
    for (int ch = 0; ch < 256; ch++) {
        char in = (char)ch;
        vlog_escape(&in, 1, out, sizeof(out));
        for (const char *p = out; *p; p++) {
            ck_assert(*p >= 0x20 && *p < 0x7f);
        }
    }
}
END_TEST

START_TEST(never_splits_an_escape_or_overruns)
{
    char out[8];
    memset(out, 'Z', sizeof(out));
    /* room for 7 bytes: "ab" then "\x01" (4) fits, the next escape does not */
    size_t n = vlog_escape(S("ab\x01\x02"), out, 7 + 1);
    ck_assert_uint_eq(n, 6);
    ck_assert_str_eq(out, "ab\\x01");
    n = vlog_escape(S("abc"), out, 1);
    ck_assert_uint_eq(n, 0);
    ck_assert_str_eq(out, "");
    out[0] = 'Z';
    ck_assert_uint_eq(vlog_escape(S("abc"), out, 0), 0);
    ck_assert_int_eq(out[0], 'Z');            /* nothing written at all */
}
END_TEST

int main(void)
{
    Suite *s = suite_create("vlog");
    TCase *tc = tcase_create("vlog");
    tcase_add_test(tc, level_is_capped_by_start_level);
    tcase_add_test(tc, escapes_every_unprintable_byte_and_backslash);
    tcase_add_test(tc, never_splits_an_escape_or_overruns);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
