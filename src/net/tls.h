/* tls.h: TLS for client connections (-Z), with OpenSSL as memcached uses
 * it. The server context is built from bytes (the privilege-separated
 * reader hands them over, sec/reader.h), swapped whole by a refresh, and
 * shared by every worker; each connection holds its own SSL on its
 * non-blocking socket and drives the handshake from its event loop. */
#ifndef HC_NET_TLS_H
#define HC_NET_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "conf/settings.h"

typedef struct ssl_st SSL;

/* Mozilla's "intermediate" server configuration (Server Side TLS 5.7): for
 * TLS 1.2, ECDHE key exchange with AES-GCM or ChaCha20-Poly1305 only; TLS
 * 1.3 suites are OpenSSL's defaults (all AEAD). -o ssl_ciphers replaces it. */
#define TLS_CIPHERS_DEFAULT \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

/* One file's bytes as the reader handed them, and its path for messages. */
struct tls_file {
    const char *path;       /* "" when not configured */
    int err;                /* errno from reading it, 0 if read */
    const char *data;
    size_t len;
};

/* Once, at start-up, before the seccomp filter: initialises OpenSSL (its
 * configuration file is read now, never later) and reads the settings. */
bool tls_init(const struct settings *s, char *err, size_t errlen);

/* Builds a server context from the certificate chain, key and CA files
 * and makes it the one new connections use; connections already open keep
 * theirs. False with memcached's one-line message ("Error loading the key:
 * PATH : reason") and the old context kept. Thread-safe. */
bool tls_load(const struct tls_file *chain, const struct tls_file *key,
              const struct tls_file *ca, char *err, size_t errlen);

/* Server clock time of the last successful tls_load. */
uint32_t tls_loaded_at(void);

/* A new server-side SSL on fd, from the current context; NULL on failure. */
SSL *tls_new(int fd);
void tls_free(SSL *ssl, bool established);

enum tls_io { TLS_IO_OK, TLS_IO_WANT_READ, TLS_IO_WANT_WRITE, TLS_IO_CLOSED, TLS_IO_ERROR };

/* One step of the server handshake. */
enum tls_io tls_handshake(SSL *ssl);
/* Like recv/send: bytes moved (> 0), or -1 with *io saying why not. */
ssize_t tls_read(SSL *ssl, void *buf, size_t len, enum tls_io *io);
ssize_t tls_write(SSL *ssl, const void *buf, size_t len, enum tls_io *io);

/* After the handshake: whether the client certificate carries one of the
 * --tls-client-identity identities (true when that option is not set). */
bool tls_identity_allowed(SSL *ssl);

#endif
