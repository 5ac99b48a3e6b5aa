/* fuzz_cli.c: options_parse_cli over an argv made from the input (arguments
 * separated by NUL bytes; argv[0] is "hardcached"), on fresh defaults each
 * time. Besides the sanitizers it checks what main.c relies on: the result
 * is one of the three values; an error is one non-empty line of printable
 * text starting "hardcached: " (operator input must not reach a terminal
 * raw); a successful parse validates, and every option's value written back
 * by options_format reads back to the same value (habit 10: parser and
 * composer round-trip). What the options allocate is freed (options_release). */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/options.h"
#include "conf/settings.h"

/* How a violated invariant ends the run: abort() for libFuzzer; the
 * regression suite (tests/unit/test_regress_fuzz.c) makes it a failed check. */
#ifndef FUZZ_FAIL
#define FUZZ_FAIL() abort()
#endif

#define FUZZ_MAX_ARGS 256
#define CLI_FMT_MAX 65536

static FILE *devnull;

static void cli_die(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_cli: invariant violated: %s: %s\n", what, detail);
    FUZZ_FAIL();
}

static void cli_check_message(const char *err, size_t errlen)
{
    size_t n = strnlen(err, errlen);
    if (n == errlen) {
        cli_die("error message not NUL-terminated", "");
    }
    if (n == 0 || strncmp(err, "hardcached: ", 12) != 0) {
        cli_die("error message empty or without \"hardcached: \"", err);
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)err[i];
        if (c < 0x20 || c >= 0x7f) {
            cli_die("error message has a non-printable byte", err);
        }
    }
}

/* options_format -> options_apply on fresh defaults -> options_format: the
 * same text, for every row that has a value to write. */
static void check_round_trip(const struct settings *s)
{
    static char a[CLI_FMT_MAX], b[CLI_FMT_MAX];
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
            cli_die("a formatted value does not read back", r->name);
        }
        options_format(&fresh, r, b, sizeof b);
        options_release(&fresh);
        if (strcmp(a, b) != 0) {
            fprintf(stderr, "row %s: \"%.200s\" read back as \"%.200s\"\n", r->name, a, b);
            cli_die("format/apply/format changed the value", r->name);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size + 1);
    char *argv[FUZZ_MAX_ARGS + 2];
    int argc = 0;
    char err[512];
    struct settings s;
    if (devnull == NULL && (devnull = fopen("/dev/null", "w")) == NULL) {
        abort();
    }
    if (copy == NULL) {
        return 0;
    }
    memcpy(copy, data, size);
    copy[size] = '\0';
    argv[argc++] = "hardcached";
    for (size_t at = 0; at <= size && argc <= FUZZ_MAX_ARGS; ) {
        argv[argc++] = copy + at;
        at += strlen(copy + at) + 1;
    }
    argv[argc] = NULL;
    settings_defaults(&s);
    memset(err, 0x55, sizeof err);
    enum options_result res = options_parse_cli(&s, argc, argv, err, sizeof err, devnull);
    switch (res) {
    case OPTIONS_RUN:
        if (!options_validate(&s, err, sizeof err)) {
            cli_die("accepted settings fail options_validate", err);
        }
        check_round_trip(&s);
        break;
    case OPTIONS_EXIT_OK:
        break;
    case OPTIONS_ERROR:
        cli_check_message(err, sizeof err);
        break;
    default:
        cli_die("unknown result", "");
    }
    options_release(&s);
    free(copy);
    return 0;
}
