/* test_config.c: the config file (src/conf/config.c) and how it meets the
 * command line (--config in options_parse_cli). Most tests walk the option
 * table, so a new row is covered (accepted in a file or refused as
 * command-line only, error text, round trip) without new code here. The
 * shipped deploy/hardcached.conf is checked against the table: every name
 * known, every default shown equal to the binary's; memcached's options
 * without effect, and the refused ones, are accepted in a file by the same
 * names but not shown in it. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf/cli.h"
#include "conf/config.h"
#include "conf/options.h"
#include "sec/allowlist.h"

static char err[1024];
static char tmpdir[256];

static void setup(void)
{
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(tmpdir, sizeof tmpdir, "%s/hc_cfg_XXXXXX", base);
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    ck_assert_int_eq(system(cmd), 0);
}

/* Parses text as "t.conf" over fresh defaults. */
static bool parse(struct settings *s, const char *text)
{
    settings_defaults(s);
    err[0] = '\0';
    return options_parse_config_text(s, text, strlen(text), "t.conf", err, sizeof err);
}

#define ck_parse_ok(s, text) do { \
        ck_assert_msg(parse((s), (text)), "refused: %s", err); \
    } while (0)

#define ck_parse_err(s, needle, text) do { \
        ck_assert_msg(!parse((s), (text)), "accepted: %s", (text)); \
        ck_assert_msg(strstr(err, (needle)) != NULL, "\"%s\" not in: %s", (needle), err); \
        ck_assert_msg(strchr(err, '\n') == NULL, "newline in: %s", err); \
        ck_assert_msg(strncmp(err, "hardcached: ", 12) == 0, "prefix: %s", err); \
        options_release(s); \
    } while (0)

static const struct option_row *row(const char *name)
{
    const struct option_row *r = options_find(name);
    ck_assert_msg(r != NULL, "no row %s", name);
    return r;
}

static void write_file(const char *path, const char *content, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, content, strlen(content)), (ssize_t)strlen(content));
    close(fd);
    ck_assert_int_eq(chmod(path, mode), 0);
}

static void tmp_path(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s/%s", tmpdir, name);
}

/* -------------------------------------------------------------- the format */

START_TEST(test_basic_lines)
{
    struct settings s;
    ck_parse_ok(&s, "port = 11300\nlisten = 127.0.0.1\nmemory-limit = 1024\n");
    ck_assert_uint_eq(s.port, 11300);
    ck_assert_int_eq(s.nlisten, 1);
    ck_assert_str_eq(s.listen[0].host, "127.0.0.1");
    ck_assert_uint_eq(s.mem_limit, 1024ull * 1024 * 1024);
    ck_parse_ok(&s, "port=7");                       /* no blanks, no final newline */
    ck_assert_uint_eq(s.port, 7);
    ck_parse_ok(&s, "\t threads\t=\t8\t\n");
    ck_assert_int_eq(s.threads, 8);
    ck_parse_ok(&s, "port = 11211\r\nthreads = 2\r\n");  /* CRLF */
    ck_assert_int_eq(s.threads, 2);
    ck_parse_ok(&s, "");
    ck_parse_ok(&s, "\n\n\n");
    ck_parse_ok(&s, "idle_timeout = 30\nhashpower = 16\n");   /* -o keys are names */
    ck_assert_int_eq(s.idle_timeout, 30);
    ck_assert_uint_eq(s.hash_power, 16);
}
END_TEST

START_TEST(test_comments)
{
    struct settings s;
    ck_parse_ok(&s, "# comment\n\n   # indented\nport=11212 # trailing\n#port = 1\n");
    ck_assert_uint_eq(s.port, 11212);
    ck_parse_ok(&s, "user = memcache# no blank needed\n");
    ck_assert_str_eq(s.user, "memcache");
    ck_parse_ok(&s, "#\n#=\n# = =\n");
}
END_TEST

START_TEST(test_quotes)
{
    struct settings s;
    ck_parse_ok(&s, "user = \"memcache\"\npidfile = '/run/x'\n");
    ck_assert_str_eq(s.user, "memcache");
    ck_assert_str_eq(s.pidfile, "/run/x");
    ck_parse_ok(&s, "pidfile = \"/run/a#b\"  # the # inside quotes is kept\n");
    ck_assert_str_eq(s.pidfile, "/run/a#b");
    ck_parse_ok(&s, "pidfile = ' /run/x '\n");      /* blanks inside quotes are kept */
    ck_assert_str_eq(s.pidfile, " /run/x ");
    ck_parse_ok(&s, "unix-socket = /tmp/a b\n");     /* inner blanks of a bare value too */
    ck_assert_str_eq(s.unix_socket, "/tmp/a b");
    ck_parse_err(&s, "t.conf:1: user: unterminated double quote", "user = \"memcache\n");
    ck_parse_err(&s, "t.conf:2: pidfile: unterminated single quote", "\npidfile = '/x\n");
    ck_parse_err(&s, "t.conf:1: user: text after the closing quote", "user = \"a\" b\n");
    ck_parse_err(&s, "t.conf:1: pidfile: a quote may only enclose the whole value",
                 "pidfile = a\"b\n");
    ck_parse_err(&s, "a quote may only enclose", "pidfile = \"a'b\"\n");
    ck_parse_err(&s, "a quote may only enclose", "pidfile = a'\n");
    ck_parse_err(&s, "t.conf:1: user: missing value", "user = \"\"\n");
}
END_TEST

