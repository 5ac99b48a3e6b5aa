/* slabs.c: memory classes over the one reserved region: pages, chunks, free
 * lists, each class's LRU, eviction, and moving pages between classes.
 *
 * Pages are cut into one class's chunks lazily (a page is touched only as its
 * chunks are first used) and go back to a shared pool as soon as their last
 * chunk is freed, so memory drains to whichever class needs it. When the pool
 * is empty a class takes a page from another class (memcached's slab
 * rebalancing, done inline) if that class has idle freed chunks or an LRU
 * tail clearly older than its own: it empties the page, of the few holding
 * that class's oldest items and its half-cut page, with the fewest items in
 * use. Otherwise it evicts from its own tail. Reads never take a class lock:
 * a hit only sets ITEM_ACCESSED, and the evictor gives such items a second
 * chance (CLOCK), so the LRU is only reordered on the allocation path.
 * The locking rules are in store_internal.h. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_internal.h"

#define EVICT_SCAN 8        /* tail items looked at (not counting bumps) */
#define EVICT_BUMPS 32      /* second chances given per allocation */
#define MOVE_CANDIDATES 4   /* tail items whose page may be given up */
#define ALLOC_ROUNDS 4
#define PAGE_KEEP_SECS 2    /* a class that just got a page gives none away */

static void lock(pthread_mutex_t *m)
{
    pthread_mutex_lock(m);
}

static void unlock(pthread_mutex_t *m)
{
    pthread_mutex_unlock(m);
}

static uint32_t page_of(const struct store *st, const struct item *it)
{
    return (uint32_t)((size_t)((const char *)it - st->base) / st->page_size);
}

static struct item *chunk_at(const struct store *st, uint32_t page, const struct sclass *sc,
                             uint32_t i)
{
    return (struct item *)(st->base + (size_t)page * st->page_size + (size_t)i * sc->size);
}

/* Chunks of `page` that have been cut: all of them unless it is being carved. */
static uint32_t page_carved(const struct sclass *sc, uint32_t page)
{
    return sc->carve_page == page ? sc->carve_next : sc->perpage;
}

/* ---- the size ladder ---------------------------------------------------- */

static uint64_t round_up(double want, size_t align)
{
    uint64_t n = (uint64_t)want;
    if ((double)n < want) {
        n++;
    }
    return (n + align - 1) / align * align;
}

static void class_setup(struct store *st, unsigned id, uint32_t size)
{
    struct sclass *sc = &st->cls[id];
    pthread_mutex_init(&sc->lock, NULL);
    sc->id = id;
    sc->size = size;
    sc->perpage = (uint32_t)(st->page_size / size);
    sc->carve_page = PAGE_NONE;
    atomic_init(&st->tail_time[id], TAIL_EMPTY);
    atomic_init(&st->slack[id], 0);
    atomic_init(&st->no_donor_until[id], 0);
    atomic_init(&st->pages_pub[id], 0);
}

/* Chunk sizes are round_up(smallest * factor^i) rather than memcached's
 * repeated multiply-then-round, so rounding does not compound: with our
 * 40-byte header, -n 48 and -f 1.25 the ladder is 88, 112, 144, 176, 216, ...
 * and a 10-byte key with a 100-byte value (150 bytes) takes a 176-byte chunk
 * where memcached needs 192. The last class is a whole page.
 * With few pages (small -m, large -I) the factor is widened so there are
 * no more classes than 3/4 of the pages: every class in use can then own a
 * page, instead of classes taking pages from each other and evicting what
 * they just stored (chunks waste a little more space instead). */
static double ladder_factor(const struct store *st)
{
    double smallest = (double)ITEM_HDR + (double)st->cfg.chunk_min;
    double span = (double)(st->page_size / 2) / smallest;
    unsigned max_classes = (st->npages + st->first_pages) * 3 / 4;
    double factor = st->cfg.growth_factor;
    if (!st->cfg.adaptive) {
        return factor;
    }
    if (max_classes < 8) {
        max_classes = 8;
    }
    /* classes below the whole-page one: log(span)/log(factor) + 1 */
    if (max_classes < STORE_MAX_CLASSES && log(span) / log(factor) + 2 > max_classes) {
        factor = exp(log(span) / (double)(max_classes - 2));
    }
    return factor;
}

