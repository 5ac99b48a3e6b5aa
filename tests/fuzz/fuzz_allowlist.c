/* fuzz_allowlist.c: the allowlist against a brute-force model. Input: byte 0
 * picks the mode, then text up to the first NUL (one CIDR, or with list mode
 * one comma list, per line), then address bytes. Every add is checked against
 * an independent reading of the documented syntax (accept/refuse must agree);
 * every admit, on addresses from the input and on the edges of each network
 * added (first, last, one below, one above; IPv4 as AF_INET and as mapped
 * IPv6), against a linear scan of the networks added. Also checked: count,
 * range_count and contains_everything against a merge done here, fail-closed
 * before seal, format -> add_list -> format round-trips, and a refusal's
 * message is one line of printable text. Any mismatch aborts. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "fuzz_common.h"
#include "sec/allowlist.h"

#define ALLOW_TARGET "fuzz_allowlist"

typedef unsigned __int128 u128;

#define FUZZ_MAX_NETS 4096
#define FUZZ_MAX_PROBES 512
#define V4_FIRST (((u128)0xffff) << 32)
#define V4_LAST (V4_FIRST | 0xffffffffu)
#define U128_MAX (~(u128)0)

struct net {
    u128 first, last;
};

static struct net model[FUZZ_MAX_NETS];
static size_t nmodel;

/* --- the model: the documented syntax, read independently ------------------ */

static u128 load_be(const unsigned char *b, size_t n)
{
    u128 v = 0;
    for (size_t i = 0; i < n; i++) {
        v = v << 8 | b[i];
    }
    return v;
}

/* "ADDRESS" or "ADDRESS/PREFIX": IPv4 if there is no colon; prefix decimal,
 * no sign, no leading zero; no host bits beyond the prefix; <= 64 bytes. */
static bool model_parse(const char *text, struct net *out)
{
    char buf[80];
    unsigned char b[16];
    size_t len = strlen(text);
    unsigned prefix, max;
    u128 addr;
    if (len == 0 || len > ALLOWLIST_CIDR_MAX) {
        return false;
    }
    memcpy(buf, text, len + 1);
    char *slash = strchr(buf, '/');
    if (slash != NULL) {
        *slash = '\0';
    }
    bool v4 = strchr(buf, ':') == NULL;
    if (v4) {
        if (inet_pton(AF_INET, buf, b) != 1) {
            return false;
        }
        addr = V4_FIRST | load_be(b, 4);
        max = 32;
    } else {
        if (inet_pton(AF_INET6, buf, b) != 1) {
            return false;
        }
        addr = load_be(b, 16);
        max = 128;
    }
    prefix = max;
    if (slash != NULL) {
        const char *p = slash + 1;
        size_t nd = strspn(p, "0123456789");
        if (nd == 0 || p[nd] != '\0' || nd > 3 || (p[0] == '0' && nd > 1)) {
            return false;
        }
        prefix = (unsigned)atoi(p);
        if (prefix > max) {
            return false;
        }
    }
    unsigned uprefix = prefix + (v4 ? 96 : 0);
    u128 host = uprefix == 128 ? 0 : U128_MAX >> uprefix;
    if ((addr & host) != 0) {
        return false;
    }
    out->first = addr;
    out->last = addr | host;
    return true;
}

/* A comma list: elements trimmed of spaces, none empty, all valid. */
static size_t model_parse_list(const char *list, struct net *out, size_t cap, bool *ok)
{
    size_t n = 0;
    *ok = true;
    for (const char *p = list;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char one[ALLOWLIST_CIDR_MAX + 2];
        while (len > 0 && *p == ' ') {
            p++;
            len--;
        }
        while (len > 0 && p[len - 1] == ' ') {
            len--;
        }
        if (len > ALLOWLIST_CIDR_MAX + 1) {
            len = ALLOWLIST_CIDR_MAX + 1;   /* too long either way */
        }
        memcpy(one, p, len);
        one[len] = '\0';
        if (n == cap || !model_parse(one, &out[n])) {
            *ok = false;
            return 0;
        }
        n++;
        if (comma == NULL) {
            return n;
        }
        p = comma + 1;
    }
}

static bool model_admit(u128 x)
{
    for (size_t i = 0; i < nmodel; i++) {
        if (model[i].first <= x && x <= model[i].last) {
            return true;
        }
    }
    return false;
}

static int net_cmp(const void *a, const void *b)
{
    u128 x = ((const struct net *)a)->first, y = ((const struct net *)b)->first;
    return x < y ? -1 : x > y;
}

