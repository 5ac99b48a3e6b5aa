"""One memory budget for all connection buffers (--conn-mem-limit).

Four attacks that each pushed the daemon to hundreds of MiB or GiB before
the budget existed (figures at -m 64, everything else default):
  1. 1,000 connections each sending a 1 MB `get` line with no newline (734 MB);
  2. 500 connections each asking `get big` x20 for a 1 MB value, never
     reading (392 MB);
  3. 1,000 connections sending a complete 1 MB multiget line, never reading
     (0.85-1.86 GB);
  4. -m 128 -I 32m: 50 connections asking for a 32 MB value, never reading
     (1.65 GB).
Under each: peak RSS (VmHWM) <= 200 MiB, a normal client is served during
the attack with no error, the values stored before it read back intact,
and refusals and closes are counted in stats."""
import resource
import socket
import subprocess

from hostile import HostileCase, LatencyProbe, SANITIZED, push_each
import harness
from harness import connect
from wire import STORED, stat_int, storage, sync

PEAK_RSS_MAX_KIB = 200 * 1024
SEND_SECONDS = 30.0


def setUpModule():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, 8192)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def peak_rss_kib(server):
    with open("/proc/%d/status" % server.proc.pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM in /proc/%d/status" % server.proc.pid)


def open_clients(port, n, rcvbuf=None):
    socks = []
    for _ in range(n):
        s = connect(port, rcvbuf=rcvbuf)
        s.setblocking(False)
        socks.append(s)
    return socks


def push_all(socks, payload, seconds=SEND_SECONDS, stall=1.0):
    """push_each with the same payload on every socket."""
    return push_each(socks, lambda i: payload, seconds, stall)


def count_closed(socks):
    """How many of socks the server has closed (reset or EOF seen)."""
    n = 0
    for s in socks:
        try:
            while True:
                got = s.recv(1 << 20)
                if got == b"":
                    n += 1
                    break
        except BlockingIOError:
            continue
        except (ConnectionResetError, BrokenPipeError):
            n += 1
    return n


def close_all(socks):
    for s in socks:
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            s.close()
        except OSError:
            pass


class ConnMemoryCase(HostileCase):
    SERVER_ARGS = ("-m", "64")

    def attack(self, what, socks_payload, setup=None):
        """Runs one attack: setup() stores what it needs, socks_payload()
        opens the attackers and pushes; checks the bars."""
        if setup is not None:
            setup()
        probe = LatencyProbe(self.port, max_seconds=90).start()
        socks = []
        try:
            socks, sent = socks_payload()
            # the attackers still hold what they made the server buffer: the
            # normal client must get 20 more round trips done meanwhile
            during = len(probe.lat_ms)
            served = harness.wait_until(
                lambda: probe.errors or len(probe.lat_ms) >= during + 20, 20)
            st = self.server.stats()
            closed = count_closed(socks)
            peak = peak_rss_kib(self.server)
            rss = self.rss_kib()
        finally:
            probe.stop()
            close_all(socks)
        print("%s: %d attackers sent %.1f MB; server closed %d; peak RSS %.1f MiB (now "
              "%.1f); buffers %s bytes, peak %s; read_buf_oom %s, response_obj_oom %s"
              % (what, len(socks), sent / 1e6, closed, peak / 1024.0, rss / 1024.0,
                 st.get("read_buf_bytes"), st.get("conn_mem_peak"), st.get("read_buf_oom"),
                 st.get("response_obj_oom")))
        print("normal client meanwhile: " + probe.summary())
        self.assertFalse(probe.errors, probe.errors[:2])
        self.assertTrue(served, "the normal client was not served while the attackers held "
                                "their buffers (%d round trips)" % (len(probe.lat_ms) - during))
        self.assertRss("peak RSS within %d MiB" % (PEAK_RSS_MAX_KIB // 1024),
                       lambda: self.assertLessEqual(peak, PEAK_RSS_MAX_KIB))
        budget = int(self.server.stats("settings")["read_buf_mem_limit"])
        self.assertLessEqual(int(st["conn_mem_peak"]), budget + (len(socks) + 8) * 64 * 1024,
                             "buffers passed the budget plus each connection's allowance")
        self.assertSurvived()
        return st


class LongLinesNoNewline(ConnMemoryCase):
    def test_1000_connections_send_1mb_get_line_without_newline(self):
        line = b"get " + b"k" * 200 + b" " + (b"x" * 240 + b" ") * 4300
        line = line[:1_000_000]

        def go():
            socks = open_clients(self.port, 1000)
            sent, _ = push_all(socks, line)
            return socks, sent
        st = self.attack("1 MB get lines, no newline", go)
        self.assertGreater(int(st["read_buf_oom"]), 0, "nobody was refused: no budget?")


class UnreadBigValues(ConnMemoryCase):
    def test_500_connections_get_1mb_value_x20_never_reading(self):
        def setup():
            with self.server.client() as c:
                self.assertEqual(sync(c, storage("set", "big", b"B" * 1_000_000)), STORED)

        def go():
            socks = open_clients(self.port, 500, rcvbuf=4096)
            sent, _ = push_all(socks, b"get big\r\n" * 20)
            # every attacker's first get has run (answered into its buffer,
            # or refused): the buffers are as full as the attack makes them
            harness.wait_until(lambda: stat_int(self.server, "cmd_get") >= 500, 10,
                               "a get of every attacker to run")
            return socks, sent
        st = self.attack("get of a 1 MB value x20, never read", go, setup)
        self.assertGreater(int(st["response_obj_oom"]), 0, "no answer was refused: no budget?")


class UnreadHugeMultiget(ConnMemoryCase):
    def test_1000_connections_send_1mb_multiget_never_reading(self):
        def setup():
            with self.server.client() as c:
                self.assertEqual(sync(c, storage("set", "mid", b"M" * 100_000)), STORED)
        line = (b"get" + b" mid" * 249_000)[:1_000_000 - 2] + b"\r\n"

        def go():
            socks = open_clients(self.port, 1000, rcvbuf=4096)
            sent, _ = push_all(socks, line)
            return socks, sent
        st = self.attack("complete 1 MB multiget lines, never read", go, setup)
        self.assertGreater(int(st["read_buf_oom"]) + int(st["response_obj_oom"]), 0,
                           "nothing was refused: no budget?")


class UnreadHugeValue(ConnMemoryCase):
    SERVER_ARGS = ("-m", "128", "-I", "32m")

    def test_50_connections_get_32mb_value_never_reading(self):
        def setup():
            with self.server.client() as c:
                c.sock.settimeout(30)
                self.assertEqual(sync(c, storage("set", "huge", b"H" * (32_000_000))), STORED)

        def go():
            socks = open_clients(self.port, 50, rcvbuf=4096)
            sent, _ = push_all(socks, b"get huge\r\n")
            harness.wait_until(lambda: stat_int(self.server, "cmd_get") >= 50, 15,
                               "the get of every attacker to run")
            return socks, sent
        st = self.attack("get of a 32 MB value, never read", go, setup)
        self.assertGreater(int(st["response_obj_oom"]), 0, "no answer was refused: no budget?")


if SANITIZED:
    # the attacks are about RSS; the sanitizer build's shadow memory makes
    # the bar meaningless, and the other checks run in the plain build
    del LongLinesNoNewline, UnreadBigValues, UnreadHugeMultiget, UnreadHugeValue


class BudgetOption(HostileCase):
    """The option's two spellings, its default and its floor."""
    SERVER_ARGS = ()

    def limit_with(self, *args):
        with harness.Server(args=list(args)) as s:
            return int(s.stats("settings")["read_buf_mem_limit"])

    def test_spellings_default_and_bad_values(self):
        self.assertEqual(int(self.server.stats("settings")["read_buf_mem_limit"]), 64 << 20)
        self.assertEqual(self.limit_with("--conn-mem-limit", "16"), 16 << 20)
        self.assertEqual(self.limit_with("-o", "read_buf_mem_limit=128"), 128 << 20)
        for bad in (["--conn-mem-limit", "x"], ["--conn-mem-limit", "-1"],
                    ["-o", "read_buf_mem_limit=2000000"]):
            r = subprocess.run([harness.hardcached_binary(), "-p", "1"] + bad,
                               capture_output=True, timeout=10)
            self.assertEqual(r.returncode, 64, (bad, r.stderr))
            self.assertIn(b"conn-mem-limit" if bad[0].startswith("--") else b"read_buf_mem_limit",
                          r.stderr)
        st = self.server.stats()
        for field in ("read_buf_bytes", "read_buf_count", "read_buf_oom", "response_obj_oom",
                      "response_obj_bytes", "response_obj_count", "conn_mem_peak"):
            self.assertIn(field, st)
        self.assertGreater(int(st["read_buf_bytes"]), 0)
        self.assertSurvived()
