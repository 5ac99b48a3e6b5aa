/* buf.c: growth and shrinking of struct buf, and the shared budget that
 * bounds many buffers together. The only allocator calls made per connection
 * at run time are here, so their bounds are in one place. */
#include "base/buf.h"

#include <stdlib.h>

#define GROW_FIRST 4096
#define GROW_DOUBLE_MAX (1024 * 1024)   /* past this, grow by steps, not x2 */
#define GROW_STEP (256 * 1024)

void buf_init(struct buf *b, size_t limit)
{
    memset(b, 0, sizeof(*b));
    b->limit = limit;
}

void buf_join_budget(struct buf *b, struct buf_budget *budget, enum buf_kind kind,
                     size_t free_cap)
{
    b->budget = budget;
    b->kind = kind;
    b->free_cap = free_cap;
}

/* ---- the budget -------------------------------------------------------- */

static void budget_note_peak(struct buf_budget *bb, size_t used)
{
    size_t peak = atomic_load_explicit(&bb->peak, memory_order_relaxed);
    while (used > peak
           && !atomic_compare_exchange_weak_explicit(&bb->peak, &peak, used,
                                                     memory_order_relaxed,
                                                     memory_order_relaxed)) {
    }
}

bool buf_budget_charge(struct buf_budget *bb, size_t held, size_t delta)
{
    size_t used = atomic_load_explicit(&bb->used, memory_order_relaxed);
    size_t after;
    do {
        after = used + delta;
        bool in_bulk = after <= bb->limit - bb->limit / 8;
        bool small_holder = after <= bb->limit && held + delta <= bb->limit / 16;
        if (bb->limit != 0 && !in_bulk && !small_holder) {
            return false;
        }
    } while (!atomic_compare_exchange_weak_explicit(&bb->used, &used, after,
                                                    memory_order_relaxed,
                                                    memory_order_relaxed));
    budget_note_peak(bb, after);
    return true;
}

void buf_budget_release(struct buf_budget *bb, size_t delta)
{
    atomic_fetch_sub_explicit(&bb->used, delta, memory_order_relaxed);
}

/* Asks b's budget for capacity `want` (from b->cap): the part up to the
 * free allowance is granted as it is, the rest must pass the budget. */
static bool budget_grow(struct buf *b, size_t want)
{
    struct buf_budget *bb = b->budget;
    size_t free_before = b->cap < b->free_cap ? b->cap : b->free_cap;
    size_t free_after = want < b->free_cap ? want : b->free_cap;
    size_t free_part = free_after - free_before;
    size_t checked = want - b->cap - free_part;
    if (checked > 0 && !buf_budget_charge(bb, b->cap, checked)) {
        return false;
    }
    if (free_part > 0) {
        size_t used = atomic_fetch_add_explicit(&bb->used, free_part, memory_order_relaxed);
        budget_note_peak(bb, used + free_part);
    }
    if (b->cap == 0) {
        atomic_fetch_add_explicit(&bb->count[b->kind], 1, memory_order_relaxed);
    }
    atomic_fetch_add_explicit(&bb->bytes[b->kind], want - b->cap, memory_order_relaxed);
    return true;
}

/* Gives back what b holds beyond `cap` (b->cap is still the old size). */
static void budget_shrink(struct buf *b, size_t cap)
{
    struct buf_budget *bb = b->budget;
    buf_budget_release(bb, b->cap - cap);
    atomic_fetch_sub_explicit(&bb->bytes[b->kind], b->cap - cap, memory_order_relaxed);
    if (cap == 0) {
        atomic_fetch_sub_explicit(&bb->count[b->kind], 1, memory_order_relaxed);
    }
}

/* ---- growth ------------------------------------------------------------- */

static size_t grow_target(const struct buf *b, size_t need)
{
    size_t want = b->cap ? b->cap : GROW_FIRST;
    while (want < need && want < GROW_DOUBLE_MAX) {
        want *= 2;
    }
    if (want < need) {
        want = need + (GROW_STEP - need % GROW_STEP) % GROW_STEP;
    }
    return want > b->limit ? b->limit : want;
}

static void compact(struct buf *b)
{
    size_t live = buf_len(b);
    if (b->start > 0) {
        memmove(b->data, b->data + b->start, live);
        b->start = 0;
        b->end = live;
    }
}

bool buf_reserve(struct buf *b, size_t n)
{
    size_t live = buf_len(b);
    if (n > b->limit || live > b->limit - n) {
        if (b->budget != NULL) {
            atomic_fetch_add_explicit(&b->budget->refused[b->kind], 1, memory_order_relaxed);
        }
        return false;
    }
    if (b->cap - b->end >= n) {
        return true;
    }
    if (b->start > 0 && b->cap - live >= n) {
        compact(b);
        return true;
    }
    size_t want = grow_target(b, live + n);
    if (b->budget != NULL && !budget_grow(b, want)) {
        /* refused beyond the free allowance: that much may still do */
        if (live + n > b->free_cap || b->cap >= b->free_cap) {
            atomic_fetch_add_explicit(&b->budget->refused[b->kind], 1, memory_order_relaxed);
            return false;
        }
        want = b->free_cap;
        (void)budget_grow(b, want);     /* within the allowance: always granted */
    }
    compact(b);
    char *p = realloc(b->data, want);
    if (p == NULL) {
        if (b->budget != NULL) {
            size_t asked = b->cap;
            b->cap = want;          /* budget_shrink gives back want - asked */
            budget_shrink(b, asked);
            b->cap = asked;
        }
        return false;
    }
    b->data = p;
    b->cap = want;
    return true;
}

void buf_deinit(struct buf *b)
{
    if (b->budget != NULL && b->cap > 0) {
        budget_shrink(b, 0);
    }
    free(b->data);
    b->data = NULL;
    b->start = b->end = b->cap = 0;
}

void buf_shrink(struct buf *b, size_t keep)
{
    if (b->cap <= keep || buf_len(b) > keep) {
        return;
    }
    size_t live = buf_len(b);
    if (live == 0) {
        buf_deinit(b);
        return;
    }
    compact(b);
    char *p = realloc(b->data, keep);
    if (p != NULL) {
        if (b->budget != NULL) {
            budget_shrink(b, keep);
        }
        b->data = p;
        b->cap = keep;
    }
}
