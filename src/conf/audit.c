/* audit.c: the --check-config findings (SPEC §6) and their report. Each row
 * of audit_rules[] is one finding: a stable id that scripts may match, its
 * severity (a check may lower it where the configuration limits the damage,
 * as its title says), the check that decides it, a title for the man page and
 * the fix. Checks read only the settings and the host facts gathered by
 * audit_host.c, never the system, so every finding has a unit test. The
 * report is text (one finding a line, then a summary line) or JSON. Exit:
 * 0 no warnings, 1 warnings (0 with --fail-on=critical), 2 critical. */
#include "conf/audit.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "conf/options.h"
#include "sec/allowlist.h"
#include "sec/tlsid.h"

/* --- helpers the checks share -------------------------------------------- */

/* TCP addresses are ours to audit: no -s (which disables TCP) and no
 * sockets passed in by systemd. */
static bool tcp_audited(const struct audit_ctx *c)
{
    return c->s->unix_socket[0] == '\0' && !c->h->socket_activated;
}

/* "0.0.0.0:11211, [::]:11211": the addresses beyond loopback; their count. */
static int exposed_list(const struct audit_ctx *c, char *buf, size_t len)
{
    int n = 0;
    size_t at = 0;
    buf[0] = '\0';
    for (int i = 0; tcp_audited(c) && i < c->h->naddrs; i++) {
        const struct audit_addr *a = &c->h->addrs[i];
        if (!a->loopback) {
            if (at < len) {
                at += (size_t)snprintf(buf + at, len - at, "%s%s", n ? ", " : "", a->text);
            }
            n++;
        }
    }
    return n;
}

static bool exposed(const struct audit_ctx *c)
{
    char buf[8];
    return exposed_list(c, buf, sizeof buf) > 0;
}

/* The addresses beyond loopback that serve plain text (no -Z, or notls:). */
static int plaintext_list(const struct audit_ctx *c, char *buf, size_t len)
{
    int n = 0;
    size_t at = 0;
    buf[0] = '\0';
    for (int i = 0; tcp_audited(c) && i < c->h->naddrs; i++) {
        const struct audit_addr *a = &c->h->addrs[i];
        if (!a->loopback && (!c->s->ssl_enabled || a->notls)) {
            if (at < len) {
                at += (size_t)snprintf(buf + at, len - at, "%s%s", n ? ", " : "", a->text);
            }
            n++;
        }
    }
    return n;
}

/* The uid the daemon will run as: the -u user when started as root, else
 * ourselves; (uid_t)-1 when unknown. */
static uid_t run_as_uid(const struct audit_host *h)
{
    if (h->euid != 0) {
        return h->euid;
    }
    return h->user_known ? h->user_uid : (uid_t)-1;
}

/* The allowlist's networks beyond loopback as they were added (the
 * allowlist parsed them and says which are loopback), "10.0.0.0/8,
 * 192.168.0.0/16" (the first few); their count. */
static size_t allow_beyond_loopback(const struct allowlist *al, char *out, size_t outlen)
{
    struct allowlist_net net;
    size_t count = 0, at = 0;
    out[0] = '\0';
    for (size_t i = 0; allowlist_net_at(al, i, &net); i++) {
        if (net.loopback) {
            continue;
        }
        if (count < 3 && at < outlen) {
            at += (size_t)snprintf(out + at, outlen - at, "%s%s", count ? ", " : "", net.text);
        } else if (count == 3 && at < outlen) {
            at += (size_t)snprintf(out + at, outlen - at, ", ...");
        }
        count++;
    }
    return count;
}

/* "0644" */
static void mode_text(mode_t m, char *buf, size_t len)
{
    snprintf(buf, len, "%04o", (unsigned)(m & 07777));
}

/* --- the checks: listening ---------------------------------------------- */

static void check_socket_activated(const struct audit_ctx *c, const struct audit_rule *r,
                                   struct audit_report *rep)
{
    if (c->h->socket_activated) {
        audit_add(rep, r, "started with LISTEN_FDS (socket activation): the listen "
                  "addresses are the .socket unit's, not audited here");
    }
}

static void check_listen_exposed(const struct audit_ctx *c, const struct audit_rule *r,
                                 struct audit_report *rep)
{
    char list[512];
    if (exposed_list(c, list, sizeof list) > 0 && c->s->allow == NULL) {
        audit_add(rep, r, "listening on %s with no allowlist: anyone who can reach this "
                  "host can read and write the cache", list);
    }
}

/* SECURITY: an allowlist decides who may connect, not who may listen on the
 * path: beyond loopback, plain text hands keys, values and -Y passwords to
 * anyone on it. */
static void check_listen_plaintext(const struct audit_ctx *c, const struct audit_rule *r,
                                   struct audit_report *rep)
{
    char list[512];
    const char *what = c->s->sasl ? "keys, values and -S (SASL PLAIN) passwords"
                       : c->s->auth_file[0] != '\0' ? "keys, values and -Y passwords"
                                                    : "keys and values";
    if (plaintext_list(c, list, sizeof list) == 0) {
        return;
    }
    if (c->s->ssl_enabled) {
        audit_add(rep, r, "listening on %s as notls: although -Z is on: %s cross the network "
                  "in clear text, for anyone on the path to read or change", list, what);
    } else {
        audit_add(rep, r, "listening on %s without TLS (-Z): %s cross the network in clear "
                  "text, for anyone on the path to read or change", list, what);
    }
}

static void check_listen_unresolvable(const struct audit_ctx *c, const struct audit_rule *r,
                                      struct audit_report *rep)
{
    if (tcp_audited(c) && c->h->unresolved[0] != '\0') {
        audit_add(rep, r, "listen address \"%s\" does not resolve (%s): the start will fail",
                  c->h->unresolved, c->h->unresolved_why);
    }
}

static void check_listen_ignored(const struct audit_ctx *c, const struct audit_rule *r,
                                 struct audit_report *rep)
{
    if (c->s->unix_socket[0] != '\0' && c->s->nlisten > 0 && !c->h->socket_activated) {
        audit_add(rep, r, "-s/--unix-socket is set, so the -l/--listen addresses are not "
                  "used: the daemon serves the unix socket only (no TCP)");
    }
}

/* --- the checks: the allowlist ------------------------------------------- */

