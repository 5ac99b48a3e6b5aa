/* privdrop.c: the one-way switch from the start-up user to the run-as user
 * (SPEC §3, promise 3: never runs with privileges it does not need, and
 * cannot regain them). It trusts nothing it did not read back from the
 * kernel: every step's result is checked, and at the end every promise is
 * re-read (getres*id, capget, prctl, /proc/self/task/N/status) rather than
 * assumed, OpenSSH- and OpenBSD-style. Any doubt is a failure; the caller
 * ends the process. Start-up only: nothing here runs after workers start. */
#include "sec/privdrop.h"

#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <unistd.h>

#define DEFAULT_USER "memcache"
#define CAP_SLOTS    64       /* the kernel's capability sets are 64 bits */
#define PW_BUFSZ     16384    /* getpw*_r scratch space */

/* What verification demands of every thread (see verify_tasks). */
struct expect {
    uid_t uid;
    gid_t gid;
    bool bounding_empty;
};

static bool fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static bool fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return false;
}

/* ---- resolve: who will we run as? ---------------------------------- */

/* SECURITY: "root" means any of real, effective or saved uid is 0: a
 * process holding uid 0 in any slot can setuid(0) back, so all three must
 * be replaced. If the ids cannot even be read, assume root: the root path
 * is the one that demands a real, unprivileged target user. */
static bool started_as_root(void)
{
    uid_t r, e, s;
    if (getresuid(&r, &e, &s) != 0) {
        return true;
    }
    return r == 0 || e == 0 || s == 0;
}

enum lookup { LOOKUP_FOUND, LOOKUP_MISSING, LOOKUP_ERROR };

/* getpwnam_r, which (unlike getpwnam's errno) tells "no such user" from
 * "the lookup itself failed" (getpwnam_r(3) lists the not-found codes). */
static enum lookup lookup_user(const char *name, uid_t *uid, gid_t *gid, int *errnum)
{
    struct passwd pw, *res = NULL;
    char buf[PW_BUFSZ];
    int rc = getpwnam_r(name, &pw, buf, sizeof(buf), &res);
    if (rc == 0 && res != NULL) {
        *uid = res->pw_uid;
        *gid = res->pw_gid;
        return LOOKUP_FOUND;
    }
    if (rc == 0 || rc == ENOENT || rc == ESRCH || rc == EBADF || rc == EPERM) {
        return LOOKUP_MISSING;
    }
    *errnum = rc;
    return LOOKUP_ERROR;
}

static bool refuse_root_user(const char *name, struct run_as *out, char *err, size_t errlen)
{
    out->fail_status = PRIVDROP_EX_USAGE;
    out->refused_root = true;
    return fail(err, errlen, "user \"%s\" is root (uid 0); refusing to run as root: use an "
                "unprivileged user (the default is memcache)", name);
}

/* Started as root: the target must exist and be neither uid 0 nor gid 0. */
static bool resolve_root(const char *name, struct run_as *out, char *err, size_t errlen)
{
    uid_t uid = 0;
    gid_t gid = 0;
    int errnum = 0;
    switch (lookup_user(name, &uid, &gid, &errnum)) {
    case LOOKUP_MISSING:
        out->fail_status = PRIVDROP_EX_NOUSER;
        return fail(err, errlen, "user \"%s\" does not exist; create it with: adduser --system "
                    "--group --no-create-home --home /nonexistent %s", name, name);
    case LOOKUP_ERROR:
        out->fail_status = PRIVDROP_EX_OSERR;
        return fail(err, errlen, "cannot look up user \"%s\": %s", name, strerror(errnum));
    case LOOKUP_FOUND:
        break;
    }
    /* SECURITY: -u root (or any alias of uid 0) is refused, never obeyed. */
    if (uid == 0) {
        return refuse_root_user(name, out, err, errlen);
    }
    /* SECURITY: group root can read and write what root's group can. */
    if (gid == 0) {
        out->fail_status = PRIVDROP_EX_USAGE;
        out->refused_root = true;
        return fail(err, errlen, "user \"%s\" has primary group root (gid 0); refusing to "
                    "run with group root: give it its own group", name);
    }
    out->uid = uid;
    out->gid = gid;
    out->switch_user = true;
    snprintf(out->name, sizeof(out->name), "%s", name);
    return true;
}

