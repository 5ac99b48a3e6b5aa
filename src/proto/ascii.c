/* ascii.c: memcached's ASCII protocol, answering byte for byte as memcached
 * 1.6 does (current upstream where it fixed 1.6.18; docs/COMPATIBILITY.md
 * lists each case). Input is untrusted: every line and token is a bounded
 * span (base/span.h), numbers go through base/num.c, and a storage
 * command's value streams straight into its item so no buffer grows with it.
 * Commands are rows of one table; the dispatcher walks it. */
#include "proto/proto.h"

#include <string.h>

#include "base/clock.h"
#include "base/num.h"
#include "base/span.h"
#include "base/vlog.h"
#include "conf/settings.h"
#include "proto/binary.h"
#include "proto/meta.h"
#include "sec/auth.h"

#define MAX_TOKENS 24          /* memcached's tokenizer limit, terminal included */
#define KEY_MAX 250

/* Everything a handler needs for one command line. */
struct cmd_ctx {
    const struct proto_server *srv;
    struct proto_conn *pc;
    struct buf *out;
    struct span line;          /* the command line, "\r\n" and NUL cut off */
    size_t out_mark;           /* buf_len(out) when the command started */
    bool suspended;            /* a get stopped at the high-water mark */
    bool ran;                  /* run_command ran in this proto_process call */
    size_t written;            /* out[0, written) counts as sent (see http_close) */
    bool auth_marked;          /* -Y: an answer before login began at auth_mark */
    size_t auth_mark;
};

/* ---- replies ---------------------------------------------------------- */

/* memcached's out_string(): one line, dropped entirely under noreply. */
static void reply(struct cmd_ctx *c, const char *s, size_t n)
{
    if (c->pc->noreply) {
        return;
    }
    if (!buf_reserve(c->out, n + 2)) {
        c->pc->close = true;            /* it cannot be answered */
        c->pc->out_of_memory = true;
        return;
    }
    buf_append(c->out, s, n);
    buf_append(c->out, "\r\n", 2);
}

#define REPLY(c, lit) reply((c), (lit), sizeof(lit) - 1)

static const char ERR_FORMAT[] = "CLIENT_ERROR bad command line format";

/* ---- tokens ----------------------------------------------------------- */

/* memcached's tokenize_command(): splits on ' ' only (other bytes, control
 * bytes included, are token bytes; runs of spaces make no empty tokens), at
 * most MAX_TOKENS-1 tokens; the last slot is the terminal token: empty, its
 * p the unparsed rest (after the space that ended the last token) or NULL. */
static size_t tokenize(struct span line, struct span *tok)
{
    struct span rest = line, word;
    size_t ntok = 0;
    while (ntok < MAX_TOKENS - 1 && span_split(&rest, ' ', &word)) {
        if (!span_is_empty(word)) {
            tok[ntok++] = word;
        }
    }
    tok[ntok] = span_is_empty(rest) ? SPAN_EMPTY : span_of(rest.p, 0);
    return ntok + 1;
}

/* memcached's set_noreply_maybe(): the last real token is "noreply". */
static void noreply_maybe(struct cmd_ctx *c, const struct span *tok, size_t ntokens)
{
    if (span_eq(tok[ntokens - 2], "noreply")) {
        c->pc->noreply = true;
    }
}

/* ---- retrieval -------------------------------------------------------- */

struct get_ctx {
    struct buf *out;
    bool with_cas;
    bool oom;
    struct thread_stats *stats;
    bool touch;
};

static void get_emit(void *arg, const struct item_view *v)
{
    struct get_ctx *g = arg;
    char hdr[6 + KEY_MAX + 3 * 24];
    size_t n = 0;
    memcpy(hdr, "VALUE ", 6);
    n = 6;
    memcpy(hdr + n, v->key, v->nkey);
    n += v->nkey;
    hdr[n++] = ' ';
    n += num_format_u64(v->flags, hdr + n);
    hdr[n++] = ' ';
    n += num_format_u64(v->ndata, hdr + n);
    if (g->with_cas) {
        hdr[n++] = ' ';
        n += num_format_u64(v->cas, hdr + n);
    }
    hdr[n++] = '\r';
    hdr[n++] = '\n';
    if (!buf_reserve(g->out, n + v->ndata + 2)) {
        g->oom = true;
        return;
    }
    buf_append(g->out, hdr, n);
    buf_append(g->out, v->data, v->ndata);
    buf_append(g->out, "\r\n", 2);
    unsigned cls = v->clsid <= STORE_MAX_CLASSES ? v->clsid : 0;
    if (g->touch) {
        STAT_INC(g->stats->cls[cls].touch_hits);
    } else {
        STAT_INC(g->stats->cls[cls].get_hits);
    }
}

/* One key of a get/gets/gat/gats (view NULL: a miss), called by
 * store_get_many: counts it, copies a hit out, and stops the batch when the
 * output buffer is full (g->oom) or past its high-water mark. */
static bool get_each(void *arg, size_t i, const struct item_view *v)
{
    struct get_ctx *g = arg;
    (void)i;
    if (v != NULL) {
        get_emit(g, v);
    }
    stats_count_get(g->stats, v != NULL, g->touch);
    return !g->oom && buf_len(g->out) <= PROTO_OUT_HIGH_WATER;
}

/* The next key of the line at or after *pos (spaces skipped), *pos moved to
 * just after it; false at the line's end. */
static bool next_key(struct span line, size_t *pos, struct span *key)
{
    struct span rest = span_skip(span_sub(line, *pos, SIZE_MAX), ' ');
    if (span_is_empty(rest)) {
        *pos = line.n;
        return false;
    }
    *key = span_sub(rest, 0, span_find(rest, ' '));
    *pos = (size_t)(key->p - line.p) + key->n;
    return true;
}

