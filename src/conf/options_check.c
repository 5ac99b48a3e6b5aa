/* options_check.c: the checks between options and of final values (-I
 * against -m, -u root refused, --format without --check-config, what -Z
 * and -S need, memcached's own rules for options that have no effect here), run
 * once after every source (defaults, file, command line) has been applied;
 * then the start-up notice for each of memcached's options given that has
 * no effect here; and the one value derived from several options (the
 * connection-buffer budget). Each check is a row of cross_checks[]: a new
 * rule is one function and one row. */
#include "conf/options.h"

#include <pwd.h>
#include <stdlib.h>
#include <string.h>

#include "base/show.h"
#include "sec/allowlist.h"
#include "sec/tlsid.h"

typedef bool cross_check_fn(const struct settings *s, char *err, size_t errlen);

/* Writes "hardcached: <label A>: <value A> <what> <label B> <value B>; <fix>". */
static bool cross_fail(const struct settings *s, const char *a, const char *what,
                       const char *b, const char *fix, char *err, size_t errlen)
{
    const struct option_row *ra = options_find(a), *rb = options_find(b);
    char la[64], lb[64], va[64], vb[64];
    options_label(ra, la, sizeof la);
    options_label(rb, lb, sizeof lb);
    options_format(s, ra, va, sizeof va);
    options_format(s, rb, vb, sizeof vb);
    snprintf(err, errlen, "hardcached: %s: %s %s %s %s; %s", la, va, what, lb, vb, fix);
    return false;
}

/* memcached's rule: an item may use at most half of the memory. */
static bool check_item_vs_memory(const struct settings *s, char *err, size_t errlen)
{
    if (s->item_size_max <= s->mem_limit / 2) {
        return true;
    }
    return cross_fail(s, "max-item-size", "is more than half of", "memory-limit",
                      "lower -I or raise -m", err, errlen);
}

static bool check_chunk_vs_item(const struct settings *s, char *err, size_t errlen)
{
    if (s->chunk_min < s->item_size_max) {
        return true;
    }
    return cross_fail(s, "slab-min-size", "must be less than", "max-item-size",
                      "lower -n or raise -I", err, errlen);
}

/* SECURITY: -u root would keep every privilege the drop is there to shed
 * (SPEC §3). Refused by name, as uid 0 ("0", or an alias such as toor),
 * and whether or not we start as root: the setting itself is the mistake. */
static bool check_user_not_root(const struct settings *s, char *err, size_t errlen)
{
    const struct passwd *pw = NULL;
    char label[64], clean[80];
    bool root = strcmp(s->user, "root") == 0 || strcmp(s->user, "0") == 0;
    if (!root) {
        pw = getpwnam(s->user);
        root = pw != NULL && pw->pw_uid == 0;
    }
    if (!root) {
        return true;
    }
    options_label(options_find("user"), label, sizeof label);
    show_text(s->user, clean, sizeof clean);
    snprintf(err, errlen, "hardcached: %s: refusing to run as root%s%s%s; name an "
             "unprivileged user (default: memcache)", label,
             pw ? " (user \"" : "", pw ? clean : "", pw ? "\" has uid 0)" : "");
    return false;
}

/* --format and --fail-on shape --check-config's output; given alone they
 * would be silently ignored, which is never what the operator meant. */
static bool check_audit_flags(const struct settings *s, char *err, size_t errlen)
{
    const char *name = s->audit_format != AUDIT_FORMAT_TEXT ? "format"
                     : s->audit_fail_on != AUDIT_FAIL_ON_WARNING ? "fail-on" : NULL;
    if (s->check_config || name == NULL) {
        return true;
    }
    snprintf(err, errlen, "hardcached: --%s: only applies with --check-config", name);
    return false;
}

/* "hardcached: <label of row name>: " into err; the length written. */
static size_t label_prefix(const char *name, char *err, size_t errlen)
{
    char label[64];
    options_label(options_find(name), label, sizeof label);
    int n = snprintf(err, errlen, "hardcached: %s: ", label);
    return n < 0 ? 0 : (size_t)n < errlen ? (size_t)n : errlen - 1;
}

/* -Z without a certificate would have nothing to present. (The files are
 * read at start-up, not here: --check-config's audit says whether they
 * can be.) The ssl_* keys without -Z are ignored, as memcached does; the
 * audit says so. */
