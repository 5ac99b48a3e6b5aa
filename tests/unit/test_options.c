/* test_options.c: the option table and the command-line parser. Most tests
 * walk options_table[] rather than list options by hand, so a new row is
 * covered (bounds, junk, error text, --help, round trip) without new code
 * here; the hand-written cases pin memcached's spelling and meaning. The
 * rows of memcached's options without effect (OPT_IGNORED) and the refused
 * ones (OPT_REFUSED) are walked too: each is accepted and announced once, or
 * refused with its reason. */
#include <arpa/inet.h>
#include <check.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/cli.h"
#include "conf/options.h"
#include "sec/allowlist.h"

static char err[1024];
static char outbuf[65536];
static char notices[16384];     /* what the last run() printed as notices */

/* The allowlist the last run() built; the next run() frees it, so tests
 * may look at s.allow until they parse again (and never free it). */
static struct allowlist *last_allow, *last_inline;

/* Runs the CLI parser over fresh defaults; -h / -V output lands in outbuf. */
static enum options_result run(struct settings *s, char **argv)
{
    int argc = 0;
    while (argv[argc] != NULL) {
        argc++;
    }
    allowlist_destroy(&last_allow);
    allowlist_destroy(&last_inline);
    settings_defaults(s);
    err[0] = '\0';
    outbuf[0] = '\0';
    memset(notices, 0, sizeof notices);
    FILE *out = fmemopen(outbuf, sizeof outbuf - 1, "w");
    FILE *note = fmemopen(notices, sizeof notices - 1, "w");
    ck_assert_ptr_nonnull(out);
    ck_assert_ptr_nonnull(note);
    enum options_result r = options_parse_cli(s, argc, argv, err, sizeof err, out);
    if (r == OPTIONS_RUN && !s->check_config) {
        options_print_ignored(s, note);     /* what main() prints at a start */
    }
    fclose(note);
    fclose(out);
    last_allow = s->allow;
    last_inline = s->allow_inline;
    return r;
}

#define RUN(s, ...) run((s), (char *[]){ "hardcached", __VA_ARGS__, NULL })

#define ck_ok(s, ...) \
    ck_assert_msg(RUN((s), __VA_ARGS__) == OPTIONS_RUN, "unexpected error: %s", err)

#define ck_err(s, needle, ...) do { \
        ck_assert_msg(RUN((s), __VA_ARGS__) == OPTIONS_ERROR, "accepted: " #__VA_ARGS__); \
        ck_assert_msg(strstr(err, (needle)) != NULL, "\"%s\" not in: %s", (needle), err); \
        ck_assert_msg(strchr(err, '\n') == NULL, "newline in: %s", err); \
    } while (0)

static const struct option_row *row(const char *name)
{
    const struct option_row *r = options_find(name);
    ck_assert_msg(r != NULL, "no row %s", name);
    return r;
}

static bool apply(struct settings *s, const char *name, const char *value)
{
    return options_apply(s, row(name), value, err, sizeof err);
}

static bool takes_value(const struct option_row *r)
{
    return r->kind != OPT_K_FLAG && r->kind != OPT_K_COUNT &&
           r->kind != OPT_K_HELP && r->kind != OPT_K_VERSION;
}

static bool is_numeric(const struct option_row *r)
{
    return r->kind == OPT_K_INT || r->kind == OPT_K_SIZE ||
           r->kind == OPT_K_DOUBLE || r->kind == OPT_K_OCTAL;
}

/* A bound written in the row's input syntax. */
static void bound_text(const struct option_row *r, double v, char *buf, size_t len)
{
    if (r->kind == OPT_K_OCTAL) {
        snprintf(buf, len, "%o", (unsigned)v);
    } else if (r->kind == OPT_K_DOUBLE) {
        snprintf(buf, len, "%g", v);
    } else {
        snprintf(buf, len, "%.0f", v);
    }
}

/* ---------------------------------------------------------------- defaults */

START_TEST(test_defaults)
{
    struct settings s;
    settings_defaults(&s);
    ck_assert_uint_eq(s.port, 11211);
    ck_assert_int_eq(s.nlisten, 0);
    ck_assert_str_eq(s.unix_socket, "");
    ck_assert_uint_eq(s.unix_mask, 0700);
    ck_assert_int_eq(s.udp_port, 0);
    ck_assert_int_eq(s.backlog, 1024);
    ck_assert_int_eq(s.max_conns, 1024);
    ck_assert_int_eq(s.threads, 4);
    ck_assert_int_eq(s.reqs_per_event, 20);
    ck_assert_int_eq(s.idle_timeout, 0);
    ck_assert(!s.daemonize);
    ck_assert_str_eq(s.pidfile, "");
    ck_assert_str_eq(s.user, "memcache");
    ck_assert(!s.lock_memory);
    ck_assert(!s.enable_coredumps);
    ck_assert_int_eq(s.verbose, 0);
    ck_assert_uint_eq(s.mem_limit, 64u * 1024 * 1024);
    ck_assert(s.evictions);
    ck_assert_uint_eq(s.item_size_max, 1024u * 1024);
    ck_assert(s.growth_factor == 1.25);
    ck_assert_uint_eq(s.chunk_min, 48);
    ck_assert(s.use_cas);
    ck_assert_uint_eq(s.hash_power, 0);
    ck_assert(!s.shutdown_enabled);
    ck_assert(s.flush_enabled);
    ck_assert_ptr_null(s.allow);
    ck_assert_int_eq(s.seccomp_mode, SECCOMP_MODE_ON);
    ck_assert_int_eq(s.max_conns_per_ip, 0);
    ck_assert_int_eq(s.read_timeout, 30);
    ck_assert(!s.ssl_enabled);
    ck_assert_str_eq(s.ssl_chain_cert, "");
    ck_assert_str_eq(s.ssl_key, "");
    ck_assert_str_eq(s.ssl_ca_cert, "");
    ck_assert_int_eq(s.ssl_verify_mode, 0);
    ck_assert_int_eq(s.ssl_keyformat, 1);
    ck_assert_str_eq(s.ssl_ciphers, "");
    ck_assert_int_eq(s.ssl_min_version, 2);          /* TLS 1.2, as memcached */
    ck_assert(!s.ssl_session_cache);
    ck_assert_str_eq(s.tls_client_identity, "");
    ck_assert_str_eq(s.auth_file, "");
    ck_assert_int_eq(s.auth_fail_limit, 10);
    ck_assert_int_eq(s.auth_fail_window, 60);
    ck_assert(options_validate(&s, err, sizeof err));
}
END_TEST

START_TEST(test_no_arguments)
{
    struct settings s, d;
    settings_defaults(&d);
    ck_assert_int_eq(run(&s, (char *[]){ "hardcached", NULL }), OPTIONS_RUN);
    ck_assert(memcmp(&s, &d, sizeof s) == 0);
}
END_TEST

/* ------------------------------------------------------------ each flag */

START_TEST(test_valued_flags_short_and_long)
{
    struct settings s;
    ck_ok(&s, "-p", "1234");
    ck_assert_uint_eq(s.port, 1234);
    ck_ok(&s, "-p1235");
    ck_assert_uint_eq(s.port, 1235);
    ck_ok(&s, "--port=1236");
    ck_assert_uint_eq(s.port, 1236);
    ck_ok(&s, "--port", "1237");
    ck_assert_uint_eq(s.port, 1237);

    ck_ok(&s, "-s", "/run/hc.sock", "--unix-mask=0770");
    ck_assert_str_eq(s.unix_socket, "/run/hc.sock");
    ck_assert_uint_eq(s.unix_mask, 0770);
    ck_ok(&s, "--unix-socket=/tmp/x", "-a", "755");
    ck_assert_str_eq(s.unix_socket, "/tmp/x");
    ck_assert_uint_eq(s.unix_mask, 0755);
    ck_ok(&s, "-P", "/run/hc.pid", "-u", "nobody");
    ck_assert_str_eq(s.pidfile, "/run/hc.pid");
    ck_assert_str_eq(s.user, "nobody");
    ck_ok(&s, "--pidfile=/p", "--user=cache");
    ck_assert_str_eq(s.pidfile, "/p");
    ck_assert_str_eq(s.user, "cache");
    ck_ok(&s, "-m", "1024", "-c", "4096", "-t", "8", "-R", "50", "-b", "511");
    ck_assert_uint_eq(s.mem_limit, 1024ull * 1024 * 1024);
    ck_assert_int_eq(s.max_conns, 4096);
    ck_assert_int_eq(s.threads, 8);
    ck_assert_int_eq(s.reqs_per_event, 50);
    ck_assert_int_eq(s.backlog, 511);
    ck_ok(&s, "--memory-limit=128", "--conn-limit=10", "--threads=1",
          "--max-reqs-per-event=1", "--listen-backlog=65535");
    ck_assert_uint_eq(s.mem_limit, 128ull * 1024 * 1024);
    ck_assert_int_eq(s.max_conns, 10);
    ck_assert_int_eq(s.threads, 1);
    ck_assert_int_eq(s.reqs_per_event, 1);
    ck_assert_int_eq(s.backlog, 65535);
    ck_ok(&s, "-I", "2m", "-f", "1.08", "-n", "96");
    ck_assert_uint_eq(s.item_size_max, 2u * 1024 * 1024);
    ck_assert(s.growth_factor == 1.08);
    ck_assert_uint_eq(s.chunk_min, 96);
    ck_ok(&s, "--max-item-size=512k", "--slab-growth-factor=2", "--slab-min-size=64");
    ck_assert_uint_eq(s.item_size_max, 512u * 1024);
    ck_assert(s.growth_factor == 2.0);
    ck_assert_uint_eq(s.chunk_min, 64);
    ck_ok(&s, "-U", "0", "--udp-port=0");
    ck_assert_int_eq(s.udp_port, 0);
}
END_TEST

START_TEST(test_boolean_flags)
{
    struct settings s;
    ck_ok(&s, "-d", "-M", "-C", "-A", "-F", "-k", "-r");
    ck_assert(s.daemonize && !s.evictions && !s.use_cas && s.shutdown_enabled &&
              !s.flush_enabled && s.lock_memory && s.enable_coredumps);
    ck_ok(&s, "-dMCAFkr");
    ck_assert(s.daemonize && !s.evictions && !s.use_cas && s.shutdown_enabled &&
              !s.flush_enabled && s.lock_memory && s.enable_coredumps);
    ck_ok(&s, "--daemon", "--disable-evictions", "--disable-cas", "--enable-shutdown",
          "--disable-flush-all", "--lock-memory", "--enable-coredumps");
    ck_assert(s.daemonize && !s.evictions && !s.use_cas && s.shutdown_enabled &&
              !s.flush_enabled && s.lock_memory && s.enable_coredumps);
}
END_TEST

START_TEST(test_flag_values_for_files)
{
    struct settings s;
    settings_defaults(&s);
    ck_assert(apply(&s, "disable-evictions", "yes"));
    ck_assert(!s.evictions);
    ck_assert(apply(&s, "disable-evictions", "no"));
    ck_assert(s.evictions);
    ck_assert(apply(&s, "daemon", "true"));
    ck_assert(s.daemonize);
    ck_assert(!apply(&s, "daemon", "maybe"));
    ck_assert_str_eq(err, "expected yes or no, got \"maybe\"");
    ck_assert(apply(&s, "verbose", "2"));
    ck_assert_int_eq(s.verbose, 2);
    ck_assert(!apply(&s, "verbose", "4"));
}
END_TEST

