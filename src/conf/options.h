/* options.h: the option table, the one description of every knob, and the
 * kinds that read and write its values. The command line (cli.c), the config
 * file (config.c), --help (options_help.c), `stats settings`
 * (options_stats.c), the man pages (tools/genman.c) and the --check-config
 * audit (audit.c) all walk options_table[]; adding an option is adding a row
 * to it in options_table.c. Rows point into struct settings by offset; what
 * a kind means is options.c's kind table. The parsers are strict and never
 * print (callers do). */
#ifndef HC_CONF_OPTIONS_H
#define HC_CONF_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "base/span.h"
#include "conf/settings.h"

#define HARDCACHED_VERSION "0.1.0"

/* How a row's text value is read (and written back by options_format). */
enum option_kind {
    OPT_K_FLAG,       /* no argument on the CLI; yes/no in a file; bool field */
    OPT_K_COUNT,      /* no argument, repeatable (-v, -vv); saturates at max */
    OPT_K_INT,        /* decimal digits only, [min, max], times row.unit */
    OPT_K_SIZE,       /* bytes: digits with optional k/m/g (1024-based) */
    OPT_K_DOUBLE,     /* digits[.digits]; > min with OPT_MIN_EXCLUSIVE */
    OPT_K_STRING,     /* printable bytes, length in [min, max] */
    OPT_K_OCTAL,      /* octal digits (a file mode mask), [min, max] */
    OPT_K_LISTEN,     /* host[:port],[v6]:port,...; appends to s->listen */
    OPT_K_EXTENDED,   /* -o key=value,...: applies OPT_G_EXTENDED rows */
    OPT_K_CHOICE,     /* one word of row.choices; the int field holds its index */
    OPT_K_ALLOW,      /* CIDR[,CIDR...] added to the allowlist (created on first use) */
    OPT_K_ALLOW_FILE, /* a file of CIDRs added to the same allowlist */
    OPT_K_HELP,       /* action: print help, exit 0 */
    OPT_K_VERSION,    /* action: print version, exit 0 */
};

/* The C type of the field a row writes; derived from struct settings at
 * compile time (OPTION_FIELD), checked against the kind by the unit tests. */
enum option_ctype {
    OPT_C_NONE, OPT_C_BOOL, OPT_C_INT, OPT_C_UINT, OPT_C_U16, OPT_C_SIZE,
    OPT_C_DOUBLE, OPT_C_CHARS, OPT_C_LISTEN, OPT_C_ALLOWLIST,
};

/* Where a row appears in --help (and, later, in the man page). */
enum option_group {
    OPT_G_MEMCACHED,  /* memcached 1.6's flags, same spelling and meaning */
    OPT_G_HARDENING,  /* long-only hardening flags (SPEC §2) */
    OPT_G_EXTENDED,   /* keys of -o; not command-line flags of their own */
};

/* How `stats settings` prints a row's value (memcached's formats). */
enum option_stats {
    OPT_S_NONE,       /* memcached does not report it */
    OPT_S_NUM,        /* integer in storage units (bytes), %.2f for doubles */
    OPT_S_ONOFF,      /* bool as on/off */
    OPT_S_YESNO,      /* bool as yes/no */
    OPT_S_OCTAL,      /* %o */
    OPT_S_STRING,     /* the string, or NULL when empty */
    OPT_S_LIST,       /* the listen list composed as -l takes it */
    OPT_S_WORD,       /* a CHOICE's word */
    OPT_S_ENTRIES,    /* an allowlist's number of networks; 0: none */
    OPT_S_CSTRING,    /* the string, or (null) when empty (memcached's
                         ssl_chain_cert and ssl_key) */
    OPT_S_GIVEN,      /* yes when the string is not empty, else no */
    OPT_S_TLSVER,     /* an ssl_min_version number as tlsv1.N */
    OPT_S_VERIFY,     /* an ssl_verify_mode as memcached prints it: OpenSSL's
                         SSL_VERIFY_* flags for it (0, 1, 3, 7) */
    OPT_S_PROTOCOL,   /* -B as memcached prints it: auto-negotiate, ascii, binary */
    OPT_S_ASCII_AUTH, /* yes when the -Y file serves ASCII logins (given, no -S) */
};

