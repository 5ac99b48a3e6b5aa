/* seg.c: segment-structured item memory, after Segcache (Yang et al., NSDI
 * 2021). -m buys segments (1 MiB, or -I rounded up to MiB); items are written
 * back to back into the open segment of their TTL bucket, so an item costs
 * its 20-byte header, key, flags when not 0, and value: no size classes, no
 * rounding. A segment is sealed when the next item does not fit and joins
 * one FIFO of sealed segments, oldest first.
 *
 * Memory comes back three ways, all under the segment lock:
 *  - the sweep (at most once a second, and after each flush_all, whenever a
 *    segment is wanted and none is free) frees whole segments whose items
 *    have all expired or been flushed: TTL buckets keep short-lived items
 *    together, so they give memory back without being read;
 *  - eviction takes the oldest sealed segment and compacts it in place:
 *    dead items (deleted, replaced, expired) go, items read since the last
 *    pass stay (up to half the segment: FIFO with reinsertion, a CLOCK at
 *    segment scale), the rest are evicted. A compacted segment with room
 *    becomes its bucket's open segment again;
 *  - with -M nothing live is evicted; the segment with the most dead bytes
 *    is compacted instead.
 * An item is moved or dropped only under its key's stripe, and a segment
 * with an allocated but unlinked item (a value still arriving) is never
 * touched, so memory is never reused under a reader or a writer. This file
 * knows items through their header and the hash table only. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_internal.h"
#include "base/region.h"

#define GENTLE_ROUNDS 4      /* evictions that keep accessed items */
#define HARSH_ROUNDS 4       /* then evictions that keep nothing */

static void lock(pthread_mutex_t *m)
{
    pthread_mutex_lock(m);
}

static void unlock(pthread_mutex_t *m)
{
    pthread_mutex_unlock(m);
}

static char *seg_base(const struct store *st, uint32_t id)
{
    return st->base + (size_t)id * st->seg_size;
}

int seg_init(struct store *st)
{
    st->segs = calloc(st->nsegs, sizeof(struct seg));
    st->free_stack = calloc(st->nsegs, sizeof(uint32_t));
    if (st->segs == NULL || st->free_stack == NULL) {
        errno = ENOMEM;
        return -1;
    }
    /* the ghost: one 4-byte slot per KiB of -m, outside -m (as the hash
     * table), touched only as it is used; entries outlive curr_items puts
     * only by chance, so more slots would buy little */
    uint64_t ng = 1024;
    while (ng < st->region_size / 1024) {
        ng <<= 1;
    }
    st->ghost = region_reserve(ng * sizeof *st->ghost);
    if (st->ghost == NULL) {
        errno = ENOMEM;
        return -1;
    }
    st->ghost_mask = ng - 1;
    st->rng = 0x9e3779b97f4a7c15ull;
    pthread_mutex_init(&st->seg_lock, NULL);
    for (uint32_t i = 0; i < st->nsegs; i++) {
        st->segs[i].prev = st->segs[i].next = SEG_NONE;
    }
    for (unsigned q = 0; q < SEG_QUEUES; q++) {
        for (unsigned b = 0; b < SEG_TTL_BUCKETS; b++) {
            st->open[q][b] = SEG_NONE;
        }
        st->fifo[q].head = st->fifo[q].tail = SEG_NONE;
    }
    return 0;
}

void seg_deinit(struct store *st)
{
    if (st->segs != NULL) {
        pthread_mutex_destroy(&st->seg_lock);
    }
    if (st->ghost != NULL) {
        region_release((void *)st->ghost, (st->ghost_mask + 1) * sizeof *st->ghost);
        st->ghost = NULL;
    }
    free(st->segs);
    free(st->free_stack);
    st->segs = NULL;
    st->free_stack = NULL;
}

/* ---- TTL buckets --------------------------------------------------------- */

/* 0: never expires; 1-15: that many seconds; then four buckets per power of
 * two of the TTL, up to bucket 127. */
static unsigned ttl_bucket(rel_time_t exptime, rel_time_t now)
{
    if (exptime == 0) {
        return 0;
    }
    uint32_t ttl = exptime > now ? exptime - now : 1;
    if (ttl < 16) {
        return ttl;
    }
    unsigned k = 31 - (unsigned)__builtin_clz(ttl);
    unsigned b = 16 + (k - 4) * 4 + ((ttl >> (k - 2)) & 3);
    return b < SEG_TTL_BUCKETS ? b : SEG_TTL_BUCKETS - 1;
}

/* ---- per-segment notes (any thread, relaxed atomics) --------------------- */

