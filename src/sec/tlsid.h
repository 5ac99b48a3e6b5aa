/* tlsid.h: --tls-client-identity, the identities a TLS client certificate
 * must carry one of to be served: "dns:NAME" and "uri:URI" match the
 * certificate's subjectAltName entries (a SPIFFE ID is a URI), "cn:NAME"
 * its subject common name. Operator input: parsed strictly at start-up,
 * then read-only; matching is exact (DNS names case-insensitively), no
 * wildcards. */
#ifndef HC_SEC_TLSID_H
#define HC_SEC_TLSID_H

#include <stdbool.h>
#include <stddef.h>

#include "base/span.h"

enum tlsid_kind { TLSID_DNS, TLSID_URI, TLSID_CN };

#define TLSID_MAX 32                /* identities in one list */
#define TLSID_VALUE_MAX 255         /* bytes of one identity */

struct tlsid {
    enum tlsid_kind kind;
    size_t len;
    char value[TLSID_VALUE_MAX + 1];
};

struct tlsid_list {
    struct tlsid ids[TLSID_MAX];
    int n;
};

/* "dns:a.example,uri:spiffe://example.org/app,cn:client1" (spaces around
 * an entry ignored). False with a one-line err naming the entry refused and
 * the accepted form. */
bool tlsid_parse(struct span text, struct tlsid_list *out, char *err, size_t errlen);

/* True when (kind, value[0..len)) is in the list. A value holding a NUL or
 * a control byte never matches (a certificate cannot smuggle "a\0b"). */
bool tlsid_match(const struct tlsid_list *l, enum tlsid_kind kind, const char *value, size_t len);

#endif