enum option_flags {
    OPT_DANGEROUS     = 1u << 0, /* weakens a promise of SECURITY.md: audited
                                    (FLAG: giving it; CHOICE: any value but
                                    the default) */
    OPT_NOT_YET       = 1u << 1, /* parsed and documented, not implemented:
                                    setting it is refused, never ignored */
    OPT_INVERT        = 1u << 2, /* FLAG: giving it clears the field (-M, -C, -F) */
    OPT_CLI_ONLY      = 1u << 3, /* not a config-file name (-h, -V, -o) */
    OPT_MIN_EXCLUSIVE = 1u << 4, /* DOUBLE: value must be > min */
    OPT_EARLY         = 1u << 5, /* CLI: applied in the first pass over argv,
                                    before the config file is read */
    OPT_REPEATABLE    = 1u << 6, /* may repeat in a config file (each adds);
                                    its first use on the command line replaces
                                    what the file gave */
    OPT_ONCE          = 1u << 7, /* at most once on the command line */
    OPT_IGNORED       = 1u << 8, /* memcached's, with no effect here: its value
                                    is checked as memcached would (kind,
                                    bounds, choices), then only recorded in
                                    settings.ignored; a start prints one line
                                    saying so (why: .help) and --check-config
                                    lists it (info). No settings field. */
    OPT_REFUSED       = 1u << 9, /* memcached's, and accepting it would break a
                                    promise: refused (exit 64) with .help (why,
                                    and what to use instead); a FLAG row takes
                                    "no" in a file. No settings field. */
    OPT_BARE          = 1u << 10, /* OPT_IGNORED -o key: "key" alone is accepted
                                    too (memcached's slab_automove) */
};

struct option_row {
    const char *name;         /* long flag without dashes = config-file name */
    char short_flag;          /* 0: long only */
    enum option_kind kind;
    enum option_group group;
    size_t offset;            /* into struct settings (OPTION_FIELD) */
    size_t size;
    enum option_ctype ctype;
    double min, max;          /* value bounds; STRING: length bounds */
    unsigned long long unit;  /* INT: multiplier to storage units; 0 = 1 */
    const char *unit_name;    /* INT with unit: what the number counts */
    const char *def;          /* default in input syntax; NULL = zero/empty */
    const char *const *choices; /* CHOICE: the words, NULL-terminated */
    const char *metavar;      /* --help: "<num>" */
    const char *help;         /* --help text, one line, no default */
    const char *form;         /* replaces the generated "expected ..." text */
    const char *stats_name;   /* `stats settings` name, or NULL */
    enum option_stats stats;
    unsigned flags;           /* enum option_flags */
};

/* The ctype of a settings member, decided by the compiler. */
#define OPTION_CTYPE(x) _Generic((x), \
    bool: OPT_C_BOOL, int: OPT_C_INT, unsigned: OPT_C_UINT, \
    uint16_t: OPT_C_U16, size_t: OPT_C_SIZE, double: OPT_C_DOUBLE, \
    char *: OPT_C_CHARS, struct listen_addr *: OPT_C_LISTEN, \
    struct allowlist *: OPT_C_ALLOWLIST)
#define OPTION_FIELD(f) \
    .offset = offsetof(struct settings, f), \
    .size = sizeof(((struct settings *)0)->f), \
    .ctype = OPTION_CTYPE(((struct settings *)0)->f)

extern const struct option_row options_table[];
extern const size_t options_count;

/* At most this many rows (a compile-time check in options_table.c), so
 * per-row arrays can live on the stack. */
#define OPTIONS_MAX_ROWS 160

/* The listen addresses used when no -l is given (nlisten == 0).
 * SECURITY: loopback only; anything else is the operator's explicit choice. */
#define OPTIONS_DEFAULT_LISTEN "127.0.0.1,::1"

/* --help and -V (options_help.c): the table grouped as memcached's -h. */
void options_print_help(FILE *out);
void options_print_version(FILE *out);

/* What giving a row does, one word: "implemented", "ignored" (OPT_IGNORED)
 * or "refused" (OPT_REFUSED); for --help, the man pages and their tests. */
const char *options_effect(const struct option_row *row);

/* The value recorded for an OPT_IGNORED row in s ("" for a bare -o key,
 * "yes"/"no" for a flag), or NULL when it was not given. */
