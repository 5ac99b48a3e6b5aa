/* worker.h: a worker thread: its own libevent base, its own statistics, and
 * a queue of newly accepted sockets handed over by the listener. No state is
 * shared between workers except the store (which has its own locking). */
#ifndef HC_NET_WORKER_H
#define HC_NET_WORKER_H

#include <event2/event.h>
#include <pthread.h>
#include <stdatomic.h>

#include "proto/proto.h"

struct worker {
    pthread_t thread;
    struct event_base *base;
    struct event *notify_ev;
    int notify_fd;                  /* eventfd the listener writes to */
    pthread_mutex_t queue_lock;
    int *queue;                     /* accepted fds waiting to be adopted */
    int queue_len, queue_cap;
    struct thread_stats stats;
    const struct proto_server *srv;
    const struct settings *settings;
};

/* Counters shared by listener and workers. */
extern _Atomic uint64_t net_curr_conns, net_total_conns, net_rejected_conns;

bool worker_start(struct worker *w, const struct proto_server *srv, int queue_cap);
/* Hands an accepted fd to w; false if its queue is full. */
bool worker_dispatch(struct worker *w, int fd);

#endif
