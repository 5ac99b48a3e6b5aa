/* test_meta.c: the meta commands (proto/meta.c, store/meta.c) driven without
 * sockets: the exact bytes memcached 1.6.18 answers (measured on it; the
 * integration test tests/integration/test_meta.py checks the same side by
 * side), the win/stale/recache sequence, TTL and last-access arithmetic on a
 * driven clock, the counters, every split of the input, and the bounds: a
 * quiet pipeline stops at the output high-water mark like any other. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "conf/options.h"
#include "conf/settings.h"
#include "proto/proto.h"
#include "proto_fixture.h"

#define EPOCH 1700000000

static struct settings settings;
static struct store *store;
static struct thread_stats tstats;
static struct proto_server srv;
static int64_t now_s;

static void setup(void)
{
    now_s = EPOCH;
    clock_init(now_s);
    settings_defaults(&settings);
    store = fixture_store(&settings);
    srv = fixture_server(store, &settings, &tstats);
}

static void teardown(void)
{
    store_destroy(&store);
}

static void tick(int64_t seconds)
{
    now_s += seconds;
    clock_tick(now_s);
}

/* Feeds input[0, len) in chunks of at most step bytes (0: at once) on one
 * connection (proto_fixture.h); returns what it answered. */
static char *feed(const char *input, size_t len, size_t step, size_t *outlen)
{
    bool closed;
    return fixture_feed(&srv, &tstats, input, len, step, outlen, &closed);
}

static void expect_n(const char *input, size_t len, const char *want)
{
    size_t n;
    char *got = feed(input, len, 0, &n);
    ck_assert_msg(n == strlen(want) && memcmp(got, want, n) == 0,
                  "input %.*s\nwant %s\ngot  %s", (int)len, input, want, got);
    free(got);
}

static void expect(const char *input, const char *want)
{
    expect_n(input, strlen(input), want);
}

static uint64_t stat_of(stat_t *field)
{
    return atomic_load(field);
}

#define O33 "O11111111111111111111111111111111"

/* ---- mg ------------------------------------------------------------------------ */

START_TEST(mg_answers_as_memcached)
{
    expect("mg foo\r\nmg foo v\r\nmg foo O123 kmissing\r\n", "EN\r\nEN\r\nEN O123 kfoo\r\n");
    expect("ms foo 3\r\nabc\r\nmg foo v\r\n", "HD\r\nVA 3\r\nabc\r\n");
    expect("mg foo s v f t c k h l O1 q\r\n", "VA 3 s3 f0 t-1 c1 kfoo h1 l0 O1\r\nabc\r\n");
    expect("mg foo q\r\nmg foo u\r\nmg foo P L\r\nmg foo Pxx Lyy v\r\n",
           "HD\r\nHD\r\nHD\r\nVA 3\r\nabc\r\n");
    /* q hides only a miss; mn ends a quiet pipeline */
    expect("mg missing q\r\nmg missing q k\r\nmn\r\n", "MN\r\n");
    /* a value holding "\r\n" is framed by its length */
    expect("ms crlf 4 F7\r\na\r\nb\r\nmg crlf v f s\r\n", "HD\r\nVA 4 f7 s4\r\na\r\nb\r\n");
    /* any flag's token after its first byte is ignored where it means nothing */
    expect("mg foo vjunk kxyz\r\n", "VA 3 kfoo\r\nabc\r\n");
}
END_TEST

