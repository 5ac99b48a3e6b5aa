/* options.c: the option table and the code that walks it. Each row says
 * what an option is called, how its text is read (its kind), which settings
 * field it fills, its bounds, default and help; per-kind handlers in
 * kind_ops[] do the reading and writing back. Everything here runs once at
 * start-up over operator input: parsing is strict (digits only, no sign, no
 * junk, bounds per row) and any doubt is an error, never a guess. */
#include "conf/options.h"

#include <arpa/inet.h>
#include <getopt.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>

#include "base/show.h"
#include "sec/allowlist.h"

#define KiB 1024ull
#define MiB (1024ull * KiB)
#define GiB (1024ull * MiB)

/* --- the table ------------------------------------------------------- */

/* --seccomp's words, indexed by SECCOMP_MODE_*. */
static const char *const seccomp_modes[] = {
    [SECCOMP_MODE_ON] = "on", [SECCOMP_MODE_LOG] = "log", [SECCOMP_MODE_OFF] = "off", NULL,
};

/* --format's and --fail-on's words, indexed by AUDIT_FORMAT_* / AUDIT_FAIL_ON_*. */
static const char *const audit_formats[] = {
    [AUDIT_FORMAT_TEXT] = "text", [AUDIT_FORMAT_JSON] = "json", NULL,
};
static const char *const audit_fail_ons[] = {
    [AUDIT_FAIL_ON_WARNING] = "warning", [AUDIT_FAIL_ON_CRITICAL] = "critical", NULL,
};

/* memcached 1.6's flags first, in the order of its -h; then the hardening
 * flags; then the -o keys. Bounds are memcached's where it has them, else
 * generous but finite. */
