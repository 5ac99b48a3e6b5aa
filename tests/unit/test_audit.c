/* test_audit.c: --check-config's findings (src/conf/audit.c), its reading
 * of ufw (audit_ufw.c) and its report. The checks are pure functions of
 * (settings, host facts), so each finding is triggered here on a made-up
 * host; a table of cases must name every row of audit_rules[], so a new
 * finding without a test fails. The host probe runs for real on this host
 * and on files made here (TLS files, -Y files). */
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf/audit.h"
#include "conf/options.h"
#include "sec/allowlist.h"

static struct settings s;
static struct audit_host h;
static struct audit_report rep;
static char out[65536];
static char err[1024];

/* A host where the defaults are clean: root, user memcache (uid 103),
 * 16 GiB, a high descriptor limit, listening on the loopback defaults. */
static void clean_host(struct audit_host *ho)
{
    memset(ho, 0, sizeof *ho);
    ho->euid = 0;
    snprintf(ho->self, sizeof ho->self, "root");
    ho->user_known = true;
    ho->user_uid = 103;
    ho->user_gid = 106;
    ho->phys_bytes = 16ull << 30;
    ho->nofile_max = 1 << 20;
    ho->naddrs = 2;
    ho->addrs[0] = (struct audit_addr){ "127.0.0.1:11211", AF_INET, 11211, true, false };
    ho->addrs[1] = (struct audit_addr){ "[::1]:11211", AF_INET6, 11211, true, false };
    ho->ufw_ipv6 = true;
}

static void setup(void)
{
    allowlist_destroy(&s.allow);        /* tests call setup() again midway */
    settings_defaults(&s);
    clean_host(&h);
    memset(&rep, 0, sizeof rep);
}

static void teardown(void)
{
    allowlist_destroy(&s.allow);
}

static void set_allow(const char *list)
{
    allowlist_destroy(&s.allow);
    s.allow = allowlist_create();
    ck_assert_ptr_nonnull(s.allow);
    ck_assert_msg(allowlist_add_list(s.allow, list, err, sizeof err), "%s", err);
    allowlist_seal(s.allow);
}

static void expose(void)
{
    h.naddrs = 1;
    h.addrs[0] = (struct audit_addr){ "0.0.0.0:11211", AF_INET, 11211, false, false };
}

static struct audit_file *add_file(const char *role, const char *path, uid_t uid,
                                   mode_t mode, uid_t dir_uid, mode_t dir_mode)
{
    struct audit_file *f = &h.files[h.nfiles++];
    memset(f, 0, sizeof *f);
    f->role = role;
    snprintf(f->path, sizeof f->path, "%s", path);
    snprintf(f->dir, sizeof f->dir, "/etc/hardcached");
    f->known = f->dir_known = true;
    f->uid = uid;
    f->mode = S_IFREG | mode;
    f->dir_uid = dir_uid;
    f->dir_mode = S_IFDIR | dir_mode;
    return f;
}

/* A TLS or -Y file the start reads, as the probe records it. */
static struct audit_file *add_start_file(const char *role, const char *path, uid_t uid,
                                         mode_t mode, bool secret)
{
    struct audit_file *f = add_file(role, path, uid, mode, 0, 0755);
    f->secret = secret;
    f->read_at_start = true;
    return f;
}

/* -Z with mutual TLS (every client shows a certificate the CA signed), its
 * files as a careful operator keeps them. */
static void tls_on(void)
{
    s.ssl_enabled = true;
    s.ssl_verify_mode = 2;
    snprintf(s.ssl_chain_cert, sizeof s.ssl_chain_cert, "/etc/hardcached/cert.pem");
    snprintf(s.ssl_key, sizeof s.ssl_key, "/etc/hardcached/key.pem");
    snprintf(s.ssl_ca_cert, sizeof s.ssl_ca_cert, "/etc/hardcached/ca.pem");
    add_start_file("TLS certificate file", s.ssl_chain_cert, 0, 0644, false);
    add_start_file("TLS key file", s.ssl_key, 103, 0600, true);
    add_start_file("TLS CA file", s.ssl_ca_cert, 0, 0644, false);
}

static const struct audit_finding *find(const char *id)
{
    for (size_t i = 0; i < rep.n; i++) {
        if (strcmp(rep.items[i].rule->id, id) == 0) {
            return &rep.items[i];
        }
    }
    return NULL;
}

static size_t count(const char *id)
{
    size_t n = 0;
    for (size_t i = 0; i < rep.n; i++) {
        n += strcmp(rep.items[i].rule->id, id) == 0;
    }
    return n;
}

static int sev_of(const char *id)
{
    const struct audit_finding *f = find(id);
    return f != NULL ? (int)f->severity : -1;
}

static void evaluate(void)
{
    audit_evaluate(&s, &h, &rep);
}

/* Prints rep as s says into out; returns the exit status. */
static int print(void)
{
    FILE *f = fmemopen(out, sizeof out - 1, "w");
    memset(out, 0, sizeof out);
    int st = audit_print(&s, &rep, f);
    fclose(f);
    return st;
}

static const char *ids(void)
{
    static char buf[2048];
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < rep.n && n < sizeof buf; i++) {
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s ", rep.items[i].rule->id);
    }
    return buf;
}

#define ck_finding(id) ck_assert_msg(find(id) != NULL, "no %s in: %s", (id), ids())
#define ck_no_finding(id) ck_assert_msg(find(id) == NULL, "unexpected %s: %s", (id), \
                                        find(id)->what)

/* ------------------------------------------------------------- the table */

START_TEST(test_rule_table)
{
    ck_assert_uint_ge(audit_rule_count, 20);
    for (size_t i = 0; i < audit_rule_count; i++) {
        const struct audit_rule *r = &audit_rules[i];
        ck_assert_msg(r->id && r->check && r->title && r->fix && r->title[0] && r->fix[0],
                      "row %zu", i);
        ck_assert_msg(strspn(r->id, "abcdefghijklmnopqrstuvwxyz0123456789-") == strlen(r->id),
                      "%s: ids are lowercase words joined by -", r->id);
        ck_assert(r->severity == AUDIT_INFO || r->severity == AUDIT_WARNING ||
                  r->severity == AUDIT_CRITICAL);
        ck_assert_msg(strchr(r->fix, '\n') == NULL && strchr(r->title, '\n') == NULL, "%s", r->id);
        for (size_t j = 0; j < i; j++) {
            ck_assert_msg(strcmp(audit_rules[j].id, r->id) != 0, "duplicate %s", r->id);
        }
    }
    ck_assert_str_eq(audit_severity_name(AUDIT_CRITICAL), "critical");
    ck_assert_str_eq(audit_severity_name(AUDIT_WARNING), "warning");
    ck_assert_str_eq(audit_severity_name(AUDIT_INFO), "info");
}
END_TEST

START_TEST(test_defaults_are_clean)
{
    evaluate();
    ck_assert_msg(rep.n == 0, "defaults: %s", ids());
    ck_assert_int_eq(print(), AUDIT_EXIT_OK);
    ck_assert_str_eq(out, "hardcached: configuration OK (0 findings)\n");
    s.audit_format = AUDIT_FORMAT_JSON;
    ck_assert_int_eq(print(), AUDIT_EXIT_OK);
    ck_assert(strstr(out, "\"findings\": [],") != NULL);
    ck_assert(strstr(out, "\"valid\": true") != NULL);
    ck_assert(strstr(out, "\"config_file\": null") != NULL);
    ck_assert(strstr(out, "\"summary\": {\"critical\": 0, \"warning\": 0, \"info\": 0, "
                     "\"fail_on\": \"warning\", \"exit_status\": 0, \"result\": \"ok\"}") != NULL);
    /* and as a non-root user running as itself */
    h.euid = 103;
    snprintf(h.self, sizeof h.self, "memcache");
    evaluate();
    ck_assert_msg(rep.n == 0, "defaults as memcache: %s", ids());
}
END_TEST

