/* store_internal.h: what the store's own files share and nothing outside
 * src/store/ may include: the item layout inside segments, the segment and
 * hash-table records, the store object, the locking rules, and the few
 * functions that cross file lines (hash.c, seg.c, store.c, delta.c, meta.c).
 * The protocol layer sees only store.h.
 *
 * Locking, stated once:
 *  - stripe lock (hash.c, one per group of buckets): the bucket chains and,
 *    for every item linked in them, the header fields a client can change
 *    (exptime, cas, time, bits) and the data bytes. An item is moved inside
 *    its segment (compaction) only under its stripe, so a reader copying
 *    under the stripe never sees memory reused.
 *  - segment lock (seg.c, one): the free list, the FIFO of sealed segments,
 *    each TTL bucket's open segment and its write offset, eviction and the
 *    expiry sweep. Per-segment counters (live items/bytes, pending writers,
 *    latest exptime, highest cas) are relaxed atomics, changed under a
 *    stripe alone.
 *  - order: segment lock -> stripe (the evictor locks the stripe of each item
 *    it visits). Nothing takes the segment lock while holding a stripe:
 *    memory is allocated only with no stripe held.
 *  - a stripe can be claimed (busy) with its mutex let go while room is
 *    allocated for a new copy of one of its items (item_set_exptime_at,
 *    append, a wider incr): client commands lock stripes with stripe_lock,
 *    which waits for the claim to end, so the copy is made from the item as
 *    the command saw it; the evictor locks the mutex alone and never waits,
 *    so the claimant's allocation cannot deadlock against it.
 *  - key, nkey, ndata and the flags of an item never change once allocated. */
#ifndef HC_STORE_STORE_INTERNAL_H
#define HC_STORE_STORE_INTERNAL_H

#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "store/store.h"

/* The item header: 14 to 20 bytes, packed, no alignment:
 *   0  cas       48 bits (wraps after 2^48 stores: 9 years at 1M sets/s)
 *   6  time      32 bits (stored / last fetched, once a minute as memcached)
 *  10  nkey       8 bits
 *  11  bits       8 bits (ITEM_*)
 *  12  ndata     16 bits, or 32 with ITEM_LONG (value bytes, no "\r\n")
 *      exptime   32 bits, only with ITEM_HAS_EXP (else 0 = never)
 * then the key, the client flags (4 bytes, only when not 0: ITEM_HAS_FLAGS)
 * and the value. Items follow one another back to back in a segment. An
 * item that never expires carries no exptime while evictions are on (with
 * -M every item has one): when touch, gat or a meta command gives it one,
 * it is copied into room that has the field (item_set_exptime_at). The
 * layout bits (LONG, HAS_EXP, HAS_FLAGS) are fixed when the item is made. */
#define ITEM_FIXED 12u
#define ITEM_HDR_MIN 14u
#define ITEM_HDR_MAX 20u
#define ITEM_CAS_MASK (((uint64_t)1 << 48) - 1)

struct item {
    unsigned char h[ITEM_FIXED];
};

#define ITEM_ACCESSED 0x01   /* read since the evictor last passed (reinsertion) */
#define ITEM_FETCHED  0x02   /* ever read, for the *_unfetched counters */
#define ITEM_STALE    0x04   /* meta: marked stale (md I, ms I): mg shows X */
#define ITEM_WIN_SENT 0x08   /* meta: one client was sent W; the others get Z */
#define ITEM_KEY_BINARY 0x10 /* meta: stored with a base64 key (ms b) */
#define ITEM_HAS_FLAGS 0x20  /* 4 bytes of client flags follow the key */
#define ITEM_HAS_EXP  0x40   /* 4 bytes of exptime follow ndata */
#define ITEM_LONG     0x80   /* ndata takes 4 bytes (a value of 64 KiB or more) */
#define ITEM_LAYOUT_BITS (ITEM_HAS_FLAGS | ITEM_HAS_EXP | ITEM_LONG)

/* memcached's ITEM_UPDATE_INTERVAL: a read moves `time` at most this often. */
#define ITEM_UPDATE_INTERVAL 60

static inline uint64_t le_get(const unsigned char *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = n; i-- > 0;) {
        v = (v << 8) | p[i];
    }
    return v;
}

