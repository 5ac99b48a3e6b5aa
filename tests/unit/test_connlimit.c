/* test_connlimit.c: --max-conns-per-ip's keys and counts (sec/connlimit.c).
 * Which peers share a count: IPv6 addresses of one --per-ip-v6-prefix network
 * (/64 by default), IPv4 addresses each alone, an IPv4-mapped IPv6 address as
 * its IPv4 address. Then the table: the cap per key, release giving slots
 * back, and a randomized run against a plain array of counts. An integration
 * test cannot show two /64s from loopback, so the grouping is proven here. */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "sec/connlimit.h"

/* ------------------------------------------------------------- helpers */

static struct sockaddr_storage peer(const char *addr)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    if (strchr(addr, ':') != NULL) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(40000);
        ck_assert_msg(inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1, "bad test %s", addr);
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        s4->sin_port = htons(40000);
        ck_assert_msg(inet_pton(AF_INET, addr, &s4->sin_addr) == 1, "bad test %s", addr);
    }
    return ss;
}

static struct ip_key key(const char *addr, int v6_prefix)
{
    struct sockaddr_storage ss = peer(addr);
    struct ip_key k;
    ck_assert(connlimit_key((const struct sockaddr *)&ss, v6_prefix, &k));
    return k;
}

static bool same(const char *a, const char *b, int v6_prefix)
{
    struct ip_key ka = key(a, v6_prefix), kb = key(b, v6_prefix);
    return memcmp(&ka, &kb, sizeof ka) == 0;
}

#define ck_same(a, b, p) ck_assert_msg(same(a, b, p), "%s and %s differ at /%d", a, b, p)
#define ck_apart(a, b, p) ck_assert_msg(!same(a, b, p), "%s and %s share at /%d", a, b, p)

static bool take(struct connlimit *cl, const char *addr, int v6_prefix)
{
    struct ip_key k = key(addr, v6_prefix);
    return connlimit_acquire(cl, &k);
}

static void give(struct connlimit *cl, const char *addr, int v6_prefix)
{
    struct ip_key k = key(addr, v6_prefix);
    connlimit_release(cl, &k);
}

static uint32_t held(struct connlimit *cl, const char *addr, int v6_prefix)
{
    struct ip_key k = key(addr, v6_prefix);
    return connlimit_count(cl, &k);
}

/* ------------------------------------------------------------- the keys */

START_TEST(test_key_v6_default_64)
{
    ck_same("2001:db8:1:2::1", "2001:db8:1:2::2", 64);
    ck_same("2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:ffff", 64);
    ck_apart("2001:db8:1:2::1", "2001:db8:1:3::1", 64);
    ck_apart("2001:db8:1:2::1", "2001:db9:1:2::1", 64);
    /* the key is the network: host bits are zero, whatever the address */
    struct ip_key k = key("2001:db8:1:2:aaaa:bbbb:cccc:dddd", 64), net = key("2001:db8:1:2::", 128);
    ck_assert_mem_eq(k.addr, net.addr, 16);
}
END_TEST

START_TEST(test_key_v6_other_prefixes)
{
    /* 128: every address alone */
    ck_apart("2001:db8:1:2::1", "2001:db8:1:2::2", 128);
    ck_same("2001:db8:1:2::1", "2001:db8:1:2:0::1", 128);
    /* 48: the whole site */
    ck_same("2001:db8:1:2::1", "2001:db8:1:ffff::1", 48);
    ck_apart("2001:db8:1:2::1", "2001:db8:2:2::1", 48);
    /* a prefix inside a byte: /60 keeps the top 4 bits of the 8th byte */
    ck_same("2001:db8:1:20::1", "2001:db8:1:2f::1", 60);
    ck_apart("2001:db8:1:20::1", "2001:db8:1:30::1", 60);
    /* the edges of the range */
    ck_same("2001:db8::1", "3fff::1", 1);
    ck_apart("2001:db8::1", "8000::1", 1);
    ck_same("2001:db8::2", "2001:db8::3", 127);
    ck_apart("2001:db8::1", "2001:db8::2", 127);
}
END_TEST

START_TEST(test_key_v4_per_address)
{
    for (int p = 1; p <= 128; p++) {
        ck_apart("10.0.0.1", "10.0.0.2", p);
        ck_apart("10.0.0.1", "10.0.1.1", p);
        ck_same("10.0.0.1", "10.0.0.1", p);
    }
}
END_TEST

