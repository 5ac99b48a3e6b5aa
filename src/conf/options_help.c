/* options_help.c: --help and -V, and the words that describe a row to the
 * operator. --help is the table printed in its groups (memcached's flags,
 * then the hardening flags, with the -o keys under -o), each row's help text
 * wrapped at HELP_WIDTH with its default, memcached's options without effect
 * marked "ignored:" and the refused ones "refused:": the same rows the man
 * pages (tools/genman.c) are made from. The start-up notice and the audit
 * describe an ignored option given with options_ignored_text. */
#include "conf/options.h"

#include <string.h>

/* Prints text from column HELP_COL, wrapped at word boundaries. */
#define HELP_COL 32
#define HELP_WIDTH 79

static void help_wrap(FILE *out, const char *text)
{
    struct span rest = span_cstr(text), word;
    int col = HELP_COL;
    while (!span_is_empty(rest) && span_split(&rest, ' ', &word)) {
        int len = (int)word.n;
        if (col > HELP_COL && col + 1 + len > HELP_WIDTH) {
            fprintf(out, "\n%*s", HELP_COL, "");
            col = HELP_COL;
        } else if (col > HELP_COL) {
            fputc(' ', out);
            col++;
        }
        fprintf(out, "%.*s", len, word.p);
        col += len;
    }
    fputc('\n', out);
}

static void help_line(FILE *out, const struct option_row *r)
{
    char left[96], text[512];
    if (r->group == OPT_G_EXTENDED) {
        snprintf(left, sizeof left, "      - %s%s%s", r->name, r->metavar ? "=" : "",
                 r->metavar ? r->metavar : "");
    } else if (r->short_flag != 0) {
        snprintf(left, sizeof left, "  -%c, --%s%s%s", r->short_flag, r->name,
                 r->metavar ? "=" : "", r->metavar ? r->metavar : "");
    } else {
        snprintf(left, sizeof left, "      --%s%s%s", r->name,
                 r->metavar ? "=" : "", r->metavar ? r->metavar : "");
    }
    if (strlen(left) < HELP_COL - 1) {
        fprintf(out, "%-*s", HELP_COL, left);
    } else {
        fprintf(out, "%s\n%*s", left, HELP_COL, "");
    }
    snprintf(text, sizeof text, "%s%s%s%s%s%s%s",
             (r->flags & (OPT_IGNORED | OPT_REFUSED)) ? options_effect(r) : "",
             (r->flags & (OPT_IGNORED | OPT_REFUSED)) ? ": " : "", r->help,
             r->def && r->kind != OPT_K_FLAG ? " (default: " : "",
             r->def && r->kind != OPT_K_FLAG ? r->def : "",
             r->def && r->kind != OPT_K_FLAG ? ")" : "",
             (r->flags & OPT_NOT_YET) ? " [not implemented yet]" : "");
    help_wrap(out, text);
}

/* "-o/--extended: slab_automove=2: ignored: <why>"; a flag's "yes" and a
 * bare key's "" are not shown. */
void options_ignored_text(const struct settings *s, int i, char *buf, size_t len)
{
    const struct settings_ignored *e = &s->ignored[i];
    const struct option_row *r = &options_table[e->row];
    bool show = e->value[0] != '\0' &&
                !(r->kind == OPT_K_FLAG && strcmp(e->value, "yes") == 0);
    char label[64];
    options_label(r, label, sizeof label);
    snprintf(buf, len, "%s%s%s: ignored: %s", label, show ? "=" : "", show ? e->value : "",
             r->help);
}

void options_print_version(FILE *out)
{
    fprintf(out, "hardcached %s (memcached 1.6 ASCII and binary protocols)\n", HARDCACHED_VERSION);
}

void options_print_help(FILE *out)
{
    static const char *const headers[] = {
        [OPT_G_MEMCACHED] = "Options (as memcached 1.6):",
        [OPT_G_HARDENING] = "Hardening options:",
    };
    fprintf(out, "hardcached %s, a memcached-compatible, security-hardened cache server\n"
            "Usage: hardcached [options]\n", HARDCACHED_VERSION);
    for (size_t g = 0; g < sizeof headers / sizeof headers[0]; g++) {
        bool header = false;
        for (size_t i = 0; i < options_count; i++) {
            const struct option_row *r = &options_table[i];
            if (r->group != (enum option_group)g) {
                continue;
            }
            if (!header) {
                fprintf(out, "\n%s\n", headers[g]);
                header = true;
            }
            help_line(out, r);
            for (size_t j = 0; r->kind == OPT_K_EXTENDED && j < options_count; j++) {
                if (options_table[j].group == OPT_G_EXTENDED) {
                    help_line(out, &options_table[j]);
                }
            }
        }
    }
}