/* ------------------------------------------------- every finding, triggered */

static void m_socket_activated(void) { h.socket_activated = true; h.naddrs = 0; }
static void m_listen_exposed(void) { expose(); }
static void m_unresolvable(void) { snprintf(h.unresolved, sizeof h.unresolved, "no.invalid"); }
static void m_listen_ignored(void)
{
    snprintf(s.unix_socket, sizeof s.unix_socket, "/run/hc.sock");
    s.nlisten = 1;
    h.naddrs = 0;
}
static void m_allow_all(void) { set_allow("0.0.0.0/0"); }
static void m_allow_all_v6(void) { set_allow("10.0.0.0/8,::/0"); }
static void m_allow_wider(void) { set_allow("127.0.0.1,10.0.0.0/8"); }
static void m_allow_unused(void)
{
    snprintf(s.unix_socket, sizeof s.unix_socket, "/run/hc.sock");
    h.naddrs = 0;
    set_allow("10.0.0.0/8");
}
static void m_seccomp_off(void) { s.seccomp_mode = SECCOMP_MODE_OFF; }
static void m_seccomp_log(void) { s.seccomp_mode = SECCOMP_MODE_LOG; }
static void m_shutdown(void) { s.shutdown_enabled = true; }
static void m_coredumps(void) { s.enable_coredumps = true; }
static void m_keys_logged(void) { s.verbose = 2; }
static void m_read_timeout(void) { s.read_timeout = 0; }
static void m_per_ip(void) { expose(); set_allow("10.0.0.0/8"); tls_on(); }
static void m_per_ip_idle(void) { m_per_ip(); s.idle_timeout = 300; }
static void m_flush(void) { expose(); set_allow("10.0.0.0/8"); }
static void m_unix_open(void)
{
    snprintf(s.unix_socket, sizeof s.unix_socket, "/run/hc.sock");
    s.unix_mask = 0777;
    h.naddrs = 0;
}
static void m_file_others(void) { add_file("config file", "/etc/hc.conf", 0, 0666, 0, 0755); }
static void m_dir_others(void) { add_file("config file", "/etc/hc.conf", 0, 0644, 0, 0777); }
static void m_file_group(void) { add_file("allowlist file", "/etc/a.list", 0, 0664, 0, 0755); }
static void m_file_owner(void) { add_file("config file", "/etc/hc.conf", 1000, 0644, 0, 0755); }
static void m_dir_owner(void) { add_file("config file", "/etc/hc.conf", 0, 0644, 1000, 0755); }
static void m_mem_over(void) { s.mem_limit = 32ull << 30; }
static void m_mem_near(void) { s.mem_limit = 14ull << 30; }
static void m_nofile(void) { h.nofile_max = 1024; }
static void m_user_missing(void) { h.user_known = false; }
static void m_user_root(void) { h.user_gid = 0; }
static void m_user_ignored(void) { h.euid = 1000; snprintf(h.self, sizeof h.self, "alice"); }
static void m_ufw_inactive(void)
{
    expose();
    set_allow("10.0.0.0/8");
    tls_on();
    h.ufw = AUDIT_UFW_READ;
    snprintf(h.ufw_status, sizeof h.ufw_status, "Status: inactive\n");
}
static void m_ufw_inactive_no_allow(void)
{
    m_ufw_inactive();
    allowlist_destroy(&s.allow);
}
static void m_ufw_open(void)
{
    expose();
    set_allow("10.0.0.0/8");
    h.ufw = AUDIT_UFW_READ;
    snprintf(h.ufw_status, sizeof h.ufw_status,
             "Status: active\nDefault: deny (incoming), allow (outgoing), disabled (routed)\n\n"
             "To                         Action      From\n"
             "--                         ------      ----\n"
             "11211/tcp                  ALLOW IN    Anywhere\n");
}
static void m_ufw_unreadable(void)
{
    expose();
    set_allow("10.0.0.0/8");
    h.ufw = AUDIT_UFW_UNREADABLE;
    snprintf(h.ufw_why, sizeof h.ufw_why, "not running as root");
}

static void m_conn_mem_over(void)
{
    s.mem_limit = 12ull << 30;              /* 75 %: not memory-near-ram */
    s.conn_mem_limit = 4096ull << 20;
}
static void m_conn_mem_raised(void)
{
    s.mem_limit = 256ull << 20;
    s.item_size_max = 64ull << 20;
}

static void m_plaintext(void) { expose(); set_allow("10.0.0.0/8"); }
static void m_plaintext_auth(void)
{
    m_plaintext();
    snprintf(s.auth_file, sizeof s.auth_file, "/etc/hardcached/auth");
}
static void m_plaintext_notls(void)
{
    m_plaintext();
    tls_on();
    h.addrs[0].notls = true;
    h.addrs[1] = (struct audit_addr){ "[::]:11212", AF_INET6, 11212, false, false };
    h.addrs[2] = (struct audit_addr){ "127.0.0.1:11213", AF_INET, 11213, true, true };
    h.naddrs = 3;
}
static void m_tls_open(void) { m_plaintext(); tls_on(); s.ssl_verify_mode = 0; }
static void m_tls_request(void) { m_plaintext(); tls_on(); s.ssl_verify_mode = 1; }
static void m_tls_open_loopback(void) { tls_on(); s.ssl_verify_mode = 0; }
static void m_tls_old(void) { tls_on(); s.ssl_min_version = 0; }
static void m_tls_old_1_1(void) { tls_on(); s.ssl_min_version = 1; }
static void m_ssl_ignored(void)
{
    snprintf(s.ssl_chain_cert, sizeof s.ssl_chain_cert, "/etc/hardcached/cert.pem");
    s.ssl_verify_mode = 2;
}
static void m_ssl_ignored_one(void) { snprintf(s.ssl_ciphers, sizeof s.ssl_ciphers, "HIGH"); }
static void m_memcached_ignored(void)
{
    ck_assert(options_apply(&s, options_find("enable-largepages"), NULL, err, sizeof err));
    ck_assert(options_apply(&s, options_find("slab_automove"), "2", err, sizeof err));
}
static void m_memcached_ignored_value(void)
{
    ck_assert(options_apply(&s, options_find("slab_automove"), "2", err, sizeof err));
}
static void m_tls_identity(void)
{
    tls_on();
    snprintf(s.tls_client_identity, sizeof s.tls_client_identity,
             "dns:app.example, uri:spiffe://example.org/app,cn:client1");
}
static void m_key_others(void) { tls_on(); h.files[1].mode = S_IFREG | 0644; }
static void m_key_in_chain_others(void)
{
    add_start_file("TLS certificate and key file", "/etc/hc/both.pem", 0, 0604, true);
}
static void m_auth_others(void) { add_start_file("-Y file", "/etc/hc/auth", 0, 0604, true); }
static void m_key_group(void) { tls_on(); h.files[1].mode = S_IFREG | 0640; }
static void m_auth_group(void) { add_start_file("-Y file", "/etc/hc/auth", 103, 0440, true); }
static void m_key_writable(void) { tls_on(); h.files[1].mode = S_IFREG | 0620; }
static void m_ca_writable(void) { tls_on(); h.files[2].mode = S_IFREG | 0646; }
static void m_auth_owner(void) { add_start_file("-Y file", "/etc/hc/auth", 1000, 0600, true); }
static void m_missing(void)
{
    tls_on();
    h.files[2].known = false;
    h.files[2].read_errno = ENOENT;
}
static void m_unreadable(void) { tls_on(); h.files[1].read_errno = EACCES; }
static void m_not_regular(void)
{
    add_start_file("-Y file", "/etc/hc", 0, 0755, true)->not_regular = true;
    h.files[0].mode = S_IFDIR | 0700;
}

