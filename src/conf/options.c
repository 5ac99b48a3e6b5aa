/* options.c: what each kind of option value is (enum option_kind): how its
 * text is read into a settings field, written back in the same syntax and
 * described in messages ("expected ..."), one line of kinds[] per kind; and
 * the entry points that go through that table (apply, format, form, find,
 * label, defaults). The rows themselves are options_table.c's. Values are
 * operator input read once at start-up, as spans: strict (digits only, no
 * sign, no junk, bounds per row), and any doubt is an error, never a guess.
 * memcached's options without effect here (OPT_IGNORED) have no field: their
 * kind checks the value, which is then recorded as text in settings.ignored;
 * OPT_REFUSED rows are refused with their reason. */
#include "conf/options.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "base/show.h"
#include "conf/listen.h"
#include "sec/allowlist.h"

#define KiB 1024ull
#define MiB (1024ull * KiB)
#define GiB (1024ull * MiB)

#define DIGITS "0123456789"
#define EXT_VALUE_MAX 255         /* bytes of one -o value */

/* --- fields and numbers ---------------------------------------------------- */

static void *field_of(struct settings *s, const struct option_row *r)
{
    return (char *)s + r->offset;
}

/* OPT_IGNORED and OPT_REFUSED rows have none: their kinds only check. */
static bool has_field(const struct option_row *r)
{
    return r->ctype != OPT_C_NONE;
}

/* Integer fields by ctype; the table tests prove every max fits its type. */
static void store_uint(void *p, enum option_ctype t, unsigned long long v)
{
    switch (t) {
    case OPT_C_INT:  *(int *)p = (int)v; break;
    case OPT_C_UINT: *(unsigned *)p = (unsigned)v; break;
    case OPT_C_U16:  *(uint16_t *)p = (uint16_t)v; break;
    case OPT_C_SIZE: *(size_t *)p = (size_t)v; break;
    case OPT_C_NONE: break;            /* a row without a field: checked only */
    default: abort();
    }
}

static unsigned long long load_uint(const void *p, enum option_ctype t)
{
    switch (t) {
    case OPT_C_INT:  return (unsigned long long)*(const int *)p;
    case OPT_C_UINT: return *(const unsigned *)p;
    case OPT_C_U16:  return *(const uint16_t *)p;
    case OPT_C_SIZE: return *(const size_t *)p;
    default: abort();
    }
}

unsigned long long options_uint(const struct settings *s, const struct option_row *r)
{
    return load_uint(options_field(s, r), r->ctype);
}

/* All of v is digits of base (at least one); overflow fails. */
static bool whole_uint(struct span v, unsigned base, unsigned long long *x)
{
    return v.n > 0 && span_uint(v, base, x) == v.n;
}

static bool in_range(const struct option_row *r, double v)
{
    bool above_min = (r->flags & OPT_MIN_EXCLUSIVE) ? v > r->min : v >= r->min;
    return above_min && v <= r->max;
}

static const struct option_row *find_in_group(struct span name, enum option_group group)
{
    for (size_t i = 0; i < options_count; i++) {
        const struct option_row *r = &options_table[i];
        if (r->group == group && span_eq(name, r->name)) {
            return r;
        }
    }
    return NULL;
}

/* 1073741824 -> "1g", 1536 -> "1536": the shortest exact spelling. */
static void format_size(unsigned long long v, char *buf, size_t len)
{
    static const struct { unsigned long long mul; char suffix; } units[] = {
        { GiB, 'g' }, { MiB, 'm' }, { KiB, 'k' },
    };
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (v != 0 && v % units[i].mul == 0) {
            snprintf(buf, len, "%llu%c", v / units[i].mul, units[i].suffix);
            return;
        }
    }
    snprintf(buf, len, "%llu", v);
}

/* A NUL-terminated copy, for the calls that take C strings (strtod, the
 * allowlist); NULL when memory is short. */
