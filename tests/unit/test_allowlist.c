/* test_allowlist.c: the --allow / --allow-file networks (sec/allowlist.c).
 * Hand-written cases pin the accepted text, the error messages and every
 * range boundary; a randomized case checks 10,000 overlapping IPv4, IPv6
 * and mapped networks against a brute-force reference on 100,000 peers. */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "sec/allowlist.h"

static char err[1024];

/* ------------------------------------------------------------- helpers */

static struct sockaddr_storage peer(const char *addr)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    if (strchr(addr, ':') != NULL) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        s6->sin6_family = AF_INET6;
        ck_assert_msg(inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1, "bad test %s", addr);
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        ck_assert_msg(inet_pton(AF_INET, addr, &s4->sin_addr) == 1, "bad test %s", addr);
    }
    return ss;
}

static bool admits(const struct allowlist *al, const char *addr)
{
    struct sockaddr_storage ss = peer(addr);
    return allowlist_admit(al, (const struct sockaddr *)&ss);
}

/* A sealed list of the NULL-terminated networks. */
static struct allowlist *make(const char *const *nets)
{
    struct allowlist *al = allowlist_create();
    ck_assert_ptr_nonnull(al);
    for (size_t i = 0; nets[i] != NULL; i++) {
        ck_assert_msg(allowlist_add(al, nets[i], err, sizeof err), "%s: %s", nets[i], err);
    }
    allowlist_seal(al);
    return al;
}

#define MAKE(...) make((const char *const[]){ __VA_ARGS__, NULL })

static void ck_in(const struct allowlist *al, const char *const *in, const char *const *out)
{
    for (size_t i = 0; in[i] != NULL; i++) {
        ck_assert_msg(admits(al, in[i]), "%s refused", in[i]);
    }
    for (size_t i = 0; out[i] != NULL; i++) {
        ck_assert_msg(!admits(al, out[i]), "%s admitted", out[i]);
    }
}

#define IN(...) (const char *const[]){ __VA_ARGS__, NULL }
#define OUT(...) (const char *const[]){ __VA_ARGS__, NULL }

/* ------------------------------------------------------------- parsing */