START_TEST(test_key_mapped_is_v4)
{
    static const int prefixes[] = { 1, 32, 48, 64, 80, 96, 104, 127, 128 };
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
        int p = prefixes[i];
        ck_same("::ffff:10.0.0.1", "10.0.0.1", p);
        ck_apart("::ffff:10.0.0.1", "::ffff:10.0.0.2", p);   /* not masked as IPv6 */
        ck_apart("::ffff:10.0.0.1", "10.0.0.2", p);
    }
    /* an IPv6 network never shares a key with an IPv4 address */
    ck_apart("::", "0.0.0.0", 64);
    ck_apart("::1", "0.0.0.1", 64);
    ck_apart("::10.0.0.1", "10.0.0.1", 128);               /* IPv4-compatible is not mapped */
    ck_apart("64:ff9b::10.0.0.1", "10.0.0.1", 128);        /* nor is NAT64 */
}
END_TEST

START_TEST(test_key_not_ip)
{
    struct sockaddr_un sun;
    struct ip_key k;
    memset(&sun, 0, sizeof sun);
    sun.sun_family = AF_UNIX;
    ck_assert(!connlimit_key((const struct sockaddr *)&sun, 64, &k));
}
END_TEST

/* ------------------------------------------------------------- the counts */

START_TEST(test_one_64_shares_a_count)
{
    struct connlimit *cl = connlimit_create(2, 64);
    ck_assert_ptr_nonnull(cl);
    ck_assert(take(cl, "2001:db8:1:2::1", 64));
    ck_assert(take(cl, "2001:db8:1:2::2", 64));
    ck_assert(!take(cl, "2001:db8:1:2::3", 64));           /* third of the /64 */
    ck_assert(!take(cl, "2001:db8:1:2::1", 64));
    ck_assert_uint_eq(held(cl, "2001:db8:1:2:dead::beef", 64), 2);
    ck_assert(take(cl, "2001:db8:1:3::1", 64));             /* the next /64: its own */
    ck_assert(take(cl, "2001:db8:1:3::1", 64));
    ck_assert(!take(cl, "2001:db8:1:3::2", 64));
    ck_assert_uint_eq(held(cl, "2001:db8:1:3::", 64), 2);
    connlimit_destroy(&cl);
    ck_assert_ptr_null(cl);
}
END_TEST

START_TEST(test_prefix_128_counts_each_address)
{
    struct connlimit *cl = connlimit_create(1, 64);
    ck_assert_ptr_nonnull(cl);
    ck_assert(take(cl, "2001:db8:1:2::1", 128));
    ck_assert(take(cl, "2001:db8:1:2::2", 128));
    ck_assert(take(cl, "2001:db8:1:2::3", 128));
    ck_assert(!take(cl, "2001:db8:1:2::2", 128));
    ck_assert_uint_eq(held(cl, "2001:db8:1:2::1", 128), 1);
    connlimit_destroy(&cl);
}
END_TEST

START_TEST(test_prefix_48_groups_wider)
{
    struct connlimit *cl = connlimit_create(2, 64);
    ck_assert_ptr_nonnull(cl);
    ck_assert(take(cl, "2001:db8:1:1::1", 48));
    ck_assert(take(cl, "2001:db8:1:ffff::1", 48));          /* another /64, same /48 */
    ck_assert(!take(cl, "2001:db8:1:7::1", 48));
    ck_assert(take(cl, "2001:db8:2:1::1", 48));              /* another /48 */
    ck_assert_uint_eq(held(cl, "2001:db8:1::", 48), 2);
    connlimit_destroy(&cl);
}
END_TEST

START_TEST(test_v4_and_mapped)
{
    struct connlimit *cl = connlimit_create(2, 64);
    ck_assert_ptr_nonnull(cl);
    ck_assert(take(cl, "192.0.2.1", 64));
    ck_assert(take(cl, "::ffff:192.0.2.1", 64));            /* the same host, via IPv6 */
    ck_assert(!take(cl, "192.0.2.1", 64));
    ck_assert(!take(cl, "::ffff:192.0.2.1", 64));
    ck_assert(take(cl, "192.0.2.2", 64));                    /* its neighbour: its own */
    ck_assert(take(cl, "::ffff:192.0.2.3", 64));
    ck_assert_uint_eq(held(cl, "192.0.2.1", 64), 2);
    ck_assert_uint_eq(held(cl, "192.0.2.2", 64), 1);
    ck_assert_uint_eq(held(cl, "192.0.2.3", 64), 1);
    give(cl, "::ffff:192.0.2.1", 64);                        /* released either way */
    ck_assert_uint_eq(held(cl, "192.0.2.1", 64), 1);
    connlimit_destroy(&cl);
}
END_TEST