static inline void le_put(unsigned char *p, unsigned n, uint64_t v)
{
    for (unsigned i = 0; i < n; i++) {
        p[i] = (unsigned char)(v >> (8 * i));
    }
}

static inline uint8_t item_nkey(const struct item *it) { return it->h[10]; }
/* The bits byte is changed under the item's stripe, but the evictor reads
 * the layout bits in it (item_total) before it takes that stripe: relaxed
 * atomic loads and stores (plain moves), the layout bits never changing. */
static inline uint8_t item_bits(const struct item *it)
{
    return __atomic_load_n(&it->h[11], __ATOMIC_RELAXED);
}
static inline void item_bits_set(struct item *it, uint8_t b)
{
    __atomic_store_n(&it->h[11], (uint8_t)(item_bits(it) | b), __ATOMIC_RELAXED);
}
static inline void item_bits_clear(struct item *it, uint8_t b)
{
    __atomic_store_n(&it->h[11], (uint8_t)(item_bits(it) & (uint8_t)~b), __ATOMIC_RELAXED);
}
static inline bool item_has_exp(const struct item *it) { return (item_bits(it) & ITEM_HAS_EXP) != 0; }

static inline uint32_t item_ndata_len(uint8_t bits) { return (bits & ITEM_LONG) ? 4 : 2; }

/* Header bytes for an item with these layout bits. */
static inline uint32_t item_hdr_len(uint8_t bits)
{
    return ITEM_FIXED + item_ndata_len(bits) + ((bits & ITEM_HAS_EXP) ? 4 : 0);
}

static inline uint64_t item_cas(const struct item *it) { return le_get(it->h, 6); }
static inline void item_set_cas_raw(struct item *it, uint64_t c) { le_put(it->h, 6, c); }
static inline rel_time_t item_time(const struct item *it) { return (rel_time_t)le_get(it->h + 6, 4); }
static inline void item_set_time(struct item *it, rel_time_t t) { le_put(it->h + 6, 4, t); }
static inline uint32_t item_ndata(const struct item *it)
{
    return (uint32_t)le_get((const unsigned char *)it + ITEM_FIXED, item_ndata_len(item_bits(it)));
}
static inline rel_time_t item_exptime(const struct item *it)
{
    return item_has_exp(it)
           ? (rel_time_t)le_get((const unsigned char *)it + ITEM_FIXED
                                + item_ndata_len(item_bits(it)), 4)
           : 0;
}
/* Only for an item with the field (or e == 0 and none: nothing to write). */
static inline void item_set_exptime_raw(struct item *it, rel_time_t e)
{
    if (item_has_exp(it)) {
        le_put((unsigned char *)it + ITEM_FIXED + item_ndata_len(item_bits(it)), 4, e);
    }
}
static inline bool item_exptime_fits(const struct item *it, rel_time_t e)
{
    return e == 0 || item_has_exp(it);
}

static inline char *item_key(struct item *it)
{
    return (char *)it + item_hdr_len(item_bits(it));
}

static inline const char *item_ckey(const struct item *it)
{
    return (const char *)it + item_hdr_len(item_bits(it));
}

static inline uint32_t item_flags(const struct item *it)
{
    return (item_bits(it) & ITEM_HAS_FLAGS) != 0
           ? (uint32_t)le_get((const unsigned char *)item_ckey(it) + item_nkey(it), 4) : 0;
}

static inline uint32_t item_flags_len(uint32_t flags)
{
    return flags != 0 ? 4 : 0;
}

static inline char *item_data(struct item *it)
{
    return item_key(it) + item_nkey(it) + ((item_bits(it) & ITEM_HAS_FLAGS) ? 4 : 0);
}

static inline const char *item_cdata(const struct item *it)
{
    return item_ckey(it) + item_nkey(it) + ((item_bits(it) & ITEM_HAS_FLAGS) ? 4 : 0);
}

/* Bytes the item takes in its segment. */
static inline uint32_t item_total(const struct item *it)
{
    return item_hdr_len(item_bits(it)) + item_nkey(it)
           + ((item_bits(it) & ITEM_HAS_FLAGS) ? 4 : 0) + item_ndata(it);
}

enum item_life { ITEM_ALIVE, ITEM_EXPIRED, ITEM_FLUSHED };

