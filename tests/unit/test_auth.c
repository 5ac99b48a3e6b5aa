/* test_auth.c: sec/auth.c. The -Y file's reader against a table of files
 * memcached 1.6.18 loads right (accepted) and wrongly or not at all
 * (refused, naming the line, never a password byte); the check of a login
 * with the matching entry anywhere in the file, prefixes and extensions of
 * passwords, unknown and empty users; the credentials in force across an
 * install; the failed-login throttle's window, limit 0 and eviction. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sec/auth.h"

#define SECRET "S3cr3t"    /* in every refused file: must never reach a message */

static struct span sp(const char *s)
{
    return span_cstr(s);
}

/* ---- the file --------------------------------------------------------- */

struct accept_case {
    const char *name;
    const char *text;
    size_t entries;
};

static const struct accept_case accepted[] = {
    { "one line", "alice:" SECRET "\n", 1 },
    { "CRLF lines", "alice:" SECRET "\r\nbob:pw\r\n", 2 },
    { "':' in the password", "alice:a:b:" SECRET "\n", 1 },
    { "tabs are bytes", "al\tice:p\t" SECRET "\n", 1 },
    { "a user twice (a password rotation)", "app:old\napp:new\n", 2 },
    { "eight entries", "a:1\nb:2\nc:3\nd:4\ne:5\nf:6\ng:7\nh:8\n", 8 },
};

struct refuse_case {
    const char *name;
    const char *text;
    size_t len;                 /* 0: strlen(text) */
    const char *err;            /* the message starts with this */
};

static const struct refuse_case refused[] = {
    { "empty file", "", 0, "line 1: no entries" },
    { "no newline at the end", "alice:" SECRET, 0, "line 1: no newline" },
    { "no newline at the end, CR", "bob:pw\nalice:" SECRET "\r", 0, "line 2: no newline" },
    { "blank line", "alice:" SECRET "\n\nbob:pw\n", 0, "line 2: an empty line" },
    { "blank last line", "alice:" SECRET "\n\n", 0, "line 2: an empty line" },
    { "blank CRLF line", "\r\nalice:" SECRET "\n", 0, "line 1: an empty line" },
    { "no colon", "alice:" SECRET "\nbob" SECRET "\n", 0, "line 2: no ':'" },
    { "empty user", ":" SECRET "\n", 0, "line 1: an empty user" },
    { "empty password", "alice:\n", 0, "line 1: an empty password" },
    { "space in the user", "al ice:" SECRET "\n", 0, "line 1: a space in the user" },
    { "space in the password", "alice:" SECRET " \n", 0, "line 1: a space in the password" },
    { "NUL in the password", "alice:" SECRET "\0x\n", 15, "line 1: a NUL byte" },
    { "NUL in the user", "al\0ice:" SECRET "\n", 14, "line 1: a NUL byte" },
    { "CR inside the line", "alice:" SECRET "\rx\n", 0, "line 1: a carriage return" },
    { "nine entries", "a:1\nb:2\nc:3\nd:4\ne:5\nf:6\ng:7\nh:8\ni:" SECRET "\n", 0,
      "line 9: more than 8 entries" },
};

START_TEST(file_accepted)
{
    const struct accept_case *t = &accepted[_i];
    char err[256] = "";
    struct auth_db *db = auth_db_parse(t->text, strlen(t->text), err, sizeof(err));
    ck_assert_msg(db != NULL, "%s: refused: %s", t->name, err);
    ck_assert_uint_eq(auth_db_count(db), t->entries);
    auth_db_free(db);
}
END_TEST

START_TEST(file_refused)
{
    const struct refuse_case *t = &refused[_i];
    char err[256] = "";
    size_t len = t->len != 0 ? t->len : strlen(t->text);
    struct auth_db *db = auth_db_parse(t->text, len, err, sizeof(err));
    ck_assert_msg(db == NULL, "%s: accepted", t->name);
    ck_assert_msg(strncmp(err, t->err, strlen(t->err)) == 0, "%s: \"%s\"", t->name, err);
    ck_assert_msg(strstr(err, SECRET) == NULL, "%s: the password in \"%s\"", t->name, err);
    ck_assert_ptr_null(strchr(err, '\n'));
}
END_TEST

/* A line of n bytes before its end `eol`, the password making it up. */
static struct auth_db *line_of(size_t n, const char *eol, char *err, size_t errlen)
{
    char text[600];
    memcpy(text, "alice:", 6);
    memset(text + 6, 'p', n - 6);
    size_t len = n;
    memcpy(text + len, eol, strlen(eol));
    len += strlen(eol);
    memcpy(text + len, "bob:pw\n", 7);
    return auth_db_parse(text, len + 7, err, errlen);
}

/* memcached reads lines with a 256-byte fgets: 255 bytes with the line end
 * fit; one more cuts the password and ends the file. */
