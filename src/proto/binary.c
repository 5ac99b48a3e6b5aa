/* binary.c: memcached's binary protocol, answering packet for packet as
 * memcached 1.6.18 does (tests/integration/test_binary.py runs both side by
 * side; docs/COMPATIBILITY.md lists what differs), and SASL PLAIN over it.
 * Input is untrusted: a header is read only once its 24 bytes are there,
 * extras and key only once all of them are, and every length is checked
 * against the others before any is used (memcached's CVE-2016-8704/8705/8706
 * were lengths trusted at this point). Values stream into their item as in
 * ascii.c. Opcodes are rows of one table; the dispatcher walks it. */
#include "proto/binary.h"

#include <stdio.h>
#include <string.h>
#include <xxhash.h>

#include "base/clock.h"
#include "base/num.h"
#include "base/vlog.h"
#include "conf/settings.h"
#include "sec/auth.h"

#define KEY_MAX 250
/* memcached reads a request's header, extras and key into its 16 KiB read
 * buffer: one that does not fit closes the connection once the buffer is
 * full, unanswered. So no request makes us hold more than this either. */
#define BIN_HEAD_MAX 16384
#define NO_AUTO_CREATE 0xffffffffu   /* incr/decr expiration: do not create */
#define HELD_MAX 32

/* ---- bytes in network order ------------------------------------------- */

static uint32_t get_be(const char *p, unsigned n)
{
    uint32_t v = 0;
    for (unsigned i = 0; i < n; i++) {
        v = (v << 8) | (uint8_t)p[i];
    }
    return v;
}

static uint64_t get_be64(const char *p)
{
    return ((uint64_t)get_be(p, 4) << 32) | get_be(p + 4, 4);
}

static void put_be(char *p, uint64_t v, unsigned n)
{
    for (unsigned i = n; i > 0; i--) {
        p[i - 1] = (char)(v & 0xff);
        v >>= 8;
    }
}

void bin_header_parse(const char in[BIN_HEADER_LEN], struct bin_header *h)
{
    h->magic = (uint8_t)in[0];
    h->opcode = (uint8_t)in[1];
    h->keylen = (uint16_t)get_be(in + 2, 2);
    h->extlen = (uint8_t)in[4];
    h->datatype = (uint8_t)in[5];
    h->status = (uint16_t)get_be(in + 6, 2);
    h->bodylen = get_be(in + 8, 4);
    h->opaque = get_be(in + 12, 4);
    h->cas = get_be64(in + 16);
}

void bin_header_compose(const struct bin_header *h, char out[BIN_HEADER_LEN])
{
    out[0] = (char)h->magic;
    out[1] = (char)h->opcode;
    put_be(out + 2, h->keylen, 2);
    out[4] = (char)h->extlen;
    out[5] = (char)h->datatype;
    put_be(out + 6, h->status, 2);
    put_be(out + 8, h->bodylen, 4);
    put_be(out + 12, h->opaque, 4);
    put_be(out + 16, h->cas, 8);
}

enum bin_frame bin_frame(const char *in, size_t len, struct bin_header *h)
{
    if (len < BIN_HEADER_LEN) {
        return BIN_FRAME_WAIT;
    }
    bin_header_parse(in, h);
    if (h->magic != BIN_REQ_MAGIC) {
        return BIN_FRAME_BAD_MAGIC;
    }
    if (len - BIN_HEADER_LEN < (size_t)h->extlen + h->keylen) {
        return BIN_FRAME_WAIT;      /* bounded by the caller (BIN_HEAD_MAX) */
    }
    if (h->keylen > h->bodylen || (uint32_t)h->keylen + h->extlen > h->bodylen) {
        return BIN_FRAME_BAD_LENGTHS;
    }
    return BIN_FRAME_OK;
}

bool bin_sasl_plain(struct span msg, struct span *user, struct span *pass)
{
    size_t first = span_find(msg, '\0');
    if (first == msg.n) {
        return false;
    }
    struct span rest = span_sub(msg, first + 1, SIZE_MAX);
    size_t second = span_find(rest, '\0');
    if (second == rest.n) {
        return false;
    }
    struct span authzid = span_sub(msg, 0, first);
    *user = span_sub(rest, 0, second);
    *pass = span_sub(rest, second + 1, SIZE_MAX);
    if (user->n == 0 || pass->n == 0) {
        return false;
    }
    return authzid.n == 0 || span_eq_span(authzid, *user);
}

/* ---- answers ------------------------------------------------------------ */

/* Everything a handler needs for one request. */
struct bin_ctx {
    const struct proto_server *srv;
    struct proto_conn *pc;
    struct buf *out;
    struct bin_header h;
    struct span ext, key, value;   /* value: only when the whole body was waited for */
    size_t written;                /* out[0, written) counts as sent (bad_magic) */
    /* keys (their hashes) of get hits answered since the last write-out: in
     * memcached those answers still hold their item (see delta_unpad) */
    uint64_t held[HELD_MAX];
    unsigned nheld;
    bool held_overflow;
};

/* memcached's texts for its error statuses (write_bin_error). */
static const struct { uint16_t status; const char *text; } error_texts[] = {
    { BIN_ENOMEM, "Out of memory" }, { BIN_UNKNOWN_COMMAND, "Unknown command" },
    { BIN_KEY_ENOENT, "Not found" }, { BIN_EINVAL, "Invalid arguments" },
    { BIN_KEY_EEXISTS, "Data exists for key." }, { BIN_E2BIG, "Too large." },
    { BIN_DELTA_BADVAL, "Non-numeric server-side value for incr or decr" },
    { BIN_NOT_STORED, "Not stored." }, { BIN_AUTH_ERROR, "Auth failure." },
};

