/* fuzz_binary.c: memcached's binary protocol as connections see it, the
 * binary twin of fuzz_proto.c. The first bytes of an input choose the
 * server's knobs and how the rest arrives (chunk sizes, which of two
 * connections gets each chunk, clock ticks, how much output the "socket"
 * takes, and whether the harness first repairs the packets' lengths); the
 * rest is the byte stream, driven through proto_process exactly as
 * net/conn.c drives it. Each connection first gets a binary noop (24 bytes,
 * opaque 0; under -S a version request, which is served before a login) of
 * its own, so -B auto reads it as binary whatever the fuzzer puts first.
 * Each input gets a fresh store and clock, so a crash replays alone.
 *
 * Invariants checked besides the sanitizers:
 * - proto_process never consumes more than it was given, keeps the budget
 *   in range, and every call makes progress;
 * - output never passes net/conn.c's buffer limit (proto_out_limit);
 *   a connection never waits for input without room for conn_read's next
 *   16 KiB read;
 * - the output reads as binary response packets (a client's framing): magic
 *   0x81, datatype 0, key + extras <= body, body within -I plus a key and
 *   the flags; a status memcached has; an error carries no extras and no
 *   cas, and its body is memcached's text for that status (or, for a getk /
 *   gatk miss, exactly the key); a success has the extras, key and body
 *   lengths its opcode answers with (flags on gets, 8 bytes on incr/decr,
 *   nothing on stores, deletes, noop, quit, flush; stat names and the
 *   version printable); a quiet request's success and a quiet get's miss
 *   are never answered; every opaque answered appears in what that
 *   connection sent (checked while it was sent at most 32 KiB); nothing is
 *   cut between reads or before a close;
 * - with -S (a knob; credentials alice:secret and bob:hunter2), nothing is
 *   stored while no connection has logged in;
 * - the store's books balance (no chunk leaks, pages within -m); release
 *   frees the half-received item.
 * Without src/proto/binary.c (the protocol not implemented yet) the noop is
 * read as text and the framing invariant fails at once: expected. */
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
#include "sec/auth.h"
#include "store/store.h"

#define FB_EPOCH 1700000000
#define FB_MEM (4u * 1024 * 1024)
#define FB_READ 16384                 /* net/conn.c reads at most this much */
#define FB_IN_LIMIT (PROTO_GET_LINE_MAX + FB_READ)   /* as conn.c */
#define FB_STREAM_MAX (PROTO_GET_LINE_MAX + 3 * FB_READ)
#define FB_REPS_MAX (128u * 1024)
#define FB_CMDS_MAX 2000
#define FB_CHECK_EVERY 32
#define FB_NCONN 2
#define FB_MAX_SPEC 16
#define FB_SENT_MAX (32u * 1024)      /* bytes kept per connection for the opaque check */
#define FB_KEY_MAX 250

/* protocol_binary.h */
enum {
    FB_REQ = 0x80, FB_RES = 0x81,
    FB_OP_GET = 0x00, FB_OP_SET, FB_OP_ADD, FB_OP_REPLACE, FB_OP_DELETE, FB_OP_INCR, FB_OP_DECR, FB_OP_QUIT,
    FB_OP_FLUSH, FB_OP_GETQ, FB_OP_NOOP, FB_OP_VERSION, FB_OP_GETK, FB_OP_GETKQ, FB_OP_APPEND, FB_OP_PREPEND,
    FB_OP_STAT, FB_OP_SETQ, FB_OP_ADDQ, FB_OP_REPLACEQ, FB_OP_DELETEQ, FB_OP_INCRQ, FB_OP_DECRQ, FB_OP_QUITQ,
    FB_OP_FLUSHQ, FB_OP_APPENDQ, FB_OP_PREPENDQ, FB_OP_VERBOSITY, FB_OP_TOUCH, FB_OP_GAT, FB_OP_GATQ,
    FB_OP_SASL_LIST = 0x20, FB_OP_SASL_AUTH, FB_OP_SASL_STEP, FB_OP_GATK, FB_OP_GATKQ,
};
enum {
    FB_ST_SUCCESS = 0x00, FB_ST_ENOENT, FB_ST_EEXISTS, FB_ST_E2BIG, FB_ST_EINVAL, FB_ST_NOT_STORED,
    FB_ST_DELTA_BADVAL, FB_ST_AUTH_ERROR = 0x20, FB_ST_AUTH_CONTINUE, FB_ST_UNKNOWN = 0x81,
    FB_ST_ENOMEM,
};

