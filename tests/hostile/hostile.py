"""hostile.py: what only the hostile-client tests (tests/hostile/) share: the
test pattern (HostileCase), the bystander's seed, the attack tools (blast,
LatencyProbe) and connection-count waits. Servers, clients, raw sockets and
waits are tests/lib/harness.py's; the protocol's bytes are tests/lib/wire.py's.

Every test here is an integration test against a real daemon (build/hardcached,
or $HC_BIN) on 127.0.0.1 and follows one pattern (HostileCase):

  1. start a fresh server with the test's flags;
  2. a "bystander" client writes SEED_N keys with known values and flags;
  3. the test attacks;
  4. assertSurvived(): the process is alive, a new client is answered, and the
     bystander's data is intact (byte for byte, flags too). Tests whose attack
     legitimately evicts (memory filled past -m) pass evictions_ok=True: a seed
     key may then be missing, but a present one must still be exact.

HC_SANITIZED=1 (the ASan build): RSS figures are meaningless (shadow memory), so
RSS assertions are skipped with that reason; everything else still runs.

Every wait is bounded: sockets have timeouts, loops have a count and a deadline.
Traffic goes to 127.0.0.1 only."""
import os
import random
import select
import sys
import threading
import time
import unittest

_HERE = os.path.dirname(os.path.abspath(__file__))
_LIB = os.path.join(_HERE, "..", "lib")
if _LIB not in sys.path:
    sys.path.insert(0, _LIB)

import harness  # noqa: E402  (path set up above)
from wire import STORED, read_get_reply, stat_int, storage  # noqa: E402

ROOT = harness.ROOT
SANITIZED = os.environ.get("HC_SANITIZED", "") not in ("", "0")
SANITIZED_REASON = "ASan build (HC_SANITIZED=1): shadow memory makes RSS meaningless"
HOST = "127.0.0.1"

SEED_N = 100


# ---- connection counts ----------------------------------------------------------

def settled_conns(server, timeout=2.0):
    """stats curr_connections once recently closed clients are gone: the
    server learns of a close asynchronously, so a count taken right after one
    may still include it. Polls until the same value is read three times in a
    row (bounded by timeout) and returns the smallest value seen."""
    seen, same, last = [], 0, None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and same < 3:
        v = stat_int(server, "curr_connections")
        same = same + 1 if v == last else 1
        last = v
        seen.append(v)
        time.sleep(0.05)
    return min(seen)


def conns_back_to(server, baseline, timeout):
    """Waits until stats curr_connections is at most `baseline` (a value read
    earlier the same way, by one asking client); returns the last value seen."""
    last = [None]

    def ok():
        last[0] = stat_int(server, "curr_connections")
        return last[0] <= baseline
    harness.wait_until(ok, timeout, interval=0.1)
    return last[0]


# ---- values -----------------------------------------------------------------