const struct option_row options_table[] = {
    { .name = "port", .short_flag = 'p', .kind = OPT_K_INT, OPTION_FIELD(port),
      .min = 1, .max = 65535, .def = "11211", .metavar = "<num>",
      .help = "TCP port to listen on",
      .stats_name = "tcpport", .stats = OPT_S_NUM },
    { .name = "udp-port", .short_flag = 'U', .kind = OPT_K_INT, OPTION_FIELD(udp_port),
      .min = 0, .max = 0, .def = "0", .metavar = "<num>",
      .help = "UDP port; only 0 (off) is accepted",
      /* SECURITY: no UDP, ever: memcached's UDP was the 2018 amplification
       * vector. Refusing loudly beats silently ignoring an init script. */
      .form = "UDP is not supported (it is a traffic amplification vector); "
              "only 0 is accepted",
      .stats_name = "udpport", .stats = OPT_S_NUM },
    { .name = "unix-socket", .short_flag = 's', .kind = OPT_K_STRING,
      OPTION_FIELD(unix_socket), .min = 1, .max = 107, .metavar = "<file>",
      .help = "UNIX socket to listen on (disables TCP, as in memcached)",
      .stats_name = "domain_socket", .stats = OPT_S_STRING },
    { .name = "unix-mask", .short_flag = 'a', .kind = OPT_K_OCTAL, OPTION_FIELD(unix_mask),
      .min = 0, .max = 0777, .def = "0700", .metavar = "<mask>",
      .help = "access mask for the UNIX socket, in octal",
      .stats_name = "umask", .stats = OPT_S_OCTAL },
    { .name = "enable-shutdown", .short_flag = 'A', .kind = OPT_K_FLAG,
      OPTION_FIELD(shutdown_enabled),
      .help = "enable the \"shutdown\" command (any client can stop the server)",
      .stats_name = "shutdown_command", .stats = OPT_S_YESNO, .flags = OPT_DANGEROUS },
    { .name = "listen", .short_flag = 'l', .kind = OPT_K_LISTEN, OPTION_FIELD(listen),
      .min = 1, .max = SETTINGS_MAX_LISTEN, .metavar = "<addr>",
      .help = "address to listen on: host[:port], [ipv6]:port or ipv6; comma "
              "list, repeatable (default: " OPTIONS_DEFAULT_LISTEN " only)",
      .stats_name = "inter", .stats = OPT_S_LIST, .flags = OPT_REPEATABLE },
    { .name = "daemon", .short_flag = 'd', .kind = OPT_K_FLAG, OPTION_FIELD(daemonize),
      .help = "run as a daemon" },
    { .name = "enable-coredumps", .short_flag = 'r', .kind = OPT_K_FLAG,
      OPTION_FIELD(enable_coredumps),
      .help = "allow core files (they contain cache contents)",
      .flags = OPT_DANGEROUS },
    { .name = "user", .short_flag = 'u', .kind = OPT_K_STRING, OPTION_FIELD(user),
      .min = 1, .max = 63, .def = "memcache", .metavar = "<user>",
      .help = "user to run as when started as root; root is refused" },
    { .name = "memory-limit", .short_flag = 'm', .kind = OPT_K_INT, OPTION_FIELD(mem_limit),
      .min = 1, .max = 64 * 1024 * 1024, .unit = MiB, .unit_name = "megabytes",
      .def = "64", .metavar = "<mb>",
      .help = "item memory in megabytes",
      .stats_name = "maxbytes", .stats = OPT_S_NUM },
    { .name = "disable-evictions", .short_flag = 'M', .kind = OPT_K_FLAG,
      OPTION_FIELD(evictions), .flags = OPT_INVERT,
      .help = "answer an error when memory is full instead of evicting",
      .stats_name = "evictions", .stats = OPT_S_ONOFF },
    { .name = "conn-limit", .short_flag = 'c', .kind = OPT_K_INT, OPTION_FIELD(max_conns),
      .min = 1, .max = 1024 * 1024, .def = "1024", .metavar = "<num>",
      .help = "max simultaneous connections",
      .stats_name = "maxconns", .stats = OPT_S_NUM },
    { .name = "lock-memory", .short_flag = 'k', .kind = OPT_K_FLAG,
      OPTION_FIELD(lock_memory),
      .help = "lock down all paged memory" },
    { .name = "verbose", .short_flag = 'v', .kind = OPT_K_COUNT, OPTION_FIELD(verbose),
      .min = 0, .max = 3, .metavar = NULL,
      .help = "log timeouts; -vv also each command and answer line",
      .stats_name = "verbosity", .stats = OPT_S_NUM },
    { .name = "help", .short_flag = 'h', .kind = OPT_K_HELP, .flags = OPT_CLI_ONLY,
      .help = "print this help and exit" },
    { .name = "version", .short_flag = 'V', .kind = OPT_K_VERSION, .flags = OPT_CLI_ONLY,
      .help = "print version and exit" },
    { .name = "pidfile", .short_flag = 'P', .kind = OPT_K_STRING, OPTION_FIELD(pidfile),
      .min = 1, .max = 4095, .metavar = "<file>",
      .help = "save the PID in <file>" },
    { .name = "slab-growth-factor", .short_flag = 'f', .kind = OPT_K_DOUBLE,
      OPTION_FIELD(growth_factor), .min = 1, .max = 100, .flags = OPT_MIN_EXCLUSIVE,
      .def = "1.25", .metavar = "<num>",
      .help = "chunk size growth factor between memory classes",
      .stats_name = "growth_factor", .stats = OPT_S_NUM },
    { .name = "slab-min-size", .short_flag = 'n', .kind = OPT_K_INT, OPTION_FIELD(chunk_min),
      .min = 1, .max = 512 * 1024, .def = "48", .metavar = "<bytes>",
      .help = "min space used for key+value+flags",
      .stats_name = "chunk_size", .stats = OPT_S_NUM },
    { .name = "threads", .short_flag = 't', .kind = OPT_K_INT, OPTION_FIELD(threads),
      .min = 1, .max = 256, .def = "4", .metavar = "<num>",
      .help = "number of worker threads",
      .stats_name = "num_threads", .stats = OPT_S_NUM },
    { .name = "max-reqs-per-event", .short_flag = 'R', .kind = OPT_K_INT,
      OPTION_FIELD(reqs_per_event), .min = 1, .max = 10000, .def = "20",
      .metavar = "<num>",
      .help = "requests served per connection before others get a turn",
      .stats_name = "reqs_per_event", .stats = OPT_S_NUM },
    { .name = "disable-cas", .short_flag = 'C', .kind = OPT_K_FLAG, OPTION_FIELD(use_cas),
      .flags = OPT_INVERT,
      .help = "disable use of CAS",
      .stats_name = "cas_enabled", .stats = OPT_S_YESNO },
    { .name = "listen-backlog", .short_flag = 'b', .kind = OPT_K_INT, OPTION_FIELD(backlog),
      .min = 1, .max = 65535, .def = "1024", .metavar = "<num>",
      .help = "queue limit of not yet accepted connections",
      .stats_name = "tcp_backlog", .stats = OPT_S_NUM },
    { .name = "max-item-size", .short_flag = 'I', .kind = OPT_K_SIZE,
      OPTION_FIELD(item_size_max), .min = 1024, .max = (double)GiB, .def = "1m",
      .metavar = "<size>",
      .help = "largest item accepted, k/m/g suffix; at most half of -m",
      .stats_name = "item_size_max", .stats = OPT_S_NUM },
    { .name = "disable-flush-all", .short_flag = 'F', .kind = OPT_K_FLAG,
      OPTION_FIELD(flush_enabled), .flags = OPT_INVERT,
      .help = "disable the flush_all command",
      .stats_name = "flush_enabled", .stats = OPT_S_YESNO },
    { .name = "extended", .short_flag = 'o', .kind = OPT_K_EXTENDED, .flags = OPT_CLI_ONLY,
      .metavar = "<key=val,...>",
      .help = "comma separated list of extended options:" },

    /* Hardening (SPEC §2): long options only. */
    { .name = "allow", .kind = OPT_K_ALLOW, .group = OPT_G_HARDENING, OPTION_FIELD(allow),
      .metavar = "<cidr,...>",
      .help = "serve only peers inside these IPv4/IPv6 networks (e.g. "
              "10.0.0.0/8,2001:db8::/32); others are closed at accept, before "
              "any byte is read or written. Repeatable (default: no allowlist)",
      .stats_name = "allowlist_entries", .stats = OPT_S_ENTRIES, .flags = OPT_REPEATABLE },
    { .name = "allow-file", .kind = OPT_K_ALLOW_FILE, .group = OPT_G_HARDENING,
      OPTION_FIELD(allow), .metavar = "<file>",
      .help = "add the networks listed in <file>, one per line, # comments; "
              "repeatable, combines with --allow",
      .flags = OPT_REPEATABLE },
    /* SECURITY: on by default; log and off are for building the policy and
     * for debugging, and the audit reports them. */
    { .name = "seccomp", .kind = OPT_K_CHOICE, .group = OPT_G_HARDENING,
      OPTION_FIELD(seccomp_mode), .choices = seccomp_modes, .def = "on",
      .metavar = "<on|log|off>",
      .help = "system call filter on every thread: on = a call outside the "
              "compiled-in policy kills the process, log = such calls are logged "
              "and allowed (to build the policy), off = no filter",
      .stats_name = "seccomp", .stats = OPT_S_WORD, .flags = OPT_DANGEROUS },
    { .name = "max-conns-per-ip", .kind = OPT_K_INT, .group = OPT_G_HARDENING,
      OPTION_FIELD(max_conns_per_ip), .min = 0, .max = 1024 * 1024, .def = "0",
      .metavar = "<num>",
      .help = "most connections open at once from one address; 0: no limit",
      .stats_name = "max_conns_per_ip", .stats = OPT_S_NUM },
    { .name = "per-ip-v6-prefix", .kind = OPT_K_INT, .group = OPT_G_HARDENING,
      OPTION_FIELD(per_ip_v6_prefix), .min = 1, .max = 128, .def = "64",
      .metavar = "<bits>",
      .help = "--max-conns-per-ip counts IPv6 peers per /<bits> network (one "
              "host often holds a whole /64); 128: per address. IPv4 peers "
              "count per address",
      .stats_name = "per_ip_v6_prefix", .stats = OPT_S_NUM },
    { .name = "read-timeout", .kind = OPT_K_INT, .group = OPT_G_HARDENING,
      OPTION_FIELD(read_timeout), .min = 0, .max = 24 * 3600, .def = "30",
      .metavar = "<sec>",
      .help = "close a connection that holds a partial request this long "
              "(slowloris); 0: never",
      .stats_name = "read_timeout", .stats = OPT_S_NUM },
    /* SECURITY: one budget for every connection's buffers together, so many
     * clients that send huge lines or never read cannot push memory past it. */
    { .name = "conn-mem-limit", .kind = OPT_K_INT, .group = OPT_G_HARDENING,
      OPTION_FIELD(conn_mem_limit), .min = 0, .max = 1024 * 1024, .unit = MiB,
      .unit_name = "megabytes", .def = "64", .metavar = "<mb>",
      .help = "memory for all connections' input and output buffers together, "
              "in megabytes (0: the default; raised to 2 x -I + 2 when smaller); "
              "past it, the connections holding the most get out-of-memory "
              "errors or are closed",
      .stats_name = "read_buf_mem_limit", .stats = OPT_S_NUM },

    /* Start-up mode (SPEC §2, §6): command line only, applied in the first
     * pass over argv, so the file is read before the other flags and an
     * invalid configuration under --check-config exits 2, not 64. */
    { .name = "config", .kind = OPT_K_STRING, .group = OPT_G_HARDENING,
      OPTION_FIELD(config_file), .min = 1, .max = SETTINGS_PATH_MAX - 1,
      .metavar = "<file>",
      .help = "read options from <file> first (\"name = value\" lines, see "
              "hardcached.conf(5)); the command line overrides the file",
      .flags = OPT_CLI_ONLY | OPT_EARLY | OPT_ONCE },
    { .name = "check-config", .kind = OPT_K_FLAG, .group = OPT_G_HARDENING,
      OPTION_FIELD(check_config),
      .help = "audit the configuration (the file and the flags, as a start "
              "would use them), print the findings and exit, starting nothing: "
              "0 no warnings, 1 warnings, 2 critical findings or an invalid "
              "configuration",
      .flags = OPT_CLI_ONLY | OPT_EARLY },
    { .name = "format", .kind = OPT_K_CHOICE, .group = OPT_G_HARDENING,
      OPTION_FIELD(audit_format), .choices = audit_formats, .def = "text",
      .metavar = "<text|json>",
      .help = "output of --check-config: text (a line per finding) or json",
      .flags = OPT_CLI_ONLY | OPT_EARLY },
    { .name = "fail-on", .kind = OPT_K_CHOICE, .group = OPT_G_HARDENING,
      OPTION_FIELD(audit_fail_on), .choices = audit_fail_ons, .def = "warning",
      .metavar = "<warning|critical>",
      .help = "lowest severity that makes --check-config fail: warning (exit 1), "
              "or critical (warnings exit 0; for a unit's ExecStartPre=)",
      .flags = OPT_CLI_ONLY | OPT_EARLY },

    /* Keys of -o (memcached's names); in a config file, names of their own. */
    { .name = "idle_timeout", .kind = OPT_K_INT, .group = OPT_G_EXTENDED,
      OPTION_FIELD(idle_timeout), .min = 0, .max = 365 * 24 * 3600, .def = "0",
      .metavar = "<sec>",
      .help = "close connections idle this long; 0: never",
      .stats_name = "idle_timeout", .stats = OPT_S_NUM },
    { .name = "hashpower", .kind = OPT_K_INT, .group = OPT_G_EXTENDED,
      OPTION_FIELD(hash_power), .min = 12, .max = 32, .metavar = "<num>",
      .help = "initial hash table size, a power of 2 (default: from -m)",
      .stats_name = "hashpower_init", .stats = OPT_S_NUM },
    { .name = "read_buf_mem_limit", .kind = OPT_K_INT, .group = OPT_G_EXTENDED,
      OPTION_FIELD(conn_mem_limit), .min = 0, .max = 1024 * 1024, .unit = MiB,
      .unit_name = "megabytes", .def = "64", .metavar = "<mb>",
      .help = "memcached's name for --conn-mem-limit (0 is the default here, "
              "never unlimited)" },
};

