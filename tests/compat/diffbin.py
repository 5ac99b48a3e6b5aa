"""diffbin.py: the binary-protocol mode of the differential test: the seeded packet
generator, a model of how memcached 1.6.18 frames a binary stream, the wire, and the
answer normaliser (test_differential.py's BinaryDifferentialTest drives them).

Layout and numbers: memcached's protocol_binary.h (Debian installs it as
/usr/include/memcached/protocol_binary.h; ModelSelfTest checks the opcode table here
against it). Behaviour: measured on Debian's memcached 1.6.18 (what is said of "1.6.18"
below was seen on the wire; where it explains why, that is from reading its
proto_bin.c). BinaryDifferentialTest runs both daemons without -S: the SASL opcodes are
generated and answered "Unknown command". BinarySaslDifferentialTest runs both with -S -B
binary: BinSaslSequenceGenerator (a start before the login, the login, then this
generator's chunks) and SaslState (the login state 1.6.18 with Cyrus SASL keeps, chunk by
chunk) below. SASL is also covered by tests/integration/test_binary.py and
tests/compat/test_clients.py.

Generator. Sequence i of seed S comes from random.Random("bin:S:i") alone (replayable by
itself), in its own key namespace (every key starts "b<i>.<16 random bits>:", so
sequences never share a key; binary keys are bytes, so there is no need for un-prefixed
keys). A sequence is 5-32 steps, each one chunk sent as one write (4% are split in 2-4
writes 1 ms apart, to cross read boundaries anywhere: inside a header, the extras, the
key, the value):
- one valid request of every opcode 1.6.18 implements: get getq getk getkq, set add
  replace (+q) with flags, every kind of exptime and a cas (a real one the server gave
  earlier in the sequence, resolved per server at send time, or a literal that cannot be
  live: 0, >= 2^40), delete(q) with and without cas, increment/decrement(q) with delta,
  initial value, expiry (0xffffffff: do not create) and cas, quit(q), flush(q) without
  and with a delay, noop, version, append/prepend(q), stat with no key and with keys
  (settings items slabs sizes reset detail ..., and prefixes 1.6.18 accepts or refuses),
  touch, gat gatq gatk gatkq; the SASL opcodes and verbosity (unknown to 1.6.18 without
  -S: "Unknown command"); unknown opcodes with and without key, extras and body;
- quiet pipelines: 2-9 quiet requests (a few loud ones among them) ended by noop,
  multi-gets of getq/getkq ended by noop or by a getk, long pipelines (30-250 requests,
  several reads' worth) and a large value read 2-16 times in one pipeline (megabytes of
  answers: backpressure);
- wrong lengths: extras, key or body length that does not suit the opcode (1.6.18:
  "Invalid arguments", then it closes), key length over the body length ("Unknown
  command", close), keys of 251 bytes and more, and a header + extras + key over 1.6.18's
  16 KiB read buffer (closes, no answer); a value longer or shorter than the body length
  says (the rest is read as the next packet); a value behind stat/touch/gat (1.6.18 leaves
  those bytes in the stream and reads them as the next packet: the generator puts a real
  packet there); a body length of 2^31 or more on set/add/replace/append (1.6.18's value
  length goes negative: "Too large." and nothing is swallowed);
- bad magic (0x00 0x81 0x82 0x7f 0xff, or text) after a noop: closes, no answer;
- truncated packets: a noop, then a packet cut anywhere, then the client half-closes
  (both servers must close having answered nothing more);
- datatype and vbucket bytes that are not 0 on some requests (1.6.18 ignores them).

Every chunk is read by mc_read (a model of 1.6.18's framing: what it consumes, swallows,
leaves in the stream, where it closes) before it is sent:
- a chunk that leaves 1.6.18 inside a packet is padded so it reads exactly the bytes sent
  (a value: 'z' bytes; a swallow or missing key bytes: zero bytes, so a server that does
  not swallow the same way reads them as a bad header and closes, which shows);
- the chunk then ends with a sentinel noop (opaque SENTINEL_OPAQUE); its answer ends the
  chunk's answer, unless the model says the server closes: then the answer is everything
  up to the close, and the test reconnects both sides;
- 1.6.18 holds successful answers in its output queue until a flush point (a noop, an
  error answer, the end of what it has read, every -R requests) and drops that queue when
  it closes for bad magic, for a header over its read buffer, or for the client's EOF
  (measured: a stat answer followed in the same write by a bad magic is never sent). Which
  of those answers are still queued depends on its read boundaries (timing), so no chunk
  ends that way with anything queued: the generator puts a noop before a bad magic or a
  truncated tail, and drops a chunk whose close could drop answers (mc_read tracks "may be
  queued" conservatively). A close after "Invalid arguments", "Unknown command" or quit
  writes everything first, and is compared. A chunk that ends in a close reads no value
  that may be over 8 KiB: a server closing with input unread sends a reset, and the
  kernel drops output it had not sent yet, so how much of a large answer arrives depends
  on timing (seen on 1.6.18 against itself);
- the reference's end (sentinel answered, or closed) is checked against the model: a
  disagreement is reported as a harness bug, never as a mismatch.

Kept deterministic or left out (each a property of the generator):
- exptimes of 1-9 seconds (relative) are never sent (would expire while the two servers'
  clocks tick apart); other exptimes, 2^31 and above included (1.6.18 reads the field as
  unsigned: an absolute time in the far future), are;
- incr/decr on a value 1.6.18 reads as >= 2^63 or all whitespace (it reads past the item:
  ../shared/NOTES.md), tracked per key as diffgen does; append/prepend on a key incr/decr
  changed (incr's in-place space padding may differ);
- values whose size is between 1,000,000 bytes and 1 MiB + 1 (whether they fit depends on
  each server's item header size);
- a body length that asks 1.6.18 to swallow more than MAX_PAD bytes (it answers only
  after swallowing, and drops that answer at EOF);
- a flush with a delay is compared (its answer), then followed in the same chunk by an
  immediate flushq: docs/COMPATIBILITY.md (e), hardcached never revives what an earlier
  flush hid, 1.6.18 does while a delayed flush is pending; the immediate flush gives both
  the same empty cache, so the rest of the sequence compares;
- -S: SASL messages over 1,024 bytes (hardcached discards them: docs/COMPATIBILITY.md)
  and SASL body lengths of 2^31 or more are never sent; hardcached runs with
  --auth-fail-limit 0 and --read-timeout 0 (its throttle of failed logins and its login
  deadline are deliberate differences); a mechanism name over 32 bytes is "Invalid
  arguments" that 1.6.18 holds in its queue even with nothing to swallow (measured: a bad
  magic in the same write drops it and every answer before it; hardcached writes it out,
  as after any error), so mc_read counts it as queued and no chunk ends that way.

Normalisation (nothing else is exempt):
- cas values in answers: numbered in order of first appearance per server per sequence
  (0 stays 0), as the text mode numbers cas uniques;
- the version string (the body of a version answer);
- stat answers: the (name, value) packets of one stat request, zero or more, become one
  'STATS' element (names, values and how many there are differ by design: the daemons'
  own counters, slab classes, `stats items` on a flushed cache); their status, opcode,
  opaque and cas, and the terminating empty packet compare exactly, and so does "Not
  found" for a group that does not exist;
- for a chunk addressing a key incr/decr changed in this sequence, trailing spaces of an
  all-digit value (memcached's in-place incr padding) with the body length adjusted.
Opaque, magic, opcode, key length, extras length and bytes, datatype, status, body length,
key and value compare exactly. The -S run adds nothing: list-mechanisms' "PLAIN",
"Authenticated", "Auth failure." and "continue" (0x21, empty) compare exactly too."""
import random
import re
import socket
import struct
import time

import diffgen

REQ, RES = 0x80, 0x81
# magic opcode keylen extlen datatype vbucket(request)/status(response) bodylen opaque cas
HDR = struct.Struct(">BBHBBHIIQ")

# protocol_binary.h's opcodes (protocol_binary_command)
GET, SET, ADD, REPLACE, DELETE, INCREMENT, DECREMENT, QUIT, FLUSH = range(0x00, 0x09)
GETQ, NOOP, VERSION, GETK, GETKQ, APPEND, PREPEND, STAT = range(0x09, 0x11)
SETQ, ADDQ, REPLACEQ, DELETEQ, INCREMENTQ, DECREMENTQ, QUITQ, FLUSHQ = range(0x11, 0x19)
APPENDQ, PREPENDQ, VERBOSITY, TOUCH, GAT, GATQ = range(0x19, 0x1f)
SASL_LIST_MECHS, SASL_AUTH, SASL_STEP, GATK, GATKQ = range(0x20, 0x25)
OPCODES = {
    "GET": GET, "SET": SET, "ADD": ADD, "REPLACE": REPLACE, "DELETE": DELETE,
    "INCREMENT": INCREMENT, "DECREMENT": DECREMENT, "QUIT": QUIT, "FLUSH": FLUSH,
    "GETQ": GETQ, "NOOP": NOOP, "VERSION": VERSION, "GETK": GETK, "GETKQ": GETKQ,
    "APPEND": APPEND, "PREPEND": PREPEND, "STAT": STAT, "SETQ": SETQ, "ADDQ": ADDQ,
    "REPLACEQ": REPLACEQ, "DELETEQ": DELETEQ, "INCREMENTQ": INCREMENTQ,
    "DECREMENTQ": DECREMENTQ, "QUITQ": QUITQ, "FLUSHQ": FLUSHQ, "APPENDQ": APPENDQ,
    "PREPENDQ": PREPENDQ, "TOUCH": TOUCH, "GAT": GAT, "GATQ": GATQ, "GATK": GATK,
    "GATKQ": GATKQ, "SASL_LIST_MECHS": SASL_LIST_MECHS, "SASL_AUTH": SASL_AUTH,
    "SASL_STEP": SASL_STEP}
