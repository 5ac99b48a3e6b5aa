/* test_proto.c: the ASCII protocol layer driven without sockets: exact reply
 * bytes for valid and invalid commands, and the same answers whatever way
 * the input is split across reads (every byte boundary, byte by byte). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "conf/options.h"
#include "conf/settings.h"
#include "proto/proto.h"
#include "proto_fixture.h"
#include "sec/auth.h"

static struct settings settings;
static struct store *store;
static struct thread_stats tstats;
static struct proto_server srv;

static void setup(void)
{
    clock_init((int64_t)time(NULL));
    settings_defaults(&settings);
    store = fixture_store(&settings);
    srv = fixture_server(store, &settings, &tstats);
}

static void teardown(void)
{
    store_destroy(&store);
    auth_install(NULL);
}

/* Feeds input the way the network layer does (proto_fixture.h). */
static char *feed(const char *input, size_t len, size_t step, bool *closed)
{
    size_t n;
    return fixture_feed(&srv, &tstats, input, len, step, &n, closed);
}

static void expect(const char *input, const char *want)
{
    bool closed;
    char *got = feed(input, strlen(input), 0, &closed);
    ck_assert_msg(strcmp(got, want) == 0, "input %s\nwant %s\ngot  %s", input, want, got);
    free(got);
}

START_TEST(storage_and_retrieval)
{
    expect("set a 5 0 3\r\nabc\r\nget a\r\n", "STORED\r\nVALUE a 5 3\r\nabc\r\nEND\r\n");
    expect("add a 0 0 1\r\nx\r\n", "NOT_STORED\r\n");
    expect("replace zz 0 0 1\r\nx\r\n", "NOT_STORED\r\n");
    expect("append a 0 0 2\r\nde\r\nprepend a 0 0 1\r\n_\r\nget a b\r\n",
           "STORED\r\nSTORED\r\nVALUE a 5 6\r\n_abcde\r\nEND\r\n");
    expect("cas zz 0 0 1 1\r\nx\r\n", "NOT_FOUND\r\n");
    expect("cas a 0 0 1 999999\r\nx\r\n", "EXISTS\r\n");
    expect("delete a\r\ndelete a\r\n", "DELETED\r\nNOT_FOUND\r\n");
    expect("set n 0 0 2\r\n99\r\nincr n 1\r\nget n\r\ndecr n 200\r\n",
           "STORED\r\n100\r\nVALUE n 0 3\r\n100\r\nEND\r\n0\r\n");
    expect("set n 0 0 20\r\n18446744073709551615\r\nincr n 1\r\n", "STORED\r\n0\r\n");
    expect("set t 0 0 1\r\nx\r\ntouch t 100\r\ntouch none 1\r\ngat 100 t\r\n",
           "STORED\r\nTOUCHED\r\nNOT_FOUND\r\nVALUE t 0 1\r\nx\r\nEND\r\n");
}
END_TEST

START_TEST(noreply_silences_every_answer)
{
    expect("set a 0 0 1 noreply\r\nx\r\nget a\r\n", "VALUE a 0 1\r\nx\r\nEND\r\n");
    expect("set a 0 0 1 noreply\r\nxy\r\nget a\r\n", "ERROR\r\nVALUE a 0 1\r\nx\r\nEND\r\n");
    expect("incr a 1 noreply\r\ndelete a noreply\r\ndelete a 0 noreply\r\nflush_all noreply\r\nversion\r\n",
           "VERSION " PROTO_VERSION "\r\n");
}
END_TEST

