/* allowlist_bench.c: the cost of allowlist_admit, the check every accepted
 * connection pays before its first byte. Builds N random networks (half
 * IPv4, half IPv6, as an operator's list of office, VPN and cloud ranges
 * would be), then times M lookups over a pool of peers of which half are
 * inside a network. Prints one line:
 *   allowlist 10000 entries: 34 ns/lookup (IPv4 21, IPv6 46; 50% hits, 9946 ranges)
 * Usage: allowlist_bench [entries [lookups]]. Links src/sec/allowlist.c only. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "sec/allowlist.h"

#define POOL 8192           /* peers cycled through: stays in cache, as at accept */

union peer {
    struct sockaddr sa;
    struct sockaddr_in in4;
    struct sockaddr_in6 in6;
};

static uint64_t rng = 0x853c49e6748fea9bull;

static uint64_t rnd(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545f4914f6cdd1dull;
}

/* IPv4 /16-/32 anywhere; IPv6 /32-/64 under 2001:db8::/16-ish space
 * and /96-/128 hosts. Each network's first address goes to *first. */
static void random_network(char *text, size_t len, bool v4, union peer *first,
                           unsigned *prefix)
{
    char addr[INET6_ADDRSTRLEN];
    memset(first, 0, sizeof *first);
    if (v4) {
        unsigned p = 16 + (unsigned)(rnd() % 17);
        uint32_t a = (uint32_t)rnd() & (UINT32_MAX << (32 - p));
        first->in4.sin_family = AF_INET;
        first->in4.sin_addr.s_addr = htonl(a);
        inet_ntop(AF_INET, &first->in4.sin_addr, addr, sizeof addr);
        snprintf(text, len, "%s/%u", addr, p);
        *prefix = p;
        return;
    }
    unsigned p = rnd() % 4 ? 32 + (unsigned)(rnd() % 33) : 96 + (unsigned)(rnd() % 33);
    unsigned char *b = first->in6.sin6_addr.s6_addr;
    first->in6.sin6_family = AF_INET6;
    b[0] = 0x20;
    b[1] = 0x01;
    for (int i = 2; i < 16; i++) {
        b[i] = (unsigned char)rnd();
    }
    for (unsigned i = p; i < 128; i++) {
        b[i / 8] &= (unsigned char)~(0x80u >> (i % 8));
    }
    inet_ntop(AF_INET6, b, addr, sizeof addr);
    snprintf(text, len, "%s/%u", addr, p);
    *prefix = p;
}

/* A random address inside the network (host bits filled in). */
static void inside(union peer *p, unsigned prefix)
{
    if (p->sa.sa_family == AF_INET) {
        uint32_t host = prefix == 32 ? 0 : (uint32_t)rnd() & (UINT32_MAX >> prefix);
        p->in4.sin_addr.s_addr = htonl(ntohl(p->in4.sin_addr.s_addr) | host);
        return;
    }
    for (unsigned i = prefix; i < 128; i++) {
        if (rnd() & 1) {
            p->in6.sin6_addr.s6_addr[i / 8] |= (unsigned char)(0x80u >> (i % 8));
        }
    }
}

static void outside(const struct allowlist *al, union peer *p, bool v4)
{
    for (int tries = 0; tries < 1000; tries++) {
        memset(p, 0, sizeof *p);
        if (v4) {
            p->in4.sin_family = AF_INET;
            p->in4.sin_addr.s_addr = (uint32_t)rnd();
        } else {
            p->in6.sin6_family = AF_INET6;
            p->in6.sin6_addr.s6_addr[0] = 0x20;
            p->in6.sin6_addr.s6_addr[1] = 0x01;
            for (int i = 2; i < 16; i++) {
                p->in6.sin6_addr.s6_addr[i] = (unsigned char)rnd();
            }
        }
        if (!allowlist_admit(al, &p->sa)) {
            return;
        }
    }
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ns per lookup over `lookups` lookups of the peers whose family passes. */
static double timed(const struct allowlist *al, const union peer *pool, size_t n,
                    unsigned long lookups, size_t *hits)
{
    size_t h = 0;
    double t0 = now();
    for (unsigned long i = 0; i < lookups; i++) {
        h += allowlist_admit(al, &pool[i % n].sa);
    }
    double t1 = now();
    *hits = h;
    return (t1 - t0) * 1e9 / (double)lookups;
}

static unsigned long arg(int argc, char **argv, int i, unsigned long def)
{
    char *end;
    unsigned long v;
    if (argc <= i) {
        return def;
    }
    v = strtoul(argv[i], &end, 10);
    if (*end != '\0' || v == 0 || argv[i][0] < '0' || argv[i][0] > '9') {
        fprintf(stderr, "usage: allowlist_bench [entries [lookups]]\n");
        exit(64);
    }
    return v;
}

int main(int argc, char **argv)
{
    unsigned long entries = arg(argc, argv, 1, 10000);
    unsigned long lookups = arg(argc, argv, 2, 10000000);
    static union peer firsts[ALLOWLIST_MAX_ENTRIES], pool[POOL], v4pool[POOL], v6pool[POOL];
    static unsigned prefixes[ALLOWLIST_MAX_ENTRIES];
    struct allowlist *al = allowlist_create();
    char err[512];
    size_t hits, h4, h6, n4 = 0, n6 = 0;
    if (al == NULL || entries > ALLOWLIST_MAX_ENTRIES) {
        fprintf(stderr, "allowlist_bench: at most %u entries\n", ALLOWLIST_MAX_ENTRIES);
        return 1;
    }
    for (unsigned long i = 0; i < entries; i++) {
        char text[80];
        random_network(text, sizeof text, i % 2 == 0, &firsts[i], &prefixes[i]);
        if (!allowlist_add(al, text, err, sizeof err)) {
            fprintf(stderr, "allowlist_bench: %s\n", err);
            return 1;
        }
    }
    allowlist_seal(al);
    for (size_t i = 0; i < POOL; i++) {
        size_t e = (size_t)(rnd() % entries);
        bool v4 = i % 4 < 2;
        if (i % 2 == 0) {       /* hit: inside a network of the peer's family */
            e = (e & ~(size_t)1) | (v4 ? 0 : 1);
            e = e < entries ? e : 0;
            pool[i] = firsts[e];
            inside(&pool[i], prefixes[e]);
        } else {
            outside(al, &pool[i], v4);
        }
        if (pool[i].sa.sa_family == AF_INET) {
            v4pool[n4++] = pool[i];
        } else {
            v6pool[n6++] = pool[i];
        }
    }
    timed(al, pool, POOL, POOL * 16, &hits);            /* warm up */
    double ns = timed(al, pool, POOL, lookups, &hits);
    double ns4 = timed(al, v4pool, n4, lookups / 2, &h4);
    double ns6 = timed(al, v6pool, n6, lookups / 2, &h6);
    printf("allowlist %lu entries: %.0f ns/lookup (IPv4 %.0f, IPv6 %.0f; %.0f%% hits, "
           "%zu ranges)\n", entries, ns, ns4, ns6, 100.0 * (double)hits / (double)lookups,
           allowlist_range_count(al));
    allowlist_destroy(&al);
    return 0;
}
