/* config.c: the config file (--config FILE, SPEC §2; hardcached.conf(5)).
 * One "name = value" a line, where the names are the long flags and the -o
 * keys and every value is read by the option table's own kinds, so a file
 * can say nothing the command line cannot, in the same words. The text is
 * operator input read once at start-up (bounded by OPTIONS_CONFIG_MAX) and
 * walked as spans, never written to: lines split at '\n', names and values
 * cut out of them, and any doubt is an error naming FILE:LINE, never a
 * guess. Called by cli.c; knows nothing of the command line. */
#include "conf/config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/show.h"
#include "base/span.h"
#include "conf/options.h"

#define NAME_MAX_LEN 64           /* longer is never a name of ours */
#define BLANKS " \t"
#define NAME_BYTES "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"

/* Where we are, for messages: "FILE:LINE". */
struct cfg_pos {
    char file[160];               /* printable copy of the file name */
    unsigned long line;
};

/* One line, cut into spans of the text. */
struct cfg_line {
    struct span name;             /* p NULL: a blank or comment line */
    struct span value;            /* quotes removed */
};

/* Printable ASCII copy of a file name, cut at the buffer (paths may be long). */
static void clean_path(const char *in, char *out, size_t outlen)
{
    size_t n = 0;
    for (; *in != '\0' && n + 4 < outlen; in++) {
        unsigned char c = (unsigned char)*in;
        out[n++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    if (*in != '\0') {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = '\0';
}

/* show_text of a span: it shows at most SHOW_IN_MAX bytes, and "..." when
 * there are more, so one more is all it needs to see. */
static void show_span(struct span v, char *out, size_t outlen)
{
    char head[SHOW_IN_MAX + 2];
    (void)span_copy(span_sub(v, 0, SHOW_IN_MAX + 1), head, sizeof head);
    show_text(head, out, outlen);
}

/* "hardcached: FILE:LINE: [name: ]why" */
static bool cfg_fail(const struct cfg_pos *pos, const char *name, const char *why,
                     char *err, size_t errlen)
{
    snprintf(err, errlen, "hardcached: %s:%lu: %s%s%s", pos->file, pos->line,
             name ? name : "", name ? ": " : "", why);
    return false;
}

/* --- splitting a line -------------------------------------------------------- */

static struct span skip_blanks(struct span s)
{
    return span_sub(s, span_run(s, BLANKS), s.n);
}

/* The value after '=' (rest, blanks skipped): quoted ("..." or '...',
 * removed) or bare (up to a '#', blanks trimmed). SECURITY: a quote
 * character is never part of a value, so what a value means cannot depend
 * on a reading of the quoting. */
static bool split_value(struct span rest, struct cfg_line *out, char *why, size_t len)
{
    char q = rest.n > 0 ? rest.p[0] : '\0';
    if (q == '"' || q == '\'') {
        struct span inner = span_sub(rest, 1, rest.n);
        size_t close = span_find(inner, q);
        if (close == inner.n) {
            snprintf(why, len, "unterminated %s quote", q == '"' ? "double" : "single");
            return false;
        }
        struct span after = skip_blanks(span_sub(inner, close + 1, inner.n));
        if (!span_is_empty(after) && after.p[0] != '#') {
            snprintf(why, len, "text after the closing quote (a comment starts with #)");
            return false;
        }
        out->value = span_sub(inner, 0, close);
    } else {
        out->value = span_trim(span_sub(rest, 0, span_find(rest, '#')));
    }
    if (span_find_any(out->value, "\"'") < out->value.n) {
        snprintf(why, len, "a quote may only enclose the whole value (values cannot "
                 "contain quote characters)");
        return false;
    }
    return true;
}

/* [blanks] name [blanks] = [blanks] value [blanks] [# comment]; the line
 * has no '\n' and no NUL. Blank or comment: true with out->name.p NULL.
 * False with why (and out->name set once the name was found). */
static bool split_line(struct span line, struct cfg_line *out, char *why, size_t len)
{
    struct span rest = skip_blanks(line);
    out->name = out->value = SPAN_EMPTY;
    if (span_is_empty(rest) || rest.p[0] == '#') {
        return true;
    }
    size_t name_end = span_find_any(rest, BLANKS "=#");
    struct span name = span_sub(rest, 0, name_end);
    rest = skip_blanks(span_sub(rest, name_end, rest.n));
    if (!span_starts_with(rest, "=")) {
        char clean[80];
        show_span(name, clean, sizeof clean);
        snprintf(why, len, "expected name = value, got \"%s\"%s", clean,
                 !span_is_empty(rest) ? ""
                 : " with no \"=\" (a flag takes yes or no: daemon = yes)");
        return false;
    }
    out->name = name;
    return split_value(skip_blanks(span_sub(rest, 1, rest.n)), out, why, len);
}

/* --- names ------------------------------------------------------------------ */

/* Edit distance with '-' and '_' counted equal, capped; for suggestions. */
static size_t name_distance(struct span a, const char *b)
{
    size_t la = a.n, lb = strlen(b);
    size_t row[NAME_MAX_LEN + 1];
    if (la > NAME_MAX_LEN || lb > NAME_MAX_LEN) {
        return (size_t)-1;
    }
    for (size_t j = 0; j <= lb; j++) {
        row[j] = j;
    }
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            char ca = a.p[i - 1] == '_' ? '-' : a.p[i - 1];
            char cb = b[j - 1] == '_' ? '-' : b[j - 1];
            size_t best = diag + (ca != cb && (ca | 0x20) != (cb | 0x20));
            best = row[j] + 1 < best ? row[j] + 1 : best;
            best = row[j - 1] + 1 < best ? row[j - 1] + 1 : best;
            diag = row[j];
            row[j] = best;
        }
    }
    return row[lb];
}

/* The row the operator most likely meant: "--port" -> port, "m" -> the row
 * of -m, "memory_limit" -> memory-limit, one or two typos away. */
static const struct option_row *suggest(struct span name)
{
    const struct option_row *best = NULL;
    size_t best_d = 3;
    name = span_sub(name, span_run(name, "-"), name.n);
    for (size_t i = 0; i < options_count; i++) {
        const struct option_row *r = &options_table[i];
        size_t d = name_distance(name, r->name);
        if (name.n == 1 && r->short_flag == name.p[0]) {
            return r;
        }
        if (d < best_d) {
            best_d = d;
            best = r;
        }
    }
    return best;
}

static bool unknown_name(const struct cfg_pos *pos, struct span name, char *err,
                         size_t errlen)
{
    char clean[80], why[256];
    bool valid = !span_is_empty(name) && span_run(name, NAME_BYTES) == name.n;
    const struct option_row *r = suggest(name);
    show_span(name, clean, sizeof clean);
    if (!valid && r == NULL) {
        snprintf(why, sizeof why, "expected name = value, got \"%s\" as the name", clean);
    } else {
        snprintf(why, sizeof why, "unknown option \"%s\"%s%s%s", clean,
                 r ? " (did you mean \"" : " (see hardcached.conf(5))",
                 r ? r->name : "", r ? "\"?)" : "");
    }
    return cfg_fail(pos, NULL, why, err, errlen);
}

/* "listen, allow and allow-file": the names that may repeat. */
static void repeatable_names(char *buf, size_t len)
{
    size_t n = 0, count = 0, seen = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < options_count; i++) {
        count += (options_table[i].flags & OPT_REPEATABLE) != 0;
    }
    for (size_t i = 0; i < options_count && n < len; i++) {
        if (options_table[i].flags & OPT_REPEATABLE) {
            seen++;
            n += (size_t)snprintf(buf + n, len - n, "%s%s",
                                  seen == 1 ? "" : seen == count ? " and " : ", ",
                                  options_table[i].name);
        }
    }
}