/* Merged ranges; their pieces around the IPv4 block; full coverage. */
static void model_ranges(size_t *pieces, bool *everything)
{
    static struct net m[FUZZ_MAX_NETS];
    size_t n = 0;
    bool all_v4 = false, low = false, high = false;
    memcpy(m, model, nmodel * sizeof(struct net));
    qsort(m, nmodel, sizeof(struct net), net_cmp);
    for (size_t i = 0; i < nmodel; i++) {
        if (n > 0 && (m[i].first <= m[n - 1].last ||
                      (m[n - 1].last != U128_MAX && m[i].first == m[n - 1].last + 1))) {
            if (m[i].last > m[n - 1].last) {
                m[n - 1].last = m[i].last;
            }
        } else {
            m[n++] = m[i];
        }
    }
    *pieces = 0;
    for (size_t i = 0; i < n; i++) {
        *pieces += (m[i].first < V4_FIRST) + (m[i].first <= V4_LAST && m[i].last >= V4_FIRST)
                   + (m[i].last > V4_LAST);
        all_v4 |= m[i].first <= V4_FIRST && m[i].last >= V4_LAST;
        low |= m[i].first == 0 && m[i].last >= V4_FIRST - 1;
        high |= m[i].first <= V4_LAST + 1 && m[i].last == U128_MAX;
    }
    *everything = all_v4 || (low && high);
    for (size_t i = 0; i < nmodel; i++) {
        bool v4 = model[i].first >= V4_FIRST && model[i].last <= V4_LAST;
        if ((model[i].first == 0 && model[i].last == U128_MAX) ||
            (v4 && model[i].first == V4_FIRST && model[i].last == V4_LAST)) {
            *everything = true;
        }
    }
}

/* --- probing ----------------------------------------------------------------- */

static bool admit_v6(const struct allowlist *al, u128 x)
{
    struct sockaddr_in6 sa;
    memset(&sa, 0, sizeof sa);
    sa.sin6_family = AF_INET6;
    for (int i = 15; i >= 0; i--) {
        sa.sin6_addr.s6_addr[i] = (unsigned char)x;
        x >>= 8;
    }
    return allowlist_admit(al, (const struct sockaddr *)&sa);
}

static bool admit_v4(const struct allowlist *al, uint32_t a)
{
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(a);
    return allowlist_admit(al, (const struct sockaddr *)&sa);
}

static void probe(const struct allowlist *al, u128 x, bool sealed)
{
    bool want = sealed && model_admit(x);
    char text[64];
    snprintf(text, sizeof text, "%016llx%016llx sealed=%d want=%d",
             (unsigned long long)(x >> 64), (unsigned long long)x, sealed, want);
    if (admit_v6(al, x) != want) {
        fuzz_die(ALLOW_TARGET, "admit (AF_INET6)", text);
    }
    if (x >= V4_FIRST && x <= V4_LAST && admit_v4(al, (uint32_t)x) != want) {
        fuzz_die(ALLOW_TARGET, "admit (AF_INET)", text);
    }
}

/* Address bytes: a kind byte, then 4 (IPv4), 16 (IPv6) or 4 (an offset
 * around the start of network k, resolved when probing) bytes. */
struct probe_spec {
    uint8_t kind;
    u128 value;
};

static struct probe_spec probes[FUZZ_MAX_PROBES];
static size_t nprobes;

static void probes_from_input(const uint8_t *p, size_t n)
{
    while (n > 0 && nprobes < FUZZ_MAX_PROBES) {
        uint8_t kind = *p++;
        n--;
        size_t need = (kind % 3 == 1) ? 16 : 4;
        if (n < need) {
            break;
        }
        probes[nprobes].kind = kind;
        probes[nprobes].value = load_be(p, need);
        nprobes++;
        p += need;
        n -= need;
    }
}

/* A probe's address now: IPv4, IPv6, or relative to a network added. */
static bool probe_addr(const struct probe_spec *ps, u128 *x)
{
    switch (ps->kind % 3) {
    case 0: *x = V4_FIRST | ps->value; return true;
    case 1: *x = ps->value; return true;
    default:
        if (nmodel == 0) {
            return false;
        }
        *x = model[(ps->kind / 3) % nmodel].first + ps->value - 0x80000000u;
        return true;
    }
}

static void check_all(const struct allowlist *al, bool sealed)
{
    size_t pieces;
    bool everything;
    char text[64];
    for (size_t i = 0; i < nprobes; i++) {
        u128 x;
        if (probe_addr(&probes[i], &x)) {
            probe(al, x, sealed);
        }
    }
    for (size_t i = 0; i < nmodel && i < 64; i++) {
        probe(al, model[i].first, sealed);
        probe(al, model[i].last, sealed);
        probe(al, model[i].first - 1, sealed);
        probe(al, model[i].last + 1, sealed);
    }
    if (allowlist_count(al) != nmodel) {
        fuzz_die(ALLOW_TARGET, "count", "");
    }
    model_ranges(&pieces, &everything);
    if (sealed && allowlist_range_count(al) != pieces) {
        snprintf(text, sizeof text, "got %zu want %zu", allowlist_range_count(al), pieces);
        fuzz_die(ALLOW_TARGET, "range_count", text);
    }
    if (sealed && allowlist_contains_everything(al) != everything) {
        fuzz_die(ALLOW_TARGET, "contains_everything", everything ? "want true" : "want false");
    }
}