static void max_u32(_Atomic uint32_t *a, uint32_t v)
{
    uint32_t cur = atomic_load_explicit(a, memory_order_relaxed);
    while (cur < v && !atomic_compare_exchange_weak_explicit(a, &cur, v, memory_order_relaxed,
                                                             memory_order_relaxed)) {
    }
}

static void max_u64(_Atomic uint64_t *a, uint64_t v)
{
    uint64_t cur = atomic_load_explicit(a, memory_order_relaxed);
    while (cur < v && !atomic_compare_exchange_weak_explicit(a, &cur, v, memory_order_relaxed,
                                                             memory_order_relaxed)) {
    }
}

static void exp_note(struct seg *s, rel_time_t e)
{
    max_u32(&s->max_exp, e == 0 ? EXP_NEVER : e);
}

void seg_note_exptime(struct store *st, const struct item *it, rel_time_t e)
{
    exp_note(seg_of(st, it), e);
}

void seg_note_cas(struct store *st, const struct item *it, uint64_t cas)
{
    max_u64(&seg_of(st, it)->max_cas, cas);
}

void seg_note_linked(struct store *st, struct item *it)
{
    struct seg *s = seg_of(st, it);
    uint32_t total = item_total(it);
    ctr_add(&s->live_items, 1);
    ctr_add(&s->live_bytes, total);
    ctr_add(&st->ctr.curr_items, 1);
    ctr_add(&st->ctr.total_items, 1);
    ctr_add(&st->ctr.bytes, total);
}

void seg_note_unlinked(struct store *st, const struct item *it)
{
    struct seg *s = seg_of(st, it);
    uint32_t total = item_total(it);
    ctr_sub(&s->live_items, 1);
    ctr_sub(&s->live_bytes, total);
    ctr_sub(&st->ctr.curr_items, 1);
    ctr_sub(&st->ctr.bytes, total);
}

/* `from` (linked) was copied to `to`, which takes its place in the index. */
void seg_note_moved(struct store *st, const struct item *from, const struct item *to)
{
    struct seg *a = seg_of(st, from), *b = seg_of(st, to);
    uint32_t ta = item_total(from), tb = item_total(to);
    ctr_sub(&a->live_items, 1);
    ctr_sub(&a->live_bytes, ta);
    ctr_add(&b->live_items, 1);
    ctr_add(&b->live_bytes, tb);
    ctr_add(&st->ctr.bytes, tb);
    ctr_sub(&st->ctr.bytes, ta);
}

void seg_release_pending(struct store *st, struct item *it)
{
    ctr_sub(&st->ctr.pending_bytes, item_total(it));    /* the header is written */
    atomic_fetch_sub_explicit(&seg_of(st, it)->pending, 1, memory_order_release);
    ctr_sub(&st->ctr.pending, 1);
}

/* A pending item copied out of its segment (store_item_detach): the segment
 * is no longer pinned and the bytes are dead; the item stays counted in
 * flight (pending, pending_bytes) until the block is linked or freed. */
void seg_unpin_pending(struct store *st, struct item *it)
{
    atomic_fetch_sub_explicit(&seg_of(st, it)->pending, 1, memory_order_release);
}

/* A lookup met a dead item (memcached's get_expired / get_flushed). */
void seg_count_dead(struct store *st, const struct item *it, enum unlink_why why)
{
    if ((item_bits(it) & ITEM_FETCHED) == 0) {
        ctr_add(&st->ctr.expired_unfetched, 1);
    }
    ctr_add(why == UNLINK_EXPIRED ? &st->ctr.get_expired : &st->ctr.get_flushed, 1);
}

/* ---- the free list and the FIFO (segment lock) --------------------------- */

static uint32_t free_take(struct store *st)
{
    if (st->nfree > 0) {
        return st->free_stack[--st->nfree];
    }
    return st->next_fresh < st->nsegs ? st->next_fresh++ : SEG_NONE;
}

/* Segments are in one of two queues (S3-FIFO, Yang et al., SOSP 2023):
 * SEG_SMALL holds new items, SEG_MAIN the ones read while in SEG_SMALL,
 * and new items whose key was evicted from SEG_SMALL lately (the ghost). */
static void fifo_push(struct store *st, uint32_t id)
{
    struct seg *s = &st->segs[id];
    struct seg_fifo *f = &st->fifo[s->queue];
    s->next = SEG_NONE;
    s->prev = f->tail;
    if (f->tail != SEG_NONE) {
        st->segs[f->tail].next = id;
    } else {
        f->head = id;
    }
    f->tail = id;
}

