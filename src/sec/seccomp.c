/* seccomp.c: turns the compiled-in policy rows (build/gen/sec/seccomp_policy.h,
 * generated from policy/seccomp.policy) into a libseccomp filter and loads it
 * on every thread at once. It trusts only that table, and its caller for
 * the names of the files it removes at exit. Every failure -- an
 * unknown mode, a rule libseccomp refuses, a load the kernel rejects, a
 * thread found unfiltered afterwards -- is reported, never skipped: the
 * caller ends the process, so a daemon meant to be filtered never serves
 * unfiltered (STYLE habit 8; OpenSSH's sandbox-seccomp-filter.c). */
#include "sec/seccomp.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "sec/seccomp_policy.h"

#define STATUS_MAX 8192

static const enum scmp_compare op_map[] = {
    [SECCOMP_OP_EQ] = SCMP_CMP_EQ, [SECCOMP_OP_NE] = SCMP_CMP_NE,
    [SECCOMP_OP_LT] = SCMP_CMP_LT, [SECCOMP_OP_LE] = SCMP_CMP_LE,
    [SECCOMP_OP_GT] = SCMP_CMP_GT, [SECCOMP_OP_GE] = SCMP_CMP_GE,
    [SECCOMP_OP_MASKED_EQ] = SCMP_CMP_MASKED_EQ,
};

const struct seccomp_rule *seccomp_rules(size_t *count)
{
    *count = sizeof(seccomp_policy) / sizeof(seccomp_policy[0]);
    return seccomp_policy;
}

static uint32_t rule_action(const struct seccomp_rule *r)
{
    /* SECURITY: a denial fails the call without killing (in "log" mode it
     * is not added: the default then logs and allows it, see build_filter). */
    return r->deny_errno == 0 ? SCMP_ACT_ALLOW : SCMP_ACT_ERRNO((uint32_t)r->deny_errno);
}

/* The values of the placeholders for one rule going in. */
struct rule_values {
    uint64_t pid;
    uint64_t exit_file;             /* the address of one exit file's name */
};

static uint64_t cond_value(const struct seccomp_cond *c, const struct rule_values *v)
{
    switch (c->source) {
    case SECCOMP_VALUE_PID:
        return v->pid;
    case SECCOMP_VALUE_EXITFILE:
        return v->exit_file;
    default:
        return c->value;
    }
}

static bool uses_exit_file(const struct seccomp_rule *r)
{
    for (unsigned i = 0; i < r->ncond; i++) {
        if (r->cond[i].source == SECCOMP_VALUE_EXITFILE) {
            return true;
        }
    }
    return false;
}

static int add_rule(scmp_filter_ctx ctx, const struct seccomp_rule *r, const struct rule_values *v)
{
    struct scmp_arg_cmp cmp[SECCOMP_MAX_CONDS];
    for (unsigned i = 0; i < r->ncond; i++) {
        const struct seccomp_cond *c = &r->cond[i];
        uint64_t value = cond_value(c, v);
        bool masked = c->op == SECCOMP_OP_MASKED_EQ;
        cmp[i] = (struct scmp_arg_cmp){
            .arg = c->arg,
            .op = op_map[c->op],
            .datum_a = masked ? c->mask : value,
            .datum_b = masked ? value : 0,
        };
    }
    /* _exact: the rule goes in as written or the build of the filter fails. */
    return seccomp_rule_add_exact_array(ctx, rule_action(r), r->nr, r->ncond, cmp);
}

static int set_attrs(scmp_filter_ctx ctx)
{
    /* SECURITY: TSYNC puts the filter on every thread or fails the load;
     * a syscall through another ABI (int 0x80, x32) kills the process;
     * errors come back as the kernel's errno, not libseccomp's -ECANCELED. */
    int rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
    if (rc == 0) {
        rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
    }
    if (rc == 0) {
        rc = seccomp_attr_set(ctx, SCMP_FLTATR_API_SYSRAWRC, 1);
    }
    return rc;
}

/* One policy row; a $EXITFILE row once for each exit file, none without.
 * SECURITY: the argument must be the very pointer the daemon will pass, so
 * even a hijacked call cannot name another file without first rewriting
 * those buffers; and without -P or -s the call stays forbidden. */
