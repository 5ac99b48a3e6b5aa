/* fuzz_cli.c: options_parse_cli over an argv made from the input (arguments
 * separated by NUL bytes; argv[0] is "hardcached"), on fresh defaults each
 * time. Besides the sanitizers it checks what main.c relies on: the result
 * is one of the three values; an error is one non-empty line of printable
 * text starting "hardcached: " (operator input must not reach a terminal
 * raw); a successful parse validates, and every option's value written back
 * by options_format reads back to the same value (habit 10: parser and
 * composer round-trip). What the options allocate is freed (options_release).
 * --tls-client-identity's value also goes through tlsid_parse here: a list
 * it refuses must have made the parse fail; every identity it accepts is
 * printable, within bounds, matches itself, and stops matching once a NUL or
 * a control byte is put in or after it (what a certificate could smuggle).
 * The start-up notices for memcached's options without effect go to
 * /dev/null (printed for every input they would drown the fuzzer's output);
 * each accepted one must have been recorded at most once. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/cli.h"
#include "conf/options.h"
#include "conf/settings.h"
#include "fuzz_common.h"
#include "sec/tlsid.h"

#define FUZZ_MAX_ARGS 256
#define CLI_TARGET "fuzz_cli"

static FILE *devnull;

/* One accepted identity: printable, bounded, matches itself exactly. */
static void cli_check_identity(const struct tlsid_list *l, const struct tlsid *id)
{
    char v[TLSID_VALUE_MAX + 2];
    if (id->len == 0 || id->len > TLSID_VALUE_MAX || strlen(id->value) != id->len) {
        fuzz_die(CLI_TARGET, "tlsid: an identity out of bounds", id->value);
    }
    for (size_t i = 0; i < id->len; i++) {
        if ((unsigned char)id->value[i] < 0x20 || (unsigned char)id->value[i] >= 0x7f) {
            fuzz_die(CLI_TARGET, "tlsid: an identity with a non-printable byte", "");
        }
    }
    if (!tlsid_match(l, id->kind, id->value, id->len)) {
        fuzz_die(CLI_TARGET, "tlsid: an identity does not match itself", id->value);
    }
    memcpy(v, id->value, id->len + 1);
    if (tlsid_match(l, id->kind, v, id->len + 1)) {          /* "name\0" */
        fuzz_die(CLI_TARGET, "tlsid: a value with a NUL after it matches", id->value);
    }
    v[id->len / 2] = '\x01';
    if (tlsid_match(l, id->kind, v, id->len)) {
        fuzz_die(CLI_TARGET, "tlsid: a value with a control byte matches", id->value);
    }
}

static void cli_check_tlsid(const struct settings *s, enum options_result res)
{
    static struct tlsid_list l;
    char err[512];
    if (s->tls_client_identity[0] == '\0') {
        return;
    }
    memset(err, 0x55, sizeof err);
    if (!tlsid_parse(span_cstr(s->tls_client_identity), &l, err, sizeof err)) {
        fuzz_check_message(CLI_TARGET, err, sizeof err, NULL);
        if (strncmp(err, "entry ", 6) != 0 && strncmp(err, "empty list", 10) != 0) {
            fuzz_die(CLI_TARGET, "tlsid: a refusal that names no entry", err);
        }
        if (res == OPTIONS_RUN) {
            fuzz_die(CLI_TARGET, "a --tls-client-identity tlsid_parse refuses was accepted",
                     err);
        }
        return;
    }
    for (int i = 0; i < l.n; i++) {
        cli_check_identity(&l, &l.ids[i]);
    }
}

/* Each of memcached's options without effect is recorded once, and only
 * OPT_IGNORED rows are. */
static void cli_check_ignored(const struct settings *s)
{
    if (s->nignored < 0 || s->nignored > SETTINGS_MAX_IGNORED) {
        fuzz_die(CLI_TARGET, "ignored options: count out of bounds", "");
    }
    for (int i = 0; i < s->nignored; i++) {
        if (s->ignored[i].row >= options_count ||
            !(options_table[s->ignored[i].row].flags & OPT_IGNORED)) {
            fuzz_die(CLI_TARGET, "a recorded ignored option is not an OPT_IGNORED row", "");
        }
        for (int j = 0; j < i; j++) {
            if (s->ignored[j].row == s->ignored[i].row) {
                fuzz_die(CLI_TARGET, "an ignored option recorded twice",
                         options_table[s->ignored[i].row].name);
            }
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
            fuzz_die(CLI_TARGET, "accepted settings fail options_validate", err);
        }
        fuzz_check_rows_round_trip(CLI_TARGET, &s);
        cli_check_ignored(&s);
        break;
    case OPTIONS_EXIT_OK:
        break;
    case OPTIONS_ERROR:
        fuzz_check_message(CLI_TARGET, err, sizeof err, "hardcached: ");
        break;
    default:
        fuzz_die(CLI_TARGET, "unknown result", "");
    }
    cli_check_tlsid(&s, res);
    options_release(&s);
    free(copy);
    return 0;
}
