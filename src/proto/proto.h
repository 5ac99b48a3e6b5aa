/* proto.h: memcached's protocols, ASCII (ascii.c, meta.c) and binary
 * (binary.c), as a pure transformation: bytes in, calls into the store, bytes
 * out. No sockets and no system calls here; the network layer owns I/O and
 * feeds us whatever arrived; the first byte of a connection picks the
 * protocol (-B auto). */
#ifndef HC_PROTO_PROTO_H
#define HC_PROTO_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "proto/stats.h"
#include "proto/version.h"
#include "store/store.h"


/* A command line longer than this without "\n" closes the connection, as
 * memcached does; "get"/"gets" lines may be up to PROTO_GET_LINE_MAX. */
#define PROTO_LINE_MAX 2048
#define PROTO_GET_LINE_MAX (1024 * 1024)

/* -Y, before login: every line is held to PROTO_LINE_MAX, get lines too (a
 * longer one closes the connection, nothing answered: memcached closes at
 * 2049 bytes without "\n"), and a login's data block ("user pass", with
 * the extra words memcached ignores) to PROTO_AUTH_DATA_MAX bytes: a login
 * "set" declaring more is closed at once, nothing answered (memcached
 * waits for up to ~16 KiB, then closes). A -Y line is at most 255 bytes,
 * so no real login comes near either bound; an unauthenticated connection
 * holds one line and one small block at most. */
#define PROTO_AUTH_DATA_MAX 1024

/* Output past this stops command processing until the socket drains. */
#define PROTO_OUT_HIGH_WATER (256 * 1024)

/* A connection's output buffer limit: the high-water mark, plus what one
 * command may add once past it (a value of up to -I with its header, or a
 * whole "stats" answer). An answer that still does not fit is replaced by
 * memcached's out-of-memory error. */
#define PROTO_REPLY_SLACK (1024 * 1024)
static inline size_t proto_out_limit(size_t item_size_max)
{
    return PROTO_OUT_HIGH_WATER + 2 * item_size_max + PROTO_REPLY_SLACK;
}

struct settings;

struct proto_server {
    struct store *store;
    const struct settings *settings;
    const struct stats_source *stats_src;
    void (*shutdown)(bool graceful);   /* "shutdown", only with -A */
    /* -Y: nothing but a login is served until the connection logs in */
    bool auth_required;
    /* "refresh_certs": reloads the TLS certificates (net/reload.c); false
     * with memcached's one-line message in msg. NULL without -Z: memcached's
     * "Error TLS not enabled" answer. */
    bool (*refresh_certs)(char *msg, size_t msglen);
};

enum proto_state { PROTO_LINE, PROTO_NREAD, PROTO_SWALLOW };

/* Which protocol a connection speaks: decided by -B, or under -B auto by
 * its first byte (0x80, the binary request magic, is binary), once. */
enum proto_wire { PROTO_WIRE_UNDECIDED = 0, PROTO_WIRE_ASCII, PROTO_WIRE_BINARY };

/* The binary request a streaming value (PROTO_NREAD) belongs to, and the
 * SASL exchange's state (proto/binary.c). */
enum proto_sasl { PROTO_SASL_NONE = 0, PROTO_SASL_CONTINUE, PROTO_SASL_DONE };
struct bin_pending {
    uint8_t opcode;            /* as sent: the answer carries it */
    bool quiet;                /* a ...Q opcode: success is not answered */
    uint32_t opaque;           /* echoed in the answer */
    uint16_t held_status;      /* PROTO_SWALLOW: the error answered once the body is */
    const char *held_text;     /*   swallowed, as memcached writes it (NULL: none) */
};

/* An "ms" whose value is arriving: what its answer needs once the item is
 * linked (memcached keeps the same in its write buffer). proto/meta.c. */
#define META_OPAQUE_MAX 32
struct meta_pending {
    bool active;               /* the PROTO_NREAD item is an ms */
    bool quiet;                /* q: no "HD" */
    bool key_binary;           /* b: k answers in base64, then " b" */
    uint8_t nret;              /* return flags 'O' 'k' 'c', in the order sent */
    char ret[3];
    uint8_t nopaque;
    char opaque[META_OPAQUE_MAX];   /* the O token, 'O' included */
};

struct proto_conn {
    enum proto_state state;
    struct thread_stats *stats;
    bool noreply;              /* the current command's answers are dropped */
    bool close;                /* close once the output is written */
    bool out_of_memory;        /* closing because an answer found no buffer */
    /* PROTO_NREAD: a value streaming into an allocated item */
    struct item *item;
    char *item_data;
    uint32_t item_ndata, item_filled;
    char tail[2];
    uint8_t tail_filled;
    enum store_mode mode;
    uint64_t cas_in;
    struct meta_pending meta;
    /* PROTO_SWALLOW: a data block to discard */
    uint64_t swallow_left;
    /* a get whose output passed the high-water mark resumes at this offset
     * of its line (0: not suspended) */
    size_t get_resume;
    /* names this connection in the -vv log (net/conn.c sets its fd) */
    int trace_id;
    /* -Y or -S: logged in; failed logins so far (net/conn.c feeds the
     * per-source throttle with their increase) */
    bool authenticated;
    uint32_t auth_failures;
    /* the protocol (enum proto_wire) and the binary protocol's state */
    uint8_t wire;
    uint8_t sasl;              /* enum proto_sasl */
    struct bin_pending bin;
};

enum proto_stop {
    PROTO_STOP_NEED_INPUT,     /* everything consumed or a partial line */
    PROTO_STOP_BUDGET,         /* -R commands done: yield to other clients */
    PROTO_STOP_OUTPUT_FULL,    /* write out first, then call again */
    PROTO_STOP_CLOSE,          /* quit or fatal input: flush, then close */
};

void proto_conn_init(struct proto_conn *pc, struct thread_stats *stats);
/* Frees what a closing connection still holds (a half-received item). */
void proto_conn_release(const struct proto_server *srv, struct proto_conn *pc);

/* Runs commands from in[0, len); appends answers to out. Executes at most
 * *budget commands (decremented; a binary packet is one). Returns the number
 * of bytes consumed. */
size_t proto_process(const struct proto_server *srv, struct proto_conn *pc,
                     const char *in, size_t len, struct buf *out, int *budget,
                     enum proto_stop *why);

/* The store the daemon runs for settings s (-m, -I, -f, -n, -M, -C,
 * -o hashpower; adaptive). setup.c; main.c and the fuzzer both call it. */
void proto_store_config(const struct settings *s, struct store_config *cfg);

#endif
