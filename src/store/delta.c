/* delta.c: incr/decr and meta's ma. The stored value is untrusted client
 * bytes and is not NUL-terminated, so it is read only through base/num.c's
 * bounded parser, which accepts what memcached's safe_strtoull accepts on
 * item data. A result that fits the old width is written in place, space
 * padded (as memcached does); a wider one goes into a new item, allocated
 * with no lock held and linked only if the value still needs that width once
 * the lock is back. Like memcached's do_item_update, a change counts as an
 * access to the item but not as a fetch. */
#include <string.h>

#include "base/num.h"
#include "store/store_internal.h"

#define DELTA_BUF 24            /* num_format_u64 needs 21 */
#define DELTA_RETRY_MAX 16

/* memcached runs strtoull on the data, which stops at a NUL byte; cutting the
 * span there makes num_parse_u64 (safe_strtoull's rules) see the same bytes.
 * Its '-' search for values of 2^63 and up is a strchr that runs past the
 * value's "\r\n" into whatever memory follows, up to a NUL (zeroes in a
 * fresh page); here it stops at the value's end. */
static bool delta_parse(const char *s, size_t n, uint64_t *out)
{
    const char *nul = memchr(s, '\0', n);
    return num_parse_u64(s, nul != NULL ? (size_t)(nul - s) : n, out);
}

static uint64_t delta_apply(uint64_t v, bool incr, uint64_t delta)
{
    if (incr) {
        return v + delta;                   /* wraps mod 2^64 */
    }
    return delta > v ? 0 : v - delta;
}

/* Writes the digits over `it` when they fit, else into *spare (when it has
 * exactly that length) linked in its stead. Returns the item now holding the
 * value, or NULL when neither. The caller holds the stripe. */
static struct item *delta_store(struct store *st, uint64_t hv, struct item *it,
                                const char *digits, size_t len, struct item **spare)
{
    if (len <= item_ndata(it)) {
        memcpy(item_data(it), digits, len);
        memset(item_data(it) + len, ' ', item_ndata(it) - len);
        item_set_cas(st, it, store_next_cas(st));
        return it;
    }
    struct item *fresh = *spare;
    if (fresh != NULL && item_ndata(fresh) == len && item_flags(fresh) == item_flags(it)
            && item_exptime_fits(fresh, item_exptime(it))) {
        memcpy(item_data(fresh), digits, len);
        item_set_exptime(st, fresh, item_exptime(it));
        item_link_locked(st, hv, fresh, it);
        *spare = NULL;
        return fresh;
    }
    return NULL;
}

/* memcached keeps an item larger than its slab_chunk_max in chunks, and its
 * do_add_delta refuses a chunked item ("too large to be a number") whatever
 * its bytes. Measured on 1.6.18: with key "k" and flags 0 a value of
 * 524,228 bytes can be incremented, 524,229 cannot (524,236 with -C). */
static bool delta_chunked(const struct store *st, const struct item *it)
{
    size_t max = st->cfg.chunk_max != 0 ? st->cfg.chunk_max : STORE_CHUNK_MAX_DEFAULT;
    return item_mc_total(st, it) > max;
}

/* The checks memcached's do_add_delta makes, in its order: an empty or
 * chunked value is not a number, then the cas, then the number itself. */
static enum store_status delta_check(const struct store *st, const struct item *it,
                                     const struct delta_op *op, uint64_t *v)
{
    if (item_ndata(it) == 0 || delta_chunked(st, it)) {
        return STORE_NON_NUMERIC;
    }
    if (op->cas_in != 0 && cas_visible(st, item_cas(it)) != op->cas_in) {
        return STORE_EXISTS;
    }
    return delta_parse(item_cdata(it), item_ndata(it), v) ? STORE_OK : STORE_NON_NUMERIC;
}

/* ma's callback on the item holding the result. When it replaced the old
 * one, memcached's ma goes on changing the old (unlinked) item, so a new
 * exptime is lost: kept as measured on 1.6.18. */
static void delta_report(struct store *st, uint64_t hv, pthread_mutex_t *m,
                         const struct delta_op *op, struct item *old, struct item *now,
                         uint64_t v)
{
    struct meta_view view;
    meta_view_fill(st, now, &view);
    view.number = v;
    op->fn(op->ctx, &view);
    if (now == old && view.exptime != item_exptime(now)) {
        item_set_exptime_at(st, hv, m, now, view.exptime);
    }
}

enum store_status delta_run(struct store *st, const char *key, size_t nkey,
                            const struct delta_op *op, uint64_t *result)
{
    if (nkey < 1 || nkey > STORE_KEY_MAX) {
        return STORE_NOT_FOUND;
    }
    uint64_t hv = hash_key(st, key, nkey);
    pthread_mutex_t *m = hash_lock_of(st, hv);
    enum store_status status = STORE_NO_MEMORY;
    struct item *spare = NULL;
    uint64_t v = 0;
    bool claimed = false;

    for (unsigned round = 0; round < DELTA_RETRY_MAX && status == STORE_NO_MEMORY; round++) {
        char digits[DELTA_BUF];
        if (claimed) {
            stripe_lock_claimed(m);
            claimed = false;
        } else {
            stripe_lock(m);
        }
        struct item *it = item_find_live(st, hv, key, nkey);
        status = it == NULL ? STORE_NOT_FOUND : delta_check(st, it, op, &v);
        if (status != STORE_OK) {
            pthread_mutex_unlock(m);
            break;
        }
        v = delta_apply(v, op->incr, op->delta);
        size_t len = num_format_u64(v, digits);
        uint32_t flags = item_flags(it);
        rel_time_t exptime = item_exptime(it);
        item_refresh(it, clock_now());
        struct item *now = delta_store(st, hv, it, digits, len, &spare);
        if (now == NULL) {
            status = STORE_NO_MEMORY;
        } else if (op->fn != NULL) {
            delta_report(st, hv, m, op, it, now, v);
        }
        if (status != STORE_NO_MEMORY) {
            pthread_mutex_unlock(m);
            break;
        }
        /* wider than before: room with the mutex let go but the stripe
         * claimed, then look again (only the evictor can have been there) */
        enum store_status why;
        stripe_claim_unlock(m);
        claimed = true;
        store_item_free(st, &spare);
        spare = item_alloc_raw(st, key, nkey, flags, exptime, (uint32_t)len, &why);
        if (spare == NULL) {
            break;
        }
    }
    if (claimed) {
        stripe_lock_claimed(m);
        pthread_mutex_unlock(m);
    }
    store_item_free(st, &spare);
    if (status == STORE_OK && result != NULL) {
        *result = v;
    }
    return status;
}

enum store_status store_delta(struct store *st, const char *key, size_t nkey,
                              bool incr, uint64_t delta, uint64_t *result)
{
    struct delta_op op = { .incr = incr, .delta = delta };
    return delta_run(st, key, nkey, &op, result);
}