static void check_allow_all(const struct audit_ctx *c, const struct audit_rule *r,
                            struct audit_report *rep)
{
    if (allowlist_contains_everything(c->s->allow)) {
        audit_add(rep, r, "the allowlist admits every address (it holds 0.0.0.0/0 or ::/0, "
                  "or networks that cover all of IPv4 or IPv6): it protects nothing");
    }
}

static void check_allow_wider(const struct audit_ctx *c, const struct audit_rule *r,
                              struct audit_report *rep)
{
    char nets[256];
    if (c->s->allow == NULL || !tcp_audited(c) || c->h->naddrs == 0 || exposed(c) ||
        allowlist_contains_everything(c->s->allow) ||
        allow_beyond_loopback(c->s->allow, nets, sizeof nets) == 0) {
        return;
    }
    audit_add(rep, r, "listening on loopback only, but the allowlist admits %s: clients "
              "there cannot connect (the allowlist does not widen the listen addresses)",
              nets);
}

static void check_allow_unused(const struct audit_ctx *c, const struct audit_rule *r,
                               struct audit_report *rep)
{
    if (c->s->allow != NULL && c->s->unix_socket[0] != '\0' && !c->h->socket_activated) {
        audit_add(rep, r, "the daemon serves the unix socket %s only, and the allowlist "
                  "does not apply to unix socket clients (the socket's mode does)",
                  c->s->unix_socket);
    }
}

/* --- the checks: hardening switched off ---------------------------------- */

static void check_seccomp_off(const struct audit_ctx *c, const struct audit_rule *r,
                              struct audit_report *rep)
{
    if (c->s->seccomp_mode == SECCOMP_MODE_OFF) {
        audit_add(rep, r, "--seccomp=off: no system call filter; a memory-safety bug "
                  "could run programs, open files and connect out");
    }
}

static void check_seccomp_log(const struct audit_ctx *c, const struct audit_rule *r,
                              struct audit_report *rep)
{
    if (c->s->seccomp_mode == SECCOMP_MODE_LOG) {
        audit_add(rep, r, "--seccomp=log: system calls outside the policy are logged "
                  "and allowed, not refused");
    }
}

static void check_shutdown(const struct audit_ctx *c, const struct audit_rule *r,
                           struct audit_report *rep)
{
    if (c->s->shutdown_enabled) {
        audit_add(rep, r, "-A/--enable-shutdown: any client that can connect can stop "
                  "the server with \"shutdown\"");
    }
}

static void check_coredumps(const struct audit_ctx *c, const struct audit_rule *r,
                            struct audit_report *rep)
{
    if (c->s->enable_coredumps) {
        audit_add(rep, r, "-r/--enable-coredumps: a crash writes a core file that holds "
                  "the cache's contents (sessions, tokens) to disk");
    }
}

static void check_keys_logged(const struct audit_ctx *c, const struct audit_rule *r,
                              struct audit_report *rep)
{
    if (c->s->verbose >= 2) {
        audit_add(rep, r, "-vv: every command line goes to the log, keys included "
                  "(session ids, tokens); the log is as sensitive as the cache");
    }
}

static void check_read_timeout(const struct audit_ctx *c, const struct audit_rule *r,
                               struct audit_report *rep)
{
    if (c->s->read_timeout == 0) {
        audit_add(rep, r, "--read-timeout 0: a client may hold a partial request open "
                  "forever (slowloris), each one using a connection of -c %d",
                  c->s->max_conns);
    }
}

/* SECURITY: with neither a per-address cap nor an idle timeout, -c + a few
 * idle sockets from one client lock everyone else out for as long as that
 * client likes: a warning. An idle timeout bounds it in time: info. */
static void check_per_ip(const struct audit_ctx *c, const struct audit_rule *r,
                         struct audit_report *rep)
{
    if (!exposed(c) || c->s->max_conns_per_ip != 0) {
        return;
    }
    if (c->s->idle_timeout == 0) {
        audit_add(rep, r, "no per-address connection cap (--max-conns-per-ip 0) and no idle "
                  "timeout (-o idle_timeout=0) while listening beyond loopback: one client "
                  "can hold all %d connections of -c with idle sockets and lock every other "
                  "client out for as long as it likes", c->s->max_conns);
    } else {
        audit_add_milder(rep, r, AUDIT_INFO, "no per-address connection cap "
                         "(--max-conns-per-ip 0) while listening beyond loopback: one client "
                         "can take all %d connections of -c, until idle_timeout closes "
                         "those idle for %d s", c->s->max_conns, c->s->idle_timeout);
    }
}

static void check_flush_exposed(const struct audit_ctx *c, const struct audit_rule *r,
                                struct audit_report *rep)
{
    if (exposed(c) && c->s->flush_enabled) {
        audit_add(rep, r, "flush_all is enabled while listening beyond loopback: any "
                  "client that is let in can empty the cache");
    }
}

static void check_unix_mask(const struct audit_ctx *c, const struct audit_rule *r,
                            struct audit_report *rep)
{
    char mode[8];
    if (c->s->unix_socket[0] != '\0' && (c->s->unix_mask & S_IWOTH)) {
        mode_text(c->s->unix_mask, mode, sizeof mode);
        audit_add(rep, r, "unix socket %s with mask %s: every local user can connect "
                  "and read and write the cache", c->s->unix_socket, mode);
    }
}

/* --- the checks: TLS and -Y ------------------------------------------------- */

/* SECURITY: TLS alone only hides the traffic; without client certificates
 * or logins, whoever reaches the port is served. A warning where others can
 * reach it (or where we cannot tell: socket activation), info on loopback. */
static void check_tls_no_client_auth(const struct audit_ctx *c, const struct audit_rule *r,
                                     struct audit_report *rep)
{
    const struct settings *s = c->s;
    if (!s->ssl_enabled || s->ssl_verify_mode >= 2 || s->auth_file[0] != '\0') {
        return;
    }
    const char *how = s->ssl_verify_mode == 0 ? "no client certificate is asked for"
                    : "a client certificate is checked only when one is sent";
    bool reachable = exposed(c) || c->h->socket_activated;
    audit_add_milder(rep, r, reachable ? AUDIT_WARNING : AUDIT_INFO, "-Z with "
                     "ssl_verify_mode=%d (%s) and no -Y: TLS hides the traffic, but anyone "
                     "who reaches the port may use the cache%s", s->ssl_verify_mode, how,
                     reachable ? "" : " (it listens on loopback only)");
}