static void fifo_remove(struct store *st, uint32_t id)
{
    struct seg *s = &st->segs[id];
    struct seg_fifo *f = &st->fifo[s->queue];
    if (s->prev != SEG_NONE) {
        st->segs[s->prev].next = s->next;
    } else {
        f->head = s->next;
    }
    if (s->next != SEG_NONE) {
        st->segs[s->next].prev = s->prev;
    } else {
        f->tail = s->prev;
    }
    s->prev = s->next = SEG_NONE;
}

static uint32_t *open_slot(struct store *st, unsigned queue, unsigned bucket)
{
    return &st->open[queue][bucket];
}

static void seg_seal(struct store *st, uint32_t id)
{
    struct seg *s = &st->segs[id];
    uint32_t *o = open_slot(st, s->queue, s->bucket);
    if (*o == id) {
        *o = SEG_NONE;
    }
    s->state = SEG_SEALED;
    fifo_push(st, id);
}

static void seg_set_queue(struct store *st, struct seg *s, unsigned queue)
{
    if (s->state != SEG_FREE && s->queue == SEG_SMALL) {
        st->small_segs--;
    }
    s->queue = (uint8_t)queue;
    if (queue == SEG_SMALL) {
        st->small_segs++;
    }
}

static void seg_open(struct store *st, uint32_t id, unsigned queue, unsigned bucket)
{
    struct seg *s = &st->segs[id];
    seg_set_queue(st, s, queue);
    s->state = SEG_OPEN;
    s->bucket = (uint8_t)bucket;
    s->created = clock_now();
    s->write_off = 0;
    s->read_off = s->old_end = s->kept = 0;
    atomic_store_explicit(&s->pending, 0, memory_order_relaxed);
    atomic_store_explicit(&s->max_exp, 0, memory_order_relaxed);
    atomic_store_explicit(&s->max_cas, 0, memory_order_relaxed);
    atomic_store_explicit(&s->live_items, 0, memory_order_relaxed);
    atomic_store_explicit(&s->live_bytes, 0, memory_order_relaxed);
    uint32_t *o = open_slot(st, queue, bucket);
    if (*o != SEG_NONE) {
        seg_seal(st, *o);
    }
    *o = id;
    st->segs_used++;
}

static void seg_free(struct store *st, uint32_t id)
{
    struct seg *s = &st->segs[id];
    if (s->queue == SEG_SMALL) {
        st->small_segs--;
    }
    s->state = SEG_FREE;
    s->write_off = 0;
    s->read_off = s->old_end = s->kept = 0;
    st->free_stack[st->nfree++] = id;
    st->segs_used--;
}

static bool seg_recycling(const struct seg *s)
{
    return s->read_off < s->old_end;
}

/* Takes a segment off the FIFO or its open slot. */
static void seg_detach(struct store *st, uint32_t id)
{
    struct seg *s = &st->segs[id];
    uint32_t *o = open_slot(st, s->queue, s->bucket);
    if (s->state == SEG_SEALED) {
        fifo_remove(st, id);
    } else if (*o == id) {
        *o = SEG_NONE;
    }
}

/* A detached segment after compaction: free when empty; else the open
 * segment of its queue and bucket when it has more room than the one open
 * now; else sealed at the FIFO's new end. */
static void seg_reattach(struct store *st, uint32_t id)
{
    struct seg *s = &st->segs[id];
    if (s->write_off == 0) {
        seg_free(st, id);
        return;
    }
    uint32_t *slot = open_slot(st, s->queue, s->bucket);
    uint32_t o = *slot;
    if (o == SEG_NONE || (!seg_recycling(&st->segs[o]) && st->segs[o].write_off > s->write_off)) {
        if (o != SEG_NONE) {
            seg_seal(st, o);
        }
        s->state = SEG_OPEN;
        *slot = id;
    } else {
        s->state = SEG_SEALED;
        fifo_push(st, id);
    }
}

/* ---- compaction (segment lock held; each item under its stripe) ---------- */

enum compact_mode {
    COMPACT_DEAD,            /* drop only dead items (sweep, -M) */
    COMPACT_GENTLE,          /* and live ones not read since the last pass */
    COMPACT_ALL,             /* and every live one */
};

static void count_evicted(struct store *st, const struct item *it, rel_time_t now)
{
    rel_time_t t = item_time(it);
    ctr_add(&st->ctr.evictions, 1);
    atomic_store_explicit(&st->ctr.evicted_time, now > t ? now - t : 0, memory_order_relaxed);
    if (item_exptime(it) != 0) {
        ctr_add(&st->ctr.evicted_nonzero, 1);
    }
    if ((item_bits(it) & ITEM_FETCHED) == 0) {
        ctr_add(&st->ctr.evicted_unfetched, 1);
    }
    if ((item_bits(it) & ITEM_ACCESSED) != 0) {
        ctr_add(&st->ctr.evicted_active, 1);
    }
}

