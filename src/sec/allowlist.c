/* allowlist.c: the networks of --allow / --allow-file as sorted, disjoint
 * address ranges. Entries are kept as given (for count, format and the
 * audit's allowlist_net_at); seal turns them into ranges in one 128-bit
 * space (IPv4 a.b.c.d is the IPv6 address ::ffff:a.b.c.d), sorts and
 * merges them, and splits the result
 * into a 32-bit table for the IPv4 block and a 128-bit table for the rest.
 * Each table is in Eytzinger (breadth-first) order: a lookup walks it with
 * k = 2k + (range k ends below x), ~14 steps for 10,000 ranges, with no
 * data-dependent branch, no lock and no allocation.
 * Input is operator text (CLI, config, an --allow-file read here at start-up
 * or handed over as bytes by the file reader on SIGHUP), bounded before
 * inet_pton sees it. */
#include "sec/allowlist.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/show.h"

#define FORM "expected ADDRESS or ADDRESS/PREFIX, IPv4 or IPv6 " \
             "(e.g. 10.0.0.0/8, 192.168.1.7, 2001:db8::/32)"

struct u128 {
    uint64_t hi, lo;
};

/* One network as given, in the unified space. */
struct entry {
    struct u128 net;
    uint8_t prefix;        /* unified: IPv4 /n is 96 + n */
    bool v4;               /* written as IPv4 (formatted back that way) */
};

struct range {
    struct u128 first, last;
};

struct range32 {
    uint32_t first, last;
};

struct allowlist {
    struct entry *entries;          /* as added, n of cap */
    size_t n, cap;
    /* Built by seal; each holds cap + 2 (one range around the IPv4 block
     * leaves two IPv6 pieces, and the layouts start at index 1), so that
     * seal never allocates and cannot fail. */
    struct range *work;             /* sorted, merged; then scratch */
    struct range32 *v4;             /* [1..n4]: inside the ::ffff:0:0/96 block */
    struct range *v6;               /* [1..n6]: everything else */
    size_t n4, n6;
    bool covers_all;                /* all of IPv4, or all of IPv6 besides it */
    bool sealed;
};

/* The IPv4 block inside the unified space: ::ffff:0.0.0.0 - ::ffff:255.255.255.255. */
static const struct u128 V4_FIRST = { 0, 0x0000ffff00000000ull };
static const struct u128 V4_LAST = { 0, 0x0000ffffffffffffull };

/* Loopback in the unified space: 127.0.0.0/8 (::ffff:127.0.0.0/104) and ::1. */
static const struct range LOOPBACK[] = {
    { { 0, 0x0000ffff7f000000ull }, { 0, 0x0000ffff7fffffffull } },
    { { 0, 1 }, { 0, 1 } },
};

/* --- 128-bit arithmetic ----------------------------------------------------- */

/* Bitwise, not short-circuit: branch-free on the lookup path. */
static bool u128_le(struct u128 a, struct u128 b)
{
    return (a.hi < b.hi) | ((a.hi == b.hi) & (a.lo <= b.lo));
}

static bool u128_eq(struct u128 a, struct u128 b)
{
    return a.hi == b.hi && a.lo == b.lo;
}

static struct u128 u128_inc(struct u128 a)
{
    return (struct u128){ a.hi + (a.lo == UINT64_MAX), a.lo + 1 };
}

static struct u128 u128_dec(struct u128 a)
{
    return (struct u128){ a.hi - (a.lo == 0), a.lo - 1 };
}

static struct u128 u128_max(struct u128 a, struct u128 b)
{
    return u128_le(a, b) ? b : a;
}

static struct u128 u128_min(struct u128 a, struct u128 b)
{
    return u128_le(a, b) ? a : b;
}

/* The host-bit mask of a /prefix: ones where the address may vary. */
static struct u128 host_mask(unsigned prefix)
{
    struct u128 m = { UINT64_MAX, UINT64_MAX };
    if (prefix >= 64) {
        m.hi = 0;
        m.lo = prefix == 128 ? 0 : UINT64_MAX >> (prefix - 64);
    } else if (prefix > 0) {
        m.hi = UINT64_MAX >> prefix;
    }
    return m;
}

static struct u128 load_be128(const unsigned char b[16])
{
    struct u128 v = { 0, 0 };
    for (int i = 0; i < 8; i++) {
        v.hi = v.hi << 8 | b[i];
        v.lo = v.lo << 8 | b[8 + i];
    }
    return v;
}

