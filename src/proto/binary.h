/* binary.h: memcached's binary protocol as 1.6.18 speaks it, and SASL PLAIN
 * over it (-S). proto_process hands a connection whose protocol is binary to
 * binary_process; the header's parser and composer and the PLAIN parser are
 * pure and exposed for the unit tests (tests/unit/test_binary.c). */
#ifndef HC_PROTO_BINARY_H
#define HC_PROTO_BINARY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/span.h"
#include "proto/proto.h"

#define BIN_HEADER_LEN 24
#define BIN_REQ_MAGIC 0x80
#define BIN_RES_MAGIC 0x81
#define BIN_SASL_MECH_MAX 32   /* memcached's MAX_SASL_MECH_LEN */

/* memcached's response statuses (protocol_binary.h). */
enum bin_status {
    BIN_SUCCESS = 0x00, BIN_KEY_ENOENT = 0x01, BIN_KEY_EEXISTS = 0x02, BIN_E2BIG = 0x03,
    BIN_EINVAL = 0x04, BIN_NOT_STORED = 0x05, BIN_DELTA_BADVAL = 0x06,
    BIN_AUTH_ERROR = 0x20, BIN_AUTH_CONTINUE = 0x21,
    BIN_UNKNOWN_COMMAND = 0x81, BIN_ENOMEM = 0x82,
};

/* A header in host order; status is a request's vbucket (ignored). */
struct bin_header {
    uint8_t magic, opcode;
    uint16_t keylen;
    uint8_t extlen, datatype;
    uint16_t status;
    uint32_t bodylen, opaque;
    uint64_t cas;
};

/* The 24 bytes of a header, either way (network byte order on the wire). */
void bin_header_parse(const char in[BIN_HEADER_LEN], struct bin_header *h);
void bin_header_compose(const struct bin_header *h, char out[BIN_HEADER_LEN]);

/* How much of a request is in in[0, len): FRAME_WAIT until its header and
 * then its extras and key have all arrived (memcached reads them whole before
 * looking at them; binary_process closes a connection whose header, extras
 * and key pass memcached's 16 KiB read buffer); BAD_MAGIC as soon as the
 * header has another magic;
 * BAD_LENGTHS when its key, or key and extras, are longer than its body.
 * *h is filled whenever 24 bytes are there. */
enum bin_frame { BIN_FRAME_WAIT, BIN_FRAME_BAD_MAGIC, BIN_FRAME_BAD_LENGTHS, BIN_FRAME_OK };
enum bin_frame bin_frame(const char *in, size_t len, struct bin_header *h);

/* SASL PLAIN's message: [authzid] NUL authcid NUL password. False unless
 * both NULs are there, authcid and password are not empty and an authzid,
 * if given, is authcid itself (Cyrus SASL's rule for PLAIN). */
bool bin_sasl_plain(struct span msg, struct span *user, struct span *pass);

/* proto_process for a binary connection: the same contract. */
size_t binary_process(const struct proto_server *srv, struct proto_conn *pc,
                      const char *in, size_t len, struct buf *out, int *budget,
                      enum proto_stop *why);

#endif
