/* span.h: a bounded view of bytes (pointer + length) and the few operations
 * the parsers need: compare, trim, split at a separator, find a byte. Every
 * parser of untrusted or operator input (the protocol tokenizer, the option
 * and config readers) walks spans, never NUL-terminated strings, so none can
 * read past what it was given. A span never owns its bytes. */
#ifndef HC_BASE_SPAN_H
#define HC_BASE_SPAN_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

struct span {
    const char *p;          /* NULL only for the empty span */
    size_t n;
};

#define SPAN_EMPTY ((struct span){ NULL, 0 })

static inline struct span span_of(const char *p, size_t n)
{
    return (struct span){ p, n };
}

/* A span over a C string (operator input that arrived as one: argv). */
static inline struct span span_cstr(const char *s)
{
    return (struct span){ s, s != NULL ? strlen(s) : 0 };
}

static inline bool span_is_empty(struct span s)
{
    return s.n == 0;
}

/* Equal, byte for byte, to the word (a C string literal or constant). */
static inline bool span_eq(struct span s, const char *word)
{
    size_t n = strlen(word);
    return s.n == n && (n == 0 || memcmp(s.p, word, n) == 0);
}

static inline bool span_eq_span(struct span a, struct span b)
{
    return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}

static inline bool span_starts_with(struct span s, const char *prefix)
{
    size_t n = strlen(prefix);
    return s.n >= n && (n == 0 || memcmp(s.p, prefix, n) == 0);
}

/* The index of the first byte c, or s.n when there is none. */
static inline size_t span_find(struct span s, char c)
{
    const char *hit = s.n > 0 ? memchr(s.p, c, s.n) : NULL;
    return hit != NULL ? (size_t)(hit - s.p) : s.n;
}

/* Bytes [from, from + len) of s, clipped to s. */
static inline struct span span_sub(struct span s, size_t from, size_t len)
{
    if (from >= s.n) {
        return span_of(s.n > 0 ? s.p + s.n : s.p, 0);
    }
    return span_of(s.p + from, len < s.n - from ? len : s.n - from);
}

/* Without the run of bytes c that s starts with (all of s: an empty span
 * at its end). */
static inline struct span span_skip(struct span s, char c)
{
    size_t i = 0;
    while (i < s.n && s.p[i] == c) {
        i++;
    }
    return i == 0 ? s : span_of(s.p + i, s.n - i);
}

static inline bool span_is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Without the spaces and tabs at both ends. */
static inline struct span span_trim(struct span s)
{
    while (s.n > 0 && span_is_blank(s.p[0])) {
        s.p++;
        s.n--;
    }
    while (s.n > 0 && span_is_blank(s.p[s.n - 1])) {
        s.n--;
    }
    return s;
}

/* Cuts *rest at the first sep: *head gets what is before it, *rest what is
 * after. Without a sep, *head gets all of *rest and *rest becomes empty.
 * False once *rest was empty to begin with (nothing left to cut). */
static inline bool span_split(struct span *rest, char sep, struct span *head)
{
    if (rest->n == 0 && rest->p == NULL) {
        return false;
    }
    size_t at = span_find(*rest, sep);
    *head = span_of(rest->p, at);
    *rest = at < rest->n ? span_of(rest->p + at + 1, rest->n - at - 1) : SPAN_EMPTY;
    return true;
}

/* Copies s into out as a C string (for messages and libc calls); false,
 * with out holding a cut copy, when s does not fit. */
static inline bool span_copy(struct span s, char *out, size_t outlen)
{
    if (outlen == 0) {
        return false;
    }
    size_t n = s.n < outlen - 1 ? s.n : outlen - 1;
    if (n > 0) {
        memcpy(out, s.p, n);
    }
    out[n] = '\0';
    return n == s.n;
}

/* Whether byte c is one of the bytes of set (a C string; NUL never is). */
static inline bool span_byte_in(char c, const char *set)
{
    return memchr(set, c, strlen(set)) != NULL;
}

/* The index of the first byte that is in set, or s.n when there is none. */
static inline size_t span_find_any(struct span s, const char *set)
{
    size_t i = 0;
    while (i < s.n && !span_byte_in(s.p[i], set)) {
        i++;
    }
    return i;
}

/* The length of the run of bytes in set that s starts with. */
static inline size_t span_run(struct span s, const char *set)
{
    size_t i = 0;
    while (i < s.n && span_byte_in(s.p[i], set)) {
        i++;
    }
    return i;
}

/* Without the bytes of set at both ends (span_trim is set " \t"). */
static inline struct span span_trim_any(struct span s, const char *set)
{
    size_t front = span_run(s, set);
    s = span_sub(s, front, s.n);
    while (s.n > 0 && span_byte_in(s.p[s.n - 1], set)) {
        s.n--;
    }
    return s;
}

/* How many bytes of s are c. */
static inline size_t span_count(struct span s, char c)
{
    size_t n = 0;
    for (size_t i = 0; i < s.n; i++) {
        n += s.p[i] == c;
    }
    return n;
}

/* Reads the digits (of base 2 to 10) that s starts with into *out: no
 * sign, no blanks. Returns how many bytes they took; 0 when s does not
 * start with a digit or the value does not fit (never a wrapped number). */
static inline size_t span_uint(struct span s, unsigned base, unsigned long long *out)
{
    unsigned long long v = 0;
    size_t i = 0;
    for (; i < s.n && s.p[i] >= '0' && s.p[i] < (char)('0' + base); i++) {
        unsigned d = (unsigned)(s.p[i] - '0');
        if (v > (~0ull - d) / base) {
            return 0;
        }
        v = v * base + d;
    }
    *out = v;
    return i;
}

#endif
