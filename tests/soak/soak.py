#!/usr/bin/python3
"""soak.py: mixed load on a running hardcached (or memcached) for a set time,
checking every answer against an exact model.

Each of --conns connections owns one partition of the key space and is the only
writer of its keys, so it knows exactly what each of its keys may hold: the
last value it wrote, or nothing (evicted, expired, flushed). Once it has seen a
key missing, the key must stay missing until it writes it again (no
resurrection). Every value is made of segments (set writes one, append and
prepend add one):

    b"key=<key>;v=<version>;l=<segment length>;" + pad

where the pad is a pattern derived from key and version (sha256 of
"<key>;<version>" in hex, repeated) and the segment length is random in
10..5000 (longer only if the header itself is). So any value read by anyone can
be checked for another key's data, a torn or truncated segment, a wrong pad;
the owner also checks it is exactly the expected value and flags. Counter keys
(incr/decr) hold numbers the owner tracks exactly. Other connections read keys
they do not own and check their structure and that no version is newer than
the owner has written. One controller connection sends flush_all every
--flush-every seconds.

Prints: operations, checks, values verified, mismatches (must be 0), misses,
evictions (server stats). Exit status: 0 clean; 1 a mismatch or an unexpected
answer or a lost connection; 2 could not start. Traffic only to 127.0.0.1.
Every loop is bounded by the deadline; sockets have timeouts."""
import argparse
import hashlib
import os
import random
import re
import socket
import sys
import threading
import time
import zlib

HOST = "127.0.0.1"
MAX_SEGS = 4            # appends stop at this many segments (when built)...
PARSE_MAX_SEGS = 16     # ...but a batch of 8 may add more before replies come
SEG_RE = re.compile(rb"key=([^;]{1,250});v=(\d{1,12});l=(\d{1,6});")
U64 = 1 << 64


class ProtocolError(Exception):
    pass


# ---- values -------------------------------------------------------------------