START_TEST(mg_errors_as_memcached)
{
    expect("mg\r\nmx foo\r\n", "ERROR\r\nERROR\r\n");
    expect("mg foo E\r\nmg foo x\r\nmg foo 1\r\n",
           "CLIENT_ERROR invalid flag\r\nCLIENT_ERROR invalid flag\r\nCLIENT_ERROR invalid flag\r\n");
    expect("mg foo v v\r\nmg foo \x7f\r\nmg foo \xc3\r\nmg foo P Pa\r\n",
           "CLIENT_ERROR duplicate flag\r\nCLIENT_ERROR duplicate flag\r\n"
           "CLIENT_ERROR duplicate flag\r\nCLIENT_ERROR duplicate flag\r\n");
    /* T2147483648: refused, not wrapped (1.6.18 reads -2147483648) */
    expect("mg foo Nabc\r\nmg foo T\r\nmg foo R1x\r\nmg foo T2147483648\r\n",
           "CLIENT_ERROR bad token in command line format\r\n"
           "CLIENT_ERROR bad token in command line format\r\n"
           "CLIENT_ERROR bad token in command line format\r\n"
           "CLIENT_ERROR bad token in command line format\r\n");
    /* the last bad argument names the error; a duplicate stops at once */
    expect("mg foo b Tx\r\nmg foo Tx b\r\nmg foo Tx Tx\r\n",
           "CLIENT_ERROR bad token in command line format\r\n"
           "CLIENT_ERROR error decoding key\r\nCLIENT_ERROR duplicate flag\r\n");
    expect("mg k 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17\r\n"
           "mg k 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18\r\n",
           "CLIENT_ERROR invalid flag\r\nCLIENT_ERROR options flags are too long\r\n");
    /* an opaque of 33 bytes: after a miss is counted, or after a T took effect */
    expect("mg missing q " O33 "\r\n", "CLIENT_ERROR opaque token too long\r\n");
    expect("ms e 1 T100\r\nx\r\nmg e T30 " O33 "\r\nmg e t\r\n",
           "HD\r\nCLIENT_ERROR opaque token too long\r\nHD t30\r\n");
    expect("mg e v O1234567890123456789012345678901\r\n",
           "VA 1 O1234567890123456789012345678901\r\nx\r\n");
}
END_TEST

/* An opaque over 32 bytes is refused after memcached fetched the item:
 * without N T R l h it was fetched with its bump (h1 after), with them it
 * was fetched locked and the error skips the bump it makes last; u never
 * bumps. The flags before O acted (T, N's TTL); nothing is counted. */
START_TEST(mg_opaque_error_after_the_fetch)
{
    expect("ms k 1\r\nx\r\nmg k v " O33 "\r\nmg k h\r\n",
           "HD\r\nCLIENT_ERROR opaque token too long\r\nHD h1\r\n");
    expect("ms k1 1\r\nx\r\nmg k1 k s c f t q " O33 "\r\nmg k1 h\r\n",
           "HD\r\nCLIENT_ERROR opaque token too long\r\nHD h1\r\n");
    expect("ms k2 1\r\nx\r\nmg k2 h " O33 "\r\nmg k2 " O33 " l\r\nmg k2 T0 " O33 "\r\n"
           "mg k2 R30 " O33 "\r\nmg k2 u " O33 "\r\nmg k2 h\r\n",
           "HD\r\nCLIENT_ERROR opaque token too long\r\nCLIENT_ERROR opaque token too long\r\n"
           "CLIENT_ERROR opaque token too long\r\nCLIENT_ERROR opaque token too long\r\n"
           "CLIENT_ERROR opaque token too long\r\nHD h0\r\n");
    expect("mg v1 N30 " O33 "\r\nmg v1 t v h\r\nmg v2 " O33 " N30\r\nmg v2 t v h\r\n",
           "CLIENT_ERROR opaque token too long\r\nVA 0 t30 h0\r\n\r\n"
           "CLIENT_ERROR opaque token too long\r\nVA 0 t-1 h0\r\n\r\n");
    uint64_t get = stat_of(&tstats.cmd_get), hits = stat_of(&tstats.get_hits);
    uint64_t touch = stat_of(&tstats.cmd_touch);
    expect("mg k v " O33 "\r\nmg k T30 " O33 "\r\n",
           "CLIENT_ERROR opaque token too long\r\nCLIENT_ERROR opaque token too long\r\n");
    ck_assert_uint_eq(stat_of(&tstats.cmd_get), get);
    ck_assert_uint_eq(stat_of(&tstats.get_hits), hits);
    ck_assert_uint_eq(stat_of(&tstats.cmd_touch), touch);
}
END_TEST

/* C, D and J are safe_strtoull's: 2^63 and up with a '-' anywhere in the
 * token is refused, even past a tab; below 2^63 or without '-' it is read. */