/* Where the first key over KEY_MAX starts, or SIZE_MAX if none. memcached
 * answers such a line with only an error (earlier values are dropped), but
 * it has looked the earlier keys up by then (stats, gat's touch): we find
 * the bad key before any output, so a large answer never has to be taken
 * back after part of it was sent. */
static size_t first_long_key(struct span line, size_t pos)
{
    struct span key;
    while (next_key(line, &pos, &key)) {
        if (key.n > KEY_MAX) {
            return (size_t)(key.p - line.p);
        }
    }
    return SIZE_MAX;
}

static void discard_value(void *ctx, const struct item_view *v)
{
    (void)ctx;
    (void)v;
}

/* The keys before a too-long one are looked up for their side effects only;
 * then memcached's error. */
static void get_rejected(struct cmd_ctx *c, size_t pos, size_t bad, bool touch,
                         rel_time_t exptime)
{
    struct get_ctx g = { c->out, false, false, c->pc->stats, touch };
    struct span key;
    while (next_key(c->line, &pos, &key) && (size_t)(key.p - c->line.p) < bad) {
        enum store_status st = store_get(c->srv->store, key.p, key.n, touch, exptime,
                                         discard_value, &g);
        stats_count_get(c->pc->stats, st == STORE_OK, touch);
    }
    reply(c, ERR_FORMAT, sizeof(ERR_FORMAT) - 1);
}

/* Walks the keys after the command word (and exptime for gat). memcached
 * re-tokenizes past 23 tokens; walking the whole line is the same thing.
 * Keys go to the store in batches (store_get_many overlaps their cache
 * misses). */
static void cmd_get_common(struct cmd_ctx *c, const struct span *tok, bool with_cas,
                           bool touch)
{
    rel_time_t exptime = 0;
    size_t first = 1;
    if (touch) {
        int32_t e;
        if (!num_parse_i32(tok[1].p, tok[1].n, &e)) {
            REPLY(c, "CLIENT_ERROR invalid exptime argument");
            return;
        }
        exptime = clock_exptime_to_rel(e);
        first = 2;
    }
    size_t pos = tok[first].p == NULL ? c->line.n : (size_t)(tok[first].p - c->line.p);
    if (c->pc->get_resume > pos) {
        pos = c->pc->get_resume;
    } else {
        size_t bad = first_long_key(c->line, pos);
        if (bad != SIZE_MAX) {
            get_rejected(c, pos, bad, touch, exptime);
            return;
        }
    }
    struct get_ctx g = { c->out, with_cas, false, c->pc->stats, touch };
    struct store_key keys[STORE_BATCH_MAX];
    size_t ends[STORE_BATCH_MAX];
    for (;;) {
        size_t nk = 0, scan = pos;
        struct span key;
        while (nk < STORE_BATCH_MAX && next_key(c->line, &scan, &key)) {
            keys[nk] = (struct store_key){ key.p, key.n };
            ends[nk++] = scan;
        }
        size_t done = store_get_many(c->srv->store, keys, nk, touch, exptime, get_each, &g);
        if (done > 0) {
            pos = ends[done - 1];
        }
        if (g.oom) {
            c->out->end = c->out->start + c->out_mark;
            c->pc->get_resume = 0;
            REPLY(c, "SERVER_ERROR out of memory writing get response");
            return;
        }
        if (buf_len(c->out) > PROTO_OUT_HIGH_WATER && pos < c->line.n) {
            c->pc->get_resume = pos;     /* flush, then continue here */
            c->suspended = true;
            return;
        }
        if (nk < STORE_BATCH_MAX) {
            break;
        }
    }
    c->pc->get_resume = 0;
    REPLY(c, "END");
}

static void cmd_get(struct cmd_ctx *c, struct span *t, size_t n) { (void)n; cmd_get_common(c, t, false, false); }
static void cmd_gets(struct cmd_ctx *c, struct span *t, size_t n) { (void)n; cmd_get_common(c, t, true, false); }
static void cmd_gat(struct cmd_ctx *c, struct span *t, size_t n) { (void)n; cmd_get_common(c, t, false, true); }
static void cmd_gats(struct cmd_ctx *c, struct span *t, size_t n) { (void)n; cmd_get_common(c, t, true, true); }

/* ---- storage ---------------------------------------------------------- */

/* SECURITY: when a storage line is rejected but names a plausible length,
 * the data block that follows is discarded, never run as commands (1.6.18
 * ran it; current memcached swallows it). */
static void swallow_declared(struct cmd_ctx *c, struct span len_tok)
{
    int32_t vlen;
    if (len_tok.p != NULL && num_parse_i32(len_tok.p, len_tok.n, &vlen) && vlen >= 0) {
        c->pc->state = PROTO_SWALLOW;
        c->pc->swallow_left = (uint64_t)vlen + 2;
    }
}

static void storage_reject(struct cmd_ctx *c, const struct span *tok)
{
    reply(c, ERR_FORMAT, sizeof(ERR_FORMAT) - 1);
    swallow_declared(c, tok[4]);
}

