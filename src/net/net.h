/* net.h: the only layer that does network I/O. main() calls these in order:
 * net_bind (as the start-up user, maybe root), net_start_workers, net_serve
 * (blocks until shutdown). Everything here is libevent-driven. */
#ifndef HC_NET_NET_H
#define HC_NET_NET_H

#include <stdbool.h>

#include "conf/settings.h"
#include "store/store.h"

struct net;

/* Creates the listening sockets from settings (loopback defaults when no -l).
 * Returns NULL and fills err (one line) on failure. */
struct net *net_bind(const struct settings *s, char *err, size_t errlen);

/* Spawns settings->threads worker threads. False + err on failure. */
bool net_start_workers(struct net *n, struct store *st, char *err, size_t errlen);


/* Creates the accept loop, clock and signal events: every socket, eventfd
 * and epoll instance exists before the seccomp filter is loaded. */
bool net_prepare(struct net *n, char *err, size_t errlen);

/* Runs the accept loop and clock until SIGTERM/SIGINT or "shutdown". */
int net_serve(struct net *n);

#endif