enum unlink_why { UNLINK_DELETE, UNLINK_REPLACE, UNLINK_EXPIRED, UNLINK_FLUSHED };

/* ---- segments ----------------------------------------------------------- */

#define SEG_NONE UINT32_MAX
#define SEG_TTL_BUCKETS 128
#define EXP_NEVER UINT32_MAX     /* a segment's latest exptime when one item never expires */

enum seg_state { SEG_FREE = 0, SEG_OPEN, SEG_SEALED };
enum seg_queue { SEG_SMALL = 0, SEG_MAIN, SEG_QUEUES };

struct seg_fifo {
    uint32_t head, tail;           /* sealed segments, oldest first */
};

/* One segment's record, outside the segment's bytes (outside -m, as memcached
 * keeps its slab-class records). */
struct seg {
    uint32_t write_off;            /* bytes handed out; under the segment lock */
    uint32_t read_off, old_end;    /* recycling (read_off < old_end): the items of
                                      [read_off, old_end) are from before; the ones
                                      met are kept (moved to write_off) or evicted
                                      as room is wanted; [write_off, read_off) is free */
    uint32_t kept;                 /* bytes kept by this recycling pass */
    uint32_t prev, next;           /* FIFO of sealed segments (head = oldest) */
    rel_time_t created;            /* opened (or reopened after compaction) */
    uint8_t state;                 /* enum seg_state */
    uint8_t bucket;                /* TTL bucket */
    uint8_t queue;                 /* enum seg_queue */
    uint8_t promote;               /* recycling for SEG_SMALL: an item kept is
                                      moved to a SEG_MAIN segment, not in place */
    uint8_t from_small;            /* recycling a SEG_SMALL segment's items:
                                      the evicted ones go to the ghost */
    _Atomic uint32_t pending;      /* allocated, not yet linked or abandoned */
    _Atomic uint32_t max_exp;      /* latest exptime of any item (EXP_NEVER) */
    _Atomic uint64_t max_cas;      /* highest cas given to an item in it */
    _Atomic uint64_t live_items;
    _Atomic uint64_t live_bytes;
};

/* Counters memcached reports; relaxed atomics. */
struct store_counters {
    _Atomic uint64_t curr_items, total_items, bytes;
    _Atomic uint64_t evictions, evicted_nonzero, evicted_unfetched, evicted_active;
    _Atomic uint64_t reclaimed, expired_unfetched, outofmemory;
    _Atomic uint64_t get_expired, get_flushed, segs_compacted, segs_expired, pending;
    _Atomic uint64_t pending_bytes;  /* what pending items take (seg_alloc's cap),
                                        detached ones included */
    _Atomic uint64_t detached, detached_bytes;  /* pending items in heap blocks
                                                   (store_item_detach) */
    _Atomic uint32_t evicted_time;
};

/* ---- the hash table ----------------------------------------------------- */

/* A bucket is one cache line: seven item slots and the index (+1) of an
 * overflow bucket. A slot is the item's region offset + 1 (48 bits) under a
 * 16-bit tag from the hash, so most mismatches never touch the item. */
#define HASH_SLOTS 7
struct hbucket {
    uint64_t slot[HASH_SLOTS];
    uint64_t next;
};

/* busy: the stripe is claimed by a command that let the mutex go while it
 * finds room for a new copy of an item (an exptime field, append, a wider
 * incr, ms I's stale copy); client commands wait on idle until the claimant
 * locks again (stripe_lock); the evictor, which takes the mutex only, does
 * not wait. */
struct stripe {
    alignas(64) pthread_mutex_t lock;
    pthread_cond_t idle;
    bool busy;
};

static inline struct stripe *stripe_of(pthread_mutex_t *m)
{
    return (struct stripe *)(void *)((char *)m - offsetof(struct stripe, lock));
}

/* A client command's lock on a stripe (never the evictor's). */
static inline void stripe_lock(pthread_mutex_t *m)
{
    struct stripe *s = stripe_of(m);
    pthread_mutex_lock(m);
    while (s->busy) {
        pthread_cond_wait(&s->idle, m);
    }
}

/* Lets the mutex go but keeps the stripe claimed: no client command on it
 * runs until the claimant takes it back (stripe_lock_claimed). For room
 * allocated between two looks at an item, so the second finds it as the
 * first left it (or moved or dropped by the evictor). */