/* True when gid 0 is among our real/effective/saved or supplementary gids;
 * also when that cannot be read (fail closed). */
static bool in_group_root(void)
{
    gid_t r, e, s;
    if (getresgid(&r, &e, &s) != 0 || r == 0 || e == 0 || s == 0) {
        return true;
    }
    int n = getgroups(0, NULL);
    if (n <= 0) {
        return n < 0;
    }
    gid_t *groups = calloc((size_t)n, sizeof(*groups));
    if (groups == NULL) {
        return true;
    }
    int got = getgroups(n, groups);
    bool found = got < 0;
    for (int i = 0; i < got; i++) {
        found = found || groups[i] == 0;
    }
    free(groups);
    return found;
}

static void self_name(uid_t uid, char *name, size_t len)
{
    struct passwd pw, *res = NULL;
    char buf[PW_BUFSZ];
    if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) == 0 && res != NULL) {
        snprintf(name, len, "%s", res->pw_name);
    } else {
        snprintf(name, len, "uid %lu", (unsigned long)uid);
    }
}

/* Started as another user: keep it (we could not switch anyway). */
static bool resolve_self(const char *name, struct run_as *out, char *err, size_t errlen)
{
    uid_t uid = 1;
    gid_t gid = 1;
    int errnum = 0;
    /* SECURITY: "-u root" is refused whoever starts us, so a config that
     * asks for root never works by accident of who ran it. A missing or
     * unprivileged -u is irrelevant here: we keep the user we were given. */
    if (lookup_user(name, &uid, &gid, &errnum) == LOOKUP_FOUND && uid == 0) {
        return refuse_root_user(name, out, err, errlen);
    }
    /* SECURITY: without CAP_SETGID we cannot shed group root, and with it
     * setgid(0) would succeed: refuse rather than run with it. */
    if (in_group_root()) {
        out->fail_status = PRIVDROP_EX_USAGE;
        out->refused_root = true;
        return fail(err, errlen, "started as uid %lu with group root (gid 0); refusing to "
                    "run with group root: start it under an unprivileged group, or as root "
                    "to switch to -u USER", (unsigned long)geteuid());
    }
    out->uid = geteuid();
    out->gid = getegid();
    out->switch_user = false;
    self_name(out->uid, out->name, sizeof(out->name));
    return true;
}

bool privdrop_resolve(const char *user, struct run_as *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    const char *name = (user != NULL && user[0] != '\0') ? user : DEFAULT_USER;
    if (strlen(name) >= sizeof(out->name)) {
        out->fail_status = PRIVDROP_EX_USAGE;
        out->refused_root = true; /* not root, but a usage error: exit 64 */
        return fail(err, errlen, "user name \"%.32s...\" is too long (at most %zu bytes)",
                    name, sizeof(out->name) - 1);
    }
    return started_as_root() ? resolve_root(name, out, err, errlen)
                             : resolve_self(name, out, err, errlen);
}

/* ---- threads: the drop is only sound in a single-threaded process ---- */

typedef bool (*task_fn)(const char *tid, void *arg, char *err, size_t errlen);

/* Calls fn for every thread of this process; returns the count, or -1. */
static int for_each_task(task_fn fn, void *arg, char *err, size_t errlen)
{
    DIR *d = opendir("/proc/self/task");
    if (d == NULL) {
        fail(err, errlen, "cannot read /proc/self/task (is /proc mounted?): %s",
             strerror(errno));
        return -1;
    }
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.') {
            continue;
        }
        n++;
        if (fn != NULL && !fn(de->d_name, arg, err, errlen)) {
            n = -1;
            break;
        }
    }
    closedir(d);
    return n;
}

