/* tls.c: the TLS server context and the per-connection TLS calls (see
 * tls.h). Certificates arrive as bytes and are parsed with OpenSSL's memory
 * BIOs: nothing here opens a file, so a refresh works under the seccomp
 * filter. The context in force sits behind a mutex; SSL_new takes its own
 * reference, so a swap never pulls a context from under a connection. */
#include "net/tls.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "base/clock.h"
#include "sec/tlsid.h"

static const struct settings *tls_settings;
static struct tlsid_list tls_identities;    /* n == 0: no identity required */
static pthread_mutex_t ctx_lock = PTHREAD_MUTEX_INITIALIZER;
static SSL_CTX *ctx_current;
static _Atomic uint32_t ctx_loaded_at;

/* A key with a passphrase cannot be used unattended: refuse, never prompt. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

/* The newest OpenSSL error as text, or what_else when there is none. */
static const char *ssl_reason(char *buf, size_t len, const char *what_else)
{
    unsigned long e = ERR_peek_last_error();
    if (e == 0) {
        return what_else;
    }
    ERR_error_string_n(e, buf, len);
    ERR_clear_error();
    return buf;
}

static bool load_failed(const char *what, const struct tls_file *f, const char *why,
                        char *err, size_t errlen)
{
    char reason[256];
    snprintf(err, errlen, "Error loading the %s: %.300s : %s", what, f->path,
             f->err ? strerror(f->err) : ssl_reason(reason, sizeof reason, why));
    ERR_clear_error();
    return false;
}

bool tls_init(const struct settings *s, char *err, size_t errlen)
{
    tls_settings = s;
    if (OPENSSL_init_ssl(OPENSSL_INIT_LOAD_CONFIG, NULL) != 1 || RAND_status() != 1) {
        snprintf(err, errlen, "cannot initialise OpenSSL");
        return false;
    }
    tls_identities.n = 0;
    if (s->tls_client_identity[0] != '\0'
        && !tlsid_parse(span_cstr(s->tls_client_identity), &tls_identities, err, errlen)) {
        return false;
    }
    return true;
}

/* The leaf certificate, then every chain certificate after it. */
static bool use_chain(SSL_CTX *ctx, const struct tls_file *f, char *err, size_t errlen)
{
    const char *what = "certificate chain";
    if (f->err) {
        return load_failed(what, f, NULL, err, errlen);
    }
    BIO *bio = BIO_new_mem_buf(f->data, (int)f->len);
    X509 *leaf = bio ? PEM_read_bio_X509_AUX(bio, NULL, no_passphrase, NULL) : NULL;
    bool ok = leaf != NULL && SSL_CTX_use_certificate(ctx, leaf) == 1;
    X509_free(leaf);
    X509 *extra;
    while (ok && (extra = PEM_read_bio_X509(bio, NULL, no_passphrase, NULL)) != NULL) {
        ok = SSL_CTX_add0_chain_cert(ctx, extra) == 1;
        if (!ok) {
            X509_free(extra);
        }
    }
    BIO_free(bio);
    if (!ok) {
        return load_failed(what, f, "no PEM certificate", err, errlen);
    }
    ERR_clear_error();          /* the end of the chain reads as an error */
    return true;
}

static bool use_key(SSL_CTX *ctx, const struct tls_file *f, int format, char *err, size_t errlen)
{
    const char *what = "key";
    if (f->err) {
        return load_failed(what, f, NULL, err, errlen);
    }
    BIO *bio = BIO_new_mem_buf(f->data, (int)f->len);
    EVP_PKEY *key = NULL;
    if (bio != NULL) {
        key = format == SSL_FILETYPE_ASN1 ? d2i_PrivateKey_bio(bio, NULL)
                                          : PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
    }
    bool ok = key != NULL && SSL_CTX_use_PrivateKey(ctx, key) == 1
              && SSL_CTX_check_private_key(ctx) == 1;
    EVP_PKEY_free(key);
    BIO_free(bio);
    return ok ? true : load_failed(what, f, "no private key", err, errlen);
}

