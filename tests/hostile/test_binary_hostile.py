"""The binary protocol under the text protocol's hostile clients: the same
-R fairness, connection-memory budget, backpressure, read timeout and item
size limit (SECURITY.md, "Connection memory and fairness").

1. -R fairness (-t 1): one attacker process at nice 19 floods binary GETKQ
   batches (100 quiet gets then a NOOP), a pipeline of loud GETs, or SETQs
   of values just over -I (bodies to swallow), as fast as the server takes
   them; a victim times a binary NOOP (or, mixed, a text `version`) every
   20 ms: >= 90 % of the answers, p99 <= 50 ms, conn_yields counted (but
   for the swallowing flooder, which runs one command per MiB).
2. --conn-mem-limit at -m 64 (default budget), test_conn_memory.py's attacks
   in binary form: 1,000 connections each sending a SET announcing a 1 MB
   value, 900 KB of it sent, then nothing; 1,000 holding a header whose
   16,000-byte key never completes; 500 pipelining GETs of a 1 MB value x20
   and never reading; 1,000 sending 1 MB of GETKQ pipelines of a 100 KB value
   and never reading; (-m 128 -I 32m) 50 asking for a 32 MB value and never
   reading. Under each: peak RSS (VmHWM) <= 200 MiB as the text attacks,
   buffers within the budget plus each connection's allowance, a normal
   binary client served meanwhile without an error, seed values intact
   (except where the attack fills -m with half-received items: see that test).
3. --read-timeout: half a header, a header and half its extras+key, a SET
   with half its value, a body being swallowed, a trickle that keeps sending
   inside one request, unread answers: each closed about --read-timeout after
   its partial request began, counted in read_timeouts; connections idle
   between whole packets (after a loud and after a quiet request) are not.
4. A body over -I: E2BIG "Too large." once the body has been swallowed (its
   bytes never run as requests), as memcached 1.6.18 answers it
   (tests/integration/test_binary.py "too_large", "too_large_waits_for_the_body",
   "body_length_past_2_31"); nothing of that size is allocated (RSS).

HC_SANITIZED=1: the RSS assertions are skipped (hostile.py), the rest runs.
Traffic to 127.0.0.1 only; every loop is bounded in count and time and every
wait has a deadline."""
import resource
import select
import socket
import struct
import time

import binwire as bw
from binwire import pkt, set_extras
from flood_client import start_flood, stop_flood, victim_round_trips, wait_flooding
from harness import connect, read_to_close, wait_until
from hostile import (HostileCase, LatencyProbe, blast, conns_back_to, percentile, push_each,
                     settled_conns)
from test_conn_memory import (PEAK_RSS_MAX_KIB, close_all, count_closed, open_clients,
                              peak_rss_kib, push_all)
from wire import stat_int

MIB = 1 << 20
E2BIG, UNKNOWN = 0x03, 0x81


def setUpModule():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, 8192)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


# ---- a binary client -----------------------------------------------------------

