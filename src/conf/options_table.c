/* options_table.c: the rows of the option table, and nothing else. A new
 * option is one row here (name, kind, settings field, bounds, default, help,
 * stats name, flags) plus the code that uses its value; what a kind means
 * lives in options.c, and every reader of options walks these rows. Every
 * flag and -o key of memcached 1.6.18 is a row: implemented, OPT_IGNORED
 * (no field; .help says why it has no effect here) or OPT_REFUSED (.help says
 * why, and what to use instead). */
#include "conf/options.h"

#define MiB (1024ull * 1024)
#define GiB (1024ull * MiB)

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

/* -B's words, indexed by SETTINGS_PROTO_*, and -o hash_algorithm's. */
static const char *const protocols[] = {
    [SETTINGS_PROTO_AUTO] = "auto", [SETTINGS_PROTO_ASCII] = "ascii",
    [SETTINGS_PROTO_BINARY] = "binary", NULL,
};
static const char *const hash_algorithms[] = { "jenkins", "murmur3", "xxh3", NULL };

/* Why whole families of memcached's -o keys have no effect here. */
#define ALWAYS "always so here; "
#define NO_CRAWLER "there is no LRU crawler; an expired item is dropped by the lookup or " \
                   "eviction that meets it"
#define NO_SEGMENTS "one LRU per memory class, with second-chance eviction and no hot, " \
                    "warm or cold segments or maintainer thread"
#define NO_AUTOMOVE "pages move between memory classes on demand, when a class needs " \
                    "memory; no background thread decides"
#define NO_EXTSTORE "tunes extstore, which is not available here (ext_path is refused)"
#define NO_WATCH "there are no watch commands, whose log buffers this sizes"
#define NO_CHUNKS "items are never split into chunks here; each is stored whole in a " \
                  "chunk of its memory class"
#define PRIVILEGES "privileges are dropped and every thread runs under seccomp " \
                   "(--seccomp, audited, is the switch)"
