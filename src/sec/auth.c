/* auth.c: -Y, memcached's ASCII authentication. Owns the strict reading of
 * the "user:password" file (operator input: refused, naming the line, when
 * memcached 1.6.18 would load it wrongly), the credentials in force behind a
 * read-write lock, the constant-time check of one login, and the per-source
 * count of failed logins. Keeps only SHA-256 digests of users and passwords,
 * compared with CRYPTO_memcmp against every entry: no early exit, no length
 * or prefix shows in the time a login takes. */
#include "sec/auth.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#define DIGEST_LEN 32               /* SHA-256 */

struct auth_entry {
    unsigned char user[DIGEST_LEN];
    unsigned char pass[DIGEST_LEN];
};

struct auth_db {
    size_t n;
    struct auth_entry e[AUTH_MAX_ENTRIES];
};

/* ---- SHA-256 ---------------------------------------------------------- */

static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;
static EVP_MD *sha256_md;

/* Fetched once and kept: the fetch may read OpenSSL's configuration, which
 * the seccomp filter forbids later; a kept EVP_MD is never fetched again. */
static void sha256_fetch(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA2-256", NULL);
}

static bool digest(struct span s, unsigned char out[DIGEST_LEN])
{
    unsigned int n = 0;
    pthread_once(&sha256_once, sha256_fetch);
    return sha256_md != NULL
           && EVP_Digest(s.n > 0 ? s.p : "", s.n, out, &n, sha256_md, NULL) == 1
           && n == DIGEST_LEN;
}

/* ---- the file --------------------------------------------------------- */

/* What is wrong with one line's text (its line end cut off), or NULL. The
 * messages name the fault, never the bytes. */
static const char *line_fault(struct span text, struct span *user, struct span *pass)
{
    if (span_find(text, '\0') != text.n) {
        return "a NUL byte (memcached ends the entry there)";
    }
    if (span_find(text, '\r') != text.n) {
        return "a carriage return inside the line (memcached cuts the password there)";
    }
    if (span_is_empty(text)) {
        return "an empty line (memcached refuses the whole file)";
    }
    size_t colon = span_find(text, ':');
    if (colon == text.n) {
        return "no ':' between user and password";
    }
    *user = span_sub(text, 0, colon);
    *pass = span_sub(text, colon + 1, SIZE_MAX);
    if (span_is_empty(*user)) {
        return "an empty user";
    }
    if (span_is_empty(*pass)) {
        return "an empty password";
    }
    if (span_find(*user, ' ') != user->n) {
        return "a space in the user (a login splits at spaces: it could never match)";
    }
    if (span_find(*pass, ' ') != pass->n) {
        return "a space in the password (a login splits at spaces: it could never match)";
    }
    return NULL;
}

/* Cuts the next line off *rest into *text (without "\n" or "\r\n"); NULL,
 * or what is wrong with the line's length or end. */
static const char *next_line(struct span *rest, struct span *text)
{
    struct span window = span_sub(*rest, 0, AUTH_LINE_MAX);
    size_t nl = span_find(window, '\n');
    if (nl == window.n) {
        return rest->n >= AUTH_LINE_MAX
               ? "longer than 255 bytes with its line end (memcached would cut it)"
               : "no newline at its end (memcached 1.6.18 drops the password's last byte)";
    }
    *text = span_sub(*rest, 0, nl);
    if (nl > 0 && text->p[nl - 1] == '\r') {
        text->n--;
    }
    *rest = span_sub(*rest, nl + 1, SIZE_MAX);
    return NULL;
}

static struct auth_db *refuse(struct auth_db *db, char *err, size_t errlen, size_t line,
                              const char *why)
{
    snprintf(err, errlen, "line %zu: %s", line, why);
    auth_db_free(db);
    return NULL;
}