static int add_row(scmp_filter_ctx ctx, const struct seccomp_rule *r, uint8_t priority,
                   const char *const exit_files[], size_t n_exit_files)
{
    struct rule_values v = { .pid = (uint64_t)getpid() };
    if (!uses_exit_file(r)) {
        int rc = seccomp_syscall_priority(ctx, r->nr, priority);
        return rc != 0 ? rc : add_rule(ctx, r, &v);
    }
    for (size_t i = 0; i < n_exit_files; i++) {
        if (exit_files[i] == NULL || exit_files[i][0] == '\0') {
            continue;
        }
        v.exit_file = (uint64_t)(uintptr_t)exit_files[i];
        int rc = seccomp_syscall_priority(ctx, r->nr, priority);
        rc = rc != 0 ? rc : add_rule(ctx, r, &v);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

/* Rows earlier in the policy are tested first: the hot calls lead there. */
static scmp_filter_ctx build_filter(int mode, const char *const exit_files[], size_t n_exit_files,
                                    char *err, size_t errlen)
{
    /* SECURITY: the default kills the whole process, never one thread: a
     * dead worker would leave a server that accepts and never answers. */
    scmp_filter_ctx ctx = seccomp_init(mode == SECCOMP_MODE_ON ? SCMP_ACT_KILL_PROCESS : SCMP_ACT_LOG);
    if (ctx == NULL) {
        snprintf(err, errlen, "cannot create the filter (kernel or libseccomp too old for %s)",
                 mode == SECCOMP_MODE_ON ? "kill-process" : "log");
        return NULL;
    }
    int rc = set_attrs(ctx);
    if (rc != 0) {
        snprintf(err, errlen, "cannot set filter attributes (thread sync): %s", strerror(-rc));
        seccomp_release(ctx);
        return NULL;
    }
    size_t n;
    const struct seccomp_rule *rules = seccomp_rules(&n);
    for (size_t i = 0; i < n; i++) {
        const struct seccomp_rule *r = &rules[i];
        if (r->nr < 0 || (r->deny_errno != 0 && mode == SECCOMP_MODE_LOG)) {
            continue;   /* not on this arch; or a denial, which log mode logs by default */
        }
        rc = add_row(ctx, r, (uint8_t)(i < 255 ? 255 - i : 0), exit_files, n_exit_files);
        if (rc != 0) {
            snprintf(err, errlen, "policy/seccomp.policy:%d (%s): %s", r->line, r->name, strerror(-rc));
            seccomp_release(ctx);
            return NULL;
        }
    }
    return ctx;
}

/* ---- verification ------------------------------------------------------
 * After the load no file may be opened, so the status file of every thread
 * is opened before it and read after it. */

struct thread_status {
    int *fds;
    size_t n, cap;
};

static void thread_status_close(struct thread_status *ts)
{
    for (size_t i = 0; i < ts->n; i++) {
        close(ts->fds[i]);
    }
    free(ts->fds);
    ts->fds = NULL;
    ts->n = ts->cap = 0;
}

static bool thread_status_add(struct thread_status *ts, int dir, const char *tid)
{
    if (ts->n == ts->cap) {
        size_t cap = ts->cap ? ts->cap * 2 : 16;
        int *fds = realloc(ts->fds, cap * sizeof(*fds));
        if (fds == NULL) {
            return false;
        }
        ts->fds = fds;
        ts->cap = cap;
    }
    char path[272];     /* a d_name (at most 255) + "/status" */
    snprintf(path, sizeof(path), "%s/status", tid);
    int fd = openat(dir, path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return false;
    }
    ts->fds[ts->n++] = fd;
    return true;
}

static bool thread_status_open(struct thread_status *ts, char *err, size_t errlen)
{
    DIR *d = opendir("/proc/self/task");
    if (d == NULL) {
        snprintf(err, errlen, "cannot verify the filter: /proc/self/task: %s", strerror(errno));
        return false;
    }
    bool ok = true;
    struct dirent *de;
    while (ok && (de = readdir(d)) != NULL) {
        if (de->d_name[0] != '.') {
            ok = thread_status_add(ts, dirfd(d), de->d_name);
        }
    }
    if (!ok) {
        snprintf(err, errlen, "cannot verify the filter: /proc/self/task/%s/status: %s",
                 de != NULL ? de->d_name : "?", strerror(errno));
    }
    closedir(d);
    return ok;
}

static bool status_says(int fd, const char *seccomp_line, const char *nnp_line)
{
    char buf[STATUS_MAX];
    size_t len = 0;
    ssize_t got;
    while (len < sizeof(buf) - 1 && (got = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0) {
        len += (size_t)got;
    }
    buf[len] = '\0';
    return strstr(buf, seccomp_line) != NULL && strstr(buf, nnp_line) != NULL;
}

/* SECURITY: trust, then verify: every thread must report the filter
 * (Seccomp: 2 is SECCOMP_MODE_FILTER) and no_new_privs. */
static bool thread_status_verify(const struct thread_status *ts, char *err, size_t errlen)
{
    for (size_t i = 0; i < ts->n; i++) {
        if (!status_says(ts->fds[i], "\nSeccomp:\t2\n", "\nNoNewPrivs:\t1\n")) {
            snprintf(err, errlen, "thread %zu of %zu is not filtered after the load", i + 1, ts->n);
            return false;
        }
    }
    return true;
}

/* ---- install -------------------------------------------------------------- */

bool seccomp_install(int mode, const char *const exit_files[], size_t n_exit_files,
                     char *err, size_t errlen)
{
    if (mode == SECCOMP_MODE_OFF) {
        /* SECURITY: only by the operator's explicit --seccomp=off, which
         * --check-config reports. */
        return true;
    }
    if (mode != SECCOMP_MODE_ON && mode != SECCOMP_MODE_LOG) {
        snprintf(err, errlen, "unknown seccomp mode %d", mode);
        return false;
    }
    bool ok = false;
    struct thread_status ts = { 0 };
    scmp_filter_ctx ctx = NULL;
    /* SECURITY: no_new_privs first: nothing this process could still run
     * gains privileges, and the filter can be loaded without CAP_SYS_ADMIN. */
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1) {
        snprintf(err, errlen, "cannot set no_new_privs: %s", strerror(errno));
        goto out;
    }
    ctx = build_filter(mode, exit_files, n_exit_files, err, errlen);
    if (ctx == NULL || !thread_status_open(&ts, err, errlen)) {
        goto out;
    }
    int rc = seccomp_load(ctx);
    if (rc != 0) {
        snprintf(err, errlen, "cannot load the filter: %s",
                 rc == -ESRCH ? "a thread could not be synchronized" : strerror(-rc));
        goto out;
    }
    ok = thread_status_verify(&ts, err, errlen);
out:
    thread_status_close(&ts);
    if (ctx != NULL) {
        seccomp_release(ctx);
    }
    return ok;
}
