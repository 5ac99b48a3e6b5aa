/* store_internal.h: what the store's own files share and nothing outside
 * src/store/ may include: the item layout, the store object, the locking
 * rules, and the few functions that cross file lines (hash.c, slabs.c,
 * region.c, store.c, delta.c). The protocol layer sees only store.h.
 *
 * Locking, stated once:
 *  - stripe lock (hash.c, one per group of buckets): the bucket chains and,
 *    for every item linked in them, the fields a client can change: exptime,
 *    cas, flags, the data bytes and `bits` (ITEM_*).
 *  - class lock (slabs.c, one per memory class): the class's LRU, free list,
 *    carving state, counters, the used count of its pages, and `state` and
 *    `lru_prev`/`lru_next` of its chunks.
 *  - `time` is a relaxed atomic: written with the stripe held (a fetch moves
 *    it at most once a minute, item_refresh), and with the class lock too
 *    when the evictor gives a second chance; the class lock alone may read
 *    it (the age of an LRU's tail).
 *  - order: stripe -> class (blocking). Holding a class lock, a stripe is only
 *    ever trylock'ed (busy: skip that item). Class locks never nest; the page
 *    pool lock is innermost; the flush lock is a leaf. Nothing allocates while
 *    holding a stripe, so eviction never waits on its own caller.
 *  - key, nkey, ndata and clsid never change while an item is linked. */
#ifndef HC_STORE_STORE_INTERNAL_H
#define HC_STORE_STORE_INTERNAL_H

#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/* The item header: 40 bytes (memcached's is 48 plus 8 of cas). Handles are
 * 32-bit chunk numbers in the region (see item_at); 0 means none. */
struct item {
    uint64_t cas;            /* also the store sequence, kept with -C */
    uint32_t lru_prev;       /* linked: newer neighbour; free: free-list prev */
    uint32_t lru_next;       /* linked: older neighbour; free: free-list next */
    uint32_t hash_next;      /* bucket chain */
    rel_time_t exptime;      /* 0 = never */
    _Atomic rel_time_t time; /* stored, last fetched (at most once a minute, as
                                memcached), or last given a second chance */
    uint32_t flags;          /* client flags */
    uint32_t ndata;          /* value bytes, no "\r\n" */
    uint8_t nkey;
    uint8_t state;           /* enum chunk_state, under the class lock */
    uint8_t bits;            /* ITEM_*, under the stripe */
    uint8_t clsid;
    char key[];              /* nkey bytes, then ndata bytes of value */
};

#define ITEM_HDR ((uint32_t)sizeof(struct item))

enum chunk_state {
    CHUNK_NONE = 0,          /* not on any list: uncarved, or being given up */
    CHUNK_FREE,              /* on its class's free list */
    CHUNK_PENDING,           /* allocated, owned by one caller, not linked */
    CHUNK_LINKED,            /* in the hash table and its class's LRU */
};

#define ITEM_ACCESSED 0x01   /* read since its last second chance (CLOCK) */
#define ITEM_FETCHED  0x02   /* ever read, for the *_unfetched counters */
#define ITEM_STALE    0x04   /* meta: marked stale (md I, ms I): mg shows X */
#define ITEM_WIN_SENT 0x08   /* meta: one client was sent W; the others get Z */
#define ITEM_KEY_BINARY 0x10 /* meta: stored with a base64 key (ms b) */

/* memcached's ITEM_UPDATE_INTERVAL: a read moves `time` at most this often. */
#define ITEM_UPDATE_INTERVAL 60

static inline rel_time_t item_time(const struct item *it)
{
    return atomic_load_explicit(&it->time, memory_order_relaxed);
}

static inline void item_set_time(struct item *it, rel_time_t t)
{
    atomic_store_explicit(&it->time, t, memory_order_relaxed);
}

enum item_life { ITEM_ALIVE, ITEM_EXPIRED, ITEM_FLUSHED };

enum unlink_why { UNLINK_DELETE, UNLINK_REPLACE, UNLINK_EXPIRED, UNLINK_FLUSHED };

struct sclass {
    alignas(64) pthread_mutex_t lock;
    uint32_t size;           /* chunk bytes */
    uint32_t perpage;
    uint32_t id;
    uint32_t lru_head, lru_tail;   /* head = newest */
    uint32_t free_head;            /* doubly linked through lru_prev/next */
    uint32_t carve_page;           /* page being cut lazily, or PAGE_NONE */
    uint32_t carve_next;           /* next uncut chunk in carve_page */
    rel_time_t evicted_time;
    uint64_t pages, used, nfree;
    uint64_t requested;            /* sum of item sizes in used chunks */
    uint64_t items, bytes, total_items;
    uint64_t evicted, evicted_nonzero, evicted_unfetched, evicted_active;
    uint64_t reclaimed, expired_unfetched, outofmemory;
    uint64_t get_expired, get_flushed;
};

