/* loadgen.c: the memcached load generator behind `make bench` (ASCII, and binary with --binary).
 * One process, one epoll loop per thread (default one thread) over non-blocking loopback
 * connections. Closed loop: a connection writes a batch of `depth` requests, waits for every
 * reply, records each request's latency from the batch's send to that request's reply, then
 * sends the next batch. Replies are parsed in full (VALUE blocks, END, STORED, VERSION, error
 * lines) through a bounded streaming parser, so a server that answers wrongly is counted as an
 * error rather than timed. It trusts its own command line only, and talks to loopback only.
 * With --tls every connection speaks TLS (OpenSSL): the handshake is done once per connection,
 * blocking, before anything is timed; the requests then go through SSL_write/SSL_read.
 * The meta workload sends batches of quiet `mg <key> v q` ended by `mn`: hits answer
 * `VA <len>` and the value, misses nothing, `mn` answers `MN`.
 * With --binary the same workloads speak memcached's binary protocol: GET and SET for mixed,
 * GETKQ ... NOOP for meta, SETQ ... NOOP for fill; replies are parsed by their header lengths
 * (a bounded header and key, the value streamed and compared with what was stored).
 * The connect workload is the exception to the one loop: each thread makes short blocking
 * connections one after another (connect, one `get`, read the reply, close), to time what a
 * connection costs the server.
 * Output: one `RESULT key=value ...` line on stdout; diagnostics on stderr. */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ---- hard limits: every size and loop below is bounded by one of these ---- */
#define MAX_CONNS       4096
#define MAX_THREADS     64
#define MAX_DEPTH       1024
#define MAX_VALUE       (1024 * 1024)
#define MAX_MGET        1000
#define MAX_KEYSPACE    10000000000ULL          /* keys are key:NNNNNNNNNN, 10 digits */
#define MAX_SECONDS     3600.0
#define MAX_WBUF        (256UL * 1024 * 1024)   /* all connections' write buffers together */
#define MAX_LINE        2048                    /* longest reply line we accept */
#define RBUF_SIZE       (64 * 1024)
#define KEY_PREFIX      "key:"
#define KEY_DIGITS      10
#define KEY_LEN         (4 + KEY_DIGITS)
#define DRAIN_NS        (3ULL * 1000000000ULL)  /* after the stop time, wait this long for replies */
#define WARMUP_MAX_NS   (300ULL * 1000000000ULL)
#define EPOLL_BATCH     128
#define READS_PER_EVENT 8
#define NS_PER_S        1000000000ULL

/* ---- memcached's binary protocol: the few constants used here, by hand (the same values as
 * memcached's protocol_binary.h, which is not needed to build this) ---- */
#define BIN_HDR         24      /* magic, opcode, keylen(2), extlen, datatype, status(2),
                                 * bodylen(4), opaque(4), cas(8); numbers big-endian */
#define BIN_REQ         0x80
#define BIN_RES         0x81
#define BIN_GET         0x00
#define BIN_SET         0x01
#define BIN_NOOP        0x0a
#define BIN_GETKQ       0x0d
#define BIN_SETQ        0x11
#define BIN_OK          0x0000
#define BIN_ENOENT      0x0001
#define BIN_HEAD_MAX    MAX_LINE   /* longest extras + key we accept in a reply */

/* ---- time and randomness ---- */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

static uint64_t rng_next(uint64_t *s)   /* splitmix64: small, fast, good enough for key choice */
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t rng_below(uint64_t *s, uint64_t n)
{
    return (uint64_t)(((unsigned __int128)rng_next(s) * n) >> 64);
}

static double rng_unit(uint64_t *s)
{
    return (double)(rng_next(s) >> 11) * 0x1.0p-53;
}

/* ---- latency histogram: log-linear, values in ns, relative error < 1/64 ----
 * Values below 128 ns get a bucket each; above, every power of two is split in 64 buckets. */
#define HIST_SUB_BITS 7
#define HIST_SUB      (1u << HIST_SUB_BITS)
#define HIST_HALF     (HIST_SUB / 2)
#define HIST_MAX_BITS 40
#define HIST_BUCKETS  (HIST_SUB + (HIST_MAX_BITS - HIST_SUB_BITS) * HIST_HALF)

struct hist {
    uint64_t n, sum, max;
    uint64_t b[HIST_BUCKETS];
};

static unsigned hist_index(uint64_t v)
{
    if (v < HIST_SUB) {
        return (unsigned)v;
    }
    unsigned msb = 63u - (unsigned)__builtin_clzll(v);
    if (msb >= HIST_MAX_BITS) {
        return HIST_BUCKETS - 1;
    }
    unsigned shift = msb - HIST_SUB_BITS + 1;
    return (shift << (HIST_SUB_BITS - 1)) + (unsigned)(v >> shift);
}

static double hist_mid(unsigned idx)   /* middle of a bucket, in ns */
{
    if (idx < HIST_SUB) {
        return idx;
    }
    unsigned shift = idx / HIST_HALF - 1;
    uint64_t lower = (uint64_t)(idx - shift * HIST_HALF) << shift;
    return (double)lower + (double)(1ULL << shift) / 2.0;
}

static void hist_add(struct hist *h, uint64_t v)
{
    h->b[hist_index(v)]++;
    h->n++;
    h->sum += v;
    if (v > h->max) {
        h->max = v;
    }
}

static void hist_merge(struct hist *into, const struct hist *from)
{
    for (unsigned i = 0; i < HIST_BUCKETS; i++) {
        into->b[i] += from->b[i];
    }
    into->n += from->n;
    into->sum += from->sum;
    if (from->max > into->max) {
        into->max = from->max;
    }
}

static double hist_quantile_us(const struct hist *h, double q)
{
    if (h->n == 0) {
        return 0.0;
    }
    uint64_t target = (uint64_t)(q * (double)h->n + 0.999999);
    uint64_t seen = 0;
    for (unsigned i = 0; i < HIST_BUCKETS; i++) {
        seen += h->b[i];
        if (seen >= target && h->b[i] > 0) {
            double v = hist_mid(i);
            return (v > (double)h->max ? (double)h->max : v) / 1000.0;
        }
    }
    return (double)h->max / 1000.0;
}

/* ---- configuration: one table drives parsing and --help ---- */

enum workload { WL_MIXED, WL_MULTIGET, WL_FILL, WL_PING, WL_STATS, WL_META, WL_CONNECT };
static const char *const workload_names[] = { "mixed", "multiget", "fill", "ping", "stats", "meta",
                                              "connect" };
#define N_WORKLOADS (sizeof(workload_names) / sizeof(workload_names[0]))

struct config {
    const char *host;
    long port, conns, threads, depth, value_size, mget_keys, cpu_pid;
    double duration, get_ratio, hit_ratio;
    unsigned long long count, keyspace, seed;
    bool warmup, stats, tls, binary;
    enum workload wl;
    const char *label;
    const char *tls_ca;
};

static struct config cfg = {
    .host = "127.0.0.1", .port = 11211, .conns = 50, .threads = 1, .depth = 1,
    .value_size = 100, .mget_keys = 100, .cpu_pid = 0, .duration = 0.0, .get_ratio = 0.9,
    .hit_ratio = 0.9,
    .count = 0, .keyspace = 100000, .seed = 1, .warmup = false, .stats = false,
    .wl = WL_MIXED, .label = "-", .tls = false, .tls_ca = NULL, .binary = false,
};

enum opt_kind { OPT_LONG, OPT_ULL, OPT_DBL, OPT_STR, OPT_FLAG, OPT_WORKLOAD };

/* Options without a one-letter form have a flag above the character range. */
#define OPT_TLS     0x100
#define OPT_TLS_CA  0x101
#define OPT_HIT     0x102
#define OPT_BINARY  0x103

struct opt_row {
    const char *name;
    int flag;
    enum opt_kind kind;
    void *dst;
    double min, max;
    const char *help;
};