static char *value_dup(struct span v)
{
    char *copy = malloc(v.n + 1);
    if (copy != NULL) {
        (void)span_copy(v, copy, v.n + 1);
    }
    return copy;
}

/* --- values in messages ------------------------------------------------------ */

/* show_text of a span: it shows at most SHOW_IN_MAX bytes, and "..." when
 * there are more, so one more is all it needs to see. */
static void show_value(struct span v, char *out, size_t outlen)
{
    char head[SHOW_IN_MAX + 2];
    (void)span_copy(span_sub(v, 0, SHOW_IN_MAX + 1), head, sizeof head);
    show_text(head, out, outlen);
}

/* "<form>, got "<value>"": every value error has this shape. */
static bool fail(const struct option_row *r, struct span got, char *err, size_t errlen)
{
    char form[256];
    char clean[80];
    options_form(r, form, sizeof form);
    if (got.p == NULL) {
        snprintf(err, errlen, "missing value; %s", form);
    } else {
        show_value(got, clean, sizeof clean);
        snprintf(err, errlen, "%s, got \"%s\"", form, clean);
    }
    return false;
}

/* --- kinds: the accepted form, for messages ----------------------------------- */

static void form_flag(const struct option_row *r, char *buf, size_t len)
{
    (void)r;
    snprintf(buf, len, "expected yes or no");
}

static void form_int(const struct option_row *r, char *buf, size_t len)
{
    snprintf(buf, len, "expected an integer %.0f-%.0f%s%s%s", r->min, r->max,
             r->unit_name ? " (" : "", r->unit_name ? r->unit_name : "",
             r->unit_name ? ", no suffix)" : "");
}

static void form_size(const struct option_row *r, char *buf, size_t len)
{
    char lo[32], hi[32];
    format_size((unsigned long long)r->min, lo, sizeof lo);
    format_size((unsigned long long)r->max, hi, sizeof hi);
    snprintf(buf, len, "expected a size %s-%s (bytes, or a number with a "
             "k, m or g suffix)", lo, hi);
}

static void form_double(const struct option_row *r, char *buf, size_t len)
{
    snprintf(buf, len, "expected a decimal number %s %g and at most %g",
             (r->flags & OPT_MIN_EXCLUSIVE) ? "above" : "from", r->min, r->max);
}

static void form_string(const struct option_row *r, char *buf, size_t len)
{
    snprintf(buf, len, "expected %.0f-%.0f printable bytes", r->min, r->max);
}

static void form_octal(const struct option_row *r, char *buf, size_t len)
{
    snprintf(buf, len, "expected an octal mask %o-%o", (unsigned)r->min, (unsigned)r->max);
}

static void form_listen(const struct option_row *r, char *buf, size_t len)
{
    snprintf(buf, len, "expected host[:port], [ipv6]:port or ipv6, each maybe after notls:, comma "
             "separated, at most %.0f in all", r->max);
}

/* memcached's -o keys are too many to list in one line: --help has them. */
static void form_extended(const struct option_row *r, char *buf, size_t len)
{
    (void)r;
    snprintf(buf, len, "expected key[=value][,key[=value]...] with memcached's -o keys "
             "(listed under -o in --help)");
}

/* "expected on, log or off" */
static void form_choice(const struct option_row *r, char *buf, size_t len)
{
    size_t n = (size_t)snprintf(buf, len, "expected");
    for (size_t i = 0; r->choices[i] != NULL && n < len; i++) {
        const char *sep = i == 0 ? " " : r->choices[i + 1] == NULL ? " or " : ", ";
        n += (size_t)snprintf(buf + n, len - n, "%s%s", sep, r->choices[i]);
    }
}

static void form_allow(const struct option_row *r, char *buf, size_t len)
{
    (void)r;
    snprintf(buf, len, "expected networks as ADDRESS[/PREFIX][,...], e.g. "
             "10.0.0.0/8,2001:db8::/32");
}

