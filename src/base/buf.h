/* buf.h: a growable byte buffer with a hard capacity limit, used for each
 * connection's input and output. Bytes live in [data+start, data+end); the
 * owner consumes from the front and appends at the back. Growth is bounded
 * by `limit`, so no peer can make the server allocate without bound; and a
 * buffer may belong to a shared budget (struct buf_budget) that bounds all
 * such buffers together. */
#ifndef HC_BASE_BUF_H
#define HC_BASE_BUF_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* The kinds a budget counts apart ("stats": read_buf_*, response_obj_*). */
enum buf_kind { BUF_IN = 0, BUF_OUT = 1 };

/* One memory budget for many buffers. Every byte of capacity is counted in
 * `used`. A buffer may always grow to its free allowance (so each connection
 * can make progress with ordinary requests); growth beyond it is granted only
 * while `used` stays within `limit`, and the last eighth of the limit only to
 * buffers holding less than a sixteenth of it: when memory is short, the
 * buffers holding the most are the ones refused. */
struct buf_budget {
    size_t limit;                   /* 0: no budget (unit tests, fuzzing) */
    _Atomic size_t used;            /* capacity of every member buffer */
    _Atomic size_t peak;            /* highest `used` seen */
    _Atomic uint64_t count[2];      /* member buffers holding memory, by kind */
    _Atomic size_t bytes[2];        /* their capacity, by kind */
    _Atomic uint64_t refused[2];    /* growths refused, by kind */
};

struct buf {
    char *data;
    size_t start, end, cap;
    size_t limit;          /* cap never exceeds this */
    struct buf_budget *budget;      /* NULL: none */
    size_t free_cap;       /* capacity granted without asking the budget */
    enum buf_kind kind;
};

void buf_init(struct buf *b, size_t limit);
/* Joins b (empty, just initialised) to budget: capacity up to free_cap is
 * always granted, more only as the budget allows. */
void buf_join_budget(struct buf *b, struct buf_budget *budget, enum buf_kind kind,
                     size_t free_cap);
void buf_deinit(struct buf *b);

/* Makes room for n more bytes at the back; false if that would pass limit,
 * the budget refuses it, or memory is short. May move the live bytes to the
 * front. */
bool buf_reserve(struct buf *b, size_t n);

/* Shrinks an idle, oversized buffer back to `keep` bytes of capacity. */
void buf_shrink(struct buf *b, size_t keep);

/* A budget's own test of a growth by `delta` for a buffer now holding
 * `held` bytes; charges it when granted. Exposed for the unit tests. */
bool buf_budget_charge(struct buf_budget *bb, size_t held, size_t delta);
void buf_budget_release(struct buf_budget *bb, size_t delta);

static inline size_t buf_len(const struct buf *b) { return b->end - b->start; }
static inline char *buf_head(const struct buf *b) { return b->data + b->start; }
static inline char *buf_tail(const struct buf *b) { return b->data + b->end; }
static inline size_t buf_room(const struct buf *b) { return b->cap - b->end; }

static inline void buf_consume(struct buf *b, size_t n)
{
    b->start += n;
    if (b->start == b->end) {
        b->start = b->end = 0;
    }
}

/* Appends; the caller has reserved (or checks the result). */
static inline bool buf_append(struct buf *b, const void *p, size_t n)
{
    if (n == 0) {
        return true;
    }
    if (buf_room(b) < n && !buf_reserve(b, n)) {
        return false;
    }
    memcpy(b->data + b->end, p, n);
    b->end += n;
    return true;
}

#define buf_append_lit(b, s) buf_append((b), (s), sizeof(s) - 1)

#endif