static struct thread_stats fb_tstats;
static struct settings fb_settings;
static struct proto_server fb_srv;
static unsigned long fb_cmds;
static bool fb_echo;                /* FUZZ_BINARY_ECHO=1: answers to stderr, in hex */

static void fb_die(const char *what, const char *detail)
{
    fuzz_die("fuzz_binary", what, detail);
}

static void fb_info(struct server_info *si)
{
    memset(si, 0, sizeof(*si));
    si->libevent_version = "fuzz";
}

static bool fb_conns(struct buf *out)
{
    (void)out;
    return true;
}

static const struct stats_source fb_src = { fb_info, fb_conns };

static void fb_shutdown(bool graceful)
{
    (void)graceful;
}

/* A client's reading of the answers: 24-byte headers, then bodies (the
 * first FB_BODY_KEEP bytes of which are kept for the checks). */
#define FB_BODY_KEEP 320
struct fb_framing {
    uint8_t hdr[24];
    size_t nhdr;
    uint32_t body_len, body_got;
    uint8_t body[FB_BODY_KEEP];
    unsigned long packets;
};

struct fb_conn {
    struct proto_conn pc;
    struct buf in, out;
    bool closed;
    int id;
    struct fb_framing fr;
    uint8_t *sent;                  /* what the connection was sent (first FB_SENT_MAX) */
    size_t nsent;
};

struct fb_plan {
    int budget;
    bool partial_drain;
    bool repair;                    /* the harness makes each packet's lengths add up */
    unsigned tick;
    bool sasl;                      /* -S */
    uint8_t spec[FB_MAX_SPEC];
    size_t nspec;
    size_t reps;
    bool big;
};

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static void wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Byte 0: bit0 -M, bit1 -C, bit2 -F, bit3 -I 1k instead of 64k, bit4
 * partial drain, bits5-6 clock step (0, 1, 2, 40 s), bit7 -m 64 MiB. Byte 1:
 * bits0-3 chunk-spec bytes, bits4-5 budget (-R 1, 2, 20, 1000), bit6 -m 2
 * MiB, bit7 repair mode. Byte 2: payload repetitions (below 0xf8 once, bit0
 * the store's plain mechanics, bit1 -S; 0xf8-0xfe 2^(b-0xf4) times; 0xff
 * until FB_STREAM_MAX bytes in full reads). Then the spec bytes: bit7 the
 * connection, bits0-6 the chunk length (0: a full read). */
static size_t fb_plan(const uint8_t *data, size_t size, struct fb_plan *p,
                      struct store_config *cfg)
{
    static const unsigned ticks[4] = { 0, 1, 2, 40 };
    static const int budgets[4] = { 1, 2, 20, 1000 };
    if (size < 3) {
        return 0;
    }
    settings_defaults(&fb_settings);
    fb_settings.mem_limit = (data[0] & 0x80) ? 16 * FB_MEM : FB_MEM;
    if (data[1] & 0x40) {
        fb_settings.mem_limit = FB_MEM / 2;
    }
    fb_settings.item_size_max = (data[0] & 0x08) ? 1024 : 64 * 1024;
    fb_settings.evictions = !(data[0] & 0x01);
    fb_settings.use_cas = !(data[0] & 0x02);
    fb_settings.flush_enabled = !(data[0] & 0x04);
    p->partial_drain = (data[0] & 0x10) != 0;
    p->tick = ticks[(data[0] >> 5) & 3];
    proto_store_config(&fb_settings, cfg);
    cfg->hash_power = 16;
    if (data[2] < 0xf8 && (data[2] & 1)) {
        cfg->adaptive = false;
    }
    p->sasl = data[2] < 0xf8 && (data[2] & 2);
    fb_settings.sasl = p->sasl;
    p->nspec = data[1] & 0x0f;
    p->budget = budgets[(data[1] >> 4) & 3];
    p->repair = (data[1] & 0x80) != 0;
    p->big = data[2] == 0xff;
    p->reps = data[2] < 0xf8 ? 1 : p->big ? SIZE_MAX : (size_t)1 << (data[2] - 0xf4);
    if (3 + p->nspec > size) {
        p->nspec = size - 3;
    }
    memcpy(p->spec, data + 3, p->nspec);
    return 3 + p->nspec;
}