/* Every certificate of the CA file is trusted for client certificates and
 * named to clients in the CertificateRequest. */
static bool use_ca(SSL_CTX *ctx, const struct tls_file *f, char *err, size_t errlen)
{
    const char *what = "CA certificate";
    if (f->err) {
        return load_failed(what, f, NULL, err, errlen);
    }
    BIO *bio = BIO_new_mem_buf(f->data, (int)f->len);
    STACK_OF(X509_INFO) *infos = bio ? PEM_X509_INFO_read_bio(bio, NULL, no_passphrase, NULL) : NULL;
    int added = 0;
    bool ok = infos != NULL;
    for (int i = 0; ok && i < sk_X509_INFO_num(infos); i++) {
        X509 *x = sk_X509_INFO_value(infos, i)->x509;
        if (x != NULL) {
            ok = X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), x) == 1
                 && SSL_CTX_add_client_CA(ctx, x) == 1;
            added++;
        }
    }
    sk_X509_INFO_pop_free(infos, X509_INFO_free);
    BIO_free(bio);
    return ok && added > 0 ? true : load_failed(what, f, "no PEM certificate", err, errlen);
}

static int verify_flags(int mode)
{
    switch (mode) {
    case 1: return SSL_VERIFY_PEER;
    case 2: return SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    case 3: return SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT | SSL_VERIFY_CLIENT_ONCE;
    default: return SSL_VERIFY_NONE;
    }
}

/* Protocol versions, options and ciphers: everything but the files. */
static SSL_CTX *new_ctx(const struct settings *s, char *err, size_t errlen)
{
    static const int versions[] = { TLS1_VERSION, TLS1_1_VERSION, TLS1_2_VERSION, TLS1_3_VERSION };
    static const unsigned char sid_ctx[] = "hardcached";
    char reason[256];
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    int v = s->ssl_min_version >= 0 && s->ssl_min_version <= 3 ? s->ssl_min_version : 2;
    const char *ciphers = s->ssl_ciphers[0] ? s->ssl_ciphers : TLS_CIPHERS_DEFAULT;
    if (ctx == NULL || SSL_CTX_set_min_proto_version(ctx, versions[v]) != 1
        || SSL_CTX_set_cipher_list(ctx, ciphers) != 1
        || SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof sid_ctx - 1) != 1) {
        snprintf(err, errlen, "Error setting up TLS: %s",
                 ssl_reason(reason, sizeof reason, "out of memory"));
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE
                             | SSL_OP_NO_COMPRESSION
                             | (s->ssl_session_cache ? 0 : SSL_OP_NO_TICKET));
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER
                          | SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_session_cache_mode(ctx, s->ssl_session_cache ? SSL_SESS_CACHE_SERVER
                                                             : SSL_SESS_CACHE_OFF);
    SSL_CTX_set_verify(ctx, verify_flags(s->ssl_verify_mode), NULL);
    SSL_CTX_set_default_passwd_cb(ctx, no_passphrase);
    return ctx;
}

bool tls_load(const struct tls_file *chain, const struct tls_file *key,
              const struct tls_file *ca, char *err, size_t errlen)
{
    const struct settings *s = tls_settings;
    SSL_CTX *ctx = new_ctx(s, err, errlen);
    if (ctx == NULL) {
        return false;
    }
    const struct tls_file *keyf = key->path[0] ? key : chain;
    bool ok = use_chain(ctx, chain, err, errlen)
              && use_key(ctx, keyf, s->ssl_keyformat, err, errlen)
              && (ca->path[0] == '\0' || use_ca(ctx, ca, err, errlen));
    if (!ok) {
        SSL_CTX_free(ctx);
        return false;
    }
    pthread_mutex_lock(&ctx_lock);
    SSL_CTX *old = ctx_current;
    ctx_current = ctx;
    pthread_mutex_unlock(&ctx_lock);
    SSL_CTX_free(old);
    ctx_loaded_at = clock_now();
    return true;
}

