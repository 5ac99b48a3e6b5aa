/* meta.c: the store's side of memcached's meta commands (mg, md, ma, me; ms
 * goes through store_item_link). A command reads and changes one item under
 * its stripe through one callback, so its flags see one consistent item (TTL,
 * cas, the win and stale bits), as memcached's meta commands do under their
 * item lock. An item made on a miss (N) is allocated with no lock held and
 * linked only if the key is still missing: nothing allocates under a stripe. */
#include <string.h>

#include "base/num.h"
#include "store/store_internal.h"

#define META_RETRY_MAX 8        /* a key created and deleted under us, again */
#define META_DIGITS 24          /* num_format_u64 needs 21 */

static bool meta_key_ok(size_t nkey)
{
    return nkey >= 1 && nkey <= STORE_KEY_MAX;
}

void meta_view_fill(const struct store *st, struct item *it, struct meta_view *v)
{
    memset(v, 0, sizeof(*v));
    v->item = (struct item_view){
        .key = item_ckey(it), .nkey = item_nkey(it), .flags = item_flags(it),
        .data = item_data(it), .ndata = item_ndata(it),
        .cas = cas_visible(st, item_cas(it)), .clsid = 1,
    };
    v->exptime = item_exptime(it);
    v->atime = item_time(it);
    v->fetched = (item_bits(it) & ITEM_FETCHED) != 0;
    v->stale = (item_bits(it) & ITEM_STALE) != 0;
    v->win_sent = (item_bits(it) & ITEM_WIN_SENT) != 0;
    v->key_binary = (item_bits(it) & ITEM_KEY_BINARY) != 0;
}

/* Calls fn on a linked item (stripe held) and writes back what it may
 * change: the exptime, the win, and the fetch that comes after it. */
static void meta_visit(struct store *st, uint64_t hv, pthread_mutex_t *m, struct item *it,
                       bool created, bool bump, uint64_t number, store_meta_fn fn, void *ctx)
{
    struct meta_view v;
    meta_view_fill(st, it, &v);
    v.created = created;
    v.bump = bump;
    v.number = number;
    fn(ctx, &v);
    if (v.exptime != item_exptime(it)) {
        it = item_set_exptime_at(st, hv, m, it, v.exptime);
        if (it == NULL) {
            return;
        }
    }
    if (v.won) {
        item_bits_set(it, ITEM_WIN_SENT);
    }
    if (v.bump) {
        item_fetched(it);
    }
}

/* N on a miss: an item of data[0, ndata), flags 0, never expiring, made
 * unlocked and linked if the key is still missing; then fn on it. *raced:
 * the key appeared meanwhile (nothing done; the caller looks again).
 * STORE_NOT_FOUND: no memory for it. */
static enum store_status meta_create(struct store *st, const char *key, size_t nkey,
                                     const char *data, uint32_t ndata, uint64_t number,
                                     bool bump, store_meta_fn fn, void *ctx, bool *raced)
{
    enum store_status why;
    struct item *it = item_alloc_raw(st, key, nkey, 0, 0, ndata, &why);
    *raced = false;
    if (it == NULL) {
        return STORE_NOT_FOUND;
    }
    if (ndata > 0) {
        memcpy(item_data(it), data, ndata);
    }
    uint64_t hv;
    pthread_mutex_t *m;
    enum store_status status = STORE_OK;
    if (find_locked(st, key, nkey, &hv, &m) != NULL) {
        *raced = true;
    } else if (item_link_locked(st, hv, it, NULL)) {
        meta_visit(st, hv, m, it, true, bump, number, fn, ctx);
        it = NULL;
    } else {
        status = STORE_NOT_FOUND;       /* -M, no index slot: as no memory */
    }
    pthread_mutex_unlock(m);
    store_item_free(st, &it);
    return status;
}

enum store_status store_meta_get(struct store *st, const char *key, size_t nkey,
                                 bool bump, bool vivify, store_meta_fn fn, void *ctx)
{
    if (!meta_key_ok(nkey)) {
        return STORE_NOT_FOUND;
    }
    for (unsigned round = 0; round < META_RETRY_MAX; round++) {
        uint64_t hv;
        pthread_mutex_t *m;
        struct item *it = find_locked(st, key, nkey, &hv, &m);
        if (it != NULL) {
            meta_visit(st, hv, m, it, false, bump, 0, fn, ctx);
        }
        pthread_mutex_unlock(m);
        if (it != NULL) {
            return STORE_OK;
        }
        if (!vivify) {
            break;
        }
        bool raced;
        enum store_status status = meta_create(st, key, nkey, NULL, 0, 0, bump, fn, ctx,
                                               &raced);
        if (!raced) {
            return status;
        }
    }
    return STORE_NOT_FOUND;
}

enum store_status store_meta_delete(struct store *st, const char *key, size_t nkey,
                                    const struct meta_delete_req *req)
{
    if (!meta_key_ok(nkey)) {
        return STORE_NOT_FOUND;
    }
    uint64_t hv;
    pthread_mutex_t *m;
    struct item *it = find_locked(st, key, nkey, &hv, &m);
    enum store_status status = STORE_OK;
    if (it == NULL) {
        status = STORE_NOT_FOUND;
    } else if (req->has_cas && cas_visible(st, item_cas(it)) != req->cas_in) {
        status = STORE_EXISTS;
    } else if (req->stale) {
        /* md I: kept, marked stale, and the next mg wins the recache */
        if (req->set_exptime) {
            it = item_set_exptime_at(st, hv, m, it, req->exptime);
        }
        if (it != NULL) {
            item_bits_set(it, ITEM_STALE);
            item_bits_clear(it, ITEM_WIN_SENT);
            item_set_cas(st, it, store_next_cas(st));
        }
    } else {
        item_unlink_locked(st, hv, it, UNLINK_DELETE);
    }
    pthread_mutex_unlock(m);
    return status;
}

enum store_status store_meta_delta(struct store *st, const char *key, size_t nkey,
                                   const struct meta_delta_req *req,
                                   store_meta_fn fn, void *ctx)
{
    struct delta_op op = {
        .incr = req->incr, .delta = req->delta, .cas_in = req->cas_in, .fn = fn, .ctx = ctx,
    };
    for (unsigned round = 0; round < META_RETRY_MAX; round++) {
        enum store_status status = delta_run(st, key, nkey, &op, NULL);
        if (status != STORE_NOT_FOUND || !req->vivify || !meta_key_ok(nkey)) {
            return status;
        }
        char digits[META_DIGITS];
        size_t len = num_format_u64(req->initial, digits);
        bool raced;
        status = meta_create(st, key, nkey, digits, (uint32_t)len, req->initial, false,
                             fn, ctx, &raced);
        if (!raced) {
            return status;
        }
    }
    return STORE_NOT_STORED;
}