/* Repair mode: walk the payload as packets and make each one's header
 * consistent with what follows: magic 0x80, key + extras within the body,
 * the body within the bytes left. The fuzzer then spends its time on
 * commands rather than on framing errors (raw mode covers those). */
static void fb_repair(uint8_t *p, size_t n)
{
    size_t pos = 0;
    while (n - pos >= 24) {
        uint8_t *h = p + pos;
        size_t left = n - pos - 24;
        uint32_t kl = rd16(h + 2), el = h[4], bl = rd32(h + 8);
        h[0] = FB_REQ;
        if (bl > left) {
            bl = (uint32_t)left;
        }
        if (el > bl) {
            el = bl;
        }
        if (kl > bl - el) {
            kl = bl - el;
        }
        h[2] = (uint8_t)(kl >> 8);
        h[3] = (uint8_t)kl;
        h[4] = (uint8_t)el;
        wr32(h + 8, bl);
        pos += 24 + bl;
    }
}

static bool fb_printable(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] < 0x20 || p[i] >= 0x7f) {
            return false;
        }
    }
    return true;
}

static bool fb_body_is(const struct fb_framing *fr, const char *text)
{
    size_t n = strlen(text);
    return fr->body_len == n && memcmp(fr->body, text, n) == 0;
}

/* memcached's text for an error status (write_bin_error). */
static const char *fb_error_text(unsigned status)
{
    switch (status) {
    case FB_ST_ENOENT: return "Not found";
    case FB_ST_EEXISTS: return "Data exists for key.";
    case FB_ST_E2BIG: return "Too large.";
    case FB_ST_EINVAL: return "Invalid arguments";
    case FB_ST_NOT_STORED: return "Not stored.";
    case FB_ST_DELTA_BADVAL: return "Non-numeric server-side value for incr or decr";
    case FB_ST_AUTH_ERROR: return "Auth failure.";
    case FB_ST_UNKNOWN: return "Unknown command";
    default: return NULL;
    }
}

static bool fb_opaque_sent(const struct fb_conn *fc, const uint8_t *opaque)
{
    if (fc->nsent >= FB_SENT_MAX) {
        return true;                    /* too much to search: not checked */
    }
    for (size_t i = 0; i + 4 <= fc->nsent; i++) {
        if (memcmp(fc->sent + i, opaque, 4) == 0) {
            return true;
        }
    }
    return false;
}

