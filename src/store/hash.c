/* hash.c: the key index, Segcache's shape: buckets of one cache line, seven
 * 8-byte slots each (an item's region offset under a 16-bit tag of its
 * hash) and a link to an overflow bucket when seven are not enough. Items
 * carry no chain pointer, so the index costs the item memory nothing; the
 * table lives outside -m, as memcached's does. Overflow buckets come from a
 * lazily touched pool bounded so that the process stays within 1.1 x -m +
 * 16 MiB (ovf_budget), and are kept on their chain once added; when the pool
 * is spent, a new key whose chain is full takes the slot of the chain's
 * least recently used item (evicted), or is refused with -M.
 * Bucket i is guarded by stripe (i & stripe_mask) with its overflow chain.
 * Every function but hash_init/hash_key expects the caller to hold the
 * stripe of hv. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "store/store_internal.h"
#include "base/region.h"

#define HASH_STRIPES 4096u
#define HASH_POWER_MIN 10u
#define HASH_POWER_MAX 32u
#define SLOT_OFF_MASK (((uint64_t)1 << 48) - 1)

/* One bucket (7 slots) per KiB of -m: 1/16 of -m, full at 146-byte items. */
static unsigned hash_default_power(size_t mem_limit)
{
    unsigned power = HASH_POWER_MIN;
    while (power < HASH_POWER_MAX && ((uint64_t)1 << power) < mem_limit / 1024) {
        power++;
    }
    return power;
}

/* Overflow buckets: whatever the RSS bound (1.1 x -m + 16 MiB) leaves once
 * the region, the table, the ghost and the rest of the process (HASH_RESERVE)
 * are paid for, and at least 1/64 of the table. Items of under ~60 bytes can
 * outnumber the slots that buys; then a store whose chain is full evicts
 * from that chain (hash_insert). */
#define HASH_RESERVE ((size_t)8 << 20)     /* + 1/256 of -m: the rest of the process */
#define RSS_SLACK ((size_t)16 << 20)

static size_t ovf_budget(const struct store *st, uint64_t nbuckets)
{
    size_t have = st->region_size / 10 + RSS_SLACK;
    size_t spent = (size_t)nbuckets * sizeof(struct hbucket)
                   + (size_t)(st->ghost_mask + 1) * sizeof *st->ghost
                   + HASH_RESERVE + st->region_size / 256;
    size_t floor = (size_t)(nbuckets / 64) + 1;
    size_t n = have > spent ? (have - spent) / sizeof(struct hbucket) : 0;
    return n > floor ? n : floor;
}

int hash_init(struct store *st)
{
    unsigned power = st->cfg.hash_power ? st->cfg.hash_power
                                        : hash_default_power(st->cfg.mem_limit);
    uint64_t nbuckets = (uint64_t)1 << power;
    uint64_t nstripes = nbuckets < HASH_STRIPES ? nbuckets : HASH_STRIPES;

    st->hash_power = power;
    st->bucket_mask = nbuckets - 1;
    st->stripe_mask = nstripes - 1;
    st->ovf_cap = ovf_budget(st, nbuckets);
    st->buckets = region_reserve((size_t)nbuckets * sizeof(struct hbucket));
    st->ovf = region_reserve(st->ovf_cap * sizeof(struct hbucket));
    st->stripes = aligned_alloc(alignof(struct stripe), (size_t)nstripes * sizeof(struct stripe));
    if (st->buckets == NULL || st->stripes == NULL || st->ovf == NULL) {
        errno = ENOMEM;
        return -1;
    }
    atomic_init(&st->ovf_next, 0);
    for (uint64_t i = 0; i < nstripes; i++) {
        pthread_mutex_init(&st->stripes[i].lock, NULL);
        pthread_cond_init(&st->stripes[i].idle, NULL);
        st->stripes[i].busy = false;
    }
    /* SECURITY: a random per-process secret keys the hash, so a client who
     * knows the algorithm still cannot pick keys that share one chain. */
    return region_random(st->secret, sizeof st->secret);
}