static const char *error_text(uint16_t status)
{
    for (size_t i = 0; i < sizeof(error_texts) / sizeof(error_texts[0]); i++) {
        if (error_texts[i].status == status) {
            return error_texts[i].text;
        }
    }
    return "UNHANDLED ERROR";
}

/* One answer packet: the request's opcode and opaque, extras, key, value. */
static bool reply(struct bin_ctx *c, uint16_t status, struct span ext, struct span key,
                  struct span value, uint64_t cas)
{
    size_t body = ext.n + key.n + value.n;
    if (!buf_reserve(c->out, BIN_HEADER_LEN + body)) {
        c->pc->close = true;            /* it cannot be answered */
        c->pc->out_of_memory = true;
        return false;
    }
    struct bin_header r = {
        .magic = BIN_RES_MAGIC, .opcode = c->h.opcode, .keylen = (uint16_t)key.n,
        .extlen = (uint8_t)ext.n, .status = status, .bodylen = (uint32_t)body,
        .opaque = c->h.opaque, .cas = cas,
    };
    if (vlog_on(VLOG_TRAFFIC)) {             /* -vv: the kind of answer */
        const char *kind = status == BIN_SUCCESS ? "Success" : error_text(status);
        vlog_traffic(c->pc->trace_id, '>', kind, strlen(kind));
    }
    char hdr[BIN_HEADER_LEN];
    bin_header_compose(&r, hdr);
    buf_append(c->out, hdr, sizeof(hdr));
    buf_append(c->out, ext.p, ext.n);
    buf_append(c->out, key.p, key.n);
    buf_append(c->out, value.p, value.n);
    return true;
}

/* memcached writes its queued answers out after an error, a noop, a quit
 * and a SASL continue (conn_mwrite); answers after that point are lost when
 * a bad magic closes the connection. */
static void mark_written(struct bin_ctx *c)
{
    c->written = buf_len(c->out);
    c->nheld = 0;
    c->held_overflow = false;
}

/* Unkeyed: a collision only makes an incr's answer unpadded (delta_unpad),
 * which a client may choose for its own keys anyway. */
static uint64_t held_hash(struct span key)
{
    return XXH3_64bits(key.p, key.n);
}

/* A get hit's answer, which holds its item in memcached until written out. */
static void note_held(struct bin_ctx *c, struct span key)
{
    if (c->nheld == HELD_MAX) {
        c->held_overflow = true;
        return;
    }
    c->held[c->nheld++] = held_hash(key);
}

static bool is_held(const struct bin_ctx *c, struct span key)
{
    uint64_t hv = held_hash(key);
    for (unsigned i = 0; i < c->nheld; i++) {
        if (c->held[i] == hv) {
            return true;
        }
    }
    return c->held_overflow;
}

/* A success answer, which a quiet opcode does not send. */
static void reply_ok(struct bin_ctx *c, struct span value, uint64_t cas)
{
    if (!c->pc->bin.quiet) {
        reply(c, BIN_SUCCESS, SPAN_EMPTY, SPAN_EMPTY, value, cas);
    }
}

static void reply_error_text(struct bin_ctx *c, uint16_t status, const char *text)
{
    reply(c, status, SPAN_EMPTY, SPAN_EMPTY, span_cstr(text), 0);
    mark_written(c);
}

/* write_bin_error: quiet or not, an error is answered. */
static void reply_error(struct bin_ctx *c, uint16_t status)
{
    reply_error_text(c, status, error_text(status));
}

/* memcached keeps the length of a body to discard in an int: one of 2^31
 * or more is negative there, so nothing is discarded and the answer goes
 * out at once (the body's bytes are then read as requests). */
#define SWALLOW_MAX ((uint64_t)INT32_MAX)

/* An error for a request whose body's remaining n bytes are discarded
 * first: memcached queues the answer, and writes it out only once they
 * are (process_swallow answers it then). text is a string literal. */
static void reply_error_swallow(struct bin_ctx *c, uint16_t status, const char *text,
                                uint64_t n)
{
    if (n == 0 || n > SWALLOW_MAX) {
        reply_error_text(c, status, text);
        return;
    }
    c->pc->bin.held_status = status;
    c->pc->bin.held_text = text;
    c->pc->state = PROTO_SWALLOW;
    c->pc->swallow_left = n;
}

/* memcached's handle_binary_protocol_error and its length check: an
 * error, then the connection is closed once it is written. */
static void reply_error_close(struct bin_ctx *c, uint16_t status)
{
    reply_error(c, status);
    c->pc->close = true;
}

static uint32_t value_len(const struct bin_header *h)
{
    return h->bodylen - h->keylen - h->extlen;    /* bin_frame checked the sum */
}

/* ---- get, getk, touch, gat, gatk (and quiet forms) ----------------------- */

enum get_kind { GET_PLAIN, GET_KEY, GET_TOUCH, GET_GAT, GET_GATK };

struct get_emit_ctx {
    struct bin_ctx *c;
    bool with_key, with_value, touch, oom;
};

static void get_emit(void *arg, const struct item_view *v)
{
    struct get_emit_ctx *g = arg;
    char flags[4];
    put_be(flags, v->flags, 4);
    struct span key = g->with_key ? span_of(v->key, v->nkey) : SPAN_EMPTY;
    struct span value = g->with_value ? span_of(v->data, v->ndata) : SPAN_EMPTY;
    struct thread_stats *ts = g->c->pc->stats;
    unsigned cls = v->clsid <= STORE_MAX_CLASSES ? v->clsid : 0;
    if (!buf_reserve(g->c->out, BIN_HEADER_LEN + 4 + key.n + value.n)) {
        g->oom = true;
        return;
    }
    reply(g->c, BIN_SUCCESS, span_of(flags, 4), key, value, v->cas);
    if (g->touch) {
        STAT_INC(ts->cls[cls].touch_hits);
    } else {
        STAT_INC(ts->cls[cls].get_hits);
    }
}