START_TEST(test_parse_valid)
{
    static const struct { const char *in, *canon; } cases[] = {
        { "10.0.0.0/8", "10.0.0.0/8" },
        { "192.168.1.7", "192.168.1.7/32" },
        { "192.168.1.7/32", "192.168.1.7/32" },
        { "0.0.0.0/0", "0.0.0.0/0" },
        { "255.255.255.255", "255.255.255.255/32" },
        { "::1/128", "::1/128" },
        { "::1", "::1/128" },
        { "::/0", "::/0" },
        { "2001:db8::/32", "2001:db8::/32" },
        { "2001:DB8:0:0::/64", "2001:db8::/64" },
        { "::ffff:10.0.0.0/104", "::ffff:10.0.0.0/104" },
        { "fe80::/10", "fe80::/10" },
        { "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
          "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct allowlist *al = allowlist_create();
        char text[128];
        ck_assert_msg(allowlist_add(al, cases[i].in, err, sizeof err), "%s: %s",
                      cases[i].in, err);
        ck_assert_uint_eq(allowlist_count(al), 1);
        ck_assert_uint_eq(allowlist_format(al, text, sizeof text), strlen(cases[i].canon));
        ck_assert_str_eq(text, cases[i].canon);
        allowlist_destroy(&al);
        ck_assert_ptr_null(al);
    }
}
END_TEST

START_TEST(test_parse_invalid)
{
    static const struct { const char *in, *needle; } cases[] = {
        { "", "empty network; expected ADDRESS or ADDRESS/PREFIX, IPv4 or IPv6" },
        { "10.0.0.0/", "the prefix must be a number 0-32 for IPv4" },
        { "10.0.0.0/33", "the prefix must be a number 0-32 for IPv4" },
        { "10.0.0.0/08", "0-32 for IPv4" },
        { "10.0.0.0/-1", "0-32 for IPv4" },
        { "10.0.0.0/+8", "0-32 for IPv4" },
        { "10.0.0.0/ 8", "0-32 for IPv4" },
        { "10.0.0.0/8 ", "0-32 for IPv4" },
        { "10.0.0.0/8x", "0-32 for IPv4" },
        { "10.0.0.0/8/8", "0-32 for IPv4" },
        { "10.0.0.0/1000", "0-32 for IPv4" },
        { "::/129", "the prefix must be a number 0-128 for IPv6" },
        { "::1/1280", "0-128 for IPv6" },
        { "::1/", "0-128 for IPv6" },
        { " 10.0.0.0/8", "not an IPv4 or IPv6 address" },
        { "10.0.0", "not an IPv4 or IPv6 address" },
        { "10.0.0.256", "not an IPv4 or IPv6 address" },
        { "010.0.0.0/8", "not an IPv4 or IPv6 address" },
        { "1.2.3.4.5", "not an IPv4 or IPv6 address" },
        { "0x0a.0.0.0", "not an IPv4 or IPv6 address" },
        { "10", "not an IPv4 or IPv6 address" },
        { "fe80::1%eth0", "not an IPv4 or IPv6 address" },
        { "[::1]/128", "not an IPv4 or IPv6 address" },
        { "1::2::3", "not an IPv4 or IPv6 address" },
        { "localhost", "not an IPv4 or IPv6 address" },
        { "/8", "not an IPv4 or IPv6 address" },
        { "*", "not an IPv4 or IPv6 address" },
        { "10.0.0.1/8", "host bits are set beyond the /8 prefix; write the network as "
                        "10.0.0.0/8, or the single host as 10.0.0.1/32" },
        { "192.168.1.7/24", "network as 192.168.1.0/24" },
        { "0.0.0.1/0", "network as 0.0.0.0/0" },
        { "2001:db8::1/32", "host bits are set beyond the /32 prefix; write the network "
                            "as 2001:db8::/32, or the single host as 2001:db8::1/128" },
        { "::1/0", "network as ::/0" },
        { "::ffff:10.0.0.0/8", "network as ::/8" },
        { "2001:db8:0:0:8000::/64", "network as 2001:db8::/64" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct allowlist *al = allowlist_create();
        char quoted[128];
        ck_assert_msg(!allowlist_add(al, cases[i].in, err, sizeof err), "took %s",
                      cases[i].in);
        ck_assert_msg(strstr(err, cases[i].needle) != NULL, "%s: %s", cases[i].in, err);
        ck_assert(strchr(err, '\n') == NULL);
        snprintf(quoted, sizeof quoted, "\"%s\"", cases[i].in);
        ck_assert_msg(cases[i].in[0] == '\0' || strstr(err, quoted) != NULL,
                      "input not named: %s", err);
        ck_assert_uint_eq(allowlist_count(al), 0);
        allowlist_destroy(&al);
    }
}
END_TEST

START_TEST(test_parse_hostile_text)
{
    struct allowlist *al = allowlist_create();
    char big[4096];
    memset(big, '1', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    ck_assert(!allowlist_add(al, big, err, sizeof err));
    ck_assert_msg(strstr(err, "longer than 64 bytes") != NULL, "%s", err);
    ck_assert(strlen(err) < 400);
    ck_assert(!allowlist_add(al, "\x01\x7f\n\"", err, sizeof err));
    ck_assert_msg(strstr(err, "\"????\": not an IPv4") != NULL, "%s", err);
    ck_assert(!allowlist_add(al, "10.0.0.0/8\n", err, sizeof err));
    ck_assert(strchr(err, '\n') == NULL);
    /* a message never overruns a small buffer */
    char small[16];
    ck_assert(!allowlist_add(al, "10.0.0.1/8", small, sizeof small));
    ck_assert_uint_eq(strlen(small), sizeof small - 1);
    ck_assert_uint_eq(allowlist_count(al), 0);
    allowlist_destroy(&al);
    allowlist_destroy(&al);     /* NULL is fine */
}
END_TEST

/* ------------------------------------------------------------ matching */

START_TEST(test_match_v4_boundaries)
{
    struct allowlist *al = MAKE("10.0.0.0/8", "192.168.1.7", "0.0.0.0/8",
                                "255.255.255.0/24", "172.16.0.0/12");
    ck_in(al, IN("10.0.0.0", "10.255.255.255", "10.1.2.3", "192.168.1.7", "0.0.0.0",
                 "0.255.255.255", "255.255.255.0", "255.255.255.255", "172.16.0.0",
                 "172.31.255.255"),
          OUT("9.255.255.255", "11.0.0.0", "192.168.1.6", "192.168.1.8", "1.0.0.0",
              "255.255.254.255", "172.15.255.255", "172.32.0.0", "127.0.0.1"));
    allowlist_destroy(&al);
}
END_TEST

START_TEST(test_match_v6_boundaries)
{
    struct allowlist *al = MAKE("2001:db8::/32", "::1", "::/128",
                                "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff00/120",
                                "2001:db9:0:1::/64", "fe80::/10");
    ck_in(al, IN("2001:db8::", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", "2001:db8:1::5",
                 "::1", "::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
                 "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff00", "2001:db9:0:1::",
                 "2001:db9:0:1:ffff:ffff:ffff:ffff", "fe80::1", "febf:ffff::1"),
          OUT("2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", "2001:db9::", "::2",
              "ffff:ffff:ffff:ffff:ffff:ffff:ffff:feff", "2001:db9:0:0:ffff:ffff:ffff:ffff",
              "2001:db9:0:2::", "fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fec0::",
              "::ffff:127.0.0.1"));
    ck_assert(!admits(al, "127.0.0.1"));
    allowlist_destroy(&al);
}
END_TEST

START_TEST(test_match_mapped)
{
    /* IPv4 entries admit mapped peers; mapped entries admit IPv4 peers. */
    struct allowlist *al = MAKE("10.0.0.0/8", "::ffff:192.168.0.0/112");
    ck_in(al, IN("10.1.2.3", "::ffff:10.1.2.3", "::ffff:10.0.0.0", "::ffff:10.255.255.255",
                 "192.168.5.5", "::ffff:192.168.255.255"),
          OUT("::ffff:11.0.0.0", "::ffff:9.255.255.255", "192.169.0.0",
              "::10.1.2.3",               /* IPv4-compatible: not IPv4 */
              "64:ff9b::a01:203",         /* NAT64: not IPv4 either */
              "::ffff:0:a01:203", "::fffe:a01:203", "::1:ffff:a01:203"));
    allowlist_destroy(&al);
}
END_TEST

/* Networks around the IPv4 block are split between the two tables. */
START_TEST(test_match_around_v4_block)
{
    struct allowlist *al = MAKE("::fffe:0:0/95");   /* ::fffe:0:0 - ::ffff:ffff:ffff */
    ck_in(al, IN("::fffe:0:0", "::fffe:ffff:ffff", "0.0.0.0", "255.255.255.255",
                 "::ffff:1.2.3.4"),
          OUT("::fffd:ffff:ffff", "::1:0:0:0"));
    ck_assert_uint_eq(allowlist_range_count(al), 2);
    ck_assert(allowlist_contains_everything(al));    /* all of IPv4 */
    allowlist_destroy(&al);

    al = MAKE("::/80", "::1:0:0:0/128");
    ck_in(al, IN("::", "::1", "::fffe:ffff:ffff", "1.2.3.4", "::1:0:0:0"),
          OUT("::1:0:0:1", "2001:db8::1"));
    ck_assert_uint_eq(allowlist_range_count(al), 3);  /* below, IPv4, above */
    allowlist_destroy(&al);

    al = MAKE("::/0");
    ck_in(al, IN("::", "1.2.3.4", "0.0.0.0", "255.255.255.255", "2001:db8::1",
                 "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), OUT(NULL));
    ck_assert_uint_eq(allowlist_range_count(al), 3);
    allowlist_destroy(&al);

    al = MAKE("0.0.0.0/0");
    ck_in(al, IN("0.0.0.0", "255.255.255.255", "::ffff:8.8.8.8"), OUT("::1", "2001:db8::1"));
    allowlist_destroy(&al);
}
END_TEST

START_TEST(test_merge)
{
    struct allowlist *al = MAKE("10.1.0.0/16", "10.0.0.0/8", "10.1.2.3", "10.0.0.0/8");
    ck_assert_uint_eq(allowlist_count(al), 4);
    ck_assert_uint_eq(allowlist_range_count(al), 1);
    ck_in(al, IN("10.0.0.0", "10.255.255.255"), OUT("9.255.255.255", "11.0.0.0"));
    allowlist_destroy(&al);

    /* adjacent halves become one range, with no gap at the seam */
    al = MAKE("10.128.0.0/9", "10.0.0.0/9");
    ck_assert_uint_eq(allowlist_range_count(al), 1);
    ck_in(al, IN("10.127.255.255", "10.128.0.0", "10.0.0.0", "10.255.255.255"),
          OUT("11.0.0.0"));
    allowlist_destroy(&al);

    /* a gap of one address stays a gap */
    al = MAKE("10.0.0.0/31", "10.0.0.3");
    ck_assert_uint_eq(allowlist_range_count(al), 2);
    ck_in(al, IN("10.0.0.0", "10.0.0.1", "10.0.0.3"), OUT("10.0.0.2", "10.0.0.4"));
    allowlist_destroy(&al);

    /* IPv6 halves meeting at the 64-bit seam */
    al = MAKE("2001:db8::/64", "2001:db8:0:1::/64", "2001:db8::8000:0:0:0/65");
    ck_assert_uint_eq(allowlist_range_count(al), 1);
    ck_in(al, IN("2001:db8::ffff:ffff:ffff:ffff", "2001:db8:0:1::"),
          OUT("2001:db8:0:2::", "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff"));
    allowlist_destroy(&al);

    /* an IPv4 entry and its mapped spelling are the same network */
    al = MAKE("10.0.0.0/8", "::ffff:10.0.0.0/104", "::ffff:10.0.0.0/105");
    ck_assert_uint_eq(allowlist_range_count(al), 1);
    allowlist_destroy(&al);

    /* the top and bottom of the space */
    al = MAKE("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff::/16", "::", "::/120");
    ck_assert_uint_eq(allowlist_range_count(al), 2);
    allowlist_destroy(&al);
}
END_TEST

START_TEST(test_contains_everything)
{
    static const struct { const char *nets[3]; bool before_seal, after_seal; } cases[] = {
        { { "0.0.0.0/0" }, true, true },
        { { "::/0" }, true, true },
        { { "10.0.0.0/8", "::/0" }, true, true },
        { { "0.0.0.0/1", "128.0.0.0/1" }, false, true },
        { { "::/1", "8000::/1" }, false, true },
        { { "::ffff:0.0.0.0/96" }, false, true },
        { { "::/1" }, false, true },             /* holds the IPv4 block */
        { { "8000::/1" }, false, false },
        { { "10.0.0.0/8" }, false, false },
        { { "0.0.0.0/1" }, false, false },
        { { "2000::/3" }, false, false },
    };
    ck_assert(!allowlist_contains_everything(NULL));
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct allowlist *al = allowlist_create();
        for (size_t j = 0; j < 3 && cases[i].nets[j] != NULL; j++) {
            ck_assert(allowlist_add(al, cases[i].nets[j], err, sizeof err));
        }
        ck_assert_msg(allowlist_contains_everything(al) == cases[i].before_seal,
                      "case %zu before seal", i);
        allowlist_seal(al);
        ck_assert_msg(allowlist_contains_everything(al) == cases[i].after_seal,
                      "case %zu after seal", i);
        allowlist_destroy(&al);
    }
}
END_TEST

START_TEST(test_fail_closed)
{
    struct allowlist *al = allowlist_create();
    struct sockaddr_un un = { .sun_family = AF_UNIX };
    ck_assert(!admits(NULL, "127.0.0.1"));
    ck_assert(!allowlist_admit(al, NULL));
    allowlist_seal(al);                              /* empty: nobody */
    ck_assert(!admits(al, "127.0.0.1"));
    ck_assert(!admits(al, "::1"));
    ck_assert_uint_eq(allowlist_range_count(al), 0);
    ck_assert(allowlist_add(al, "127.0.0.0/8", err, sizeof err));
    ck_assert(!admits(al, "127.0.0.1"));             /* not sealed yet */
    allowlist_seal(al);
    ck_assert(admits(al, "127.0.0.1"));
    ck_assert(!allowlist_admit(al, (const struct sockaddr *)&un));
    ck_assert(allowlist_add(al, "::1", err, sizeof err));    /* unseals */
    ck_assert(!admits(al, "127.0.0.1"));
    allowlist_seal(al);
    allowlist_seal(al);                              /* idempotent */
    ck_assert(admits(al, "127.0.0.1") && admits(al, "::1"));
    ck_assert_uint_eq(allowlist_count(NULL), 0);
    allowlist_destroy(&al);
}
END_TEST

/* ------------------------------------------------------- lists, format */

START_TEST(test_add_list)
{
    struct allowlist *al = allowlist_create();
    char text[256];
    ck_assert(allowlist_add_list(al, "10.0.0.0/8, 192.168.0.0/16 ,::1", err, sizeof err));
    ck_assert_uint_eq(allowlist_count(al), 3);
    ck_assert(!allowlist_add_list(al, "172.16.0.0/12,bogus,::2", err, sizeof err));
    ck_assert_msg(strstr(err, "\"bogus\": not an IPv4 or IPv6 address") != NULL, "%s", err);
    ck_assert_uint_eq(allowlist_count(al), 3);       /* all or nothing */
    ck_assert(!allowlist_add_list(al, "172.16.0.0/12,,::2", err, sizeof err));
    ck_assert_msg(strstr(err, "\"172.16.0.0/12,,::2\": empty element in the list") != NULL,
                  "%s", err);
    ck_assert(!allowlist_add_list(al, "172.16.0.0/12,", err, sizeof err));
    ck_assert(!allowlist_add_list(al, "", err, sizeof err));
    ck_assert(!allowlist_add_list(al, " ", err, sizeof err));
    ck_assert_uint_eq(allowlist_count(al), 3);
    allowlist_format(al, text, sizeof text);
    ck_assert_str_eq(text, "10.0.0.0/8,192.168.0.0/16,::1/128");
    allowlist_destroy(&al);
}
END_TEST

START_TEST(test_format_round_trip)
{
    static const char list[] = "10.0.0.0/8,192.168.1.7/32,::1/128,2001:db8::/32,"
                               "::ffff:10.0.0.0/104,0.0.0.0/0,::/0";
    struct allowlist *a = allowlist_create(), *b = allowlist_create();
    char text[512], small[12];
    ck_assert(allowlist_add_list(a, list, err, sizeof err));
    ck_assert_uint_eq(allowlist_format(a, text, sizeof text), strlen(list));
    ck_assert_str_eq(text, list);
    ck_assert(allowlist_add_list(b, text, err, sizeof err));
    allowlist_format(b, text, sizeof text);
    ck_assert_str_eq(text, list);
    /* snprintf's contract: truncated, terminated, full length returned */
    ck_assert_uint_eq(allowlist_format(a, small, sizeof small), strlen(list));
    ck_assert_str_eq(small, "10.0.0.0/8,");
    ck_assert_uint_eq(allowlist_format(a, NULL, 0), strlen(list));
    ck_assert_uint_eq(allowlist_format(NULL, small, sizeof small), 0);
    ck_assert_str_eq(small, "");
    allowlist_destroy(&a);
    allowlist_destroy(&b);
}
END_TEST

/* Each network as added, its text as format writes it, and whether it lies
 * inside loopback: the edges of 127.0.0.0/8, its mapped form and ::1. */
START_TEST(test_net_at)
{
    static const struct {
        const char *given, *text;
        bool loopback;
    } cases[] = {
        { "127.0.0.0/8", "127.0.0.0/8", true },
        { "127.0.0.1", "127.0.0.1/32", true },
        { "127.255.0.0/16", "127.255.0.0/16", true },
        { "126.0.0.0/7", "126.0.0.0/7", false },          /* holds 127/8 and more */
        { "128.0.0.0/8", "128.0.0.0/8", false },
        { "0.0.0.0/0", "0.0.0.0/0", false },
        { "::1", "::1/128", true },
        { "::/127", "::/127", false },                    /* ::0 and ::1 */
        { "::2", "::2/128", false },
        { "::ffff:127.0.0.1", "::ffff:127.0.0.1/128", true },
        { "::ffff:127.0.0.0/104", "::ffff:127.0.0.0/104", true },
        { "::ffff:126.0.0.0/103", "::ffff:126.0.0.0/103", false },
        { "::ffff:0:0/96", "::ffff:0.0.0.0/96", false },
        { "::127.0.0.1", "::127.0.0.1/128", false },      /* compatible, not mapped */
        { "10.0.0.0/8", "10.0.0.0/8", false },
        { "10.0.0.0/8", "10.0.0.0/8", false },            /* duplicates stay */
    };
    size_t n = sizeof cases / sizeof cases[0];
    struct allowlist *al = allowlist_create();
    struct allowlist_net net;
    for (size_t i = 0; i < n; i++) {
        ck_assert_msg(allowlist_add(al, cases[i].given, err, sizeof err), "%s", err);
    }
    for (int sealed = 0; sealed < 2; sealed++) {
        for (size_t i = 0; i < n; i++) {
            ck_assert(allowlist_net_at(al, i, &net));
            ck_assert_str_eq(net.text, cases[i].text);
            ck_assert_msg(net.loopback == cases[i].loopback, "%s", cases[i].given);
        }
        ck_assert(!allowlist_net_at(al, n, &net));
        allowlist_seal(al);
    }
    ck_assert(!allowlist_net_at(NULL, 0, &net));
    allowlist_destroy(&al);
}
END_TEST

/* ---------------------------------------------------------------- files */

static void write_temp(char *path, size_t len, const char *content, size_t n)
{
    const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(path, len, "%s/hc_allow_XXXXXX", dir);
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, content, n), (ssize_t)n);
    close(fd);
}

#define TEMP(path, lit) write_temp((path), sizeof(path), (lit), sizeof(lit) - 1)

START_TEST(test_file_load)
{
    char path[256], text[512];
    struct allowlist *al = allowlist_create();
    TEMP(path, "# office and VPN\n"
               "\n"
               "10.0.0.0/8\n"
               "   192.168.1.7   # the monitoring host\n"
               "\t2001:db8::/32\r\n"
               "#::1\n"
               "   \t  \n"
               "::ffff:172.16.0.0/108");          /* no final newline */
    ck_assert_msg(allowlist_load_file(al, path, err, sizeof err), "%s", err);
    unlink(path);
    ck_assert_uint_eq(allowlist_count(al), 4);
    allowlist_format(al, text, sizeof text);
    ck_assert_str_eq(text, "10.0.0.0/8,192.168.1.7/32,2001:db8::/32,::ffff:172.16.0.0/108");
    allowlist_seal(al);
    ck_in(al, IN("10.9.9.9", "192.168.1.7", "2001:db8::1", "172.16.0.1"),
          OUT("::1", "192.168.1.8"));
    allowlist_destroy(&al);

    al = allowlist_create();
    TEMP(path, "");
    ck_assert(allowlist_load_file(al, path, err, sizeof err));
    ck_assert_uint_eq(allowlist_count(al), 0);
    unlink(path);
    allowlist_destroy(&al);
}
END_TEST

static void ck_file_error(const char *content, size_t n, unsigned line, const char *needle)
{
    char path[256], want[300];
    struct allowlist *al = allowlist_create();
    ck_assert(allowlist_add(al, "127.0.0.1", err, sizeof err));
    write_temp(path, sizeof path, content, n);
    ck_assert_msg(!allowlist_load_file(al, path, err, sizeof err), "took %s", content);
    snprintf(want, sizeof want, "%s:%u: ", path, line);
    ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "want %s in: %s", want, err);
    ck_assert_msg(strstr(err, needle) != NULL, "want %s in: %s", needle, err);
    ck_assert(strchr(err, '\n') == NULL);
    ck_assert_uint_eq(allowlist_count(al), 1);       /* all or nothing */
    unlink(path);
    allowlist_destroy(&al);
}

#define CK_FILE_ERROR(lit, line, needle) ck_file_error((lit), sizeof(lit) - 1, (line), (needle))

START_TEST(test_file_errors)
{
    char longline[2100];
    CK_FILE_ERROR("10.0.0.0/8\n# ok\n\n10.0.0.1/8\n::1\n", 4,
                  "\"10.0.0.1/8\": host bits are set beyond the /8 prefix");
    CK_FILE_ERROR("bogus\n", 1, "\"bogus\": not an IPv4 or IPv6 address; expected");
    CK_FILE_ERROR("10.0.0.0/8 10.1.0.0/16\n", 1, "one network per line");
    CK_FILE_ERROR("10.0.0.0/8,10.1.0.0/16\n", 1, "one network per line");
    CK_FILE_ERROR("::1\n10.0.0.0/33", 2, "0-32 for IPv4");
    CK_FILE_ERROR("::1\n\0\n", 2, "NUL byte");
    memset(longline, ' ', sizeof longline);
    memcpy(longline + 2000, "::1\n", 5);
    ck_file_error(longline, strlen(longline), 1, "line longer than 1024 bytes");
    /* a long comment is still a long line: every line has a bound */
    longline[0] = '#';
    ck_file_error(longline, strlen(longline), 1, "line longer than 1024 bytes");
}
END_TEST

START_TEST(test_file_unreadable)
{
    struct allowlist *al = allowlist_create();
    char dir[256];
    ck_assert(!allowlist_load_file(al, "/nonexistent/allow.txt", err, sizeof err));
    ck_assert_str_eq(err, "/nonexistent/allow.txt: cannot open: No such file or directory");
    snprintf(dir, sizeof dir, "%s", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    ck_assert(!allowlist_load_file(al, dir, err, sizeof err));
    ck_assert_msg(strstr(err, ": not a regular file") != NULL, "%s", err);
    ck_assert(!allowlist_load_file(al, "/dev/zero", err, sizeof err));
    ck_assert_str_eq(err, "/dev/zero: not a regular file");
    ck_assert(!allowlist_load_file(al, "/tmp/\x01\n", err, sizeof err));
    ck_assert_str_eq(err, "/tmp/??: cannot open: No such file or directory");
    ck_assert_uint_eq(allowlist_count(al), 0);
    allowlist_destroy(&al);
}
END_TEST

/* The bytes of an --allow-file as a reload gets them from the file reader. */
START_TEST(test_text_load)
{
    static const char text[] = "# office\n10.0.0.0/8\r\n  ::1 # me\n\n192.168.0.0/16";
    char a[256], b[256], path[256];
    struct allowlist *al = allowlist_create(), *from_file = allowlist_create();
    ck_assert_msg(allowlist_add_text(al, "/etc/allow", text, sizeof text - 1, err, sizeof err), "%s", err);
    ck_assert_uint_eq(allowlist_count(al), 3);
    TEMP(path, "# office\n10.0.0.0/8\r\n  ::1 # me\n\n192.168.0.0/16");
    ck_assert(allowlist_load_file(from_file, path, err, sizeof err));
    unlink(path);
    allowlist_format(al, a, sizeof a);
    allowlist_format(from_file, b, sizeof b);
    ck_assert_str_eq(a, b);                         /* the file and its bytes agree */
    allowlist_destroy(&from_file);

    /* only len bytes count: no NUL needed, nothing read past the end */
    static const char cut[] = { ':', ':', '2', '\n', '1', '0', '.', '1', '.', '0', '.', '0', '/', '1', '6', 'X' };
    ck_assert_msg(allowlist_add_text(al, "cut", cut, sizeof cut - 1, err, sizeof err), "%s", err);
    ck_assert_uint_eq(allowlist_count(al), 5);
    ck_assert(allowlist_add_text(al, "empty", "", 0, err, sizeof err));
    ck_assert(allowlist_add_text(al, "empty", NULL, 0, err, sizeof err));
    ck_assert_uint_eq(allowlist_count(al), 5);
    allowlist_seal(al);
    ck_in(al, IN("10.1.2.3", "::1", "::2", "192.168.7.7"), OUT("11.0.0.1", "::3"));
    allowlist_destroy(&al);
}
END_TEST

static void ck_text_error(const char *name, const char *text, size_t n, const char *want)
{
    struct allowlist *al = allowlist_create();
    ck_assert(allowlist_add(al, "127.0.0.1", err, sizeof err));
    ck_assert_msg(!allowlist_add_text(al, name, text, n, err, sizeof err), "took %s", text);
    ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "want %s in: %s", want, err);
    ck_assert(strchr(err, '\n') == NULL);
    ck_assert_uint_eq(allowlist_count(al), 1);       /* all or nothing */
    allowlist_seal(al);
    ck_assert(admits(al, "127.0.0.1"));             /* what was there still works */
    allowlist_destroy(&al);
}

#define CK_TEXT_ERROR(name, lit, want) ck_text_error((name), (lit), sizeof(lit) - 1, (want))

START_TEST(test_text_errors)
{
    char longline[1100];
    CK_TEXT_ERROR("/etc/allow", "10.0.0.0/8\n::1\nbogus\n", "/etc/allow:3: \"bogus\": not an IPv4 or IPv6");
    CK_TEXT_ERROR("/etc/allow", "10.0.0.1/8", "/etc/allow:1: \"10.0.0.1/8\": host bits are set");
    CK_TEXT_ERROR("/etc/allow", "::1\n10.0.0.0/8 ::2\n", "/etc/allow:2: \"10.0.0.0/8 ::2\": one network per line");
    CK_TEXT_ERROR("/etc/allow", "::1\n::2\0\n", "/etc/allow:2: NUL byte in the line");
    CK_TEXT_ERROR("/etc/\x1b[31m\n", "x\n", "/etc/?[31m?:1: \"x\"");   /* the name is shown safely */
    memset(longline, '#', sizeof longline);
    ck_text_error("/etc/allow", longline, sizeof longline, "/etc/allow:1: line longer than 1024 bytes");
    memcpy(longline + 1024, "\n", 1);              /* 1024 bytes and its newline: fine */
    struct allowlist *al = allowlist_create();
    ck_assert_msg(allowlist_add_text(al, "edge", longline, sizeof longline, err, sizeof err), "%s", err);
    allowlist_destroy(&al);
}
END_TEST

/* A file is bounded as a line is: a huge (sparse) file is refused whole. */
START_TEST(test_file_too_large)
{
    char path[256];
    struct allowlist *al = allowlist_create();
    TEMP(path, "::1\n");
    ck_assert_int_eq(truncate(path, (off_t)ALLOWLIST_FILE_MAX + 1), 0);
    ck_assert(!allowlist_load_file(al, path, err, sizeof err));
    unlink(path);
    ck_assert_msg(strstr(err, ": larger than 4 MiB") != NULL, "%s", err);
    ck_assert_uint_eq(allowlist_count(al), 0);
    allowlist_destroy(&al);
}
END_TEST

/* ------------------------------------------------ random vs brute force */

struct u128 {
    uint64_t hi, lo;
};

struct ref {
    struct u128 net, mask;   /* mask: ones over the prefix */
};

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
    uint64_t x = rng_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng_state = x;
    return x * 0x2545f4914f6cdd1dull;
}