void hash_deinit(struct store *st)
{
    if (st->stripes != NULL) {
        for (uint64_t i = 0; i <= st->stripe_mask; i++) {
            pthread_mutex_destroy(&st->stripes[i].lock);
            pthread_cond_destroy(&st->stripes[i].idle);
        }
    }
    free(st->stripes);
    if (st->buckets != NULL) {
        region_release(st->buckets, (size_t)(st->bucket_mask + 1) * sizeof(struct hbucket));
    }
    if (st->ovf != NULL) {
        region_release(st->ovf, st->ovf_cap * sizeof(struct hbucket));
    }
    st->stripes = NULL;
    st->buckets = NULL;
    st->ovf = NULL;
}

uint64_t hash_key(const struct store *st, const char *key, size_t nkey)
{
    return XXH3_64bits_withSecret(key, nkey, st->secret, sizeof st->secret);
}

pthread_mutex_t *hash_lock_of(const struct store *st, uint64_t hv)
{
    return &st->stripes[hv & st->bucket_mask & st->stripe_mask].lock;
}

static struct hbucket *bucket_of(const struct store *st, uint64_t hv)
{
    return &st->buckets[hv & st->bucket_mask];
}

static struct hbucket *bucket_next(const struct store *st, const struct hbucket *b)
{
    return b->next != 0 ? &st->ovf[b->next - 1] : NULL;
}

static uint64_t slot_tag(uint64_t hv)
{
    return hv & ~SLOT_OFF_MASK;
}

static uint64_t slot_make(const struct store *st, uint64_t hv, const struct item *it)
{
    return slot_tag(hv) | (item_off(st, it) + 1);
}

static struct item *slot_item(const struct store *st, uint64_t s)
{
    return item_at_off(st, (s & SLOT_OFF_MASK) - 1);
}

static uint64_t *slot_find(const struct store *st, uint64_t hv, const char *key, size_t nkey)
{
    uint64_t tag = slot_tag(hv);
    for (struct hbucket *b = bucket_of(st, hv); b != NULL; b = bucket_next(st, b)) {
        for (unsigned i = 0; i < HASH_SLOTS; i++) {
            uint64_t s = b->slot[i];
            if (s != 0 && (s & ~SLOT_OFF_MASK) == tag) {
                const struct item *it = slot_item(st, s);
                if (item_nkey(it) == nkey && memcmp(item_ckey(it), key, nkey) == 0) {
                    return &b->slot[i];
                }
            }
        }
    }
    return NULL;
}

/* The slot holding exactly this item (by place, not by key). */
static uint64_t *slot_of_item(const struct store *st, uint64_t hv, const struct item *it)
{
    uint64_t want = slot_make(st, hv, it);
    for (struct hbucket *b = bucket_of(st, hv); b != NULL; b = bucket_next(st, b)) {
        for (unsigned i = 0; i < HASH_SLOTS; i++) {
            if (b->slot[i] == want) {
                return &b->slot[i];
            }
        }
    }
    return NULL;
}

struct item *hash_find(const struct store *st, uint64_t hv, const char *key, size_t nkey)
{
    uint64_t *s = slot_find(st, hv, key, nkey);
    return s != NULL ? slot_item(st, *s) : NULL;
}

/* Cache warming for multigets. Stage 0 fetches the bucket; stage 1, once it
 * has arrived, reads the first slot whose tag matches without the stripe
 * (a relaxed read: an outdated slot only wastes the hint, and prefetching
 * any address cannot fault) and fetches the item's first cache lines. */