static void cmd_update(struct cmd_ctx *c, struct span *tok, size_t ntokens,
                       enum store_mode mode)
{
    noreply_maybe(c, tok, ntokens);
    if (tok[1].n > KEY_MAX) {
        storage_reject(c, tok);
        return;
    }
    uint32_t flags;
    int32_t exptime, vlen;
    uint64_t cas = 0;
    if (!num_parse_u32(tok[2].p, tok[2].n, &flags)
        || !num_parse_i32(tok[3].p, tok[3].n, &exptime)
        || !num_parse_i32(tok[4].p, tok[4].n, &vlen)
        || (mode == STORE_CAS && !num_parse_u64(tok[5].p, tok[5].n, &cas))) {
        storage_reject(c, tok);
        return;
    }
    if (vlen < 0 || vlen > INT32_MAX - 2) {
        reply(c, ERR_FORMAT, sizeof(ERR_FORMAT) - 1);
        return;
    }
    enum store_status st;
    struct item *it = store_item_alloc(c->srv->store, tok[1].p, tok[1].n, flags,
                                       clock_exptime_to_rel(exptime), (uint32_t)vlen, &st);
    if (it == NULL) {
        if (st == STORE_TOO_LARGE) {
            STAT_INC(c->pc->stats->store_too_large);
            REPLY(c, "SERVER_ERROR object too large for cache");
        } else {
            STAT_INC(c->pc->stats->store_no_memory);
            REPLY(c, "SERVER_ERROR out of memory storing object");
        }
        c->pc->state = PROTO_SWALLOW;
        c->pc->swallow_left = (uint64_t)vlen + 2;
        if (mode == STORE_SET) {
            /* a failed set must not leave the old value readable */
            (void)store_delete(c->srv->store, tok[1].p, tok[1].n);
        }
        return;
    }
    struct proto_conn *pc = c->pc;
    pc->state = PROTO_NREAD;
    pc->item = it;
    pc->item_data = store_item_data(it);
    pc->item_ndata = (uint32_t)vlen;
    pc->item_filled = 0;
    pc->tail_filled = 0;
    pc->mode = mode;
    pc->cas_in = cas;
}

static void cmd_set(struct cmd_ctx *c, struct span *t, size_t n) { cmd_update(c, t, n, STORE_SET); }
static void cmd_add(struct cmd_ctx *c, struct span *t, size_t n) { cmd_update(c, t, n, STORE_ADD); }
static void cmd_replace(struct cmd_ctx *c, struct span *t, size_t n) { cmd_update(c, t, n, STORE_REPLACE); }
static void cmd_append(struct cmd_ctx *c, struct span *t, size_t n) { cmd_update(c, t, n, STORE_APPEND); }
static void cmd_prepend(struct cmd_ctx *c, struct span *t, size_t n) { cmd_update(c, t, n, STORE_PREPEND); }
static void cmd_cas(struct cmd_ctx *c, struct span *t, size_t n) { cmd_update(c, t, n, STORE_CAS); }

/* The value and its "\r\n" have arrived: link the item and answer. */
static void nread_link(struct cmd_ctx *c)
{
    struct proto_conn *pc = c->pc;
    struct thread_stats *ts = pc->stats;
    if (pc->meta.active) {
        meta_set_complete(c->srv, pc, c->out, pc->tail[0] == '\r' && pc->tail[1] == '\n');
        return;
    }
    pc->state = PROTO_LINE;
    unsigned cls = store_item_clsid(pc->item);
    STAT_INC(ts->cmd_set);
    STAT_INC(ts->cls[cls <= STORE_MAX_CLASSES ? cls : 0].cmd_set);
    if (pc->tail[0] != '\r' || pc->tail[1] != '\n') {
        store_item_free(c->srv->store, &pc->item);
        REPLY(c, "CLIENT_ERROR bad data chunk");
        return;
    }
    enum store_mode mode = pc->mode;
    enum store_status st = store_item_link(c->srv->store, &pc->item, mode, pc->cas_in, NULL);
    if (mode == STORE_CAS) {
        if (st == STORE_OK) {
            STAT_INC(ts->cas_hits);
        } else if (st == STORE_EXISTS) {
            STAT_INC(ts->cas_badval);
        } else if (st == STORE_NOT_FOUND) {
            STAT_INC(ts->cas_misses);
        }
    }
    switch (st) {
    case STORE_OK: REPLY(c, "STORED"); break;
    case STORE_EXISTS: REPLY(c, "EXISTS"); break;
    case STORE_NOT_FOUND: REPLY(c, "NOT_FOUND"); break;
    default: REPLY(c, "NOT_STORED"); break;
    }
}

/* ---- other commands --------------------------------------------------- */

static void cmd_delete(struct cmd_ctx *c, struct span *tok, size_t ntokens)
{
    if (ntokens > 3) {
        bool hold_is_zero = span_eq(tok[2], "0");
        noreply_maybe(c, tok, ntokens);
        bool valid = (ntokens == 4 && (hold_is_zero || c->pc->noreply))
                     || (ntokens == 5 && hold_is_zero && c->pc->noreply);
        if (!valid) {
            REPLY(c, "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]");
            return;
        }
    }
    if (tok[1].n > KEY_MAX) {
        reply(c, ERR_FORMAT, sizeof(ERR_FORMAT) - 1);
        return;
    }
    if (store_delete(c->srv->store, tok[1].p, tok[1].n) == STORE_OK) {
        STAT_INC(c->pc->stats->delete_hits);
        REPLY(c, "DELETED");
    } else {
        STAT_INC(c->pc->stats->delete_misses);
        REPLY(c, "NOT_FOUND");
    }
}