static struct u128 prefix_mask(unsigned p)
{
    struct u128 m = { 0, 0 };
    m.hi = p == 0 ? 0 : p >= 64 ? UINT64_MAX : UINT64_MAX << (64 - p);
    m.lo = p <= 64 ? 0 : p == 128 ? UINT64_MAX : UINT64_MAX << (128 - p);
    return m;
}

static const uint64_t V4_HI = 0, V4_LO = 0x0000ffff00000000ull;

/* A random network shaped to overlap others: a few popular first bytes,
 * prefix lengths that nest. Written as IPv4, IPv6, or mapped IPv6. */
static void random_network(char *text, size_t len, struct ref *r)
{
    static const uint32_t v4_tops[] = { 0x0a000000, 0xac100000, 0xc0a80000, 0, 0xff000000 };
    static const uint64_t v6_tops[] = { 0x20010db800000000ull, 0x20010db900000000ull,
                                        0xfe80000000000000ull, 0, UINT64_MAX };
    unsigned kind = (unsigned)(rnd() % 4);
    unsigned char b[16] = { 0 };
    char addr[INET6_ADDRSTRLEN];
    if (kind <= 1 || kind == 3) {
        unsigned p = kind == 3 ? 12 + (unsigned)(rnd() % 21) : 16 + (unsigned)(rnd() % 17);
        uint32_t a = (uint32_t)rnd();
        if (rnd() % 4 != 0) {
            a = v4_tops[rnd() % 5] | (a & 0x000fffff);
        }
        a &= p == 0 ? 0 : UINT32_MAX << (32 - p);
        r->net = (struct u128){ V4_HI, V4_LO | a };
        r->mask = prefix_mask(96 + p);
        b[10] = b[11] = 0xff;
        b[12] = (unsigned char)(a >> 24);
        b[13] = (unsigned char)(a >> 16);
        b[14] = (unsigned char)(a >> 8);
        b[15] = (unsigned char)a;
        if (kind == 3) {
            inet_ntop(AF_INET6, b, addr, sizeof addr);
            snprintf(text, len, "%s/%u", addr, 96 + p);
        } else {
            inet_ntop(AF_INET, b + 12, addr, sizeof addr);
            snprintf(text, len, "%s/%u", addr, p);
        }
        return;
    }
    uint64_t top = v6_tops[rnd() % 5];
    unsigned p = 32 + (unsigned)(rnd() % 97);
    struct u128 a = { top | (rnd() & 0xffffffffull), rnd() };
    if (top == 0) {   /* around the IPv4 block: ::fffe:*, ::ffff:*, ::1:* */
        static const uint64_t near[] = { 0x0000fffe, 0x0000ffff, 0x00010000 };
        p = 104 + (unsigned)(rnd() % 25);
        a = (struct u128){ 0, near[rnd() % 3] << 32 | (rnd() & 0xffffffffull) };
    }
    struct u128 m = prefix_mask(p);
    a.hi &= m.hi;
    a.lo &= m.lo;
    r->net = a;
    r->mask = m;
    for (int i = 0; i < 8; i++) {
        b[i] = (unsigned char)(a.hi >> (56 - 8 * i));
        b[8 + i] = (unsigned char)(a.lo >> (56 - 8 * i));
    }
    inet_ntop(AF_INET6, b, addr, sizeof addr);
    snprintf(text, len, "%s/%u", addr, p);
}