START_TEST(test_line_errors)
{
    struct settings s;
    ck_parse_err(&s, "hardcached: t.conf:1: expected name = value, got \"port\"",
                 "port 11211\n");
    ck_parse_err(&s, "t.conf:3: expected name = value, got \"daemon\" with no \"=\" (a flag "
                 "takes yes or no: daemon = yes)", "\n\ndaemon\n");
    ck_parse_err(&s, "t.conf:1: expected name = value, got \"\" as the name", "= 5\n");
    ck_parse_err(&s, "t.conf:1: port: missing value; expected an integer 1-65535",
                 "port =\n");
    ck_parse_err(&s, "t.conf:1: port: missing value", "port = # nothing\n");
    ck_parse_err(&s, "t.conf:2: port: expected an integer 1-65535, got \"70000\"",
                 "\nport = 70000\n");
    ck_parse_err(&s, "t.conf:1: memory-limit: expected an integer 1-67108864 (megabytes, "
                 "no suffix), got \"-1\"", "memory-limit = -1\n");
    ck_parse_err(&s, "t.conf:1: max-item-size: expected a size", "max-item-size = 1x\n");
    ck_parse_err(&s, "t.conf:1: daemon: expected yes or no, got \"maybe\"", "daemon = maybe\n");
    ck_parse_err(&s, "t.conf:1: user: expected 1-63 printable bytes, got \"a?b\"",
                 "user = a\rb\n");
    ck_parse_err(&s, "t.conf:1: unix-socket: expected 1-107 printable bytes",
                 "unix-socket = a\tb\n");
    ck_parse_err(&s, "t.conf:1: seccomp: expected on, log or off, got \"ON\"", "seccomp = ON\n");
    ck_parse_err(&s, "t.conf:1: udp-port: UDP is not supported", "udp-port = 11211\n");
}
END_TEST

START_TEST(test_unknown_names)
{
    struct settings s;
    ck_parse_err(&s, "t.conf:2: unknown option \"nope\" (see hardcached.conf(5))",
                 "port = 1\nnope = 2\n");
    ck_parse_err(&s, "unknown option \"memory_limit\" (did you mean \"memory-limit\"?)",
                 "memory_limit = 5\n");
    ck_parse_err(&s, "unknown option \"--port\" (did you mean \"port\"?)", "--port = 1\n");
    ck_parse_err(&s, "unknown option \"m\" (did you mean \"memory-limit\"?)", "m = 1\n");
    ck_parse_err(&s, "unknown option \"Port\" (did you mean \"port\"?)", "Port = 1\n");
    ck_parse_err(&s, "unknown option \"treads\" (did you mean \"threads\"?)", "treads = 1\n");
    ck_parse_err(&s, "unknown option \"max_conns_per_ip\" (did you mean \"max-conns-per-ip\"?)",
                 "max_conns_per_ip = 1\n");
    ck_parse_err(&s, "t.conf:1: unknown option \"p?rt\" (did you mean \"port\"?)",
                 "p\x01rt = 1\n");
    ck_parse_err(&s, "t.conf:1: expected name = value, got \"?????\" as the name",
                 "\x01\x02\x03\x04\x05 = 1\n");
    ck_parse_err(&s, "t.conf:1: expected name = value", "\xef\xbb\xbfport = 1\n");  /* BOM */
}
END_TEST

/* Every row: a file may set it, or it is refused as command-line only. */
START_TEST(test_every_name)
{
    for (size_t i = 0; i < options_count; i++) {
        const struct option_row *r = &options_table[i];
        struct settings s;
        char text[256], want[128];
        snprintf(text, sizeof text, "%s = \x01\n", r->name);
        ck_assert(!parse(&s, text));
        if (r->flags & OPT_CLI_ONLY) {
            snprintf(want, sizeof want, "hardcached: t.conf:1: %s: only valid on the "
                     "command line", r->name);
        } else {
            snprintf(want, sizeof want, "hardcached: t.conf:1: %s: ", r->name);
        }
        ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "%s: %s", r->name, err);
        ck_assert(strchr(err, '\x01') == NULL);
        options_release(&s);
    }
    struct settings s;
    ck_parse_err(&s, "config: only valid on the command line", "config = /etc/x.conf\n");
    ck_parse_err(&s, "check-config: only valid on the command line", "check-config = yes\n");
    ck_parse_err(&s, "help: only valid on the command line", "help = yes\n");
    ck_parse_err(&s, "version: only valid", "version = 1\n");
    ck_parse_err(&s, "format: only valid", "format = json\n");
    ck_parse_err(&s, "fail-on: only valid", "fail-on = critical\n");
    ck_parse_err(&s, "extended: only valid on the command line; in a file each -o key is a "
                 "name of its own (idle_timeout = 30)", "extended = idle_timeout=1\n");
}
END_TEST

