/* store.c: the store's public operations (store.h) on top of hash.c (where
 * an item is found, under which lock) and slabs.c (where its bytes live).
 * Every operation on a key holds that key's stripe for its whole duration,
 * so a reader's callback sees a consistent item and no reference counts are
 * needed; memory is allocated only with no stripe held (append and incr
 * allocate, re-lock, and check the item did not change meanwhile).
 * Expired and flushed items are dropped lazily, by whichever lookup or
 * eviction meets them first. Sizes: an item costs its 40-byte header, key and
 * value (no "\r\n", no NUL); "bytes" and "mem_requested" count exactly that.
 * Only the too-large limit uses memcached's accounting, so -I means the same
 * thing on both servers. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_internal.h"
#include "base/region.h"

#define MIB ((size_t)1 << 20)
#define ITEM_SIZE_MIN 1024      /* memcached's lower bound for -I */
#define RETRY_MAX 16            /* re-lock rounds for append and incr */

_Static_assert(sizeof(struct item) == 40, "item header grew");

/* ---- start-up ------------------------------------------------------------ */

static bool config_ok(const struct store_config *cfg)
{
    return cfg->item_size_max >= ITEM_SIZE_MIN
        && cfg->item_size_max <= ((size_t)1 << 30)
        && cfg->growth_factor > 1.0 && isfinite(cfg->growth_factor)
        && cfg->chunk_min <= ((size_t)1 << 30)
        && cfg->hash_power <= 32;
}

/* page_size: the largest item fits one page; shift: 32-bit handles cover the
 * region (8-byte chunks up to 32 GiB, coarser beyond). */
static int store_geometry(struct store *st)
{
    const struct store_config *cfg = &st->cfg;
    size_t page = (cfg->item_size_max + MIB - 1) / MIB * MIB;
    st->page_size = page;
    if (cfg->mem_limit / page < 2 || cfg->mem_limit / page >= UINT32_MAX) {
        return -1;
    }
    st->npages = (uint32_t)(cfg->mem_limit / page);
    /* A class's first page may come from a small reserve beyond -m (as
     * memcached lets every class have one page): with more size classes in
     * use than pages, classes would otherwise pass pages back and forth and
     * the cache would stay nearly empty. Bounded: 1/32 of -m + 8 MiB, which
     * with the hash table (1/16 of -m) stays within SPEC §5's allowance of
     * -m * 1.1 + 16 MiB. */
    size_t reserve = (cfg->mem_limit / 32 + 8 * MIB) / page;
    st->first_pages = !cfg->adaptive ? 0
                      : (uint32_t)(reserve < 2 ? 2 : reserve > STORE_MAX_CLASSES
                                   ? STORE_MAX_CLASSES : reserve);
    st->region_size = (size_t)(st->npages + st->first_pages) * page;
    st->shift = 3;
    while (((st->region_size - 1) >> st->shift) + 1 > UINT32_MAX) {
        st->shift++;
    }
    return st->shift <= 20 ? 0 : -1;
}

struct store *store_create(const struct store_config *cfg)
{
    size_t size = (sizeof(struct store) + 63) / 64 * 64;
    struct store *st = NULL;
    int err = EINVAL;

    if (cfg == NULL || !config_ok(cfg)) {
        goto fail;
    }
    st = aligned_alloc(64, size);
    if (st == NULL) {
        err = ENOMEM;
        goto fail;
    }
    memset(st, 0, size);
    st->cfg = *cfg;
    pthread_mutex_init(&st->flush_lock, NULL);
    pthread_mutex_init(&st->pages_lock, NULL);
    if (store_geometry(st) != 0) {
        goto fail;
    }
    err = ENOMEM;
    st->base = region_reserve(st->region_size);
    if (st->base == NULL || slabs_init(st) != 0) {
        goto fail;
    }
    if (hash_init(st) != 0) {
        err = errno;
        goto fail;
    }
    return st;
fail:
    store_destroy(&st);
    errno = err;
    return NULL;
}

void store_destroy(struct store **stp)
{
    struct store *st = stp != NULL ? *stp : NULL;
    if (st == NULL) {
        return;
    }
    hash_deinit(st);
    slabs_deinit(st);
    region_release(st->base, st->region_size);
    pthread_mutex_destroy(&st->pages_lock);
    pthread_mutex_destroy(&st->flush_lock);
    free(st);
    *stp = NULL;
}