static void form_allow_file(const struct option_row *r, char *buf, size_t len)
{
    (void)r;
    snprintf(buf, len, "expected a file with one network (ADDRESS[/PREFIX]) a line");
}

/* -h and -V: they take no value, and have none in a file. */
static void form_action(const struct option_row *r, char *buf, size_t len)
{
    (void)r;
    snprintf(buf, len, "only valid on the command line");
}

/* --- kinds: reading a value ------------------------------------------------- */

static bool apply_value(struct settings *s, const struct option_row *r, struct span v,
                        char *err, size_t errlen);

static bool parse_bool(struct span v, bool *out)
{
    static const struct { const char *word; bool value; } words[] = {
        { "yes", true }, { "no", false }, { "true", true }, { "false", false },
        { "on", true }, { "off", false }, { "1", true }, { "0", false },
    };
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        if (span_eq(v, words[i].word)) {
            *out = words[i].value;
            return true;
        }
    }
    return false;
}

static bool apply_flag(struct settings *s, const struct option_row *r, struct span v,
                       char *err, size_t errlen)
{
    bool given = true;
    if (v.p != NULL && !parse_bool(v, &given)) {
        return fail(r, v, err, errlen);
    }
    if (has_field(r)) {
        *(bool *)field_of(s, r) = given != ((r->flags & OPT_INVERT) != 0);
    }
    return true;
}

static bool apply_int(struct settings *s, const struct option_row *r, struct span v,
                      char *err, size_t errlen)
{
    unsigned long long x = 0;
    unsigned long long unit = r->unit ? r->unit : 1;
    if (!whole_uint(v, 10, &x) || !in_range(r, (double)x) || x > ULLONG_MAX / unit) {
        return fail(r, v, err, errlen);
    }
    store_uint(field_of(s, r), r->ctype, x * unit);
    return true;
}

/* -v, -vv on the command line; "verbose = 2" in a file. More -v than max
 * saturate (memcached accepts -vvvv), they are not an error. */
static bool apply_count(struct settings *s, const struct option_row *r, struct span v,
                        char *err, size_t errlen)
{
    if (v.p != NULL) {
        return apply_int(s, r, v, err, errlen);
    }
    void *p = field_of(s, r);
    unsigned long long cur = load_uint(p, r->ctype);
    if ((double)cur < r->max) {
        store_uint(p, r->ctype, cur + 1);
    }
    return true;
}

/* Digits, then at most one k, m or g (either case). */
static bool apply_size(struct settings *s, const struct option_row *r, struct span v,
                       char *err, size_t errlen)
{
    static const struct { char c; unsigned long long mul; } suffixes[] = {
        { 'k', KiB }, { 'K', KiB }, { 'm', MiB }, { 'M', MiB }, { 'g', GiB }, { 'G', GiB },
    };
    unsigned long long x = 0, mul = 1;
    size_t digits = span_uint(v, 10, &x);
    struct span rest = span_sub(v, digits, v.n);
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0] && rest.n > 0; i++) {
        if (rest.p[0] == suffixes[i].c) {
            mul = suffixes[i].mul;
            rest = span_sub(rest, 1, rest.n);
            break;
        }
    }
    if (digits == 0 || !span_is_empty(rest) || x > ULLONG_MAX / mul ||
        !in_range(r, (double)(x * mul))) {
        return fail(r, v, err, errlen);
    }
    store_uint(field_of(s, r), r->ctype, x * mul);
    return true;
}

/* digits[.digits] only: strtod alone would take "nan", "1e9", "0x1p3", " 2". */
static bool apply_double(struct settings *s, const struct option_row *r, struct span v,
                         char *err, size_t errlen)
{
    size_t whole = span_run(v, DIGITS);
    struct span after = span_sub(v, whole, v.n);
    size_t frac = whole > 0 && span_starts_with(after, ".")
                  ? span_run(span_sub(after, 1, after.n), DIGITS) : 0;
    if (whole == 0 || whole + (frac > 0 ? frac + 1 : 0) != v.n) {
        return fail(r, v, err, errlen);
    }
    char *text = value_dup(v);
    if (text == NULL) {
        snprintf(err, errlen, "out of memory");
        return false;
    }
    double x = strtod(text, NULL);
    free(text);
    if (!in_range(r, x)) {
        return fail(r, v, err, errlen);
    }
    if (has_field(r)) {
        *(double *)field_of(s, r) = x;
    }
    return true;
}