static inline void stripe_claim_unlock(pthread_mutex_t *m)
{
    stripe_of(m)->busy = true;
    pthread_mutex_unlock(m);
}

static inline void stripe_lock_claimed(pthread_mutex_t *m)
{
    struct stripe *s = stripe_of(m);
    pthread_mutex_lock(m);
    s->busy = false;
    pthread_cond_broadcast(&s->idle);
}

#define HASH_SECRET_SIZE 192

struct store {
    struct store_config cfg;

    /* the region: nsegs segments of seg_size bytes */
    char *base;
    size_t region_size, seg_size;
    uint32_t nsegs;

    /* segments (seg_lock) */
    pthread_mutex_t seg_lock;
    struct seg *segs;
    uint32_t *free_stack;
    uint32_t nfree, next_fresh;
    struct seg_fifo fifo[SEG_QUEUES];
    uint32_t open[SEG_QUEUES][SEG_TTL_BUCKETS];
    uint32_t small_segs;           /* SEG_SMALL segments, open or sealed */
    _Atomic uint32_t *ghost;       /* keys evicted from SEG_SMALL: a 16-bit hash
                                      fingerprint and a 16-bit stamp of ghost_puts
                                      per slot, written racily (a hint) */
    uint64_t ghost_mask;
    _Atomic uint64_t ghost_puts;   /* keys put in the ghost so far (segment lock) */
    uint64_t rng;                  /* xorshift state for the size tests (segment lock) */
    uint32_t segs_used;
    rel_time_t sweep_time;         /* the last sweep's second */
    uint64_t sweep_gen;            /* and the flush generation it saw */

    /* hash table */
    struct hbucket *buckets;
    uint64_t bucket_mask;
    unsigned hash_power;
    struct hbucket *ovf;            /* overflow buckets, handed out once */
    size_t ovf_cap;
    _Atomic size_t ovf_next;
    struct stripe *stripes;
    uint64_t stripe_mask;
    unsigned char secret[HASH_SECRET_SIZE];

    /* sequence and flush_all state */
    _Atomic uint64_t cas_last;
    _Atomic uint64_t flush_cas;    /* items with cas <= this are flushed */
    _Atomic uint32_t flush_at;     /* pending delayed flush: when */
    _Atomic uint64_t flush_at_cas; /* its cut, fixed by the first store after it (0: none yet) */
    pthread_mutex_t flush_lock;
    _Atomic uint64_t flush_gen;    /* bumped by every flush_all: the sweep runs again */

    struct store_counters ctr;
};

static inline struct item *item_at_off(const struct store *st, uint64_t off)
{
    return (struct item *)(st->base + off);
}

static inline uint64_t item_off(const struct store *st, const struct item *it)
{
    return (uint64_t)((const char *)it - st->base);
}

static inline struct seg *seg_of(const struct store *st, const struct item *it)
{
    return &st->segs[item_off(st, it) / st->seg_size];
}

static inline uint64_t ctr_get(_Atomic uint64_t *c)
{
    return atomic_load_explicit(c, memory_order_relaxed);
}