/* ---- item life ----------------------------------------------------------- */

/* memcached's item_is_flushed plus the expiry test, flush first as memcached
 * does. The cas cut-off of an immediate flush_all is kept for good: unlike
 * memcached, a later delayed flush_all does not bring flushed items back. */
enum item_life item_life(const struct store *st, const struct item *it, rel_time_t now)
{
    uint32_t old = atomic_load_explicit(&st->flush_old, memory_order_relaxed);
    uint32_t at = atomic_load_explicit(&st->flush_at, memory_order_relaxed);
    if (it->cas <= atomic_load_explicit(&st->flush_cas, memory_order_relaxed)
        || (old != 0 && item_time(it) <= old)
        || (at != 0 && at <= now && item_time(it) <= at)) {
        return ITEM_FLUSHED;
    }
    if (it->exptime != 0 && it->exptime <= now) {
        return ITEM_EXPIRED;
    }
    return ITEM_ALIVE;
}

uint64_t store_next_cas(struct store *st)
{
    return atomic_fetch_add_explicit(&st->cas_last, 1, memory_order_relaxed) + 1;
}

uint64_t store_cas_peek(const struct store *st)
{
    return atomic_load_explicit(&st->cas_last, memory_order_relaxed);
}

uint64_t cas_visible(const struct store *st, uint64_t cas)
{
    return st->cfg.use_cas ? cas : 0;
}

/* memcached's do_item_update: a read or an add that found the item moves its
 * time (the "last access" mg l and me la show) at most once a minute, so a
 * hot item's header is not written on every read. The caller holds the
 * stripe. */
void item_refresh(struct item *it, rel_time_t now)
{
    it->bits |= ITEM_ACCESSED;
    if (item_time(it) + ITEM_UPDATE_INTERVAL < now) {
        item_set_time(it, now);
    }
}

/* A fetch (get, gat, touch, mg without u): memcached's do_item_bump. */
void item_fetched(struct item *it)
{
    it->bits |= ITEM_FETCHED;
    item_refresh(it, clock_now());
}

/* ---- lookup and linking (caller holds the stripe of hv) ------------------ */

void item_unlink_locked(struct store *st, uint64_t hv, struct item *it, enum unlink_why why)
{
    hash_remove(st, hv, it);
    slabs_unlink(st, it, why);
}

struct item *item_find_live(struct store *st, uint64_t hv, const char *key, size_t nkey)
{
    struct item *it = hash_find(st, hv, key, nkey);
    if (it != NULL) {
        enum item_life life = item_life(st, it, clock_now());
        if (life != ITEM_ALIVE) {
            item_unlink_locked(st, hv, it, life == ITEM_EXPIRED ? UNLINK_EXPIRED
                                                                 : UNLINK_FLUSHED);
            it = NULL;
        }
    }
    return it;
}

/* Links `it` in place of `old` (or anew) with a fresh cas; frees `old`. */
void item_link_locked(struct store *st, uint64_t hv, struct item *it, struct item *old)
{
    it->cas = store_next_cas(st);
    item_set_time(it, clock_now());
    if (old != NULL) {
        hash_replace(st, hv, old, it);
    } else {
        hash_insert(st, hv, it);
    }
    slabs_link(st, it, old);
}

/* ---- allocation ---------------------------------------------------------- */

static bool key_ok(size_t nkey)
{
    return nkey >= 1 && nkey <= STORE_KEY_MAX;
}

/* memcached's size: 48-byte header, 8 of cas, key + NUL, 4 for flags
 * other than 0, value + "\r\n". */
static bool too_large(const struct store *st, size_t nkey, uint64_t ndata, uint32_t flags)
{
    uint64_t mc = 48 + (st->cfg.use_cas ? 8 : 0) + (uint64_t)nkey + 1 + (flags ? 4 : 0)
                  + ndata + 2;
    return mc > st->cfg.item_size_max;
}