const size_t options_count = sizeof options_table / sizeof options_table[0];
#define NROWS (sizeof options_table / sizeof options_table[0])

/* --- small helpers ----------------------------------------------------- */

static void *field_of(struct settings *s, const struct option_row *r)
{
    return (char *)s + r->offset;
}

static const void *cfield_of(const struct settings *s, const struct option_row *r)
{
    return (const char *)s + r->offset;
}

/* Integer fields by ctype; the table tests prove every max fits its type. */
static void store_uint(void *p, enum option_ctype t, unsigned long long v)
{
    switch (t) {
    case OPT_C_INT:  *(int *)p = (int)v; break;
    case OPT_C_UINT: *(unsigned *)p = (unsigned)v; break;
    case OPT_C_U16:  *(uint16_t *)p = (uint16_t)v; break;
    case OPT_C_SIZE: *(size_t *)p = (size_t)v; break;
    default: abort();
    }
}

static unsigned long long load_uint(const void *p, enum option_ctype t)
{
    switch (t) {
    case OPT_C_INT:  return (unsigned long long)*(const int *)p;
    case OPT_C_UINT: return *(const unsigned *)p;
    case OPT_C_U16:  return *(const uint16_t *)p;
    case OPT_C_SIZE: return *(const size_t *)p;
    default: abort();
    }
}

/* At least one digit of base 8 or 10, no sign, no space; overflow fails.
 * *end is the first byte after the digits. */
static bool scan_uint(const char *s, unsigned base, unsigned long long *out,
                      const char **end)
{
    unsigned long long v = 0;
    const char *p = s;
    while (*p >= '0' && *p < (char)('0' + base)) {
        unsigned d = (unsigned)(*p - '0');
        if (v > (ULLONG_MAX - d) / base) {
            return false;
        }
        v = v * base + d;
        p++;
    }
    *out = v;
    *end = p;
    return p != s;
}

static bool in_range(const struct option_row *r, double v)
{
    bool above_min = (r->flags & OPT_MIN_EXCLUSIVE) ? v > r->min : v >= r->min;
    return above_min && v <= r->max;
}

/* 1073741824 -> "1g", 1536 -> "1536": the shortest exact spelling. */
static void format_size(unsigned long long v, char *buf, size_t len)
{
    static const struct { unsigned long long mul; char suffix; } units[] = {
        { GiB, 'g' }, { MiB, 'm' }, { KiB, 'k' },
    };
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (v != 0 && v % units[i].mul == 0) {
            snprintf(buf, len, "%llu%c", v / units[i].mul, units[i].suffix);
            return;
        }
    }
    snprintf(buf, len, "%llu", v);
}

/* --- the accepted forms, for error messages ------------------------------ */

static void form_of(const struct option_row *r, char *buf, size_t len);

/* "<form>, got "<value>"": every value error has this shape. */
static bool fail(const struct option_row *r, const char *got, char *err,
                 size_t errlen)
{
    char form[256];
    char clean[80];
    form_of(r, form, sizeof form);
    if (got == NULL) {
        snprintf(err, errlen, "missing value; %s", form);
    } else {
        show_text(got, clean, sizeof clean);
        snprintf(err, errlen, "%s, got \"%s\"", form, clean);
    }
    return false;
}

static void form_extended(char *buf, size_t len)
{
    size_t n = (size_t)snprintf(buf, len, "expected key=value[,key=value...] with keys");
    const char *sep = " ";
    for (size_t i = 0; i < NROWS && n < len; i++) {
        if (options_table[i].group == OPT_G_EXTENDED) {
            n += (size_t)snprintf(buf + n, len - n, "%s%s", sep, options_table[i].name);
            sep = ", ";
        }
    }
}

/* "expected on, log or off" */
static void form_choice(const struct option_row *r, char *buf, size_t len)
{
    size_t n = (size_t)snprintf(buf, len, "expected");
    for (size_t i = 0; r->choices[i] != NULL && n < len; i++) {
        const char *sep = i == 0 ? " " : r->choices[i + 1] == NULL ? " or " : ", ";
        n += (size_t)snprintf(buf + n, len - n, "%s%s", sep, r->choices[i]);
    }
}

static void form_of(const struct option_row *r, char *buf, size_t len)
{
    char lo[32], hi[32];
    if (r->form != NULL) {
        snprintf(buf, len, "%s", r->form);
        return;
    }
    switch (r->kind) {
    case OPT_K_INT:
    case OPT_K_COUNT:
        snprintf(buf, len, "expected an integer %.0f-%.0f%s%s%s", r->min, r->max,
                 r->unit_name ? " (" : "", r->unit_name ? r->unit_name : "",
                 r->unit_name ? ", no suffix)" : "");
        break;
    case OPT_K_SIZE:
        format_size((unsigned long long)r->min, lo, sizeof lo);
        format_size((unsigned long long)r->max, hi, sizeof hi);
        snprintf(buf, len, "expected a size %s-%s (bytes, or a number with a "
                 "k, m or g suffix)", lo, hi);
        break;
    case OPT_K_DOUBLE:
        snprintf(buf, len, "expected a decimal number %s %g and at most %g",
                 (r->flags & OPT_MIN_EXCLUSIVE) ? "above" : "from", r->min, r->max);
        break;
    case OPT_K_STRING:
        snprintf(buf, len, "expected %.0f-%.0f printable bytes", r->min, r->max);
        break;
    case OPT_K_OCTAL:
        snprintf(buf, len, "expected an octal mask %o-%o",
                 (unsigned)r->min, (unsigned)r->max);
        break;
    case OPT_K_LISTEN:
        snprintf(buf, len, "expected host[:port], [ipv6]:port or ipv6, comma "
                 "separated, at most %.0f in all", r->max);
        break;
    case OPT_K_FLAG:
        snprintf(buf, len, "expected yes or no");
        break;
    case OPT_K_EXTENDED:
        form_extended(buf, len);
        break;
    case OPT_K_CHOICE:
        form_choice(r, buf, len);
        break;
    case OPT_K_ALLOW:
        snprintf(buf, len, "expected networks as ADDRESS[/PREFIX][,...], e.g. "
                 "10.0.0.0/8,2001:db8::/32");
        break;
    case OPT_K_ALLOW_FILE:
        snprintf(buf, len, "expected a file with one network (ADDRESS[/PREFIX]) a line");
        break;
    default:
        snprintf(buf, len, "only valid on the command line");
        break;
    }
}

/* --- kinds: reading a value ---------------------------------------------- */

typedef bool apply_fn(struct settings *s, const struct option_row *r,
                      const char *v, char *err, size_t errlen);