def seed_items():
    """SEED_N (key, flags, value): sizes 1..~8 KiB, each value names its key."""
    rnd = random.Random(4242)
    items = []
    for i in range(SEED_N):
        key = "seed:%03d" % i
        size = rnd.choice([1, 10, 100, 1000, 3000, 8000]) + rnd.randrange(0, 50)
        head = b"%s|" % key.encode()
        body = bytes(rnd.randrange(256) for _ in range(min(size, 64)))
        value = (head + body * (size // max(len(body), 1) + 1))[:size]
        items.append((key, rnd.randrange(0, 1 << 32), value))
    return items


# ---- attacks --------------------------------------------------------------------

def blast(sock, data, timeout=30.0, chunk=65536):
    """Sends data on sock while draining whatever the server answers, so a
    server applying backpressure never deadlocks us. Stops when all is sent
    (then drains for up to 1 s more), when the server closes, or at timeout.
    Returns (bytes_sent, bytes_received, closed_by_server)."""
    sock.setblocking(False)
    sent = received = 0
    closed = False
    deadline = time.monotonic() + timeout
    drain_until = None
    try:
        while time.monotonic() < deadline:
            if sent >= len(data) and drain_until is None:
                drain_until = time.monotonic() + 1.0
            if drain_until is not None and time.monotonic() >= drain_until:
                break
            want_w = [sock] if sent < len(data) else []
            r, w, _ = select.select([sock], want_w, [], 0.2)
            if r:
                try:
                    got = sock.recv(262144)
                except (ConnectionResetError, BrokenPipeError):
                    closed = True
                    break
                except BlockingIOError:
                    got = None
                if got == b"":
                    closed = True
                    break
                if got:
                    received += len(got)
            if w:
                try:
                    sent += sock.send(data[sent:sent + chunk])
                except BlockingIOError:
                    pass
                except (ConnectionResetError, BrokenPipeError):
                    closed = True
                    break
    finally:
        try:
            sock.setblocking(True)
        except OSError:
            pass
    return sent, received, closed


def percentile(samples, p):
    s = sorted(samples)
    if not s:
        return float("nan")
    k = min(len(s) - 1, max(0, int(round(p / 100.0 * (len(s) - 1)))))
    return s[k]


class LatencyProbe:
    """A normal client that keeps doing get/set round trips in a background
    thread until stopped; records each round trip's latency in ms and every
    error. Bounded by max_seconds and max_ops."""

    def __init__(self, port, key="probe:key", max_seconds=60.0, max_ops=2_000_000,
                 pause=0.002):
        self.port, self.key, self.pause = port, key.encode(), pause
        self.max_seconds, self.max_ops = max_seconds, max_ops
        self.lat_ms, self.errors = [], []
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self._t.start()
        return self

    def stop(self):
        self._stop.set()
        self._t.join(10)

    def _run(self):
        deadline = time.monotonic() + self.max_seconds
        value = b"probe-value-" + b"p" * 100
        try:
            c = harness.RawClient((HOST, self.port), 5.0)
            c.send(storage("set", self.key, value))
            assert c.readline() == STORED
            n = 0
            while not self._stop.is_set() and n < self.max_ops and time.monotonic() < deadline:
                t0 = time.perf_counter()
                if n % 10 == 9:
                    c.send(storage("set", self.key, value))
                    line = c.readline()
                    if line != STORED:
                        raise AssertionError("probe set answered %r" % line)
                else:
                    c.send(b"get " + self.key + b"\r\n")
                    got = read_get_reply(c)
                    if got != [(self.key.decode(), 0, value)]:
                        raise AssertionError("probe get answered %r" % (got,))
                self.lat_ms.append((time.perf_counter() - t0) * 1000.0)
                n += 1
                time.sleep(self.pause)
            c.close()
        except Exception as e:  # noqa: BLE001 - reported by the test
            self.errors.append(e)

    def summary(self):
        return "%d round trips, p50 %.2f ms, p99 %.2f ms, max %.2f ms" % (
            len(self.lat_ms), percentile(self.lat_ms, 50), percentile(self.lat_ms, 99),
            max(self.lat_ms) if self.lat_ms else float("nan"))


# ---- the test pattern -----------------------------------------------------------

class HostileCase(unittest.TestCase):
    """One fresh server per test (flags in SERVER_ARGS), seeded by a bystander
    before the attack; each test ends with self.assertSurvived()."""
    SERVER_ARGS = ()

    def setUp(self):
        sys.setswitchinterval(0.001)   # latency probes share the GIL with attackers
        self.server = harness.Server(args=list(self.SERVER_ARGS))
        self.addCleanup(self.server.stop)
        self.port = self.server.port
        self.seed = seed_items()
        with self.server.client() as c:
            c.send(b"".join(storage("set", k, v, flags=f) for k, f, v in self.seed))
            for k, _, _ in self.seed:
                self.assertEqual(c.readline(), STORED, "seeding %s" % k)
        self._survival_checked = False

    def tearDown(self):
        if not self._survival_checked and self._outcome_ok():
            raise AssertionError("test did not call assertSurvived()")

    def _outcome_ok(self):
        # True when the test body has reported no failure or error so far
        outcome = getattr(self, "_outcome", None)
        result = getattr(outcome, "result", None)
        if result is None:
            return True
        return not any(t is self for t, _ in list(result.errors) + list(result.failures))

    def server_tail(self, last=2000):
        """The tail of what the daemon printed (for failure messages)."""
        return self.server.output()[-last:]

    def assertAlive(self):
        rc = self.server.proc.poll()
        self.assertIsNone(rc, "server died (exit %s); stderr tail:\n%s" % (rc, self.server_tail()))

    def assertSurvived(self, evictions_ok=False):
        """Alive, answers a new client, bystander's data intact."""
        self._survival_checked = True
        self.assertAlive()
        with self.server.client() as c:
            self.assertEqual(c.cmd("version")[:8], b"VERSION ")
            c.send(storage("set", "after:attack", b"fine"))
            self.assertEqual(c.readline(), STORED)
            self.assertEqual(c.get("after:attack"), b"fine")
            c.send(b"get " + b" ".join(k.encode() for k, _, _ in self.seed) + b"\r\n")
            got = {k: (f, v) for k, f, v in read_get_reply(c)}
        missing = 0
        for k, f, v in self.seed:
            if k not in got:
                missing += 1
                continue
            self.assertEqual(got[k], (f, v), "bystander's %s changed" % k)
        if evictions_ok:
            print("bystander data: %d of %d keys present and exact, %d evicted"
                  % (SEED_N - missing, SEED_N, missing))
        else:
            self.assertEqual(missing, 0, "%d of the bystander's keys vanished" % missing)
        self.assertAlive()

    def rss_kib(self):
        return self.server.rss_kib()

    def assertRss(self, what, check):
        """Runs check() (RSS assertions) as a subtest; under HC_SANITIZED it is
        skipped with the reason, which the runner prints."""
        with self.subTest(what):
            if SANITIZED:
                self.skipTest(SANITIZED_REASON)
            check()


# ---- pushing without reading ----------------------------------------------------

def push_each(socks, payload_of, seconds=30.0, stall=1.0):
    """Sends payload_of(i) on socks[i] (non-blocking sockets), round-robin,
    without reading. A socket is done when all is sent, when the server
    closed it, or when it took nothing for `stall` s (the server stopped
    reading: backpressure). Returns (bytes sent in total, sockets the server
    closed)."""
    payloads = {s: payload_of(i) for i, s in enumerate(socks)}
    left = {s: 0 for s in socks}
    idle_since = {}
    sent_total, closed = 0, 0
    deadline = time.monotonic() + seconds
    while left and time.monotonic() < deadline:
        _, writable, _ = select.select([], list(left)[:1000], [], 0.1)
        now = time.monotonic()
        for s in list(left):
            if s not in writable:
                if now - idle_since.setdefault(s, now) > stall:
                    del left[s]
                continue
            idle_since.pop(s, None)
            data = payloads[s]
            try:
                n = s.send(data[left[s]:left[s] + 262144])
            except BlockingIOError:
                continue
            except (ConnectionResetError, BrokenPipeError):
                closed += 1
                del left[s]
                continue
            left[s] += n
            sent_total += n
            if left[s] >= len(data):
                del left[s]
    return sent_total, closed
