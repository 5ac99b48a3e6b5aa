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

#endif
