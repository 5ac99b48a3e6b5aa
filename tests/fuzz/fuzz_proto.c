/* fuzz_proto.c: the ASCII protocol as connections see it. The first bytes of
 * an input choose the server's knobs and how the rest arrives (chunk sizes,
 * which of two connections gets each chunk, clock ticks between chunks, how
 * much output the "socket" takes); the rest is the byte stream, driven through
 * proto_process exactly as net/conn.c does. Each input gets a fresh store
 * and clock, so a crash replays alone. Invariants checked besides the
 * sanitizers: proto_process never consumes more than it was given; output
 * never passes net/conn.c's buffer limit; a connection never waits for input
 * without room for conn_read's next read; every call makes progress; the
 * output reads as memcached's answers (a client's framing: lines, VALUE
 * blocks); the store's books balance (no chunk leaks, pages within -m);
 * release frees the item. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/clock.h"
#include "conf/options.h"
#include "conf/settings.h"
#include "fuzz_common.h"
#include "proto/proto.h"
#include "proto/stats.h"
#include "store/store.h"

#define FUZZ_EPOCH 1700000000        /* fixed wall clock: runs replay exactly */
#define FUZZ_MEM (4u * 1024 * 1024)  /* small, so limits and eviction are hit */
#define FUZZ_READ_CHUNK 16384        /* net/conn.c reads at most this much */
#define FUZZ_IN_LIMIT (PROTO_GET_LINE_MAX + FUZZ_READ_CHUNK) /* as conn.c */
#define FUZZ_STREAM_MAX (PROTO_GET_LINE_MAX + 3 * FUZZ_READ_CHUNK) /* in full reads */
#define FUZZ_REPS_MAX (128u * 1024)  /* repeated payload in small chunks */
#define FUZZ_CMDS_MAX 2000           /* command lines run per input, at most */
#define FUZZ_CHECK_EVERY 32          /* store books checked every N commands */
#define FUZZ_NCONN 2
#define FUZZ_MAX_SPEC 16

/* net/conn.c's output buffer limit for a given -I. */
static size_t out_limit(size_t item_max)
{
    return proto_out_limit(item_max);
}

static struct thread_stats tstats;
static struct settings settings;
static struct proto_server srv;
static unsigned shutdowns;
static unsigned long cmds_run;      /* this input's command lines so far */
static bool echo;                   /* FUZZ_PROTO_ECHO=1: answers to stderr */
static bool skip_out_limit;         /* FUZZ_PROTO_SKIP_OUT_LIMIT=1: while a known
                                       output-limit bug awaits its fix */

static void fake_info(struct server_info *si)
{
    memset(si, 0, sizeof(*si));
    si->libevent_version = "fuzz";
}

static bool fake_conns(struct buf *out)
{
    return buf_append_lit(out, "STAT 7:addr tcp:127.0.0.1:40000\r\nSTAT 7:state conn_parse_cmd\r\n");
}

static const struct stats_source fake_src = { fake_info, fake_conns };

static void fake_shutdown(bool graceful)
{
    (void)graceful;
    shutdowns++;
}

/* A client's reading of the answers: lines, and VALUE's data blocks. */
struct framing {
    char line[1024];
    size_t nline;
    uint64_t data_left;        /* > 0: inside a data block (with its \r\n) */
    uint64_t data_len;
};

struct fconn {
    struct proto_conn pc;
    struct buf in, out;
    bool closed;
    int id;
    struct framing fr;
};

/* What the control bytes chose. */
struct plan {
    int budget;
    bool partial_drain;        /* the socket takes half the output per write */
    unsigned tick;             /* seconds the clock advances per chunk */
    uint8_t spec[FUZZ_MAX_SPEC];
    size_t nspec;
    size_t reps;               /* how often the payload is repeated */
    bool big;                  /* FUZZ_STREAM_MAX bytes in full reads */
};

static void proto_die(const char *what)
{
    fuzz_die("fuzz_proto", what, "");
}