START_TEST(meta_numbers_as_safe_strtoull)
{
    expect("ms k 1\r\n5\r\nms k 1 C9223372036854775808\t-\r\nx\r\n"
           "ms k 7 C9223372036854775808\tT-1\r\nabcdefg\r\nmg k v\r\n",
           "HD\r\nCLIENT_ERROR bad token in command line format\r\n"
           "CLIENT_ERROR bad token in command line format\r\nVA 1\r\n5\r\n");
    expect("md k C9223372036854775808\t-\r\nma k C18446744073709551615\t-\r\n"
           "ma k D9223372036854775808\tz-z\r\nma k N0 J9223372036854775808\t-\r\n",
           "CLIENT_ERROR invalid or duplicate flag\r\nCLIENT_ERROR invalid or duplicate flag\r\n"
           "CLIENT_ERROR invalid or duplicate flag\r\nCLIENT_ERROR invalid or duplicate flag\r\n");
    expect("ma k D9223372036854775808\t v\r\nma k D9223372036854775807\t- v\r\n"
           "md k C9223372036854775808\tz\r\n",
           "VA 19\r\n9223372036854775813\r\nVA 1\r\n4\r\nEX\r\n");   /* wraps at 2^64 */
}
END_TEST

/* ma on an item memcached keeps in chunks (over 512 KiB as it counts) is
 * refused as non-numeric before its cas is compared. */
START_TEST(ma_refuses_chunked_items)
{
    size_t len = 600000;
    char *in = malloc(len + 128);
    int n = sprintf(in, "ms big %zu\r\n", len);
    memset(in + n, 'L', len);
    n += (int)len;
    n += sprintf(in + n, "\r\nma big C1\r\nma big\r\nmg big s\r\n");
    expect_n(in, (size_t)n, "HD\r\nCLIENT_ERROR cannot increment or decrement non-numeric value\r\n"
             "CLIENT_ERROR cannot increment or decrement non-numeric value\r\nHD s600000\r\n");
    free(in);
}
END_TEST

START_TEST(mg_keys_are_bounded)
{
    char line[1200];
    char key[252];
    memset(key, 'k', 251);
    key[251] = '\0';
    snprintf(line, sizeof(line), "mg %s v\r\nms %s 1\r\nx\r\nmn\r\n", key, key);
    /* SECURITY: the refused ms's block is swallowed (1.6.18: "x" runs, ERROR) */
    expect(line, "CLIENT_ERROR bad command line format\r\n"
                 "CLIENT_ERROR bad command line format\r\nMN\r\n");
    key[250] = '\0';
    snprintf(line, sizeof(line), "mg %s v\r\nmd %s\r\nma %s\r\nme %s\r\n", key, key, key, key);
    expect(line, "EN\r\nNF\r\nNF\r\nEN\r\n");
    key[250] = 'k';
    snprintf(line, sizeof(line), "md %s\r\nma %s\r\nme %s\r\n", key, key, key);
    expect(line, "CLIENT_ERROR bad command line format\r\nCLIENT_ERROR bad command line format\r\n"
                 "CLIENT_ERROR bad command line format\r\n");
}
END_TEST

/* ---- base64 keys ------------------------------------------------------------- */

START_TEST(base64_keys_as_memcached)
{
    expect("ms Zm9v 3 c k O9 b\r\nabc\r\n", "HD c1 kZm9v b O9\r\n");
    /* stored with b: k answers in base64 however the key was asked */
    expect("mg Zm9v b k v\r\nmg foo k\r\nmg Zm9v! b k\r\n",
           "VA 3 kZm9v b\r\nabc\r\nHD kZm9v b\r\nHD kZm9v b\r\n");
    /* stored without b: k answers the plain key */
    expect("ms abc 1\r\nx\r\nmg YWJj b k\r\nmg ..YW..Jj.. b k\r\n", "HD\r\nHD kabc\r\nHD kabc\r\n");
    expect("mg YQ== b k\r\nmg =AAA b k\r\nmg AA=A b k\r\nmg YWJjZA==YWJj b k\r\n",
           "EN kYQ== b\r\nEN kAAA= b\r\nEN kAAA= b\r\nEN kYWJjZA== b\r\n");
    expect("mg YQ b k\r\nmg A=== b k\r\nmg ==== b k\r\nmg foo b\r\n",
           "CLIENT_ERROR error decoding key\r\nCLIENT_ERROR error decoding key\r\n"
           "CLIENT_ERROR error decoding key\r\nCLIENT_ERROR error decoding key\r\n");
    /* a binary key may hold a space: "a b" */
    expect("ms YSBi 1 b k\r\nx\r\nmg YSBi b k v\r\nmd YSBi b k q\r\nmd YSBi b k q\r\n",
           "HD kYSBi b\r\nVA 1 kYSBi b\r\nx\r\nNF kYSBi b\r\n");
    expect("ms YWJj 1 b k c ME\r\nx\r\nma YWJj b k\r\n",
           "NS kYWJj b c0\r\nCLIENT_ERROR cannot increment or decrement non-numeric value\r\n");
}
END_TEST