static unsigned class_for_item(const struct store *st, size_t nkey, size_t ndata,
                               uint32_t flags)
{
    if (!key_ok(nkey) || too_large(st, nkey, ndata, flags)) {
        return 0;
    }
    return slabs_class_for(st, (uint64_t)ITEM_HDR + nkey + ndata);
}

unsigned store_class_for(const struct store *st, size_t nkey, size_t ndata)
{
    return class_for_item(st, nkey, ndata, 0);
}

struct item *item_alloc_raw(struct store *st, const char *key, size_t nkey,
                            uint32_t flags, rel_time_t exptime, uint32_t ndata,
                            enum store_status *status)
{
    unsigned id = class_for_item(st, nkey, ndata, flags);
    if (id == 0) {
        *status = STORE_TOO_LARGE;
        return NULL;
    }
    uint32_t total = ITEM_HDR + (uint32_t)nkey + ndata;
    struct item *it = slabs_alloc(st, id, total, status);
    if (it == NULL) {
        return NULL;
    }
    it->cas = 0;
    it->hash_next = 0;
    it->exptime = exptime;
    item_set_time(it, clock_now());
    it->flags = flags;
    it->ndata = ndata;
    it->nkey = (uint8_t)nkey;
    it->bits = 0;
    memcpy(it->key, key, nkey);
    return it;
}

struct item *store_item_alloc(struct store *st, const char *key, size_t nkey,
                              uint32_t flags, rel_time_t exptime,
                              uint32_t ndata, enum store_status *status)
{
    enum store_status ignored;
    return item_alloc_raw(st, key, nkey, flags, exptime, ndata,
                          status != NULL ? status : &ignored);
}

char *store_item_data(struct item *it)
{
    return item_data(it);
}

unsigned store_item_clsid(const struct item *it)
{
    return it->clsid;
}

const char *store_item_key(const struct item *it, size_t *nkey)
{
    *nkey = it->nkey;
    return it->key;
}

void store_item_set_key_binary(struct item *it)
{
    it->bits |= ITEM_KEY_BINARY;
}

void store_item_free(struct store *st, struct item **it)
{
    if (it != NULL && *it != NULL) {
        slabs_free(st, *it);
        *it = NULL;
    }
}

/* ---- storage commands ---------------------------------------------------- */

/* memcached's do_store_item: a cas of 0 (and with -C every cas, as its items
 * then hold none) matches nothing, so an existing item answers EXISTS; ms I
 * stores an older cas than the item's as stale. */
static enum store_status cas_check(const struct store *st, enum store_mode mode,
                                   const struct item *old, uint64_t cas_in)
{
    uint64_t mine = cas_visible(st, cas_in), theirs;
    if (old == NULL) {
        return STORE_NOT_FOUND;
    }
    theirs = cas_visible(st, old->cas);
    if (mine != 0 && mine == theirs) {
        return STORE_OK;
    }
    return mode == STORE_CAS_STALE && mine != 0 && mine < theirs ? STORE_OK : STORE_EXISTS;
}

static enum store_status link_check(const struct store *st, enum store_mode mode,
                                    const struct item *old, uint64_t cas_in)
{
    switch (mode) {
    case STORE_SET:
        return STORE_OK;
    case STORE_ADD:
        return old == NULL ? STORE_OK : STORE_NOT_STORED;
    case STORE_CAS:
    case STORE_CAS_STALE:
        return cas_check(st, mode, old, cas_in);
    default:
        return old != NULL ? STORE_OK : STORE_NOT_STORED;
    }
}

/* Fills `spare` with old's data and add's, in order, under old's flags and
 * exptime, and links it in old's place. The caller holds the stripe. */
static void concat_link(struct store *st, uint64_t hv, struct item *spare,
                        struct item *old, struct item *add, bool append)
{
    struct item *first = append ? old : add, *second = append ? add : old;
    char *d = item_data(spare);
    memcpy(d, item_data(first), first->ndata);
    memcpy(d + first->ndata, item_data(second), second->ndata);
    spare->flags = old->flags;
    spare->exptime = old->exptime;
    item_link_locked(st, hv, spare, old);
}

/* append/prepend: a new item holding old + new data, allocated with no lock
 * held and used once the lock is back if old still has the size it was made
 * for. memcached answers NOT_STORED also when the result is too large or
 * there is no memory for it. */
