/* options_stats.c: `stats settings`, memcached's list of its settings: the
 * rows with a stats name, printed in memcached 1.6's order and formats
 * (enum option_stats), then ours; facts of hardcached that memcached
 * reports as settings (no LRU crawler, the hash) come from
 * stats_fixed[]: fixed values, true whatever memcached option was given
 * (those have no effect here). */
#include "conf/options.h"

#include <string.h>

#include "sec/allowlist.h"

/* memcached 1.6's order; rows with a stats name not listed here follow. */
static const char *const stats_order[] = {
    "maxbytes", "maxconns", "tcpport", "udpport", "inter", "verbosity",
    "evictions", "domain_socket", "umask", "shutdown_command", "growth_factor",
    "chunk_size", "num_threads", "detail_enabled", "reqs_per_event", "cas_enabled",
    "tcp_backlog", "binding_protocol", "auth_enabled_sasl", "auth_enabled_ascii",
    "item_size_max", "maxconns_fast", "hashpower_init", "slab_reassign", "lru_crawler",
    "flush_enabled", "dump_enabled", "hash_algorithm", "lru_maintainer_thread",
    "lru_segmented", "temp_lru", "idle_timeout", "read_buf_mem_limit", "track_sizes",
    "inline_ascii_response", "ssl_enabled", "ssl_chain_cert",
    "ssl_key", "ssl_verify_mode", "ssl_keyformat", "ssl_ciphers", "ssl_ca_cert",
    "ssl_session_cache", "ssl_kernel_tls", "ssl_min_version",
};

/* Settings memcached reports that are facts of hardcached, not options. */
static const struct { const char *name, *value; } stats_fixed[] = {
    { "detail_enabled", "no" },       /* no per-prefix statistics (-D) */
    { "maxconns_fast", "yes" },       /* -c reached: ERROR, then close */
    { "slab_reassign", "yes" },       /* pages move between classes on demand */
    { "lru_crawler", "no" },          /* expired items are dropped lazily */
    { "dump_enabled", "no" },         /* stats cachedump is never served */
    { "hash_algorithm", "xxh3" },     /* keyed XXH3 (store/hash.c) */
    { "lru_maintainer_thread", "no" },
    { "lru_segmented", "no" },        /* one LRU per class, second chance */
    { "temp_lru", "no" },
    { "track_sizes", "no" },          /* stats sizes: sizes_status disabled */
    { "inline_ascii_response", "no" }, /* memcached 1.6 prints no, always */
    { "ssl_kernel_tls", "no" },       /* OpenSSL in user space, no kTLS offload */
};

static void stats_value(const struct settings *s, const struct option_row *r,
                        char *buf, size_t len)
{
    const void *p = options_field(s, r);
    switch (r->stats) {
    case OPT_S_NUM:
        if (r->ctype == OPT_C_DOUBLE) {
            snprintf(buf, len, "%.2f", *(const double *)p);
        } else {
            snprintf(buf, len, "%llu", options_uint(s, r));
        }
        break;
    case OPT_S_ONOFF: snprintf(buf, len, "%s", *(const bool *)p ? "on" : "off"); break;
    case OPT_S_YESNO: snprintf(buf, len, "%s", *(const bool *)p ? "yes" : "no"); break;
    case OPT_S_OCTAL: snprintf(buf, len, "%llo", options_uint(s, r)); break;
    case OPT_S_STRING:
        snprintf(buf, len, "%s", *(const char *)p ? (const char *)p : "NULL");
        break;
    case OPT_S_CSTRING:
        snprintf(buf, len, "%s", *(const char *)p ? (const char *)p : "(null)");
        break;
    case OPT_S_GIVEN: snprintf(buf, len, "%s", *(const char *)p ? "yes" : "no"); break;
    case OPT_S_TLSVER: snprintf(buf, len, "tlsv1.%d", *(const int *)p); break;
    case OPT_S_VERIFY: {
        static const int flags[] = { 0, 1, 3, 7 };  /* PEER, FAIL_IF_NO_PEER_CERT, CLIENT_ONCE */
        int mode = *(const int *)p;
        snprintf(buf, len, "%d", mode >= 0 && mode <= 3 ? flags[mode] : mode);
        break;
    }
    case OPT_S_PROTOCOL: {
        static const char *const words[] = { "auto-negotiate", "ascii", "binary" };
        int proto = *(const int *)p;
        snprintf(buf, len, "%s", proto >= 0 && proto <= 2 ? words[proto] : "?");
        break;
    }
    case OPT_S_ASCII_AUTH:
        snprintf(buf, len, "%s", *(const char *)p && !s->sasl ? "yes" : "no");
        break;
    case OPT_S_ENTRIES:
        snprintf(buf, len, "%zu", allowlist_count(*(struct allowlist *const *)p));
        break;
    case OPT_S_WORD:
    default:
        options_format(s, r, buf, len);
        break;
    }
}

static const struct option_row *row_by_stats(const char *name)
{
    for (size_t i = 0; i < options_count; i++) {
        const char *sn = options_table[i].stats_name;
        if (sn != NULL && strcmp(sn, name) == 0) {
            return &options_table[i];
        }
    }
    return NULL;
}

static bool stats_listed(const char *name)
{
    for (size_t i = 0; i < sizeof stats_order / sizeof stats_order[0]; i++) {
        if (strcmp(stats_order[i], name) == 0) {
            return true;
        }
    }
    return false;
}

static void stats_emit(const struct settings *s, const char *name,
                       void (*fn)(void *, const char *, const char *), void *ctx)
{
    const struct option_row *r = row_by_stats(name);
    char value[SETTINGS_MAX_LISTEN * 272];
    if (r != NULL) {
        stats_value(s, r, value, sizeof value);
        fn(ctx, name, value);
        return;
    }
    for (size_t i = 0; i < sizeof stats_fixed / sizeof stats_fixed[0]; i++) {
        if (strcmp(stats_fixed[i].name, name) == 0) {
            fn(ctx, name, stats_fixed[i].value);
        }
    }
}

void options_each_setting(const struct settings *s,
                          void (*fn)(void *ctx, const char *name, const char *value),
                          void *ctx)
{
    for (size_t i = 0; i < sizeof stats_order / sizeof stats_order[0]; i++) {
        stats_emit(s, stats_order[i], fn, ctx);
    }
    for (size_t i = 0; i < options_count; i++) {
        const char *sn = options_table[i].stats_name;
        if (sn != NULL && !stats_listed(sn)) {
            stats_emit(s, sn, fn, ctx);
        }
    }
}