static const struct opt_row opt_table[] = {
    { "host", 'H', OPT_STR, &cfg.host, 0, 0, "server address, loopback only (127.0.0.1)" },
    { "port", 'p', OPT_LONG, &cfg.port, 1, 65535, "server TCP port (11211)" },
    { "conns", 'c', OPT_LONG, &cfg.conns, 1, MAX_CONNS, "connections (50)" },
    { "threads", 'T', OPT_LONG, &cfg.threads, 1, MAX_THREADS, "load generator threads (1)" },
    { "duration", 'd', OPT_DBL, &cfg.duration, 0.01, MAX_SECONDS,
      "seconds to run; with -n it is a cap (5; 120 for fill or with -n)" },
    { "count", 'n', OPT_ULL, &cfg.count, 1, 1e12,
      "requests to send (0: until -d); for fill: distinct keys (default: keyspace)" },
    { "workload", 'w', OPT_WORKLOAD, &cfg.wl, 0, 0,
      "mixed | multiget | meta | fill | ping | stats | connect (mixed)" },
    { "depth", 'P', OPT_LONG, &cfg.depth, 1, MAX_DEPTH, "requests per pipelined batch (1)" },
    { "keyspace", 'k', OPT_ULL, &cfg.keyspace, 1, (double)MAX_KEYSPACE, "distinct keys (100000)" },
    { "value-size", 's', OPT_LONG, &cfg.value_size, 0, MAX_VALUE, "value bytes (100)" },
    { "get-ratio", 'r', OPT_DBL, &cfg.get_ratio, 0.0, 1.0, "share of gets in mixed (0.9)" },
    { "mget-keys", 'm', OPT_LONG, &cfg.mget_keys, 1, MAX_MGET,
      "keys per multiget, or mg commands per meta batch (100)" },
    { "hit-ratio", OPT_HIT, OPT_DBL, &cfg.hit_ratio, 0.0, 1.0,
      "meta: share of keys drawn from the keyspace (stored by -W or a fill);\n"
      "                    the others come from the next keyspace-sized range, never stored (0.9)" },
    { "warmup", 'W', OPT_FLAG, &cfg.warmup, 0, 0, "store every key of the keyspace first" },
    { "seed", 'S', OPT_ULL, &cfg.seed, 0, 1.8e19, "random seed (1)" },
    { "cpu-pid", 'C', OPT_LONG, &cfg.cpu_pid, 1, 4194304,
      "server pid: report its utime+stime per op over the run" },
    { "stats", 'Z', OPT_FLAG, &cfg.stats, 0, 0, "after the run, add curr_items etc. from `stats`" },
    { "label", 'L', OPT_STR, &cfg.label, 0, 0, "free text echoed in the RESULT line" },
    { "tls", OPT_TLS, OPT_FLAG, &cfg.tls, 0, 0,
      "speak TLS; one handshake per connection, before the measured window" },
    { "tls-ca", OPT_TLS_CA, OPT_STR, &cfg.tls_ca, 0, 0,
      "implies --tls: verify the server certificate against this CA file (PEM) and --host's\n"
      "                    address (without it the certificate is not checked)" },
    { "binary", OPT_BINARY, OPT_FLAG, &cfg.binary, 0, 0,
      "speak the binary protocol: mixed sends GET/SET, meta sends -m GETKQ then NOOP,\n"
      "                    fill (and -W) sends SETQs then NOOP; not for multiget, ping or stats" },
    { "help", 'h', OPT_FLAG, NULL, 0, 0, "this text" },
};
#define N_OPTS (sizeof(opt_table) / sizeof(opt_table[0]))

static void usage(FILE *out)
{
    fprintf(out, "usage: loadgen [options]   (memcached load generator, ASCII or --binary)\n");
    for (size_t i = 0; i < N_OPTS; i++) {
        if (opt_table[i].flag < 0x100) {
            fprintf(out, "  -%c, --%-11s %s\n", opt_table[i].flag, opt_table[i].name,
                    opt_table[i].help);
        } else {
            fprintf(out, "      --%-11s %s\n", opt_table[i].name, opt_table[i].help);
        }
    }
}

static bool opt_set(const struct opt_row *o, const char *arg)
{
    char *end = NULL;
    errno = 0;
    switch (o->kind) {
    case OPT_FLAG:
        *(bool *)o->dst = true;
        return true;
    case OPT_STR:
        *(const char **)o->dst = arg;
        return true;
    case OPT_WORKLOAD:
        for (size_t i = 0; i < N_WORKLOADS; i++) {
            if (strcmp(arg, workload_names[i]) == 0) {
                *(enum workload *)o->dst = (enum workload)i;
                return true;
            }
        }
        return false;
    case OPT_DBL: {
        double d = strtod(arg, &end);
        if (errno || *end || end == arg || d < o->min || d > o->max) {
            return false;
        }
        *(double *)o->dst = d;
        return true;
    }
    case OPT_LONG:
    case OPT_ULL: {
        unsigned long long v = strtoull(arg, &end, 10);
        if (errno || *end || end == arg || arg[0] == '-' || (double)v < o->min || (double)v > o->max) {
            return false;
        }
        if (o->kind == OPT_LONG) {
            *(long *)o->dst = (long)v;
        } else {
            *(unsigned long long *)o->dst = v;
        }
        return true;
    }
    }
    return false;
}

static void parse_args(int argc, char **argv)
{
    struct option longopts[N_OPTS + 1];
    char shortopts[N_OPTS * 2 + 1];
    size_t sl = 0;
    for (size_t i = 0; i < N_OPTS; i++) {
        bool arg = opt_table[i].kind != OPT_FLAG;
        longopts[i] = (struct option){ opt_table[i].name, arg ? required_argument : no_argument,
                                       NULL, opt_table[i].flag };
        if (opt_table[i].flag >= 0x100) {
            continue;   /* long form only */
        }
        shortopts[sl++] = (char)opt_table[i].flag;
        if (arg) {
            shortopts[sl++] = ':';
        }
    }
    shortopts[sl] = '\0';
    memset(&longopts[N_OPTS], 0, sizeof(longopts[N_OPTS]));

    int ch;
    while ((ch = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
        const struct opt_row *o = NULL;
        for (size_t i = 0; i < N_OPTS; i++) {
            if (opt_table[i].flag == ch) {
                o = &opt_table[i];
            }
        }
        if (o == NULL) {
            usage(stderr);
            exit(64);
        }
        if (o->dst == NULL) {
            usage(stdout);
            exit(0);
        }
        if (!opt_set(o, optarg)) {
            fprintf(stderr, "loadgen: bad value for --%s: '%s' (%s)\n", o->name, optarg, o->help);
            exit(64);
        }
    }
    if (optind != argc) {
        fprintf(stderr, "loadgen: unexpected argument '%s'\n", argv[optind]);
        exit(64);
    }
}

static void resolve_config(void)
{
    bool long_run = cfg.wl == WL_FILL || cfg.count > 0;
    if (cfg.duration == 0.0) {
        cfg.duration = long_run ? 120.0 : 5.0;
    }
    if (cfg.wl == WL_FILL) {   /* a fill stores keys 0..count-1: that is its keyspace */
        cfg.count = cfg.count == 0 ? cfg.keyspace : cfg.count;
        cfg.keyspace = cfg.count;
    }
    if (cfg.wl == WL_FILL && cfg.count > MAX_KEYSPACE) {
        fprintf(stderr, "loadgen: fill count above %llu keys\n", MAX_KEYSPACE);
        exit(64);
    }
    if (cfg.wl == WL_META && cfg.keyspace > MAX_KEYSPACE / 2) {   /* misses use keyspace..2x */
        fprintf(stderr, "loadgen: meta needs a keyspace of at most %llu keys\n", MAX_KEYSPACE / 2);
        exit(64);
    }
    if (cfg.binary && (cfg.wl == WL_MULTIGET || cfg.wl == WL_PING || cfg.wl == WL_STATS
                       || cfg.wl == WL_CONNECT)) {
        fprintf(stderr, "loadgen: --binary works with mixed, meta and fill (binary multiget: "
                        "-w meta --binary)\n");
        exit(64);
    }
    if (cfg.wl == WL_CONNECT) {   /* one connection at a time per thread */
        if (cfg.tls) {
            fprintf(stderr, "loadgen: the connect workload does not speak TLS\n");
            exit(64);
        }
        cfg.conns = cfg.threads;
    }
    if (cfg.threads > cfg.conns) {
        cfg.threads = cfg.conns;
    }
    if (cfg.tls_ca != NULL) {
        cfg.tls = true;
    }
}

/* ---- the server address: loopback only ---- */

static struct sockaddr_storage srv_addr;
static socklen_t srv_addrlen;

static void resolve_addr(void)
{
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV };
    struct addrinfo *res = NULL;
    char port[16];
    snprintf(port, sizeof(port), "%ld", cfg.port);
    if (getaddrinfo(cfg.host, port, &hints, &res) != 0 || res == NULL) {
        fprintf(stderr, "loadgen: --host must be a numeric address, got '%s'\n", cfg.host);
        exit(64);
    }
    bool loop = false;
    if (res->ai_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)(const void *)res->ai_addr;
        loop = (ntohl(a->sin_addr.s_addr) >> 24) == 127;
    } else if (res->ai_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)(const void *)res->ai_addr;
        loop = IN6_IS_ADDR_LOOPBACK(&a->sin6_addr);
    }
    if (!loop) {
        fprintf(stderr, "loadgen: refusing non-loopback address '%s'\n", cfg.host);
        exit(64);
    }
    memcpy(&srv_addr, res->ai_addr, res->ai_addrlen);
    srv_addrlen = res->ai_addrlen;
    freeaddrinfo(res);
}

/* ---- links: a socket and, with --tls, the TLS session on it ----
 * link_send and link_recv behave like send and recv: bytes moved (> 0), 0 when the peer closed,
 * or -1 with errno (EAGAIN: would block; with TLS, the flags say whether the operation waits for
 * the other direction; EINTR; anything else is fatal). */

struct link {
    int fd;
    SSL *ssl;           /* NULL without --tls */
    bool broken;        /* a fatal TLS error: no close_notify on close */
    bool rd_wants_wr;   /* the last SSL_read needs the socket writable first */
    bool wr_wants_rd;   /* the last SSL_write needs the socket readable first */
};

static SSL_CTX *tls_ctx;
static char tls_version[32] = "-", tls_cipher[64] = "-";   /* of the first handshake */