static bool apply_string(struct settings *s, const struct option_row *r, struct span v,
                         char *err, size_t errlen)
{
    if (v.p == NULL || !in_range(r, (double)v.n) || (has_field(r) && v.n >= r->size)) {
        return fail(r, v, err, errlen);
    }
    for (size_t i = 0; i < v.n; i++) {
        unsigned char c = (unsigned char)v.p[i];
        if (c < 0x20 || c == 0x7f) {
            return fail(r, v, err, errlen);
        }
    }
    if (has_field(r)) {
        (void)span_copy(v, field_of(s, r), r->size);
    }
    return true;
}

static bool apply_octal(struct settings *s, const struct option_row *r, struct span v,
                        char *err, size_t errlen)
{
    unsigned long long x = 0;
    if (!whole_uint(v, 8, &x) || !in_range(r, (double)x)) {
        return fail(r, v, err, errlen);
    }
    store_uint(field_of(s, r), r->ctype, x);
    return true;
}

static bool apply_choice(struct settings *s, const struct option_row *r, struct span v,
                         char *err, size_t errlen)
{
    for (size_t i = 0; v.p != NULL && r->choices[i] != NULL; i++) {
        if (span_eq(v, r->choices[i])) {
            store_uint(field_of(s, r), r->ctype, i);
            return true;
        }
    }
    return fail(r, v, err, errlen);
}

/* -l: listen.c reads the list; appends, or changes nothing. */
static bool apply_listen(struct settings *s, const struct option_row *r, struct span v,
                         char *err, size_t errlen)
{
    struct span bad;
    if (v.p == NULL) {
        return fail(r, v, err, errlen);
    }
    if (!listen_parse(v, s->listen, &s->nlisten, (int)r->max, &bad)) {
        return fail(r, bad, err, errlen);
    }
    return true;
}

/* One "key" or "key=value" of -o, applied to s. */
static bool apply_ext_item(struct settings *s, const struct option_row *self,
                           struct span item, char *err, size_t errlen)
{
    size_t eq = span_find(item, '=');
    struct span key = span_sub(item, 0, eq);
    const struct option_row *r = find_in_group(key, OPT_G_EXTENDED);
    char sub[512], clean[80];
    if (r == NULL) {
        show_value(key, clean, sizeof clean);
        options_form(self, sub, sizeof sub);
        snprintf(err, errlen, "unknown key \"%s\"; %s", clean, sub);
        return false;
    }
    struct span value = eq < item.n ? span_sub(item, eq + 1, item.n) : SPAN_EMPTY;
    if (value.n > EXT_VALUE_MAX) {
        snprintf(err, errlen, "%s: value longer than %d bytes", r->name, EXT_VALUE_MAX);
        return false;
    }
    if (!apply_value(s, r, value, sub, sizeof sub)) {
        snprintf(err, errlen, "%s: %s", r->name, sub);
        return false;
    }
    return true;
}

/* -o key=value,...: applies on a copy so that a bad key leaves *s untouched. */
static bool apply_extended(struct settings *s, const struct option_row *r, struct span v,
                           char *err, size_t errlen)
{
    struct settings tmp = *s;
    struct span rest = v, item;
    if (v.p == NULL) {
        return fail(r, v, err, errlen);
    }
    while (span_split(&rest, ',', &item)) {
        if (span_is_empty(item)) {
            return fail(r, v, err, errlen);
        }
        if (!apply_ext_item(&tmp, r, item, err, errlen)) {
            return false;
        }
    }
    *s = tmp;
    return true;
}

