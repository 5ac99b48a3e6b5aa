/* test_binary.c: the binary protocol driven without sockets: the header's
 * parser and composer, memcached 1.6.18's answers (bytes measured against it,
 * tests/integration/test_binary.py runs them side by side), a test per CVE
 * pattern of 2016 (lengths that do not add up), SASL PLAIN, and the same
 * answers whatever way the input is split across reads. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "conf/settings.h"
#include "proto/binary.h"
#include "proto/proto.h"
#include "sec/auth.h"
#include "proto_fixture.h"

static struct settings settings;
static struct store *store;
static struct thread_stats tstats;
static struct proto_server srv;

/* An empty cache whose cas values start again at 1. */
static void fresh_store(void)
{
    if (store != NULL) {
        store_destroy(&store);
    }
    store = fixture_store(&settings);
    srv.store = store;
}

static void setup(void)
{
    clock_init((int64_t)time(NULL));
    settings_defaults(&settings);
    store = NULL;
    fresh_store();
    srv = fixture_server(store, &settings, &tstats);
}

static void teardown(void)
{
    store_destroy(&store);
    auth_install(NULL);
}

/* ---- building packets ----------------------------------------------------- */

struct bytes {
    char p[300000];
    size_t n;
};

static void add(struct bytes *b, const void *p, size_t n)
{
    ck_assert(b->n + n <= sizeof(b->p));
    if (n > 0) {
        memcpy(b->p + b->n, p, n);
    }
    b->n += n;
}

/* A packet whose header says exactly what follows it. */
static void pkt(struct bytes *b, uint8_t magic, uint8_t op, const char *key, size_t nkey,
                const char *ext, size_t next, const char *val, size_t nval, uint32_t opaque,
                uint64_t cas, uint16_t status)
{
    struct bin_header h = { magic, op, (uint16_t)nkey, (uint8_t)next, 0, status,
                            (uint32_t)(nkey + next + nval), opaque, cas };
    char hdr[BIN_HEADER_LEN];
    bin_header_compose(&h, hdr);
    add(b, hdr, sizeof(hdr));
    add(b, ext, next);
    add(b, key, nkey);
    add(b, val, nval);
}

/* A request (magic 0x80) and an answer (0x81) with string key and value. */
#define REQ(b, op, key, ext, next, val, opq, cas) \
    pkt((b), BIN_REQ_MAGIC, (op), (key), strlen(key), (ext), (next), (val), strlen(val), (opq), (cas), 0)
#define RES(b, op, status, key, ext, next, val, opq, cas) \
    pkt((b), BIN_RES_MAGIC, (op), (key), strlen(key), (ext), (next), (val), strlen(val), (opq), (cas), (status))

/* A header alone, with lengths that may lie. */
static void raw(struct bytes *b, uint8_t op, uint16_t keylen, uint8_t extlen, uint32_t bodylen)
{
    struct bin_header h = { BIN_REQ_MAGIC, op, keylen, extlen, 0, 0, bodylen, 0, 0 };
    char hdr[BIN_HEADER_LEN];
    bin_header_compose(&h, hdr);
    add(b, hdr, sizeof(hdr));
}

static const char SET_EXT[8] = { 0, 0, 0, 5, 0, 0, 0, 0 };   /* flags 5, no expiry */
static const char TOUCH_EXT[4] = { 0, 0, 0, 100 };
static const char FLAGS5[4] = { 0, 0, 0, 5 };

/* ---- feeding ---------------------------------------------------------------- */

struct fed {
    char *out;
    size_t n;
    bool closed;
    unsigned rounds;          /* proto_process calls that stopped for the budget */
};

/* Feeds input in chunks of at most `step` bytes (0: all at once) the way the
 * network layer does, with `budget` requests a call. */
