/* genman.c: writes the man pages from the tables they document, so they
 * cannot drift from --help: hardcached(8) from options_table[] (every flag),
 * audit_rules[] (every --check-config finding) and the metric tables (every
 * field of "stats", in its order), hardcached.conf(5) from options_table[]
 * (every config name). Prose that is not in a table lives here. Linked with
 * src/ (not main.c); output is roff on stdout, with no date, so the build is
 * reproducible. Metric tables that would make an unsound "stats" (a field in
 * two tables, one without a description) fail it.
 *   genman 8 > hardcached.8     genman 5 > hardcached.conf.5
 *   genman names                one row a line, for the tests:
 *                               name TAB short TAB file|cli TAB group TAB
 *                                 implemented|ignored|refused
 *                               finding TAB id TAB severity
 *                               metric TAB name TAB kind TAB table */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/audit.h"
#include "conf/options.h"
#include "net/worker.h"
#include "proto/stats.h"

/* --- roff -------------------------------------------------------------------- */

/* Text for a roff text line: \ as \e, every - as \- (option names and
 * flags must come out as the ASCII minus a shell takes), and a leading . or '
 * made literal. */
static void roff(FILE *out, const char *s)
{
    if (*s == '.' || *s == '\'') {
        fputs("\\&", out);
    }
    for (const char *p = s; *p != '\0'; p++) {
        if (*p == '\\') {
            fputs("\\e", out);
        } else if (*p == '-') {
            fputs("\\-", out);
        } else {
            fputc(*p, out);
        }
    }
}

static void roff_line(FILE *out, const char *s)
{
    roff(out, s);
    fputc('\n', out);
}

/* "<num>" -> "num" */
static void metavar(const struct option_row *r, char *buf, size_t len)
{
    const char *m = r->metavar ? r->metavar : "";
    size_t n = strlen(m);
    if (n >= 2 && m[0] == '<' && m[n - 1] == '>') {
        snprintf(buf, len, "%.*s", (int)(n - 2), m + 1);
    } else {
        snprintf(buf, len, "%s", m);
    }
}

/* The row's help with its default, as --help prints it: memcached's
 * options without effect here begin "Ignored:", the refused ones "Refused:". */
static void help_text(const struct option_row *r, char *buf, size_t len)
{
    bool def = r->def != NULL && r->kind != OPT_K_FLAG;
    bool marked = (r->flags & (OPT_IGNORED | OPT_REFUSED)) != 0;
    size_t n = strlen(r->help);
    bool colon = n > 0 && r->help[n - 1] == ':';
    snprintf(buf, len, "%s%s%s%s%s%s", marked ? ((r->flags & OPT_IGNORED) ? "Ignored: "
             : "Refused: ") : "", r->help, def ? " (default: " : "", def ? r->def : "",
             def ? ")" : "", colon && !def ? "" : ".");
}

/* --- hardcached(8) ----------------------------------------------------------- */

static void flag_tag(FILE *out, const struct option_row *r)
{
    char mv[64];
    metavar(r, mv, sizeof mv);
    fputs(".TP\n", out);
    if (r->short_flag != 0) {
        fprintf(out, "\\fB\\-%c\\fR, ", r->short_flag);
    }
    fputs("\\fB\\-\\-", out);
    roff(out, r->name);
    fputs("\\fR", out);
    if (mv[0] != '\0') {
        fputs("=\\fI", out);
        roff(out, mv);
        fputs("\\fR", out);
    }
    fputc('\n', out);
}

static void extended_keys(FILE *out)
{
    char mv[64], text[1024];
    fputs(".RS\n", out);
    for (size_t i = 0; i < options_count; i++) {
        const struct option_row *r = &options_table[i];
        if (r->group != OPT_G_EXTENDED) {
            continue;
        }
        metavar(r, mv, sizeof mv);
        fputs(".TP\n\\fB", out);
        roff(out, r->name);
        fputs(r->metavar ? "=\\fI" : "\\fI", out);
        roff(out, mv);
        fputs("\\fR\n", out);
        help_text(r, text, sizeof text);
        roff_line(out, text);
    }
    fputs(".RE\n", out);
}

static void flags_of_group(FILE *out, enum option_group g)
{
    char text[1024];
    for (size_t i = 0; i < options_count; i++) {
        const struct option_row *r = &options_table[i];
        if (r->group != g) {
            continue;
        }
        flag_tag(out, r);
        help_text(r, text, sizeof text);
        roff_line(out, text);
        if (r->kind == OPT_K_EXTENDED) {
            extended_keys(out);
        }
    }
}