/* A whole response packet (header and the kept part of its body). */
static void fb_packet(struct fb_conn *fc)
{
    const struct fb_framing *fr = &fc->fr;
    const uint8_t *h = fr->hdr;
    unsigned op = h[1], kl = rd16(h + 2), el = h[4], status = rd16(h + 6);
    uint32_t bl = rd32(h + 8);
    bool cas_zero = rd32(h + 16) == 0 && rd32(h + 20) == 0;
    char d[96];
    snprintf(d, sizeof d, "opcode 0x%02x status 0x%02x key %u extras %u body %u", op, status,
             kl, el, (unsigned)bl);
    if (!fb_opaque_sent(fc, h + 12)) {
        fb_die("an answer's opaque was never sent on its connection", d);
    }
    if (status == FB_ST_ENOENT && (op == FB_OP_GETQ || op == FB_OP_GETKQ || op == FB_OP_GATQ
                                   || op == FB_OP_GATKQ)) {
        fb_die("a quiet get's miss was answered", d);
    }
    if (status != FB_ST_SUCCESS) {
        if (el != 0 || !cas_zero) {
            fb_die("an error answer with extras or a cas", d);
        }
        if (kl != 0) {
            if (status != FB_ST_ENOENT || (op != FB_OP_GETK && op != FB_OP_GATK) || bl != kl) {
                fb_die("an error answer with a key that is not a getk/gatk miss", d);
            }
            return;
        }
        const char *text = fb_error_text(status);
        if (text != NULL) {
            if (!fb_body_is(fr, text)) {
                fb_die("an error answer whose body is not memcached's text for it", d);
            }
        } else if (status == FB_ST_ENOMEM || status == FB_ST_AUTH_CONTINUE) {
            if (bl > FB_BODY_KEEP || !fb_printable(fr->body, bl)) {
                fb_die("an out-of-memory or auth-continue answer with a strange body", d);
            }
        } else {
            fb_die("a status memcached does not have", d);
        }
        return;
    }
    switch (op) {
    case FB_OP_GET: case FB_OP_GETQ: case FB_OP_GAT: case FB_OP_GATQ:
        if (el != 4 || kl != 0) {
            fb_die("a get hit without its flags, or with a key", d);
        }
        break;
    case FB_OP_GETK: case FB_OP_GETKQ: case FB_OP_GATK: case FB_OP_GATKQ:
        if (el != 4 || kl == 0 || kl > FB_KEY_MAX) {
            fb_die("a getk hit without its flags or key", d);
        }
        break;
    case FB_OP_TOUCH:
        if (el != 4 || kl != 0 || bl != 4) {
            fb_die("a touch answer that is not just the flags", d);
        }
        break;
    case FB_OP_INCR: case FB_OP_DECR:
        if (el != 0 || kl != 0 || bl != 8) {
            fb_die("an incr/decr answer that is not 8 bytes of value", d);
        }
        break;
    case FB_OP_SETQ: case FB_OP_ADDQ: case FB_OP_REPLACEQ: case FB_OP_APPENDQ:
    case FB_OP_PREPENDQ: case FB_OP_DELETEQ: case FB_OP_INCRQ: case FB_OP_DECRQ:
    case FB_OP_FLUSHQ: case FB_OP_QUITQ:
        fb_die("a quiet request's success was answered", d);
        break;
    case FB_OP_SET: case FB_OP_ADD: case FB_OP_REPLACE: case FB_OP_APPEND: case FB_OP_PREPEND:
    case FB_OP_DELETE:
        if (bl != 0) {
            fb_die("a store/delete success with a body", d);
        }
        break;
    case FB_OP_NOOP: case FB_OP_QUIT: case FB_OP_FLUSH:
        if (bl != 0 || !cas_zero) {
            fb_die("a noop/quit/flush answer with a body or a cas", d);
        }
        break;
    case FB_OP_VERSION:
        if (el != 0 || kl != 0 || bl == 0 || bl > 64 || !fb_printable(fr->body, bl)) {
            fb_die("a version answer that is not a printable version", d);
        }
        break;
    case FB_OP_STAT:
        if (el != 0 || (kl == 0 && bl != 0) || !cas_zero
            || !fb_printable(fr->body, kl < FB_BODY_KEEP ? kl : FB_BODY_KEEP)) {
            fb_die("a stat answer with extras, a cas, or an unprintable name", d);
        }
        break;
    case FB_OP_SASL_LIST: case FB_OP_SASL_AUTH: case FB_OP_SASL_STEP:
        if (el != 0 || kl != 0) {
            fb_die("a SASL answer with extras or a key", d);
        }
        break;
    default:
        fb_die("a success answer to an opcode memcached does not have", d);
    }
}

