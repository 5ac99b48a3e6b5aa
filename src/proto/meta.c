/* meta.c: memcached 1.6.18's meta commands, answering byte for byte as it
 * does (measured: tests/integration/test_meta.py; the few deliberate
 * differences are in docs/COMPATIBILITY.md). Input is untrusted: flags are
 * spans walked in a bounded loop (at most 17 after the key, as memcached),
 * numbers go through base/num.c, a base64 key decodes into a fixed buffer,
 * and every answer line is built in a fixed buffer whose size bounds it.
 * Flags are rows of one table; errors are an enum mapped to memcached's
 * strings in one table. */
#include "proto/meta.h"

#include <string.h>

#include "base/clock.h"
#include "base/num.h"
#include "conf/settings.h"

#define KEY_MAX 250
#define META_TOKENS_MAX 20          /* memcached's MFLAG_MAX_OPT_LENGTH, terminal included */
#define META_LINE_MAX 1024          /* > the longest answer line 17 flags can ask for */
#define DIGITS_MAX 24

/* ---- errors ------------------------------------------------------------- */

enum meta_err {
    ME_FORMAT, ME_FLAGS_LONG_MG, ME_FLAGS_LONG, ME_DUPLICATE, ME_INVALID, ME_DECODE,
    ME_TOKEN, ME_M_LENGTH, ME_INITIAL, ME_DELTA, ME_OPAQUE, ME_INVALID_OR_DUP,
    ME_MODE_MS, ME_MODE_MA, ME_NON_NUMERIC, ME_EOM, ME_VIVIFY_EOM, ME_TOO_LARGE,
    ME_NO_MEMORY, ME_GET_OOM, ME_BAD_CHUNK,
};

struct meta_text {
    const char *s;
    size_t n;
};
#define TEXT(lit) { lit, sizeof(lit) - 1 }

static const struct meta_text meta_errors[] = {
    [ME_FORMAT] = TEXT("CLIENT_ERROR bad command line format"),
    [ME_FLAGS_LONG_MG] = TEXT("CLIENT_ERROR options flags are too long"),
    [ME_FLAGS_LONG] = TEXT("CLIENT_ERROR options flags too long"),
    [ME_DUPLICATE] = TEXT("CLIENT_ERROR duplicate flag"),
    [ME_INVALID] = TEXT("CLIENT_ERROR invalid flag"),
    [ME_DECODE] = TEXT("CLIENT_ERROR error decoding key"),
    [ME_TOKEN] = TEXT("CLIENT_ERROR bad token in command line format"),
    [ME_M_LENGTH] = TEXT("CLIENT_ERROR incorrect length for M token"),
    [ME_INITIAL] = TEXT("CLIENT_ERROR invalid numeric initial value"),
    [ME_DELTA] = TEXT("CLIENT_ERROR invalid numeric delta value"),
    [ME_OPAQUE] = TEXT("CLIENT_ERROR opaque token too long"),
    [ME_INVALID_OR_DUP] = TEXT("CLIENT_ERROR invalid or duplicate flag"),
    [ME_MODE_MS] = TEXT("CLIENT_ERROR invalid mode for ms M token"),
    [ME_MODE_MA] = TEXT("CLIENT_ERROR invalid mode for ma M token"),
    [ME_NON_NUMERIC] = TEXT("CLIENT_ERROR cannot increment or decrement non-numeric value"),
    [ME_EOM] = TEXT("SERVER_ERROR out of memory"),
    [ME_VIVIFY_EOM] = TEXT("SERVER_ERROR Out of memory allocating new item"),
    [ME_TOO_LARGE] = TEXT("SERVER_ERROR object too large for cache"),
    [ME_NO_MEMORY] = TEXT("SERVER_ERROR out of memory storing object"),
    [ME_GET_OOM] = TEXT("SERVER_ERROR out of memory writing get response"),
    [ME_BAD_CHUNK] = TEXT("CLIENT_ERROR bad data chunk"),
};

/* ---- answer lines --------------------------------------------------------- */

/* One answer line, without its "\r\n". */
struct meta_line {
    size_t n;
    char b[META_LINE_MAX];
};

static void line_put(struct meta_line *l, const char *s, size_t n)
{
    if (n > sizeof(l->b) - l->n) {
        n = sizeof(l->b) - l->n;        /* cannot happen: META_LINE_MAX bounds it */
    }
    memcpy(l->b + l->n, s, n);
    l->n += n;
}

#define LINE_LIT(l, lit) line_put((l), (lit), sizeof(lit) - 1)

static void line_u64(struct meta_line *l, uint64_t v)
{
    char d[DIGITS_MAX];
    line_put(l, d, num_format_u64(v, d));
}

/* " <flag><number>", as memcached's META_CHAR then itoa. */
static void line_flag(struct meta_line *l, char flag, uint64_t v)
{
    char head[2] = { ' ', flag };
    line_put(l, head, 2);
    line_u64(l, v);
}