/* Control byte 0: bit0 -M, bit1 -C, bit2 -F, bit3 -A, bit4 -I 1k instead of
 * 64k, bit5 partial drain, bits6-7 clock step (0, 1, 2, 40 seconds). */
static void configure(uint8_t b, struct plan *p)
{
    static const unsigned ticks[4] = { 0, 1, 2, 40 };
    settings_defaults(&settings);
    settings.protocol = SETTINGS_PROTO_ASCII;   /* -B ascii: fuzz_binary has the other */
    settings.mem_limit = FUZZ_MEM;
    settings.item_size_max = (b & 0x10) ? 1024 : 64 * 1024;
    settings.evictions = !(b & 0x01);
    settings.use_cas = !(b & 0x02);
    settings.flush_enabled = !(b & 0x04);
    settings.shutdown_enabled = (b & 0x08) != 0;
    p->partial_drain = (b & 0x20) != 0;
    p->tick = ticks[b >> 6];
}

/* Control byte 1: bits0-3 number of chunk-spec bytes, bits4-5 budget
 * (-R 1, 2, 20, 1000), bit6 -m 2 MiB instead of 4, bit7 -f 2 (fewer
 * classes). Byte 2: payload repetitions: below 0xf8 once (and then bit0
 * gives -m 64 MiB, the default, so that every class can hold items at once;
 * bit1 the store's plain mechanics, .adaptive = false),
 * 0xf8-0xfe 2^(b-0xf4) times (16-1024), 0xff until FUZZ_STREAM_MAX bytes in
 * full reads (to reach the 1 MiB line limits cheaply). Then the spec bytes:
 * bit7 picks the connection, bits0-6 the chunk length (0: a full read). */
static size_t parse_plan(const uint8_t *data, size_t size, struct plan *p,
                         struct store_config *cfg)
{
    static const int budgets[4] = { 1, 2, 20, 1000 };
    if (size < 3) {
        return 0;
    }
    configure(data[0], p);
    if (data[1] & 0x40) {
        settings.mem_limit = FUZZ_MEM / 2;
    }
    if (data[1] & 0x80) {
        settings.growth_factor = 2.0;
    }
    if (data[2] < 0xf8 && (data[2] & 1)) {
        settings.mem_limit = 16 * FUZZ_MEM;
    }
    /* the daemon's store for these settings (main.c builds it with the same
     * function), but with a fixed 2^16-bucket table (what 4 MiB gets):
     * store_create stays cheap whatever -m is, and a small table has long
     * chains to walk */
    proto_store_config(&settings, cfg);
    cfg->hash_power = 16;
    if (data[2] < 0xf8 && (data[2] & 2)) {
        cfg->adaptive = false;
    }
    p->nspec = data[1] & 0x0f;
    p->budget = budgets[(data[1] >> 4) & 3];
    p->big = data[2] == 0xff;
    p->reps = data[2] < 0xf8 ? 1 : p->big ? SIZE_MAX : (size_t)1 << (data[2] - 0xf4);
    if (3 + p->nspec > size) {
        p->nspec = size - 3;
    }
    memcpy(p->spec, data + 3, p->nspec);
    return 3 + p->nspec;
}

static bool starts(const char *line, size_t n, const char *word)
{
    size_t w = strlen(word);
    return n >= w && memcmp(line, word, w) == 0;
}

static bool all_digits(const char *p, size_t n)
{
    if (n == 0 || n > 20) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return false;
        }
    }
    return true;
}

/* "VALUE <key> <flags> <bytes>[ <cas>]": returns bytes, or dies. */
static uint64_t value_header(const char *line, size_t n)
{
    const char *tok[5];
    size_t len[5], nt = 0, i = 6;
    while (i < n && nt < 5) {
        size_t j = i;
        while (j < n && line[j] != ' ') {
            j++;
        }
        tok[nt] = line + i;
        len[nt++] = j - i;
        i = j + 1;
    }
    if (i < n + 1 || nt < 3 || nt > 4 || len[0] == 0 || len[0] > STORE_KEY_MAX
        || !all_digits(tok[1], len[1]) || !all_digits(tok[2], len[2])
        || (nt == 4 && !all_digits(tok[3], len[3]))) {
        proto_die("malformed VALUE line");
    }
    uint64_t bytes = 0;
    for (size_t k = 0; k < len[2]; k++) {
        bytes = bytes * 10 + (uint64_t)(tok[2][k] - '0');
    }
    if (bytes > settings.item_size_max) {
        proto_die("VALUE longer than -I");
    }
    return bytes;
}