static void check_tls_old_protocol(const struct audit_ctx *c, const struct audit_rule *r,
                                   struct audit_report *rep)
{
    if (c->s->ssl_enabled && c->s->ssl_min_version < 2) {
        audit_add(rep, r, "ssl_min_version=%d accepts TLS 1.%d: TLS 1.0 and 1.1 are deprecated "
                  "(RFC 8996; SHA-1 handshakes, no AEAD ciphers)", c->s->ssl_min_version,
                  c->s->ssl_min_version);
    }
}

/* "ssl_chain_cert, ssl_verify_mode": the ssl_* rows that differ from their
 * defaults; their count. */
static int ssl_rows_given(const struct settings *s, char *buf, size_t len)
{
    static struct settings def;            /* large; --check-config runs once */
    char a[SETTINGS_PATH_MAX], b[SETTINGS_PATH_MAX];
    size_t at = 0;
    int n = 0;
    settings_defaults(&def);
    buf[0] = '\0';
    for (size_t i = 0; i < options_count; i++) {
        const struct option_row *row = &options_table[i];
        if (strncmp(row->name, "ssl_", 4) != 0 || (row->flags & OPT_IGNORED)) {
            continue;               /* an ignored one has a finding of its own */
        }
        options_format(s, row, a, sizeof a);
        options_format(&def, row, b, sizeof b);
        if (strcmp(a, b) != 0 && at < len) {
            at += (size_t)snprintf(buf + at, len - at, "%s%s", n++ ? ", " : "", row->name);
        }
    }
    return n;
}

static void check_ssl_without_tls(const struct audit_ctx *c, const struct audit_rule *r,
                                  struct audit_report *rep)
{
    char names[512];
    int n = c->s->ssl_enabled ? 0 : ssl_rows_given(c->s, names, sizeof names);
    if (n > 0) {
        audit_add(rep, r, "%s %s set but -Z is not: TLS is off and %s ignored (as in "
                  "memcached)", names, n == 1 ? "is" : "are", n == 1 ? "it is" : "they are");
    }
}

/* "dns:a.example, cn:client1" from the parsed list (printable by then). */
static void identity_text(const struct tlsid_list *l, char *buf, size_t len)
{
    static const char *const prefix[] = {
        [TLSID_DNS] = "dns:", [TLSID_URI] = "uri:", [TLSID_CN] = "cn:",
    };
    size_t at = 0;
    buf[0] = '\0';
    for (int i = 0; i < l->n && at < len; i++) {
        at += (size_t)snprintf(buf + at, len - at, "%s%s%s", i ? ", " : "",
                               prefix[l->ids[i].kind], l->ids[i].value);
    }
    if (at >= len && len > 4) {
        memcpy(buf + len - 4, "...", 4);
    }
}

static void check_tls_identity(const struct audit_ctx *c, const struct audit_rule *r,
                               struct audit_report *rep)
{
    static struct tlsid_list ids;
    char why[256], list[480];
    if (c->s->tls_client_identity[0] == '\0' ||
        !tlsid_parse(span_cstr(c->s->tls_client_identity), &ids, why, sizeof why)) {
        return;                             /* options_validate refused the latter */
    }
    identity_text(&ids, list, sizeof list);
    audit_add(rep, r, "only TLS clients whose verified certificate carries one of %d "
              "identit%s are served (%s); others are closed after the handshake", ids.n,
              ids.n == 1 ? "y" : "ies", list);
}

/* --- the checks: memcached's options without effect -------------------------- */

/* One finding for each: the start prints the same line on stderr. */
static void check_memcached_ignored(const struct audit_ctx *c, const struct audit_rule *r,
                                    struct audit_report *rep)
{
    char line[768];
    for (int i = 0; i < c->s->nignored; i++) {
        options_ignored_text(c->s, i, line, sizeof line);
        audit_add(rep, r, "%s", line);
    }
}

/* --- the checks: files ------------------------------------------------------ */

/* Each config and allowlist file, then each directory holding one. */
typedef void file_check_fn(const struct audit_ctx *c, const struct audit_rule *r,
                           struct audit_report *rep, const struct audit_file *f,
                           bool dir);

static void each_file(const struct audit_ctx *c, const struct audit_rule *r,
                      struct audit_report *rep, file_check_fn *fn)
{
    for (int i = 0; i < c->h->nfiles; i++) {
        const struct audit_file *f = &c->h->files[i];
        if (f->known) {
            fn(c, r, rep, f, false);
        }
        if (f->dir_known) {
            fn(c, r, rep, f, true);
        }
    }
}

/* "config file /etc/x.conf" or "directory /etc (holding config file /etc/x.conf)" */
static void file_label(const struct audit_file *f, bool dir, char *buf, size_t len)
{
    if (dir) {
        snprintf(buf, len, "directory %s (holding %s %s)", f->dir, f->role, f->path);
    } else {
        snprintf(buf, len, "%s %s", f->role, f->path);
    }
}

/* SECURITY: a sticky directory (/tmp) lets others add files but not
 * replace or rename ours. */
static bool writable_by(const struct audit_file *f, bool dir, mode_t bit)
{
    mode_t m = dir ? f->dir_mode : f->mode;
    return (m & bit) && !(dir && (m & S_ISVTX));
}

static void file_others(const struct audit_ctx *c, const struct audit_rule *r,
                        struct audit_report *rep, const struct audit_file *f, bool dir)
{
    char label[2 * SETTINGS_PATH_MAX + 64], mode[8];
    (void)c;
    if (writable_by(f, dir, S_IWOTH)) {
        file_label(f, dir, label, sizeof label);
        mode_text(dir ? f->dir_mode : f->mode, mode, sizeof mode);
        audit_add(rep, r, "%s is writable by every user (mode %s): anyone on the host can "
                  "change what the daemon serves, and to whom", label, mode);
    }
}