/* --allow and --allow-file add to one allowlist, created by the first. On
 * failure the list is as before (a list created for it is freed again);
 * allowlist_add_list and allowlist_load_file are all or nothing. */
static struct allowlist **allow_target(struct settings *s, const struct option_row *r,
                                       bool *created, char *err, size_t errlen)
{
    struct allowlist **al = field_of(s, r);
    *created = *al == NULL;
    if (*created && (*al = allowlist_create()) == NULL) {
        snprintf(err, errlen, "out of memory for the allowlist");
        return NULL;
    }
    return al;
}

static bool allow_done(struct allowlist **al, bool created, bool ok)
{
    if (!ok && created) {
        allowlist_destroy(al);
    }
    return ok;
}

static bool apply_allow(struct settings *s, const struct option_row *r, struct span v,
                        char *err, size_t errlen)
{
    bool created;
    if (v.p == NULL) {
        return fail(r, v, err, errlen);
    }
    char *list = value_dup(v);
    if (list == NULL) {
        snprintf(err, errlen, "out of memory for the allowlist");
        return false;
    }
    struct allowlist **al = allow_target(s, r, &created, err, errlen);
    bool ok = al != NULL &&
              allow_done(al, created, allowlist_add_list(*al, list, err, errlen));
    if (ok && s->allow_inline == NULL && (s->allow_inline = allowlist_create()) == NULL) {
        ok = false;
    }
    if (ok && !allowlist_add_list(s->allow_inline, list, err, errlen)) {
        ok = false;     /* cannot happen: the same list was just accepted */
    }
    free(list);
    return ok;
}

/* SECURITY: a file without a single network is refused: an empty allowlist
 * would refuse every client, and an emptied file is more likely a mistake
 * (a failed deploy) than a wish. */
static bool apply_allow_file(struct settings *s, const struct option_row *r, struct span v,
                             char *err, size_t errlen)
{
    bool created;
    char path[SETTINGS_PATH_MAX], clean[80];
    if (v.p == NULL) {
        return fail(r, v, err, errlen);
    }
    if (s->nallow_files >= SETTINGS_MAX_ALLOW_FILES) {
        snprintf(err, errlen, "at most %d allowlist files; merge them into fewer",
                 SETTINGS_MAX_ALLOW_FILES);
        return false;
    }
    if (v.n == 0 || !span_copy(v, path, sizeof path)) {
        return fail(r, v, err, errlen);
    }
    struct allowlist **al = allow_target(s, r, &created, err, errlen);
    if (al == NULL) {
        return false;
    }
    size_t before = allowlist_count(*al);
    bool ok = allowlist_load_file(*al, path, err, errlen);
    if (ok && allowlist_count(*al) == before) {
        show_text(path, clean, sizeof clean);
        snprintf(err, errlen, "%s: no network in the file; an empty allowlist "
                 "would refuse every client", clean);
        ok = false;
    }
    if (ok) {
        /* kept for the audit: who may write the file decides who is served */
        memcpy(s->allow_files[s->nallow_files++], path, v.n + 1);
    }
    return allow_done(al, created, ok);
}

static bool apply_action(struct settings *s, const struct option_row *r, struct span v,
                         char *err, size_t errlen)
{
    (void)s;
    return fail(r, v, err, errlen);
}

/* --- kinds: writing a value back -------------------------------------------- */

static void format_flag(const struct settings *s, const struct option_row *r,
                        char *buf, size_t len)
{
    bool on = *(const bool *)options_field(s, r);
    bool given = on != ((r->flags & OPT_INVERT) != 0);
    snprintf(buf, len, "%s", given ? "yes" : "no");
}

static void format_int(const struct settings *s, const struct option_row *r,
                       char *buf, size_t len)
{
    unsigned long long unit = r->unit ? r->unit : 1;
    snprintf(buf, len, "%llu", options_uint(s, r) / unit);
}