static void store_be128(struct u128 v, unsigned char b[16])
{
    for (int i = 7; i >= 0; i--) {
        b[i] = (unsigned char)v.hi;
        b[8 + i] = (unsigned char)v.lo;
        v.hi >>= 8;
        v.lo >>= 8;
    }
}

/* The addresses of a network: its first, and its first with the host bits set. */
static struct range entry_range(const struct entry *e)
{
    struct u128 m = host_mask(e->prefix);
    return (struct range){ e->net, { e->net.hi | m.hi, e->net.lo | m.lo } };
}

static uint32_t load_be32(const unsigned char b[4])
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* --- life cycle ---------------------------------------------------------------- */

struct allowlist *allowlist_create(void)
{
    return calloc(1, sizeof(struct allowlist));
}

void allowlist_destroy(struct allowlist **alp)
{
    struct allowlist *al = *alp;
    if (al == NULL) {
        return;
    }
    free(al->entries);
    free(al->work);
    free(al->v4);
    free(al->v6);
    free(al);
    *alp = NULL;
}

static bool resize(void **p, size_t n, size_t size)
{
    void *q = n <= SIZE_MAX / size ? realloc(*p, n * size) : NULL;
    if (q == NULL) {
        return false;
    }
    *p = q;
    return true;
}

/* Room for one more entry, and the tables seal will fill for it. Arrays
 * that grew before a failure stay grown; cap moves only on full success. */
static bool reserve_one(struct allowlist *al)
{
    size_t cap = al->cap ? al->cap * 2 : 16;
    if (al->n < al->cap) {
        return true;
    }
    if (cap > ALLOWLIST_MAX_ENTRIES) {
        cap = ALLOWLIST_MAX_ENTRIES;
    }
    if (!resize((void **)&al->entries, cap, sizeof(struct entry)) ||
        !resize((void **)&al->work, cap + 2, sizeof(struct range)) ||
        !resize((void **)&al->v4, cap + 2, sizeof(struct range32)) ||
        !resize((void **)&al->v6, cap + 2, sizeof(struct range))) {
        return false;
    }
    al->cap = cap;
    return true;
}

/* --- parsing ------------------------------------------------------------------- */