/* A linked item dropped to make room (stripe of hv held). */
void seg_evict_item(struct store *st, uint64_t hv, struct item *it)
{
    count_evicted(st, it, clock_now());
    hash_remove(st, hv, it);
    seg_note_unlinked(st, it);
}

static void count_reclaimed(struct store *st, const struct item *it)
{
    ctr_add(&st->ctr.reclaimed, 1);
    if ((item_bits(it) & ITEM_FETCHED) == 0) {
        ctr_add(&st->ctr.expired_unfetched, 1);
    }
}

/* Whether a linked item stays; counts the ones that go. */
static bool compact_keeps(struct store *st, struct item *it, enum compact_mode mode,
                          bool room, rel_time_t now)
{
    if (item_life(st, it, now) != ITEM_ALIVE) {
        count_reclaimed(st, it);
        return false;
    }
    if (mode == COMPACT_DEAD || !st->cfg.evictions) {
        return true;
    }
    if (mode == COMPACT_GENTLE && room && (item_bits(it) & ITEM_ACCESSED) != 0) {
        item_bits_clear(it, ITEM_ACCESSED);
        return true;
    }
    count_evicted(st, it, now);
    return false;
}

/* Walks the segment's items in order, dropping or sliding each down to the
 * write cursor; the segment's notes are rebuilt from what stays. */
static void seg_compact(struct store *st, uint32_t id, enum compact_mode mode)
{
    struct seg *s = &st->segs[id];
    char *sb = seg_base(st, id);
    uint32_t cur = 0, keep_max = (uint32_t)(st->seg_size / 2);
    uint32_t end = s->write_off;
    bool ring = seg_recycling(s);
    rel_time_t now = clock_now();
    atomic_store_explicit(&s->max_exp, 0, memory_order_relaxed);
    atomic_store_explicit(&s->max_cas, 0, memory_order_relaxed);
    for (uint32_t off = 0; off < end || (ring && off < s->old_end);) {
        if (off >= end && ring && off < s->read_off) {
            off = s->read_off;           /* skip a recycling segment's free gap */
            end = s->old_end;
            continue;
        }
        struct item *it = (struct item *)(sb + off);
        uint32_t total = item_total(it);
        uint64_t hv = hash_key(st, item_ckey(it), item_nkey(it));
        pthread_mutex_t *m = hash_lock_of(st, hv);
        lock(m);
        if (hash_is_linked(st, hv, it)) {
            if (compact_keeps(st, it, mode, cur + total <= keep_max, now)) {
                struct item *to = (struct item *)(sb + cur);
                if (to != it) {
                    memmove(to, it, total);
                    hash_replace(st, hv, it, to);
                }
                exp_note(s, item_exptime(to));
                max_u64(&s->max_cas, item_cas(to));
                cur += total;
            } else {
                hash_remove(st, hv, it);
                seg_note_unlinked(st, it);
            }
        }
        unlock(m);
        off += total;
    }
    s->write_off = cur;
    s->read_off = s->old_end = s->kept = 0;
    s->created = clock_now();
    ctr_add(&st->ctr.segs_compacted, 1);
}

static void seg_recycle(struct store *st, uint32_t id, enum compact_mode mode)
{
    seg_detach(st, id);
    seg_compact(st, id, mode);
    seg_reattach(st, id);
}

/* ---- the sweep ------------------------------------------------------------ */

static bool seg_idle(const struct seg *s)
{
    return atomic_load_explicit(&s->pending, memory_order_acquire) == 0;
}

/* Every item in the segment has expired or been flushed, or none is linked. */
static bool seg_all_dead(const struct store *st, const struct seg *s, rel_time_t now)
{
    uint32_t e = atomic_load_explicit(&s->max_exp, memory_order_relaxed);
    uint64_t c = atomic_load_explicit(&s->max_cas, memory_order_relaxed);
    uint32_t at = atomic_load_explicit(&st->flush_at, memory_order_relaxed);
    uint64_t cut = atomic_load_explicit(&st->flush_cas, memory_order_relaxed);
    if (at != 0 && at <= now) {
        uint64_t at_cut = atomic_load_explicit(&st->flush_at_cas, memory_order_relaxed);
        if (at_cut != 0 && at_cut - 1 > cut) {
            cut = at_cut - 1;
        }
    }
    if (s->write_off == 0) {
        return false;
    }
    return atomic_load_explicit(&s->live_items, memory_order_relaxed) == 0
        || (e != EXP_NEVER && e != 0 && e <= now)
        || (c != 0 && c <= cut);
}

/* Frees the segments whose items are all dead, without a client reading
 * them; at most once a second unless a flush_all came since. */