/* --- applying a line ------------------------------------------------------- */

static bool cfg_apply(struct settings *s, const struct cfg_pos *pos,
                      const struct cfg_line *ln, unsigned long *first_line,
                      char *err, size_t errlen)
{
    const struct option_row *r = options_find_span(ln->name);
    char why[512], form[256];
    if (r == NULL) {
        return unknown_name(pos, ln->name, err, errlen);
    }
    size_t idx = (size_t)(r - options_table);
    if (r->flags & OPT_CLI_ONLY) {
        snprintf(why, sizeof why, "only valid on the command line%s",
                 r->kind == OPT_K_EXTENDED ? "; in a file each -o key is a name of its "
                 "own (idle_timeout = 30)" : "");
        return cfg_fail(pos, r->name, why, err, errlen);
    }
    if (first_line[idx] != 0 && !(r->flags & OPT_REPEATABLE)) {
        char names[128];
        repeatable_names(names, sizeof names);
        snprintf(why, sizeof why, "set twice (first on line %lu); only %s may repeat",
                 first_line[idx], names);
        return cfg_fail(pos, r->name, why, err, errlen);
    }
    if (first_line[idx] == 0) {
        first_line[idx] = pos->line;
    }
    if (span_is_empty(ln->value)) {
        options_form(r, form, sizeof form);
        snprintf(why, sizeof why, "missing value; %s", form);
        return cfg_fail(pos, r->name, why, err, errlen);
    }
    if (!options_apply_span(s, r, ln->value, why, sizeof why)) {
        return cfg_fail(pos, r->name, why, err, errlen);
    }
    return true;
}