static void file_group(const struct audit_ctx *c, const struct audit_rule *r,
                       struct audit_report *rep, const struct audit_file *f, bool dir)
{
    char label[2 * SETTINGS_PATH_MAX + 64], mode[8];
    (void)c;
    if (writable_by(f, dir, S_IWGRP) && !writable_by(f, dir, S_IWOTH)) {
        file_label(f, dir, label, sizeof label);
        mode_text(dir ? f->dir_mode : f->mode, mode, sizeof mode);
        audit_add(rep, r, "%s is writable by its group (mode %s): every member can change "
                  "the configuration", label, mode);
    }
}

static void file_owner(const struct audit_ctx *c, const struct audit_rule *r,
                       struct audit_report *rep, const struct audit_file *f, bool dir)
{
    char label[2 * SETTINGS_PATH_MAX + 64];
    uid_t owner = dir ? f->dir_uid : f->uid;
    if (owner == 0 || owner == run_as_uid(c->h)) {
        return;
    }
    file_label(f, dir, label, sizeof label);
    audit_add(rep, r, "%s is owned by uid %lu, neither root nor the user the daemon runs "
              "as: that user can change it", label, (unsigned long)owner);
}

static void check_files_others(const struct audit_ctx *c, const struct audit_rule *r,
                               struct audit_report *rep)
{
    each_file(c, r, rep, file_others);
}

static void check_files_group(const struct audit_ctx *c, const struct audit_rule *r,
                              struct audit_report *rep)
{
    each_file(c, r, rep, file_group);
}

static void check_files_owner(const struct audit_ctx *c, const struct audit_rule *r,
                              struct audit_report *rep)
{
    each_file(c, r, rep, file_owner);
}

static bool is_password_file(const struct audit_file *f)
{
    return strcmp(f->role, AUDIT_ROLE_AUTH_FILE) == 0
        || strcmp(f->role, AUDIT_ROLE_SASL_FILE) == 0;
}

/* What a reader of a secret file gets. */
static const char *secret_gain(const struct audit_file *f)
{
    return is_password_file(f) ? "every password in it"
         : "the server's private key, and with it the server's identity";
}

static void secret_readable(struct audit_report *rep, const struct audit_rule *r,
                            const struct audit_file *f, mode_t bit, const char *who)
{
    char mode[8];
    if (f->known && f->secret && (f->mode & bit)) {
        mode_text(f->mode, mode, sizeof mode);
        audit_add(rep, r, "%s %s is readable by %s (mode %s): %s can read %s", f->role,
                  f->path, who, mode, bit == S_IROTH ? "anyone on the host" : "every member",
                  secret_gain(f));
    }
}

static void check_secret_others(const struct audit_ctx *c, const struct audit_rule *r,
                                struct audit_report *rep)
{
    for (int i = 0; i < c->h->nfiles; i++) {
        secret_readable(rep, r, &c->h->files[i], S_IROTH, "every user");
    }
}

static void check_secret_group(const struct audit_ctx *c, const struct audit_rule *r,
                               struct audit_report *rep)
{
    for (int i = 0; i < c->h->nfiles; i++) {
        const struct audit_file *f = &c->h->files[i];
        if (!(f->mode & S_IROTH)) {
            secret_readable(rep, r, f, S_IRGRP, "its group");
        }
    }
}

/* SECURITY: the start reads these after the options are accepted; say now
 * that it will fail, rather than at the first restart. */
static void check_files_unreadable(const struct audit_ctx *c, const struct audit_rule *r,
                                   struct audit_report *rep)
{
    for (int i = 0; i < c->h->nfiles; i++) {
        const struct audit_file *f = &c->h->files[i];
        if (!f->read_at_start || (f->read_errno == 0 && !f->not_regular)) {
            continue;
        }
        if (f->not_regular) {
            audit_add(rep, r, "%s %s is not a regular file: the start will fail", f->role,
                      f->path);
        } else if (f->read_errno == ENOENT) {
            audit_add(rep, r, "%s %s does not exist: the start will fail", f->role, f->path);
        } else {
            audit_add(rep, r, "%s %s cannot be read by uid %lu (%s): the start will fail",
                      f->role, f->path, (unsigned long)c->h->euid, strerror(f->read_errno));
        }
    }
}

/* --- the checks: resources ------------------------------------------------ */

static double gib(unsigned long long bytes)
{
    return (double)bytes / (1024.0 * 1024 * 1024);
}

static void check_memory_over(const struct audit_ctx *c, const struct audit_rule *r,
                              struct audit_report *rep)
{
    unsigned long long phys = c->h->phys_bytes, m = c->s->mem_limit;
    if (phys != 0 && m > phys) {
        audit_add(rep, r, "-m %llu (%.1f GiB) is more than the host's %.1f GiB of physical "
                  "memory: a full cache will swap or be killed by the OOM killer",
                  m / (1024 * 1024), gib(m), gib(phys));
    }
}

static void check_memory_near(const struct audit_ctx *c, const struct audit_rule *r,
                              struct audit_report *rep)
{
    unsigned long long phys = c->h->phys_bytes, m = c->s->mem_limit;
    if (phys != 0 && m <= phys && m > phys / 100 * AUDIT_MEM_WARN_PERCENT) {
        audit_add(rep, r, "-m %llu (%.1f GiB) is more than %d%% of the host's %.1f GiB of "
                  "physical memory, leaving little for the system and connection buffers",
                  m / (1024 * 1024), gib(m), AUDIT_MEM_WARN_PERCENT, gib(phys));
    }
}

/* -m, the connection-buffer budget and every connection's own allowance:
 * what the daemon may hold at most (the store's overhead aside). */
static void check_conn_mem_over(const struct audit_ctx *c, const struct audit_rule *r,
                                struct audit_report *rep)
{
    unsigned long long phys = c->h->phys_bytes, m = c->s->mem_limit;
    unsigned long long budget = options_conn_mem_budget(c->s);
    unsigned long long own = (unsigned long long)c->s->max_conns * 2 * OPTIONS_CONN_BUF_FREE;
    if (phys != 0 && m <= phys && m + budget + own > phys) {
        audit_add(rep, r, "-m %llu MiB plus connection buffers (--conn-mem-limit %llu MiB "
                  "and %llu MiB for -c %d connections' own allowance) is more than the "
                  "host's %.1f GiB of physical memory", m >> 20, budget >> 20, own >> 20,
                  c->s->max_conns, gib(phys));
    }
}