static bool seg_sweep(struct store *st)
{
    rel_time_t now = clock_now();
    uint64_t gen = atomic_load_explicit(&st->flush_gen, memory_order_relaxed);
    if (now == st->sweep_time && gen == st->sweep_gen) {
        return false;
    }
    st->sweep_time = now;
    st->sweep_gen = gen;
    uint32_t before = st->nfree;
    for (uint32_t id = 0; id < st->next_fresh; id++) {
        struct seg *s = &st->segs[id];
        if (s->state != SEG_FREE && seg_idle(s) && seg_all_dead(st, s, now)) {
            seg_recycle(st, id, COMPACT_DEAD);
            ctr_add(&st->ctr.segs_expired, 1);
        }
    }
    return st->nfree > before;
}

/* ---- eviction ------------------------------------------------------------- */

static uint64_t seg_dead(const struct seg *s)
{
    uint64_t live = atomic_load_explicit(&s->live_bytes, memory_order_relaxed);
    return s->write_off > live ? s->write_off - live : 0;
}

/* The sealed segment no writer is filling with the most dead bytes (deleted,
 * replaced), or SEG_NONE when none has any. */
static uint32_t most_dead(struct store *st, uint64_t *dead)
{
    uint32_t best = SEG_NONE;
    *dead = 0;
    for (unsigned q = 0; q < SEG_QUEUES; q++) {
        for (uint32_t id = st->fifo[q].head; id != SEG_NONE; id = st->segs[id].next) {
            uint64_t d = seg_dead(&st->segs[id]);
            if (d > *dead && seg_idle(&st->segs[id])) {
                *dead = d;
                best = id;
            }
        }
    }
    return best;
}

static uint32_t oldest_idle(struct store *st, unsigned q)
{
    uint32_t id = st->fifo[q].head;
    while (id != SEG_NONE && !seg_idle(&st->segs[id])) {
        id = st->segs[id].next;
    }
    return id;
}

/* S3-FIFO's choice: the oldest SEG_SMALL segment while that queue holds more
 * than a tenth of the segments, else the oldest SEG_MAIN one; the other
 * queue's when the first has no sealed segment without a writer. */
static uint32_t victim(struct store *st)
{
    unsigned first = (uint64_t)st->small_segs * 10 > st->nsegs ? SEG_SMALL : SEG_MAIN;
    uint32_t id = oldest_idle(st, first);
    return id != SEG_NONE ? id : oldest_idle(st, first == SEG_SMALL ? SEG_MAIN : SEG_SMALL);
}

/* ---- the ghost: keys lately evicted from SEG_SMALL ------------------------ */

/* A slot holds the key's fingerprint (hash bits 32-47: the table index uses
 * the low bits, the hash table's tag the top 16) and when it was put, in
 * units of GHOST_STAMPS-th of the table's slots; a put overwrites whatever
 * the slot held. As S3-FIFO's ghost queue, an entry counts for as many puts
 * as the store holds items: older ones are forgotten. */
#define GHOST_STAMPS 16384u

static uint32_t ghost_tag(uint64_t hv)
{
    return (uint32_t)((hv >> 32) & 0xffff) << 16;
}

static uint64_t ghost_unit(const struct store *st)
{
    uint64_t u = (st->ghost_mask + 1) / GHOST_STAMPS;
    return u != 0 ? u : 1;
}

static uint32_t ghost_stamp(const struct store *st)
{
    uint64_t n = atomic_load_explicit(&st->ghost_puts, memory_order_relaxed);
    return (uint32_t)((n / ghost_unit(st)) & 0xffff);
}

/* Segment lock held. */
static void ghost_put(struct store *st, uint64_t hv)
{
    uint32_t v = ghost_tag(hv) | ghost_stamp(st);
    atomic_fetch_add_explicit(&st->ghost_puts, 1, memory_order_relaxed);
    atomic_store_explicit(&st->ghost[hv & st->ghost_mask], v, memory_order_relaxed);
}

/* Whether the key was evicted from SEG_SMALL lately (and forget it). */
static bool ghost_take(struct store *st, uint64_t hv)
{
    _Atomic uint32_t *g = &st->ghost[hv & st->ghost_mask];
    uint32_t v = atomic_load_explicit(g, memory_order_relaxed);
    if (v == 0 || (v & 0xffff0000u) != ghost_tag(hv)) {
        return false;
    }
    uint64_t age = (uint64_t)((ghost_stamp(st) - v) & 0xffff) * ghost_unit(st);
    if (age > ctr_get(&st->ctr.curr_items)) {
        return false;
    }
    atomic_store_explicit(g, 0, memory_order_relaxed);
    return true;
}