static const struct {
    const char *id;
    void (*mutate)(void);
    const char *needle;           /* in the message */
} cases[] = {
    { "socket-activated", m_socket_activated, "LISTEN_FDS" },
    { "listen-exposed", m_listen_exposed, "listening on 0.0.0.0:11211 with no allowlist: "
      "anyone who can reach this host can read and write the cache" },
    { "listen-plaintext", m_plaintext, "listening on 0.0.0.0:11211 without TLS (-Z): keys "
      "and values cross the network in clear text, for anyone on the path to read or "
      "change" },
    { "listen-plaintext", m_plaintext_auth, "keys, values and -Y passwords cross the network" },
    { "listen-plaintext", m_plaintext_notls, "listening on 0.0.0.0:11211 as notls: although "
      "-Z is on: keys and values cross the network in clear text" },
    { "listen-unresolvable", m_unresolvable, "\"no.invalid\" does not resolve" },
    { "listen-ignored", m_listen_ignored, "-l/--listen addresses are not used" },
    { "allowlist-admits-all", m_allow_all, "admits every address" },
    { "allowlist-admits-all", m_allow_all_v6, "admits every address" },
    { "allowlist-wider-than-listen", m_allow_wider, "the allowlist admits 10.0.0.0/8" },
    { "allowlist-unused", m_allow_unused, "does not apply to unix socket clients" },
    { "seccomp-off", m_seccomp_off, "--seccomp=off" },
    { "seccomp-log", m_seccomp_log, "--seccomp=log" },
    { "shutdown-enabled", m_shutdown, "-A/--enable-shutdown" },
    { "coredumps-enabled", m_coredumps, "core file" },
    { "keys-logged", m_keys_logged, "keys included" },
    { "read-timeout-off", m_read_timeout, "--read-timeout 0" },
    { "per-ip-unlimited", m_per_ip, "no per-address connection cap (--max-conns-per-ip 0) and "
      "no idle timeout (-o idle_timeout=0) while listening beyond loopback: one client can "
      "hold all 1024 connections of -c with idle sockets" },
    { "per-ip-unlimited", m_per_ip_idle, "one client can take all 1024 connections of -c, "
      "until idle_timeout closes those idle for 300 s" },
    { "flush-all-exposed", m_flush, "flush_all is enabled" },
    { "unix-socket-open", m_unix_open, "unix socket /run/hc.sock with mask 0777" },
    { "tls-no-client-auth", m_tls_open, "-Z with ssl_verify_mode=0 (no client certificate is "
      "asked for) and no -Y: TLS hides the traffic, but anyone who reaches the port may "
      "use the cache" },
    { "tls-no-client-auth", m_tls_request, "ssl_verify_mode=1 (a client certificate is "
      "checked only when one is sent)" },
    { "tls-no-client-auth", m_tls_open_loopback, "may use the cache (it listens on loopback "
      "only)" },
    { "tls-old-protocol", m_tls_old, "ssl_min_version=0 accepts TLS 1.0: TLS 1.0 and 1.1 are "
      "deprecated (RFC 8996" },
    { "tls-old-protocol", m_tls_old_1_1, "ssl_min_version=1 accepts TLS 1.1" },
    { "ssl-without-tls", m_ssl_ignored, "ssl_chain_cert, ssl_verify_mode are set but -Z is "
      "not: TLS is off and they are ignored (as in memcached)" },
    { "ssl-without-tls", m_ssl_ignored_one, "ssl_ciphers is set but -Z is not: TLS is off "
      "and it is ignored" },
    { "memcached-option-ignored", m_memcached_ignored, "-L/--enable-largepages: ignored: "
      "memcached preallocates item memory in large pages" },
    { "memcached-option-ignored", m_memcached_ignored_value, "-o/--extended: slab_automove=2: "
      "ignored: pages move between memory classes on demand" },
    { "tls-client-identity", m_tls_identity, "only TLS clients whose verified certificate "
      "carries one of 3 identities are served (dns:app.example, uri:spiffe://example.org/app, "
      "cn:client1); others are closed after the handshake" },
    { "secret-others-readable", m_key_others, "TLS key file /etc/hardcached/key.pem is "
      "readable by every user (mode 0644): anyone on the host can read the server's private "
      "key, and with it the server's identity" },
    { "secret-others-readable", m_key_in_chain_others, "TLS certificate and key file "
      "/etc/hc/both.pem is readable by every user (mode 0604)" },
    { "secret-others-readable", m_auth_others, "-Y file /etc/hc/auth is readable by every "
      "user (mode 0604): anyone on the host can read every password in it" },
    { "secret-group-readable", m_key_group, "TLS key file /etc/hardcached/key.pem is readable "
      "by its group (mode 0640): every member can read the server's private key" },
    { "secret-group-readable", m_auth_group, "-Y file /etc/hc/auth is readable by its group "
      "(mode 0440): every member can read every password in it" },
    { "file-group-writable", m_key_writable, "TLS key file /etc/hardcached/key.pem is "
      "writable by its group (mode 0620)" },
    { "file-others-writable", m_ca_writable, "TLS CA file /etc/hardcached/ca.pem is writable "
      "by every user (mode 0646)" },
    { "file-foreign-owner", m_auth_owner, "-Y file /etc/hc/auth is owned by uid 1000" },
    { "file-unreadable", m_missing, "TLS CA file /etc/hardcached/ca.pem does not exist: the "
      "start will fail" },
    { "file-unreadable", m_unreadable, "TLS key file /etc/hardcached/key.pem cannot be read by "
      "uid 0 (Permission denied): the start will fail" },
    { "file-unreadable", m_not_regular, "-Y file /etc/hc is not a regular file: the start "
      "will fail" },
    { "file-others-writable", m_file_others, "config file /etc/hc.conf is writable by every "
      "user (mode 0666)" },
    { "file-others-writable", m_dir_others, "directory /etc/hardcached (holding config file "
      "/etc/hc.conf) is writable by every user (mode 0777)" },
    { "file-group-writable", m_file_group, "allowlist file /etc/a.list is writable by its "
      "group (mode 0664)" },
    { "file-foreign-owner", m_file_owner, "config file /etc/hc.conf is owned by uid 1000" },
    { "file-foreign-owner", m_dir_owner, "directory /etc/hardcached (holding" },
    { "memory-exceeds-ram", m_mem_over, "-m 32768 (32.0 GiB) is more than the host's 16.0 GiB" },
    { "memory-near-ram", m_mem_near, "more than 80% of the host's 16.0 GiB" },
    { "conn-mem-over-ram", m_conn_mem_over, "plus connection buffers (--conn-mem-limit 4096 "
      "MiB and 64 MiB for -c 1024 connections' own allowance) is more than the host's 16.0 GiB" },
    { "conn-mem-raised", m_conn_mem_raised, "--conn-mem-limit 64 MiB is less than 2 x -I "
      "(65536 KiB) + 2 MiB: the daemon uses 130 MiB" },
    { "conn-limit-above-nofile", m_nofile, "-c 1024 needs 1088 open files" },
    { "user-missing", m_user_missing, "run-as user \"memcache\" does not exist" },
    { "user-root", m_user_root, "has uid 103 and gid 0" },
    { "user-ignored", m_user_ignored, "runs as \"alice\" and -u/--user \"memcache\" has no "
      "effect" },
    { "ufw-inactive", m_ufw_inactive, "ufw is installed but inactive: no firewall rule keeps "
      "others away from 0.0.0.0:11211; only the daemon's allowlist refuses them" },
    { "ufw-inactive", m_ufw_inactive_no_allow, "ufw is installed but inactive: no firewall "
      "rule keeps others away from 0.0.0.0:11211" },
    { "ufw-open", m_ufw_open, "the rule \"11211/tcp                  ALLOW IN    Anywhere\" "
      "allows port 11211/tcp from anywhere" },
    { "ufw-unreadable", m_ufw_unreadable, "cannot read ufw state (not running as root)" },
};