static bool ref_admits(const struct ref *refs, size_t n, struct u128 x)
{
    for (size_t i = 0; i < n; i++) {
        if ((x.hi & refs[i].mask.hi) == refs[i].net.hi &&
            (x.lo & refs[i].mask.lo) == refs[i].net.lo) {
            return true;
        }
    }
    return false;
}

/* A peer near the networks: inside one, at its edges, or anywhere. */
static struct u128 random_peer(const struct ref *refs, size_t n)
{
    const struct ref *r = &refs[rnd() % n];
    struct u128 x = { rnd(), rnd() };
    switch (rnd() % 6) {
    case 0:  /* inside */
        return (struct u128){ r->net.hi | (x.hi & ~r->mask.hi), r->net.lo | (x.lo & ~r->mask.lo) };
    case 1:  /* first */
        return r->net;
    case 2:  /* just before */
        return (struct u128){ r->net.hi - (r->net.lo == 0), r->net.lo - 1 };
    case 3:  /* last */
        return (struct u128){ r->net.hi | ~r->mask.hi, r->net.lo | ~r->mask.lo };
    case 4: { /* just after */
        struct u128 l = { r->net.hi | ~r->mask.hi, r->net.lo | ~r->mask.lo };
        return (struct u128){ l.hi + (l.lo == UINT64_MAX), l.lo + 1 };
    }
    default: /* anywhere near a popular prefix */
        if (rnd() % 2) {
            return (struct u128){ V4_HI, V4_LO | (uint32_t)x.lo };
        }
        return (struct u128){ r->net.hi ^ (x.hi & 0xffffffffull), x.lo };
    }
}