typedef void format_fn(const struct settings *s, const struct option_row *r,
                       char *buf, size_t len);

static bool parse_bool(const char *v, bool *out)
{
    static const struct { const char *word; bool value; } words[] = {
        { "yes", true }, { "no", false }, { "true", true }, { "false", false },
        { "on", true }, { "off", false }, { "1", true }, { "0", false },
    };
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        if (strcmp(v, words[i].word) == 0) {
            *out = words[i].value;
            return true;
        }
    }
    return false;
}

static bool apply_flag(struct settings *s, const struct option_row *r,
                       const char *v, char *err, size_t errlen)
{
    bool given = true;
    if (v != NULL && !parse_bool(v, &given)) {
        return fail(r, v, err, errlen);
    }
    *(bool *)field_of(s, r) = given != ((r->flags & OPT_INVERT) != 0);
    return true;
}

static bool apply_int(struct settings *s, const struct option_row *r,
                      const char *v, char *err, size_t errlen)
{
    unsigned long long x;
    unsigned long long unit = r->unit ? r->unit : 1;
    const char *end;
    if (v == NULL || !scan_uint(v, 10, &x, &end) || *end != '\0' ||
        !in_range(r, (double)x) || x > ULLONG_MAX / unit) {
        return fail(r, v, err, errlen);
    }
    store_uint(field_of(s, r), r->ctype, x * unit);
    return true;
}

/* -v, -vv on the command line; "verbose = 2" in a file. More -v than max
 * saturate (memcached accepts -vvvv), they are not an error. */
static bool apply_count(struct settings *s, const struct option_row *r,
                        const char *v, char *err, size_t errlen)
{
    if (v != NULL) {
        return apply_int(s, r, v, err, errlen);
    }
    void *p = field_of(s, r);
    unsigned long long cur = load_uint(p, r->ctype);
    if ((double)cur < r->max) {
        store_uint(p, r->ctype, cur + 1);
    }
    return true;
}

static bool apply_size(struct settings *s, const struct option_row *r,
                       const char *v, char *err, size_t errlen)
{
    static const struct { char c; unsigned long long mul; } suffixes[] = {
        { 'k', KiB }, { 'K', KiB }, { 'm', MiB }, { 'M', MiB }, { 'g', GiB }, { 'G', GiB },
    };
    unsigned long long x, mul = 1;
    const char *end;
    if (v == NULL || !scan_uint(v, 10, &x, &end)) {
        return fail(r, v, err, errlen);
    }
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0] && *end != '\0'; i++) {
        if (*end == suffixes[i].c) {
            mul = suffixes[i].mul;
            end++;
            break;
        }
    }
    if (*end != '\0' || x > ULLONG_MAX / mul || !in_range(r, (double)(x * mul))) {
        return fail(r, v, err, errlen);
    }
    store_uint(field_of(s, r), r->ctype, x * mul);
    return true;
}

static size_t count_digits(const char *p)
{
    size_t n = 0;
    while (p[n] >= '0' && p[n] <= '9') {
        n++;
    }
    return n;
}

/* digits[.digits] only: strtod alone would take "nan", "1e9", "0x1p3", " 2". */
static bool apply_double(struct settings *s, const struct option_row *r,
                         const char *v, char *err, size_t errlen)
{
    size_t whole = v ? count_digits(v) : 0;
    size_t frac = (whole > 0 && v[whole] == '.') ? count_digits(v + whole + 1) : 0;
    size_t used = whole + (frac > 0 ? frac + 1 : 0);
    if (whole == 0 || v[used] != '\0') {
        return fail(r, v, err, errlen);
    }
    double x = strtod(v, NULL);
    if (!in_range(r, x)) {
        return fail(r, v, err, errlen);
    }
    *(double *)field_of(s, r) = x;
    return true;
}

static bool apply_string(struct settings *s, const struct option_row *r,
                         const char *v, char *err, size_t errlen)
{
    if (v == NULL) {
        return fail(r, v, err, errlen);
    }
    size_t n = strlen(v);
    if (!in_range(r, (double)n) || n >= r->size) {
        return fail(r, v, err, errlen);
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c < 0x20 || c == 0x7f) {
            return fail(r, v, err, errlen);
        }
    }
    memcpy(field_of(s, r), v, n + 1);
    return true;
}

static bool apply_octal(struct settings *s, const struct option_row *r,
                        const char *v, char *err, size_t errlen)
{
    unsigned long long x;
    const char *end;
    if (v == NULL || !scan_uint(v, 8, &x, &end) || *end != '\0' ||
        !in_range(r, (double)x)) {
        return fail(r, v, err, errlen);
    }
    store_uint(field_of(s, r), r->ctype, x);
    return true;
}

static bool apply_action(struct settings *s, const struct option_row *r,
                         const char *v, char *err, size_t errlen)
{
    (void)s;
    return fail(r, v, err, errlen);
}

/* --- -l: the listen list ---------------------------------------------------- */

/* A bounded slice of the argument. */
struct span {
    const char *p;
    size_t len;
};

static bool span_copy(struct span sp, char *buf, size_t len)
{
    if (sp.len >= len) {
        return false;
    }
    memcpy(buf, sp.p, sp.len);
    buf[sp.len] = '\0';
    return true;
}

static bool listen_port(struct span sp, uint16_t *port)
{
    char buf[8];
    unsigned long long x;
    const char *end;
    if (!span_copy(sp, buf, sizeof buf) || !scan_uint(buf, 10, &x, &end) ||
        *end != '\0' || x < 1 || x > 65535) {
        return false;
    }
    *port = (uint16_t)x;
    return true;
}

static bool listen_v6(struct span sp, char *host, size_t len)
{
    unsigned char bin[16];
    return span_copy(sp, host, len) && inet_pton(AF_INET6, host, bin) == 1;
}

/* An IPv4 literal or a host name. All-digits-and-dots must be a strict
 * dotted quad: getaddrinfo would read "0" as 0.0.0.0 and "127.1" too. */
static bool listen_host(struct span sp, char *host, size_t len)
{
    unsigned char bin[4];
    bool numeric = true;
    if (sp.len == 0 || sp.len > 253 || !span_copy(sp, host, len) ||
        host[0] == '-' || host[0] == '.') {
        return false;
    }
    for (size_t i = 0; i < sp.len; i++) {
        char c = host[i];
        bool digit = c >= '0' && c <= '9';
        bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        if (!digit && !alpha && c != '.' && c != '-') {
            return false;
        }
        numeric = numeric && (digit || c == '.');
    }
    return !numeric || inet_pton(AF_INET, host, bin) == 1;
}

static size_t span_count(struct span sp, char c)
{
    size_t n = 0;
    for (size_t i = 0; i < sp.len; i++) {
        n += sp.p[i] == c;
    }
    return n;
}

/* "[v6]", "[v6]:port", "v6" (two or more colons), "host", "host:port". */
static bool listen_parse_one(struct span e, struct listen_addr *out)
{
    const char *colon;
    out->port = 0;
    if (e.len > 0 && e.p[0] == '[') {
        const char *rb = memchr(e.p, ']', e.len);
        if (rb == NULL) {
            return false;
        }
        struct span host = { e.p + 1, (size_t)(rb - e.p - 1) };
        struct span rest = { rb + 1, e.len - (size_t)(rb + 1 - e.p) };
        if (!listen_v6(host, out->host, sizeof out->host)) {
            return false;
        }
        return rest.len == 0 ||
               (rest.p[0] == ':' &&
                listen_port((struct span){ rest.p + 1, rest.len - 1 }, &out->port));
    }
    if (span_count(e, ':') > 1) {
        return listen_v6(e, out->host, sizeof out->host);
    }
    colon = memchr(e.p, ':', e.len);
    if (colon == NULL) {
        return listen_host(e, out->host, sizeof out->host);
    }
    struct span host = { e.p, (size_t)(colon - e.p) };
    struct span port = { colon + 1, e.len - host.len - 1 };
    return listen_host(host, out->host, sizeof out->host) &&
           listen_port(port, &out->port);
}