static void cmd_delta(struct cmd_ctx *c, struct span *tok, size_t ntokens, bool incr)
{
    struct thread_stats *ts = c->pc->stats;
    noreply_maybe(c, tok, ntokens);
    if (tok[1].n > KEY_MAX) {
        reply(c, ERR_FORMAT, sizeof(ERR_FORMAT) - 1);
        return;
    }
    uint64_t delta, value;
    if (!num_parse_u64(tok[2].p, tok[2].n, &delta)) {
        REPLY(c, "CLIENT_ERROR invalid numeric delta argument");
        return;
    }
    switch (store_delta(c->srv->store, tok[1].p, tok[1].n, incr, delta, &value)) {
    case STORE_OK: {
        char digits[24];
        if (incr) {
            STAT_INC(ts->incr_hits);
        } else {
            STAT_INC(ts->decr_hits);
        }
        reply(c, digits, num_format_u64(value, digits));
        break;
    }
    case STORE_NON_NUMERIC:
        REPLY(c, "CLIENT_ERROR cannot increment or decrement non-numeric value");
        break;
    case STORE_NOT_FOUND:
        if (incr) {
            STAT_INC(ts->incr_misses);
        } else {
            STAT_INC(ts->decr_misses);
        }
        REPLY(c, "NOT_FOUND");
        break;
    default:
        REPLY(c, "SERVER_ERROR out of memory");
        break;
    }
}

static void cmd_incr(struct cmd_ctx *c, struct span *t, size_t n) { cmd_delta(c, t, n, true); }
static void cmd_decr(struct cmd_ctx *c, struct span *t, size_t n) { cmd_delta(c, t, n, false); }

static void cmd_touch(struct cmd_ctx *c, struct span *tok, size_t ntokens)
{
    struct thread_stats *ts = c->pc->stats;
    noreply_maybe(c, tok, ntokens);
    if (tok[1].n > KEY_MAX) {
        reply(c, ERR_FORMAT, sizeof(ERR_FORMAT) - 1);
        return;
    }
    int32_t exptime;
    if (!num_parse_i32(tok[2].p, tok[2].n, &exptime)) {
        REPLY(c, "CLIENT_ERROR invalid exptime argument");
        return;
    }
    STAT_INC(ts->cmd_touch);
    if (store_touch(c->srv->store, tok[1].p, tok[1].n, clock_exptime_to_rel(exptime)) == STORE_OK) {
        STAT_INC(ts->touch_hits);
        REPLY(c, "TOUCHED");
    } else {
        STAT_INC(ts->touch_misses);
        REPLY(c, "NOT_FOUND");
    }
}

static void cmd_flush_all(struct cmd_ctx *c, struct span *tok, size_t ntokens)
{
    int32_t delay = 0;
    noreply_maybe(c, tok, ntokens);
    STAT_INC(c->pc->stats->cmd_flush);
    if (!c->srv->settings->flush_enabled) {
        REPLY(c, "CLIENT_ERROR flush_all not allowed");
        return;
    }
    if (ntokens != (c->pc->noreply ? 3u : 2u)
        && !num_parse_i32(tok[1].p, tok[1].n, &delay)) {
        REPLY(c, "CLIENT_ERROR invalid exptime argument");
        return;
    }
    rel_time_t now = clock_now();
    rel_time_t when = delay > 0 ? clock_exptime_to_rel(delay) - 1 : now;
    store_flush(c->srv->store, when <= now ? 0 : when);
    REPLY(c, "OK");
}

static void cmd_verbosity(struct cmd_ctx *c, struct span *tok, size_t ntokens)
{
    uint32_t level;
    noreply_maybe(c, tok, ntokens);
    if (!num_parse_u32(tok[1].p, tok[1].n, &level)) {
        reply(c, ERR_FORMAT, sizeof(ERR_FORMAT) - 1);
        return;
    }
    vlog_set(level > VLOG_TRAFFIC ? VLOG_TRAFFIC : level);   /* memcached's cap */
    REPLY(c, "OK");
}

static void cmd_version(struct cmd_ctx *c, struct span *t, size_t n)
{
    (void)t;
    (void)n;
    REPLY(c, "VERSION " PROTO_VERSION);
}

static void cmd_quit(struct cmd_ctx *c, struct span *t, size_t n)
{
    (void)t;
    (void)n;
    c->pc->close = true;
}

static void cmd_shutdown(struct cmd_ctx *c, struct span *tok, size_t ntokens)
{
    /* SECURITY: any client could stop the cache; only with -A. */
    if (!c->srv->settings->shutdown_enabled || c->srv->shutdown == NULL) {
        REPLY(c, "ERROR: shutdown not enabled");
        return;
    }
    if (ntokens == 2 || (ntokens == 3 && span_eq(tok[1], "graceful"))) {
        c->pc->close = true;
        c->srv->shutdown(ntokens == 3);
        return;
    }
    REPLY(c, "CLIENT_ERROR invalid shutdown mode");
}

/* memcached answers its certificates' reload: "OK" (which noreply
 * silences), or the loader's message, which noreply never silences; without
 * -Z, "Error TLS not enabled". Any number of words. */
static void cmd_refresh_certs(struct cmd_ctx *c, struct span *tok, size_t ntokens)
{
    char msg[512] = "Error TLS not enabled";
    noreply_maybe(c, tok, ntokens);
    if (c->srv->refresh_certs != NULL) {
        msg[0] = '\0';
        if (c->srv->refresh_certs(msg, sizeof(msg))) {
            REPLY(c, "OK");
            return;
        }
    }
    c->pc->noreply = false;
    reply(c, msg, strnlen(msg, sizeof(msg)));
}

static void cmd_stats(struct cmd_ctx *c, struct span *tok, size_t ntokens)
{
    struct span sub = ntokens > 2 ? tok[1] : SPAN_EMPTY;
    stats_command(c->srv->store, c->srv->settings, c->srv->stats_src, sub.p, sub.n, c->out);
}