static void findings(FILE *out)
{
    static const enum audit_severity order[] = { AUDIT_CRITICAL, AUDIT_WARNING, AUDIT_INFO };
    for (size_t k = 0; k < sizeof order / sizeof order[0]; k++) {
        for (size_t i = 0; i < audit_rule_count; i++) {
            const struct audit_rule *r = &audit_rules[i];
            if (r->severity != order[k]) {
                continue;
            }
            fputs(".TP\n\\fB", out);
            roff(out, r->id);
            fprintf(out, "\\fR (%s)\n", audit_severity_name(r->severity));
            roff(out, r->title);
            fputs(". Fix: ", out);
            roff(out, r->fix);
            fputs(".\n", out);
        }
    }
}

static const char *const page8_head[] = {
    ".SH NAME",
    "hardcached \\- a memcached-compatible, security-hardened cache server",
    ".SH SYNOPSIS",
    ".B hardcached",
    ".RI [ options ]",
    ".br",
    ".B hardcached",
    ".B \\-\\-config",
    ".I file",
    ".RB [ \\-\\-check\\-config ]",
    ".RB [ \\-\\-format=json ]",
    ".RB [ \\-\\-fail\\-on=critical ]",
    ".SH DESCRIPTION",
    ".B hardcached",
    "serves the memcached ASCII protocol, byte for byte as memcached 1.6 does, so",
    "memcached's clients, proxies and monitoring tools work unchanged. Every default",
    "is the safe one: it listens on 127.0.0.1 and ::1 only, never serves UDP,",
    "started as root switches to the user \\fBmemcache\\fR after binding, keeps no",
    "capability, cannot regain privileges, and runs every thread under a seccomp",
    "system call filter. Peers outside the allowlist (\\fB\\-\\-allow\\fR) are closed",
    "before a byte is read or written.",
    ".PP",
    "Commands: \\fBget gets gat gats set add replace append prepend cas incr",
    "decr touch delete flush_all stats version verbosity quit\\fR, \\fBshutdown\\fR",
    "with \\fB\\-A\\fR, \\fBrefresh_certs\\fR with \\fB\\-Z\\fR, and the meta",
    "commands \\fBmg ms md ma mn me\\fR with every flag memcached 1.6.18 has",
    "(quiet mode, opaque tokens, base64 keys, stale\\-while\\-revalidate:",
    "\\fBI N R\\fR and the answers \\fBW X Z\\fR). With \\fB\\-Y\\fR a connection",
    "logs in first, as in memcached: \\fBset\\fR \\fIany\\fR \\fB0 0\\fR",
    "\\fIlength\\fR carrying \\fIuser password\\fR.",
    ".PP",
    "Options are memcached's, with the same spelling and meaning, plus the",
    "hardening options below. They may also be set in a configuration file",
    "(\\fB\\-\\-config\\fR, see",
    ".BR hardcached.conf (5));",
    "the command line overrides the file.",
    ".PP",
    "Every flag and \\fB\\-o\\fR key of memcached 1.6.18 is known by the same",
    "name, so its init scripts and configuration files keep working; most mean",
    "what they mean to memcached. Those marked",
    "\\fBIgnored\\fR have no effect here (the reason is given): their values are",
    "checked as memcached checks them, and a start prints one line on standard",
    "error for each one given (\\fB\\-\\-check\\-config\\fR lists them as",
    "\\fBmemcached\\-option\\-ignored\\fR findings). Those marked \\fBRefused\\fR",
    "would break a promise of hardcached: giving one ends the start with exit",
    "status 64 and a line that says why and what to use instead.",
    ".SH OPTIONS",
    ".SS \"Options as memcached 1.6\"",
    NULL,
};