START_TEST(test_flags_in_a_file)
{
    struct settings s;
    ck_parse_ok(&s, "disable-evictions = yes\ndisable-cas = no\nenable-shutdown = true\n"
                "daemon = false\nlock-memory = on\nenable-coredumps = 1\n"
                "disable-flush-all = yes\n");
    ck_assert(!s.evictions && s.use_cas && s.shutdown_enabled && !s.daemonize &&
              s.lock_memory && s.enable_coredumps && !s.flush_enabled);
    ck_parse_ok(&s, "verbose = 2\n");
    ck_assert_int_eq(s.verbose, 2);
    ck_parse_err(&s, "t.conf:1: verbose: expected an integer 0-3", "verbose = 9\n");
}
END_TEST

START_TEST(test_duplicates)
{
    struct settings s;
    ck_parse_err(&s, "hardcached: t.conf:3: port: set twice (first on line 1); only listen, "
                 "allow and allow-file may repeat", "port = 1\n\nport = 1\n");
    ck_parse_err(&s, "t.conf:2: idle_timeout: set twice", "idle_timeout = 1\nidle_timeout = 2\n");
    ck_parse_err(&s, "t.conf:2: daemon: set twice", "daemon = no\ndaemon = no\n");
    ck_parse_ok(&s, "listen = 127.0.0.1\nlisten = [::1]:11212\n");
    ck_assert_int_eq(s.nlisten, 2);
    ck_parse_ok(&s, "allow = 10.0.0.0/8\nallow = ::1/128,192.168.0.0/16\n");
    ck_assert_uint_eq(allowlist_count(s.allow), 3);
    options_release(&s);
}
END_TEST

START_TEST(test_nul_and_size)
{
    struct settings s;
    static const char text[] = "port = 1\nport = 1\0 2\n";
    settings_defaults(&s);
    ck_assert(!options_parse_config_text(&s, text, sizeof text - 1, "t.conf", err, sizeof err));
    ck_assert_str_eq(err, "hardcached: t.conf:2: NUL byte (is it a text file?)");
    char *big = malloc(OPTIONS_CONFIG_MAX + 2);
    ck_assert_ptr_nonnull(big);
    memset(big, '#', OPTIONS_CONFIG_MAX + 1);
    settings_defaults(&s);
    ck_assert(options_parse_config_text(&s, big, OPTIONS_CONFIG_MAX, "t.conf", err,
                                        sizeof err));
    ck_assert(!options_parse_config_text(&s, big, OPTIONS_CONFIG_MAX + 1, "t.conf", err,
                                         sizeof err));
    ck_assert(strstr(err, "hardcached: t.conf: larger than 1048576 bytes") != NULL);
    free(big);
    /* not NUL-terminated: nothing past len is read (ASan would say) */
    char *exact = malloc(8);
    memcpy(exact, "port = 9", 8);
    settings_defaults(&s);
    ck_assert(options_parse_config_text(&s, exact, 8, "t.conf", err, sizeof err));
    ck_assert_uint_eq(s.port, 9);
    free(exact);
    /* a file name with control bytes is echoed printable */
    settings_defaults(&s);
    ck_assert(!options_parse_config_text(&s, "x", 1, "a\nb", err, sizeof err));
    ck_assert(strncmp(err, "hardcached: a?b:1: ", 19) == 0);
}
END_TEST

/* Every row that a file may set: a non-default value written back by
 * options_format, as "name = value", reads back to the same value. */