/* "VA <length> <flags>*" (mg with v, ma with v): the data block's length. */
static uint64_t meta_value_header(const char *line, size_t n)
{
    size_t end = 3;
    while (end < n && line[end] != ' ') {
        end++;
    }
    if (!all_digits(line + 3, end - 3) || (end < n && end + 1 == n)) {
        proto_die("malformed VA line");
    }
    uint64_t bytes = 0;
    for (size_t k = 3; k < end; k++) {
        bytes = bytes * 10 + (uint64_t)(line[k] - '0');
    }
    if (bytes > settings.item_size_max) {
        proto_die("VA longer than -I");
    }
    return bytes;
}

/* A meta answer code, alone or followed by its flags. */
static bool meta_code(const char *line, size_t n)
{
    static const char *const codes[] = { "HD", "EN", "NF", "NS", "EX", "MN", "ME" };
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        if (starts(line, n, codes[i]) && (n == 2 || (line[2] == ' ' && n > 3))) {
            return true;
        }
    }
    return false;
}

/* One complete answer line (without "\r\n"): one of memcached's. */
static void answer_line(struct framing *fr, const char *line, size_t n)
{
    static const char *const exact[] = {
        "STORED", "NOT_STORED", "EXISTS", "NOT_FOUND", "DELETED", "TOUCHED",
        "OK", "END", "ERROR", "RESET", "Error TLS not enabled",   /* refresh_certs without -Z */
    };
    static const char *const prefixed[] = {
        "CLIENT_ERROR ", "SERVER_ERROR ", "VERSION ", "STAT ", "ERROR: ",
    };
    if (starts(line, n, "VALUE ")) {
        fr->data_len = value_header(line, n);
        fr->data_left = fr->data_len + 2;
        return;
    }
    if (starts(line, n, "VA ")) {
        fr->data_len = meta_value_header(line, n);
        fr->data_left = fr->data_len + 2;
        return;
    }
    if (all_digits(line, n) || meta_code(line, n)) {
        return;                  /* incr/decr; meta answers without a value */
    }
    for (size_t i = 0; i < sizeof exact / sizeof exact[0]; i++) {
        if (n == strlen(exact[i]) && memcmp(line, exact[i], n) == 0) {
            return;
        }
    }
    for (size_t i = 0; i < sizeof prefixed / sizeof prefixed[0]; i++) {
        if (starts(line, n, prefixed[i])) {
            return;
        }
    }
    fprintf(stderr, "answer line: \"%.*s\"\n", (int)(n < 200 ? n : 200), line);
    proto_die("an answer line memcached never sends");
}

/* Reads answer bytes as a client would. */
static void framing_feed(struct framing *fr, const char *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (fr->data_left > 0) {
            size_t k = n - i < fr->data_left ? n - i : (size_t)fr->data_left;
            /* the data block's last two bytes are "\r\n" */
            if (fr->data_left <= 2 + (uint64_t)(k - 1) && fr->data_left >= 2
                && p[i + (size_t)(fr->data_left - 2)] != '\r') {
                proto_die("a data block does not end with \\r\\n");
            }
            if (fr->data_left <= (uint64_t)k && p[i + (size_t)(fr->data_left - 1)] != '\n') {
                proto_die("a data block does not end with \\r\\n");
            }
            fr->data_left -= k;
            i += k;
            continue;
        }
        if (fr->nline == sizeof fr->line) {
            proto_die("an answer line longer than 1024 bytes");
        }
        char c = p[i++];
        fr->line[fr->nline++] = c;
        if (c == '\n') {
            if (fr->nline < 2 || fr->line[fr->nline - 2] != '\r') {
                proto_die("an answer line not ended by \\r\\n");
            }
            answer_line(fr, fr->line, fr->nline - 2);
            fr->nline = 0;
        }
    }
}