START_TEST(errors_match_memcached)
{
    expect("\r\n", "ERROR\r\n");
    expect("\n", "ERROR\r\n");
    expect("x\r\n", "ERROR\r\n");
    expect("GET a\r\n", "ERROR\r\n");
    expect("get\r\n", "ERROR\r\n");
    expect("incr a\r\n", "ERROR\r\n");
    expect("incr a -1\r\n", "CLIENT_ERROR invalid numeric delta argument\r\n");
    expect("set s 0 0 1\r\nx\r\nincr s 1\r\n", "STORED\r\nCLIENT_ERROR cannot increment or decrement non-numeric value\r\n");
    /* 2^63 and up: a '-' anywhere in the word refuses it (safe_strtoull),
     * in the delta, the cas and the stored value alike; below 2^63 it is
     * only what follows the blank */
    expect("set d 0 0 1\r\n5\r\nincr d 18446744073709551615\t-\r\n"
           "decr d 9223372036854775808\tz-z\r\nincr d 9223372036854775807\t-\r\n",
           "STORED\r\nCLIENT_ERROR invalid numeric delta argument\r\n"
           "CLIENT_ERROR invalid numeric delta argument\r\n9223372036854775812\r\n");
    expect("set d 0 0 1\r\n5\r\nincr d 9223372036854775808\tz\r\n", "STORED\r\n9223372036854775813\r\n");
    expect("cas d 0 0 1 9223372036854775808\t-\r\nx\r\ncas d 0 0 1 9223372036854775808\t\r\nx\r\n",
           "CLIENT_ERROR bad command line format\r\nEXISTS\r\n");
    expect("set d 0 0 22\r\n18446744073709551615 -\r\nincr d 1\r\n",
           "STORED\r\nCLIENT_ERROR cannot increment or decrement non-numeric value\r\n");
    expect("delete a 1\r\n", "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n");
    expect("touch a x\r\n", "CLIENT_ERROR invalid exptime argument\r\n");
    expect("flush_all x\r\n", "CLIENT_ERROR invalid exptime argument\r\n");
    expect("verbosity x\r\n", "CLIENT_ERROR bad command line format\r\n");
    expect("set b 0 0 1\r\nxyz\r\n", "CLIENT_ERROR bad data chunk\r\nERROR\r\n");
    expect("shutdown\r\n", "ERROR: shutdown not enabled\r\n");
    expect("stats nope\r\n", "ERROR\r\n");
}
END_TEST

START_TEST(keys_and_lengths)
{
    char line[600];
    char key[252];
    memset(key, 'k', 251);
    key[250] = '\0';
    snprintf(line, sizeof(line), "set %s 0 0 1\r\nx\r\n", key);
    expect(line, "STORED\r\n");
    key[250] = 'k';
    key[251] = '\0';
    snprintf(line, sizeof(line), "set %s 0 0 1\r\nx\r\nversion\r\n", key);
    /* the data block is swallowed, never run as a command */
    expect(line, "CLIENT_ERROR bad command line format\r\nVERSION " PROTO_VERSION "\r\n");
    snprintf(line, sizeof(line), "get a %s\r\n", key);
    expect(line, "CLIENT_ERROR bad command line format\r\n");
    expect("set c\x01\x7f 0 0 1\r\nx\r\nget c\x01\x7f\r\n", "STORED\r\nVALUE c\x01\x7f 0 1\r\nx\r\nEND\r\n");
    expect("set f 4294967296 0 1\r\nx\r\nget f\r\n", "CLIENT_ERROR bad command line format\r\nEND\r\n");
    expect("set f 0 2147483648 1\r\nx\r\nget f\r\n", "CLIENT_ERROR bad command line format\r\nEND\r\n");
    expect("set f 0 0 4294967298\r\nxy\r\n", "CLIENT_ERROR bad command line format\r\nERROR\r\n");
    expect("set f 0 0 -1\r\nx\r\n", "CLIENT_ERROR bad command line format\r\nERROR\r\n");
}
END_TEST

START_TEST(nul_ends_a_line)
{
    bool closed;
    const char in[] = "set a 0 0 1\r\nx\r\nget a\0junk\r\n";
    char *got = feed(in, sizeof(in) - 1, 0, &closed);
    ck_assert_str_eq(got, "STORED\r\nVALUE a 0 1\r\nx\r\nEND\r\n");
    free(got);
}
END_TEST

START_TEST(quit_and_long_lines_close)
{
    bool closed;
    const char *in1 = "version\r\nquit\r\nversion\r\n";
    char *got = feed(in1, strlen(in1), 0, &closed);
    ck_assert(closed);
    ck_assert_str_eq(got, "VERSION " PROTO_VERSION "\r\n");
    free(got);
    char junk[4000];
    memset(junk, 'x', sizeof(junk));
    got = feed(junk, sizeof(junk), 0, &closed);
    ck_assert(closed);
    ck_assert_str_eq(got, "");
    free(got);
}
END_TEST

