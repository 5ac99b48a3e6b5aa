/* store.h: the cache itself: items, memory classes, eviction, hash table.
 * It knows nothing of the protocol or of sockets. Callers pass keys as
 * (pointer, length) already checked by the protocol layer (1..250 bytes).
 * All functions are thread-safe; there is no global lock on get or set. */
#ifndef HC_STORE_STORE_H
#define HC_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/clock.h"

#define STORE_KEY_MAX 250
#define STORE_MAX_CLASSES 64
#define STORE_CHUNK_MAX_DEFAULT ((size_t)512 * 1024)  /* half memcached's 1 MiB page,
                                                          whatever -I */

struct store_config {
    size_t mem_limit;        /* bytes of item memory (-m) */
    size_t item_size_max;    /* -I: largest item, memcached's accounting */
    double growth_factor;    /* -f */
    size_t chunk_min;        /* -n: smallest chunk's data space */
    bool evictions;          /* false: -M, answer out-of-memory instead */
    bool use_cas;            /* false: -C, cas values are reported as 0 */
    size_t chunk_max;        /* memcached's slab_chunk_max: an item larger than
                                this (as memcached counts it) is chunked there,
                                and incr/decr/ma refuse any chunked item as not
                                a number; 0 = STORE_CHUNK_MAX_DEFAULT */
    unsigned hash_power;     /* log2 of buckets; 0 = sized from mem_limit */
    bool adaptive;           /* the daemon's setting: when pages are few (small
                                -m), give each class a first page from a small
                                reserve and widen the class ladder, so classes
                                do not trade pages; off = the plain mechanics */
};

enum store_status {
    STORE_OK = 0,            /* STORED / DELETED / TOUCHED / found */
    STORE_NOT_FOUND,
    STORE_NOT_STORED,        /* add on existing, replace/append on missing */
    STORE_EXISTS,            /* cas mismatch */
    STORE_TOO_LARGE,         /* bigger than item_size_max */
    STORE_NO_MEMORY,         /* nothing evictable (or -M) */
    STORE_NON_NUMERIC,       /* incr/decr on a value that is not a number */
};

enum store_mode {
    STORE_SET, STORE_ADD, STORE_REPLACE, STORE_APPEND, STORE_PREPEND, STORE_CAS,
    STORE_CAS_STALE,         /* ms I: as STORE_CAS, but an older cas stores the
                                value marked stale under the old item's TTL */
};

/* A read-only look at a stored item, valid only during the callback. */
struct item_view {
    const char *key;
    uint8_t nkey;
    uint32_t flags;          /* client flags */
    const char *data;        /* the value, without the trailing "\r\n" */
    uint32_t ndata;
    uint64_t cas;            /* 0 when cas is disabled */
    unsigned clsid;          /* memory class, for per-class stats (always 1) */
};

/* Called with the item locked: copy what you need, do not call the store. */
typedef void (*store_read_fn)(void *ctx, const struct item_view *view);

struct store;
struct item;                 /* opaque: an allocated, not yet linked item */

/* Start-up; returns NULL with errno set (ENOMEM) or EINVAL for bad config. */
struct store *store_create(const struct store_config *cfg);
void store_destroy(struct store **st);

/* Looks key up; on a hit calls fn once and returns STORE_OK. When touch is
 * true the item's exptime becomes new_exptime (gat/gats). Expired and flushed
 * items are misses (and are reclaimed on the spot). */
enum store_status store_get(struct store *st, const char *key, size_t nkey,
                            bool touch, rel_time_t new_exptime,
                            store_read_fn fn, void *ctx);

/* Multiget: looks up to STORE_BATCH_MAX keys, hashing each once and
 * overlapping the batch's cache misses (its buckets, then its items). For
 * each key in order fn is called once: on a hit with the item locked (copy,
 * do not call the store), on a miss with view NULL and no lock held; touch
 * as store_get. fn returns false to stop there. Returns how many keys were
 * looked up (fn's stop included). */
#define STORE_BATCH_MAX 16
struct store_key {
    const char *key;
    size_t nkey;
};
typedef bool (*store_many_fn)(void *ctx, size_t i, const struct item_view *view);
size_t store_get_many(struct store *st, const struct store_key *keys, size_t n,
                      bool touch, rel_time_t new_exptime, store_many_fn fn, void *ctx);

/* Two-phase store: allocate, let the caller fill the value, then link.
 * ndata is the value length without "\r\n". On failure *status says why
 * (STORE_TOO_LARGE or STORE_NO_MEMORY) and NULL is returned. */
struct item *store_item_alloc(struct store *st, const char *key, size_t nkey,
                              uint32_t flags, rel_time_t exptime,
                              uint32_t ndata, enum store_status *status);
char *store_item_data(struct item *it);            /* ndata writable bytes */
unsigned store_item_clsid(const struct item *it);  /* for per-class stats */
const char *store_item_key(const struct item *it, size_t *nkey);
void store_item_set_key_binary(struct item *it);   /* ms b: see meta_view */
void store_item_free(struct store *st, struct item **it); /* abandon */
/* The caller goes back to wait for the rest of *it's value (filled bytes of
 * it written so far): the item leaves its segment for a heap block, so a
 * slow client pins no segment; *it may change. Returns the value's new
 * address (the same if it stays). Link and free take it as any item. */
char *store_item_detach(struct store *st, struct item **it, size_t filled);

/* Links the filled item under mode; always consumes it (sets *it = NULL).
 * cas_in is the cas value a STORE_CAS compares with; APPEND/PREPEND compare
 * it too when it is not 0 (ms with C: STORE_EXISTS on a mismatch). On
 * STORE_OK *cas_out (if not NULL) receives the new item's cas. APPEND/PREPEND
 * answer STORE_NOT_STORED also when the joined value is too large or finds
 * no memory, as memcached does. An ADD that finds the item counts as an
 * access to it. */
