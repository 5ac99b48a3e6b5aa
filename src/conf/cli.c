/* cli.c: the command line. Three passes over argv, all through getopt_long
 * built from the option table: check it in order on a scratch copy (so
 * errors, -h and -V come out as one pass would give them) while applying
 * the start-up rows (--config, --check-config); read the config file; apply
 * argv again so that it overrides the file; then the checks between
 * options. argv is operator input: every value goes through the table's
 * kinds, nothing here reads a value itself. */
#include "conf/cli.h"

#include <getopt.h>
#include <stdbool.h>

#include "base/show.h"
#include "conf/config.h"
#include "conf/options.h"

/* getopt_long's view of the table. Long-only rows get values above 255. */
struct cli_spec {
    char shorts[2 * OPTIONS_MAX_ROWS + 3];
    struct option longs[OPTIONS_MAX_ROWS + 1];
};

static int row_val(size_t i)
{
    char c = options_table[i].short_flag;
    return c ? (unsigned char)c : 256 + (int)i;
}

static const struct option_row *row_by_val(int val)
{
    for (size_t i = 0; i < options_count; i++) {
        if (options_table[i].group != OPT_G_EXTENDED && row_val(i) == val) {
            return &options_table[i];
        }
    }
    return NULL;
}

/* "+": stop at the first non-option (argv is never permuted); ":": report a
 * missing argument as ':' so it is told apart from an unknown option. */
static void cli_spec_build(struct cli_spec *sp)
{
    size_t ns = 0, nl = 0;
    sp->shorts[ns++] = '+';
    sp->shorts[ns++] = ':';
    for (size_t i = 0; i < options_count; i++) {
        const struct option_row *r = &options_table[i];
        bool arg = options_takes_arg(r);
        if (r->group == OPT_G_EXTENDED) {
            continue;
        }
        if (r->short_flag != 0) {
            sp->shorts[ns++] = r->short_flag;
            if (arg) {
                sp->shorts[ns++] = ':';
            }
        }
        sp->longs[nl++] = (struct option){ r->name, arg ? required_argument : no_argument,
                                           NULL, row_val(i) };
    }
    sp->shorts[ns] = '\0';
    sp->longs[nl] = (struct option){ NULL, 0, NULL, 0 };
}

/* Turns getopt's '?' and ':' into one line naming the option. */
static enum options_result cli_getopt_error(int c, char *const argv[], char *err,
                                            size_t errlen)
{
    const struct option_row *r = row_by_val(optopt);
    char label[64], form[256], word[80];
    show_text(argv[optind - 1], word, sizeof word);
    if (r != NULL) {
        options_label(r, label, sizeof label);
        options_form(r, form, sizeof form);
        if (c == ':') {
            snprintf(err, errlen, "hardcached: %s: missing value; %s", label, form);
        } else {
            snprintf(err, errlen, "hardcached: %s: takes no value, got \"%s\"", label, word);
        }
    } else if (optopt == 0) {
        snprintf(err, errlen, "hardcached: unknown or ambiguous option \"%s\" "
                 "(see --help)", word);
    } else if (optopt > 0x20 && optopt < 0x7f) {
        snprintf(err, errlen, "hardcached: unknown option \"-%c\" (see --help)", optopt);
    } else {
        snprintf(err, errlen, "hardcached: unknown option in \"%s\" (see --help)", word);
    }
    return OPTIONS_ERROR;
}

static bool cli_apply(struct settings *s, const struct option_row *r, const char *v,
                      char *err, size_t errlen)
{
    char label[64], why[512];
    if (options_apply(s, r, v, why, sizeof why)) {
        return true;
    }
    options_label(r, label, sizeof label);
    snprintf(err, errlen, "hardcached: %s: %s", label, why);
    return false;
}

/* One option of pass 1 while all is well: -h and -V answer at once, an
 * OPT_ONCE row given again is refused, OPT_EARLY rows go to *s and the rest
 * to the scratch copy (to find their errors in order). */