NAMES = {v: k.lower() for k, v in OPCODES.items()}
NAMES[VERBOSITY] = "verbosity"
# protocol_binary_response_status
SUCCESS, KEY_ENOENT, KEY_EEXISTS, E2BIG, EINVAL, NOT_STORED, DELTA_BADVAL = range(7)
AUTH_ERROR, AUTH_CONTINUE, UNKNOWN_COMMAND, ENOMEM = 0x20, 0x21, 0x81, 0x82

QUIET = {GETQ: GET, GETKQ: GETK, SETQ: SET, ADDQ: ADD, REPLACEQ: REPLACE, DELETEQ: DELETE,
         INCREMENTQ: INCREMENT, DECREMENTQ: DECREMENT, QUITQ: QUIT, FLUSHQ: FLUSH,
         APPENDQ: APPEND, PREPENDQ: PREPEND, GATQ: GAT, GATKQ: GATK}
# Opcodes 1.6.18 answers "Unknown command" (swallowing the body length *after* the extras
# and key it has already read): verbosity, the range operations 0x30-0x3c, the rest.
KNOWN = set(QUIET) | set(QUIET.values()) | {NOOP, VERSION, STAT, TOUCH, SASL_LIST_MECHS,
                                            SASL_AUTH, SASL_STEP}
UNKNOWN_OPS = [VERBOSITY, 0x1f, 0x25, 0x30, 0x31, 0x3c, 0x3d, 0x40, 0x7f, 0x80, 0x89, 0xfe,
               0xff]
GET_FAMILY = {GET, GETQ, GETK, GETKQ, GAT, GATQ, GATK, GATKQ}

KEY_MAX = 250
READ_BUF = 16384          # 1.6.18's read buffer: header + extras + key beyond it closes
MAX_PAD = 1100000
BIG_ANSWER = 8192         # a value larger than this is not read in a chunk that closes
BIG_VALUE = diffgen.BIG_VALUE
TOO_BIG_VALUE = diffgen.TOO_BIG_VALUE
SENTINEL_OPAQUE = 0x5E5E0A0A
PRIME_OPAQUE = 0x5E5E0B0B
SENTINEL = HDR.pack(REQ, NOOP, 0, 0, 0, 0, 0, SENTINEL_OPAQUE, 0)
PRIME = HDR.pack(REQ, NOOP, 0, 0, 0, 0, 0, PRIME_OPAQUE, 0)
# -S: a noop is refused before a login (and closes), a version is not
SASL_SENTINEL = HDR.pack(REQ, VERSION, 0, 0, 0, 0, 0, SENTINEL_OPAQUE, 0)
SASL_PRIME = HDR.pack(REQ, VERSION, 0, 0, 0, 0, 0, PRIME_OPAQUE, 0)
CAS_MODEL = 0x0123456789ABCDEF
ABSFUT_MODEL = 1900000000
NO_CREATE = 0xFFFFFFFF

EXPTIMES = [(50, 0), (8, 1000), (5, 86400), (4, 2592000), (4, 2592001), (3, 1000000000),
            (6, "ABSFUT"), (3, 0x7FFFFFFF), (3, 0x80000000), (3, 0xFFFFFFFF),
            (2, 0xFFFFFFFE), (2, 10), (2, 60), (1, 1500000000)]
FLAGS = [0, 0, 0, 0, 1, 5, 999, 0xFFFFFFFF, 0x80000000, 0x7FFFFFFF, 0xDEADBEEF, 65536]
DELTAS = [(30, 1), (8, 0), (8, 5), (5, 100), (3, 1000), (3, 1 << 32), (2, (1 << 63) - 1),
          (2, 1 << 63), (2, (1 << 64) - 1), (2, 12345678901)]
INITIALS = [(30, 0), (10, 1), (10, 10), (5, 100), (3, 1 << 32), (3, (1 << 63) - 1),
            (2, 1 << 63), (2, (1 << 64) - 1)]
STAT_KEYS = [(14, b""), (8, b"settings"), (6, b"items"), (6, b"slabs"), (3, b"sizes"),
             (3, b"reset"), (2, b"detail on"), (2, b"detail off"), (2, b"detail dump"),
             (2, b"detail x"), (2, b"detail"), (3, b"nope"), (2, b"conns"),
             (2, b"settingsX"), (2, b"resetzz"), (2, b"itemsx"), (2, b"item"),
             (1, b"slabs x"), (1, b"SETTINGS"), (1, b"settings\x00"), (1, b"extstore"),
             (1, b"sizes_disable"), (1, b"sizes_enable")]
BAD_MAGICS = [0x00, 0x81, 0x82, 0x7F, 0xFF, 0x01, ord("g")]


def pick(rng, weighted):
    return diffgen.pick(rng, weighted)


def int32(v):
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v & 0x80000000 else v


# --- chunks and placeholders ---------------------------------------------------------

def plen(parts):
    """Bytes the parts stand for (placeholders have fixed sizes)."""
    n = 0
    for p in parts:
        if isinstance(p, bytes):
            n += len(p)
        elif p[0] == "cas":
            n += 8
        else:
            n += 4
    return n


class Chunk:
    """One step's bytes, sent in one write (or `splits` pieces). Parts are bytes or
    placeholders resolved per server at send time: ('cas', r) -> 8 bytes, the r-th cas
    value (order of first appearance; r = -1 is the newest) that server returned earlier
    in the sequence (0 if none yet); ('absfut',) -> 4 bytes, a unix time two days ahead
    (the same for both servers).
    mode: 'sentinel' (a noop follows; its answer ends the chunk's answer), 'close' (the
    server closes: read to EOF) or 'halfclose' (the client half-closes after the chunk;
    read to EOF)."""

    def __init__(self, desc):
        self.parts = []
        self.desc = desc
        self.mode = "sentinel"
        self.splits = []          # byte offsets where the chunk is cut into writes
        self.keys = set()         # keys its requests address
        self.arith_keys = set()   # keys its incr/decr change
        self.read_keys = set()    # keys its get/gat/getk... requests read
        self.npackets = 0
        self.ops = []             # opcodes generated (for the summary)
        self.sasl_before = None   # -S: the SaslState the chunk starts in
        self.relogin = False      # -S: whether the next connection logs in

    def add(self, parts, op=None, key=None):
        self.parts.extend(parts)
        self.npackets += 1
        if op is not None:
            self.ops.append(op)
        if key is not None:
            self.keys.add(key)

    def resolve(self, cas_seen, absfut):
        out = []
        for p in self.parts:
            if isinstance(p, bytes):
                out.append(p)
            elif p[0] == "cas":
                v = cas_seen[p[1] % len(cas_seen)] if cas_seen else 0
                out.append(struct.pack(">Q", v))
            else:
                out.append(struct.pack(">I", absfut))
        return b"".join(out)

    def model_bytes(self):
        return self.resolve([CAS_MODEL], ABSFUT_MODEL)

    def __len__(self):
        return plen(self.parts)


def packet(op, key=b"", ext=(), val=b"", cas=0, opaque=0, magic=REQ, keylen=None,
           extlen=None, bodylen=None, datatype=0, vbucket=0):
    """A request's parts. ext: bytes or a list of parts (an ('absfut',) exptime);
    cas: an int or a ('cas', r) placeholder. keylen/extlen/bodylen override the header."""
    ext = [ext] if isinstance(ext, bytes) else list(ext)
    el_real = plen(ext)
    kl = len(key) if keylen is None else keylen
    el = el_real if extlen is None else extlen
    bl = el_real + len(key) + len(val) if bodylen is None else bodylen
    head = struct.pack(">BBHBBHII", magic, op & 0xFF, kl & 0xFFFF, el & 0xFF, datatype,
                       vbucket, bl & 0xFFFFFFFF, opaque)
    casp = struct.pack(">Q", cas) if isinstance(cas, int) else cas
    return [head, casp] + ext + [key, val]


# --- memcached 1.6.18's framing ------------------------------------------------------

class Framing:
    """mc_read's verdict on a stream. kind: 'open' (at a packet boundary), 'need' (inside
    a packet: `need` more bytes of `what` - header, key, value, swallow), 'close'.
    queued: answers may sit unsent in 1.6.18's output queue; dropped: a close that drops
    such answers. acts: one short description per packet it read."""

    def __init__(self, kind, acts, queued=False, need=0, what="", dropped=False, why=""):
        self.kind, self.acts, self.queued = kind, acts, queued
        self.need, self.what, self.dropped, self.why = need, what, dropped, why
        self.sasl = None          # with -S: the SaslState after the bytes read

    def __repr__(self):
        return "Framing(%s%s%s, %s)" % (self.kind, " need %d %s" % (self.need, self.what)
                                        if self.kind == "need" else "",
                                        " " + self.why if self.why else "", self.acts)