/* Between reads every answer is whole. */
static void framing_idle(const struct framing *fr)
{
    if (fr->nline != 0 || fr->data_left != 0) {
        proto_die("output stops inside an answer");
    }
}

/* The store's books balance when no connection holds an unlinked item:
 * no allocation is left pending (a leak would pin its segment for good),
 * the one class's items and bytes are the store's, and segments fit -m. */
static void check_store(struct store *st, bool adaptive)
{
    struct store_class_stats cs;
    struct store_stats ss;
    (void)adaptive;
    store_stats(st, &ss);
    if (!store_class_stats(st, 1, &cs)) {
        proto_die("class stats missing");
    }
    if (ss.pending_items != 0) {
        fprintf(stderr, "pending %llu\n", (unsigned long long)ss.pending_items);
        proto_die("an allocated item neither linked nor freed (leaked item)");
    }
    if (cs.number != ss.curr_items || cs.mem_requested != ss.bytes
        || cs.mem_requested > cs.total_pages * cs.chunk_size) {
        proto_die("class counters do not add up");
    }
    if (ss.total_malloced > settings.mem_limit) {
        proto_die("segments handed out beyond -m");
    }
}

/* Takes what the "socket" accepts from out; returns bytes taken. */
static size_t drain(struct fconn *fc, bool partial)
{
    size_t n = buf_len(&fc->out);
    if (partial && n > 1) {
        n = (n + 1) / 2;
    }
    if (n == 0) {
        return 0;               /* buf_head of a never-used buf is NULL */
    }
    if (echo) {
        fprintf(stderr, "[conn %d] ", (int)(fc->id));
        fwrite(buf_head(&fc->out), 1, n, stderr);
    }
    framing_feed(&fc->fr, buf_head(&fc->out), n);
    buf_consume(&fc->out, n);
    return n;
}

/* net/conn.c's conn_drive loop for one connection after a read. */
static void drive(struct fconn *fc, const struct plan *p)
{
    unsigned idle = 0;
    while (!fc->closed) {
        enum proto_stop why = PROTO_STOP_NEED_INPUT;
        int budget = p->budget;
        size_t len = buf_len(&fc->in);
        size_t before = buf_len(&fc->out);
        size_t used = proto_process(&srv, &fc->pc, buf_head(&fc->in), len, &fc->out,
                                    &budget, &why);
        if (used > len) {
            proto_die("consumed more than given");
        }
        if (budget < 0 || budget > p->budget) {
            proto_die("budget out of range");
        }
        cmds_run += (unsigned long)(p->budget - budget);
        if (buf_len(&fc->out) > out_limit(settings.item_size_max) && !skip_out_limit) {
            proto_die("output passed net/conn.c's buffer limit");
        }
        bool produced = buf_len(&fc->out) != before;
        buf_consume(&fc->in, used);
        size_t taken = drain(fc, p->partial_drain);
        if (why == PROTO_STOP_CLOSE) {
            /* conn.c writes everything out, then closes */
            while (drain(fc, p->partial_drain) > 0) {
            }
            framing_idle(&fc->fr);
            fc->closed = true;
            break;
        }
        if (why == PROTO_STOP_NEED_INPUT) {
            /* conn_read reserves a whole read first and drops the
             * connection when it cannot */
            if (!fc->pc.close && buf_len(&fc->in) > fc->in.limit - FUZZ_READ_CHUNK) {
                proto_die("waits for input with no room for a read (conn_read would drop it)");
            }
            /* the socket drains everything before the next read */
            while (drain(fc, p->partial_drain) > 0) {
            }
            framing_idle(&fc->fr);
            break;
        }
        /* BUDGET or OUTPUT_FULL: call again; some call must make progress */
        idle = (used == 0 && !produced && taken == 0) ? idle + 1 : 0;
        if (idle > 2) {
            proto_die("no progress");
        }
    }
}

