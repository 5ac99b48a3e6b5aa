/* conn.c: the life of one client connection on its worker thread: read what
 * arrived, let the protocol layer consume it, write the answers, and decide
 * whether to wait for input, wait for the socket to drain, or yield after -R
 * commands. Both buffers are bounded; a client that does not read its
 * answers stops being read from (backpressure) instead of growing memory.
 * On a TLS listener the same loop first drives the handshake, then reads
 * and writes through the connection's SSL (net/tls.c). */
#include "net/conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/ratelog.h"
#include "base/vlog.h"
#include "conf/options.h"
#include "conf/settings.h"
#include "net/counters.h"
#include "net/tls.h"
#include "sec/auth.h"

#define READ_CHUNK (16 * 1024)
#define IDLE_KEEP (64 * 1024)      /* buffers above this shrink when idle */
/* Each buffer may hold this much whatever the budget says: enough for any
 * ordinary command line and answer, so every client can make progress. */
#define BUF_FREE OPTIONS_CONN_BUF_FREE

/* ---- registry for "stats conns" --------------------------------------- */

struct listener_entry {
    int fd;
    char local[80];
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct conn **registry;
static int registry_size;
static struct listener_entry registry_listeners[64];
static int registry_nlisteners;

void conn_registry_init(int max_fds)
{
    registry = calloc((size_t)max_fds, sizeof(*registry));
    registry_size = registry ? max_fds : 0;
}

void conn_registry_add_listener(int fd, const char *local)
{
    pthread_mutex_lock(&registry_lock);
    if (registry_nlisteners < 64) {
        struct listener_entry *l = &registry_listeners[registry_nlisteners++];
        l->fd = fd;
        snprintf(l->local, sizeof(l->local), "%s", local);
    }
    pthread_mutex_unlock(&registry_lock);
}

void conn_registry_forget_listeners(void)
{
    pthread_mutex_lock(&registry_lock);
    registry_nlisteners = 0;
    pthread_mutex_unlock(&registry_lock);
}

static void registry_set(int fd, struct conn *c)
{
    pthread_mutex_lock(&registry_lock);
    if (fd >= 0 && fd < registry_size) {
        registry[fd] = c;
    }
    pthread_mutex_unlock(&registry_lock);
}

static bool emit_conn_line(struct buf *out, int fd, const char *field, const char *value)
{
    char line[256];
    int n = snprintf(line, sizeof(line), "STAT %d:%s %s\r\n", fd, field, value);
    return n > 0 && buf_append(out, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

bool conn_registry_emit(struct buf *out)
{
    char num[32];
    bool ok = true;
    pthread_mutex_lock(&registry_lock);
    for (int i = 0; i < registry_nlisteners; i++) {
        ok &= emit_conn_line(out, registry_listeners[i].fd, "addr", registry_listeners[i].local);
        ok &= emit_conn_line(out, registry_listeners[i].fd, "state", "conn_listening");
    }
    rel_time_t now = clock_now();
    for (int fd = 0; fd < registry_size; fd++) {
        struct conn *c = registry[fd];
        if (c == NULL) {
            continue;
        }
        /* c->peer is set before the registry holds c and never changes; the
         * socket stays open until c has left the registry (conn_close) */
        char name[80] = "";
        conn_format_addr((const struct sockaddr *)&c->peer, name, sizeof(name));
        ok &= emit_conn_line(out, fd, "addr", name);
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);
        memset(&ss, 0, sizeof(ss));
        name[0] = '\0';
        if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0) {
            conn_format_addr((struct sockaddr *)&ss, name, sizeof(name));
        }
        ok &= emit_conn_line(out, fd, "listen_addr", name);
        ok &= emit_conn_line(out, fd, "state", c->pc.state == PROTO_NREAD ? "conn_nread"
                             : c->pc.state == PROTO_SWALLOW ? "conn_swallow" : "conn_parse_cmd");
        snprintf(num, sizeof(num), "%u", now - atomic_load(&c->last_cmd));
        ok &= emit_conn_line(out, fd, "secs_since_last_cmd", num);
    }
    pthread_mutex_unlock(&registry_lock);
    return ok;
}

void conn_format_addr(const struct sockaddr *sa, char *out, size_t outlen)
{
    char host[INET6_ADDRSTRLEN];
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in4 = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in4->sin_addr, host, sizeof(host));
        snprintf(out, outlen, "tcp:%s:%u", host, ntohs(in4->sin_port));
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
        snprintf(out, outlen, "tcp6:[%s]:%u", host, ntohs(in6->sin6_port));
    } else if (sa->sa_family == AF_UNIX) {
        const struct sockaddr_un *un = (const struct sockaddr_un *)sa;
        snprintf(out, outlen, "unix:%.*s", (int)sizeof(un->sun_path), un->sun_path);
    } else {
        snprintf(out, outlen, "unknown");
    }
}