static void slabs_ladder(struct store *st)
{
    size_t align = (size_t)1 << st->shift;
    double half = (double)(st->page_size / 2);
    double want = (double)ITEM_HDR + (double)st->cfg.chunk_min;
    double factor = ladder_factor(st);
    unsigned n = 0;

    while (n + 1 < STORE_MAX_CLASSES && want <= half) {
        uint64_t size = round_up(want, align);
        if (n > 0 && size <= st->cls[n].size) {
            size = st->cls[n].size + align;
        }
        if (size > st->page_size / 2) {
            break;
        }
        class_setup(st, ++n, (uint32_t)size);
        want *= factor;
    }
    class_setup(st, ++n, (uint32_t)st->page_size);
    st->nclasses = n;
}

int slabs_init(struct store *st)
{
    st->pool = calloc(st->npages + st->first_pages, sizeof(uint32_t));
    st->page_used = calloc(st->npages + st->first_pages, sizeof(uint32_t));
    if (st->pool == NULL || st->page_used == NULL) {
        errno = ENOMEM;
        return -1;
    }
    atomic_init(&st->pages_avail, st->npages + st->first_pages);
    atomic_init(&st->pages_out, 0);
    slabs_ladder(st);
    return 0;
}

void slabs_deinit(struct store *st)
{
    for (unsigned id = 1; id <= st->nclasses; id++) {
        pthread_mutex_destroy(&st->cls[id].lock);
    }
    st->nclasses = 0;
    free(st->pool);
    free(st->page_used);
    st->pool = NULL;
    st->page_used = NULL;
}

unsigned slabs_class_for(const struct store *st, uint64_t total)
{
    unsigned lo = 1, hi = st->nclasses;
    if (total > st->cls[hi].size) {
        return 0;
    }
    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;
        if (st->cls[mid].size >= total) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    return lo;
}

/* ---- the page pool (pages_lock) ----------------------------------------- */

/* A page for a class; `first`: the class owns none, so the first-page
 * reserve beyond -m may be used. */
static uint32_t page_get(struct store *st, bool first)
{
    uint32_t page = PAGE_NONE;
    uint32_t limit = st->npages + (first ? st->first_pages : 0);
    if (atomic_load_explicit(&st->pages_avail, memory_order_relaxed) == 0
        || atomic_load_explicit(&st->pages_out, memory_order_relaxed) >= limit) {
        return PAGE_NONE;       /* the common case once memory is full */
    }
    lock(&st->pages_lock);
    if (atomic_load_explicit(&st->pages_out, memory_order_relaxed) < limit) {
        if (st->npool > 0) {
            page = st->pool[--st->npool];
        } else if (st->next_fresh < st->npages + st->first_pages) {
            page = st->next_fresh++;
        }
    }
    if (page != PAGE_NONE) {
        atomic_fetch_sub_explicit(&st->pages_avail, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&st->pages_out, 1, memory_order_relaxed);
    }
    unlock(&st->pages_lock);
    return page;
}

static void page_put(struct store *st, uint32_t page)
{
    lock(&st->pages_lock);
    st->pool[st->npool++] = page;
    atomic_fetch_add_explicit(&st->pages_avail, 1, memory_order_relaxed);
    atomic_fetch_sub_explicit(&st->pages_out, 1, memory_order_relaxed);
    unlock(&st->pages_lock);
}

/* ---- free list and LRU (class lock) ------------------------------------- */

static void freelist_push(struct store *st, struct sclass *sc, struct item *it)
{
    uint32_t h = item_handle(st, it);
    it->state = CHUNK_FREE;
    it->lru_prev = 0;
    it->lru_next = sc->free_head;
    if (sc->free_head != 0) {
        item_at(st, sc->free_head)->lru_prev = h;
    }
    sc->free_head = h;
    sc->nfree++;
}