def mc_read(s, queued=False, sasl=None):
    """How memcached 1.6.18 reads binary stream s from a packet boundary (proto_bin.c's
    try_read_command_binary and dispatch_bin_command, as measured). Store results (hit or
    miss, stored or not) are unknown here, so `queued` is conservative: True when any
    answer may be waiting unsent. sasl: None (no -S), or the connection's SaslState at
    the start of s (-S); the verdict's `sasl` is the state after what was read."""
    st = sasl.copy() if sasl is not None else None
    f = _mc_read(s, queued, st)
    f.sasl = st
    return f


def _mc_read(s, queued, st):
    pos, n, acts = 0, len(s), []
    while True:
        rem = n - pos
        if rem == 0:
            return Framing("open", acts, queued)
        if rem < 24:
            return Framing("need", acts, queued, 24 - rem, "header")
        magic, op, kl, el, _dt, _vb, bl, _opq, _cas = HDR.unpack_from(s, pos)
        if magic != REQ:
            return Framing("close", acts, queued, dropped=queued, why="bad magic")
        if 24 + el + kl > READ_BUF:
            if rem >= READ_BUF:
                return Framing("close", acts, queued, dropped=queued,
                               why="header+extras+key over the read buffer")
            return Framing("need", acts, queued, READ_BUF - rem, "key")
        if rem < 24 + el + kl:
            return Framing("need", acts, queued, 24 + el + kl - rem, "key")
        key = s[pos + 24 + el:pos + 24 + el + kl]
        name = "%s(key %s, extras %d, body %d, opaque 0x%08x)" % (
            NAMES.get(op, "0x%02x" % op), repr(key) if len(key) <= 40 else
            repr(key[:40]) + "...%d bytes" % kl, el, bl, _opq)
        pos += 24 + el + kl
        if kl > bl or kl + el > bl:
            acts.append(name + ": unknown command (lengths), close")
            return Framing("close", acts, queued, why="lengths")
        if st is not None and not st.authed and op not in SASL_BEFORE_LOGIN:
            # -S: checked after the lengths, before the key length and the extras
            acts.append(name + ": auth failure (not logged in), close")
            return Framing("close", acts, queued, why="not logged in")
        if kl > KEY_MAX:
            acts.append(name + ": key too long, close")
            return Framing("close", acts, queued, why="key length")
        base = QUIET.get(op, op)
        quiet = op in QUIET
        bad = after = False
        read = swallow = 0
        if base in (NOOP, VERSION, QUIT, SASL_LIST_MECHS):
            bad = not (el == 0 and kl == 0 and bl == 0)
            if not bad:
                if base == NOOP:
                    queued = False
                elif base == VERSION:
                    queued = True
                elif base == QUIT:
                    acts.append(name + ", close")
                    return Framing("close", acts, queued, why="quit")
                elif st is None:
                    queued = False         # unknown command, nothing to swallow
                else:
                    queued = True          # -S: "PLAIN", and the connection is logged out
                    st.authed = False
        elif base == FLUSH:
            bad = not (kl == 0 and bl == el and el in (0, 4))
            queued = queued or not quiet
        elif base in (SET, ADD, REPLACE):
            bad = not (el == 8 and kl != 0 and bl >= kl + 8)
            if not bad:
                vlen = int32(bl - kl - el)
                if vlen < 0:
                    queued = True          # "Too large.", nothing swallowed
                elif vlen > BIG_VALUE:
                    swallow, queued = vlen, True   # "Too large." waits for the swallow
                else:
                    read, after = vlen, not quiet  # the answer comes after the value
        elif base in (APPEND, PREPEND):
            bad = not (kl > 0 and el == 0)
            if not bad:
                vlen = int32(bl - kl)
                if vlen < 0:
                    queued = True
                elif vlen > BIG_VALUE:
                    swallow, queued = vlen, True
                else:
                    read, after = vlen, not quiet
        elif base in (GET, GETK):
            bad = not (el == 0 and bl == kl and kl > 0)
            queued = True
        elif base == DELETE:
            bad = not (kl > 0 and el == 0 and bl == kl)
            queued = queued or not quiet
        elif base in (INCREMENT, DECREMENT):
            bad = not (kl > 0 and el == 20 and bl == kl + el)
            queued = queued or not quiet
        elif base == STAT:
            bad = el != 0
            queued = True                  # a value behind the key stays in the stream
        elif base in (TOUCH, GAT, GATK):
            bad = not (el == 4 and kl != 0)
            queued = True                  # same
        elif base in (SASL_AUTH, SASL_STEP):
            bad = not (el == 0 and kl != 0)
            if not bad and (st is None or kl > SASL_MECH_MAX):
                # without -S "Unknown command", with it a mechanism name over 32 bytes
                # "Invalid arguments": the value is swallowed, the state left alone.
                # The error waits until the swallow is over; with -S it is queued even
                # when there is nothing to swallow (measured: a bad magic in the same
                # write drops it and the answers before it)
                swallow = int32(bl - kl)
                queued = swallow > 0 or st is not None
            elif not bad:
                vlen = int32(bl - kl)
                if vlen < 0 or vlen > SASL_DATA_MAX:
                    acts.append(name + ": a SASL body the model does not cover")
                    return Framing("close", acts, queued, dropped=True, why="unmodelled")
                if n - pos < vlen:
                    acts.append(name + " read %d" % vlen)
                    return Framing("need", acts, queued, vlen - (n - pos), "value")
                status = st.step(op == SASL_STEP, key, s[pos:pos + vlen])
                pos += vlen
                # "Authenticated" is queued; "Auth failure." and "continue" are written
                # out at once (an error; conn_mwrite)
                queued = status == SUCCESS
                acts.append(name + " read %d: %s, then %r" % (
                    vlen, {SUCCESS: "authenticated", AUTH_ERROR: "auth failure",
                           AUTH_CONTINUE: "continue"}[status], st))
                continue
        else:
            swallow = int32(bl)            # counted from after the extras and key
            queued = swallow > 0
        if bad:
            acts.append(name + ": invalid arguments, close")
            return Framing("close", acts, queued, why="invalid arguments")
        acts.append(name + (" read %d" % read if read else "") +
                    (" swallow %d" % swallow if swallow > 0 else ""))
        take = max(read, swallow, 0)
        if take:
            if n - pos < take:
                return Framing("need", acts, queued, take - (n - pos),
                               "value" if read else "swallow")
            pos += take
        queued = queued or after


# --- SASL (-S) -------------------------------------------------------------------------

SASL_MECH_MAX = 32        # 1.6.18's MAX_SASL_MECH_LEN
SASL_DATA_MAX = 1024      # hardcached discards more (docs/COMPATIBILITY.md): never sent
SASL_BEFORE_LOGIN = {VERSION, SASL_LIST_MECHS, SASL_AUTH, SASL_STEP}
SASL_USERS = {b"alice": b"secret", b"bob": b"hunter2"}
LOGIN_OPAQUE = 0x5E5E0C0C


def plain_ok(data, users=SASL_USERS):
    """Whether Cyrus SASL's PLAIN accepts message data (authzid NUL user NUL password,
    nothing more; the authzid empty or the user's own) against users."""
    parts = data.split(b"\0")
    if len(parts) != 3:
        return False
    authzid, user, password = parts
    return user in users and password == users[user] and authzid in (b"", user)


def plain(user, password, authzid=b""):
    return authzid + b"\0" + user + b"\0" + password


class SaslState:
    """A -S connection as 1.6.18 with Debian's Cyrus SASL holds it (measured on the wire):
    authed: memcached's c->authenticated; cyrus: the Cyrus exchange, 'none' (nothing
    begun, or it failed), 'cont' (a PLAIN auth without data answered "continue": a step
    carries the message), 'done' (an auth or step succeeded).
    - every auth and step (mechanism name up to 32 bytes) and every list-mechanisms logs
      the connection out; a longer name is "Invalid arguments" and changes nothing;
    - auth, a mechanism other than PLAIN (any case): failure, 'none';
    - auth PLAIN without data: "continue" (0x21), 'cont' - but 'done' stays 'done';
    - auth PLAIN with data: in 'done' a failure (Cyrus does not restart a finished
      exchange) and 'none'; else the message decides: 'done' and logged in, or 'none';
    - step: only in 'cont' does the message count ('done' and logged in, or a failure
      that stays in 'cont'); elsewhere a failure, the state unchanged."""

    def __init__(self, authed=False, cyrus="none"):
        self.authed, self.cyrus = authed, cyrus

    def copy(self):
        return SaslState(self.authed, self.cyrus)

    def __eq__(self, other):
        return (self.authed, self.cyrus) == (other.authed, other.cyrus)

    def __repr__(self):
        return "%s/%s" % ("logged in" if self.authed else "logged out", self.cyrus)

    def step(self, is_step, mech, data):
        """One auth (is_step False) or step with mechanism mech and message data: its
        answer's status; updates the state."""
        self.authed = False
        if is_step:
            if self.cyrus != "cont":
                return AUTH_ERROR
            if plain_ok(data):
                self.authed, self.cyrus = True, "done"
                return SUCCESS
            return AUTH_ERROR
        if mech.upper() != b"PLAIN":
            self.cyrus = "none"
            return AUTH_ERROR
        if not data:
            if self.cyrus != "done":
                self.cyrus = "cont"
            return AUTH_CONTINUE
        if self.cyrus != "done" and plain_ok(data):
            self.authed, self.cyrus = True, "done"
            return SUCCESS
        self.cyrus = "none"
        return AUTH_ERROR