/* Appends the answer (and a data block) to out; false when no buffer. */
static bool emit(struct buf *out, const struct meta_line *l, const char *data, size_t ndata)
{
    size_t need = l->n + 2 + (data != NULL ? ndata + 2 : 0);
    if (!buf_reserve(out, need)) {
        return false;
    }
    buf_append(out, l->b, l->n);
    buf_append(out, "\r\n", 2);
    if (data != NULL) {
        buf_append(out, data, ndata);
        buf_append(out, "\r\n", 2);
    }
    return true;
}

/* An answer that finds no buffer cannot be given: close, as ascii.c does. */
static void send_or_close(struct proto_conn *pc, struct buf *out, const struct meta_line *l,
                          const char *data, size_t ndata)
{
    if (!emit(out, l, data, ndata)) {
        pc->close = true;
        pc->out_of_memory = true;
    }
}

/* Errors are always answered, q or not (memcached's out_errstring). */
static void send_error(struct proto_conn *pc, struct buf *out, enum meta_err e)
{
    struct meta_line l = { 0 };
    line_put(&l, meta_errors[e].s, meta_errors[e].n);
    send_or_close(pc, out, &l, NULL, 0);
}

static void meta_error(const struct meta_cmd *m, enum meta_err e)
{
    send_error(m->pc, m->out, e);
}

/* ---- base64 keys (b) ----------------------------------------------------- */

/* memcached's base64 (base64.c): bytes outside the alphabet are skipped,
 * '=' counts as a digit of value 0 and as padding; the digits must come in
 * whole groups of four; the first group holding padding ends the key. */
static int b64_digit(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    return c == '+' ? 62 : c == '/' ? 63 : c == '=' ? 0 : -1;
}

/* Decodes in into out[0, cap); the length, or 0 when memcached refuses it. */
static size_t b64_decode(struct span in, char *out, size_t cap)
{
    size_t count = 0, pos = 0, fill = 0;
    unsigned pad = 0;
    unsigned char block[4];
    for (size_t i = 0; i < in.n; i++) {
        count += b64_digit((unsigned char)in.p[i]) >= 0;
    }
    if (count == 0 || count % 4 != 0 || count / 4 * 3 > cap) {
        return 0;
    }
    for (size_t i = 0; i < in.n; i++) {
        int d = b64_digit((unsigned char)in.p[i]);
        if (d < 0) {
            continue;
        }
        pad += in.p[i] == '=';
        block[fill++] = (unsigned char)d;
        if (fill < 4) {
            continue;
        }
        out[pos++] = (char)((block[0] << 2) | (block[1] >> 4));
        out[pos++] = (char)((block[1] << 4) | (block[2] >> 2));
        out[pos++] = (char)((block[2] << 6) | block[3]);
        fill = 0;
        if (pad > 0) {
            return pad > 2 ? 0 : pos - pad;
        }
    }
    return pos;
}

static void line_b64(struct meta_line *l, const char *src, size_t n)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *s = (const unsigned char *)src;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)s[i] << 16 | (i + 1 < n ? (unsigned)s[i + 1] << 8 : 0)
                     | (i + 2 < n ? s[i + 2] : 0);
        char q[4] = { abc[v >> 18], abc[(v >> 12) & 63],
                      i + 1 < n ? abc[(v >> 6) & 63] : '=', i + 2 < n ? abc[v & 63] : '=' };
        line_put(l, q, 4);
    }
}

/* " k<key>", a binary key in base64 followed by " b" (memcached's META_KEY). */
static void line_key(struct meta_line *l, const char *key, size_t n, bool binary)
{
    LINE_LIT(l, " k");
    if (!binary) {
        line_put(l, key, n);
        return;
    }
    line_b64(l, key, n);
    LINE_LIT(l, " b");
}

/* ---- flags ------------------------------------------------------------------ */

/* What a line's flags ask for (memcached's struct _meta_flags). */
struct meta_flags {
    enum meta_err err;
    bool has_error;
    bool no_update, vivify, value, set_stale, no_reply, has_cas, new_ttl, key_binary;
    bool locked;                /* N T R l h: mg's item is fetched locked, bumped last */
    char mode;
    rel_time_t exptime, autoviv, recache;
    uint32_t client_flags;
    uint64_t cas, delta, initial;
    struct span key;            /* the key, decoded when b */
    char keybuf[KEY_MAX];
};

enum flag_kind { FK_UNKNOWN = 0, FK_PLAIN, FK_TTL, FK_U32, FK_U64, FK_MODE, FK_KEY };

struct flag_rule {
    enum flag_kind kind;
    bool keeps_error;           /* a bad token keeps the command's error string (F) */
    enum meta_err err;
};

/* Every flag 1.6.18 knows, for every command (mg accepts F, md accepts v...);
 * any other first byte is "invalid flag". */