START_TEST(line_length_limit)
{
    char err[256];
    struct auth_db *db = line_of(AUTH_LINE_MAX - 1, "\n", err, sizeof(err));
    ck_assert_msg(db != NULL, "%s", err);
    ck_assert_uint_eq(auth_db_count(db), 2);
    auth_db_free(db);
    db = line_of(AUTH_LINE_MAX - 2, "\r\n", err, sizeof(err));
    ck_assert_msg(db != NULL, "%s", err);
    auth_db_free(db);
    ck_assert_ptr_null(line_of(AUTH_LINE_MAX, "\n", err, sizeof(err)));
    ck_assert_str_eq(err, "line 1: longer than 255 bytes with its line end "
                          "(memcached would cut it)");
    ck_assert_ptr_null(line_of(AUTH_LINE_MAX - 1, "\r\n", err, sizeof(err)));
    ck_assert_ptr_null(line_of(400, "\n", err, sizeof(err)));
}
END_TEST

/* ---- one login -------------------------------------------------------- */

static struct auth_db *parse_ok(const char *text)
{
    char err[256];
    struct auth_db *db = auth_db_parse(text, strlen(text), err, sizeof(err));
    ck_assert_msg(db != NULL, "%s", err);
    return db;
}

START_TEST(check_right_and_wrong)
{
    struct auth_db *db = parse_ok("alice:secret\nbob:hunter2\r\ncarol:a:b\n");
    ck_assert(auth_db_check(db, sp("alice"), sp("secret")));
    ck_assert(auth_db_check(db, sp("bob"), sp("hunter2")));
    ck_assert(auth_db_check(db, sp("carol"), sp("a:b")));
    static const char *const wrong[][2] = {
        { "alice", "secre" },       /* a prefix of the password */
        { "alice", "secret1" },     /* longer */
        { "alice", "Secret" },
        { "alice", "hunter2" },     /* another user's password */
        { "bob", "hunter2\r" },
        { "alic", "secret" },
        { "Alice", "secret" },
        { "eve", "secret" },        /* unknown user */
        { "", "secret" },
        { "alice", "" },
        { "", "" },
        { "carol", "a" },
    };
    for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
        ck_assert_msg(!auth_db_check(db, sp(wrong[i][0]), sp(wrong[i][1])), "%s/%s",
                      wrong[i][0], wrong[i][1]);
    }
    ck_assert(!auth_db_check(db, SPAN_EMPTY, SPAN_EMPTY));
    ck_assert(!auth_db_check(NULL, sp("alice"), sp("secret")));
    auth_db_free(db);
}
END_TEST

/* Every entry is compared: the match is found first, last or in between,
 * and a user's name with the next user's password never matches. */
START_TEST(check_finds_any_entry)
{
    char text[256] = "";
    size_t n = 0;
    for (int i = 0; i < AUTH_MAX_ENTRIES; i++) {
        n += (size_t)snprintf(text + n, sizeof(text) - n, "user%d:pass%d\n", i, i);
    }
    struct auth_db *db = parse_ok(text);
    ck_assert_uint_eq(auth_db_count(db), AUTH_MAX_ENTRIES);
    for (int i = 0; i < AUTH_MAX_ENTRIES; i++) {
        char user[16], pass[16], other[16];
        snprintf(user, sizeof(user), "user%d", i);
        snprintf(pass, sizeof(pass), "pass%d", i);
        snprintf(other, sizeof(other), "pass%d", (i + 1) % AUTH_MAX_ENTRIES);
        ck_assert_msg(auth_db_check(db, sp(user), sp(pass)), "entry %d", i);
        ck_assert_msg(!auth_db_check(db, sp(user), sp(other)), "entry %d crossed", i);
    }
    auth_db_free(db);
}
END_TEST

/* Nobody logs in before an install; a reload replaces, never adds. */
START_TEST(installed_credentials)
{
    auth_install(NULL);
    ck_assert(!auth_check(sp("alice"), sp("secret")));
    auth_install(parse_ok("alice:secret\n"));
    ck_assert(auth_check(sp("alice"), sp("secret")));
    auth_install(parse_ok("bob:hunter2\n"));
    ck_assert(!auth_check(sp("alice"), sp("secret")));
    ck_assert(auth_check(sp("bob"), sp("hunter2")));
    auth_install(NULL);
    ck_assert(!auth_check(sp("bob"), sp("hunter2")));
}
END_TEST

/* ---- failed logins per source ---------------------------------------- */

static struct ip_key key_of(unsigned n)
{
    struct ip_key k;
    memset(&k, 0, sizeof(k));
    k.addr[10] = 0xff;
    k.addr[11] = 0xff;
    k.addr[12] = 10;
    k.addr[13] = (uint8_t)(n >> 16);
    k.addr[14] = (uint8_t)(n >> 8);
    k.addr[15] = (uint8_t)n;
    return k;
}

