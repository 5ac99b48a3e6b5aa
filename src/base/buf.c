/* buf.c: growth and shrinking of struct buf. The only allocator calls made
 * per connection at run time are here, so their bounds are in one place. */
#include "base/buf.h"

#include <stdlib.h>

void buf_init(struct buf *b, size_t limit)
{
    b->data = NULL;
    b->start = b->end = b->cap = 0;
    b->limit = limit;
}

void buf_deinit(struct buf *b)
{
    free(b->data);
    buf_init(b, b->limit);
}

bool buf_reserve(struct buf *b, size_t n)
{
    size_t live = buf_len(b);
    if (n > b->limit || live > b->limit - n) {
        return false;
    }
    if (b->cap - b->end >= n) {
        return true;
    }
    if (b->start > 0 && b->cap - live >= n) {
        memmove(b->data, b->data + b->start, live);
        b->start = 0;
        b->end = live;
        return true;
    }
    size_t want = b->cap ? b->cap : 4096;
    while (want < live + n) {
        want *= 2;
    }
    if (want > b->limit) {
        want = b->limit;
    }
    if (b->start > 0) {
        memmove(b->data, b->data + b->start, live);
        b->start = 0;
        b->end = live;
    }
    char *p = realloc(b->data, want);
    if (p == NULL) {
        return false;
    }
    b->data = p;
    b->cap = want;
    return true;
}

void buf_shrink(struct buf *b, size_t keep)
{
    if (b->cap <= keep || buf_len(b) > keep) {
        return;
    }
    size_t live = buf_len(b);
    if (live == 0) {
        free(b->data);
        b->data = NULL;
        b->start = b->end = b->cap = 0;
        return;
    }
    memmove(b->data, b->data + b->start, live);
    char *p = realloc(b->data, keep);
    if (p != NULL) {
        b->data = p;
        b->cap = keep;
    }
    b->start = 0;
    b->end = live;
}
