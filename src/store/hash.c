/* hash.c: the key index: a fixed array of 32-bit bucket heads chained through
 * item.hash_next, and the striped locks that guard it. Memory is bounded, so
 * the item count is too: the table is sized once and never resized. Bucket i
 * is guarded by stripe (i & stripe_mask), so there are never more stripes
 * than buckets. Every function but hash_init/hash_key expects the caller to
 * hold the stripe of hv. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "store/store_internal.h"
#include "base/region.h"

#define HASH_STRIPES 4096u
#define HASH_POWER_MIN 16u
#define HASH_POWER_MAX 32u

static unsigned hash_default_power(size_t mem_limit)
{
    unsigned power = HASH_POWER_MIN;
    while (power < HASH_POWER_MAX && ((uint64_t)1 << power) < mem_limit / 64) {
        power++;
    }
    return power;
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
    /* calloc of a large array maps zero pages: buckets cost RSS when used */
    st->buckets = calloc((size_t)nbuckets, sizeof(uint32_t));
    st->stripes = aligned_alloc(alignof(struct stripe), (size_t)nstripes * sizeof(struct stripe));
    if (st->buckets == NULL || st->stripes == NULL) {
        free(st->buckets);
        free(st->stripes);
        st->buckets = NULL;
        st->stripes = NULL;
        errno = ENOMEM;
        return -1;
    }
    for (uint64_t i = 0; i < nstripes; i++) {
        pthread_mutex_init(&st->stripes[i].lock, NULL);
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
        }
    }
    free(st->stripes);
    free(st->buckets);
    st->stripes = NULL;
    st->buckets = NULL;
}

uint64_t hash_key(const struct store *st, const char *key, size_t nkey)
{
    return XXH3_64bits_withSecret(key, nkey, st->secret, sizeof st->secret);
}

pthread_mutex_t *hash_lock_of(const struct store *st, uint64_t hv)
{
    return &st->stripes[hv & st->bucket_mask & st->stripe_mask].lock;
}

static uint32_t *bucket_of(const struct store *st, uint64_t hv)
{
    return &st->buckets[hv & st->bucket_mask];
}

struct item *hash_find(const struct store *st, uint64_t hv, const char *key, size_t nkey)
{
    for (uint32_t h = *bucket_of(st, hv); h != 0;) {
        struct item *it = item_at(st, h);
        if (it->nkey == nkey && memcmp(it->key, key, nkey) == 0) {
            return it;
        }
        h = it->hash_next;
    }
    return NULL;
}

/* Cache warming for multigets. Stage 0 fetches the bucket; stage 1, issued
 * once that has arrived, reads the head without the stripe lock (a relaxed
 * atomic read: a stale or torn-free but outdated handle only wastes the
 * hint, and prefetching any address cannot fault) and fetches the item's
 * first cache lines. Nothing is dereferenced. */
void hash_prefetch(const struct store *st, uint64_t hv, int stage)
{
    uint32_t *b = bucket_of(st, hv);
    if (stage == 0) {
        __builtin_prefetch(b);
        return;
    }
    uint32_t h = __atomic_load_n(b, __ATOMIC_RELAXED);
    if (h != 0) {
        const char *p = (const char *)item_at(st, h);
        __builtin_prefetch(p);
        __builtin_prefetch(p + 64);
        __builtin_prefetch(p + 128);
    }
}

void hash_insert(struct store *st, uint64_t hv, struct item *it)
{
    uint32_t *head = bucket_of(st, hv);
    it->hash_next = *head;
    *head = item_handle(st, it);
}

/* The link that points at `it`; the item must be in this chain. */
static uint32_t *hash_link_to(struct store *st, uint64_t hv, const struct item *it)
{
    uint32_t want = item_handle(st, it);
    uint32_t *link = bucket_of(st, hv);
    while (*link != want) {
        link = &item_at(st, *link)->hash_next;
    }
    return link;
}

void hash_remove(struct store *st, uint64_t hv, struct item *it)
{
    *hash_link_to(st, hv, it) = it->hash_next;
    it->hash_next = 0;
}

void hash_replace(struct store *st, uint64_t hv, struct item *old, struct item *it)
{
    uint32_t *link = hash_link_to(st, hv, old);
    it->hash_next = old->hash_next;
    *link = item_handle(st, it);
    old->hash_next = 0;
}