static void freelist_remove(struct store *st, struct sclass *sc, struct item *it)
{
    if (it->lru_prev != 0) {
        item_at(st, it->lru_prev)->lru_next = it->lru_next;
    } else {
        sc->free_head = it->lru_next;
    }
    if (it->lru_next != 0) {
        item_at(st, it->lru_next)->lru_prev = it->lru_prev;
    }
    it->state = CHUNK_NONE;
    sc->nfree--;
}

static void lru_push_head(struct store *st, struct sclass *sc, struct item *it)
{
    uint32_t h = item_handle(st, it);
    it->lru_prev = 0;
    it->lru_next = sc->lru_head;
    if (sc->lru_head != 0) {
        item_at(st, sc->lru_head)->lru_prev = h;
    } else {
        sc->lru_tail = h;
    }
    sc->lru_head = h;
}

static void lru_remove(struct store *st, struct sclass *sc, struct item *it)
{
    if (it->lru_prev != 0) {
        item_at(st, it->lru_prev)->lru_next = it->lru_next;
    } else {
        sc->lru_head = it->lru_next;
    }
    if (it->lru_next != 0) {
        item_at(st, it->lru_next)->lru_prev = it->lru_prev;
    } else {
        sc->lru_tail = it->lru_prev;
    }
    it->lru_prev = it->lru_next = 0;
}

static uint64_t class_uncut(const struct sclass *sc)
{
    return sc->carve_page != PAGE_NONE ? sc->perpage - sc->carve_next : 0;
}

/* Publishes what other classes choosing a page donor look at: the tail's
 * time, and whether more than half a page of freed chunks sits idle (chunks
 * not yet cut from a new page do not count: that page was just taken for
 * use, and counting it would let two classes pass one page back and forth).
 * Stores only on change, so the shared lines are rarely written. */
static void class_publish(struct store *st, struct sclass *sc)
{
    uint32_t t = sc->lru_tail != 0 ? item_time(item_at(st, sc->lru_tail)) : TAIL_EMPTY;
    uint8_t slack = sc->nfree * 2 > sc->perpage;
    if (atomic_load_explicit(&st->pages_pub[sc->id], memory_order_relaxed) != sc->pages) {
        atomic_store_explicit(&st->pages_pub[sc->id], (uint32_t)sc->pages, memory_order_relaxed);
    }
    if (atomic_load_explicit(&st->tail_time[sc->id], memory_order_relaxed) != t) {
        atomic_store_explicit(&st->tail_time[sc->id], t, memory_order_relaxed);
    }
    if (atomic_load_explicit(&st->slack[sc->id], memory_order_relaxed) != slack) {
        atomic_store_explicit(&st->slack[sc->id], slack, memory_order_relaxed);
    }
}

/* ---- chunks (class lock) ------------------------------------------------ */

/* A free or never-used chunk of this class, or NULL when the class has none
 * and the pool is empty. */
static struct item *chunk_take(struct store *st, struct sclass *sc)
{
    struct item *it;
    if (sc->free_head != 0) {
        it = item_at(st, sc->free_head);
        freelist_remove(st, sc, it);
    } else {
        if (sc->carve_page == PAGE_NONE) {
            uint32_t page = page_get(st, sc->pages == 0);
            if (page == PAGE_NONE) {
                return NULL;
            }
            /* a page just taken is not given away again before it fills:
             * without this, classes pass pages back and forth and evict
             * what they just stored */
            atomic_store_explicit(&st->no_donor_until[sc->id], clock_now() + PAGE_KEEP_SECS,
                                  memory_order_relaxed);
            sc->pages++;
            sc->carve_page = page;
            sc->carve_next = 0;
        }
        it = chunk_at(st, sc->carve_page, sc, sc->carve_next);
        if (++sc->carve_next == sc->perpage) {
            sc->carve_page = PAGE_NONE;
        }
    }
    st->page_used[page_of(st, it)]++;
    sc->used++;
    it->clsid = (uint8_t)sc->id;
    return it;
}

/* The page's last chunk was freed: take its free chunks off the list and
 * give the page to the pool. Cost is bounded by the chunks cut since the page
 * was taken, so it is amortised O(1) per allocation. */
