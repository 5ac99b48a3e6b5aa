/* worker.h: a worker thread: its own libevent base, its own statistics, and
 * a queue of newly accepted sockets handed over by the listener. No state is
 * shared between workers except the store (which has its own locking). */
#ifndef HC_NET_WORKER_H
#define HC_NET_WORKER_H

#include <event2/event.h>
#include <pthread.h>
#include <stdatomic.h>

#include "proto/proto.h"
#include "sec/connlimit.h"

/* An accepted socket on its way from the listener to a worker. */
struct handoff {
    int fd;
    bool limited;                   /* holds a --max-conns-per-ip slot */
    struct ip_key key;
};

struct worker {
    pthread_t thread;
    struct event_base *base;
    struct event *notify_ev;
    int notify_fd;                  /* eventfd the listener writes to */
    pthread_mutex_t queue_lock;
    struct handoff *queue;          /* accepted sockets waiting to be adopted */
    int queue_len, queue_cap;
    struct thread_stats stats;
    const struct proto_server *srv;
    const struct settings *settings;
    struct connlimit *per_ip;       /* shared; NULL when off */
    struct conn *conns;             /* this worker's connections (its own list) */
    /* connections that used up -R: each runs again only after the next poll,
     * behind every socket that poll found ready */
    struct conn *yield_head, *yield_tail;
    int yield_len;
    struct event *yield_ev;
};

/* Counters shared by listener and workers. */
extern _Atomic uint64_t net_curr_conns, net_total_conns, net_rejected_conns;
extern _Atomic uint64_t net_read_timeouts, net_idle_timeouts;
/* Every connection buffer belongs to this budget (--conn-mem-limit);
 * net_buf_oom_closes counts connections closed for lack of buffer memory. */
extern struct buf_budget net_conn_budget;
extern _Atomic uint64_t net_buf_oom_closes;
/* Set on SIGTERM: finish what each client sent, then close it. */
extern _Atomic bool net_draining;

/* Wakes w so it notices net_draining. */
void worker_wake(struct worker *w);

bool worker_start(struct worker *w, const struct proto_server *srv, int queue_cap);
/* Hands an accepted socket to w; false if its queue is full. */
bool worker_dispatch(struct worker *w, const struct handoff *h);

#endif
