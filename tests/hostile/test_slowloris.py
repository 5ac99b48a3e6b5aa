"""Slowloris: 200 connections at a time trickle one byte a second for 10 s,
half of them inside a command line (never a newline), half inside a value
(line sent whole, then the value byte by byte); each one the server closes is
replaced at once. With --read-timeout 5 every one is closed about 5 s after it
began holding a partial request, counted in stats read_timeouts; an idle
connection (no partial request) is left alone; a normal client keeps getting
answers throughout with p99 under 10 ms."""
import select
import threading
import time

from hostile import HostileCase, LatencyProbe, percentile
from harness import connect
from wire import stat_int, sync

N_SLOW = 200
READ_TIMEOUT = 5
TRICKLE_SECONDS = 10
P99_LIMIT_MS = 10.0
MAX_OPENED = 4 * N_SLOW


class Trickler:
    """One thread drives all slow connections: a byte each per second. As a
    real slowloris does, a connection the server closes is replaced by a new
    one until `seconds` have passed (at most MAX_OPENED in all). Records each
    connection's lifetime (open to closed by the server)."""

    def __init__(self, port, n, seconds):
        self.port, self.n, self.seconds = port, n, seconds
        self.live = {}            # socket -> [index, opened at, bytes trickled]
        self.lifetimes = []       # seconds from open to close, per closed connection
        self.opened = 0
        self.errors = []
        self._t = threading.Thread(target=self._run, daemon=True)

    def _open(self):
        i = self.opened
        self.opened += 1
        s = connect(self.port)
        if i % 2 == 1:
            s.sendall(b"set slowval%03d 0 0 100\r\n" % (i % 1000))   # then the value, slowly
        self.live[s] = [i, time.monotonic(), 0]

    def _payload(self, i):
        if i % 2 == 0:
            return b"get " + b"slow%03d_" % (i % 1000) * 8                # no newline ever
        return b"v" * 100

    def start(self):
        for _ in range(self.n):
            self._open()
        self.t0 = time.monotonic()
        self._t.start()
        return self

    def join(self, timeout):
        self._t.join(timeout)

    def _closed(self, s):
        i, opened, _ = self.live.pop(s)
        self.lifetimes.append(time.monotonic() - opened)
        s.close()
        if time.monotonic() - self.t0 < self.seconds and self.opened < MAX_OPENED:
            self._open()

    def _check_closed(self, wait):
        if not self.live:
            time.sleep(wait)
            return
        r, _, _ = select.select(list(self.live), [], [], wait)
        for s in r:
            try:
                s.setblocking(False)
                data = s.recv(4096)
                s.setblocking(True)
            except (ConnectionResetError, BrokenPipeError):
                data = b""
            except BlockingIOError:
                continue
            if data == b"":
                self._closed(s)
            else:
                self.errors.append("slow connection %d was answered %r"
                                   % (self.live[s][0], data[:80]))

    def _run(self):
        try:
            end = self.t0 + self.seconds + READ_TIMEOUT + 3
            next_tick = self.t0
            while time.monotonic() < end and self.live:
                if time.monotonic() >= next_tick:
                    for s, st in list(self.live.items()):
                        payload = self._payload(st[0])
                        if st[2] >= len(payload):
                            continue
                        try:
                            s.send(payload[st[2]:st[2] + 1])
                            st[2] += 1
                        except (ConnectionResetError, BrokenPipeError):
                            self._closed(s)
                    next_tick += 1.0
                self._check_closed(0.1)
        except Exception as e:  # noqa: BLE001
            self.errors.append(repr(e))
        finally:
            for s in list(self.live):
                s.close()


class Slowloris(HostileCase):
    SERVER_ARGS = ("--read-timeout", str(READ_TIMEOUT))

    def test_slowloris_200_trickling_connections(self):
        idle = connect(self.port)               # holds nothing: must not be closed
        before = stat_int(self.server, "read_timeouts")
        probe = LatencyProbe(self.port, max_seconds=TRICKLE_SECONDS + READ_TIMEOUT + 10).start()
        time.sleep(0.5)
        slow = Trickler(self.port, N_SLOW, TRICKLE_SECONDS).start()
        slow.join(TRICKLE_SECONDS + READ_TIMEOUT + 10)
        probe.stop()
        after = stat_int(self.server, "read_timeouts")
        life = sorted(slow.lifetimes)
        print("slowloris: %d trickling connections opened over %d s (%d at a time), %d closed "
              "by the server after %.1f..%.1f s (median %.1f s); read_timeouts %d -> %d" % (
                  slow.opened, TRICKLE_SECONDS, N_SLOW, len(life), life[0] if life else -1,
                  life[-1] if life else -1, percentile(life, 50), before, after))
        print("normal client during slowloris: " + probe.summary())
        self.assertFalse(probe.errors, "normal client failed: %r" % probe.errors[:3])
        self.assertFalse(slow.errors, slow.errors[:3])
        self.assertGreaterEqual(slow.opened, N_SLOW)
        self.assertEqual(len(life), slow.opened, "trickling connections left open")
        self.assertGreaterEqual(life[0], READ_TIMEOUT - 1.5, "closed before --read-timeout")
        self.assertLessEqual(life[-1], READ_TIMEOUT + 3, "closed long after --read-timeout")
        self.assertGreaterEqual(after - before, slow.opened, "read_timeouts did not count them")
        self.assertGreater(len(probe.lat_ms), 100)
        self.assertLess(percentile(probe.lat_ms, 99), P99_LIMIT_MS)
        # the idle connection was not a slowloris: still open and served
        idle.settimeout(5)
        idle.sendall(b"version\r\n")
        self.assertTrue(idle.recv(100).startswith(b"VERSION "), "idle connection was closed")
        idle.close()
        with self.server.client() as c:   # none of the trickled values was stored
            self.assertEqual(sync(c, b"get slowval001 slowval003\r\n"), b"END\r\n")
        self.assertSurvived()