static void page_release(struct store *st, struct sclass *sc, uint32_t page)
{
    uint32_t n = page_carved(sc, page);
    for (uint32_t i = 0; i < n; i++) {
        struct item *c = chunk_at(st, page, sc, i);
        if (c->state == CHUNK_FREE) {
            freelist_remove(st, sc, c);
        }
    }
    if (sc->carve_page == page) {
        sc->carve_page = PAGE_NONE;
    }
    sc->pages--;
    page_put(st, page);
    class_publish(st, sc);
}

static void chunk_put(struct store *st, struct sclass *sc, struct item *it)
{
    uint32_t page = page_of(st, it);
    sc->used--;
    sc->requested -= item_total(it);
    if (--st->page_used[page] == 0) {
        it->state = CHUNK_NONE;
        page_release(st, sc, page);
    } else {
        freelist_push(st, sc, it);
    }
}

/* Bookkeeping for an item leaving the hash table and LRU. */
static void account_unlinked(struct sclass *sc, const struct item *it)
{
    sc->items--;
    sc->bytes -= item_total(it);
}

static void count_dead(struct sclass *sc, const struct item *it)
{
    sc->reclaimed++;
    if ((it->bits & ITEM_FETCHED) == 0) {
        sc->expired_unfetched++;
    }
}

static void count_evicted(struct sclass *sc, const struct item *it, rel_time_t now)
{
    sc->evicted++;
    sc->evicted_time = now > item_time(it) ? now - item_time(it) : 0;
    if (it->exptime != 0) {
        sc->evicted_nonzero++;
    }
    if ((it->bits & ITEM_FETCHED) == 0) {
        sc->evicted_unfetched++;
    }
    if ((it->bits & ITEM_ACCESSED) != 0) {
        sc->evicted_active++;
    }
}

/* Takes a linked item out of the table and the LRU from under the class lock;
 * the caller holds its stripe (trylock'ed). */
static void evict_one(struct store *st, struct sclass *sc, uint64_t hv, struct item *it)
{
    hash_remove(st, hv, it);
    lru_remove(st, sc, it);
    account_unlinked(sc, it);
    it->state = CHUNK_NONE;
}

/* ---- eviction (class lock) ---------------------------------------------- */

/* Walks up from the tail: dead items are reclaimed first, ACCESSED ones get a
 * second chance at the head, otherwise the first lockable item is evicted
 * (never with -M). Bounded: at most EVICT_SCAN looks and EVICT_BUMPS second
 * chances. Returns the freed chunk, still counted as used. */
static struct item *lru_evict(struct store *st, struct sclass *sc)
{
    rel_time_t now = clock_now();
    unsigned looked = 0, bumps = 0;
    struct item *got = NULL;

    for (uint32_t h = sc->lru_tail; h != 0 && got == NULL && looked < EVICT_SCAN;) {
        struct item *it = item_at(st, h);
        uint64_t hv = hash_key(st, it->key, it->nkey);
        pthread_mutex_t *m = hash_lock_of(st, hv);
        h = it->lru_prev;
        if (pthread_mutex_trylock(m) != 0) {
            looked++;
            continue;
        }
        if (item_life(st, it, now) != ITEM_ALIVE) {
            count_dead(sc, it);
            got = it;
        } else if ((it->bits & ITEM_ACCESSED) != 0 && bumps < EVICT_BUMPS) {
            it->bits &= (uint8_t)~ITEM_ACCESSED;
            item_set_time(it, now);
            lru_remove(st, sc, it);
            lru_push_head(st, sc, it);
            bumps++;
        } else if (st->cfg.evictions) {
            count_evicted(sc, it, now);
            got = it;
        } else {
            looked++;
        }
        if (got != NULL) {
            evict_one(st, sc, hv, got);
            sc->requested -= item_total(got);
        }
        unlock(m);
        if (h == 0) {
            h = sc->lru_tail;   /* wrap: what we bumped is now fair game */
        }
    }
    class_publish(st, sc);
    return got;
}

