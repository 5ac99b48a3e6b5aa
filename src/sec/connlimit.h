/* connlimit.h: --max-conns-per-ip. Counts open connections per source
 * address (IPv4 peers are counted as their IPv4-mapped IPv6 form, so one
 * host is one entry whichever family it used). The listener takes a slot at
 * accept; the worker that closes the connection gives it back. */
#ifndef HC_SEC_CONNLIMIT_H
#define HC_SEC_CONNLIMIT_H

#include <stdbool.h>
#include <stdint.h>

struct sockaddr;

struct ip_key {
    uint8_t addr[16];
};

/* Builds the key of a peer; false for non-IP peers (unix sockets: no limit). */
bool connlimit_key(const struct sockaddr *peer, struct ip_key *out);

struct connlimit;
/* capacity: the most distinct addresses that can be connected at once (-c). */
struct connlimit *connlimit_create(int per_ip_max, int capacity);
void connlimit_destroy(struct connlimit **cl);
/* Takes a slot for key; false when that address already has per_ip_max. */
bool connlimit_acquire(struct connlimit *cl, const struct ip_key *key);
void connlimit_release(struct connlimit *cl, const struct ip_key *key);

#endif
