/* store.c: the store's public operations (store.h) on top of hash.c (where
 * an item is found, under which lock) and seg.c (where its bytes live).
 * Every operation on a key holds that key's stripe for its whole duration,
 * so a reader's callback sees a consistent item and no reference counts are
 * needed; memory is allocated only with no stripe held (append and incr
 * allocate, re-lock, and check the item did not change meanwhile).
 * Expired and flushed items are dropped by whichever lookup meets them
 * first, or with their whole segment by seg.c's sweep. Sizes: an item costs
 * its 14-20 byte header, key, 4 bytes of flags when not 0, and value (no
 * "\r\n", no NUL); "bytes" and "mem_requested" count exactly that. Only the
 * too-large limit uses memcached's accounting, so -I means the same thing on
 * both servers. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_internal.h"
#include "base/region.h"

#define MIB ((size_t)1 << 20)
#define ITEM_SIZE_MIN 1024      /* memcached's lower bound for -I */
#define RETRY_MAX 16            /* re-lock rounds for append and incr */

_Static_assert(sizeof(struct item) == ITEM_FIXED, "item header grew");
#define EXP_COPY_TRIES 4        /* rounds for an item given its first exptime */

/* ---- start-up ------------------------------------------------------------ */

static bool config_ok(const struct store_config *cfg)
{
    return cfg->item_size_max >= ITEM_SIZE_MIN
        && cfg->item_size_max <= ((size_t)1 << 30)
        && cfg->growth_factor > 1.0 && isfinite(cfg->growth_factor)
        && cfg->chunk_min <= ((size_t)1 << 30)
        && cfg->hash_power <= 32;
}

/* Segments of 1 MiB, or -I rounded up to MiB so the largest item fits one;
 * -m pays for whole segments, and at least two. */
