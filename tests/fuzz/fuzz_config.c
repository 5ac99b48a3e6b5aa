/* fuzz_config.c: the config-file parser (options_parse_config_text) over the
 * input as file text, on fresh defaults each time. The text is passed as
 * (pointer, length) straight from libFuzzer's buffer, with no NUL after it,
 * so any read past len is an ASan report. Besides the sanitizers: a refusal
 * is one non-empty line of printable text, and a "fuzz.conf:N" in it names a
 * line that exists; an accepted file gives settings whose every option
 * writes back (options_format) and reads back (options_apply) to the same
 * value, and composing those settings as a config file ("name = value" for
 * each option that differs from its default) and parsing that gives the same
 * settings again (habit 10: parser and composer round-trip). */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/config.h"
#include "conf/options.h"
#include "conf/settings.h"
#include "fuzz_common.h"

#define FUZZ_FILE "fuzz.conf"
#define CONFIG_TARGET "fuzz_config"
#define FUZZ_COMPOSED_MAX (1024 * 1024)

static size_t count_lines(const uint8_t *data, size_t size)
{
    size_t n = 1;
    for (size_t i = 0; i < size; i++) {
        n += data[i] == '\n';
    }
    return n;
}

/* A refusal: one line of printable text (fuzz_common.h); a "fuzz.conf:N"
 * in it names a line the file has. */
static void config_check_message(const char *err, size_t errlen, size_t nlines)
{
    const char *at;
    fuzz_check_message(CONFIG_TARGET, err, errlen, NULL);
    at = strstr(err, FUZZ_FILE ":");
    if (at != NULL && at[sizeof FUZZ_FILE] >= '0' && at[sizeof FUZZ_FILE] <= '9') {
        unsigned long line = strtoul(at + sizeof FUZZ_FILE, NULL, 10);
        if (line == 0 || line > nlines) {
            fuzz_die(CONFIG_TARGET, "error names a line the file does not have", err);
        }
    }
}

/* Rows a config file can set and whose value options_format can write. */
static bool composable(const struct option_row *r)
{
    return !(r->flags & OPT_CLI_ONLY) && r->kind != OPT_K_HELP && r->kind != OPT_K_VERSION
           && r->kind != OPT_K_EXTENDED && r->kind != OPT_K_ALLOW_FILE;
}

/* A value a bare "name = value" line can carry: no '#' (a comment), no
 * quote (config.c refuses quote characters inside values, on purpose), no
 * line break, no blank at either end. */
static bool plain_value(const char *v)
{
    size_t n = strlen(v);
    return n > 0 && strpbrk(v, "#\"'\r\n") == NULL && v[0] != ' ' && v[0] != '\t'
           && v[n - 1] != ' ' && v[n - 1] != '\t';
}

/* s as a config file, then parsed again: every composable row the same. */
static void check_file_round_trip(const struct settings *s)
{
    static char a[FUZZ_FMT_MAX], b[FUZZ_FMT_MAX];
    static char text[FUZZ_COMPOSED_MAX];
    char err[512];
    size_t n = 0;
    struct settings def, again;
    settings_defaults(&def);
    for (size_t i = 0; i < options_count; i++) {
        const struct option_row *r = &options_table[i];
        if (!composable(r)) {
            continue;
        }
        options_format(s, r, a, sizeof a);
        options_format(&def, r, b, sizeof b);
        if (strcmp(a, b) == 0) {
            continue;
        }
        if (!plain_value(a) || strlen(a) + 1 >= sizeof a) {
            return;     /* not expressible in every reading of the format */
        }
        int w = snprintf(text + n, sizeof text - n, "%s = %s\n", r->name, a);
        if (w < 0 || (size_t)w >= sizeof text - n) {
            return;
        }
        n += (size_t)w;
    }
    settings_defaults(&again);
    if (!options_parse_config_text(&again, text, n, "composed.conf", err, sizeof err)) {
        fuzz_die(CONFIG_TARGET, "a composed config file is refused", err);
    }
    for (size_t i = 0; i < options_count; i++) {
        const struct option_row *r = &options_table[i];
        if (!composable(r)) {
            continue;
        }
        options_format(s, r, a, sizeof a);
        options_format(&again, r, b, sizeof b);
        if (strcmp(a, b) != 0) {
            fprintf(stderr, "row %s: \"%.200s\" came back as \"%.200s\"\n", r->name, a, b);
            fuzz_die(CONFIG_TARGET, "config file round trip changed a value", r->name);
        }
    }
    options_release(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct settings s;
    char err[512];
    settings_defaults(&s);
    memset(err, 0x55, sizeof err);
    if (options_parse_config_text(&s, (const char *)data, size, FUZZ_FILE, err, sizeof err)) {
        fuzz_check_rows_round_trip(CONFIG_TARGET, &s);
        check_file_round_trip(&s);
    } else {
        config_check_message(err, sizeof err, count_lines(data, size));
    }
    options_release(&s);
    return 0;
}