def pad(key, v, n):
    block = hashlib.sha256(b"%s;%d" % (key, v)).hexdigest().encode()
    return (block * (n // 64 + 1))[:n]


def seg_length(key, v, length):
    """The length of the segment for (key, v) asked to be `length` long: that,
    or the header's own length if the header alone is longer."""
    n = length
    for _ in range(4):          # the header names n; growing n may add a digit
        h = len(b"key=%s;v=%d;l=%d;" % (key, v, n))
        if h <= n:
            return n
        n = h
    raise ValueError("no segment length for %r" % key)


def segment(key, v, length):
    n = seg_length(key, v, length)
    head = b"key=%s;v=%d;l=%d;" % (key, v, n)
    return head + pad(key, v, n - len(head))


def flags_of(key, v):
    return zlib.crc32(b"%s;%d" % (key, v)) & 0xFFFFFFFF


def parse_value(key, data):
    """Splits a value into [(version, length)], checking every segment names
    `key` and carries its own pad. Returns (segments, None) or (None, why)."""
    segs, pos = [], 0
    while pos < len(data):
        if len(segs) >= PARSE_MAX_SEGS:
            return None, "more than %d segments" % PARSE_MAX_SEGS
        m = SEG_RE.match(data, pos)
        if not m:
            return None, "no segment header at offset %d: %r" % (pos, data[pos:pos + 60])
        if m.group(1) != key:
            return None, "segment at offset %d belongs to key %r" % (pos, m.group(1))
        v, length = int(m.group(2)), int(m.group(3))
        hlen = m.end() - pos
        if length < hlen or pos + length > len(data):
            return None, "segment v=%d length %d does not fit (value %d bytes, at %d)" % (
                v, length, len(data), pos)
        if data[m.end():pos + length] != pad(key, v, length - hlen):
            return None, "segment v=%d: pad differs (torn or foreign bytes)" % v
        segs.append((v, length))
        pos += length
    if not segs:
        return None, "empty value"
    return segs, None


# ---- a minimal client ------------------------------------------------------------

class Conn:
    def __init__(self, port, timeout):
        self.sock = socket.create_connection((HOST, port), timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self):
        chunk = self.sock.recv(262144)
        if not chunk:
            raise ProtocolError("connection closed by server")
        self.buf += chunk

    def readline(self):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line = bytes(self.buf[:i])
                del self.buf[:i + 2]
                return line
            if len(self.buf) > 65536:
                raise ProtocolError("line longer than 64 KiB: %r" % bytes(self.buf[:80]))
            self._fill()

    def read_exact(self, n):
        while len(self.buf) < n:
            self._fill()
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data

    def read_values(self, with_cas=False):
        """One get reply: list of (key, flags, data, cas)."""
        out = []
        while True:
            line = self.readline()
            if line == b"END":
                return out
            p = line.split(b" ")
            if p[0] != b"VALUE" or len(p) != (5 if with_cas else 4):
                raise ProtocolError("unexpected line in get reply: %r" % line[:120])
            data = self.read_exact(int(p[3]) + 2)
            if data[-2:] != b"\r\n":
                raise ProtocolError("value of %r not followed by CRLF" % p[1])
            out.append((p[1], int(p[2]), data[:-2], int(p[4]) if with_cas else None))

    def close(self):
        self.sock.close()


# ---- the shared tally ----------------------------------------------------------------

class Tally:
    def __init__(self, max_reports=20):
        self.lock = threading.Lock()
        self.c = dict(ops=0, checks=0, values=0, mismatches=0, misses=0, hits=0,
                      errors=0, store_errors=0, flushes=0, cross_reads=0)
        self.reports = []
        self.max_reports = max_reports
        self.verbs = {}         # store errors by command

    def add(self, **kw):
        with self.lock:
            for k, v in kw.items():
                self.c[k] += v

    def mismatch(self, what):
        with self.lock:
            self.c["mismatches"] += 1
            if len(self.reports) < self.max_reports:
                self.reports.append("MISMATCH " + what)

    def error(self, what):
        with self.lock:
            self.c["errors"] += 1
            if len(self.reports) < self.max_reports:
                self.reports.append("ERROR " + what)


# ---- one owner connection ------------------------------------------------------------------

class Owner:
    """Owns keys soak:<run>:<cid>:<i> and counters soakc:<run>:<cid>:<i>."""

    def __init__(self, cid, args, run, tally, maxver, deadline):
        self.cid, self.args, self.tally, self.maxver = cid, args, tally, maxver
        self.deadline = deadline
        self.rnd = random.Random(args.seed * 1000003 + cid)
        self.run = run
        self.keys = [b"soak:%s:%d:%d" % (run, cid, i) for i in range(args.keys)]
        self.ckeys = [b"soakc:%s:%d:%d" % (run, cid, i) for i in range(max(1, args.keys // 10))]
        self.state = [None] * len(self.keys)        # None or (flags, ((v, len), ...))
        self.cstate = [None] * len(self.ckeys)      # None or int
        self.recent = []
        self.version = 0
        self.ops = self.checks = self.values = self.misses = self.hits = 0
        self.store_errors = self.cross = 0
        self.store_error_verbs = {}

    # -- model helpers
    def next_version(self):
        self.version += 1
        self.maxver[self.cid] = self.version     # published before the write is sent
        return self.version

    def pick(self):
        if self.recent and self.rnd.random() < 0.7:
            return self.rnd.choice(self.recent)
        i = self.rnd.randrange(len(self.keys))
        self.recent.append(i)
        if len(self.recent) > 64:
            self.recent.pop(0)
        return i

    def expected_bytes(self, i):
        _, segs = self.state[i]
        return b"".join(segment(self.keys[i], v, n) for v, n in segs)

    def mismatch(self, what):
        self.tally.mismatch("conn %d: %s" % (self.cid, what))

    def new_seg(self, i):
        v = self.next_version()
        n = self.rnd.randint(self.args.min_len, self.args.max_len)
        return v, seg_length(self.keys[i], v, n)

    # -- checking answers
    def check_own_value(self, i, flags, data):
        self.checks += 1
        self.values += 1
        key = self.keys[i]
        if self.state[i] is None:
            segs, why = parse_value(key, data)
            self.mismatch("%s: present but must be absent (seen missing or never written); "
                          "holds %s" % (key.decode(), segs or why))
            return
        exp_flags, exp_segs = self.state[i]
        if data == self.expected_bytes(i) and flags == exp_flags:
            self.hits += 1
            return
        segs, why = parse_value(key, data)
        self.mismatch("%s: expected flags %d segments %s, got flags %d %s" % (
            key.decode(), exp_flags, exp_segs, flags, segs if segs else why))

    def check_own_missing(self, i):
        self.checks += 1
        self.misses += 1
        self.state[i] = None

    def check_foreign_value(self, owner, key, flags, data):
        self.checks += 1
        self.values += 1
        self.cross += 1
        segs, why = parse_value(key, data)
        if segs is None:
            self.tally.mismatch("conn %d reading %s: %s" % (self.cid, key.decode(), why))
            return
        newest = self.maxver[owner]
        if any(v > newest for v, _ in segs):
            self.tally.mismatch("conn %d reading %s: version %s newer than its owner wrote (%d)"
                                % (self.cid, key.decode(), [v for v, _ in segs], newest))
        if flags not in {flags_of(key, v) for v, _ in segs}:
            self.tally.mismatch("conn %d reading %s: flags %d match no segment" % (
                self.cid, key.decode(), flags))

    def expect_line(self, c, allowed, what):
        line = c.readline()
        self.checks += 1
        if line not in allowed:
            if line == b"SERVER_ERROR out of memory storing object":
                self.store_errors += 1
                verb = what.split(" ")[0]
                self.store_error_verbs[verb] = self.store_error_verbs.get(verb, 0) + 1
                return line
            raise ProtocolError("%s answered %r" % (what, line[:120]))
        return line

    # -- operations: each returns (request bytes, reply handler)
    def op_set(self):
        i = self.pick()
        v, n = self.new_seg(i)
        key = self.keys[i]
        exptime = self.rnd.randint(1, 3) if self.rnd.random() < 0.03 else 0
        data = segment(key, v, n)
        fl = flags_of(key, v)

        def done(c):
            line = self.expect_line(c, (b"STORED",), "set " + key.decode())
            self.state[i] = (fl, ((v, n),)) if line == b"STORED" else None
        return b"set %s %d %d %d\r\n%s\r\n" % (key, fl, exptime, len(data), data), done

    def op_get(self):
        i = self.pick()

        def done(c):
            vals = c.read_values()
            if not vals:
                self.check_own_missing(i)
            elif len(vals) != 1 or vals[0][0] != self.keys[i]:
                raise ProtocolError("get %s answered keys %r" % (
                    self.keys[i].decode(), [k for k, _, _, _ in vals]))
            else:
                self.check_own_value(i, vals[0][1], vals[0][2])
        return b"get %s\r\n" % self.keys[i], done

    def op_mget(self):
        idx = list(dict.fromkeys(self.pick() for _ in range(self.rnd.randint(2, 40))))

        def done(c):
            vals = c.read_values()
            order = {self.keys[i]: n for n, i in enumerate(idx)}
            seen, last = set(), -1
            for k, fl, data, _ in vals:
                if k not in order or k in seen or order[k] < last:
                    raise ProtocolError("multi-get answered %r out of order or unasked" % k)
                seen.add(k)
                last = order[k]
                self.check_own_value(idx[order[k]], fl, data)
            for i in idx:
                if self.keys[i] not in seen:
                    self.check_own_missing(i)
        return b"get " + b" ".join(self.keys[i] for i in idx) + b"\r\n", done

    def op_delete(self):
        i = self.pick()

        def done(c):
            line = self.expect_line(c, (b"DELETED", b"NOT_FOUND"), "delete")
            if line == b"DELETED" and self.state[i] is None:
                self.mismatch("%s: delete found a key that must be absent" % self.keys[i].decode())
            self.state[i] = None
        return b"delete %s\r\n" % self.keys[i], done

    def op_append(self, verb=b"append"):
        i = self.pick()
        if self.state[i] is not None and len(self.state[i][1]) >= MAX_SEGS:
            return self.op_set()
        v, n = self.new_seg(i)
        key = self.keys[i]
        data = segment(key, v, n)

        def done(c):
            line = self.expect_line(c, (b"STORED", b"NOT_STORED"), verb.decode())
            if line == b"STORED":
                if self.state[i] is None:
                    self.mismatch("%s: %s succeeded on a key that must be absent" % (
                        key.decode(), verb.decode()))
                    self.state[i] = None
                    return
                fl, segs = self.state[i]
                segs = segs + ((v, n),) if verb == b"append" else ((v, n),) + segs
                self.state[i] = (fl, segs)
            # NOT_STORED: the key is missing, or (memcached, and hardcached,
            # answer so when the combined value finds no memory) the old value
            # stays. Missing is always allowed on a read, so the model keeps
            # the old value as the only one that may be present. The same for
            # SERVER_ERROR out of memory.
        return b"%s %s 0 0 %d\r\n%s\r\n" % (verb, key, len(data), data), done

    def op_prepend(self):
        return self.op_append(b"prepend")

    def op_touch(self):
        i = self.pick()

        def done(c):
            line = self.expect_line(c, (b"TOUCHED", b"NOT_FOUND"), "touch")
            if line == b"TOUCHED" and self.state[i] is None:
                self.mismatch("%s: touch found a key that must be absent" % self.keys[i].decode())
            if line == b"NOT_FOUND":
                self.state[i] = None
        return b"touch %s 0\r\n" % self.keys[i], done

    def op_counter(self):
        j = self.rnd.randrange(len(self.ckeys))
        key = self.ckeys[j]
        if self.cstate[j] is None or self.rnd.random() < 0.05:
            n = self.rnd.randrange(0, 1 << 40)

            def done_set(c):
                line = self.expect_line(c, (b"STORED",), "set counter")
                self.cstate[j] = n if line == b"STORED" else None
            s = b"%d" % n
            return b"set %s 0 0 %d\r\n%s\r\n" % (key, len(s), s), done_set
        if self.rnd.random() < 0.3:
            def done_get(c):
                vals = c.read_values()
                self.checks += 1
                if not vals:
                    self.misses += 1
                    self.cstate[j] = None
                    return
                self.values += 1
                got = vals[0][2].rstrip(b" ")
                if self.cstate[j] is None or got != b"%d" % self.cstate[j]:
                    self.mismatch("%s: expected counter %s, got %r" % (
                        key.decode(), self.cstate[j], vals[0][2][:40]))
                    self.cstate[j] = int(got) if got.isdigit() else None
                else:
                    self.hits += 1
            return b"get %s\r\n" % key, done_get
        incr = self.rnd.random() < 0.6
        delta = self.rnd.randint(1, 1000)

        def done_delta(c):
            line = c.readline()
            self.checks += 1
            if line == b"NOT_FOUND":
                self.misses += 1
                self.cstate[j] = None
                return
            if line.startswith(b"SERVER_ERROR out of memory"):
                self.store_errors += 1      # the old number stays (memcached)
                self.store_error_verbs["incr/decr"] = self.store_error_verbs.get("incr/decr", 0) + 1
                return
            if not line.isdigit():
                raise ProtocolError("%s answered %r" % ("incr" if incr else "decr", line[:80]))
            if self.cstate[j] is None:
                self.mismatch("%s: incr/decr found a counter that must be absent" % key.decode())
                self.cstate[j] = int(line)
                return
            exp = (self.cstate[j] + delta) % U64 if incr else max(0, self.cstate[j] - delta)
            if int(line) != exp:
                self.mismatch("%s: %s %d from %d gave %s, expected %d" % (
                    key.decode(), "incr" if incr else "decr", delta, self.cstate[j],
                    line.decode(), exp))
            self.cstate[j] = int(line)
        return b"%s %s %d\r\n" % (b"incr" if incr else b"decr", key, delta), done_delta

    def op_cross(self):
        owner = self.rnd.randrange(self.args.conns)
        if owner == self.cid:
            return self.op_get()
        keys = [b"soak:%s:%d:%d" % (self.run, owner, self.rnd.randrange(self.args.keys))
                for _ in range(self.rnd.randint(1, 10))]
        keys = list(dict.fromkeys(keys))

        def done(c):
            for k, fl, data, _ in c.read_values():
                if k not in keys:
                    raise ProtocolError("cross get answered unasked key %r" % k)
                self.check_foreign_value(owner, k, fl, data)
        return b"get " + b" ".join(keys) + b"\r\n", done

    def cas_round(self, c):
        """gets then cas on one own key: the owner is the only writer, so a cas
        with the right unique must succeed (or NOT_FOUND after an eviction),
        one with a wrong unique must answer EXISTS."""
        i = self.pick()
        key = self.keys[i]
        c.send(b"gets %s\r\n" % key)
        vals = c.read_values(with_cas=True)
        self.ops += 1
        if not vals:
            self.check_own_missing(i)
            return
        self.check_own_value(i, vals[0][1], vals[0][2])
        unique = vals[0][3]
        wrong = self.rnd.random() < 0.3
        v, n = self.new_seg(i)
        data = segment(key, v, n)
        fl = flags_of(key, v)
        c.send(b"cas %s %d 0 %d %d\r\n%s\r\n" % (key, fl, len(data),
                                                 (unique + 1) % U64 if wrong else unique, data))
        self.ops += 1
        line = self.expect_line(c, (b"STORED", b"EXISTS", b"NOT_FOUND"), "cas")
        if line.startswith(b"SERVER_ERROR"):
            return       # counted as a store error; memcached keeps the old value
        if line == b"NOT_FOUND":
            self.state[i] = None
        elif wrong and line != b"EXISTS":
            self.mismatch("%s: cas with a wrong unique answered %r" % (key.decode(), line))
            self.state[i] = (fl, ((v, n),)) if line == b"STORED" else self.state[i]
        elif not wrong and line != b"STORED":
            self.mismatch("%s: cas with the unique just read answered %r (no other writer)"
                          % (key.decode(), line))
        elif line == b"STORED":
            self.state[i] = (fl, ((v, n),))

    def final_check(self, c):
        """After the load: every own key read once, exactly."""
        for start in range(0, len(self.keys), 100):
            idx = list(range(start, min(start + 100, len(self.keys))))
            c.send(b"get " + b" ".join(self.keys[i] for i in idx) + b"\r\n")
            got = {k: (fl, data) for k, fl, data, _ in c.read_values()}
            for i in idx:
                if self.keys[i] in got:
                    self.check_own_value(i, *got[self.keys[i]])
                else:
                    self.check_own_missing(i)

    OPS = [("op_set", 30), ("op_get", 30), ("op_mget", 5), ("op_delete", 4),
           ("op_append", 4), ("op_prepend", 2), ("op_touch", 2), ("op_counter", 8),
           ("op_cross", 6)]

    def run_load(self):
        names = [n for n, _ in self.OPS]
        weights = [w for _, w in self.OPS]
        c = Conn(self.args.port, self.args.timeout)
        try:
            batches = 0
            while time.monotonic() < self.deadline and batches < self.args.max_batches:
                batches += 1
                if self.rnd.random() < 0.03:
                    self.cas_round(c)
                    continue
                ops = [getattr(self, n)() for n in
                       self.rnd.choices(names, weights, k=self.rnd.randint(1, 8))]
                c.send(b"".join(req for req, _ in ops))
                for _, done in ops:
                    done(c)
                self.ops += len(ops)
            self.final_check(c)
        except (ProtocolError, OSError) as e:
            self.tally.error("conn %d: %s: %s" % (self.cid, type(e).__name__, e))
        finally:
            c.close()
            self.tally.add(ops=self.ops, checks=self.checks, values=self.values,
                           misses=self.misses, hits=self.hits, store_errors=self.store_errors,
                           cross_reads=self.cross)
            with self.tally.lock:
                for verb, n in self.store_error_verbs.items():
                    self.tally.verbs[verb] = self.tally.verbs.get(verb, 0) + n


def flusher(args, tally, deadline):
    """flush_all every args.flush_every seconds (one connection)."""
    if args.flush_every <= 0:
        return
    try:
        c = Conn(args.port, args.timeout)
        nxt = time.monotonic() + args.flush_every
        while nxt < deadline - 1:
            time.sleep(max(0.0, min(nxt, deadline) - time.monotonic()))
            c.send(b"flush_all\r\n")
            line = c.readline()
            if line != b"OK":
                tally.error("flush_all answered %r" % line)
                return
            tally.add(flushes=1)
            nxt += args.flush_every
        c.close()
    except (ProtocolError, OSError) as e:
        tally.error("flusher: %s" % e)


def sampler(args, tally, deadline, t0):
    """Prints the server's item count, item bytes and evictions every
    args.stats_every seconds."""
    if args.stats_every <= 0:
        return
    nxt = t0 + args.stats_every
    while nxt < deadline:
        time.sleep(max(0.0, nxt - time.monotonic()))
        try:
            st = server_stats(args.port, args.timeout)
        except (ProtocolError, OSError) as e:
            tally.error("stats sampler: %s" % e)
            return
        print("soak: t=%4.0fs curr_items %s bytes %s evictions %s curr_connections %s"
              % (time.monotonic() - t0, st.get("curr_items"), st.get("bytes"),
                 st.get("evictions"), st.get("curr_connections")))
        sys.stdout.flush()
        nxt += args.stats_every


def server_stats(port, timeout):
    c = Conn(port, timeout)
    try:
        c.send(b"stats\r\n")
        out = {}
        for _ in range(1000):
            line = c.readline()
            if line == b"END":
                return out
            p = line.decode(errors="replace").split(" ", 2)
            if len(p) == 3 and p[0] == "STAT":
                out[p[1]] = p[2]
        raise ProtocolError("stats did not end")
    finally:
        c.close()


def rss_kib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--seconds", type=float,
                    default=float(os.environ.get("SOAK_SECONDS", "60")))
    ap.add_argument("--conns", type=int, default=32)
    ap.add_argument("--keys", type=int, default=2000, help="keys owned by each connection")
    ap.add_argument("--min-len", type=int, default=10)
    ap.add_argument("--max-len", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=int(os.environ.get("SOAK_SEED", "1")))
    ap.add_argument("--flush-every", type=float, default=None,
                    help="seconds between flush_all (0: never; default: a third of --seconds)")
    ap.add_argument("--timeout", type=float, default=10.0, help="socket timeout")
    ap.add_argument("--stats-every", type=float, default=5.0,
                    help="seconds between server stats lines (0: none)")
    ap.add_argument("--max-batches", type=int, default=10_000_000,
                    help="bound on batches per connection")
    ap.add_argument("--allow-store-errors", action="store_true",
                    help="do not fail on SERVER_ERROR out of memory (e.g. with -M)")
    ap.add_argument("--server-pid", type=int, default=0, help="report this process's RSS")
    args = ap.parse_args(argv)
    if not (1 <= args.conns <= 1000 and 1 <= args.keys and 0 < args.seconds <= 86400
            and 1 <= args.min_len <= args.max_len <= 200000):
        ap.error("conns 1..1000, keys >= 1, seconds 0..86400, 1 <= min-len <= max-len")
    if args.flush_every is None:
        args.flush_every = args.seconds / 3.0
    sys.setswitchinterval(0.001)
    run = b"%x" % (int(time.time() * 1000) ^ (os.getpid() << 20) ^ args.seed)
    try:
        st0 = server_stats(args.port, args.timeout)
    except (OSError, ProtocolError) as e:
        print("soak: cannot reach 127.0.0.1:%d: %s" % (args.port, e))
        return 2
    print("soak: %d connections x %d keys, values %d..%d bytes, %.0f s, seed %d, run %s, "
          "flush_all every %s s" % (args.conns, args.keys, args.min_len, args.max_len,
                                     args.seconds, args.seed, run.decode(),
                                     args.flush_every or "never"))
    sys.stdout.flush()
    tally = Tally()
    maxver = [0] * args.conns
    t0 = time.monotonic()
    deadline = t0 + args.seconds
    owners = [Owner(i, args, run, tally, maxver, deadline) for i in range(args.conns)]
    threads = [threading.Thread(target=o.run_load, daemon=True) for o in owners]
    threads.append(threading.Thread(target=flusher, args=(args, tally, deadline), daemon=True))
    threads.append(threading.Thread(target=sampler, args=(args, tally, deadline, t0),
                                    daemon=True))
    for t in threads:
        t.start()
    hard = deadline + 60
    for t in threads:
        t.join(max(0.1, hard - time.monotonic()))
    hung = sum(t.is_alive() for t in threads)
    if hung:
        tally.error("%d connections still running 60 s after the deadline" % hung)
    secs = time.monotonic() - t0
    try:
        st1 = server_stats(args.port, args.timeout)
    except (OSError, ProtocolError) as e:
        tally.error("server unreachable after the soak: %s" % e)
        st1 = {}

    def delta(name):
        try:
            return int(st1[name]) - int(st0[name])
        except (KeyError, ValueError):
            return "?"
    c = tally.c
    for r in tally.reports:
        print(r)
    print("soak: %.1f s, %d operations (%.0f/s), %d checks, %d values verified, "
          "%d hits, %d misses, %d cross-connection reads, %d flush_all"
          % (secs, c["ops"], c["ops"] / secs, c["checks"], c["values"], c["hits"],
             c["misses"], c["cross_reads"], c["flushes"]))
    print("soak: server evictions %s, expired_unfetched %s, reclaimed %s, curr_items %s, "
          "bytes %s of %s" % (delta("evictions"), delta("expired_unfetched"),
                              delta("reclaimed"), st1.get("curr_items", "?"),
                              st1.get("bytes", "?"), st1.get("limit_maxbytes", "?")))
    if args.server_pid:
        print("soak: server RSS %s KiB" % rss_kib(args.server_pid))
    print("soak: mismatches %d, errors %d, store errors %d%s"
          % (c["mismatches"], c["errors"], c["store_errors"],
             " (SERVER_ERROR out of memory with evictions on: %s)" % ", ".join(
                 "%s %d" % kv for kv in sorted(tally.verbs.items())) if tally.verbs else ""))
    bad = c["mismatches"] or c["errors"] or (c["store_errors"] and not args.allow_store_errors)
    if c["ops"] == 0 or c["values"] == 0:
        print("soak: nothing was checked")
        bad = True
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