START_TEST(throttle_blocks_within_window)
{
    struct auth_throttle *t = auth_throttle_create(3, 60, 16);
    struct ip_key a = key_of(1), b = key_of(2);
    ck_assert(!auth_throttle_fail(t, &a, 1000));
    ck_assert(!auth_throttle_fail(t, &a, 1010));
    ck_assert(!auth_throttle_blocked(t, &a, 1019));
    ck_assert(auth_throttle_fail(t, &a, 1020));          /* the third: blocks */
    ck_assert(auth_throttle_blocked(t, &a, 1020));
    ck_assert(!auth_throttle_fail(t, &a, 1030));         /* told once a window */
    ck_assert(auth_throttle_blocked(t, &a, 1059));
    ck_assert(!auth_throttle_blocked(t, &b, 1030));      /* others are not */
    ck_assert(!auth_throttle_blocked(t, &a, 1060));      /* window over */
    ck_assert(!auth_throttle_fail(t, &a, 1061));         /* a new window */
    ck_assert(!auth_throttle_blocked(t, &a, 1061));
    auth_throttle_destroy(&t);
    ck_assert_ptr_null(t);
}
END_TEST

/* Failures spread wider than the window never add up to a block. */
START_TEST(throttle_window_restarts)
{
    struct auth_throttle *t = auth_throttle_create(2, 10, 16);
    struct ip_key a = key_of(1);
    for (uint32_t now = 100; now < 200; now += 10) {
        ck_assert(!auth_throttle_fail(t, &a, now));
        ck_assert(!auth_throttle_blocked(t, &a, now));
    }
    ck_assert(auth_throttle_fail(t, &a, 195));          /* two within 10 s */
    auth_throttle_destroy(&t);
}
END_TEST

START_TEST(throttle_limit_zero_never_blocks)
{
    struct auth_throttle *t = auth_throttle_create(0, 60, 16);
    struct ip_key a = key_of(1);
    for (int i = 0; i < 100; i++) {
        ck_assert(!auth_throttle_fail(t, &a, 5));
    }
    ck_assert(!auth_throttle_blocked(t, &a, 5));
    auth_throttle_destroy(&t);
}
END_TEST

START_TEST(throttle_full_table_evicts_oldest)
{
    struct auth_throttle *t = auth_throttle_create(1, 1000, 2);
    struct ip_key a = key_of(1), b = key_of(2), c = key_of(3);
    ck_assert(auth_throttle_fail(t, &a, 10));
    ck_assert(auth_throttle_fail(t, &b, 11));
    ck_assert(auth_throttle_fail(t, &c, 12));            /* a goes */
    ck_assert(!auth_throttle_blocked(t, &a, 12));
    ck_assert(auth_throttle_blocked(t, &b, 12));
    ck_assert(auth_throttle_blocked(t, &c, 12));
    auth_throttle_destroy(&t);
}
END_TEST

/* Many sources through a small table: exactly the newest `slots` remain
 * (the index stays whole through every eviction). */
START_TEST(throttle_many_sources)
{
    enum { SLOTS = 64, SOURCES = 5000 };
    struct auth_throttle *t = auth_throttle_create(1, 100000, SLOTS);
    for (unsigned i = 0; i < SOURCES; i++) {
        struct ip_key k = key_of(i * 7919u);
        ck_assert(auth_throttle_fail(t, &k, 1000 + i));
    }
    for (unsigned i = 0; i < SOURCES; i++) {
        struct ip_key k = key_of(i * 7919u);
        ck_assert_msg(auth_throttle_blocked(t, &k, 1000 + SOURCES) == (i >= SOURCES - SLOTS),
                      "source %u", i);
    }
    auth_throttle_destroy(&t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("auth");
    TCase *file = tcase_create("file");
    tcase_add_loop_test(file, file_accepted, 0, sizeof(accepted) / sizeof(accepted[0]));
    tcase_add_loop_test(file, file_refused, 0, sizeof(refused) / sizeof(refused[0]));
    tcase_add_test(file, line_length_limit);
    suite_add_tcase(s, file);
    TCase *check = tcase_create("check");
    tcase_add_test(check, check_right_and_wrong);
    tcase_add_test(check, check_finds_any_entry);
    tcase_add_test(check, installed_credentials);
    suite_add_tcase(s, check);
    TCase *thr = tcase_create("throttle");
    tcase_add_test(thr, throttle_blocks_within_window);
    tcase_add_test(thr, throttle_window_restarts);
    tcase_add_test(thr, throttle_limit_zero_never_blocks);
    tcase_add_test(thr, throttle_full_table_evicts_oldest);
    tcase_add_test(thr, throttle_many_sources);
    suite_add_tcase(s, thr);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