START_TEST(test_verbose)
{
    struct settings s;
    ck_ok(&s, "-v");
    ck_assert_int_eq(s.verbose, 1);
    ck_ok(&s, "-vv");
    ck_assert_int_eq(s.verbose, 2);
    ck_ok(&s, "-v", "--verbose", "-v");
    ck_assert_int_eq(s.verbose, 3);
    ck_ok(&s, "-vvvvv");               /* memcached takes it; saturates */
    ck_assert_int_eq(s.verbose, 3);
    ck_ok(&s, "-vp", "99");
    ck_assert_int_eq(s.verbose, 1);
    ck_assert_uint_eq(s.port, 99);
}
END_TEST

START_TEST(test_help_and_version)
{
    struct settings s;
    ck_assert_int_eq(RUN(&s, "-V"), OPTIONS_EXIT_OK);
    ck_assert_str_eq(outbuf, "hardcached 0.1.0 (memcached 1.6 ASCII and binary protocols)\n");
    ck_assert_int_eq(RUN(&s, "--version"), OPTIONS_EXIT_OK);
    ck_assert_str_eq(outbuf, "hardcached 0.1.0 (memcached 1.6 ASCII and binary protocols)\n");
    ck_assert_int_eq(RUN(&s, "-h"), OPTIONS_EXIT_OK);
    ck_assert(strncmp(outbuf, "hardcached 0.1.0", 16) == 0);
    ck_assert_int_eq(RUN(&s, "--help", "-p", "junk"), OPTIONS_EXIT_OK);
    ck_assert_int_eq(RUN(&s, "-p", "junk", "-h"), OPTIONS_ERROR);
}
END_TEST

/* ------------------------------------------------------------- suffixes */

START_TEST(test_item_size_suffixes)
{
    static const struct { const char *in; size_t want; } good[] = {
        { "1024", 1024 }, { "1k", 1024 }, { "1K", 1024 }, { "3k", 3072 },
        { "1m", 1048576 }, { "4M", 4194304 }, { "1025k", 1025 * 1024 },
        { "0001k", 1024 }, { "1g", 1073741824 }, { "1G", 1073741824 },
        { "1073741824", 1073741824 },
    };
    static const char *const bad[] = {
        "1023", "0k", "1t", "k", "1kb", "1k1", "-1k", "+1k", "1.5m", "", " 1k",
        "1k ", "2g", "1073741825", "99999999999999999999k", "18014398509481984k",
        "0x400", "1e3",
    };
    struct settings s;
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        settings_defaults(&s);
        ck_assert_msg(apply(&s, "max-item-size", good[i].in), "%s: %s", good[i].in, err);
        ck_assert_uint_eq(s.item_size_max, good[i].want);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        settings_defaults(&s);
        ck_assert_msg(!apply(&s, "max-item-size", bad[i]), "accepted %s", bad[i]);
        ck_assert_uint_eq(s.item_size_max, 1048576);
        ck_assert(strstr(err, "expected a size 1k-1g") != NULL);
    }
    ck_ok(&s, "-m", "2048", "-I", "1g");
    ck_assert_uint_eq(s.item_size_max, 1073741824);
}
END_TEST

START_TEST(test_memory_limit_is_megabytes)
{
    struct settings s;
    ck_ok(&s, "-m", "65536");
    ck_assert_uint_eq(s.mem_limit, 65536ull * 1024 * 1024);
    /* memcached 1.6 reads "1g" with atoi as 1 MB; we refuse it instead */
    ck_err(&s, "-m/--memory-limit: expected an integer 1-67108864 (megabytes, no suffix), "
           "got \"1g\"", "-m", "1g");
    ck_err(&s, "megabytes", "-m", "0");
    ck_err(&s, "megabytes", "-m", "67108865");
    ck_ok(&s, "-m", "67108864");
    ck_assert_uint_eq(s.mem_limit, 67108864ull * 1024 * 1024);
}
END_TEST

/* ----------------------------------------------------------------- bounds */

/* Every numeric row: its bounds are accepted, one past them and junk are
 * refused with the row's form, and a refused value changes nothing. */
START_TEST(test_bounds_every_numeric_row)
{
    static const char *const junk[] = {
        "", "abc", "-1", "+1", " 1", "1 ", "0x10", "1e3", "1,5", "nan", "inf",
        "1\n", "\xd9\xa1", "99999999999999999999999999",
    };
    for (size_t i = 0; i < options_count; i++) {
        const struct option_row *r = &options_table[i];
        struct settings s, before;
        char text[64];
        if (!is_numeric(r)) {
            continue;
        }
        settings_defaults(&s);
        bound_text(r, r->max, text, sizeof text);
        ck_assert_msg(options_apply(&s, r, text, err, sizeof err), "%s max %s: %s",
                      r->name, text, err);
        bound_text(r, r->max + 1, text, sizeof text);
        ck_assert_msg(!options_apply(&s, r, text, err, sizeof err), "%s took %s",
                      r->name, text);
        if (r->flags & OPT_MIN_EXCLUSIVE) {
            bound_text(r, r->min, text, sizeof text);
            ck_assert_msg(!options_apply(&s, r, text, err, sizeof err), "%s min", r->name);
            bound_text(r, r->min + 0.01, text, sizeof text);
        } else {
            bound_text(r, r->min, text, sizeof text);
        }
        ck_assert_msg(options_apply(&s, r, text, err, sizeof err), "%s min %s: %s",
                      r->name, text, err);
        if (r->min >= 1 && !(r->flags & OPT_MIN_EXCLUSIVE)) {
            bound_text(r, r->min - 1, text, sizeof text);
            ck_assert_msg(!options_apply(&s, r, text, err, sizeof err), "%s took %s",
                          r->name, text);
        }
        before = s;
        for (size_t j = 0; j < sizeof junk / sizeof junk[0]; j++) {
            ck_assert_msg(!options_apply(&s, r, junk[j], err, sizeof err),
                          "%s took \"%s\"", r->name, junk[j]);
            ck_assert(strncmp(err, "expected", 8) == 0 || r->form != NULL);
            ck_assert(memcmp(&s, &before, sizeof s) == 0);
        }
        if (!(r->flags & OPT_BARE)) {
            ck_assert(!options_apply(&s, r, NULL, err, sizeof err));
            ck_assert(strncmp(err, "missing value", 13) == 0);
        }
    }
}
END_TEST

START_TEST(test_bounds_by_hand)
{
    struct settings s;
    ck_err(&s, "-p/--port: expected an integer 1-65535, got \"abc\"", "-p", "abc");
    ck_err(&s, "-p/--port: expected an integer 1-65535, got \"0\"", "-p", "0");
    ck_err(&s, "got \"65536\"", "-p", "65536");
    ck_err(&s, "-t/--threads: expected an integer 1-256", "-t", "0");
    ck_err(&s, "-c/--conn-limit", "-c", "-5");
    ck_err(&s, "-f/--slab-growth-factor: expected a decimal number above 1 and at most 100",
           "-f", "1.0");
    ck_err(&s, "-f/--slab-growth-factor", "-f", "1.");
    ck_err(&s, "-f/--slab-growth-factor", "-f", ".5");
    ck_ok(&s, "-f", "1.2500000000000000000000000000001");   /* long, not huge */
    ck_err(&s, "-a/--unix-mask: expected an octal mask 0-777", "-a", "0o700");
    ck_err(&s, "-a/--unix-mask", "-a", "800");
    ck_err(&s, "-a/--unix-mask", "-a", "1000");
    ck_ok(&s, "-a", "0");
    ck_assert_uint_eq(s.unix_mask, 0);
    ck_err(&s, "-n/--slab-min-size", "-n", "0");
}
END_TEST

START_TEST(test_strings)
{
    struct settings s;
    char user[80], path[200], long_user[80];
    memset(user, 'u', 63);
    user[63] = '\0';
    memset(long_user, 'u', 64);
    long_user[64] = '\0';
    ck_ok(&s, "-u", user);
    ck_assert_str_eq(s.user, user);
    ck_err(&s, "-u/--user: expected 1-63 printable bytes, got \"uuu", "-u", long_user);
    ck_err(&s, "-u/--user", "-u", "");
    ck_err(&s, "-u/--user: expected 1-63 printable bytes, got \"a?b\"", "-u", "a\nb");
    path[0] = '/';
    memset(path + 1, 'p', 106);
    path[107] = '\0';
    ck_ok(&s, "-s", path);
    ck_assert_str_eq(s.unix_socket, path);
    path[107] = 'p';
    path[108] = '\0';
    ck_err(&s, "-s/--unix-socket: expected 1-107 printable bytes", "-s", path);
    ck_err(&s, "-P/--pidfile", "-P", "");
}
END_TEST

START_TEST(test_udp_refused)
{
    struct settings s;
    ck_ok(&s, "-U", "0");
    ck_err(&s, "-U/--udp-port: UDP is not supported", "-U", "11211");
    ck_assert(strstr(err, "amplification") != NULL);
    ck_assert(strstr(err, "got \"11211\"") != NULL);
    ck_err(&s, "UDP is not supported", "--udp-port=1");
    ck_err(&s, "UDP is not supported", "-U", "x");
}
END_TEST

/* ------------------------------------------------------------------ -l */

START_TEST(test_listen_forms)
{
    struct settings s;
    ck_ok(&s, "-l", "10.0.0.1");
    ck_assert_int_eq(s.nlisten, 1);
    ck_assert_str_eq(s.listen[0].host, "10.0.0.1");
    ck_assert_uint_eq(s.listen[0].port, 0);

    ck_ok(&s, "-l", "10.0.0.1:11311,[::1]:11411,::1, localhost ,fe80::1,cache-1.example");
    ck_assert_int_eq(s.nlisten, 6);
    ck_assert_str_eq(s.listen[0].host, "10.0.0.1");
    ck_assert_uint_eq(s.listen[0].port, 11311);
    ck_assert_str_eq(s.listen[1].host, "::1");
    ck_assert_uint_eq(s.listen[1].port, 11411);
    ck_assert_str_eq(s.listen[2].host, "::1");
    ck_assert_uint_eq(s.listen[2].port, 0);
    ck_assert_str_eq(s.listen[3].host, "localhost");
    ck_assert_str_eq(s.listen[4].host, "fe80::1");
    ck_assert_str_eq(s.listen[5].host, "cache-1.example");

    ck_ok(&s, "-l", "127.0.0.1", "--listen=[::ffff:10.1.2.3]:99", "-l", "127.0.0.1");
    ck_assert_int_eq(s.nlisten, 2);       /* exact duplicate dropped */
    ck_assert_str_eq(s.listen[1].host, "::ffff:10.1.2.3");
    ck_assert_uint_eq(s.listen[1].port, 99);
    ck_assert(!s.listen[0].notls && !s.listen[1].notls);
}
END_TEST

/* memcached's "notls:" before an entry: that listener stays plain text
 * with -Z. Accepted with or without -Z (without, every listener is). */