/* ---- meta commands (proto/meta.c) ---------------------------------------- */

static void run_meta(struct cmd_ctx *c, struct span *tok, size_t ntokens,
                     void (*fn)(const struct meta_cmd *m))
{
    struct meta_cmd m = { c->srv, c->pc, c->out, tok, ntokens };
    fn(&m);
}

static void cmd_mg(struct cmd_ctx *c, struct span *t, size_t n) { run_meta(c, t, n, meta_get); }
static void cmd_ms(struct cmd_ctx *c, struct span *t, size_t n) { run_meta(c, t, n, meta_set); }
static void cmd_md(struct cmd_ctx *c, struct span *t, size_t n) { run_meta(c, t, n, meta_delete); }
static void cmd_ma(struct cmd_ctx *c, struct span *t, size_t n) { run_meta(c, t, n, meta_arith); }
static void cmd_mn(struct cmd_ctx *c, struct span *t, size_t n) { run_meta(c, t, n, meta_noop); }
static void cmd_me(struct cmd_ctx *c, struct span *t, size_t n) { run_meta(c, t, n, meta_debug); }

/* ---- the command table ------------------------------------------------ */

enum arity { ANY, AT_LEAST, BETWEEN, EITHER };

struct command {
    const char *name;
    enum arity arity;
    unsigned a, b;            /* token counts, memcached's (terminal included) */
    void (*run)(struct cmd_ctx *c, struct span *tok, size_t ntokens);
};

static const struct command commands[] = {
    { "get",       AT_LEAST, 3, 0, cmd_get },
    { "gets",      AT_LEAST, 3, 0, cmd_gets },
    { "gat",       AT_LEAST, 3, 0, cmd_gat },
    { "gats",      AT_LEAST, 3, 0, cmd_gats },
    { "bget",      AT_LEAST, 3, 0, cmd_get },
    { "set",       EITHER,   6, 7, cmd_set },
    { "add",       EITHER,   6, 7, cmd_add },
    { "replace",   EITHER,   6, 7, cmd_replace },
    { "append",    EITHER,   6, 7, cmd_append },
    { "prepend",   EITHER,   6, 7, cmd_prepend },
    { "cas",       EITHER,   7, 8, cmd_cas },
    { "delete",    BETWEEN,  3, 5, cmd_delete },
    { "incr",      EITHER,   4, 5, cmd_incr },
    { "decr",      EITHER,   4, 5, cmd_decr },
    { "touch",     EITHER,   4, 5, cmd_touch },
    { "flush_all", BETWEEN,  2, 4, cmd_flush_all },
    { "verbosity", EITHER,   3, 4, cmd_verbosity },
    { "version",   ANY,      0, 0, cmd_version },
    { "quit",      ANY,      0, 0, cmd_quit },
    { "shutdown",  ANY,      0, 0, cmd_shutdown },
    { "stats",     ANY,      0, 0, cmd_stats },
    { "refresh_certs", ANY,  0, 0, cmd_refresh_certs },
    /* meta: any other two-letter "m" word answers ERROR, as memcached */
    { "mg",        AT_LEAST, 3, 0, cmd_mg },
    { "ms",        AT_LEAST, 3, 0, cmd_ms },
    { "md",        AT_LEAST, 3, 0, cmd_md },
    { "ma",        AT_LEAST, 3, 0, cmd_ma },
    { "mn",        ANY,      0, 0, cmd_mn },
    { "me",        ANY,      0, 0, cmd_me },
};

static bool arity_ok(const struct command *cmd, size_t n)
{
    switch (cmd->arity) {
    case AT_LEAST: return n >= cmd->a;
    case BETWEEN: return n >= cmd->a && n <= cmd->b;
    case EITHER: return n == cmd->a || n == cmd->b;
    default: return true;
    }
}

/* ---- HTTP on the cache port ------------------------------------------- */

/* Does memcached 1.6's dispatcher (process_command_ascii) take this first
 * word itself? It answers every word starting with g s a c i d t, every
 * two-letter m word (meta commands) and the names below; only the rest
 * reach its last branch, the one that checks for HTTP. */
static bool memcached_dispatches(struct span word)
{
    static const char *const named[] = {
        "replace", "prepend", "bget", "flush_all", "version", "quit", "lru_crawler",
        "watch", "verbosity", "lru", "refresh_certs", "extstore",
    };
    switch (word.p[0]) {
    case 'g': case 's': case 'a': case 'c': case 'i': case 'd': case 't':
        return true;
    case 'm':
        if (word.n == 2) {
            return true;
        }
        break;
    default:
        break;
    }
    for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++) {
        if (span_eq(word, named[i])) {
            return true;
        }
    }
    return false;
}

/* An unknown command whose last token (of the first 23) starts with "HTTP/",
 * case-sensitive: "GET / HTTP/1.1", "POST /x HTTP/1.0". */
static bool is_http_request(const struct span *tok, size_t ntokens)
{
    return !memcached_dispatches(tok[0]) && span_starts_with(tok[ntokens - 2], "HTTP/");
}

/* memcached writes its answers out after each get that reached its END
 * (process_get_command: conn_mwrite), after each "mn" (its purpose) and when
 * a batch of input is done (a new proto_process call here). Answers after
 * that point are still queued when it closes for HTTP, and are lost with the
 * connection. */
static void note_written(struct cmd_ctx *c, const struct command *cmd)
{
    bool get = cmd->run == cmd_get || cmd->run == cmd_gets || cmd->run == cmd_gat
               || cmd->run == cmd_gats;
    size_t len = buf_len(c->out);
    if (get && !c->suspended && len >= c->out_mark + 5
            && memcmp(buf_head(c->out) + len - 5, "END\r\n", 5) == 0) {
        c->written = len;
    }
    if (cmd->run == cmd_mn) {
        c->written = len;
    }
}