/* ---- ms ------------------------------------------------------------------------ */

START_TEST(ms_answers_as_memcached)
{
    expect("ms foo 3 S3\r\nabc\r\nms foo\r\nms foo -1\r\n",
           "CLIENT_ERROR invalid flag\r\nCLIENT_ERROR bad command line format\r\n"
           "CLIENT_ERROR bad command line format\r\n");
    /* a length it cannot read: the block runs as a command (both servers) */
    expect("ms foo x\r\nabc\r\n", "CLIENT_ERROR bad command line format\r\nERROR\r\n");
    expect("ms foo 3 v v\r\nabc\r\nms foo 3 MX\r\nabc\r\nms foo 3 MSS\r\nabc\r\n"
           "ms foo 3 Fx\r\nabc\r\nms foo 3 Tx\r\nabc\r\nms foo 3 Cx\r\nabc\r\n",
           "CLIENT_ERROR duplicate flag\r\nCLIENT_ERROR invalid mode for ms M token\r\n"
           "CLIENT_ERROR incorrect length for M token\r\nCLIENT_ERROR bad command line format\r\n"
           "CLIENT_ERROR bad token in command line format\r\n"
           "CLIENT_ERROR bad token in command line format\r\n");
    expect("ms foo 3 " O33 " MX\r\nabc\r\nms foo 3 " O33 "\r\nabc\r\n",
           "CLIENT_ERROR invalid mode for ms M token\r\nCLIENT_ERROR opaque token too long\r\n");
    expect("ms k 1 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\r\nx\r\n",
           "CLIENT_ERROR invalid flag\r\n");
    /* SECURITY: swallowed here; 1.6.18 runs "x" (ERROR) */
    expect("ms k 1 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17\r\nx\r\n",
           "CLIENT_ERROR options flags too long\r\n");
    expect("ms foo 3 q\r\nabc\r\nms foo 3 q C99\r\nabc\r\n", "EX\r\n");
    expect("ms foo 3\r\nabcXYmn\r\nms foo 3 q\r\nabcXYmn\r\n",
           "CLIENT_ERROR bad data chunk\r\nMN\r\nCLIENT_ERROR bad data chunk\r\nMN\r\n");
    /* flags 2^32 are refused, not narrowed (1.6.18 stores 0) */
    expect("ms f 1 F4294967296\r\nx\r\nmg f f\r\n", "CLIENT_ERROR bad command line format\r\nEN\r\n");
}
END_TEST

START_TEST(ms_modes_as_memcached)
{
    expect("ms e1 1 T100\r\nx\r\nms e1 1 c ME\r\nx\r\nms e1 1 c MR\r\nx\r\n",
           "HD\r\nNS c0\r\nHD c2\r\n");
    expect("ms e2 1 c MR\r\nx\r\nms e2 1 c MA\r\nx\r\nms e2 1 c MS C0\r\nx\r\n",
           "NS c0\r\nNS c0\r\nNF c0\r\n");
    expect("ms e3 1 ME C5\r\nx\r\nms e3 1 ME C5\r\nx\r\n", "HD\r\nNS\r\n");
    expect("ms e4 1 MR C5\r\nx\r\nms e4 1 MA C5\r\nx\r\nms e4 1 MP C5 I\r\nx\r\n",
           "NF\r\nNS\r\nNS\r\n");
    expect("ms a 1\r\nb\r\nms a 1 MA\r\nc\r\nms a 1 MP\r\na\r\nmg a v\r\n",
           "HD\r\nHD\r\nHD\r\nVA 3\r\nabc\r\n");
    /* with C, append and replace compare the cas too */
    expect("mg a c\r\nms a 1 MA C1\r\nx\r\nms a 1 MA C6 c\r\nd\r\nmg a v\r\n",
           "HD c6\r\nEX\r\nHD c7\r\nVA 4\r\nabcd\r\n");
    expect("ms a 1 MR C1 c\r\nz\r\nms a 1 MR C7 c\r\nz\r\nmg a v\r\n",
           "EX c0\r\nHD c8\r\nVA 1\r\nz\r\n");
    /* a value that cannot be stored takes the old one with it, whatever the mode */
    expect("ms a 2000000 MA\r\n", "SERVER_ERROR object too large for cache\r\n");
    expect("mg a\r\n", "EN\r\n");
}
END_TEST

