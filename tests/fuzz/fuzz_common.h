/* fuzz_common.h: what the fuzz targets share. How a violated invariant ends
 * the run (abort() under libFuzzer; tests/unit/test_regress_fuzz.c, which
 * compiles every target into one file, defines FUZZ_FAIL as a failed check);
 * the check on a refusal's message (one line of printable text, as base/show.h
 * promises for quoted input); and the option rows' round trip, format ->
 * apply -> format (habit 10), which the CLI and config-file targets both run.
 * Header-only and static inline: tests/fuzz/run.sh builds each target from its
 * one .c file, and a target that uses none of it pays nothing. */
#ifndef HC_FUZZ_COMMON_H
#define HC_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/options.h"
#include "conf/settings.h"

#ifndef FUZZ_FAIL
#define FUZZ_FAIL() abort()
#endif

#define FUZZ_FMT_MAX 65536      /* one option value as options_format writes it */

/* Says which invariant of which target broke (and on what), then fails. */
static inline void fuzz_die(const char *target, const char *what, const char *detail)
{
    if (detail != NULL && detail[0] != '\0') {
        fprintf(stderr, "%s: invariant violated: %s: %.300s\n", target, what, detail);
    } else {
        fprintf(stderr, "%s: invariant violated: %s\n", target, what);
    }
    FUZZ_FAIL();
}

/* A refusal's message in err[0, errlen): NUL-terminated, not empty, one line
 * of printable ASCII (operator input must not reach a terminal raw), and
 * starting with prefix when one is given. */
static inline void fuzz_check_message(const char *target, const char *err, size_t errlen,
                                      const char *prefix)
{
    size_t n = strnlen(err, errlen);
    if (n == errlen) {
        fuzz_die(target, "error message not NUL-terminated", "");
    }
    if (n == 0) {
        fuzz_die(target, "refused without a message", "");
    }
    if (prefix != NULL && strncmp(err, prefix, strlen(prefix)) != 0) {
        fuzz_die(target, "error message without its prefix", err);
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)err[i];
        if (c < 0x20 || c >= 0x7f) {
            fuzz_die(target, "error message has a non-printable byte", err);
        }
    }
}

/* Every option row of accepted settings s: its value written by
 * options_format, applied to fresh defaults by options_apply, and written
 * again reads the same. */
static inline void fuzz_check_rows_round_trip(const char *target, const struct settings *s)
{
    static char a[FUZZ_FMT_MAX], b[FUZZ_FMT_MAX];
    char err[512];
    for (size_t i = 0; i < options_count; i++) {
        const struct option_row *r = &options_table[i];
        struct settings fresh;
        options_format(s, r, a, sizeof a);
        if (a[0] == '\0' || strlen(a) + 1 >= sizeof a) {
            continue;   /* actions, -o, unset strings and lists, or too long */
        }
        settings_defaults(&fresh);
        options_format(&fresh, r, b, sizeof b);
        if (r->def == NULL && strcmp(a, b) == 0) {
            continue;   /* "unset" has no input spelling (hashpower 0) */
        }
        if (!options_apply(&fresh, r, a, err, sizeof err)) {
            fprintf(stderr, "row %s: \"%.200s\": %s\n", r->name, a, err);
            fuzz_die(target, "a formatted value does not read back", r->name);
        }
        options_format(&fresh, r, b, sizeof b);
        options_release(&fresh);
        if (strcmp(a, b) != 0) {
            fprintf(stderr, "row %s: \"%.200s\" read back as \"%.200s\"\n", r->name, a, b);
            fuzz_die(target, "format/apply/format changed the value", r->name);
        }
    }
}

/* A payload repeated to `total` bytes, as one stream of bytes: the protocol
 * targets read it in chunks their plan decides (tmp holds a chunk that wraps
 * around the payload's end). */
struct fuzz_stream {
    const uint8_t *data;
    size_t size, total, pos;
    uint8_t *tmp;
};

/* Up to want bytes from the stream's position (not moved): *out points at
 * them; returns how many. */
static inline size_t fuzz_stream_take(const struct fuzz_stream *s, size_t want,
                                      const uint8_t **out)
{
    size_t off = s->pos % s->size;
    size_t n = want;
    if (n > s->total - s->pos) {
        n = s->total - s->pos;
    }
    if (off + n <= s->size) {
        *out = s->data + off;
    } else {
        for (size_t i = 0; i < n; i++) {
            s->tmp[i] = s->data[(off + i) % s->size];
        }
        *out = s->tmp;
    }
    return n;
}

#endif