static const struct flag_rule flag_rules[128] = {
    ['b'] = { FK_KEY, false, ME_DECODE },
    ['N'] = { FK_TTL, false, ME_TOKEN },
    ['T'] = { FK_TTL, false, ME_TOKEN },
    ['R'] = { FK_TTL, false, ME_TOKEN },
    ['F'] = { FK_U32, true, ME_FORMAT },
    ['C'] = { FK_U64, false, ME_TOKEN },
    ['J'] = { FK_U64, false, ME_INITIAL },
    ['D'] = { FK_U64, false, ME_DELTA },
    ['M'] = { FK_MODE, false, ME_M_LENGTH },
    ['l'] = { FK_PLAIN, false, 0 }, ['O'] = { FK_PLAIN, false, 0 },
    ['P'] = { FK_PLAIN, false, 0 }, ['L'] = { FK_PLAIN, false, 0 },
    ['k'] = { FK_PLAIN, false, 0 }, ['s'] = { FK_PLAIN, false, 0 },
    ['t'] = { FK_PLAIN, false, 0 }, ['c'] = { FK_PLAIN, false, 0 },
    ['f'] = { FK_PLAIN, false, 0 }, ['v'] = { FK_PLAIN, false, 0 },
    ['h'] = { FK_PLAIN, false, 0 }, ['u'] = { FK_PLAIN, false, 0 },
    ['q'] = { FK_PLAIN, false, 0 }, ['I'] = { FK_PLAIN, false, 0 },
};

static void flags_init(struct meta_flags *of, struct span key)
{
    memset(of, 0, sizeof(*of));
    of->err = ME_FORMAT;
    of->delta = 1;              /* ma without D */
    of->key = key;
}

static void flag_set(struct meta_flags *of, char flag, rel_time_t ttl, uint64_t u)
{
    of->locked |= flag == 'N' || flag == 'T' || flag == 'R' || flag == 'l' || flag == 'h';
    switch (flag) {
    case 'v': of->value = true; break;
    case 'u': of->no_update = true; break;
    case 'q': of->no_reply = true; break;
    case 'I': of->set_stale = true; break;
    case 'N': of->vivify = true; of->autoviv = ttl; break;
    case 'T': of->new_ttl = true; of->exptime = ttl; break;
    case 'R': of->recache = ttl; break;
    case 'C': of->has_cas = true; of->cas = u; break;
    case 'J': of->initial = u; break;
    case 'D': of->delta = u; break;
    default: break;
    }
}

static bool flag_key(struct meta_flags *of)
{
    size_t n = b64_decode(of->key, of->keybuf, sizeof(of->keybuf));
    of->key_binary = true;
    of->key = span_of(of->keybuf, n);
    return n > 0;
}

/* One flag token whose first byte has a rule; a bad argument is an error
 * that parsing goes on past (memcached reports the last one). */
static void flag_parse(struct meta_flags *of, struct span tok)
{
    const struct flag_rule *r = &flag_rules[(unsigned char)tok.p[0]];
    struct span arg = span_sub(tok, 1, SIZE_MAX);
    int32_t i = 0;
    uint64_t u = 0;
    bool ok = true;
    switch (r->kind) {
    case FK_TTL: ok = num_parse_i32(arg.p, arg.n, &i); break;
    case FK_U32: ok = num_parse_u32(arg.p, arg.n, &of->client_flags); break;
    case FK_U64: ok = num_parse_u64(arg.p, arg.n, &u); break;
    case FK_MODE: ok = tok.n == 2; of->mode = ok ? tok.p[1] : of->mode; break;
    case FK_KEY: ok = flag_key(of); break;
    default: break;
    }
    if (!ok) {
        of->has_error = true;
        of->err = r->keeps_error ? of->err : r->err;
        return;
    }
    flag_set(of, tok.p[0], r->kind == FK_TTL ? clock_exptime_to_rel(i) : 0, u);
}

/* memcached's _meta_flag_preparse over tok[start..]: a repeated first byte
 * (or one of 127 and up) and an unknown flag stop at once. */
static bool flags_parse(const struct meta_cmd *m, size_t start, struct meta_flags *of)
{
    bool seen[128] = { false };
    for (size_t i = start; i + 1 < m->ntokens; i++) {
        unsigned char c = (unsigned char)m->tok[i].p[0];
        if (c >= 127 || seen[c]) {
            of->err = ME_DUPLICATE;
            return false;
        }
        seen[c] = true;
        if (flag_rules[c].kind == FK_UNKNOWN) {
            of->err = ME_INVALID;
            return false;
        }
        flag_parse(of, m->tok[i]);
    }
    return !of->has_error;
}

/* " O<opaque>" as the client sent it; false (nothing added) when it is over
 * META_OPAQUE_MAX bytes: memcached's "opaque token too long". */
static bool line_opaque(struct meta_line *l, struct span t)
{
    if (t.n > META_OPAQUE_MAX) {
        return false;
    }
    LINE_LIT(l, " ");
    line_put(l, t.p, t.n);
    return true;
}

