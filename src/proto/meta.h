/* meta.h: memcached 1.6.18's meta commands (mg ms md ma mn me), each a row
 * of ascii.c's command table. ascii.c tokenizes the line (memcached's
 * tokenizer) and hands over the tokens; meta.c parses the flags, calls the
 * store and writes the answer, byte for byte as 1.6.18 (tests/integration/
 * test_meta.py measures both side by side). */
#ifndef HC_PROTO_META_H
#define HC_PROTO_META_H

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "base/span.h"
#include "proto/proto.h"

/* One meta command line: tok[0] the command, tok[1] the key, then flags;
 * tok[ntokens - 1] is memcached's terminal token (empty). */
struct meta_cmd {
    const struct proto_server *srv;
    struct proto_conn *pc;
    struct buf *out;
    const struct span *tok;
    size_t ntokens;
};

void meta_get(const struct meta_cmd *m);      /* mg, at least a key */
void meta_set(const struct meta_cmd *m);      /* ms, at least a key */
void meta_delete(const struct meta_cmd *m);   /* md, at least a key */
void meta_arith(const struct meta_cmd *m);    /* ma, at least a key */
void meta_noop(const struct meta_cmd *m);     /* mn */
void meta_debug(const struct meta_cmd *m);    /* me */

/* An ms value and its two closing bytes have arrived in pc->item: link it
 * and answer. chunk_ok: the two bytes were "\r\n". */
void meta_set_complete(const struct proto_server *srv, struct proto_conn *pc,
                       struct buf *out, bool chunk_ok);

#endif