START_TEST(test_listen_notls)
{
    struct settings s;
    ck_ok(&s, "-l", "notls:10.0.0.1:11311,[::1]:11411, notls:[::1]:11412 ,notls:host");
    ck_assert_int_eq(s.nlisten, 4);
    ck_assert(s.listen[0].notls && !s.listen[1].notls && s.listen[2].notls &&
              s.listen[3].notls);
    ck_assert_str_eq(s.listen[0].host, "10.0.0.1");
    ck_assert_uint_eq(s.listen[0].port, 11311);
    ck_assert_str_eq(s.listen[2].host, "::1");
    ck_assert_uint_eq(s.listen[2].port, 11412);
    ck_assert_str_eq(s.listen[3].host, "host");
    ck_assert_uint_eq(s.listen[3].port, 0);
    ck_ok(&s, "-l", "notls:127.0.0.1", "-l", "127.0.0.1,notls:127.0.0.1");
    ck_assert_int_eq(s.nlisten, 2);       /* plain and TLS are two listeners */
    ck_assert(s.listen[0].notls && !s.listen[1].notls);
    ck_ok(&s, "-Z", "-o", "ssl_chain_cert=/etc/hc/cert.pem", "-l",
          "127.0.0.1:11211,notls:127.0.0.1:11212");
    ck_assert(s.ssl_enabled && s.listen[1].notls);
}
END_TEST

START_TEST(test_listen_refused)
{
    static char *const bad[] = {
        "", ",", "10.0.0.1,", ",10.0.0.1", "1.2.3.999", "0", "127.1", "010.0.0.1",
        "[::1", "[::1]:", "[::1]:0", "[::1]x", "[]", "[10.0.0.1]", "[::1]:65536",
        "host:70000", "host:", ":11211", "::1:11211", "a b", "-host", ".host",
        "host_name", "*", "host:1:2x", "10.0.0.1:+1", "10.0.0.1:0x10",
        "notls:", "notls:,", "notls:notls:1.2.3.4", "NOTLS:1.2.3.4", "notls:[::1",
        "notls: 10.0.0.1", "tls:1.2.3.4", "notls:1.2.3.4:0",
    };
    struct settings s;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_msg(RUN(&s, "-l", bad[i]) == OPTIONS_ERROR, "accepted \"%s\"", bad[i]);
        ck_assert_msg(strncmp(err, "hardcached: -l/--listen: expected host[:port]", 45) == 0,
                      "%s", err);
    }
    ck_err(&s, "got \"1.2.3.999\"", "-l", "10.0.0.1,1.2.3.999");
}
END_TEST

START_TEST(test_listen_too_many)
{
    struct settings s;
    char list[512];
    size_t n = 0;
    for (int i = 0; i < SETTINGS_MAX_LISTEN; i++) {
        n += (size_t)snprintf(list + n, sizeof list - n, "%s10.0.0.%d", i ? "," : "", i + 1);
    }
    ck_ok(&s, "-l", list);
    ck_assert_int_eq(s.nlisten, SETTINGS_MAX_LISTEN);
    ck_err(&s, "at most 16 in all", "-l", list, "-l", "10.0.1.1");
    settings_defaults(&s);
    ck_assert(apply(&s, "listen", "10.9.9.9"));
    ck_assert(!apply(&s, "listen", list));     /* all or nothing */
    ck_assert_int_eq(s.nlisten, 1);
    ck_assert_str_eq(s.listen[0].host, "10.9.9.9");
}
END_TEST

START_TEST(test_listen_round_trip)
{
    static const char *const lists[] = {
        "127.0.0.1", "10.0.0.1:11311,[::1]:11411,::1,localhost", "[fe80::1]:1,h:2",
        "notls:127.0.0.1:11212,127.0.0.1:11211", "10.0.0.1,notls:[::1]:2,notls:h,::1",
        "notls:::1",
    };
    struct settings s, t;
    char text[4096];
    settings_defaults(&s);
    options_format(&s, row("listen"), text, sizeof text);
    ck_assert_str_eq(text, OPTIONS_DEFAULT_LISTEN);
    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
        settings_defaults(&s);
        ck_assert(apply(&s, "listen", lists[i]));
        options_format(&s, row("listen"), text, sizeof text);
        ck_assert_str_eq(text, lists[i]);
        settings_defaults(&t);
        ck_assert(apply(&t, "listen", text));
        ck_assert(memcmp(s.listen, t.listen, sizeof s.listen) == 0);
    }
}
END_TEST

/* ------------------------------------------------------------------- -o */

START_TEST(test_extended)
{
    struct settings s;
    ck_ok(&s, "-o", "idle_timeout=30");
    ck_assert_int_eq(s.idle_timeout, 30);
    ck_ok(&s, "-o", "hashpower=16,idle_timeout=5");
    ck_assert_uint_eq(s.hash_power, 16);
    ck_assert_int_eq(s.idle_timeout, 5);
    ck_ok(&s, "--extended=hashpower=32", "-o", "idle_timeout=0");
    ck_assert_uint_eq(s.hash_power, 32);
    ck_err(&s, "-o/--extended: unknown key \"no_lru_crawling\"; expected key[=value]"
           "[,key[=value]...] with memcached's -o keys (listed under -o in --help)",
           "-o", "no_lru_crawling");
    ck_err(&s, "unknown key \"bogus\"", "-o", "bogus=1");
    ck_err(&s, "unknown key \"slab_sizes\"", "-o", "slab_sizes=96-192");  /* not in -h */
    ck_err(&s, "-o/--extended: hashpower: expected an integer 12-32, got \"11\"",
           "-o", "hashpower=11");
    ck_err(&s, "-o/--extended: idle_timeout: missing value; expected an integer",
           "-o", "idle_timeout");
    ck_err(&s, "idle_timeout: expected an integer", "-o", "idle_timeout=");
    ck_err(&s, "-o/--extended: expected key[=value]", "-o", ",");
    ck_err(&s, "-o/--extended: expected key[=value]", "-o", "idle_timeout=1,");
    ck_err(&s, "-o/--extended: expected key[=value]", "-o", "");
    ck_err(&s, "missing value", "-o");

    settings_defaults(&s);
    ck_assert(!apply(&s, "extended", "idle_timeout=5,bogus"));
    ck_assert_int_eq(s.idle_timeout, 0);          /* all or nothing */
    ck_assert(apply(&s, "idle_timeout", "7"));    /* a config-file name too */
    ck_assert_int_eq(s.idle_timeout, 7);
}
END_TEST

/* ----------------------------------------------------------- CLI errors */

START_TEST(test_cli_errors)
{
    struct settings s;
    ck_err(&s, "hardcached: unknown option \"-x\" (see --help)", "-x");
    ck_err(&s, "unknown option \"-x\"", "-vx");
    ck_err(&s, "unknown option \"-q\"", "-q");
    ck_err(&s, "hardcached: unknown or ambiguous option \"--bogus\"", "--bogus");
    ck_err(&s, "unknown or ambiguous option \"--disable\"", "--disable");
    ck_err(&s, "hardcached: -d/--daemon: takes no value, got \"--daemon=1\"", "--daemon=1");
    ck_err(&s, "hardcached: -p/--port: missing value; expected an integer 1-65535", "-p");
    ck_err(&s, "hardcached: -p/--port: missing value", "--port");
    ck_err(&s, "hardcached: unexpected argument \"foo\"", "foo");
    ck_err(&s, "unexpected argument \"foo\"", "-p", "1", "foo", "-d");
    ck_err(&s, "unexpected argument \"-d\"", "--", "-d");
    ck_err(&s, "unexpected argument \"-\"", "-");
    ck_ok(&s, "-p", "2", "--");
    ck_ok(&s, "--po=7");                          /* unique prefix, as getopt_long */
    ck_assert_uint_eq(s.port, 7);
}
END_TEST

/* Every option that takes a value, given junk on the command line, fails
 * with a one-line message that starts by naming it. */
START_TEST(test_error_names_every_option)
{
    for (size_t i = 0; i < options_count; i++) {
        const struct option_row *r = &options_table[i];
        struct settings s;
        char label[64], longform[128], want[128];
        if (r->group == OPT_G_EXTENDED || !takes_value(r)) {
            continue;
        }
        options_label(r, label, sizeof label);
        snprintf(want, sizeof want, "hardcached: %s: ", label);
        snprintf(longform, sizeof longform, "--%s=\x01", r->name);
        ck_assert_int_eq(RUN(&s, longform), OPTIONS_ERROR);
        ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "%s", err);
        ck_assert(strchr(err, '\n') == NULL);
        ck_assert(strchr(err, '\x01') == NULL);
        snprintf(longform, sizeof longform, "--%s", r->name);
        ck_assert_int_eq(RUN(&s, longform), OPTIONS_ERROR);
        ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "%s", err);
        ck_assert(strstr(err, "missing value") != NULL);
    }
}
END_TEST

START_TEST(test_repeated_parses)
{
    struct settings s;
    ck_err(&s, "unknown option", "-vx", "-p", "5");
    ck_ok(&s, "-p", "6", "-v");
    ck_assert_uint_eq(s.port, 6);
    ck_assert_int_eq(s.verbose, 1);
    ck_err(&s, "-p/--port", "-p", "junk");
    ck_ok(&s, "-t", "3");
    ck_assert_uint_eq(s.port, 11211);
    ck_assert_int_eq(s.threads, 3);
}
END_TEST

START_TEST(test_cross_checks)
{
    struct settings s;
    ck_err(&s, "hardcached: -I/--max-item-size: 1m is more than half of "
           "-m/--memory-limit 1; lower -I or raise -m", "-m", "1");
    ck_ok(&s, "-m", "1", "-I", "512k");
    ck_ok(&s, "-m", "4", "-I", "2m");
    ck_err(&s, "-I/--max-item-size: 3m is more than half of", "-m", "4", "-I", "3m");
    ck_err(&s, "hardcached: -n/--slab-min-size: 1024 must be less than "
           "-I/--max-item-size 1k", "-I", "1k", "-n", "1024");
    ck_ok(&s, "-I", "1k", "-n", "1023");
}
END_TEST