static enum options_result cli_check_one(struct settings *s, struct settings *scratch,
                                         const struct option_row *r, const char *v,
                                         bool *seen, char *err, size_t errlen, FILE *out)
{
    if (r->kind == OPT_K_HELP || r->kind == OPT_K_VERSION) {
        (r->kind == OPT_K_HELP ? options_print_help : options_print_version)(out);
        return OPTIONS_EXIT_OK;
    }
    if ((r->flags & OPT_ONCE) && *seen) {
        char label[64];
        options_label(r, label, sizeof label);
        snprintf(err, errlen, "hardcached: %s: given twice; it may be given once", label);
        return OPTIONS_ERROR;
    }
    *seen = true;
    return cli_apply((r->flags & OPT_EARLY) ? s : scratch, r, v, err, errlen)
           ? OPTIONS_RUN : OPTIONS_ERROR;
}

/* Pass 1: argv in order, on a scratch copy, exactly as a single pass would
 * see it: the first error (or -h, -V) decides. The OPT_EARLY rows are also
 * applied to *s, even after an error, so that --check-config is known
 * whatever else is wrong. */
static enum options_result cli_check(struct settings *s, int argc, char *const argv[],
                                     char *err, size_t errlen, FILE *out)
{
    struct settings scratch = *s;
    struct cli_spec sp;
    bool seen[OPTIONS_MAX_ROWS] = { false };
    enum options_result res = OPTIONS_RUN;
    char ignored[1024];
    scratch.allow = NULL;             /* its own list: *s's is never touched */
    cli_spec_build(&sp);
    optind = 0;                       /* glibc: full re-initialisation */
    opterr = 0;
    for (int c; res != OPTIONS_EXIT_OK &&
                (c = getopt_long(argc, argv, sp.shorts, sp.longs, NULL)) != -1;) {
        const struct option_row *r = row_by_val(c);
        const char *v = r && options_takes_arg(r) ? optarg : NULL;
        if (c == '?' || c == ':' || r == NULL) {
            res = res == OPTIONS_RUN ? cli_getopt_error(c, argv, err, errlen) : res;
        } else if (res == OPTIONS_RUN) {
            res = cli_check_one(s, &scratch, r, v, &seen[r - options_table], err, errlen, out);
        } else if (r->flags & OPT_EARLY) {
            /* after an error: only what decides how it is reported */
            (void)cli_apply(s, r, v, ignored, sizeof ignored);
        }
    }
    if (res == OPTIONS_RUN && optind < argc) {
        char word[80];
        show_text(argv[optind], word, sizeof word);
        snprintf(err, errlen, "hardcached: unexpected argument \"%s\" (options take "
                 "the form -p 11211 or --port=11211; see --help)", word);
        res = OPTIONS_ERROR;
    }
    options_release(&scratch);
    return res;
}

/* Pass 3, after the config file: argv applied to *s (pass 1 proved it
 * valid; reading an --allow-file again can still fail). */
static bool cli_apply_all(struct settings *s, int argc, char *const argv[], char *err,
                          size_t errlen)
{
    struct cli_spec sp;
    bool reset[OPTIONS_MAX_ROWS] = { false };     /* by the row that owns the field */
    cli_spec_build(&sp);
    optind = 0;
    opterr = 0;
    for (int c; (c = getopt_long(argc, argv, sp.shorts, sp.longs, NULL)) != -1;) {
        const struct option_row *r = row_by_val(c);
        if (r == NULL || (r->flags & OPT_EARLY)) {
            continue;
        }
        size_t owner = 0;
        while (options_table[owner].offset != r->offset || options_table[owner].size != r->size) {
            owner++;
        }
        if (!reset[owner]) {
            options_reset(s, r);
        }
        reset[owner] = true;
        if (!cli_apply(s, r, options_takes_arg(r) ? optarg : NULL, err, errlen)) {
            return false;
        }
    }
    return true;
}

enum options_result options_parse_cli(struct settings *s, int argc,
                                      char *const argv[], char *err,
                                      size_t errlen, FILE *out)
{
    enum options_result res = cli_check(s, argc, argv, err, errlen, out);
    if (res != OPTIONS_RUN) {
        return res;
    }
    if (s->config_file[0] != '\0' &&
        !options_parse_config_file(s, s->config_file, err, errlen)) {
        return OPTIONS_ERROR;
    }
    if (!cli_apply_all(s, argc, argv, err, errlen)) {
        return OPTIONS_ERROR;
    }
    return options_validate(s, err, errlen) ? OPTIONS_RUN : OPTIONS_ERROR;
}