START_TEST(ms_value_arrives_in_any_split)
{
    static const char script[] = "ms a 5 T100 F3 c k O7\r\nhello\r\nmg a v t f\r\n"
                                 "ms a 2 MA q\r\n!!\r\nmg a v\r\nmd a q\r\nmg a\r\n";
    static const char want[] = "HD c1 ka O7\r\nVA 5 t100 f3\r\nhello\r\nVA 7\r\nhello!!\r\nEN\r\n";
    for (size_t step = 0; step < sizeof(script); step++) {
        teardown();
        setup();
        size_t n;
        char *got = feed(script, sizeof(script) - 1, step, &n);
        ck_assert_msg(strcmp(got, want) == 0, "step %zu: %s", step, got);
        free(got);
    }
}
END_TEST

/* ---- win, stale, recache ------------------------------------------------------- */

START_TEST(vivify_wins_once)
{
    expect("mg viv N30 s t v c\r\nmg viv N30 s t v c\r\nmg viv s t v\r\n",
           "VA 0 s0 t30 c1 W\r\n\r\nVA 0 s0 t30 c1 Z\r\n\r\nVA 0 s0 t30 Z\r\n\r\n");
    /* the exptime N gives is set where N stands: a t before it sees none */
    expect("mg v2 t N30\r\nmg v3 q k O1 N30\r\n", "HD t-1 W\r\nHD kv3 O1 W\r\n");
}
END_TEST

START_TEST(stale_by_cas_as_memcached)
{
    expect("ms st 1 T100\r\nx\r\nms st 1 c\r\ny\r\n", "HD\r\nHD c2\r\n");
    /* an older cas with I stores the value stale under the old TTL */
    expect("ms st 1 I C1 c\r\nz\r\nmg st v c t\r\nmg st v\r\n",
           "HD c3\r\nVA 1 c3 t-1 X W\r\nz\r\nVA 1 Z X\r\nz\r\n");
    /* C0 is no cas: EXISTS; a newer cas than the item's: EXISTS */
    expect("ms st 1 I C0\r\nq\r\nms st 1 I C99\r\nq\r\n", "EX\r\nEX\r\n");
    /* md I: a fresh cas, the W goes to the next reader again */
    expect("md st I T30\r\nmg st t c v\r\nmg st t v\r\n",
           "HD\r\nVA 1 t30 c4 X W\r\nz\r\nVA 1 t30 Z X\r\nz\r\n");
    expect("ms st 1 C999\r\nw\r\nmg st v\r\nms st 1 C4\r\nw\r\nmg st v\r\n",
           "EX\r\nVA 1 Z X\r\nz\r\nHD\r\nVA 1\r\nw\r\n");
}
END_TEST

START_TEST(recache_as_memcached)
{
    expect("ms r1 1 T100\r\nx\r\nmg r1 R30 t\r\nmg r1 R200 t\r\nmg r1 R200\r\nmg r1\r\n",
           "HD\r\nHD t100\r\nHD t100 W\r\nHD Z\r\nHD Z\r\n");
    /* no TTL: never a recache win */
    expect("ms r2 1\r\nx\r\nmg r2 R200\r\n", "HD\r\nHD\r\n");
}
END_TEST

/* ---- md -------------------------------------------------------------------------- */

START_TEST(md_answers_as_memcached)
{
    expect("md d\r\nmd d q\r\nmd d q k O1\r\n", "NF\r\nNF\r\nNF kd O1\r\n");
    expect("ms d 1\r\nx\r\nmd d q\r\nmg d\r\n", "HD\r\nEN\r\n");
    expect("ms d 1\r\nx\r\nmd d C1\r\nmd d C2 k\r\nmg d\r\n", "HD\r\nEX\r\nHD kd\r\nEN\r\n");
    expect("ms d 1 T100\r\nx\r\nmd d T30\r\nmg d\r\n", "HD\r\nHD\r\nEN\r\n");
    expect("md d x\r\nmd d v v\r\nmd d Tx\r\nmd d " O33 "\r\n",
           "CLIENT_ERROR invalid or duplicate flag\r\nCLIENT_ERROR invalid or duplicate flag\r\n"
           "CLIENT_ERROR invalid or duplicate flag\r\nCLIENT_ERROR opaque token too long\r\n");
    expect("md k 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18\r\n",
           "CLIENT_ERROR options flags too long\r\n");
}
END_TEST

/* ---- ma -------------------------------------------------------------------------- */