/* A hit is answered even by a quiet opcode; a miss only by a loud one:
 * "Not found", or for getk/gatk the key (which memcached does not write
 * out at once). */
static void op_get_kind(struct bin_ctx *c, enum get_kind kind)
{
    bool touch = kind >= GET_TOUCH;
    struct get_emit_ctx g = {
        .c = c, .with_key = kind == GET_KEY || kind == GET_GATK,
        .with_value = kind != GET_TOUCH, .touch = touch,
    };
    rel_time_t exptime = touch ? clock_exptime_to_rel(get_be(c->ext.p, 4)) : 0;
    enum store_status st = store_get(c->srv->store, c->key.p, c->key.n, touch, exptime,
                                     get_emit, &g);
    stats_count_get(c->pc->stats, st == STORE_OK, touch);
    if (st == STORE_OK && !g.oom) {
        note_held(c, c->key);
    }
    if (g.oom) {
        reply_error_text(c, BIN_ENOMEM, "out of memory writing get response");
    } else if (st != STORE_OK && !c->pc->bin.quiet) {
        if (g.with_key) {
            reply(c, BIN_KEY_ENOENT, SPAN_EMPTY, c->key, SPAN_EMPTY, 0);
        } else {
            reply_error(c, BIN_KEY_ENOENT);
        }
    }
}

static void op_get(struct bin_ctx *c) { op_get_kind(c, GET_PLAIN); }
static void op_getk(struct bin_ctx *c) { op_get_kind(c, GET_KEY); }
static void op_touch(struct bin_ctx *c) { op_get_kind(c, GET_TOUCH); }
static void op_gat(struct bin_ctx *c) { op_get_kind(c, GET_GAT); }
static void op_gatk(struct bin_ctx *c) { op_get_kind(c, GET_GATK); }

/* ---- storage ---------------------------------------------------------- */

/* The item could not be allocated: memcached's answer, the value is
 * swallowed, and a failed set must not leave the old value readable. */
static void store_refused(struct bin_ctx *c, enum store_status st, bool is_set)
{
    uint32_t vlen = value_len(&c->h);
    if (st == STORE_TOO_LARGE) {
        STAT_INC(c->pc->stats->store_too_large);
        reply_error_swallow(c, BIN_E2BIG, error_text(BIN_E2BIG), vlen);
    } else {
        STAT_INC(c->pc->stats->store_no_memory);
        reply_error_swallow(c, BIN_ENOMEM, "Out of memory allocating item", vlen);
    }
    if (is_set) {
        (void)store_delete(c->srv->store, c->key.p, c->key.n);
    }
}

static void nread_link(struct bin_ctx *c);

/* Allocates the item and lets its value stream in (PROTO_NREAD). is_set:
 * the opcode is set or setq (with a cas too: memcached tests the opcode). */
static void store_begin(struct bin_ctx *c, enum store_mode mode, bool is_set,
                        uint32_t flags, uint32_t exptime)
{
    struct proto_conn *pc = c->pc;
    enum store_status st;
    uint32_t vlen = value_len(&c->h);
    struct item *it = store_item_alloc(c->srv->store, c->key.p, c->key.n, flags,
                                       clock_exptime_to_rel(exptime), vlen, &st);
    if (it == NULL) {
        store_refused(c, st, is_set);
        return;
    }
    pc->state = PROTO_NREAD;
    pc->item = it;
    pc->item_data = store_item_data(it);
    pc->item_ndata = vlen;
    pc->item_filled = 0;
    pc->mode = mode;
    pc->cas_in = c->h.cas;
    if (vlen == 0) {
        nread_link(c);
    }
}

/* set, add, replace: a cas makes any of them a cas (memcached's NREAD_CAS). */
static void op_update(struct bin_ctx *c, enum store_mode mode)
{
    store_begin(c, c->h.cas != 0 ? STORE_CAS : mode, mode == STORE_SET,
                get_be(c->ext.p, 4), get_be(c->ext.p + 4, 4));
}

static void op_set(struct bin_ctx *c) { op_update(c, STORE_SET); }
static void op_add(struct bin_ctx *c) { op_update(c, STORE_ADD); }
static void op_replace(struct bin_ctx *c) { op_update(c, STORE_REPLACE); }
static void op_append(struct bin_ctx *c) { store_begin(c, STORE_APPEND, false, 0, 0); }
static void op_prepend(struct bin_ctx *c) { store_begin(c, STORE_PREPEND, false, 0, 0); }

static void count_cas(struct thread_stats *ts, enum store_mode mode, enum store_status st)
{
    if (mode != STORE_CAS) {
        return;
    }
    if (st == STORE_OK) {
        STAT_INC(ts->cas_hits);
    } else if (st == STORE_EXISTS) {
        STAT_INC(ts->cas_badval);
    } else if (st == STORE_NOT_FOUND) {
        STAT_INC(ts->cas_misses);
    }
}