static void check_conn_mem_raised(const struct audit_ctx *c, const struct audit_rule *r,
                                  struct audit_report *rep)
{
    size_t asked = c->s->conn_mem_limit ? c->s->conn_mem_limit : OPTIONS_CONN_MEM_DEFAULT;
    size_t used = options_conn_mem_budget(c->s);
    if (used > asked) {
        audit_add(rep, r, "--conn-mem-limit %zu MiB is less than 2 x -I (%zu KiB) + 2 MiB: "
                  "the daemon uses %zu MiB so the largest item can always be answered",
                  asked >> 20, c->s->item_size_max >> 10, used >> 20);
    }
}

static void check_nofile(const struct audit_ctx *c, const struct audit_rule *r,
                         struct audit_report *rep)
{
    unsigned long long need = (unsigned long long)c->s->max_conns + AUDIT_FD_RESERVE;
    if (c->h->nofile_max != 0 && need > c->h->nofile_max) {
        audit_add(rep, r, "-c %d needs %llu open files (%d of the daemon's own besides "
                  "the connections), but the open-files hard limit is %llu",
                  c->s->max_conns, need, AUDIT_FD_RESERVE, c->h->nofile_max);
    }
}

/* --- the checks: the run-as user ------------------------------------------ */

static void check_user_missing(const struct audit_ctx *c, const struct audit_rule *r,
                               struct audit_report *rep)
{
    if (c->h->euid == 0 && !c->h->user_known) {
        audit_add(rep, r, "run-as user \"%s\" does not exist: started as root, the daemon "
                  "refuses to start (exit 67)", c->s->user);
    }
}

static void check_user_root(const struct audit_ctx *c, const struct audit_rule *r,
                            struct audit_report *rep)
{
    if (c->h->euid == 0 && c->h->user_known &&
        (c->h->user_uid == 0 || c->h->user_gid == 0)) {
        audit_add(rep, r, "run-as user \"%s\" has uid %lu and gid %lu: it keeps root's "
                  "privileges (the daemon refuses it)", c->s->user,
                  (unsigned long)c->h->user_uid, (unsigned long)c->h->user_gid);
    }
}

static void check_user_ignored(const struct audit_ctx *c, const struct audit_rule *r,
                               struct audit_report *rep)
{
    if (c->h->euid != 0 && c->h->self[0] != '\0' && strcmp(c->h->self, c->s->user) != 0) {
        audit_add(rep, r, "not started as root: the daemon runs as \"%s\" and -u/--user "
                  "\"%s\" has no effect", c->h->self, c->s->user);
    }
}

/* --- the checks: ufw -------------------------------------------------------- */

/* The first exposed (port, family) that ufw leaves open or does not filter,
 * with the reason; the verdict of the worst. */
static enum audit_ufw_verdict ufw_worst(const struct audit_ctx *c, char *why, size_t len)
{
    enum audit_ufw_verdict worst = AUDIT_UFW_V_CLOSED;
    for (int i = 0; tcp_audited(c) && i < c->h->naddrs; i++) {
        const struct audit_addr *a = &c->h->addrs[i];
        bool v6 = a->family == AF_INET6;
        char one[400];
        enum audit_ufw_verdict v;
        if (a->loopback) {
            continue;
        }
        if (v6 && !c->h->ufw_ipv6) {
            v = AUDIT_UFW_V_OPEN;
            snprintf(one, sizeof one, "ufw does not filter IPv6 (IPV6=yes is not set in "
                     "/etc/default/ufw)");
        } else {
            v = audit_ufw_verdict(c->h->ufw_status, a->port, v6, one, sizeof one);
        }
        if (v == AUDIT_UFW_V_INACTIVE) {
            snprintf(why, len, "%s", one);
            return v;
        }
        if ((v == AUDIT_UFW_V_OPEN && worst != AUDIT_UFW_V_OPEN) ||
            (v == AUDIT_UFW_V_UNKNOWN && worst == AUDIT_UFW_V_CLOSED)) {
            worst = v;
            snprintf(why, len, "%s: %s", a->text, one);
        }
    }
    return worst;
}

/* Critical for an exposed listener with nothing in front of it; a warning
 * when an allowlist (one that does not admit everyone) refuses other peers
 * at accept: one layer is missing, not the only one. */
static void check_ufw_inactive(const struct audit_ctx *c, const struct audit_rule *r,
                               struct audit_report *rep)
{
    char why[512], list[512];
    if (c->h->ufw != AUDIT_UFW_READ || exposed_list(c, list, sizeof list) == 0 ||
        ufw_worst(c, why, sizeof why) != AUDIT_UFW_V_INACTIVE) {
        return;
    }
    if (c->s->allow == NULL || allowlist_contains_everything(c->s->allow)) {
        audit_add(rep, r, "ufw is installed but inactive: no firewall rule keeps others "
                  "away from %s", list);
    } else {
        audit_add_milder(rep, r, AUDIT_WARNING, "ufw is installed but inactive: no firewall "
                         "rule keeps others away from %s; only the daemon's allowlist "
                         "refuses them, after their TCP handshake", list);
    }
}

static void check_ufw_open(const struct audit_ctx *c, const struct audit_rule *r,
                           struct audit_report *rep)
{
    char why[512];
    if (c->h->ufw == AUDIT_UFW_READ && exposed(c) &&
        ufw_worst(c, why, sizeof why) == AUDIT_UFW_V_OPEN) {
        audit_add(rep, r, "ufw lets any address reach the cache port: %s", why);
    }
}

static void check_ufw_unreadable(const struct audit_ctx *c, const struct audit_rule *r,
                                 struct audit_report *rep)
{
    char why[512];
    if (!exposed(c)) {
        return;
    }
    if (c->h->ufw == AUDIT_UFW_UNREADABLE) {
        audit_add(rep, r, "cannot read ufw state (%s): whether the firewall keeps others "
                  "away from the port is not known", c->h->ufw_why);
    } else if (c->h->ufw == AUDIT_UFW_READ &&
               ufw_worst(c, why, sizeof why) == AUDIT_UFW_V_UNKNOWN) {
        audit_add(rep, r, "cannot read ufw state (%s)", why);
    }
}

/* --- the table ---------------------------------------------------------------- */

/* Findings in the order they print within a severity. Ids are stable: add
 * rows, never rename. */