static const char *const page8_middle[] = {
    ".SH CONFIGURATION FILE",
    "With \\fB\\-\\-config\\fR \\fIfile\\fR the file is read first: one",
    "\\fIname\\fR = \\fIvalue\\fR a line, where the names are the long options",
    "without dashes and the keys of \\fB\\-o\\fR; then the command line is applied",
    "over it. Errors name the file and line and end the start with exit status 64.",
    "The format and every name are in",
    ".BR hardcached.conf (5).",
    ".SH CHECKING A CONFIGURATION",
    "\\fBhardcached \\-\\-check\\-config\\fR loads the configuration file and the",
    "options exactly as a start would, starts nothing (no socket is bound, no",
    "file written), and prints what it finds: one line per finding, most severe",
    "first, each with its severity (critical, warning or info), a stable id,",
    "what is wrong and how to fix it, then a summary line. With",
    "\\fB\\-\\-format=json\\fR it prints one JSON object with a \\fBfindings\\fR",
    "array (severity, id, message, fix) and a \\fBsummary\\fR.",
    ".PP",
    "Exit status: 0 when there is no warning (info findings are fine), 1 when",
    "there are warnings, 2 when there are critical findings or the configuration",
    "is invalid (its error names the file and line, as for a start).",
    "\\fB\\-\\-fail\\-on=critical\\fR makes warnings exit 0, so that a unit's",
    "\\fBExecStartPre=\\fR refuses only what is dangerous.",
    "As a user other than root, the audit cannot read ufw's rules and says so",
    "as an info finding.",
    ".SS Findings",
    NULL,
};

static const char *const page8_activation[] = {
    ".SH SOCKET ACTIVATION",
    "Started by systemd with \\fBLISTEN_FDS\\fR, it serves the inherited sockets",
    "instead of binding its own, so the service can run with",
    "\\fBPrivateNetwork=yes\\fR (hardcached.socket and hardcached\\-socket.service).",
    "The allowlist still applies to each peer.",
    NULL,
};

static const char *const page8_metrics[] = {
    ".SH METRICS",
    "The \\fBstats\\fR command answers a line \\fBSTAT\\fR \\fIname\\fR \\fIvalue\\fR",
    "for each field below, in this order, then \\fBEND\\fR: memcached 1.6's fields",
    "first, in memcached's order, so its monitoring tools (memcstat, Prometheus'",
    "memcached_exporter) read them unchanged, then hardcached's own. A counter only",
    "grows, a gauge is a value now; \\fBstats reset\\fR sets the counters marked so",
    "back to 0. CPU times are seconds with six decimals.",
    NULL,
};

static const char *const page8_tail[] = {
    ".SH EXIT STATUS",
    ".TP",
    ".B 0",
    "Stopped normally; or \\-h, \\-V, or \\-\\-check\\-config with no warning.",
    ".TP",
    ".B 1",
    "\\-\\-check\\-config found warnings.",
    ".TP",
    ".B 2",
    "\\-\\-check\\-config found critical problems or an invalid configuration.",
    ".TP",
    ".B 64",
    "A bad option or configuration file line (EX_USAGE); nothing was started.",
    ".TP",
    ".B 67",
    "The run-as user does not exist.",
    ".TP",
    ".B 71",
    "An operating system error: binding, the pidfile, threads, privileges.",
    ".SH FILES",
    ".TP",
    ".I /etc/hardcached/hardcached.conf",
    "The configuration file the systemd units pass with \\fB\\-\\-config\\fR.",
    ".SH SEE ALSO",
    ".BR hardcached.conf (5),",
    ".BR memcached (1),",
    ".BR ufw (8),",
    ".BR systemd.socket (5)",
    NULL,
};

static void lines(FILE *out, const char *const *l)
{
    for (; *l != NULL; l++) {
        fprintf(out, "%s\n", *l);
    }
}

/* --- the fields of "stats" --------------------------------------------------------- */

/* The metric tables are sound (stats_check), or genman fails the build. */
static size_t stats_rows(struct stats_field *f, size_t cap)
{
    char err[256];
    if (!stats_check(net_metric_table, net_metric_count, err, sizeof err)) {
        fprintf(stderr, "genman: the metric tables: %s\n", err);
        exit(70);
    }
    return stats_fields(net_metric_table, net_metric_count, f, cap);
}

/* The per-thread counters are the ones "stats reset" zeroes. */
static const char *kind_label(const struct stats_field *f)
{
    if (strcmp(f->table, "thread") == 0 && f->metric->kind == METRIC_COUNTER) {
        return "counter, zeroed by stats reset";
    }
    return metric_kind_name(f->metric->kind);
}

