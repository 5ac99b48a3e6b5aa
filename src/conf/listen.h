/* listen.h: the text of -l (listen = in a file): "host[:port]", "[ipv6]:port"
 * or "ipv6", each maybe after "notls:", comma separated, read into struct listen_addr entries and
 * written back in the same syntax. Pure: no I/O and no name lookup (a host
 * name is only checked for its characters; net/ resolves it at bind). */
#ifndef HC_CONF_LISTEN_H
#define HC_CONF_LISTEN_H

#include <stdbool.h>
#include <stddef.h>

#include "base/span.h"
#include "conf/settings.h"

/* Appends every entry of text to list[0..*n), exact duplicates dropped
 * (memcached accepts `-l a -l a` too), at most max (<= SETTINGS_MAX_LISTEN)
 * in all. All or nothing: on failure list and *n are unchanged and *bad is
 * the entry refused, or all of text when there would be more than max. */
bool listen_parse(struct span text, struct listen_addr list[SETTINGS_MAX_LISTEN],
                  int *n, int max, struct span *bad);

/* The composer paired with listen_parse: what it writes reads back as
 * list[0..n). */
void listen_format(const struct listen_addr *list, int n, char *buf, size_t len);

#endif