/* ---- size: hits are counted by request, not by byte ----------------------- */

/* Every hit is worth the same whatever the item's size, so under pressure a
 * small item is worth more per byte of -m. The two admissions S3-FIFO makes
 * (into SEG_MAIN from SEG_SMALL, and into the ghost) favour small items:
 * an item of `total` bytes passes with probability min(1, k8/8 * mean /
 * total), mean being the average size of the items held now, so a store of
 * items of one size is not changed by it. Segment lock held (st->rng). */
#define SIZE_K8_PROMOTE 16       /* twice the mean */
#define SIZE_K8_GHOST 2          /* a quarter of the mean */

static bool size_pass(struct store *st, uint32_t total, uint32_t k8)
{
    uint64_t n = ctr_get(&st->ctr.curr_items);
    if (n == 0) {
        return true;
    }
    uint64_t lim = ctr_get(&st->ctr.bytes) * k8 / 8 / n;
    if (total <= lim) {
        return true;
    }
    st->rng ^= st->rng << 13;
    st->rng ^= st->rng >> 7;
    st->rng ^= st->rng << 17;
    return ((st->rng >> 32) * total >> 32) < lim;
}

/* The victim becomes the open segment of queue q and TTL bucket b, recycled
 * item by item as room is wanted (take_from), so an eviction costs about
 * the room asked for, not a whole segment. For SEG_MAIN the items it keeps
 * stay in it (reinsertion, or promotion when it was a SEG_SMALL segment);
 * for SEG_SMALL they are moved to a SEG_MAIN segment. Its notes (latest
 * exptime, highest cas) stay as they were until it is compacted: they only
 * grow, which keeps the sweep's tests safe. */
static void seg_start_ring(struct store *st, uint32_t id, unsigned q, unsigned b)
{
    struct seg *s = &st->segs[id];
    fifo_remove(st, id);
    s->from_small = s->queue == SEG_SMALL;
    seg_set_queue(st, s, q);
    s->promote = q == SEG_SMALL;
    uint32_t *o = open_slot(st, q, b);
    if (*o != SEG_NONE) {
        seg_seal(st, *o);
    }
    s->old_end = s->write_off;
    s->read_off = 0;
    s->write_off = 0;
    s->kept = 0;
    s->state = SEG_OPEN;
    s->bucket = (uint8_t)b;
    s->created = clock_now();
    *o = id;
    if (!seg_recycling(s)) {
        s->read_off = s->old_end = 0;
    }
}

static bool evict_round(struct store *st, enum compact_mode mode, unsigned q, unsigned b)
{
    uint64_t dead;
    uint32_t id = most_dead(st, &dead);
    if (id != SEG_NONE && (dead >= st->seg_size / 4 || !st->cfg.evictions)) {
        seg_recycle(st, id, COMPACT_DEAD);
        return true;
    }
    if (!st->cfg.evictions) {
        return false;
    }
    id = victim(st);
    if (id == SEG_NONE) {
        /* few segments, all open (each queue and TTL bucket has its own):
         * seal those not being recycled and look again */
        for (unsigned oq = 0; oq < SEG_QUEUES; oq++) {
            for (unsigned ob = 0; ob < SEG_TTL_BUCKETS; ob++) {
                uint32_t o = *open_slot(st, oq, ob);
                if (o != SEG_NONE && !seg_recycling(&st->segs[o])) {
                    seg_seal(st, o);
                }
            }
        }
        id = victim(st);
    }
    if (id == SEG_NONE) {
        return false;
    }
    if (mode == COMPACT_GENTLE) {
        seg_start_ring(st, id, q, b);
    } else {
        seg_recycle(st, id, mode);
    }
    return true;
}

/* ---- allocation ----------------------------------------------------------- */

static struct item *main_room(struct store *st, uint32_t total, rel_time_t exptime);

/* One item of a recycling segment, at read_off: a dead one goes; a live one
 * read since it was stored or last kept stays (FIFO with reinsertion, a
 * CLOCK): slid down to write_off while the pass has kept under half the
 * segment, or moved to a SEG_MAIN segment when recycling for SEG_SMALL;
 * the rest are evicted, into the ghost when they were SEG_SMALL's. Segment
 * lock held; takes the item's stripe (let go while main room is found). */