static struct span span_trim(struct span sp)
{
    while (sp.len > 0 && sp.p[0] == ' ') {
        sp.p++;
        sp.len--;
    }
    while (sp.len > 0 && sp.p[sp.len - 1] == ' ') {
        sp.len--;
    }
    return sp;
}

static bool listen_known(const struct listen_addr *list, int n,
                         const struct listen_addr *a)
{
    for (int i = 0; i < n; i++) {
        if (list[i].port == a->port && strcmp(list[i].host, a->host) == 0) {
            return true;
        }
    }
    return false;
}

/* Appends every entry to s->listen, or changes nothing. Exact duplicates
 * are dropped (memcached accepts `-l a -l a` too). */
static bool apply_listen(struct settings *s, const struct option_row *r,
                         const char *v, char *err, size_t errlen)
{
    struct listen_addr list[SETTINGS_MAX_LISTEN];
    int n = s->nlisten;
    if (v == NULL) {
        return fail(r, v, err, errlen);
    }
    memcpy(list, s->listen, sizeof list);
    for (const char *p = v;; p++) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        struct listen_addr a = { .port = 0 };   /* no stale bytes after the NUL */
        char bad[300];
        if (!listen_parse_one(span_trim((struct span){ p, len }), &a)) {
            snprintf(bad, sizeof bad, "%.*s", (int)(len < 299 ? len : 299), p);
            return fail(r, bad, err, errlen);
        }
        if (!listen_known(list, n, &a)) {
            if ((double)n >= r->max) {
                return fail(r, v, err, errlen);
            }
            list[n++] = a;
        }
        if (comma == NULL) {
            break;
        }
        p = comma;
    }
    memcpy(s->listen, list, sizeof list);
    s->nlisten = n;
    return true;
}

/* The composer paired with apply_listen; nlisten 0 writes the defaults. */
static void format_listen(const struct settings *s, const struct option_row *r,
                          char *buf, size_t len)
{
    size_t n = 0;
    (void)r;
    if (s->nlisten == 0) {
        snprintf(buf, len, "%s", OPTIONS_DEFAULT_LISTEN);
        return;
    }
    buf[0] = '\0';
    for (int i = 0; i < s->nlisten && n < len; i++) {
        const struct listen_addr *a = &s->listen[i];
        const char *sep = i ? "," : "";
        bool v6 = strchr(a->host, ':') != NULL;
        if (a->port == 0) {
            n += (size_t)snprintf(buf + n, len - n, "%s%s", sep, a->host);
        } else {
            n += (size_t)snprintf(buf + n, len - n, v6 ? "%s[%s]:%u" : "%s%s:%u",
                                  sep, a->host, (unsigned)a->port);
        }
    }
}

/* --- -o: extended options ----------------------------------------------- */

static const struct option_row *find_row(const char *name, size_t len,
                                         enum option_group group)
{
    for (size_t i = 0; i < NROWS; i++) {
        const struct option_row *r = &options_table[i];
        if (r->group == group && strlen(r->name) == len &&
            memcmp(r->name, name, len) == 0) {
            return r;
        }
    }
    return NULL;
}

static bool apply_value(struct settings *s, const struct option_row *r,
                        const char *v, char *err, size_t errlen);

/* One "key" or "key=value" of -o, applied to s. */
static bool apply_ext_item(struct settings *s, const struct option_row *self,
                           struct span item, char *err, size_t errlen)
{
    const char *eq = memchr(item.p, '=', item.len);
    size_t klen = eq ? (size_t)(eq - item.p) : item.len;
    const struct option_row *r = find_row(item.p, klen, OPT_G_EXTENDED);
    char value[256], sub[512], clean[80];
    if (r == NULL) {
        snprintf(value, sizeof value, "%.*s", (int)(klen < 255 ? klen : 255), item.p);
        show_text(value, clean, sizeof clean);
        form_of(self, sub, sizeof sub);
        snprintf(err, errlen, "unknown key \"%s\"; %s", clean, sub);
        return false;
    }
    if (eq != NULL && !span_copy((struct span){ eq + 1, item.len - klen - 1 },
                                 value, sizeof value)) {
        snprintf(err, errlen, "%s: value longer than %zu bytes", r->name,
                 sizeof value - 1);
        return false;
    }
    if (!apply_value(s, r, eq ? value : NULL, sub, sizeof sub)) {
        snprintf(err, errlen, "%s: %s", r->name, sub);
        return false;
    }
    return true;
}

/* Applies on a copy so that a bad key leaves *s untouched. */
static bool apply_extended(struct settings *s, const struct option_row *r,
                           const char *v, char *err, size_t errlen)
{
    struct settings tmp = *s;
    if (v == NULL) {
        return fail(r, v, err, errlen);
    }
    for (const char *p = v;; p++) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == 0) {
            return fail(r, v, err, errlen);
        }
        if (!apply_ext_item(&tmp, r, (struct span){ p, len }, err, errlen)) {
            return false;
        }
        if (comma == NULL) {
            break;
        }
        p = comma;
    }
    *s = tmp;
    return true;
}

/* --- hardening kinds: choices and the allowlist --------------------------- */

static bool apply_choice(struct settings *s, const struct option_row *r,
                         const char *v, char *err, size_t errlen)
{
    for (size_t i = 0; v != NULL && r->choices[i] != NULL; i++) {
        if (strcmp(v, r->choices[i]) == 0) {
            store_uint(field_of(s, r), r->ctype, i);
            return true;
        }
    }
    return fail(r, v, err, errlen);
}

static void format_choice(const struct settings *s, const struct option_row *r,
                          char *buf, size_t len)
{
    unsigned long long i = load_uint(cfield_of(s, r), r->ctype);
    size_t n = 0;
    while (r->choices[n] != NULL) {
        n++;
    }
    snprintf(buf, len, "%s", i < n ? r->choices[i] : "?");
}

/* --allow and --allow-file add to one allowlist, created by the first. On
 * failure the list is as before (a list created for it is freed again);
 * allowlist_add_list and allowlist_load_file are all or nothing. */
static struct allowlist **allow_target(struct settings *s, const struct option_row *r,
                                       bool *created, char *err, size_t errlen)
{
    struct allowlist **al = field_of(s, r);
    *created = *al == NULL;
    if (*created && (*al = allowlist_create()) == NULL) {
        snprintf(err, errlen, "out of memory for the allowlist");
        return NULL;
    }
    return al;
}

static bool allow_done(struct allowlist **al, bool created, bool ok)
{
    if (!ok && created) {
        allowlist_destroy(al);
    }
    return ok;
}

static bool apply_allow(struct settings *s, const struct option_row *r,
                        const char *v, char *err, size_t errlen)
{
    bool created;
    if (v == NULL) {
        return fail(r, v, err, errlen);
    }
    struct allowlist **al = allow_target(s, r, &created, err, errlen);
    return al != NULL && allow_done(al, created, allowlist_add_list(*al, v, err, errlen));
}

/* SECURITY: a file without a single network is refused: an empty allowlist
 * would refuse every client, and an emptied file is more likely a mistake
 * (a failed deploy) than a wish. */