#define MAXCONNS_FAST "past -c a new connection gets ERROR Too many open connections " \
                      "and is closed"

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
    { .name = "license", .short_flag = 'i', .kind = OPT_K_VERSION, .flags = OPT_CLI_ONLY,
      .help = "print the version and exit, as -V (memcached prints its license text; "
              "hardcached has none built in)" },
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
    { .name = "enable-largepages", .short_flag = 'L', .kind = OPT_K_FLAG, .flags = OPT_IGNORED,
      .help = "memcached preallocates item memory in large pages; here item memory is "
              "not preallocated (pages are used as items arrive)" },
    { .name = "prefix-delimiter", .short_flag = 'D', .kind = OPT_K_STRING,
      .min = 1, .max = SETTINGS_IGNORED_VALUE - 1, .metavar = "<char>", .flags = OPT_IGNORED,
      .help = "memcached's per-prefix statistics (no long form there) are not kept "
              "here; stats detail answers CLIENT_ERROR" },
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
    { .name = "protocol", .short_flag = 'B', .kind = OPT_K_CHOICE, OPTION_FIELD(protocol),
      .choices = protocols, .def = "auto", .metavar = "<auto|ascii|binary>",
      .help = "protocol: auto (the first byte of a connection decides: 0x80 is binary), "
              "ascii or binary; -S makes auto binary, -Y makes it ascii",
      .stats_name = "binding_protocol", .stats = OPT_S_PROTOCOL },
    { .name = "max-item-size", .short_flag = 'I', .kind = OPT_K_SIZE,
      OPTION_FIELD(item_size_max), .min = 1024, .max = (double)GiB, .def = "1m",
      .metavar = "<size>",
      .help = "largest item accepted, k/m/g suffix; at most half of -m",
      .stats_name = "item_size_max", .stats = OPT_S_NUM },
    /* SECURITY: -S without credentials is refused (options_check.c), never
     * served open; SASL's password travels in clear text without -Z. */
    { .name = "enable-sasl", .short_flag = 'S', .kind = OPT_K_FLAG, OPTION_FIELD(sasl),
      .help = "SASL PLAIN authentication over the binary protocol (the ASCII protocol is "
              "then off); credentials from --sasl-pwdb or MEMCACHED_SASL_PWDB",
      .stats_name = "auth_enabled_sasl", .stats = OPT_S_YESNO },
    { .name = "disable-flush-all", .short_flag = 'F', .kind = OPT_K_FLAG,
      OPTION_FIELD(flush_enabled), .flags = OPT_INVERT,
      .help = "disable the flush_all command",
      .stats_name = "flush_enabled", .stats = OPT_S_YESNO },
    { .name = "disable-dumping", .short_flag = 'X', .kind = OPT_K_FLAG, .flags = OPT_IGNORED,
      .help = ALWAYS "stats cachedump and lru_crawler metadump are never served" },
    { .name = "disable-watch", .short_flag = 'W', .kind = OPT_K_FLAG, .flags = OPT_IGNORED,
      .help = ALWAYS "there are no watch commands" },
    { .name = "auth-file", .short_flag = 'Y', .kind = OPT_K_STRING, OPTION_FIELD(auth_file),
      .min = 1, .max = SETTINGS_PATH_MAX - 1, .metavar = "<file>",
      .help = "ASCII protocol authentication: \"user:password\" lines; a client "
              "logs in with \"set <any> 0 0 <len>\" carrying \"user password\"",
      .stats_name = "auth_enabled_ascii", .stats = OPT_S_ASCII_AUTH },
    /* SECURITY: a memory file puts the cache's contents on disk, where they
     * outlive the process and its permissions. */
    { .name = "memory-file", .short_flag = 'e', .kind = OPT_K_STRING, .flags = OPT_REFUSED,
      .min = 1, .max = SETTINGS_PATH_MAX - 1, .metavar = "<file>",
      .help = "a memory file keeps the cache's contents on disk (memcached's restartable "
              "cache), and hardcached keeps items in memory only; remove -e (a restart "
              "starts with an empty cache)" },
    { .name = "enable-ssl", .short_flag = 'Z', .kind = OPT_K_FLAG, OPTION_FIELD(ssl_enabled),
      .help = "TLS on every listener not marked notls: (needs -o ssl_chain_cert)",
      .stats_name = "ssl_enabled", .stats = OPT_S_YESNO },
    { .name = "extended", .short_flag = 'o', .kind = OPT_K_EXTENDED, .flags = OPT_CLI_ONLY,
      .metavar = "<key=val,...>",
      .help = "comma separated list of extended options:" },
    { .name = "napi-ids", .short_flag = 'N', .kind = OPT_K_INT, .flags = OPT_IGNORED,
      .min = 1, .max = 256, .metavar = "<num>",
      .help = "memcached picks a worker thread by the network queue's NAPI id; here "
              "connections go to the worker threads in turn" },

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
    /* SECURITY: authorization by client certificate, checked right after
     * the handshake; a refusal is counted and logged like an allowlist one. */
    { .name = "tls-client-identity", .kind = OPT_K_STRING, .group = OPT_G_HARDENING,
      OPTION_FIELD(tls_client_identity), .min = 1, .max = SETTINGS_IDENTITY_MAX - 1,
      .metavar = "<id,...>",
      .help = "serve only TLS clients whose certificate carries one of these "
              "identities: dns:NAME or uri:URI (subjectAltName, e.g. "
              "uri:spiffe://example.org/app) or cn:NAME (subject CN); needs -Z "
              "and ssl_verify_mode 2 or 3",
      .stats_name = "tls_client_identity", .stats = OPT_S_STRING },
    { .name = "auth-fail-limit", .kind = OPT_K_INT, .group = OPT_G_HARDENING,
      OPTION_FIELD(auth_fail_limit), .min = 0, .max = 1000000, .def = "10",
      .metavar = "<num>",
      .help = "-Y and -S: after this many failed logins from one source within "
              "--auth-fail-window, its new connections are closed at accept "
              "until the window ends; 0: never",
      .stats_name = "auth_fail_limit", .stats = OPT_S_NUM },
    { .name = "auth-fail-window", .kind = OPT_K_INT, .group = OPT_G_HARDENING,
      OPTION_FIELD(auth_fail_window), .min = 1, .max = 24 * 3600, .def = "60",
      .metavar = "<sec>",
      .help = "-Y and -S: the window of --auth-fail-limit, in seconds",
      .stats_name = "auth_fail_window", .stats = OPT_S_NUM },
    { .name = "sasl-pwdb", .kind = OPT_K_STRING, .group = OPT_G_HARDENING,
      OPTION_FIELD(sasl_pwdb), .min = 1, .max = SETTINGS_PATH_MAX - 1, .metavar = "<file>",
      .help = "-S: SASL's credentials, \"user:password\" lines as -Y's file (memcached "
              "reads the file named by MEMCACHED_SASL_PWDB, which is read too when this "
              "is not given)" },

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

    /* Keys of -o (memcached's names); in a config file, names of their own.
     * In the order of memcached's -h, then the keys it accepts without
     * listing them there. */
    { .name = "maxconns_fast", .kind = OPT_K_FLAG, .group = OPT_G_EXTENDED,
      .flags = OPT_IGNORED, .help = ALWAYS MAXCONNS_FAST },
    { .name = "hashpower", .kind = OPT_K_INT, .group = OPT_G_EXTENDED,
      OPTION_FIELD(hash_power), .min = 12, .max = 32, .metavar = "<num>",
      .help = "initial hash table size, a power of 2 (default: from -m)",
      .stats_name = "hashpower_init", .stats = OPT_S_NUM },
    { .name = "tail_repair_time", .kind = OPT_K_INT, .group = OPT_G_EXTENDED,
      .min = 10, .max = 2147483647, .metavar = "<sec>", .flags = OPT_IGNORED,
      .help = "no reader holds an item here (values are copied out under the key's "
              "lock), so none is ever stuck at the LRU tail to repair" },
    { .name = "hash_algorithm", .kind = OPT_K_CHOICE, .group = OPT_G_EXTENDED,
      .choices = hash_algorithms, .metavar = "<name>", .flags = OPT_IGNORED,
      .help = "the hash table always uses XXH3, keyed with a random secret against "
              "hash flooding" },
    { .name = "no_lru_crawler", .kind = OPT_K_FLAG, .group = OPT_G_EXTENDED,
      .flags = OPT_IGNORED, .help = ALWAYS NO_CRAWLER },
    { .name = "lru_crawler_sleep", .kind = OPT_K_INT, .group = OPT_G_EXTENDED,
      .min = 0, .max = 1000000, .metavar = "<us>", .flags = OPT_IGNORED, .help = NO_CRAWLER },
    { .name = "lru_crawler_tocrawl", .kind = OPT_K_INT, .group = OPT_G_EXTENDED,
      .min = 0, .max = 4294967295.0, .metavar = "<num>", .flags = OPT_IGNORED,
      .help = NO_CRAWLER },
    { .name = "read_buf_mem_limit", .kind = OPT_K_INT, .group = OPT_G_EXTENDED,
      OPTION_FIELD(conn_mem_limit), .min = 0, .max = 1024 * 1024, .unit = MiB,
      .unit_name = "megabytes", .def = "64", .metavar = "<mb>",
      .help = "memcached's name for --conn-mem-limit (0 is the default here, "
              "never unlimited)" },
    { .name = "no_lru_maintainer", .kind = OPT_K_FLAG, .group = OPT_G_EXTENDED,
      .flags = OPT_IGNORED, .help = ALWAYS NO_SEGMENTS },
    { .name = "hot_lru_pct", .kind = OPT_K_INT, .group = OPT_G_EXTENDED,
      .min = 1, .max = 79, .metavar = "<pct>", .flags = OPT_IGNORED, .help = NO_SEGMENTS },
    { .name = "warm_lru_pct", .kind = OPT_K_INT, .group = OPT_G_EXTENDED,
      .min = 1, .max = 79, .metavar = "<pct>", .flags = OPT_IGNORED, .help = NO_SEGMENTS },
    { .name = "hot_max_factor", .kind = OPT_K_DOUBLE, .group = OPT_G_EXTENDED,
      .min = 0, .max = 1000, .metavar = "<num>", .flags = OPT_IGNORED | OPT_MIN_EXCLUSIVE,
      .help = NO_SEGMENTS },
    { .name = "warm_max_factor", .kind = OPT_K_DOUBLE, .group = OPT_G_EXTENDED,
      .min = 0, .max = 1000, .metavar = "<num>", .flags = OPT_IGNORED | OPT_MIN_EXCLUSIVE,
      .help = NO_SEGMENTS },
    { .name = "temporary_ttl", .kind = OPT_K_INT, .group = OPT_G_EXTENDED,
      .min = 0, .max = 2147483647, .metavar = "<sec>", .flags = OPT_IGNORED,
      .help = "items with a short TTL are evicted like any other here (memcached keeps "
              "them in an LRU of their own)" },
    { .name = "idle_timeout", .kind = OPT_K_INT, .group = OPT_G_EXTENDED,
      OPTION_FIELD(idle_timeout), .min = 0, .max = 365 * 24 * 3600, .def = "0",
      .metavar = "<sec>",
      .help = "close connections idle this long; 0: never",
      .stats_name = "idle_timeout", .stats = OPT_S_NUM },
    { .name = "slab_chunk_max", .kind = OPT_K_INT, .group = OPT_G_EXTENDED,
      .min = 1, .max = 1048576, .metavar = "<num>", .flags = OPT_IGNORED, .help = NO_CHUNKS },
    { .name = "watcher_logbuf_size", .kind = OPT_K_INT, .group = OPT_G_EXTENDED,
      .min = 0, .max = 4194303, .metavar = "<kb>", .flags = OPT_IGNORED, .help = NO_WATCH },
    { .name = "worker_logbuf_size", .kind = OPT_K_INT, .group = OPT_G_EXTENDED,
      .min = 0, .max = 4194303, .metavar = "<kb>", .flags = OPT_IGNORED, .help = NO_WATCH },
    { .name = "track_sizes", .kind = OPT_K_FLAG, .group = OPT_G_EXTENDED,
      .flags = OPT_IGNORED,
      .help = "the item size histogram is not kept here; stats sizes answers "
              "sizes_status disabled" },
    { .name = "no_hashexpand", .kind = OPT_K_FLAG, .group = OPT_G_EXTENDED,
      .flags = OPT_IGNORED,
      .help = ALWAYS "the hash table is sized once, from -m or hashpower, and never "
              "grows" },
    { .name = "modern", .kind = OPT_K_FLAG, .group = OPT_G_EXTENDED, .flags = OPT_IGNORED,
      .help = "nothing to enable (memcached 1.6 enables nothing with it either)" },
    { .name = "no_modern", .kind = OPT_K_FLAG, .group = OPT_G_EXTENDED, .flags = OPT_IGNORED,
      .help = "memcached 1.4's defaults (Jenkins hash, no LRU maintainer or crawler, no "
              "page moves) have no counterpart here" },
    { .name = "sock_cookie_id", .kind = OPT_K_INT, .group = OPT_G_EXTENDED,
      .min = 0, .max = 4294967295.0, .metavar = "<id>", .flags = OPT_IGNORED,
      .help = "sockets are not marked (SO_MARK) for firewalls here; filter by address "
              "and port instead" },
    /* SECURITY: extstore writes items to files while serving; promise 4 says
     * no file is opened after start-up. */
    { .name = "ext_path", .kind = OPT_K_STRING, .group = OPT_G_EXTENDED,
      .min = 1, .max = SETTINGS_PATH_MAX - 1, .metavar = "<file:size>", .flags = OPT_REFUSED,
      .help = "extstore writes items to files while serving, and hardcached opens no "
              "file after start-up (SECURITY.md, promise 4); remove it and give -m the "
              "memory instead" },
    { .name = "ext_page_size", .kind = OPT_K_INT, .group = OPT_G_EXTENDED,
      .min = 0, .max = 4095, .metavar = "<mb>", .flags = OPT_IGNORED, .help = NO_EXTSTORE },
    { .name = "ext_wbuf_size", .kind = OPT_K_INT, .group = OPT_G_EXTENDED,
      .min = 0, .max = 4095, .metavar = "<mb>", .flags = OPT_IGNORED, .help = NO_EXTSTORE },
    { .name = "ext_threads", .kind = OPT_K_INT, .group = OPT_G_EXTENDED,
      .min = 0, .max = 4294967295.0, .metavar = "<num>", .flags = OPT_IGNORED,
      .help = NO_EXTSTORE },
    { .name = "ext_item_size", .kind = OPT_K_INT, .group = OPT_G_EXTENDED,
      .min = 0, .max = 4294967295.0, .metavar = "<bytes>", .flags = OPT_IGNORED,
      .help = NO_EXTSTORE },
    { .name = "ext_item_age", .kind = OPT_K_INT, .group = OPT_G_EXTENDED,
      .min = 0, .max = 4294967295.0, .metavar = "<sec>", .flags = OPT_IGNORED,
      .help = NO_EXTSTORE },
    { .name = "ext_low_ttl", .kind = OPT_K_INT, .group = OPT_G_EXTENDED,
      .min = 0, .max = 4294967295.0, .metavar = "<sec>", .flags = OPT_IGNORED,
      .help = NO_EXTSTORE },
    { .name = "ext_drop_unread", .kind = OPT_K_FLAG, .group = OPT_G_EXTENDED,
      .flags = OPT_IGNORED, .help = NO_EXTSTORE },
    { .name = "ext_recache_rate", .kind = OPT_K_INT, .group = OPT_G_EXTENDED,
      .min = 0, .max = 4294967295.0, .metavar = "<num>", .flags = OPT_IGNORED,
      .help = NO_EXTSTORE },
    { .name = "ext_compact_under", .kind = OPT_K_INT, .group = OPT_G_EXTENDED,
      .min = 0, .max = 4294967295.0, .metavar = "<pages>", .flags = OPT_IGNORED,
      .help = NO_EXTSTORE },
    { .name = "ext_drop_under", .kind = OPT_K_INT, .group = OPT_G_EXTENDED,
      .min = 0, .max = 4294967295.0, .metavar = "<pages>", .flags = OPT_IGNORED,
      .help = NO_EXTSTORE },
    { .name = "ext_max_frag", .kind = OPT_K_DOUBLE, .group = OPT_G_EXTENDED,
      .min = 0, .max = 1, .metavar = "<ratio>", .flags = OPT_IGNORED, .help = NO_EXTSTORE },
    { .name = "ext_max_sleep", .kind = OPT_K_INT, .group = OPT_G_EXTENDED,
      .min = 0, .max = 4294967295.0, .metavar = "<us>", .flags = OPT_IGNORED,
      .help = NO_EXTSTORE },
    { .name = "slab_automove_freeratio", .kind = OPT_K_DOUBLE, .group = OPT_G_EXTENDED,
      .min = 0, .max = 1, .metavar = "<ratio>", .flags = OPT_IGNORED, .help = NO_EXTSTORE },
    { .name = "ssl_chain_cert", .kind = OPT_K_STRING, .group = OPT_G_EXTENDED,
      OPTION_FIELD(ssl_chain_cert), .min = 1, .max = SETTINGS_PATH_MAX - 1,
      .metavar = "<file>",
      .help = "-Z: the server certificate and its chain, PEM",
      .stats_name = "ssl_chain_cert", .stats = OPT_S_CSTRING },
    { .name = "ssl_key", .kind = OPT_K_STRING, .group = OPT_G_EXTENDED,
      OPTION_FIELD(ssl_key), .min = 1, .max = SETTINGS_PATH_MAX - 1, .metavar = "<file>",
      .help = "-Z: the private key, if not in ssl_chain_cert",
      .stats_name = "ssl_key", .stats = OPT_S_CSTRING },
    { .name = "ssl_keyformat", .kind = OPT_K_INT, .group = OPT_G_EXTENDED,
      OPTION_FIELD(ssl_keyformat), .min = 1, .max = 2, .def = "1", .metavar = "<1|2>",
      .help = "-Z: private key format: 1 PEM, 2 DER",
      .stats_name = "ssl_keyformat", .stats = OPT_S_NUM },
    { .name = "ssl_verify_mode", .kind = OPT_K_INT, .group = OPT_G_EXTENDED,
      OPTION_FIELD(ssl_verify_mode), .min = 0, .max = 3, .def = "0", .metavar = "<0-3>",
      .help = "-Z: client certificates: 0 not asked, 1 checked if sent, 2 required, "
              "3 required at the first handshake",
      .stats_name = "ssl_verify_mode", .stats = OPT_S_VERIFY },
    { .name = "ssl_ciphers", .kind = OPT_K_STRING, .group = OPT_G_EXTENDED,
      OPTION_FIELD(ssl_ciphers), .min = 1, .max = 1023, .metavar = "<list>",
      .help = "-Z: OpenSSL cipher list for TLS 1.2 (default: Mozilla's intermediate "
              "list, ECDHE with AES-GCM or ChaCha20-Poly1305)",
      .stats_name = "ssl_ciphers", .stats = OPT_S_STRING },
    { .name = "ssl_ca_cert", .kind = OPT_K_STRING, .group = OPT_G_EXTENDED,
      OPTION_FIELD(ssl_ca_cert), .min = 1, .max = SETTINGS_PATH_MAX - 1,
      .metavar = "<file>",
      .help = "-Z: PEM certificates of the CAs client certificates must chain to",
      .stats_name = "ssl_ca_cert", .stats = OPT_S_STRING },
    { .name = "ssl_wbuf_size", .kind = OPT_K_INT, .group = OPT_G_EXTENDED,
      .min = 0, .max = 4194303, .metavar = "<kb>", .flags = OPT_IGNORED,
      .help = "OpenSSL sizes its own write buffers here" },
    { .name = "ssl_session_cache", .kind = OPT_K_FLAG, .group = OPT_G_EXTENDED,
      OPTION_FIELD(ssl_session_cache),
      .help = "-Z: server-side session cache, so clients can resume sessions",
      .stats_name = "ssl_session_cache", .stats = OPT_S_YESNO },
    { .name = "ssl_kernel_tls", .kind = OPT_K_FLAG, .group = OPT_G_EXTENDED,
      .flags = OPT_IGNORED,
      .help = "TLS runs in OpenSSL in user space, without kernel TLS offload (stats "
              "settings ssl_kernel_tls no)" },
    { .name = "ssl_min_version", .kind = OPT_K_INT, .group = OPT_G_EXTENDED,
      OPTION_FIELD(ssl_min_version), .min = 0, .max = 3, .def = "2", .metavar = "<0-3>",
      .help = "-Z: lowest protocol accepted: 0 TLS 1.0, 1 TLS 1.1, 2 TLS 1.2, 3 TLS 1.3",
      .stats_name = "ssl_min_version", .stats = OPT_S_TLSVER },

    /* memcached accepts these -o keys without listing them in its -h. */
    { .name = "no_maxconns_fast", .kind = OPT_K_FLAG, .group = OPT_G_EXTENDED,
      .flags = OPT_IGNORED,
      .help = ALWAYS MAXCONNS_FAST " (memcached would stop accepting instead)" },
    { .name = "slab_reassign", .kind = OPT_K_FLAG, .group = OPT_G_EXTENDED,
      .flags = OPT_IGNORED, .help = ALWAYS NO_AUTOMOVE },
    { .name = "no_slab_reassign", .kind = OPT_K_FLAG, .group = OPT_G_EXTENDED,
      .flags = OPT_IGNORED, .help = NO_AUTOMOVE },
    { .name = "slab_automove", .kind = OPT_K_INT, .group = OPT_G_EXTENDED,
      .min = 0, .max = 2, .metavar = "<0-2>", .flags = OPT_IGNORED | OPT_BARE,
      .help = NO_AUTOMOVE },
    { .name = "no_slab_automove", .kind = OPT_K_FLAG, .group = OPT_G_EXTENDED,
      .flags = OPT_IGNORED, .help = NO_AUTOMOVE },
    { .name = "slab_automove_ratio", .kind = OPT_K_DOUBLE, .group = OPT_G_EXTENDED,
      .min = 0, .max = 1, .metavar = "<ratio>", .flags = OPT_IGNORED | OPT_MIN_EXCLUSIVE,
      .help = NO_AUTOMOVE },
    { .name = "slab_automove_window", .kind = OPT_K_INT, .group = OPT_G_EXTENDED,
      .min = 3, .max = 2147483647, .metavar = "<num>", .flags = OPT_IGNORED,
      .help = NO_AUTOMOVE },
    { .name = "lru_crawler", .kind = OPT_K_FLAG, .group = OPT_G_EXTENDED,
      .flags = OPT_IGNORED, .help = NO_CRAWLER },
    { .name = "lru_maintainer", .kind = OPT_K_FLAG, .group = OPT_G_EXTENDED,
      .flags = OPT_IGNORED, .help = NO_SEGMENTS },
    { .name = "no_chunked_items", .kind = OPT_K_FLAG, .group = OPT_G_EXTENDED,
      .flags = OPT_IGNORED, .help = ALWAYS NO_CHUNKS },
    { .name = "inline_ascii_resp", .kind = OPT_K_FLAG, .group = OPT_G_EXTENDED,
      .flags = OPT_IGNORED, .help = "memcached 1.6 ignores it too" },
    { .name = "no_inline_ascii_resp", .kind = OPT_K_FLAG, .group = OPT_G_EXTENDED,
      .flags = OPT_IGNORED, .help = "memcached 1.6 ignores it too" },
    { .name = "drop_privileges", .kind = OPT_K_FLAG, .group = OPT_G_EXTENDED,
      .flags = OPT_IGNORED, .help = ALWAYS PRIVILEGES },
    { .name = "no_drop_privileges", .kind = OPT_K_FLAG, .group = OPT_G_EXTENDED,
      .flags = OPT_IGNORED, .help = PRIVILEGES },
    { .name = "resp_obj_mem_limit", .kind = OPT_K_INT, .group = OPT_G_EXTENDED,
      .min = 0, .max = 4294967295.0, .metavar = "<mb>", .flags = OPT_IGNORED | OPT_BARE,
      .help = "memcached 1.6 ignores it too (read_buf_mem_limit replaced it)" },
    { .name = "ext_io_depth", .kind = OPT_K_INT, .group = OPT_G_EXTENDED,
      .min = 0, .max = 4294967295.0, .metavar = "<num>", .flags = OPT_IGNORED,
      .help = NO_EXTSTORE },
};

const size_t options_count = sizeof options_table / sizeof options_table[0];

_Static_assert(sizeof options_table / sizeof options_table[0] <= OPTIONS_MAX_ROWS,
               "more rows than OPTIONS_MAX_ROWS: raise it in options.h");
