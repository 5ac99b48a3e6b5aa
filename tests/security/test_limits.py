"""test_limits.py: promise 6 at the connection level, each limit tested with
the server still serving other clients afterwards: -c, --max-conns-per-ip
(IPv6 peers counted per --per-ip-v6-prefix network; the grouping of
addresses is proven by tests/unit/test_connlimit.c, loopback having a single
IPv6 address), --read-timeout (slowloris), each with its stats counter."""
import os
import socket
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import harness  # noqa: E402
from harness import connect, read_to_close  # noqa: E402
from wire import TOO_MANY_CONNS as BUSY  # noqa: E402


def answers(s):
    s.sendall(b"version\r\n")
    return s.recv(100).startswith(b"VERSION ")


def closed_with(s, expected, wait=5.0):
    data, closed = read_to_close(s, wait)
    return closed and data == expected


def connect_served(port, timeout=10.0, host="127.0.0.1"):
    """A connection the server answers; retried while an earlier client's
    close is still on its way (the limit counts it until the server sees it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        s = connect(port, host=host)
        s.sendall(b"version\r\n")
        data = s.recv(100)
        if data.startswith(b"VERSION "):
            return s
        s.close()
        time.sleep(0.05)
    raise AssertionError("no connection was served")


def counter_once_admitted(srv, name):
    """A stats counter asked from 127.0.0.3 (an address with its own per-IP
    count), or None while the server still refuses the asking connection:
    it learns of the test's closed clients asynchronously, so right after
    they close -c can still be full."""
    try:
        with harness.RawClient(("127.0.0.1", srv.port), source=("127.0.0.3", 0)) as c:
            return int(c.stats()[name])
    except (AssertionError, OSError):
        return None


def wait_until_alone(port, deadline=10.0):
    """Waits until the server has seen every earlier client (the harness's
    readiness probe included) close: asks from 127.0.0.2, which has its own
    per-address slots, until it is the only connection."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        with harness.RawClient(("127.0.0.1", port), source=("127.0.0.2", 0)) as c:
            if c.stats()["curr_connections"] == "1":
                return
        time.sleep(0.05)
    raise AssertionError("earlier connections still open after %.0fs" % deadline)


