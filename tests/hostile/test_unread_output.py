"""A client pipelines gets of a large value and never reads the answers.
The server must stop reading from it (backpressure) instead of buffering
without bound: its RSS stays bounded while the attacker has pushed tens of
MiB of requests (each asking for 512 KiB); the attacker is closed by
--read-timeout; other clients are served meanwhile."""
import socket
import time

from hostile import HostileCase, LatencyProbe, conns_back_to, percentile, settled_conns
from harness import connect, wait_until
from wire import STORED, stat_int, storage, sync

READ_TIMEOUT = 3
ATTACKERS = 4
VALUE = 512 * 1024
PUSH_SECONDS = 6          # each attacker pushes until blocked this long or...
PUSH_MAX = 64 << 20       # ...this many bytes of requests
# per connection the server may hold an input buffer (~1 MiB) and an output
# buffer (~256 KiB + 2 * -I): a few MiB each; without bound it would be GiB
GROWTH_LIMIT_KIB = ATTACKERS * 4 * 1024 + 8 * 1024


def push_unread(port):
    """Pipelines "get big" without ever reading. Returns (socket, bytes sent)."""
    s = connect(port, rcvbuf=4096)
    s.setblocking(False)
    req = b"get big\r\n" * 4096
    sent, blocked_since, t0 = 0, None, time.monotonic()
    while sent < PUSH_MAX and time.monotonic() - t0 < PUSH_SECONDS + 4:
        try:
            sent += s.send(req)
            blocked_since = None
        except BlockingIOError:
            if blocked_since is None:
                blocked_since = time.monotonic()
            elif time.monotonic() - blocked_since > 1.0:
                break          # the server stopped reading from us: good
            time.sleep(0.01)
        except (ConnectionResetError, BrokenPipeError):
            break
    return s, sent


class UnreadOutput(HostileCase):
    SERVER_ARGS = ("--read-timeout", str(READ_TIMEOUT))

    def test_pipelined_gets_never_read(self):
        with self.server.client() as c:
            self.assertEqual(sync(c, storage("set", "big", b"B" * VALUE)), STORED)
        base = settled_conns(self.server)
        rt0 = stat_int(self.server, "read_timeouts")
        rss0 = self.rss_kib()
        probe = LatencyProbe(self.port, max_seconds=30).start()
        t0 = time.monotonic()
        attackers = [push_unread(self.port) for _ in range(ATTACKERS)]
        rss1 = self.rss_kib()
        pushed = [n for _, n in attackers]
        # wait for the read timeout to close them (they never read a byte more)
        conns = conns_back_to(self.server, base + 1, READ_TIMEOUT + 8)   # +1: the probe
        closed_after = time.monotonic() - t0
        wait_until(lambda: stat_int(self.server, "read_timeouts") - rt0 >= ATTACKERS, 10)
        rt1 = stat_int(self.server, "read_timeouts")
        rss2 = self.rss_kib()
        probe.stop()
        for s, _ in attackers:
            s.close()
        print("%d attackers pushed %s bytes of 'get big' (%d KiB value) without reading; "
              "RSS %d KiB before, %d while stuck (+%d), %d after close; connections back "
              "to %s after %.1f s; read_timeouts %d -> %d"
              % (ATTACKERS, pushed, VALUE >> 10, rss0, rss1, rss1 - rss0, rss2, conns,
                 closed_after, rt0, rt1))
        print("normal client meanwhile: " + probe.summary())
        self.assertFalse(probe.errors, probe.errors[:2])
        self.assertGreater(len(probe.lat_ms), 50)
        self.assertLess(percentile(probe.lat_ms, 99), 50.0)
        for n in pushed:
            self.assertLess(n, PUSH_MAX, "the server read 64 MiB of gets it could not "
                                         "answer: no backpressure")
        self.assertRss("RSS growth bounded", lambda: self.assertLess(
            rss1 - rss0, GROWTH_LIMIT_KIB, "server buffered without bound"))
        self.assertLessEqual(conns, base + 1, "stuck clients were not closed by read-timeout")
        self.assertGreaterEqual(rt1 - rt0, ATTACKERS, "closes not counted as read_timeouts")
        self.assertSurvived()

    def test_slow_reader_of_one_huge_multiget(self):
        # one request whose answer is 10,000 x 512 KiB (5 GiB): suspended at
        # the high-water mark, never materialised; closed by the read timeout
        with self.server.client() as c:
            self.assertEqual(sync(c, storage("set", "big", b"B" * VALUE)), STORED)
        base = settled_conns(self.server)
        rss0 = self.rss_kib()
        s = connect(self.port, rcvbuf=4096)
        s.sendall(b"get" + b" big" * 10000 + b"\r\n")
        time.sleep(1.0)
        rss1 = self.rss_kib()
        conns = conns_back_to(self.server, base, READ_TIMEOUT + 8)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        s.close()
        print("5 GiB multi-get answer never read: RSS %d -> %d KiB; connections back to %s"
              % (rss0, rss1, conns))
        self.assertRss("RSS growth bounded", lambda: self.assertLess(rss1 - rss0, 8 * 1024))
        self.assertLessEqual(conns, base, "stuck reader not closed by read-timeout")
        self.assertSurvived()