static void to_sockaddr(struct u128 x, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    bool v4 = x.hi == V4_HI && (x.lo >> 32) == (V4_LO >> 32);
    if (v4 && rnd() % 2) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
        s4->sin_family = AF_INET;
        s4->sin_addr.s_addr = htonl((uint32_t)x.lo);
        return;
    }
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
    s6->sin6_family = AF_INET6;
    for (int i = 0; i < 8; i++) {
        s6->sin6_addr.s6_addr[i] = (unsigned char)(x.hi >> (56 - 8 * i));
        s6->sin6_addr.s6_addr[8 + i] = (unsigned char)(x.lo >> (56 - 8 * i));
    }
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#define N_NETS 10000
#define N_PEERS 100000

START_TEST(test_random_vs_brute_force)
{
    static struct ref refs[N_NETS];
    static struct sockaddr_storage peers[N_PEERS];
    static bool want[N_PEERS];
    struct allowlist *al = allowlist_create();
    size_t hits = 0, mismatches = 0;
    for (size_t i = 0; i < N_NETS; i++) {
        char text[80];
        random_network(text, sizeof text, &refs[i]);
        ck_assert_msg(allowlist_add(al, text, err, sizeof err), "%s: %s", text, err);
    }
    allowlist_seal(al);
    ck_assert_uint_eq(allowlist_count(al), N_NETS);
    ck_assert(allowlist_range_count(al) < N_NETS);   /* some merged */
    for (size_t i = 0; i < N_PEERS; i++) {
        struct u128 x = random_peer(refs, N_NETS);
        to_sockaddr(x, &peers[i]);
        want[i] = ref_admits(refs, N_NETS, x);
        hits += want[i];
    }
    /* both answers are well represented */
    ck_assert_msg(hits > N_PEERS / 10 && hits < N_PEERS * 9 / 10, "hits %zu", hits);
    double t0 = now();
    for (size_t i = 0; i < N_PEERS; i++) {
        if (allowlist_admit(al, (const struct sockaddr *)&peers[i]) != want[i]) {
            char addr[INET6_ADDRSTRLEN];
            const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&peers[i];
            const struct sockaddr_in *s4 = (const struct sockaddr_in *)&peers[i];
            if (peers[i].ss_family == AF_INET6) {
                inet_ntop(AF_INET6, &s6->sin6_addr, addr, sizeof addr);
            } else {
                inet_ntop(AF_INET, &s4->sin_addr, addr, sizeof addr);
            }
            if (mismatches++ < 10) {
                fprintf(stderr, "mismatch: %s want %d\n", addr, want[i]);
            }
        }
    }
    double spent = now() - t0;
    ck_assert_uint_eq(mismatches, 0);
    /* 100,000 lookups: a linear scan of 10,000 networks would take seconds */
    ck_assert_msg(spent < 0.5, "100000 lookups took %.3f s", spent);
    allowlist_destroy(&al);
}
END_TEST

