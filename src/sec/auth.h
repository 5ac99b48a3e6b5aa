/* auth.h: -Y, memcached's ASCII authentication. The credentials file's
 * parser (operator input, refused at start when malformed), the check of one
 * login in constant time, the credentials in force (swapped by a reload),
 * and the per-source count of failed logins that closes a guessing source
 * at accept for a while (SPEC §8 promise 9). */
#ifndef HC_SEC_AUTH_H
#define HC_SEC_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/span.h"
#include "sec/connlimit.h"          /* struct ip_key */

struct auth_db;

/* memcached 1.6.18 reads the -Y file with a 256-byte fgets and keeps 8
 * entries, silently: a longer line is cut (and ends the file), a ninth
 * entry is ignored. Such a file is refused here instead. */
#define AUTH_MAX_ENTRIES 8
#define AUTH_LINE_MAX 255           /* bytes of a line, its "\n" or "\r\n" included */

/* The bytes of a -Y file: "user:password" lines (memcached's format). NULL
 * with a one-line err ("line N: ...", never a byte of a password) when
 * malformed or out of memory. Accepted: 1 to AUTH_MAX_ENTRIES lines, each
 * ending in "\n" or "\r\n" (the last one too: 1.6.18 drops the last byte
 * of an unterminated last line) and at most AUTH_LINE_MAX bytes; the user
 * is what precedes the first ':', the password the rest; neither empty, and
 * neither holding a space (a login splits "user pass" at spaces, so such an
 * entry could never log in), a NUL or a carriage return (memcached cuts the
 * line there). Blank lines are refused, as memcached refuses them. Only
 * SHA-256 digests of user and password are kept. The first call loads
 * OpenSSL's SHA-256: make it at start-up, before the seccomp filter. */
struct auth_db *auth_db_parse(const char *data, size_t len, char *err, size_t errlen);
void auth_db_free(struct auth_db *db);
size_t auth_db_count(const struct auth_db *db);

/* True when user and pass name an entry of db. Takes the same time whatever
 * the bytes compared: every entry is compared, through SHA-256 digests and
 * CRYPTO_memcmp, so neither a password's prefix nor a user's existence shows
 * in the time taken. */
bool auth_db_check(const struct auth_db *db, struct span user, struct span pass);

/* The credentials logins are checked against; auth_install takes db and
 * frees the one it replaces (a reload). Thread-safe. Before the first
 * install (or after installing NULL) nobody logs in. */
void auth_install(struct auth_db *db);
bool auth_check(struct span user, struct span pass);

/* Failed logins per source (the ip_key of --max-conns-per-ip: an IPv4
 * address, an IPv6 /--per-ip-v6-prefix network). A source with limit
 * failures within window seconds is blocked until window seconds after its
 * first failure; limit 0 (or a window of 0) never blocks. Thread-safe; a
 * table of at most `slots` sources (capped at 4M): when it is full, the
 * source whose window began longest ago goes. Times are the server
 * clock's, in seconds. */
struct auth_throttle;
struct auth_throttle *auth_throttle_create(int limit, int window_secs, size_t slots);
void auth_throttle_destroy(struct auth_throttle **t);
/* Records a failure; true when this failure blocked the source (the first
 * refusal of a window, for a once-per-window log line). */
bool auth_throttle_fail(struct auth_throttle *t, const struct ip_key *key, uint32_t now);
/* Whether new connections from key are to be closed at accept now. */
bool auth_throttle_blocked(struct auth_throttle *t, const struct ip_key *key, uint32_t now);

#endif