static void format_sizev(const struct settings *s, const struct option_row *r,
                         char *buf, size_t len)
{
    format_size(options_uint(s, r), buf, len);
}

/* The shortest decimal that reads back as the same double. */
static void format_double(const struct settings *s, const struct option_row *r,
                          char *buf, size_t len)
{
    double x = *(const double *)options_field(s, r);
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, len, "%.*f", prec, x);
        if (strtod(buf, NULL) == x) {
            break;
        }
    }
}

static void format_string(const struct settings *s, const struct option_row *r,
                          char *buf, size_t len)
{
    snprintf(buf, len, "%s", (const char *)options_field(s, r));
}

static void format_octal(const struct settings *s, const struct option_row *r,
                         char *buf, size_t len)
{
    snprintf(buf, len, "%#llo", options_uint(s, r));
}

static void format_choice(const struct settings *s, const struct option_row *r,
                          char *buf, size_t len)
{
    unsigned long long i = options_uint(s, r);
    size_t n = 0;
    while (r->choices[n] != NULL) {
        n++;
    }
    snprintf(buf, len, "%s", i < n ? r->choices[i] : "?");
}

/* nlisten 0 writes the defaults, which is what it means. */
static void format_listen(const struct settings *s, const struct option_row *r,
                          char *buf, size_t len)
{
    (void)r;
    if (s->nlisten == 0) {
        snprintf(buf, len, "%s", OPTIONS_DEFAULT_LISTEN);
    } else {
        listen_format(s->listen, s->nlisten, buf, len);
    }
}

/* A file's networks come out inline, as --allow takes them. */
static void format_allow(const struct settings *s, const struct option_row *r,
                         char *buf, size_t len)
{
    allowlist_format(*(struct allowlist *const *)options_field(s, r), buf, len);
}

static void format_none(const struct settings *s, const struct option_row *r,
                        char *buf, size_t len)
{
    (void)s;
    (void)r;
    if (len > 0) {
        buf[0] = '\0';
    }
}

/* --- kinds: forgetting what a config file added ------------------------------ */

static void reset_listen(struct settings *s)
{
    memset(s->listen, 0, sizeof s->listen);
    s->nlisten = 0;
}

static void reset_allow(struct settings *s)
{
    allowlist_destroy(&s->allow);
    allowlist_destroy(&s->allow_inline);
    memset(s->allow_files, 0, sizeof s->allow_files);
    s->nallow_files = 0;
}

/* --- the kinds --------------------------------------------------------------- */

typedef bool apply_fn(struct settings *s, const struct option_row *r, struct span v,
                      char *err, size_t errlen);
typedef void format_fn(const struct settings *s, const struct option_row *r,
                       char *buf, size_t len);
typedef void form_fn(const struct option_row *r, char *buf, size_t len);
typedef void reset_fn(struct settings *s);

/* What each kind does; indexed by enum option_kind. form: the accepted
 * form, for messages (a row's own .form overrides it). reset: for the
 * OPT_REPEATABLE rows, empties the field before the command line's first
 * use, so that it replaces (never widens) what a config file gave. */
static const struct kind {
    apply_fn *apply;
    format_fn *format;
    form_fn *form;
    bool takes_arg;           /* on the command line */
    reset_fn *reset;
} kinds[] = {
    [OPT_K_FLAG]       = { apply_flag,       format_flag,   form_flag,       false, NULL },
    [OPT_K_COUNT]      = { apply_count,      format_int,    form_int,        false, NULL },
    [OPT_K_INT]        = { apply_int,        format_int,    form_int,        true,  NULL },
    [OPT_K_SIZE]       = { apply_size,       format_sizev,  form_size,       true,  NULL },
    [OPT_K_DOUBLE]     = { apply_double,     format_double, form_double,     true,  NULL },
    [OPT_K_STRING]     = { apply_string,     format_string, form_string,     true,  NULL },
    [OPT_K_OCTAL]      = { apply_octal,      format_octal,  form_octal,      true,  NULL },
    [OPT_K_LISTEN]     = { apply_listen,     format_listen, form_listen,     true,  reset_listen },
    [OPT_K_EXTENDED]   = { apply_extended,   format_none,   form_extended,   true,  NULL },
    [OPT_K_CHOICE]     = { apply_choice,     format_choice, form_choice,     true,  NULL },
    [OPT_K_ALLOW]      = { apply_allow,      format_allow,  form_allow,      true,  reset_allow },
    [OPT_K_ALLOW_FILE] = { apply_allow_file, format_none,   form_allow_file, true,  reset_allow },
    [OPT_K_HELP]       = { apply_action,     format_none,   form_action,     false, NULL },
    [OPT_K_VERSION]    = { apply_action,     format_none,   form_action,     false, NULL },
};