enum store_status store_item_link(struct store *st, struct item **it,
                                  enum store_mode mode, uint64_t cas_in,
                                  uint64_t *cas_out);

enum store_status store_delete(struct store *st, const char *key, size_t nkey);

enum store_status store_touch(struct store *st, const char *key, size_t nkey,
                              rel_time_t exptime);

/* incr/decr: incr wraps at 2^64, decr floors at 0, as memcached. The value is
 * rewritten in place (space padded) when the new digits fit. *result gets the
 * new value on STORE_OK. An item over chunk_max (see store_config) is
 * STORE_NON_NUMERIC, whatever its bytes, as in memcached. */
enum store_status store_delta(struct store *st, const char *key, size_t nkey,
                              bool incr, uint64_t delta, uint64_t *result);

/* ---- meta commands (mg ms md ma me) ------------------------------------- */

/* A linked item as a meta command sees it, under the item's lock: item,
 * atime and the flags as they were before the command. The callback may
 * change exptime and set won (and clear bump); the store writes them back. */
struct meta_view {
    struct item_view item;
    rel_time_t exptime;       /* 0 = never; in and out */
    rel_time_t atime;         /* last access: set, or fetched (at most once a
                                 minute, as memcached moves it) */
    uint64_t number;          /* store_meta_delta: the new value */
    bool fetched;             /* read before (mg h, me fetch) */
    bool stale;               /* marked stale (md I, ms I): mg answers X */
    bool win_sent;            /* a client was sent W: the others get Z */
    bool key_binary;          /* stored by ms with a base64 key (b) */
    bool created;             /* made by this very command (N) */
    bool won;                 /* out: this client gets W (sets win_sent) */
    bool bump;                /* in/out: the command counts as a fetch */
};
typedef void (*store_meta_fn)(void *ctx, struct meta_view *view);

/* mg and me: looks key up and calls fn once under its lock (STORE_OK), or
 * not at all (STORE_NOT_FOUND). The fetch (bump: sets fetched, moves atime)
 * comes after fn, so fn sees the item as it was. vivify: a miss links an
 * empty item (flags 0, never expires, fresh cas) and calls fn with created;
 * if it cannot be allocated the answer is STORE_NOT_FOUND. */
enum store_status store_meta_get(struct store *st, const char *key, size_t nkey,
                                 bool bump, bool vivify, store_meta_fn fn, void *ctx);

/* md. has_cas: only an item whose cas is cas_in (else STORE_EXISTS). stale:
 * instead of deleting, mark it stale with a fresh cas, forget a W sent for
 * it, and set its exptime when set_exptime. */
struct meta_delete_req {
    bool has_cas, stale, set_exptime;
    uint64_t cas_in;
    rel_time_t exptime;
};
enum store_status store_meta_delete(struct store *st, const char *key, size_t nkey,
                                    const struct meta_delete_req *req);

/* ma: incr/decr as store_delta, then fn under the lock with the item (its
 * new value in view->number). cas_in (not 0): only an item with that cas,
 * else STORE_EXISTS (checked after the empty-value and chunk_max tests,
 * before the number is read: memcached's order). vivify: a miss links `initial` (flags 0,
 * never expires) and calls fn with created; STORE_NOT_FOUND then means it
 * could not be allocated. As in memcached, when the new value is wider than
 * the old one the item is replaced and fn's exptime is not written back. */
struct meta_delta_req {
    bool incr, vivify;
    uint64_t delta, cas_in, initial;
};
enum store_status store_meta_delta(struct store *st, const char *key, size_t nkey,
                                   const struct meta_delta_req *req,
                                   store_meta_fn fn, void *ctx);

/* flush_all: items stored before `when` (rel time) are invalid from `when`
 * on; when == 0 means now. */
void store_flush(struct store *st, rel_time_t when);

/* Global counters (memcached's names). */
struct store_stats {
    uint64_t curr_items, total_items, bytes;
    uint64_t evictions, reclaimed, expired_unfetched, evicted_unfetched;
    uint64_t evicted_active, slabs_moved;
    uint64_t total_malloced;          /* bytes of pages handed to classes */
    uint64_t limit_maxbytes;
    uint64_t hash_bytes; unsigned hash_power_level;
    /* added by the store: misses that found an expired / flushed item */
    uint64_t get_expired, get_flushed;
    uint64_t pending_items;           /* allocated, not yet linked or freed */
    uint64_t detached_items;          /* of those, in heap blocks (store_item_detach) */
    uint64_t detached_bytes;
};
void store_stats(struct store *st, struct store_stats *out);

struct store_class_stats {
    unsigned clsid;
    uint32_t chunk_size, chunks_per_page;
    uint64_t total_pages, total_chunks, used_chunks, free_chunks, free_chunks_end;
    uint64_t mem_requested;
    /* items */
    uint64_t number, evicted, evicted_nonzero, outofmemory, reclaimed,
             expired_unfetched, evicted_unfetched, evicted_active;
    uint32_t age, evicted_time;       /* seconds */
};
/* Number of memory classes (ids 1..n); stats for one; false if id unknown. */
unsigned store_class_count(const struct store *st);
bool store_class_stats(struct store *st, unsigned clsid, struct store_class_stats *out);

/* Cas values are 1, 2, 3, ...; exposed for "stats" consumers and tests. */
uint64_t store_cas_peek(const struct store *st);

/* Dev aid for tests: which class an item of this size would land in (0 = too large). */
unsigned store_class_for(const struct store *st, size_t nkey, size_t ndata);

#endif
