/* show.h: untrusted text echoed into an operator-facing error message (a
 * bad option value, config name or CIDR): printable ASCII only, '"' and
 * everything else replaced by '?', at most SHOW_IN_MAX input bytes, "..."
 * when cut. One helper so the CLI, the config file and the allowlist quote
 * what they refuse the same way. */
#ifndef HC_BASE_SHOW_H
#define HC_BASE_SHOW_H

#include <stddef.h>

#define SHOW_IN_MAX 64

/* Writes at most outlen-1 bytes and a NUL (outlen must be at least 1). */
void show_text(const char *in, char *out, size_t outlen);

#endif