/* The value has arrived: link the item and answer (complete_update_bin). */
static void nread_link(struct bin_ctx *c)
{
    struct proto_conn *pc = c->pc;
    struct thread_stats *ts = pc->stats;
    unsigned cls = store_item_clsid(pc->item);
    uint64_t cas = 0;
    pc->state = PROTO_LINE;
    STAT_INC(ts->cmd_set);
    STAT_INC(ts->cls[cls <= STORE_MAX_CLASSES ? cls : 0].cmd_set);
    enum store_status st = store_item_link(c->srv->store, &pc->item, pc->mode, pc->cas_in,
                                           &cas);
    count_cas(ts, pc->mode, st);
    switch (st) {
    case STORE_OK: reply_ok(c, SPAN_EMPTY, cas); break;
    case STORE_EXISTS: reply_error(c, BIN_KEY_EEXISTS); break;
    case STORE_NOT_FOUND: reply_error(c, BIN_KEY_ENOENT); break;
    default:
        reply_error(c, pc->mode == STORE_ADD ? BIN_KEY_EEXISTS
                       : pc->mode == STORE_REPLACE ? BIN_KEY_ENOENT : BIN_NOT_STORED);
        break;
    }
}

/* ---- delete, incr, decr ------------------------------------------------ */

static void op_delete(struct bin_ctx *c)
{
    struct meta_delete_req req = { .has_cas = c->h.cas != 0, .cas_in = c->h.cas };
    switch (store_meta_delete(c->srv->store, c->key.p, c->key.n, &req)) {
    case STORE_OK:
        STAT_INC(c->pc->stats->delete_hits);
        reply_ok(c, SPAN_EMPTY, 0);
        break;
    case STORE_EXISTS:
        reply_error(c, BIN_KEY_EEXISTS);
        break;
    default:
        STAT_INC(c->pc->stats->delete_misses);
        reply_error(c, BIN_KEY_ENOENT);
        break;
    }
}

struct delta_seen {
    uint64_t value, cas;
    uint32_t flags, ndata;
    rel_time_t exptime;
};

static void delta_note(void *ctx, struct meta_view *view)
{
    struct delta_seen *d = ctx;
    *d = (struct delta_seen){ view->number, view->item.cas, view->item.flags,
                              view->item.ndata, view->exptime };
}

/* memcached rewrites a number in place (space padded) only when nobody else
 * holds the item; a get hit answered earlier in the same batch, not yet
 * written out, still does, so the new value is a new item of exactly its
 * digits. The store padded it in place: the exact digits replace it (with
 * the same flags and exptime, and only if the item is still that one).
 * Returns the cas the answer carries. */
static uint64_t delta_unpad(struct bin_ctx *c, const struct delta_seen *d)
{
    char digits[24];
    size_t n = num_format_u64(d->value, digits);
    enum store_status st;
    uint64_t cas = d->cas;
    if (n >= d->ndata || !is_held(c, c->key)) {
        return d->cas;
    }
    struct item *it = store_item_alloc(c->srv->store, c->key.p, c->key.n, d->flags,
                                       d->exptime, (uint32_t)n, &st);
    if (it == NULL) {
        return d->cas;
    }
    memcpy(store_item_data(it), digits, n);
    return store_item_link(c->srv->store, &it, STORE_CAS, d->cas, &cas) == STORE_OK
           ? cas : d->cas;
}

static void reply_number(struct bin_ctx *c, uint64_t value, uint64_t cas)
{
    char be[8];
    put_be(be, value, 8);
    reply_ok(c, span_of(be, 8), cas);
}

/* A miss with an expiration other than 0xffffffff: the initial value is
 * added (memcached's NREAD_ADD, flags 0). */
static void delta_create(struct bin_ctx *c, uint64_t initial, uint32_t exptime)
{
    char digits[24];
    size_t n = num_format_u64(initial, digits);
    enum store_status st;
    uint64_t cas = 0;
    struct item *it = store_item_alloc(c->srv->store, c->key.p, c->key.n, 0,
                                       clock_exptime_to_rel(exptime), (uint32_t)n, &st);
    if (it == NULL) {
        reply_error_text(c, BIN_ENOMEM, "Out of memory allocating new item");
        return;
    }
    memcpy(store_item_data(it), digits, n);
    if (store_item_link(c->srv->store, &it, STORE_ADD, 0, &cas) == STORE_OK) {
        reply_number(c, initial, cas);
    } else {
        reply_error(c, BIN_NOT_STORED);
    }
}

static void op_delta(struct bin_ctx *c, bool incr)
{
    struct thread_stats *ts = c->pc->stats;
    struct meta_delta_req req = { .incr = incr, .delta = get_be64(c->ext.p),
                                  .cas_in = c->h.cas };
    uint64_t initial = get_be64(c->ext.p + 8);
    uint32_t exptime = get_be(c->ext.p + 16, 4);
    struct delta_seen d = { 0 };
    switch (store_meta_delta(c->srv->store, c->key.p, c->key.n, &req, delta_note, &d)) {
    case STORE_OK:
        STAT_INC(*(incr ? &ts->incr_hits : &ts->decr_hits));
        reply_number(c, d.value, delta_unpad(c, &d));
        break;
    case STORE_NON_NUMERIC: reply_error(c, BIN_DELTA_BADVAL); break;
    case STORE_EXISTS: reply_error(c, BIN_KEY_EEXISTS); break;
    case STORE_NOT_FOUND:
        if (exptime != NO_AUTO_CREATE) {
            delta_create(c, initial, exptime);
            break;
        }
        STAT_INC(*(incr ? &ts->incr_misses : &ts->decr_misses));
        reply_error(c, BIN_KEY_ENOENT);
        break;
    default:
        reply_error_text(c, BIN_ENOMEM, "Out of memory incrementing value");
        break;
    }
}

static void op_incr(struct bin_ctx *c) { op_delta(c, true); }
static void op_decr(struct bin_ctx *c) { op_delta(c, false); }

/* ---- quit, flush, noop, version ------------------------------------------ */

