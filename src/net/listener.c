/* listener.c: binding, accepting and the process-wide loop. It binds the
 * configured addresses (loopback only by default: SECURITY, promise 1),
 * accepts on one thread, enforces -c before a connection reaches a worker,
 * ticks the clock, turns SIGTERM/SIGINT into an orderly exit and SIGHUP
 * into a reload (net/reload.c). */
#include "net/net.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/ratelog.h"
#include "base/vlog.h"
#include "conf/options.h"
#include "net/conn.h"
#include "net/reload.h"
#include "net/tls.h"
#include "net/worker.h"
#include "sec/allowlist.h"
#include "sec/auth.h"
#include "sec/connlimit.h"

#define MAX_LISTENERS 64
#define ACCEPT_BACKOFF_MS 100

static const char REJECT_FULL[] = "ERROR Too many open connections\r\n";

struct net {
    const struct settings *settings;
    struct event_base *base;
    int fds[MAX_LISTENERS];
    bool tls[MAX_LISTENERS];        /* -Z and not a notls: listener */
    struct event *accept_ev[MAX_LISTENERS];
    int nfds;
    struct worker *workers;
    int nworkers, next_worker;
    struct proto_server srv;
    struct event *clock_ev, *backoff_ev, *drain_ev, *sig_ev[3];
    int drain_ms;
    uint64_t listen_disabled;
    int accepting;
    bool accept_busy;               /* the last wake-up found several waiting */
    unsigned accept_probe;
    struct connlimit *per_ip;       /* NULL unless --max-conns-per-ip */
    struct auth_throttle *throttle; /* NULL unless -Y with --auth-fail-limit */
};

static struct ratelog allowlist_log = RATELOG_INIT(10);
static struct ratelog per_ip_log = RATELOG_INIT(10);
static struct ratelog throttle_log = RATELOG_INIT(10);

static struct net *the_net;    /* for the stats and shutdown callbacks */

/* ---- binding ------------------------------------------------------------ */

/* Accepted TCP sockets inherit TCP_NODELAY from their listener (Linux, as
 * memcached relies on too): set once here instead of once per accept. A
 * Unix socket refuses it, harmlessly. */
static void nodelay_inherited(int fd)
{
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static int bind_one(const struct settings *s, const struct addrinfo *ai, char *err, size_t errlen)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return -1;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (ai->ai_family == AF_INET6) {
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    }
    nodelay_inherited(fd);
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, s->backlog) != 0) {
        int saved = errno;
        char where[96];
        conn_format_addr(ai->ai_addr, where, sizeof(where));
        snprintf(err, errlen, "cannot listen on %s: %s", where, strerror(saved));
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

/* Binds host:port. optional: skip quietly when the address family is absent
 * (a host without IPv6 still starts on 127.0.0.1). */
static bool bind_host(struct net *n, const char *host, uint16_t port, bool optional,
                      bool tls, char *err, size_t errlen)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    char portstr[8];
    snprintf(portstr, sizeof(portstr), "%u", port);
    int rc = getaddrinfo(host[0] ? host : NULL, portstr, &hints, &res);
    if (rc != 0) {
        snprintf(err, errlen, "cannot resolve listen address \"%s\": %s", host, gai_strerror(rc));
        return optional;
    }
    bool any = false;
    for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        if (n->nfds == MAX_LISTENERS) {
            break;
        }
        int fd = bind_one(n->settings, ai, err, errlen);
        if (fd < 0) {
            /* only a missing address family is optional: if someone else
             * holds [::1]:port, clients resolving localhost would reach them */
            if (errno == EAFNOSUPPORT || (optional && errno == EADDRNOTAVAIL)) {
                continue;
            }
            freeaddrinfo(res);
            return false;
        }
        char local[80];
        conn_format_addr(ai->ai_addr, local, sizeof(local));
        conn_registry_add_listener(fd, local);
        n->tls[n->nfds] = tls;
        n->fds[n->nfds++] = fd;
        any = true;
    }
    freeaddrinfo(res);
    return any || optional;
}