static Suite *allowlist_suite(void)
{
    Suite *su = suite_create("allowlist");
    TCase *tc = tcase_create("allowlist");
    TCase *slow = tcase_create("random");
    tcase_add_test(tc, test_parse_valid);
    tcase_add_test(tc, test_parse_invalid);
    tcase_add_test(tc, test_parse_hostile_text);
    tcase_add_test(tc, test_match_v4_boundaries);
    tcase_add_test(tc, test_match_v6_boundaries);
    tcase_add_test(tc, test_match_mapped);
    tcase_add_test(tc, test_match_around_v4_block);
    tcase_add_test(tc, test_merge);
    tcase_add_test(tc, test_contains_everything);
    tcase_add_test(tc, test_fail_closed);
    tcase_add_test(tc, test_add_list);
    tcase_add_test(tc, test_format_round_trip);
    tcase_add_test(tc, test_net_at);
    tcase_add_test(tc, test_file_load);
    tcase_add_test(tc, test_file_errors);
    tcase_add_test(tc, test_file_unreadable);
    tcase_add_test(tc, test_text_load);
    tcase_add_test(tc, test_text_errors);
    tcase_add_test(tc, test_file_too_large);
    /* the brute-force reference is 10^9 comparisons at worst (sanitizers) */
    tcase_set_timeout(slow, 120);
    tcase_add_test(slow, test_random_vs_brute_force);
    suite_add_tcase(su, tc);
    suite_add_tcase(su, slow);
    return su;
}

int main(void)
{
    SRunner *sr = srunner_create(allowlist_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
