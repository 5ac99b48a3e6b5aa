/* test_tlsid.c: --tls-client-identity (src/sec/tlsid.c). Three tables: lists
 * the parser accepts (and what it reads from them), lists it refuses (and
 * the words of the refusal), and what a certificate value matches, counted
 * in bytes so NULs and control bytes inside a value are part of the case. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sec/tlsid.h"

static char err[512];

/* ------------------------------------------------------------- accepted */

static const struct {
    const char *text;
    int n;
    enum tlsid_kind kind0;   /* of the first entry */
    const char *value0;
} good[] = {
    { "dns:a.example", 1, TLSID_DNS, "a.example" },
    { "dns:localhost", 1, TLSID_DNS, "localhost" },
    { "dns:Cache-1.Example.ORG", 1, TLSID_DNS, "Cache-1.Example.ORG" },
    { "dns:x1.a-b.c0", 1, TLSID_DNS, "x1.a-b.c0" },
    { "dns:1host.example", 1, TLSID_DNS, "1host.example" },
    { "uri:spiffe://example.org/app", 1, TLSID_URI, "spiffe://example.org/app" },
    { "uri:urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66", 1, TLSID_URI,
      "urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66" },
    { "uri:https://a.example/p?q=1&r=%20", 1, TLSID_URI, "https://a.example/p?q=1&r=%20" },
    { "cn:client1", 1, TLSID_CN, "client1" },
    { "cn:John Smith (ops)", 1, TLSID_CN, "John Smith (ops)" },
    { "dns:a.example,uri:spiffe://example.org/app,cn:client1", 3, TLSID_DNS, "a.example" },
    { "  cn:c1 ,  dns:b.example  ", 2, TLSID_CN, "c1" },
    { "cn:a,dns:a", 2, TLSID_CN, "a" },               /* same text, other kinds */
    { "uri:a:b,uri:A:b", 2, TLSID_URI, "a:b" },       /* URIs are case-sensitive */
    { "cn:Alice,cn:alice", 2, TLSID_CN, "Alice" },     /* so are common names */
};

START_TEST(test_accepted)
{
    struct tlsid_list l;
    size_t i = (size_t)_i;
    ck_assert_msg(tlsid_parse(span_cstr(good[i].text), &l, err, sizeof err), "%s: %s",
                  good[i].text, err);
    ck_assert_int_eq(l.n, good[i].n);
    ck_assert_int_eq(l.ids[0].kind, good[i].kind0);
    ck_assert_str_eq(l.ids[0].value, good[i].value0);
    ck_assert_uint_eq(l.ids[0].len, strlen(good[i].value0));
}
END_TEST

START_TEST(test_longest_and_most)
{
    static char text[TLSID_MAX * 16 + 512];
    struct tlsid_list l;
    size_t n = 0;
    for (int i = 0; i < TLSID_MAX; i++) {
        n += (size_t)snprintf(text + n, sizeof text - n, "%scn:c%d", i ? "," : "", i);
    }
    ck_assert(tlsid_parse(span_of(text, n), &l, err, sizeof err));
    ck_assert_int_eq(l.n, TLSID_MAX);
    ck_assert_str_eq(l.ids[TLSID_MAX - 1].value, "c31");
    snprintf(text + n, sizeof text - n, ",cn:one-more");
    ck_assert(!tlsid_parse(span_cstr(text), &l, err, sizeof err));
    ck_assert(strstr(err, "entry 33 \"cn:one-more\": more than 32 identities") != NULL);
    ck_assert_int_eq(l.n, 0);

    memcpy(text, "cn:", 3);                              /* 255 bytes: the most */
    memset(text + 3, 'x', TLSID_VALUE_MAX);
    ck_assert(tlsid_parse(span_of(text, 3 + TLSID_VALUE_MAX), &l, err, sizeof err));
    ck_assert_uint_eq(l.ids[0].len, TLSID_VALUE_MAX);
    text[3 + TLSID_VALUE_MAX] = 'x';
    ck_assert(!tlsid_parse(span_of(text, 4 + TLSID_VALUE_MAX), &l, err, sizeof err));
    ck_assert(strstr(err, "longer than 255 bytes") != NULL);
    ck_assert(strstr(err, "...") != NULL);              /* the entry is quoted cut */
}
END_TEST

/* A DNS name is at most 253 bytes, a label at most 63. */
START_TEST(test_dns_lengths)
{
    char name[300];
    struct tlsid_list l;
    memcpy(name, "dns:", 4);
    memset(name + 4, 'a', 63);
    ck_assert(tlsid_parse(span_of(name, 4 + 63), &l, err, sizeof err));
    memset(name + 4, 'a', 64);
    ck_assert(!tlsid_parse(span_of(name, 4 + 64), &l, err, sizeof err));
    for (int i = 0; i < 4; i++) {                       /* 4 x (63 + 1) - 1 = 255 */
        memset(name + 4 + i * 64, 'b', 63);
        name[4 + i * 64 + 63] = '.';
    }
    ck_assert(!tlsid_parse(span_of(name, 4 + 253 + 1), &l, err, sizeof err));
    ck_assert(strstr(err, "at most 253 bytes") != NULL);
    name[4 + 3 * 64 + 61] = '\0';                        /* 3 x 64 + 61 = 253 */
    ck_assert_msg(tlsid_parse(span_of(name, 4 + 253), &l, err, sizeof err), "%s", err);
}
END_TEST

