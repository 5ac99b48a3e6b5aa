/* counters.h: the network layer's shared state that is not a connection
 * or a thread: its metrics (counted by the listener and the connections,
 * read by "stats"), the connection-buffer budget and the drain flag. Kept
 * apart so that conn.c and worker.c both use it without including each
 * other. */
#ifndef HC_NET_COUNTERS_H
#define HC_NET_COUNTERS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "proto/stats.h"

/* The network layer's metrics ("stats"; proto/stats.h has the row format
 * X(name, kind, description)). NET_COUNTERS are counted where they happen
 * (listener.c, conn.c), each an atomic in net_counters shared by the listener
 * and the workers; NET_READINGS are read when "stats" asks (listener.c,
 * net_read). A metric not in memcached's order (proto/stats.c) is ours and
 * comes after memcached's, in this order. */
#define NET_COUNTERS(X) \
    X(curr_connections, METRIC_GAUGE, "client connections open now") \
    X(total_connections, METRIC_COUNTER, \
      "client connections accepted past the allowlist and the limits since start") \
    X(rejected_connections, METRIC_COUNTER, \
      "connections refused at -c (or a full worker queue): ERROR Too many open connections") \
    X(read_buf_oom, METRIC_COUNTER, \
      "connections closed because a request or an answer found no buffer memory") \
    X(allowlist_rejects, METRIC_COUNTER, \
      "peers outside --allow, closed at accept with nothing read or written") \
    X(per_ip_rejects, METRIC_COUNTER, "connections refused at --max-conns-per-ip") \
    X(read_timeouts, METRIC_COUNTER, "connections closed for holding a partial request " \
      "or unread answers for --read-timeout seconds") \
    X(idle_timeouts, METRIC_COUNTER, \
      "connections closed after idle_timeout seconds without a command") \
    X(auth_throttled, METRIC_COUNTER, "connections closed at accept, or after a failed " \
      "login, because their source failed --auth-fail-limit -Y logins within --auth-fail-window") \
    X(config_reloads, METRIC_COUNTER, "SIGHUP reloads of the TLS certificate, -Y file and " \
      "--allow-file lists") \
    X(config_reload_errors, METRIC_COUNTER, \
      "files a SIGHUP could not reload (the old state stayed); each is logged")

#define NET_READINGS(X) \
    X(pid, METRIC_GAUGE, "process id of the server") \
    X(uptime, METRIC_COUNTER, "seconds since the server started") \
    X(time, METRIC_GAUGE, "the server's clock, in seconds since 1970") \
    X(rusage_user, METRIC_USEC, "CPU time the process spent in user mode") \
    X(rusage_system, METRIC_USEC, "CPU time the process spent in the kernel") \
    X(max_connections, METRIC_GAUGE, "-c: the most client connections served at once") \
    X(connection_structures, METRIC_GAUGE, "connections open now, listening sockets included") \
    X(reserved_fds, METRIC_GAUGE, \
      "file descriptors set aside for internal use (worker threads + 4)") \
    X(listen_disabled_num, METRIC_COUNTER, \
      "times accepting paused for lack of file descriptors or memory") \
    X(threads, METRIC_GAUGE, "worker threads (-t)") \
    X(accepting_conns, METRIC_GAUGE, "1 while new connections are accepted, 0 while paused") \
    X(response_obj_oom, METRIC_COUNTER, \
      "growths of output buffers refused by --conn-mem-limit (a get answered out of memory)") \
    X(response_obj_count, METRIC_GAUGE, "connection output buffers holding memory now") \
    X(response_obj_bytes, METRIC_GAUGE, "bytes of connection output buffers now") \
    X(read_buf_count, METRIC_GAUGE, "connection input and output buffers holding memory now") \
    X(read_buf_bytes, METRIC_GAUGE, "bytes of connection input and output buffers now") \
    X(conn_mem_peak, METRIC_GAUGE, "the most bytes connection buffers held at once " \
      "(--conn-mem-limit bounds their growth)")

/* Shown only with -Z, as memcached does; they come last, so "stats" drops
 * them by showing fewer rows. */
#define NET_TLS_COUNTERS(X) \
    X(ssl_handshake_errors, METRIC_COUNTER, \
      "-Z only: TLS handshakes that failed (plain text on a TLS port, a refused certificate, ...)") \
    X(ssl_identity_refused, METRIC_COUNTER, "-Z only: TLS clients closed after the handshake: " \
      "their certificate carries none of --tls-client-identity")
#define NET_TLS_READINGS(X) \
    X(time_since_server_cert_refresh, METRIC_GAUGE, \
      "-Z only: seconds since the server certificate was (re)loaded")

#define NET_METRICS(X) NET_COUNTERS(X) NET_READINGS(X) NET_TLS_COUNTERS(X) NET_TLS_READINGS(X)
#define NET_TLS_METRIC_COUNT 3
#define NET_ALL_COUNTERS(X) NET_COUNTERS(X) NET_TLS_COUNTERS(X)

struct net_counters {
#define X(name, kind, desc) _Atomic uint64_t name;
    NET_ALL_COUNTERS(X)
#undef X
};
extern struct net_counters net_counters;

/* NET_METRICS as rows, for "stats" (struct server_info), genman and tests. */
extern const struct metric net_metric_table[];
extern const size_t net_metric_count;

/* Every connection buffer belongs to this budget (--conn-mem-limit). */
extern struct buf_budget net_conn_budget;
/* Set on SIGTERM: finish what each client sent, then close it. */
extern _Atomic bool net_draining;

#endif