START_TEST(ma_answers_as_memcached)
{
    expect("ma cnt\r\nma cnt q\r\nmn\r\n", "NF\r\nNF\r\nMN\r\n");
    expect("ma cnt N0 J10 v t c\r\nma cnt v\r\nma cnt v D5 MD\r\nma cnt v D100 M-\r\n",
           "VA 2 t-1 c1\r\n10\r\nVA 2\r\n11\r\nVA 1\r\n6\r\nVA 1\r\n0\r\n");
    expect("ma cnt v M+ D18446744073709551615\r\nma cnt q v\r\nmn\r\n",
           "VA 20\r\n18446744073709551615\r\nMN\r\n");
    expect("ma cnt MX\r\nma cnt Dx\r\nma cnt Jx\r\nma cnt x\r\nma cnt v v\r\nma cnt MII\r\n",
           "CLIENT_ERROR invalid mode for ma M token\r\n"
           "CLIENT_ERROR invalid or duplicate flag\r\nCLIENT_ERROR invalid or duplicate flag\r\n"
           "CLIENT_ERROR invalid or duplicate flag\r\nCLIENT_ERROR invalid or duplicate flag\r\n"
           "CLIENT_ERROR invalid or duplicate flag\r\n");
    expect("ma cnt C1 v\r\nma cnt O1 k\r\n", "EX\r\nHD O1 kcnt\r\n");
    /* q hides a change, not a creation */
    expect("ma cq q N0 O5\r\nma cq q O5\r\nmn\r\n", "HD O5\r\nMN\r\n");
    /* memcached's order: empty value, then cas, then the number */
    expect("ms nn 0\r\n\r\nma nn C1\r\nms nn 2\r\nab\r\nma nn C1\r\nma nn\r\n",
           "HD\r\nCLIENT_ERROR cannot increment or decrement non-numeric value\r\n"
           "HD\r\nEX\r\nCLIENT_ERROR cannot increment or decrement non-numeric value\r\n");
    expect("ms e6 2\r\n 5\r\nma e6 v\r\nmg e6 v\r\n", "HD\r\nVA 1\r\n6\r\nVA 2\r\n6 \r\n");
    /* the change is made before an over-long opaque is refused */
    expect("ms e5 1\r\n5\r\nma e5 " O33 "\r\nmg e5 v\r\n",
           "HD\r\nCLIENT_ERROR opaque token too long\r\nVA 1\r\n6\r\n");
}
END_TEST

START_TEST(ma_wider_value_keeps_old_ttl)
{
    /* 1.6.18: a value that grows a digit lives in a new item, and ma's T
     * goes to the old one; the answer shows the TTL that was not kept */
    expect("ms w 1 T100\r\n9\r\nma w T200 t v c\r\nmg w t c v\r\n",
           "HD\r\nVA 2 t200 c2\r\n10\r\nVA 2 t100 c2\r\n10\r\n");
    expect("ms w2 1 T100\r\n5\r\nma w2 T200 t v c\r\nmg w2 t c v\r\n",
           "HD\r\nVA 1 t200 c4\r\n6\r\nVA 1 t200 c4\r\n6\r\n");
}
END_TEST

/* ---- mn, me ----------------------------------------------------------------------- */

START_TEST(mn_and_me)
{
    expect("mn\r\nmn x y\r\nmz\r\nm\r\nmgg k\r\n", "MN\r\nMN\r\nERROR\r\nERROR\r\nERROR\r\n");
    expect("me\r\nme zz\r\nme zz b\r\n", "CLIENT_ERROR bad command line format\r\nEN\r\n"
           "CLIENT_ERROR bad command line format\r\n");
    /* exp: now - exptime (negative while alive); size: memcached's
     * accounting (48-byte header, cas, key + NUL, flags, value + CRLF);
     * cls: hardcached's own class */
    char want[200];
    expect("ms e 3 F1 T100\r\nabc\r\n", "HD\r\n");
    tick(2);
    snprintf(want, sizeof(want), "ME e exp=-98 la=2 cas=1 fetch=no cls=%u size=67\r\n",
             store_class_for(store, 1, 3));
    expect("me e\r\nme e\r\n", strcat(strcpy((char[400]){ 0 }, want), want));
    snprintf(want, sizeof(want), "HD\r\nHD\r\nME YSBi exp=-1 la=0 cas=2 fetch=yes cls=%u size=63\r\n",
             store_class_for(store, 3, 1));
    expect("ms YSBi 1 b\r\nx\r\nmg YSBi b\r\nme YSBi b\r\n", want);
}
END_TEST