/* The O and k of an answer without an item (EN, NF, EX, NS); false for an
 * opaque over 32 bytes. */
static bool line_echo(struct meta_line *l, const struct meta_cmd *m, const struct meta_flags *of)
{
    for (size_t i = 2; i + 1 < m->ntokens; i++) {
        struct span t = m->tok[i];
        if (t.p[0] == 'O') {
            if (!line_opaque(l, t)) {
                return false;
            }
        } else if (t.p[0] == 'k') {
            line_key(l, of->key.p, of->key.n, of->key_binary);
        }
    }
    return true;
}

/* " t<seconds left>", -1 for never; memcached's unsigned arithmetic. */
static void line_ttl(struct meta_line *l, rel_time_t exptime)
{
    if (exptime == 0) {
        LINE_LIT(l, " t-1");
        return;
    }
    line_flag(l, 't', (uint32_t)(exptime - clock_now()));
}

static unsigned cls_index(unsigned clsid)
{
    return clsid <= STORE_MAX_CLASSES ? clsid : 0;
}

/* ---- mg ------------------------------------------------------------------------ */

struct mg_ctx {
    const struct meta_cmd *m;
    const struct meta_flags *of;
    bool ttl_set, opaque_long, oom;
    unsigned clsid;
};

/* One flag of a hit, in the order sent: T, N and R act on the item (so a t
 * after a T shows the new TTL), the others print. False: opaque too long. */
static bool mg_flag(struct mg_ctx *g, struct meta_view *v, struct meta_line *l,
                    struct span t, bool *won)
{
    const struct meta_flags *of = g->of;
    switch (t.p[0]) {
    case 'T': g->ttl_set = true; v->exptime = of->exptime; break;
    case 'N':
        if (v->created) {
            v->exptime = of->autoviv;
            *won = true;
        }
        break;
    case 'R':
        *won |= !v->win_sent && !v->created && v->exptime != 0 && v->exptime < of->recache;
        break;
    case 's': line_flag(l, 's', v->item.ndata); break;
    case 't': line_ttl(l, v->exptime); break;
    case 'c': line_flag(l, 'c', v->item.cas); break;
    case 'f': line_flag(l, 'f', v->item.flags); break;
    case 'l': line_flag(l, 'l', (uint32_t)(clock_now() - v->atime)); break;
    case 'h': line_flag(l, 'h', v->fetched); break;
    case 'O':
        if (!line_opaque(l, t)) {
            return false;
        }
        break;
    case 'k': line_key(l, v->item.key, v->item.nkey, v->key_binary); break;
    default: break;
    }
    return true;
}

/* The hit (or the item N just made), under its lock. Z before X before W;
 * a stale item nobody won yet is won by this client. */
static void mg_found(void *arg, struct meta_view *v)
{
    struct mg_ctx *g = arg;
    const struct meta_cmd *m = g->m;
    struct meta_line l = { 0 };
    bool won = false;
    if (g->of->value) {
        LINE_LIT(&l, "VA ");
        line_u64(&l, v->item.ndata);
    } else {
        LINE_LIT(&l, "HD");
    }
    for (size_t i = 2; i + 1 < m->ntokens; i++) {
        if (!mg_flag(g, v, &l, m->tok[i], &won)) {
            /* memcached has fetched the item by now. Without N T R l h
             * it fetched it with its bump (fetched bit, last access), which
             * stays; with one of them it fetched it locked, to bump last,
             * and its error path skips that bump. A T or N before the O
             * has acted; nothing is counted. */
            g->opaque_long = true;
            v->bump = v->bump && !g->of->locked;
            return;
        }
    }
    if (v->win_sent) {
        LINE_LIT(&l, " Z");
    }
    if (v->stale) {
        LINE_LIT(&l, " X");
        won |= !v->win_sent;
    }
    if (won) {
        LINE_LIT(&l, " W");
        v->won = true;
    }
    g->clsid = v->item.clsid;
    g->oom = !emit(m->out, &l, g->of->value ? v->item.data : NULL, v->item.ndata);
}

static void mg_count_hit(const struct mg_ctx *g)
{
    struct thread_stats *ts = g->m->pc->stats;
    if (g->ttl_set) {
        STAT_INC(ts->cmd_touch);
        STAT_INC(ts->touch_hits);
        STAT_INC(ts->cls[cls_index(g->clsid)].touch_hits);
    } else {
        STAT_INC(ts->cmd_get);
        STAT_INC(ts->get_hits);
        STAT_INC(ts->cls[cls_index(g->clsid)].get_hits);
    }
}

/* A miss: counted as a get's miss (a T never makes it a touch here), then
 * "EN" with O and k, which q drops. */