/* ---- the connection --------------------------------------------------- */

/* The peer's name for a log line: conn_peer(c).s lives to the end of the
 * full expression that calls it. */
struct peer_name {
    char s[80];
};

static struct peer_name conn_peer(const struct conn *c)
{
    struct peer_name n;
    conn_format_addr((const struct sockaddr *)&c->peer, n.s, sizeof(n.s));
    return n;
}

static void conn_on_event(evutil_socket_t fd, short what, void *arg);
static bool conn_arm(struct conn *c, bool want_write);
static void conn_unyield(struct conn *c);

static void conn_close(struct conn *c)
{
    conn_unyield(c);
    if (c->pc.out_of_memory) {
        atomic_fetch_add(&net_counters.read_buf_oom, 1);
    }
    if (c->prev != NULL) {
        c->prev->next = c->next;
    } else if (c->home->conns == c) {
        c->home->conns = c->next;
    }
    if (c->next != NULL) {
        c->next->prev = c->prev;
    }
    if (c->limited) {
        connlimit_release(c->home->per_ip, &c->key);
    }
    if (vlog_on(VLOG_TRAFFIC)) {
        vlog_conn(c->fd, "connection closed.");
    }
    registry_set(c->fd, NULL);
    proto_conn_release(c->home->srv, &c->pc);
    tls_free(c->ssl, !c->handshaking);
    if (c->ev != NULL) {
        event_free(c->ev);
    }
    close(c->fd);
    buf_deinit(&c->in);
    buf_deinit(&c->out);
    atomic_fetch_sub(&net_counters.curr_connections, 1);
    free(c);
}

struct conn *conn_create(struct conn_home *home, const struct handoff *h)
{
    int fd = h->fd;
    struct conn *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        if (h->limited) {
            connlimit_release(home->per_ip, &h->key);
        }
        close(fd);
        atomic_fetch_sub(&net_counters.curr_connections, 1);
        return NULL;
    }
    c->fd = fd;
    c->home = home;
    c->limited = h->limited;
    c->keyed = h->keyed;
    c->key = h->key;
    c->peer = h->peer;
    size_t item_max = home->settings->item_size_max;
    buf_init(&c->in, PROTO_GET_LINE_MAX + READ_CHUNK);
    buf_init(&c->out, proto_out_limit(item_max));
    buf_join_budget(&c->in, &net_conn_budget, BUF_IN, BUF_FREE);
    buf_join_budget(&c->out, &net_conn_budget, BUF_OUT, BUF_FREE);
    proto_conn_init(&c->pc, &home->stats);
    atomic_store(&c->last_cmd, clock_now());
    c->born = clock_now();
    c->ev = event_new(home->base, fd, EV_READ | EV_PERSIST, conn_on_event, c);
    if (h->tls) {
        c->ssl = tls_new(fd);
        c->handshaking = true;
    }
    if (c->ev == NULL || event_add(c->ev, NULL) != 0 || (h->tls && c->ssl == NULL)) {
        conn_close(c);
        return NULL;
    }
    c->pc.trace_id = fd;
    if (vlog_on(VLOG_TRAFFIC)) {
        vlog_conn(fd, "new client connection from %s", conn_peer(c).s);
    }
    registry_set(fd, c);
    c->next = home->conns;
    if (home->conns != NULL) {
        home->conns->prev = c;
    }
    home->conns = c;
    /* a client that never sends a byte is still subject to idle_timeout */
    return conn_arm(c, false) ? c : NULL;
}

/* TLS: one write, like send(); EAGAIN when the session waits for the
 * socket, in either direction. */
static ssize_t conn_tls_send(struct conn *c, const void *p, size_t len)
{
    enum tls_io io;
    ssize_t n = tls_write(c->ssl, p, len, &io);
    c->tls_wants_opposite = n < 0 && io == TLS_IO_WANT_READ;
    if (n < 0) {
        errno = io == TLS_IO_WANT_READ || io == TLS_IO_WANT_WRITE ? EAGAIN : EPIPE;
    }
    return n;
}