/* ---- time ------------------------------------------------------------------------- */

START_TEST(ttl_and_last_access_follow_the_clock)
{
    expect("ms t 1 T100\r\nx\r\n", "HD\r\n");
    tick(2);
    /* l and h show the item before this read; a read moves l at most once a
     * minute (memcached's ITEM_UPDATE_INTERVAL), u not at all */
    expect("mg t l h t u\r\nmg t l h t\r\nmg t l h\r\n", "HD l2 h0 t98\r\nHD l2 h0 t98\r\nHD l2 h1\r\n");
    tick(70);
    expect("mg t T1000 l h\r\nmg t l t\r\n", "HD l72 h1\r\nHD l0 t1000\r\n");
    expect("mg t T-1 t v\r\nmg t v\r\n", "VA 1 t4294967223\r\nx\r\nEN\r\n");
    expect("ms n 1 T-1\r\nx\r\nmg n\r\n", "HD\r\nEN\r\n");
    expect("ms tab 1 T\t100\r\nx\r\nmg tab t\r\n", "HD\r\nHD t100\r\n");
}
END_TEST

/* ---- counters ---------------------------------------------------------------------- */

START_TEST(counters_as_memcached)
{
    uint64_t get = stat_of(&tstats.cmd_get), hits = stat_of(&tstats.get_hits);
    uint64_t miss = stat_of(&tstats.get_misses), touch = stat_of(&tstats.cmd_touch);
    uint64_t thits = stat_of(&tstats.touch_hits), meta = stat_of(&tstats.cmd_meta);
    uint64_t sets = stat_of(&tstats.cmd_set), dhits = stat_of(&tstats.delete_hits);
    uint64_t dmiss = stat_of(&tstats.delete_misses), ihits = stat_of(&tstats.incr_hits);
    uint64_t imiss = stat_of(&tstats.incr_misses), dchits = stat_of(&tstats.decr_hits);
    uint64_t badval = stat_of(&tstats.cas_badval), cmiss = stat_of(&tstats.cas_misses);
    expect("mn\r\nms sk 1\r\nx\r\nmg sk v\r\nmg nokey v\r\nmg sk T30\r\nmg nokey T30\r\n"
           "mg sk bad\r\nmd sk\r\nmd sk\r\nma n1\r\nma n1 N0\r\nma n1\r\nma n1 MD\r\n"
           "me zz\r\nme yy\r\nms sk 1 C99\r\nx\r\nms n1 1 C1\r\nx\r\nmg vv N30\r\n"
           "mg vv " O33 "\r\nmd vv I\r\nmd vv C1\r\nma n1 C1\r\nms n1 1 MA C1\r\nx\r\n",
           "MN\r\nHD\r\nVA 1\r\nx\r\nEN\r\nHD\r\nEN\r\nCLIENT_ERROR error decoding key\r\n"
           "HD\r\nNF\r\nNF\r\nHD\r\nHD\r\nHD\r\nEN\r\nEN\r\nNF\r\nEX\r\nHD W\r\n"
           "CLIENT_ERROR opaque token too long\r\nHD\r\nEX\r\nEX\r\nEX\r\n");
    ck_assert_uint_eq(stat_of(&tstats.cmd_get) - get, 4);     /* vivify: a hit */
    ck_assert_uint_eq(stat_of(&tstats.get_hits) - hits, 2);
    ck_assert_uint_eq(stat_of(&tstats.get_misses) - miss, 2); /* T on a miss: a get's miss */
    ck_assert_uint_eq(stat_of(&tstats.cmd_touch) - touch, 1);
    ck_assert_uint_eq(stat_of(&tstats.touch_hits) - thits, 1);
    ck_assert_uint_eq(stat_of(&tstats.cmd_meta) - meta, 2);   /* only me counts */
    ck_assert_uint_eq(stat_of(&tstats.cmd_set) - sets, 4);
    ck_assert_uint_eq(stat_of(&tstats.delete_hits) - dhits, 1);
    ck_assert_uint_eq(stat_of(&tstats.delete_misses) - dmiss, 2); /* NF and EX; not I */
    ck_assert_uint_eq(stat_of(&tstats.incr_hits) - ihits, 1);  /* not the creation */
    ck_assert_uint_eq(stat_of(&tstats.incr_misses) - imiss, 1);
    ck_assert_uint_eq(stat_of(&tstats.decr_hits) - dchits, 1);
    ck_assert_uint_eq(stat_of(&tstats.cas_badval) - badval, 1);
    ck_assert_uint_eq(stat_of(&tstats.cas_misses) - cmiss, 1);
}
END_TEST

