/* version.h: what "version" and "stats" say the server is: memcached's
 * number first (clients gate features on it), then ours. On its own so the
 * stats code needs nothing else of the protocol's header. */
#ifndef HC_PROTO_VERSION_H
#define HC_PROTO_VERSION_H

#define PROTO_VERSION "1.6.18-hardcached-0.1.0"

#endif
