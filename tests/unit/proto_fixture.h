/* proto_fixture.h: what the protocol unit tests (test_proto.c, test_meta.c,
 * test_binary.c) share: a small store for the settings given, and feeding bytes to one
 * connection the way net/conn.c does. Header-only (static functions): each
 * test binary includes it once. */
#ifndef HC_TESTS_PROTO_FIXTURE_H
#define HC_TESTS_PROTO_FIXTURE_H

#include <check.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "conf/settings.h"
#include "proto/proto.h"
#include "proto/stats.h"
#include "store/store.h"

/* An 8 MiB store for s (whose mem_limit it sets), as the daemon makes one. */
static inline struct store *fixture_store(struct settings *s)
{
    s->mem_limit = 8 * 1024 * 1024;
    struct store_config cfg = { .mem_limit = s->mem_limit, .item_size_max = s->item_size_max,
                                .growth_factor = 1.25, .chunk_min = 48, .evictions = true,
                                .use_cas = true };
    struct store *st = store_create(&cfg);
    ck_assert_ptr_nonnull(st);
    return st;
}

static inline void fixture_info(struct server_info *si)
{
    memset(si, 0, sizeof(*si));
    si->libevent_version = "test";
}

static inline bool fixture_conns(struct buf *out)
{
    (void)out;
    return true;
}

/* A protocol server over st with settings s, whose "stats" has no network
 * layer behind it; ts is registered as the one worker's stats (once). */
static inline struct proto_server fixture_server(struct store *st, const struct settings *s,
                                                 struct thread_stats *ts)
{
    static const struct stats_source src = { fixture_info, fixture_conns };
    static bool registered;
    if (!registered) {
        stats_register_thread(ts);
        registered = true;
    }
    return (struct proto_server){ .store = st, .settings = s, .stats_src = &src };
}

/* Feeds input[0, len) to one new connection in chunks of at most step bytes
 * (0: all at once), running proto_process after each as the network layer
 * does, until the input is used or the connection closes. Returns every
 * answer byte (malloc'd, NUL-terminated); *outlen its length, *closed
 * whether the protocol closed the connection. */
static inline char *fixture_feed(const struct proto_server *srv, struct thread_stats *ts,
                                 const char *input, size_t len, size_t step,
                                 size_t *outlen, bool *closed)
{
    struct proto_conn pc;
    struct buf in, out;
    proto_conn_init(&pc, ts);
    buf_init(&in, PROTO_GET_LINE_MAX + 65536);
    buf_init(&out, 64 * 1024 * 1024);
    size_t total = 0, fed = 0;
    char *acc = malloc(1);
    ck_assert_ptr_nonnull(acc);
    *closed = false;
    while (!*closed) {
        size_t n = step == 0 || len - fed < step ? len - fed : step;
        buf_append(&in, input + fed, n);
        fed += n;
        enum proto_stop why;
        do {
            int budget = 1000;
            buf_consume(&in, proto_process(srv, &pc, buf_head(&in), buf_len(&in), &out,
                                           &budget, &why));
            acc = realloc(acc, total + buf_len(&out) + 1);
            ck_assert_ptr_nonnull(acc);
            if (buf_len(&out) > 0) {        /* an empty buffer may have no memory */
                memcpy(acc + total, buf_head(&out), buf_len(&out));
            }
            total += buf_len(&out);
            buf_consume(&out, buf_len(&out));
        } while (why == PROTO_STOP_OUTPUT_FULL || why == PROTO_STOP_BUDGET);
        *closed = why == PROTO_STOP_CLOSE;
        if (fed == len) {
            break;
        }
    }
    acc[total] = '\0';
    *outlen = total;
    proto_conn_release(srv, &pc);
    buf_deinit(&in);
    buf_deinit(&out);
    return acc;
}

#endif
