/* audit.h: --check-config (SPEC §6), like `nginx -t` / `sshd -t`. The
 * settings a start would use (after options_parse_cli) and facts about the
 * host (struct audit_host, gathered once by audit_host_probe in
 * audit_host.c, the only part that talks to the system) go through
 * audit_rules[]: one row per finding with a stable id, a severity, the
 * check function, a one-line title (man page) and the fix. A check may give
 * a finding a milder severity than its row's when the configuration limits
 * the damage (the title says when); never a worse one. The checks are pure
 * functions of (settings, host), so tests feed them made-up hosts. */
#ifndef HC_CONF_AUDIT_H
#define HC_CONF_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "conf/settings.h"

enum audit_severity { AUDIT_INFO, AUDIT_WARNING, AUDIT_CRITICAL };

/* Exit statuses of --check-config. */
#define AUDIT_EXIT_OK       0   /* no warnings (info findings allowed) */
#define AUDIT_EXIT_WARNING  1   /* warnings, and --fail-on=warning */
#define AUDIT_EXIT_CRITICAL 2   /* critical findings, or an invalid configuration */

/* Descriptors the daemon needs besides -c's connections (main.c asks for
 * -c + 64 when it raises RLIMIT_NOFILE). */
#define AUDIT_FD_RESERVE 64
/* -m above this share of physical memory is a warning; above all of it, critical. */
#define AUDIT_MEM_WARN_PERCENT 80
/* `ufw status verbose` may take this long; then it is killed. */
#define AUDIT_UFW_TIMEOUT_MS 10000
#define AUDIT_UFW_PATH "/usr/sbin/ufw"

#define AUDIT_MAX_ADDRS 64
/* the config file, the allowlist files, the three TLS files, the -Y file */
#define AUDIT_MAX_FILES (5 + SETTINGS_MAX_ALLOW_FILES)
/* A -Y file larger than this is not read (the reader refuses it too). */
#define AUDIT_AUTH_FILE_MAX (4u << 20)
#define AUDIT_UFW_MAX 65536
#define AUDIT_MAX_FINDINGS 128   /* room for every ignored memcached option, too */

/* The role of the -Y file, or of -S's password file, among the audited
 * files (their secret is passwords). */
#define AUDIT_ROLE_AUTH_FILE "-Y file"
#define AUDIT_ROLE_SASL_FILE "SASL password file"

/* A file the configuration was read from or names, and the directory
 * holding it (whoever may replace either decides what the daemon does). */
struct audit_file {
    const char *role;               /* "config file", "allowlist file", "TLS key file", ... */
    char path[SETTINGS_PATH_MAX];
    bool known;                     /* stat worked */
    uid_t uid;
    mode_t mode;
    char dir[SETTINGS_PATH_MAX];
    bool dir_known;
    uid_t dir_uid;
    mode_t dir_mode;
    bool secret;                    /* a private key or passwords: nobody else may read it */
    bool read_at_start;             /* read by the start (TLS, -Y), not by the options:
                                       whether we can open it was tried */
    int read_errno;                 /* read_at_start: 0, or why open(2) failed */
    bool not_regular;               /* read_at_start: opened, but not a regular file */
};

/* One address a TCP listen entry binds. */
struct audit_addr {
    char text[80];                  /* "0.0.0.0:11211", "[::1]:11211" */
    int family;                     /* AF_INET or AF_INET6 */
    uint16_t port;
    bool loopback;
    bool notls;                     /* from a "notls:" entry: plain text even with -Z */
};

enum audit_ufw_state {
    AUDIT_UFW_NOT_ASKED,            /* not listening beyond loopback, or no ufw */
    AUDIT_UFW_UNREADABLE,           /* installed, state unknown (ufw_why says why) */
    AUDIT_UFW_READ,                 /* ufw_status holds `ufw status verbose` */
};

struct audit_host {
    uid_t euid;
    char self[64];                  /* our user's name, "" if unknown */
    bool user_known;                /* settings.user exists */
    uid_t user_uid;
    gid_t user_gid;
    unsigned long long phys_bytes;  /* physical memory; 0: unknown */
    unsigned long long nofile_max;  /* descriptors the daemon can get; 0: no limit known */
    bool socket_activated;          /* LISTEN_FDS is set */
    struct audit_addr addrs[AUDIT_MAX_ADDRS];
    int naddrs;                     /* TCP addresses; 0 with -s or LISTEN_FDS */
    char unresolved[256];           /* a listen host that did not resolve, or "" */
    char unresolved_why[128];
    struct audit_file files[AUDIT_MAX_FILES];
    int nfiles;
    bool auth_invalid;              /* the -Y file was read and auth_db_parse refused it */
    char auth_err[256];             /* auth_invalid: its reason ("line 3: ...") */
    enum audit_ufw_state ufw;
    char ufw_why[160];              /* UNREADABLE: why */
    bool ufw_ipv6;                  /* /etc/default/ufw has IPV6=yes (or is unreadable) */
    char ufw_status[AUDIT_UFW_MAX];
};