class BinClient:
    """One binary connection: sends bytes, reads whole answer packets."""

    def __init__(self, port, timeout=5.0):
        self.sock = connect(port, timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.timeout = timeout
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def _one(self):
        """One whole packet off the front of the buffer, or None."""
        if len(self.buf) < bw.HEADER.size:
            return None
        end = bw.HEADER.size + struct.unpack(">I", self.buf[8:12])[0]
        if len(self.buf) < end:
            return None
        (p,), _ = bw.parse(self.buf[:end])
        self.buf = self.buf[end:]
        return p

    def packets(self, n, timeout=None):
        """The next n answer packets (AssertionError if they do not come
        within the timeout, EOFError if the server closes first)."""
        deadline = time.monotonic() + (timeout or self.timeout)
        out = []
        while len(out) < n:
            p = self._one()
            if p is not None:
                out.append(p)
                continue
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("%d answer packets did not come: %r" % (n, self.buf[:200]))
            self.sock.settimeout(left)
            chunk = self.sock.recv(262144)
            if not chunk:
                raise EOFError("closed by the server after %r" % self.buf[:200])
            self.buf += chunk
        return out

    def call(self, data, n=1, timeout=None):
        self.send(data)
        return self.packets(n, timeout)

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def bin_set(c, key, value, flags=0, opaque=0):
    """A binary SET answered; returns its status."""
    p, = c.call(pkt(bw.SET, key, set_extras(flags, 0), value, opaque=opaque), 1, timeout=30)
    return p.status


def bin_get(c, key):
    """(status, flags, value) of a binary GET."""
    p, = c.call(pkt(bw.GET, key), 1, timeout=30)
    flags = struct.unpack(">I", p.extras)[0] if len(p.extras) == 4 else None
    return p.status, flags, p.value


class BinProbe(LatencyProbe):
    """A normal binary client doing round trips in a background thread, as
    hostile.LatencyProbe does in text: "store" mode a SET every tenth round
    trip and otherwise a GET that must return exactly the value; "version"
    mode a VERSION each (for an attack that may evict what it stores). Any
    other answer is an error."""

    def __init__(self, port, mode="store", **kw):
        super().__init__(port, key="binprobe:key", **kw)
        self.mode = mode

    def _run(self):
        deadline = time.monotonic() + self.max_seconds
        value = b"binprobe-value-" + b"p" * 100
        try:
            c = BinClient(self.port)
            if self.mode == "store" and bin_set(c, self.key, value) != 0:
                raise AssertionError("probe's first set refused")
            n = 0
            while not self._stop.is_set() and n < self.max_ops and time.monotonic() < deadline:
                t0 = time.perf_counter()
                if self.mode == "version":
                    p, = c.call(pkt(bw.VERSION, opaque=n))
                    if (p.status, p.opaque) != (0, n) or not p.value.startswith(b"1."):
                        raise AssertionError("probe version answered %r" % (p,))
                elif n % 10 == 9:
                    st = bin_set(c, self.key, value, opaque=n)
                    if st != 0:
                        raise AssertionError("probe set answered status %#x" % st)
                else:
                    got = bin_get(c, self.key)
                    if got != (0, 0, value):
                        raise AssertionError("probe get answered %r" % (got[:2],))
                self.lat_ms.append((time.perf_counter() - t0) * 1000.0)
                n += 1
                time.sleep(self.pause)
            c.close()
        except Exception as e:  # noqa: BLE001 - reported by the test
            self.errors.append(e)


# ---- 1. -R fairness ----------------------------------------------------------------

MEASURE = 6.0             # seconds of victim round trips under the flood
MIN_SHARE = 0.90
P99_MAX_MS = 50.0


class BinaryFairness(HostileCase):
    """-t 1: the attacker and the victim share the only worker thread."""
    SERVER_ARGS = ("-t", "1")

    def run_flood(self, flood, victim_binary, expect_yields=True):
        reads0 = stat_int(self.server, "bytes_read")
        yields0 = stat_int(self.server, "conn_yields")
        procs = start_flood(self.port, 1, MEASURE + 6, nice=True, binary=flood)
        try:
            self.assertTrue(wait_flooding(self.port, reads0), "the flood never got going")
            expected, lat = victim_round_trips(self.port, MEASURE, binary=victim_binary)
            flooded = stat_int(self.server, "bytes_read") - reads0
            yields = stat_int(self.server, "conn_yields") - yields0
        finally:
            stop_flood(procs)
        share = len(lat) / float(expected)
        print("binary %s flood pushed %.0f MB, conn_yields +%d; %s victim: %d of %d answers "
              "(%.0f%%), p50 %.2f ms, p99 %.2f ms, max %.2f ms"
              % (flood, flooded / 1e6, yields, "binary" if victim_binary else "text",
                 len(lat), expected, 100 * share, percentile(lat, 50), percentile(lat, 99),
                 max(lat, default=float("nan"))))
        self.assertGreaterEqual(share, MIN_SHARE, "the victim was starved")
        self.assertLessEqual(percentile(lat, 99), P99_MAX_MS, "the victim waited too long")
        if expect_yields:
            self.assertGreater(yields, 0, "the binary flooder never yielded (-R)")
        self.assertSurvived()

    def test_getkq_batches_flood_binary_noop_victim(self):
        self.run_flood("getkq", victim_binary=True)

    def test_loud_get_pipeline_flood_binary_noop_victim(self):
        self.run_flood("get", victim_binary=True)

    def test_oversized_set_bodies_flood_binary_noop_victim(self):
        # one command per 1 MiB of body to swallow: -R counts commands, so
        # this flooder seldom uses up a turn (conn_yields may stay 0); its
        # turn ends when its socket has nothing more to read, and the victim
        # must be served all the same
        self.run_flood("swallow", victim_binary=True, expect_yields=False)

    def test_getkq_batches_flood_text_version_victim(self):
        self.run_flood("getkq", victim_binary=False)


# ---- 2. the connection-memory budget ------------------------------------------------



class BinaryConnMemoryCase(HostileCase):
    SERVER_ARGS = ("-m", "64")
    PROBE = "store"

    def attack(self, what, go, setup=None, evictions_ok=False):
        """As test_conn_memory.ConnMemoryCase.attack, with a binary client
        as the normal one: setup() stores, go() opens the attackers and
        pushes; then the bars. Returns the stats taken during the attack."""
        if setup is not None:
            setup()
        probe = BinProbe(self.port, self.PROBE, max_seconds=90).start()
        socks = []
        try:
            socks, sent = go()
            during = len(probe.lat_ms)
            served = wait_until(lambda: probe.errors or len(probe.lat_ms) >= during + 20, 20)
            st = self.server.stats()
            closed = count_closed(socks)
            peak = peak_rss_kib(self.server)
            rss = self.rss_kib()
        finally:
            probe.stop()
            close_all(socks)
        # read_buf_bytes counts input and output buffers (as memcached's),
        # response_obj_bytes the output ones
        print("%s: %d attackers sent %.1f MB; server closed %d; peak RSS %.1f MiB (now "
              "%.1f); buffers %s bytes (output %s), peak %s; read_buf_oom %s, "
              "response_obj_oom %s; evictions %s"
              % (what, len(socks), sent / 1e6, closed, peak / 1024.0, rss / 1024.0,
                 st["read_buf_bytes"], st["response_obj_bytes"], st["conn_mem_peak"],
                 st["read_buf_oom"], st["response_obj_oom"], st["evictions"]))
        print("normal binary client meanwhile: " + probe.summary())
        self.assertFalse(probe.errors, probe.errors[:2])
        self.assertTrue(served, "the normal client was not served while the attackers held "
                                "their buffers (%d round trips)" % (len(probe.lat_ms) - during))
        self.assertRss("peak RSS within %d MiB" % (PEAK_RSS_MAX_KIB // 1024),
                       lambda: self.assertLessEqual(peak, PEAK_RSS_MAX_KIB))
        budget = int(self.server.stats("settings")["read_buf_mem_limit"])
        self.assertLessEqual(int(st["conn_mem_peak"]), budget + (len(socks) + 8) * 64 * 1024,
                             "buffers passed the budget plus each connection's allowance")
        self.assertSurvived(evictions_ok=evictions_ok)
        return st


class BinaryHalfSentSetBodies(BinaryConnMemoryCase):
    # A binary SET's value streams into an item allocated from -m when its
    # header arrives (as a text set's does, and as memcached does): 1,000
    # half-sent 1 MB values ask for 15 times -m. The store hands them every
    # page it can (evicting what it must: the seeds too, as the same attack
    # in text does) and refuses the rest "Out of memory" (their bodies are
    # swallowed). What this bounds: the bodies never sit in connection
    # buffers, memory stays within -m plus buffers, the daemon keeps
    # answering and storing small values, and the items are freed when the
    # senders go. The normal client's round trips are VERSIONs: a value it
    # stored could be evicted by the attack mid-way.
    PROBE = "version"
    N = 1000
    VALUE = 1_000_000
    SENT = 900_000

    def test_1000_connections_send_most_of_a_1mb_set_body(self):
        def head(i):
            key = b"half:%05d" % i
            return pkt(bw.SET, key, set_extras(0, 0), bodylen=8 + len(key) + self.VALUE)

        def go():
            socks = open_clients(self.port, self.N)
            sent, _ = push_each(socks, lambda i: head(i) + b"h" * self.SENT)
            # while they hold it all, a small value is still stored and read
            with BinClient(self.port) as c:
                self.assertEqual(bin_set(c, b"during:small", b"s" * 100, flags=3), 0)
                self.assertEqual(bin_get(c, b"during:small"), (0, 3, b"s" * 100))
            return socks, sent
        st = self.attack("binary SET of 1 MB, 900 KB sent", go, evictions_ok=True)
        self.assertLessEqual(int(st["read_buf_bytes"]), (self.N + 8) * 64 * 1024,
                             "SET bodies were held in connection buffers")
        # the senders are gone: their half-received items were freed
        with BinClient(self.port) as c:
            self.assertTrue(wait_until(lambda: bin_set(c, b"after:big", b"A" * self.VALUE) == 0,
                                       15), "item memory not freed after the senders closed")
            self.assertEqual(bin_get(c, b"after:big"), (0, 0, b"A" * self.VALUE))
            self.assertEqual(bin_get(c, b"half:00001")[0], 0x01, "a half-sent value was stored")


class BinaryKeysNeverCompleted(BinaryConnMemoryCase):
    # the binary counterpart of a line without newline: a header announcing a
    # 16,000-byte key (it fits memcached's 16 KiB read buffer, so it is waited
    # for), 15,000 bytes of it sent
    N = 1000

    def test_1000_connections_hold_a_header_whose_key_never_completes(self):
        data = pkt(bw.GET, b"q" * 16000)[:24 + 15000]

        def go():
            socks = open_clients(self.port, self.N)
            sent, _ = push_all(socks, data)
            return socks, sent
        st = self.attack("binary GET header, 15,000 of its 16,000 key bytes", go)
        self.assertLessEqual(int(st["read_buf_bytes"]), (self.N + 8) * 64 * 1024)


class BinaryUnreadBigValues(BinaryConnMemoryCase):
    def test_500_connections_get_1mb_value_x20_never_reading(self):
        def setup():
            with BinClient(self.port) as c:
                self.assertEqual(bin_set(c, b"big", b"B" * 1_000_000), 0)

        def go():
            socks = open_clients(self.port, 500, rcvbuf=4096)
            sent, _ = push_all(socks, pkt(bw.GET, b"big") * 20)
            wait_until(lambda: stat_int(self.server, "cmd_get") >= 500, 10,
                       "a get of every attacker to run")
            return socks, sent
        st = self.attack("binary GET of a 1 MB value x20, never read", go, setup)
        self.assertGreater(int(st["response_obj_oom"]), 0, "no answer was refused: no budget?")


class BinaryUnreadGetkqPipelines(BinaryConnMemoryCase):
    # test_conn_memory's complete 1 MB multiget, in binary: 1 MB of GETKQ of a
    # 100 KB value (~35,000 of them) per connection, never read
    def test_1000_connections_send_1mb_of_getkq_never_reading(self):
        def setup():
            with BinClient(self.port) as c:
                self.assertEqual(bin_set(c, b"mid", b"M" * 100_000), 0)
        one = pkt(bw.GETKQ, b"mid")
        data = one * (1_000_000 // len(one))

        def go():
            socks = open_clients(self.port, 1000, rcvbuf=4096)
            sent, _ = push_all(socks, data)
            return socks, sent
        st = self.attack("1 MB of binary GETKQ pipelined, never read", go, setup)
        self.assertGreater(int(st["read_buf_oom"]) + int(st["response_obj_oom"]), 0,
                           "nothing was refused: no budget?")


class BinaryUnreadHugeValue(BinaryConnMemoryCase):
    SERVER_ARGS = ("-m", "128", "-I", "32m")

    def test_50_connections_get_32mb_value_never_reading(self):
        def setup():
            with BinClient(self.port, timeout=30) as c:
                self.assertEqual(bin_set(c, b"huge", b"H" * 32_000_000), 0)

        def go():
            socks = open_clients(self.port, 50, rcvbuf=4096)
            sent, _ = push_all(socks, pkt(bw.GET, b"huge"))
            wait_until(lambda: stat_int(self.server, "cmd_get") >= 50, 15,
                       "the get of every attacker to run")
            return socks, sent
        st = self.attack("binary GET of a 32 MB value, never read", go, setup)
        self.assertGreater(int(st["response_obj_oom"]), 0, "no answer was refused: no budget?")


# ---- 3. --read-timeout ---------------------------------------------------------------

READ_TIMEOUT = 3
KEY = b"rt:key"
SET_HEAD = pkt(bw.SET, KEY, set_extras(0, 0), b"v" * 1000)[:24 + 8 + len(KEY)]
PARTIALS = [
    ("half a header", pkt(bw.NOOP)[:12]),
    ("23 bytes of a header", pkt(bw.GET, KEY)[:23]),
    ("a header and half its key", pkt(bw.GET, b"k" * 200)[:24 + 100]),
    ("a set header and half its extras", SET_HEAD[:24 + 4]),
    ("a set header, no value", SET_HEAD),
    ("a set header and half its value", SET_HEAD + b"v" * 500),
    ("a whole noop then half a header", pkt(bw.NOOP, opaque=5) + pkt(bw.NOOP)[:10]),
    ("an unknown opcode's body being swallowed", pkt(0x40, bodylen=1000) + b"z" * 10),
    ("a value over -I being swallowed",
     pkt(bw.SET, KEY, set_extras(0, 0), bodylen=8 + len(KEY) + 2 * MIB) + b"s" * 1000),
]


def _secs(t):
    return "never" if t is None else "%.1f" % t


def wait_closed(socks, timeout):
    """Waits for the server to close each of socks (EOF or reset), reading
    and keeping what they were sent meanwhile. Returns {sock: (seconds from
    the start of this call to its close or None, bytes received)}."""
    t0 = time.monotonic()
    got = {s: [None, b""] for s in socks}
    open_ = set(socks)
    for s in socks:
        s.setblocking(False)
    deadline = t0 + timeout
    while open_ and time.monotonic() < deadline:
        r, _, _ = select.select(list(open_), [], [], 0.1)
        for s in r:
            try:
                chunk = s.recv(65536)
            except BlockingIOError:
                continue
            except (ConnectionResetError, BrokenPipeError):
                chunk = b""
            if chunk:
                got[s][1] += chunk
                continue
            got[s][0] = time.monotonic() - t0
            open_.discard(s)
    return {s: tuple(v) for s, v in got.items()}


class BinaryReadTimeout(HostileCase):
    SERVER_ARGS = ("--read-timeout", str(READ_TIMEOUT))

    def idle_connections(self):
        """Two connections idle between whole packets: one after a loud
        request (answered and read), one after a quiet one (no answer)."""
        loud = BinClient(self.port)
        p, = loud.call(pkt(bw.NOOP, opaque=1))
        self.assertEqual((p.opcode, p.status, p.opaque), (bw.NOOP, 0, 1))
        quiet = BinClient(self.port)
        quiet.send(pkt(bw.SETQ, b"rt:quiet", set_extras(0, 0), b"q"))
        return loud, quiet

    def assertStillServed(self, c, what):
        p, = c.call(pkt(bw.GETK, b"rt:quiet", opaque=9))
        self.assertEqual((p.status, p.key, p.value, p.opaque), (0, b"rt:quiet", b"q", 9),
                         "%s: not served after the others timed out" % what)

    def test_partial_packets_closed_idle_kept(self):
        loud, quiet = self.idle_connections()
        rt0 = stat_int(self.server, "read_timeouts")
        socks = []
        for _, data in PARTIALS:
            s = connect(self.port)
            s.sendall(data)
            socks.append(s)
        closed = wait_closed(socks, READ_TIMEOUT + 8)
        counted = wait_until(lambda: stat_int(self.server, "read_timeouts") - rt0
                             >= len(PARTIALS), 5)
        rt1 = stat_int(self.server, "read_timeouts")
        for s in socks:
            s.close()
        print("binary partial requests, --read-timeout %d: closed after %s s; read_timeouts "
              "%d -> %d" % (READ_TIMEOUT, ", ".join(_secs(closed[s][0]) for s in socks),
                            rt0, rt1))
        for (what, _), s in zip(PARTIALS, socks):
            secs, answer = closed[s]
            with self.subTest(what):
                self.assertIsNotNone(secs, "never closed")
                self.assertGreaterEqual(secs, READ_TIMEOUT - 1.5, "closed before --read-timeout")
                self.assertLessEqual(secs, READ_TIMEOUT + 3, "closed long after --read-timeout")
                want = 1 if what.startswith("a whole noop") else 0
                self.assertEqual(len(bw.parse(answer)[0]), want, "answered %r" % answer[:80])
        self.assertTrue(counted, "read_timeouts did not count them (%d -> %d)" % (rt0, rt1))
        # idle between whole packets: not a partial request, never timed out
        self.assertStillServed(loud, "idle after a loud request")
        self.assertStillServed(quiet, "idle after a quiet request")
        loud.close()
        quiet.close()
        with BinClient(self.port) as c:   # nothing half sent was stored
            p, = c.call(pkt(bw.GET, KEY))
            self.assertEqual(p.status, 0x01)
        self.assertSurvived()

    def test_trickle_inside_one_request_is_closed(self):
        # activity is no excuse: a byte every 0.4 s inside one request (a
        # header, then a value) is closed --read-timeout after it began
        loud, quiet = self.idle_connections()
        rt0 = stat_int(self.server, "read_timeouts")
        header = pkt(bw.VERSION)
        body = SET_HEAD + b"t" * 1000
        socks = [connect(self.port), connect(self.port)]
        socks[1].sendall(SET_HEAD)
        payloads = [header, body[len(SET_HEAD):]]
        t0 = time.monotonic()
        sent = [0, 0]
        life = [None, None]
        deadline = t0 + READ_TIMEOUT + 8
        while None in life and time.monotonic() < deadline:
            for i, s in enumerate(socks):
                if life[i] is not None:
                    continue
                try:
                    if sent[i] < len(payloads[i]) - 1:     # never the last byte
                        s.sendall(payloads[i][sent[i]:sent[i] + 1])
                        sent[i] += 1
                except (ConnectionResetError, BrokenPipeError):
                    life[i] = time.monotonic() - t0
                    continue
                data, closed = read_to_close(s, timeout=0.01)
                if closed:
                    life[i] = time.monotonic() - t0
                elif data:
                    self.fail("a trickling connection was answered %r" % data[:80])
            time.sleep(0.4)
        for s in socks:
            s.close()
        self.assertTrue(wait_until(lambda: stat_int(self.server, "read_timeouts") - rt0 >= 2,
                                   5), "read_timeouts did not count the trickles")
        print("binary trickles (a byte per 0.4 s): header closed after %s s (%d bytes), "
              "value after %s s (%d bytes)" % (_secs(life[0]), sent[0], _secs(life[1]),
                                               sent[1]))
        for i, what in enumerate(("header", "value")):
            self.assertIsNotNone(life[i], "a trickled %s was never closed" % what)
            self.assertGreaterEqual(life[i], READ_TIMEOUT - 1.5)
            self.assertLessEqual(life[i], READ_TIMEOUT + 3)
        self.assertStillServed(loud, "idle after a loud request")
        self.assertStillServed(quiet, "idle after a quiet request")
        loud.close()
        quiet.close()
        self.assertSurvived()

    def test_pipelined_gets_never_read_backpressure_then_timeout(self):
        # test_unread_output.py in binary: 4 clients pipeline GETs of a
        # 512 KiB value and never read. The server stops reading from them
        # (it never takes 64 MiB of requests), RSS stays bounded, and
        # --read-timeout closes them; a normal client is served meanwhile.
        attackers, value = 4, 512 * 1024
        push_max = 64 << 20
        with BinClient(self.port) as c:
            self.assertEqual(bin_set(c, b"big", b"B" * value), 0)
        base = settled_conns(self.server)
        rt0 = stat_int(self.server, "read_timeouts")
        rss0 = self.rss_kib()
        probe = BinProbe(self.port, max_seconds=30).start()
        req = pkt(bw.GET, b"big") * 4096
        t0 = time.monotonic()
        pushed, socks = [], []
        for _ in range(attackers):
            s = connect(self.port, rcvbuf=4096)
            s.setblocking(False)
            sent, blocked_since, t1 = 0, None, time.monotonic()
            while sent < push_max and time.monotonic() - t1 < 10:
                try:
                    sent += s.send(req)
                    blocked_since = None
                except BlockingIOError:
                    if blocked_since is None:
                        blocked_since = time.monotonic()
                    elif time.monotonic() - blocked_since > 1.0:
                        break            # the server stopped reading from us
                    time.sleep(0.01)
                except (ConnectionResetError, BrokenPipeError):
                    break
            pushed.append(sent)
            socks.append(s)
        rss1 = self.rss_kib()
        conns = conns_back_to(self.server, base + 1, READ_TIMEOUT + 8)    # +1: the probe
        closed_after = time.monotonic() - t0
        wait_until(lambda: stat_int(self.server, "read_timeouts") - rt0 >= attackers, 10)
        rt1 = stat_int(self.server, "read_timeouts")
        probe.stop()
        close_all(socks)
        print("%d binary attackers pushed %s bytes of GET (%d KiB value) without reading; RSS "
              "%d KiB before, %d while stuck (+%d); connections back to %s after %.1f s; "
              "read_timeouts %d -> %d" % (attackers, pushed, value >> 10, rss0, rss1,
                                          rss1 - rss0, conns, closed_after, rt0, rt1))
        print("normal binary client meanwhile: " + probe.summary())
        self.assertFalse(probe.errors, probe.errors[:2])
        self.assertGreater(len(probe.lat_ms), 50)
        self.assertLess(percentile(probe.lat_ms, 99), 50.0)
        for n in pushed:
            self.assertLess(n, push_max, "the server read 64 MiB of GETs it could not "
                                         "answer: no backpressure")
        # as test_unread_output: an input (~1 MiB) and an output buffer
        # (~256 KiB + 2 x -I) per connection at most
        self.assertRss("RSS growth bounded", lambda: self.assertLess(
            rss1 - rss0, attackers * 4 * 1024 + 8 * 1024, "server buffered without bound"))
        self.assertLessEqual(conns, base + 1, "stuck clients were not closed by read-timeout")
        self.assertGreaterEqual(rt1 - rt0, attackers, "closes not counted as read_timeouts")
        self.assertSurvived()


# ---- 4. a body over -I -----------------------------------------------------------------

ITEM_MAX = 2 * MIB
# requests hidden in a body that is to be swallowed: none may run
EVIL = (pkt(bw.SETQ, b"pwned", set_extras(0, 0), b"X") + pkt(bw.DELETEQ, b"seed:000")
        + pkt(bw.NOOP, opaque=0xbad))


def evil_bytes(n):
    return (EVIL * (n // len(EVIL) + 1))[:n]


class BinaryBodyOverItemMax(HostileCase):
    SERVER_ARGS = ("-I", "2m")

    def hwm_kib(self):
        return peak_rss_kib(self.server)

    def assertNothingRan(self, c):
        p, = c.call(pkt(bw.GET, b"pwned"))
        self.assertEqual(p.status, 0x01, "a request inside a swallowed body ran")

    def test_set_over_item_max_answered_too_large_after_its_body(self):
        hwm0 = self.hwm_kib()
        too_large0 = stat_int(self.server, "store_too_large")
        value = evil_bytes(ITEM_MAX + 1)
        with BinClient(self.port, timeout=30) as c:
            self.assertEqual(bin_set(c, b"tl:key", b"old"), 0)
            # the whole packet in one go, then a noop
            got = c.call(pkt(bw.SET, b"tl:key", set_extras(0, 0), value, opaque=0x1234)
                         + pkt(bw.NOOP, opaque=2), 2)
            self.assertEqual([(p.opcode, p.status, p.value, p.opaque) for p in got],
                             [(bw.SET, E2BIG, b"Too large.", 0x1234), (bw.NOOP, 0, b"", 2)])
            # memcached drops the old value of a set that failed
            self.assertEqual(bin_get(c, b"tl:key")[0], 0x01)
            # quiet, the header alone and then the body in 4 KiB sends: the
            # error is still answered (only once the body is all there)
            c.send(pkt(bw.SETQ, b"tl:q", set_extras(0, 0), bodylen=8 + 4 + len(value),
                       opaque=0x77))
            for i in range(0, len(value), 4096):
                c.send(value[i:i + 4096])
            got = c.call(pkt(bw.NOOP, opaque=3), 2)
            self.assertEqual([(p.opcode, p.status, p.opaque) for p in got],
                             [(bw.SETQ, E2BIG, 0x77), (bw.NOOP, 0, 3)])
            # an append whose own value is over -I
            got = c.call(pkt(bw.APPEND, b"seed:001", value=value, opaque=0x55)
                         + pkt(bw.NOOP, opaque=4), 2)
            self.assertEqual([(p.opcode, p.status, p.opaque) for p in got],
                             [(bw.APPEND, E2BIG, 0x55), (bw.NOOP, 0, 4)])
            self.assertNothingRan(c)
            # -I's own size minus the item header is stored and read back
            edge = b"e" * (ITEM_MAX - 512)
            self.assertEqual(bin_set(c, b"tl:edge", edge), 0)
            self.assertEqual(bin_get(c, b"tl:edge"), (0, 0, edge))
        too_large = stat_int(self.server, "store_too_large") - too_large0
        hwm1 = self.hwm_kib()
        print("binary values of -I + 1 bytes: E2BIG after the body, store_too_large +%d; "
              "peak RSS %d -> %d KiB" % (too_large, hwm0, hwm1))
        self.assertEqual(too_large, 3)
        self.assertSurvived()

    def test_declared_2_pow_31_minus_1_swallowed_not_allocated(self):
        # the largest body memcached swallows (its int): 2 GiB never sent;
        # 16 MiB of requests fed inside it are discarded, never answered
        hwm0 = self.hwm_kib()
        s = connect(self.port)
        try:
            s.sendall(pkt(bw.SET, b"tl:huge", set_extras(0, 0), bodylen=0x7fffffff))
            sent, received, closed = blast(s, evil_bytes(16 * MIB), timeout=30)
        finally:
            s.close()
        hwm1 = self.hwm_kib()
        print("binary set declaring 2^31-1 bytes: %d bytes of body fed, %d answered, closed "
              "%s; peak RSS %d -> %d KiB" % (sent, received, closed, hwm0, hwm1))
        self.assertEqual(sent, 16 * MIB)
        self.assertEqual(received, 0, "bytes inside a swallowed body were answered")
        self.assertFalse(closed)
        with BinClient(self.port) as c:
            self.assertNothingRan(c)
            self.assertEqual(bin_get(c, b"tl:huge")[0], 0x01)
        self.assertRss("peak RSS growth bounded", lambda: self.assertLess(
            hwm1 - hwm0, 8 * 1024, "RSS grew for a value never stored"))
        self.assertSurvived()

    def test_declared_past_2_pow_31_answered_at_once(self):
        # memcached holds such a length as a negative int: the error goes out
        # at once and the bytes after the header are read as requests
        # (test_binary.py "body_length_past_2_31"); nothing is allocated
        hwm0 = self.hwm_kib()
        with BinClient(self.port) as c:
            got = c.call(pkt(bw.SET, b"tl:neg", set_extras(0, 0), bodylen=0xfffffff0,
                             opaque=0x10) + pkt(bw.NOOP, opaque=0x11), 2)
            self.assertEqual([(p.opcode, p.status, p.opaque) for p in got],
                             [(bw.SET, E2BIG, 0x10), (bw.NOOP, 0, 0x11)])
            got = c.call(pkt(0x42, bodylen=0x90000000, opaque=0x20)
                         + pkt(bw.NOOP, opaque=0x21), 2)
            self.assertEqual([(p.opcode, p.status, p.opaque) for p in got],
                             [(0x42, UNKNOWN, 0x20), (bw.NOOP, 0, 0x21)])
            self.assertEqual(bin_get(c, b"tl:neg")[0], 0x01)
        hwm1 = self.hwm_kib()
        print("binary lengths past 2^31: answered at once; peak RSS %d -> %d KiB"
              % (hwm0, hwm1))
        self.assertRss("peak RSS growth bounded", lambda: self.assertLess(
            hwm1 - hwm0, 8 * 1024))
        self.assertSurvived()