/* What -Z needs (options_check.c); the files themselves are the audit's. */
START_TEST(test_tls_cross_checks)
{
    static char chain[] = "ssl_chain_cert=/etc/hc/cert.pem";
    struct settings s;
    ck_err(&s, "hardcached: -Z/--enable-ssl: needs -o ssl_chain_cert=FILE (the server's "
           "certificate and its chain, PEM; and ssl_key=FILE when the key is not in that "
           "file)", "-Z");
    ck_err(&s, "-Z/--enable-ssl: needs -o ssl_chain_cert=FILE", "-Z", "-o",
           "ssl_key=/etc/hc/key.pem");
    ck_ok(&s, "-Z", "-o", chain);
    ck_assert(s.ssl_enabled);
    ck_ok(&s, "--enable-ssl", "-o", "ssl_chain_cert=/c,ssl_key=/k,ssl_session_cache");
    ck_assert(s.ssl_session_cache);
    ck_assert_str_eq(s.ssl_key, "/k");

    /* client certificates asked for, and no CA to verify them: refused */
    ck_err(&s, "hardcached: -o/--extended: ssl_verify_mode: 1 asks for client "
           "certificates, but ssl_ca_cert is not set, so none can be verified; give -o "
           "ssl_ca_cert=FILE (the CAs they must chain to) or set ssl_verify_mode=0",
           "-Z", "-o", chain, "-o", "ssl_verify_mode=1");
    ck_err(&s, "ssl_verify_mode: 3 asks", "-Z", "-o", chain, "-o", "ssl_verify_mode=3");
    ck_ok(&s, "-Z", "-o", chain, "-o", "ssl_verify_mode=2,ssl_ca_cert=/etc/hc/ca.pem");
    ck_assert_int_eq(s.ssl_verify_mode, 2);

    /* without -Z the ssl_* keys are accepted and ignored, as memcached does */
    ck_ok(&s, "-o", "ssl_verify_mode=3,ssl_min_version=0,ssl_key=/k");
    ck_ok(&s, "-o", "ssl_ca_cert=/ca,ssl_ciphers=HIGH:!aNULL,ssl_keyformat=2");
    ck_assert_str_eq(s.ssl_ciphers, "HIGH:!aNULL");
    ck_err(&s, "-o/--extended: ssl_min_version: expected an integer 0-3, got \"4\"",
           "-o", "ssl_min_version=4");
    ck_err(&s, "ssl_chain_cert: expected 1-4095 printable bytes", "-o", "ssl_chain_cert=");

    /* -Y: a path, not read here */
    ck_ok(&s, "-Y", "/nonexistent/auth");
    ck_assert_str_eq(s.auth_file, "/nonexistent/auth");
    ck_ok(&s, "--auth-file=/etc/hc/auth", "--auth-fail-limit", "0", "--auth-fail-window=1");
    ck_assert_int_eq(s.auth_fail_limit, 0);
    ck_assert_int_eq(s.auth_fail_window, 1);
    ck_err(&s, "hardcached: -Y/--auth-file: expected 1-4095 printable bytes", "-Y", "");
    ck_err(&s, "-Y/--auth-file: missing value", "-Y");
    ck_err(&s, "--auth-fail-window: expected an integer 1-86400, got \"0\"",
           "--auth-fail-window", "0");
}
END_TEST

START_TEST(test_tls_client_identity)
{
    static char *const mutual[] = {
        "-Z", "-o", "ssl_chain_cert=/c,ssl_ca_cert=/ca,ssl_verify_mode=2",
    };
    struct settings s;
    ck_ok(&s, mutual[0], mutual[1], mutual[2], "--tls-client-identity",
          "dns:app.example,uri:spiffe://example.org/app,cn:client1");
    ck_assert_str_eq(s.tls_client_identity,
                     "dns:app.example,uri:spiffe://example.org/app,cn:client1");
    ck_ok(&s, "-Z", "-o", "ssl_chain_cert=/c,ssl_ca_cert=/ca,ssl_verify_mode=3",
          "--tls-client-identity=cn:Ops Team");
    ck_err(&s, "hardcached: --tls-client-identity: entry 2 \"client1\": unknown kind; "
           "expected dns:NAME, uri:URI or cn:NAME, comma separated", mutual[0], mutual[1],
           mutual[2], "--tls-client-identity", "dns:a.example,client1");
    ck_err(&s, "--tls-client-identity: entry 1 \"dns:*.example\": wildcards are not "
           "accepted", mutual[0], mutual[1], mutual[2], "--tls-client-identity",
           "dns:*.example");
    /* the syntax first, then what it needs */
    ck_err(&s, "--tls-client-identity: entry 1 \"x\": unknown kind",
           "--tls-client-identity", "x");
    ck_err(&s, "hardcached: --tls-client-identity: needs -Z (it checks the certificates "
           "of TLS clients)", "--tls-client-identity", "cn:a");
    ck_err(&s, "hardcached: --tls-client-identity: needs -o ssl_verify_mode=2 or 3 (every "
           "client shows a certificate), not 0", "-Z", "-o", "ssl_chain_cert=/c",
           "--tls-client-identity", "cn:a");
    ck_err(&s, "needs -o ssl_verify_mode=2 or 3 (every client shows a certificate), not 1",
           "-Z", "-o", "ssl_chain_cert=/c,ssl_ca_cert=/ca,ssl_verify_mode=1",
           "--tls-client-identity", "cn:a");
    ck_err(&s, "hardcached: --tls-client-identity: expected 1-4095 printable bytes",
           "--tls-client-identity", "cn:a\tb");
}
END_TEST

START_TEST(test_not_yet_is_refused)
{
    struct option_row fake = *row("port");
    struct settings s;
    settings_defaults(&s);
    fake.flags |= OPT_NOT_YET;
    ck_assert(!options_apply(&s, &fake, "1", err, sizeof err));
    ck_assert(strstr(err, "not implemented yet") != NULL);
    ck_assert_uint_eq(s.port, 11211);
}
END_TEST

/* ------------------------------------------- memcached's options: the kinds */

/* A value memcached accepts for an ignored row: its lowest bound, its first
 * choice, one byte; none for a flag. */
static const char *accepted_value(const struct option_row *r, char *buf, size_t len)
{
    switch (r->kind) {
    case OPT_K_FLAG: return NULL;
    case OPT_K_CHOICE: return r->choices[0];
    case OPT_K_STRING: return ":";
    case OPT_K_DOUBLE:
        snprintf(buf, len, "%g", (r->flags & OPT_MIN_EXCLUSIVE) ? r->min + 0.5 : r->min);
        return buf;
    default:
        bound_text(r, r->min, buf, len);
        return buf;
    }
}

/* argv for one row: "-X", "--name=v" or "-o", "key[=v]" into a and b. */
static int argv_for(const struct option_row *r, const char *v, char *a, char *b, size_t len)
{
    if (r->group == OPT_G_EXTENDED) {
        snprintf(a, len, "-o");
        snprintf(b, len, "%s%s%s", r->name, v ? "=" : "", v ? v : "");
        return 2;
    }
    if (v == NULL) {
        snprintf(a, len, "--%s", r->name);
        return 1;
    }
    snprintf(a, len, "--%s=%s", r->name, v);
    return 1;
}

/* Settings with the record of ignored options cleared: what they change. */
static void without_ignored(struct settings *s)
{
    memset(s->ignored, 0, sizeof s->ignored);
    s->nignored = 0;
}

/* Every ignored row: accepted, changes no setting, recorded once, announced
 * in one notice line naming it and saying why; --check-config prints none. */
START_TEST(test_ignored_options)
{
    struct settings s, d;
    settings_defaults(&d);
    for (size_t i = 0; i < options_count; i++) {
        const struct option_row *r = &options_table[i];
        char buf[64], a[128], b[128], label[64], want[1024];
        if (!(r->flags & OPT_IGNORED)) {
            continue;
        }
        const char *v = accepted_value(r, buf, sizeof buf);
        int n = argv_for(r, v, a, b, sizeof a);
        ck_assert_msg(run(&s, n == 2 ? (char *[]){ "hardcached", a, b, NULL }
                                     : (char *[]){ "hardcached", a, NULL }) == OPTIONS_RUN,
                      "%s: %s", r->name, err);
        ck_assert_int_eq(s.nignored, 1);
        ck_assert_ptr_nonnull(options_ignored_value(&s, r));
        without_ignored(&s);
        ck_assert_msg(memcmp(&s, &d, sizeof s) == 0, "%s changed a setting", r->name);
        options_label(r, label, sizeof label);
        snprintf(want, sizeof want, "hardcached: %s%s%s: ignored: %s\n", label,
                 v ? "=" : "", v ? v : "", r->help);
        ck_assert_str_eq(notices, want);
        ck_assert_str_eq(options_effect(r), "ignored");
        /* given twice: recorded and announced once, with the last value */
        ck_assert_int_eq(n == 2 ? run(&s, (char *[]){ "hardcached", a, b, a, b, NULL })
                                : run(&s, (char *[]){ "hardcached", a, a, NULL }), OPTIONS_RUN);
        ck_assert_int_eq(s.nignored, 1);
        ck_assert_ptr_null(strchr(strchr(notices, '\n') + 1, '\n'));
        /* --check-config lists them instead (audit.c) */
        ck_assert_int_eq(n == 2 ? run(&s, (char *[]){ "hardcached", "--check-config", a, b,
                                                      NULL })
                                : run(&s, (char *[]){ "hardcached", "--check-config", a,
                                                      NULL }), OPTIONS_RUN);
        ck_assert_int_eq(s.nignored, 1);
        ck_assert_str_eq(notices, "");
    }
}
END_TEST

/* All of them at once: recorded in the order given, one line each. */
START_TEST(test_ignored_all_at_once)
{
    static char *const argv[] = {
        "hardcached", "-L", "-X", "-W", "-D", ":", "-B", "ascii", "-N", "1", "-o",
        "modern,no_modern,maxconns_fast,no_maxconns_fast,lru_crawler,no_lru_crawler,"
        "lru_maintainer,no_lru_maintainer,slab_reassign,no_slab_reassign,slab_automove,"
        "no_slab_automove,hash_algorithm=murmur3,tail_repair_time=60",
        "-o", "hot_lru_pct=20,warm_lru_pct=40,hot_max_factor=0.2,warm_max_factor=2.0,"
        "temporary_ttl=61,slab_chunk_max=524288,track_sizes,no_hashexpand,sock_cookie_id=7",
        "-o", "ext_page_size=64,ext_wbuf_size=4,ext_threads=1,ext_io_depth=1,"
        "ext_item_size=512,ext_item_age=3600,ext_low_ttl=0,ext_drop_unread,"
        "ext_recache_rate=2000,ext_compact_under=10,ext_drop_under=10,ext_max_frag=0.8,"
        "ext_max_sleep=1000000,slab_automove_freeratio=0.01,slab_automove_ratio=0.8,"
        "slab_automove_window=30",
        "-o", "watcher_logbuf_size=256,worker_logbuf_size=64,ssl_wbuf_size=16,ssl_kernel_tls,"
        "no_chunked_items,inline_ascii_resp,no_inline_ascii_resp,drop_privileges,"
        "no_drop_privileges,resp_obj_mem_limit,lru_crawler_sleep=100,lru_crawler_tocrawl=0",
        NULL,
    };
    struct settings s;
    size_t ignored = 0, lines = 0;
    for (size_t i = 0; i < options_count; i++) {
        ignored += (options_table[i].flags & OPT_IGNORED) != 0;
    }
    ck_assert_msg(run(&s, (char **)argv) == OPTIONS_RUN, "%s", err);
    ck_assert_int_eq(s.nignored, (int)ignored);          /* every one of them */
    ck_assert_str_eq(options_table[s.ignored[0].row].name, "enable-largepages");
    ck_assert_str_eq(options_table[s.ignored[s.nignored - 1].row].name, "lru_crawler_tocrawl");
    for (const char *p = notices; (p = strchr(p, '\n')) != NULL; p++) {
        lines++;
    }
    ck_assert_uint_eq(lines, ignored);
    ck_assert(strncmp(notices, "hardcached: -L/--enable-largepages: ignored: ", 45) == 0);
    ck_assert(strstr(notices, "\nhardcached: -o/--extended: hash_algorithm=murmur3: ignored: "
                     "the hash table always uses XXH3") != NULL);
    ck_assert(strstr(notices, "\nhardcached: -o/--extended: slab_automove: ignored: ") != NULL);
}
END_TEST

/* Every refused row: one line with "refused:" and the reason; a refused
 * flag set to no (a config file's enable-sasl = no) asks for nothing. */