static enum store_status link_concat(struct store *st, struct item *add, bool append,
                                     uint64_t cas_in, uint64_t *cas_out)
{
    uint64_t hv = hash_key(st, add->key, add->nkey);
    pthread_mutex_t *m = hash_lock_of(st, hv);
    enum store_status status = STORE_NOT_STORED;
    struct item *spare = NULL;

    for (unsigned round = 0; round < RETRY_MAX && status == STORE_NOT_STORED; round++) {
        pthread_mutex_lock(m);
        struct item *old = item_find_live(st, hv, add->key, add->nkey);
        uint64_t need = old != NULL ? (uint64_t)old->ndata + add->ndata : 0;
        if (old != NULL && cas_visible(st, cas_in) != 0
                && cas_visible(st, old->cas) != cas_in) {
            status = STORE_EXISTS;          /* ms with C: the item changed */
            pthread_mutex_unlock(m);
            break;
        }
        if (old == NULL || too_large(st, add->nkey, need, old->flags)) {
            pthread_mutex_unlock(m);
            break;
        }
        uint32_t flags = old->flags;
        rel_time_t exptime = old->exptime;
        if (spare != NULL && spare->ndata == need) {
            concat_link(st, hv, spare, old, add, append);
            if (cas_out != NULL) {
                *cas_out = cas_visible(st, spare->cas);
            }
            spare = NULL;
            status = STORE_OK;
        }
        pthread_mutex_unlock(m);
        if (status != STORE_OK) {
            enum store_status why;
            store_item_free(st, &spare);
            spare = item_alloc_raw(st, add->key, add->nkey, flags, exptime,
                                   (uint32_t)need, &why);
            if (spare == NULL) {
                break;
            }
        }
    }
    store_item_free(st, &spare);
    store_item_free(st, &add);
    return status;
}

/* ms I with an older cas: the value is stored, but stays stale under the old
 * item's TTL, and a W already sent for it still stands (memcached). */
static void link_stale(struct item *it, const struct item *old)
{
    it->exptime = old->exptime;
    it->bits |= ITEM_STALE | (old->bits & ITEM_WIN_SENT);
}

enum store_status store_item_link(struct store *st, struct item **itp,
                                  enum store_mode mode, uint64_t cas_in,
                                  uint64_t *cas_out)
{
    struct item *it = *itp;
    *itp = NULL;
    if (it == NULL) {
        return STORE_NOT_STORED;
    }
    if (mode == STORE_APPEND || mode == STORE_PREPEND) {
        return link_concat(st, it, mode == STORE_APPEND, cas_in, cas_out);
    }
    uint64_t hv = hash_key(st, it->key, it->nkey);
    pthread_mutex_t *m = hash_lock_of(st, hv);
    pthread_mutex_lock(m);
    struct item *old = item_find_live(st, hv, it->key, it->nkey);
    enum store_status status = link_check(st, mode, old, cas_in);
    if (status == STORE_OK) {
        if (mode == STORE_CAS_STALE && cas_visible(st, old->cas) != cas_visible(st, cas_in)) {
            link_stale(it, old);
        }
        item_link_locked(st, hv, it, old);
        if (cas_out != NULL) {
            *cas_out = cas_visible(st, it->cas);
        }
        it = NULL;
    } else if (old != NULL && mode == STORE_ADD) {
        item_refresh(old, clock_now());  /* memcached bumps the existing item */
    }
    pthread_mutex_unlock(m);
    store_item_free(st, &it);
    return status;
}

/* ---- key commands --------------------------------------------------------- */

uint64_t store_key_hash(const struct store *st, const char *key, size_t nkey)
{
    return hash_key(st, key, nkey);
}

void store_prefetch(const struct store *st, uint64_t hv, int stage)
{
    hash_prefetch(st, hv, stage);
}

/* Locks key's stripe and returns its live item, or NULL for a miss; the
 * stripe stays locked either way (*m) until the caller unlocks it. */
struct item *find_locked(struct store *st, const char *key, size_t nkey,
                         uint64_t *hv, pthread_mutex_t **m)
{
    *hv = hash_key(st, key, nkey);
    *m = hash_lock_of(st, *hv);
    pthread_mutex_lock(*m);
    return item_find_live(st, *hv, key, nkey);
}