LOGGED_IN = SaslState(True, "done")        # after the wire's own login (BinWire.connect)


# --- the generator -------------------------------------------------------------------

SAFE_KEY = diffgen.SAFE_KEY
ANY_BYTE = diffgen.ANY_BYTE
SAFE_TABLE = bytes(SAFE_KEY[i % len(SAFE_KEY)] for i in range(256))


class BinSequenceGenerator:
    TAG = "bin"                 # names the random stream; its first letter starts each key

    def __init__(self, seed, index):
        self.rng = random.Random("%s:%s:%d" % (self.TAG, seed, index))
        self.index = index
        self.prefix = b"%s%d.%04x:" % (self.TAG[:1].encode(), index, self.rng.getrandbits(16))
        self.keys = [self.new_key() for _ in range(self.rng.randint(1, 4))]
        self.ub = {}            # key -> upper bound of the number incr/decr would read
        self.arith = set()      # keys incr/decr touched
        self.numeric = []       # keys a number was stored under
        self.stored = []        # keys a storage request was sent for
        self.big = set()        # keys that may hold a value over BIG_ANSWER bytes

    # --- fields ---------------------------------------------------------------------

    def new_key(self):
        rng, p = self.rng, self.prefix
        r = rng.random()
        if r < 0.50:
            return p + bytes(rng.choice(SAFE_KEY) for _ in range(rng.randint(1, 8)))
        if r < 0.72:
            return p + bytes(rng.choice(ANY_BYTE) for _ in range(rng.randint(1, 30)))
        if r < 0.87:
            return p + rng.randbytes(KEY_MAX - len(p)).translate(SAFE_TABLE)
        tail = bytes(rng.choice(SAFE_KEY) for _ in range(rng.randint(1, 5)))
        special = rng.choice([b"\0", b"\r\n", b" ", b"\n", b"\x80", b"\xff\xfe", b"\t"])
        return p + tail + special + (tail if rng.random() < 0.7 else b"")

    def key(self):
        rng = self.rng
        if rng.random() < 0.06:
            k = self.new_key()
            self.keys.append(k)
            return k
        if self.stored and rng.random() < 0.4:
            return rng.choice(self.stored)
        return rng.choice(self.keys)

    def value(self):
        rng = self.rng
        r = rng.random()
        if r < 0.35:
            return rng.choice(diffgen.NUM_VALUES)
        if r < 0.50:
            return rng.choice(diffgen.WORDS)
        if r < 0.80:
            return rng.randbytes(rng.randint(0, 80))
        if r < 0.92:
            return rng.choice([b"", b"a", b"\r\n", b"\0", b"\x80\x0a", SENTINEL[:24]])
        if r < 0.996:
            return rng.randbytes(rng.randint(200, 20000))
        r = rng.random()
        if r < 0.45:
            return b"L" * BIG_VALUE
        if r < 0.65:
            return b"%d" % rng.randint(0, 99) + b" " * diffgen.BIG_NUMBER_PAD
        return b"L" * (TOO_BIG_VALUE + rng.randint(0, 40000))

    def opaque(self):
        rng = self.rng
        r = rng.random()
        if r < 0.15:
            return 0
        if r < 0.25:
            return rng.randint(1, 255)
        if r < 0.30:
            return 0xFFFFFFFF
        while True:
            v = rng.getrandbits(32)
            if v not in (SENTINEL_OPAQUE, PRIME_OPAQUE, LOGIN_OPAQUE):
                return v

    def exptime(self):
        e = pick(self.rng, EXPTIMES)
        return [("absfut",)] if e == "ABSFUT" else [struct.pack(">I", e)]

    def cas(self, p_real=0.3, p_literal=0.15):
        rng = self.rng
        r = rng.random()
        if r < p_real:
            return ("cas", -1 if rng.random() < 0.5 else rng.choice([-2, rng.getrandbits(16)]))
        if r < p_real + p_literal:
            return rng.choice([1 << 40, (1 << 64) - 1, 1 << 63, 0xDEADBEEF00000000])
        return 0

    def deco(self):
        """datatype and vbucket: almost always 0; 1.6.18 ignores both."""
        if self.rng.random() < 0.05:
            return {"datatype": self.rng.choice([1, 2, 0xFF]),
                    "vbucket": self.rng.choice([1, 0x8000, 0xFFFF])}
        return {}

    # --- requests (parts) -----------------------------------------------------------

    def storage(self, op, key=None, value=None, c=None):
        rng = self.rng
        key = self.key() if key is None else key
        value = self.value() if value is None else value
        base = QUIET.get(op, op)
        if base in (APPEND, PREPEND):
            ext = []
        else:
            ext = [struct.pack(">I", rng.choice(FLAGS) if rng.random() < 0.5
                               else rng.getrandbits(32))] + self.exptime()
        cas = self.cas()
        if c is not None:
            c.keys.add(key)
            self.account_store(base, key, value, cas)
        return packet(op, key, ext, value, cas=cas, opaque=self.opaque(), **self.deco()), key

    def account_store(self, base, key, value, cas):
        if key not in self.stored:
            self.stored.append(key)
        if len(value) > BIG_ANSWER or (base in (APPEND, PREPEND) and value):
            self.big.add(key)
        if base in (APPEND, PREPEND):
            if diffgen.M.may_extend_number(value):
                self.ub[key] = None
            return
        risk = diffgen.M.numeric_risk(value)
        old = self.ub.get(key, 0)
        if base == SET and cas == 0 and old is not None and risk is not None:
            self.ub[key] = risk   # an unconditional set replaces the value (or deletes it)
        else:
            self.ub[key] = None if risk is None or old is None else max(old, risk)
        if risk and key not in self.numeric:
            self.numeric.append(key)

    def arith_req(self, op, c):
        rng = self.rng
        cands = [k for k in self.numeric if self.ub.get(k, 0) is not None]
        key = rng.choice(cands) if cands and rng.random() < 0.6 else self.key()
        old = self.ub.get(key, 0)
        if old is None:
            return None, None
        delta = pick(rng, DELTAS)
        initial = pick(rng, INITIALS)
        exp = [struct.pack(">I", NO_CREATE)] if rng.random() < 0.35 else self.exptime()
        creates = exp[0] != struct.pack(">I", NO_CREATE)
        base = QUIET.get(op, op)
        new = old + delta if base == INCREMENT else old
        if creates:
            new = max(new, initial)
        if new >= (1 << 63):
            return None, None
        self.ub[key] = new
        self.arith.add(key)
        c.arith_keys.add(key)
        c.keys.add(key)
        ext = [struct.pack(">QQ", delta, initial)] + exp
        return packet(op, key, ext, cas=self.cas(0.2, 0.1), opaque=self.opaque(),
                      **self.deco()), key

    def request(self, op, c):
        """One valid request for op (parts), or None when this key state forbids it."""
        rng = self.rng
        base = QUIET.get(op, op)
        if base in (SET, ADD, REPLACE):
            return self.storage(op, c=c)[0]
        if base in (APPEND, PREPEND):
            free = [k for k in self.keys if k not in self.arith]
            key = rng.choice(free) if free and rng.random() < 0.9 else self.new_key()
            if key not in self.keys:
                self.keys.append(key)
            return self.storage(op, key=key, c=c)[0]
        if base in (GET, GETK):
            key = self.key()
            c.keys.add(key)
            c.read_keys.add(key)
            return packet(op, key, cas=self.cas(0.05, 0.05), opaque=self.opaque(),
                          **self.deco())
        if base in (GAT, GATK, TOUCH):
            key = self.key()
            c.keys.add(key)
            c.read_keys.add(key)
            return packet(op, key, self.exptime(), opaque=self.opaque(), **self.deco())
        if base == DELETE:
            key = self.key()
            c.keys.add(key)
            return packet(op, key, cas=self.cas(0.3, 0.1), opaque=self.opaque(),
                          **self.deco())
        if base in (INCREMENT, DECREMENT):
            return self.arith_req(op, c)[0]
        if base == FLUSH:
            ext = b"" if rng.random() < 0.6 else struct.pack(">I", 0)
            return packet(op, ext=ext, opaque=self.opaque(), **self.deco())
        if base in (NOOP, VERSION, QUIT, SASL_LIST_MECHS):
            return packet(op, opaque=self.opaque(), **self.deco())
        if base == STAT:
            return packet(op, pick(rng, STAT_KEYS), opaque=self.opaque())
        if base in (SASL_AUTH, SASL_STEP):
            mech = rng.choice([b"PLAIN", b"CRAM-MD5", b"X", b"P" * 40])
            return packet(op, mech, val=rng.choice([b"", b"\0user\0pass", b"x" * 300]),
                          opaque=self.opaque())
        # unknown opcodes (verbosity among them): 1.6.18 swallows the body length after
        # the extras and key it has read; mc_read pads the rest
        ext = rng.choice([b"", b"", struct.pack(">I", rng.choice([0, 1, 5]))])
        if op == VERBOSITY:
            ext = struct.pack(">I", rng.choice([0, 1, 2]))
        key = rng.choice([b"", b"", self.key()])
        val = rng.choice([b"", b"", b"xyz", bytes(rng.choice(ANY_BYTE) for _ in range(20))])
        return packet(op, key, ext, val, opaque=self.opaque())

    # --- steps ----------------------------------------------------------------------

    SINGLE = [(8, GET), (3, GETQ), (4, GETK), (3, GETKQ), (12, SET), (4, SETQ), (5, ADD),
              (2, ADDQ), (4, REPLACE), (2, REPLACEQ), (4, APPEND), (2, APPENDQ),
              (3, PREPEND), (2, PREPENDQ), (5, DELETE), (2, DELETEQ), (6, INCREMENT),
              (2, INCREMENTQ), (4, DECREMENT), (2, DECREMENTQ), (1, QUIT), (1, QUITQ),
              (0.7, FLUSH), (0.7, FLUSHQ), (2, NOOP), (2, VERSION), (4, STAT), (3, TOUCH),
              (3, GAT), (2, GATQ), (3, GATK), (2, GATKQ), (0.7, VERBOSITY),
              (0.5, SASL_LIST_MECHS), (0.5, SASL_AUTH), (0.3, SASL_STEP), (1.5, "unknown")]
    QUIET_OPS = [(6, GETQ), (6, GETKQ), (6, SETQ), (3, ADDQ), (3, REPLACEQ), (3, APPENDQ),
                 (2, PREPENDQ), (4, DELETEQ), (3, INCREMENTQ), (3, DECREMENTQ), (3, GATQ),
                 (3, GATKQ), (0.3, FLUSHQ), (2, GET), (2, SET), (1, GETK), (1, DELETE),
                 (1, INCREMENT), (0.5, STAT), (0.5, VERSION), (0.5, NOOP)]
    STEPS = [(55, "single"), (10, "quiet_pipe"), (6, "multiget"), (7, "malformed"),
             (2, "bad_magic"), (3, "truncated"), (1, "flush_delay"), (1.5, "huge_body"),
             (2, "trailing"), (0.8, "long_pipeline"), (0.3, "big_pipeline")]

    def single(self, c):
        op = pick(self.rng, self.SINGLE)
        if op == "unknown":
            op = self.rng.choice(UNKNOWN_OPS)
        p = self.request(op, c)
        if p is None:
            return False
        c.add(p, op)
        return True

    def quiet_pipe(self, c):
        for _ in range(self.rng.randint(2, 9)):
            op = pick(self.rng, self.QUIET_OPS)
            p = self.request(op, c)
            if p is not None:
                c.add(p, op)
        if self.rng.random() < 0.9:
            c.add(packet(NOOP, opaque=self.opaque()), NOOP)
        return c.npackets > 0

    def long_pipeline(self, c):
        """30-250 requests in one write: often more than one 16 KiB read for either server."""
        for _ in range(self.rng.randint(30, 250)):
            op = pick(self.rng, self.QUIET_OPS)
            p = self.request(op, c)
            if p is not None:
                c.add(p, op)
        c.add(packet(NOOP, opaque=self.opaque()), NOOP)
        return True

    def big_pipeline(self, c):
        """A large value read 2-16 times in one pipeline: megabytes of answers, past
        either server's output high-water mark (backpressure, then resumption)."""
        rng = self.rng
        key = self.new_key()
        self.keys.append(key)
        value = rng.randbytes(rng.randint(100000, BIG_VALUE))
        c.add(self.storage(rng.choice([SET, SETQ]), key=key, value=value, c=c)[0], SET)
        for _ in range(rng.randint(2, 16)):
            op = rng.choice([GETQ, GETKQ, GET, GETK, GATQ, GAT])
            c.keys.add(key)
            c.read_keys.add(key)
            ext = [struct.pack(">I", 0)] if QUIET.get(op, op) == GAT else []
            c.add(packet(op, key, ext, opaque=self.opaque()), op)
        c.add(packet(NOOP, opaque=self.opaque()), NOOP)
        return True

    def multiget(self, c):
        rng = self.rng
        n = rng.randint(1, 12)
        op = rng.choice([GETQ, GETKQ, GETKQ, GATQ, GATKQ])
        for _ in range(n):
            p = self.request(rng.choice([op, op, GETQ, GETKQ]), c)
            c.add(p, op)
        last = rng.choice([NOOP, NOOP, NOOP, GETK, GET])
        c.add(self.request(last, c), last)
        return True

    def malformed(self, c):
        """A request whose lengths do not suit its opcode (1.6.18 closes), or whose value
        is longer or shorter than its body length says."""
        rng = self.rng
        op = rng.choice([GET, GETQ, GETK, SET, SETQ, ADD, REPLACE, APPEND, PREPENDQ,
                         DELETE, INCREMENT, DECREMENTQ, QUIT, FLUSH, NOOP, VERSION, STAT,
                         TOUCH, GAT, GATKQ, SASL_LIST_MECHS, SASL_AUTH])
        base = QUIET.get(op, op)
        key = self.key()
        opq = self.opaque()
        kind = rng.choice(["extlen", "nokey", "key_on_keyless", "body_short",
                           "key_251", "value_on_valueless", "value_long", "value_short",
                           "key_huge"])
        if rng.random() < 0.3:
            self.pre_packets(c, rng.randint(1, 3))
        if kind == "extlen":
            # never the opcode's own extras length: random extras that happened to be
            # valid would be an incr on any value, a set with any exptime
            valid = {SET: 8, ADD: 8, REPLACE: 8, INCREMENT: 20, DECREMENT: 20, TOUCH: 4,
                     GAT: 4, GATK: 4, FLUSH: 4}.get(base, 0)
            el = rng.choice([x for x in (1, 4, 8, 12, 20, 24, 255) if x != valid])
            c.add(packet(op, key, bytes(rng.choice(ANY_BYTE) for _ in range(el)),
                         opaque=opq), op)
        elif kind == "nokey":
            ext = {SET: 8, ADD: 8, REPLACE: 8, INCREMENT: 20, DECREMENT: 20, TOUCH: 4,
                   GAT: 4, GATK: 4}.get(base, 0)
            c.add(packet(op, b"", bytes(ext), rng.choice([b"", b"v"]), opaque=opq), op)
        elif kind == "key_on_keyless":
            op = rng.choice([NOOP, VERSION, QUIT, QUITQ, FLUSH, SASL_LIST_MECHS])
            c.add(packet(op, key, opaque=opq), op)
        elif kind == "body_short":
            p = self.request(op, Chunk("scratch"))
            if p is None:
                return False
            head = bytearray(p[0])
            kl, el = struct.unpack(">H", head[2:4])[0], head[4]
            if kl + el == 0:
                kl = 3
                p = packet(op, b"abc", opaque=opq)
                head = bytearray(p[0])
            struct.pack_into(">I", head, 8, rng.randint(0, kl + el - 1))
            c.add([bytes(head)] + p[1:], op)
            self.taint(key)
        elif kind in ("key_251", "key_huge"):
            n = (rng.choice([251, 252, 300, 1000]) if kind == "key_251"
                 else rng.choice([READ_BUF - 24, READ_BUF - 24 + 1, READ_BUF, 20000]))
            k = self.prefix + rng.randbytes(n - len(self.prefix)).translate(SAFE_TABLE)
            ext = {SET: 8, ADD: 8, REPLACE: 8, INCREMENT: 20, DECREMENT: 20, TOUCH: 4,
                   GAT: 4, GATK: 4}.get(base, 0)
            if kind == "key_huge":
                c.add(packet(NOOP), NOOP)      # 1.6.18 closes without flushing
            c.add(packet(op, k, bytes(ext), opaque=opq), op)
        elif kind == "value_on_valueless":
            op = rng.choice([GET, GETKQ, DELETE, INCREMENT, NOOP, VERSION, QUIT, FLUSH,
                             SASL_LIST_MECHS])
            p = self.request(op, c)
            if p is None:
                return False
            p[-1] = rng.choice([b"x", b"value", bytes(20)])
            head = bytearray(p[0])
            struct.pack_into(">I", head, 8, struct.unpack(">I", head[8:12])[0] + len(p[-1]))
            c.add([bytes(head)] + p[1:], op)
        elif kind == "value_long":
            # body length says more than the value: the server reads what follows (the
            # pad mc_read asks for) as value bytes
            op = rng.choice([SET, SETQ, ADD, APPEND, PREPEND, REPLACEQ])
            v = self.value()
            if len(v) > 100000:
                v = v[:100]        # never into the 1,000,000..1 MiB gap
            p, k = self.storage(op, value=v, c=c)
            head = bytearray(p[0])
            struct.pack_into(">I", head, 8, struct.unpack(">I", head[8:12])[0]
                             + rng.choice([1, 2, 7, 100, 3000]))
            c.add([bytes(head)] + p[1:], op)
            self.taint(k)
        else:
            # body length says less: the rest of the value is read as the next packet;
            # here that rest is a real request
            op = rng.choice([SET, SETQ, ADD, APPEND, REPLACE])
            inner_op = rng.choice([NOOP, GET, GETK, VERSION, DELETE, SET])
            inner = self.request(inner_op, c)
            if inner is None:
                return False
            p, k = self.storage(op, value=rng.choice([b"", b"ab", b"12"]), c=c)
            head = bytearray(p[0])
            c.add([bytes(head)] + p[1:] + inner, op)
            c.npackets += 1
            self.taint(k)
        return True

    def taint(self, key):
        self.ub[key] = None
        self.arith.add(key)       # no append/prepend on it either (its value is unknown)

    def pre_packets(self, c, n):
        for _ in range(n):
            op = pick(self.rng, self.QUIET_OPS)
            p = self.request(op, c)
            if p is not None:
                c.add(p, op)

    def bad_magic(self, c):
        rng = self.rng
        if rng.random() < 0.5:
            self.pre_packets(c, rng.randint(1, 4))
        c.add(packet(NOOP, opaque=self.opaque()), NOOP)
        m = rng.choice(BAD_MAGICS)
        if m == ord("g"):
            c.add([b"get " + self.prefix + b"x\r\n"])
        else:
            p = self.request(rng.choice([GET, SET, NOOP, VERSION]), Chunk("scratch"))
            head = bytearray(p[0])
            head[0] = m
            c.add([bytes(head)] + p[1:], NOOP)
        return True

    def truncated(self, c):
        rng = self.rng
        if rng.random() < 0.6:
            self.pre_packets(c, rng.randint(1, 4))
        c.add(packet(NOOP, opaque=self.opaque()), NOOP)
        op = rng.choice([GET, GETK, SET, SETQ, ADD, APPEND, INCREMENT, DELETE, TOUCH, GAT,
                         NOOP, VERSION, STAT, FLUSH, QUIT, 0x55])
        p = self.request(op, Chunk("scratch"))
        if p is None:
            return False
        whole = Chunk("scratch")
        whole.add(p)
        data = whole.model_bytes()
        if len(data) < 2:
            return False
        cut = rng.choice([rng.randint(1, 23), rng.randint(1, len(data) - 1), len(data) - 1])
        if cut >= len(data):
            cut = len(data) - 1
        c.add([data[:cut]], op)     # (never executed: model cas and exptime are fine)
        c.mode = "halfclose"
        return True

    def flush_delay(self, c):
        rng = self.rng
        delay = rng.choice([1, 5, 30, 100, 1000, 86400, 2592000, 2592001, 1000000000,
                            0x7FFFFFFF, 0xFFFFFFFF])
        op = rng.choice([FLUSH, FLUSHQ])
        c.add(packet(op, ext=struct.pack(">I", delay), opaque=self.opaque()), op)
        c.add(packet(FLUSHQ, opaque=self.opaque()), FLUSHQ)
        return True

    def huge_body(self, c):
        """set/add/replace/append whose body length makes 1.6.18's value length negative
        (>= 2^31): "Too large.", nothing swallowed, the next bytes are the next packet."""
        rng = self.rng
        op = rng.choice([SET, SETQ, ADD, REPLACE, APPEND, PREPENDQ])
        p, k = self.storage(op, value=b"")
        head = bytearray(p[0])
        struct.pack_into(">I", head, 8, rng.choice([0x80000000 + 9 + len(k),
                                                    0xFFFFFFFF, 0x80000000 + 100000,
                                                    0xFFFFFFF0]))
        c.add([bytes(head)] + p[1:], op, k)
        c.keys.add(k)
        self.taint(k)
        return True

    def trailing(self, c):
        """stat/touch/gat with bytes behind the key: 1.6.18 reads them as the next packet
        (they are one here)."""
        rng = self.rng
        op = rng.choice([STAT, TOUCH, GAT, GATQ, GATK, GATKQ])
        p = self.request(op, c)
        inner_op = rng.choice([NOOP, GET, VERSION, GETKQ, DELETEQ])
        inner = self.request(inner_op, c)
        if p is None or inner is None:
            return False
        inner_len = plen(inner)
        head = bytearray(p[0])
        struct.pack_into(">I", head, 8, struct.unpack(">I", head[8:12])[0] + inner_len)
        c.add([bytes(head)] + p[1:] + inner, op)
        c.npackets += 1
        return True

    def split(self, c):
        rng = self.rng
        n = len(c)
        if n < 2:
            return
        cuts = set()
        for _ in range(rng.randint(1, 3)):
            r = rng.random()
            cuts.add(rng.randint(1, min(23, n - 1)) if r < 0.4 else rng.randint(1, n - 1))
        c.splits = sorted(cuts)

    # --- checking ---------------------------------------------------------------------

    def read(self, data):
        """mc_read on a chunk's bytes (the -S generator adds the connection's state)."""
        return mc_read(data)

    def finish(self, c):
        """Pad c as mc_read asks and set its mode; False if it must be generated again."""
        data = c.model_bytes()
        if c.mode == "halfclose":
            f = self.read(data)
            if f.kind == "close" and not f.dropped:
                c.mode = "close"
                return self.small_answers(c)
            return f.kind == "need" and not f.queued and self.small_answers(c)
        for _ in range(4):
            f = self.read(data)
            if f.kind == "open":
                c.mode = "sentinel"
                return True
            if f.kind == "close":
                if f.dropped:
                    return False
                c.mode = "close"
                return self.small_answers(c)
            if f.what == "header" or f.need > MAX_PAD:
                return False
            c.parts.append((b"z" if f.what == "value" else b"\0") * f.need)
            data = c.model_bytes()
        return False

    def small_answers(self, c):
        """A chunk that ends in a close reads no value that may be large: a server that
        closes with input unread sends a reset, and the kernel drops what it had not
        sent yet (measured on 1.6.18: a 600 KB getkq answer cut short by the close of
        a later oversized header), so how much of a large answer arrives is timing."""
        return not (c.read_keys & self.big)

    def chunks(self, steps=None):
        for _ in range(30):
            step = pick(self.rng, steps or self.STEPS)
            c = Chunk(step)
            if not getattr(self, step)(c):
                continue
            if c.mode == "sentinel" and self.rng.random() < 0.04:
                self.split(c)
            if self.finish(c):
                self.accepted(c)
                return c
        c = self.fallback()
        self.accepted(c)
        return c

    def fallback(self):
        c = Chunk("fallback")
        c.add(packet(NOOP), NOOP)
        return c

    def accepted(self, c):
        """A chunk is final (the -S generator moves its connection state on)."""

    def sequence(self):
        return [self.chunks() for _ in range(self.rng.randint(5, 32))]