/* Decimal 0..max, no sign, no leading zero, at least one digit. */
static bool parse_prefix(const char *s, unsigned max, unsigned *out)
{
    unsigned v = 0;
    size_t i = 0;
    for (; s[i] >= '0' && s[i] <= '9' && i < 3; i++) {
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (i == 0 || s[i] != '\0' || (s[0] == '0' && i > 1) || v > max) {
        return false;
    }
    *out = v;
    return true;
}

/* "a.b.c.d" or an IPv6 literal (it has a colon) into the unified space. */
static bool parse_address(const char *s, struct entry *e)
{
    unsigned char b[16] = { 0 };
    e->v4 = strchr(s, ':') == NULL;
    if (e->v4) {
        b[10] = b[11] = 0xff;
        if (inet_pton(AF_INET, s, b + 12) != 1) {
            return false;
        }
    } else if (inet_pton(AF_INET6, s, b) != 1) {
        return false;
    }
    e->net = load_be128(b);
    return true;
}

/* The address alone, as IPv4 if it was written so. */
static void addr_text(const struct entry *e, char *buf, size_t len)
{
    unsigned char b[16];
    store_be128(e->net, b);
    if (e->v4) {
        inet_ntop(AF_INET, b + 12, buf, (socklen_t)len);
    } else {
        inet_ntop(AF_INET6, b, buf, (socklen_t)len);
    }
}

/* "10.0.0.0/8": for format and messages. */
static void entry_text(const struct entry *e, char *buf, size_t len)
{
    char addr[INET6_ADDRSTRLEN];
    addr_text(e, addr, sizeof addr);
    snprintf(buf, len, "%s/%u", addr, e->prefix - (e->v4 ? 96u : 0u));
}

/* SECURITY: "10.0.0.1/8" is refused, not rounded down: it is as likely a
 * typo for the host as for the network, and the two differ by 16M hosts. */
static bool host_bits_error(const char *shown, struct entry e, unsigned given,
                            char *err, size_t errlen)
{
    char net[ALLOWLIST_CIDR_MAX + 8], host[INET6_ADDRSTRLEN];
    struct u128 m = host_mask(e.prefix);
    addr_text(&e, host, sizeof host);
    e.net.hi &= ~m.hi;
    e.net.lo &= ~m.lo;
    entry_text(&e, net, sizeof net);
    snprintf(err, errlen, "\"%s\": host bits are set beyond the /%u prefix; write "
             "the network as %s, or the single host as %s/%u", shown, given, net,
             host, e.v4 ? 32 : 128);
    return false;
}

static bool parse_cidr(const char *text, struct entry *e, char *err, size_t errlen)
{
    char buf[ALLOWLIST_CIDR_MAX + 1], shown[ALLOWLIST_CIDR_MAX + 8];
    size_t len = strnlen(text, ALLOWLIST_CIDR_MAX + 1);
    unsigned prefix;
    show_text(text, shown, sizeof shown);
    if (len == 0) {
        snprintf(err, errlen, "empty network; %s", FORM);
        return false;
    }
    if (len > ALLOWLIST_CIDR_MAX) {
        snprintf(err, errlen, "\"%s\": longer than %d bytes; %s", shown,
                 ALLOWLIST_CIDR_MAX, FORM);
        return false;
    }
    memcpy(buf, text, len + 1);
    char *slash = strchr(buf, '/');
    if (slash != NULL) {
        *slash = '\0';
    }
    if (!parse_address(buf, e)) {
        snprintf(err, errlen, "\"%s\": not an IPv4 or IPv6 address; %s", shown, FORM);
        return false;
    }
    prefix = e->v4 ? 32 : 128;
    if (slash != NULL && !parse_prefix(slash + 1, prefix, &prefix)) {
        snprintf(err, errlen, "\"%s\": the prefix must be a number 0-%s; %s", shown,
                 e->v4 ? "32 for IPv4" : "128 for IPv6", FORM);
        return false;
    }
    e->prefix = (uint8_t)(prefix + (e->v4 ? 96 : 0));
    struct u128 m = host_mask(e->prefix);
    if ((e->net.hi & m.hi) != 0 || (e->net.lo & m.lo) != 0) {
        return host_bits_error(shown, *e, prefix, err, errlen);
    }
    return true;
}

bool allowlist_add(struct allowlist *al, const char *cidr, char *err, size_t errlen)
{
    struct entry e;
    if (!parse_cidr(cidr, &e, err, errlen)) {
        return false;
    }
    if (al->n >= ALLOWLIST_MAX_ENTRIES) {
        snprintf(err, errlen, "too many networks (at most %u)", ALLOWLIST_MAX_ENTRIES);
        return false;
    }
    if (!reserve_one(al)) {
        snprintf(err, errlen, "out of memory for the allowlist");
        return false;
    }
    al->entries[al->n++] = e;
    al->sealed = false;
    return true;
}

/* Undoes the adds after the first n: how batches are all or nothing. */
static void truncate_to(struct allowlist *al, size_t n)
{
    if (n < al->n) {
        al->n = n;
        al->sealed = false;
    }
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

bool allowlist_add_list(struct allowlist *al, const char *list, char *err, size_t errlen)
{
    size_t before = al->n;
    for (const char *p = list;; p++) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char one[ALLOWLIST_CIDR_MAX + 2], shown[ALLOWLIST_CIDR_MAX + 8];
        while (len > 0 && p[0] == ' ') {
            p++;
            len--;
        }
        while (len > 0 && p[len - 1] == ' ') {
            len--;
        }
        if (len == 0) {
            show_text(list, shown, sizeof shown);
            snprintf(err, errlen, "\"%s\": empty element in the list; %s[,...]",
                     shown, FORM);
            truncate_to(al, before);
            return false;
        }
        /* Longer than any network: keep enough for add to say so. */
        len = len < sizeof one - 1 ? len : sizeof one - 1;
        memcpy(one, p, len);
        one[len] = '\0';
        if (!allowlist_add(al, one, err, errlen)) {
            truncate_to(al, before);
            return false;
        }
        if (comma == NULL) {
            return true;
        }
        p = comma;
    }
}

/* --- files ---------------------------------------------------------------------- */

enum line_status { LINE_OK, LINE_EOF, LINE_LONG, LINE_NUL };

/* The next line of [*p, end) without its '\n', NUL-terminated in buf (at
 * most cap - 1 bytes); *p moves past it. A NUL or an over-long line stops
 * at the first byte that shows it, as a reader of a stream would. */
static enum line_status next_line(const char **p, const char *end, char *buf, size_t cap)
{
    const char *s = *p;
    size_t n = 0;
    if (s == end) {
        return LINE_EOF;
    }
    for (; s < end && *s != '\n'; s++) {
        if (*s == '\0') {
            return LINE_NUL;
        }
        if (n + 1 >= cap) {
            return LINE_LONG;
        }
        buf[n++] = *s;
    }
    buf[n] = '\0';
    *p = s < end ? s + 1 : s;
    return LINE_OK;
}

/* A line without its comment and surrounding blanks; "" adds nothing. */
static bool add_line(struct allowlist *al, char *line, char *why, size_t whylen)
{
    char *hash = strchr(line, '#');
    char *end;
    if (hash != NULL) {
        *hash = '\0';
    }
    while (is_space(*line)) {
        line++;
    }
    end = line + strlen(line);
    while (end > line && is_space(end[-1])) {
        *--end = '\0';
    }
    for (char *p = line; p < end; p++) {
        if (is_space(*p) || *p == ',') {
            char shown[ALLOWLIST_CIDR_MAX + 8];
            show_text(line, shown, sizeof shown);
            snprintf(why, whylen, "\"%s\": one network per line; %s", shown, FORM);
            return false;
        }
    }
    return *line == '\0' || allowlist_add(al, line, why, whylen);
}

/* Reads fd to its end, at most ALLOWLIST_FILE_MAX bytes, into one
 * NUL-terminated block; hint is its size by fstat. NULL + errno (EFBIG). */
static char *slurp_fd(int fd, size_t hint, size_t *len)
{
    size_t cap = (hint < ALLOWLIST_FILE_MAX ? hint : ALLOWLIST_FILE_MAX) + 1, n = 0;
    char *buf = malloc(cap + 1);
    while (buf != NULL && n <= ALLOWLIST_FILE_MAX) {
        if (n == cap) {
            size_t more = cap * 2 < ALLOWLIST_FILE_MAX + 1 ? cap * 2 : ALLOWLIST_FILE_MAX + 1;
            char *bigger = realloc(buf, more + 1);
            if (bigger == NULL) {
                break;
            }
            buf = bigger;
            cap = more;
        }
        ssize_t got = read(fd, buf + n, cap - n);
        if (got == 0) {
            buf[n] = '\0';
            *len = n;
            return buf;
        }
        if (got < 0 && errno != EINTR) {
            int e = errno;
            free(buf);
            errno = e;
            return NULL;
        }
        n += got > 0 ? (size_t)got : 0;
    }
    errno = buf == NULL || n <= ALLOWLIST_FILE_MAX ? ENOMEM : EFBIG;
    free(buf);
    return NULL;
}

/* The whole of a regular file, NUL-terminated (a FIFO would hang start-up,
 * a device never ends); NULL + "FILE: message". */
static char *slurp_regular(const char *path, const char *shown, size_t *len, char *err, size_t errlen)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        snprintf(err, errlen, "%s: cannot open: %s", shown, strerror(errno));
        return NULL;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: not a regular file", shown);
        close(fd);
        return NULL;
    }
    char *data = slurp_fd(fd, (size_t)st.st_size, len);
    if (data == NULL && errno == EFBIG) {
        snprintf(err, errlen, "%s: larger than %u MiB", shown, ALLOWLIST_FILE_MAX >> 20);
    } else if (data == NULL) {
        snprintf(err, errlen, "%s: cannot read: %s", shown, strerror(errno));
    }
    close(fd);
    return data;
}