static void op_quit(struct bin_ctx *c)
{
    reply_ok(c, SPAN_EMPTY, 0);
    c->pc->close = true;                /* after everything queued is written */
}

/* -F: memcached answers Auth failure (and counts nothing). */
static void op_flush(struct bin_ctx *c)
{
    if (!c->srv->settings->flush_enabled) {
        reply_error(c, BIN_AUTH_ERROR);
        return;
    }
    STAT_INC(c->pc->stats->cmd_flush);
    uint32_t delay = c->ext.n == 4 ? get_be(c->ext.p, 4) : 0;
    rel_time_t now = clock_now();
    rel_time_t when = delay > 0 ? clock_exptime_to_rel(delay) - 1 : now;
    store_flush(c->srv->store, when <= now ? 0 : when);
    reply_ok(c, SPAN_EMPTY, 0);
}

static void op_noop(struct bin_ctx *c)
{
    reply_ok(c, SPAN_EMPTY, 0);
    mark_written(c);                    /* "NOOP forces pipeline flush" */
}

static void op_version(struct bin_ctx *c)
{
    reply_ok(c, span_cstr(PROTO_VERSION), 0);
}

/* ---- stat -------------------------------------------------------------- */

/* Each stat is a packet: the name its key, the value its value. */
static void put_packet(struct stats_sink *sink, const char *name, size_t nname,
                       const char *value, size_t nvalue)
{
    struct bin_ctx *c = sink->ctx;
    if (!c->pc->close && !reply(c, BIN_SUCCESS, SPAN_EMPTY, span_of(name, nname),
                                span_of(value, nvalue), 0)) {
        sink->full = true;
    }
}

/* process_bin_stat's words: "reset", "settings" and "detail" match as
 * prefixes, the sections of get_stats exactly; "conns", "cachedump" and
 * the rest are answered Not found, as memcached does. 1 a section, 0 an
 * answer of the terminator alone, -1 Not found, 2 a section without the
 * terminator (memcached's sizes_enable and sizes_disable). */
static int stat_section(struct span key, enum stats_section *which)
{
    static const struct { const char *word; enum stats_section which; } exact[] = {
        { "items", STATS_ITEMS }, { "slabs", STATS_SLABS }, { "sizes", STATS_SIZES },
    };
    if (span_is_empty(key)) {
        *which = STATS_GENERAL;
        return 1;
    }
    if (span_starts_with(key, "reset")) {
        stats_reset();
        return 0;
    }
    if (span_starts_with(key, "settings")) {
        *which = STATS_SETTINGS;
        return 1;
    }
    for (size_t i = 0; i < sizeof(exact) / sizeof(exact[0]); i++) {
        if (span_eq(key, exact[i].word)) {
            *which = exact[i].which;
            return 1;
        }
    }
    if (span_eq(key, "sizes_enable") || span_eq(key, "sizes_disable")) {
        *which = STATS_SIZES;           /* sizes are never tracked: "disabled" */
        return 2;
    }
    /* no per-prefix stats are kept here: "detail on" and "detail off" change
     * nothing (answered as memcached answers them) */
    return span_starts_with(key, "detail on") || span_starts_with(key, "detail off") ? 0 : -1;
}

/* "detail dump": memcached's dump with no prefix recorded. */
static bool stat_detail_dump(struct span key, struct stats_sink *sink)
{
    if (!span_starts_with(key, "detail dump")) {
        return false;
    }
    put_packet(sink, "detailed", 8, "END\r\n", 5);
    return true;
}

static void op_stat(struct bin_ctx *c)
{
    enum stats_section which = STATS_GENERAL;
    size_t mark = buf_len(c->out);
    struct stats_sink sink = { put_packet, c, false };
    if (!stat_detail_dump(c->key, &sink)) {
        int found = stat_section(c->key, &which);
        if (found < 0) {
            reply_error(c, BIN_KEY_ENOENT);
            return;
        }
        if (found > 0) {
            stats_emit_section(c->srv->store, c->srv->settings, c->srv->stats_src, which,
                               &sink);
        }
        if (found == 2) {
            return;
        }
    }
    put_packet(&sink, NULL, 0, NULL, 0);          /* the terminator */
    if (sink.full) {
        c->out->end = c->out->start + mark;
        c->pc->close = false;
        c->pc->out_of_memory = false;
        reply_error_text(c, BIN_ENOMEM, "Out of memory preparing to send stats");
    }
}

/* ---- SASL (-S) ------------------------------------------------------------ */

static bool sasl_on(const struct bin_ctx *c);

/* Without -S memcached answers the SASL opcodes as unknown ones. */
static bool sasl_off(struct bin_ctx *c)
{
    if (sasl_on(c)) {
        return false;
    }
    reply_error_swallow(c, BIN_UNKNOWN_COMMAND, error_text(BIN_UNKNOWN_COMMAND),
                        c->h.bodylen - c->h.keylen);
    return true;
}

/* Logs the connection out, as memcached's (its init_sasl_conn). */
static void op_list_mechs(struct bin_ctx *c)
{
    if (!sasl_off(c)) {
        c->pc->authenticated = false;
        reply_ok(c, span_cstr("PLAIN"), 0);
    }
}

/* One login checked against the credentials, counted as memcached counts
 * (auth_cmds, auth_errors) and fed to the per-source throttle like -Y's. */
static void sasl_check(struct bin_ctx *c, struct span msg, bool *ok)
{
    struct span user, pass;
    struct proto_conn *pc = c->pc;
    *ok = bin_sasl_plain(msg, &user, &pass) && auth_check(user, pass);
    STAT_INC(pc->stats->auth_cmds);
    if (*ok) {
        pc->authenticated = true;
        pc->sasl = PROTO_SASL_DONE;
        reply(c, BIN_SUCCESS, SPAN_EMPTY, SPAN_EMPTY, span_cstr("Authenticated"), 0);
        return;
    }
    STAT_INC(pc->stats->auth_errors);
    pc->auth_failures++;             /* net/conn.c feeds the per-source throttle */
    reply_error(c, BIN_AUTH_ERROR);
}