static void fb_header(struct fb_conn *fc)
{
    const uint8_t *h = fc->fr.hdr;
    uint32_t kl = rd16(h + 2), el = h[4], bl = rd32(h + 8);
    char d[64];
    snprintf(d, sizeof d, "bytes %02x %02x, key %u extras %u body %u", h[0], h[5],
             (unsigned)kl, (unsigned)el, (unsigned)bl);
    if (h[0] != FB_RES) {
        fb_die("an answer that is not a binary response packet (magic 0x81)", d);
    }
    if (h[5] != 0) {
        fb_die("an answer with a datatype other than 0", d);
    }
    if (kl + el > bl) {
        fb_die("an answer whose key and extras pass its body length", d);
    }
    if (bl > fb_settings.item_size_max + 4 + FB_KEY_MAX) {
        fb_die("an answer body longer than -I plus flags and key", d);
    }
}

static void fb_feed(struct fb_conn *fc, const uint8_t *p, size_t n)
{
    struct fb_framing *fr = &fc->fr;
    size_t i = 0;
    while (i < n) {
        if (fr->nhdr < 24) {
            size_t k = 24 - fr->nhdr < n - i ? 24 - fr->nhdr : n - i;
            memcpy(fr->hdr + fr->nhdr, p + i, k);
            fr->nhdr += k;
            i += k;
            if (fr->nhdr == 24) {
                fb_header(fc);
                fr->body_len = rd32(fr->hdr + 8);
                fr->body_got = 0;
            }
        } else {
            size_t k = fr->body_len - fr->body_got < n - i ? fr->body_len - fr->body_got
                                                           : n - i;
            if (fr->body_got < FB_BODY_KEEP) {
                size_t keep = FB_BODY_KEEP - fr->body_got < k ? FB_BODY_KEEP - fr->body_got : k;
                memcpy(fr->body + fr->body_got, p + i, keep);
            }
            fr->body_got += (uint32_t)k;
            i += k;
        }
        if (fr->nhdr == 24 && fr->body_got == fr->body_len) {
            fb_packet(fc);
            fr->nhdr = 0;
            fr->packets++;
        }
    }
}

static void fb_idle(const struct fb_conn *fc)
{
    if (fc->fr.nhdr != 0) {
        fb_die("output stops inside an answer packet", "");
    }
}

/* The store's books (as fuzz_proto's check_store): nothing allocated is
 * left neither linked nor freed, the one class's counters agree with the
 * store's, and no segment was handed out beyond -m. Called when no
 * connection holds an item. */
static void fb_check_store(struct store *st, bool adaptive)
{
    struct store_class_stats cs;
    struct store_stats ss;
    (void)adaptive;
    store_stats(st, &ss);
    if (!store_class_stats(st, 1, &cs)) {
        fb_die("class stats missing", "");
    }
    if (ss.pending_items != 0) {
        fb_die("an allocated item neither linked nor freed (leaked item)", "");
    }
    if (cs.number != ss.curr_items || cs.mem_requested != ss.bytes
        || cs.mem_requested > cs.total_pages * cs.chunk_size) {
        fb_die("class counters do not add up", "");
    }
    if (ss.total_malloced > fb_settings.mem_limit) {
        fb_die("segments handed out beyond -m", "");
    }
}

static size_t fb_drain(struct fb_conn *fc, bool partial)
{
    size_t n = buf_len(&fc->out);
    if (partial && n > 1) {
        n = (n + 1) / 2;
    }
    if (n == 0) {
        return 0;
    }
    const uint8_t *p = (const uint8_t *)buf_head(&fc->out);
    if (fb_echo) {
        fprintf(stderr, "[conn %d]", fc->id);
        for (size_t i = 0; i < n && i < 4096; i++) {
            fprintf(stderr, " %02x", p[i]);
        }
        fprintf(stderr, "\n");
    }
    fb_feed(fc, p, n);
    buf_consume(&fc->out, n);
    return n;
}