/* SECURITY: capabilities, the bounding set, the ambient set and
 * no_new_privs belong to a thread, not the process; glibc broadcasts only
 * the set*id calls. A thread started before the drop would keep all of
 * them, so the drop refuses to run unless we are the only thread. */
static bool require_single_thread(char *err, size_t errlen)
{
    int n = for_each_task(NULL, NULL, err, errlen);
    if (n < 0) {
        return false;
    }
    if (n != 1) {
        return fail(err, errlen, "%d threads exist; privileges must be dropped before any "
                    "thread is started (they are per-thread)", n);
    }
    return true;
}

/* ---- the drop, one step per function ------------------------------- */

/* The highest capability number this kernel knows, probed at run time:
 * CAP_LAST_CAP is the build machine's header, and libcap's cap_max_bits()
 * is its own probe; the kernel's answer is the one that matters. */
static int cap_last(void)
{
    int last = -1;
    while (last + 1 < CAP_SLOTS && prctl(PR_CAPBSET_READ, (unsigned long)(last + 1), 0, 0, 0) >= 0) {
        last++;
    }
    return last;
}

static bool bounding_is_empty(int last)
{
    for (int c = 0; c <= last; c++) {
        if (prctl(PR_CAPBSET_READ, (unsigned long)c, 0, 0, 0) != 0) {
            return false;
        }
    }
    return true;
}

static bool have_effective(cap_value_t cap)
{
    cap_t now = cap_get_proc();
    cap_flag_value_t v = CAP_CLEAR;
    if (now != NULL) {
        if (cap_get_flag(now, cap, CAP_EFFECTIVE, &v) != 0) {
            v = CAP_CLEAR;
        }
        cap_free(now);
    }
    return v == CAP_SET;
}

/* SECURITY: the bounding set must be emptied while CAP_SETPCAP is still
 * ours, i.e. before setuid clears the permitted set; that is why this step
 * comes before the identity switch. Only set bits are dropped, so an
 * already-empty set (systemd's CapabilityBoundingSet=) needs no privilege. */
static bool drop_bounding(int last, char *err, size_t errlen)
{
    for (int c = 0; c <= last; c++) {
        if (prctl(PR_CAPBSET_READ, (unsigned long)c, 0, 0, 0) != 1) {
            continue;
        }
        if (prctl(PR_CAPBSET_DROP, (unsigned long)c, 0, 0, 0) != 0) {
            int e = errno;
            char *cname = cap_to_name((cap_value_t)c);
            fail(err, errlen, "capability bounding set: cannot drop %s: %s",
                 cname ? cname : "?", strerror(e));
            cap_free(cname);
            return false;
        }
    }
    return true;
}

/* SECURITY: keep-caps off, so that setuid() away from root clears the
 * permitted and effective sets as the kernel normally does. */
static bool keepcaps_off(char *err, size_t errlen)
{
    if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0) {
        return fail(err, errlen, "PR_SET_KEEPCAPS 0: %s", strerror(errno));
    }
    return true;
}

/* SECURITY: groups first (setgroups needs CAP_SETGID, gone after setuid),
 * then gid, then uid last. No supplementary groups at all, not even the
 * user's own from /etc/group: a cache needs none. setres*id sets real,
 * effective and saved ids, so no saved uid 0 remains to return to. */
static bool switch_identity(const struct run_as *ra, char *err, size_t errlen)
{
    if (setgroups(0, NULL) != 0) {
        return fail(err, errlen, "setgroups(0): %s", strerror(errno));
    }
    if (setresgid(ra->gid, ra->gid, ra->gid) != 0) {
        return fail(err, errlen, "setresgid(%lu): %s", (unsigned long)ra->gid, strerror(errno));
    }
    if (setresuid(ra->uid, ra->uid, ra->uid) != 0) {
        return fail(err, errlen, "setresuid(%lu): %s", (unsigned long)ra->uid, strerror(errno));
    }
    return true;
}