static bool mech_is_plain(struct span mech)
{
    static const char plain[] = "PLAIN";
    if (mech.n != sizeof(plain) - 1) {
        return false;
    }
    for (size_t i = 0; i < mech.n; i++) {
        char ch = mech.p[i] >= 'a' && mech.p[i] <= 'z' ? (char)(mech.p[i] - 32) : mech.p[i];
        if (ch != plain[i]) {
            return false;
        }
    }
    return true;
}

/* SECURITY: every SASL_AUTH or SASL_STEP logs the connection out first, as
 * memcached does, so a failed attempt after a login leaves it logged out.
 * PLAIN's message in an AUTH, or (after an AUTH without one, answered
 * "continue") in the STEP that follows; a message longer than
 * PROTO_AUTH_DATA_MAX was swallowed and fails (bin_dispatch). After a login
 * (PROTO_SASL_DONE) memcached's Cyrus SASL fails every STEP, and the first
 * AUTH with a message (which ends that state); an AUTH without one answers
 * "continue" and leaves it. */
static void op_sasl(struct bin_ctx *c, bool step)
{
    struct proto_conn *pc = c->pc;
    bool ok = false;
    if (sasl_off(c)) {
        return;
    }
    if (c->key.n > BIN_SASL_MECH_MAX) {
        reply_error_swallow(c, BIN_EINVAL, error_text(BIN_EINVAL), value_len(&c->h));
        return;
    }
    pc->authenticated = false;
    if (step && pc->sasl != PROTO_SASL_CONTINUE) {
        sasl_check(c, SPAN_EMPTY, &ok);          /* nothing began, or it ended */
        return;
    }
    if (!step && !mech_is_plain(c->key)) {
        pc->sasl = PROTO_SASL_NONE;
        sasl_check(c, SPAN_EMPTY, &ok);
        return;
    }
    if (!step && c->value.n == 0 && value_len(&c->h) == 0) {
        if (pc->sasl != PROTO_SASL_DONE) {
            pc->sasl = PROTO_SASL_CONTINUE;
        }
        reply(c, BIN_AUTH_CONTINUE, SPAN_EMPTY, SPAN_EMPTY, SPAN_EMPTY, 0);
        mark_written(c);
        return;
    }
    if (!step && pc->sasl == PROTO_SASL_DONE) {
        pc->sasl = PROTO_SASL_NONE;
        sasl_check(c, SPAN_EMPTY, &ok);
        return;
    }
    sasl_check(c, c->value, &ok);
    if (!ok) {
        pc->sasl = step ? PROTO_SASL_CONTINUE : PROTO_SASL_NONE;
    }
}

static void op_sasl_auth(struct bin_ctx *c) { op_sasl(c, false); }
static void op_sasl_step(struct bin_ctx *c) { op_sasl(c, true); }

/* ---- the opcode table -------------------------------------------------- */

/* memcached's length rules, one per family (dispatch_bin_command). */
static bool v_empty(const struct bin_header *h)
{
    return h->extlen == 0 && h->keylen == 0 && h->bodylen == 0;
}

static bool v_flush(const struct bin_header *h)
{
    return h->keylen == 0 && h->bodylen == h->extlen && (h->extlen == 0 || h->extlen == 4);
}

static bool v_update(const struct bin_header *h)
{
    return h->extlen == 8 && h->keylen != 0 && h->bodylen >= (uint32_t)h->keylen + 8;
}

static bool v_key(const struct bin_header *h)
{
    return h->extlen == 0 && h->bodylen == h->keylen && h->keylen > 0;
}

static bool v_delta(const struct bin_header *h)
{
    return h->keylen > 0 && h->extlen == 20 && h->bodylen == (uint32_t)h->keylen + 20;
}

static bool v_append(const struct bin_header *h) { return h->keylen > 0 && h->extlen == 0; }
static bool v_stat(const struct bin_header *h) { return h->extlen == 0; }
static bool v_sasl(const struct bin_header *h) { return h->extlen == 0 && h->keylen != 0; }
static bool v_touch(const struct bin_header *h) { return h->extlen == 4 && h->keylen != 0; }

enum op_flags {
    OP_QUIET = 1u << 0,        /* a ...Q opcode */
    OP_BEFORE_AUTH = 1u << 1,  /* served before a SASL login */
    OP_WHOLE_BODY = 1u << 2,   /* the value is read with the request (SASL) */
    OP_STREAMS = 1u << 3,      /* the value streams into an item */
};

struct bin_op {
    uint8_t opcode;
    const char *name;          /* for -vv */
    unsigned flags;
    bool (*valid)(const struct bin_header *h);
    void (*run)(struct bin_ctx *c);
};