/* SECURITY: an HTTP request sent to the cache port (a browser, a proxy, a
 * server-side request forgery) must not have its body run as commands: the
 * connection is closed at once with nothing more answered, as memcached does
 * (docs/COMPATIBILITY.md). Answers memcached would not have written yet are
 * dropped, so the bytes on the wire are memcached's. */
static void http_close(struct cmd_ctx *c)
{
    if (c->written < buf_len(c->out)) {
        c->out->end = c->out->start + c->written;
    }
    c->pc->close = true;
    STAT_INC(c->pc->stats->http_request_closes);
}

/* ---- dispatch --------------------------------------------------------- */

static void run_command(struct cmd_ctx *c)
{
    if (!c->ran) {              /* a new batch: what is queued counts as sent */
        c->ran = true;
        c->written = c->out_mark;
    }
    struct span tok[MAX_TOKENS];
    size_t ntokens = tokenize(c->line, tok);
    c->pc->noreply = false;
    if (ntokens < 2 || tok[0].n < 2) {
        REPLY(c, "ERROR");
        return;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        const struct command *cmd = &commands[i];
        if (!span_eq(tok[0], cmd->name)) {
            continue;
        }
        if (!arity_ok(cmd, ntokens)) {
            /* a wrong word count gives no trustworthy length: like memcached,
             * no data block is assumed (see docs/COMPATIBILITY.md) */
            REPLY(c, "ERROR");
            return;
        }
        cmd->run(c, tok, ntokens);
        note_written(c, cmd);
        return;
    }
    if (is_http_request(tok, ntokens)) {
        http_close(c);
        return;
    }
    REPLY(c, "ERROR");
}

/* ---- -vv: the traffic log --------------------------------------------- */

/* -vv logs what kind of answer a command got, never a value or a counter
 * (SECURITY.md): a number (incr/decr's new value) shows as "(number)" and
 * "STAT name value" as "STAT name"; VALUE headers (key, flags, length) and
 * memcached's fixed answer lines show as they are. A new answer line that
 * carries data needs its row here. */
static struct span answer_kind(struct span line)
{
    static const char number[] = "(number)";
    static const char *const meta[] = { "HD", "VA", "EN", "NF", "NS", "EX", "MN", "ME" };
    size_t digits = 0;
    for (size_t i = 0; i < sizeof(meta) / sizeof(meta[0]); i++) {
        /* a meta answer's flags carry cas, TTLs and keys: only its code
         * shows, and a VA its length, as a VALUE header does */
        if (span_starts_with(line, meta[i]) && (line.n == 2 || line.p[2] == ' ')) {
            size_t keep = i == 1 ? 3 + span_find(span_sub(line, 3, SIZE_MAX), ' ') : 2;
            return span_sub(line, 0, keep);
        }
    }
    while (digits < line.n && line.p[digits] >= '0' && line.p[digits] <= '9') {
        digits++;
    }
    if (!span_is_empty(line) && digits == line.n) {
        return span_of(number, sizeof(number) - 1);
    }
    if (line.n > 5 && span_starts_with(line, "STAT ")) {
        return span_sub(line, 0, 5 + span_find(span_sub(line, 5, SIZE_MAX), ' '));
    }
    return line;
}

/* The kind of the first line appended to out since mark, if anything. */
static void trace_answer(const struct cmd_ctx *c, size_t mark)
{
    if (!vlog_on(VLOG_TRAFFIC) || buf_len(c->out) <= mark) {
        return;
    }
    struct span out = span_of(buf_head(c->out) + mark, buf_len(c->out) - mark);
    out = span_sub(out, 0, VLOG_SHOW_MAX + 1);   /* enough to show it cut; never a scan of MBs */
    struct span kind = answer_kind(span_sub(out, 0, span_find(out, '\r')));
    vlog_traffic(c->pc->trace_id, '>', kind.p, kind.n);
}

static void nread_complete(struct cmd_ctx *c)
{
    size_t mark = buf_len(c->out);
    nread_link(c);
    trace_answer(c, mark);
}

/* ---- the input state machine ------------------------------------------ */

/* memcached closes a connection whose line passes 2048 bytes without "\n"
 * unless it is a large multiget ("get "/"gets " after at most 100 spaces). */
static bool long_line_allowed(struct span in)
{
    struct span lead = span_sub(in, 0, 101);     /* never a scan of a MB of spaces */
    size_t spaces = lead.n - span_skip(lead, ' ').n;
    struct span cmd = span_sub(in, spaces, SIZE_MAX);
    return spaces <= 100 && (span_starts_with(cmd, "get ") || span_starts_with(cmd, "gets "));
}

/* One line; returns bytes consumed (0 = need more input). */
static size_t process_line(struct cmd_ctx *c, const char *in, size_t len, enum proto_stop *why)
{
    struct span input = span_of(in, len);
    struct span window = span_sub(input, 0, PROTO_GET_LINE_MAX);
    size_t n = span_find(window, '\n');
    if (n == window.n) {
        if (len > PROTO_LINE_MAX && (len >= PROTO_GET_LINE_MAX || !long_line_allowed(input))) {
            c->pc->close = true;
            *why = PROTO_STOP_CLOSE;
        } else {
            *why = PROTO_STOP_NEED_INPUT;
        }
        return 0;
    }
    size_t consumed = n + 1;
    if (n > 1 && in[n - 1] == '\r') {
        n--;
    }
    struct span sent = span_of(in, n);
    c->line = span_sub(sent, 0, span_find(sent, '\0'));   /* memcached stops at a NUL */
    c->out_mark = buf_len(c->out);
    c->suspended = false;
    if (c->pc->get_resume == 0 && vlog_on(VLOG_TRAFFIC)) {
        vlog_traffic(c->pc->trace_id, '<', in, n);   /* the line as sent, NUL too */
    }
    run_command(c);
    trace_answer(c, c->out_mark);
    if (c->suspended) {
        *why = PROTO_STOP_OUTPUT_FULL;
        return 0;                /* the line stays; the get resumes later */
    }
    return consumed;
}