static struct fed feed_budget(const struct bytes *in_bytes, size_t step, int budget0)
{
    struct proto_conn pc;
    struct buf in, out;
    struct fed f = { malloc(1), 0, false, 0 };
    proto_conn_init(&pc, &tstats);
    buf_init(&in, PROTO_GET_LINE_MAX + 65536);
    buf_init(&out, 64 * 1024 * 1024);
    size_t fed = 0;
    while (!f.closed) {
        if (fed < in_bytes->n) {
            size_t n = step == 0 || in_bytes->n - fed < step ? in_bytes->n - fed : step;
            buf_append(&in, in_bytes->p + fed, n);
            fed += n;
        }
        enum proto_stop why;
        do {
            int budget = budget0;
            size_t used = proto_process(&srv, &pc, buf_head(&in), buf_len(&in), &out,
                                        &budget, &why);
            buf_consume(&in, used);
            f.out = realloc(f.out, f.n + buf_len(&out) + 1);
            if (buf_len(&out) > 0) {
                memcpy(f.out + f.n, buf_head(&out), buf_len(&out));
            }
            f.n += buf_len(&out);
            buf_consume(&out, buf_len(&out));
            f.rounds += why == PROTO_STOP_BUDGET;
        } while (why == PROTO_STOP_OUTPUT_FULL || why == PROTO_STOP_BUDGET);
        f.closed = why == PROTO_STOP_CLOSE;
        if (fed == in_bytes->n) {
            break;
        }
    }
    proto_conn_release(&srv, &pc);
    buf_deinit(&in);
    buf_deinit(&out);
    return f;
}

static struct fed feed(const struct bytes *in, size_t step)
{
    return feed_budget(in, step, 1000);
}

static void hexdump(const char *what, const char *p, size_t n)
{
    fprintf(stderr, "%s (%zu):", what, n);
    for (size_t i = 0; i < n && i < 200; i++) {
        fprintf(stderr, " %02x", (unsigned char)p[i]);
    }
    fprintf(stderr, "\n");
}

/* The answer to in, fed at once and then at every chunk size up to 64 bytes,
 * is want, and the connection is closed (or not) as want_closed says. */
static void expect(const struct bytes *in, const struct bytes *want, bool want_closed)
{
    for (size_t step = 0; step <= 64; step = step == 0 ? 1 : step + 1) {
        struct fed f = feed(in, step);
        bool same = f.n == want->n && memcmp(f.out, want->p, want->n) == 0;
        if (!same || f.closed != want_closed) {
            hexdump("want", want->p, want->n);
            hexdump("got ", f.out, f.n);
        }
        ck_assert_msg(same, "answer differs (step %zu)", step);
        ck_assert_msg(f.closed == want_closed, "closed %d, want %d (step %zu)", f.closed,
                      want_closed, step);
        free(f.out);
        fresh_store();                    /* every step starts from an empty cache */
    }
}

/* ---- the header ------------------------------------------------------------ */

START_TEST(header_round_trip)
{
    struct bin_header h = { 0x80, 0x21, 0x1234, 8, 1, 0xbeef, 0x01020304, 0xdeadbeef,
                            0x1122334455667788ull }, back;
    char raw_hdr[BIN_HEADER_LEN];
    static const char want[BIN_HEADER_LEN] = {
        (char)0x80, 0x21, 0x12, 0x34, 8, 1, (char)0xbe, (char)0xef, 1, 2, 3, 4,
        (char)0xde, (char)0xad, (char)0xbe, (char)0xef, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66,
        0x77, (char)0x88,
    };
    bin_header_compose(&h, raw_hdr);
    ck_assert(memcmp(raw_hdr, want, sizeof(want)) == 0);
    bin_header_parse(raw_hdr, &back);
    ck_assert(memcmp(&h, &back, sizeof(h)) == 0);
}
END_TEST