void hash_prefetch(const struct store *st, uint64_t hv, int stage)
{
    struct hbucket *b = bucket_of(st, hv);
    if (stage == 0) {
        __builtin_prefetch(b);
        return;
    }
    uint64_t tag = slot_tag(hv);
    for (unsigned i = 0; i < HASH_SLOTS; i++) {
        uint64_t s = __atomic_load_n(&b->slot[i], __ATOMIC_RELAXED);
        if (s != 0 && (s & ~SLOT_OFF_MASK) == tag) {
            const char *p = (const char *)slot_item(st, s);
            __builtin_prefetch(p);
            __builtin_prefetch(p + 64);
            return;
        }
    }
}

/* Stores the slot with a relaxed atomic: hash_prefetch reads slots unlocked. */
static void slot_set(uint64_t *s, uint64_t v)
{
    __atomic_store_n(s, v, __ATOMIC_RELAXED);
}

/* The chain's item least worth keeping: not read since the evictor passed
 * before read, then the oldest access time. Reads every item of the chain:
 * only when the overflow pool is spent. */
static uint64_t *chain_victim(const struct store *st, uint64_t hv)
{
    uint64_t *best = NULL;
    uint64_t best_score = UINT64_MAX;
    for (struct hbucket *b = bucket_of(st, hv); b != NULL; b = bucket_next(st, b)) {
        for (unsigned i = 0; i < HASH_SLOTS; i++) {
            if (b->slot[i] == 0) {
                continue;
            }
            const struct item *it = slot_item(st, b->slot[i]);
            uint64_t score = ((uint64_t)((item_bits(it) & ITEM_ACCESSED) != 0) << 32)
                             | item_time(it);
            if (score < best_score) {
                best_score = score;
                best = &b->slot[i];
            }
        }
    }
    return best;
}

/* Links `it` (its key not linked yet). False only with -M when its chain is
 * full and the overflow pool spent: the caller answers out of memory. */
bool hash_insert(struct store *st, uint64_t hv, struct item *it)
{
    struct hbucket *b = bucket_of(st, hv), *last = b;
    for (; b != NULL; last = b, b = bucket_next(st, b)) {
        for (unsigned i = 0; i < HASH_SLOTS; i++) {
            if (b->slot[i] == 0) {
                slot_set(&b->slot[i], slot_make(st, hv, it));
                return true;
            }
        }
    }
    size_t idx = atomic_load_explicit(&st->ovf_next, memory_order_relaxed);
    while (idx < st->ovf_cap
           && !atomic_compare_exchange_weak_explicit(&st->ovf_next, &idx, idx + 1,
                                                     memory_order_relaxed,
                                                     memory_order_relaxed)) {
    }
    if (idx < st->ovf_cap) {
        struct hbucket *nb = &st->ovf[idx];
        slot_set(&nb->slot[0], slot_make(st, hv, it));
        last->next = idx + 1;
        return true;
    }
    if (!st->cfg.evictions) {
        return false;
    }
    uint64_t *s = chain_victim(st, hv);
    struct item *victim = slot_item(st, *s);
    /* same bucket, same stripe (held): evicted as the segment evictor would */
    seg_evict_item(st, hash_key(st, item_ckey(victim), item_nkey(victim)), victim);
    slot_set(s, slot_make(st, hv, it));
    return true;
}

void hash_remove(struct store *st, uint64_t hv, const struct item *it)
{
    uint64_t *s = slot_of_item(st, hv, it);
    if (s != NULL) {
        slot_set(s, 0);
    }
}

/* Points old's slot at `it` (same key, or old moved to `it` by compaction). */
bool hash_replace(struct store *st, uint64_t hv, const struct item *old, const struct item *it)
{
    uint64_t *s = slot_of_item(st, hv, old);
    if (s == NULL) {
        return false;
    }
    slot_set(s, slot_make(st, hv, it));
    return true;
}

/* Whether `it` is the item its key's slot points at. */
bool hash_is_linked(const struct store *st, uint64_t hv, const struct item *it)
{
    return slot_of_item(st, hv, it) != NULL;
}