/* ---- page moves --------------------------------------------------------- */

/* How willing class k is to give a page: 0 gladly (two or more pages, none
 * taken in the last PAGE_KEEP_SECS), then 1-3 only in despair: 1 a recent
 * page among several, 2 its only page, 3 its only and recent page; 4 never
 * (itself, or no page). */
static unsigned donor_tier(const struct store *st, unsigned k, rel_time_t now)
{
    uint32_t pages = atomic_load_explicit(&st->pages_pub[k], memory_order_relaxed);
    bool fresh = atomic_load_explicit(&st->no_donor_until[k], memory_order_relaxed) > now;
    if (pages == 0) {
        return 4;
    }
    if (pages >= 2) {
        return fresh ? 1 : 0;
    }
    return fresh ? 3 : 2;
}

/* The class to take a page from, or 0 to evict our own tail instead: first
 * a class with idle chunks to spare (memory nobody uses beats memory someone
 * does), else the class with the oldest tail if it is clearly older than
 * ours, or if we have nothing to evict. "Clearly": donor age > 1.25 * our
 * age + 1 s, which keeps two busy classes from trading pages back and forth.
 * Normally only tier-0 donors qualify; `desperate` (nothing of our own to
 * evict) takes the lowest tier that has a candidate, so a store never fails
 * for want of a page while pages are not handed round needlessly. */
static unsigned pick_donor(struct store *st, const struct sclass *sc, bool desperate)
{
    rel_time_t now = clock_now();
    unsigned best[4] = { 0, 0, 0, 0 };
    uint32_t oldest[4] = { TAIL_EMPTY, TAIL_EMPTY, TAIL_EMPTY, TAIL_EMPTY };
    for (unsigned k = 1; k <= st->nclasses; k++) {
        unsigned tier = k == sc->id ? 4 : donor_tier(st, k, now);
        if (tier >= 4) {
            continue;
        }
        /* more than half a page of freed chunks nobody uses: memory nobody
         * uses beats memory someone does, even an only or a recent page
         * (chunks not cut yet do not count as freed) */
        if (atomic_load_explicit(&st->slack[k], memory_order_relaxed)) {
            return k;
        }
        if (tier > 0 && !desperate) {
            continue;
        }
        uint32_t t = atomic_load_explicit(&st->tail_time[k], memory_order_relaxed);
        if (best[tier] == 0 || t < oldest[tier]) {
            oldest[tier] = t;
            best[tier] = k;
        }
    }
    unsigned tier = 0;
    while (tier < 3 && best[tier] == 0) {
        tier++;
    }
    if (best[tier] == 0 || sc->lru_tail == 0 || desperate) {
        return best[tier];
    }
    uint32_t own = item_time(item_at(st, sc->lru_tail));
    uint64_t own_age = now > own ? now - own : 0;
    uint64_t donor_age = now > oldest[0] ? now - oldest[0] : 0;
    return donor_age * 4 > own_age * 5 + 4 ? best[0] : 0;
}

static bool page_has_pending(const struct store *st, const struct sclass *sc, uint32_t page)
{
    uint32_t n = page_carved(sc, page);
    for (uint32_t i = 0; i < n; i++) {
        if (chunk_at(st, page, sc, i)->state == CHUNK_PENDING) {
            return true;
        }
    }
    return false;
}

static void move_consider(const struct store *st, const struct sclass *sc, uint32_t page,
                          uint32_t *best)
{
    if (page != PAGE_NONE && (*best == PAGE_NONE || st->page_used[page] < st->page_used[*best])
        && !page_has_pending(st, sc, page)) {
        *best = page;
    }
}

/* The page to give up: of the pages holding the few oldest items, the one
 * with the fewest items in use (ties: the oldest), so a move evicts as little
 * as it can; never one with a half-built item, and the page still being cut
 * only when nothing else qualifies (it was taken for new items just now). */