START_TEST(test_refused_options)
{
    struct settings s, d;
    settings_defaults(&d);
    for (size_t i = 0; i < options_count; i++) {
        const struct option_row *r = &options_table[i];
        char a[128], b[128], label[64], want[1024];
        if (!(r->flags & OPT_REFUSED)) {
            continue;
        }
        int n = argv_for(r, r->kind == OPT_K_FLAG ? NULL : "/var/lib/x:1G", a, b, sizeof a);
        options_label(r, label, sizeof label);
        snprintf(want, sizeof want, "hardcached: %s: refused: %s", label, r->help);
        ck_assert_int_eq(n == 2 ? run(&s, (char *[]){ "hardcached", a, b, NULL })
                                : run(&s, (char *[]){ "hardcached", a, NULL }), OPTIONS_ERROR);
        ck_assert_str_eq(err, want);
        ck_assert_str_eq(options_effect(r), "refused");
        settings_defaults(&s);
        ck_assert(!apply(&s, r->name, "yes"));
        ck_assert_str_eq(err, want + strlen(label) + 14);     /* without the label */
        ck_assert(apply(&s, r->name, "no") == (r->kind == OPT_K_FLAG));
        ck_assert(memcmp(&s, &d, sizeof s) == 0);
    }
    ck_err(&s, "hardcached: -S/--enable-sasl: needs credentials: --sasl-pwdb FILE or the "
           "MEMCACHED_SASL_PWDB environment variable", "-S");
    ck_err(&s, "-e/--memory-file: refused: a memory file keeps the cache's contents on "
           "disk", "-e", "/dev/shm/memcached");
    ck_err(&s, "-o/--extended: ext_path: refused: extstore writes items to files while "
           "serving, and hardcached opens no file after start-up", "-o",
           "ext_page_size=64,ext_path=/mnt/ext:64G");
    ck_err(&s, "-e/--memory-file: missing value; refused: a memory file", "-e");
    /* -B: memcached's words only; its rules between -B, -S and -Y */
    ck_err(&s, "hardcached: -B/--protocol: expected auto, ascii or binary, got \"udp\"",
           "-B", "udp");
    ck_ok(&s, "--protocol=auto");
    ck_assert_int_eq(s.protocol, SETTINGS_PROTO_AUTO);
    ck_ok(&s, "-B", "binary");
    ck_assert_int_eq(s.protocol, SETTINGS_PROTO_BINARY);
    ck_err(&s, "hardcached: -B/--protocol: ascii: you cannot allow the ASCII protocol while "
           "using SASL (-S)", "-S", "--sasl-pwdb", "/x", "-B", "ascii");
    ck_err(&s, "hardcached: -B/--protocol: binary: you cannot allow the BINARY protocol "
           "while using ascii authentication tokens (-Y)", "-Y", "/x", "-B", "binary");
    ck_err(&s, "hardcached: -S/--enable-sasl: cannot be used with -Y/--auth-file", "-S",
           "-Y", "/x");
    ck_err(&s, "hardcached: --sasl-pwdb: only applies with -S/--enable-sasl", "--sasl-pwdb",
           "/x");
    /* -S: binary, its credentials where -Y's are loaded from */
    ck_ok(&s, "-S", "--sasl-pwdb", "/etc/pw");
    ck_assert(s.sasl && s.protocol == SETTINGS_PROTO_BINARY);
    ck_assert_str_eq(s.auth_file, "/etc/pw");
    ck_ok(&s, "-Y", "/etc/pw");
    ck_assert(!s.sasl && s.protocol == SETTINGS_PROTO_ASCII);
}
END_TEST

/* A bad value for an accepted option is still an error, as in memcached. */
START_TEST(test_ignored_values_checked)
{
    static const struct { const char *arg, *want; } bad[] = {
        { "slab_automove=x", "slab_automove: expected an integer 0-2, got \"x\"" },
        { "slab_automove=3", "slab_automove: expected an integer 0-2, got \"3\"" },
        { "hash_algorithm=md5", "hash_algorithm: expected jenkins, murmur3 or xxh3, got" },
        { "tail_repair_time=5", "tail_repair_time: expected an integer 10-2147483647" },
        { "hot_lru_pct=80", "hot_lru_pct: expected an integer 1-79, got \"80\"" },
        { "warm_lru_pct=0", "warm_lru_pct: expected an integer 1-79" },
        { "slab_automove_ratio=0", "slab_automove_ratio: expected a decimal number above 0" },
        { "slab_automove_window=2", "slab_automove_window: expected an integer 3-" },
        { "lru_crawler_tocrawl=-1", "lru_crawler_tocrawl: expected an integer 0-4294967295" },
        { "lru_crawler_sleep=1000001", "lru_crawler_sleep: expected an integer 0-1000000" },
        { "ext_item_size=x", "ext_item_size: expected an integer" },
        { "ext_max_frag=2", "ext_max_frag: expected a decimal number from 0 and at most 1" },
        { "sock_cookie_id", "sock_cookie_id: missing value" },
        { "lru_crawler=x", "lru_crawler: expected yes or no, got \"x\"" },
        { "hot_lru_pct=60,warm_lru_pct=30", "hot_lru_pct: 60 and warm_lru_pct 30 add up to "
          "more than 80 (memcached refuses it too)" },
        { "hot_lru_pct=41", "hot_lru_pct: 41 and warm_lru_pct 40 add up to more than 80" },
        { "slab_chunk_max=3000", "slab_chunk_max: 3000 must divide 1048576" },
        { "slab_chunk_max=0", "slab_chunk_max: expected an integer 1-1048576" },
        { "hot_max_factor=0.12345678901234567890123456789012", "hot_max_factor: longer than 31 bytes" },
    };
    struct settings s;
    char arg[128], want[256];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(arg, sizeof arg, "%s", bad[i].arg);
        snprintf(want, sizeof want, "hardcached: -o/--extended: %s", bad[i].want);
        ck_assert_int_eq(run(&s, (char *[]){ "hardcached", "-o", arg, NULL }), OPTIONS_ERROR);
        ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "%s: %s", bad[i].arg, err);
        ck_assert_str_eq(notices, "");                 /* a refused start says nothing else */
    }
    ck_err(&s, "hardcached: -N/--napi-ids: expected an integer 1-256, got \"0\"", "-N", "0");
    ck_err(&s, "hardcached: -D/--prefix-delimiter: missing value", "-D");
    ck_err(&s, "hardcached: -D/--prefix-delimiter: expected 1-31 printable bytes", "-D", "");
    ck_err(&s, "hardcached: -L/--enable-largepages: takes no value", "--enable-largepages=1");
    ck_ok(&s, "-o", "hot_lru_pct=40,warm_lru_pct=40,slab_chunk_max=16384", "-I", "2m");
    ck_ok(&s, "-o", "slab_automove,slab_automove=0,resp_obj_mem_limit,resp_obj_mem_limit=1");
    ck_assert_str_eq(options_ignored_value(&s, row("slab_automove")), "0");
}
END_TEST

/* Debian's /etc/memcached.conf as its wrapper passes it, and Puppet-module
 * style lines: they parse, and only -d changes nothing else. */
START_TEST(test_memcached_command_lines)
{
    struct settings s;
    ck_ok(&s, "-m", "64", "-p", "11211", "-u", "memcache", "-l", "127.0.0.1", "-P",
          "/var/run/memcached/memcached.pid");
    ck_assert_int_eq(s.nignored, 0);
    ck_assert_str_eq(notices, "");
    ck_ok(&s, "-d", "-P", "/var/run/memcached.pid", "-m", "2048", "-l", "127.0.0.1",
          "-p", "11211", "-U", "0", "-u", "memcache", "-L", "-c", "8192", "-t", "4",
          "-I", "2m", "-n", "72", "-f", "1.05", "-M", "-o", "modern,idle_timeout=600", "-X",
          "-vv");
    ck_assert_int_eq(s.nignored, 3);
    ck_assert_int_eq(s.idle_timeout, 600);
    ck_assert(!s.evictions && s.daemonize && s.verbose == 2);
    ck_assert(strstr(notices, "-o/--extended: modern: ignored") != NULL);
    ck_err(&s, "-S/--enable-sasl: needs credentials", "-d", "-m", "64", "-S", "-u", "memcache");
    ck_err(&s, "-U/--udp-port: UDP is not supported", "-m", "64", "-U", "11211");
}
END_TEST

/* --------------------------------------------------- the table itself */

static bool ctype_fits(const struct option_row *r)
{
    if (r->flags & (OPT_IGNORED | OPT_REFUSED)) {
        /* no field: the kind only checks the value */
        return r->ctype == OPT_C_NONE && r->size == 0 && r->offset == 0 &&
               (r->kind == OPT_K_FLAG || r->kind == OPT_K_INT || r->kind == OPT_K_DOUBLE ||
                r->kind == OPT_K_STRING || (r->kind == OPT_K_CHOICE && r->choices != NULL));
    }
    switch (r->kind) {
    case OPT_K_FLAG:   return r->ctype == OPT_C_BOOL;
    case OPT_K_DOUBLE: return r->ctype == OPT_C_DOUBLE;
    case OPT_K_STRING: return r->ctype == OPT_C_CHARS && r->max < (double)r->size &&
                              r->min >= 1;
    case OPT_K_LISTEN: return r->ctype == OPT_C_LISTEN;
    case OPT_K_CHOICE: return r->ctype == OPT_C_INT && r->choices != NULL &&
                              r->choices[0] != NULL;
    case OPT_K_ALLOW:
    case OPT_K_ALLOW_FILE: return r->ctype == OPT_C_ALLOWLIST;
    case OPT_K_EXTENDED:
    case OPT_K_HELP:
    case OPT_K_VERSION: return r->ctype == OPT_C_NONE && r->size == 0;
    default: break;
    }
    double top = r->max * (double)(r->unit ? r->unit : 1);
    switch (r->ctype) {
    case OPT_C_INT:  return top <= INT_MAX;
    case OPT_C_UINT: return top <= UINT_MAX;
    case OPT_C_U16:  return top <= 65535;
    case OPT_C_SIZE: return top <= (double)SIZE_MAX;
    default: return false;
    }
}