static bool check_tls_cert(const struct settings *s, char *err, size_t errlen)
{
    if (!s->ssl_enabled || s->ssl_chain_cert[0] != '\0') {
        return true;
    }
    size_t n = label_prefix("enable-ssl", err, errlen);
    snprintf(err + n, errlen - n, "needs -o ssl_chain_cert=FILE (the server's certificate "
             "and its chain, PEM; and ssl_key=FILE when the key is not in that file)");
    return false;
}

/* SECURITY: memcached starts with ssl_verify_mode 1-3 and no CA, then fails
 * every client certificate: a configuration that looks like mutual TLS and
 * verifies nothing. Refused, naming both ways out. */
static bool check_tls_verify_ca(const struct settings *s, char *err, size_t errlen)
{
    if (!s->ssl_enabled || s->ssl_verify_mode == 0 || s->ssl_ca_cert[0] != '\0') {
        return true;
    }
    size_t n = label_prefix("ssl_verify_mode", err, errlen);
    snprintf(err + n, errlen - n, "%d asks for client certificates, but ssl_ca_cert is not "
             "set, so none can be verified; give -o ssl_ca_cert=FILE (the CAs they must "
             "chain to) or set ssl_verify_mode=0", s->ssl_verify_mode);
    return false;
}

/* SECURITY: --tls-client-identity narrows who a verified certificate
 * admits; it means nothing unless every client must show one (-Z with
 * ssl_verify_mode 2 or 3), so anything less is refused rather than
 * silently serving clients without a certificate. */
static bool check_tls_identity(const struct settings *s, char *err, size_t errlen)
{
    struct tlsid_list ids;
    char why[384];
    if (s->tls_client_identity[0] == '\0') {
        return true;
    }
    size_t n = label_prefix("tls-client-identity", err, errlen);
    if (!tlsid_parse(span_cstr(s->tls_client_identity), &ids, why, sizeof why)) {
        snprintf(err + n, errlen - n, "%s", why);
    } else if (!s->ssl_enabled) {
        snprintf(err + n, errlen - n, "needs -Z (it checks the certificates of TLS clients)");
    } else if (s->ssl_verify_mode != 2 && s->ssl_verify_mode != 3) {
        snprintf(err + n, errlen - n, "needs -o ssl_verify_mode=2 or 3 (every client shows "
                 "a certificate), not %d", s->ssl_verify_mode);
    } else {
        return true;
    }
    return false;
}

/* An OPT_IGNORED row's value as a number, or def when it was not given. */
static unsigned long long ignored_number(const struct settings *s, const char *name,
                                         unsigned long long def)
{
    const char *v = options_ignored_value(s, options_find(name));
    return v != NULL && v[0] != '\0' ? strtoull(v, NULL, 10) : def;
}

/* memcached refuses these although they change nothing here: a command
 * line means the same to both servers (its defaults: hot 20, warm 40). */
static bool check_memcached_rules(const struct settings *s, char *err, size_t errlen)
{
    unsigned long long hot = ignored_number(s, "hot_lru_pct", 20);
    unsigned long long warm = ignored_number(s, "warm_lru_pct", 40);
    unsigned long long chunk = ignored_number(s, "slab_chunk_max", 0);
    size_t n;
    if (hot + warm > 80) {
        n = label_prefix("hot_lru_pct", err, errlen);
        snprintf(err + n, errlen - n, "%llu and warm_lru_pct %llu add up to more than 80 "
                 "(memcached refuses it too)", hot, warm);
        return false;
    }
    if (chunk != 0 && ((1u << 20) % chunk != 0 || s->item_size_max % chunk != 0)) {
        n = label_prefix("slab_chunk_max", err, errlen);
        snprintf(err + n, errlen - n, "%llu must divide 1048576 (the page size) and "
                 "-I/--max-item-size %zu (memcached refuses it too)", chunk,
                 s->item_size_max);
        return false;
    }
    return true;
}

/* memcached's name for the file of its own SASL password database. */
#define SASL_PWDB_ENV "MEMCACHED_SASL_PWDB"

/* -S's credentials: --sasl-pwdb, else MEMCACHED_SASL_PWDB; NULL if neither. */
static const char *sasl_source(const struct settings *s)
{
    const char *env = getenv(SASL_PWDB_ENV);
    if (s->sasl_pwdb[0] != '\0') {
        return s->sasl_pwdb;
    }
    return env != NULL && env[0] != '\0' ? env : NULL;
}