struct stripe {
    alignas(64) pthread_mutex_t lock;
};

#define PAGE_NONE UINT32_MAX
#define TAIL_EMPTY UINT32_MAX
#define HASH_SECRET_SIZE 192

struct store {
    struct store_config cfg;

    /* the region: npages pages of page_size bytes, chunks 1 << shift aligned */
    char *base;
    size_t region_size, page_size;
    uint32_t npages;               /* pages -m pays for */
    uint32_t first_pages;          /* reserve for classes' first pages */
    unsigned shift;

    /* pages not owned by any class: a stack of given-up pages, then the
     * never-touched tail of the region from next_fresh on */
    pthread_mutex_t pages_lock;
    uint32_t *pool;
    uint32_t npool, next_fresh;
    _Atomic uint32_t pages_avail;  /* npool + untouched, readable unlocked */
    _Atomic uint32_t pages_out;    /* owned by classes (changed under pages_lock) */
    uint32_t *page_used;           /* used chunks per page, owner's lock */

    /* hash table */
    uint32_t *buckets;
    uint64_t bucket_mask;
    unsigned hash_power;
    struct stripe *stripes;
    uint64_t stripe_mask;
    unsigned char secret[HASH_SECRET_SIZE];

    /* sequence and flush_all state */
    _Atomic uint64_t cas_last;
    _Atomic uint64_t flush_cas;    /* items with cas <= this are flushed */
    _Atomic uint32_t flush_old;    /* items with time <= this are flushed */
    _Atomic uint32_t flush_at;     /* pending: from then, time <= it flushed */
    pthread_mutex_t flush_lock;
    _Atomic uint64_t slabs_moved;

    /* classes 1..nclasses; tail_time[] is each LRU tail's time (TAIL_EMPTY
     * when empty) and slack[] whether it has idle chunks to spare: kept apart
     * from the classes so choosing a page donor reads a few cache lines */
    unsigned nclasses;
    _Atomic uint32_t tail_time[STORE_MAX_CLASSES + 1];
    _Atomic uint8_t slack[STORE_MAX_CLASSES + 1];  /* > half a page idle */
    _Atomic uint32_t no_donor_until[STORE_MAX_CLASSES + 1]; /* just got a page, or
                                                               -M with live pages */
    _Atomic uint32_t pages_pub[STORE_MAX_CLASSES + 1];      /* pages each class owns */
    struct sclass cls[STORE_MAX_CLASSES + 1];
};

static inline struct item *item_at(const struct store *st, uint32_t h)
{
    return h ? (struct item *)(st->base + ((size_t)(h - 1) << st->shift)) : NULL;
}

static inline uint32_t item_handle(const struct store *st, const struct item *it)
{
    return (uint32_t)((size_t)((const char *)it - st->base) >> st->shift) + 1;
}

static inline uint32_t item_total(const struct item *it)
{
    return ITEM_HDR + it->nkey + it->ndata;
}

static inline char *item_data(struct item *it)
{
    return it->key + it->nkey;
}

/* memcached's size of the item (ITEM_ntotal): its 48-byte header, 8 of cas
 * (none with -C), the key and a NUL, 4 bytes of flags when not 0, the value
 * and its "\r\n". */
static inline uint64_t item_mc_total(const struct store *st, const struct item *it)
{
    return 48 + (st->cfg.use_cas ? 8 : 0) + (uint64_t)it->nkey + 1 + (it->flags != 0 ? 4 : 0)
           + (uint64_t)it->ndata + 2;
}

/* store.c */
enum item_life item_life(const struct store *st, const struct item *it, rel_time_t now);
uint64_t store_next_cas(struct store *st);
struct item *item_alloc_raw(struct store *st, const char *key, size_t nkey,
                            uint32_t flags, rel_time_t exptime, uint32_t ndata,
                            enum store_status *status);
struct item *item_find_live(struct store *st, uint64_t hv, const char *key, size_t nkey);
void item_link_locked(struct store *st, uint64_t hv, struct item *it, struct item *old);
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
void hash_insert(struct store *st, uint64_t hv, struct item *it);
void hash_remove(struct store *st, uint64_t hv, struct item *it);
void hash_replace(struct store *st, uint64_t hv, struct item *old, struct item *it);

/* slabs.c */
int slabs_init(struct store *st);
void slabs_deinit(struct store *st);
unsigned slabs_class_for(const struct store *st, uint64_t total);
struct item *slabs_alloc(struct store *st, unsigned id, uint32_t total,
                         enum store_status *status);
void slabs_free(struct store *st, struct item *it);
void slabs_link(struct store *st, struct item *it, struct item *old);
void slabs_unlink(struct store *st, struct item *it, enum unlink_why why);
void slabs_class_stats(struct store *st, unsigned id, struct store_class_stats *out);
void slabs_add_stats(struct store *st, unsigned id, struct store_stats *out);

/* region.c: the only file here that talks to the operating system */

#endif