START_TEST(test_table_consistency)
{
    ck_assert_uint_gt(options_count, 20);
    for (size_t i = 0; i < options_count; i++) {
        const struct option_row *r = &options_table[i];
        ck_assert_msg(r->name != NULL && r->help != NULL && r->help[0] != '\0', "row %zu", i);
        ck_assert_msg(ctype_fits(r), "%s: kind and field disagree", r->name);
        ck_assert_msg(r->min <= r->max, "%s: bounds", r->name);
        ck_assert_msg((r->stats_name != NULL) == (r->stats != OPT_S_NONE), "%s", r->name);
        ck_assert_msg(r->unit == 0 || r->kind == OPT_K_INT, "%s: unit", r->name);
        ck_assert_msg(strchr(r->name, r->group == OPT_G_EXTENDED ? '-' : '_') == NULL,
                      "%s: spelling", r->name);
        if (r->flags & (OPT_IGNORED | OPT_REFUSED)) {
            /* memcached's own, with the reason as help; nothing of ours */
            ck_assert_msg(r->group != OPT_G_HARDENING && r->stats_name == NULL &&
                          r->def == NULL && (r->form == NULL || r->kind == OPT_K_CHOICE),
                          "%s: an ignored or refused row", r->name);
            ck_assert_msg(!((r->flags & OPT_IGNORED) && (r->flags & OPT_REFUSED)), "%s",
                          r->name);
            ck_assert_msg(r->kind != OPT_K_STRING || (r->flags & OPT_REFUSED) ||
                          r->max < SETTINGS_IGNORED_VALUE, "%s: value too long", r->name);
        }
        ck_assert_msg(!(r->flags & OPT_BARE) ||
                      ((r->flags & OPT_IGNORED) && r->group == OPT_G_EXTENDED), "%s", r->name);
        if (r->group == OPT_G_EXTENDED) {
            /* a -o key takes a value, or is a bare word (ssl_session_cache) */
            ck_assert_msg(r->short_flag == 0 && (takes_value(r) || r->kind == OPT_K_FLAG) &&
                          r->kind != OPT_K_EXTENDED, "%s", r->name);
            ck_assert_msg((r->metavar != NULL) == takes_value(r), "%s: metavar", r->name);
        } else {
            ck_assert_msg((r->metavar != NULL) == takes_value(r), "%s: metavar", r->name);
        }
        if (r->group == OPT_G_HARDENING) {
            ck_assert_msg(r->short_flag == 0, "%s: hardening flags are long only", r->name);
        }
        for (size_t j = 0; j < i; j++) {
            const struct option_row *o = &options_table[j];
            ck_assert_msg(strcmp(o->name, r->name) != 0, "duplicate %s", r->name);
            ck_assert_msg(r->short_flag == 0 || o->short_flag != r->short_flag,
                          "duplicate -%c", r->short_flag);
            ck_assert_msg(r->stats_name == NULL || o->stats_name == NULL ||
                          strcmp(o->stats_name, r->stats_name) != 0,
                          "duplicate stat %s", r->name);
        }
    }
    ck_assert(row("enable-shutdown")->flags & OPT_DANGEROUS);
    ck_assert(row("enable-coredumps")->flags & OPT_DANGEROUS);
    ck_assert(row("seccomp")->flags & OPT_DANGEROUS);
    ck_assert_int_eq(row("allow")->group, OPT_G_HARDENING);
    ck_assert_int_eq(row("allow-file")->group, OPT_G_HARDENING);
    ck_assert_int_eq(row("max-conns-per-ip")->group, OPT_G_HARDENING);
    ck_assert_int_eq(row("read-timeout")->group, OPT_G_HARDENING);
    ck_assert_int_eq(row("tls-client-identity")->group, OPT_G_HARDENING);
    ck_assert_int_eq(row("enable-ssl")->short_flag, 'Z');
    ck_assert_int_eq(row("auth-file")->short_flag, 'Y');
    size_t ignored = 0;
    for (size_t i = 0; i < options_count; i++) {
        ignored += (options_table[i].flags & OPT_IGNORED) != 0;
    }
    ck_assert_uint_le(ignored, SETTINGS_MAX_IGNORED);   /* all of them fit at once */
    ck_assert_uint_le(options_count, OPTIONS_MAX_ROWS);
}
END_TEST

/* Defaults are written in input syntax and read back to the same text. */
START_TEST(test_defaults_round_trip)
{
    struct settings s;
    char text[4096];
    settings_defaults(&s);
    for (size_t i = 0; i < options_count; i++) {
        const struct option_row *r = &options_table[i];
        if (r->def != NULL) {
            options_format(&s, r, text, sizeof text);
            ck_assert_msg(strcmp(text, r->def) == 0, "%s: %s != %s", r->name, text, r->def);
        }
    }
}
END_TEST