static const char SCRIPT[] =
    "set k1 1 0 5\r\nhello\r\nget k1 k2\r\nadd k2 0 0 2 noreply\r\nhi\r\n"
    "gets k2\r\nincr k3 1\r\nset k3 0 0 1\r\n7\r\nincr k3 5\r\ndecr k3 100\r\n"
    "append k1 0 0 1\r\n!\r\nget k1\r\nset bad 0 0 2\r\nabcd\r\ndelete k2\r\n"
    "set big 0 0 300\r\n"
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
    "\r\nget big\r\nflush_all\r\nget k1\r\nversion\r\n";

/* Replays SCRIPT on a fresh store; the answer must not depend on splits. */
static char *script_answer(size_t step)
{
    teardown();
    setup();
    bool closed;
    return feed(SCRIPT, sizeof(SCRIPT) - 1, step, &closed);
}

START_TEST(split_at_every_boundary)
{
    char *whole = script_answer(0);
    ck_assert(strstr(whole, "VALUE k1 1 6\r\nhello!\r\n") != NULL);
    char *bytewise = script_answer(1);
    ck_assert_str_eq(bytewise, whole);
    free(bytewise);
    /* two chunks, split at every byte: emulate by feeding prefix then rest */
    for (size_t cut = 1; cut < sizeof(SCRIPT) - 1; cut += 1) {
        teardown();
        setup();
        struct proto_conn pc;
        struct buf in, out;
        proto_conn_init(&pc, &tstats);
        buf_init(&in, 1 << 20);
        buf_init(&out, 1 << 20);
        enum proto_stop why;
        int budget = 1000;
        buf_append(&in, SCRIPT, cut);
        buf_consume(&in, proto_process(&srv, &pc, buf_head(&in), buf_len(&in), &out, &budget, &why));
        buf_append(&in, SCRIPT + cut, sizeof(SCRIPT) - 1 - cut);
        buf_consume(&in, proto_process(&srv, &pc, buf_head(&in), buf_len(&in), &out, &budget, &why));
        buf_append(&out, "", 1);
        ck_assert_msg(strcmp(buf_head(&out), whole) == 0, "split at %zu differs", cut);
        proto_conn_release(&srv, &pc);
        buf_deinit(&in);
        buf_deinit(&out);
    }
    free(whole);
}
END_TEST

START_TEST(large_get_resumes_after_output_fills)
{
    /* 8 values of 100 KiB: the answer passes the high-water mark mid-get */
    size_t vlen = 100 * 1024;
    char *val = malloc(vlen);
    memset(val, 'v', vlen);
    struct buf script;
    buf_init(&script, 4 << 20);
    char line[64];
    for (int i = 0; i < 8; i++) {
        int n = snprintf(line, sizeof(line), "set big%d 0 0 %zu\r\n", i, vlen);
        buf_append(&script, line, (size_t)n);
        buf_append(&script, val, vlen);
        buf_append(&script, "\r\n", 2);
    }
    buf_append_lit(&script, "get big0 big1 big2 big3 big4 big5 big6 big7\r\n");
    bool closed;
    char *got = feed(buf_head(&script), buf_len(&script), 0, &closed);
    size_t expect_len = 8 * strlen("STORED\r\n") + 8 * (strlen("VALUE big0 0 102400\r\n") + vlen + 2) + 5;
    ck_assert_uint_eq(strlen(got), expect_len);
    ck_assert(strcmp(got + strlen(got) - 5, "END\r\n") == 0);
    free(got);
    /* a too-long key after values bigger than the high-water mark: memcached
     * sends only the error, never part of the values */
    char bad_line[400];
    char key[252];
    memset(key, 'k', 251);
    key[251] = '\0';
    int n = snprintf(bad_line, sizeof(bad_line), "get big0 big1 big2 big3 %s\r\n", key);
    got = feed(bad_line, (size_t)n, 0, &closed);
    ck_assert_str_eq(got, "CLIENT_ERROR bad command line format\r\n");
    free(got);
    free(val);
    buf_deinit(&script);
}
END_TEST

/* A value whose item memcached would keep in chunks (over 512 KiB as it
 * counts: 60 bytes + the value for key "k", flags 0) is not a number to
 * incr/decr, whatever its bytes (1.6.18: 524,228 bytes count, 524,229 not). */