START_TEST(test_round_trip_every_row)
{
    static const struct { const char *name, *value; } values[] = {
        { "port", "80" }, { "udp-port", "0" }, { "unix-socket", "/run/hc.sock" },
        { "unix-mask", "0770" }, { "enable-shutdown", "yes" },
        { "listen", "10.0.0.1:11211,[::1]:11212" }, { "daemon", "yes" },
        { "enable-coredumps", "yes" }, { "user", "cache user" }, { "memory-limit", "3000" },
        { "disable-evictions", "yes" }, { "conn-limit", "10" }, { "lock-memory", "yes" },
        { "verbose", "3" }, { "pidfile", "/run/a b.pid" }, { "slab-growth-factor", "1.05" },
        { "slab-min-size", "96" }, { "threads", "2" }, { "max-reqs-per-event", "7" },
        { "disable-cas", "yes" }, { "listen-backlog", "12" }, { "max-item-size", "512k" },
        { "disable-flush-all", "yes" }, { "allow", "10.0.0.0/8,2001:db8::/32" },
        { "seccomp", "log" }, { "max-conns-per-ip", "3" }, { "per-ip-v6-prefix", "56" },
        { "read-timeout", "0" }, { "conn-mem-limit", "128" },
        { "read_buf_mem_limit", "128" },
        { "idle_timeout", "600" }, { "hashpower", "20" },
        { "auth-file", "/etc/hardcached/auth" }, { "enable-ssl", "yes" },
        { "tls-client-identity", "dns:a.example, uri:spiffe://example.org/app,cn:Ops Team" },
        { "auth-fail-limit", "0" }, { "auth-fail-window", "3600" },
        { "ssl_chain_cert", "/etc/hardcached/tls/a b.pem" }, { "ssl_key", "/k.pem" },
        { "ssl_verify_mode", "2" }, { "ssl_keyformat", "2" },
        { "ssl_ciphers", "ECDHE+AESGCM:!aNULL" }, { "ssl_ca_cert", "/ca.pem" },
        { "ssl_session_cache", "yes" }, { "ssl_min_version", "3" },
        { "listen", "notls:127.0.0.1:11212,10.0.0.1:11211" },
        /* memcached's options without effect: recorded as written */
        { "enable-largepages", "yes" }, { "prefix-delimiter", "|" }, { "protocol", "auto" },
        { "disable-dumping", "yes" }, { "disable-watch", "no" }, { "napi-ids", "4" },
        { "maxconns_fast", "yes" }, { "tail_repair_time", "60" },
        { "hash_algorithm", "murmur3" }, { "no_lru_crawler", "yes" },
        { "lru_crawler_sleep", "100" }, { "lru_crawler_tocrawl", "4294967295" },
        { "no_lru_maintainer", "yes" }, { "hot_lru_pct", "20" }, { "warm_lru_pct", "40" },
        { "hot_max_factor", "0.2" }, { "warm_max_factor", "2.00" },
        { "temporary_ttl", "61" }, { "slab_chunk_max", "524288" },
        { "watcher_logbuf_size", "256" }, { "worker_logbuf_size", "64" },
        { "track_sizes", "yes" }, { "no_hashexpand", "yes" }, { "modern", "yes" },
        { "no_modern", "no" }, { "sock_cookie_id", "7" }, { "ext_page_size", "64" },
        { "ext_wbuf_size", "4" }, { "ext_threads", "1" }, { "ext_item_size", "512" },
        { "ext_item_age", "3600" }, { "ext_low_ttl", "0" }, { "ext_drop_unread", "yes" },
        { "ext_recache_rate", "2000" }, { "ext_compact_under", "16" },
        { "ext_drop_under", "16" }, { "ext_max_frag", "0.8" }, { "ext_max_sleep", "1000000" },
        { "slab_automove_freeratio", "0.01" }, { "ssl_wbuf_size", "16" },
        { "ssl_kernel_tls", "yes" }, { "no_maxconns_fast", "yes" },
        { "slab_reassign", "yes" }, { "no_slab_reassign", "yes" }, { "slab_automove", "2" },
        { "no_slab_automove", "yes" }, { "slab_automove_ratio", "0.8" },
        { "slab_automove_window", "30" }, { "lru_crawler", "yes" },
        { "lru_maintainer", "yes" }, { "no_chunked_items", "yes" },
        { "inline_ascii_resp", "yes" }, { "no_inline_ascii_resp", "yes" },
        { "drop_privileges", "yes" }, { "no_drop_privileges", "yes" },
        { "resp_obj_mem_limit", "1" }, { "ext_io_depth", "1" },
        { "enable-sasl", "yes" }, { "sasl-pwdb", "/etc/hardcached/sasl.pwdb" },
    };
    for (size_t i = 0; i < options_count; i++) {
        const struct option_row *r = &options_table[i];
        bool listed = false;
        for (size_t j = 0; j < sizeof values / sizeof values[0]; j++) {
            listed = listed || strcmp(values[j].name, r->name) == 0;
        }
        ck_assert_msg(listed || (r->flags & OPT_CLI_ONLY) || r->kind == OPT_K_ALLOW_FILE ||
                      ((r->flags & OPT_REFUSED) && r->kind != OPT_K_FLAG),
                      "add a value for %s", r->name);
    }
    for (size_t j = 0; j < sizeof values / sizeof values[0]; j++) {
        struct settings a, b;
        char fa[512], fb[512], text[700];
        settings_defaults(&a);
        ck_assert_msg(options_apply(&a, row(values[j].name), values[j].value, err, sizeof err),
                      "%s: %s", values[j].name, err);
        options_format(&a, row(values[j].name), fa, sizeof fa);
        snprintf(text, sizeof text, "# composed\n%s = %s\n", values[j].name, fa);
        ck_assert_msg(parse(&b, text), "%s: %s", text, err);
        options_format(&b, row(values[j].name), fb, sizeof fb);
        ck_assert_str_eq(fa, fb);
        options_release(&a);
        options_release(&b);
    }
}
END_TEST

/* TLS and -Y from a file, as from the command line: the -o keys are names
 * of their own; the checks between them name the option the same way. */