static bool bind_unix(struct net *n, const char *path, unsigned mask, char *err, size_t errlen)
{
    struct sockaddr_un sun;
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sun.sun_path)) {
        snprintf(err, errlen, "unix socket path too long: %s", path);
        return false;
    }
    memcpy(sun.sun_path, path, strlen(path));
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return false;
    }
    unlink(path);
    mode_t old = umask((mode_t)(~mask & 0777));
    int rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
    umask(old);
    if (rc != 0 || listen(fd, n->settings->backlog) != 0) {
        snprintf(err, errlen, "cannot listen on unix socket %s: %s", path, strerror(errno));
        close(fd);
        return false;
    }
    char local[160];
    snprintf(local, sizeof(local), "unix:%s", path);
    conn_registry_add_listener(fd, local);
    n->tls[n->nfds] = n->settings->ssl_enabled;
    n->fds[n->nfds++] = fd;
    return true;
}

/* Socket activation (sd_listen_fds(3) without libsystemd): when systemd
 * passes listening sockets as fds 3.. with LISTEN_FDS and LISTEN_PID set to
 * us, serve those instead of binding, so the unit can run us with
 * PrivateNetwork=yes. Returns -1 when not activated, else the count taken;
 * a bad inherited fd is a start-up error (0 with err set). */
static int adopt_inherited(struct net *n, char *err, size_t errlen)
{
    const char *pid_s = getenv("LISTEN_PID"), *fds_s = getenv("LISTEN_FDS");
    if (pid_s == NULL || fds_s == NULL) {
        return -1;
    }
    char *end;
    long pid = strtol(pid_s, &end, 10);
    if (*end != '\0' || pid != (long)getpid()) {
        return -1;               /* meant for another process */
    }
    long count = strtol(fds_s, &end, 10);
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_FDNAMES");
    if (*end != '\0' || count < 1 || count > MAX_LISTENERS) {
        snprintf(err, errlen, "LISTEN_FDS=%s: expected 1-%d inherited sockets", fds_s, MAX_LISTENERS);
        return 0;
    }
    for (int fd = 3; fd < 3 + (int)count; fd++) {
        int listening = 0;
        socklen_t len = sizeof(listening);
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || !listening
            || getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
            snprintf(err, errlen, "inherited fd %d is not a listening socket", fd);
            return 0;
        }
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        fcntl(fd, F_SETFD, FD_CLOEXEC);
        if (ss.ss_family == AF_INET || ss.ss_family == AF_INET6) {
            nodelay_inherited(fd);
        }
        char local[80];
        conn_format_addr((struct sockaddr *)&ss, local, sizeof(local));
        conn_registry_add_listener(fd, local);
        n->tls[n->nfds] = n->settings->ssl_enabled;
        n->fds[n->nfds++] = fd;
    }
    return (int)count;
}