START_TEST(test_each_finding)
{
    size_t i = (size_t)_i;
    cases[i].mutate();
    evaluate();
    const struct audit_finding *f = find(cases[i].id);
    ck_assert_msg(f != NULL, "case %zu: no %s in: %s", i, cases[i].id, ids());
    ck_assert_msg(strstr(f->what, cases[i].needle) != NULL, "%s: \"%s\" not in: %s",
                  cases[i].id, cases[i].needle, f->what);
    /* in text, one line with severity, id, what and fix ... */
    char line[2048];
    snprintf(line, sizeof line, "%s %s: %s; fix: %s\n", audit_severity_name(f->severity),
             f->rule->id, f->what, f->rule->fix);
    int st = print();
    ck_assert_msg(strstr(out, line) != NULL, "%s not in:\n%s", line, out);
    ck_assert(f->severity <= f->rule->severity);
    ck_assert_int_eq(st, f->severity == AUDIT_CRITICAL ? 2
                     : f->severity == AUDIT_WARNING ? 1 : audit_exit_status(&s, &rep));
    /* ... and in JSON */
    s.audit_format = AUDIT_FORMAT_JSON;
    print();
    snprintf(line, sizeof line, "{\"severity\": \"%s\", \"id\": \"%s\", \"message\": \"",
             audit_severity_name(f->severity), f->rule->id);
    ck_assert_msg(strstr(out, line) != NULL, "%s not in:\n%s", line, out);
}
END_TEST

START_TEST(test_every_rule_has_a_case)
{
    for (size_t r = 0; r < audit_rule_count; r++) {
        bool found = false;
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            found = found || strcmp(cases[i].id, audit_rules[r].id) == 0;
        }
        ck_assert_msg(found, "finding %s has no test case", audit_rules[r].id);
    }
}
END_TEST

/* Every one of memcached's options without effect: one info finding each, in
 * the order given, and the configuration stays OK (exit 0). An ignored ssl_*
 * key is not also an ssl-without-tls finding. */
START_TEST(test_memcached_ignored_all)
{
    size_t n = 0;
    for (size_t i = 0; i < options_count; i++) {
        const struct option_row *r = &options_table[i];
        if (!(r->flags & OPT_IGNORED)) {
            continue;
        }
        char low[32];
        snprintf(low, sizeof low, "%.0f", r->min);        /* INT: its lowest value */
        const char *v = r->kind == OPT_K_FLAG ? NULL : r->kind == OPT_K_CHOICE ? r->choices[0]
                      : r->kind == OPT_K_STRING ? ":" : r->kind == OPT_K_DOUBLE ? "0.5" : low;
        ck_assert_msg(options_apply(&s, r, v, err, sizeof err), "%s: %s", r->name, err);
        n++;
    }
    evaluate();
    ck_assert_uint_eq(count("memcached-option-ignored"), n);
    ck_assert_uint_eq(rep.n, n);
    ck_assert_int_eq(sev_of("memcached-option-ignored"), AUDIT_INFO);
    ck_assert(strncmp(find("memcached-option-ignored")->what, "-L/--enable-largepages: ", 24)
              == 0);
    ck_assert_int_eq(print(), AUDIT_EXIT_OK);
    ck_assert(strstr(out, "info memcached-option-ignored: -o/--extended: ssl_kernel_tls: "
                     "ignored: TLS runs in OpenSSL in user space") != NULL);
}
END_TEST

/* ------------------------------------------------------- what does not fire */

START_TEST(test_quiet_when_safe)
{
    expose();
    set_allow("10.0.0.0/8");
    tls_on();
    s.max_conns_per_ip = 8;
    s.flush_enabled = false;
    evaluate();
    ck_assert_msg(rep.n == 0, "allowlisted, capped, -F: %s", ids());

    setup();
    set_allow("127.0.0.0/8,::1/128,::ffff:127.0.0.1/128");   /* loopback only: consistent */
    evaluate();
    ck_assert_msg(rep.n == 0, "%s", ids());

    setup();                                     /* a sticky /tmp is fine */
    add_file("config file", "/tmp/hc.conf", 0, 0644, 0, 01777);
    add_file("allowlist file", "/etc/a.list", 103, 0600, 103, 0700);  /* the run-as user's */
    evaluate();
    ck_assert_msg(rep.n == 0, "%s", ids());

    setup();                                     /* boundaries */
    s.mem_limit = (16ull << 30) / 100 * 80;
    h.nofile_max = 1024 + AUDIT_FD_RESERVE;
    evaluate();
    ck_assert_msg(rep.n == 0, "%s", ids());
    s.mem_limit = 16ull << 30;
    evaluate();
    ck_finding("memory-near-ram");
    ck_no_finding("memory-exceeds-ram");
    h.phys_bytes = 0;                            /* unknown: nothing said */
    h.nofile_max = 0;
    s.max_conns = 1 << 20;
    evaluate();
    ck_assert_msg(rep.n == 0, "%s", ids());

    setup();                                     /* not root: -u matters not, ufw unknown */
    h.euid = 103;
    h.user_known = false;
    snprintf(h.self, sizeof h.self, "memcache");
    evaluate();
    ck_assert_msg(rep.n == 0, "%s", ids());

    setup();                                     /* socket activation hides listen findings */
    m_socket_activated();
    s.max_conns_per_ip = 0;
    evaluate();
    ck_assert_uint_eq(rep.n, 1);
    ck_finding("socket-activated");

    setup();                                     /* admits-all says it, wider-than does not */
    set_allow("0.0.0.0/0,10.0.0.0/8");
    evaluate();
    ck_finding("allowlist-admits-all");
    ck_no_finding("allowlist-wider-than-listen");

    setup();                                     /* a group-writable file is not also "others" */
    add_file("config file", "/etc/hc.conf", 0, 0660, 0, 0755);
    evaluate();
    ck_assert_uint_eq(count("file-group-writable"), 1);
    ck_no_finding("file-others-writable");
    setup();
    add_file("config file", "/etc/hc.conf", 0, 0666, 0, 0775);
    evaluate();
    ck_assert_uint_eq(count("file-others-writable"), 1);   /* the file */
    ck_assert_uint_eq(count("file-group-writable"), 1);    /* its directory */
}
END_TEST

START_TEST(test_exposure_rules)
{
    expose();
    h.addrs[1] = (struct audit_addr){ "[::]:11212", AF_INET6, 11212, false, false };
    h.addrs[2] = (struct audit_addr){ "127.0.0.1:11211", AF_INET, 11211, true, false };
    h.naddrs = 3;
    evaluate();
    ck_finding("listen-exposed");
    ck_assert(strstr(find("listen-exposed")->what, "0.0.0.0:11211, [::]:11212 with") != NULL);
    ck_finding("per-ip-unlimited");
    ck_finding("flush-all-exposed");
    /* an allowlist silences listen-exposed, not the others */
    set_allow("10.0.0.0/8");
    evaluate();
    ck_no_finding("listen-exposed");
    ck_finding("per-ip-unlimited");
    /* -s: TCP is not used at all */
    setup();
    expose();
    snprintf(s.unix_socket, sizeof s.unix_socket, "/run/hc.sock");
    evaluate();
    ck_no_finding("listen-exposed");
}
END_TEST

/* ------------------------------------------------------------ TLS and -Y */

/* The cross-host deployments SECURITY.md describes: beyond loopback, an
 * allowlist, a per-address cap, -F, and TLS with client certificates or
 * with -Y logins, the key 0600. Nothing to say (ufw aside: none here). */