/* ---- bounds ------------------------------------------------------------------------- */

/* A pipeline of quiet hits stops at the high-water mark like any other: the
 * connection holds at most one answer past it, whatever the client sends. */
START_TEST(quiet_pipeline_output_is_bounded)
{
    static char value[100 * 1024];
    memset(value, 'v', sizeof(value));
    struct buf in, out;
    struct proto_conn pc;
    char line[64];
    buf_init(&in, 8 * 1024 * 1024);
    buf_init(&out, proto_out_limit(settings.item_size_max));
    proto_conn_init(&pc, &tstats);
    int n = snprintf(line, sizeof(line), "ms big %zu\r\n", sizeof(value));
    buf_append(&in, line, (size_t)n);
    buf_append(&in, value, sizeof(value));
    buf_append(&in, "\r\n", 2);
    for (int i = 0; i < 50; i++) {
        buf_append(&in, "mg big v q\r\n", 12);
    }
    enum proto_stop why;
    int budget = 1000;
    size_t used = proto_process(&srv, &pc, buf_head(&in), buf_len(&in), &out, &budget, &why);
    ck_assert_int_eq(why, PROTO_STOP_OUTPUT_FULL);
    ck_assert_uint_le(buf_len(&out), PROTO_OUT_HIGH_WATER + sizeof(value) + 64);
    ck_assert_uint_lt(used, buf_len(&in));
    proto_conn_release(&srv, &pc);
    buf_deinit(&in);
    buf_deinit(&out);
}
END_TEST

/* An answer that finds no output buffer: mg says so as get does; if even
 * that cannot be written, the connection closes. */
START_TEST(answers_without_buffer)
{
    static char value[8000];
    memset(value, 'v', sizeof(value));
    struct buf in, out;
    struct proto_conn pc;
    char line[64];
    buf_init(&in, 1 << 20);
    buf_init(&out, 4096);
    proto_conn_init(&pc, &tstats);
    int n = snprintf(line, sizeof(line), "ms big %zu q\r\n", sizeof(value));
    buf_append(&in, line, (size_t)n);
    buf_append(&in, value, sizeof(value));
    buf_append(&in, "\r\nmg big v\r\nmg big s\r\n", 22);
    enum proto_stop why;
    int budget = 1000;
    proto_process(&srv, &pc, buf_head(&in), buf_len(&in), &out, &budget, &why);
    buf_append(&out, "", 1);
    ck_assert_str_eq(buf_head(&out), "SERVER_ERROR out of memory writing get response\r\nHD s8000\r\n");
    ck_assert(!pc.close);
    proto_conn_release(&srv, &pc);
    buf_deinit(&in);
    buf_deinit(&out);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("meta");
    TCase *tc = tcase_create("meta");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, mg_answers_as_memcached);
    tcase_add_test(tc, mg_errors_as_memcached);
    tcase_add_test(tc, mg_opaque_error_after_the_fetch);
    tcase_add_test(tc, meta_numbers_as_safe_strtoull);
    tcase_add_test(tc, ma_refuses_chunked_items);
    tcase_add_test(tc, mg_keys_are_bounded);
    tcase_add_test(tc, base64_keys_as_memcached);
    tcase_add_test(tc, ms_answers_as_memcached);
    tcase_add_test(tc, ms_modes_as_memcached);
    tcase_add_test(tc, ms_value_arrives_in_any_split);
    tcase_add_test(tc, vivify_wins_once);
    tcase_add_test(tc, stale_by_cas_as_memcached);
    tcase_add_test(tc, recache_as_memcached);
    tcase_add_test(tc, md_answers_as_memcached);
    tcase_add_test(tc, ma_answers_as_memcached);
    tcase_add_test(tc, ma_wider_value_keeps_old_ttl);
    tcase_add_test(tc, mn_and_me);
    tcase_add_test(tc, ttl_and_last_access_follow_the_clock);
    tcase_add_test(tc, counters_as_memcached);
    tcase_add_test(tc, quiet_pipeline_output_is_bounded);
    tcase_add_test(tc, answers_without_buffer);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
