/* listen.c: the -l parser and its composer (see listen.h). Operator input,
 * read as spans: every entry is checked byte by byte and an address is
 * only ever handed to inet_pton as a bounded copy. Strict where libc is
 * lenient: getaddrinfo would read "0" as 0.0.0.0 and "127.1" as 127.0.0.1,
 * so anything all digits and dots must be a dotted quad. */
#include "conf/listen.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

/* 1-65535 in at most 7 digits (leading zeros, but not without end). */
static bool listen_port(struct span sp, uint16_t *port)
{
    unsigned long long x;
    if (sp.n == 0 || sp.n > 7 || span_uint(sp, 10, &x) != sp.n || x < 1 || x > 65535) {
        return false;
    }
    *port = (uint16_t)x;
    return true;
}

static bool listen_v6(struct span sp, char *host, size_t len)
{
    unsigned char bin[16];
    return span_copy(sp, host, len) && inet_pton(AF_INET6, host, bin) == 1;
}

/* An IPv4 literal or a host name. */
static bool listen_host(struct span sp, char *host, size_t len)
{
    static const char name_bytes[] = "abcdefghijklmnopqrstuvwxyz"
                                     "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-";
    unsigned char bin[4];
    if (sp.n == 0 || sp.n > 253 || !span_copy(sp, host, len) ||
        host[0] == '-' || host[0] == '.' || span_run(sp, name_bytes) != sp.n) {
        return false;
    }
    bool numeric = span_run(sp, "0123456789.") == sp.n;
    return !numeric || inet_pton(AF_INET, host, bin) == 1;
}

/* "[v6]", "[v6]:port", "v6" (two or more colons), "host", "host:port",
 * each maybe after "notls:" (memcached's: this listener stays plain text
 * with -Z). */
static bool listen_parse_one(struct span e, struct listen_addr *out)
{
    out->port = 0;
    out->notls = span_starts_with(e, "notls:");
    if (out->notls) {
        e = span_sub(e, 6, e.n);
    }
    if (span_starts_with(e, "[")) {
        size_t rb = span_find(e, ']');
        if (rb == e.n || !listen_v6(span_sub(e, 1, rb - 1), out->host, sizeof out->host)) {
            return false;
        }
        struct span rest = span_sub(e, rb + 1, e.n);
        if (span_is_empty(rest)) {
            return true;
        }
        return span_starts_with(rest, ":") && listen_port(span_sub(rest, 1, rest.n), &out->port);
    }
    if (span_count(e, ':') > 1) {
        return listen_v6(e, out->host, sizeof out->host);
    }
    size_t colon = span_find(e, ':');
    if (colon == e.n) {
        return listen_host(e, out->host, sizeof out->host);
    }
    return listen_host(span_sub(e, 0, colon), out->host, sizeof out->host) &&
           listen_port(span_sub(e, colon + 1, e.n), &out->port);
}

static bool listen_known(const struct listen_addr *list, int n,
                         const struct listen_addr *a)
{
    for (int i = 0; i < n; i++) {
        if (list[i].port == a->port && list[i].notls == a->notls
            && strcmp(list[i].host, a->host) == 0) {
            return true;
        }
    }
    return false;
}

/* Works on a copy, so that a bad entry leaves list as it was. */
bool listen_parse(struct span text, struct listen_addr list[SETTINGS_MAX_LISTEN],
                  int *n, int max, struct span *bad)
{
    struct listen_addr copy[SETTINGS_MAX_LISTEN];
    struct span rest = text, entry;
    int count = *n;
    memcpy(copy, list, sizeof copy);
    while (span_split(&rest, ',', &entry)) {
        struct listen_addr a = { .port = 0 };   /* no stale bytes after the NUL */
        if (!listen_parse_one(span_trim_any(entry, " "), &a)) {
            *bad = entry;
            return false;
        }
        if (!listen_known(copy, count, &a)) {
            if (count >= max || count >= SETTINGS_MAX_LISTEN) {
                *bad = text;
                return false;
            }
            copy[count++] = a;
        }
    }
    memcpy(list, copy, sizeof copy);
    *n = count;
    return true;
}

void listen_format(const struct listen_addr *list, int n, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < n && used < len; i++) {
        const struct listen_addr *a = &list[i];
        const char *sep = i ? (a->notls ? ",notls:" : ",") : (a->notls ? "notls:" : "");
        bool v6 = strchr(a->host, ':') != NULL;
        if (a->port == 0) {
            used += (size_t)snprintf(buf + used, len - used, "%s%s", sep, a->host);
        } else {
            used += (size_t)snprintf(buf + used, len - used, v6 ? "%s[%s]:%u" : "%s%s:%u",
                                     sep, a->host, (unsigned)a->port);
        }
    }
}