static void ring_step(struct store *st, uint32_t id)
{
    struct seg *s = &st->segs[id];
    char *sb = seg_base(st, id);
    struct item *it = (struct item *)(sb + s->read_off);
    uint32_t total = item_total(it);
    uint64_t hv = hash_key(st, item_ckey(it), item_nkey(it));
    pthread_mutex_t *m = hash_lock_of(st, hv);
    rel_time_t now = clock_now();
    lock(m);
    if (!hash_is_linked(st, hv, it)) {
        goto next;
    }
    if (item_life(st, it, now) != ITEM_ALIVE) {
        count_reclaimed(st, it);
        hash_remove(st, hv, it);
        seg_note_unlinked(st, it);
        goto next;
    }
    bool accessed = (item_bits(it) & ITEM_ACCESSED) != 0;
    if (accessed && s->promote && !size_pass(st, total, SIZE_K8_PROMOTE)) {
        accessed = false;
    }
    if (accessed && !s->promote && s->kept + total <= st->seg_size / 2) {
        struct item *to = (struct item *)(sb + s->write_off);
        item_bits_clear(it, ITEM_ACCESSED);
        if (to != it) {
            memmove(to, it, total);
            hash_replace(st, hv, it, to);
        }
        s->write_off += total;
        s->kept += total;
        goto next;
    }
    if (accessed && s->promote) {
        rel_time_t e = item_exptime(it);
        unlock(m);
        struct item *to = main_room(st, total, e);
        lock(m);
        if (to != NULL) {
            memcpy(to, it, total);       /* a valid item even if `it` died meanwhile */
            if (hash_is_linked(st, hv, it)) {
                item_bits_clear(to, ITEM_ACCESSED);
                hash_replace(st, hv, it, to);
                seg_note_moved(st, it, to);
                max_u64(&seg_of(st, to)->max_cas, item_cas(to));
            }
            goto next;
        }
        if (!hash_is_linked(st, hv, it)) {
            goto next;
        }
    }
    count_evicted(st, it, now);
    if (s->from_small && size_pass(st, total, SIZE_K8_GHOST)) {
        ghost_put(st, hv);
    }
    hash_remove(st, hv, it);
    seg_note_unlinked(st, it);
next:
    unlock(m);
    s->read_off += total;
    if (s->read_off >= s->old_end) {
        s->read_off = s->old_end = 0;    /* the rest of the segment is free */
    }
}

/* Room at the segment's write cursor, recycling as far as needed. */
static struct item *take_raw(struct store *st, uint32_t id, uint32_t total, rel_time_t exptime)
{
    struct seg *s = &st->segs[id];
    while (seg_recycling(s) && s->write_off + (uint64_t)total > s->read_off) {
        ring_step(st, id);
    }
    if (s->write_off + (uint64_t)total > st->seg_size) {
        return NULL;
    }
    struct item *it = (struct item *)(seg_base(st, id) + s->write_off);
    s->write_off += total;
    exp_note(s, exptime);
    return it;
}

static struct item *take_from(struct store *st, uint32_t id, uint32_t total, rel_time_t exptime)
{
    struct item *it = take_raw(st, id, total, exptime);
    if (it != NULL) {
        atomic_fetch_add_explicit(&st->segs[id].pending, 1, memory_order_relaxed);
        ctr_add(&st->ctr.pending, 1);
        ctr_add(&st->ctr.pending_bytes, total);
    }
    return it;
}

/* Room in a SEG_MAIN segment for an item moved out of SEG_SMALL: the open
 * SEG_MAIN segment of its TTL bucket, a free segment, or S3-FIFO's victim
 * recycled for SEG_MAIN (which keeps in place: no deeper). No sweep and no
 * compaction, so the caller's recycling segment is left alone. Filled at
 * once under the segment lock, so not counted pending. */
static struct item *main_room(struct store *st, uint32_t total, rel_time_t exptime)
{
    unsigned b = ttl_bucket(exptime, clock_now());
    for (unsigned round = 0; round < 3; round++) {
        uint32_t o = *open_slot(st, SEG_MAIN, b);
        if (o != SEG_NONE) {
            struct item *to = take_raw(st, o, total, exptime);
            if (to != NULL) {
                return to;
            }
        }
        uint32_t id = free_take(st);
        if (id != SEG_NONE) {
            seg_open(st, id, SEG_MAIN, b);
            continue;
        }
        id = victim(st);
        if (id == SEG_NONE) {
            return NULL;
        }
        seg_start_ring(st, id, SEG_MAIN, b);
    }
    return NULL;
}

static struct item *take_open(struct store *st, unsigned q, unsigned b, uint32_t total,
                              rel_time_t exptime)
{
    uint32_t o = *open_slot(st, q, b);
    return o != SEG_NONE ? take_from(st, o, total, exptime) : NULL;
}

/* Any open segment with room (when the item's own bucket can get none). */
static struct item *take_any(struct store *st, uint32_t total, rel_time_t exptime)
{
    for (unsigned q = 0; q < SEG_QUEUES; q++) {
        for (unsigned b = 0; b < SEG_TTL_BUCKETS; b++) {
            struct item *it = take_open(st, q, b, total, exptime);
            if (it != NULL) {
                return it;
            }
        }
    }
    return NULL;
}