static void tls_init(void)
{
    tls_ctx = SSL_CTX_new(TLS_client_method());
    if (tls_ctx == NULL || SSL_CTX_set_min_proto_version(tls_ctx, TLS1_2_VERSION) != 1) {
        fprintf(stderr, "loadgen: cannot set up TLS\n");
        ERR_print_errors_fp(stderr);
        exit(1);
    }
    /* SSL_write returns after each record, so a large batch goes out as the socket takes it */
    SSL_CTX_set_mode(tls_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE);
    if (cfg.tls_ca != NULL) {
        if (SSL_CTX_load_verify_locations(tls_ctx, cfg.tls_ca, NULL) != 1) {
            fprintf(stderr, "loadgen: cannot load the CA file '%s'\n", cfg.tls_ca);
            ERR_print_errors_fp(stderr);
            exit(64);
        }
        SSL_CTX_set_verify(tls_ctx, SSL_VERIFY_PEER, NULL);
    } else {
        SSL_CTX_set_verify(tls_ctx, SSL_VERIFY_NONE, NULL);
    }
}

static void link_close(struct link *k)
{
    if (k->ssl != NULL) {
        if (!k->broken) {
            SSL_shutdown(k->ssl);   /* sends close_notify; does not wait for the server's */
        }
        SSL_free(k->ssl);
        ERR_clear_error();
        k->ssl = NULL;
    }
    if (k->fd >= 0) {
        close(k->fd);
        k->fd = -1;
    }
}

/* A blocking connection with send/receive timeouts (they bound the TLS handshake too), for ping,
 * stats and set-up; the load connections are made non-blocking afterwards. */
static bool link_open(struct link *k, double timeout_s)
{
    *k = (struct link){ .fd = -1 };
    k->fd = socket(srv_addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (k->fd < 0) {
        return false;
    }
    struct timeval tv = { .tv_sec = (time_t)timeout_s,
                          .tv_usec = (suseconds_t)((timeout_s - (double)(time_t)timeout_s) * 1e6) };
    int one = 1;
    setsockopt(k->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(k->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    setsockopt(k->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(k->fd, (const struct sockaddr *)&srv_addr, srv_addrlen) != 0) {
        link_close(k);
        return false;
    }
    if (!cfg.tls) {
        return true;
    }
    int saved;
    k->ssl = SSL_new(tls_ctx);
    if (k->ssl == NULL || SSL_set_fd(k->ssl, k->fd) != 1 ||
        (cfg.tls_ca != NULL && X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(k->ssl), cfg.host) != 1)) {
        fprintf(stderr, "loadgen: cannot set up a TLS session\n");
        goto fail;
    }
    ERR_clear_error();
    if (SSL_connect(k->ssl) != 1) {
        long v = SSL_get_verify_result(k->ssl);
        fprintf(stderr, "loadgen: TLS handshake with %s:%ld failed%s%s\n", cfg.host, cfg.port,
                v != X509_V_OK ? ": " : "", v != X509_V_OK ? X509_verify_cert_error_string(v) : "");
        goto fail;
    }
    if (tls_version[0] == '-') {   /* set-up runs on the main thread only */
        snprintf(tls_version, sizeof(tls_version), "%s", SSL_get_version(k->ssl));
        snprintf(tls_cipher, sizeof(tls_cipher), "%s", SSL_get_cipher_name(k->ssl));
    }
    return true;
fail:
    saved = errno;
    ERR_print_errors_fp(stderr);
    k->broken = true;
    link_close(k);
    errno = saved ? saved : EPROTO;
    return false;
}

/* After SSL_read/SSL_write returned r <= 0: -1 with EAGAIN, 0 or -1 with EPROTO (fatal). */
static ssize_t tls_result(struct link *k, int r, bool *crossed, int cross)
{
    int e = SSL_get_error(k->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        *crossed = e == cross;
        errno = EAGAIN;
        return -1;
    }
    k->broken = true;
    if (e == SSL_ERROR_ZERO_RETURN) {   /* the server closed the session cleanly */
        return 0;
    }
    if (e == SSL_ERROR_SSL) {
        ERR_print_errors_fp(stderr);
    }
    ERR_clear_error();
    errno = EPROTO;
    return -1;
}

static ssize_t link_send(struct link *k, const char *buf, size_t n)
{
    if (k->ssl == NULL) {
        return send(k->fd, buf, n, MSG_NOSIGNAL);
    }
    ERR_clear_error();
    int r = SSL_write(k->ssl, buf, n > (size_t)INT32_MAX ? INT32_MAX : (int)n);
    k->wr_wants_rd = false;
    return r > 0 ? (ssize_t)r : tls_result(k, r, &k->wr_wants_rd, SSL_ERROR_WANT_READ);
}

static ssize_t link_recv(struct link *k, char *buf, size_t n)
{
    if (k->ssl == NULL) {
        return recv(k->fd, buf, n, 0);
    }
    ERR_clear_error();
    int r = SSL_read(k->ssl, buf, n > (size_t)INT32_MAX ? INT32_MAX : (int)n);
    k->rd_wants_wr = false;
    return r > 0 ? (ssize_t)r : tls_result(k, r, &k->rd_wants_wr, SSL_ERROR_WANT_WRITE);
}

/* Decrypted bytes held inside the TLS session, which epoll cannot see. */
static bool link_pending(const struct link *k)
{
    return k->ssl != NULL && SSL_pending(k->ssl) > 0;
}

/* With --tls, the RESULT line says what the first handshake agreed on. */
static void tls_print(void)
{
    if (cfg.tls) {
        printf(" tls_version=%s tls_cipher=%s", tls_version, tls_cipher);
    }
}

/* Sends `req`, reads until the reply ends with `end` (or buf is full / timeout / closed). */
static ssize_t transact(struct link *k, const char *req, const char *end, char *buf, size_t cap)
{
    size_t rlen = strlen(req), elen = strlen(end), got = 0;
    for (size_t off = 0, i = 0; off < rlen; i++) {
        ssize_t n = i < 100 ? link_send(k, req + off, rlen - off) : -1;
        if (n <= 0) {
            return -1;
        }
        off += (size_t)n;
    }
    for (int i = 0; i < 10000 && got + 1 < cap; i++) {
        ssize_t n = link_recv(k, buf + got, cap - 1 - got);
        if (n <= 0) {
            return -1;
        }
        got += (size_t)n;
        buf[got] = '\0';
        if (got >= elen && memcmp(buf + got - elen, end, elen) == 0) {
            return (ssize_t)got;
        }
    }
    return -1;
}

/* ---- server statistics and CPU ---- */

struct srv_stats {
    bool ok;
    char curr_items[32], total_items[32], evictions[32], bytes[32], limit_maxbytes[32];
};

static void stat_copy(const char *buf, const char *name, char *out, size_t cap)
{
    char pat[64];
    snprintf(pat, sizeof(pat), "STAT %s ", name);
    snprintf(out, cap, "-1");
    const char *p = strstr(buf, pat);
    if (p == NULL) {
        return;
    }
    p += strlen(pat);
    size_t n = strcspn(p, "\r\n");
    if (n >= cap) {
        n = cap - 1;
    }
    memcpy(out, p, n);
    out[n] = '\0';
}

static struct srv_stats stats_fetch(void)
{
    struct srv_stats st = { .ok = false };
    static char buf[64 * 1024];
    struct link k;
    bool up = link_open(&k, 3.0);
    if (up && transact(&k, "stats\r\n", "END\r\n", buf, sizeof(buf)) > 0) {
        st.ok = true;
        stat_copy(buf, "curr_items", st.curr_items, sizeof(st.curr_items));
        stat_copy(buf, "total_items", st.total_items, sizeof(st.total_items));
        stat_copy(buf, "evictions", st.evictions, sizeof(st.evictions));
        stat_copy(buf, "bytes", st.bytes, sizeof(st.bytes));
        stat_copy(buf, "limit_maxbytes", st.limit_maxbytes, sizeof(st.limit_maxbytes));
    }
    if (up) {
        link_close(&k);
    }
    return st;
}

static void stats_print(const struct srv_stats *st)
{
    if (!st->ok) {
        printf(" curr_items=-1 stats=failed");
        return;
    }
    printf(" curr_items=%s total_items=%s evictions=%s bytes=%s limit_maxbytes=%s",
           st->curr_items, st->total_items, st->evictions, st->bytes, st->limit_maxbytes);
}

/* utime+stime of a whole process (all threads), from /proc/PID/stat, in µs; -1 if unreadable. */
static double proc_cpu_us(long pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return -1.0;
    }
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');   /* the command name may contain spaces and ')' */
    if (p == NULL) {
        return -1.0;
    }
    p++;
    unsigned long long v[13] = { 0 };   /* fields 3..15; utime is 14, stime 15 */
    for (int i = 0; i < 13; i++) {
        while (*p == ' ') {
            p++;
        }
        if (i == 0) {   /* field 3, the state letter */
            p++;
            continue;
        }
        v[i] = strtoull(p, &p, 10);
    }
    long hz = sysconf(_SC_CLK_TCK);
    return (double)(v[11] + v[12]) * 1e6 / (double)(hz > 0 ? hz : 100);
}