/* Non-root start: make real and saved ids equal the effective ones (a
 * setuid-non-root start could otherwise switch back). Unprivileged calls,
 * made only when needed: a unit that filters @setuid never sees them. */
static bool settle_identity(const struct run_as *ra, char *err, size_t errlen)
{
    uid_t ru, eu, su;
    gid_t rg, eg, sg;
    if (getresuid(&ru, &eu, &su) != 0 || getresgid(&rg, &eg, &sg) != 0) {
        return fail(err, errlen, "getresuid/getresgid: %s", strerror(errno));
    }
    if ((rg != ra->gid || eg != ra->gid || sg != ra->gid) &&
        setresgid(ra->gid, ra->gid, ra->gid) != 0) {
        return fail(err, errlen, "setresgid(%lu): %s", (unsigned long)ra->gid, strerror(errno));
    }
    if ((ru != ra->uid || eu != ra->uid || su != ra->uid) &&
        setresuid(ra->uid, ra->uid, ra->uid) != 0) {
        return fail(err, errlen, "setresuid(%lu): %s", (unsigned long)ra->uid, strerror(errno));
    }
    return true;
}

/* True when effective, permitted and inheritable are all empty. */
static bool caps_empty(void)
{
    cap_t now = cap_get_proc();
    cap_t none = cap_init();
    bool empty = now != NULL && none != NULL && cap_compare(now, none) == 0;
    cap_free(now);
    cap_free(none);
    return empty;
}

/* SECURITY: effective, permitted and inheritable to empty. capset() is
 * only called when something is left, so a non-root start under a unit
 * that filters @privileged does not trip over it. */
static bool clear_caps(char *err, size_t errlen)
{
    if (caps_empty()) {
        return true;
    }
    cap_t none = cap_init();
    int rc = none ? cap_clear(none) : -1;
    rc = rc == 0 ? cap_set_proc(none) : -1;
    int e = errno;
    cap_free(none);
    if (rc != 0) {
        return fail(err, errlen, "clearing capabilities (cap_set_proc): %s", strerror(e));
    }
    return true;
}

static bool clear_ambient(char *err, size_t errlen)
{
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0) {
        return fail(err, errlen, "clearing ambient capabilities: %s", strerror(errno));
    }
    return true;
}

/* SECURITY: no_new_privs: no execve can ever grant privileges again
 * (setuid bits and file capabilities are ignored); inherited by every
 * thread started later. Not dumpable: no core file with cache contents,
 * no ptrace or /proc/PID/mem by processes of the same user. -r asks for
 * cores: the operator's explicit choice (setuid() from root would leave the
 * process non-dumpable, so it is set back to 1 explicitly). */
static bool set_process_flags(bool enable_coredumps, char *err, size_t errlen)
{
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
        return fail(err, errlen, "PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
    }
    if (prctl(PR_SET_DUMPABLE, enable_coredumps ? 1 : 0, 0, 0, 0) != 0) {
        return fail(err, errlen, "PR_SET_DUMPABLE: %s", strerror(errno));
    }
    return true;
}

/* ---- verification: re-read every promise from the kernel ------------ */

/* SECURITY: the proof of the drop: the way back to root must be closed. */
static bool verify_no_way_back(char *err, size_t errlen)
{
    if (setgid(0) != -1) {
        return fail(err, errlen, "verify: setgid(0) succeeded after dropping privileges");
    }
    if (setuid(0) != -1) {
        return fail(err, errlen, "verify: setuid(0) succeeded after dropping privileges");
    }
    return true;
}