START_TEST(test_values_round_trip)
{
    static const struct { const char *name, *value; } cases[] = {
        { "port", "80" }, { "memory-limit", "3000" }, { "max-item-size", "1536" },
        { "max-item-size", "5m" }, { "slab-growth-factor", "1.1" },
        { "slab-growth-factor", "1.05" }, { "slab-growth-factor", "3.0" },
        { "unix-mask", "0" }, { "unix-mask", "0755" }, { "user", "cache" },
        { "disable-cas", "yes" }, { "daemon", "no" }, { "verbose", "2" },
        { "idle_timeout", "600" }, { "seccomp", "log" }, { "seccomp", "off" },
        { "max-conns-per-ip", "7" }, { "read-timeout", "0" },
        { "enable-ssl", "yes" }, { "ssl_chain_cert", "/etc/hc/a b.pem" },
        { "ssl_verify_mode", "3" }, { "ssl_min_version", "0" }, { "ssl_keyformat", "2" },
        { "ssl_ciphers", "ECDHE+AESGCM:!aNULL" }, { "ssl_session_cache", "yes" },
        { "tls-client-identity", "dns:a.example, cn:Ops Team" },
        { "auth-file", "/etc/hc/auth" }, { "auth-fail-limit", "0" },
        /* memcached's, without effect: recorded as given */
        { "slab_automove", "2" }, { "lru_crawler", "yes" }, { "lru_crawler", "off" },
        { "protocol", "auto" }, { "hot_max_factor", "0.5" }, { "prefix-delimiter", ":" },
        { "enable-largepages", "1" }, { "hash_algorithm", "jenkins" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct settings s, t;
        char text[256];
        settings_defaults(&s);
        ck_assert(apply(&s, cases[i].name, cases[i].value));
        options_format(&s, row(cases[i].name), text, sizeof text);
        settings_defaults(&t);
        ck_assert_msg(apply(&t, cases[i].name, text), "%s: %s", cases[i].name, err);
        ck_assert_msg(memcmp(&s, &t, sizeof s) == 0, "%s: %s -> %s", cases[i].name,
                      cases[i].value, text);
    }
}
END_TEST

/* ------------------------------------------------------------------ help */

/* Joins wrapped help lines ("\n" + 32 spaces) back into one; checks width. */
static void help_unwrap(char *text)
{
    static const char cont[] = "\n                                ";
    char *line = text;
    for (char *nl = strchr(line, '\n'); nl != NULL; nl = strchr(line, '\n')) {
        ck_assert_msg(nl - line <= 79, "help line too long: %.*s", (int)(nl - line), line);
        line = nl + 1;
    }
    for (char *p = strstr(text, cont); p != NULL; p = strstr(p, cont)) {
        *p = ' ';
        memmove(p + 1, p + sizeof cont - 1, strlen(p + sizeof cont - 1) + 1);
    }
}

START_TEST(test_help_lists_every_option)
{
    FILE *out = fmemopen(outbuf, sizeof outbuf - 1, "w");
    memset(outbuf, 0, sizeof outbuf);
    options_print_help(out);
    fclose(out);
    help_unwrap(outbuf);
    for (size_t i = 0; i < options_count; i++) {
        const struct option_row *r = &options_table[i];
        char want[96];
        if (r->group == OPT_G_EXTENDED && r->metavar == NULL) {
            snprintf(want, sizeof want, "- %s ", r->name);      /* a bare -o word */
        } else if (r->group == OPT_G_EXTENDED) {
            snprintf(want, sizeof want, "- %s=%s", r->name, r->metavar);
        } else {
            snprintf(want, sizeof want, "--%s%s", r->name, r->metavar ? "=" : "\n");
            if (r->metavar == NULL) {
                snprintf(want, sizeof want, "--%s ", r->name);
            }
        }
        ck_assert_msg(strstr(outbuf, want) != NULL, "help lacks %s", want);
        ck_assert_msg(strstr(outbuf, r->help) != NULL, "help lacks text of %s", r->name);
        if (r->short_flag != 0) {
            snprintf(want, sizeof want, "  -%c, --%s", r->short_flag, r->name);
            ck_assert_msg(strstr(outbuf, want) != NULL, "help lacks %s", want);
        }
        if (r->def != NULL && r->kind != OPT_K_FLAG) {
            snprintf(want, sizeof want, "(default: %s)", r->def);
            ck_assert_msg(strstr(outbuf, want) != NULL, "help lacks %s", want);
        }
    }
    ck_assert(strstr(outbuf, "(default: 11211)") != NULL);
    ck_assert(strstr(outbuf, OPTIONS_DEFAULT_LISTEN) != NULL);
    ck_assert_msg(strstr(outbuf, "(null)") == NULL, "help prints (null)");
}
END_TEST

/* ------------------------------------------------------ stats settings */

struct stat_list {
    char names[64][32];
    char values[64][128];
    int n;
};

static void collect(void *ctx, const char *name, const char *value)
{
    struct stat_list *l = ctx;
    ck_assert_int_lt(l->n, 64);
    snprintf(l->names[l->n], sizeof l->names[0], "%s", name);
    snprintf(l->values[l->n], sizeof l->values[0], "%s", value);
    l->n++;
}

static const char *stat(const struct stat_list *l, const char *name)
{
    for (int i = 0; i < l->n; i++) {
        if (strcmp(l->names[i], name) == 0) {
            return l->values[i];
        }
    }
    ck_abort_msg("no stat %s", name);
    return NULL;
}

START_TEST(test_stats_settings_defaults)
{
    /* memcached 1.6.18's values and order for the same settings */
    static const char *const want[][2] = {
        { "maxbytes", "67108864" }, { "maxconns", "1024" }, { "tcpport", "11211" },
        { "udpport", "0" }, { "inter", "127.0.0.1,::1" }, { "verbosity", "0" },
        { "evictions", "on" }, { "domain_socket", "NULL" }, { "umask", "700" },
        { "shutdown_command", "no" }, { "growth_factor", "1.25" },
        { "chunk_size", "48" }, { "num_threads", "4" }, { "detail_enabled", "no" },
        { "reqs_per_event", "20" }, { "cas_enabled", "yes" }, { "tcp_backlog", "1024" },
        { "binding_protocol", "auto-negotiate" }, { "auth_enabled_sasl", "no" },
        { "auth_enabled_ascii", "no" }, { "item_size_max", "1048576" },
        { "maxconns_fast", "yes" }, { "hashpower_init", "0" },
        /* facts of hardcached, whatever memcached option is given */
        { "slab_reassign", "yes" }, { "lru_crawler", "no" },
        { "flush_enabled", "yes" }, { "dump_enabled", "no" }, { "hash_algorithm", "xxh3" },
        { "lru_maintainer_thread", "no" }, { "lru_segmented", "no" }, { "temp_lru", "no" },
        { "idle_timeout", "0" }, { "read_buf_mem_limit", "67108864" },
        { "track_sizes", "no" }, { "inline_ascii_response", "no" }, { "ssl_enabled", "no" },
        { "ssl_chain_cert", "(null)" }, { "ssl_key", "(null)" },      /* 1.6.18's spelling */
        { "ssl_verify_mode", "0" }, { "ssl_keyformat", "1" }, { "ssl_ciphers", "NULL" },
        { "ssl_ca_cert", "NULL" }, { "ssl_session_cache", "no" }, { "ssl_kernel_tls", "no" },
        { "ssl_min_version", "tlsv1.2" },
        /* ours, after memcached's */
        { "allowlist_entries", "0" }, { "seccomp", "on" }, { "max_conns_per_ip", "0" },
        { "per_ip_v6_prefix", "64" },
        { "read_timeout", "30" }, { "tls_client_identity", "NULL" },
        { "auth_fail_limit", "10" }, { "auth_fail_window", "60" },
    };
    struct settings s;
    struct stat_list l = { .n = 0 };
    settings_defaults(&s);
    options_each_setting(&s, collect, &l);
    ck_assert_int_eq(l.n, (int)(sizeof want / sizeof want[0]));
    for (int i = 0; i < l.n; i++) {
        ck_assert_str_eq(l.names[i], want[i][0]);
        ck_assert_msg(strcmp(l.values[i], want[i][1]) == 0, "%s: %s", want[i][0],
                      l.values[i]);
    }
    for (size_t i = 0; i < options_count; i++) {
        if (options_table[i].stats_name != NULL) {
            stat(&l, options_table[i].stats_name);
        }
    }
}
END_TEST

START_TEST(test_stats_settings_values)
{
    struct settings s;
    struct stat_list l = { .n = 0 };
    ck_ok(&s, "-M", "-C", "-F", "-A", "-s", "/tmp/hc.sock", "-a", "755", "-m", "128",
          "-f", "1.5", "-vv", "-l", "10.0.0.1:1,[::1]:2", "-o", "hashpower=20");
    options_each_setting(&s, collect, &l);
    ck_assert_str_eq(stat(&l, "evictions"), "off");
    ck_assert_str_eq(stat(&l, "cas_enabled"), "no");
    ck_assert_str_eq(stat(&l, "flush_enabled"), "no");
    ck_assert_str_eq(stat(&l, "shutdown_command"), "yes");
    ck_assert_str_eq(stat(&l, "domain_socket"), "/tmp/hc.sock");
    ck_assert_str_eq(stat(&l, "umask"), "755");
    ck_assert_str_eq(stat(&l, "maxbytes"), "134217728");
    ck_assert_str_eq(stat(&l, "growth_factor"), "1.50");
    ck_assert_str_eq(stat(&l, "verbosity"), "2");
    ck_assert_str_eq(stat(&l, "inter"), "10.0.0.1:1,[::1]:2");
    ck_assert_str_eq(stat(&l, "hashpower_init"), "20");
    ck_assert_str_eq(stat(&l, "ssl_enabled"), "no");
    ck_assert_str_eq(stat(&l, "auth_enabled_ascii"), "no");

    l.n = 0;
    ck_ok(&s, "-Z", "-Y", "/etc/hc/auth", "-l", "notls:127.0.0.1:1,127.0.0.1:2", "-o",
          "ssl_chain_cert=/etc/hc/cert.pem,ssl_key=/etc/hc/key.pem,ssl_ca_cert=/etc/hc/ca.pem",
          "-o", "ssl_verify_mode=2,ssl_keyformat=2,ssl_ciphers=HIGH,ssl_session_cache",
          "-o", "ssl_min_version=3", "--tls-client-identity", "cn:app");
    options_each_setting(&s, collect, &l);
    ck_assert_str_eq(stat(&l, "inter"), "notls:127.0.0.1:1,127.0.0.1:2");
    ck_assert_str_eq(stat(&l, "auth_enabled_ascii"), "yes");
    ck_assert_str_eq(stat(&l, "binding_protocol"), "ascii");   /* -Y: as memcached */
    ck_assert_str_eq(stat(&l, "ssl_enabled"), "yes");
    ck_assert_str_eq(stat(&l, "ssl_chain_cert"), "/etc/hc/cert.pem");
    ck_assert_str_eq(stat(&l, "ssl_key"), "/etc/hc/key.pem");
    ck_assert_str_eq(stat(&l, "ssl_ca_cert"), "/etc/hc/ca.pem");
    ck_assert_str_eq(stat(&l, "ssl_verify_mode"), "3");   /* memcached prints OpenSSL's flags */
    ck_assert_str_eq(stat(&l, "ssl_keyformat"), "2");
    ck_assert_str_eq(stat(&l, "ssl_ciphers"), "HIGH");
    ck_assert_str_eq(stat(&l, "ssl_session_cache"), "yes");
    ck_assert_str_eq(stat(&l, "ssl_kernel_tls"), "no");
    ck_assert_str_eq(stat(&l, "ssl_min_version"), "tlsv1.3");
    ck_assert_str_eq(stat(&l, "tls_client_identity"), "cn:app");
    for (int v = 0; v <= 3; v++) {                 /* memcached's ssl_proto_text */
        static const char *const verify_flags[] = { "0", "1", "3", "7" };
        char want[16];
        snprintf(want, sizeof want, "tlsv1.%d", v);
        s.ssl_min_version = v;
        s.ssl_verify_mode = v;
        l.n = 0;
        options_each_setting(&s, collect, &l);
        ck_assert_str_eq(stat(&l, "ssl_min_version"), want);
        ck_assert_str_eq(stat(&l, "ssl_verify_mode"), verify_flags[v]);
    }
}
END_TEST

/* -------------------------------------------------------- hardening */

static bool admits(const struct allowlist *al, const char *addr)
{
    struct sockaddr_in6 s6 = { .sin6_family = AF_INET6 };
    struct sockaddr_in s4 = { .sin_family = AF_INET };
    if (strchr(addr, ':') != NULL) {
        ck_assert(inet_pton(AF_INET6, addr, &s6.sin6_addr) == 1);
        return allowlist_admit(al, (const struct sockaddr *)&s6);
    }
    ck_assert(inet_pton(AF_INET, addr, &s4.sin_addr) == 1);
    return allowlist_admit(al, (const struct sockaddr *)&s4);
}

START_TEST(test_allow)
{
    struct settings s;
    ck_ok(&s, "--allow", "10.0.0.0/8");
    ck_assert_uint_eq(allowlist_count(s.allow), 1);
    ck_assert(admits(s.allow, "10.1.2.3"));          /* sealed by the parse */
    ck_assert(admits(s.allow, "::ffff:10.1.2.3"));
    ck_assert(!admits(s.allow, "11.0.0.0"));
    ck_assert(!admits(s.allow, "::1"));
    ck_ok(&s, "--allow=10.0.0.0/8, 192.168.1.7 ,::1", "--allow", "2001:db8::/32");
    ck_assert_uint_eq(allowlist_count(s.allow), 4);
    ck_assert(admits(s.allow, "192.168.1.7") && admits(s.allow, "::1") &&
              admits(s.allow, "2001:db8::1"));
    ck_assert(!admits(s.allow, "192.168.1.8"));
    ck_assert(!allowlist_contains_everything(s.allow));
    ck_ok(&s, "--allow", "0.0.0.0/0");
    ck_assert(allowlist_contains_everything(s.allow));

    ck_err(&s, "hardcached: --allow: \"10.0.0.1/8\": host bits are set beyond the /8 "
           "prefix; write the network as 10.0.0.0/8, or the single host as 10.0.0.1/32",
           "--allow", "10.0.0.1/8");
    ck_err(&s, "hardcached: --allow: \"bogus\": not an IPv4 or IPv6 address; expected "
           "ADDRESS or ADDRESS/PREFIX", "--allow", "10.0.0.0/8", "--allow", "::1,bogus");
    ck_err(&s, "hardcached: --allow: \"10.0.0.0/33\": the prefix must be a number 0-32",
           "--allow=10.0.0.0/33");
    ck_err(&s, "hardcached: --allow: \"\": empty element in the list", "--allow=");
    ck_err(&s, "empty element in the list", "--allow", "10.0.0.0/8,");
    ck_err(&s, "hardcached: --allow: missing value; expected networks as "
           "ADDRESS[/PREFIX][,...]", "--allow");
    ck_err(&s, "unknown or ambiguous option \"--allo\"", "--allo", "10.0.0.0/8");
}
END_TEST

/* All or nothing: a bad element leaves the list (or its absence) as it was. */
START_TEST(test_allow_apply_all_or_nothing)
{
    struct settings s, before;
    char text[256];
    settings_defaults(&s);
    before = s;
    ck_assert(!apply(&s, "allow", "10.0.0.0/8,bad"));
    ck_assert(memcmp(&s, &before, sizeof s) == 0);   /* still no allowlist */
    ck_assert(!apply(&s, "allow", NULL));
    ck_assert(strncmp(err, "missing value", 13) == 0);
    ck_assert(apply(&s, "allow", "10.0.0.0/8"));
    ck_assert(!apply(&s, "allow", "192.168.0.0/16,::1/129"));
    ck_assert_uint_eq(allowlist_count(s.allow), 1);
    options_format(&s, row("allow"), text, sizeof text);
    ck_assert_str_eq(text, "10.0.0.0/8");
    ck_assert(options_validate(&s, err, sizeof err));
    ck_assert(admits(s.allow, "10.0.0.1"));
    options_release(&s);
    ck_assert_ptr_null(s.allow);
    options_release(&s);                              /* twice is fine */
}
END_TEST

START_TEST(test_allow_round_trip)
{
    static const char list[] = "10.0.0.0/8,192.168.1.7/32,::1/128,::ffff:10.0.0.0/104";
    struct settings s, t;
    char text[256], again[256];
    settings_defaults(&s);
    settings_defaults(&t);
    options_format(&s, row("allow"), text, sizeof text);
    ck_assert_str_eq(text, "");
    ck_assert(apply(&s, "allow", "10.0.0.0/8, 192.168.1.7,::1,::ffff:10.0.0.0/104"));
    options_format(&s, row("allow"), text, sizeof text);
    ck_assert_str_eq(text, list);
    ck_assert(apply(&t, "allow", text));
    options_format(&t, row("allow"), again, sizeof again);
    ck_assert_str_eq(again, list);
    options_release(&s);
    options_release(&t);
}
END_TEST

static void write_temp(char *path, size_t len, const char *content)
{
    const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(path, len, "%s/hc_opt_allow_XXXXXX", dir);
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, content, strlen(content)), (ssize_t)strlen(content));
    close(fd);
}

START_TEST(test_allow_file)
{
    struct settings s;
    char good[256], more[256], bad[256], empty[256], want[512];
    write_temp(good, sizeof good, "# offices\n10.0.0.0/8\n\n192.168.1.7  # monitor\n");
    write_temp(more, sizeof more, "2001:db8::/32\r\n");
    write_temp(bad, sizeof bad, "10.0.0.0/8\n# fine so far\n10.0.0.1/8\n");
    write_temp(empty, sizeof empty, "# nothing yet\n\n");

    ck_ok(&s, "--allow-file", good);
    ck_assert_uint_eq(allowlist_count(s.allow), 2);
    ck_assert(admits(s.allow, "10.9.9.9") && admits(s.allow, "192.168.1.7"));
    ck_ok(&s, "--allow-file", good, "--allow=::1", "--allow-file", more);
    ck_assert_uint_eq(allowlist_count(s.allow), 4);
    ck_assert(admits(s.allow, "::1") && admits(s.allow, "2001:db8::5"));

    snprintf(want, sizeof want, "hardcached: --allow-file: %s:3: \"10.0.0.1/8\": host "
             "bits are set beyond the /8 prefix", bad);
    ck_err(&s, want, "--allow-file", bad);
    ck_err(&s, want, "--allow=::1", "--allow-file", bad);
    ck_assert(strstr(err, "or the single host as 10.0.0.1/32") != NULL);
    ck_assert_ptr_null(s.allow);        /* a refused command line sets nothing */
    settings_defaults(&s);
    ck_assert(apply(&s, "allow", "::1"));
    ck_assert(!apply(&s, "allow-file", bad));
    ck_assert_uint_eq(allowlist_count(s.allow), 1);  /* the bad file added nothing */
    ck_assert_int_eq(s.nallow_files, 0);
    ck_assert(apply(&s, "allow-file", good));
    ck_assert_int_eq(s.nallow_files, 1);
    ck_assert_str_eq(s.allow_files[0], good);
    options_release(&s);

    snprintf(want, sizeof want, "hardcached: --allow-file: %s: no network in the file; "
             "an empty allowlist would refuse every client", empty);
    ck_err(&s, want, "--allow-file", empty);
    ck_assert_ptr_null(s.allow);
    ck_err(&s, "hardcached: --allow-file: /nonexistent/allow: cannot open: No such file "
           "or directory", "--allow-file=/nonexistent/allow");
    ck_err(&s, "hardcached: --allow-file: /dev/null: not a regular file",
           "--allow-file", "/dev/null");
    ck_err(&s, "hardcached: --allow-file: missing value; expected a file", "--allow-file");

    settings_defaults(&s);
    ck_assert(!apply(&s, "allow-file", bad));
    ck_assert_ptr_null(s.allow);
    snprintf(want, sizeof want, "%s:3: ", bad);       /* a config file prefixes its own */
    ck_assert(strncmp(err, want, strlen(want)) == 0);
    unlink(good);
    unlink(more);
    unlink(bad);
    unlink(empty);
}
END_TEST