static inline void ctr_add(_Atomic uint64_t *c, uint64_t n)
{
    atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static inline void ctr_sub(_Atomic uint64_t *c, uint64_t n)
{
    atomic_fetch_sub_explicit(c, n, memory_order_relaxed);
}

/* memcached's size of the item (ITEM_ntotal): its 48-byte header, 8 of cas
 * (none with -C), the key and a NUL, 4 bytes of flags when not 0, the value
 * and its "\r\n". */
static inline uint64_t item_mc_total(const struct store *st, const struct item *it)
{
    return 48 + (st->cfg.use_cas ? 8 : 0) + (uint64_t)item_nkey(it) + 1
           + (item_flags(it) != 0 ? 4 : 0) + (uint64_t)item_ndata(it) + 2;
}

/* memcached's item_is_flushed plus the expiry test, flush first. The cas
 * cut-off of a flush is kept for good: unlike memcached, a later delayed
 * flush_all does not bring flushed items back. */
static inline enum item_life item_life(const struct store *st, const struct item *it,
                                       rel_time_t now)
{
    uint64_t cas = item_cas(it);
    uint32_t at = atomic_load_explicit(&st->flush_at, memory_order_relaxed);
    if (cas <= atomic_load_explicit(&st->flush_cas, memory_order_relaxed)) {
        return ITEM_FLUSHED;
    }
    if (at != 0 && at <= now) {
        uint64_t cut = atomic_load_explicit(&st->flush_at_cas, memory_order_relaxed);
        if (cut == 0 || cas < cut) {      /* cut holds the cut + 1 */
            return ITEM_FLUSHED;
        }
    }
    rel_time_t e = item_exptime(it);
    if (e != 0 && e <= now) {
        return ITEM_EXPIRED;
    }
    return ITEM_ALIVE;
}

/* store.c */
uint64_t store_next_cas(struct store *st);
void item_set_cas(struct store *st, struct item *it, uint64_t cas);
void item_set_exptime(struct store *st, struct item *it, rel_time_t e);
struct item *item_set_exptime_at(struct store *st, uint64_t hv, pthread_mutex_t *m,
                                 struct item *it, rel_time_t e);
struct item *item_alloc_raw(struct store *st, const char *key, size_t nkey,
                            uint32_t flags, rel_time_t exptime, uint32_t ndata,
                            enum store_status *status);
struct item *item_find_live(struct store *st, uint64_t hv, const char *key, size_t nkey);
bool item_link_locked(struct store *st, uint64_t hv, struct item *it, struct item *old);
void item_unlink_locked(struct store *st, uint64_t hv, struct item *it, enum unlink_why why);
void item_refresh(struct item *it, rel_time_t now);
void item_fetched(struct item *it);
struct item *find_locked(struct store *st, const char *key, size_t nkey,
                         uint64_t *hv, pthread_mutex_t **m);
uint64_t cas_visible(const struct store *st, uint64_t cas);

/* delta.c: one incr/decr; ma's extras (a cas to match, a callback on the
 * result under the lock) are optional. */
struct delta_op {
    bool incr;
    uint64_t delta;
    uint64_t cas_in;         /* 0: any cas */
    store_meta_fn fn;        /* NULL: plain incr/decr */
    void *ctx;
};
enum store_status delta_run(struct store *st, const char *key, size_t nkey,
                            const struct delta_op *op, uint64_t *result);

/* meta.c */
void meta_view_fill(const struct store *st, struct item *it, struct meta_view *v);

/* hash.c */
int hash_init(struct store *st);
void hash_deinit(struct store *st);
uint64_t hash_key(const struct store *st, const char *key, size_t nkey);
void hash_prefetch(const struct store *st, uint64_t hv, int stage);
pthread_mutex_t *hash_lock_of(const struct store *st, uint64_t hv);
struct item *hash_find(const struct store *st, uint64_t hv, const char *key, size_t nkey);
bool hash_insert(struct store *st, uint64_t hv, struct item *it);
void hash_remove(struct store *st, uint64_t hv, const struct item *it);
bool hash_replace(struct store *st, uint64_t hv, const struct item *old, const struct item *it);
bool hash_is_linked(const struct store *st, uint64_t hv, const struct item *it);

/* seg.c: segments; knows items only through the header and the hash table */
int seg_init(struct store *st);
void seg_deinit(struct store *st);
struct item *seg_alloc(struct store *st, uint32_t total, rel_time_t exptime,
                       uint64_t hv, enum store_status *status);
void seg_release_pending(struct store *st, struct item *it);   /* linked or abandoned */
void seg_unpin_pending(struct store *st, struct item *it);    /* copied out (detached) */
void seg_note_linked(struct store *st, struct item *it);
void seg_note_unlinked(struct store *st, const struct item *it);
void seg_note_moved(struct store *st, const struct item *from, const struct item *to);
void seg_evict_item(struct store *st, uint64_t hv, struct item *it);
void seg_note_exptime(struct store *st, const struct item *it, rel_time_t e);
void seg_note_cas(struct store *st, const struct item *it, uint64_t cas);
void seg_count_dead(struct store *st, const struct item *it, enum unlink_why why);
void seg_class_stats(struct store *st, struct store_class_stats *out);
uint64_t seg_bytes_in_use(struct store *st);

#endif