const char *options_ignored_value(const struct settings *s, const struct option_row *row);

/* s->ignored[i] as one line without "hardcached: ", for the start-up notice
 * and the audit: "-o/--extended: slab_automove=2: ignored: <why>". */
void options_ignored_text(const struct settings *s, int i, char *buf, size_t len);

/* The start-up notices: one line ("hardcached: " + options_ignored_text)
 * for each memcached option given that has no effect here. main() prints
 * them to stderr; --check-config lists them as findings instead. */
void options_print_ignored(const struct settings *s, FILE *out);

/* For `stats settings` (options_stats.c): fn(ctx, name, value) for each
 * setting memcached reports that we have, with memcached's names, in
 * memcached's order. */
void options_each_setting(const struct settings *s,
                          void (*fn)(void *ctx, const char *name,
                                     const char *value),
                          void *ctx);

/* The row for a long name (or a -o key), or NULL. */
const struct option_row *options_find(const char *name);
const struct option_row *options_find_span(struct span name);

/* Applies one value to s. value NULL means "given without argument" (FLAG:
 * set, COUNT: one more); other kinds then fail. On error err holds what was
 * expected and what was got, without the option's name (callers prefix it:
 * "-p/--port" on the CLI, "file:line: port" in a file). All or nothing. */
bool options_apply(struct settings *s, const struct option_row *row,
                   const char *value, char *err, size_t errlen);

/* The same for a value that is a span; SPAN_EMPTY (p NULL) is no value. */
bool options_apply_span(struct settings *s, const struct option_row *row,
                        struct span value, char *err, size_t errlen);

/* Whether the row takes a value on the command line (FLAG, COUNT and the
 * actions do not). */
bool options_takes_arg(const struct option_row *row);

/* For an OPT_REPEATABLE row: empties what the sources before the command
 * line added to its field, so that the command line replaces it. */
void options_reset(struct settings *s, const struct option_row *row);

/* The row's field in s, and (INT, SIZE, OCTAL, COUNT, CHOICE rows) its
 * integer value in storage units (bytes, not the megabytes of -m). */
static inline const void *options_field(const struct settings *s,
                                        const struct option_row *row)
{
    return (const char *)s + row->offset;
}
unsigned long long options_uint(const struct settings *s, const struct option_row *row);

/* Writes the row's current value in s, in its input syntax, so that
 * options_apply(options_format(x)) round-trips. Empty for actions. */
void options_format(const struct settings *s, const struct option_row *row,
                    char *buf, size_t len);

/* The accepted form of a row's value, for messages: "expected an integer
 * 1-65535", "expected on, log or off". */
void options_form(const struct option_row *row, char *buf, size_t len);

/* "-p/--port", "--allow", "-o/--extended: idle_timeout". */
void options_label(const struct option_row *row, char *buf, size_t len);

/* Checks between options (options_check.c; -I against -m, ...) and of
 * final values (-u root is refused), after every source has been applied.
 * False with a full one-line message (with "hardcached: ") in err. When
 * all pass, seals the allowlist (s->allow), which is then ready for
 * allowlist_admit, and, unless --check-config (whose audit lists them),
 * prints nothing (options_print_ignored does). Then resolves what several
 * options decide together, as memcached does: -B auto becomes binary with
 * -S and ascii with -Y, and -S's credentials (--sasl-pwdb, else the
 * MEMCACHED_SASL_PWDB environment variable) are put in auth_file, where the
 * -Y file is loaded and checked from. Calling it again changes nothing. */
bool options_validate(struct settings *s, char *err, size_t errlen);

/* The connection-buffer budget in force: --conn-mem-limit (0: the default),
 * at least 2 x -I + 2 MiB so the largest item can always be answered. Each
 * of a connection's two buffers may hold OPTIONS_CONN_BUF_FREE beyond it. */
#define OPTIONS_CONN_MEM_DEFAULT ((size_t)64 * 1024 * 1024)
#define OPTIONS_CONN_BUF_FREE ((size_t)32 * 1024)
size_t options_conn_mem_budget(const struct settings *s);

/* Frees what applying options allocated (the allowlist) and NULLs it; s may
 * then be refilled with settings_defaults. */
void options_release(struct settings *s);

#endif
