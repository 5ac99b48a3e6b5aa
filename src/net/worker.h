/* worker.h: a worker thread: its own libevent base, its own statistics, and
 * a queue of newly accepted sockets handed over by the listener. No state is
 * shared between workers except the store (which has its own locking). */
#ifndef HC_NET_WORKER_H
#define HC_NET_WORKER_H

#include <event2/event.h>
#include <pthread.h>
#include <stdatomic.h>

#include "net/conn.h"
#include "net/counters.h"

struct worker {
    struct conn_home home;          /* its loop and its connections */
    pthread_t thread;
    struct event *notify_ev;
    int notify_fd;                  /* eventfd the listener writes to */
    pthread_mutex_t queue_lock;
    struct handoff *queue;          /* accepted sockets waiting to be adopted */
    int queue_len, queue_cap;
};

/* Wakes w so it notices net_draining. */
void worker_wake(struct worker *w);

bool worker_start(struct worker *w, const struct proto_server *srv, int queue_cap);
/* Hands an accepted socket to w; false if its queue is full. */
bool worker_dispatch(struct worker *w, const struct handoff *h);

#endif