static ssize_t conn_tls_recv(struct conn *c, void *p, size_t len)
{
    enum tls_io io;
    ssize_t n = tls_read(c->ssl, p, len, &io);
    c->tls_wants_opposite = n < 0 && io == TLS_IO_WANT_WRITE;
    if (n < 0) {
        errno = io == TLS_IO_WANT_READ || io == TLS_IO_WANT_WRITE ? EAGAIN : ECONNRESET;
        return io == TLS_IO_CLOSED ? 0 : -1;
    }
    return n;
}

/* Writes as much output as the socket takes. False: the peer is gone. */
static bool conn_flush(struct conn *c)
{
    while (buf_len(&c->out) > 0) {
        ssize_t n = c->ssl ? conn_tls_send(c, buf_head(&c->out), buf_len(&c->out))
                           : send(c->fd, buf_head(&c->out), buf_len(&c->out), MSG_NOSIGNAL);
        if (n > 0) {
            STAT_ADD(c->home->stats.bytes_written, (uint64_t)n);
            buf_consume(&c->out, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
    }
    return true;
}

/* Reads one chunk. 2: got bytes and the socket had no more (a plain
 * socket's short read); 1: got bytes; 0: nothing now; -1: closed or error;
 * -2: the request needs more input buffer than the budget grants. */
static int conn_read(struct conn *c)
{
    if (!buf_reserve(&c->in, READ_CHUNK) && !buf_reserve(&c->in, 1)) {
        return -2;      /* the protocol's own bounds stop long lines earlier */
    }
    ssize_t n = c->ssl ? conn_tls_recv(c, buf_tail(&c->in), buf_room(&c->in))
                       : recv(c->fd, buf_tail(&c->in), buf_room(&c->in), 0);
    if (n > 0) {
        bool short_read = (size_t)n < buf_room(&c->in) && c->ssl == NULL;
        c->in.end += (size_t)n;
        STAT_ADD(c->home->stats.bytes_read, (uint64_t)n);
        return short_read ? 2 : 1;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        return 0;
    }
    return -1;
}

/* -Y: not logged in yet. */
static bool conn_unauthenticated(const struct conn *c)
{
    return c->home->srv->auth_required && !c->pc.authenticated;
}

/* Seconds until this connection must be closed for holding a partial
 * request (--read-timeout, also while we wait for it to read our answers,
 * and for the TLS handshake), for not having logged in (-Y: --read-timeout
 * from the connect, whatever it sent meanwhile), or for idling (-o
 * idle_timeout); 0 when no deadline applies. */
static int conn_deadline(struct conn *c)
{
    const struct settings *s = c->home->settings;
    rel_time_t now = clock_now();
    if (s->read_timeout > 0 && conn_unauthenticated(c)) {
        int left = s->read_timeout - (int)(now - c->born);
        return left > 0 ? left : -1;
    }
    bool pending = buf_len(&c->in) > 0 || c->pc.state != PROTO_LINE || c->want_write
                   || c->handshaking;
    if (pending && s->read_timeout > 0) {
        if (c->partial_since == 0) {
            c->partial_since = now;
        }
        int left = s->read_timeout - (int)(now - c->partial_since);
        return left > 0 ? left : -1;
    }
    c->partial_since = 0;
    if (s->idle_timeout > 0) {
        int left = s->idle_timeout - (int)(now - atomic_load(&c->last_cmd));
        return left > 0 ? left : -1;
    }
    return 0;
}

/* -v: at most one line a second per kind, so a slowloris cannot flood the log */
static struct ratelog read_timeout_log = RATELOG_INIT(1);
static struct ratelog idle_timeout_log = RATELOG_INIT(1);

static void conn_timed_out(struct conn *c)
{
    const struct settings *s = c->home->settings;
    bool partial = c->partial_since != 0 || conn_unauthenticated(c);
    atomic_fetch_add(partial ? &net_counters.read_timeouts : &net_counters.idle_timeouts, 1);
    if (vlog_on(VLOG_ERRORS)) {
        if (partial) {
            ratelog(&read_timeout_log, "closed %s: %s for %d s (--read-timeout)", conn_peer(c).s,
                    c->handshaking ? "a TLS handshake not done"
                    : conn_unauthenticated(c) ? (s->sasl ? "not logged in (-S)"
                                                         : "not logged in (-Y)")
                    : "a partial request or unread answers held", s->read_timeout);
        } else {
            ratelog(&idle_timeout_log, "closed %s: idle for %d s (idle_timeout)",
                    conn_peer(c).s, s->idle_timeout);
        }
    }
    conn_close(c);
}

/* (Re)arms the event for reading or writing, with the current deadline.
 * False: the deadline has passed and the connection was closed. A TLS
 * session that waits for the other direction (a write that must read
 * first, or the reverse) is armed for that one. */
static bool conn_arm(struct conn *c, bool want_write)
{
    bool was_write = c->armed_write;
    bool ev_write = want_write != c->tls_wants_opposite;
    c->want_write = want_write;
    c->armed_write = ev_write;
    int secs = conn_deadline(c);
    if (secs < 0) {
        conn_timed_out(c);
        return false;
    }
    if (was_write == ev_write && secs == c->timer_secs) {
        return true;
    }
    c->timer_secs = secs;
    event_del(c->ev);
    event_assign(c->ev, c->home->base, c->fd, (ev_write ? EV_WRITE : EV_READ) | EV_PERSIST,
                 conn_on_event, c);
    struct timeval tv = { secs, 0 };
    event_add(c->ev, secs > 0 ? &tv : NULL);
    return true;
}

/* ---- -R: taking turns ------------------------------------------------- */

/* Puts c at the back of its home's yield list and makes sure the list is
 * run after the next poll. libevent runs a zero timeout only after polling
 * and after the sockets that poll found ready, so c goes behind all of them
 * (event_active would run it again before polling: one busy client could
 * hold the worker for as long as it kept sending). */
static void conn_yield(struct conn *c)
{
    struct conn_home *home = c->home;
    if (c->yielded) {
        return;
    }
    c->yielded = true;
    c->ynext = NULL;
    c->yprev = home->yield_tail;
    if (home->yield_tail != NULL) {
        home->yield_tail->ynext = c;
    } else {
        home->yield_head = c;
    }
    home->yield_tail = c;
    home->yield_len++;
    if (!evtimer_pending(home->yield_ev, NULL)) {
        static const struct timeval now = { 0, 0 };
        evtimer_add(home->yield_ev, &now);
    }
}

static void conn_unyield(struct conn *c)
{
    struct conn_home *home = c->home;
    if (!c->yielded) {
        return;
    }
    if (c->yprev != NULL) {
        c->yprev->ynext = c->ynext;
    } else {
        home->yield_head = c->ynext;
    }
    if (c->ynext != NULL) {
        c->ynext->yprev = c->yprev;
    } else {
        home->yield_tail = c->yprev;
    }
    c->yprev = c->ynext = NULL;
    c->yielded = false;
    home->yield_len--;
}

static void conn_drive(struct conn *c);

void conn_run_yielded(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct conn_home *home = arg;
    /* only those queued before this pass: one that yields again waits for
     * the next poll */
    for (int n = home->yield_len; n > 0 && home->yield_head != NULL; n--) {
        struct conn *c = home->yield_head;
        conn_unyield(c);
        conn_drive(c);
    }
}

/* A request needs more input buffer than the budget grants: memcached's
 * answer, then the connection is closed (counted as read_buf_oom). */
static void conn_out_of_memory(struct conn *c)
{
    buf_append_lit(&c->out, "SERVER_ERROR out of memory reading request\r\n");
    c->pc.out_of_memory = true;
    (void)conn_flush(c);
    conn_close(c);
}

static struct ratelog handshake_log = RATELOG_INIT(10);
static struct ratelog identity_log = RATELOG_INIT(10);
static struct ratelog throttle_log = RATELOG_INIT(1);

/* The TLS handshake, as far as the socket lets it go. True: done and the
 * client may be served; false: waiting (armed) or closed. */
static bool conn_handshake(struct conn *c)
{
    enum tls_io io = tls_handshake(c->ssl);
    c->tls_wants_opposite = false;
    if (io == TLS_IO_WANT_READ || io == TLS_IO_WANT_WRITE) {
        conn_arm(c, io == TLS_IO_WANT_WRITE);
        return false;
    }
    if (io != TLS_IO_OK) {
        atomic_fetch_add(&net_counters.ssl_handshake_errors, 1);
        if (vlog_on(VLOG_ERRORS)) {
            ratelog(&handshake_log, "closed %s: TLS handshake failed", conn_peer(c).s);
        }
        conn_close(c);
        return false;
    }
    c->handshaking = false;
    if (!tls_identity_allowed(c->ssl)) {
        atomic_fetch_add(&net_counters.ssl_identity_refused, 1);
        ratelog(&identity_log, "refused %s: its client certificate carries none of "
                "--tls-client-identity", conn_peer(c).s);
        conn_close(c);
        return false;
    }
    return true;
}

/* -Y: each failed login counts against the source; once it reaches the
 * limit, this connection goes too (after its answer) and new ones from
 * there are closed at accept until the window ends. True: closed. */
static bool conn_auth_throttled(struct conn *c)
{
    struct auth_throttle *t = c->home->throttle;
    bool blocked = false;
    if (t == NULL || !c->keyed || c->pc.auth_failures == c->auth_failures_seen) {
        return false;
    }
    for (; c->auth_failures_seen < c->pc.auth_failures; c->auth_failures_seen++) {
        if (auth_throttle_fail(t, &c->key, clock_now()) && vlog_on(VLOG_ERRORS)) {
            ratelog(&throttle_log, "%s: %d failed logins within %d s; its connections are "
                    "closed for the rest of the window (--auth-fail-limit)", conn_peer(c).s,
                    c->home->settings->auth_fail_limit, c->home->settings->auth_fail_window);
        }
    }
    blocked = auth_throttle_blocked(t, &c->key, clock_now());
    if (blocked) {
        atomic_fetch_add(&net_counters.auth_throttled, 1);
        (void)conn_flush(c);
        conn_close(c);
    }
    return blocked;
}

/* The core loop: parse, answer, read more, until something must wait. */
static void conn_drive(struct conn *c)
{
    int budget = c->home->settings->reqs_per_event;
    enum proto_stop why = PROTO_STOP_NEED_INPUT;
    /* the last read emptied the socket: once that input is answered, wait
     * for the poll instead of a read that would only say EAGAIN (a
     * request-response client sends nothing more until it has its answer;
     * the poll is level-triggered, so nothing that arrives is missed). Not
     * for TLS: the session may hold decrypted bytes the poll cannot see. */
    bool drained = false;
    if (c->handshaking && !conn_handshake(c)) {
        return;
    }
    for (;;) {
        if (buf_len(&c->in) > 0) {
            int before = budget;
            size_t used = proto_process(c->home->srv, &c->pc, buf_head(&c->in),
                                        buf_len(&c->in), &c->out, &budget, &why);
            buf_consume(&c->in, used);
            if (conn_auth_throttled(c)) {
                return;
            }
            atomic_store_explicit(&c->last_cmd, clock_now(), memory_order_relaxed);
            if (budget != before) {
                c->partial_since = 0;   /* a request began: its own clock starts */
            }
        } else {
            why = c->pc.close ? PROTO_STOP_CLOSE : PROTO_STOP_NEED_INPUT;
        }
        bool had_output = buf_len(&c->out) > 0;
        if (!conn_flush(c)) {
            conn_close(c);
            return;
        }
        if (had_output && buf_len(&c->out) == 0) {
            c->partial_since = 0;       /* the client took all its answers */
        }
        if (buf_len(&c->out) > 0) {
            conn_arm(c, true);              /* resume when it drains */
            return;
        }
        if (why == PROTO_STOP_CLOSE) {
            conn_close(c);
            return;
        }
        if (why == PROTO_STOP_BUDGET) {
            STAT_INC(c->home->stats.conn_yields);
            conn_yield(c);              /* others first, then us again */
            return;
        }
        if (why == PROTO_STOP_OUTPUT_FULL) {
            continue;
        }
        if (drained) {
            break;
        }
        int r = conn_read(c);
        if (r == -2) {
            conn_out_of_memory(c);
            return;
        }
        if (r < 0) {
            conn_close(c);
            return;
        }
        if (r == 0) {
            break;
        }
        drained = r == 2;
    }
    if (atomic_load(&net_draining) && buf_len(&c->in) == 0 && c->pc.state == PROTO_LINE) {
        conn_close(c);              /* shutting down: all it sent is answered */
        return;
    }
    if (!conn_arm(c, false)) {
        return;
    }
    if (buf_len(&c->in) == 0) {
        buf_shrink(&c->in, IDLE_KEEP);
    }
    buf_shrink(&c->out, IDLE_KEEP);
}

void conn_start(struct conn *c)
{
    if (c->ssl == NULL) {
        conn_drive(c);
    }
}

void conn_drain_all(struct conn_home *home)
{
    for (struct conn *c = home->conns; c != NULL; c = c->next) {
        event_active(c->ev, EV_READ, 0);
    }
}

static void conn_on_event(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    struct conn *c = arg;
    if (what == EV_TIMEOUT) {
        c->timer_secs = -1;                 /* force a re-arm */
        conn_arm(c, c->want_write);         /* closes if the deadline passed */
        return;
    }
    conn_unyield(c);                        /* this is its turn */
    conn_drive(c);
}