static bool apply_allow_file(struct settings *s, const struct option_row *r,
                             const char *v, char *err, size_t errlen)
{
    bool created;
    char clean[80];
    if (v == NULL) {
        return fail(r, v, err, errlen);
    }
    size_t plen = strlen(v);
    if (s->nallow_files >= SETTINGS_MAX_ALLOW_FILES) {
        snprintf(err, errlen, "at most %d allowlist files; merge them into fewer",
                 SETTINGS_MAX_ALLOW_FILES);
        return false;
    }
    if (plen == 0 || plen >= SETTINGS_PATH_MAX) {
        return fail(r, v, err, errlen);
    }
    struct allowlist **al = allow_target(s, r, &created, err, errlen);
    if (al == NULL) {
        return false;
    }
    size_t before = allowlist_count(*al);
    bool ok = allowlist_load_file(*al, v, err, errlen);
    if (ok && allowlist_count(*al) == before) {
        show_text(v, clean, sizeof clean);
        snprintf(err, errlen, "%s: no network in the file; an empty allowlist "
                 "would refuse every client", clean);
        ok = false;
    }
    if (ok) {
        /* kept for the audit: who may write the file decides who is served */
        memcpy(s->allow_files[s->nallow_files++], v, plen + 1);
    }
    return allow_done(al, created, ok);
}

/* The composer paired with apply_allow; a file's networks come out inline. */
static void format_allow(const struct settings *s, const struct option_row *r,
                         char *buf, size_t len)
{
    allowlist_format(*(struct allowlist *const *)cfield_of(s, r), buf, len);
}

/* --- kinds: writing a value back ------------------------------------------ */

static void format_flag(const struct settings *s, const struct option_row *r,
                        char *buf, size_t len)
{
    bool on = *(const bool *)cfield_of(s, r);
    bool given = on != ((r->flags & OPT_INVERT) != 0);
    snprintf(buf, len, "%s", given ? "yes" : "no");
}

static void format_int(const struct settings *s, const struct option_row *r,
                       char *buf, size_t len)
{
    unsigned long long unit = r->unit ? r->unit : 1;
    snprintf(buf, len, "%llu", load_uint(cfield_of(s, r), r->ctype) / unit);
}

static void format_sizev(const struct settings *s, const struct option_row *r,
                         char *buf, size_t len)
{
    format_size(load_uint(cfield_of(s, r), r->ctype), buf, len);
}

/* The shortest decimal that reads back as the same double. */
static void format_double(const struct settings *s, const struct option_row *r,
                          char *buf, size_t len)
{
    double x = *(const double *)cfield_of(s, r);
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, len, "%.*f", prec, x);
        if (strtod(buf, NULL) == x) {
            break;
        }
    }
}

static void format_string(const struct settings *s, const struct option_row *r,
                          char *buf, size_t len)
{
    snprintf(buf, len, "%s", (const char *)cfield_of(s, r));
}

static void format_octal(const struct settings *s, const struct option_row *r,
                         char *buf, size_t len)
{
    snprintf(buf, len, "%#llo", load_uint(cfield_of(s, r), r->ctype));
}

static void format_none(const struct settings *s, const struct option_row *r,
                        char *buf, size_t len)
{
    (void)s;
    (void)r;
    if (len > 0) {
        buf[0] = '\0';
    }
}

/* --- kinds: forgetting what a config file added -------------------------- */

typedef void reset_fn(struct settings *s);

static void reset_listen(struct settings *s)
{
    memset(s->listen, 0, sizeof s->listen);
    s->nlisten = 0;
}

static void reset_allow(struct settings *s)
{
    allowlist_destroy(&s->allow);
    memset(s->allow_files, 0, sizeof s->allow_files);
    s->nallow_files = 0;
}

/* What each kind does; indexed by enum option_kind. reset: for the
 * OPT_REPEATABLE rows, empties the field before the command line's first
 * use, so that it replaces (never widens) what a config file gave. */
static const struct kind_ops {
    apply_fn *apply;
    format_fn *format;
    bool takes_arg;           /* on the command line */
    reset_fn *reset;
} kind_ops[] = {
    [OPT_K_FLAG]     = { apply_flag,     format_flag,   false, NULL },
    [OPT_K_COUNT]    = { apply_count,    format_int,    false, NULL },
    [OPT_K_INT]      = { apply_int,      format_int,    true,  NULL },
    [OPT_K_SIZE]     = { apply_size,     format_sizev,  true,  NULL },
    [OPT_K_DOUBLE]   = { apply_double,   format_double, true,  NULL },
    [OPT_K_STRING]   = { apply_string,   format_string, true,  NULL },
    [OPT_K_OCTAL]    = { apply_octal,    format_octal,  true,  NULL },
    [OPT_K_LISTEN]   = { apply_listen,   format_listen, true,  reset_listen },
    [OPT_K_EXTENDED] = { apply_extended, format_none,   true,  NULL },
    [OPT_K_CHOICE]   = { apply_choice,   format_choice, true,  NULL },
    [OPT_K_ALLOW]    = { apply_allow,    format_allow,  true,  reset_allow },
    [OPT_K_ALLOW_FILE] = { apply_allow_file, format_none, true, reset_allow },
    [OPT_K_HELP]     = { apply_action,   format_none,   false, NULL },
    [OPT_K_VERSION]  = { apply_action,   format_none,   false, NULL },
};

static bool apply_value(struct settings *s, const struct option_row *r,
                        const char *v, char *err, size_t errlen)
{
    if (r->flags & OPT_NOT_YET) {
        snprintf(err, errlen, "not implemented yet in hardcached %s",
                 HARDCACHED_VERSION);
        return false;
    }
    return kind_ops[r->kind].apply(s, r, v, err, errlen);
}

bool options_apply(struct settings *s, const struct option_row *row,
                   const char *value, char *err, size_t errlen)
{
    return apply_value(s, row, value, err, errlen);
}

void options_format(const struct settings *s, const struct option_row *row,
                    char *buf, size_t len)
{
    kind_ops[row->kind].format(s, row, buf, len);
}

void options_form(const struct option_row *row, char *buf, size_t len)
{
    form_of(row, buf, len);
}

const struct option_row *options_find(const char *name)
{
    const struct option_row *r = find_row(name, strlen(name), OPT_G_MEMCACHED);
    if (r == NULL) {
        r = find_row(name, strlen(name), OPT_G_HARDENING);
    }
    return r ? r : find_row(name, strlen(name), OPT_G_EXTENDED);
}

void options_label(const struct option_row *r, char *buf, size_t len)
{
    if (r->group == OPT_G_EXTENDED) {
        snprintf(buf, len, "-o/--extended: %s", r->name);
    } else if (r->short_flag != 0) {
        snprintf(buf, len, "-%c/--%s", r->short_flag, r->name);
    } else {
        snprintf(buf, len, "--%s", r->name);
    }
}

/* --- defaults ------------------------------------------------------------------ */

/* Every row's default through the same parser as user input (a FLAG's is
 * "no"), so --help, the table and the running values cannot disagree. */
void settings_defaults(struct settings *s)
{
    memset(s, 0, sizeof *s);
    for (size_t i = 0; i < NROWS; i++) {
        const struct option_row *r = &options_table[i];
        const char *v = r->def;
        char err[512];
        if (r->kind == OPT_K_FLAG && v == NULL) {
            v = "no";
        }
        if (v != NULL && !kind_ops[r->kind].apply(s, r, v, err, sizeof err)) {
            fprintf(stderr, "hardcached: built-in default of %s: %s\n", r->name, err);
            abort();
        }
    }
}

