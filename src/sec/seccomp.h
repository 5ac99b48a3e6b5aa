/* seccomp.h: the kernel-enforced system-call allowlist (SPEC §8 promise 4).
 * The rules are reviewed data in policy/seccomp.policy, compiled into the
 * binary at build time (scripts/gen_seccomp.sh); nothing is read at run
 * time. Installed once, at the end of start-up, on every thread. */
#ifndef HC_SEC_SECCOMP_H
#define HC_SEC_SECCOMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What seccomp_install does (--seccomp on|log|off; settings.seccomp_mode). */
enum seccomp_mode {
    SECCOMP_MODE_ON = 0,            /* a call outside the policy kills the process */
    SECCOMP_MODE_LOG = 1,           /* such calls are logged and allowed */
    SECCOMP_MODE_OFF = 2,           /* no filter */
};

enum seccomp_op {
    SECCOMP_OP_EQ, SECCOMP_OP_NE, SECCOMP_OP_LT, SECCOMP_OP_LE,
    SECCOMP_OP_GT, SECCOMP_OP_GE,
    SECCOMP_OP_MASKED_EQ,           /* (arg & mask) == value */
};

/* Where a condition's value comes from. */
enum seccomp_value {
    SECCOMP_VALUE_CONST,            /* value, as written in the policy */
    SECCOMP_VALUE_PID,              /* $PID: our pid at install time */
    SECCOMP_VALUE_EXITFILE,         /* $EXITFILE: the address of one of the exit
                                       files given to seccomp_install */
};

struct seccomp_cond {
    unsigned arg;                   /* 0-5 */
    enum seccomp_op op;
    uint64_t mask;                  /* SECCOMP_OP_MASKED_EQ only */
    uint64_t value;
    enum seccomp_value source;
};

#define SECCOMP_MAX_CONDS 4

/* One line of the policy. Lines for the same call are alternatives. */
struct seccomp_rule {
    int nr;                         /* SCMP_SYS(name); negative: not on this arch */
    const char *name;
    int line;                       /* in policy/seccomp.policy */
    int deny_errno;                 /* 0: allow; else the call fails with it */
    unsigned ncond;                 /* all must hold */
    struct seccomp_cond cond[SECCOMP_MAX_CONDS];
};

/* Installs the compiled-in filter on every thread of the process
 * (SECCOMP_FILTER_FLAG_TSYNC). mode is SECCOMP_MODE_ON (anything else kills
 * the process), SECCOMP_MODE_LOG (logged and allowed) or SECCOMP_MODE_OFF
 * (does nothing). exit_files[0..n_exit_files) are the
 * names the process will unlink at exit (-P, -s; NULL or "" entries are
 * skipped): a $EXITFILE rule is added once for each, comparing the
 * argument with that exact pointer, so only those buffers can be passed;
 * with none, the rule is left out. Sets no_new_privs first and verifies
 * afterwards that every thread runs filtered. False + one-line err on any
 * failure: the caller ends the process (fail closed). */
bool seccomp_install(int mode, const char *const exit_files[], size_t n_exit_files,
                     char *err, size_t errlen);

/* The compiled-in rules, in policy order (for tests and audits). */
const struct seccomp_rule *seccomp_rules(size_t *count);

#endif