static uint32_t move_pick_page(const struct store *st, const struct sclass *sc)
{
    uint32_t best = PAGE_NONE;
    uint32_t h = sc->lru_tail;
    for (unsigned i = 0; h != 0 && i < MOVE_CANDIDATES; i++) {
        const struct item *it = item_at(st, h);
        if (page_of(st, it) != sc->carve_page) {
            move_consider(st, sc, page_of(st, it), &best);
        }
        h = it->lru_prev;
    }
    if (best == PAGE_NONE) {
        move_consider(st, sc, sc->carve_page, &best);
    }
    return best;
}

/* Unlinks every item in the page; the last free sends the page to the pool.
 * Fails (leaving what it freed on the free list) on a busy stripe, or on a
 * live item with -M; then the class is no donor for the rest of the second,
 * so a full -M cache does not rescan pages on every store. */
static bool page_empty_out(struct store *st, struct sclass *sc, uint32_t page)
{
    rel_time_t now = clock_now();
    uint32_t n = page_carved(sc, page);
    for (uint32_t i = 0; i < n; i++) {
        struct item *it = chunk_at(st, page, sc, i);
        if (it->state != CHUNK_LINKED) {
            continue;
        }
        uint64_t hv = hash_key(st, it->key, it->nkey);
        pthread_mutex_t *m = hash_lock_of(st, hv);
        if (pthread_mutex_trylock(m) != 0) {
            return false;
        }
        bool dead = item_life(st, it, now) != ITEM_ALIVE;
        if (!dead && !st->cfg.evictions) {
            unlock(m);
            atomic_store_explicit(&st->no_donor_until[sc->id], now + 1, memory_order_relaxed);
            return false;
        }
        if (dead) {
            count_dead(sc, it);
        } else {
            count_evicted(sc, it, now);
        }
        evict_one(st, sc, hv, it);
        unlock(m);
        bool last = st->page_used[page] == 1;
        chunk_put(st, sc, it);
        if (last) {
            return true;    /* the page is in the pool now: hands off */
        }
    }
    return true;
}

static bool page_move(struct store *st, unsigned donor)
{
    struct sclass *sc = &st->cls[donor];
    bool moved = false;
    lock(&sc->lock);
    uint32_t page = move_pick_page(st, sc);
    if (page != PAGE_NONE) {
        moved = page_empty_out(st, sc, page);
    }
    class_publish(st, sc);
    unlock(&sc->lock);
    if (moved) {
        atomic_fetch_add_explicit(&st->slabs_moved, 1, memory_order_relaxed);
    }
    return moved;
}

/* ---- the allocator's entry points --------------------------------------- */

/* A PENDING chunk of class id for an item of `total` bytes: free list, new
 * page, a page from an older class, or our own LRU tail, in that order. */
struct item *slabs_alloc(struct store *st, unsigned id, uint32_t total,
                         enum store_status *status)
{
    struct sclass *sc = &st->cls[id];
    bool may_move = true, desperate = false;

    for (unsigned round = 0; round < ALLOC_ROUNDS; round++) {
        unsigned donor = 0;
        lock(&sc->lock);
        struct item *it = chunk_take(st, sc);
        if (it == NULL && may_move) {
            donor = pick_donor(st, sc, desperate);
        }
        if (it == NULL && donor == 0) {
            it = lru_evict(st, sc);
        }
        if (it != NULL) {
            it->state = CHUNK_PENDING;
            sc->requested += total;
            class_publish(st, sc);
            unlock(&sc->lock);
            return it;
        }
        unlock(&sc->lock);
        if (donor == 0) {
            /* nothing of our own to evict and no willing donor: with
             * evictions on, a store must not fail because its class owns
             * nothing, so take any class's page (its last or newest too) */
            if (!desperate && st->cfg.evictions) {
                desperate = true;
                continue;
            }
            break;
        }
        may_move = page_move(st, donor);
    }
    lock(&sc->lock);
    sc->outofmemory++;
    unlock(&sc->lock);
    *status = STORE_NO_MEMORY;
    return NULL;
}

void slabs_free(struct store *st, struct item *it)
{
    struct sclass *sc = &st->cls[it->clsid];
    lock(&sc->lock);
    chunk_put(st, sc, it);
    class_publish(st, sc);
    unlock(&sc->lock);
}