const struct audit_rule audit_rules[] = {
    { "socket-activated", AUDIT_INFO, check_socket_activated,
      "started by systemd with sockets passed in; listen addresses not audited",
      "audit the ListenStream= lines of hardcached.socket: keep them on loopback or "
      "add an allowlist" },
    { "listen-exposed", AUDIT_CRITICAL, check_listen_exposed,
      "listening beyond loopback with no allowlist",
      "add --allow CIDR (allow = in the config file) for the clients' networks, "
      "or listen on 127.0.0.1" },
    { "listen-plaintext", AUDIT_WARNING, check_listen_plaintext,
      "listening beyond loopback without TLS (no -Z, or a notls: address)",
      "serve TLS: -Z with -o ssl_chain_cert=FILE,ssl_key=FILE (enable-ssl = yes, "
      "ssl_chain_cert = ..., ssl_key = ... in the config file), without notls: on "
      "addresses beyond loopback; or listen on loopback only" },
    { "listen-unresolvable", AUDIT_WARNING, check_listen_unresolvable,
      "a listen host name does not resolve",
      "use a numeric address, or fix the name" },
    { "listen-ignored", AUDIT_INFO, check_listen_ignored,
      "-l is given with -s, which serves the unix socket only",
      "remove listen, or unix-socket if TCP was meant" },
    { "allowlist-admits-all", AUDIT_CRITICAL, check_allow_all,
      "the allowlist contains 0.0.0.0/0 or ::/0 (or covers everything)",
      "list only the clients' networks, e.g. --allow 10.0.0.0/8" },
    { "allowlist-wider-than-listen", AUDIT_INFO, check_allow_wider,
      "the allowlist admits networks that cannot reach a loopback-only listener",
      "remove those networks, or listen on the address they connect to" },
    { "allowlist-unused", AUDIT_INFO, check_allow_unused,
      "an allowlist with a unix socket, where it does not apply",
      "remove allow/allow-file; control access with -a/--unix-mask" },
    { "seccomp-off", AUDIT_CRITICAL, check_seccomp_off,
      "the system call filter is off",
      "remove --seccomp=off (the default is on)" },
    { "seccomp-log", AUDIT_WARNING, check_seccomp_log,
      "the system call filter only logs",
      "remove --seccomp=log once the policy is built (the default is on)" },
    { "shutdown-enabled", AUDIT_WARNING, check_shutdown,
      "the shutdown command is enabled (-A)",
      "remove -A/enable-shutdown; stop the service with systemctl or a signal" },
    { "coredumps-enabled", AUDIT_WARNING, check_coredumps,
      "core files are enabled (-r)",
      "remove -r/enable-coredumps outside of debugging" },
    { "keys-logged", AUDIT_WARNING, check_keys_logged,
      "client commands are logged (-vv)",
      "use -v (timeouts only) outside of debugging" },
    { "read-timeout-off", AUDIT_WARNING, check_read_timeout,
      "no read timeout for partial requests",
      "set --read-timeout to a few seconds (default 30)" },
    { "per-ip-unlimited", AUDIT_WARNING, check_per_ip,
      "no per-address connection cap and no idle timeout while listening beyond "
      "loopback (info when -o idle_timeout is set)",
      "set --max-conns-per-ip to what one client host needs (an IPv6 client counts "
      "with its --per-ip-v6-prefix network), and/or -o idle_timeout=SECONDS "
      "(idle_timeout = in the config file) to close idle connections" },
    { "flush-all-exposed", AUDIT_INFO, check_flush_exposed,
      "flush_all is enabled while listening beyond loopback",
      "set -F (disable-flush-all = yes) if the clients never flush" },
    { "unix-socket-open", AUDIT_WARNING, check_unix_mask,
      "the unix socket's mask lets every local user connect",
      "use -a 0700 (the daemon's user only) or 0770 with a group of clients" },
    { "tls-no-client-auth", AUDIT_WARNING, check_tls_no_client_auth,
      "TLS without client certificates (ssl_verify_mode 0 or 1) and without -Y (info "
      "when listening on loopback only)",
      "require client certificates (-o ssl_verify_mode=2,ssl_ca_cert=FILE, and "
      "--tls-client-identity to name them) or logins (-Y FILE)" },
    { "tls-old-protocol", AUDIT_WARNING, check_tls_old_protocol,
      "TLS 1.0 or 1.1 accepted (ssl_min_version below 2)",
      "remove ssl_min_version (the default, 2, is TLS 1.2) or set 3 for TLS 1.3 only" },
    { "ssl-without-tls", AUDIT_INFO, check_ssl_without_tls,
      "ssl_* settings given without -Z, which ignores them",
      "add -Z (enable-ssl = yes) to serve TLS, or remove the ssl_* settings" },
    { "memcached-option-ignored", AUDIT_INFO, check_memcached_ignored,
      "one of memcached's options that has no effect here was given (one finding "
      "for each; the start prints the same line)",
      "nothing to fix: remove it to quiet the start-up line, or keep it in a "
      "configuration shared with memcached" },
    { "tls-client-identity", AUDIT_INFO, check_tls_identity,
      "--tls-client-identity names the client certificates that are served",
      "nothing to fix: check that the list names exactly the clients' identities" },
    { "file-others-writable", AUDIT_CRITICAL, check_files_others,
      "a file the configuration names (config, allowlist, TLS, -Y), or its directory, "
      "is writable by every user",
      "chmod o-w the file and its directory (config files: root-owned, 0644)" },
    { "file-group-writable", AUDIT_WARNING, check_files_group,
      "a file the configuration names (config, allowlist, TLS, -Y), or its directory, "
      "is writable by its group",
      "chmod g-w the file and its directory" },
    { "file-foreign-owner", AUDIT_CRITICAL, check_files_owner,
      "a file the configuration names (config, allowlist, TLS, -Y), or its directory, "
      "belongs to another user",
      "chown root the file and its directory (a TLS key or -Y file may belong to the "
      "user the daemon runs as)" },
    { "secret-others-readable", AUDIT_CRITICAL, check_secret_others,
      "the TLS private key or the -Y file is readable by every user",
      "chmod 0600 the file (0400 is fine too), owned by root or the daemon's user" },
    { "secret-group-readable", AUDIT_WARNING, check_secret_group,
      "the TLS private key or the -Y file is readable by its group",
      "chmod g-r the file (0600 or 0400), owned by root or the daemon's user" },
    { "file-unreadable", AUDIT_CRITICAL, check_files_unreadable,
      "a TLS or -Y file does not exist or cannot be read",
      "fix the path, or the file's owner and mode so the user starting the daemon can "
      "read it" },
    { "memory-exceeds-ram", AUDIT_CRITICAL, check_memory_over,
      "-m is larger than physical memory",
      "lower -m/memory-limit below the host's memory, leaving room for the system" },
    { "memory-near-ram", AUDIT_WARNING, check_memory_near,
      "-m is more than 80% of physical memory",
      "lower -m/memory-limit, or give the host more memory" },
    { "conn-mem-over-ram", AUDIT_WARNING, check_conn_mem_over,
      "-m plus the connection-buffer budget is more than physical memory",
      "lower --conn-mem-limit (read_buf_mem_limit), -c or -m" },
    { "conn-mem-raised", AUDIT_INFO, check_conn_mem_raised,
      "--conn-mem-limit is below 2 x -I + 2 MiB and is raised to that",
      "set --conn-mem-limit to at least twice -I (in MB) plus 2 to make it explicit" },
    { "conn-limit-above-nofile", AUDIT_WARNING, check_nofile,
      "-c is above what the open-files hard limit allows",
      "raise the limit (LimitNOFILE= in the unit, ulimit -Hn) or lower -c/conn-limit" },
    { "user-missing", AUDIT_CRITICAL, check_user_missing,
      "the run-as user does not exist",
      "create it (adduser --system --group --no-create-home memcache) or name an "
      "existing user with -u" },
    { "user-root", AUDIT_CRITICAL, check_user_root,
      "the run-as user has uid 0 or gid 0",
      "name an unprivileged user with -u (default: memcache)" },
    { "user-ignored", AUDIT_INFO, check_user_ignored,
      "not started as root, so -u has no effect",
      "start as root to switch to -u, or drop -u" },
    { "ufw-inactive", AUDIT_CRITICAL, check_ufw_inactive,
      "listening beyond loopback and ufw is installed but inactive (a warning when "
      "an allowlist refuses other peers)",
      "deploy/ufw-setup.sh --allow-from CIDR (closes the port to other sources and "
      "enables ufw, keeping SSH open)" },
    { "ufw-open", AUDIT_CRITICAL, check_ufw_open,
      "listening beyond loopback and ufw lets any address reach the port",
      "deploy/ufw-setup.sh --allow-from CIDR, or replace the rule with allows for "
      "the clients' networks before a deny" },
    { "ufw-unreadable", AUDIT_INFO, check_ufw_unreadable,
      "listening beyond loopback and ufw's state cannot be read",
      "run hardcached --check-config as root, or check `ufw status verbose` by hand" },
};