START_TEST(test_tls_in_a_file)
{
    struct settings s;
    ck_parse_ok(&s, "enable-ssl = yes\nssl_chain_cert = /etc/hc/cert.pem\n"
                "ssl_key = /etc/hc/key.pem\nssl_ca_cert = /etc/hc/ca.pem\n"
                "ssl_verify_mode = 2\nssl_session_cache = yes\n"
                "listen = 10.0.0.1:11211,notls:127.0.0.1:11212\n"
                "tls-client-identity = dns:app.example, cn:client1\n"
                "auth-file = /etc/hc/auth\n");
    ck_assert(s.ssl_enabled && s.ssl_session_cache);
    ck_assert_int_eq(s.ssl_verify_mode, 2);
    ck_assert_str_eq(s.ssl_key, "/etc/hc/key.pem");
    ck_assert(!s.listen[0].notls && s.listen[1].notls);
    ck_assert_str_eq(s.tls_client_identity, "dns:app.example, cn:client1");
    ck_assert_str_eq(s.auth_file, "/etc/hc/auth");
    ck_assert_msg(options_validate(&s, err, sizeof err), "%s", err);
    ck_parse_err(&s, "t.conf:1: ssl_verify_mode: expected an integer 0-3, got \"4\"",
                 "ssl_verify_mode = 4\n");
    ck_parse_err(&s, "t.conf:2: enable-ssl: expected yes or no", "\nenable-ssl = 1x\n");
    ck_parse_err(&s, "t.conf:1: listen: expected host[:port]", "listen = notls:\n");
    ck_parse_ok(&s, "enable-ssl = yes\n");             /* parsed; refused by validation */
    ck_assert(!options_validate(&s, err, sizeof err));
    ck_assert_msg(strstr(err, "-Z/--enable-ssl: needs -o ssl_chain_cert=FILE") != NULL,
                  "%s", err);
    ck_parse_ok(&s, "enable-ssl = yes\nssl_chain_cert = /c\ntls-client-identity = cn:a\n");
    ck_assert(!options_validate(&s, err, sizeof err));
    ck_assert_msg(strstr(err, "--tls-client-identity: needs -o ssl_verify_mode=2 or 3") != NULL,
                  "%s", err);
}
END_TEST

/* ------------------------------------------------------------- the file */

START_TEST(test_file_reading)
{
    struct settings s;
    char path[512], want[700], link[512];
    tmp_path(path, sizeof path, "good.conf");
    write_file(path, "port = 11999\n", 0644);
    settings_defaults(&s);
    ck_assert_msg(options_parse_config_file(&s, path, err, sizeof err), "%s", err);
    ck_assert_uint_eq(s.port, 11999);

    tmp_path(link, sizeof link, "link.conf");        /* a symlink to a file is fine */
    ck_assert_int_eq(symlink(path, link), 0);
    settings_defaults(&s);
    ck_assert(options_parse_config_file(&s, link, err, sizeof err));

    tmp_path(path, sizeof path, "bad.conf");
    write_file(path, "port = 1\nthreads = 0\n", 0644);
    settings_defaults(&s);
    ck_assert(!options_parse_config_file(&s, path, err, sizeof err));
    snprintf(want, sizeof want, "hardcached: %s:2: threads: expected an integer 1-256, "
             "got \"0\"", path);
    ck_assert_str_eq(err, want);

    tmp_path(path, sizeof path, "missing.conf");
    ck_assert(!options_parse_config_file(&s, path, err, sizeof err));
    snprintf(want, sizeof want, "hardcached: %s: cannot open the config file: No such file "
             "or directory", path);
    ck_assert_str_eq(err, want);

    ck_assert(!options_parse_config_file(&s, tmpdir, err, sizeof err));
    ck_assert(strstr(err, ": the config file is a directory") != NULL);
    ck_assert(!options_parse_config_file(&s, "/dev/null", err, sizeof err));
    ck_assert_str_eq(err, "hardcached: /dev/null: the config file is not a regular file");

    tmp_path(path, sizeof path, "fifo.conf");        /* refused at once, never waited on */
    ck_assert_int_eq(mkfifo(path, 0600), 0);
    ck_assert(!options_parse_config_file(&s, path, err, sizeof err));
    ck_assert(strstr(err, "not a regular file") != NULL);

    tmp_path(path, sizeof path, "big.conf");
    int fd = open(path, O_WRONLY | O_CREAT, 0644);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(ftruncate(fd, OPTIONS_CONFIG_MAX + 1), 0);
    close(fd);
    ck_assert(!options_parse_config_file(&s, path, err, sizeof err));
    ck_assert(strstr(err, "larger than 1048576 bytes") != NULL);
}
END_TEST

/* ---------------------------------------------- the file and the command line */

static struct allowlist *last_allow, *last_inline;

static enum options_result run_argv(struct settings *s, char **argv)
{
    int argc = 0;
    FILE *out = fopen("/dev/null", "w");
    while (argv[argc] != NULL) {
        argc++;
    }
    allowlist_destroy(&last_allow);
    allowlist_destroy(&last_inline);
    settings_defaults(s);
    err[0] = '\0';
    enum options_result r = options_parse_cli(s, argc, argv, err, sizeof err, out);
    fclose(out);
    last_allow = s->allow;
    last_inline = s->allow_inline;
    return r;
}

#define RUN(s, ...) run_argv((s), (char *[]){ "hardcached", __VA_ARGS__, NULL })