class Limits(unittest.TestCase):
    def test_conn_limit(self):
        with harness.Server(["-c", "5"]) as srv:
            held = [connect_served(srv.port) for _ in range(5)]
            extra = connect(srv.port)
            self.assertTrue(closed_with(extra, BUSY))
            self.assertTrue(answers(held[0]))          # existing ones served on
            held.pop().close()
            fresh = connect_served(srv.port)
            fresh.close()
            for s in held:
                s.close()
            # counted by the listener after it closed the socket: wait for it
            harness.wait_until(
                lambda: (counter_once_admitted(srv, "rejected_connections") or 0) >= 1, 10,
                "rejected_connections to count the refusal")

    def test_per_ip_cap(self):
        with harness.Server(["--max-conns-per-ip", "3"]) as srv:
            wait_until_alone(srv.port)
            mine = [connect_served(srv.port) for _ in range(3)]
            fourth = connect(srv.port)
            self.assertTrue(closed_with(fourth, BUSY))
            other = connect(srv.port, source="127.0.0.2")   # another address: served
            self.assertTrue(answers(other))
            mine.pop().close()
            again = connect_served(srv.port)               # a slot came back
            for s in mine + [other, again]:
                s.close()
            harness.wait_until(
                lambda: (counter_once_admitted(srv, "per_ip_rejects") or 0) >= 1, 10,
                "per_ip_rejects to count the refusal")

    @unittest.skipUnless(socket.has_ipv6 and os.path.exists("/proc/net/if_inet6"),
                         "no IPv6 on this host")
    def test_per_ip_cap_over_ipv6(self):
        """::1 is counted with its /64 (the default) and capped; IPv4 keeps its
        own count; the refusal's log line names the network."""
        with harness.Server(["-l", "127.0.0.1,::1", "--max-conns-per-ip", "2"]) as srv:
            mine = [connect_served(srv.port, host="::1") for _ in range(2)]
            third = connect(srv.port, host="::1")
            self.assertTrue(closed_with(third, BUSY))
            v4 = connect(srv.port, source="127.0.0.2")       # its own count: served
            self.assertTrue(answers(v4))
            mine.pop().close()
            again = connect_served(srv.port, host="::1")     # a slot came back
            for s in mine + [v4, again]:
                s.close()
            with harness.RawClient(("127.0.0.1", srv.port), source=("127.0.0.3", 0)) as c:
                self.assertGreaterEqual(int(c.stats()["per_ip_rejects"]), 1)
                self.assertEqual(c.stats("settings")["per_ip_v6_prefix"], "64")
            self.assertIn("--max-conns-per-ip reached by its network (/64)", srv.output())

    def test_per_ip_v6_prefix_option(self):
        """--per-ip-v6-prefix: 1-128, in `stats settings`; anything else exits 64."""
        for bits in ("1", "48", "128"):
            with harness.Server(["--max-conns-per-ip", "4", "--per-ip-v6-prefix", bits]) as srv:
                settings = srv.stats("settings")
                self.assertEqual(settings["per_ip_v6_prefix"], bits)
                self.assertEqual(settings["max_conns_per_ip"], "4")
        with harness.Server() as srv:                       # the default, cap or not
            self.assertEqual(srv.stats("settings")["per_ip_v6_prefix"], "64")
        for bad in ("0", "129", "-1", "64x", "", "0x40", "1e2", " 64"):
            p = subprocess.run([harness.hardcached_binary(), "-p", str(harness.free_port()),
                                "--per-ip-v6-prefix", bad], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, timeout=30)
            self.assertEqual(p.returncode, 64, "%r: %s" % (bad, p.stderr))
            self.assertIn(b"--per-ip-v6-prefix: expected an integer 1-128", p.stderr, bad)

    def test_read_timeout_closes_partial_requests(self):
        with harness.Server(["--read-timeout", "2"]) as srv:
            slow = connect(srv.port)
            slow.sendall(b"get some")                       # no end of line
            idle = connect(srv.port)                        # no partial request
            started = time.monotonic()
            closed = False
            for byte in b"key-trickled-slowly":             # slowloris: a byte a second
                try:
                    slow.sendall(bytes([byte]))
                except OSError:
                    closed = True
                    break
                data, closed = read_to_close(slow, 0.5)
                self.assertEqual(data, b"")
                if closed:
                    break
                time.sleep(0.5)
            elapsed = time.monotonic() - started
            self.assertTrue(closed, "trickling connection was not closed in %.1f s" % elapsed)
            # the 1 s clock decides: never before 2 s - 1 tick; late only under load
            self.assertGreaterEqual(elapsed, 1.0)
            self.assertTrue(answers(idle))                  # idle is not partial
            with srv.client() as c:
                self.assertEqual(c.stats()["read_timeouts"], "1")
                self.assertEqual(c.set("k", "v"), b"STORED\r\n")

    def test_idle_timeout_closes_idle_connections(self):
        with harness.Server(["-o", "idle_timeout=1"]) as srv:
            wait_until_alone(srv.port)
            idle = connect(srv.port)
            self.assertTrue(answers(idle))
            silent = connect(srv.port)                 # never sends a byte
            self.assertTrue(closed_with(idle, b"", wait=4))
            self.assertTrue(closed_with(silent, b"", wait=4))
            with srv.client() as c:
                self.assertGreaterEqual(int(c.stats()["idle_timeouts"]), 2)

    def test_read_timeout_is_per_request(self):
        """A busy client whose reads often end mid-command is not a slowloris:
        each request completes quickly, so none is timed out."""
        with harness.Server(["--read-timeout", "2"]) as srv:
            s = connect(srv.port)
            s.sendall(b"get a")
            answered = 0
            for _ in range(10):                         # 5 s, well past 2 s
                time.sleep(0.5)
                s.sendall(b"\r\nget a")               # ends one request, starts the next
                data, closed = read_to_close(s, 0.2)
                self.assertFalse(closed, "closed after %d answers" % answered)
                answered += data.count(b"END\r\n")
            self.assertGreaterEqual(answered, 9)

    def test_partial_value_also_times_out(self):
        with harness.Server(["--read-timeout", "1"]) as srv:
            s = connect(srv.port)
            s.sendall(b"set k 0 0 100\r\nonly-part-of-it")
            self.assertTrue(closed_with(s, b"", wait=4))
            with srv.client() as c:
                self.assertEqual(c.get("k"), None)


if __name__ == "__main__":
    unittest.main()