const size_t audit_rule_count = sizeof audit_rules / sizeof audit_rules[0];

/* --- findings -------------------------------------------------------------- */

const char *audit_severity_name(enum audit_severity sev)
{
    static const char *const names[] = {
        [AUDIT_INFO] = "info", [AUDIT_WARNING] = "warning", [AUDIT_CRITICAL] = "critical",
    };
    return names[sev];
}

/* SECURITY: a message may quote operator input (paths, user names) and
 * ufw's output: only printable ASCII reaches the terminal or the JSON. */
__attribute__((format(printf, 4, 0)))
static void add_finding(struct audit_report *rep, const struct audit_rule *rule,
                        enum audit_severity sev, const char *fmt, va_list ap)
{
    if (rep->n >= AUDIT_MAX_FINDINGS) {
        return;
    }
    struct audit_finding *f = &rep->items[rep->n++];
    f->rule = rule;
    f->severity = sev < rule->severity ? sev : rule->severity;
    vsnprintf(f->what, sizeof f->what, fmt, ap);
    for (char *p = f->what; *p != '\0'; p++) {
        if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f) {
            *p = '?';
        }
    }
}

void audit_add(struct audit_report *rep, const struct audit_rule *rule, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    add_finding(rep, rule, rule->severity, fmt, ap);
    va_end(ap);
}

void audit_add_milder(struct audit_report *rep, const struct audit_rule *rule,
                      enum audit_severity sev, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    add_finding(rep, rule, sev, fmt, ap);
    va_end(ap);
}

void audit_evaluate(const struct settings *s, const struct audit_host *h,
                    struct audit_report *rep)
{
    const struct audit_ctx c = { .s = s, .h = h };
    rep->n = 0;
    for (size_t i = 0; i < audit_rule_count; i++) {
        audit_rules[i].check(&c, &audit_rules[i], rep);
    }
}

static void count_findings(const struct audit_report *rep, size_t count[3])
{
    count[AUDIT_INFO] = count[AUDIT_WARNING] = count[AUDIT_CRITICAL] = 0;
    for (size_t i = 0; i < rep->n; i++) {
        count[rep->items[i].severity]++;
    }
}

int audit_exit_status(const struct settings *s, const struct audit_report *rep)
{
    size_t count[3];
    count_findings(rep, count);
    if (count[AUDIT_CRITICAL] > 0) {
        return AUDIT_EXIT_CRITICAL;
    }
    if (count[AUDIT_WARNING] > 0 && s->audit_fail_on == AUDIT_FAIL_ON_WARNING) {
        return AUDIT_EXIT_WARNING;
    }
    return AUDIT_EXIT_OK;
}

/* --- text ------------------------------------------------------------------ */

static void print_text(const struct settings *s, const struct audit_report *rep, FILE *out)
{
    size_t count[3];
    count_findings(rep, count);
    for (int sev = AUDIT_CRITICAL; sev >= AUDIT_INFO; sev--) {
        for (size_t i = 0; i < rep->n; i++) {
            const struct audit_finding *f = &rep->items[i];
            if ((int)f->severity == sev) {
                fprintf(out, "%s %s: %s; fix: %s\n", audit_severity_name(f->severity),
                        f->rule->id, f->what, f->rule->fix);
            }
        }
    }
    int status = audit_exit_status(s, rep);
    const char *verdict = status == AUDIT_EXIT_CRITICAL ? "has critical findings"
                        : status == AUDIT_EXIT_WARNING ? "has warnings"
                        : count[AUDIT_WARNING] > 0 ? "OK, with warnings (--fail-on=critical)"
                        : "OK";
    if (rep->n == 0) {
        fprintf(out, "hardcached: configuration OK (0 findings)\n");
    } else {
        fprintf(out, "hardcached: configuration %s (%zu finding%s: %zu critical, %zu "
                "warning, %zu info)\n", verdict, rep->n, rep->n == 1 ? "" : "s",
                count[AUDIT_CRITICAL], count[AUDIT_WARNING], count[AUDIT_INFO]);
    }
}