/* net/conn.c's conn_drive loop for one connection after a read. */
static void fb_drive(struct fb_conn *fc, const struct fb_plan *p)
{
    unsigned idle = 0;
    while (!fc->closed) {
        enum proto_stop why = PROTO_STOP_NEED_INPUT;
        int budget = p->budget;
        size_t len = buf_len(&fc->in);
        size_t before = buf_len(&fc->out);
        size_t used = proto_process(&fb_srv, &fc->pc, len > 0 ? buf_head(&fc->in) : "", len,
                                    &fc->out, &budget, &why);
        if (used > len) {
            fb_die("consumed more than given", "");
        }
        if (budget < 0 || budget > p->budget) {
            fb_die("budget out of range", "");
        }
        fb_cmds += (unsigned long)(p->budget - budget);
        if (buf_len(&fc->out) > proto_out_limit(fb_settings.item_size_max)) {
            fb_die("output passed net/conn.c's buffer limit", "");
        }
        bool produced = buf_len(&fc->out) != before;
        buf_consume(&fc->in, used);
        size_t taken = fb_drain(fc, p->partial_drain);
        if (why == PROTO_STOP_CLOSE) {
            while (fb_drain(fc, p->partial_drain) > 0) {
            }
            fb_idle(fc);
            fc->closed = true;
            break;
        }
        if (why == PROTO_STOP_NEED_INPUT) {
            if (!fc->pc.close && buf_len(&fc->in) > fc->in.limit - FB_READ) {
                fb_die("waits for input with no room for a read (conn_read would drop it)", "");
            }
            while (fb_drain(fc, p->partial_drain) > 0) {
            }
            fb_idle(fc);
            break;
        }
        idle = (used == 0 && !produced && taken == 0) ? idle + 1 : 0;
        if (idle > 2) {
            fb_die("no progress", "");
        }
    }
}