uint32_t tls_loaded_at(void)
{
    return ctx_loaded_at;
}

SSL *tls_new(int fd)
{
    pthread_mutex_lock(&ctx_lock);
    SSL *ssl = ctx_current ? SSL_new(ctx_current) : NULL;
    pthread_mutex_unlock(&ctx_lock);
    if (ssl != NULL && SSL_set_fd(ssl, fd) != 1) {
        SSL_free(ssl);
        ssl = NULL;
    }
    if (ssl != NULL) {
        SSL_set_accept_state(ssl);
    }
    ERR_clear_error();
    return ssl;
}

void tls_free(SSL *ssl, bool established)
{
    if (ssl == NULL) {
        return;
    }
    if (established) {
        (void)SSL_shutdown(ssl);    /* one close_notify, never waited for */
    }
    SSL_free(ssl);
    ERR_clear_error();
}

static enum tls_io io_result(SSL *ssl, int rc)
{
    int e = SSL_get_error(ssl, rc);
    ERR_clear_error();          /* this thread's queue must not grow */
    switch (e) {
    case SSL_ERROR_WANT_READ: return TLS_IO_WANT_READ;
    case SSL_ERROR_WANT_WRITE: return TLS_IO_WANT_WRITE;
    case SSL_ERROR_ZERO_RETURN: return TLS_IO_CLOSED;
    default: return TLS_IO_ERROR;
    }
}

enum tls_io tls_handshake(SSL *ssl)
{
    int rc = SSL_do_handshake(ssl);
    return rc == 1 ? TLS_IO_OK : io_result(ssl, rc);
}

ssize_t tls_read(SSL *ssl, void *buf, size_t len, enum tls_io *io)
{
    size_t got = 0;
    int rc = SSL_read_ex(ssl, buf, len, &got);
    if (rc == 1) {
        return (ssize_t)got;
    }
    *io = io_result(ssl, rc);
    return -1;
}

ssize_t tls_write(SSL *ssl, const void *buf, size_t len, enum tls_io *io)
{
    size_t done = 0;
    int rc = SSL_write_ex(ssl, buf, len, &done);
    if (rc == 1) {
        return (ssize_t)done;
    }
    *io = io_result(ssl, rc);
    return -1;
}

/* ---- --tls-client-identity --------------------------------------------- */

static bool san_allowed(X509 *cert)
{
    GENERAL_NAMES *names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
    bool ok = false;
    for (int i = 0; !ok && i < sk_GENERAL_NAME_num(names); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
        if (g->type == GEN_DNS || g->type == GEN_URI) {
            const ASN1_IA5STRING *v = g->type == GEN_DNS ? g->d.dNSName : g->d.uniformResourceIdentifier;
            ok = tlsid_match(&tls_identities, g->type == GEN_DNS ? TLSID_DNS : TLSID_URI,
                             (const char *)ASN1_STRING_get0_data(v), (size_t)ASN1_STRING_length(v));
        }
    }
    GENERAL_NAMES_free(names);
    return ok;
}

static bool cn_allowed(X509 *cert)
{
    const X509_NAME *subject = X509_get_subject_name(cert);
    bool ok = false;
    for (int i = -1; !ok && (i = X509_NAME_get_index_by_NID(subject, NID_commonName, i)) >= 0;) {
        unsigned char *utf8 = NULL;
        const ASN1_STRING *v = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, i));
        int len = ASN1_STRING_to_UTF8(&utf8, v);
        ok = len >= 0 && tlsid_match(&tls_identities, TLSID_CN, (const char *)utf8, (size_t)len);
        OPENSSL_free(utf8);
    }
    return ok;
}

bool tls_identity_allowed(SSL *ssl)
{
    if (tls_identities.n == 0) {
        return true;
    }
    X509 *cert = SSL_get0_peer_certificate(ssl);
    bool ok = cert != NULL && SSL_get_verify_result(ssl) == X509_V_OK
              && (san_allowed(cert) || cn_allowed(cert));
    ERR_clear_error();
    return ok;
}