static void metrics(FILE *out)
{
    struct stats_field f[STATS_MAX_FIELDS];
    size_t n = stats_rows(f, STATS_MAX_FIELDS);
    lines(out, page8_metrics);
    for (size_t i = 0; i < n; i++) {
        fputs(".TP\n\\fB", out);
        roff(out, f[i].metric->name);
        fputs("\\fR (", out);
        roff(out, kind_label(&f[i]));
        fputs(")\n", out);
        roff(out, f[i].metric->desc);
        fputs(".\n", out);
    }
}

static void page8(FILE *out)
{
    fprintf(out, ".\\\" hardcached(8): written by tools/genman.c from the option, audit\n"
            ".\\\" and metric tables; edit those, not this file.\n"
            ".TH HARDCACHED 8 \"\" \"hardcached %s\" \"System Administration\"\n"
            ".nh\n.ad l\n",
            HARDCACHED_VERSION);
    lines(out, page8_head);
    flags_of_group(out, OPT_G_MEMCACHED);
    fputs(".SS \"Hardening options\"\n", out);
    flags_of_group(out, OPT_G_HARDENING);
    lines(out, page8_middle);
    findings(out);
    lines(out, page8_activation);
    metrics(out);
    lines(out, page8_tail);
}

/* --- hardcached.conf(5) -------------------------------------------------------- */

static const char *const page5_head[] = {
    ".SH NAME",
    "hardcached.conf \\- configuration file of hardcached",
    ".SH SYNOPSIS",
    ".I /etc/hardcached/hardcached.conf",
    ".SH DESCRIPTION",
    ".BR hardcached (8)",
    "reads this file when started with \\fB\\-\\-config\\fR \\fIfile\\fR, before its",
    "other command-line options, which override it. Each line is one of:",
    ".TP",
    "\\fIname\\fR = \\fIvalue\\fR",
    "Sets an option. The names are the long command-line options without their",
    "dashes (\\fBlisten\\fR is \\fB\\-l\\fR/\\fB\\-\\-listen\\fR) and the keys of",
    "\\fB\\-o\\fR (\\fBidle_timeout\\fR). Values are written as on the command line;",
    "options that take no value there (flags) take \\fByes\\fR or \\fBno\\fR here",
    "(also true/false, on/off, 1/0). Blanks around the name, the = and the value",
    "are ignored.",
    ".TP",
    "\\fB#\\fR \\fIcomment\\fR",
    "A # starts a comment, on a line of its own or after a value.",
    ".TP",
    "an empty line",
    "Ignored. Lines may end in CRLF.",
    ".PP",
    "A value may be enclosed in double or single quotes, which are removed:",
    "inside them a # is part of the value and blanks at either end are kept.",
    "There are no escapes, and a quote character is never part of a value.",
    ".PP",
    "An unknown name, a bad value, a name set twice, a line that is not",
    "\\fIname\\fR = \\fIvalue\\fR and a name that only makes sense on the command",
    "line are errors: hardcached prints one line naming the file, the line and",
    "what was expected, and exits with status 64 (2 under",
    "\\fB\\-\\-check\\-config\\fR). Only \\fBlisten\\fR, \\fBallow\\fR and",
    "\\fBallow\\-file\\fR may repeat; each adds to its list. When the command line",
    "gives one of these lists, it replaces the file's list instead of adding to",
    "it. The file must be a regular file of at most 1 MiB.",
    ".PP",
    "memcached's own option names are accepted too (as in",
    ".BR hardcached (8)),",
    "so a file can carry a configuration shared with memcached: those marked",
    "\\fBIgnored\\fR have no effect here (a start prints one line for each), those",
    "marked \\fBRefused\\fR end the start; a refused flag set to \\fBno\\fR is",
    "accepted.",
    ".PP",
    "Relative paths (allow\\-file, pidfile, unix\\-socket) are relative to the",
    "working directory, as on the command line: write absolute paths.",
    ".SH OPTIONS",
    NULL,
};

static const char *const page5_tail[] = {
    ".SH EXAMPLE",
    ".EX",
    "# serve the private network, and only it",
    "listen = 10.0.0.5",
    "allow = 10.0.0.0/8",
    "max\\-conns\\-per\\-ip = 64",
    "memory\\-limit = 1024",
    "disable\\-flush\\-all = yes",
    ".EE",
    ".PP",
    "Check it before use:",
    "\\fBhardcached \\-\\-config /etc/hardcached/hardcached.conf \\-\\-check\\-config\\fR",
    ".SH FILES",
    ".TP",
    ".I /etc/hardcached/hardcached.conf",
    "Installed with every option commented out at its default: as shipped it",
    "changes nothing. Keep it owned by root and writable by no one else;",
    "\\fB\\-\\-check\\-config\\fR reports it otherwise.",
    ".SH SEE ALSO",
    ".BR hardcached (8)",
    NULL,
};