static double self_cpu_us(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

/* ---- requests: composed from fixed fragments into a connection's write buffer ---- */

enum req_kind { REQ_GET, REQ_SET, REQ_SYNC, REQ_META };

static char set_tail[64], fill_tail[64];   /* " 0 0 <size>\r\n", " 0 0 <size> noreply\r\n" */
static size_t set_tail_len, fill_tail_len;
static char *value_block;                  /* value bytes then "\r\n" */
static size_t max_req, wbuf_cap;

static void requests_init(void)
{
    set_tail_len = (size_t)snprintf(set_tail, sizeof(set_tail), " 0 0 %ld\r\n", cfg.value_size);
    fill_tail_len = (size_t)snprintf(fill_tail, sizeof(fill_tail), " 0 0 %ld noreply\r\n",
                                     cfg.value_size);
    value_block = malloc((size_t)cfg.value_size + 2);
    if (value_block == NULL) {
        fprintf(stderr, "loadgen: out of memory\n");
        exit(1);
    }
    for (long i = 0; i < cfg.value_size; i++) {
        value_block[i] = (char)('a' + i % 26);
    }
    memcpy(value_block + cfg.value_size, "\r\n", 2);
    size_t set = 4 + KEY_LEN + fill_tail_len + (size_t)cfg.value_size + 2;
    size_t mget = 3 + (size_t)cfg.mget_keys * (1 + KEY_LEN) + 2;
    size_t meta = (size_t)cfg.mget_keys * (3 + KEY_LEN + 6) + 4;   /* "mg K v q\r\n"... "mn\r\n" */
    if (cfg.binary) {   /* SET(Q) with flags and exptime; GETKQ x m then NOOP */
        set = BIN_HDR + 8 + KEY_LEN + (size_t)cfg.value_size;
        meta = (size_t)cfg.mget_keys * (BIN_HDR + KEY_LEN) + BIN_HDR;
    }
    max_req = set > mget ? set : mget;
    max_req = max_req > meta ? max_req : meta;
    wbuf_cap = (size_t)cfg.depth * max_req + BIN_HDR;   /* + a fill's `version` or NOOP */
    if (wbuf_cap * (size_t)cfg.conns > MAX_WBUF) {
        fprintf(stderr, "loadgen: conns x depth x request size exceeds %lu MiB\n", MAX_WBUF >> 20);
        exit(64);
    }
}

static char *put(char *p, const char *s, size_t n)
{
    memcpy(p, s, n);
    return p + n;
}

static char *put_key(char *p, uint64_t k)
{
    p = put(p, KEY_PREFIX, 4);
    for (int i = KEY_DIGITS - 1; i >= 0; i--) {
        p[i] = (char)('0' + k % 10);
        k /= 10;
    }
    return p + KEY_DIGITS;
}

/* A get of nkeys random keys; the keys are also written to `asked`, to check the reply. */
static char *put_get(char *p, uint64_t *rng, int nkeys, uint64_t *asked)
{
    p = put(p, "get", 3);
    for (int i = 0; i < nkeys; i++) {
        asked[i] = rng_below(rng, cfg.keyspace);
        *p++ = ' ';
        p = put_key(p, asked[i]);
    }
    return put(p, "\r\n", 2);
}

/* A meta batch: nkeys `mg <key> v q`, then `mn`. A key is stored (below the keyspace) with
 * probability --hit-ratio, else from [keyspace, 2 x keyspace), which nothing stores; *expect
 * gets the count of stored keys, the VA blocks the batch should bring back. */
static char *put_meta(char *p, uint64_t *rng, int nkeys, uint32_t *expect)
{
    uint32_t hits = 0;
    for (int i = 0; i < nkeys; i++) {
        uint64_t k = rng_below(rng, cfg.keyspace);
        if (rng_unit(rng) < cfg.hit_ratio) {
            hits++;
        } else {
            k += cfg.keyspace;
        }
        p = put(p, "mg ", 3);
        p = put_key(p, k);
        p = put(p, " v q\r\n", 6);
    }
    *expect = hits;
    return put(p, "mn\r\n", 4);
}

static char *put_set(char *p, uint64_t key, bool noreply)
{
    p = put(p, "set ", 4);
    p = put_key(p, key);
    p = noreply ? put(p, fill_tail, fill_tail_len) : put(p, set_tail, set_tail_len);
    return put(p, value_block, (size_t)cfg.value_size + 2);
}

/* Binary requests: a 24-byte header (fields in its order), then extras, key and value. */
static char *put_bin_hdr(char *p, uint8_t opcode, uint16_t keylen, uint8_t extlen,
                         uint32_t bodylen, uint32_t opaque)
{
    memset(p, 0, BIN_HDR);
    p[0] = (char)BIN_REQ;
    p[1] = (char)opcode;
    p[2] = (char)(keylen >> 8);
    p[3] = (char)keylen;
    p[4] = (char)extlen;
    for (int i = 0; i < 4; i++) {
        p[8 + i] = (char)(bodylen >> (24 - 8 * i));
        p[12 + i] = (char)(opaque >> (24 - 8 * i));
    }
    return p + BIN_HDR;
}

/* SET (or SETQ with quiet): flags 0 and exptime 0 as extras, like the ASCII `set ... 0 0`. */
static char *put_bin_set(char *p, uint64_t key, bool quiet, uint32_t opaque)
{
    uint32_t vlen = (uint32_t)cfg.value_size;
    p = put_bin_hdr(p, quiet ? BIN_SETQ : BIN_SET, KEY_LEN, 8, 8 + KEY_LEN + vlen, opaque);
    memset(p, 0, 8);
    p = put_key(p + 8, key);
    return put(p, value_block, vlen);
}

static char *put_bin_get(char *p, uint64_t *rng, uint64_t *asked, uint32_t opaque)
{
    *asked = rng_below(rng, cfg.keyspace);
    p = put_bin_hdr(p, BIN_GET, KEY_LEN, 0, KEY_LEN, opaque);
    return put_key(p, *asked);
}

/* The binary meta batch: nkeys GETKQ, then NOOP, all with the request's opaque. Keys are drawn
 * as in put_meta; GETKQ answers carry the key, so `asked` keeps them to check key by key. */
static char *put_bin_meta(char *p, uint64_t *rng, int nkeys, uint64_t *asked, uint32_t *expect,
                          uint32_t opaque)
{
    uint32_t hits = 0;
    for (int i = 0; i < nkeys; i++) {
        uint64_t k = rng_below(rng, cfg.keyspace);
        if (rng_unit(rng) < cfg.hit_ratio) {
            hits++;
        } else {
            k += cfg.keyspace;
        }
        asked[i] = k;
        p = put_bin_hdr(p, BIN_GETKQ, KEY_LEN, 0, KEY_LEN, opaque);
        p = put_key(p, k);
    }
    *expect = hits;
    return put_bin_hdr(p, BIN_NOOP, 0, 0, 0, opaque);
}

/* ---- connections and workers ---- */

struct pending {
    uint8_t kind;
    uint32_t nkeys;   /* keys asked (get) or sets covered (sync) */
    uint32_t hits;    /* VALUE blocks seen so far */
    uint32_t kofs;    /* get: where its keys start in conn.asked */
    uint32_t kcur;    /* get: keys already matched or passed over (misses) */
    uint32_t expect;  /* meta: keys of the batch that are stored (the VA blocks due) */
    uint32_t opaque;  /* binary: what every reply to this request must echo */
};

struct conn {
    struct link io;
    bool open, busy, want_out;
    char *wbuf;
    size_t wlen, woff;
    struct pending *ring;
    uint64_t *asked;     /* the keys of the gets in flight, in request order */
    uint32_t nasked;
    unsigned head, npend;
    uint64_t sent_ns;
    uint64_t skip;       /* value bytes still to skip */
    bool expect_crlf;    /* a value's trailing \r\n is next */
    bool vcheck;         /* binary: compare the skipped bytes with value_block from voff */
    bool finish;         /* binary: the oldest request is answered once skip reaches 0 */
    uint32_t voff;
    uint32_t seq;        /* binary: the next request's opaque */
    size_t rlen;
    char rbuf[RBUF_SIZE];
};

struct tally {
    uint64_t requests, gets, sets, keys, hits, misses, absent, fill_sets;
    uint64_t errors, proto_errors, bad_values, bad_keys, closed, timeouts;
};

enum phase { PHASE_WARMUP, PHASE_MEASURE };

struct worker {
    pthread_t tid;
    int idx, epfd, nconns, busy;
    struct conn **conns;
    enum phase phase;
    enum workload wl;
    uint64_t rng, quota, fill_next, fill_end, stop_ns, hard_ns;
    struct tally t;
    struct hist hist;
};

static void conn_fail(struct worker *w, struct conn *c)
{
    if (!c->open) {
        return;
    }
    epoll_ctl(w->epfd, EPOLL_CTL_DEL, c->io.fd, NULL);
    link_close(&c->io);
    c->open = false;
    if (c->busy) {
        c->busy = false;
        w->busy--;
    }
}

static void conn_want_out(struct worker *w, struct conn *c, bool on)
{
    if (c->want_out == on) {
        return;
    }
    struct epoll_event ev = { .events = EPOLLIN | (on ? EPOLLOUT : 0), .data.ptr = c };
    epoll_ctl(w->epfd, EPOLL_CTL_MOD, c->io.fd, &ev);
    c->want_out = on;
}

static void conn_flush(struct worker *w, struct conn *c)
{
    for (int i = 0; i < 64 && c->woff < c->wlen; i++) {
        ssize_t n = link_send(&c->io, c->wbuf + c->woff, c->wlen - c->woff);
        if (n > 0) {
            c->woff += (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            break;
        } else {
            w->t.closed++;
            conn_fail(w, c);
            return;
        }
    }
    /* a TLS write that waits for the socket to be readable is retried by conn_readable */
    conn_want_out(w, c, c->woff < c->wlen && !c->io.wr_wants_rd);
}

static struct pending *ring_push(struct conn *c, enum req_kind kind, uint32_t nkeys)
{
    unsigned slot = (c->head + c->npend) % (unsigned)(cfg.depth + 1);
    c->ring[slot] = (struct pending){ .kind = (uint8_t)kind, .nkeys = nkeys, .kofs = c->nasked,
                                      .opaque = c->seq++ };
    if (kind == REQ_GET || (kind == REQ_META && cfg.binary)) {
        c->nasked += nkeys;
    }
    c->npend++;
    return &c->ring[slot];
}

/* How many requests the next batch may hold: 0 means this connection is done. */
static uint64_t batch_room(struct worker *w, uint64_t now)
{
    uint64_t n = (uint64_t)cfg.depth;
    if (now >= w->stop_ns) {
        return 0;
    }
    if (w->wl == WL_FILL) {
        uint64_t left = w->fill_end - w->fill_next;
        return n < left ? n : left;
    }
    return n < w->quota ? n : w->quota;
}

/* A batch of n binary requests into p: the same choices as the ASCII batch in conn_issue. */
static char *issue_binary(struct worker *w, struct conn *c, char *p, uint64_t n)
{
    if (w->wl == WL_FILL) {
        for (uint64_t i = 0; i < n; i++) {
            p = put_bin_set(p, w->fill_next++, true, c->seq);
        }
        p = put_bin_hdr(p, BIN_NOOP, 0, 0, 0, c->seq);
        ring_push(c, REQ_SYNC, (uint32_t)n);
        return p;
    }
    w->quota -= n;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t *asked = c->asked + c->nasked;
        if (w->wl == WL_META) {
            uint32_t expect = 0;
            p = put_bin_meta(p, &w->rng, (int)cfg.mget_keys, asked, &expect, c->seq);
            ring_push(c, REQ_META, (uint32_t)cfg.mget_keys)->expect = expect;
        } else if (rng_unit(&w->rng) < cfg.get_ratio) {
            p = put_bin_get(p, &w->rng, asked, c->seq);
            ring_push(c, REQ_GET, 1);
        } else {
            p = put_bin_set(p, rng_below(&w->rng, cfg.keyspace), false, c->seq);
            ring_push(c, REQ_SET, 1);
        }
    }
    return p;
}

static void conn_issue(struct worker *w, struct conn *c, uint64_t now)
{
    uint64_t n = batch_room(w, now);
    if (n == 0 || !c->open) {
        if (c->busy) {
            c->busy = false;
            w->busy--;
        }
        return;
    }
    char *p = c->wbuf;
    c->nasked = 0;   /* the previous batch is fully answered */
    if (cfg.binary) {
        p = issue_binary(w, c, p, n);
    } else if (w->wl == WL_FILL) {
        for (uint64_t i = 0; i < n; i++) {
            p = put_set(p, w->fill_next++, true);
        }
        p = put(p, "version\r\n", 9);
        ring_push(c, REQ_SYNC, (uint32_t)n);
    } else {
        w->quota -= n;
        for (uint64_t i = 0; i < n; i++) {
            if (w->wl == WL_META) {
                uint32_t expect = 0;
                p = put_meta(p, &w->rng, (int)cfg.mget_keys, &expect);
                ring_push(c, REQ_META, (uint32_t)cfg.mget_keys)->expect = expect;
            } else if (w->wl == WL_MULTIGET) {
                p = put_get(p, &w->rng, (int)cfg.mget_keys, c->asked + c->nasked);
                ring_push(c, REQ_GET, (uint32_t)cfg.mget_keys);
            } else if (rng_unit(&w->rng) < cfg.get_ratio) {
                p = put_get(p, &w->rng, 1, c->asked + c->nasked);
                ring_push(c, REQ_GET, 1);
            } else {
                p = put_set(p, rng_below(&w->rng, cfg.keyspace), false);
                ring_push(c, REQ_SET, 1);
            }
        }
    }
    c->wlen = (size_t)(p - c->wbuf);
    c->woff = 0;
    c->sent_ns = now;
    if (!c->busy) {
        c->busy = true;
        w->busy++;
    }
    conn_flush(w, c);
}

static void request_done(struct worker *w, struct conn *c, uint64_t now)
{
    struct pending *p = &c->ring[c->head];
    hist_add(&w->hist, now - c->sent_ns);
    w->t.requests++;
    if (p->kind == REQ_GET) {
        w->t.gets++;
        w->t.keys += p->nkeys;
        w->t.hits += p->hits;
        w->t.misses += p->hits < p->nkeys ? p->nkeys - p->hits : 0;
    } else if (p->kind == REQ_META) {
        /* Quiet misses answer nothing, so a VA names no key: what can be checked is the count.
         * Fewer VA than stored keys asked are misses (faults: the warm-up stored them); more are
         * answers for keys nothing stored (bad_keys). */
        w->t.gets += p->nkeys;
        w->t.keys += p->nkeys;
        w->t.hits += p->hits;
        w->t.absent += p->nkeys - p->expect;
        w->t.misses += p->hits < p->expect ? p->expect - p->hits : 0;
        w->t.bad_keys += p->hits > p->expect ? p->hits - p->expect : 0;
    } else if (p->kind == REQ_SET) {
        w->t.sets++;
    } else {
        w->t.fill_sets += p->nkeys;
    }
    c->head = (c->head + 1) % (unsigned)(cfg.depth + 1);
    c->npend--;
}

static bool line_is(const char *l, size_t n, const char *lit)
{
    size_t k = strlen(lit);
    return n == k && memcmp(l, lit, k) == 0;
}

static bool line_starts(const char *l, size_t n, const char *lit)
{
    size_t k = strlen(lit);
    return n >= k && memcmp(l, lit, k) == 0;
}

static bool line_is_error(const char *l, size_t n)
{
    return line_is(l, n, "ERROR") || line_starts(l, n, "CLIENT_ERROR ") ||
           line_starts(l, n, "SERVER_ERROR ");
}

/* "VALUE <key> <flags> <bytes>[ <cas>]": the byte count, or -1 if malformed. */
static int64_t value_bytes(const char *l, size_t n)
{
    size_t i = 0;
    for (int spaces = 0; i < n && spaces < 3; i++) {
        spaces += l[i] == ' ';
    }
    int64_t v = 0;
    size_t start = i;
    for (; i < n && l[i] >= '0' && l[i] <= '9' && i - start < 10; i++) {
        v = v * 10 + (l[i] - '0');
    }
    if (i == start || (i < n && l[i] != ' ')) {
        return -1;
    }
    return v;
}

/* "VA <bytes>[ <flags>...]": the byte count, or -1 if malformed. */
static int64_t va_bytes(const char *l, size_t n)
{
    int64_t v = 0;
    size_t i = 3;
    for (; i < n && l[i] >= '0' && l[i] <= '9' && i - 3 < 10; i++) {
        v = v * 10 + (l[i] - '0');
    }
    if (i == 3 || (i < n && l[i] != ' ')) {
        return -1;
    }
    return v;
}

/* Is the key of "VALUE <key> ..." one this get asked for, in order? A server answers the keys
 * it holds in the order they were asked, skipping the misses. */
static bool value_key_ok(struct conn *c, struct pending *p, const char *l, size_t n)
{
    char want[KEY_LEN];
    const char *key = l + 6;
    const char *sp = memchr(key, ' ', n - 6);
    if (sp == NULL || sp - key != KEY_LEN) {
        return false;
    }
    for (; p->kcur < p->nkeys; p->kcur++) {
        put_key(want, c->asked[p->kofs + p->kcur]);
        if (memcmp(want, key, KEY_LEN) == 0) {
            p->kcur++;
            return true;
        }
    }
    return false;
}

/* One reply line (without \r\n) for the oldest pending request. False: protocol error. */
static bool handle_line(struct worker *w, struct conn *c, const char *l, size_t n, uint64_t now)
{
    if (c->npend == 0) {
        return false;
    }
    struct pending *p = &c->ring[c->head];
    switch ((enum req_kind)p->kind) {
    case REQ_GET:
        if (line_starts(l, n, "VALUE ")) {
            int64_t bytes = value_bytes(l, n);
            if (bytes < 0) {
                return false;
            }
            w->t.bad_values += bytes != cfg.value_size;
            w->t.bad_keys += !value_key_ok(c, p, l, n);
            c->skip = (uint64_t)bytes;
            c->expect_crlf = true;
            p->hits++;
            return true;
        }
        if (line_is(l, n, "END")) {
            request_done(w, c, now);
            return true;
        }
        break;
    case REQ_SET:
        if (line_is(l, n, "STORED")) {
            request_done(w, c, now);
            return true;
        }
        if (line_is(l, n, "NOT_STORED") || line_is(l, n, "EXISTS") || line_is(l, n, "NOT_FOUND")) {
            w->t.errors++;
            request_done(w, c, now);
            return true;
        }
        break;
    case REQ_META:
        if (line_starts(l, n, "VA ")) {
            int64_t bytes = va_bytes(l, n);
            if (bytes < 0) {
                return false;
            }
            w->t.bad_values += bytes != cfg.value_size;
            c->skip = (uint64_t)bytes;
            c->expect_crlf = true;
            p->hits++;
            return true;
        }
        if (line_is(l, n, "MN")) {
            request_done(w, c, now);
            return true;
        }
        if (line_is(l, n, "EN") || line_is_error(l, n)) {   /* q hides EN; MN is still coming */
            w->t.errors++;
            return true;
        }
        return false;
    case REQ_SYNC:
        if (line_starts(l, n, "VERSION ")) {
            request_done(w, c, now);
            return true;
        }
        if (line_is_error(l, n)) {   /* an answer to a noreply set: the sync is still coming */
            w->t.errors++;
            return true;
        }
        return false;
    }
    if (line_is_error(l, n)) {
        w->t.errors++;
        request_done(w, c, now);
        return true;
    }
    return false;
}

/* Consumes complete lines and value blocks from rbuf; keeps a partial line for later. */
static bool conn_parse(struct worker *w, struct conn *c, uint64_t now)
{
    size_t pos = 0;
    while (pos < c->rlen) {
        size_t avail = c->rlen - pos;
        if (c->skip > 0) {
            size_t take = c->skip < avail ? (size_t)c->skip : avail;
            pos += take;
            c->skip -= take;
            continue;
        }
        if (c->expect_crlf) {
            if (avail < 2) {
                break;
            }
            if (memcmp(c->rbuf + pos, "\r\n", 2) != 0) {
                return false;
            }
            pos += 2;
            c->expect_crlf = false;
            continue;
        }
        const char *l = c->rbuf + pos;
        const char *nl = memchr(l, '\n', avail);
        if (nl == NULL) {
            if (avail > MAX_LINE) {
                return false;
            }
            break;
        }
        size_t n = (size_t)(nl - l);
        if (n == 0 || l[n - 1] != '\r' || !handle_line(w, c, l, n - 1, now)) {
            return false;
        }
        pos += n + 1;
    }
    memmove(c->rbuf, c->rbuf + pos, c->rlen - pos);
    c->rlen -= pos;
    return true;
}

/* ---- binary replies: a header, extras and key held whole (BIN_HEAD_MAX at most), the value
 * streamed past and compared with value_block as it goes ---- */

struct bin_res {
    uint8_t opcode, extlen;
    uint16_t keylen, status;
    uint32_t bodylen, opaque;
};

static uint32_t get_be(const char *p, unsigned n)
{
    uint32_t v = 0;
    for (unsigned i = 0; i < n; i++) {
        v = v << 8 | (uint8_t)p[i];
    }
    return v;
}

/* Is this GETKQ answer's key one the batch asked for, in order, and one that was stored? The
 * keys passed over are the ones that answered nothing: misses, or keys never stored. */
static bool bin_key_stored(struct conn *c, struct pending *p, const char *key, size_t n)
{
    char want[KEY_LEN];
    if (n != KEY_LEN) {
        return false;
    }
    for (; p->kcur < p->nkeys; p->kcur++) {
        uint64_t k = c->asked[p->kofs + p->kcur];
        put_key(want, k);
        if (memcmp(want, key, KEY_LEN) == 0) {
            p->kcur++;
            return k < cfg.keyspace;
        }
    }
    return false;
}

/* A hit: flags 0 and the stored size, or a bad value; if so far good, its bytes are compared
 * with value_block as they stream past (bin_value_bytes). */
static void bin_value_start(struct worker *w, struct conn *c, const struct bin_res *r,
                            const char *body)
{
    uint32_t vlen = r->bodylen - r->extlen - r->keylen;
    bool ok = r->extlen == 4 && get_be(body, 4) == 0 && vlen == (uint32_t)cfg.value_size;
    w->t.bad_values += !ok;
    c->vcheck = ok;
    c->voff = 0;
}

static void bin_value_bytes(struct worker *w, struct conn *c, const char *b, size_t n)
{
    if (c->vcheck && memcmp(b, value_block + c->voff, n) != 0) {
        w->t.bad_values++;
        c->vcheck = false;
    }
    c->voff += (uint32_t)n;
}

/* One reply header, its extras and key at body, for the oldest pending request: counts it and
 * says whether the request ends once the value (or error text) after it is skipped. Every reply
 * must echo the request's opaque and carry its opcode, or NOOP's where the batch ends with one.
 * False: protocol error. */
static bool handle_packet(struct worker *w, struct conn *c, const struct bin_res *r,
                          const char *body)
{
    static const uint8_t opcode_of[] = { [REQ_GET] = BIN_GET, [REQ_SET] = BIN_SET,
                                         [REQ_SYNC] = BIN_SETQ, [REQ_META] = BIN_GETKQ };
    if (c->npend == 0 || r->opaque != c->ring[c->head].opaque) {
        return false;
    }
    struct pending *p = &c->ring[c->head];
    bool ok = r->status == BIN_OK;
    bool noop = r->opcode == BIN_NOOP && (p->kind == REQ_SYNC || p->kind == REQ_META);
    if (!noop && r->opcode != opcode_of[p->kind]) {
        return false;
    }
    c->skip = r->bodylen - r->extlen - r->keylen;
    c->vcheck = false;
    c->finish = noop || p->kind == REQ_GET || p->kind == REQ_SET;
    if (noop) {
        w->t.errors += !ok;
        return true;
    }
    bool hit = false;
    switch ((enum req_kind)p->kind) {
    case REQ_GET:   /* a miss (KEY_ENOENT) is counted by request_done */
        w->t.errors += !ok && r->status != BIN_ENOENT;
        hit = ok;
        break;
    case REQ_SET:
        w->t.errors += !ok;
        break;
    case REQ_SYNC:   /* a quiet set answers only when it fails */
        w->t.errors++;
        break;
    case REQ_META:   /* a quiet get answers only a hit: a key asked, in order, and stored */
        w->t.errors += !ok;
        hit = ok && bin_key_stored(c, p, body + r->extlen, r->keylen);
        w->t.bad_keys += ok && !hit;
        break;
    }
    if (hit) {
        bin_value_start(w, c, r, body);
        p->hits++;
    }
    return true;
}

static void bin_finish(struct worker *w, struct conn *c, uint64_t now)
{
    if (c->skip == 0 && c->finish) {
        c->finish = false;
        request_done(w, c, now);
    }
}

/* Consumes whole reply headers (with extras and key) and value bytes from rbuf; keeps a partial
 * header for later. Lengths are checked against each other and the bounds before any is used. */
static bool conn_parse_bin(struct worker *w, struct conn *c, uint64_t now)
{
    size_t pos = 0;
    while (pos < c->rlen) {
        size_t avail = c->rlen - pos;
        if (c->skip > 0) {
            size_t take = c->skip < avail ? (size_t)c->skip : avail;
            bin_value_bytes(w, c, c->rbuf + pos, take);
            pos += take;
            c->skip -= take;
            bin_finish(w, c, now);
            continue;
        }
        if (avail < BIN_HDR) {
            break;
        }
        const char *h = c->rbuf + pos;
        struct bin_res r = { .opcode = (uint8_t)h[1], .keylen = (uint16_t)get_be(h + 2, 2),
                             .extlen = (uint8_t)h[4], .status = (uint16_t)get_be(h + 6, 2),
                             .bodylen = get_be(h + 8, 4), .opaque = get_be(h + 12, 4) };
        size_t head = (size_t)r.extlen + r.keylen;
        if ((uint8_t)h[0] != BIN_RES || head > BIN_HEAD_MAX || head > r.bodylen ||
            r.bodylen - head > MAX_VALUE) {
            return false;
        }
        if (avail < BIN_HDR + head) {
            break;
        }
        if (!handle_packet(w, c, &r, h + BIN_HDR)) {
            return false;
        }
        pos += BIN_HDR + head;
        bin_finish(w, c, now);
    }
    memmove(c->rbuf, c->rbuf + pos, c->rlen - pos);
    c->rlen -= pos;
    return true;
}

static void conn_readable(struct worker *w, struct conn *c)
{
    if (c->io.wr_wants_rd && c->woff < c->wlen) {
        conn_flush(w, c);
    }
    /* TLS: bytes already decrypted into the session are invisible to epoll, so they are read
     * before returning. A read takes a whole record (16 KiB at most; rbuf always has more room
     * than that after parsing), so one pass more is the most this can add. */
    for (int i = 0; c->open && (i < READS_PER_EVENT ||
                                (i < 2 * READS_PER_EVENT && link_pending(&c->io))); i++) {
        size_t room = RBUF_SIZE - c->rlen;
        ssize_t n = link_recv(&c->io, c->rbuf + c->rlen, room);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (c->io.rd_wants_wr) {
                conn_want_out(w, c, true);   /* the event loop calls back when writable */
            }
            return;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            w->t.closed++;
            conn_fail(w, c);
            return;
        }
        c->rlen += (size_t)n;
        uint64_t now = now_ns();
        if (!(cfg.binary ? conn_parse_bin(w, c, now) : conn_parse(w, c, now))) {
            w->t.proto_errors++;
            conn_fail(w, c);
            return;
        }
        if (c->npend == 0) {
            conn_issue(w, c, now);
        }
        if ((size_t)n < room && !link_pending(&c->io)) {
            return;   /* drained; level-triggered epoll reports anything that arrives later */
        }
    }
}