/* format -> add_list into a new list -> format: the same text and lookups. */
static void check_format(const struct allowlist *al)
{
    size_t need = allowlist_format(al, NULL, 0);
    char *a = malloc(need + 1), *b = malloc(need + 1), err[512];
    struct allowlist *again = allowlist_create();
    if (a == NULL || b == NULL || again == NULL) {
        abort();
    }
    if (allowlist_format(al, a, need + 1) != need || strlen(a) != need) {
        fuzz_die(ALLOW_TARGET, "format length", "");
    }
    if (nmodel > 0) {
        if (!allowlist_add_list(again, a, err, sizeof err)) {
            fuzz_die(ALLOW_TARGET, "formatted list does not read back", err);
        }
        allowlist_format(again, b, need + 1);
        if (strcmp(a, b) != 0) {
            fuzz_die(ALLOW_TARGET, "format round trip", a);
        }
        allowlist_seal(again);
        for (size_t i = 0; i < nprobes; i++) {
            u128 x;
            if (probe_addr(&probes[i], &x) && admit_v6(again, x) != model_admit(x)) {
                fuzz_die(ALLOW_TARGET, "admit after format round trip", a);
            }
        }
    }
    allowlist_destroy(&again);
    free(a);
    free(b);
}

/* One line of text: an add, or a list; the model follows what was accepted. */
static bool add_line(struct allowlist *al, const char *line, bool list_mode)
{
    static struct net tmp[FUZZ_MAX_NETS];
    char err[512];
    bool want;
    size_t n = 0;
    if (list_mode) {
        n = model_parse_list(line, tmp, FUZZ_MAX_NETS - nmodel, &want);
    } else {
        want = nmodel < FUZZ_MAX_NETS && model_parse(line, &tmp[0]);
        n = want;
    }
    memset(err, 0, sizeof err);
    bool got = list_mode ? allowlist_add_list(al, line, err, sizeof err)
                         : allowlist_add(al, line, err, sizeof err);
    if (got != want) {
        fprintf(stderr, "line \"%s\": got %d want %d (%s)\n", line, got, want, err);
        fuzz_die(ALLOW_TARGET, "accept/refuse", line);
    }
    if (!got) {
        fuzz_check_message(ALLOW_TARGET, err, sizeof err, NULL);
    }
    if (got) {
        memcpy(model + nmodel, tmp, n * sizeof(struct net));
        nmodel += n;
    }
    return got;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    uint8_t mode = data[0];
    const uint8_t *text = data + 1;
    const uint8_t *nul = memchr(text, '\0', size - 1);
    size_t ntext = nul ? (size_t)(nul - text) : size - 1;
    char *copy = malloc(ntext + 1);
    struct allowlist *al = allowlist_create();
    if (copy == NULL || al == NULL) {
        abort();
    }
    memcpy(copy, text, ntext);
    copy[ntext] = '\0';
    nmodel = 0;
    nprobes = 0;
    if (nul != NULL) {
        probes_from_input(nul + 1, size - 1 - ntext - 1);
    }
    if (admit_v4(NULL, 0x0a000001) || admit_v4(al, 0x0a000001) || admit_v6(al, 1)) {
        fuzz_die(ALLOW_TARGET, "a NULL or unsealed list admits", "");
    }
    /* mode bit0: lines are comma lists; bit1: seal and check half-way, then
     * add more (the list must be unsealed again); bit2: check format. */
    size_t nlines = 0, line_no = 0;
    bool half_sealed = false, dirty = false;
    for (size_t i = 0; i <= ntext; i++) {
        nlines += i == ntext || copy[i] == '\n';
    }
    char *line = copy;
    for (;;) {
        char *nl = strchr(line, '\n');
        if (nl != NULL) {
            *nl = '\0';
        }
        bool added = add_line(al, line, mode & 1);
        dirty |= half_sealed && added;
        line_no++;
        if ((mode & 2) && line_no == (nlines + 1) / 2) {
            allowlist_seal(al);
            check_all(al, true);
            half_sealed = true;
        }
        if (nl == NULL) {
            break;
        }
        line = nl + 1;
    }
    if (dirty) {
        check_all(al, false);   /* adding to a sealed list unseals it */
    }
    allowlist_seal(al);
    check_all(al, true);
    allowlist_seal(al);                      /* sealing twice changes nothing */
    check_all(al, true);
    if (mode & 4) {
        check_format(al);
    }
    allowlist_destroy(&al);
    if (al != NULL) {
        fuzz_die(ALLOW_TARGET, "destroy did not clear the pointer", "");
    }
    free(copy);
    return 0;
}