START_TEST(frame_waits_and_checks_lengths)
{
    struct bytes b = { .n = 0 };
    struct bin_header h;
    REQ(&b, 0x00, "key", NULL, 0, "", 0, 0);
    for (size_t n = 0; n < b.n; n++) {
        ck_assert_int_eq(bin_frame(b.p, n, &h), BIN_FRAME_WAIT);
    }
    ck_assert_int_eq(bin_frame(b.p, b.n, &h), BIN_FRAME_OK);
    b.p[0] = (char)0x81;
    ck_assert_int_eq(bin_frame(b.p, BIN_HEADER_LEN, &h), BIN_FRAME_BAD_MAGIC);
    b.n = 0;
    raw(&b, 0x00, 3, 0, 2);
    add(&b, "abc", 3);
    ck_assert_int_eq(bin_frame(b.p, b.n - 1, &h), BIN_FRAME_WAIT);
    ck_assert_int_eq(bin_frame(b.p, b.n, &h), BIN_FRAME_BAD_LENGTHS);
    b.n = 0;
    raw(&b, 0x01, 0xffff, 0xff, 0xffffffffu);       /* sums past 16 bits stay exact */
    ck_assert_int_eq(bin_frame(b.p, b.n, &h), BIN_FRAME_WAIT);
}
END_TEST

START_TEST(sasl_plain_message)
{
    struct span u, p;
    ck_assert(bin_sasl_plain(span_of("\0alice\0secret", 13), &u, &p));
    ck_assert(span_eq(u, "alice") && span_eq(p, "secret"));
    ck_assert(bin_sasl_plain(span_of("alice\0alice\0secret", 18), &u, &p));
    ck_assert(!bin_sasl_plain(span_of("bob\0alice\0secret", 16), &u, &p));
    ck_assert(!bin_sasl_plain(span_of("alice secret", 12), &u, &p));
    ck_assert(!bin_sasl_plain(span_of("\0alice", 6), &u, &p));
    ck_assert(!bin_sasl_plain(span_of("\0\0secret", 8), &u, &p));
    ck_assert(!bin_sasl_plain(span_of("\0alice\0", 7), &u, &p));
    ck_assert(bin_sasl_plain(span_of("\0alice\0secret\0", 14), &u, &p));
    ck_assert_uint_eq(p.n, 7);      /* the NUL is the password's: it cannot match */
}
END_TEST

/* ---- answers ---------------------------------------------------------------- */

START_TEST(storage_and_retrieval)
{
    struct bytes in = { .n = 0 }, want = { .n = 0 };
    REQ(&in, 0x01, "k", SET_EXT, 8, "hello", 9, 0);
    REQ(&in, 0x00, "k", NULL, 0, "", 1, 0);
    REQ(&in, 0x0c, "k", NULL, 0, "", 2, 0);
    REQ(&in, 0x1c, "k", TOUCH_EXT, 4, "", 3, 0);
    REQ(&in, 0x23, "k", TOUCH_EXT, 4, "", 4, 0);
    REQ(&in, 0x00, "nokey", NULL, 0, "", 5, 0);
    REQ(&in, 0x0c, "nokey", NULL, 0, "", 6, 0);
    REQ(&in, 0x09, "nokey", NULL, 0, "", 7, 0);     /* getq miss: nothing */
    REQ(&in, 0x12, "k", SET_EXT, 8, "x", 8, 0);     /* addq on existing: an error */
    REQ(&in, 0x0e, "k", NULL, 0, "A", 9, 0);
    REQ(&in, 0x0f, "zz", NULL, 0, "P", 10, 0);
    REQ(&in, 0x0a, "", NULL, 0, "", 11, 0);
    RES(&want, 0x01, 0, "", NULL, 0, "", 9, 1);
    RES(&want, 0x00, 0, "", FLAGS5, 4, "hello", 1, 1);
    RES(&want, 0x0c, 0, "k", FLAGS5, 4, "hello", 2, 1);
    RES(&want, 0x1c, 0, "", FLAGS5, 4, "", 3, 1);
    RES(&want, 0x23, 0, "k", FLAGS5, 4, "hello", 4, 1);
    RES(&want, 0x00, 1, "", NULL, 0, "Not found", 5, 0);
    RES(&want, 0x0c, 1, "nokey", NULL, 0, "", 6, 0);
    RES(&want, 0x12, 2, "", NULL, 0, "Data exists for key.", 8, 0);
    RES(&want, 0x0e, 0, "", NULL, 0, "", 9, 2);
    RES(&want, 0x0f, 5, "", NULL, 0, "Not stored.", 10, 0);
    RES(&want, 0x0a, 0, "", NULL, 0, "", 11, 0);
    expect(&in, &want, false);
}
END_TEST

