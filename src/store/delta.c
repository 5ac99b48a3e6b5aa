/* delta.c: incr/decr. The stored value is untrusted client bytes and is not
 * NUL-terminated, so it is read only through base/num.c's bounded parser,
 * which accepts what memcached's safe_strtoull accepts on item data. A result
 * that fits the old width is written in place, space padded (as memcached
 * does); a wider one goes into a new item, allocated with no lock held and
 * linked only if the value still needs that width once the lock is back. */
#include <string.h>

#include "base/num.h"
#include "store/store_internal.h"

#define DELTA_BUF 24            /* num_format_u64 needs 21 */
#define DELTA_RETRY_MAX 16

/* memcached runs strtoull on the data, which stops at a NUL byte; cutting the
 * span there makes num_parse_u64 (safe_strtoull's rules) see the same bytes. */
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
 * exactly that length) linked in its stead; false when neither. The caller
 * holds the stripe. */
static bool delta_store(struct store *st, uint64_t hv, struct item *it,
                        const char *digits, size_t len, struct item **spare)
{
    if (len <= it->ndata) {
        memcpy(item_data(it), digits, len);
        memset(item_data(it) + len, ' ', it->ndata - len);
        it->cas = store_next_cas(st);
        return true;
    }
    if (*spare != NULL && (*spare)->ndata == len) {
        memcpy(item_data(*spare), digits, len);
        (*spare)->flags = it->flags;
        (*spare)->exptime = it->exptime;
        item_link_locked(st, hv, *spare, it);
        *spare = NULL;
        return true;
    }
    return false;
}

enum store_status store_delta(struct store *st, const char *key, size_t nkey,
                              bool incr, uint64_t delta, uint64_t *result)
{
    if (nkey < 1 || nkey > STORE_KEY_MAX) {
        return STORE_NOT_FOUND;
    }
    uint64_t hv = hash_key(st, key, nkey);
    pthread_mutex_t *m = hash_lock_of(st, hv);
    enum store_status status = STORE_NO_MEMORY;
    struct item *spare = NULL;
    uint64_t v = 0;

    for (unsigned round = 0; round < DELTA_RETRY_MAX && status == STORE_NO_MEMORY; round++) {
        char digits[DELTA_BUF];
        pthread_mutex_lock(m);
        struct item *it = item_find_live(st, hv, key, nkey);
        if (it == NULL || !delta_parse(item_data(it), it->ndata, &v)) {
            status = it == NULL ? STORE_NOT_FOUND : STORE_NON_NUMERIC;
            pthread_mutex_unlock(m);
            break;
        }
        v = delta_apply(v, incr, delta);
        size_t len = num_format_u64(v, digits);
        uint32_t flags = it->flags;
        rel_time_t exptime = it->exptime;
        it->bits |= ITEM_ACCESSED | ITEM_FETCHED;
        if (delta_store(st, hv, it, digits, len, &spare)) {
            status = STORE_OK;
        }
        pthread_mutex_unlock(m);
        if (status == STORE_NO_MEMORY) {
            /* wider than before: get room unlocked, then look again */
            enum store_status why;
            store_item_free(st, &spare);
            spare = item_alloc_raw(st, key, nkey, flags, exptime, (uint32_t)len, &why);
            if (spare == NULL) {
                break;
            }
        }
    }
    store_item_free(st, &spare);
    if (status == STORE_OK && result != NULL) {
        *result = v;
    }
    return status;
}
