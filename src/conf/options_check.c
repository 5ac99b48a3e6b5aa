/* options_check.c: the checks between options and of final values (-I
 * against -m, -u root refused, --format without --check-config), run once
 * after every source (defaults, file, command line) has been applied, and
 * the one value derived from several options (the connection-buffer
 * budget). Each check is a row of cross_checks[]: a new rule is one
 * function and one row. */
#include "conf/options.h"

#include <pwd.h>
#include <string.h>

#include "base/show.h"
#include "sec/allowlist.h"

typedef bool cross_check_fn(const struct settings *s, char *err, size_t errlen);

/* Writes "hardcached: <label A>: <value A> <what> <label B> <value B>; <fix>". */
static bool cross_fail(const struct settings *s, const char *a, const char *what,
                       const char *b, const char *fix, char *err, size_t errlen)
{
    const struct option_row *ra = options_find(a), *rb = options_find(b);
    char la[64], lb[64], va[64], vb[64];
    options_label(ra, la, sizeof la);
    options_label(rb, lb, sizeof lb);
    options_format(s, ra, va, sizeof va);
    options_format(s, rb, vb, sizeof vb);
    snprintf(err, errlen, "hardcached: %s: %s %s %s %s; %s", la, va, what, lb, vb, fix);
    return false;
}

/* memcached's rule: an item may use at most half of the memory. */
static bool check_item_vs_memory(const struct settings *s, char *err, size_t errlen)
{
    if (s->item_size_max <= s->mem_limit / 2) {
        return true;
    }
    return cross_fail(s, "max-item-size", "is more than half of", "memory-limit",
                      "lower -I or raise -m", err, errlen);
}

static bool check_chunk_vs_item(const struct settings *s, char *err, size_t errlen)
{
    if (s->chunk_min < s->item_size_max) {
        return true;
    }
    return cross_fail(s, "slab-min-size", "must be less than", "max-item-size",
                      "lower -n or raise -I", err, errlen);
}

/* SECURITY: -u root would keep every privilege the drop is there to shed
 * (SPEC §3). Refused by name, as uid 0 ("0", or an alias such as toor),
 * and whether or not we start as root: the setting itself is the mistake. */
static bool check_user_not_root(const struct settings *s, char *err, size_t errlen)
{
    const struct passwd *pw = NULL;
    char label[64], clean[80];
    bool root = strcmp(s->user, "root") == 0 || strcmp(s->user, "0") == 0;
    if (!root) {
        pw = getpwnam(s->user);
        root = pw != NULL && pw->pw_uid == 0;
    }
    if (!root) {
        return true;
    }
    options_label(options_find("user"), label, sizeof label);
    show_text(s->user, clean, sizeof clean);
    snprintf(err, errlen, "hardcached: %s: refusing to run as root%s%s%s; name an "
             "unprivileged user (default: memcache)", label,
             pw ? " (user \"" : "", pw ? clean : "", pw ? "\" has uid 0)" : "");
    return false;
}

/* --format and --fail-on shape --check-config's output; given alone they
 * would be silently ignored, which is never what the operator meant. */
static bool check_audit_flags(const struct settings *s, char *err, size_t errlen)
{
    const char *name = s->audit_format != AUDIT_FORMAT_TEXT ? "format"
                     : s->audit_fail_on != AUDIT_FAIL_ON_WARNING ? "fail-on" : NULL;
    if (s->check_config || name == NULL) {
        return true;
    }
    snprintf(err, errlen, "hardcached: --%s: only applies with --check-config", name);
    return false;
}

static cross_check_fn *const cross_checks[] = {
    check_item_vs_memory,
    check_chunk_vs_item,
    check_user_not_root,
    check_audit_flags,
};

bool options_validate(const struct settings *s, char *err, size_t errlen)
{
    for (size_t i = 0; i < sizeof cross_checks / sizeof cross_checks[0]; i++) {
        if (!cross_checks[i](s, err, errlen)) {
            return false;
        }
    }
    /* The one change validation makes (through the pointer): the allowlist
     * is final, sorted and searchable from here on. */
    if (s->allow != NULL) {
        allowlist_seal(s->allow);
    }
    return true;
}

size_t options_conn_mem_budget(const struct settings *s)
{
    size_t floor = 2 * s->item_size_max + 2 * 1024 * 1024;
    size_t limit = s->conn_mem_limit ? s->conn_mem_limit : OPTIONS_CONN_MEM_DEFAULT;
    return limit > floor ? limit : floor;
}