/* --- memcached's options without effect, or refused ---------------------------- */

/* r's place in s->ignored, or -1 when it was not given. */
static int ignored_index(const struct settings *s, const struct option_row *r)
{
    size_t row = (size_t)(r - options_table);
    for (int i = 0; i < s->nignored; i++) {
        if (s->ignored[i].row == row) {
            return i;
        }
    }
    return -1;
}

/* Keeps text as r's value: replaces an earlier one, else appends. */
static bool ignored_record(struct settings *s, const struct option_row *r, struct span text,
                           char *err, size_t errlen)
{
    int at = ignored_index(s, r);
    struct settings_ignored *e = at >= 0 ? &s->ignored[at] : NULL;
    if (text.n >= SETTINGS_IGNORED_VALUE) {
        snprintf(err, errlen, "longer than %d bytes", SETTINGS_IGNORED_VALUE - 1);
        return false;
    }
    if (e == NULL && s->nignored >= SETTINGS_MAX_IGNORED) {
        snprintf(err, errlen, "more than %d of memcached's options without effect",
                 SETTINGS_MAX_IGNORED);
        return false;
    }
    if (e == NULL) {
        e = &s->ignored[s->nignored++];
        e->row = (uint16_t)(r - options_table);
    }
    (void)span_copy(text, e->value, sizeof e->value);
    return true;
}

/* Checked by the row's kind (which stores nothing: there is no field), then
 * recorded; a flag as yes or no, whatever word said it. */
static bool apply_ignored(struct settings *s, const struct option_row *r, struct span v,
                          char *err, size_t errlen)
{
    bool on = true;
    if (v.p == NULL && (r->flags & OPT_BARE)) {
        return ignored_record(s, r, span_cstr(""), err, errlen);
    }
    if (!kinds[r->kind].apply(s, r, v, err, errlen)) {
        return false;
    }
    if (r->kind == OPT_K_FLAG) {
        if (v.p != NULL) {
            (void)parse_bool(v, &on);
        }
        v = span_cstr(on ? "yes" : "no");
    }
    return ignored_record(s, r, v, err, errlen);
}

/* SECURITY: these would break a promise (SECURITY.md); saying "no" to a
 * refused flag (enable-sasl = no in a file) asks for nothing. */
static bool apply_refused(const struct option_row *r, struct span v, char *err,
                          size_t errlen)
{
    bool on = true;
    if (r->kind == OPT_K_FLAG && v.p != NULL && parse_bool(v, &on) && !on) {
        return true;
    }
    snprintf(err, errlen, "refused: %s", r->help);
    return false;
}

const char *options_ignored_value(const struct settings *s, const struct option_row *row)
{
    int at = ignored_index(s, row);
    return at >= 0 ? s->ignored[at].value : NULL;
}

const char *options_effect(const struct option_row *row)
{
    return (row->flags & OPT_IGNORED) ? "ignored"
         : (row->flags & OPT_REFUSED) ? "refused" : "implemented";
}