/* Room for `total` bytes: in SEG_SMALL, or SEG_MAIN when the key (hash hv)
 * is in the ghost; the queue's open segment of the bucket, a free segment,
 * what the sweep frees, then eviction (gentle, then harsh); the caller owns
 * the bytes until it links or abandons them (seg_release_pending). */
/* SECURITY: a segment with a pending item is never recycled, so values
 * being received (a client may stop sending mid-value and hold them until
 * --read-timeout) may take at most half of -m, or one segment if that is
 * more: the other half stays for everyone else's stores. A value still
 * arriving when its connection waits for input is detached to a heap block
 * (store_item_detach) and pins no segment, but stays counted here: this cap
 * is also the bound on the heap that detached values take. */
static bool pending_over_cap(struct store *st, uint32_t total)
{
    uint64_t mem = (uint64_t)st->nsegs * st->seg_size;
    uint64_t cap = mem / 2 > st->seg_size ? mem / 2 : st->seg_size;
    return ctr_get(&st->ctr.pending_bytes) + total > cap;
}

struct item *seg_alloc(struct store *st, uint32_t total, rel_time_t exptime,
                       uint64_t hv, enum store_status *status)
{
    unsigned b = ttl_bucket(exptime, clock_now());
    struct item *it = NULL;
    unsigned rounds = 0;
    if (total > st->seg_size) {
        *status = STORE_TOO_LARGE;
        return NULL;
    }
    if (pending_over_cap(st, total)) {
        ctr_add(&st->ctr.outofmemory, 1);
        *status = STORE_NO_MEMORY;
        return NULL;
    }
    unsigned q = ghost_take(st, hv) ? SEG_MAIN : SEG_SMALL;
    lock(&st->seg_lock);
    while ((it = take_open(st, q, b, total, exptime)) == NULL) {
        uint32_t id = free_take(st);
        if (id != SEG_NONE) {
            seg_open(st, id, q, b);
            continue;
        }
        if (seg_sweep(st)) {
            continue;
        }
        if (rounds >= GENTLE_ROUNDS + HARSH_ROUNDS
            || !evict_round(st, rounds < GENTLE_ROUNDS ? COMPACT_GENTLE : COMPACT_ALL, q, b)) {
            break;
        }
        rounds++;
    }
    if (it == NULL) {
        it = take_any(st, total, exptime);
    }
    if (it == NULL) {
        ctr_add(&st->ctr.outofmemory, 1);
        *status = STORE_NO_MEMORY;
    }
    unlock(&st->seg_lock);
    return it;
}

/* ---- statistics ----------------------------------------------------------- */

/* The whole store as memcached's one slab class: a segment is a page of one
 * chunk. */
void seg_class_stats(struct store *st, struct store_class_stats *out)
{
    rel_time_t now = clock_now();
    memset(out, 0, sizeof *out);
    lock(&st->seg_lock);
    out->total_pages = st->segs_used;
    out->total_chunks = st->segs_used;
    out->used_chunks = st->segs_used;
    for (unsigned q = 0; q < SEG_QUEUES; q++) {
        if (st->fifo[q].head != SEG_NONE) {
            rel_time_t t = st->segs[st->fifo[q].head].created;
            uint32_t age = now > t ? now - t : 0;
            out->age = age > out->age ? age : out->age;
        }
    }
    unlock(&st->seg_lock);
    out->clsid = 1;
    out->chunk_size = (uint32_t)st->seg_size;
    out->chunks_per_page = 1;
    out->mem_requested = ctr_get(&st->ctr.bytes);
    out->number = ctr_get(&st->ctr.curr_items);
    out->evicted = ctr_get(&st->ctr.evictions);
    out->evicted_nonzero = ctr_get(&st->ctr.evicted_nonzero);
    out->outofmemory = ctr_get(&st->ctr.outofmemory);
    out->reclaimed = ctr_get(&st->ctr.reclaimed);
    out->expired_unfetched = ctr_get(&st->ctr.expired_unfetched);
    out->evicted_unfetched = ctr_get(&st->ctr.evicted_unfetched);
    out->evicted_active = ctr_get(&st->ctr.evicted_active);
    out->evicted_time = atomic_load_explicit(&st->ctr.evicted_time, memory_order_relaxed);
}

uint64_t seg_bytes_in_use(struct store *st)
{
    lock(&st->seg_lock);
    uint64_t n = (uint64_t)st->segs_used * st->seg_size;
    unlock(&st->seg_lock);
    return n;
}
