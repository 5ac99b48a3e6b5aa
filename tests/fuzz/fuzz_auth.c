/* fuzz_auth.c: -Y's two readers of untrusted bytes. Byte 0 picks the size
 * of reads (1-127 bytes, 0: 16 KiB); the rest is read twice. First as a -Y
 * file (auth_db_parse): a refusal is one printable line "line N: ..." with
 * N at most the file's lines + 1; an acceptance holds 1 to AUTH_MAX_ENTRIES
 * entries, and every entry the harness reads from the same bytes (its own
 * split at "\n" and the first ':') logs in, while its password with one
 * byte more does not (unless another entry is exactly that). Then as what a
 * client sends a server started with -Y (credentials alice:secret and
 * bob:hunter2), in reads of that size, driven through proto_process as
 * net/conn.c drives it. Invariants: nothing consumed beyond what was given;
 * while not logged in, one call answers at most one of memcached's four
 * refusals, nothing is stored, and a waiting connection holds at most one
 * line and one login block; the call that logs in answers STORED first;
 * auth_failures grows exactly with auth_errors. Each input gets a fresh
 * store. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/clock.h"
#include "conf/settings.h"
#include "fuzz_common.h"
#include "proto/proto.h"
#include "proto/stats.h"
#include "sec/auth.h"
#include "store/store.h"

#define FA_EPOCH 1700000000
#define FA_READ 16384                 /* net/conn.c reads at most this much */
#define FA_BUDGET 20                  /* -R's default */
#define FA_HOLD_MAX ((PROTO_LINE_MAX + 1) + PROTO_AUTH_DATA_MAX + 2)

static struct thread_stats fa_stats;
static struct settings fa_settings;
static struct proto_server fa_srv;

static void fa_die(const char *what, const char *detail)
{
    fuzz_die("fuzz_auth", what, detail);
}

static void fa_info(struct server_info *si)
{
    memset(si, 0, sizeof(*si));
    si->libevent_version = "fuzz";
}

static bool fa_conns(struct buf *out)
{
    (void)out;
    return true;
}

static const struct stats_source fa_src = { fa_info, fa_conns };

/* ---- the file --------------------------------------------------------- */

struct fa_entry {
    struct span user, pass;
};

/* The harness's own reading of an accepted file: lines, "\r" cut, the
 * first ':' splits. Returns how many (at most AUTH_MAX_ENTRIES + 1). */
static size_t fa_entries(const char *data, size_t size, struct fa_entry *e)
{
    size_t n = 0, start = 0;
    for (size_t i = 0; i < size && n <= AUTH_MAX_ENTRIES; i++) {
        if (data[i] != '\n') {
            continue;
        }
        size_t end = i > start && data[i - 1] == '\r' ? i - 1 : i;
        struct span line = span_of(data + start, end - start);
        size_t colon = span_find(line, ':');
        e[n].user = span_sub(line, 0, colon);
        e[n].pass = span_sub(line, colon + 1, SIZE_MAX);
        n++;
        start = i + 1;
    }
    return n;
}

static bool fa_listed(const struct fa_entry *e, size_t n, struct span user, struct span pass)
{
    for (size_t i = 0; i < n; i++) {
        if (span_eq_span(e[i].user, user) && span_eq_span(e[i].pass, pass)) {
            return true;
        }
    }
    return false;
}

static void fa_check_accepted(const struct auth_db *db, const char *data, size_t size)
{
    struct fa_entry e[AUTH_MAX_ENTRIES + 1];
    size_t n = fa_entries(data, size, e);
    if (n == 0 || n > AUTH_MAX_ENTRIES || auth_db_count(db) != n) {
        fa_die("accepted file: entry count", "");
    }
    for (size_t i = 0; i < n; i++) {
        char longer[AUTH_LINE_MAX + 2];
        if (!auth_db_check(db, e[i].user, e[i].pass)) {
            fa_die("an accepted entry does not log in", "");
        }
        if (e[i].pass.n > AUTH_LINE_MAX) {
            fa_die("an accepted line is longer than AUTH_LINE_MAX", "");
        }
        memcpy(longer, e[i].pass.p, e[i].pass.n);
        longer[e[i].pass.n] = 'x';
        struct span pass = span_of(longer, e[i].pass.n + 1);
        if (auth_db_check(db, e[i].user, pass) != fa_listed(e, n, e[i].user, pass)) {
            fa_die("a password with one byte more logs in", "");
        }
    }
}

static void fa_check_refused(const char *err, size_t errlen, const char *data, size_t size)
{
    fuzz_check_message("fuzz_auth", err, errlen, "line ");
    unsigned long line = strtoul(err + 5, NULL, 10);
    size_t lines = span_count(span_of(data, size), '\n') + 1;
    if (line == 0 || line > lines) {
        fa_die("a refusal names a line the file does not have", err);
    }
}

static void fa_file(const uint8_t *data, size_t size)
{
    char err[256];
    memset(err, 0x7f, sizeof(err));
    struct auth_db *db = auth_db_parse((const char *)data, size, err, sizeof(err));
    if (db != NULL) {
        fa_check_accepted(db, (const char *)data, size);
    } else {
        fa_check_refused(err, sizeof(err), (const char *)data, size);
    }
    auth_db_free(db);
}