static void mg_miss(const struct meta_cmd *m, const struct meta_flags *of)
{
    struct meta_line l = { 0 };
    STAT_INC(m->pc->stats->cmd_get);
    STAT_INC(m->pc->stats->get_misses);
    LINE_LIT(&l, "EN");
    if (!line_echo(&l, m, of)) {
        meta_error(m, ME_OPAQUE);
    } else if (!of->no_reply) {
        send_or_close(m->pc, m->out, &l, NULL, 0);
    }
}

void meta_get(const struct meta_cmd *m)
{
    struct meta_flags of;
    if (m->tok[1].n > KEY_MAX) {
        meta_error(m, ME_FORMAT);
        return;
    }
    if (m->ntokens > META_TOKENS_MAX) {
        meta_error(m, ME_FLAGS_LONG_MG);
        return;
    }
    flags_init(&of, m->tok[1]);
    if (!flags_parse(m, 2, &of)) {
        meta_error(m, of.err);
        return;
    }
    struct mg_ctx g = { .m = m, .of = &of };
    if (store_meta_get(m->srv->store, of.key.p, of.key.n, !of.no_update, of.vivify,
                       mg_found, &g) != STORE_OK) {
        mg_miss(m, &of);
        return;
    }
    if (g.opaque_long) {
        meta_error(m, ME_OPAQUE);
        return;
    }
    mg_count_hit(&g);
    if (g.oom) {
        meta_error(m, ME_GET_OOM);
    }
}

/* ---- ms ------------------------------------------------------------------------ */

/* SECURITY: a line refused before its length was read still names one; when
 * that length is valid, its data block is discarded, never run as commands
 * (1.6.18 runs it; docs/COMPATIBILITY.md, as for set). */
static void ms_swallow(struct proto_conn *pc, struct span len_tok)
{
    int32_t vlen;
    if (len_tok.p != NULL && num_parse_i32(len_tok.p, len_tok.n, &vlen)
            && vlen >= 0 && vlen <= INT32_MAX - 2) {
        pc->state = PROTO_SWALLOW;
        pc->swallow_left = (uint64_t)vlen + 2;
    }
}

/* The return flags O, k and c, in the order sent (memcached stashes them
 * in its write buffer until the value is stored). False: opaque too long. */
static bool ms_returns(const struct meta_cmd *m, struct meta_pending *p)
{
    bool ok = true;
    for (size_t i = 3; i + 1 < m->ntokens; i++) {
        struct span t = m->tok[i];
        char f = t.p[0];
        if (f != 'O' && f != 'k' && f != 'c') {
            continue;
        }
        if (f == 'O' && t.n > META_OPAQUE_MAX) {
            ok = false;
            continue;
        }
        if (f == 'O') {
            memcpy(p->opaque, t.p, t.n);
            p->nopaque = (uint8_t)t.n;
        }
        if (p->nret < sizeof(p->ret)) {
            p->ret[p->nret++] = f;
        }
    }
    return ok;
}

/* M: E add, A append, P prepend, R replace, S set; with C a set or replace
 * is a cas (I: one that may store an older value as stale). */
static bool ms_mode(const struct meta_flags *of, enum store_mode *mode)
{
    switch (of->mode) {
    case 0: case 'S': *mode = STORE_SET; break;
    case 'E': *mode = STORE_ADD; break;
    case 'A': *mode = STORE_APPEND; break;
    case 'P': *mode = STORE_PREPEND; break;
    case 'R': *mode = STORE_REPLACE; break;
    default: return false;
    }
    if (of->has_cas && (*mode == STORE_SET || *mode == STORE_REPLACE)) {
        *mode = of->set_stale ? STORE_CAS_STALE : STORE_CAS;
    }
    return true;
}

/* No item for the value: memcached removes the old one whatever the mode. */
static void ms_refused(const struct meta_cmd *m, const struct meta_flags *of,
                       enum store_status why)
{
    struct thread_stats *ts = m->pc->stats;
    if (why == STORE_TOO_LARGE) {
        STAT_INC(ts->store_too_large);
    } else {
        STAT_INC(ts->store_no_memory);
    }
    (void)store_delete(m->srv->store, of->key.p, of->key.n);
    meta_error(m, why == STORE_TOO_LARGE ? ME_TOO_LARGE : ME_NO_MEMORY);
}

/* The line is good: allocate the item, then read the value into it. */
static void ms_start(const struct meta_cmd *m, const struct meta_flags *of,
                     const struct meta_pending *p, enum store_mode mode, int32_t vlen)
{
    struct proto_conn *pc = m->pc;
    enum store_status why;
    struct item *it = store_item_alloc(m->srv->store, of->key.p, of->key.n, of->client_flags,
                                       of->exptime, (uint32_t)vlen, &why);
    pc->state = PROTO_SWALLOW;
    pc->swallow_left = (uint64_t)vlen + 2;
    if (it == NULL) {
        ms_refused(m, of, why);
        return;
    }
    if (of->key_binary) {
        store_item_set_key_binary(it);
    }
    pc->state = PROTO_NREAD;
    pc->item = it;
    pc->item_data = store_item_data(it);
    pc->item_ndata = (uint32_t)vlen;
    pc->item_filled = 0;
    pc->tail_filled = 0;
    pc->mode = mode;
    pc->cas_in = of->cas;
    pc->meta = *p;
    pc->meta.active = true;
}