class BinSaslSequenceGenerator(BinSequenceGenerator):
    """-S sequences (BinarySaslDifferentialTest; both servers run -S -B binary with the
    users SASL_USERS). Sequence i of seed S comes from random.Random("sasl:S:i") alone,
    keys start "s<i>.<16 random bits>:". Each sequence begins on a new connection, not
    logged in, and has three parts:
    1. 1-4 chunks before a login: requests 1.6.18 serves then (version, list-mechanisms,
       auths and steps that fail, an auth without data: "continue", a mechanism name
       over 32 bytes), then nothing more, or a request it refuses (any other opcode, noop
       and quit included: "Auth failure." and a close), wrong lengths (checked before the
       login), bad magic or a truncated packet;
    2. the login: list-mechanisms, an auth that fails (wrong password, unknown user,
       another user's password, wrong mechanism, another authzid), then the right one,
       in one auth or as an auth without data and a step (sometimes a failed step
       first);
    3. 5-32 chunks of BinSequenceGenerator's, auth, step and list-mechanisms among them
       (with right and wrong messages: each one logs the connection out), and quiet
       pipelines with SASL requests in them.
    The chunk's sentinel is a version request (served logged out too). SaslState follows
    the connection from chunk to chunk; a chunk that ends in a close is followed by a new
    connection, logged in again (BinWire.connect's login) once part 2 has begun. A chunk
    in which a request was refused stores nothing: its keys' incr/decr bounds are
    forgotten (taint)."""

    TAG = "sasl"
    SINGLE = [(w, op) for w, op in BinSequenceGenerator.SINGLE
              if op not in (SASL_LIST_MECHS, SASL_AUTH, SASL_STEP)] + [
        (1, SASL_LIST_MECHS), (2, SASL_AUTH), (1, SASL_STEP)]
    STEPS = BinSequenceGenerator.STEPS + [(4, "sasl_pipe")]
    PRE_STEPS = [(1, "pre_auth")]
    AUTH_MECHS = [(14, b"PLAIN"), (2, b"plain"), (1, b"PlAiN"), (1, b"CRAM-MD5"), (1, b"X"),
                  (1, b"SCRAM-SHA-1"), (1, b"P" * 32), (1, b"P" * 33), (1, b"P" * 40)]
    STEP_MECHS = [(10, b"PLAIN"), (2, b"X"), (1, b"P" * 40)]
    GOOD = [plain(b"alice", b"secret"), plain(b"bob", b"hunter2"),
            plain(b"alice", b"secret", b"alice")]
    BAD = [plain(b"alice", b"wrong"), plain(b"alice", b"hunter2"), plain(b"alice", b"secre"),
           plain(b"eve", b"secret"), plain(b"alice", b"secret", b"bob"),
           plain(b"ALICE", b"secret"), b"alice secret", b"\0alice", b"\0alice\0secret\0",
           plain(b"", b"secret"), plain(b"alice", b""), b"x" * 300, b"\0" * 3]

    def __init__(self, seed, index):
        super().__init__(seed, index)
        self.sasl = SaslState()     # the connection at the start of the next chunk
        self.relogin = False        # whether a new connection logs in (part 2 began)

    def read(self, data):
        return mc_read(data, sasl=self.sasl)

    def fallback(self):
        c = Chunk("fallback")
        c.add(packet(VERSION), VERSION)
        return c

    def accepted(self, c):
        c.sasl_before = self.sasl.copy()
        c.relogin = self.relogin
        f = self.read(c.model_bytes())
        if f.why == "not logged in":
            for k in c.keys:        # a refused set stored nothing: bounds are unknown
                self.taint(k)
        if c.mode == "sentinel":
            self.sasl = f.sasl
        else:
            self.sasl = LOGGED_IN.copy() if self.relogin else SaslState()

    # --- requests -----------------------------------------------------------------------

    def sasl_message(self, good=0.25):
        rng = self.rng
        r = rng.random()
        if r < good:
            return rng.choice(self.GOOD)
        if r < good + 0.15:
            return b""
        if r < good + 0.22:
            return bytes(rng.choice(ANY_BYTE) for _ in range(rng.randint(1, 40)))
        return rng.choice(self.BAD)

    def sasl_request(self, op, good=0.25):
        mech = pick(self.rng, self.STEP_MECHS if op == SASL_STEP else self.AUTH_MECHS)
        return packet(op, mech, val=self.sasl_message(good), opaque=self.opaque(),
                      **self.deco())

    def request(self, op, c):
        if op in (SASL_AUTH, SASL_STEP):
            return self.sasl_request(op)
        return super().request(op, c)

    # --- before the login ----------------------------------------------------------------

    def served_before_login(self, c):
        """A request 1.6.18 serves before a login, that does not log in."""
        rng = self.rng
        r = rng.random()
        if r < 0.3:
            c.add(packet(VERSION, opaque=self.opaque(), **self.deco()), VERSION)
        elif r < 0.5:
            c.add(packet(SASL_LIST_MECHS, opaque=self.opaque(), **self.deco()),
                  SASL_LIST_MECHS)
        else:
            op = SASL_AUTH if rng.random() < 0.7 else SASL_STEP
            c.add(self.sasl_request(op, good=0), op)

    def refused(self, c):
        """Any other request: "Auth failure." and a close, before its extras and key
        length are looked at."""
        rng = self.rng
        while True:
            op = pick(rng, self.SINGLE)
            if op == "unknown":
                op = rng.choice(UNKNOWN_OPS)
            if op not in SASL_BEFORE_LOGIN:
                break
        p = self.request(op, c)
        if p is None:
            return False
        c.add(p, op)
        return True

    def refused_malformed(self, c):
        rng = self.rng
        opq = self.opaque()
        k = self.key()
        kind = rng.choice(["lengths", "key_251", "body", "auth_extras", "auth_nokey",
                           "get_extras", "noop_body"])
        if kind == "lengths":          # "Unknown command": the lengths come first
            op = rng.choice([GET, SET, VERSION, SASL_AUTH, SASL_LIST_MECHS, NOOP])
            c.add(packet(op, k, bodylen=len(k) - 1, opaque=opq), op)
        elif kind == "key_251":        # refused (get) or "Invalid arguments" (allowed ops)
            op = rng.choice([GET, VERSION, SASL_AUTH, SASL_LIST_MECHS])
            c.add(packet(op, self.prefix + b"k" * (251 - len(self.prefix)), opaque=opq), op)
        elif kind == "body":           # version and list-mechanisms take no body
            op = rng.choice([VERSION, SASL_LIST_MECHS])
            c.add(packet(op, rng.choice([b"", k]), val=b"xy", opaque=opq), op)
        elif kind == "auth_extras":
            op = rng.choice([SASL_AUTH, SASL_STEP])
            c.add(packet(op, b"PLAIN", b"1234", plain(b"alice", b"secret"), opaque=opq), op)
        elif kind == "auth_nokey":
            op = rng.choice([SASL_AUTH, SASL_STEP])
            c.add(packet(op, b"", val=plain(b"alice", b"secret"), opaque=opq), op)
        elif kind == "get_extras":
            c.add(packet(GET, k, b"\0\0\0\1", opaque=opq), GET)
        else:
            c.add(packet(NOOP, val=b"abc", opaque=opq), NOOP)
        return True

    def pre_auth(self, c):
        rng = self.rng
        for _ in range(rng.randint(0, 4)):
            self.served_before_login(c)
        r = rng.random()
        if r < 0.30:
            pass
        elif r < 0.65:
            if not self.refused(c):
                return False
        elif r < 0.80:
            self.refused_malformed(c)
        elif r < 0.90:
            # a flush point first (an auth failure is written at once): answers 1.6.18
            # still holds are dropped by a bad magic's close
            c.add(self.sasl_request(SASL_AUTH, good=0), SASL_AUTH)
            p = packet(rng.choice([VERSION, SASL_AUTH, GET, NOOP]), b"",
                       opaque=self.opaque())
            head = bytearray(p[0])
            head[0] = rng.choice(BAD_MAGICS[:-1])
            c.add([bytes(head)] + p[1:], NOOP)
        else:
            c.add(self.sasl_request(SASL_AUTH, good=0), SASL_AUTH)
            whole = Chunk("scratch")
            op = rng.choice([VERSION, SASL_AUTH, SASL_LIST_MECHS, GET, SET])
            whole.add(self.sasl_request(op, good=0) if op == SASL_AUTH
                      else self.request(op, whole))
            data = whole.model_bytes()
            c.add([data[:rng.randint(1, len(data) - 1)]], op)
            c.mode = "halfclose"
        return c.npackets > 0

    # --- the login -----------------------------------------------------------------------

    def login_chunks(self):
        rng = self.rng
        out = []

        def chunk(desc, packets):
            c = Chunk(desc)
            for op, p in packets:
                c.add(p, op)
            if rng.random() < 0.3:
                c.add(packet(VERSION, opaque=self.opaque()), VERSION)
            if rng.random() < 0.04:
                self.split(c)
            if not self.finish(c) or c.mode != "sentinel":
                raise AssertionError("login chunk %s: %s" % (
                    desc, self.read(c.model_bytes())))
            self.accepted(c)
            out.append(c)

        chunk("login_list", [(SASL_LIST_MECHS, packet(SASL_LIST_MECHS, opaque=self.opaque()))])
        # a wrong password, another user's, an unknown user, another authzid, a user
        # name in the wrong case (BAD[:6]); now and then with a mechanism not offered
        wrong_mech = pick(rng, [(6, b"PLAIN"), (1, b"plain"), (1, b"CRAM-MD5")])
        chunk("login_wrong", [(SASL_AUTH, packet(SASL_AUTH, wrong_mech,
                                                 val=rng.choice(self.BAD[:6]),
                                                 opaque=self.opaque()))
                              for _ in range(rng.randint(1, 2))])
        right = rng.choice(self.GOOD)
        mech = pick(rng, [(8, b"PLAIN"), (1, b"plain")])
        if rng.random() < 0.5:
            chunk("login", [(SASL_AUTH, packet(SASL_AUTH, mech, val=right,
                                               opaque=self.opaque()))])
        else:
            cont = [(SASL_AUTH, packet(SASL_AUTH, mech, opaque=self.opaque()))]
            steps = [(SASL_STEP, packet(SASL_STEP, mech, val=rng.choice(self.BAD[:6]),
                                        opaque=self.opaque()))
                     for _ in range(rng.choice([0, 0, 1, 2]))]
            steps.append((SASL_STEP, packet(SASL_STEP, mech, val=right,
                                            opaque=self.opaque())))
            if rng.random() < 0.5:
                chunk("login_continue", cont)
                chunk("login_step", steps)
            else:
                chunk("login_continue_step", cont + steps)
        if self.sasl != LOGGED_IN:
            raise AssertionError("the login left %r" % self.sasl)
        return out

    # --- after it ------------------------------------------------------------------------

    def sasl_pipe(self, c):
        """Quiet requests with auth, step and list-mechanisms among them, ended by noop
        (refused if one of them logged the connection out)."""
        rng = self.rng
        for _ in range(rng.randint(2, 9)):
            op = pick(rng, self.QUIET_OPS + [(4, SASL_AUTH), (2, SASL_STEP),
                                             (2, SASL_LIST_MECHS)])
            p = self.request(op, c)
            if p is not None:
                c.add(p, op)
        c.add(packet(NOOP, opaque=self.opaque()), NOOP)
        return True

    def sequence(self):
        rng = self.rng
        out = [self.chunks(self.PRE_STEPS) for _ in range(rng.randint(1, 4))]
        self.relogin = True
        out += self.login_chunks()
        out += [self.chunks() for _ in range(rng.randint(5, 32))]
        return out