/* One phase on this worker's connections: issue a batch on each, then serve events until
 * every connection is done or the hard deadline passes. */
static void worker_phase(struct worker *w)
{
    uint64_t now = now_ns();
    for (int i = 0; i < w->nconns; i++) {
        conn_issue(w, w->conns[i], now);
    }
    struct epoll_event evs[EPOLL_BATCH];
    /* Bounded by the hard deadline, and by a count no real loop reaches (an epoll_wait per pass
     * costs far more than 100 ns), in case the clock misbehaves. */
    uint64_t max_passes = (w->hard_ns - now) / 100 + 1000;
    for (uint64_t pass = 0; w->busy > 0; pass++) {
        now = now_ns();
        if (now >= w->hard_ns || pass >= max_passes) {
            for (int i = 0; i < w->nconns; i++) {
                w->t.timeouts += w->conns[i]->npend;
            }
            break;
        }
        int ms = (int)((w->hard_ns - now) / 1000000ULL) + 1;
        int n = epoll_wait(w->epfd, evs, EPOLL_BATCH, ms < 100 ? ms : 100);
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (c->open && (evs[i].events & EPOLLOUT)) {
                conn_flush(w, c);
                if (c->open && c->io.rd_wants_wr) {
                    conn_readable(w, c);
                }
            }
            if (c->open && (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))) {
                conn_readable(w, c);
            }
        }
    }
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    worker_phase(w);
    return NULL;
}