START_TEST(incr_refuses_chunked_items)
{
    static const size_t lens[] = { 524228, 524229, 600000 };
    static const char *const want[] = {
        "STORED\r\n8\r\n6\r\n",
        "STORED\r\nCLIENT_ERROR cannot increment or decrement non-numeric value\r\n"
        "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n",
        "STORED\r\nCLIENT_ERROR cannot increment or decrement non-numeric value\r\n"
        "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n",
    };
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        struct buf script;
        buf_init(&script, 1 << 20);
        char line[64];
        int n = snprintf(line, sizeof(line), "set k 0 0 %zu\r\n7", lens[i]);
        buf_append(&script, line, (size_t)n);
        for (size_t j = 1; j < lens[i]; j++) {
            buf_append(&script, " ", 1);
        }
        buf_append_lit(&script, "\r\nincr k 1\r\ndecr k 2\r\n");
        bool closed;
        char *got = feed(buf_head(&script), buf_len(&script), 0, &closed);
        ck_assert_str_eq(got, want[i]);
        free(got);
        buf_deinit(&script);
    }
}
END_TEST

/* -R: a get that stops at the high-water mark has done a command's work;
 * resuming it is charged too, so a multiget cannot hold the worker. */
START_TEST(suspended_get_is_charged_to_the_budget)
{
    size_t vlen = 300 * 1024;
    char *val = malloc(vlen + 64);
    int n = snprintf(val, 64, "set big 0 0 %zu\r\n", vlen);
    struct buf in, out;
    buf_init(&in, 4 << 20);
    buf_init(&out, 64 << 20);
    buf_append(&in, val, (size_t)n);
    memset(val, 'v', vlen);
    buf_append(&in, val, vlen);
    buf_append_lit(&in, "\r\nget big big big big\r\n");
    struct proto_conn pc;
    proto_conn_init(&pc, &tstats);
    enum proto_stop why;
    int budget = 2;                     /* the set, then the get's first part */
    size_t used = proto_process(&srv, &pc, buf_head(&in), buf_len(&in), &out, &budget, &why);
    buf_consume(&in, used);
    ck_assert_int_eq(why, PROTO_STOP_OUTPUT_FULL);
    ck_assert_int_eq(budget, 0);
    buf_consume(&out, buf_len(&out));   /* the client read it */
    used = proto_process(&srv, &pc, buf_head(&in), buf_len(&in), &out, &budget, &why);
    ck_assert_int_eq(why, PROTO_STOP_BUDGET);   /* its turn is over */
    ck_assert_uint_eq(used, 0);
    int calls = 0;
    do {                                /* fresh turns: the get finishes */
        budget = 1;
        buf_consume(&out, buf_len(&out));
        used = proto_process(&srv, &pc, buf_head(&in), buf_len(&in), &out, &budget, &why);
        buf_consume(&in, used);
        calls++;
    } while (buf_len(&in) > 0 && calls < 10);
    ck_assert_uint_eq(buf_len(&in), 0);
    ck_assert_int_ge(calls, 3);         /* one turn per suspension */
    ck_assert(buf_len(&out) >= 5 && memcmp(buf_tail(&out) - 5, "END\r\n", 5) == 0);
    proto_conn_release(&srv, &pc);
    buf_deinit(&in);
    buf_deinit(&out);
    free(val);
}
END_TEST

START_TEST(stats_reports_memcached_fields)
{
    bool closed;
    const char *in1 = "set a 0 0 1\r\nx\r\nget a\r\nget b\r\nstats\r\n";
    char *got = feed(in1, strlen(in1), 0, &closed);
    ck_assert(strstr(got, "STAT cmd_get ") != NULL);
    ck_assert(strstr(got, "STAT curr_items 1\r\n") != NULL);
    ck_assert(strstr(got, "STAT limit_maxbytes 8388608\r\n") != NULL);
    ck_assert(strstr(got, "\r\nEND\r\n") != NULL);
    free(got);
    const char *in2 = "stats reset\r\nstats\r\n";
    got = feed(in2, strlen(in2), 0, &closed);
    ck_assert(strncmp(got, "RESET\r\n", 7) == 0);
    ck_assert(strstr(got, "STAT get_hits 0\r\n") != NULL);
    free(got);
}
END_TEST