static void unlink_count(struct sclass *sc, const struct item *it, enum unlink_why why)
{
    if (why == UNLINK_EXPIRED || why == UNLINK_FLUSHED) {
        if ((it->bits & ITEM_FETCHED) == 0) {
            sc->expired_unfetched++;
        }
        if (why == UNLINK_EXPIRED) {
            sc->get_expired++;
        } else {
            sc->get_flushed++;
        }
    }
}

static void unlink_in(struct store *st, struct sclass *sc, struct item *it, enum unlink_why why)
{
    unlink_count(sc, it, why);
    lru_remove(st, sc, it);
    account_unlinked(sc, it);
    chunk_put(st, sc, it);
    class_publish(st, sc);
}

/* Puts `it` (already in the hash table) at its LRU head; when `old` (already
 * out of the table) is given, frees it too, under one lock when it shares
 * the class. The caller holds the stripe. */
void slabs_link(struct store *st, struct item *it, struct item *old)
{
    struct sclass *sc = &st->cls[it->clsid];
    lock(&sc->lock);
    it->state = CHUNK_LINKED;
    lru_push_head(st, sc, it);
    sc->items++;
    sc->total_items++;
    sc->bytes += item_total(it);
    if (old != NULL && old->clsid == it->clsid) {
        unlink_in(st, sc, old, UNLINK_REPLACE);
        old = NULL;
    }
    class_publish(st, sc);
    unlock(&sc->lock);
    if (old != NULL) {
        slabs_unlink(st, old, UNLINK_REPLACE);
    }
}

/* Frees a linked item the caller already took out of the hash table while
 * holding its stripe. */
void slabs_unlink(struct store *st, struct item *it, enum unlink_why why)
{
    struct sclass *sc = &st->cls[it->clsid];
    lock(&sc->lock);
    unlink_in(st, sc, it, why);
    unlock(&sc->lock);
}

/* ---- statistics --------------------------------------------------------- */

void slabs_class_stats(struct store *st, unsigned id, struct store_class_stats *out)
{
    struct sclass *sc = &st->cls[id];
    rel_time_t now = clock_now();
    memset(out, 0, sizeof *out);
    lock(&sc->lock);
    uint64_t uncut = class_uncut(sc);
    out->clsid = id;
    out->chunk_size = sc->size;
    out->chunks_per_page = sc->perpage;
    out->total_pages = sc->pages;
    out->total_chunks = sc->pages * sc->perpage;
    out->used_chunks = sc->used;
    out->free_chunks = sc->nfree;          /* memcached: used + free + free_end = total */
    out->free_chunks_end = uncut;
    out->mem_requested = sc->requested;
    out->number = sc->items;
    out->evicted = sc->evicted;
    out->evicted_nonzero = sc->evicted_nonzero;
    out->outofmemory = sc->outofmemory;
    out->reclaimed = sc->reclaimed;
    out->expired_unfetched = sc->expired_unfetched;
    out->evicted_unfetched = sc->evicted_unfetched;
    out->evicted_active = sc->evicted_active;
    out->evicted_time = sc->evicted_time;
    if (sc->lru_tail != 0) {
        rel_time_t t = item_time(item_at(st, sc->lru_tail));
        out->age = now > t ? now - t : 0;
    }
    unlock(&sc->lock);
}

void slabs_add_stats(struct store *st, unsigned id, struct store_stats *out)
{
    struct sclass *sc = &st->cls[id];
    lock(&sc->lock);
    out->curr_items += sc->items;
    out->total_items += sc->total_items;
    out->bytes += sc->bytes;
    out->evictions += sc->evicted;
    out->reclaimed += sc->reclaimed;
    out->expired_unfetched += sc->expired_unfetched;
    out->evicted_unfetched += sc->evicted_unfetched;
    out->evicted_active += sc->evicted_active;
    out->total_malloced += sc->pages * st->page_size;
    out->get_expired += sc->get_expired;
    out->get_flushed += sc->get_flushed;
    unlock(&sc->lock);
}