/* Streams value bytes into the pending item, then its "\r\n". */
static size_t process_nread(struct cmd_ctx *c, const char *in, size_t len)
{
    struct proto_conn *pc = c->pc;
    size_t used = 0;
    uint32_t want = pc->item_ndata - pc->item_filled;
    if (want > 0) {
        size_t n = len < want ? len : want;
        memcpy(pc->item_data + pc->item_filled, in, n);
        pc->item_filled += (uint32_t)n;
        used = n;
    }
    while (pc->item_filled == pc->item_ndata && pc->tail_filled < 2 && used < len) {
        pc->tail[pc->tail_filled++] = in[used++];
    }
    if (pc->tail_filled == 2) {
        nread_complete(c);
    }
    return used;
}

static size_t process_swallow(struct proto_conn *pc, size_t len)
{
    size_t n = pc->swallow_left < len ? (size_t)pc->swallow_left : len;
    pc->swallow_left -= n;
    if (pc->swallow_left == 0) {
        pc->state = PROTO_LINE;
    }
    return n;
}

/* ---- -Y: the login gate ------------------------------------------------ */

/* Before login memcached 1.6.18 (and current upstream) reads with its own
 * loop (try_read_command_asciiauth): only a "set" whose fifth word is a
 * length is a login, its data block "user pass" (words past the second
 * ignored, noreply too); every other line answers "CLIENT_ERROR
 * unauthenticated" and the connection stays open (quit included). Counted
 * as memcached counts: auth_cmds every login checked against the
 * credentials, auth_errors the refused ones; a malformed login is neither.
 * Measured answers: tests/integration/test_auth.py. */

static const char AUTH_UNAUTH[] = "CLIENT_ERROR unauthenticated";
static const char AUTH_FAILURE[] = "CLIENT_ERROR authentication failure";
static const char AUTH_FORMAT[] = "CLIENT_ERROR bad authentication token format";
static const char AUTH_TERM[] = "CLIENT_ERROR bad command line termination";
static const char AUTH_STORED[] = "STORED";

static bool unauthenticated(const struct proto_server *srv, const struct proto_conn *pc)
{
    return srv->auth_required && !pc->authenticated;
}

/* memcached answers everything before login through one response object
 * that each answer resets, so of the answers to one batch of input (one
 * proto_process call: what one read brought, up to -R commands) only the
 * last goes out. Measured: "version\r\nversion\r\n" in one packet gets one
 * "CLIENT_ERROR unauthenticated". The answer of a login that succeeds
 * replaces the earlier ones too; answers after it are appended. */
static void auth_answer(struct cmd_ctx *c, const char *s, size_t n)
{
    if (c->auth_marked) {
        c->out->end = c->out->start + c->auth_mark;
    } else {
        c->auth_marked = true;
        c->auth_mark = buf_len(c->out);
    }
    c->pc->noreply = false;
    reply(c, s, n);
    trace_answer(c, c->auth_mark);
}

#define AUTH_ANSWER(c, s) auth_answer((c), (s), sizeof(s) - 1)

enum login_kind { LOGIN_NOT, LOGIN_OK, LOGIN_TOO_LONG };

/* memcached's test of the line: at least five words, the first "set", the
 * fifth a number as safe_strtoul reads it (its leading blanks, a sign, a
 * trailing '\r'). SECURITY: a length past PROTO_AUTH_DATA_MAX is refused,
 * where memcached would cut it to 32 bits or wait for it. */
static enum login_kind login_line(struct span line, uint64_t *vlen)
{
    struct span tok[MAX_TOKENS];
    size_t ntokens = tokenize(line, tok);
    if (ntokens < 6 || !span_eq(tok[0], "set") || !num_parse_u64(tok[4].p, tok[4].n, vlen)) {
        return LOGIN_NOT;
    }
    return *vlen > PROTO_AUTH_DATA_MAX ? LOGIN_TOO_LONG : LOGIN_OK;
}

/* A login's data block, its "\r\n" included. memcached reads it as a C
 * string (a NUL ends it) and splits it at spaces: "user pass [ignored]". */
static void login_data(struct cmd_ctx *c, struct span block)
{
    struct proto_conn *pc = c->pc;
    if (block.p[block.n - 2] != '\r' || block.p[block.n - 1] != '\n') {
        AUTH_ANSWER(c, AUTH_TERM);
        return;
    }
    struct span data = span_sub(block, 0, block.n - 2);
    struct span tok[MAX_TOKENS];
    data = span_sub(data, 0, span_find(data, '\0'));
    if (tokenize(data, tok) < 3) {
        AUTH_ANSWER(c, AUTH_FORMAT);
        return;
    }
    bool ok = auth_check(tok[0], tok[1]);
    STAT_INC(pc->stats->auth_cmds);
    if (ok) {
        pc->authenticated = true;
        AUTH_ANSWER(c, AUTH_STORED);
        return;
    }
    STAT_INC(pc->stats->auth_errors);
    pc->auth_failures++;          /* net/conn.c feeds the per-source throttle */
    AUTH_ANSWER(c, AUTH_FAILURE);
}

