/* worker.c: worker threads. Each runs its own libevent loop; the listener
 * hands it accepted sockets through a small locked queue and an eventfd
 * wake-up, so the only cross-thread traffic is at most one write per
 * connection (none while the worker has not yet emptied its queue). */
#include "net/worker.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>


/* The eventfd is watched edge-triggered: every write is a new edge, so it
 * is never read (one syscall less per connection); its counter would need
 * 2^64 wake-ups to fill. The queue is emptied each time, and the listener
 * writes whenever it puts a socket into an empty queue, so no socket waits
 * for a wake-up that is not coming. */
static void worker_adopt(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct worker *w = arg;
    for (;;) {
        struct handoff h;
        pthread_mutex_lock(&w->queue_lock);
        bool got = w->queue_len > 0;
        if (got) {
            h = w->queue[--w->queue_len];
        }
        pthread_mutex_unlock(&w->queue_lock);
        if (!got) {
            break;
        }
        struct conn *c = conn_create(&w->home, &h);
        if (c != NULL) {
            conn_start(c);
        }
    }
    if (atomic_load(&net_draining)) {
        conn_drain_all(&w->home);
    }
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    event_base_dispatch(w->home.base);
    return NULL;
}

bool worker_start(struct worker *w, const struct proto_server *srv, int queue_cap)
{
    w->home.srv = srv;
    w->home.settings = srv->settings;
    w->queue = calloc((size_t)queue_cap, sizeof(*w->queue));
    w->queue_cap = queue_cap;
    w->home.base = event_base_new();
    w->notify_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (w->queue == NULL || w->home.base == NULL || w->notify_fd < 0
        || pthread_mutex_init(&w->queue_lock, NULL) != 0) {
        return false;
    }
    w->notify_ev = event_new(w->home.base, w->notify_fd, EV_READ | EV_PERSIST | EV_ET,
                             worker_adopt, w);
    if (w->notify_ev == NULL || event_add(w->notify_ev, NULL) != 0) {
        return false;
    }
    w->home.yield_ev = evtimer_new(w->home.base, conn_run_yielded, &w->home);
    if (w->home.yield_ev == NULL) {
        return false;
    }
    stats_register_thread(&w->home.stats);
    return pthread_create(&w->thread, NULL, worker_main, w) == 0;
}

bool worker_dispatch(struct worker *w, const struct handoff *h)
{
    pthread_mutex_lock(&w->queue_lock);
    bool ok = w->queue_len < w->queue_cap;
    bool was_empty = w->queue_len == 0;
    if (ok) {
        w->queue[w->queue_len++] = *h;
    }
    pthread_mutex_unlock(&w->queue_lock);
    if (ok && was_empty) {
        worker_wake(w);     /* else the wake-up that queue is waiting on takes it */
    }
    return ok;
}

void worker_wake(struct worker *w)
{
    uint64_t one = 1;
    ssize_t r = write(w->notify_fd, &one, sizeof(one));
    (void)r;        /* the counter cannot overflow at our rates */
}