static struct conn *conn_create(int epfd)
{
    struct conn *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        return NULL;
    }
    c->wbuf = malloc(wbuf_cap);
    c->ring = calloc((size_t)cfg.depth + 1, sizeof(*c->ring));
    c->asked = calloc((size_t)cfg.depth * (size_t)cfg.mget_keys, sizeof(*c->asked));
    c->io.fd = -1;
    if (c->wbuf == NULL || c->ring == NULL || c->asked == NULL || !link_open(&c->io, 5.0)) {
        goto fail;
    }
    int fl = fcntl(c->io.fd, F_GETFL);
    fcntl(c->io.fd, F_SETFL, fl | O_NONBLOCK);
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->io.fd, &ev) != 0) {
        goto fail;
    }
    c->open = true;
    return c;
fail:
    link_close(&c->io);
    free(c->wbuf);
    free(c->ring);
    free(c->asked);
    free(c);
    return NULL;
}

static void workers_destroy(struct worker **wsp)
{
    struct worker *ws = *wsp;
    if (ws == NULL) {
        return;
    }
    for (long i = 0; i < cfg.threads; i++) {
        for (int j = 0; j < ws[i].nconns; j++) {
            struct conn *c = ws[i].conns[j];
            if (c->open) {
                link_close(&c->io);
            }
            free(c->wbuf);
            free(c->ring);
            free(c->asked);
            free(c);
        }
        free(ws[i].conns);
        if (ws[i].epfd >= 0) {
            close(ws[i].epfd);
        }
    }
    free(ws);
    *wsp = NULL;
}