struct auth_db *auth_db_parse(const char *data, size_t len, char *err, size_t errlen)
{
    struct auth_db *db = calloc(1, sizeof(*db));
    struct span rest = span_of(data, len), text, user, pass;
    size_t line = 0;
    if (db == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    while (!span_is_empty(rest)) {
        const char *why = NULL;
        line++;
        if (db->n == AUTH_MAX_ENTRIES) {
            why = "more than 8 entries (memcached ignores all after the 8th)";
        }
        if (why == NULL) {
            why = next_line(&rest, &text);
        }
        if (why == NULL) {
            why = line_fault(text, &user, &pass);
        }
        if (why != NULL) {
            return refuse(db, err, errlen, line, why);
        }
        struct auth_entry *e = &db->e[db->n++];
        if (!digest(user, e->user) || !digest(pass, e->pass)) {
            return refuse(db, err, errlen, line, "SHA-256 unavailable (OpenSSL)");
        }
    }
    if (db->n == 0) {
        return refuse(db, err, errlen, 1, "no entries: nobody could log in");
    }
    return db;
}

void auth_db_free(struct auth_db *db)
{
    if (db != NULL) {
        OPENSSL_cleanse(db, sizeof(*db));
        free(db);
    }
}

size_t auth_db_count(const struct auth_db *db)
{
    return db != NULL ? db->n : 0;
}

/* ---- one login -------------------------------------------------------- */

/* 1 when d is 0, else 0, without a branch on d. */
static unsigned is_zero(unsigned d)
{
    return ((d | (0u - d)) >> (sizeof(unsigned) * CHAR_BIT - 1)) ^ 1u;
}

/* SECURITY: every entry is compared, user and password both, and the
 * results are OR-ed without a branch: the time depends on the number of
 * entries only, never on which entry (if any) matches or how much of it. */
bool auth_db_check(const struct auth_db *db, struct span user, struct span pass)
{
    unsigned char hu[DIGEST_LEN], hp[DIGEST_LEN];
    unsigned match = 0;
    if (db == NULL || !digest(user, hu) || !digest(pass, hp)) {
        return false;
    }
    for (size_t i = 0; i < db->n; i++) {
        unsigned du = (unsigned)CRYPTO_memcmp(hu, db->e[i].user, DIGEST_LEN);
        unsigned dp = (unsigned)CRYPTO_memcmp(hp, db->e[i].pass, DIGEST_LEN);
        match |= is_zero(du | dp);
    }
    OPENSSL_cleanse(hu, sizeof(hu));
    OPENSSL_cleanse(hp, sizeof(hp));
    return match != 0;
}

/* ---- the credentials in force ---------------------------------------- */

static pthread_rwlock_t current_lock = PTHREAD_RWLOCK_INITIALIZER;
static struct auth_db *current;

void auth_install(struct auth_db *db)
{
    pthread_rwlock_wrlock(&current_lock);
    struct auth_db *old = current;
    current = db;
    pthread_rwlock_unlock(&current_lock);
    auth_db_free(old);
}

/* Fails closed: before any install, nobody logs in. */
bool auth_check(struct span user, struct span pass)
{
    pthread_rwlock_rdlock(&current_lock);
    bool ok = auth_db_check(current, user, pass);
    pthread_rwlock_unlock(&current_lock);
    return ok;
}

/* ---- failed logins per source ---------------------------------------- */

struct throttle_entry {
    struct ip_key key;
    uint32_t first;         /* when its window began (the first failure) */
    uint32_t count;         /* failures in that window */
};

/* Entries live in ent[0, n); an open-addressing index (linear probing,
 * backward-shift deletion) maps a key to its entry number + 1 (0: empty),
 * so the listener's check at every accept is one short probe. */
#define THROTTLE_MAX (1u << 22)     /* sources at most, whatever is asked */

struct auth_throttle {
    pthread_mutex_t lock;
    uint32_t limit, window;
    struct throttle_entry *ent;
    size_t cap, n;
    uint32_t *index;
    size_t mask;
};

struct auth_throttle *auth_throttle_create(int limit, int window_secs, size_t slots)
{
    struct auth_throttle *t = calloc(1, sizeof(*t));
    if (t == NULL) {
        return NULL;
    }
    t->limit = limit > 0 ? (uint32_t)limit : 0;
    t->window = window_secs > 0 ? (uint32_t)window_secs : 0;
    t->cap = slots == 0 ? 1 : slots < THROTTLE_MAX ? slots : THROTTLE_MAX;
    size_t n = 16;
    while (n < t->cap * 2) {
        n *= 2;
    }
    t->mask = n - 1;
    t->ent = calloc(t->cap, sizeof(*t->ent));
    t->index = calloc(n, sizeof(*t->index));
    if (t->ent == NULL || t->index == NULL || pthread_mutex_init(&t->lock, NULL) != 0) {
        free(t->ent);
        free(t->index);
        free(t);
        return NULL;
    }
    return t;
}

void auth_throttle_destroy(struct auth_throttle **t)
{
    if (*t != NULL) {
        pthread_mutex_destroy(&(*t)->lock);
        free((*t)->ent);
        free((*t)->index);
        free(*t);
        *t = NULL;
    }
}

static size_t index_home(const struct auth_throttle *t, const struct ip_key *k)
{
    uint64_t h = 1469598103934665603ULL;          /* FNV-1a */
    for (int i = 0; i < 16; i++) {
        h = (h ^ k->addr[i]) * 1099511628211ULL;
    }
    return (size_t)(h ^ (h >> 32)) & t->mask;
}

/* The index slot holding key, or the empty slot where it would go. */
static size_t index_find(const struct auth_throttle *t, const struct ip_key *k)
{
    size_t i = index_home(t, k);
    while (t->index[i] != 0 && memcmp(&t->ent[t->index[i] - 1].key, k, sizeof(*k)) != 0) {
        i = (i + 1) & t->mask;
    }
    return i;
}

/* Empties index slot i, shifting later members of its probe run back. */
static void index_delete(struct auth_throttle *t, size_t i)
{
    size_t j = i;
    for (;;) {
        t->index[i] = 0;
        for (;;) {
            j = (j + 1) & t->mask;
            if (t->index[j] == 0) {
                return;
            }
            size_t home = index_home(t, &t->ent[t->index[j] - 1].key);
            /* j may move to i unless its home lies cyclically in (i, j] */
            bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
            if (!stays) {
                break;
            }
        }
        t->index[i] = t->index[j];
        i = j;
    }
}

/* The entry whose window began longest ago (expired ones first). */
static size_t oldest(const struct auth_throttle *t, uint32_t now)
{
    size_t best = 0;
    for (size_t i = 1; i < t->n; i++) {
        if (now - t->ent[i].first > now - t->ent[best].first) {
            best = i;
        }
    }
    return best;
}

/* key's entry, made when missing (the oldest goes when the table is full). */
static struct throttle_entry *entry_get(struct auth_throttle *t, const struct ip_key *key,
                                        uint32_t now)
{
    size_t slot = index_find(t, key);
    if (t->index[slot] != 0) {
        return &t->ent[t->index[slot] - 1];
    }
    size_t e = t->n;
    if (t->n == t->cap) {
        e = oldest(t, now);
        index_delete(t, index_find(t, &t->ent[e].key));
        slot = index_find(t, key);
    } else {
        t->n++;
    }
    t->ent[e] = (struct throttle_entry){ *key, now, 0 };
    t->index[slot] = (uint32_t)e + 1;
    return &t->ent[e];
}

static bool window_open(const struct auth_throttle *t, const struct throttle_entry *e,
                        uint32_t now)
{
    return now - e->first < t->window;
}

bool auth_throttle_fail(struct auth_throttle *t, const struct ip_key *key, uint32_t now)
{
    if (t->limit == 0) {
        return false;
    }
    pthread_mutex_lock(&t->lock);
    struct throttle_entry *e = entry_get(t, key, now);
    if (e->count == 0 || !window_open(t, e, now)) {
        e->first = now;
        e->count = 0;
    }
    if (e->count < UINT32_MAX) {
        e->count++;
    }
    bool blocked_now = e->count == t->limit && window_open(t, e, now);
    pthread_mutex_unlock(&t->lock);
    return blocked_now;
}

bool auth_throttle_blocked(struct auth_throttle *t, const struct ip_key *key, uint32_t now)
{
    if (t->limit == 0) {
        return false;
    }
    pthread_mutex_lock(&t->lock);
    size_t slot = index_find(t, key);
    const struct throttle_entry *e = t->index[slot] != 0 ? &t->ent[t->index[slot] - 1] : NULL;
    bool blocked = e != NULL && e->count >= t->limit && window_open(t, e, now);
    pthread_mutex_unlock(&t->lock);
    return blocked;
}
