/* conn.h: one client connection: its socket, bounded input and output
 * buffers, protocol state, and the registry "stats conns" reads. Owned by
 * exactly one worker thread from accept to close. */
#ifndef HC_NET_CONN_H
#define HC_NET_CONN_H

#include <event2/event.h>
#include <stdatomic.h>
#include <stdint.h>

#include "base/buf.h"
#include "proto/proto.h"
#include "sec/connlimit.h"

struct worker;
struct handoff;

struct conn {
    int fd;
    struct worker *w;
    struct event *ev;
    struct buf in, out;
    struct proto_conn pc;
    bool want_write;
    int timer_secs;                 /* timeout the event is armed with; 0 none */
    uint32_t partial_since;         /* rel time a partial request began; 0 none */
    bool limited;                   /* holds a --max-conns-per-ip slot */
    struct ip_key key;
    _Atomic uint32_t last_cmd;      /* rel time, for stats conns and idle_timeout */
    struct conn *prev, *next;       /* the owning worker's list */
    bool yielded;                   /* on the worker's yield list */
    struct conn *yprev, *ynext;
    char peer[80];                  /* "tcp:127.0.0.1:4242" */
    char local[80];
};

/* Takes over an accepted socket; NULL (and the socket closed) on failure. */
struct conn *conn_create(struct worker *w, const struct handoff *h);

/* Shutdown: runs every connection of w once more; each closes as soon as
 * it has answered everything it sent. */
void conn_drain_all(struct worker *w);

/* The worker's yield timer: gives each connection that used up its -R
 * budget before the last poll one more turn. */
void conn_run_yielded(evutil_socket_t fd, short what, void *arg);

/* Appends "stats conns" lines for every registered connection. */
bool conn_registry_emit(struct buf *out);
/* Listening sockets are shown in "stats conns" too. */
void conn_registry_add_listener(int fd, const char *local);
void conn_registry_forget_listeners(void);
void conn_registry_init(int max_fds);

/* Formats a socket address as memcached does ("tcp:1.2.3.4:5", "tcp6:[::1]:5"). */
struct sockaddr;
void conn_format_addr(const struct sockaddr *sa, char *out, size_t outlen);

#endif