struct net *net_bind(const struct settings *s, char *err, size_t errlen)
{
    struct net *n = calloc(1, sizeof(*n));
    if (n == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    n->settings = s;
    struct rlimit rl;
    int max_fds = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 1u << 20 ? (int)rl.rlim_cur : 1 << 20;
    conn_registry_init(max_fds);
    bool ok = true;
    int inherited = adopt_inherited(n, err, errlen);
    if (inherited >= 0) {
        ok = inherited > 0;
    } else if (s->unix_socket[0]) {
        ok = bind_unix(n, s->unix_socket, s->unix_mask, err, errlen);
    } else if (s->nlisten == 0) {
        /* SECURITY: loopback only unless the operator says otherwise. */
        ok = bind_host(n, "127.0.0.1", s->port, false, s->ssl_enabled, err, errlen);
        ok = ok && bind_host(n, "::1", s->port, true, s->ssl_enabled, err, errlen);
    } else {
        for (int i = 0; ok && i < s->nlisten; i++) {
            uint16_t port = s->listen[i].port ? s->listen[i].port : s->port;
            bool tls = s->ssl_enabled && !s->listen[i].notls;
            ok = bind_host(n, s->listen[i].host, port, false, tls, err, errlen);
        }
    }
    if (!ok || n->nfds == 0) {
        if (ok) {
            snprintf(err, errlen, "no address to listen on");
        }
        for (int i = 0; i < n->nfds; i++) {
            close(n->fds[i]);
        }
        free(n);
        return NULL;
    }
    return n;
}

/* ---- accepting ---------------------------------------------------------- */

static void accept_pause(struct net *n)
{
    for (int i = 0; i < n->nfds; i++) {
        event_del(n->accept_ev[i]);
    }
    n->accepting = 0;
    n->listen_disabled++;
    struct timeval tv = { 0, ACCEPT_BACKOFF_MS * 1000 };
    evtimer_add(n->backoff_ev, &tv);
}

static void accept_resume(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct net *n = arg;
    for (int i = 0; i < n->nfds; i++) {
        event_add(n->accept_ev[i], NULL);
    }
    n->accepting = 1;
}

static void reject_busy(int fd, _Atomic uint64_t *counter)
{
    ssize_t r = send(fd, REJECT_FULL, sizeof(REJECT_FULL) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
    (void)r;
    close(fd);
    atomic_fetch_add(counter, 1);
}

/* SECURITY: promise 2. A peer outside the allowlist is closed here, right
 * after accept: it is sent no banner and no error, and nothing it sent is
 * read. Unix-socket peers are governed by the socket's file mode instead. */
static bool admit_peer(struct net *n, int fd, const struct sockaddr *peer)
{
    if (n->settings->allow == NULL || peer->sa_family == AF_UNIX
        || allowlist_admit(n->settings->allow, peer)) {
        return true;
    }
    char who[80];
    conn_format_addr(peer, who, sizeof(who));
    close(fd);
    atomic_fetch_add(&net_counters.allowlist_rejects, 1);
    ratelog(&allowlist_log, "refused %s: not in the allowlist", who);
    return false;
}

/* The log line of a --max-conns-per-ip refusal. An IPv6 peer is counted
 * with its --per-ip-v6-prefix network (sec/connlimit.c), and the line says
 * so: that one address may hold few connections itself. */
static void log_per_ip_refusal(const struct sockaddr *peer, int v6_prefix)
{
    char who[80], group[48] = "";
    if (peer->sa_family == AF_INET6 && v6_prefix < 128 &&
        !IN6_IS_ADDR_V4MAPPED(&((const struct sockaddr_in6 *)peer)->sin6_addr)) {
        snprintf(group, sizeof(group), " by its network (/%d)", v6_prefix);
    }
    conn_format_addr(peer, who, sizeof(who));
    ratelog(&per_ip_log, "refused %s: --max-conns-per-ip reached%s", who, group);
}

/* -Y: a source that failed too many logins lately is closed here, like an
 * allowlist refusal: nothing read, nothing written. */
static bool not_throttled(struct net *n, int fd, const struct sockaddr *peer,
                          const struct ip_key *key, bool keyed)
{
    if (n->throttle == NULL || !keyed || !auth_throttle_blocked(n->throttle, key, clock_now())) {
        return true;
    }
    char who[80];
    conn_format_addr(peer, who, sizeof(who));
    close(fd);
    atomic_fetch_add(&net_counters.auth_throttled, 1);
    if (vlog_on(VLOG_ERRORS)) {
        ratelog(&throttle_log, "refused %s: %d failed logins within %d s (--auth-fail-limit)",
                who, n->settings->auth_fail_limit, n->settings->auth_fail_window);
    }
    return false;
}

/* -c and --max-conns-per-ip; the busy peer gets memcached's error line. */
static bool within_limits(struct net *n, int fd, const struct sockaddr *peer,
                          const struct ip_key *key, bool keyed, bool *limited)
{
    int v6_prefix = n->settings->per_ip_v6_prefix;
    if (atomic_load(&net_counters.curr_connections) >= (uint64_t)n->settings->max_conns) {
        reject_busy(fd, &net_counters.rejected_connections);
        return false;
    }
    *limited = n->per_ip != NULL && keyed;
    if (*limited && !connlimit_acquire(n->per_ip, key)) {
        reject_busy(fd, &net_counters.per_ip_rejects);
        log_per_ip_refusal(peer, v6_prefix);
        return false;
    }
    return true;
}

static int lfd_index(const struct net *n, int lfd)
{
    for (int i = 0; i < n->nfds; i++) {
        if (n->fds[i] == lfd) {
            return i;
        }
    }
    return 0;   /* not reached: events exist only for n->fds */
}

/* How many accepts this wake-up may make. One, as memcached does, while
 * connections come one at a time: the listener is level-triggered, so one
 * still waiting wakes us again, and a second accept would mostly cost an
 * EAGAIN per connection. Every eighth wake-up tries a second; once two or
 * more are found waiting, up to ACCEPT_BURST per wake-up until a wake-up
 * finds fewer again. */
#define ACCEPT_BURST 64
#define ACCEPT_PROBE_EVERY 8

static int accept_limit(struct net *n)
{
    if (n->accept_busy) {
        return ACCEPT_BURST;
    }
    return ++n->accept_probe % ACCEPT_PROBE_EVERY == 0 ? 2 : 1;
}

/* Accepts up to limit clients from lfd; returns how many it took. */
static int accept_some(struct net *n, int lfd, int limit)
{
    bool tls = n->tls[lfd_index(n, lfd)];
    int got = 0;
    for (; got < limit; got++) {
        struct handoff h;
        memset(&h, 0, sizeof(h));
        socklen_t sl = sizeof(h.peer);
        int fd = accept4(lfd, (struct sockaddr *)&h.peer, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                accept_pause(n);   /* back off instead of spinning */
            }
            break;
        }
        const struct sockaddr *peer = (const struct sockaddr *)&h.peer;
        struct ip_key key;
        bool limited = false;
        bool keyed = connlimit_key(peer, n->settings->per_ip_v6_prefix, &key);
        if (!admit_peer(n, fd, peer) || !not_throttled(n, fd, peer, &key, keyed)
            || !within_limits(n, fd, peer, &key, keyed, &limited)) {
            continue;
        }
        /* TCP_NODELAY: inherited from the listener (nodelay_inherited) */
        atomic_fetch_add(&net_counters.curr_connections, 1);
        atomic_fetch_add(&net_counters.total_connections, 1);
        struct worker *w = &n->workers[n->next_worker];
        n->next_worker = (n->next_worker + 1) % n->nworkers;
        h.fd = fd;
        h.limited = limited;
        h.keyed = keyed;
        h.tls = tls;
        if (keyed) {
            h.key = key;
        }
        if (!worker_dispatch(w, &h)) {
            atomic_fetch_sub(&net_counters.curr_connections, 1);
            if (limited) {
                connlimit_release(n->per_ip, &key);
            }
            reject_busy(fd, &net_counters.rejected_connections);
        }
    }
    return got;
}

static void on_accept(evutil_socket_t lfd, short what, void *arg)
{
    (void)what;
    struct net *n = arg;
    n->accept_busy = accept_some(n, lfd, accept_limit(n)) >= 2;
}

/* Shutdown: clients whose connect already completed are taken in (and then
 * closed by their worker once answered, like every other) rather than reset
 * with the listening socket: one accept per wake-up may have left several
 * waiting. */
static void accept_backlog(struct net *n)
{
    for (int i = 0; i < n->nfds; i++) {
        while (n->accepting && accept_some(n, n->fds[i], ACCEPT_BURST) == ACCEPT_BURST) {
        }
    }
}

/* ---- stats and shutdown hooks -------------------------------------------- */

static uint64_t tv_us(struct timeval tv)
{
    return (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec;
}

/* Every NET_METRICS value at one moment. */
struct net_metrics_now {
#define X(name, kind, desc) uint64_t name;
    NET_METRICS(X)
#undef X
};

/* NET_READINGS, read now (after NET_COUNTERS: connection_structures uses one). */
static void net_read(struct net_metrics_now *m)
{
    struct net *n = the_net;
    struct buf_budget *bb = &net_conn_budget;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    m->pid = (uint64_t)getpid();
    m->uptime = clock_now();
    m->time = (uint64_t)(clock_started() + clock_now());
    m->rusage_user = tv_us(ru.ru_utime);
    m->rusage_system = tv_us(ru.ru_stime);
    m->max_connections = (uint64_t)n->settings->max_conns;
    m->connection_structures = m->curr_connections + (uint64_t)n->nfds;
    m->reserved_fds = (uint64_t)n->nworkers + 4;
    m->listen_disabled_num = n->listen_disabled;
    m->threads = (uint64_t)n->nworkers;
    m->accepting_conns = (uint64_t)n->accepting;
    /* memcached counts output buffers apart and within read_buf_bytes */
    m->response_obj_oom = atomic_load(&bb->refused[BUF_OUT]);
    m->response_obj_count = atomic_load(&bb->count[BUF_OUT]);
    m->response_obj_bytes = atomic_load(&bb->bytes[BUF_OUT]);
    m->read_buf_count = atomic_load(&bb->count[BUF_IN]) + m->response_obj_count;
    m->read_buf_bytes = atomic_load(&bb->bytes[BUF_IN]) + m->response_obj_bytes;
    m->conn_mem_peak = atomic_load(&bb->peak);
    m->time_since_server_cert_refresh = clock_now() - tls_loaded_at();
}

static void net_server_info(struct server_info *si)
{
    struct net_metrics_now m = { 0 };
#define X(name, kind, desc) m.name = atomic_load(&net_counters.name);
    NET_ALL_COUNTERS(X)
#undef X
    net_read(&m);
    memset(si, 0, sizeof(*si));
    si->libevent_version = event_get_version();
    si->metrics = net_metric_table;
    /* memcached shows its TLS fields only with -Z */
    si->nmetrics = net_metric_count - (the_net->settings->ssl_enabled ? 0 : NET_TLS_METRIC_COUNT);
    size_t i = 0;
#define X(name, kind, desc) si->value[i++] = m.name;
    NET_METRICS(X)
#undef X
}

static const struct stats_source net_stats_source = {
    .server_info = net_server_info,
    .conns = conn_registry_emit,
};

/* Called on a worker thread: the listener's loop is not ours to touch, so
 * we take the same path as an operator's SIGTERM. */
static void net_shutdown(bool graceful)
{
    (void)graceful;
    kill(getpid(), SIGTERM);
}

/* ---- start and loop ------------------------------------------------------ */

bool net_start_workers(struct net *n, struct store *st, char *err, size_t errlen)
{
    the_net = n;
    n->srv.store = st;
    n->srv.settings = n->settings;
    n->srv.stats_src = &net_stats_source;
    n->srv.shutdown = net_shutdown;
    n->srv.auth_required = n->settings->auth_file[0] != '\0';
    n->srv.refresh_certs = n->settings->ssl_enabled ? reload_certs : NULL;
    n->nworkers = n->settings->threads;
    net_conn_budget.limit = options_conn_mem_budget(n->settings);
    n->workers = calloc((size_t)n->nworkers, sizeof(*n->workers));
    if (n->workers == NULL) {
        snprintf(err, errlen, "out of memory for %d workers", n->nworkers);
        return false;
    }
    if (n->settings->max_conns_per_ip > 0) {
        n->per_ip = connlimit_create(n->settings->max_conns_per_ip, n->settings->max_conns);
        if (n->per_ip == NULL) {
            snprintf(err, errlen, "out of memory for the per-address connection table");
            return false;
        }
    }
    if (n->srv.auth_required && n->settings->auth_fail_limit > 0) {
        n->throttle = auth_throttle_create(n->settings->auth_fail_limit,
                                           n->settings->auth_fail_window,
                                           (size_t)n->settings->max_conns + 1024);
        if (n->throttle == NULL) {
            snprintf(err, errlen, "out of memory for the failed-login table");
            return false;
        }
    }
    for (int i = 0; i < n->nworkers; i++) {
        n->workers[i].home.per_ip = n->per_ip;
        n->workers[i].home.throttle = n->throttle;
        if (!worker_start(&n->workers[i], &n->srv, 4096)) {
            snprintf(err, errlen, "cannot start worker thread %d: %s", i, strerror(errno));
            return false;
        }
    }
    return true;
}

static void on_clock(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    clock_update();
}

#define DRAIN_POLL_MS 20
#define DRAIN_MAX_MS 5000

/* Shutdown, second half: exit once every client is answered and gone, or
 * after DRAIN_MAX_MS whatever remains. */
static void on_drain_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct net *n = arg;
    n->drain_ms += DRAIN_POLL_MS;
    if (atomic_load(&net_counters.curr_connections) == 0 || n->drain_ms >= DRAIN_MAX_MS) {
        event_base_loopbreak(n->base);
    }
}

/* SIGHUP: certificates, credentials and allowlist again (net/reload.c). */
static void on_reload(evutil_socket_t sig, short what, void *arg)
{
    (void)sig;
    (void)what;
    (void)arg;
    reload_all();
}

/* SIGTERM/SIGINT: stop accepting at once, let workers answer what each
 * client already sent, then leave (exit status 0). */
static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)sig;
    (void)what;
    struct net *n = arg;
    if (atomic_exchange(&net_draining, true)) {
        event_base_loopbreak(n->base);      /* a second signal: go now */
        return;
    }
    conn_registry_forget_listeners();
    accept_backlog(n);
    for (int i = 0; i < n->nfds; i++) {
        event_del(n->accept_ev[i]);
        close(n->fds[i]);
    }
    n->nfds = 0;
    evtimer_del(n->backoff_ev);
    for (int i = 0; i < n->nworkers; i++) {
        worker_wake(&n->workers[i]);
    }
    struct timeval tick = { 0, DRAIN_POLL_MS * 1000 };
    event_add(n->drain_ev, &tick);
}