START_TEST(test_cli_overrides_file)
{
    struct settings s;
    char conf[512], arg[600];
    tmp_path(conf, sizeof conf, "hc.conf");
    write_file(conf, "port = 11300\nthreads = 8\nlisten = 10.0.0.1\nlisten = 10.0.0.2\n"
               "allow = 10.0.0.0/8\nmemory-limit = 1\nmax-item-size = 512k\n", 0644);
    snprintf(arg, sizeof arg, "--config=%s", conf);

    ck_assert_msg(RUN(&s, arg) == OPTIONS_RUN, "%s", err);
    ck_assert_uint_eq(s.port, 11300);
    ck_assert_int_eq(s.threads, 8);
    ck_assert_int_eq(s.nlisten, 2);
    ck_assert_uint_eq(allowlist_count(s.allow), 1);
    ck_assert_str_eq(s.config_file, conf);

    /* the command line wins, whatever its position relative to --config */
    ck_assert_msg(RUN(&s, "-p", "11400", "--config", conf, "-t", "2") == OPTIONS_RUN, "%s", err);
    ck_assert_uint_eq(s.port, 11400);
    ck_assert_int_eq(s.threads, 2);

    /* lists given on the command line replace the file's (never widen them) */
    ck_assert(RUN(&s, arg, "-l", "127.0.0.1", "-l", "::1") == OPTIONS_RUN);
    ck_assert_int_eq(s.nlisten, 2);
    ck_assert_str_eq(s.listen[0].host, "127.0.0.1");
    ck_assert_str_eq(s.listen[1].host, "::1");
    ck_assert(RUN(&s, arg, "--allow", "192.168.0.0/16") == OPTIONS_RUN);
    ck_assert_uint_eq(allowlist_count(s.allow), 1);
    char text[256];
    allowlist_format(s.allow, text, sizeof text);
    ck_assert_str_eq(text, "192.168.0.0/16");

    /* checks between options run on the result: -I 512k of -m 1 is fine,
     * the command line's -I 1m is not */
    ck_assert(RUN(&s, arg, "-I", "1m") == OPTIONS_ERROR);
    ck_assert(strstr(err, "-I/--max-item-size: 1m is more than half of") != NULL);
    ck_assert(RUN(&s, arg, "-I", "1m", "-m", "64") == OPTIONS_RUN);
}
END_TEST

START_TEST(test_config_flag_errors)
{
    struct settings s;
    char conf[512], bad[512], arg[600], want[700];
    tmp_path(conf, sizeof conf, "ok.conf");
    write_file(conf, "port = 11300\n", 0644);
    tmp_path(bad, sizeof bad, "bad.conf");
    write_file(bad, "port = 11300\nnope = 1\n", 0644);

    ck_assert(RUN(&s, "--config", conf, "--config", conf) == OPTIONS_ERROR);
    ck_assert_str_eq(err, "hardcached: --config: given twice; it may be given once");
    ck_assert(RUN(&s, "--config") == OPTIONS_ERROR);
    ck_assert(strstr(err, "hardcached: --config: missing value") != NULL);

    /* a bad command line is reported before the file is read */
    ck_assert(RUN(&s, "--config", bad, "-p", "junk") == OPTIONS_ERROR);
    ck_assert(strstr(err, "-p/--port: expected an integer") != NULL);
    /* -h and -V answer without reading the file */
    ck_assert(RUN(&s, "--config", bad, "-h") == OPTIONS_EXIT_OK);

    snprintf(want, sizeof want, "hardcached: %s:2: unknown option \"nope\"", bad);
    ck_assert(RUN(&s, "--config", bad) == OPTIONS_ERROR);
    ck_assert(strncmp(err, want, strlen(want)) == 0);
    ck_assert(!s.check_config);

    /* --check-config is known whatever fails, wherever it stands */
    snprintf(arg, sizeof arg, "--config=%s", bad);
    ck_assert(RUN(&s, arg, "--check-config", "--format=json") == OPTIONS_ERROR);
    ck_assert(s.check_config);
    ck_assert_int_eq(s.audit_format, AUDIT_FORMAT_JSON);
    ck_assert(RUN(&s, "-p", "junk", "--check-config") == OPTIONS_ERROR);
    ck_assert(s.check_config);
    ck_assert(strstr(err, "-p/--port") != NULL);
    ck_assert(RUN(&s, "--bogus", "--check-config") == OPTIONS_ERROR);
    ck_assert(s.check_config);

    ck_assert(RUN(&s, "--format=json") == OPTIONS_ERROR);
    ck_assert_str_eq(err, "hardcached: --format: only applies with --check-config");
    ck_assert(RUN(&s, "--fail-on=critical") == OPTIONS_ERROR);
    ck_assert_str_eq(err, "hardcached: --fail-on: only applies with --check-config");
    ck_assert(RUN(&s, "--check-config", "--format=xml") == OPTIONS_ERROR);
    ck_assert(strstr(err, "hardcached: --format: expected text or json, got \"xml\"") != NULL);
    ck_assert(RUN(&s, "--check-config", "--fail-on=info") == OPTIONS_ERROR);
    ck_assert(strstr(err, "expected warning or critical") != NULL);
    ck_assert(RUN(&s, "--check-config", "--fail-on=critical", "--format", "json") ==
              OPTIONS_RUN);
    ck_assert_int_eq(s.audit_fail_on, AUDIT_FAIL_ON_CRITICAL);
    ck_assert(RUN(&s, "--config", "/nonexistent/hc.conf", "--check-config") == OPTIONS_ERROR);
    ck_assert(strstr(err, "/nonexistent/hc.conf: cannot open the config file") != NULL);
    ck_assert(s.check_config);
}
END_TEST