START_TEST(test_tls_deployments_are_clean)
{
    expose();
    set_allow("10.0.0.0/8");
    s.max_conns_per_ip = 16;
    s.flush_enabled = false;
    tls_on();                                        /* mutual TLS */
    evaluate();
    ck_assert_msg(rep.n == 0, "mutual TLS: %s", ids());
    ck_assert_int_eq(print(), AUDIT_EXIT_OK);

    s.ssl_verify_mode = 0;                           /* TLS + -Y logins */
    snprintf(s.ssl_ca_cert, sizeof s.ssl_ca_cert, "%s", "");
    h.nfiles = 2;
    snprintf(s.auth_file, sizeof s.auth_file, "/etc/hardcached/auth");
    add_start_file("-Y file", s.auth_file, 0, 0600, true);
    evaluate();
    ck_assert_msg(rep.n == 0, "TLS + -Y: %s", ids());

    s.ssl_key[0] = '\0';                             /* the key inside the chain file */
    h.files[0] = h.files[1];
    h.files[0].role = "TLS certificate and key file";
    h.files[1] = h.files[2];
    h.nfiles = 2;
    evaluate();
    ck_assert_msg(rep.n == 0, "key in the chain file: %s", ids());

    s.ssl_verify_mode = 3;                           /* identities: one info */
    snprintf(s.ssl_ca_cert, sizeof s.ssl_ca_cert, "/etc/hardcached/ca.pem");
    snprintf(s.tls_client_identity, sizeof s.tls_client_identity, "cn:app");
    evaluate();
    ck_assert_msg(rep.n == 1 && find("tls-client-identity") != NULL, "%s", ids());
    ck_assert_int_eq(print(), AUDIT_EXIT_OK);
}
END_TEST

START_TEST(test_tls_quiet_and_severities)
{
    tls_on();                                        /* loopback, mutual TLS: quiet */
    evaluate();
    ck_assert_msg(rep.n == 0, "%s", ids());
    h.addrs[0].notls = true;                         /* notls: on loopback is fine */
    evaluate();
    ck_assert_msg(rep.n == 0, "%s", ids());
    h.files[0].mode = S_IFREG | 0644;                /* a certificate may be read */
    h.files[2].mode = S_IFREG | 0444;
    evaluate();
    ck_assert_msg(rep.n == 0, "%s", ids());
    h.files[1].mode = S_IFREG | 0644;                /* the key readable by all: one finding */
    evaluate();
    ck_assert_uint_eq(count("secret-others-readable"), 1);
    ck_no_finding("secret-group-readable");

    setup();                                         /* -Y without TLS on loopback: quiet */
    snprintf(s.auth_file, sizeof s.auth_file, "/etc/hardcached/auth");
    add_start_file("-Y file", s.auth_file, 103, 0400, true);
    evaluate();
    ck_assert_msg(rep.n == 0, "%s", ids());

    setup();                                         /* verify 0 with -Y: no finding */
    tls_on();
    s.ssl_verify_mode = 0;
    snprintf(s.auth_file, sizeof s.auth_file, "/etc/hardcached/auth");
    expose();
    set_allow("10.0.0.0/8");
    evaluate();
    ck_no_finding("tls-no-client-auth");
    s.auth_file[0] = '\0';                           /* without: a warning, exposed */
    evaluate();
    ck_assert_int_eq(sev_of("tls-no-client-auth"), AUDIT_WARNING);
    setup();                                         /* socket activation: cannot tell */
    tls_on();
    s.ssl_verify_mode = 0;
    m_socket_activated();
    evaluate();
    ck_assert_int_eq(sev_of("tls-no-client-auth"), AUDIT_WARNING);
    setup();                                         /* a unix socket: local only */
    tls_on();
    s.ssl_verify_mode = 1;
    snprintf(s.unix_socket, sizeof s.unix_socket, "/run/hc.sock");
    h.naddrs = 0;
    evaluate();
    ck_assert_int_eq(sev_of("tls-no-client-auth"), AUDIT_INFO);

    setup();                                         /* without -Z: only that it is off */
    s.ssl_min_version = 0;
    s.ssl_verify_mode = 1;
    evaluate();
    ck_assert_msg(rep.n == 1 && find("ssl-without-tls") != NULL, "%s", ids());
    ck_assert(strstr(find("ssl-without-tls")->what, "ssl_verify_mode, ssl_min_version are "
                     "set") != NULL);
    ck_assert_int_eq(print(), AUDIT_EXIT_OK);
    setup();
    s.ssl_session_cache = true;
    evaluate();
    ck_finding("ssl-without-tls");
    s.ssl_enabled = true;                            /* (options_validate wants a cert) */
    evaluate();
    ck_no_finding("ssl-without-tls");
}
END_TEST

/* A -Y file auth_db_parse refuses makes the configuration invalid, as a
 * bad --allow-file does: the start would refuse it too. */
START_TEST(test_auth_file_invalid)
{
    char msg[512];
    ck_assert(audit_host_valid(&h, msg, sizeof msg));
    snprintf(s.auth_file, sizeof s.auth_file, "/etc/hc/auth");
    add_file("config file", "/etc/hc.conf", 0, 0644, 0, 0755);
    add_start_file("-Y file", "/etc/hc/auth", 0, 0600, true);
    ck_assert(audit_host_valid(&h, msg, sizeof msg));
    h.auth_invalid = true;
    snprintf(h.auth_err, sizeof h.auth_err, "line 2: expected user:password");
    ck_assert(!audit_host_valid(&h, msg, sizeof msg));
    ck_assert_str_eq(msg, "hardcached: -Y/--auth-file: /etc/hc/auth: line 2: expected "
                     "user:password");
}
END_TEST

static void write_mode(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    ck_assert_int_eq(chmod(path, mode), 0);
}

static const struct audit_file *probed(const struct audit_host *ho, const char *role)
{
    for (int i = 0; i < ho->nfiles; i++) {
        if (strcmp(ho->files[i].role, role) == 0) {
            return &ho->files[i];
        }
    }
    ck_abort_msg("no %s probed", role);
    return NULL;
}

/* The probe on real files: which it looks at, whether they open, the -Y
 * file through auth_db_parse; notls: entries marked. */