static const struct bin_op ops[] = {
    { 0x00, "get", 0, v_key, op_get },
    { 0x01, "set", OP_STREAMS, v_update, op_set },
    { 0x02, "add", OP_STREAMS, v_update, op_add },
    { 0x03, "replace", OP_STREAMS, v_update, op_replace },
    { 0x04, "delete", 0, v_key, op_delete },
    { 0x05, "increment", 0, v_delta, op_incr },
    { 0x06, "decrement", 0, v_delta, op_decr },
    { 0x07, "quit", 0, v_empty, op_quit },
    { 0x08, "flush", 0, v_flush, op_flush },
    { 0x09, "getq", OP_QUIET, v_key, op_get },
    { 0x0a, "noop", 0, v_empty, op_noop },
    { 0x0b, "version", OP_BEFORE_AUTH, v_empty, op_version },
    { 0x0c, "getk", 0, v_key, op_getk },
    { 0x0d, "getkq", OP_QUIET, v_key, op_getk },
    { 0x0e, "append", OP_STREAMS, v_append, op_append },
    { 0x0f, "prepend", OP_STREAMS, v_append, op_prepend },
    { 0x10, "stat", 0, v_stat, op_stat },
    { 0x11, "setq", OP_QUIET | OP_STREAMS, v_update, op_set },
    { 0x12, "addq", OP_QUIET | OP_STREAMS, v_update, op_add },
    { 0x13, "replaceq", OP_QUIET | OP_STREAMS, v_update, op_replace },
    { 0x14, "deleteq", OP_QUIET, v_key, op_delete },
    { 0x15, "incrementq", OP_QUIET, v_delta, op_incr },
    { 0x16, "decrementq", OP_QUIET, v_delta, op_decr },
    { 0x17, "quitq", OP_QUIET, v_empty, op_quit },
    { 0x18, "flushq", OP_QUIET, v_flush, op_flush },
    { 0x19, "appendq", OP_QUIET | OP_STREAMS, v_append, op_append },
    { 0x1a, "prependq", OP_QUIET | OP_STREAMS, v_append, op_prepend },
    { 0x1c, "touch", 0, v_touch, op_touch },
    { 0x1d, "gat", 0, v_touch, op_gat },
    { 0x1e, "gatq", OP_QUIET, v_touch, op_gat },
    { 0x20, "sasl_list_mechs", OP_BEFORE_AUTH, v_empty, op_list_mechs },
    { 0x21, "sasl_auth", OP_BEFORE_AUTH | OP_WHOLE_BODY, v_sasl, op_sasl_auth },
    { 0x22, "sasl_step", OP_BEFORE_AUTH | OP_WHOLE_BODY, v_sasl, op_sasl_step },
    { 0x23, "gatk", 0, v_touch, op_gatk },
    { 0x24, "gatkq", OP_QUIET, v_touch, op_gatk },
};

static const struct bin_op *op_find(uint8_t opcode)
{
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        if (ops[i].opcode == opcode) {
            return &ops[i];
        }
    }
    return NULL;
}

/* ---- dispatch ----------------------------------------------------------- */

static bool sasl_on(const struct bin_ctx *c)
{
    return c->srv->settings != NULL && c->srv->settings->sasl;
}

static bool sasl_required(const struct bin_ctx *c)
{
    return sasl_on(c) && !c->pc->authenticated;
}

/* SECURITY: a bad magic closes the connection with nothing more written;
 * answers memcached had not written out yet are dropped with it. */
static size_t bad_magic(struct bin_ctx *c, enum proto_stop *why)
{
    if (c->written < buf_len(c->out)) {
        c->out->end = c->out->start + c->written;
    }
    c->pc->close = true;
    *why = PROTO_STOP_CLOSE;
    return 0;
}

/* A header, extras and key that do not fit memcached's read buffer: it
 * writes out what it queued, waits for more, finds its buffer full and
 * closes, answering nothing. */
static size_t head_too_long(struct bin_ctx *c, enum proto_stop *why)
{
    c->pc->close = true;
    *why = PROTO_STOP_CLOSE;
    return 0;
}

/* -vv: the opcode's name and the key (never a value: a SASL password is
 * one), as the text protocol logs its command line. */
static void trace_request(const struct bin_ctx *c, const struct bin_op *op)
{
    if (!vlog_on(VLOG_TRAFFIC)) {
        return;
    }
    char line[40 + KEY_MAX];
    const char *name = op != NULL ? op->name : "unknown opcode";
    size_t shown = c->key.n < KEY_MAX ? c->key.n : KEY_MAX;
    int n = snprintf(line, sizeof(line), "%s%s", name, shown > 0 ? " " : "");
    if (n < 0 || (size_t)n + shown > sizeof(line)) {
        return;
    }
    memcpy(line + n, c->key.p, shown);
    vlog_traffic(c->pc->trace_id, '<', line, (size_t)n + shown);
}

/* Whether a whole-body request (SASL) must wait for more of its body: only
 * a body memcached would read and we hold (PROTO_AUTH_DATA_MAX) is waited
 * for; a longer one is swallowed and refused. */
static bool wait_whole_body(const struct bin_ctx *c, const struct bin_op *op, size_t len,
                            bool *too_long)
{
    uint32_t vlen = value_len(&c->h);
    *too_long = false;
    if (op == NULL || !(op->flags & OP_WHOLE_BODY) || !sasl_on(c)
            || c->key.n > BIN_SASL_MECH_MAX || c->h.extlen != 0 || c->key.n == 0) {
        return false;
    }
    if (vlen > PROTO_AUTH_DATA_MAX) {
        *too_long = true;
        return false;
    }
    return len < BIN_HEADER_LEN + (size_t)c->h.bodylen;
}

/* Runs a framed request: memcached's order of checks, then its handler.
 * Returns the bytes it consumed. */