/* "port = num", "daemon = yes|no" */
static void name_tag(FILE *out, const struct option_row *r)
{
    char mv[64];
    metavar(r, mv, sizeof mv);
    if (r->kind == OPT_K_FLAG) {
        snprintf(mv, sizeof mv, "yes|no");
    } else if (r->kind == OPT_K_COUNT) {
        snprintf(mv, sizeof mv, "%.0f\\-%.0f", r->min, r->max);
    }
    fputs(".TP\n\\fB", out);
    roff(out, r->name);
    fputs("\\fR = \\fI", out);
    fputs(mv, out);
    fputs("\\fR\n", out);
}

static void config_names(FILE *out)
{
    char text[1024], label[96];
    for (size_t i = 0; i < options_count; i++) {
        const struct option_row *r = &options_table[i];
        if (r->flags & OPT_CLI_ONLY) {
            continue;
        }
        name_tag(out, r);
        help_text(r, text, sizeof text);
        roff_line(out, text);
        options_label(r, label, sizeof label);
        fputs("Command line: ", out);
        roff(out, label);
        fputs(r->flags & OPT_REPEATABLE ? ". May repeat.\n" : ".\n", out);
    }
}

static void cli_only_names(FILE *out)
{
    char label[96];
    fputs(".SH COMMAND-LINE ONLY\n"
          "These options are refused in the file (they choose what the program does\n"
          "with its configuration, not what the configuration is):\n", out);
    for (size_t i = 0; i < options_count; i++) {
        const struct option_row *r = &options_table[i];
        if (!(r->flags & OPT_CLI_ONLY)) {
            continue;
        }
        options_label(r, label, sizeof label);
        fputs(".TP\n\\fB", out);
        roff(out, r->name);
        fputs("\\fR\n", out);
        roff(out, label);
        fputs(r->kind == OPT_K_EXTENDED ? ": in the file each key is a name of its own.\n"
              : ".\n", out);
    }
}

static void page5(FILE *out)
{
    fprintf(out, ".\\\" hardcached.conf(5): written by tools/genman.c from the option\n"
            ".\\\" table; edit it, not this file.\n"
            ".TH HARDCACHED.CONF 5 \"\" \"hardcached %s\" \"File Formats\"\n"
            ".nh\n.ad l\n",
            HARDCACHED_VERSION);
    lines(out, page5_head);
    config_names(out);
    cli_only_names(out);
    lines(out, page5_tail);
}

/* --- names, for the tests --------------------------------------------------------- */

static void names(FILE *out)
{
    static const char *const groups[] = {
        [OPT_G_MEMCACHED] = "memcached", [OPT_G_HARDENING] = "hardening",
        [OPT_G_EXTENDED] = "extended",
    };
    for (size_t i = 0; i < options_count; i++) {
        const struct option_row *r = &options_table[i];
        fprintf(out, "%s\t%c\t%s\t%s\t%s\n", r->name, r->short_flag ? r->short_flag : '-',
                (r->flags & OPT_CLI_ONLY) ? "cli" : "file", groups[r->group],
                options_effect(r));
    }
    for (size_t i = 0; i < audit_rule_count; i++) {
        fprintf(out, "finding\t%s\t%s\n", audit_rules[i].id,
                audit_severity_name(audit_rules[i].severity));
    }
    struct stats_field f[STATS_MAX_FIELDS];
    size_t n = stats_rows(f, STATS_MAX_FIELDS);
    for (size_t i = 0; i < n; i++) {
        fprintf(out, "metric\t%s\t%s\t%s\n", f[i].metric->name,
                metric_kind_name(f[i].metric->kind), f[i].table);
    }
}

int main(int argc, char **argv)
{
    const char *what = argc == 2 ? argv[1] : "";
    if (strcmp(what, "8") == 0) {
        page8(stdout);
    } else if (strcmp(what, "5") == 0) {
        page5(stdout);
    } else if (strcmp(what, "names") == 0) {
        names(stdout);
    } else {
        fprintf(stderr, "usage: genman 8|5|names\n");
        return 64;
    }
    return fflush(stdout) == 0 && !ferror(stdout) ? 0 : 71;
}
