/* connlimit.c: the key a peer is counted under (its IPv4 address, or its
 * IPv6 network), and an open-addressing table (linear probing, backward-shift
 * deletion, so no tombstones pile up) of key -> open connections, under one
 * mutex. It is touched only at accept and close, never per request. */
#include "sec/connlimit.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct slot {
    struct ip_key key;
    uint32_t count;          /* 0: empty */
};

struct connlimit {
    pthread_mutex_t lock;
    struct slot *slots;
    size_t mask;
    uint32_t per_ip_max;
};

/* SECURITY: an IPv6 peer is counted per network, not per address: a client
 * given a /64 (the usual end-site or cloud allocation) can pick any of 2^64
 * source addresses, so a per-/128 count would not limit it at all. IPv4 and
 * IPv4-mapped peers (::ffff:a.b.c.d, from a dual-stack socket handed over by
 * systemd) stay per address: masking those would put every IPv4 client in
 * one slot. A masked IPv6 key cannot equal a mapped one (that would need the
 * first 96 bits to be ::ffff:, which makes the address mapped). */
bool connlimit_key(const struct sockaddr *peer, int v6_prefix, struct ip_key *out)
{
    memset(out, 0, sizeof(*out));
    if (peer->sa_family == AF_INET) {
        const struct sockaddr_in *in4 = (const struct sockaddr_in *)peer;
        out->addr[10] = 0xff;
        out->addr[11] = 0xff;
        memcpy(out->addr + 12, &in4->sin_addr, 4);
        return true;
    }
    if (peer->sa_family != AF_INET6) {
        return false;
    }
    const struct in6_addr *a = &((const struct sockaddr_in6 *)peer)->sin6_addr;
    if (IN6_IS_ADDR_V4MAPPED(a) || v6_prefix >= 128) {
        memcpy(out->addr, a->s6_addr, 16);
        return true;
    }
    size_t bits = v6_prefix > 0 ? (size_t)v6_prefix : 0;
    memcpy(out->addr, a->s6_addr, bits / 8);
    if (bits % 8 != 0) {
        out->addr[bits / 8] = a->s6_addr[bits / 8] & (uint8_t)(0xff << (8 - bits % 8));
    }
    return true;
}

struct connlimit *connlimit_create(int per_ip_max, int capacity)
{
    struct connlimit *cl = calloc(1, sizeof(*cl));
    if (cl == NULL) {
        return NULL;
    }
    size_t n = 16;
    while (n < (size_t)capacity * 2) {
        n *= 2;
    }
    cl->slots = calloc(n, sizeof(*cl->slots));
    if (cl->slots == NULL || pthread_mutex_init(&cl->lock, NULL) != 0) {
        free(cl->slots);
        free(cl);
        return NULL;
    }
    cl->mask = n - 1;
    cl->per_ip_max = (uint32_t)per_ip_max;
    return cl;
}

void connlimit_destroy(struct connlimit **cl)
{
    if (*cl != NULL) {
        pthread_mutex_destroy(&(*cl)->lock);
        free((*cl)->slots);
        free(*cl);
        *cl = NULL;
    }
}

static size_t slot_home(const struct connlimit *cl, const struct ip_key *k)
{
    uint64_t h = 1469598103934665603ULL;          /* FNV-1a */
    for (int i = 0; i < 16; i++) {
        h = (h ^ k->addr[i]) * 1099511628211ULL;
    }
    return (size_t)h & cl->mask;
}

/* The slot holding key, or the empty slot where it would go. */
static size_t slot_find(const struct connlimit *cl, const struct ip_key *k)
{
    size_t i = slot_home(cl, k);
    while (cl->slots[i].count != 0 && memcmp(&cl->slots[i].key, k, sizeof(*k)) != 0) {
        i = (i + 1) & cl->mask;
    }
    return i;
}

bool connlimit_acquire(struct connlimit *cl, const struct ip_key *key)
{
    pthread_mutex_lock(&cl->lock);
    struct slot *s = &cl->slots[slot_find(cl, key)];
    bool ok = s->count < cl->per_ip_max;
    if (ok) {
        s->key = *key;
        s->count++;
    }
    pthread_mutex_unlock(&cl->lock);
    return ok;
}

/* Removes slot i, shifting later members of its probe run back. */
static void slot_delete(struct connlimit *cl, size_t i)
{
    size_t j = i;
    for (;;) {
        cl->slots[i].count = 0;
        for (;;) {
            j = (j + 1) & cl->mask;
            if (cl->slots[j].count == 0) {
                return;
            }
            size_t home = slot_home(cl, &cl->slots[j].key);
            /* j may move to i unless its home lies cyclically in (i, j] */
            bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
            if (!stays) {
                break;
            }
        }
        cl->slots[i] = cl->slots[j];
        i = j;
    }
}

void connlimit_release(struct connlimit *cl, const struct ip_key *key)
{
    pthread_mutex_lock(&cl->lock);
    size_t i = slot_find(cl, key);
    if (cl->slots[i].count > 1) {
        cl->slots[i].count--;
    } else if (cl->slots[i].count == 1) {
        slot_delete(cl, i);
    }
    pthread_mutex_unlock(&cl->lock);
}

uint32_t connlimit_count(struct connlimit *cl, const struct ip_key *key)
{
    pthread_mutex_lock(&cl->lock);
    uint32_t n = cl->slots[slot_find(cl, key)].count;
    pthread_mutex_unlock(&cl->lock);
    return n;
}