enum store_status store_get(struct store *st, const char *key, size_t nkey,
                            bool touch, rel_time_t new_exptime,
                            store_read_fn fn, void *ctx)
{
    if (!key_ok(nkey)) {
        return STORE_NOT_FOUND;
    }
    uint64_t hv;
    pthread_mutex_t *m;
    struct item *it = find_locked(st, key, nkey, &hv, &m);
    if (it != NULL) {
        if (touch) {
            it->exptime = new_exptime;
        }
        item_fetched(it);
        struct item_view view = {
            .key = it->key, .nkey = it->nkey, .flags = it->flags,
            .data = item_data(it), .ndata = it->ndata,
            .cas = cas_visible(st, it->cas), .clsid = it->clsid,
        };
        fn(ctx, &view);
    }
    pthread_mutex_unlock(m);
    return it != NULL ? STORE_OK : STORE_NOT_FOUND;
}

enum store_status store_delete(struct store *st, const char *key, size_t nkey)
{
    if (!key_ok(nkey)) {
        return STORE_NOT_FOUND;
    }
    uint64_t hv;
    pthread_mutex_t *m;
    struct item *it = find_locked(st, key, nkey, &hv, &m);
    if (it != NULL) {
        item_unlink_locked(st, hv, it, UNLINK_DELETE);
    }
    pthread_mutex_unlock(m);
    return it != NULL ? STORE_OK : STORE_NOT_FOUND;
}

enum store_status store_touch(struct store *st, const char *key, size_t nkey,
                              rel_time_t exptime)
{
    if (!key_ok(nkey)) {
        return STORE_NOT_FOUND;
    }
    uint64_t hv;
    pthread_mutex_t *m;
    struct item *it = find_locked(st, key, nkey, &hv, &m);
    if (it != NULL) {
        it->exptime = exptime;
        item_fetched(it);
    }
    pthread_mutex_unlock(m);
    return it != NULL ? STORE_OK : STORE_NOT_FOUND;
}

/* flush_all. Immediate (when == 0, or a time already past): every item linked
 * so far dies, by cas cut-off, and a pending delayed flush is cancelled, as
 * memcached's overwrite of oldest_live does. Delayed: items stored at or
 * before `when` die once the clock reaches it; a new delayed flush replaces a
 * pending one. An elapsed one is first folded into flush_old so that
 * replacing it cannot revive what it killed. */
void store_flush(struct store *st, rel_time_t when)
{
    pthread_mutex_lock(&st->flush_lock);
    rel_time_t now = clock_now();
    uint32_t at = atomic_load_explicit(&st->flush_at, memory_order_relaxed);
    uint32_t old = atomic_load_explicit(&st->flush_old, memory_order_relaxed);
    if (at != 0 && at <= now && at > old) {
        atomic_store_explicit(&st->flush_old, at, memory_order_relaxed);
    }
    if (when == 0 || when <= now) {
        atomic_store_explicit(&st->flush_cas, store_cas_peek(st), memory_order_relaxed);
        atomic_store_explicit(&st->flush_at, 0, memory_order_relaxed);
    } else {
        atomic_store_explicit(&st->flush_at, when, memory_order_relaxed);
    }
    pthread_mutex_unlock(&st->flush_lock);
}

/* ---- statistics ----------------------------------------------------------- */

void store_stats(struct store *st, struct store_stats *out)
{
    memset(out, 0, sizeof *out);
    for (unsigned id = 1; id <= st->nclasses; id++) {
        slabs_add_stats(st, id, out);
    }
    out->slabs_moved = atomic_load_explicit(&st->slabs_moved, memory_order_relaxed);
    out->limit_maxbytes = st->cfg.mem_limit;
    out->hash_power_level = st->hash_power;
    out->hash_bytes = (st->bucket_mask + 1) * sizeof(uint32_t);
}

unsigned store_class_count(const struct store *st)
{
    return st->nclasses;
}

bool store_class_stats(struct store *st, unsigned clsid, struct store_class_stats *out)
{
    if (clsid == 0 || clsid > st->nclasses) {
        return false;
    }
    slabs_class_stats(st, clsid, out);
    return true;
}