START_TEST(delta_with_initial_value_and_cas)
{
    static const char create[20] = { 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 10, 0, 0, 0, 0 };
    static const char nocreate[20] = { 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 10,
                                       (char)0xff, (char)0xff, (char)0xff, (char)0xff };
    static const char ten[8] = { 0, 0, 0, 0, 0, 0, 0, 10 }, eleven[8] = { 0, 0, 0, 0, 0, 0, 0, 11 };
    struct bytes in = { .n = 0 }, want = { .n = 0 };
    REQ(&in, 0x05, "n", nocreate, 20, "", 1, 0);
    REQ(&in, 0x05, "n", create, 20, "", 2, 0);
    REQ(&in, 0x05, "n", create, 20, "", 3, 0);
    REQ(&in, 0x05, "n", create, 20, "", 4, 99);      /* another cas */
    REQ(&in, 0x15, "n", create, 20, "", 5, 0);       /* quiet: nothing */
    REQ(&in, 0x04, "n", NULL, 0, "", 6, 99);         /* delete with another cas */
    REQ(&in, 0x14, "n", NULL, 0, "", 7, 0);
    REQ(&in, 0x04, "n", NULL, 0, "", 8, 0);
    RES(&want, 0x05, 1, "", NULL, 0, "Not found", 1, 0);
    pkt(&want, BIN_RES_MAGIC, 0x05, "", 0, NULL, 0, ten, 8, 2, 1, 0);
    pkt(&want, BIN_RES_MAGIC, 0x05, "", 0, NULL, 0, eleven, 8, 3, 2, 0);
    RES(&want, 0x05, 2, "", NULL, 0, "Data exists for key.", 4, 0);
    RES(&want, 0x04, 2, "", NULL, 0, "Data exists for key.", 6, 0);
    RES(&want, 0x04, 1, "", NULL, 0, "Not found", 8, 0);
    expect(&in, &want, false);
}
END_TEST

/* memcached pads a shorter number in place only when no answer written
 * later still holds the item: after a get hit in the same batch the new
 * value is exactly its digits. */