static void show_path(const char *path, char *out, size_t outlen)
{
    size_t n = 0, i = 0;
    for (; path[i] != '\0' && n + 4 < outlen; i++) {
        unsigned char c = (unsigned char)path[i];
        out[n++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    if (path[i] != '\0') {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = '\0';
}

bool allowlist_add_text(struct allowlist *al, const char *name, const char *data, size_t len,
                        char *err, size_t errlen)
{
    static const char *const line_errors[] = {
        [LINE_LONG] = "line longer than 1024 bytes",
        [LINE_NUL] = "NUL byte in the line (not a text file?)",
    };
    char shown[200], line[ALLOWLIST_LINE_MAX + 1], why[512];
    const char *p = data, *end = len > 0 ? data + len : data;
    size_t before = al->n;
    unsigned long lineno = 0;
    enum line_status st;
    while ((st = next_line(&p, end, line, sizeof line)) != LINE_EOF) {
        lineno++;
        if (st != LINE_OK || !add_line(al, line, why, sizeof why)) {
            show_path(name, shown, sizeof shown);
            snprintf(err, errlen, "%s:%lu: %s", shown, lineno, st != LINE_OK ? line_errors[st] : why);
            truncate_to(al, before);
            return false;
        }
    }
    return true;
}

bool allowlist_load_file(struct allowlist *al, const char *path, char *err, size_t errlen)
{
    char shown[200];
    size_t len;
    show_path(path, shown, sizeof shown);
    char *data = slurp_regular(path, shown, &len, err, errlen);
    if (data == NULL) {
        return false;
    }
    bool ok = allowlist_add_text(al, path, data, len, err, errlen);
    free(data);
    return ok;
}

/* --- seal: sort, merge, split ------------------------------------------------------- */

static int range_cmp(const void *a, const void *b)
{
    struct u128 x = ((const struct range *)a)->first;
    struct u128 y = ((const struct range *)b)->first;
    if (u128_eq(x, y)) {
        return 0;
    }
    return u128_le(x, y) ? -1 : 1;
}

/* Sorted ranges in place into disjoint, non-adjacent ones; returns how many. */
static size_t merge_ranges(struct range *r, size_t n)
{
    size_t out = 0;
    for (size_t i = 0; i < n; i++) {
        struct range *prev = out > 0 ? &r[out - 1] : NULL;
        if (prev != NULL && (u128_le(r[i].first, prev->last) ||
                             u128_eq(r[i].first, u128_inc(prev->last)))) {
            prev->last = u128_max(prev->last, r[i].last);
        } else {
            r[out++] = r[i];
        }
    }
    return out;
}

/* Each range into its parts below, inside and above the IPv4 block, in
 * sorted order from index 1. */
static void split_range(struct allowlist *al, struct range r)
{
    struct u128 below = u128_dec(V4_FIRST), above = u128_inc(V4_LAST);
    if (!u128_le(V4_FIRST, r.first)) {
        al->v6[++al->n6] = (struct range){ r.first, u128_min(r.last, below) };
    }
    if (u128_le(r.first, V4_LAST) && u128_le(V4_FIRST, r.last)) {
        al->v4[++al->n4] = (struct range32){ (uint32_t)u128_max(r.first, V4_FIRST).lo,
                                             (uint32_t)u128_min(r.last, V4_LAST).lo };
    }
    if (!u128_le(r.last, V4_LAST)) {
        al->v6[++al->n6] = (struct range){ u128_max(r.first, above), r.last };
    }
}

/* For the audit: merged ranges r[0..n) admit all of IPv4, or all of IPv6
 * outside the IPv4 block. */
static bool covers_all(const struct range *r, size_t n)
{
    static const struct u128 zero = { 0, 0 }, top = { UINT64_MAX, UINT64_MAX };
    bool v4 = false, low = false, high = false;
    for (size_t i = 0; i < n; i++) {
        v4 |= u128_le(r[i].first, V4_FIRST) && u128_le(V4_LAST, r[i].last);
        low |= u128_eq(r[i].first, zero) && u128_le(u128_dec(V4_FIRST), r[i].last);
        high |= u128_le(r[i].first, u128_inc(V4_LAST)) && u128_eq(r[i].last, top);
    }
    return v4 || (low && high);
}

/* Puts sorted[0..n) into out[1..n] in breadth-first order of the implicit
 * search tree (children of k at 2k and 2k+1): an in-order walk of the tree
 * meets the slots in sorted order. Returns the next sorted index. */
static size_t eytzinger(const char *sorted, char *out, size_t size, size_t i,
                        size_t k, size_t n)
{
    if (k <= n) {
        i = eytzinger(sorted, out, size, i, 2 * k, n);
        memcpy(out + k * size, sorted + i * size, size);
        i = eytzinger(sorted, out, size, i + 1, 2 * k + 1, n);
    }
    return i;
}

/* table[1..n] is sorted; reorders it through the scratch array. */
static void layout(void *table, size_t n, size_t size, void *scratch)
{
    if (n == 0) {
        return;
    }
    memcpy(scratch, (char *)table + size, n * size);
    eytzinger(scratch, table, size, 0, 1, n);
}

void allowlist_seal(struct allowlist *al)
{
    size_t n;
    for (size_t i = 0; i < al->n; i++) {
        al->work[i] = entry_range(&al->entries[i]);
    }
    if (al->n > 0) {
        qsort(al->work, al->n, sizeof(struct range), range_cmp);
    }
    n = merge_ranges(al->work, al->n);
    al->n4 = al->n6 = 0;
    for (size_t i = 0; i < n; i++) {
        split_range(al, al->work[i]);
    }
    al->covers_all = covers_all(al->work, n);
    layout(al->v4, al->n4, sizeof(struct range32), al->work);
    layout(al->v6, al->n6, sizeof(struct range), al->work);
    al->sealed = true;
}

/* --- lookups ----------------------------------------------------------------------- */

/* The first range (in sorted order) that ends at or after x holds x if it
 * starts at or before it: ranges are disjoint. The walk goes left when
 * range k ends at or after x; at the bottom, the last left turn is the
 * answer: k with its trailing right turns (one bits) and one more dropped.
 * k == 0: every range ends below x. */
static bool find_v4(const struct allowlist *al, uint32_t x)
{
    const struct range32 *t = al->v4;
    size_t k = 1;
    while (k <= al->n4) {
        k = 2 * k + (t[k].last < x);
    }
    k >>= __builtin_ctzll(~(unsigned long long)k) + 1;
    return k != 0 && t[k].first <= x;
}

static bool find_v6(const struct allowlist *al, struct u128 key)
{
    __extension__ typedef unsigned __int128 wide;
    const struct range *t = al->v6;
    wide x = (wide)key.hi << 64 | key.lo;
    size_t k = 1;
    while (k <= al->n6) {
        k = 2 * k + (((wide)t[k].last.hi << 64 | t[k].last.lo) < x);
    }
    k >>= __builtin_ctzll(~(unsigned long long)k) + 1;
    return k != 0 && u128_le(t[k].first, key);
}

bool allowlist_admit(const struct allowlist *al, const struct sockaddr *peer)
{
    unsigned char b[16];
    if (al == NULL || peer == NULL || !al->sealed) {
        return false;   /* SECURITY: fail closed */
    }
    if (peer->sa_family == AF_INET) {
        memcpy(b, &((const struct sockaddr_in *)(const void *)peer)->sin_addr, 4);
        return find_v4(al, load_be32(b));
    }
    if (peer->sa_family != AF_INET6) {
        return false;
    }
    memcpy(b, &((const struct sockaddr_in6 *)(const void *)peer)->sin6_addr, 16);
    struct u128 x = load_be128(b);
    if (u128_le(V4_FIRST, x) && u128_le(x, V4_LAST)) {
        return find_v4(al, (uint32_t)x.lo);
    }
    return find_v6(al, x);
}

/* --- facts for stats and the audit -------------------------------------------------- */

size_t allowlist_count(const struct allowlist *al)
{
    return al ? al->n : 0;
}

size_t allowlist_range_count(const struct allowlist *al)
{
    return (al != NULL && al->sealed) ? al->n4 + al->n6 : 0;
}

bool allowlist_contains_everything(const struct allowlist *al)
{
    if (al == NULL) {
        return false;
    }
    for (size_t i = 0; i < al->n; i++) {
        if (al->entries[i].prefix == (al->entries[i].v4 ? 96 : 0)) {
            return true;
        }
    }
    return al->sealed && al->covers_all;
}

static bool entry_is_loopback(const struct entry *e)
{
    struct range r = entry_range(e);
    for (size_t i = 0; i < sizeof LOOPBACK / sizeof LOOPBACK[0]; i++) {
        if (u128_le(LOOPBACK[i].first, r.first) && u128_le(r.last, LOOPBACK[i].last)) {
            return true;
        }
    }
    return false;
}

bool allowlist_net_at(const struct allowlist *al, size_t i, struct allowlist_net *net)
{
    if (al == NULL || i >= al->n) {
        return false;
    }
    entry_text(&al->entries[i], net->text, sizeof net->text);
    net->loopback = entry_is_loopback(&al->entries[i]);
    return true;
}

size_t allowlist_format(const struct allowlist *al, char *buf, size_t len)
{
    size_t at = 0;
    if (len > 0) {
        buf[0] = '\0';
    }
    for (size_t i = 0; al != NULL && i < al->n; i++) {
        char one[ALLOWLIST_CIDR_MAX + 8];
        size_t n;
        one[0] = ',';
        entry_text(&al->entries[i], one + 1, sizeof one - 1);
        n = strlen(one + (i == 0));
        if (at + 1 < len) {
            size_t k = n < len - 1 - at ? n : len - 1 - at;
            memcpy(buf + at, one + (i == 0), k);
            buf[at + k] = '\0';
        }
        at += n;
    }
    return at;
}