/* memcached's rules between -B, -S and -Y: SASL is binary only, -Y ASCII
 * only (it refuses -S -B ascii and -Y -B binary with these words). -B auto
 * is resolved by options_validate. */
static bool check_protocol(const struct settings *s, char *err, size_t errlen)
{
    size_t n = label_prefix("protocol", err, errlen);
    if (s->sasl && s->protocol == SETTINGS_PROTO_ASCII) {
        snprintf(err + n, errlen - n, "ascii: you cannot allow the ASCII protocol while "
                 "using SASL (-S), as memcached says; use -B binary or no -B");
    } else if (!s->sasl && s->auth_file[0] != '\0' && s->protocol == SETTINGS_PROTO_BINARY) {
        snprintf(err + n, errlen - n, "binary: you cannot allow the BINARY protocol while "
                 "using ascii authentication tokens (-Y), as memcached says");
    } else {
        return true;
    }
    return false;
}

/* SECURITY: -S must have credentials (never served open), and -Y beside it
 * would be ambiguous: memcached 1.6.18 then serves ASCII only and never
 * reaches SASL. Both refused, naming the way out. */
static bool check_sasl(const struct settings *s, char *err, size_t errlen)
{
    const char *src = sasl_source(s);
    size_t n = label_prefix(s->sasl ? "enable-sasl" : "sasl-pwdb", err, errlen);
    if (!s->sasl) {
        if (s->sasl_pwdb[0] == '\0') {
            return true;
        }
        snprintf(err + n, errlen - n, "only applies with -S/--enable-sasl");
    } else if (s->auth_file[0] != '\0' && (src == NULL || strcmp(s->auth_file, src) != 0)) {
        snprintf(err + n, errlen - n, "cannot be used with -Y/--auth-file (ASCII logins; "
                 "memcached would then serve ASCII only and never SASL): give SASL's "
                 "credentials with --sasl-pwdb or " SASL_PWDB_ENV " and drop -Y");
    } else if (src == NULL) {
        snprintf(err + n, errlen - n, "needs credentials: --sasl-pwdb FILE or the "
                 SASL_PWDB_ENV " environment variable naming a file of \"user:password\" "
                 "lines (the format of -Y's file)");
    } else if (strlen(src) >= sizeof s->sasl_pwdb) {
        snprintf(err + n, errlen - n, SASL_PWDB_ENV " is longer than %zu bytes",
                 sizeof s->sasl_pwdb - 1);
    } else {
        return true;
    }
    return false;
}

/* What -B auto and -S mean once everything is known (see options_validate). */
static void resolve_protocol(struct settings *s)
{
    const char *src = sasl_source(s);
    if (s->sasl && src != NULL) {
        memmove(s->sasl_pwdb, src, strlen(src) + 1);
        memcpy(s->auth_file, s->sasl_pwdb, sizeof s->auth_file);
        s->protocol = SETTINGS_PROTO_BINARY;
    } else if (s->auth_file[0] != '\0' && s->protocol == SETTINGS_PROTO_AUTO) {
        s->protocol = SETTINGS_PROTO_ASCII;
    }
}

static cross_check_fn *const cross_checks[] = {
    check_item_vs_memory,
    check_chunk_vs_item,
    check_user_not_root,
    check_audit_flags,
    check_tls_cert,
    check_tls_verify_ca,
    check_tls_identity,
    check_memcached_rules,
    check_protocol,
    check_sasl,
};

void options_print_ignored(const struct settings *s, FILE *out)
{
    char line[1024];
    for (int i = 0; i < s->nignored; i++) {
        options_ignored_text(s, i, line, sizeof line);
        fprintf(out, "hardcached: %s\n", line);
    }
    fflush(out);
}

bool options_validate(struct settings *s, char *err, size_t errlen)
{
    for (size_t i = 0; i < sizeof cross_checks / sizeof cross_checks[0]; i++) {
        if (!cross_checks[i](s, err, errlen)) {
            return false;
        }
    }
    resolve_protocol(s);
    /* The one change validation makes (through the pointer): the allowlist
     * is final, sorted and searchable from here on. */
    if (s->allow != NULL) {
        allowlist_seal(s->allow);
    }
    return true;
}

size_t options_conn_mem_budget(const struct settings *s)
{
    size_t floor = 2 * s->item_size_max + 2 * 1024 * 1024;
    size_t limit = s->conn_mem_limit ? s->conn_mem_limit : OPTIONS_CONN_MEM_DEFAULT;
    return limit > floor ? limit : floor;
}

