/* tlsid.c: --tls-client-identity, parsed once at start-up from operator
 * text and matched against what a client certificate carries. The parser
 * is strict (known kinds only, DNS names in letter-digit-hyphen labels, no
 * wildcard, no duplicate, no empty entry) so a typo is refused at start
 * instead of silently admitting nobody, or somebody else. Matching is exact
 * and byte-counted: certificate strings are length-prefixed and may hold a
 * NUL or control bytes, which never match. */
#include "sec/tlsid.h"

#include <stdio.h>
#include <string.h>

#include "base/show.h"

#define TLSID_FORM "expected dns:NAME, uri:URI or cn:NAME, comma separated"
#define DNS_NAME_MAX 253
#define DNS_LABEL_MAX 63

static const struct {
    const char *prefix;
    enum tlsid_kind kind;
} kinds[] = {
    { "dns:", TLSID_DNS }, { "uri:", TLSID_URI }, { "cn:", TLSID_CN },
};

static char ascii_lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* One label of a DNS name: 1-63 letters, digits and hyphens, no hyphen at
 * either end. */
static bool dns_label_ok(struct span l)
{
    if (l.n == 0 || l.n > DNS_LABEL_MAX || l.p[0] == '-' || l.p[l.n - 1] == '-') {
        return false;
    }
    for (size_t i = 0; i < l.n; i++) {
        if (!is_alnum(l.p[i]) && l.p[i] != '-') {
            return false;
        }
    }
    return true;
}

static bool all_digits(struct span s)
{
    for (size_t i = 0; i < s.n; i++) {
        if (!is_digit(s.p[i])) {
            return false;
        }
    }
    return s.n > 0;
}

/* NULL when v is a DNS name a certificate's dNSName can hold, else why not. */
static const char *dns_why(struct span v)
{
    struct span rest = v, label = SPAN_EMPTY;
    if (v.n > DNS_NAME_MAX) {
        return "a DNS name is at most 253 bytes";
    }
    if (span_find(v, '*') < v.n) {
        return "wildcards are not accepted (name each host)";
    }
    while (span_split(&rest, '.', &label)) {
        if (!dns_label_ok(label)) {
            return "a DNS name is dot-separated labels of 1-63 letters, digits and "
                   "hyphens (no hyphen first or last, no trailing dot)";
        }
    }
    if (all_digits(label)) {
        return "an IP address is not a DNS name";
    }
    return NULL;
}

/* NULL when v is an absolute URI (scheme ":" something) of printable bytes
 * without blanks, else why not. */
static const char *uri_why(struct span v)
{
    size_t colon = span_find(v, ':');
    if (colon == 0 || colon + 1 >= v.n || !(ascii_lower(v.p[0]) >= 'a' &&
                                             ascii_lower(v.p[0]) <= 'z')) {
        return "a URI starts with its scheme and a colon (spiffe://trust.domain/path)";
    }
    for (size_t i = 1; i < colon; i++) {
        if (!is_alnum(v.p[i]) && v.p[i] != '+' && v.p[i] != '-' && v.p[i] != '.') {
            return "a URI scheme is letters, digits, +, - and .";
        }
    }
    for (size_t i = colon + 1; i < v.n; i++) {
        if ((unsigned char)v.p[i] <= 0x20 || (unsigned char)v.p[i] >= 0x7f) {
            return "a URI is printable ASCII without blanks";
        }
    }
    return NULL;
}

/* NULL when v is a common name we can compare (printable ASCII, no blank
 * at either end: "cn: a" is more likely a typo than a name). */
static const char *cn_why(struct span v)
{
    if (v.p[0] == ' ' || v.p[v.n - 1] == ' ') {
        return "a blank at either end of the name";
    }
    for (size_t i = 0; i < v.n; i++) {
        if ((unsigned char)v.p[i] < 0x20 || (unsigned char)v.p[i] >= 0x7f) {
            return "a common name is printable ASCII";
        }
    }
    return NULL;
}

static bool same_value(enum tlsid_kind kind, const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char x = kind == TLSID_DNS ? ascii_lower(a[i]) : a[i];
        char y = kind == TLSID_DNS ? ascii_lower(b[i]) : b[i];
        if (x != y) {
            return false;
        }
    }
    return true;
}

static bool listed(const struct tlsid_list *l, enum tlsid_kind kind, const char *v, size_t n)
{
    for (int i = 0; i < l->n; i++) {
        const struct tlsid *id = &l->ids[i];
        if (id->kind == kind && id->len == n && same_value(kind, id->value, v, n)) {
            return true;
        }
    }
    return false;
}

/* "entry 2 "xyz:a": why; expected ..." */
static bool refuse(struct span entry, int at, const char *why, char *err, size_t errlen)
{
    char raw[SHOW_IN_MAX + 2], shown[SHOW_IN_MAX + 8];
    span_copy(entry, raw, sizeof raw);
    show_text(raw, shown, sizeof shown);
    snprintf(err, errlen, "entry %d \"%s\": %s; " TLSID_FORM, at, shown, why);
    return false;
}

/* Checks one trimmed entry and appends it; false with err set. */
static bool parse_entry(struct span e, int at, struct tlsid_list *out, char *err, size_t errlen)
{
    const char *why = NULL;
    size_t k = 0;
    while (k < sizeof kinds / sizeof kinds[0] && !span_starts_with(e, kinds[k].prefix)) {
        k++;
    }
    if (k == sizeof kinds / sizeof kinds[0]) {
        return refuse(e, at, e.n == 0 ? "empty entry" : "unknown kind", err, errlen);
    }
    struct span v = span_sub(e, strlen(kinds[k].prefix), e.n);
    enum tlsid_kind kind = kinds[k].kind;
    if (v.n == 0 || v.n > TLSID_VALUE_MAX) {
        why = v.n == 0 ? "empty value" : "longer than 255 bytes";
    } else {
        why = kind == TLSID_DNS ? dns_why(v) : kind == TLSID_URI ? uri_why(v) : cn_why(v);
    }
    if (why == NULL && listed(out, kind, v.p, v.n)) {
        why = "given twice";
    }
    if (why == NULL && out->n == TLSID_MAX) {
        why = "more than 32 identities";
    }
    if (why != NULL) {
        return refuse(e, at, why, err, errlen);
    }
    struct tlsid *id = &out->ids[out->n++];
    id->kind = kind;
    id->len = v.n;
    memcpy(id->value, v.p, v.n);
    id->value[v.n] = '\0';
    return true;
}

bool tlsid_parse(struct span text, struct tlsid_list *out, char *err, size_t errlen)
{
    struct span rest = text, entry;
    int at = 0;
    out->n = 0;
    if (text.n == 0) {
        snprintf(err, errlen, "empty list; " TLSID_FORM);
        return false;
    }
    while (span_split(&rest, ',', &entry)) {
        if (!parse_entry(span_trim_any(entry, " "), ++at, out, err, errlen)) {
            out->n = 0;
            return false;
        }
    }
    return true;
}

/* SECURITY: the bytes come from a peer's certificate. Only printable ASCII
 * can match, so "good.example\0.evil" is never "good.example". */
bool tlsid_match(const struct tlsid_list *l, enum tlsid_kind kind, const char *value, size_t len)
{
    if (l == NULL || value == NULL || len == 0 || len > TLSID_VALUE_MAX) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)value[i] < 0x20 || (unsigned char)value[i] >= 0x7f) {
            return false;
        }
    }
    return listed(l, kind, value, len);
}