/* memcached's order: the flags, then the return flags (an opaque over 32
 * bytes), then the mode, whose error wins over the opaque's. */
static bool ms_parse(const struct meta_cmd *m, struct meta_flags *of,
                     struct meta_pending *p, enum store_mode *mode)
{
    if (!flags_parse(m, 3, of)) {
        return false;
    }
    bool opaque_ok = ms_returns(m, p);
    if (!ms_mode(of, mode)) {
        of->err = ME_MODE_MS;
        return false;
    }
    if (!opaque_ok) {
        of->err = ME_OPAQUE;
        return false;
    }
    return true;
}

void meta_set(const struct meta_cmd *m)
{
    struct meta_flags of;
    struct meta_pending p = { 0 };
    enum store_mode mode = STORE_SET;
    int32_t vlen;
    if (m->tok[1].n > KEY_MAX || m->ntokens == 3 || m->ntokens > META_TOKENS_MAX) {
        bool too_many = m->tok[1].n <= KEY_MAX && m->ntokens > META_TOKENS_MAX;
        meta_error(m, too_many ? ME_FLAGS_LONG : ME_FORMAT);
        ms_swallow(m->pc, m->tok[2]);
        return;
    }
    if (!num_parse_i32(m->tok[2].p, m->tok[2].n, &vlen) || vlen < 0 || vlen > INT32_MAX - 2) {
        meta_error(m, ME_FORMAT);       /* no length to trust: nothing swallowed */
        return;
    }
    flags_init(&of, m->tok[1]);
    if (!ms_parse(m, &of, &p, &mode)) {
        m->pc->state = PROTO_SWALLOW;
        m->pc->swallow_left = (uint64_t)vlen + 2;
        meta_error(m, of.err);
        return;
    }
    p.quiet = of.no_reply;
    p.key_binary = of.key_binary;
    ms_start(m, &of, &p, mode, vlen);
}