START_TEST(commands_we_refuse_or_lack)
{
    expect("stats cachedump 1 1\r\n", "CLIENT_ERROR stats cachedump not allowed\r\n");
    expect("stats detail on\r\n", "CLIENT_ERROR usage: stats detail on|off|dump\r\n");
    expect("stats sizes\r\n", "STAT sizes_status disabled\r\nEND\r\n");
    expect("slabs automove 1\r\nlru_crawler enable\r\nwatch\r\n",
           "ERROR\r\nERROR\r\nERROR\r\n");
    /* the meta commands are served (tests/unit/test_meta.c); any other
     * two-letter "m" word is memcached's ERROR, never an HTTP close */
    expect("mg foo v\r\nmn\r\nmz\r\nmx / HTTP/1.1\r\nm\r\nmgx foo\r\nmn\r\n",
           "EN\r\nMN\r\nERROR\r\nERROR\r\nERROR\r\nERROR\r\nMN\r\n");
}
END_TEST

/* The tokenizer and the multiget key walk on base/span.h: runs of spaces,
 * more keys than memcached's 24 token slots, the long-multiget exception
 * (at most 100 spaces before "get "), HTTP's last token. */
START_TEST(spans_walk_tokens_and_keys)
{
    expect("  set  sp  0  0  1  \r\nx\r\nget   sp    sp \r\n",
           "STORED\r\nVALUE sp 0 1\r\nx\r\nVALUE sp 0 1\r\nx\r\nEND\r\n");
    expect("set sp 0 0 1 noreply x x x x x x x x x x x x x x x x x x x x\r\n", "ERROR\r\n");
    char line[512];
    int n = snprintf(line, sizeof(line), "set k29 0 0 2\r\n29\r\nget");
    for (int i = 0; i < 30; i++) {
        n += snprintf(line + n, sizeof(line) - (size_t)n, "  k%d", i);
    }
    snprintf(line + n, sizeof(line) - (size_t)n, "\r\n");
    expect(line, "STORED\r\nVALUE k29 0 2\r\n29\r\nEND\r\n");
    for (int spaces = 100; spaces <= 101; spaces++) {
        char big[4200];
        memset(big, ' ', sizeof(big));
        memcpy(big + spaces, "get k", 5);
        memcpy(big + sizeof(big) - 2, "\r\n", 2);
        bool closed;
        char *got = feed(big, sizeof(big), 1024, &closed);
        ck_assert_msg(closed == (spaces > 100), "%d spaces", spaces);
        ck_assert_str_eq(got, spaces > 100 ? "" : "END\r\n");
        free(got);
    }
    bool closed;
    char *got = feed("get x\r\nPOST /x HTTP/1.0\r\nversion\r\n", 34, 0, &closed);
    ck_assert(closed);
    ck_assert_str_eq(got, "END\r\n");
    free(got);
}
END_TEST

/* ---- -B: the first byte picks the protocol (measured on 1.6.18) ---- */

START_TEST(protocol_picked_by_first_byte)
{
    static const char noop[24] = { (char)0x80, 0x0a };
    static const char answer[24] = { (char)0x81, 0x0a };
    char twice[48];
    bool closed;
    memcpy(twice, noop, 24);
    memcpy(twice + 24, noop, 24);
    char *got = feed(noop, sizeof(noop), 1, &closed);          /* auto: binary */
    ck_assert(memcmp(got, answer, sizeof(answer)) == 0 && !closed);
    free(got);
    got = feed("version\r\n", 9, 0, &closed);                  /* auto: ASCII, for good */
    ck_assert_str_eq(got, "VERSION " PROTO_VERSION "\r\n");
    free(got);
    settings.protocol = SETTINGS_PROTO_ASCII;    /* 0x0a, the noop's opcode, ends a line */
    got = feed(twice, sizeof(twice), 0, &closed);
    ck_assert_str_eq(got, "ERROR\r\nERROR\r\n");
    free(got);
    settings.protocol = SETTINGS_PROTO_BINARY;   /* ASCII: closed at 24 bytes, unanswered */
    got = feed("version\r\n", 9, 0, &closed);
    ck_assert(got[0] == '\0' && !closed);
    free(got);
    got = feed("version\r\nversion\r\nversion\r\n", 27, 0, &closed);
    ck_assert(got[0] == '\0' && closed);
    free(got);
}
END_TEST

/* ---- -Y: the login gate (answers measured on memcached 1.6.18) ---- */

#define UNAUTH "CLIENT_ERROR unauthenticated\r\n"
#define FAILURE "CLIENT_ERROR authentication failure\r\n"
#define FORMAT "CLIENT_ERROR bad authentication token format\r\n"
#define TERM "CLIENT_ERROR bad command line termination\r\n"