# --- the wire ------------------------------------------------------------------------

class NotBinary(Exception):
    pass


class Answer:
    def __init__(self, packets, raw, end, err=None):
        self.packets = packets    # parsed response packets (dicts), sentinel excluded
        self.raw = raw
        self.end = end            # 'sentinel' | 'closed' | 'timeout'
        self.err = err            # bytes that do not parse as response packets, etc.


def parse_packets(buf):
    """Complete response packets at the start of buf: (packets, rest, error)."""
    out, pos = [], 0
    while len(buf) - pos >= 24:
        magic, op, kl, el, dt, st, bl, opq, cas = HDR.unpack_from(buf, pos)
        if magic != RES:
            return out, buf[pos:], "a response byte 0x%02x where magic 0x81 belongs" % magic
        if bl > 4 * 1024 * 1024 or kl + el > bl:
            return out, buf[pos:], "a response header with impossible lengths (key %d, " \
                                   "extras %d, body %d)" % (kl, el, bl)
        if len(buf) - pos < 24 + bl:
            break
        body = buf[pos + 24:pos + 24 + bl]
        out.append({"magic": magic, "opcode": op, "keylen": kl, "extlen": el,
                    "datatype": dt, "status": st, "bodylen": bl, "opaque": opq, "cas": cas,
                    "extras": body[:el], "key": body[el:el + kl], "value": body[el + kl:]})
        pos += 24 + bl
    return out, buf[pos:], None