/* --- JSON --------------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at p (1-4), or 0. */
static size_t utf8_len(const unsigned char *p)
{
    unsigned c = p[0];
    size_t n = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
    if (c >= 0xf8) {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            return 0;
        }
    }
    if ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] >= 0xa0) ||   /* overlong, surrogate */
        (c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] >= 0x90)) {    /* overlong, > U+10FFFF */
        return 0;
    }
    return n;
}

void audit_json_string(FILE *out, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    fputc('"', out);
    while (*p != '\0') {
        size_t n = 1;
        if (*p == '"' || *p == '\\') {
            fprintf(out, "\\%c", *p);
        } else if (*p == '\n') {
            fputs("\\n", out);
        } else if (*p == '\t') {
            fputs("\\t", out);
        } else if (*p < 0x20 || *p == 0x7f) {
            fprintf(out, "\\u%04x", *p);
        } else if (*p < 0x80) {
            fputc(*p, out);
        } else if ((n = utf8_len(p)) > 0) {
            fwrite(p, 1, n, out);
        } else {
            fputs("\\ufffd", out);
            n = 1;
        }
        p += n;
    }
    fputc('"', out);
}

static void json_head(const struct settings *s, bool valid, FILE *out)
{
    fprintf(out, "{\n  \"program\": \"hardcached\",\n  \"version\": \"%s\",\n"
            "  \"config_file\": ", HARDCACHED_VERSION);
    if (s->config_file[0] != '\0') {
        audit_json_string(out, s->config_file);
    } else {
        fputs("null", out);
    }
    fprintf(out, ",\n  \"valid\": %s,\n", valid ? "true" : "false");
}

static void json_summary(const struct settings *s, const size_t count[3], int status,
                         const char *result, FILE *out)
{
    fprintf(out, "  \"summary\": {\"critical\": %zu, \"warning\": %zu, \"info\": %zu, "
            "\"fail_on\": \"%s\", \"exit_status\": %d, \"result\": \"%s\"}\n}\n",
            count[AUDIT_CRITICAL], count[AUDIT_WARNING], count[AUDIT_INFO],
            s->audit_fail_on == AUDIT_FAIL_ON_CRITICAL ? "critical" : "warning",
            status, result);
}

static void print_json(const struct settings *s, const struct audit_report *rep, FILE *out)
{
    static const char *const results[] = {
        [AUDIT_EXIT_OK] = "ok", [AUDIT_EXIT_WARNING] = "warning",
        [AUDIT_EXIT_CRITICAL] = "critical",
    };
    size_t count[3], printed = 0;
    int status = audit_exit_status(s, rep);
    count_findings(rep, count);
    json_head(s, true, out);
    fputs("  \"findings\": [", out);
    for (int sev = AUDIT_CRITICAL; sev >= AUDIT_INFO; sev--) {
        for (size_t i = 0; i < rep->n; i++) {
            const struct audit_finding *f = &rep->items[i];
            if ((int)f->severity != sev) {
                continue;
            }
            fprintf(out, "%s\n    {\"severity\": \"%s\", \"id\": ", printed++ ? "," : "",
                    audit_severity_name(f->severity));
            audit_json_string(out, f->rule->id);
            fputs(", \"message\": ", out);
            audit_json_string(out, f->what);
            fputs(", \"fix\": ", out);
            audit_json_string(out, f->rule->fix);
            fputc('}', out);
        }
    }
    fputs(printed ? "\n  ],\n" : "],\n", out);
    json_summary(s, count, status, results[status], out);
}

int audit_print(const struct settings *s, const struct audit_report *rep, FILE *out)
{
    if (s->audit_format == AUDIT_FORMAT_JSON) {
        print_json(s, rep, out);
    } else {
        print_text(s, rep, out);
    }
    fflush(out);
    return audit_exit_status(s, rep);
}

int audit_report_invalid(const struct settings *s, const char *err, FILE *out, FILE *errout)
{
    static const size_t none[3] = { 0, 0, 0 };
    fprintf(errout, "%s\n", err);
    if (s->audit_format == AUDIT_FORMAT_JSON) {
        json_head(s, false, out);
        fputs("  \"error\": ", out);
        audit_json_string(out, err);
        fputs(",\n  \"findings\": [],\n", out);
        json_summary(s, none, AUDIT_EXIT_CRITICAL, "invalid", out);
    }
    fflush(out);
    return AUDIT_EXIT_CRITICAL;
}

bool audit_host_valid(const struct audit_host *h, char *err, size_t errlen)
{
    char label[64];
    const char *path = "?";
    const char *option = "auth-file";
    if (!h->auth_invalid) {
        return true;
    }
    for (int i = 0; i < h->nfiles; i++) {
        if (is_password_file(&h->files[i])) {
            path = h->files[i].path;        /* the printable copy */
            if (strcmp(h->files[i].role, AUDIT_ROLE_SASL_FILE) == 0) {
                option = "sasl-pwdb";
            }
        }
    }
    options_label(options_find(option), label, sizeof label);
    snprintf(err, errlen, "hardcached: %s: %s: %s", label, path, h->auth_err);
    return false;
}

int audit_run(const struct settings *s, FILE *out)
{
    struct audit_host *h = calloc(1, sizeof *h);
    struct audit_report *rep = calloc(1, sizeof *rep);
    int status = AUDIT_EXIT_CRITICAL;
    if (h == NULL || rep == NULL) {
        fprintf(stderr, "hardcached: --check-config: out of memory\n");
    } else {
        char err[SETTINGS_PATH_MAX + 512];
        audit_host_probe(s, h);
        if (!audit_host_valid(h, err, sizeof err)) {
            status = audit_report_invalid(s, err, out, stderr);
        } else {
            audit_evaluate(s, h, rep);
            status = audit_print(s, rep, out);
        }
    }
    free(h);
    free(rep);
    return status;
}