static bool verify_ids(const struct run_as *ra, char *err, size_t errlen)
{
    uid_t ru, eu, su;
    gid_t rg, eg, sg;
    if (getresuid(&ru, &eu, &su) != 0 || getresgid(&rg, &eg, &sg) != 0) {
        return fail(err, errlen, "verify: getresuid/getresgid: %s", strerror(errno));
    }
    if (getuid() != ra->uid || geteuid() != ra->uid || ru != ra->uid || eu != ra->uid ||
        su != ra->uid) {
        return fail(err, errlen, "verify: uids are %lu/%lu/%lu, expected %lu", (unsigned long)ru,
                    (unsigned long)eu, (unsigned long)su, (unsigned long)ra->uid);
    }
    if (getgid() != ra->gid || getegid() != ra->gid || rg != ra->gid || eg != ra->gid ||
        sg != ra->gid) {
        return fail(err, errlen, "verify: gids are %lu/%lu/%lu, expected %lu", (unsigned long)rg,
                    (unsigned long)eg, (unsigned long)sg, (unsigned long)ra->gid);
    }
    if (ra->switch_user && getgroups(0, NULL) != 0) {
        return fail(err, errlen, "verify: supplementary groups remain after setgroups(0)");
    }
    if (in_group_root()) {
        return fail(err, errlen, "verify: still in group root (gid 0)");
    }
    return true;
}

static bool verify_caps(const struct expect *x, int last, char *err, size_t errlen)
{
    if (!caps_empty()) {
        return fail(err, errlen, "verify: capget shows capabilities left");
    }
    for (int c = 0; c <= last; c++) {
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, (unsigned long)c, 0, 0) != 0) {
            return fail(err, errlen, "verify: ambient capability %d still set", c);
        }
    }
    if (x->bounding_empty && !bounding_is_empty(last)) {
        return fail(err, errlen, "verify: capability bounding set is not empty");
    }
    return true;
}

static bool verify_flags(bool enable_coredumps, char *err, size_t errlen)
{
    if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1) {
        return fail(err, errlen, "verify: no_new_privs is not set");
    }
    if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != (enable_coredumps ? 1 : 0)) {
        return fail(err, errlen, "verify: dumpable is not %d", enable_coredumps ? 1 : 0);
    }
    if (prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0) != 0) {
        return fail(err, errlen, "verify: keep-caps is set");
    }
    return true;
}

/* Checks one "Uid:"/"Gid:" line: all four ids (real, effective, saved, fs). */
static bool status_ids_are(const char *rest, unsigned long want)
{
    int seen = 0;
    char *end;
    const char *p = rest;
    for (; seen < 4; seen++) {
        errno = 0;
        unsigned long v = strtoul(p, &end, 10);
        if (end == p || errno != 0 || v != want) {
            return false;
        }
        p = end;
    }
    return true;
}

static bool status_hex_is_zero(const char *rest)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(rest, &end, 16);
    return end != rest && errno == 0 && v == 0;
}

/* One line of /proc/self/task/N/status against x; *seen counts checks made. */
static bool status_line_ok(const char *line, const struct expect *x, int *seen)
{
    static const char *const zero_sets[] = { "CapInh:", "CapPrm:", "CapEff:", "CapAmb:" };
    for (size_t i = 0; i < sizeof(zero_sets) / sizeof(zero_sets[0]); i++) {
        size_t n = strlen(zero_sets[i]);
        if (strncmp(line, zero_sets[i], n) == 0) {
            (*seen)++;
            return status_hex_is_zero(line + n);
        }
    }
    if (strncmp(line, "CapBnd:", 7) == 0) {
        (*seen)++;
        return !x->bounding_empty || status_hex_is_zero(line + 7);
    }
    if (strncmp(line, "Uid:", 4) == 0) {
        (*seen)++;
        return status_ids_are(line + 4, (unsigned long)x->uid);
    }
    if (strncmp(line, "Gid:", 4) == 0) {
        (*seen)++;
        return status_ids_are(line + 4, (unsigned long)x->gid);
    }
    if (strncmp(line, "NoNewPrivs:", 11) == 0) {
        (*seen)++;
        return strtoul(line + 11, NULL, 10) == 1;
    }
    return true;
}