START_TEST(test_probe_tls_and_auth_files)
{
    static struct audit_host real;
    char dir[256], cert[300], key[300], auth[300], msg[1024];
    snprintf(dir, sizeof dir, "%s/hc_audit_XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(cert, sizeof cert, "%s/cert.pem", dir);
    snprintf(key, sizeof key, "%s/key.pem", dir);
    snprintf(auth, sizeof auth, "%s/auth", dir);
    write_mode(cert, "-----BEGIN CERTIFICATE-----\n", 0644);
    write_mode(key, "-----BEGIN PRIVATE KEY-----\n", 0640);
    write_mode(auth, "alice:secret\n", 0600);
    unsetenv("LISTEN_FDS");

    snprintf(s.ssl_chain_cert, sizeof s.ssl_chain_cert, "%s", cert);   /* no -Z: not read */
    snprintf(s.auth_file, sizeof s.auth_file, "%s", auth);
    audit_host_probe(&s, &real);
    ck_assert_int_eq(real.nfiles, 1);
    ck_assert(probed(&real, "-Y file")->secret);
    ck_assert(!real.auth_invalid);
    ck_assert(audit_host_valid(&real, msg, sizeof msg));

    s.ssl_enabled = true;
    snprintf(s.ssl_key, sizeof s.ssl_key, "%s", key);
    snprintf(s.ssl_ca_cert, sizeof s.ssl_ca_cert, "%s/missing-ca.pem", dir);
    ck_assert(options_apply(&s, options_find("listen"), "notls:127.0.0.2:1,127.0.0.3:2", err,
                            sizeof err));
    audit_host_probe(&s, &real);
    ck_assert_int_eq(real.nfiles, 4);
    ck_assert(!probed(&real, "TLS certificate file")->secret);
    ck_assert(probed(&real, "TLS key file")->secret);
    ck_assert_int_eq(probed(&real, "TLS key file")->read_errno, 0);
    ck_assert_int_eq(probed(&real, "TLS CA file")->read_errno, ENOENT);
    ck_assert(!probed(&real, "TLS CA file")->known);
    ck_assert(real.addrs[0].notls && !real.addrs[1].notls);
    audit_evaluate(&s, &real, &rep);
    ck_finding("secret-group-readable");
    ck_finding("file-unreadable");
    ck_assert(strstr(find("file-unreadable")->what, "missing-ca.pem does not exist") != NULL);

    s.ssl_key[0] = '\0';                             /* the key inside the chain file */
    s.ssl_ca_cert[0] = '\0';
    write_mode(auth, "alice:secret\nno colon here\n", 0600);
    audit_host_probe(&s, &real);
    ck_assert_int_eq(real.nfiles, 2);
    ck_assert(probed(&real, "TLS certificate and key file")->secret);
    ck_assert(real.auth_invalid);
    ck_assert(!audit_host_valid(&real, msg, sizeof msg));
    ck_assert_msg(strncmp(msg, "hardcached: -Y/--auth-file: ", 28) == 0, "%s", msg);
    ck_assert_msg(strstr(msg, auth) != NULL && strstr(msg, "line 2") != NULL, "%s", msg);

    snprintf(s.auth_file, sizeof s.auth_file, "%s", dir);       /* a directory */
    audit_host_probe(&s, &real);
    ck_assert(probed(&real, "-Y file")->not_regular);
    ck_assert(!real.auth_invalid);
    if (geteuid() != 0) {                                        /* root reads anything */
        ck_assert_int_eq(chmod(key, 0), 0);
        snprintf(s.auth_file, sizeof s.auth_file, "%s", key);
        audit_host_probe(&s, &real);
        ck_assert_int_eq(probed(&real, "-Y file")->read_errno, EACCES);
    }
    unlink(cert);
    unlink(key);
    unlink(auth);
    rmdir(dir);
}
END_TEST

/* allowlist-wider-than-listen names the networks as they were added (the
 * allowlist's own text and its own loopback test): every loopback form is
 * left out, duplicates stay, the fourth and later become "...". */
START_TEST(test_allow_wider_names_networks)
{
    set_allow("127.0.0.1,::1,::ffff:127.0.0.0/104,10.0.0.0/8,127.0.0.0/8,10.0.0.0/8,"
              "::ffff:10.0.0.0/104,192.168.0.0/16,2001:db8::/32");
    evaluate();
    ck_finding("allowlist-wider-than-listen");
    ck_assert_str_eq(find("allowlist-wider-than-listen")->what,
                     "listening on loopback only, but the allowlist admits 10.0.0.0/8, "
                     "10.0.0.0/8, ::ffff:10.0.0.0/104, ...: clients there cannot connect "
                     "(the allowlist does not widen the listen addresses)");
    setup();
    set_allow("126.0.0.0/7,::/127");              /* holding loopback is not inside it */
    evaluate();
    ck_assert_str_eq(find("allowlist-wider-than-listen")->what,
                     "listening on loopback only, but the allowlist admits 126.0.0.0/7, "
                     "::/127: clients there cannot connect (the allowlist does not widen "
                     "the listen addresses)");
}
END_TEST

/* The severity of id's finding in rep; -1 when there is none. */
/* per-ip-unlimited: a warning only when one client could hold -c forever
 * (no cap, no idle timeout, beyond loopback). */
START_TEST(test_per_ip_severity)
{
    m_per_ip();
    evaluate();
    ck_assert_int_eq(sev_of("per-ip-unlimited"), AUDIT_WARNING);
    ck_assert_int_eq(print(), AUDIT_EXIT_WARNING);
    ck_assert(strstr(out, "warning per-ip-unlimited: ") != NULL);
    ck_assert(strstr(out, "; fix: set --max-conns-per-ip to what one client host needs "
                     "(an IPv6 client counts with its --per-ip-v6-prefix network), and/or "
                     "-o idle_timeout=SECONDS") != NULL);
    s.idle_timeout = 1;                          /* idle sockets do not last: info */
    evaluate();
    ck_assert_int_eq(sev_of("per-ip-unlimited"), AUDIT_INFO);
    ck_assert_int_eq(print(), AUDIT_EXIT_OK);
    ck_assert(strstr(out, "info per-ip-unlimited: ") != NULL);
    s.idle_timeout = 0;                          /* a cap: nothing to say */
    s.max_conns_per_ip = 8;
    evaluate();
    ck_assert_int_eq(sev_of("per-ip-unlimited"), -1);
    setup();                                     /* loopback only: nothing either */
    s.max_conns_per_ip = 0;
    s.idle_timeout = 0;
    evaluate();
    ck_assert_msg(rep.n == 0, "%s", ids());
}
END_TEST

/* ufw-inactive: critical with nothing in front of the port; a warning when
 * an allowlist refuses others, so --fail-on=critical passes such a server. */
START_TEST(test_ufw_inactive_severity)
{
    m_ufw_inactive_no_allow();
    evaluate();
    ck_assert_int_eq(sev_of("ufw-inactive"), AUDIT_CRITICAL);
    s.audit_fail_on = AUDIT_FAIL_ON_CRITICAL;
    ck_assert_int_eq(print(), AUDIT_EXIT_CRITICAL);

    setup();                                     /* -l 0.0.0.0 --allow 10.0.0.0/24 */
    m_ufw_inactive();
    set_allow("10.0.0.0/24");
    evaluate();
    ck_assert_int_eq(sev_of("ufw-inactive"), AUDIT_WARNING);
    ck_assert_int_eq(print(), AUDIT_EXIT_WARNING);
    ck_assert(strstr(out, "warning ufw-inactive: ") != NULL);
    s.audit_fail_on = AUDIT_FAIL_ON_CRITICAL;
    ck_assert_int_eq(print(), AUDIT_EXIT_OK);
    s.audit_format = AUDIT_FORMAT_JSON;
    print();
    ck_assert(strstr(out, "{\"severity\": \"warning\", \"id\": \"ufw-inactive\"") != NULL);
    ck_assert(strstr(out, "\"critical\": 0, \"warning\": 2, \"info\": 1, "
                     "\"fail_on\": \"critical\", \"exit_status\": 0") != NULL);

    setup();                                     /* an allowlist of everyone is none */
    m_ufw_inactive();
    set_allow("0.0.0.0/0");
    evaluate();
    ck_assert_int_eq(sev_of("ufw-inactive"), AUDIT_CRITICAL);
}
END_TEST

/* A check may lower a finding's severity, never raise it above its row's. */
START_TEST(test_milder_never_worse)
{
    const struct audit_rule *warn = NULL;
    for (size_t i = 0; i < audit_rule_count && warn == NULL; i++) {
        warn = audit_rules[i].severity == AUDIT_WARNING ? &audit_rules[i] : NULL;
    }
    ck_assert_ptr_nonnull(warn);
    audit_add_milder(&rep, warn, AUDIT_CRITICAL, "x %d", 1);
    audit_add_milder(&rep, warn, AUDIT_INFO, "y");
    audit_add(&rep, warn, "z");
    ck_assert_uint_eq(rep.n, 3);
    ck_assert_int_eq(rep.items[0].severity, AUDIT_WARNING);
    ck_assert_str_eq(rep.items[0].what, "x 1");
    ck_assert_int_eq(rep.items[1].severity, AUDIT_INFO);
    ck_assert_int_eq(rep.items[2].severity, AUDIT_WARNING);
}
END_TEST

/* ----------------------------------------------------------------- ufw */

static const char UFW_HEAD[] =
    "Status: active\nLogging: on (low)\n"
    "Default: deny (incoming), allow (outgoing), disabled (routed)\nNew profiles: skip\n\n"
    "To                         Action      From\n"
    "--                         ------      ----\n";

static enum audit_ufw_verdict verdict(const char *rules, uint16_t port, bool v6)
{
    static char text[8192];
    char why[512];
    snprintf(text, sizeof text, "%s%s", UFW_HEAD, rules);
    return audit_ufw_verdict(text, port, v6, why, sizeof why);
}

START_TEST(test_ufw_verdicts)
{
    char why[512];
    ck_assert_int_eq(audit_ufw_verdict("Status: inactive\n", 11211, false, why, sizeof why),
                     AUDIT_UFW_V_INACTIVE);
    ck_assert_int_eq(audit_ufw_verdict("", 11211, false, why, sizeof why), AUDIT_UFW_V_UNKNOWN);
    ck_assert_int_eq(audit_ufw_verdict("ERROR: problem running ufw-init\n", 11211, false,
                                       why, sizeof why), AUDIT_UFW_V_UNKNOWN);
    ck_assert_int_eq(audit_ufw_verdict("Status: active\n", 11211, false, why, sizeof why),
                     AUDIT_UFW_V_UNKNOWN);          /* no Default: line, no rule */
    ck_assert_int_eq(verdict("", 11211, false), AUDIT_UFW_V_CLOSED);
    ck_assert_int_eq(audit_ufw_verdict("Status: active\nDefault: allow (incoming), allow "
                                       "(outgoing), disabled (routed)\n", 11211, false, why,
                                       sizeof why), AUDIT_UFW_V_OPEN);
    ck_assert(strstr(why, "default incoming policy is allow") != NULL);
    ck_assert_int_eq(audit_ufw_verdict("Status: active\nDefault: reject (incoming), allow "
                                       "(outgoing), disabled (routed)\n", 11211, false, why,
                                       sizeof why), AUDIT_UFW_V_CLOSED);

    /* what deploy/ufw-setup.sh leaves: allows by source, then a deny */
    static const char setup_rules[] =
        "22/tcp                     ALLOW IN    Anywhere\n"
        "11211/tcp                  ALLOW IN    10.0.0.0/8                 # hardcached\n"
        "11211/tcp                  DENY IN     Anywhere                   # hardcached\n"
        "22/tcp (v6)                ALLOW IN    Anywhere (v6)\n"
        "11211/tcp (v6)             DENY IN     Anywhere (v6)              # hardcached\n";
    ck_assert_int_eq(verdict(setup_rules, 11211, false), AUDIT_UFW_V_CLOSED);
    ck_assert_int_eq(verdict(setup_rules, 11211, true), AUDIT_UFW_V_CLOSED);
    ck_assert_int_eq(verdict(setup_rules, 22, false), AUDIT_UFW_V_OPEN);

    ck_assert_int_eq(verdict("11211/tcp                  ALLOW IN    Anywhere\n", 11211, false),
                     AUDIT_UFW_V_OPEN);
    ck_assert_int_eq(verdict("11211                      ALLOW IN    Anywhere\n", 11211, false),
                     AUDIT_UFW_V_OPEN);
    ck_assert_int_eq(verdict("11211/udp                  ALLOW IN    Anywhere\n", 11211, false),
                     AUDIT_UFW_V_CLOSED);
    ck_assert_int_eq(verdict("11211/tcp                  LIMIT IN    Anywhere\n", 11211, false),
                     AUDIT_UFW_V_OPEN);
    ck_assert_int_eq(verdict("Anywhere                   ALLOW IN    Anywhere\n", 11211, false),
                     AUDIT_UFW_V_OPEN);
    ck_assert_int_eq(verdict("11000:12000/tcp            ALLOW IN    Anywhere\n", 11211, false),
                     AUDIT_UFW_V_OPEN);
    ck_assert_int_eq(verdict("11000:11210/tcp            ALLOW IN    Anywhere\n", 11211, false),
                     AUDIT_UFW_V_CLOSED);
    ck_assert_int_eq(verdict("22,80,11211/tcp            ALLOW IN    Anywhere\n", 11211, false),
                     AUDIT_UFW_V_OPEN);
    ck_assert_int_eq(verdict("11211/tcp (hardcached)     ALLOW IN    Anywhere\n", 11211, false),
                     AUDIT_UFW_V_OPEN);          /* an application profile, verbose */
    ck_assert_int_eq(verdict("11211/tcp on eth0          ALLOW IN    Anywhere\n", 11211, false),
                     AUDIT_UFW_V_OPEN);          /* open on one interface is open */
    ck_assert_int_eq(verdict("10.0.0.5 11211/tcp         ALLOW IN    Anywhere\n", 11211, false),
                     AUDIT_UFW_V_OPEN);
    ck_assert_int_eq(verdict("11211/tcp                  ALLOW IN    10.0.0.0/8\n", 11211, false),
                     AUDIT_UFW_V_CLOSED);        /* by source: the default decides */
    ck_assert_int_eq(verdict("11211/tcp                  ALLOW OUT   Anywhere (out)\n", 11211,
                             false), AUDIT_UFW_V_CLOSED);
    ck_assert_int_eq(verdict("11211/tcp                  REJECT IN   Anywhere\n"
                             "11211/tcp                  ALLOW IN    Anywhere\n", 11211, false),
                     AUDIT_UFW_V_CLOSED);        /* the first match wins */
    ck_assert_int_eq(verdict("11211/tcp (v6)             ALLOW IN    Anywhere (v6)\n", 11211,
                             true), AUDIT_UFW_V_OPEN);
    ck_assert_int_eq(verdict("11211/tcp (v6)             ALLOW IN    Anywhere (v6)\n", 11211,
                             false), AUDIT_UFW_V_CLOSED);
    ck_assert_int_eq(verdict("2001:db8::1 11211/tcp      ALLOW IN    Anywhere (v6)\n", 11211,
                             true), AUDIT_UFW_V_OPEN);
}
END_TEST

START_TEST(test_ufw_narrow_deny_does_not_close)
{
    char text[4096], why[512];
    snprintf(text, sizeof text, "Status: active\nDefault: allow (incoming), allow (outgoing), "
             "disabled (routed)\n\nTo  Action  From\n--  ------  ----\n"
             "11211/tcp on eth0          DENY IN     Anywhere\n"
             "10.0.0.5 11211/tcp         DENY IN     Anywhere\n");
    ck_assert_int_eq(audit_ufw_verdict(text, 11211, false, why, sizeof why), AUDIT_UFW_V_OPEN);
    ck_assert(strstr(why, "default incoming policy is allow") != NULL);
}
END_TEST

START_TEST(test_ufw_ipv6_unfiltered)
{
    expose();
    h.addrs[0] = (struct audit_addr){ "[::]:11211", AF_INET6, 11211, false, false };
    set_allow("2001:db8::/32");
    tls_on();
    h.ufw = AUDIT_UFW_READ;
    snprintf(h.ufw_status, sizeof h.ufw_status, "%s", UFW_HEAD);
    evaluate();
    ck_assert_msg(rep.n == 2, "%s", ids());          /* per-ip, flush_all ... */
    ck_no_finding("ufw-open");
    h.ufw_ipv6 = false;                          /* ... and now IPv6 passes ufw by */
    evaluate();
    ck_finding("ufw-open");
    ck_assert(strstr(find("ufw-open")->what, "IPV6=yes is not set") != NULL);
    /* an output the parser does not understand is "unreadable", never "open" */
    h.ufw_ipv6 = true;
    snprintf(h.ufw_status, sizeof h.ufw_status, "something else\n");
    evaluate();
    ck_finding("ufw-unreadable");
    ck_no_finding("ufw-open");
}
END_TEST

/* ------------------------------------------------------------- the report */

START_TEST(test_exit_statuses_and_summary)
{
    m_shutdown();
    evaluate();
    ck_assert_int_eq(print(), AUDIT_EXIT_WARNING);
    ck_assert(strstr(out, "hardcached: configuration has warnings (1 finding: 0 critical, "
                     "1 warning, 0 info)\n") != NULL);
    s.audit_fail_on = AUDIT_FAIL_ON_CRITICAL;
    ck_assert_int_eq(print(), AUDIT_EXIT_OK);
    ck_assert(strstr(out, "hardcached: configuration OK, with warnings (--fail-on=critical) "
                     "(1 finding") != NULL);
    m_seccomp_off();
    evaluate();
    ck_assert_int_eq(print(), AUDIT_EXIT_CRITICAL);
    ck_assert(strstr(out, "hardcached: configuration has critical findings (2 findings: "
                     "1 critical, 1 warning, 0 info)\n") != NULL);
    /* most severe first, whatever the table order */
    ck_assert(strstr(out, "critical seccomp-off") < strstr(out, "warning shutdown-enabled"));

    setup();
    m_user_ignored();
    evaluate();
    ck_assert_int_eq(print(), AUDIT_EXIT_OK);      /* info only */
    ck_assert(strncmp(out, "info user-ignored: ", 19) == 0);
    ck_assert(strstr(out, "hardcached: configuration OK (1 finding: 0 critical, 0 warning, "
                     "1 info)\n") != NULL);

    s.audit_format = AUDIT_FORMAT_JSON;
    s.audit_fail_on = AUDIT_FAIL_ON_CRITICAL;
    snprintf(s.config_file, sizeof s.config_file, "/etc/hc.conf");
    print();
    ck_assert(strstr(out, "\"config_file\": \"/etc/hc.conf\"") != NULL);
    ck_assert(strstr(out, "\"fail_on\": \"critical\"") != NULL);
    ck_assert(strstr(out, "\"findings\": [\n    {\"severity\": \"info\", \"id\": "
                     "\"user-ignored\"") != NULL);
}
END_TEST

static void json_of(const char *in, char *buf, size_t len)
{
    FILE *f = fmemopen(buf, len - 1, "w");
    memset(buf, 0, len);
    audit_json_string(f, in);
    fclose(f);
}

START_TEST(test_json_escaping)
{
    static const struct { const char *in, *want; } escapes[] = {
        { "plain", "\"plain\"" },
        { "a\"b\\c", "\"a\\\"b\\\\c\"" },
        { "l1\nl2\tx\r", "\"l1\\nl2\\tx\\u000d\"" },
        { "\x01\x1f\x7f", "\"\\u0001\\u001f\\u007f\"" },
        { "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"" },
        { "\xff", "\"\\ufffd\"" },
        { "\xc0\x80", "\"\\ufffd\\ufffd\"" },              /* overlong NUL */
        { "\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"" },   /* a surrogate */
        { "\xe2\x82", "\"\\ufffd\\ufffd\"" },              /* cut short */
        { "\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"" },  /* above U+10FFFF */
        { "", "\"\"" },
    };
    char buf[256];
    for (size_t i = 0; i < sizeof escapes / sizeof escapes[0]; i++) {
        json_of(escapes[i].in, buf, sizeof buf);
        ck_assert_msg(strcmp(buf, escapes[i].want) == 0, "case %zu: %s", i, buf);
    }
}
END_TEST

START_TEST(test_report_invalid)
{
    char errbuf[1024];
    FILE *o = fmemopen(out, sizeof out - 1, "w"), *e = fmemopen(errbuf, sizeof errbuf - 1, "w");
    memset(out, 0, sizeof out);
    memset(errbuf, 0, sizeof errbuf);
    ck_assert_int_eq(audit_report_invalid(&s, "hardcached: a.conf:3: port: bad \"x\"", o, e),
                     AUDIT_EXIT_CRITICAL);
    fclose(o);
    fclose(e);
    ck_assert_str_eq(out, "");
    ck_assert_str_eq(errbuf, "hardcached: a.conf:3: port: bad \"x\"\n");

    s.audit_format = AUDIT_FORMAT_JSON;
    o = fmemopen(out, sizeof out - 1, "w");
    e = fopen("/dev/null", "w");
    memset(out, 0, sizeof out);
    ck_assert_int_eq(audit_report_invalid(&s, "hardcached: a.conf:3: port: bad \"x\"", o, e),
                     AUDIT_EXIT_CRITICAL);
    fclose(o);
    fclose(e);
    ck_assert(strstr(out, "\"valid\": false") != NULL);
    ck_assert(strstr(out, "\"error\": \"hardcached: a.conf:3: port: bad \\\"x\\\"\"") != NULL);
    ck_assert(strstr(out, "\"exit_status\": 2, \"result\": \"invalid\"") != NULL);
}
END_TEST

START_TEST(test_messages_are_printable)
{
    snprintf(h.unresolved, sizeof h.unresolved, "bad\nname\x1b[31m");
    snprintf(h.unresolved_why, sizeof h.unresolved_why, "x");
    evaluate();
    ck_finding("listen-unresolvable");
    for (const char *p = find("listen-unresolvable")->what; *p; p++) {
        ck_assert((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f);
    }
}
END_TEST

/* ------------------------------------------------------ the real host probe */

START_TEST(test_probe_this_host)
{
    static struct audit_host real;
    char dir[256], conf[300];
    unsetenv("LISTEN_FDS");
    audit_host_probe(&s, &real);
    ck_assert_uint_eq(real.euid, geteuid());
    ck_assert_uint_gt(real.phys_bytes, 0);
    ck_assert(!real.socket_activated);
    ck_assert_int_eq(real.nfiles, 0);
    ck_assert_int_ge(real.naddrs, 1);
    for (int i = 0; i < real.naddrs; i++) {
        ck_assert_msg(real.addrs[i].loopback, "%s", real.addrs[i].text);
    }
    ck_assert_str_eq(real.addrs[0].text, "127.0.0.1:11211");
    ck_assert_int_eq(real.ufw, AUDIT_UFW_NOT_ASKED);   /* loopback: ufw not asked */

    snprintf(dir, sizeof dir, "%s/hc_audit_XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(conf, sizeof conf, "%s/hc.conf", dir);
    FILE *f = fopen(conf, "w");
    ck_assert_ptr_nonnull(f);
    fclose(f);
    ck_assert_int_eq(chmod(conf, 0666), 0);
    snprintf(s.config_file, sizeof s.config_file, "%s", conf);
    ck_assert(options_apply(&s, options_find("listen"), "127.0.0.2:1234,localhost", err,
                            sizeof err));
    setenv("LISTEN_FDS", "1", 1);
    audit_host_probe(&s, &real);
    ck_assert(real.socket_activated);
    ck_assert_int_eq(real.naddrs, 0);
    unsetenv("LISTEN_FDS");
    audit_host_probe(&s, &real);
    ck_assert_int_eq(real.nfiles, 1);
    ck_assert(real.files[0].known && (real.files[0].mode & 0777) == 0666);
    ck_assert_str_eq(real.files[0].dir, dir);
    ck_assert_str_eq(real.addrs[0].text, "127.0.0.2:1234");
    ck_assert(real.addrs[0].loopback);
    evaluate();
    audit_evaluate(&s, &real, &rep);
    ck_finding("file-others-writable");
    unlink(conf);
    rmdir(dir);
}
END_TEST

static Suite *audit_suite(void)
{
    Suite *su = suite_create("audit");
    TCase *tc = tcase_create("audit");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_rule_table);
    tcase_add_test(tc, test_defaults_are_clean);
    tcase_add_loop_test(tc, test_each_finding, 0, (int)(sizeof cases / sizeof cases[0]));
    tcase_add_test(tc, test_every_rule_has_a_case);
    tcase_add_test(tc, test_memcached_ignored_all);
    tcase_add_test(tc, test_quiet_when_safe);
    tcase_add_test(tc, test_exposure_rules);
    tcase_add_test(tc, test_allow_wider_names_networks);
    tcase_add_test(tc, test_tls_deployments_are_clean);
    tcase_add_test(tc, test_tls_quiet_and_severities);
    tcase_add_test(tc, test_auth_file_invalid);
    tcase_add_test(tc, test_probe_tls_and_auth_files);
    tcase_add_test(tc, test_per_ip_severity);
    tcase_add_test(tc, test_ufw_inactive_severity);
    tcase_add_test(tc, test_milder_never_worse);
    tcase_add_test(tc, test_ufw_verdicts);
    tcase_add_test(tc, test_ufw_narrow_deny_does_not_close);
    tcase_add_test(tc, test_ufw_ipv6_unfiltered);
    tcase_add_test(tc, test_exit_statuses_and_summary);
    tcase_add_test(tc, test_json_escaping);
    tcase_add_test(tc, test_report_invalid);
    tcase_add_test(tc, test_messages_are_printable);
    tcase_add_test(tc, test_probe_this_host);
    suite_add_tcase(su, tc);
    return su;
}

int main(void)
{
    SRunner *sr = srunner_create(audit_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