/* The allow-file paths are kept for the audit; a file's lists too. */
START_TEST(test_allow_files_recorded)
{
    struct settings s;
    char conf[512], list[512], text[1200];
    tmp_path(list, sizeof list, "allow.list");
    write_file(list, "10.0.0.0/8\n", 0644);
    tmp_path(conf, sizeof conf, "a.conf");
    snprintf(text, sizeof text, "allow-file = %s\nallow-file = %s\n", list, list);
    write_file(conf, text, 0644);
    ck_assert_msg(RUN(&s, "--config", conf) == OPTIONS_RUN, "%s", err);
    ck_assert_int_eq(s.nallow_files, 2);
    ck_assert_str_eq(s.allow_files[1], list);
    ck_assert(RUN(&s, "--config", conf, "--allow", "::1") == OPTIONS_RUN);
    ck_assert_int_eq(s.nallow_files, 0);         /* replaced by the command line */
    for (int i = 0; i < SETTINGS_MAX_ALLOW_FILES; i++) {
        ck_assert(options_apply(&s, row("allow-file"), list, err, sizeof err));
    }
    ck_assert(!options_apply(&s, row("allow-file"), list, err, sizeof err));
    ck_assert(strstr(err, "at most 8 allowlist files") != NULL);
}
END_TEST

/* memcached's names in a file: the ones without effect are accepted and
 * recorded, and announced once the start validates; the refused ones name
 * the file and line. */
START_TEST(test_memcached_names_in_a_file)
{
    struct settings s;
    char conf[512], notes[4096] = "";
    ck_parse_ok(&s, "protocol = ascii\nlru_crawler = yes\nno_lru_maintainer = yes\n"
                "slab_automove = 2\nenable-largepages = no\nenable-sasl = no\n"
                "hash_algorithm = xxh3\n");
    ck_assert_int_eq(s.nignored, 5);
    ck_assert_str_eq(options_ignored_value(&s, row("enable-largepages")), "no");
    ck_assert_str_eq(options_ignored_value(&s, row("lru_crawler")), "yes");
    ck_assert_ptr_null(options_ignored_value(&s, row("enable-sasl")));
    ck_assert_ptr_null(options_ignored_value(&s, row("protocol")));
    ck_assert_int_eq(s.protocol, SETTINGS_PROTO_ASCII);
    ck_parse_err(&s, "hardcached: t.conf:1: memory-file: refused: a memory file keeps the "
                 "cache's contents on disk", "memory-file = /dev/shm/mc\n");
    ck_parse_err(&s, "hardcached: t.conf:1: ext_path: refused: extstore writes items",
                 "ext_path = /mnt/ext:64G\n");
    ck_parse_err(&s, "hardcached: t.conf:1: protocol: expected auto, ascii or binary, got "
                 "\"udp\"", "protocol = udp\n");
    ck_parse_err(&s, "t.conf:1: slab_automove: expected an integer 0-2, got \"x\"",
                 "slab_automove = x\n");
    ck_parse_err(&s, "t.conf:1: slab_automove: missing value", "slab_automove =\n");
    ck_parse_err(&s, "t.conf:2: lru_crawler: set twice", "lru_crawler = yes\nlru_crawler = no\n");
    ck_parse_err(&s, "t.conf:1: license: only valid on the command line", "license = yes\n");

    /* through a start: one notice line each, file first, then the command line */
    tmp_path(conf, sizeof conf, "mc.conf");
    write_file(conf, "modern = yes\ndisable-watch = yes\n", 0644);
    FILE *note = fmemopen(notes, sizeof notes - 1, "w");
    ck_assert_ptr_nonnull(note);
    ck_assert_msg(RUN(&s, "--config", conf, "-o", "modern,slab_reassign") == OPTIONS_RUN,
                  "%s", err);
    options_print_ignored(&s, note);        /* what main() prints at a start */
    fclose(note);
    ck_assert_str_eq(notes, "hardcached: -o/--extended: modern: ignored: nothing to enable "
                     "(memcached 1.6 enables nothing with it either)\n"
                     "hardcached: -W/--disable-watch: ignored: always so here; there are no "
                     "watch commands\n"
                     "hardcached: -o/--extended: slab_reassign: ignored: always so here; pages "
                     "move between memory classes on demand, when a class needs memory; no "
                     "background thread decides\n");
}
END_TEST

/* --------------------------------------------- deploy/hardcached.conf, no drift */