static struct worker *workers_create(void)
{
    struct worker *ws = calloc((size_t)cfg.threads, sizeof(*ws));
    if (ws == NULL) {
        return NULL;
    }
    for (long i = 0; i < cfg.threads; i++) {
        ws[i].epfd = -1;
    }
    for (long i = 0; i < cfg.threads; i++) {
        struct worker *w = &ws[i];
        w->idx = (int)i;
        w->epfd = epoll_create1(EPOLL_CLOEXEC);
        w->conns = calloc((size_t)cfg.conns, sizeof(*w->conns));
        uint64_t seed = cfg.seed + 0x632be59bd9b4e019ULL * (uint64_t)(i + 1);
        w->rng = rng_next(&seed);
        if (w->epfd < 0 || w->conns == NULL) {
            fprintf(stderr, "loadgen: out of memory or descriptors\n");
            workers_destroy(&ws);
            return NULL;
        }
    }
    for (long i = 0; i < cfg.conns; i++) {   /* connections dealt round-robin to threads */
        struct worker *w = &ws[i % cfg.threads];
        struct conn *c = conn_create(w->epfd);
        if (c == NULL) {
            fprintf(stderr, "loadgen: cannot connect to %s:%ld (connection %ld): %s\n",
                    cfg.host, cfg.port, i, strerror(errno));
            workers_destroy(&ws);
            return NULL;
        }
        w->conns[w->nconns++] = c;
    }
    return ws;
}

/* Sets each worker up for a phase: which keys to fill or how many requests, and deadlines. */
static void workers_arm(struct worker *ws, enum phase ph, uint64_t start)
{
    bool fill = ph == PHASE_WARMUP || cfg.wl == WL_FILL;
    uint64_t keys = ph == PHASE_WARMUP ? cfg.keyspace : cfg.count;
    uint64_t dur = ph == PHASE_WARMUP ? WARMUP_MAX_NS : (uint64_t)(cfg.duration * 1e9);
    for (long i = 0; i < cfg.threads; i++) {
        struct worker *w = &ws[i];
        w->phase = ph;
        w->wl = fill ? WL_FILL : cfg.wl;
        w->fill_next = keys * (uint64_t)i / (uint64_t)cfg.threads;
        w->fill_end = keys * (uint64_t)(i + 1) / (uint64_t)cfg.threads;
        w->quota = cfg.count == 0 ? UINT64_MAX
                                  : cfg.count / (uint64_t)cfg.threads +
                                        ((uint64_t)i < cfg.count % (uint64_t)cfg.threads);
        w->stop_ns = start + dur;
        w->hard_ns = w->stop_ns + DRAIN_NS;
        memset(&w->t, 0, sizeof(w->t));
        memset(&w->hist, 0, sizeof(w->hist));
    }
}

static bool workers_run(struct worker *ws)
{
    for (long i = 0; i < cfg.threads; i++) {
        if (pthread_create(&ws[i].tid, NULL, worker_main, &ws[i]) != 0) {
            fprintf(stderr, "loadgen: pthread_create failed\n");
            exit(1);
        }
    }
    bool ok = true;
    for (long i = 0; i < cfg.threads; i++) {
        pthread_join(ws[i].tid, NULL);
        const struct tally *t = &ws[i].t;
        ok = ok && t->timeouts == 0 && t->closed == 0 && t->proto_errors == 0;
    }
    return ok;
}

/* ---- the modes ---- */