/* --------------------------------------------------------------- refused */

static const struct {
    const char *text;
    size_t len;              /* 0: strlen(text) */
    const char *needle;
} bad[] = {
    { "", 0, "empty list; expected dns:NAME, uri:URI or cn:NAME, comma separated" },
    { ",", 0, "entry 1 \"\": empty entry" },
    { "dns:a,", 0, "entry 2 \"\": empty entry" },
    { "dns:a,,dns:b", 0, "entry 2 \"\": empty entry" },
    { "   ", 0, "entry 1 \"\": empty entry" },
    { "dns:", 0, "entry 1 \"dns:\": empty value" },
    { "cn:", 0, "empty value" },
    { "a.example", 0, "entry 1 \"a.example\": unknown kind; expected dns:NAME, uri:URI or "
      "cn:NAME, comma separated" },
    { "DNS:a.example", 0, "unknown kind" },
    { "ip:10.0.0.1", 0, "unknown kind" },
    { "email:a@b", 0, "unknown kind" },
    { " dns :a", 0, "unknown kind" },
    { "dns:*.example", 0, "wildcards are not accepted" },
    { "dns:a*.example", 0, "wildcards are not accepted" },
    { "dns:a.example.", 0, "no trailing dot" },
    { "dns:.a.example", 0, "dot-separated labels" },
    { "dns:a..example", 0, "dot-separated labels" },
    { "dns:-a.example", 0, "no hyphen first or last" },
    { "dns:a-.example", 0, "no hyphen first or last" },
    { "dns:a_b.example", 0, "letters, digits and hyphens" },
    { "dns:a b", 0, "letters, digits and hyphens" },
    { "dns:10.0.0.1", 0, "an IP address is not a DNS name" },
    { "dns:host.123", 0, "an IP address is not a DNS name" },
    { "dns:caf\xc3\xa9.example", 0, "entry 1 \"dns:caf??.example\"" },
    { "uri:spiffe", 0, "a URI starts with its scheme and a colon" },
    { "uri::x", 0, "a URI starts with its scheme" },
    { "uri:x:", 0, "a URI starts with its scheme" },
    { "uri:1x:y", 0, "a URI starts with its scheme" },
    { "uri:sp_ffe://a", 0, "a URI scheme is letters, digits" },
    { "uri:spiffe://a b", 0, "printable ASCII without blanks" },
    { "uri:spiffe://a\x7f", 0, "printable ASCII without blanks" },
    { "cn:a\tb", 0, "entry 1 \"cn:a?b\": a common name is printable ASCII" },
    { "cn:a\nb", 0, "printable ASCII" },
    { "cn: a", 0, "a blank at either end of the name" },
    { "dns:a\0.evil", 11, "entry 1 \"dns:a\"" },       /* a NUL in the text */
    { "cn:a\0b", 6, "printable ASCII" },
    { "cn:a,dns:b,cn:a", 0, "entry 3 \"cn:a\": given twice" },
    { "dns:A.Example,dns:a.example", 0, "entry 2 \"dns:a.example\": given twice" },
    { "dns:a\"b", 0, "entry 1 \"dns:a?b\"" },          /* a quote is not echoed */
};