static int store_geometry(struct store *st)
{
    const struct store_config *cfg = &st->cfg;
    size_t seg = (cfg->item_size_max + MIB - 1) / MIB * MIB;  /* our item <= memcached's size */
    st->seg_size = seg;
    if (cfg->mem_limit / seg < 2 || cfg->mem_limit / seg >= UINT32_MAX) {
        return -1;
    }
    st->nsegs = (uint32_t)(cfg->mem_limit / seg);
    st->region_size = (size_t)st->nsegs * seg;
    return st->region_size < ((uint64_t)1 << 47) ? 0 : -1;
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
    if (store_geometry(st) != 0) {
        goto fail;
    }
    err = ENOMEM;
    st->base = region_reserve(st->region_size);
    if (st->base == NULL || seg_init(st) != 0) {
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
    seg_deinit(st);
    region_release(st->base, st->region_size);
    pthread_mutex_destroy(&st->flush_lock);
    free(st);
    *stp = NULL;
}

/* ---- item life ----------------------------------------------------------- */

/* The next cas. The first one handed out after a pending flush_all's time
 * has passed fixes that flush's cut: every item with a smaller cas was
 * stored before it (flush_at_cas holds the cut + 1; 0 = not fixed yet). */
uint64_t store_next_cas(struct store *st)
{
    uint64_t c = atomic_fetch_add_explicit(&st->cas_last, 1, memory_order_relaxed) + 1;
    uint32_t at = atomic_load_explicit(&st->flush_at, memory_order_relaxed);
    if (at != 0 && clock_now() > at
        && atomic_load_explicit(&st->flush_at_cas, memory_order_relaxed) == 0) {
        uint64_t none = 0;
        atomic_compare_exchange_strong_explicit(&st->flush_at_cas, &none, c,
                                                memory_order_relaxed, memory_order_relaxed);
    }
    return c;
}

uint64_t store_cas_peek(const struct store *st)
{
    return atomic_load_explicit(&st->cas_last, memory_order_relaxed);
}

uint64_t cas_visible(const struct store *st, uint64_t cas)
{
    return st->cfg.use_cas ? cas : 0;
}

void item_set_cas(struct store *st, struct item *it, uint64_t cas)
{
    item_set_cas_raw(it, cas & ITEM_CAS_MASK);
    seg_note_cas(st, it, cas & ITEM_CAS_MASK);
}

void item_set_exptime(struct store *st, struct item *it, rel_time_t e)
{
    item_set_exptime_raw(it, e);
    seg_note_exptime(st, it, e);
}

/* Copies linked `it` (stripe held) into `to`, room made with an exptime
 * field, keeping everything a client sees (cas, time, bits, flags, value),
 * and links the copy in its place. */
static void item_copy_link(struct store *st, uint64_t hv, struct item *it, struct item *to)
{
    uint8_t layout = item_bits(to) & ITEM_LAYOUT_BITS;
    to->h[11] = (uint8_t)(layout | (item_bits(it) & (uint8_t)~ITEM_LAYOUT_BITS));
    item_set_cas(st, to, item_cas(it));
    item_set_time(to, item_time(it));
    memcpy(item_data(to), item_cdata(it), item_ndata(it));
    hash_replace(st, hv, it, to);
    seg_note_moved(st, it, to);
    seg_release_pending(st, to);
}

/* Gives linked `it` (stripe m of hv held) exptime e. An item stored without
 * an exptime field that needs one is copied into room that has it: the
 * mutex is let go while room is found (seg_alloc may evict, and the evictor
 * takes stripes), but the stripe stays claimed (busy): every client command
 * on it waits in stripe_lock until the copy is linked, so nothing a client
 * does can come between the command that asked for the exptime and its
 * taking effect (an incr in place, a set, another touch). Only the evictor
 * may move the item meanwhile (same cas) or drop it. Returns the key's item
 * now, exptime set, with m held; NULL when the item went meanwhile, or no
 * room could be had for the copy, in which case it is evicted: with
 * evictions on any item may go at any time (with -M every item has the
 * field, so this never happens). */
struct item *item_set_exptime_at(struct store *st, uint64_t hv, pthread_mutex_t *m,
                                 struct item *it, rel_time_t e)
{
    char key[STORE_KEY_MAX];
    size_t nkey = item_nkey(it);
    memcpy(key, item_ckey(it), nkey);
    for (unsigned round = 0; it != NULL && round < EXP_COPY_TRIES; round++) {
        if (item_exptime_fits(it, e)) {
            item_set_exptime(st, it, e);
            return it;
        }
        enum store_status why;
        uint64_t cas = item_cas(it);
        uint32_t flags = item_flags(it), ndata = item_ndata(it);
        stripe_claim_unlock(m);
        struct item *to = item_alloc_raw(st, key, nkey, flags, e, ndata, &why);
        stripe_lock_claimed(m);
        it = item_find_live(st, hv, key, nkey);
        if (it != NULL && item_cas(it) != cas) {
            it = NULL;       /* cannot happen while busy; kept as a guard */
        }
        if (to != NULL && it != NULL && item_ndata(it) == ndata && item_flags(it) == flags
                && !item_has_exp(it)) {
            item_copy_link(st, hv, it, to);
            it = to;
            to = NULL;
        }
        store_item_free(st, &to);
    }
    if (it != NULL && !item_exptime_fits(it, e)) {
        seg_evict_item(st, hv, it);
        it = NULL;
    }
    return it;
}

/* memcached's do_item_update: a read or an add that found the item moves its
 * time (the "last access" mg l and me la show) at most once a minute, so a
 * hot item's header is not written on every read. The caller holds the
 * stripe. */
void item_refresh(struct item *it, rel_time_t now)
{
    item_bits_set(it, ITEM_ACCESSED);
    if (item_time(it) + ITEM_UPDATE_INTERVAL < now) {
        item_set_time(it, now);
    }
}

/* A fetch (get, gat, touch, mg without u): memcached's do_item_bump. */
void item_fetched(struct item *it)
{
    item_bits_set(it, ITEM_FETCHED);
    item_refresh(it, clock_now());
}

/* ---- lookup and linking (caller holds the stripe of hv) ------------------ */

void item_unlink_locked(struct store *st, uint64_t hv, struct item *it, enum unlink_why why)
{
    hash_remove(st, hv, it);
    seg_note_unlinked(st, it);
    if (why == UNLINK_EXPIRED || why == UNLINK_FLUSHED) {
        seg_count_dead(st, it, why);
    }
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

/* Links the allocated `it` in place of `old` (or anew) with a fresh cas;
 * old's bytes become dead, reclaimed when its segment is compacted. False
 * (nothing done, `it` still the caller's) only for a new key with -M when
 * the index has no slot for it (hash_insert). */
bool item_link_locked(struct store *st, uint64_t hv, struct item *it, struct item *old)
{
    if ((old == NULL || !hash_replace(st, hv, old, it)) && !hash_insert(st, hv, it)) {
        return false;
    }
    item_set_cas(st, it, store_next_cas(st));
    item_set_time(it, clock_now());
    if (old != NULL) {
        seg_note_unlinked(st, old);
    }
    seg_note_linked(st, it);
    seg_release_pending(st, it);
    return true;
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

unsigned store_class_for(const struct store *st, size_t nkey, size_t ndata)
{
    return key_ok(nkey) && !too_large(st, nkey, ndata, 0) ? 1 : 0;
}

struct item *item_alloc_raw(struct store *st, const char *key, size_t nkey,
                            uint32_t flags, rel_time_t exptime, uint32_t ndata,
                            enum store_status *status)
{
    if (!key_ok(nkey) || too_large(st, nkey, ndata, flags)) {
        *status = STORE_TOO_LARGE;
        return NULL;
    }
    uint8_t layout = (uint8_t)((ndata > UINT16_MAX ? ITEM_LONG : 0)
                               | (exptime != 0 || !st->cfg.evictions ? ITEM_HAS_EXP : 0)
                               | (flags != 0 ? ITEM_HAS_FLAGS : 0));
    uint32_t total = item_hdr_len(layout) + (uint32_t)nkey + item_flags_len(flags) + ndata;
    struct item *it = seg_alloc(st, total, exptime, hash_key(st, key, nkey), status);
    if (it == NULL) {
        return NULL;
    }
    memset(it->h, 0, ITEM_FIXED);
    it->h[10] = (uint8_t)nkey;
    it->h[11] = layout;
    le_put((unsigned char *)it + ITEM_FIXED, item_ndata_len(layout), ndata);
    item_set_exptime_raw(it, exptime);
    item_set_time(it, clock_now());
    memcpy(item_key(it), key, nkey);
    if (flags != 0) {
        le_put((unsigned char *)item_key(it) + nkey, 4, flags);
    }
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
    (void)it;
    return 1;
}

const char *store_item_key(const struct item *it, size_t *nkey)
{
    *nkey = item_nkey(it);
    return item_ckey(it);
}

void store_item_set_key_binary(struct item *it)
{
    item_bits_set(it, ITEM_KEY_BINARY);
}

/* A detached item lives in a heap block, outside the region. */
static bool item_detached(const struct store *st, const struct item *it)
{
    uintptr_t p = (uintptr_t)it, b = (uintptr_t)st->base;
    return p < b || p - b >= st->region_size;
}

static void detached_release(struct store *st, struct item *blk)
{
    uint32_t total = item_total(blk);
    ctr_sub(&st->ctr.pending_bytes, total);
    ctr_sub(&st->ctr.pending, 1);
    ctr_sub(&st->ctr.detached, 1);
    ctr_sub(&st->ctr.detached_bytes, total);
    free(blk);
}

/* SECURITY: a pending item pins its segment (seg.c never recycles one), so
 * a client that half-sends a value per segment would pin them all until
 * --read-timeout. An item whose value is still arriving when its connection
 * waits for input is copied (header, key, flags, the `filled` value bytes)
 * into a heap block and its segment bytes become dead. The block stays
 * counted in pending_bytes, so seg_alloc's cap on values in flight (half of
 * -m) bounds the heap blocks take. When malloc fails the item stays where it
 * is, pending as before. Returns where the value goes now. */
char *store_item_detach(struct store *st, struct item **itp, size_t filled)
{
    struct item *it = *itp;
    if (!item_detached(st, it)) {
        uint32_t total = item_total(it);
        size_t head = (size_t)(item_cdata(it) - (const char *)it);
        struct item *blk = malloc(total);
        if (blk != NULL) {
            memcpy(blk, it, head + (filled < item_ndata(it) ? filled : item_ndata(it)));
            ctr_add(&st->ctr.detached, 1);
            ctr_add(&st->ctr.detached_bytes, total);
            seg_unpin_pending(st, it);
            *itp = it = blk;
        }
    }
    return item_data(it);
}

/* A detached item back in a segment for linking: room found as for a new
 * item (no stripe held), the value and the bits a command set (ms b) copied,
 * the block freed. NULL (block freed, *why set) when no room is found. */
static struct item *item_reattach(struct store *st, struct item *blk, enum store_status *why)
{
    uint32_t total = item_total(blk);
    ctr_sub(&st->ctr.pending_bytes, total);     /* not counted twice by the cap */
    struct item *it = item_alloc_raw(st, item_ckey(blk), item_nkey(blk), item_flags(blk),
                                     item_exptime(blk), item_ndata(blk), why);
    ctr_add(&st->ctr.pending_bytes, total);
    if (it != NULL) {
        item_bits_set(it, (uint8_t)(item_bits(blk) & (uint8_t)~ITEM_LAYOUT_BITS));
        memcpy(item_data(it), item_cdata(blk), item_ndata(blk));
    }
    detached_release(st, blk);
    return it;
}

/* Abandons an allocated item: its bytes are dead from now on. */
void store_item_free(struct store *st, struct item **it)
{
    if (it != NULL && *it != NULL) {
        if (item_detached(st, *it)) {
            detached_release(st, *it);
        } else {
            seg_release_pending(st, *it);
        }
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
    theirs = cas_visible(st, item_cas(old));
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

/* Fills `spare` with old's data and add's, in order, under old's exptime
 * (spare was made with old's flags), and links it in old's place. The
 * caller holds the stripe. */
static void concat_link(struct store *st, uint64_t hv, struct item *spare,
                        struct item *old, struct item *add, bool append)
{
    struct item *first = append ? old : add, *second = append ? add : old;
    char *d = item_data(spare);
    memcpy(d, item_data(first), item_ndata(first));
    memcpy(d + item_ndata(first), item_data(second), item_ndata(second));
    item_set_exptime(st, spare, item_exptime(old));
    item_link_locked(st, hv, spare, old);
}

/* append/prepend: a new item holding old + new data, allocated with the
 * stripe claimed but its mutex let go, and used once the lock is back if old
 * still has the size and flags it was made for (the claim keeps other
 * commands off it; only the evictor can have moved or dropped it). memcached
 * answers NOT_STORED also when the result is too large or there is no memory
 * for it. */
static enum store_status link_concat(struct store *st, struct item *add, bool append,
                                     uint64_t cas_in, uint64_t *cas_out)
{
    uint64_t hv = hash_key(st, item_key(add), item_nkey(add));
    pthread_mutex_t *m = hash_lock_of(st, hv);
    enum store_status status = STORE_NOT_STORED;
    struct item *spare = NULL;
    bool claimed = false;

    for (unsigned round = 0; round < RETRY_MAX && status == STORE_NOT_STORED; round++) {
        if (claimed) {
            stripe_lock_claimed(m);
            claimed = false;
        } else {
            stripe_lock(m);
        }
        struct item *old = item_find_live(st, hv, item_key(add), item_nkey(add));
        uint64_t need = old != NULL ? (uint64_t)item_ndata(old) + item_ndata(add) : 0;
        if (old != NULL && cas_visible(st, cas_in) != 0
                && cas_visible(st, item_cas(old)) != cas_in) {
            status = STORE_EXISTS;          /* ms with C: the item changed */
            pthread_mutex_unlock(m);
            break;
        }
        if (old == NULL || too_large(st, item_nkey(add), need, item_flags(old))) {
            pthread_mutex_unlock(m);
            break;
        }
        uint32_t flags = item_flags(old);
        rel_time_t exptime = item_exptime(old);
        if (spare != NULL && item_ndata(spare) == need && item_flags(spare) == flags
                && item_exptime_fits(spare, exptime)) {
            concat_link(st, hv, spare, old, add, append);
            if (cas_out != NULL) {
                *cas_out = cas_visible(st, item_cas(spare));
            }
            spare = NULL;
            status = STORE_OK;
            pthread_mutex_unlock(m);
            break;
        }
        enum store_status why;
        stripe_claim_unlock(m);
        claimed = true;
        store_item_free(st, &spare);
        spare = item_alloc_raw(st, item_key(add), item_nkey(add), flags, exptime,
                               (uint32_t)need, &why);
        if (spare == NULL) {
            break;
        }
    }
    if (claimed) {
        stripe_lock_claimed(m);
        pthread_mutex_unlock(m);
    }
    store_item_free(st, &spare);
    store_item_free(st, &add);
    return status;
}

/* An allocated, unlinked item again with an exptime field (e != 0): a copy
 * in new room; the old room is given up. NULL (and `it` given up) when no
 * room is found. No stripe may be held. */
static struct item *pending_with_exptime(struct store *st, struct item *it, rel_time_t e)
{
    enum store_status why;
    struct item *to = item_alloc_raw(st, item_ckey(it), item_nkey(it), item_flags(it), e,
                                     item_ndata(it), &why);
    if (to != NULL) {
        item_bits_set(to, (uint8_t)(item_bits(it) & (uint8_t)~ITEM_LAYOUT_BITS));
        memcpy(item_data(to), item_cdata(it), item_ndata(it));
    }
    store_item_free(st, &it);
    return to;
}

/* Whether a store that passed link_check is ms I's stale one: an older cas
 * than the item's (an equal one is a plain cas store, under its own TTL). */
static bool stored_stale(const struct store *st, enum store_mode mode,
                         const struct item *old, uint64_t cas_in)
{
    return mode == STORE_CAS_STALE && old != NULL
           && cas_visible(st, item_cas(old)) != cas_visible(st, cas_in);
}

/* ms I with an older cas: the value is stored, but stays stale under the old
 * item's TTL, and a W already sent for it still stands (memcached). */
static void link_stale(struct store *st, struct item *it, const struct item *old)
{
    item_set_exptime(st, it, item_exptime(old));
    item_bits_set(it, (uint8_t)(ITEM_STALE | (item_bits(old) & ITEM_WIN_SENT)));
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
        return link_concat(st, it, mode == STORE_APPEND, cas_in, cas_out);  /* reads
                                                          `it`, detached or not */
    }
    if (item_detached(st, it)) {
        enum store_status why;
        it = item_reattach(st, it, &why);
        if (it == NULL) {
            return STORE_NO_MEMORY;
        }
    }
    uint64_t hv = hash_key(st, item_key(it), item_nkey(it));
    pthread_mutex_t *m = hash_lock_of(st, hv);
    stripe_lock(m);
    struct item *old = item_find_live(st, hv, item_key(it), item_nkey(it));
    enum store_status status = link_check(st, mode, old, cas_in);
    for (unsigned round = 0; status == STORE_OK && stored_stale(st, mode, old, cas_in)
                             && round < EXP_COPY_TRIES
                             && !item_exptime_fits(it, item_exptime(old)); round++) {
        /* stored stale under old's TTL, which `it` has no field for */
        rel_time_t e = item_exptime(old);
        stripe_claim_unlock(m);
        it = pending_with_exptime(st, it, e);
        stripe_lock_claimed(m);
        if (it == NULL) {
            pthread_mutex_unlock(m);
            return STORE_NO_MEMORY;
        }
        old = item_find_live(st, hv, item_key(it), item_nkey(it));
        status = link_check(st, mode, old, cas_in);
    }
    bool stale = status == STORE_OK && stored_stale(st, mode, old, cas_in);
    if (stale && !item_exptime_fits(it, item_exptime(old))) {
        status = STORE_NO_MEMORY;
    } else if (status == STORE_OK) {
        if (stale) {
            link_stale(st, it, old);
        }
        if (item_link_locked(st, hv, it, old)) {
            if (cas_out != NULL) {
                *cas_out = cas_visible(st, item_cas(it));
            }
            it = NULL;
        } else {
            status = STORE_NO_MEMORY;
        }
    } else if (old != NULL && mode == STORE_ADD) {
        item_refresh(old, clock_now());  /* memcached bumps the existing item */
    }
    pthread_mutex_unlock(m);
    store_item_free(st, &it);
    return status;
}

/* ---- key commands --------------------------------------------------------- */

/* Locks key's stripe and returns its live item, or NULL for a miss; the
 * stripe stays locked either way (*m) until the caller unlocks it. */
struct item *find_locked(struct store *st, const char *key, size_t nkey,
                         uint64_t *hv, pthread_mutex_t **m)
{
    *hv = hash_key(st, key, nkey);
    *m = hash_lock_of(st, *hv);
    stripe_lock(*m);
    return item_find_live(st, *hv, key, nkey);
}

static void view_of(const struct store *st, const struct item *it, struct item_view *v)
{
    *v = (struct item_view){
        .key = item_ckey(it), .nkey = item_nkey(it), .flags = item_flags(it),
        .data = item_cdata(it), .ndata = item_ndata(it),
        .cas = cas_visible(st, item_cas(it)), .clsid = 1,
    };
}

/* One key, hashed already: on a hit, fn under the stripe and true. */
static bool get_hashed(struct store *st, uint64_t hv, const char *key, size_t nkey,
                       bool touch, rel_time_t new_exptime,
                       void (*fn)(void *ctx, size_t i, const struct item_view *v, bool *go),
                       void *ctx, size_t i, bool *go)
{
    pthread_mutex_t *m = hash_lock_of(st, hv);
    stripe_lock(m);
    struct item *it = item_find_live(st, hv, key, nkey);
    if (it != NULL && touch) {
        it = item_set_exptime_at(st, hv, m, it, new_exptime);
    }
    if (it != NULL) {
        struct item_view view;
        item_fetched(it);
        view_of(st, it, &view);
        fn(ctx, i, &view, go);
    }
    pthread_mutex_unlock(m);
    return it != NULL;
}

struct one_ctx {
    store_read_fn fn;
    void *ctx;
};

static void one_call(void *arg, size_t i, const struct item_view *v, bool *go)
{
    struct one_ctx *o = arg;
    (void)i;
    (void)go;
    o->fn(o->ctx, v);
}

enum store_status store_get(struct store *st, const char *key, size_t nkey,
                            bool touch, rel_time_t new_exptime,
                            store_read_fn fn, void *ctx)
{
    if (!key_ok(nkey)) {
        return STORE_NOT_FOUND;
    }
    struct one_ctx o = { fn, ctx };
    bool go = true;
    return get_hashed(st, hash_key(st, key, nkey), key, nkey, touch, new_exptime,
                      one_call, &o, 0, &go) ? STORE_OK : STORE_NOT_FOUND;
}

struct many_ctx {
    store_many_fn fn;
    void *ctx;
};

static void many_call(void *arg, size_t i, const struct item_view *v, bool *go)
{
    struct many_ctx *mc = arg;
    *go = mc->fn(mc->ctx, i, v);
}

/* The batch: every key hashed once, all buckets fetched, then all first
 * items, then the lookups, so the cache misses of the batch overlap. */
size_t store_get_many(struct store *st, const struct store_key *keys, size_t n,
                      bool touch, rel_time_t new_exptime, store_many_fn fn, void *ctx)
{
    uint64_t hv[STORE_BATCH_MAX];
    struct many_ctx mc = { fn, ctx };
    if (n > STORE_BATCH_MAX) {
        n = STORE_BATCH_MAX;
    }
    for (size_t i = 0; i < n; i++) {
        hv[i] = hash_key(st, keys[i].key, keys[i].nkey);
        hash_prefetch(st, hv[i], 0);
    }
    for (size_t i = 0; i < n; i++) {
        hash_prefetch(st, hv[i], 1);
    }
    for (size_t i = 0; i < n; i++) {
        bool go = true;
        bool hit = key_ok(keys[i].nkey)
                   && get_hashed(st, hv[i], keys[i].key, keys[i].nkey, touch, new_exptime,
                                 many_call, &mc, i, &go);
        if (!hit) {
            go = fn(ctx, i, NULL);
        }
        if (!go) {
            return i + 1;
        }
    }
    return n;
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
        it = item_set_exptime_at(st, hv, m, it, exptime);
    }
    if (it != NULL) {
        item_fetched(it);
    }
    pthread_mutex_unlock(m);
    return it != NULL ? STORE_OK : STORE_NOT_FOUND;
}

/* flush_all. Immediate (when == 0, or a time already past): every item linked
 * so far dies, by cas cut-off, and a pending delayed flush is cancelled, as
 * memcached's overwrite of oldest_live does. Delayed: items stored at or
 * before `when` die once the clock passes it (store_next_cas fixes the cut);
 * a new delayed flush replaces a pending one. An elapsed one is first folded
 * into flush_cas so that replacing it cannot revive what it killed. */
void store_flush(struct store *st, rel_time_t when)
{
    pthread_mutex_lock(&st->flush_lock);
    rel_time_t now = clock_now();
    uint32_t at = atomic_load_explicit(&st->flush_at, memory_order_relaxed);
    uint64_t cut = atomic_load_explicit(&st->flush_cas, memory_order_relaxed);
    if (at != 0 && at <= now) {
        uint64_t at_cut = atomic_load_explicit(&st->flush_at_cas, memory_order_relaxed);
        uint64_t folded = at_cut != 0 ? at_cut - 1 : store_cas_peek(st);
        if (folded > cut) {
            atomic_store_explicit(&st->flush_cas, folded, memory_order_relaxed);
        }
    }
    atomic_store_explicit(&st->flush_at_cas, 0, memory_order_relaxed);
    if (when == 0 || when <= now) {
        atomic_store_explicit(&st->flush_cas, store_cas_peek(st), memory_order_relaxed);
        atomic_store_explicit(&st->flush_at, 0, memory_order_relaxed);
    } else {
        atomic_store_explicit(&st->flush_at, when, memory_order_relaxed);
    }
    atomic_fetch_add_explicit(&st->flush_gen, 1, memory_order_relaxed);
    pthread_mutex_unlock(&st->flush_lock);
}

/* ---- statistics ----------------------------------------------------------- */

void store_stats(struct store *st, struct store_stats *out)
{
    memset(out, 0, sizeof *out);
    out->curr_items = ctr_get(&st->ctr.curr_items);
    out->total_items = ctr_get(&st->ctr.total_items);
    out->bytes = ctr_get(&st->ctr.bytes);
    out->evictions = ctr_get(&st->ctr.evictions);
    out->reclaimed = ctr_get(&st->ctr.reclaimed);
    out->expired_unfetched = ctr_get(&st->ctr.expired_unfetched);
    out->evicted_unfetched = ctr_get(&st->ctr.evicted_unfetched);
    out->evicted_active = ctr_get(&st->ctr.evicted_active);
    out->get_expired = ctr_get(&st->ctr.get_expired);
    out->get_flushed = ctr_get(&st->ctr.get_flushed);
    out->slabs_moved = ctr_get(&st->ctr.segs_compacted);
    out->pending_items = ctr_get(&st->ctr.pending);
    out->detached_items = ctr_get(&st->ctr.detached);
    out->detached_bytes = ctr_get(&st->ctr.detached_bytes);
    out->total_malloced = seg_bytes_in_use(st);
    out->limit_maxbytes = st->cfg.mem_limit;
    out->hash_power_level = st->hash_power;
    out->hash_bytes = (st->bucket_mask + 1 + atomic_load_explicit(&st->ovf_next,
                                                                  memory_order_relaxed))
                      * sizeof(struct hbucket);
}

unsigned store_class_count(const struct store *st)
{
    (void)st;
    return 1;
}

bool store_class_stats(struct store *st, unsigned clsid, struct store_class_stats *out)
{
    if (clsid != 1) {
        return false;
    }
    seg_class_stats(st, out);
    return true;
}