static void ms_count(struct thread_stats *ts, enum store_mode mode, enum store_status st)
{
    if (mode != STORE_CAS && mode != STORE_CAS_STALE) {
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

static void ms_code(struct meta_line *l, enum store_status st)
{
    switch (st) {
    case STORE_OK: LINE_LIT(l, "HD"); break;
    case STORE_EXISTS: LINE_LIT(l, "EX"); break;
    case STORE_NOT_FOUND: LINE_LIT(l, "NF"); break;
    default: LINE_LIT(l, "NS"); break;
    }
}

/* The return flags an ms line asked for, in its order; c is 0 unless stored. */
static void ms_echo(struct meta_line *l, const struct meta_pending *p, struct span key,
                    uint64_t cas)
{
    for (uint8_t i = 0; i < p->nret; i++) {
        if (p->ret[i] == 'O') {
            LINE_LIT(l, " ");
            line_put(l, p->opaque, p->nopaque);
        } else if (p->ret[i] == 'k') {
            line_key(l, key.p, key.n, p->key_binary);
        } else {
            line_flag(l, 'c', cas);
        }
    }
}

void meta_set_complete(const struct proto_server *srv, struct proto_conn *pc,
                       struct buf *out, bool chunk_ok)
{
    struct meta_pending p = pc->meta;
    struct meta_line l = { 0 };
    char key[KEY_MAX];
    size_t nkey;
    uint64_t cas = 0;
    unsigned cls = cls_index(store_item_clsid(pc->item));
    pc->state = PROTO_LINE;
    pc->meta.active = false;
    STAT_INC(pc->stats->cmd_set);
    STAT_INC(pc->stats->cls[cls].cmd_set);
    if (!chunk_ok) {
        store_item_free(srv->store, &pc->item);
        send_error(pc, out, ME_BAD_CHUNK);
        return;
    }
    const char *k = store_item_key(pc->item, &nkey);
    nkey = nkey < sizeof(key) ? nkey : sizeof(key);
    memcpy(key, k, nkey);
    enum store_status st = store_item_link(srv->store, &pc->item, pc->mode, pc->cas_in, &cas);
    ms_count(pc->stats, pc->mode, st);
    if (st == STORE_OK && p.quiet) {
        return;
    }
    ms_code(&l, st);
    ms_echo(&l, &p, span_of(key, nkey), st == STORE_OK ? cas : 0);
    send_or_close(pc, out, &l, NULL, 0);
}

/* ---- md ------------------------------------------------------------------------ */

/* The checks md, ma and me share: memcached's strings, checked in its order. */
static bool key_and_flags_ok(const struct meta_cmd *m, struct meta_flags *of)
{
    if (m->tok[1].n > KEY_MAX) {
        meta_error(m, ME_FORMAT);
        return false;
    }
    if (m->ntokens > META_TOKENS_MAX) {
        meta_error(m, ME_FLAGS_LONG);
        return false;
    }
    flags_init(of, m->tok[1]);
    if (!flags_parse(m, 2, of)) {
        meta_error(m, ME_INVALID_OR_DUP);
        return false;
    }
    return true;
}

static void md_count(struct thread_stats *ts, enum store_status st, bool stale)
{
    if (st != STORE_OK) {
        STAT_INC(ts->delete_misses);
    } else if (!stale) {
        STAT_INC(ts->delete_hits);
    }
}

void meta_delete(const struct meta_cmd *m)
{
    struct meta_flags of;
    struct meta_line tail = { 0 }, l = { 0 };
    if (!key_and_flags_ok(m, &of)) {
        return;
    }
    if (!line_echo(&tail, m, &of)) {
        meta_error(m, ME_OPAQUE);       /* before the item is looked at */
        return;
    }
    struct meta_delete_req req = {
        .has_cas = of.has_cas, .cas_in = of.cas, .stale = of.set_stale,
        .set_exptime = of.new_ttl, .exptime = of.exptime,
    };
    enum store_status st = store_meta_delete(m->srv->store, of.key.p, of.key.n, &req);
    md_count(m->pc->stats, st, of.set_stale);
    if (st == STORE_OK && of.no_reply) {
        return;                         /* q hides HD only: NF and EX still come */
    }
    ms_code(&l, st);
    line_put(&l, tail.b, tail.n);
    send_or_close(m->pc, m->out, &l, NULL, 0);
}

/* ---- ma ------------------------------------------------------------------------ */

struct ma_ctx {
    const struct meta_cmd *m;
    const struct meta_flags *of;
    bool opaque_long, created, oom;
    unsigned clsid;
};

static bool ma_flag(const struct meta_flags *of, struct meta_view *v, struct meta_line *l,
                    struct span t)
{
    switch (t.p[0]) {
    case 'c': line_flag(l, 'c', v->item.cas); break;
    case 't': line_ttl(l, v->exptime); break;
    case 'T': v->exptime = of->exptime; break;
    case 'N':
        if (v->created) {
            v->exptime = of->autoviv;
        }
        break;
    case 'O':
        if (!line_opaque(l, t)) {
            return false;
        }
        break;
    case 'k': line_key(l, of->key.p, of->key.n, of->key_binary); break;
    default: break;
    }
    return true;
}

/* The item after the change (or made by N), under its lock. q hides a
 * change's answer but not a creation's (memcached). */
static void ma_found(void *arg, struct meta_view *v)
{
    struct ma_ctx *g = arg;
    const struct meta_cmd *m = g->m;
    struct meta_line l = { 0 };
    char digits[DIGITS_MAX];
    size_t nd = num_format_u64(v->number, digits);
    g->created = v->created;
    g->clsid = v->item.clsid;
    if (g->of->value) {
        LINE_LIT(&l, "VA ");
        line_u64(&l, nd);
    } else {
        LINE_LIT(&l, "HD");
    }
    for (size_t i = 2; i + 1 < m->ntokens; i++) {
        if (!ma_flag(g->of, v, &l, m->tok[i])) {
            g->opaque_long = true;
            return;
        }
    }
    if (!g->of->no_reply || v->created) {
        g->oom = !emit(m->out, &l, g->of->value ? digits : NULL, nd);
    }
}

static void ma_count(const struct ma_ctx *g, enum store_status st, bool incr)
{
    struct thread_stats *ts = g->m->pc->stats;
    struct class_counters *cc = &ts->cls[cls_index(g->clsid)];
    if (st == STORE_OK && !g->created) {
        STAT_INC(*(incr ? &ts->incr_hits : &ts->decr_hits));
        STAT_INC(*(incr ? &cc->incr_hits : &cc->decr_hits));
    } else if (st == STORE_NOT_FOUND && !g->of->vivify) {
        STAT_INC(*(incr ? &ts->incr_misses : &ts->decr_misses));
    }
}

/* NF, EX or NS, with O and k. */
static void ma_no_item(const struct meta_cmd *m, const struct meta_flags *of,
                       enum store_status st)
{
    struct meta_line l = { 0 };
    ms_code(&l, st);
    if (!line_echo(&l, m, of)) {
        meta_error(m, ME_OPAQUE);
        return;
    }
    send_or_close(m->pc, m->out, &l, NULL, 0);
}

static void ma_answer(const struct ma_ctx *g, enum store_status st)
{
    const struct meta_cmd *m = g->m;
    switch (st) {
    case STORE_OK:
        if (g->opaque_long) {
            meta_error(m, ME_OPAQUE);
        } else if (g->oom) {
            m->pc->close = true;
            m->pc->out_of_memory = true;
        }
        break;
    case STORE_NON_NUMERIC: meta_error(m, ME_NON_NUMERIC); break;
    case STORE_NO_MEMORY: meta_error(m, ME_EOM); break;
    case STORE_NOT_FOUND:
        if (g->of->vivify) {
            meta_error(m, ME_VIVIFY_EOM);
            break;
        }
        ma_no_item(m, g->of, st);
        break;
    default: ma_no_item(m, g->of, st); break;
    }
}

void meta_arith(const struct meta_cmd *m)
{
    struct meta_flags of;
    if (!key_and_flags_ok(m, &of)) {
        return;
    }
    bool incr = of.mode == 0 || of.mode == 'I' || of.mode == '+';
    if (!incr && of.mode != 'D' && of.mode != '-') {
        meta_error(m, ME_MODE_MA);
        return;
    }
    struct meta_delta_req req = {
        .incr = incr, .vivify = of.vivify, .delta = of.delta,
        .cas_in = of.has_cas ? of.cas : 0, .initial = of.initial,
    };
    struct ma_ctx g = { .m = m, .of = &of };
    enum store_status st = store_meta_delta(m->srv->store, of.key.p, of.key.n, &req,
                                            ma_found, &g);
    ma_count(&g, st, incr);
    ma_answer(&g, st);
}

/* ---- mn, me ---------------------------------------------------------------------- */

void meta_noop(const struct meta_cmd *m)
{
    struct meta_line l = { 0 };
    LINE_LIT(&l, "MN");
    send_or_close(m->pc, m->out, &l, NULL, 0);
}

struct me_ctx {
    const struct meta_cmd *m;
    bool oom;
};

/* memcached's item size accounting (ITEM_ntotal): its 48-byte header, the
 * cas, the key and its NUL, the flags when not 0, the value and "\r\n". */
static uint64_t me_size(const struct meta_cmd *m, const struct item_view *it)
{
    return 48 + (m->srv->settings->use_cas ? 8 : 0) + (uint64_t)it->nkey + 1
           + (it->flags != 0 ? 4 : 0) + (uint64_t)it->ndata + 2;
}

/* " exp=<now - exptime>" as a signed 32-bit number (memcached's %d of its
 * unsigned difference: negative while the item lives), -1 for never. */
static void line_exp(struct meta_line *l, rel_time_t exptime, rel_time_t now)
{
    int32_t exp = (int32_t)(uint32_t)(now - exptime);
    LINE_LIT(l, " exp=");
    if (exptime == 0 || exp < 0) {
        LINE_LIT(l, "-");
    }
    line_u64(l, exptime == 0 ? 1 : exp < 0 ? (uint64_t)(-(int64_t)exp) : (uint64_t)exp);
}

/* "ME key exp=.. la=.. cas=.. fetch=.. cls=.. size=..": only what mg's t, l,
 * c, h, s and f tell any client, and the memory class "stats slabs" shows;
 * exp counts as memcached does (now - exptime: negative while alive). */
static void me_found(void *arg, struct meta_view *v)
{
    struct me_ctx *e = arg;
    struct meta_line l = { 0 };
    rel_time_t now = clock_now();
    LINE_LIT(&l, "ME ");
    if (v->key_binary) {
        line_b64(&l, v->item.key, v->item.nkey);
    } else {
        line_put(&l, v->item.key, v->item.nkey);
    }
    line_exp(&l, v->exptime, now);
    LINE_LIT(&l, " la=");
    line_u64(&l, (uint32_t)(now - v->atime));
    LINE_LIT(&l, " cas=");
    line_u64(&l, v->item.cas);
    if (v->fetched) {
        LINE_LIT(&l, " fetch=yes cls=");
    } else {
        LINE_LIT(&l, " fetch=no cls=");
    }
    line_u64(&l, v->item.clsid);
    LINE_LIT(&l, " size=");
    line_u64(&l, me_size(e->m, &v->item));
    e->oom = !emit(e->m->out, &l, NULL, 0);
}

void meta_debug(const struct meta_cmd *m)
{
    struct meta_flags of;
    if (m->ntokens < 3 || m->tok[1].n > KEY_MAX) {
        meta_error(m, ME_FORMAT);
        return;
    }
    flags_init(&of, m->tok[1]);
    if (m->ntokens >= 4 && span_eq(m->tok[2], "b") && !flag_key(&of)) {
        meta_error(m, ME_FORMAT);
        return;
    }
    struct me_ctx e = { .m = m };
    if (store_meta_get(m->srv->store, of.key.p, of.key.n, false, false, me_found, &e)
            != STORE_OK) {
        struct meta_line l = { 0 };
        LINE_LIT(&l, "EN");
        send_or_close(m->pc, m->out, &l, NULL, 0);
    } else if (e.oom) {
        m->pc->close = true;
        m->pc->out_of_memory = true;
    }
    STAT_INC(m->pc->stats->cmd_meta);
}