class BinWire:
    """A binary connection to one server. Each connection starts with a noop (PRIME):
    memcached picks the protocol from the first byte, and the answer proves the server
    speaks binary at all. With login (a SASL auth request: -S), the prime and every
    chunk's sentinel are version requests (served before a login), and connect(True)
    logs the new connection in with it."""

    def __init__(self, port, name, login=None):
        self.port, self.name, self.login = port, name, login
        self.prime = SASL_PRIME if login else PRIME
        self.sentinel = SASL_SENTINEL if login else SENTINEL
        self.sentinel_op = VERSION if login else NOOP
        self.sock = None
        self.connect()

    def _one_packet(self, what):
        """The one response packet that answers `what` (bytes already sent)."""
        buf, deadline = b"", time.monotonic() + 3
        while True:
            pk, rest, err = parse_packets(buf)
            if pk or err:
                return pk, rest, err, buf
            left = deadline - time.monotonic()
            try:
                if left <= 0:
                    raise socket.timeout()
                self.sock.settimeout(left)
                d = self.sock.recv(4096)
            except socket.timeout:
                raise NotBinary("%s answered a binary %s with %r in 3 s, not with a binary "
                                "response packet: it does not speak memcached's binary "
                                "protocol" % (self.name, what, buf))
            except OSError as e:
                raise NotBinary("%s: %s after a binary %s (answer so far %r)"
                                % (self.name, e, what, buf))
            if not d:
                raise NotBinary("%s closed the connection on a binary %s (answer %r): it "
                                "does not speak memcached's binary protocol"
                                % (self.name, what, buf))
            buf += d

    def connect(self, login=False):
        self.close()
        self.sock = socket.create_connection(("127.0.0.1", self.port), 5)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.settimeout(5)
        self.sock.sendall(self.prime)
        op = HDR.unpack(self.prime)[1]
        what = "%s (magic 0x80, opcode 0x%02x)" % (NAMES[op], op)
        pk, rest, err, buf = self._one_packet(what)
        if err or rest or len(pk) != 1 or pk[0]["opcode"] != op \
                or pk[0]["opaque"] != PRIME_OPAQUE or pk[0]["status"] != SUCCESS:
            raise NotBinary("%s answered a binary %s with %r, not a %s response "
                            "(magic 0x81, opcode 0x%02x, status 0, the request's opaque)"
                            % (self.name, NAMES[op], buf, NAMES[op], op))
        if login:
            self.sock.sendall(self.login)
            pk, rest, err, buf = self._one_packet("SASL auth")
            if err or rest or len(pk) != 1 or pk[0]["status"] != SUCCESS \
                    or pk[0]["value"] != b"Authenticated":
                raise NotBinary("%s answered the login (a SASL auth, PLAIN, with a right "
                                "password) with %r, not \"Authenticated\"" % (self.name, buf))

    def close(self):
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
            self.sock = None

    def _send(self, data, splits):
        try:
            self.sock.settimeout(10)
            last = 0
            for cut in splits:
                self.sock.sendall(data[last:cut])
                last = cut
                time.sleep(0.001)
            self.sock.sendall(data[last:])
            return None
        except OSError as e:
            return "send failed: %s" % e

    def exchange(self, data, mode, splits=(), timeout=3.0):
        """Send one chunk; read its answer (see Chunk's mode)."""
        if mode == "sentinel":
            data += self.sentinel
        send_err = self._send(data, splits)
        if mode == "halfclose" and send_err is None:
            try:
                self.sock.shutdown(socket.SHUT_WR)
            except OSError as e:
                send_err = "shutdown failed: %s" % e
        buf = b""
        packets = []
        deadline = time.monotonic() + timeout
        end, err = None, None
        while end is None:
            pk, rest, perr = parse_packets(buf)
            for i, p in enumerate(pk):
                if mode == "sentinel" and p["opcode"] == self.sentinel_op \
                        and p["opaque"] == SENTINEL_OPAQUE and p["status"] == SUCCESS:
                    end = "sentinel"
                    if i + 1 < len(pk) or rest:
                        err = "%d bytes after the sentinel's answer" % (
                            sum(24 + q["bodylen"] for q in pk[i + 1:]) + len(rest))
                    rest = b""
                    break
                packets.append(p)
            buf = rest
            if perr:
                err = perr        # unparsable: wait for the end (timeout or close) anyway
            if end:
                break
            left = deadline - time.monotonic()
            if left <= 0:
                end = "timeout"
                break
            try:
                self.sock.settimeout(left)
                d = self.sock.recv(1 << 20)
            except socket.timeout:
                end = "timeout"
                break
            except (ConnectionResetError, BrokenPipeError):
                d = b""
            except OSError as e:
                err = "%s" % e
                d = b""
            if not d:
                end = "closed"
                break
            buf += d
        if buf and not err:
            err = "an incomplete or unparsable response: %r" % buf[:200]
        raw = b"".join(HDR.pack(p["magic"], p["opcode"], p["keylen"], p["extlen"],
                                p["datatype"], p["status"], p["bodylen"], p["opaque"],
                                p["cas"]) + p["extras"] + p["key"] + p["value"]
                       for p in packets) + buf
        if send_err and end != "closed":
            err = (err + "; " if err else "") + send_err
        return Answer(packets, raw, end, err)


