/* buf.h: a growable byte buffer with a hard capacity limit, used for each
 * connection's input and output. Bytes live in [data+start, data+end); the
 * owner consumes from the front and appends at the back. Growth is bounded
 * by `limit`, so no peer can make the server allocate without bound. */
#ifndef HC_BASE_BUF_H
#define HC_BASE_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

struct buf {
    char *data;
    size_t start, end, cap;
    size_t limit;          /* cap never exceeds this */
};

void buf_init(struct buf *b, size_t limit);
void buf_deinit(struct buf *b);

/* Makes room for n more bytes at the back; false if that would pass limit
 * or memory is short. May move the live bytes to the front. */
bool buf_reserve(struct buf *b, size_t n);

/* Shrinks an idle, oversized buffer back to `keep` bytes of capacity. */
void buf_shrink(struct buf *b, size_t keep);

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