static size_t auth_close(struct cmd_ctx *c, enum proto_stop *why)
{
    c->pc->close = true;
    *why = PROTO_STOP_CLOSE;
    return 0;
}

/* One line before login, or a login's line with its whole data block (left
 * unconsumed until all of it arrived). Returns bytes consumed, 0 to wait.
 * SECURITY: no line (get lines included) may pass PROTO_LINE_MAX and no
 * login block PROTO_AUTH_DATA_MAX: a stranger holds one line of buffer at
 * most. Lines before login are never logged (-vv): they may be credentials
 * sent the wrong way. */
static size_t process_unauth(struct cmd_ctx *c, const char *in, size_t len, enum proto_stop *why)
{
    struct span window = span_sub(span_of(in, len), 0, PROTO_LINE_MAX + 1);
    size_t n = span_find(window, '\n');
    uint64_t vlen = 0;
    *why = PROTO_STOP_NEED_INPUT;
    if (len < 2) {
        return 0;                /* memcached waits for two bytes */
    }
    if (n == window.n) {
        return len > PROTO_LINE_MAX ? auth_close(c, why) : 0;
    }
    size_t end = n > 1 && in[n - 1] == '\r' ? n - 1 : n;
    struct span line = span_of(in, end);
    line = span_sub(line, 0, span_find(line, '\0'));
    c->out_mark = buf_len(c->out);
    switch (login_line(line, &vlen)) {
    case LOGIN_NOT:
        AUTH_ANSWER(c, AUTH_UNAUTH);
        return n + 1;
    case LOGIN_TOO_LONG:
        return auth_close(c, why);
    default:
        break;
    }
    if (len - (n + 1) < vlen + 2) {
        return 0;
    }
    login_data(c, span_of(in + n + 1, (size_t)vlen + 2));
    return n + 1 + (size_t)vlen + 2;
}

/* -B: which protocol a connection speaks; under auto its first byte says
 * (memcached's try_read_command_negotiate: 0x80 is binary, anything else
 * ASCII), once and for good.
 * SECURITY: a login gate is never bypassed by speaking the other protocol:
 * -S's lives in the binary protocol, -Y's in the ASCII one (auth_required
 * is set for both). conf/options_check.c already turns -B auto into the
 * gate's protocol; this holds for any caller that did not. */
static enum proto_wire pick_wire(const struct proto_server *srv, char first)
{
    int proto = srv->settings != NULL ? srv->settings->protocol : SETTINGS_PROTO_ASCII;
    if (srv->settings != NULL && srv->settings->sasl) {
        return PROTO_WIRE_BINARY;
    }
    if (srv->auth_required) {
        return PROTO_WIRE_ASCII;
    }
    if (proto == SETTINGS_PROTO_AUTO) {
        return (unsigned char)first == BIN_REQ_MAGIC ? PROTO_WIRE_BINARY : PROTO_WIRE_ASCII;
    }
    return proto == SETTINGS_PROTO_BINARY ? PROTO_WIRE_BINARY : PROTO_WIRE_ASCII;
}

/* SECURITY: a value (set, ms, a binary store) that waits for more input
 * must not pin its segment meanwhile, or slow clients could pin them all:
 * its item moves to the heap (store_item_detach). Called where a call
 * returns, the only place processing stops in PROTO_NREAD. */
static void detach_waiting_value(const struct proto_server *srv, struct proto_conn *pc)
{
    if (!pc->close && pc->state == PROTO_NREAD) {
        pc->item_data = store_item_detach(srv->store, &pc->item, pc->item_filled);
    }
}

size_t proto_process(const struct proto_server *srv, struct proto_conn *pc,
                     const char *in, size_t len, struct buf *out, int *budget,
                     enum proto_stop *why)
{
    if (pc->wire == PROTO_WIRE_UNDECIDED && len > 0) {
        pc->wire = (uint8_t)pick_wire(srv, in[0]);
    }
    if (pc->wire == PROTO_WIRE_BINARY) {
        size_t used = binary_process(srv, pc, in, len, out, budget, why);
        detach_waiting_value(srv, pc);
        return used;
    }
    struct cmd_ctx c = { .srv = srv, .pc = pc, .out = out };
    size_t done = 0;
    *why = PROTO_STOP_NEED_INPUT;
    while (done < len && !pc->close) {
        if (pc->state == PROTO_NREAD) {
            done += process_nread(&c, in + done, len - done);
            continue;
        }
        if (pc->state == PROTO_SWALLOW) {
            done += process_swallow(pc, len - done);
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
        size_t n = unauthenticated(srv, pc) ? process_unauth(&c, in + done, len - done, why)
                                            : process_line(&c, in + done, len - done, why);
        if (n == 0) {
            if (*why == PROTO_STOP_OUTPUT_FULL) {
                (*budget)--;     /* a get that suspended did a command's work */
            }
            return done;
        }
        (*budget)--;
        done += n;
    }
    if (pc->close) {
        *why = PROTO_STOP_CLOSE;
    }
    detach_waiting_value(srv, pc);
    return done;
}

void proto_conn_init(struct proto_conn *pc, struct thread_stats *stats)
{
    memset(pc, 0, sizeof(*pc));
    pc->state = PROTO_LINE;
    pc->stats = stats;
}

void proto_conn_release(const struct proto_server *srv, struct proto_conn *pc)
{
    if (pc->item != NULL) {
        store_item_free(srv->store, &pc->item);
    }
    pc->meta.active = false;
    pc->state = PROTO_LINE;
}
