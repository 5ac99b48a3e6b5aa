/* test_clock.c: the server clock's arithmetic (base/clock.c). Relative time
 * follows the monotonic clock only, so a step of the wall clock moves no TTL
 * or timeout; the wall clock turns absolute exptimes into relative time and
 * answers "stats time". Time is fed explicitly (clock_init_at/clock_tick_at
 * with a wall and a monotonic reading); one case reads the real clocks. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "base/clock.h"

#define WALL0 1700000000        /* the wall clock at start (Nov 2023) */
#define MONO0 5000              /* CLOCK_MONOTONIC at start (seconds since boot) */
#define START 2                 /* rel time at start: rel 1 is always past */
#define DAY (24 * 60 * 60)

/* n seconds after start, with the wall clock off by step seconds. */
static void at(int64_t n, int64_t step)
{
    clock_tick_at(WALL0 + n + step, MONO0 + n);
}

static void setup(void)
{
    clock_init_at(WALL0, MONO0);
}

START_TEST(starts_at_two)
{
    ck_assert_uint_eq(clock_now(), START);
    ck_assert_int_eq(clock_started(), WALL0 - START);
    ck_assert_int_eq(clock_started() + clock_now(), WALL0);
}
END_TEST

START_TEST(follows_the_monotonic_clock)
{
    at(1, 0);
    ck_assert_uint_eq(clock_now(), START + 1);
    at(3600, 0);
    ck_assert_uint_eq(clock_now(), START + 3600);
    ck_assert_int_eq(clock_started() + clock_now(), WALL0 + 3600);   /* "stats time" */
}
END_TEST

START_TEST(zero_means_never)
{
    ck_assert_uint_eq(clock_exptime_to_rel(0), 0);
    at(100, 0);
    ck_assert_uint_eq(clock_exptime_to_rel(0), 0);
}
END_TEST

START_TEST(negative_means_expired)
{
    ck_assert_uint_eq(clock_exptime_to_rel(-1), 1);
    ck_assert_uint_eq(clock_exptime_to_rel(INT32_MIN), 1);
    ck_assert_uint_eq(clock_exptime_to_rel(INT64_MIN), 1);
}
END_TEST

START_TEST(relative_up_to_thirty_days)
{
    ck_assert_uint_eq(clock_exptime_to_rel(1), START + 1);
    at(50, 0);
    ck_assert_uint_eq(clock_exptime_to_rel(10), START + 50 + 10);
    ck_assert_uint_eq(clock_exptime_to_rel(CLOCK_MAX_RELATIVE), START + 50 + CLOCK_MAX_RELATIVE);
}
END_TEST

START_TEST(absolute_beyond_thirty_days)
{
    at(50, 0);
    /* wall WALL0 + 50 is rel START + 50 */
    ck_assert_uint_eq(clock_exptime_to_rel(WALL0 + 50 + 100), START + 50 + 100);
    ck_assert_uint_eq(clock_exptime_to_rel(WALL0 + 50 + 2 * CLOCK_MAX_RELATIVE),
                      START + 50 + 2 * CLOCK_MAX_RELATIVE);
    /* the first second that is not relative is an absolute time in 1970 */
    ck_assert_uint_eq(clock_exptime_to_rel(CLOCK_MAX_RELATIVE + 1), 1);
}
END_TEST

START_TEST(absolute_in_the_past_is_expired)
{
    at(50, 0);
    ck_assert_uint_eq(clock_exptime_to_rel(WALL0 - DAY), 1);           /* before start */
    ck_assert_uint_eq(clock_exptime_to_rel(WALL0 - START), 1);         /* rel time 0 */
    /* after start but already past: below now, so the store sees it expired */
    rel_time_t r = clock_exptime_to_rel(WALL0 + 10);
    ck_assert_uint_gt(r, 1);
    ck_assert_uint_lt(r, clock_now());
    ck_assert_uint_eq(clock_exptime_to_rel(WALL0 + 50), clock_now());  /* now: expired */
}
END_TEST

START_TEST(absolute_far_future_saturates)
{
    ck_assert_uint_eq(clock_exptime_to_rel(INT64_MAX), UINT32_MAX);
}
END_TEST