static void auth_on(void)
{
    static const char file[] = "alice:secret\nbob:hunter2\n";
    char err[200];
    struct auth_db *db = auth_db_parse(file, sizeof(file) - 1, err, sizeof(err));
    ck_assert_msg(db != NULL, "%s", err);
    auth_install(db);
    srv.auth_required = true;
}

/* Fed one byte per read: each command is a batch of its own, so every
 * answer shows (memcached keeps only a batch's last one before login). */
static void expect_each(const char *input, size_t len, const char *want, bool want_closed)
{
    bool closed;
    char *got = feed(input, len, 1, &closed);
    ck_assert_msg(strcmp(got, want) == 0 && closed == want_closed,
                  "input %s\nwant %s (closed %d)\ngot  %s (closed %d)", input, want,
                  want_closed, got, closed);
    free(got);
}

#define EACH(in, want) expect_each((in), sizeof(in) - 1, (want), false)

START_TEST(auth_gate_refuses_everything_but_a_login)
{
    auth_on();
    EACH("version\r\nstats\r\nquit\r\n\r\nget a\r\nrefresh_certs\r\nGET / HTTP/1.1\r\n"
         "add a 0 0 12\r\nSET a 0 0 12\r\nset a 0 0\r\nset a 0 0 x\r\nset a 0 0 -1\r\n",
         UNAUTH UNAUTH UNAUTH UNAUTH UNAUTH UNAUTH UNAUTH UNAUTH UNAUTH UNAUTH UNAUTH UNAUTH);
    EACH("set a 0 0 12\r\nalice secret\r\nget a\r\n", "STORED\r\nEND\r\n");
    EACH("set a 0 0 12 noreply\r\nalice secret\r\n", "STORED\r\n");
    EACH("set k 1 2 11\r\nbob hunter2\r\n", "STORED\r\n");
    EACH("set a 0 0 +12\r\nalice secret\r\nset a 0 0 \t12\r\r\nalice secret\r\n", "STORED\r\nSTORED\r\n");
    EACH("set a 0 0 12 a b c d e f g h i j k l m n o p q r s t u v w\nalice secret\r\n", "STORED\r\n");
    /* the bytes before a "\n" wait for a second byte, as memcached's do */
    EACH("\n", "");
    EACH("\nx", UNAUTH);
}
END_TEST

START_TEST(auth_gate_checks_the_words_of_a_login)
{
    auth_on();
    EACH("set a 0 0 12\r\nalice secreX\r\nset a 0 0 11\r\nalice secre\r\n"
         "set a 0 0 13\r\nalice secret1\r\nset a 0 0 10\r\neve secret\r\n"
         "set a 0 0 10\r\nbob secret\r\nset a 0 0 13\r\nalice hunter2\r\n"
         "set a 0 0 13\r\nalice secr\ret\r\nset a 0 0 12\r\nalice secret\r\n",
         FAILURE FAILURE FAILURE FAILURE FAILURE FAILURE FAILURE "STORED\r\n");
    EACH("set a 0 0 5\r\nalice\r\nset a 0 0 6\r\nalice \r\nset a 0 0 0\r\n\r\n"
         "set a 0 0 12\r\nalice\tsecret\r\n",
         FORMAT FORMAT FORMAT FORMAT);
    /* words past the second are ignored; runs of spaces make no word */
    EACH("set a 0 0 16\r\nalice secret xyz\r\n", "STORED\r\n");
    EACH("set a 0 0 15\r\n  alice  secret\r\n", "STORED\r\n");
    EACH("set a 0 0 13\r\nalice secret \r\n", "STORED\r\n");
    /* a NUL ends the block, as memcached reads it as a C string */
    EACH("set a 0 0 13\r\nalice secret\0\r\n", "STORED\r\n");
    EACH("set a 0 0 12\r\nalice\0secret\r\n", FORMAT);
    EACH("set a 0 0 12\r\n\0lice secret\r\n", FORMAT);
    /* the block must end "\r\n"; the rest is read as lines again */
    EACH("set a 0 0 12\r\nalice secretXXversion\r\n", TERM UNAUTH);
    EACH("set a 0 0 12\r\nalice secret\nx\r\n", TERM UNAUTH);
}
END_TEST