/* Appends up to n bytes as conn_read does (bounded by the input limit). */
static size_t receive(struct fconn *fc, const uint8_t *src, size_t n)
{
    size_t room = fc->in.limit - buf_len(&fc->in);
    if (n > room) {
        n = room;
    }
    if (n > 0 && !buf_append(&fc->in, src, n)) {
        proto_die("input buffer refused bytes within its limit");
    }
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool once;
    static uint8_t tmp[FUZZ_READ_CHUNK];
    struct plan p;
    struct store_config cfg;
    struct fconn conns[FUZZ_NCONN];
    size_t hdr = parse_plan(data, size, &p, &cfg);
    if (hdr == 0 || hdr == size) {
        return 0;
    }
    if (!once) {
        stats_register_thread(&tstats);
        echo = getenv("FUZZ_PROTO_ECHO") != NULL;
        skip_out_limit = getenv("FUZZ_PROTO_SKIP_OUT_LIMIT") != NULL;
        once = true;
    }
    clock_init(FUZZ_EPOCH);
    cmds_run = 0;
    srv.store = store_create(&cfg);
    if (srv.store == NULL) {
        proto_die("store_create failed");
    }
    srv.settings = &settings;
    srv.stats_src = &fake_src;
    srv.shutdown = fake_shutdown;
    for (int i = 0; i < FUZZ_NCONN; i++) {
        proto_conn_init(&conns[i].pc, &tstats);
        buf_init(&conns[i].in, FUZZ_IN_LIMIT);
        /* larger than conn.c's, so overflow is seen instead of dropped */
        buf_init(&conns[i].out, 4 * out_limit(settings.item_size_max));
        conns[i].closed = false;
        conns[i].id = i;
        memset(&conns[i].fr, 0, sizeof conns[i].fr);
    }
    struct fuzz_stream s = { data + hdr, size - hdr, 0, 0, tmp };
    size_t cap = p.big ? FUZZ_STREAM_MAX : FUZZ_REPS_MAX;
    s.total = p.reps > cap / s.size ? cap : s.size * p.reps;
    if (s.total < s.size) {
        s.total = s.size;             /* the payload itself is always fed */
    }
    int64_t now = FUZZ_EPOCH;
    unsigned long checked = 0;
    for (size_t k = 0; s.pos < s.total; k++) {
        uint8_t spec = p.nspec ? p.spec[k % p.nspec] : 0;
        if (p.big) {
            spec &= 0x80;               /* keep the connection, full reads */
        }
        struct fconn *fc = &conns[(spec >> 7) % FUZZ_NCONN];
        size_t want = (spec & 0x7f) ? (spec & 0x7f) : FUZZ_READ_CHUNK;
        const uint8_t *bytes;
        if ((conns[0].closed && conns[1].closed) || cmds_run > FUZZ_CMDS_MAX) {
            break;
        }
        if (fc->closed) {
            fc = &conns[fc == &conns[0]];
        }
        want = fuzz_stream_take(&s, want, &bytes);
        size_t got = receive(fc, bytes, want);
        s.pos += got > 0 ? got : want;   /* a full buffer drops, as a peer would wait */
        if (p.tick) {
            now += p.tick;
            clock_tick(now);
        }
        drive(fc, &p);
        if (cmds_run / FUZZ_CHECK_EVERY != checked && conns[0].pc.item == NULL
            && conns[1].pc.item == NULL) {
            check_store(srv.store, cfg.adaptive);
            checked = cmds_run / FUZZ_CHECK_EVERY;
        }
    }
    for (int i = 0; i < FUZZ_NCONN; i++) {
        proto_conn_release(&srv, &conns[i].pc);
        if (conns[i].pc.item != NULL) {
            proto_die("release left an item");
        }
        buf_deinit(&conns[i].in);
        buf_deinit(&conns[i].out);
    }
    check_store(srv.store, cfg.adaptive);
    store_destroy(&srv.store);
    return 0;
}