static size_t run_request(struct bin_ctx *c, const struct bin_op *op, size_t head,
                          bool too_long)
{
    struct proto_conn *pc = c->pc;
    pc->bin = (struct bin_pending){ .opcode = c->h.opcode, .opaque = c->h.opaque,
                                    .quiet = op != NULL && (op->flags & OP_QUIET) };
    if (sasl_required(c) && (op == NULL || !(op->flags & OP_BEFORE_AUTH))) {
        reply_error_close(c, BIN_AUTH_ERROR);
    } else if (c->key.n > KEY_MAX) {
        reply_error_close(c, BIN_EINVAL);
    } else if (op == NULL) {
        /* memcached swallows the whole body length after extras and key */
        reply_error_swallow(c, BIN_UNKNOWN_COMMAND, error_text(BIN_UNKNOWN_COMMAND),
                            c->h.bodylen);
    } else if (!op->valid(&c->h)) {
        reply_error_close(c, BIN_EINVAL);
    } else if (too_long && value_len(&c->h) > SWALLOW_MAX) {
        reply_error(c, BIN_ENOMEM);        /* memcached cannot allocate it */
    } else if (too_long) {
        pc->authenticated = false;
        reply_error_swallow(c, BIN_AUTH_ERROR, error_text(BIN_AUTH_ERROR), value_len(&c->h));
        STAT_INC(pc->stats->auth_cmds);
        STAT_INC(pc->stats->auth_errors);
        pc->auth_failures++;
    } else {
        op->run(c);
        return head + c->value.n;
    }
    return head;
}

/* One request at in[0, len). Returns bytes consumed; 0: wait (or closed). */
static size_t bin_dispatch(struct bin_ctx *c, const char *in, size_t len,
                           enum proto_stop *why)
{
    *why = PROTO_STOP_NEED_INPUT;
    enum bin_frame frame = bin_frame(in, len, &c->h);
    if (frame == BIN_FRAME_BAD_MAGIC) {
        return bad_magic(c, why);
    }
    if (len >= BIN_HEAD_MAX
            && BIN_HEADER_LEN + (size_t)c->h.extlen + c->h.keylen > BIN_HEAD_MAX) {
        return head_too_long(c, why);              /* SECURITY: held input is bounded */
    }
    if (frame == BIN_FRAME_WAIT) {
        return 0;
    }
    size_t head = BIN_HEADER_LEN + c->h.extlen + c->h.keylen;
    c->ext = span_of(in + BIN_HEADER_LEN, c->h.extlen);
    c->key = span_of(in + BIN_HEADER_LEN + c->h.extlen, c->h.keylen);
    c->value = SPAN_EMPTY;
    const struct bin_op *op = op_find(c->h.opcode);
    trace_request(c, op);
    if (frame == BIN_FRAME_BAD_LENGTHS) {
        c->pc->bin = (struct bin_pending){ .opcode = c->h.opcode, .opaque = c->h.opaque };
        reply_error_close(c, BIN_UNKNOWN_COMMAND);
        return head;
    }
    bool too_long = false;
    if (!sasl_required(c) || (op != NULL && (op->flags & OP_BEFORE_AUTH))) {
        if (wait_whole_body(c, op, len, &too_long)) {
            return 0;
        }
        if (op != NULL && (op->flags & OP_WHOLE_BODY) && !too_long && sasl_on(c)
                && op->valid(&c->h) && c->key.n <= BIN_SASL_MECH_MAX) {
            c->value = span_of(in + head, value_len(&c->h));
        }
    }
    return run_request(c, op, head, too_long);
}

/* ---- the input state machine ------------------------------------------ */

static void pending_header(struct bin_ctx *c);

/* Streams value bytes into the pending item; links it when complete. */
static size_t process_nread(struct bin_ctx *c, const char *in, size_t len)
{
    struct proto_conn *pc = c->pc;
    uint32_t want = pc->item_ndata - pc->item_filled;
    size_t n = len < want ? len : want;
    memcpy(pc->item_data + pc->item_filled, in, n);
    pc->item_filled += (uint32_t)n;
    if (pc->item_filled == pc->item_ndata) {
        pending_header(c);
        nread_link(c);
    }
    return n;
}

/* Re-aims c at the request the connection's pending state belongs to (an
 * answer carries its opcode and opaque). */
static void pending_header(struct bin_ctx *c)
{
    c->h.opcode = c->pc->bin.opcode;
    c->h.opaque = c->pc->bin.opaque;
}

static size_t process_swallow(struct bin_ctx *c, size_t len)
{
    struct proto_conn *pc = c->pc;
    size_t n = pc->swallow_left < len ? (size_t)pc->swallow_left : len;
    pc->swallow_left -= n;
    if (pc->swallow_left == 0) {
        pc->state = PROTO_LINE;
        if (pc->bin.held_text != NULL) {
            pending_header(c);
            reply_error_text(c, pc->bin.held_status, pc->bin.held_text);
            pc->bin.held_text = NULL;
        }
    }
    return n;
}

size_t binary_process(const struct proto_server *srv, struct proto_conn *pc,
                      const char *in, size_t len, struct buf *out, int *budget,
                      enum proto_stop *why)
{
    struct bin_ctx c = { .srv = srv, .pc = pc, .out = out, .written = buf_len(out) };
    size_t done = 0;
    *why = PROTO_STOP_NEED_INPUT;
    while (done < len && !pc->close) {
        if (pc->state == PROTO_NREAD) {
            done += process_nread(&c, in + done, len - done);
            continue;
        }
        if (pc->state == PROTO_SWALLOW) {
            done += process_swallow(&c, len - done);
            continue;
        }
        if (*budget <= 0) {
            *why = PROTO_STOP_BUDGET;
            return done;
        }
        if (buf_len(out) > PROTO_OUT_HIGH_WATER) {
            *why = PROTO_STOP_OUTPUT_FULL;
            return done;
        }
        size_t n = bin_dispatch(&c, in + done, len - done, why);
        if (n == 0) {
            return done;
        }
        (*budget)--;
        done += n;
    }
    if (pc->close) {
        *why = PROTO_STOP_CLOSE;
    }
    return done;
}