/* One line (without its '\n' and a '\r' before it): split, then applied. */
static bool cfg_read_line(struct settings *s, struct span line, const struct cfg_pos *pos,
                     unsigned long *first_line, char *err, size_t errlen)
{
    struct cfg_line ln;
    char why[512], name[80];
    if (!split_line(line, &ln, why, sizeof why)) {
        if (ln.name.p != NULL) {
            show_span(ln.name, name, sizeof name);
        }
        return cfg_fail(pos, ln.name.p != NULL ? name : NULL, why, err, errlen);
    }
    return ln.name.p == NULL || cfg_apply(s, pos, &ln, first_line, err, errlen);
}

/* Walks the lines of text (no NUL in it). */
static bool cfg_walk(struct settings *s, struct span text, struct cfg_pos *pos,
                     char *err, size_t errlen)
{
    unsigned long *first_line = calloc(options_count, sizeof *first_line);
    struct span rest = text, line;
    bool ok = true;
    if (first_line == NULL) {
        snprintf(err, errlen, "hardcached: %s: out of memory", pos->file);
        return false;
    }
    for (pos->line = 1; ok && !span_is_empty(rest) && span_split(&rest, '\n', &line);
         pos->line++) {
        if (line.n > 0 && line.p[line.n - 1] == '\r') {
            line.n--;                     /* CRLF */
        }
        ok = cfg_read_line(s, line, pos, first_line, err, errlen);
    }
    free(first_line);
    return ok;
}

bool options_parse_config_text(struct settings *s, const char *text, size_t len,
                               const char *filename, char *err, size_t errlen)
{
    struct cfg_pos pos;
    struct span all = span_of(text, len);
    clean_path(filename ? filename : "-", pos.file, sizeof pos.file);
    if (len > OPTIONS_CONFIG_MAX) {
        snprintf(err, errlen, "hardcached: %s: larger than %d bytes; is it the right file?",
                 pos.file, OPTIONS_CONFIG_MAX);
        return false;
    }
    size_t nul = span_find(all, '\0');
    if (nul < len) {
        pos.line = 1 + span_count(span_sub(all, 0, nul), '\n');
        return cfg_fail(&pos, NULL, "NUL byte (is it a text file?)", err, errlen);
    }
    return cfg_walk(s, all, &pos, err, errlen);
}

/* --- the file -------------------------------------------------------------- */

static bool file_fail(const char *path, const char *what, int errnum, char *err,
                      size_t errlen)
{
    char clean[160];
    clean_path(path, clean, sizeof clean);
    snprintf(err, errlen, "hardcached: %s: %s%s%s", clean, what, errnum ? ": " : "",
             errnum ? strerror(errnum) : "");
    return false;
}

/* Reads all of fd, at most cap bytes (one more tells "too large"). */
static bool read_all(int fd, char *buf, size_t cap, size_t *got)
{
    size_t n = 0;
    while (n < cap) {
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            return false;
        }
        if (r == 0) {
            break;
        }
        n += (size_t)r;
    }
    *got = n;
    return true;
}

/* SECURITY: a regular file only (O_NONBLOCK: a FIFO put in its place can
 * not hang the start), bounded in size, read once. */
bool options_parse_config_file(struct settings *s, const char *path, char *err,
                               size_t errlen)
{
    struct stat st;
    size_t got = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        return file_fail(path, "cannot open the config file", errno, err, errlen);
    }
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return file_fail(path, "cannot stat the config file", e, err, errlen);
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return file_fail(path, S_ISDIR(st.st_mode) ? "the config file is a directory"
                         : "the config file is not a regular file", 0, err, errlen);
    }
    char *buf = malloc(OPTIONS_CONFIG_MAX + 1);
    if (buf == NULL) {
        close(fd);
        return file_fail(path, "out of memory", 0, err, errlen);
    }
    bool ok = read_all(fd, buf, OPTIONS_CONFIG_MAX + 1, &got);
    int e = errno;
    close(fd);
    if (!ok) {
        free(buf);
        return file_fail(path, "cannot read the config file", e, err, errlen);
    }
    ok = options_parse_config_text(s, buf, got, path, err, errlen);
    free(buf);
    return ok;
}