/* Of one batch of input, memcached sends only the last answer before login
 * (one response object, reset by each answer). */
START_TEST(auth_gate_answers_a_batch_once)
{
    auth_on();
    expect("version\r\nversion\r\n", UNAUTH);
    expect("version\r\nget a\r\nstats\r\n", UNAUTH);
    expect("version\r\nset a 0 0 12\r\nalice secret\r\n", "STORED\r\n");
    expect("set a 0 0 1\r\nx\r\nset a 0 0 12\r\nalice secret\r\n", "STORED\r\n");
    expect("set a 0 0 12\r\nalice secreX\r\nset a 0 0 12\r\nalice secreY\r\n", FAILURE);
    expect("set a 0 0 12\r\nalice secretXX\r\n", UNAUTH);
    expect("set a 0 0 12\r\nalice secret\r\nset k 0 0 1\r\nv\r\nget k\r\n",
           "STORED\r\nSTORED\r\nVALUE k 0 1\r\nv\r\nEND\r\n");
}
END_TEST

/* After a login the connection is an ordinary one: another login set is
 * a set, quit closes, an empty line is an ERROR. */
START_TEST(auth_gate_opens_after_login)
{
    auth_on();
    EACH("set a 0 0 12\r\nalice secret\r\nset a 0 0 12\r\nalice secret\r\nget a\r\n\r\n",
         "STORED\r\nSTORED\r\nVALUE a 0 12\r\nalice secret\r\nEND\r\nERROR\r\n");
    static const char quit[] = "set a 0 0 12\r\nalice secret\r\nquit\r\nversion\r\n";
    expect_each(quit, sizeof(quit) - 1, "STORED\r\n", true);
}
END_TEST

/* SECURITY: before login no line passes PROTO_LINE_MAX (get lines
 * included) and no login block PROTO_AUTH_DATA_MAX: closed, nothing said. */
START_TEST(auth_gate_bounds_what_a_stranger_sends)
{
    auth_on();
    static char big[PROTO_LINE_MAX + 2000];
    memset(big, 'x', sizeof(big));
    memcpy(big + PROTO_LINE_MAX - 1, "\r\n", 2);        /* 2047 bytes + "\r\n" */
    expect_each(big, PROTO_LINE_MAX + 1, UNAUTH, false);
    memset(big, 'x', sizeof(big));
    expect_each(big, PROTO_LINE_MAX + 1, "", true);      /* 2049 bytes, no "\n" */
    memcpy(big, "get ", 4);
    memcpy(big + PROTO_LINE_MAX + 1, "\n", 1);
    bool closed;
    char *got = feed(big, PROTO_LINE_MAX + 2, 0, &closed);  /* one read, "\n" at 2049 */
    ck_assert(closed);
    ck_assert_str_eq(got, "");
    free(got);
    static const char too_long[] = "set a 0 0 1025\r\n";
    expect_each(too_long, sizeof(too_long) - 1, "", true);
    static const char wraps[] = "set a 0 0 4294967308\r\nalice secret\r\n";
    expect_each(wraps, sizeof(wraps) - 1, "", true);
    char ok[PROTO_AUTH_DATA_MAX + 64];
    int n = snprintf(ok, sizeof(ok), "set a 0 0 %d\r\nalice secret ", PROTO_AUTH_DATA_MAX);
    memset(ok + n, 'j', PROTO_AUTH_DATA_MAX - 13);
    memcpy(ok + n + PROTO_AUTH_DATA_MAX - 13, "\r\n", 2);
    expect_each(ok, (size_t)n + PROTO_AUTH_DATA_MAX - 13 + 2, "STORED\r\n", false);
}
END_TEST

/* memcached's counters: auth_cmds every login checked, auth_errors the
 * refused ones; malformed logins count in neither. pc->auth_failures (the
 * throttle's feed) grows with auth_errors. */