START_TEST(test_release_gives_slots_back)
{
    struct connlimit *cl = connlimit_create(3, 64);
    ck_assert_ptr_nonnull(cl);
    for (int round = 0; round < 3; round++) {
        ck_assert(take(cl, "2001:db8:1:2::1", 64));
        ck_assert(take(cl, "2001:db8:1:2::2", 64));
        ck_assert(take(cl, "2001:db8:1:2::3", 64));
        ck_assert(!take(cl, "2001:db8:1:2::4", 64));
        ck_assert(take(cl, "10.1.1.1", 64));
        give(cl, "2001:db8:1:2::2", 64);
        ck_assert_uint_eq(held(cl, "2001:db8:1:2::", 64), 2);
        ck_assert(take(cl, "2001:db8:1:2::4", 64));           /* a slot came back */
        give(cl, "2001:db8:1:2::1", 64);
        give(cl, "2001:db8:1:2::3", 64);
        give(cl, "2001:db8:1:2::4", 64);
        give(cl, "10.1.1.1", 64);
        ck_assert_uint_eq(held(cl, "2001:db8:1:2::", 64), 0);
        ck_assert_uint_eq(held(cl, "10.1.1.1", 64), 0);
    }
    give(cl, "2001:db8:9::1", 64);                           /* never taken: no effect */
    ck_assert_uint_eq(held(cl, "2001:db8:9::1", 64), 0);
    connlimit_destroy(&cl);
    connlimit_destroy(&cl);                                  /* NULL: nothing to do */
}
END_TEST

/* Peer i of the randomized test: odd ones are IPv6 hosts (host bits `host`)
 * of their own /64, even ones IPv4 addresses. */
static void addr_of(int i, unsigned host, char *buf, size_t len)
{
    if (i % 2) {
        snprintf(buf, len, "2001:db8:%x:%x::%x", i / 7, i, host);
    } else {
        snprintf(buf, len, "10.0.%d.%d", i / 200, i % 200);
    }
}

/* Many keys colliding in a small table, taken and given back at random, must
 * match a plain array of counts (backward-shift deletion keeps every key
 * findable). */
START_TEST(test_random_vs_reference)
{
    enum { KEYS = 96, CAP = 4, STEPS = 200000 };
    static uint32_t ref[KEYS];
    char addr[64];
    struct connlimit *cl = connlimit_create(CAP, KEYS);
    ck_assert_ptr_nonnull(cl);
    memset(ref, 0, sizeof ref);
    srand(12345);
    for (int step = 0; step < STEPS; step++) {
        int i = rand() % KEYS;
        addr_of(i, (unsigned)rand() % 65536, addr, sizeof addr);
        if (rand() % 2) {
            bool ok = take(cl, addr, 64);
            ck_assert_msg(ok == (ref[i] < CAP), "step %d: %s", step, addr);
            ref[i] += ok;
        } else {
            give(cl, addr, 64);
            ref[i] -= ref[i] > 0;
        }
        ck_assert_uint_eq(held(cl, addr, 64), ref[i]);
    }
    for (int i = 0; i < KEYS; i++) {
        addr_of(i, 0, addr, sizeof addr);
        ck_assert_msg(held(cl, addr, 64) == ref[i], "%s", addr);
    }
    connlimit_destroy(&cl);
}
END_TEST

static Suite *connlimit_suite(void)
{
    Suite *su = suite_create("connlimit");
    TCase *tc = tcase_create("connlimit");
    tcase_add_test(tc, test_key_v6_default_64);
    tcase_add_test(tc, test_key_v6_other_prefixes);
    tcase_add_test(tc, test_key_v4_per_address);
    tcase_add_test(tc, test_key_mapped_is_v4);
    tcase_add_test(tc, test_key_not_ip);
    tcase_add_test(tc, test_one_64_shares_a_count);
    tcase_add_test(tc, test_prefix_128_counts_each_address);
    tcase_add_test(tc, test_prefix_48_groups_wider);
    tcase_add_test(tc, test_v4_and_mapped);
    tcase_add_test(tc, test_release_gives_slots_back);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_random_vs_reference);
    suite_add_tcase(su, tc);
    return su;
}

int main(void)
{
    SRunner *sr = srunner_create(connlimit_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
