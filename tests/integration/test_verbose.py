"""-v / -vv and the "verbosity" command (SPEC §2). memcached's meaning: -v
logs errors, -vv also each client command and answer; "verbosity N" changes
the level at run time, capped at 2. hardcached's log lines: "<fd command",
">fd" the answer's kind (its first line; an incr/decr number shows as
"(number)", a "STAT name value" line as "STAT name"), client bytes escaped;
values and counters are never logged; and
"verbosity N" cannot raise the level past the start-up -v count (a client
cannot turn on a log of every key). Each case reads the daemon's own output.

Timing: a command's log lines are written before its answer is sent, so once a
test has read the answer they are in the file; everything else (a connection
closed, a timeout) happens on the daemon's clock and is waited for with a
deadline (log_has), never a sleep."""
import unittest

from itest import deliberate_difference, hardcached_only, start_server
from wire import END, OK, STORED, storage, sync

WAIT = 10.0     # a deadline for events under load; a pass returns as soon as it is seen


def log_has(server, pattern, timeout=WAIT):
    """True once the daemon's output matches the regex (re.M), False at the deadline."""
    return server.wait_output(pattern, timeout) is not None


def our_fd(server, client):
    """The fd the daemon logs our connection under (found by our port: the
    harness's readiness probe connected first, maybe on another fd)."""
    port = client.sock.getsockname()[1]
    m = server.wait_output(r"^<(\d+) new client connection from tcp:127\.0\.0\.1:%d$" % port)
    assert m is not None, server.output()
    return m.group(1)


class VerbosityCommand(unittest.TestCase):
    """Both daemons: the level shows in "stats settings" and is capped at 2."""

    def test_level_changes_and_is_capped(self):
        with start_server(("-vv",)) as s, s.client() as c:
            self.assertEqual(c.stats("settings")["verbosity"], "2")
            self.assertEqual(sync(c, b"verbosity 1\r\n"), OK)
            self.assertEqual(c.stats("settings")["verbosity"], "1")
            self.assertEqual(sync(c, b"verbosity 7\r\n"), OK)
            self.assertEqual(c.stats("settings")["verbosity"], "2")
            self.assertEqual(sync(c, b"verbosity 0 noreply\r\n"), b"")
            self.assertEqual(c.stats("settings")["verbosity"], "0")

    @deliberate_difference
    def test_client_cannot_raise_past_start_level(self):
        # memcached 1.6.18: "verbosity 2" on a quiet server logs every key
        with start_server() as s, s.client() as c:
            self.assertEqual(sync(c, b"verbosity 2\r\n"), OK)
            self.assertEqual(c.stats("settings")["verbosity"], "0")
            self.assertEqual(sync(c, storage("set", "secret-session-id", "v")), STORED)
            # a line would have been written before the answer we just read
            self.assertNotIn("secret-session-id", s.output())