static int run_ping(void)
{
    static char buf[512];
    uint64_t deadline = now_ns() + (uint64_t)(cfg.duration * 1e9);
    for (int i = 0; i < 100000 && now_ns() < deadline; i++) {
        struct link k;
        if (link_open(&k, 1.0)) {
            ssize_t n = transact(&k, "version\r\n", "\r\n", buf, sizeof(buf));
            link_close(&k);
            if (n > 0 && strncmp(buf, "VERSION ", 8) == 0) {
                buf[strcspn(buf, "\r\n")] = '\0';
                printf("RESULT workload=ping label=%s version=%s", cfg.label, buf + 8);
                tls_print();
                printf("\n");
                return 0;
            }
        }
        struct timespec ts = { 0, 50 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    fprintf(stderr, "loadgen: no VERSION from %s:%ld within %.1f s\n", cfg.host, cfg.port,
            cfg.duration);
    return 1;
}

static int run_stats(void)
{
    struct srv_stats st = stats_fetch();
    printf("RESULT workload=stats label=%s", cfg.label);
    stats_print(&st);
    printf("\n");
    return st.ok ? 0 : 1;
}

struct totals {
    struct tally t;
    struct hist hist;
};

static void totals_add(struct totals *to, const struct worker *w)
{
    const struct tally *a = &w->t;
    struct tally *b = &to->t;
    b->requests += a->requests;
    b->gets += a->gets;
    b->sets += a->sets;
    b->keys += a->keys;
    b->hits += a->hits;
    b->misses += a->misses;
    b->absent += a->absent;
    b->fill_sets += a->fill_sets;
    b->errors += a->errors;
    b->proto_errors += a->proto_errors;
    b->bad_values += a->bad_values;
    b->bad_keys += a->bad_keys;
    b->closed += a->closed;
    b->timeouts += a->timeouts;
    hist_merge(&to->hist, &w->hist);
}

static void print_result(const struct totals *to, double secs, double srv_cpu, double cli_cpu)
{
    const struct tally *t = &to->t;
    uint64_t ops = cfg.wl == WL_MULTIGET || cfg.wl == WL_META ? t->keys
                   : cfg.wl == WL_FILL                        ? t->fill_sets
                                                              : t->requests;
    double per_op = ops > 0 ? 1.0 / (double)ops : 0.0;
    printf("RESULT workload=%s label=%s conns=%ld depth=%ld threads=%ld value_size=%ld "
           "keyspace=%llu elapsed_s=%.3f requests=%" PRIu64 " ops=%" PRIu64
           " req_per_s=%.0f ops_per_s=%.0f",
           workload_names[cfg.wl], cfg.label, cfg.conns, cfg.depth, cfg.threads, cfg.value_size,
           cfg.keyspace, secs, t->requests, ops, (double)t->requests / secs, (double)ops / secs);
    printf(" p50_us=%.1f p90_us=%.1f p99_us=%.1f p999_us=%.1f max_us=%.1f mean_us=%.1f",
           hist_quantile_us(&to->hist, 0.50), hist_quantile_us(&to->hist, 0.90),
           hist_quantile_us(&to->hist, 0.99), hist_quantile_us(&to->hist, 0.999),
           (double)to->hist.max / 1000.0,
           to->hist.n ? (double)to->hist.sum / (double)to->hist.n / 1000.0 : 0.0);
    printf(" gets=%" PRIu64 " sets=%" PRIu64 " keys=%" PRIu64 " hits=%" PRIu64 " misses=%" PRIu64
           " absent=%" PRIu64 " stored=%" PRIu64 " errors=%" PRIu64 " proto_errors=%" PRIu64 " bad_values=%" PRIu64
           " bad_keys=%" PRIu64 " closed=%" PRIu64 " timeouts=%" PRIu64,
           t->gets, t->sets, t->keys, t->hits, t->misses, t->absent, t->fill_sets, t->errors,
           t->proto_errors, t->bad_values, t->bad_keys, t->closed, t->timeouts);
    if (srv_cpu >= 0.0) {
        printf(" server_cpu_us=%.0f server_cpu_us_per_op=%.3f", srv_cpu, srv_cpu * per_op);
    } else {
        printf(" server_cpu_us=-1 server_cpu_us_per_op=-1");
    }
    printf(" client_cpu_us_per_op=%.3f", cli_cpu * per_op);
    if (cfg.binary) {
        printf(" protocol=binary");
    }
    tls_print();
}

static int run_load(void)
{
    requests_init();
    struct worker *ws = workers_create();
    if (ws == NULL) {
        return 2;
    }
    if (cfg.warmup) {
        workers_arm(ws, PHASE_WARMUP, now_ns());
        if (!workers_run(ws)) {
            fprintf(stderr, "loadgen: warm-up failed (server closed, timed out or misanswered)\n");
            workers_destroy(&ws);
            return 2;
        }
    }
    double srv0 = cfg.cpu_pid ? proc_cpu_us(cfg.cpu_pid) : -1.0;
    double cli0 = self_cpu_us();
    uint64_t start = now_ns();
    workers_arm(ws, PHASE_MEASURE, start);
    bool ok = workers_run(ws);
    double secs = (double)(now_ns() - start) / 1e9;
    double srv1 = cfg.cpu_pid ? proc_cpu_us(cfg.cpu_pid) : -1.0;
    double cli1 = self_cpu_us();

    static struct totals to;
    for (long i = 0; i < cfg.threads; i++) {
        totals_add(&to, &ws[i]);
    }
    print_result(&to, secs, srv0 >= 0 && srv1 >= 0 ? srv1 - srv0 : -1.0, cli1 - cli0);
    if (cfg.stats) {
        struct srv_stats st = stats_fetch();
        stats_print(&st);
    }
    printf("\n");
    fflush(stdout);
    workers_destroy(&ws);
    free(value_block);
    return ok ? 0 : 3;
}

/* ---- connect: short connections, one `get` each ----
 * Each thread, blocking: socket, connect, `get <key>` (a random key below -k, stored beforehand
 * with -W or a fill), read the whole reply, check it (VALUE header, the value's bytes, END; a bare
 * END is a miss), close. One op is one connection; its latency runs from socket() to close(). */

struct cworker {
    pthread_t tid;
    uint64_t rng, quota, stop_ns;
    char *buf;
    size_t cap;
    struct tally t;
    uint64_t connect_errors;
    struct hist hist;
};

/* One connection's request and reply; false when the connection could not be made. */
static bool connect_once(struct cworker *w)
{
    int fd = socket(srv_addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return false;
    }
    struct timeval tv = { .tv_sec = 2, .tv_usec = 0 };
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd, (const struct sockaddr *)&srv_addr, srv_addrlen) != 0) {
        close(fd);
        return false;
    }
    char req[32 + KEY_LEN], key[KEY_LEN + 1], head[64 + KEY_LEN];
    uint64_t k = rng_below(&w->rng, cfg.keyspace);
    *put_key(key, k) = '\0';
    int rl = snprintf(req, sizeof(req), "get %s\r\n", key);
    int hl = snprintf(head, sizeof(head), "VALUE %s 0 %ld\r\n", key, cfg.value_size);
    size_t want = (size_t)hl + (size_t)cfg.value_size + 2 + 5;   /* header, value, \r\n, END\r\n */
    w->t.requests++;
    w->t.gets++;
    w->t.keys++;
    if (send(fd, req, (size_t)rl, MSG_NOSIGNAL) != rl) {
        w->t.closed++;
        close(fd);
        return true;
    }
    size_t got = 0;
    bool done = false;
    for (int i = 0; i < 1000 && got < w->cap; i++) {
        ssize_t n = recv(fd, w->buf + got, w->cap - got, 0);
        if (n <= 0) {
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                w->t.timeouts++;
            } else {
                w->t.closed++;
            }
            break;
        }
        got += (size_t)n;
        if (got >= 5 && memcmp(w->buf + got - 5, "END\r\n", 5) == 0 && (got == 5 || got >= want)) {
            done = true;
            break;
        }
    }
    if (done) {
        if (got == 5) {
            w->t.misses++;
        } else if (got != want || memcmp(w->buf, head, (size_t)hl) != 0 ||
                   memcmp(w->buf + hl, value_block, (size_t)cfg.value_size + 2) != 0) {
            if (strncmp(w->buf, "VALUE ", 6) == 0) {
                w->t.bad_values++;
            } else {
                w->t.proto_errors++;
            }
        } else {
            w->t.hits++;
        }
    } else if (got >= w->cap) {
        w->t.proto_errors++;
    }
    close(fd);
    return true;
}

static void *cworker_main(void *arg)
{
    struct cworker *w = arg;
    for (uint64_t n = 0; n < w->quota && now_ns() < w->stop_ns; n++) {
        uint64_t t0 = now_ns();
        if (connect_once(w)) {
            hist_add(&w->hist, now_ns() - t0);
        } else {   /* e.g. out of local ports: counted, and a pause before the next try */
            w->connect_errors++;
            struct timespec ts = { 0, 1000 * 1000 };
            nanosleep(&ts, NULL);
        }
    }
    return NULL;
}

static int run_connect(void)
{
    requests_init();   /* the value bytes a hit must carry */
    struct cworker *ws = calloc((size_t)cfg.threads, sizeof(*ws));
    if (ws == NULL) {
        fprintf(stderr, "loadgen: out of memory\n");
        return 2;
    }
    uint64_t per = cfg.count > 0 ? (cfg.count + (uint64_t)cfg.threads - 1) / (uint64_t)cfg.threads
                                 : UINT64_MAX;
    double srv0 = cfg.cpu_pid ? proc_cpu_us(cfg.cpu_pid) : -1.0;
    double cli0 = self_cpu_us();
    uint64_t start = now_ns();
    long started = 0;
    for (long i = 0; i < cfg.threads; i++) {
        struct cworker *w = &ws[i];
        uint64_t seed = cfg.seed + 0x632be59bd9b4e019ULL * (uint64_t)(i + 1);
        w->rng = rng_next(&seed);
        w->quota = per;
        w->stop_ns = start + (uint64_t)(cfg.duration * 1e9);
        w->cap = (size_t)cfg.value_size + 256;
        w->buf = malloc(w->cap);
        if (w->buf == NULL || pthread_create(&w->tid, NULL, cworker_main, w) != 0) {
            fprintf(stderr, "loadgen: cannot start thread %ld\n", i);
            free(w->buf);
            w->buf = NULL;
            break;
        }
        started++;
    }
    static struct totals to;
    uint64_t cerr = 0;
    for (long i = 0; i < started; i++) {
        pthread_join(ws[i].tid, NULL);
    }
    double secs = (double)(now_ns() - start) / 1e9;
    double srv1 = cfg.cpu_pid ? proc_cpu_us(cfg.cpu_pid) : -1.0;
    double cli1 = self_cpu_us();
    for (long i = 0; i < started; i++) {
        struct tally *a = &ws[i].t, *b = &to.t;
        b->requests += a->requests;
        b->gets += a->gets;
        b->keys += a->keys;
        b->hits += a->hits;
        b->misses += a->misses;
        b->proto_errors += a->proto_errors;
        b->bad_values += a->bad_values;
        b->closed += a->closed;
        b->timeouts += a->timeouts;
        cerr += ws[i].connect_errors;
        hist_merge(&to.hist, &ws[i].hist);
        free(ws[i].buf);
    }
    to.t.errors = cerr;
    print_result(&to, secs, srv0 >= 0 && srv1 >= 0 ? srv1 - srv0 : -1.0, cli1 - cli0);
    printf(" connect_errors=%" PRIu64, cerr);
    if (cfg.stats) {
        struct srv_stats st = stats_fetch();
        stats_print(&st);
    }
    printf("\n");
    fflush(stdout);
    free(ws);
    free(value_block);
    bool ok = started == cfg.threads && to.t.closed == 0 && to.t.timeouts == 0 &&
              to.t.proto_errors == 0;
    return ok ? 0 : 3;
}

int main(int argc, char **argv)
{
    parse_args(argc, argv);
    resolve_config();
    resolve_addr();
    if (cfg.tls) {
        tls_init();
    }
    switch (cfg.wl) {
    case WL_PING:
        return run_ping();
    case WL_STATS:
        return run_stats();
    case WL_CONNECT:
        return run_connect();
    default:
        return run_load();
    }
}
