/* connlimit.h: --max-conns-per-ip. Counts open connections per source: an
 * IPv4 peer is counted per address (in its IPv4-mapped IPv6 form, so one host
 * is one entry whichever family it used, ::ffff:a.b.c.d included); an IPv6
 * peer per network of --per-ip-v6-prefix bits (/64 by default: one host
 * usually holds a whole /64, so counting each /128 would not limit it). The
 * listener takes a slot at accept; the worker that closes the connection
 * gives it back. */
#ifndef HC_SEC_CONNLIMIT_H
#define HC_SEC_CONNLIMIT_H

#include <stdbool.h>
#include <stdint.h>

struct sockaddr;

struct ip_key {
    uint8_t addr[16];
};

/* Builds the key peer is counted under: its IPv4 address, or its IPv6
 * address cut to the first v6_prefix bits (1-128; 128: per address). False
 * for non-IP peers (unix sockets: no limit). */
bool connlimit_key(const struct sockaddr *peer, int v6_prefix, struct ip_key *out);

struct connlimit;
/* capacity: the most distinct keys that can be connected at once (-c). */
struct connlimit *connlimit_create(int per_ip_max, int capacity);
void connlimit_destroy(struct connlimit **cl);
/* Takes a slot for key; false when that key already has per_ip_max. */
bool connlimit_acquire(struct connlimit *cl, const struct ip_key *key);
void connlimit_release(struct connlimit *cl, const struct ip_key *key);
/* Connections open under key now (for tests and diagnostics). */
uint32_t connlimit_count(struct connlimit *cl, const struct ip_key *key);

#endif
