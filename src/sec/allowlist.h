/* allowlist.h: --allow / --allow-file, the networks whose peers are served
 * (SPEC §8 promise 2). Filled at start-up from operator input, sealed once,
 * then read-only: admit is a lookup in sorted, merged address ranges and is
 * safe from any number of threads. IPv4 lives inside IPv6 as ::ffff:a.b.c.d
 * (one address space), so a mapped peer matches IPv4 entries and back.
 * SECURITY: everything fails closed: an unsealed list, a NULL list, a
 * non-IP peer (unix socket) and an empty list admit nobody. */
#ifndef HC_SEC_ALLOWLIST_H
#define HC_SEC_ALLOWLIST_H

#include <stdbool.h>
#include <stddef.h>

struct sockaddr;
struct allowlist;

/* Bounds on operator input: entries in one list, bytes of one CIDR, bytes
 * of one line of a file (comments included), bytes of one file. */
#define ALLOWLIST_MAX_ENTRIES (1u << 20)
#define ALLOWLIST_CIDR_MAX 64
#define ALLOWLIST_LINE_MAX 1024
#define ALLOWLIST_FILE_MAX (4u << 20)  /* = READER_FILE_MAX: what loads at start reloads on SIGHUP */

/* NULL when memory is short. */
struct allowlist *allowlist_create(void);
void allowlist_destroy(struct allowlist **al);

/* One network: "10.0.0.0/8", "192.168.1.7" (= /32), "::1/128",
 * "2001:db8::/32", "::ffff:10.0.0.0/104". No spaces, no zone (%eth0),
 * prefix in decimal without leading zeros; an address with host bits set
 * beyond the prefix is refused (it is usually a typo for a larger or
 * smaller network). False with a one-line message naming the text and the
 * accepted form in err. Adding to a sealed list unseals it. */
bool allowlist_add(struct allowlist *al, const char *cidr, char *err, size_t errlen);

/* "a,b,c" (spaces around an element are ignored); all or nothing. */
bool allowlist_add_list(struct allowlist *al, const char *list, char *err,
                        size_t errlen);

/* The text of an --allow-file: one network per line, '#' to the end of a
 * line is a comment, blank lines, CRLF and a last line without '\n' are
 * fine; a line holds at most ALLOWLIST_LINE_MAX bytes and no NUL. All or
 * nothing; errors read "NAME:LINE: message" (NAME shown with control bytes
 * as '?'). data need not be NUL-terminated. A SIGHUP reload passes the
 * bytes the file reader (sec/reader.h) fetched, with the file's path. */
bool allowlist_add_text(struct allowlist *al, const char *name, const char *data, size_t len,
                        char *err, size_t errlen);

/* allowlist_add_text on a regular file of at most ALLOWLIST_FILE_MAX bytes;
 * errors read "FILE:LINE: message" (or "FILE: message" when it cannot be
 * read). */
bool allowlist_load_file(struct allowlist *al, const char *path, char *err,
                         size_t errlen);

/* Sorts and merges the entries into the lookup tables. Call after the last
 * add and before the first admit; never fails (memory was taken by add). */
void allowlist_seal(struct allowlist *al);

/* True when the peer (AF_INET or AF_INET6) is inside a listed network.
 * False for a NULL or unsealed list and any other family. Lock-free. */
bool allowlist_admit(const struct allowlist *al, const struct sockaddr *peer);

/* Networks added (as given, duplicates included); 0 for NULL. */
size_t allowlist_count(const struct allowlist *al);

/* After seal: the disjoint address ranges lookups search (IPv4 and IPv6
 * tables together). Overlapping, nested and adjacent networks are one; a
 * range around the IPv4 block counts as its pieces (::/0 is 3). */
size_t allowlist_range_count(const struct allowlist *al);

/* True when the list admits every address: 0.0.0.0/0 or ::/0 was given,
 * or (after seal) the networks together cover all of IPv4 or all of IPv6.
 * For the --check-config audit. */
bool allowlist_contains_everything(const struct allowlist *al);

/* One network as it was added, for reports that list networks (the
 * --check-config audit) without formatting the list and parsing it back. */
#define ALLOWLIST_NET_TEXT_MAX (ALLOWLIST_CIDR_MAX + 8)
struct allowlist_net {
    char text[ALLOWLIST_NET_TEXT_MAX];  /* canonical, as allowlist_format writes it */
    bool loopback;                      /* every address in it is loopback: inside
                                         * 127.0.0.0/8 (::ffff:127.0.0.0/104) or ::1 */
};

/* The i-th network added (0 <= i < allowlist_count), sealed or not; false
 * past the end and for NULL. */
bool allowlist_net_at(const struct allowlist *al, size_t i, struct allowlist_net *net);

/* Writes the networks in their canonical form ("10.0.0.0/8,::1/128"), in
 * the order they were added, so allowlist_add_list reads them back. Returns
 * the length the whole text needs, as snprintf does. */
size_t allowlist_format(const struct allowlist *al, char *buf, size_t len);

#endif