@hardcached_only("the log's own format")
class TrafficLog(unittest.TestCase):

    def test_vv_logs_commands_and_first_answer_lines(self):
        with start_server(("-vv",)) as s:
            with s.client() as c:
                self.assertEqual(sync(c, storage("set", "k1", "value-bytes-never-logged")), STORED)
                self.assertEqual(sync(c, b"get k1 nope\r\n")[:9], b"VALUE k1 ")
                self.assertEqual(sync(c, b"bogus\r\n"), b"ERROR\r\n")
                self.assertTrue(log_has(s, r"^<(\d+) bogus$"), s.output())
                port = c.sock.getsockname()[1]
                fd = our_fd(s, c)
                out = s.output()
                expected = ["<%s set k1 0 0 24" % fd, ">%s STORED" % fd,
                            "<%s get k1 nope" % fd, ">%s VALUE k1 0 24" % fd,
                            "<%s version" % fd, "<%s bogus" % fd, ">%s ERROR" % fd]
                lines = [l for l in out.splitlines() if l.startswith(("<" + fd, ">" + fd))]
                for want in expected:
                    self.assertIn(want, lines)
                self.assertLess(lines.index(expected[0]), lines.index(expected[1]))
                self.assertNotIn("value-bytes-never-logged", out)
            # closed after our connection opened (the probe may have had the same fd before)
            opened = r"^<%s new client connection from tcp:127\.0\.0\.1:%d$" % (fd, port)
            self.assertTrue(log_has(s, opened + r"(?s:.*)^<%s connection closed\.$" % fd),
                            s.output())

    def test_vv_logs_answer_kinds_never_numbers_or_stat_values(self):
        # SECURITY.md: -vv never logs values; incr/decr answer with one, stats with counters
        with start_server(("-vv",)) as s, s.client() as c:
            self.assertEqual(sync(c, storage("set", "ctr", "7000001")), STORED)
            self.assertEqual(sync(c, b"incr ctr 1\r\n"), b"7000002\r\n")
            self.assertEqual(sync(c, b"decr ctr 3\r\n"), b"6999999\r\n")
            self.assertEqual(sync(c, b"incr ctr 1 noreply\r\n"), b"")
            self.assertEqual(sync(c, b"get ctr\r\n"), b"VALUE ctr 0 7\r\n7000000\r\nEND\r\n")
            self.assertEqual(sync(c, b"incr nope 1\r\n"), b"NOT_FOUND\r\n")
            st = c.stats()
            settings = c.stats("settings")
            fd = our_fd(s, c)
            out = s.output()
            lines = [l for l in out.splitlines() if l.startswith(("<" + fd, ">" + fd))]
            for want in ["<%s incr ctr 1" % fd, ">%s (number)" % fd, "<%s decr ctr 3" % fd,
                         ">%s VALUE ctr 0 7" % fd, ">%s NOT_FOUND" % fd,
                         "<%s stats" % fd, ">%s STAT pid" % fd,
                         "<%s stats settings" % fd, ">%s STAT maxbytes" % fd]:
                self.assertIn(want, lines)
            self.assertEqual(lines.count(">%s (number)" % fd), 2)
            for value in ["7000001", "7000002", "6999999", "7000000"]:
                self.assertNotIn(value, out)
            # no answer line shows a stat's value: the STAT lines end at the name
            shown = [l for l in lines if l.startswith(">%s STAT " % fd)]
            self.assertEqual(len(shown), 2)
            for l in shown:
                self.assertEqual(len(l.split(" ")), 3, l)
            self.assertNotIn(" %s" % st["pid"], "\n".join(lines))
            self.assertNotIn(settings["maxbytes"], out)

    def test_client_bytes_are_escaped_and_cut(self):
        with start_server(("-vv",)) as s, s.client() as c:
            # a forged log line after a control byte, a backslash, an ESC
            self.assertEqual(sync(c, b"get a\x01b\\c\x1b[31m\rfake\r\n"), END)
            long_key = b"g" * 240
            self.assertEqual(sync(c, b"get " + b" ".join([long_key] * 4) + b"\r\n"), END)
            self.assertTrue(log_has(s, r"\.\.\.$"), s.output())
            out = s.output()
            self.assertIn(r"get a\x01b\x5cc\x1b[31m\x0dfake", out)
            self.assertNotIn("\x1b", out)
            self.assertNotIn("\x01", out)
            cut = [l for l in out.splitlines() if l.endswith("...")]
            self.assertEqual(len(cut), 1)
            # "<fd " + 200 client bytes + "..."
            self.assertEqual(len(cut[0].split(" ", 1)[1]), 200 + 3)
            self.assertTrue(cut[0].startswith("<"))
            # an answer's first line is cut the same way
            key = "v" * 250
            self.assertEqual(sync(c, storage("set", key, "x" * 300)), STORED)
            self.assertEqual(sync(c, b"get " + key.encode() + b"\r\n")[:6], b"VALUE ")
            self.assertTrue(log_has(s, r"^>\d+ VALUE v{194}\.\.\.$"), s.output())
            self.assertNotIn("x" * 10, s.output())

    def test_verbosity_zero_stops_the_log(self):
        with start_server(("-vv",)) as s, s.client() as c:
            self.assertEqual(sync(c, b"verbosity 0\r\n"), OK)
            self.assertEqual(sync(c, b"get after-zero\r\n"), END)
            self.assertEqual(sync(c, b"verbosity 2\r\n"), OK)     # back to the start level
            self.assertEqual(sync(c, b"get after-two\r\n"), END)
            self.assertTrue(log_has(s, r"get after-two$"), s.output())
            self.assertNotIn("after-zero", s.output())

    def test_v_logs_timeouts_not_traffic(self):
        with start_server(("-v", "--read-timeout", "1", "-o", "idle_timeout=2")) as s:
            with s.client() as partial, s.client() as idle:
                partial.send(b"get half-a-comm")
                self.assertEqual(sync(idle, b"get k\r\n"), END)
                self.assertTrue(partial.is_closed(WAIT))
                self.assertTrue(idle.is_closed(WAIT))
            self.assertTrue(log_has(s, r"^hardcached: closed tcp:127\.0\.0\.1:\d+: a partial "
                                       r"request or unread answers held for 1 s"), s.output())
            self.assertTrue(log_has(s, r"^hardcached: closed tcp:127\.0\.0\.1:\d+: idle for 2 s"),
                            s.output())
            self.assertNotIn("half-a-comm", s.output())
            self.assertNotIn("get k", s.output())

    def test_quiet_by_default(self):
        with start_server(("--read-timeout", "1")) as s, s.client() as c:
            c.send(b"get half")
            self.assertTrue(c.is_closed(WAIT))
            # a -v line for this close would be written before the close itself
            self.assertEqual(s.output(), "")


if __name__ == "__main__":
    unittest.main()
