/* listener.c: binding, accepting and the process-wide loop. It binds the
 * configured addresses (loopback only by default: SECURITY, promise 1),
 * accepts on one thread, enforces -c before a connection reaches a worker,
 * ticks the clock, and turns SIGTERM/SIGINT into an orderly exit. */
#include "net/net.h"

#include <errno.h>
#include <event2/event.h>
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
#include "net/conn.h"
#include "net/worker.h"

#define MAX_LISTENERS 64
#define ACCEPT_BACKOFF_MS 100

static const char REJECT_FULL[] = "ERROR Too many open connections\r\n";

struct net {
    const struct settings *settings;
    struct event_base *base;
    int fds[MAX_LISTENERS];
    struct event *accept_ev[MAX_LISTENERS];
    int nfds;
    struct worker *workers;
    int nworkers, next_worker;
    struct proto_server srv;
    struct event *clock_ev, *backoff_ev, *sig_ev[2];
    uint64_t listen_disabled;
    int accepting;
};

static struct net *the_net;    /* for the stats and shutdown callbacks */

/* ---- binding ------------------------------------------------------------ */

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
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, s->backlog) != 0) {
        char where[96];
        conn_format_addr(ai->ai_addr, where, sizeof(where));
        snprintf(err, errlen, "cannot listen on %s: %s", where, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* Binds host:port. optional: skip quietly when the address family is absent
 * (a host without IPv6 still starts on 127.0.0.1). */
static bool bind_host(struct net *n, const char *host, uint16_t port, bool optional,
                      char *err, size_t errlen)
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
            if (optional || errno == EAFNOSUPPORT) {
                continue;
            }
            freeaddrinfo(res);
            return false;
        }
        char local[80];
        conn_format_addr(ai->ai_addr, local, sizeof(local));
        conn_registry_add_listener(fd, local);
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
    n->fds[n->nfds++] = fd;
    return true;
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
    if (s->unix_socket[0]) {
        ok = bind_unix(n, s->unix_socket, s->unix_mask, err, errlen);
    } else if (s->nlisten == 0) {
        /* SECURITY: loopback only unless the operator says otherwise. */
        ok = bind_host(n, "127.0.0.1", s->port, false, err, errlen);
        char err6[256];
        ok = ok && bind_host(n, "::1", s->port, true, err6, sizeof(err6));
    } else {
        for (int i = 0; ok && i < s->nlisten; i++) {
            uint16_t port = s->listen[i].port ? s->listen[i].port : s->port;
            ok = bind_host(n, s->listen[i].host, port, false, err, errlen);
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

static void reject_full(int fd)
{
    ssize_t r = send(fd, REJECT_FULL, sizeof(REJECT_FULL) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
    (void)r;
    close(fd);
    atomic_fetch_add(&net_rejected_conns, 1);
}

static void on_accept(evutil_socket_t lfd, short what, void *arg)
{
    (void)what;
    struct net *n = arg;
    for (int burst = 0; burst < 64; burst++) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                accept_pause(n);   /* back off instead of spinning */
            }
            return;
        }
        if (atomic_load(&net_curr_conns) >= (uint64_t)n->settings->max_conns) {
            reject_full(fd);
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        atomic_fetch_add(&net_curr_conns, 1);
        atomic_fetch_add(&net_total_conns, 1);
        struct worker *w = &n->workers[n->next_worker];
        n->next_worker = (n->next_worker + 1) % n->nworkers;
        if (!worker_dispatch(w, fd)) {
            atomic_fetch_sub(&net_curr_conns, 1);
            reject_full(fd);
        }
    }
}

/* ---- stats and shutdown hooks -------------------------------------------- */

static uint64_t tv_us(struct timeval tv)
{
    return (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec;
}

static void net_server_info(struct server_info *si)
{
    struct net *n = the_net;
    struct rusage ru;
    memset(si, 0, sizeof(*si));
    getrusage(RUSAGE_SELF, &ru);
    si->pid = getpid();
    si->uptime = clock_now();
    si->now_unix = (uint64_t)(clock_started() + clock_now());
    si->rusage_user_us = tv_us(ru.ru_utime);
    si->rusage_system_us = tv_us(ru.ru_stime);
    si->max_connections = (uint64_t)n->settings->max_conns;
    si->curr_connections = atomic_load(&net_curr_conns);
    si->total_connections = atomic_load(&net_total_conns);
    si->rejected_connections = atomic_load(&net_rejected_conns);
    si->connection_structures = si->curr_connections + (uint64_t)n->nfds;
    si->reserved_fds = (uint64_t)n->nworkers + 4;
    si->listen_disabled_num = n->listen_disabled;
    si->threads = (uint64_t)n->nworkers;
    si->accepting_conns = n->accepting;
    si->libevent_version = event_get_version();
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
    n->nworkers = n->settings->threads;
    n->workers = calloc((size_t)n->nworkers, sizeof(*n->workers));
    if (n->workers == NULL) {
        snprintf(err, errlen, "out of memory for %d workers", n->nworkers);
        return false;
    }
    for (int i = 0; i < n->nworkers; i++) {
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
    clock_tick((int64_t)time(NULL));
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)sig;
    (void)what;
    struct net *n = arg;
    event_base_loopbreak(n->base);
}

int net_serve(struct net *n)
{
    n->base = event_base_new();
    if (n->base == NULL) {
        return 71;
    }
    for (int i = 0; i < n->nfds; i++) {
        n->accept_ev[i] = event_new(n->base, n->fds[i], EV_READ | EV_PERSIST, on_accept, n);
        event_add(n->accept_ev[i], NULL);
    }
    n->accepting = 1;
    n->backoff_ev = evtimer_new(n->base, accept_resume, n);
    n->clock_ev = event_new(n->base, -1, EV_PERSIST, on_clock, n);
    struct timeval second = { 1, 0 };
    event_add(n->clock_ev, &second);
    n->sig_ev[0] = evsignal_new(n->base, SIGTERM, on_signal, n);
    n->sig_ev[1] = evsignal_new(n->base, SIGINT, on_signal, n);
    event_add(n->sig_ev[0], NULL);
    event_add(n->sig_ev[1], NULL);
    event_base_dispatch(n->base);
    for (int i = 0; i < n->nfds; i++) {
        close(n->fds[i]);   /* stop accepting before exit */
    }
    if (n->settings->unix_socket[0]) {
        unlink(n->settings->unix_socket);
    }
    return 0;
}