static size_t fb_receive(struct fb_conn *fc, const uint8_t *src, size_t n)
{
    size_t room = fc->in.limit - buf_len(&fc->in);
    if (n > room) {
        n = room;
    }
    if (n > 0 && !buf_append(&fc->in, src, n)) {
        fb_die("input buffer refused bytes within its limit", "");
    }
    if (fc->nsent < FB_SENT_MAX) {
        size_t k = FB_SENT_MAX - fc->nsent < n ? FB_SENT_MAX - fc->nsent : n;
        memcpy(fc->sent + fc->nsent, src, k);
        fc->nsent += k;
        if (k < n) {
            fc->nsent = FB_SENT_MAX;    /* past the window: the opaque check stops */
        }
    }
    return n;
}


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool once;
    static uint8_t tmp[FB_READ];
    static const uint8_t noop[24] = { FB_REQ, FB_OP_NOOP };
    struct fb_plan p;
    struct store_config cfg;
    struct fb_conn conns[FB_NCONN];
    size_t hdr = fb_plan(data, size, &p, &cfg);
    if (hdr == 0 || hdr == size) {
        return 0;
    }
    if (!once) {
        static const char creds[] = "alice:secret\nbob:hunter2\n";
        char err[128];
        stats_register_thread(&fb_tstats);
        fb_echo = getenv("FUZZ_BINARY_ECHO") != NULL;
        struct auth_db *db = auth_db_parse(creds, sizeof(creds) - 1, err, sizeof(err));
        if (db == NULL) {
            fb_die("the harness's credentials were refused", err);
        }
        auth_install(db);
        once = true;
    }
    uint8_t *payload = malloc(size - hdr);
    if (payload == NULL) {
        return 0;
    }
    memcpy(payload, data + hdr, size - hdr);
    if (p.repair) {
        fb_repair(payload, size - hdr);
    }
    clock_init(FB_EPOCH);
    fb_cmds = 0;
    fb_srv.store = store_create(&cfg);
    if (fb_srv.store == NULL) {
        fb_die("store_create failed", "");
    }
    fb_srv.settings = &fb_settings;
    fb_srv.stats_src = &fb_src;
    fb_srv.shutdown = fb_shutdown;
    for (int i = 0; i < FB_NCONN; i++) {
        struct fb_conn *fc = &conns[i];
        proto_conn_init(&fc->pc, &fb_tstats);
        buf_init(&fc->in, FB_IN_LIMIT);
        buf_init(&fc->out, 4 * proto_out_limit(fb_settings.item_size_max));
        fc->closed = false;
        fc->id = i;
        memset(&fc->fr, 0, sizeof fc->fr);
        fc->sent = malloc(FB_SENT_MAX);
        fc->nsent = 0;
        if (fc->sent == NULL) {
            fb_die("out of memory in the harness", "");
        }
        /* the noop that makes -B auto pick the binary protocol (under -S it is
         * refused, "Auth failure.", and the connection closes: a version
         * request instead, which memcached serves before a login) */
        uint8_t first[24];
        memcpy(first, noop, sizeof first);
        if (p.sasl) {
            first[1] = FB_OP_VERSION;
        }
        fb_receive(fc, first, sizeof first);
        fb_drive(fc, &p);
        if (fc->closed || fc->fr.packets != 1) {
            fb_die("a binary noop was not answered with one response packet", "");
        }
    }
    struct fuzz_stream s = { payload, size - hdr, 0, 0, tmp };
    size_t cap = p.big ? FB_STREAM_MAX : FB_REPS_MAX;
    s.total = p.reps > cap / s.size ? cap : s.size * p.reps;
    if (s.total < s.size) {
        s.total = s.size;
    }
    int64_t now = FB_EPOCH;
    unsigned long checked = 0;
    bool logged_in = false;
    for (size_t k = 0; s.pos < s.total; k++) {
        uint8_t spec = p.nspec ? p.spec[k % p.nspec] : 0;
        if (p.big) {
            spec &= 0x80;
        }
        struct fb_conn *fc = &conns[(spec >> 7) % FB_NCONN];
        size_t want = (spec & 0x7f) ? (spec & 0x7f) : FB_READ;
        const uint8_t *bytes;
        if ((conns[0].closed && conns[1].closed) || fb_cmds > FB_CMDS_MAX) {
            break;
        }
        if (fc->closed) {
            fc = &conns[fc == &conns[0]];
        }
        want = fuzz_stream_take(&s, want, &bytes);
        size_t got = fb_receive(fc, bytes, want);
        s.pos += got > 0 ? got : want;
        if (p.tick) {
            now += p.tick;
            clock_tick(now);
        }
        fb_drive(fc, &p);
        if (p.sasl && !conns[0].pc.authenticated && !conns[1].pc.authenticated
            && !logged_in) {
            struct store_stats ss;
            store_stats(fb_srv.store, &ss);
            if (ss.total_items != 0) {
                fb_die("something was stored under -S before any login", "");
            }
        }
        logged_in = logged_in || conns[0].pc.authenticated || conns[1].pc.authenticated;
        if (fb_cmds / FB_CHECK_EVERY != checked && conns[0].pc.item == NULL
            && conns[1].pc.item == NULL) {
            fb_check_store(fb_srv.store, cfg.adaptive);
            checked = fb_cmds / FB_CHECK_EVERY;
        }
    }
    for (int i = 0; i < FB_NCONN; i++) {
        proto_conn_release(&fb_srv, &conns[i].pc);
        if (conns[i].pc.item != NULL) {
            fb_die("release left an item", "");
        }
        buf_deinit(&conns[i].in);
        buf_deinit(&conns[i].out);
        free(conns[i].sent);
    }
    fb_check_store(fb_srv.store, cfg.adaptive);
    store_destroy(&fb_srv.store);
    free(payload);
    return 0;
}
