/* conn.h: one client connection: its socket, bounded input and output
 * buffers, protocol state, and the registry "stats conns" reads. Owned by
 * exactly one worker thread from accept to close. */
#ifndef HC_NET_CONN_H
#define HC_NET_CONN_H

#include <event2/event.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/socket.h>

#include "base/buf.h"
#include "proto/proto.h"
#include "sec/connlimit.h"

struct conn;
struct auth_throttle;
typedef struct ssl_st SSL;

/* An accepted socket on its way from the listener to a worker. */
struct handoff {
    int fd;
    bool limited;                   /* holds a --max-conns-per-ip slot */
    bool keyed;                     /* key holds the peer's (an IP peer) */
    bool tls;                       /* accepted on a TLS listener */
    struct ip_key key;
    struct sockaddr_storage peer;   /* as accept4 gave it: no getpeername */
};

/* What a connection needs of the thread that owns it: its event loop, its
 * counters, the server it serves, and the lists of its connections. A
 * worker (worker.h) holds one; conn.c knows nothing else of workers. */
struct conn_home {
    struct event_base *base;
    struct thread_stats stats;
    const struct proto_server *srv;
    const struct settings *settings;
    struct connlimit *per_ip;       /* shared; NULL when off */
    struct auth_throttle *throttle; /* shared; NULL unless -Y limits failures */
    struct conn *conns;             /* this thread's connections */
    /* connections that used up -R: each runs again only after the next poll,
     * behind every socket that poll found ready */
    struct conn *yield_head, *yield_tail;
    int yield_len;
    struct event *yield_ev;
};

struct conn {
    int fd;
    struct conn_home *home;
    struct event *ev;
    struct buf in, out;
    struct proto_conn pc;
    bool want_write;                /* answers wait for the socket to drain */
    bool armed_write;               /* the event waits for EV_WRITE */
    int timer_secs;                 /* timeout the event is armed with; 0 none */
    uint32_t partial_since;         /* rel time a partial request began; 0 none */
    uint32_t born;                  /* rel time of the accept */
    bool limited;                   /* holds a --max-conns-per-ip slot */
    bool keyed;                     /* key is the peer's (an IP peer) */
    struct ip_key key;
    uint32_t auth_failures_seen;    /* of pc.auth_failures, fed to the throttle */
    SSL *ssl;                       /* TLS listener: this connection's session */
    bool handshaking;               /* the TLS handshake is not done yet */
    bool tls_wants_opposite;        /* the last TLS call waits for the other direction */
    _Atomic uint32_t last_cmd;      /* rel time, for stats conns and idle_timeout */
    struct conn *prev, *next;       /* its home's list */
    bool yielded;                   /* on its home's yield list */
    struct conn *yprev, *ynext;
    /* the peer's address from accept; formatted only when shown (logs,
     * "stats conns"), and the local one is asked of the socket only then */
    struct sockaddr_storage peer;
};

/* Takes over an accepted socket; NULL (and the socket closed) on failure. */
struct conn *conn_create(struct conn_home *home, const struct handoff *h);

/* Serves what a new plain connection already sent, without waiting for the
 * poll to say so: a client connecting per request sends its request at
 * once, and it is usually there by the time its worker adopts the socket.
 * May close c. */
void conn_start(struct conn *c);

/* Shutdown: runs every connection of home once more; each closes as soon as
 * it has answered everything it sent. */
void conn_drain_all(struct conn_home *home);

/* The home's yield timer (arg: the struct conn_home): gives each connection
 * that used up its -R budget before the last poll one more turn. */
void conn_run_yielded(evutil_socket_t fd, short what, void *arg);

/* Appends "stats conns" lines for every registered connection. */
bool conn_registry_emit(struct buf *out);
/* Listening sockets are shown in "stats conns" too. */
void conn_registry_add_listener(int fd, const char *local);
void conn_registry_forget_listeners(void);
void conn_registry_init(int max_fds);

/* Formats a socket address as memcached does ("tcp:1.2.3.4:5", "tcp6:[::1]:5"). */
void conn_format_addr(const struct sockaddr *sa, char *out, size_t outlen);

#endif
