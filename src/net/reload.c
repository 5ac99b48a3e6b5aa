/* reload.c: start-up loading and later reloads of the certificates, the -Y
 * credentials and the --allow-file lists, all through the reader process
 * (see reload.h). The reader is asked for every file at once and each
 * consumer takes its slots; which slot holds which file is decided here
 * once, from the settings. */
#include "net/reload.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "net/counters.h"
#include "net/tls.h"
#include "sec/allowlist.h"
#include "sec/auth.h"
#include "sec/reader.h"

/* Slots of the reader's file list; -1 when the file is not configured. */
struct slots {
    int chain, key, ca, auth;
    int allow[SETTINGS_MAX_ALLOW_FILES];
    int nallow;
};

static const struct settings *cfg;
static struct allowlist **live_allow;
static struct reader *rd;
static struct slots slot;
static const char *paths[READER_MAX_FILES];
static size_t npaths;

static int add_path(const char *path)
{
    if (path[0] == '\0') {
        return -1;
    }
    paths[npaths] = path;
    return (int)npaths++;
}

static void plan_slots(const struct settings *s)
{
    npaths = 0;
    slot.chain = s->ssl_enabled ? add_path(s->ssl_chain_cert) : -1;
    slot.key = s->ssl_enabled ? add_path(s->ssl_key) : -1;
    slot.ca = s->ssl_enabled ? add_path(s->ssl_ca_cert) : -1;
    slot.auth = add_path(s->auth_file);
    slot.nallow = 0;
    for (int i = 0; i < s->nallow_files; i++) {
        slot.allow[slot.nallow++] = add_path(s->allow_files[i]);
    }
}

static struct tls_file tls_file_of(const struct reader_file *files, int i)
{
    struct tls_file f = { .path = "" };
    if (i >= 0) {
        f.path = paths[i];
        f.err = files[i].err;
        f.data = files[i].data;
        f.len = files[i].len;
    }
    return f;
}

static bool load_certs(const struct reader_file *files, char *err, size_t errlen)
{
    struct tls_file chain = tls_file_of(files, slot.chain);
    struct tls_file key = tls_file_of(files, slot.key);
    struct tls_file ca = tls_file_of(files, slot.ca);
    return tls_load(&chain, &key, &ca, err, errlen);
}

static bool load_auth(const struct reader_file *files, char *err, size_t errlen)
{
    const struct reader_file *f = &files[slot.auth];
    char why[256];
    if (f->err != 0) {
        snprintf(err, errlen, "%.300s: %s", cfg->auth_file, strerror(f->err));
        return false;
    }
    struct auth_db *db = auth_db_parse(f->data, f->len, why, sizeof why);
    if (db == NULL) {
        snprintf(err, errlen, "%.300s: %.200s", cfg->auth_file, why);
        return false;
    }
    auth_install(db);
    return true;
}

/* The --allow networks, then every file's, sealed; NULL + err. */
static struct allowlist *build_allowlist(const struct reader_file *files, char *err, size_t errlen)
{
    struct allowlist *al = allowlist_create();
    struct allowlist_net net;
    bool ok = al != NULL;
    for (size_t i = 0; ok && allowlist_net_at(cfg->allow_inline, i, &net); i++) {
        ok = allowlist_add(al, net.text, err, errlen);
    }
    for (int i = 0; ok && i < slot.nallow; i++) {
        const struct reader_file *f = &files[slot.allow[i]];
        size_t before = allowlist_count(al);
        if (f->err != 0) {
            snprintf(err, errlen, "%.300s: %s", paths[slot.allow[i]], strerror(f->err));
            ok = false;
        } else if (!allowlist_add_text(al, paths[slot.allow[i]], f->data, f->len, err, errlen)) {
            ok = false;
        } else if (allowlist_count(al) == before) {
            snprintf(err, errlen, "%.300s: no network in the file; the old allowlist stays",
                     paths[slot.allow[i]]);
            ok = false;
        }
    }
    if (!ok) {
        if (al == NULL) {
            snprintf(err, errlen, "out of memory for the allowlist");
        }
        allowlist_destroy(&al);
        return NULL;
    }
    allowlist_seal(al);
    return al;
}

static bool fetch(struct reader_file *files, char *err, size_t errlen)
{
    memset(files, 0, sizeof(struct reader_file) * READER_MAX_FILES);
    return reader_fetch(rd, files, err, errlen);
}

bool reload_start(const struct settings *s, struct allowlist **allow, bool *usage,
                  char *err, size_t errlen)
{
    struct reader_file files[READER_MAX_FILES];
    char why[512];
    cfg = s;
    live_allow = allow;
    plan_slots(s);
    *usage = false;
    if (s->ssl_enabled && !tls_init(s, err, errlen)) {
        return false;
    }
    if (npaths == 0) {
        return true;
    }
    rd = reader_start(paths, npaths, err, errlen);
    if (rd == NULL || !fetch(files, err, errlen)) {
        return false;
    }
    *usage = true;
    bool ok = true;
    if (slot.chain >= 0 && !load_certs(files, why, sizeof why)) {
        snprintf(err, errlen, "TLS (-Z): %s", why);
        ok = false;
    } else if (slot.auth >= 0 && !load_auth(files, why, sizeof why)) {
        snprintf(err, errlen, "%s: %s", s->sasl ? "SASL password file (-S)" : "auth file (-Y)",
                 why);
        ok = false;
    }
    reader_files_free(files, npaths);
    return ok;
}

bool reload_certs(char *msg, size_t msglen)
{
    struct reader_file files[READER_MAX_FILES];
    if (rd == NULL || slot.chain < 0) {
        snprintf(msg, msglen, "Error TLS not enabled");
        return false;
    }
    if (!fetch(files, msg, msglen)) {
        return false;
    }
    bool ok = load_certs(files, msg, msglen);
    reader_files_free(files, npaths);
    return ok;
}

static void reload_failed(const char *what, const char *why)
{
    atomic_fetch_add(&net_counters.config_reload_errors, 1);
    fprintf(stderr, "hardcached: SIGHUP: %s not reloaded, the old one stays: %s\n", what, why);
}

void reload_all(void)
{
    struct reader_file files[READER_MAX_FILES];
    char why[512];
    atomic_fetch_add(&net_counters.config_reloads, 1);
    if (rd == NULL) {
        return;
    }
    if (!fetch(files, why, sizeof why)) {
        reload_failed("any file", why);
        return;
    }
    if (slot.chain >= 0 && !load_certs(files, why, sizeof why)) {
        reload_failed("the TLS certificate", why);
    }
    if (slot.auth >= 0 && !load_auth(files, why, sizeof why)) {
        reload_failed("the -Y file", why);
    }
    if (slot.nallow > 0) {
        struct allowlist *al = build_allowlist(files, why, sizeof why);
        if (al == NULL) {
            reload_failed("the allowlist", why);
        } else {
            allowlist_destroy(live_allow);
            *live_allow = al;
        }
    }
    reader_files_free(files, npaths);
}

pid_t reload_reader_pid(void)
{
    return rd ? reader_pid(rd) : 0;
}