/* An ignored row's value as given, else what it has when not given. */
static void format_ignored(const struct settings *s, const struct option_row *r,
                           char *buf, size_t len)
{
    const char *v = options_ignored_value(s, r);
    if (v == NULL) {
        v = r->kind == OPT_K_FLAG ? "no" : r->def ? r->def : "";
    }
    snprintf(buf, len, "%s", v);
}

/* --- the entry points -------------------------------------------------------- */

static bool apply_value(struct settings *s, const struct option_row *r, struct span v,
                        char *err, size_t errlen)
{
    if (r->flags & OPT_NOT_YET) {
        snprintf(err, errlen, "not implemented yet in hardcached %s", HARDCACHED_VERSION);
        return false;
    }
    if (r->flags & OPT_REFUSED) {
        return apply_refused(r, v, err, errlen);
    }
    if (r->flags & OPT_IGNORED) {
        return apply_ignored(s, r, v, err, errlen);
    }
    return kinds[r->kind].apply(s, r, v, err, errlen);
}

bool options_apply_span(struct settings *s, const struct option_row *row,
                        struct span value, char *err, size_t errlen)
{
    return apply_value(s, row, value, err, errlen);
}

bool options_apply(struct settings *s, const struct option_row *row,
                   const char *value, char *err, size_t errlen)
{
    return apply_value(s, row, span_cstr(value), err, errlen);
}

void options_format(const struct settings *s, const struct option_row *row,
                    char *buf, size_t len)
{
    if (row->flags & OPT_IGNORED) {
        format_ignored(s, row, buf, len);
    } else if (row->flags & OPT_REFUSED) {
        snprintf(buf, len, "%s", row->kind == OPT_K_FLAG ? "no" : "");
    } else {
        kinds[row->kind].format(s, row, buf, len);
    }
}

void options_form(const struct option_row *row, char *buf, size_t len)
{
    if (row->flags & OPT_REFUSED) {
        snprintf(buf, len, "refused: %s", row->help);
    } else if (row->form != NULL) {
        snprintf(buf, len, "%s", row->form);
    } else {
        kinds[row->kind].form(row, buf, len);
    }
}

bool options_takes_arg(const struct option_row *row)
{
    return kinds[row->kind].takes_arg;
}

void options_reset(struct settings *s, const struct option_row *row)
{
    if ((row->flags & OPT_REPEATABLE) && kinds[row->kind].reset != NULL) {
        kinds[row->kind].reset(s);
    }
}

const struct option_row *options_find_span(struct span name)
{
    const struct option_row *r = find_in_group(name, OPT_G_MEMCACHED);
    if (r == NULL) {
        r = find_in_group(name, OPT_G_HARDENING);
    }
    return r ? r : find_in_group(name, OPT_G_EXTENDED);
}

const struct option_row *options_find(const char *name)
{
    return options_find_span(span_cstr(name));
}

void options_label(const struct option_row *r, char *buf, size_t len)
{
    if (r->group == OPT_G_EXTENDED) {
        snprintf(buf, len, "-o/--extended: %s", r->name);
    } else if (r->short_flag != 0) {
        snprintf(buf, len, "-%c/--%s", r->short_flag, r->name);
    } else {
        snprintf(buf, len, "--%s", r->name);
    }
}

/* Every row's default through the same parser as user input (a FLAG's is
 * "no"), so --help, the table and the running values cannot disagree. */
void settings_defaults(struct settings *s)
{
    memset(s, 0, sizeof *s);
    for (size_t i = 0; i < options_count; i++) {
        const struct option_row *r = &options_table[i];
        const char *v = r->def;
        char err[512];
        if (r->kind == OPT_K_FLAG && v == NULL) {
            v = "no";
        }
        if (v != NULL && !kinds[r->kind].apply(s, r, span_cstr(v), err, sizeof err)) {
            fprintf(stderr, "hardcached: built-in default of %s: %s\n", r->name, err);
            abort();
        }
    }
}

void options_release(struct settings *s)
{
    allowlist_destroy(&s->allow);
    allowlist_destroy(&s->allow_inline);
}