START_TEST(auth_gate_counts_as_memcached)
{
    auth_on();
    uint64_t cmds = tstats.auth_cmds, errors = tstats.auth_errors;
    static const char in[] = "set a 0 0 5\r\nx yyy\r\nset a 0 0 1\r\nx\r\nset a 0 0 1\r\nxyz"
                             "version\r\nset a 0 0 5\r\nx yyy\r\nset a 0 0 12\r\nalice secret\r\n";
    struct proto_conn pc;
    struct buf out;
    proto_conn_init(&pc, &tstats);
    buf_init(&out, 1 << 20);
    for (size_t i = 0; i < sizeof(in) - 1;) {
        enum proto_stop why;
        int budget = 1;
        i += proto_process(&srv, &pc, in + i, sizeof(in) - 1 - i, &out, &budget, &why);
        ck_assert_int_ne(why, PROTO_STOP_CLOSE);
    }
    ck_assert(pc.authenticated);
    ck_assert_uint_eq(pc.auth_failures, 2);
    ck_assert_uint_eq(tstats.auth_cmds - cmds, 3);
    ck_assert_uint_eq(tstats.auth_errors - errors, 2);
    proto_conn_release(&srv, &pc);
    buf_deinit(&out);
}
END_TEST

/* A login at the front of a script: the answers do not depend on how the
 * input is split (only one answer comes before the login). */
START_TEST(auth_login_split_at_every_boundary)
{
    static const char script[] = "set x 0 0 11\r\nbob hunter2\r\nset k 0 0 2\r\nhi\r\nget k\r\n";
    static const char want[] = "STORED\r\nSTORED\r\nVALUE k 0 2\r\nhi\r\nEND\r\n";
    auth_on();
    for (size_t step = 0; step < sizeof(script); step++) {
        bool closed;
        char *got = feed(script, sizeof(script) - 1, step, &closed);
        ck_assert_msg(strcmp(got, want) == 0, "step %zu: %s", step, got);
        free(got);
    }
}
END_TEST

static bool certs_ok(char *msg, size_t msglen)
{
    (void)msg;
    (void)msglen;
    return true;
}

static bool certs_fail(char *msg, size_t msglen)
{
    snprintf(msg, msglen, "Error loading the key: /k.pem : no such file");
    return false;
}

/* Measured on 1.6.18: "OK" obeys noreply, an error never does. */
START_TEST(refresh_certs_answers)
{
    expect("refresh_certs\r\nrefresh_certs noreply\r\nrefresh_certs a b c\r\n",
           "Error TLS not enabled\r\nError TLS not enabled\r\nError TLS not enabled\r\n");
    srv.refresh_certs = certs_ok;
    expect("refresh_certs\r\nrefresh_certs noreply\r\nversion\r\n",
           "OK\r\nVERSION " PROTO_VERSION "\r\n");
    srv.refresh_certs = certs_fail;
    expect("refresh_certs\r\nrefresh_certs noreply\r\n",
           "Error loading the key: /k.pem : no such file\r\n"
           "Error loading the key: /k.pem : no such file\r\n");
    expect("refresh_cert\r\n", "ERROR\r\n");
    auth_on();
    srv.refresh_certs = certs_ok;
    EACH("refresh_certs\r\n", UNAUTH);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("proto");
    TCase *tc = tcase_create("ascii");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, storage_and_retrieval);
    tcase_add_test(tc, noreply_silences_every_answer);
    tcase_add_test(tc, errors_match_memcached);
    tcase_add_test(tc, keys_and_lengths);
    tcase_add_test(tc, nul_ends_a_line);
    tcase_add_test(tc, quit_and_long_lines_close);
    tcase_add_test(tc, split_at_every_boundary);
    tcase_add_test(tc, large_get_resumes_after_output_fills);
    tcase_add_test(tc, incr_refuses_chunked_items);
    tcase_add_test(tc, suspended_get_is_charged_to_the_budget);
    tcase_add_test(tc, stats_reports_memcached_fields);
    tcase_add_test(tc, commands_we_refuse_or_lack);
    tcase_add_test(tc, spans_walk_tokens_and_keys);
    tcase_add_test(tc, protocol_picked_by_first_byte);
    tcase_add_test(tc, auth_gate_refuses_everything_but_a_login);
    tcase_add_test(tc, auth_gate_checks_the_words_of_a_login);
    tcase_add_test(tc, auth_gate_answers_a_batch_once);
    tcase_add_test(tc, auth_gate_opens_after_login);
    tcase_add_test(tc, auth_gate_bounds_what_a_stranger_sends);
    tcase_add_test(tc, auth_gate_counts_as_memcached);
    tcase_add_test(tc, auth_login_split_at_every_boundary);
    tcase_add_test(tc, refresh_certs_answers);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