/* --- checks between options ------------------------------------------------ */

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

void options_release(struct settings *s)
{
    allowlist_destroy(&s->allow);
}

/* --- the command line ----------------------------------------------------------- */

/* getopt_long's view of the table. Long-only rows get values above 255. */
struct cli_spec {
    char shorts[2 * NROWS + 3];
    struct option longs[NROWS + 1];
};

static int row_val(size_t i)
{
    char c = options_table[i].short_flag;
    return c ? (unsigned char)c : 256 + (int)i;
}

static const struct option_row *row_by_val(int val)
{
    for (size_t i = 0; i < NROWS; i++) {
        if (options_table[i].group != OPT_G_EXTENDED && row_val(i) == val) {
            return &options_table[i];
        }
    }
    return NULL;
}

/* "+": stop at the first non-option (argv is never permuted); ":": report a
 * missing argument as ':' so it is told apart from an unknown option. */
static void cli_spec_build(struct cli_spec *sp)
{
    size_t ns = 0, nl = 0;
    sp->shorts[ns++] = '+';
    sp->shorts[ns++] = ':';
    for (size_t i = 0; i < NROWS; i++) {
        const struct option_row *r = &options_table[i];
        bool arg = kind_ops[r->kind].takes_arg;
        if (r->group == OPT_G_EXTENDED) {
            continue;
        }
        if (r->short_flag != 0) {
            sp->shorts[ns++] = r->short_flag;
            if (arg) {
                sp->shorts[ns++] = ':';
            }
        }
        sp->longs[nl++] = (struct option){ r->name, arg ? required_argument : no_argument,
                                           NULL, row_val(i) };
    }
    sp->shorts[ns] = '\0';
    sp->longs[nl] = (struct option){ NULL, 0, NULL, 0 };
}

/* Turns getopt's '?' and ':' into one line naming the option. */
static enum options_result cli_getopt_error(int c, char *const argv[], char *err,
                                            size_t errlen)
{
    const struct option_row *r = row_by_val(optopt);
    char label[64], form[256], word[80];
    show_text(argv[optind - 1], word, sizeof word);
    if (r != NULL) {
        options_label(r, label, sizeof label);
        form_of(r, form, sizeof form);
        if (c == ':') {
            snprintf(err, errlen, "hardcached: %s: missing value; %s", label, form);
        } else {
            snprintf(err, errlen, "hardcached: %s: takes no value, got \"%s\"", label, word);
        }
    } else if (optopt == 0) {
        snprintf(err, errlen, "hardcached: unknown or ambiguous option \"%s\" "
                 "(see --help)", word);
    } else if (optopt > 0x20 && optopt < 0x7f) {
        snprintf(err, errlen, "hardcached: unknown option \"-%c\" (see --help)", optopt);
    } else {
        snprintf(err, errlen, "hardcached: unknown option in \"%s\" (see --help)", word);
    }
    return OPTIONS_ERROR;
}

static bool cli_apply(struct settings *s, const struct option_row *r, const char *v,
                      char *err, size_t errlen)
{
    char label[64], why[512];
    if (apply_value(s, r, v, why, sizeof why)) {
        return true;
    }
    options_label(r, label, sizeof label);
    snprintf(err, errlen, "hardcached: %s: %s", label, why);
    return false;
}

/* One option of pass 1 while all is well: -h and -V answer at once, an
 * OPT_ONCE row given again is refused, OPT_EARLY rows go to *s and the rest
 * to the scratch copy (to find their errors in order). */
static enum options_result cli_check_one(struct settings *s, struct settings *scratch,
                                         const struct option_row *r, const char *v,
                                         bool *seen, char *err, size_t errlen, FILE *out)
{
    if (r->kind == OPT_K_HELP || r->kind == OPT_K_VERSION) {
        (r->kind == OPT_K_HELP ? options_print_help : options_print_version)(out);
        return OPTIONS_EXIT_OK;
    }
    if ((r->flags & OPT_ONCE) && *seen) {
        char label[64];
        options_label(r, label, sizeof label);
        snprintf(err, errlen, "hardcached: %s: given twice; it may be given once", label);
        return OPTIONS_ERROR;
    }
    *seen = true;
    return cli_apply((r->flags & OPT_EARLY) ? s : scratch, r, v, err, errlen)
           ? OPTIONS_RUN : OPTIONS_ERROR;
}

/* Pass 1: argv in order, on a scratch copy, exactly as a single pass would
 * see it: the first error (or -h, -V) decides. The OPT_EARLY rows are also
 * applied to *s, even after an error, so that --check-config is known
 * whatever else is wrong. */
static enum options_result cli_check(struct settings *s, int argc, char *const argv[],
                                     char *err, size_t errlen, FILE *out)
{
    struct settings scratch = *s;
    struct cli_spec sp;
    bool seen[NROWS] = { false };
    enum options_result res = OPTIONS_RUN;
    char ignored[1024];
    scratch.allow = NULL;             /* its own list: *s's is never touched */
    cli_spec_build(&sp);
    optind = 0;                       /* glibc: full re-initialisation */
    opterr = 0;
    for (int c; res != OPTIONS_EXIT_OK &&
                (c = getopt_long(argc, argv, sp.shorts, sp.longs, NULL)) != -1;) {
        const struct option_row *r = row_by_val(c);
        const char *v = r && kind_ops[r->kind].takes_arg ? optarg : NULL;
        if (c == '?' || c == ':' || r == NULL) {
            res = res == OPTIONS_RUN ? cli_getopt_error(c, argv, err, errlen) : res;
        } else if (res == OPTIONS_RUN) {
            res = cli_check_one(s, &scratch, r, v, &seen[r - options_table], err, errlen, out);
        } else if (r->flags & OPT_EARLY) {
            /* after an error: only what decides how it is reported */
            (void)cli_apply(s, r, v, ignored, sizeof ignored);
        }
    }
    if (res == OPTIONS_RUN && optind < argc) {
        char word[80];
        show_text(argv[optind], word, sizeof word);
        snprintf(err, errlen, "hardcached: unexpected argument \"%s\" (options take "
                 "the form -p 11211 or --port=11211; see --help)", word);
        res = OPTIONS_ERROR;
    }
    allowlist_destroy(&scratch.allow);
    return res;
}

/* Pass 3, after the config file: argv applied to *s (pass 1 proved it
 * valid; reading an --allow-file again can still fail). */
static bool cli_apply_all(struct settings *s, int argc, char *const argv[], char *err,
                          size_t errlen)
{
    struct cli_spec sp;
    bool reset[NROWS] = { false };     /* by the row that owns the field */
    cli_spec_build(&sp);
    optind = 0;
    opterr = 0;
    for (int c; (c = getopt_long(argc, argv, sp.shorts, sp.longs, NULL)) != -1;) {
        const struct option_row *r = row_by_val(c);
        if (r == NULL || (r->flags & OPT_EARLY)) {
            continue;
        }
        size_t owner = 0;
        while (options_table[owner].offset != r->offset || options_table[owner].size != r->size) {
            owner++;
        }
        if ((r->flags & OPT_REPEATABLE) && !reset[owner] && kind_ops[r->kind].reset) {
            kind_ops[r->kind].reset(s);
        }
        reset[owner] = true;
        if (!cli_apply(s, r, kind_ops[r->kind].takes_arg ? optarg : NULL, err, errlen)) {
            return false;
        }
    }
    return true;
}