static FILE *open_shipped(void)
{
    static const char *const where[] = {
        "deploy/hardcached.conf", "../deploy/hardcached.conf", "../../deploy/hardcached.conf",
    };
    const char *root = getenv("HC_ROOT");
    char path[512];
    if (root != NULL) {
        snprintf(path, sizeof path, "%s/deploy/hardcached.conf", root);
        return fopen(path, "r");
    }
    for (size_t i = 0; i < sizeof where / sizeof where[0]; i++) {
        FILE *f = fopen(where[i], "r");
        if (f != NULL) {
            return f;
        }
    }
    return NULL;
}

/* "#name = value" lines are options; "# ..." lines are prose. */
static bool option_line(char *line, char **name, char **value)
{
    char *eq = strstr(line, " = ");
    if (line[0] != '#' || line[1] == ' ' || line[1] == '\0' || line[1] == '\n' ||
        line[1] == '-' || eq == NULL) {
        return false;
    }
    line[strcspn(line, "\n")] = '\0';
    *eq = '\0';
    *name = line + 1;
    *value = eq + 3;
    return true;
}

/* The value the binary uses when the row is not set, in input syntax, or
 * NULL when it has none (then the file shows an example). */
static const char *shown_default(const struct settings *d, const struct option_row *r,
                                 char *buf, size_t len)
{
    if (r->def == NULL && r->kind != OPT_K_FLAG && r->kind != OPT_K_COUNT &&
        r->kind != OPT_K_LISTEN) {
        return NULL;
    }
    options_format(d, r, buf, len);
    return buf;
}

START_TEST(test_shipped_config_matches_the_table)
{
    FILE *f = open_shipped();
    char line[1024], text[65536], def[256];
    size_t seen[256] = { 0 }, n = 0;
    struct settings d, s;
    ck_assert_msg(f != NULL, "deploy/hardcached.conf not found (run from the repo root)");
    ck_assert_uint_lt(options_count, 256);
    settings_defaults(&d);
    while (fgets(line, sizeof line, f) != NULL) {
        char *name, *value, copy[1024];
        size_t len = strlen(line);
        ck_assert_uint_lt(n + len, sizeof text);
        memcpy(text + n, line, len);
        n += len;
        snprintf(copy, sizeof copy, "%s", line);
        if (!option_line(copy, &name, &value)) {
            continue;
        }
        const struct option_row *r = options_find(name);
        ck_assert_msg(r != NULL, "deploy/hardcached.conf: unknown name \"%s\"", name);
        ck_assert_msg(!(r->flags & OPT_CLI_ONLY), "%s is command-line only", name);
        seen[r - options_table]++;
        const char *want = shown_default(&d, r, def, sizeof def);
        if (want != NULL) {
            ck_assert_msg(strcmp(value, want) == 0, "deploy/hardcached.conf: %s = %s, but "
                          "the binary's default is %s", name, value, want);
        } else if (r->kind != OPT_K_ALLOW_FILE) {
            settings_defaults(&s);
            ck_assert_msg(options_apply(&s, r, value, err, sizeof err),
                          "example %s = %s: %s", name, value, err);
            options_release(&s);
        }
    }
    fclose(f);
    for (size_t i = 0; i < options_count; i++) {
        const struct option_row *r = &options_table[i];
        /* memcached's options without effect, or refused, are not shown: the
         * file documents what can be set (hardcached.conf(5) lists them all) */
        bool shown = !(r->flags & (OPT_CLI_ONLY | OPT_IGNORED | OPT_REFUSED));
        ck_assert_msg(seen[i] == (shown ? 1u : 0u), "deploy/hardcached.conf shows %s %zu "
                      "times", r->name, seen[i]);
    }
    /* as shipped it changes nothing */
    settings_defaults(&s);
    ck_assert_msg(options_parse_config_text(&s, text, n, "hardcached.conf", err, sizeof err),
                  "%s", err);
    ck_assert(memcmp(&s, &d, sizeof s) == 0);
}
END_TEST

static Suite *config_suite(void)
{
    Suite *su = suite_create("config");
    TCase *tc = tcase_create("config");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_basic_lines);
    tcase_add_test(tc, test_comments);
    tcase_add_test(tc, test_quotes);
    tcase_add_test(tc, test_line_errors);
    tcase_add_test(tc, test_unknown_names);
    tcase_add_test(tc, test_every_name);
    tcase_add_test(tc, test_flags_in_a_file);
    tcase_add_test(tc, test_duplicates);
    tcase_add_test(tc, test_nul_and_size);
    tcase_add_test(tc, test_round_trip_every_row);
    tcase_add_test(tc, test_tls_in_a_file);
    tcase_add_test(tc, test_file_reading);
    tcase_add_test(tc, test_cli_overrides_file);
    tcase_add_test(tc, test_config_flag_errors);
    tcase_add_test(tc, test_allow_files_recorded);
    tcase_add_test(tc, test_memcached_names_in_a_file);
    tcase_add_test(tc, test_shipped_config_matches_the_table);
    suite_add_tcase(su, tc);
    return su;
}

int main(void)
{
    SRunner *sr = srunner_create(config_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    allowlist_destroy(&last_allow);
    allowlist_destroy(&last_inline);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