START_TEST(test_refused)
{
    struct tlsid_list l;
    size_t i = (size_t)_i;
    size_t len = bad[i].len ? bad[i].len : strlen(bad[i].text);
    memset(err, 0, sizeof err);
    l.n = 7;
    ck_assert_msg(!tlsid_parse(span_of(bad[i].text, len), &l, err, sizeof err),
                  "accepted case %zu", i);
    ck_assert_msg(strstr(err, bad[i].needle) != NULL, "case %zu: \"%s\" not in: %s", i,
                  bad[i].needle, err);
    ck_assert_int_eq(l.n, 0);                           /* nothing half-read */
    ck_assert_msg(strstr(err, "expected dns:NAME, uri:URI or cn:NAME") != NULL, "%s", err);
    for (const char *p = err; *p != '\0'; p++) {
        ck_assert_msg((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f, "case %zu", i);
    }
}
END_TEST

START_TEST(test_small_error_buffer)
{
    struct tlsid_list l;
    char tiny[8];
    ck_assert(!tlsid_parse(span_cstr("nope:x"), &l, tiny, sizeof tiny));
    ck_assert_uint_eq(strlen(tiny), sizeof tiny - 1);
}
END_TEST

/* ---------------------------------------------------------------- matching */

static const char LIST[] = "dns:cache-client.example,uri:spiffe://example.org/app,"
                           "cn:client1,cn:Ops Team";

static const struct {
    enum tlsid_kind kind;
    const char *value;
    size_t len;              /* 0: strlen(value) */
    bool want;
} matches[] = {
    { TLSID_DNS, "cache-client.example", 0, true },
    { TLSID_DNS, "CACHE-Client.Example", 0, true },       /* DNS: any case */
    { TLSID_DNS, "cache-client.example.", 0, false },     /* exact, no trailing dot */
    { TLSID_DNS, "cache-client.exampl", 0, false },
    { TLSID_DNS, "x.cache-client.example", 0, false },    /* no suffix matching */
    { TLSID_DNS, "cache-client.example.evil", 0, false },
    { TLSID_DNS, "*.example", 0, false },
    { TLSID_DNS, "client1", 0, false },                   /* a CN is not a DNS name */
    { TLSID_URI, "spiffe://example.org/app", 0, true },
    { TLSID_URI, "SPIFFE://example.org/app", 0, false },   /* URIs exactly */
    { TLSID_URI, "spiffe://example.org/app/", 0, false },
    { TLSID_URI, "spiffe://example.org/ap", 0, false },
    { TLSID_URI, "spiffe://example.org/application", 0, false },
    { TLSID_URI, "cache-client.example", 0, false },       /* kinds do not mix */
    { TLSID_CN, "client1", 0, true },
    { TLSID_CN, "Ops Team", 0, true },
    { TLSID_CN, "Client1", 0, false },
    { TLSID_CN, "ops team", 0, false },
    { TLSID_CN, "client", 0, false },
    { TLSID_CN, "client10", 0, false },
    { TLSID_CN, "cache-client.example", 0, false },
    /* what a certificate may smuggle: every one of these never matches */
    { TLSID_DNS, "cache-client.example\0.evil", 26, false },
    { TLSID_DNS, "cache-client.example\0", 21, false },
    { TLSID_CN, "client1\0", 8, false },
    { TLSID_CN, "\0client1", 8, false },
    { TLSID_CN, "client1\n", 8, false },
    { TLSID_CN, "client\x01", 7, false },
    { TLSID_CN, "client1\x7f", 8, false },
    { TLSID_CN, "Ops\tTeam", 0, false },
    { TLSID_CN, "client\xc2\xb9", 0, false },              /* a superscript one */
    { TLSID_URI, "spiffe://example.org/app\r", 0, false },
    { TLSID_CN, "", 0, false },
};

START_TEST(test_matching)
{
    static struct tlsid_list l;
    size_t i = (size_t)_i;
    size_t len = matches[i].len ? matches[i].len : strlen(matches[i].value);
    ck_assert_msg(tlsid_parse(span_cstr(LIST), &l, err, sizeof err), "%s", err);
    ck_assert_msg(tlsid_match(&l, matches[i].kind, matches[i].value, len) == matches[i].want,
                  "case %zu: \"%s\" (%zu bytes)", i, matches[i].value, len);
}
END_TEST

START_TEST(test_match_edges)
{
    static struct tlsid_list l, empty;
    char longer[TLSID_VALUE_MAX + 2];
    ck_assert(tlsid_parse(span_cstr(LIST), &l, err, sizeof err));
    ck_assert(!tlsid_match(NULL, TLSID_CN, "client1", 7));
    ck_assert(!tlsid_match(&l, TLSID_CN, NULL, 7));
    ck_assert(!tlsid_match(&l, TLSID_CN, "client1", 0));
    ck_assert(!tlsid_match(&l, TLSID_CN, "client1", 6));          /* the length counts */
    ck_assert(!tlsid_match(&empty, TLSID_CN, "client1", 7));      /* an empty list: none */
    memset(longer, 'x', sizeof longer);
    ck_assert(tlsid_parse(span_cstr("cn:x"), &l, err, sizeof err));
    ck_assert(!tlsid_match(&l, TLSID_CN, longer, sizeof longer));
    ck_assert(tlsid_match(&l, TLSID_CN, longer, 1));
}
END_TEST

static Suite *tlsid_suite(void)
{
    Suite *su = suite_create("tlsid");
    TCase *tc = tcase_create("tlsid");
    tcase_add_loop_test(tc, test_accepted, 0, (int)(sizeof good / sizeof good[0]));
    tcase_add_test(tc, test_longest_and_most);
    tcase_add_test(tc, test_dns_lengths);
    tcase_add_loop_test(tc, test_refused, 0, (int)(sizeof bad / sizeof bad[0]));
    tcase_add_test(tc, test_small_error_buffer);
    tcase_add_loop_test(tc, test_matching, 0, (int)(sizeof matches / sizeof matches[0]));
    tcase_add_test(tc, test_match_edges);
    suite_add_tcase(su, tc);
    return su;
}

int main(void)
{
    SRunner *sr = srunner_create(tlsid_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