# --- normalisation -------------------------------------------------------------------

PADDED = re.compile(rb"[0-9]+ +")


class BinNormaliser:
    """Per-server, per-sequence state: the cas numbering."""

    def __init__(self):
        self.cas = {}

    def cas_seen(self):
        return list(self.cas)

    def _cas(self, v):
        if v == 0:
            return 0
        return "#%d" % self.cas.setdefault(v, len(self.cas))

    def apply(self, packets, padded):
        """Normalised packets: tuples of (field, value) pairs; a run of stat packets
        becomes one STATS element."""
        out = []
        for p in packets:
            value, bodylen = p["value"], p["bodylen"]
            if p["opcode"] == STAT and p["status"] == SUCCESS:
                # name/value packets, zero or more (how many differs by design: stats
                # items on a flushed cache, ...), then the empty terminator
                stats = (("kind", "STATS"), ("magic", p["magic"]), ("opcode", STAT),
                         ("extlen", p["extlen"]), ("datatype", p["datatype"]),
                         ("opaque", p["opaque"]), ("cas", self._cas(p["cas"])))
                if not out or out[-1] != stats:
                    out.append(stats)
                if p["keylen"] > 0:
                    continue
            if p["opcode"] == VERSION and p["status"] == SUCCESS:
                value, bodylen = b"*", "*"
            if padded and p["opcode"] in GET_FAMILY and p["status"] == SUCCESS \
                    and PADDED.fullmatch(value):
                value = value.rstrip(b" ")
                bodylen = p["extlen"] + p["keylen"] + len(value)
            out.append((("kind", "packet"), ("magic", p["magic"]), ("opcode", p["opcode"]),
                        ("keylen", p["keylen"]), ("extlen", p["extlen"]),
                        ("datatype", p["datatype"]), ("status", p["status"]),
                        ("bodylen", bodylen), ("opaque", p["opaque"]),
                        ("cas", self._cas(p["cas"])), ("extras", p["extras"]),
                        ("key", p["key"]), ("value", value)))
        return out


def _fmt(k, v):
    if k in ("magic", "opcode", "status") and isinstance(v, int):
        return "0x%02x" % v
    if k == "opaque" and isinstance(v, int):
        return "0x%08x" % v
    if isinstance(v, bytes):
        s = repr(v)
        return s if len(s) <= 120 else s[:120] + "...(%d bytes)" % len(v)
    return str(v)


def describe(p):
    """One normalised element, for a report."""
    d = dict(p)
    name = NAMES.get(d.get("opcode"), "0x%02x" % d.get("opcode", 0))
    if d.get("kind") == "STATS":
        return "%s: stat name/value packets (masked), opaque %s" % (
            name, _fmt("opaque", d["opaque"]))
    return "%s{%s}" % (name, ", ".join("%s=%s" % (k, _fmt(k, v)) for k, v in p
                                        if k != "kind"))


def describe_raw(p):
    """One parsed, unnormalised response packet."""
    return describe((("kind", "packet"),) + tuple(
        (k, p[k]) for k in ("magic", "opcode", "keylen", "extlen", "datatype", "status",
                            "bodylen", "opaque", "cas", "extras", "key", "value")))


def field_diff(a, b):
    """The fields in which normalised elements a and b differ."""
    da, db = dict(a), dict(b)
    keys = list(dict.fromkeys([k for k, _ in a] + [k for k, _ in b]))
    return ["%s: %s vs %s" % (k, _fmt(k, da.get(k)), _fmt(k, db.get(k)))
            for k in keys if da.get(k) != db.get(k)]