struct audit_rule;

struct audit_finding {
    const struct audit_rule *rule;
    enum audit_severity severity;   /* the rule's, or milder (audit_add_milder) */
    char what[768];                 /* what is wrong, printable ASCII */
};

struct audit_report {
    struct audit_finding items[AUDIT_MAX_FINDINGS];
    size_t n;
};

struct audit_ctx {
    const struct settings *s;
    const struct audit_host *h;
};

typedef void audit_check_fn(const struct audit_ctx *c, const struct audit_rule *rule,
                            struct audit_report *rep);

struct audit_rule {
    const char *id;                 /* stable: scripts match on it */
    enum audit_severity severity;   /* the most a finding of this rule can be */
    audit_check_fn *check;          /* calls audit_add for each finding */
    const char *title;              /* one line, for the man page */
    const char *fix;                /* how to fix it */
};

extern const struct audit_rule audit_rules[];
extern const size_t audit_rule_count;

/* "critical", "warning", "info". */
const char *audit_severity_name(enum audit_severity sev);

/* Adds a finding of rule to rep (the message formatted like printf). */
void audit_add(struct audit_report *rep, const struct audit_rule *rule, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The same with severity sev, kept no higher than the rule's. */
void audit_add_milder(struct audit_report *rep, const struct audit_rule *rule,
                      enum audit_severity sev, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Gathers the host facts the checks read (audit_host.c): identity, memory,
 * descriptor limit, LISTEN_FDS, what each listen entry resolves to, owners
 * and modes of the files the configuration came from or names (the TLS files
 * with -Z, the -Y file), whether the start could open the latter, the -Y
 * file's syntax, and, when listening beyond loopback as root, `ufw status
 * verbose` (bounded in time). */
void audit_host_probe(const struct settings *s, struct audit_host *h);

/* False, with err ("hardcached: -Y/--auth-file: FILE: line 3: ...") set,
 * when the host facts show the configuration cannot start for a reason the
 * options could not see (the -Y file is malformed): --check-config then
 * reports it as invalid, not as a finding. */
bool audit_host_valid(const struct audit_host *h, char *err, size_t errlen);

/* Runs every rule; findings come out in table order. */
void audit_evaluate(const struct settings *s, const struct audit_host *h,
                    struct audit_report *rep);

/* 0, 1 or 2 for rep under s->audit_fail_on. */
int audit_exit_status(const struct settings *s, const struct audit_report *rep);

/* Prints rep in s->audit_format (most severe first) with its summary line
 * and returns audit_exit_status. */
int audit_print(const struct settings *s, const struct audit_report *rep, FILE *out);

/* --check-config: probe, evaluate, print to out; returns the exit status. */
int audit_run(const struct settings *s, FILE *out);

/* --check-config on a configuration options_parse_cli refused: err (one
 * line, "hardcached: FILE:LINE: ...") goes to errout, and in JSON a report
 * with "valid": false to out. Returns AUDIT_EXIT_CRITICAL. */
int audit_report_invalid(const struct settings *s, const char *err, FILE *out, FILE *errout);

/* s as a JSON string (quotes included): ", \ and control bytes escaped,
 * invalid UTF-8 replaced by U+FFFD. */
void audit_json_string(FILE *out, const char *s);

/* What an active ufw does to TCP port `port` from any source address, for
 * IPv6 (v6) or IPv4 rules, reading `ufw status verbose` (audit_ufw.c). */
enum audit_ufw_verdict {
    AUDIT_UFW_V_INACTIVE,           /* "Status: inactive" */
    AUDIT_UFW_V_OPEN,               /* a rule or the default policy admits anyone */
    AUDIT_UFW_V_CLOSED,             /* denied or rejected for anyone not allowed by source */
    AUDIT_UFW_V_UNKNOWN,            /* the text is not what ufw prints */
};
enum audit_ufw_verdict audit_ufw_verdict(const char *status, uint16_t port, bool v6,
                                         char *why, size_t whylen);

#endif