enum options_result options_parse_cli(struct settings *s, int argc,
                                      char *const argv[], char *err,
                                      size_t errlen, FILE *out)
{
    enum options_result res = cli_check(s, argc, argv, err, errlen, out);
    if (res != OPTIONS_RUN) {
        return res;
    }
    if (s->config_file[0] != '\0' &&
        !options_parse_config_file(s, s->config_file, err, errlen)) {
        return OPTIONS_ERROR;
    }
    if (!cli_apply_all(s, argc, argv, err, errlen)) {
        return OPTIONS_ERROR;
    }
    return options_validate(s, err, errlen) ? OPTIONS_RUN : OPTIONS_ERROR;
}

/* --- --help and -V ------------------------------------------------------------ */

/* Prints text from column HELP_COL, wrapped at word boundaries. */
#define HELP_COL 32
#define HELP_WIDTH 79

static void help_wrap(FILE *out, const char *text)
{
    int col = HELP_COL;
    while (*text != '\0') {
        const char *sp = strchr(text, ' ');
        int len = sp ? (int)(sp - text) : (int)strlen(text);
        if (col > HELP_COL && col + 1 + len > HELP_WIDTH) {
            fprintf(out, "\n%*s", HELP_COL, "");
            col = HELP_COL;
        } else if (col > HELP_COL) {
            fputc(' ', out);
            col++;
        }
        fprintf(out, "%.*s", len, text);
        col += len;
        text += len + (sp != NULL);
    }
    fputc('\n', out);
}

static void help_line(FILE *out, const struct option_row *r)
{
    char left[96], text[512];
    if (r->group == OPT_G_EXTENDED) {
        snprintf(left, sizeof left, "      - %s=%s", r->name, r->metavar);
    } else if (r->short_flag != 0) {
        snprintf(left, sizeof left, "  -%c, --%s%s%s", r->short_flag, r->name,
                 r->metavar ? "=" : "", r->metavar ? r->metavar : "");
    } else {
        snprintf(left, sizeof left, "      --%s%s%s", r->name,
                 r->metavar ? "=" : "", r->metavar ? r->metavar : "");
    }
    if (strlen(left) < HELP_COL - 1) {
        fprintf(out, "%-*s", HELP_COL, left);
    } else {
        fprintf(out, "%s\n%*s", left, HELP_COL, "");
    }
    snprintf(text, sizeof text, "%s%s%s%s%s", r->help,
             r->def && r->kind != OPT_K_FLAG ? " (default: " : "",
             r->def && r->kind != OPT_K_FLAG ? r->def : "",
             r->def && r->kind != OPT_K_FLAG ? ")" : "",
             (r->flags & OPT_NOT_YET) ? " [not implemented yet]" : "");
    help_wrap(out, text);
}

void options_print_version(FILE *out)
{
    fprintf(out, "hardcached %s (memcached 1.6 ASCII protocol)\n", HARDCACHED_VERSION);
}

void options_print_help(FILE *out)
{
    static const char *const headers[] = {
        [OPT_G_MEMCACHED] = "Options (as memcached 1.6):",
        [OPT_G_HARDENING] = "Hardening options:",
    };
    fprintf(out, "hardcached %s, a memcached-compatible, security-hardened cache server\n"
            "Usage: hardcached [options]\n", HARDCACHED_VERSION);
    for (size_t g = 0; g < sizeof headers / sizeof headers[0]; g++) {
        bool header = false;
        for (size_t i = 0; i < NROWS; i++) {
            const struct option_row *r = &options_table[i];
            if (r->group != (enum option_group)g) {
                continue;
            }
            if (!header) {
                fprintf(out, "\n%s\n", headers[g]);
                header = true;
            }
            help_line(out, r);
            for (size_t j = 0; r->kind == OPT_K_EXTENDED && j < NROWS; j++) {
                if (options_table[j].group == OPT_G_EXTENDED) {
                    help_line(out, &options_table[j]);
                }
            }
        }
    }
}

/* --- stats settings ---------------------------------------------------------- */

/* memcached 1.6's order; rows with a stats name not listed here follow. */
static const char *const stats_order[] = {
    "maxbytes", "maxconns", "tcpport", "udpport", "inter", "verbosity",
    "evictions", "domain_socket", "umask", "shutdown_command", "growth_factor",
    "chunk_size", "num_threads", "reqs_per_event", "cas_enabled", "tcp_backlog",
    "binding_protocol", "auth_enabled_sasl", "auth_enabled_ascii",
    "item_size_max", "maxconns_fast", "hashpower_init", "flush_enabled",
    "idle_timeout", "ssl_enabled", "read_buf_mem_limit",
};

/* Settings memcached reports that are facts of hardcached, not options. */
static const struct { const char *name, *value; } stats_fixed[] = {
    { "binding_protocol", "ascii" },
    { "auth_enabled_sasl", "no" },
    { "auth_enabled_ascii", "no" },
    { "maxconns_fast", "yes" },       /* -c reached: ERROR, then close */
    { "ssl_enabled", "no" },
};

static void stats_value(const struct settings *s, const struct option_row *r,
                        char *buf, size_t len)
{
    const void *p = cfield_of(s, r);
    switch (r->stats) {
    case OPT_S_NUM:
        if (r->ctype == OPT_C_DOUBLE) {
            snprintf(buf, len, "%.2f", *(const double *)p);
        } else {
            snprintf(buf, len, "%llu", load_uint(p, r->ctype));
        }
        break;
    case OPT_S_ONOFF: snprintf(buf, len, "%s", *(const bool *)p ? "on" : "off"); break;
    case OPT_S_YESNO: snprintf(buf, len, "%s", *(const bool *)p ? "yes" : "no"); break;
    case OPT_S_OCTAL: snprintf(buf, len, "%llo", load_uint(p, r->ctype)); break;
    case OPT_S_STRING:
        snprintf(buf, len, "%s", *(const char *)p ? (const char *)p : "NULL");
        break;
    case OPT_S_ENTRIES:
        snprintf(buf, len, "%zu", allowlist_count(*(struct allowlist *const *)p));
        break;
    case OPT_S_WORD:
    default:
        options_format(s, r, buf, len);
        break;
    }
}

static const struct option_row *row_by_stats(const char *name)
{
    for (size_t i = 0; i < NROWS; i++) {
        const char *sn = options_table[i].stats_name;
        if (sn != NULL && strcmp(sn, name) == 0) {
            return &options_table[i];
        }
    }
    return NULL;
}

static bool stats_listed(const char *name)
{
    for (size_t i = 0; i < sizeof stats_order / sizeof stats_order[0]; i++) {
        if (strcmp(stats_order[i], name) == 0) {
            return true;
        }
    }
    return false;
}

static void stats_emit(const struct settings *s, const char *name,
                       void (*fn)(void *, const char *, const char *), void *ctx)
{
    const struct option_row *r = row_by_stats(name);
    char value[SETTINGS_MAX_LISTEN * 272];
    if (r != NULL) {
        stats_value(s, r, value, sizeof value);
        fn(ctx, name, value);
        return;
    }
    for (size_t i = 0; i < sizeof stats_fixed / sizeof stats_fixed[0]; i++) {
        if (strcmp(stats_fixed[i].name, name) == 0) {
            fn(ctx, name, stats_fixed[i].value);
        }
    }
}

void options_each_setting(const struct settings *s,
                          void (*fn)(void *ctx, const char *name, const char *value),
                          void *ctx)
{
    for (size_t i = 0; i < sizeof stats_order / sizeof stats_order[0]; i++) {
        stats_emit(s, stats_order[i], fn, ctx);
    }
    for (size_t i = 0; i < NROWS; i++) {
        const char *sn = options_table[i].stats_name;
        if (sn != NULL && !stats_listed(sn)) {
            stats_emit(s, sn, fn, ctx);
        }
    }
}