bool net_prepare(struct net *n, char *err, size_t errlen)
{
    n->base = event_base_new();
    if (n->base == NULL) {
        snprintf(err, errlen, "cannot create the event loop");
        return false;
    }
    for (int i = 0; i < n->nfds; i++) {
        n->accept_ev[i] = event_new(n->base, n->fds[i], EV_READ | EV_PERSIST, on_accept, n);
        event_add(n->accept_ev[i], NULL);
    }
    n->accepting = 1;
    n->backoff_ev = evtimer_new(n->base, accept_resume, n);
    n->drain_ev = event_new(n->base, -1, EV_PERSIST, on_drain_tick, n);
    n->clock_ev = event_new(n->base, -1, EV_PERSIST, on_clock, n);
    struct timeval second = { 1, 0 };
    event_add(n->clock_ev, &second);
    n->sig_ev[0] = evsignal_new(n->base, SIGTERM, on_signal, n);
    n->sig_ev[1] = evsignal_new(n->base, SIGINT, on_signal, n);
    n->sig_ev[2] = evsignal_new(n->base, SIGHUP, on_reload, n);
    event_add(n->sig_ev[0], NULL);
    event_add(n->sig_ev[1], NULL);
    event_add(n->sig_ev[2], NULL);
    return true;
}

int net_serve(struct net *n)
{
    event_base_dispatch(n->base);
    for (int i = 0; i < n->nfds; i++) {
        close(n->fds[i]);   /* stop accepting before exit */
    }
    if (n->settings->unix_socket[0]) {
        unlink(n->settings->unix_socket);
    }
    return 0;
}
