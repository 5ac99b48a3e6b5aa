/* settings.h: the daemon's effective configuration, filled once at start-up
 * by the option table (options_table.c) and read-only afterwards. Every
 * layer reads its knobs from here; nothing else holds configuration. */
#ifndef HC_CONF_SETTINGS_H
#define HC_CONF_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sec/seccomp.h"            /* enum seccomp_mode */

struct allowlist;

#define SETTINGS_MAX_LISTEN 16
#define SETTINGS_MAX_ALLOW_FILES 8
#define SETTINGS_PATH_MAX 4096
#define SETTINGS_IDENTITY_MAX 4096
#define SETTINGS_MAX_IGNORED 96     /* at least the OPT_IGNORED rows (a unit test) */
#define SETTINGS_IGNORED_VALUE 32   /* bytes of one recorded value, NUL included */

struct listen_addr {
    char host[256];     /* numeric address or name; "" means the defaults */
    uint16_t port;      /* 0: use settings.port */
    bool notls;         /* "notls:" prefix: plain text even with -Z */
};

/* One of memcached's options given that has no effect here (an OPT_IGNORED
 * row of the option table): which, and its value as written. */
struct settings_ignored {
    uint16_t row;                   /* index in options_table[] */
    char value[SETTINGS_IGNORED_VALUE]; /* "" for a bare -o key; a flag: yes or no */
};

struct settings {
    /* network */
    uint16_t port;                  /* -p, 11211 */
    struct listen_addr listen[SETTINGS_MAX_LISTEN]; /* -l, parsed list */
    int nlisten;                    /* 0: loopback defaults */
    char unix_socket[108];          /* -s, "" = none */
    unsigned unix_mask;             /* -a, 0700 */
    int udp_port;                   /* -U, only 0 accepted */
    int backlog;                    /* -b, 1024 */
    int max_conns;                  /* -c, 1024 */
    int threads;                    /* -t, 4 */
    int reqs_per_event;             /* -R, 20 */
    int idle_timeout;               /* -o idle_timeout, 0 = off */

    /* process */
    bool daemonize;                 /* -d */
    char pidfile[4096];             /* -P */
    char user[64];                  /* -u */
    bool lock_memory;               /* -k */
    bool enable_coredumps;          /* -r */
    int verbose;                    /* -v count */

    /* memory and items */
    size_t mem_limit;               /* -m, bytes (64 MiB) */
    bool evictions;                 /* !-M */
    size_t item_size_max;           /* -I, bytes (1 MiB) */
    double growth_factor;           /* -f, 1.25 */
    size_t chunk_min;               /* -n, 48 */
    bool use_cas;                   /* !-C */
    unsigned hash_power;            /* -o hashpower, 0 = sized from -m */

    /* commands */
    bool shutdown_enabled;          /* -A */
    bool flush_enabled;             /* !-F */

    /* hardening (SPEC §2, long options only) */
    struct allowlist *allow;        /* --allow / --allow-file; NULL = no allowlist */
    struct allowlist *allow_inline; /* the --allow networks alone: a SIGHUP
                                       rebuilds allow from them and the files */
    int seccomp_mode;               /* --seccomp: enum seccomp_mode, _ON by default */
    int max_conns_per_ip;           /* --max-conns-per-ip, 0 = off */
    int per_ip_v6_prefix;           /* --per-ip-v6-prefix: IPv6 peers counted per /N, 64 */
    int read_timeout;               /* --read-timeout seconds, 30; 0 = off */
    size_t conn_mem_limit;          /* --conn-mem-limit / -o read_buf_mem_limit, bytes */
    /* the --allow-file paths, for the audit of their owners and modes */
    char allow_files[SETTINGS_MAX_ALLOW_FILES][SETTINGS_PATH_MAX];
    int nallow_files;

    /* TLS (-Z and -o ssl_*, memcached's names; net/tls.c) */
    bool ssl_enabled;               /* -Z */
    char ssl_chain_cert[SETTINGS_PATH_MAX]; /* PEM: the certificate, then its chain */
    char ssl_key[SETTINGS_PATH_MAX];   /* "" = the key is in the chain file */
    char ssl_ca_cert[SETTINGS_PATH_MAX]; /* CAs client certificates must chain to */
    int ssl_verify_mode;            /* 0 none, 1 request, 2 require, 3 require once */
    int ssl_keyformat;              /* 1 PEM, 2 DER (OpenSSL's SSL_FILETYPE_*) */
    char ssl_ciphers[1024];         /* TLS 1.2 cipher list; "" = TLS_CIPHERS_DEFAULT */
    int ssl_min_version;            /* 0 TLS 1.0 .. 3 TLS 1.3; 2 */
    bool ssl_session_cache;         /* server-side session cache (resumption) */
    /* --tls-client-identity: identities a client certificate must carry one
     * of ("dns:NAME,uri:URI,cn:NAME"); "" = any certificate the CA signed */
    char tls_client_identity[SETTINGS_IDENTITY_MAX];

    /* the protocol (-B): enum settings_protocol; after options_validate,
     * never AUTO with -S (BINARY) or -Y (ASCII), as memcached resolves it */
    int protocol;

    /* ASCII authentication (-Y; sec/auth.c) */
    char auth_file[SETTINGS_PATH_MAX]; /* -Y "user:password" lines; "" = off; with
                                          -S, SASL's credentials (options_validate
                                          copies --sasl-pwdb or MEMCACHED_SASL_PWDB
                                          here, so one loader and one check serve both) */
    /* SASL (-S; proto/binary.c): PLAIN over the binary protocol */
    bool sasl;                      /* -S */
    char sasl_pwdb[SETTINGS_PATH_MAX]; /* --sasl-pwdb: "user:password" lines, as -Y */
    int auth_fail_limit;            /* --auth-fail-limit: failures per source per window, 10 */
    int auth_fail_window;           /* --auth-fail-window seconds, 60 */

    /* memcached's options accepted with no effect here, each once, in the
     * order first given: the start-up notice and --check-config name them */
    struct settings_ignored ignored[SETTINGS_MAX_IGNORED];
    int nignored;

    /* start-up mode (command line only) */
    char config_file[SETTINGS_PATH_MAX]; /* --config, "" = none */
    bool check_config;              /* --check-config: audit, print, exit */
    int audit_format;               /* --format: AUDIT_FORMAT_TEXT (default), _JSON */
    int audit_fail_on;              /* --fail-on: AUDIT_FAIL_ON_WARNING (default), _CRITICAL */
};

/* -B's words, in the order of the option row's choices. */
enum settings_protocol { SETTINGS_PROTO_AUTO = 0, SETTINGS_PROTO_ASCII = 1, SETTINGS_PROTO_BINARY = 2 };

enum { AUDIT_FORMAT_TEXT = 0, AUDIT_FORMAT_JSON = 1 };
enum { AUDIT_FAIL_ON_WARNING = 0, AUDIT_FAIL_ON_CRITICAL = 1 };

/* Fills s with the built-in defaults (the same ones --help prints). */
void settings_defaults(struct settings *s);

#endif