/* The wall clock stepped back an hour: rel time and every relative deadline
 * stay where they were (a read timeout is not stretched by an hour). */
START_TEST(wall_step_back_does_not_move_rel_time)
{
    at(100, 0);
    rel_time_t deadline = clock_exptime_to_rel(30);
    at(101, -3600);
    ck_assert_uint_eq(clock_now(), START + 101);
    ck_assert_uint_eq(clock_exptime_to_rel(30), START + 101 + 30);
    at(130, -3600);
    ck_assert_uint_ge(clock_now(), deadline);   /* the 30 s are up after 30 s */
    /* "stats time" is the wall clock, stepped */
    ck_assert_int_eq(clock_started() + clock_now(), WALL0 + 130 - 3600);
    /* an absolute exptime means that second of the (new) wall clock */
    ck_assert_uint_eq(clock_exptime_to_rel(WALL0 + 130 - 3600 + 60), START + 130 + 60);
}
END_TEST

/* Stepped forward a day: nothing set with a relative exptime expires early. */
START_TEST(wall_step_forward_does_not_expire_early)
{
    at(10, 0);
    rel_time_t in_an_hour = clock_exptime_to_rel(3600);
    at(11, DAY);
    ck_assert_uint_eq(clock_now(), START + 11);
    ck_assert_uint_lt(clock_now(), in_an_hour);
    at(3609, DAY);
    ck_assert_uint_lt(clock_now(), in_an_hour);
    at(3610, DAY);
    ck_assert_uint_ge(clock_now(), in_an_hour);
    ck_assert_int_eq(clock_started() + clock_now(), WALL0 + 3610 + DAY);
    /* an absolute time a minute ahead of the new wall clock is a minute away */
    ck_assert_uint_eq(clock_exptime_to_rel(WALL0 + 3610 + DAY + 60), clock_now() + 60);
    /* and one that the step put in the past is expired */
    ck_assert_uint_le(clock_exptime_to_rel(WALL0 + 3610 + 60), clock_now());
}
END_TEST

START_TEST(never_before_start)
{
    clock_tick_at(WALL0 - 10, MONO0 - 10);
    ck_assert_uint_eq(clock_now(), START);
}
END_TEST

/* Simulated time (the store tests and the fuzzer): both clocks read `now`. */
START_TEST(simulated_time)
{
    clock_init(WALL0);
    ck_assert_uint_eq(clock_now(), START);
    clock_tick(WALL0 + 7);
    ck_assert_uint_eq(clock_now(), START + 7);
    ck_assert_uint_eq(clock_exptime_to_rel(WALL0 + 17), START + 17);
}
END_TEST

/* The real clocks: rel time starts at 2, "stats time" is the wall clock. */
START_TEST(real_clocks)
{
    int64_t before = (int64_t)time(NULL);
    clock_start();
    int64_t after = (int64_t)time(NULL);
    ck_assert_uint_eq(clock_now(), START);
    ck_assert_int_ge(clock_started() + clock_now(), before);
    ck_assert_int_le(clock_started() + clock_now(), after);
    clock_update();
    ck_assert_uint_le(clock_now(), START + 1);
    ck_assert_int_ge(clock_started() + clock_now(), before);
    ck_assert_int_le(clock_started() + clock_now(), (int64_t)time(NULL));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("clock");
    TCase *tc = tcase_create("arithmetic");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, starts_at_two);
    tcase_add_test(tc, follows_the_monotonic_clock);
    tcase_add_test(tc, zero_means_never);
    tcase_add_test(tc, negative_means_expired);
    tcase_add_test(tc, relative_up_to_thirty_days);
    tcase_add_test(tc, absolute_beyond_thirty_days);
    tcase_add_test(tc, absolute_in_the_past_is_expired);
    tcase_add_test(tc, absolute_far_future_saturates);
    tcase_add_test(tc, wall_step_back_does_not_move_rel_time);
    tcase_add_test(tc, wall_step_forward_does_not_expire_early);
    tcase_add_test(tc, never_before_start);
    tcase_add_test(tc, simulated_time);
    tcase_add_test(tc, real_clocks);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
