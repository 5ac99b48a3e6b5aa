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

#include "conf/cli.h"
#include "conf/options.h"
#include "conf/settings.h"
#include "fuzz_common.h"

#define FUZZ_MAX_ARGS 256
#define CLI_TARGET "fuzz_cli"

static FILE *devnull;

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
        break;
    case OPTIONS_EXIT_OK:
        break;
    case OPTIONS_ERROR:
        fuzz_check_message(CLI_TARGET, err, sizeof err, "hardcached: ");
        break;
    default:
        fuzz_die(CLI_TARGET, "unknown result", "");
    }
    options_release(&s);
    free(copy);
    return 0;
}