#define STATUS_CHECKS 8  /* Uid Gid CapInh CapPrm CapEff CapBnd CapAmb NoNewPrivs */

/* SECURITY: the kernel's own per-thread view, so a thread that escaped
 * the single-thread check (or a kernel that ignored a step) is caught. */
static bool verify_task(const char *tid, void *arg, char *err, size_t errlen)
{
    const struct expect *x = arg;
    char path[64], line[512];
    snprintf(path, sizeof(path), "/proc/self/task/%s/status", tid);
    FILE *f = fopen(path, "re");
    if (f == NULL) {
        return fail(err, errlen, "verify: cannot read %s: %s", path, strerror(errno));
    }
    int seen = 0;
    bool ok = true;
    while (ok && fgets(line, sizeof(line), f) != NULL) {
        ok = status_line_ok(line, x, &seen);
    }
    fclose(f);
    if (!ok) {
        line[strcspn(line, "\n")] = '\0';
        return fail(err, errlen, "verify: thread %s: unexpected \"%s\"", tid, line);
    }
    if (seen != STATUS_CHECKS) {
        return fail(err, errlen, "verify: %s lacks fields (kernel too old?)", path);
    }
    return true;
}

static bool verify_tasks(const struct expect *x, char *err, size_t errlen)
{
    int n = for_each_task(verify_task, (void *)x, err, errlen);
    if (n < 0) {
        return false;
    }
    if (n != 1) {
        return fail(err, errlen, "verify: %d threads appeared during the drop", n);
    }
    return true;
}

/* ---- the public step ------------------------------------------------ */

/* SECURITY: a plan that contradicts how we were started is a bug in the
 * caller: root without a switch, or a target of uid/gid 0. Refuse it. */
static bool check_plan(const struct run_as *ra, char *err, size_t errlen)
{
    if (ra->uid == 0 || ra->gid == 0) {
        return fail(err, errlen, "refusing to run as uid %lu gid %lu (root)",
                    (unsigned long)ra->uid, (unsigned long)ra->gid);
    }
    if (!ra->switch_user && started_as_root()) {
        return fail(err, errlen, "started as root but no run-as user was resolved");
    }
    return true;
}

bool privdrop_apply(const struct run_as *ra, bool enable_coredumps, char *err, size_t errlen)
{
    if (!check_plan(ra, err, errlen) || !require_single_thread(err, errlen)) {
        return false;
    }
    int last = cap_last();
    if (last < 0) {
        return fail(err, errlen, "cannot read the capability bounding set (PR_CAPBSET_READ)");
    }
    /* SECURITY: root must empty the bounding set (it holds CAP_SETPCAP, or
     * fails closed here). A non-root start without CAP_SETPCAP cannot touch
     * it; with no_new_privs set, nothing can ever be gained through it. */
    struct expect x = { .uid = ra->uid, .gid = ra->gid,
                        .bounding_empty = ra->switch_user || have_effective(CAP_SETPCAP) ||
                                          bounding_is_empty(last) };
    bool ok = keepcaps_off(err, errlen) &&
              (!x.bounding_empty || drop_bounding(last, err, errlen)) &&
              (ra->switch_user ? switch_identity(ra, err, errlen)
                               : settle_identity(ra, err, errlen)) &&
              clear_caps(err, errlen) && clear_ambient(err, errlen) &&
              set_process_flags(enable_coredumps, err, errlen);
    return ok && verify_no_way_back(err, errlen) && verify_ids(ra, err, errlen) &&
           verify_caps(&x, last, err, errlen) && verify_flags(enable_coredumps, err, errlen) &&
           verify_tasks(&x, err, errlen);
}