START_TEST(delta_after_a_held_get_is_unpadded)
{
    static const char by99[20] = { 0, 0, 0, 0, 0, 0, 0, 99, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
    for (int held = 0; held <= 1; held++) {
        struct bytes in = { .n = 0 };
        struct proto_conn pc;
        struct buf out;
        int budget = 100;
        enum proto_stop why;
        proto_conn_init(&pc, &tstats);
        buf_init(&out, 1 << 20);
        REQ(&in, 0x01, "n", SET_EXT, 8, "99", 0, 0);
        REQ(&in, 0x0a, "", NULL, 0, "", 0, 0);                 /* written out */
        if (held) {
            REQ(&in, 0x0d, "n", NULL, 0, "", 0, 0);           /* getkq: a hit */
        }
        REQ(&in, 0x16, "n", by99, 20, "", 0, 0);              /* decrq to 0 */
        ck_assert_uint_eq(proto_process(&srv, &pc, in.p, in.n, &out, &budget, &why), in.n);
        in.n = 0;
        REQ(&in, 0x00, "n", NULL, 0, "", 0, 0);
        struct fed f = feed(&in, 0);
        ck_assert_uint_eq(f.n, BIN_HEADER_LEN + 4 + (held ? 1 : 2));
        ck_assert(memcmp(f.out + BIN_HEADER_LEN + 4, held ? "0" : "0 ", held ? 1 : 2) == 0);
        free(f.out);
        buf_deinit(&out);
        proto_conn_release(&srv, &pc);
        fresh_store();
    }
}
END_TEST

START_TEST(unknown_opcodes_and_bad_arguments)
{
    struct bytes in = { .n = 0 }, want = { .n = 0 };
    REQ(&in, 0x1b, "", TOUCH_EXT, 4, "", 1, 0);       /* verbosity: not in 1.6.18 */
    REQ(&in, 0x0a, "", NULL, 0, "", 2, 0);
    RES(&want, 0x1b, 0x81, "", NULL, 0, "Unknown command", 1, 0);
    expect(&in, &want, false);      /* it swallows the body length after the extras */

    in.n = want.n = 0;
    REQ(&in, 0x00, "a", "1234", 4, "", 1, 0);          /* get with extras */
    REQ(&in, 0x0a, "", NULL, 0, "", 2, 0);
    RES(&want, 0x00, 4, "", NULL, 0, "Invalid arguments", 1, 0);
    expect(&in, &want, true);

    char key[251];
    memset(key, 'a', sizeof(key));
    in.n = want.n = 0;
    pkt(&in, BIN_REQ_MAGIC, 0x00, key, 251, NULL, 0, NULL, 0, 1, 0, 0);
    RES(&want, 0x00, 4, "", NULL, 0, "Invalid arguments", 1, 0);
    expect(&in, &want, true);
}
END_TEST

/* A bad magic closes the connection, and the answers memcached had not yet
 * written out (those after its last error or noop) are lost with it. */
START_TEST(bad_magic_closes)
{
    struct bytes in = { .n = 0 }, want = { .n = 0 };
    REQ(&in, 0x00, "miss", NULL, 0, "", 1, 0);
    REQ(&in, 0x0b, "", NULL, 0, "", 2, 0);
    pkt(&in, 0x81, 0x0a, "", 0, NULL, 0, NULL, 0, 0, 0, 0);
    RES(&want, 0x00, 1, "", NULL, 0, "Not found", 1, 0);
    struct fed f = feed(&in, 0);
    ck_assert(f.closed && f.n == want.n && memcmp(f.out, want.p, want.n) == 0);
    free(f.out);
}
END_TEST

/* ---- the CVE patterns of 2016: lengths that do not add up ---------------- */

/* CVE-2016-8704: append/prepend whose key is longer than its body. */
START_TEST(cve_2016_8704_append_key_longer_than_body)
{
    for (uint8_t op = 0x0e; op <= 0x1a; op += 0x0b) {       /* append, appendq */
        struct bytes in = { .n = 0 }, want = { .n = 0 };
        char key[1000];
        memset(key, 'k', sizeof(key));
        raw(&in, op, sizeof(key), 0, 10);
        add(&in, key, sizeof(key));
        RES(&want, op, 0x81, "", NULL, 0, "Unknown command", 0, 0);
        expect(&in, &want, true);
    }
    /* a key past memcached's 16 KiB read buffer: closed once it is full,
     * unanswered, whatever the lengths say; a shorter one is waited for */
    struct bytes in = { .n = 0 };
    char key[65535];
    memset(key, 'k', sizeof(key));
    raw(&in, 0x0f, 0xffff, 0, 0);                         /* prepend, body 0 */
    add(&in, key, 16384 - BIN_HEADER_LEN - 1);
    struct fed f = feed(&in, 0);
    ck_assert(!f.closed && f.n == 0);
    free(f.out);
    add(&in, key, 1);
    f = feed(&in, 0);
    ck_assert(f.closed && f.n == 0);
    free(f.out);
}
END_TEST

/* CVE-2016-8705: set/add/replace whose extras and key exceed the body. */
START_TEST(cve_2016_8705_set_lengths_exceed_body)
{
    struct bytes in = { .n = 0 }, want = { .n = 0 };
    raw(&in, 0x01, 5, 8, 10);                  /* key + extras = 13 > 10 */
    add(&in, SET_EXT, 8);
    add(&in, "kkkkk", 5);
    RES(&want, 0x01, 0x81, "", NULL, 0, "Unknown command", 0, 0);
    expect(&in, &want, true);
    in.n = want.n = 0;
    raw(&in, 0x11, 200, 8, 100);               /* setq: key alone > body */
    add(&in, SET_EXT, 8);
    for (int i = 0; i < 200; i++) {
        add(&in, "k", 1);
    }
    RES(&want, 0x11, 0x81, "", NULL, 0, "Unknown command", 0, 0);
    expect(&in, &want, true);
    in.n = want.n = 0;
    raw(&in, 0x03, 5, 4, 9);                   /* replace: extras not 8 */
    add(&in, "1234kkkkk", 9);
    RES(&want, 0x03, 4, "", NULL, 0, "Invalid arguments", 0, 0);
    expect(&in, &want, true);
    ck_assert_int_eq(store_get(store, "kkkkk", 5, false, 0, NULL, NULL), STORE_NOT_FOUND);
}
END_TEST

static void sasl_on(void)
{
    static const char file[] = "alice:secret\n";
    char err[200];
    struct auth_db *db = auth_db_parse(file, sizeof(file) - 1, err, sizeof(err));
    ck_assert_msg(db != NULL, "%s", err);
    auth_install(db);
    settings.sasl = true;
    settings.protocol = SETTINGS_PROTO_BINARY;
}

/* CVE-2016-8706: SASL auth whose key (the mechanism) is longer than its body. */
START_TEST(cve_2016_8706_sasl_key_longer_than_body)
{
    sasl_on();
    struct bytes in = { .n = 0 }, want = { .n = 0 };
    raw(&in, 0x21, 5, 0, 3);
    add(&in, "PLAIN", 5);
    RES(&want, 0x21, 0x81, "", NULL, 0, "Unknown command", 0, 0);
    expect(&in, &want, true);
    in.n = want.n = 0;
    char mech[40];
    memset(mech, 'P', sizeof(mech));            /* over 32: invalid, swallowed */
    pkt(&in, BIN_REQ_MAGIC, 0x21, mech, sizeof(mech), NULL, 0, "\0alice\0secret", 13, 1, 0, 0);
    REQ(&in, 0x0b, "", NULL, 0, "", 2, 0);
    RES(&want, 0x21, 4, "", NULL, 0, "Invalid arguments", 1, 0);
    RES(&want, 0x0b, 0, "", NULL, 0, PROTO_VERSION, 2, 0);
    expect(&in, &want, false);
    in.n = want.n = 0;
    raw(&in, 0x21, 5, 0, 5 + 100000);          /* a body past the bound: swallowed */
    add(&in, "PLAIN", 5);
    for (int i = 0; i < 100000; i++) {
        add(&in, "x", 1);
    }
    REQ(&in, 0x0b, "", NULL, 0, "", 2, 0);
    RES(&want, 0x21, 0x20, "", NULL, 0, "Auth failure.", 0, 0);
    RES(&want, 0x0b, 0, "", NULL, 0, PROTO_VERSION, 2, 0);
    struct fed f = feed(&in, 4096);
    ck_assert(!f.closed && f.n == want.n && memcmp(f.out, want.p, want.n) == 0);
    free(f.out);
}
END_TEST

/* SECURITY: whatever -B says, -S's gate is the binary protocol's and -Y's
 * the ASCII one's: neither is bypassed by speaking the other protocol. */
START_TEST(login_gate_decides_the_protocol)
{
    static const char text_get[] = "get a_key_long_enough_for_a_header\r\n";   /* >= 24 */
    struct bytes in = { .n = 0 };
    sasl_on();
    settings.protocol = SETTINGS_PROTO_ASCII;      /* as if nobody had checked -B */
    srv.auth_required = true;
    add(&in, text_get, sizeof(text_get) - 1);
    struct fed f = feed(&in, 0);
    ck_assert_msg(f.closed && f.n == 0, "text under -S is a bad magic: closed, nothing said");
    free(f.out);

    settings.sasl = false;                         /* -Y: auth_required alone */
    settings.protocol = SETTINGS_PROTO_AUTO;
    in.n = 0;
    REQ(&in, 0x00, "a", NULL, 0, "", 1, 0);
    add(&in, "\r\n", 2);
    f = feed(&in, 0);
    ck_assert_msg(f.n > 0 && (unsigned char)f.out[0] != BIN_RES_MAGIC,
                  "a binary request under -Y is read as text by the -Y gate");
    ck_assert(f.n >= 13 && memcmp(f.out, "CLIENT_ERROR ", 13) == 0);
    free(f.out);
}
END_TEST

#define PLAIN_OK "\0alice\0secret"
#define PLAIN_BAD "\0alice\0secreX"

static void sasl_req(struct bytes *b, uint8_t op, const char *mech, const char *msg,
                     size_t nmsg, uint32_t opaque)
{
    pkt(b, BIN_REQ_MAGIC, op, mech, strlen(mech), NULL, 0, msg, nmsg, opaque, 0, 0);
}

START_TEST(sasl_login)
{
    sasl_on();
    uint64_t cmds = tstats.auth_cmds, errors = tstats.auth_errors;
    struct bytes in = { .n = 0 }, want = { .n = 0 };
    REQ(&in, 0x20, "", NULL, 0, "", 1, 0);
    sasl_req(&in, 0x21, "PLAIN", PLAIN_BAD, 13, 2);
    sasl_req(&in, 0x22, "PLAIN", PLAIN_OK, 13, 3);        /* a step with nothing begun */
    sasl_req(&in, 0x21, "plain", "", 0, 4);               /* continue */
    sasl_req(&in, 0x22, "X", PLAIN_OK, 13, 5);
    REQ(&in, 0x00, "a", NULL, 0, "", 6, 0);
    sasl_req(&in, 0x21, "PLAIN", PLAIN_BAD, 13, 7);       /* logs out */
    REQ(&in, 0x0a, "", NULL, 0, "", 8, 0);
    RES(&want, 0x20, 0, "", NULL, 0, "PLAIN", 1, 0);
    RES(&want, 0x21, 0x20, "", NULL, 0, "Auth failure.", 2, 0);
    RES(&want, 0x22, 0x20, "", NULL, 0, "Auth failure.", 3, 0);
    RES(&want, 0x21, 0x21, "", NULL, 0, "", 4, 0);
    RES(&want, 0x22, 0, "", NULL, 0, "Authenticated", 5, 0);
    RES(&want, 0x00, 1, "", NULL, 0, "Not found", 6, 0);
    RES(&want, 0x21, 0x20, "", NULL, 0, "Auth failure.", 7, 0);
    RES(&want, 0x0a, 0x20, "", NULL, 0, "Auth failure.", 8, 0);
    struct fed f = feed(&in, 0);
    ck_assert(f.closed && f.n == want.n && memcmp(f.out, want.p, want.n) == 0);
    free(f.out);
    ck_assert_uint_eq(tstats.auth_cmds - cmds, 4);
    ck_assert_uint_eq(tstats.auth_errors - errors, 3);
    expect(&in, &want, true);
}
END_TEST

START_TEST(sasl_refuses_before_login)
{
    sasl_on();
    static const uint8_t refused[] = { 0x00, 0x01, 0x07, 0x08, 0x0a, 0x10, 0x17, 0x55 };
    for (size_t i = 0; i < sizeof(refused); i++) {
        struct bytes in = { .n = 0 }, want = { .n = 0 };
        raw(&in, refused[i], 0, 0, 0);
        REQ(&in, 0x0b, "", NULL, 0, "", 2, 0);
        RES(&want, refused[i], 0x20, "", NULL, 0, "Auth failure.", 0, 0);
        expect(&in, &want, true);
    }
    struct bytes in = { .n = 0 };
    add(&in, "version\r\nget a b c d e f g\r\n", 28);   /* ASCII: closed, unanswered */
    struct fed f = feed(&in, 1);
    ck_assert(f.closed && f.n == 0);
    free(f.out);
}
END_TEST

/* Without -S the SASL opcodes are unknown ones (their body swallowed). */
START_TEST(sasl_off_is_unknown)
{
    struct bytes in = { .n = 0 }, want = { .n = 0 };
    sasl_req(&in, 0x21, "PLAIN", PLAIN_OK, 13, 1);
    REQ(&in, 0x20, "", NULL, 0, "", 2, 0);
    REQ(&in, 0x0a, "", NULL, 0, "", 3, 0);
    RES(&want, 0x21, 0x81, "", NULL, 0, "Unknown command", 1, 0);
    RES(&want, 0x20, 0x81, "", NULL, 0, "Unknown command", 2, 0);
    RES(&want, 0x0a, 0, "", NULL, 0, "", 3, 0);
    expect(&in, &want, false);
}
END_TEST

/* -R: a packet is one request of the budget; a value streaming in is not. */
START_TEST(one_packet_one_request)
{
    struct bytes in = { .n = 0 };
    for (int i = 0; i < 10; i++) {
        REQ(&in, 0x11, "k", SET_EXT, 8, "value", 0, 0);
    }
    REQ(&in, 0x0a, "", NULL, 0, "", 0, 0);
    struct fed f = feed_budget(&in, 0, 1);
    ck_assert_uint_eq(f.rounds, 10);
    ck_assert_uint_eq(f.n, BIN_HEADER_LEN);
    free(f.out);
}
END_TEST

/* A value over -I: Too large, once the body is swallowed; a failed set
 * leaves no old value readable. */
START_TEST(too_large_is_swallowed)
{
    settings.item_size_max = 64 * 1024;
    fresh_store();
    struct bytes in = { .n = 0 }, want = { .n = 0 };
    static char big[100000];
    REQ(&in, 0x01, "big", SET_EXT, 8, "old", 1, 0);
    pkt(&in, BIN_REQ_MAGIC, 0x01, "big", 3, SET_EXT, 8, big, sizeof(big), 2, 0, 0);
    REQ(&in, 0x00, "big", NULL, 0, "", 3, 0);
    RES(&want, 0x01, 0, "", NULL, 0, "", 1, 1);
    RES(&want, 0x01, 3, "", NULL, 0, "Too large.", 2, 0);
    RES(&want, 0x00, 1, "", NULL, 0, "Not found", 3, 0);
    expect(&in, &want, false);
    /* the answer waits for the body, as memcached's does */
    in.n = 0;
    raw(&in, 0x01, 3, 8, 11 + 100000);
    add(&in, SET_EXT, 8);
    add(&in, "big", 3);
    struct fed f = feed(&in, 0);
    ck_assert(!f.closed && f.n == 0);
    free(f.out);
    /* 2^31 or more: memcached's int is negative, nothing is discarded */
    in.n = want.n = 0;
    raw(&in, 0x01, 3, 8, 0xfffffff0u);
    add(&in, SET_EXT, 8);
    add(&in, "big", 3);
    REQ(&in, 0x0a, "", NULL, 0, "", 4, 0);
    RES(&want, 0x01, 3, "", NULL, 0, "Too large.", 0, 0);
    RES(&want, 0x0a, 0, "", NULL, 0, "", 4, 0);
    expect(&in, &want, false);
}
END_TEST

static Suite *binary_suite(void)
{
    Suite *s = suite_create("binary");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, header_round_trip);
    tcase_add_test(tc, frame_waits_and_checks_lengths);
    tcase_add_test(tc, sasl_plain_message);
    tcase_add_test(tc, storage_and_retrieval);
    tcase_add_test(tc, delta_with_initial_value_and_cas);
    tcase_add_test(tc, delta_after_a_held_get_is_unpadded);
    tcase_add_test(tc, unknown_opcodes_and_bad_arguments);
    tcase_add_test(tc, bad_magic_closes);
    tcase_add_test(tc, cve_2016_8704_append_key_longer_than_body);
    tcase_add_test(tc, cve_2016_8705_set_lengths_exceed_body);
    tcase_add_test(tc, cve_2016_8706_sasl_key_longer_than_body);
    tcase_add_test(tc, sasl_login);
    tcase_add_test(tc, sasl_refuses_before_login);
    tcase_add_test(tc, sasl_off_is_unknown);
    tcase_add_test(tc, login_gate_decides_the_protocol);
    tcase_add_test(tc, one_packet_one_request);
    tcase_add_test(tc, too_large_is_swallowed);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(binary_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
