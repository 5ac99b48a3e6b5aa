/* counters.c: the definitions behind counters.h: the network metrics, the
 * connection-buffer budget and the drain flag, and the metric rows "stats",
 * genman and the tests walk. */
#include "net/counters.h"

struct net_counters net_counters;
struct buf_budget net_conn_budget;
_Atomic bool net_draining;

const struct metric net_metric_table[] = { NET_METRICS(METRIC_ROW) };
const size_t net_metric_count = sizeof(net_metric_table) / sizeof(net_metric_table[0]);
_Static_assert(sizeof(net_metric_table) / sizeof(net_metric_table[0]) <= STATS_SOURCE_MAX,
               "raise STATS_SOURCE_MAX (proto/stats.h)");