/* ---- the connection --------------------------------------------------- */

struct fa_conn {
    struct proto_conn pc;
    struct buf in, out;
    uint64_t errors0;             /* auth_errors when the input began */
};

static bool fa_is_refusal(const char *p, size_t n)
{
    static const char *const refusals[] = {
        "CLIENT_ERROR unauthenticated\r\n",
        "CLIENT_ERROR authentication failure\r\n",
        "CLIENT_ERROR bad authentication token format\r\n",
        "CLIENT_ERROR bad command line termination\r\n",
    };
    for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
        if (n == strlen(refusals[i]) && memcmp(p, refusals[i], n) == 0) {
            return true;
        }
    }
    return false;
}

/* What one proto_process call left, judged by whether it logged in. */
static void fa_check_call(struct fa_conn *fc, bool was_in, enum proto_stop why)
{
    const char *out = buf_len(&fc->out) > 0 ? buf_head(&fc->out) : "";
    size_t n = buf_len(&fc->out);
    if (fc->pc.auth_failures != fa_stats.auth_errors - fc->errors0) {
        fa_die("auth_failures and auth_errors disagree", "");
    }
    if (fc->pc.authenticated) {
        if (!was_in && (n < 8 || memcmp(out, "STORED\r\n", 8) != 0)) {
            fa_die("the call that logged in did not answer STORED first", "");
        }
        return;
    }
    if (n > 0 && !fa_is_refusal(out, n)) {
        fa_die("before login a call answered more than one refusal", "");
    }
    struct store_stats ss;
    store_stats(fa_srv.store, &ss);
    if (ss.total_items != 0) {
        fa_die("something was stored before login", "");
    }
    if (why == PROTO_STOP_NEED_INPUT && buf_len(&fc->in) > FA_HOLD_MAX) {
        fa_die("an unauthenticated connection waits holding more than a line and a login", "");
    }
}

/* net/conn.c's loop after a read; false once the connection closed. */
static bool fa_drive(struct fa_conn *fc)
{
    for (int calls = 0; calls < 10000; calls++) {
        enum proto_stop why;
        int budget = FA_BUDGET;
        size_t len = buf_len(&fc->in);
        bool was_in = fc->pc.authenticated;
        size_t used = proto_process(&fa_srv, &fc->pc, len > 0 ? buf_head(&fc->in) : "", len,
                                    &fc->out, &budget, &why);
        if (used > len) {
            fa_die("consumed more than given", "");
        }
        buf_consume(&fc->in, used);
        fa_check_call(fc, was_in, why);
        buf_consume(&fc->out, buf_len(&fc->out));
        if (why == PROTO_STOP_CLOSE) {
            return false;
        }
        if (why == PROTO_STOP_NEED_INPUT) {
            return true;
        }
    }
    fa_die("no progress", "");
    return false;
}

static void fa_connection(const uint8_t *data, size_t size)
{
    struct store_config cfg;
    size_t chunk = (data[0] & 0x7f) != 0 ? (size_t)(data[0] & 0x7f) : FA_READ;
    struct fa_conn fc;
    clock_init(FA_EPOCH);
    proto_store_config(&fa_settings, &cfg);
    cfg.hash_power = 16;
    fa_srv.store = store_create(&cfg);
    if (fa_srv.store == NULL) {
        fa_die("store_create failed", "");
    }
    proto_conn_init(&fc.pc, &fa_stats);
    buf_init(&fc.in, PROTO_GET_LINE_MAX + FA_READ);
    buf_init(&fc.out, 64u << 20);
    fc.errors0 = fa_stats.auth_errors;
    bool open = true;
    for (size_t pos = 1; open && pos < size;) {
        size_t n = size - pos < chunk ? size - pos : chunk;
        size_t room = fc.in.limit - buf_len(&fc.in);
        n = n < room ? n : room;
        if (n > 0 && !buf_append(&fc.in, data + pos, n)) {
            fa_die("input buffer refused bytes within its limit", "");
        }
        pos += n > 0 ? n : chunk;
        open = fa_drive(&fc);
    }
    proto_conn_release(&fa_srv, &fc.pc);
    buf_deinit(&fc.in);
    buf_deinit(&fc.out);
    store_destroy(&fa_srv.store);
}

static void fa_once(void)
{
    static const char creds[] = "alice:secret\nbob:hunter2\n";
    char err[128];
    stats_register_thread(&fa_stats);
    settings_defaults(&fa_settings);
    fa_settings.mem_limit = 2u * 1024 * 1024;
    fa_settings.item_size_max = 64 * 1024;
    fa_srv.settings = &fa_settings;
    fa_srv.stats_src = &fa_src;
    fa_srv.auth_required = true;
    struct auth_db *db = auth_db_parse(creds, sizeof(creds) - 1, err, sizeof(err));
    if (db == NULL) {
        fa_die("the harness's credentials were refused", err);
    }
    auth_install(db);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool once;
    if (!once) {
        fa_once();
        once = true;
    }
    if (size == 0) {
        return 0;
    }
    fa_file(data + 1, size - 1);
    fa_connection(data, size);
    return 0;
}