START_TEST(test_seccomp)
{
    static char *const bad[] = { "ON", "yes", "", "of", "on ", "1", "kill" };
    struct settings s;
    ck_ok(&s, "--seccomp=log");
    ck_assert_int_eq(s.seccomp_mode, SECCOMP_MODE_LOG);
    ck_ok(&s, "--seccomp", "off");
    ck_assert_int_eq(s.seccomp_mode, SECCOMP_MODE_OFF);
    ck_ok(&s, "--seccomp=off", "--seccomp=on");      /* the last one wins */
    ck_assert_int_eq(s.seccomp_mode, SECCOMP_MODE_ON);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char want[128];
        snprintf(want, sizeof want, "hardcached: --seccomp: expected on, log or off, "
                 "got \"%s\"", bad[i]);
        ck_err(&s, want, "--seccomp", bad[i]);
        ck_assert_int_eq(s.seccomp_mode, SECCOMP_MODE_ON);
    }
    ck_err(&s, "hardcached: --seccomp: missing value; expected on, log or off", "--seccomp");
}
END_TEST

START_TEST(test_connection_limits)
{
    struct settings s;
    ck_ok(&s, "--max-conns-per-ip", "10", "--read-timeout=5");
    ck_assert_int_eq(s.max_conns_per_ip, 10);
    ck_assert_int_eq(s.read_timeout, 5);
    ck_ok(&s, "--max-conns-per-ip=1048576", "--read-timeout", "0");
    ck_assert_int_eq(s.max_conns_per_ip, 1048576);
    ck_assert_int_eq(s.read_timeout, 0);
    ck_ok(&s, "--read-timeout=86400", "--read-timeout=60");
    ck_assert_int_eq(s.read_timeout, 60);
    ck_err(&s, "hardcached: --max-conns-per-ip: expected an integer 0-1048576, got \"-1\"",
           "--max-conns-per-ip", "-1");
    ck_err(&s, "got \"1048577\"", "--max-conns-per-ip", "1048577");
    ck_err(&s, "hardcached: --read-timeout: expected an integer 0-86400, got \"86401\"",
           "--read-timeout", "86401");
    ck_err(&s, "--read-timeout: expected an integer 0-86400, got \"30s\"",
           "--read-timeout", "30s");
}
END_TEST

START_TEST(test_user_root_refused)
{
    static const char want[] = "hardcached: -u/--user: refusing to run as root; name an "
                               "unprivileged user (default: memcache)";
    struct settings s;
    ck_assert_int_eq(RUN(&s, "-u", "root"), OPTIONS_ERROR);
    ck_assert_str_eq(err, want);
    ck_err(&s, want, "--user=root");
    ck_err(&s, want, "-u", "0");
    ck_err(&s, want, "-u", "nobody", "-u", "root");
    ck_ok(&s, "-u", "root", "-u", "nobody");         /* the last one counts */
    ck_ok(&s, "-u", "memcache");
    ck_ok(&s, "-u", "Root");                           /* another (unknown) user */
    settings_defaults(&s);
    ck_assert(apply(&s, "user", "root"));             /* refused as a whole, */
    ck_assert(!options_validate(&s, err, sizeof err)); /* whatever the source */
    ck_assert_str_eq(err, want);
}
END_TEST

START_TEST(test_stats_settings_hardening)
{
    struct settings s;
    struct stat_list l = { .n = 0 };
    ck_ok(&s, "--allow", "10.0.0.0/8,::1", "--allow=10.0.0.0/8", "--seccomp=log",
          "--max-conns-per-ip", "5", "--read-timeout", "0");
    options_each_setting(&s, collect, &l);
    ck_assert_str_eq(stat(&l, "allowlist_entries"), "3");
    ck_assert_str_eq(stat(&l, "seccomp"), "log");
    ck_assert_str_eq(stat(&l, "max_conns_per_ip"), "5");
    ck_assert_str_eq(stat(&l, "read_timeout"), "0");
    ck_ok(&s, "--seccomp=off");
    l.n = 0;
    options_each_setting(&s, collect, &l);
    ck_assert_str_eq(stat(&l, "seccomp"), "off");
    ck_assert_str_eq(stat(&l, "allowlist_entries"), "0");
}
END_TEST

START_TEST(test_help_hardening_section)
{
    FILE *out = fmemopen(outbuf, sizeof outbuf - 1, "w");
    memset(outbuf, 0, sizeof outbuf);
    options_print_help(out);
    fclose(out);
    help_unwrap(outbuf);
    char *section = strstr(outbuf, "\nHardening options:\n");
    ck_assert_ptr_nonnull(section);
    ck_assert(strstr(section, "      --allow=<cidr,...>") != NULL);
    ck_assert(strstr(section, "      --seccomp=<on|log|off>") != NULL);
    ck_assert(strstr(section, "(default: on)") != NULL);
    ck_assert(strstr(section, "      --read-timeout=<sec>") != NULL);
    ck_assert(strstr(section, "(default: 30)") != NULL);
    ck_assert(strstr(section, "-o, --extended") == NULL);   /* memcached's come first */
}
END_TEST

/* --config, --check-config, --format, --fail-on: command line only, read
 * in the first pass; only the lists may repeat in a file. */
START_TEST(test_startup_mode_rows)
{
    static const char *const early[] = { "config", "check-config", "format", "fail-on" };
    struct settings s;
    for (size_t i = 0; i < sizeof early / sizeof early[0]; i++) {
        const struct option_row *r = row(early[i]);
        ck_assert_msg((r->flags & OPT_EARLY) && (r->flags & OPT_CLI_ONLY), "%s", early[i]);
        ck_assert_int_eq(r->group, OPT_G_HARDENING);
    }
    for (size_t i = 0; i < options_count; i++) {
        const struct option_row *r = &options_table[i];
        bool list = r->kind == OPT_K_LISTEN || r->kind == OPT_K_ALLOW ||
                    r->kind == OPT_K_ALLOW_FILE;
        ck_assert_msg(((r->flags & OPT_REPEATABLE) != 0) == list, "%s: repeatable", r->name);
        ck_assert_msg(!(r->flags & OPT_EARLY) || (r->flags & OPT_CLI_ONLY), "%s", r->name);
        ck_assert_msg(!(r->flags & OPT_ONCE) || strcmp(r->name, "config") == 0, "%s", r->name);
    }
    ck_ok(&s, "--check-config", "--format=json", "--fail-on=critical");
    ck_assert(s.check_config);
    ck_assert_int_eq(s.audit_format, AUDIT_FORMAT_JSON);
    ck_assert_int_eq(s.audit_fail_on, AUDIT_FAIL_ON_CRITICAL);
    ck_ok(&s, "--check-config", "--format", "text", "--fail-on", "warning");
    ck_assert_int_eq(s.audit_format, AUDIT_FORMAT_TEXT);
    ck_err(&s, "hardcached: --format: only applies with --check-config", "--format=json");
    ck_err(&s, "hardcached: --check-config: takes no value", "--check-config=yes");
    ck_err(&s, "hardcached: --config: given twice", "--config=/a", "-p", "1", "--config=/b");
    ck_err(&s, "hardcached: --config: expected 1-4095 printable bytes", "--config=");
}
END_TEST

static Suite *options_suite(void)
{
    Suite *su = suite_create("options");
    TCase *tc = tcase_create("options");
    tcase_add_test(tc, test_defaults);
    tcase_add_test(tc, test_no_arguments);
    tcase_add_test(tc, test_valued_flags_short_and_long);
    tcase_add_test(tc, test_boolean_flags);
    tcase_add_test(tc, test_flag_values_for_files);
    tcase_add_test(tc, test_verbose);
    tcase_add_test(tc, test_help_and_version);
    tcase_add_test(tc, test_item_size_suffixes);
    tcase_add_test(tc, test_memory_limit_is_megabytes);
    tcase_add_test(tc, test_bounds_every_numeric_row);
    tcase_add_test(tc, test_bounds_by_hand);
    tcase_add_test(tc, test_strings);
    tcase_add_test(tc, test_udp_refused);
    tcase_add_test(tc, test_listen_forms);
    tcase_add_test(tc, test_listen_notls);
    tcase_add_test(tc, test_listen_refused);
    tcase_add_test(tc, test_listen_too_many);
    tcase_add_test(tc, test_listen_round_trip);
    tcase_add_test(tc, test_extended);
    tcase_add_test(tc, test_cli_errors);
    tcase_add_test(tc, test_error_names_every_option);
    tcase_add_test(tc, test_repeated_parses);
    tcase_add_test(tc, test_cross_checks);
    tcase_add_test(tc, test_tls_cross_checks);
    tcase_add_test(tc, test_tls_client_identity);
    tcase_add_test(tc, test_not_yet_is_refused);
    tcase_add_test(tc, test_ignored_options);
    tcase_add_test(tc, test_ignored_all_at_once);
    tcase_add_test(tc, test_refused_options);
    tcase_add_test(tc, test_ignored_values_checked);
    tcase_add_test(tc, test_memcached_command_lines);
    tcase_add_test(tc, test_table_consistency);
    tcase_add_test(tc, test_defaults_round_trip);
    tcase_add_test(tc, test_values_round_trip);
    tcase_add_test(tc, test_help_lists_every_option);
    tcase_add_test(tc, test_stats_settings_defaults);
    tcase_add_test(tc, test_stats_settings_values);
    tcase_add_test(tc, test_allow);
    tcase_add_test(tc, test_allow_apply_all_or_nothing);
    tcase_add_test(tc, test_allow_round_trip);
    tcase_add_test(tc, test_allow_file);
    tcase_add_test(tc, test_seccomp);
    tcase_add_test(tc, test_connection_limits);
    tcase_add_test(tc, test_user_root_refused);
    tcase_add_test(tc, test_stats_settings_hardening);
    tcase_add_test(tc, test_help_hardening_section);
    tcase_add_test(tc, test_startup_mode_rows);
    suite_add_tcase(su, tc);
    return su;
}

int main(void)
{
    SRunner *sr = srunner_create(options_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
