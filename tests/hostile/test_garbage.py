"""Garbage on the wire: 1 MiB of seeded random bytes, a 64 KiB line without a
newline, and seeded random command-shaped lines. The server must survive,
close what memcached closes, and leave the bystander's data alone."""
import random
import time

from hostile import HostileCase, blast
from harness import connect, read_to_close
from wire import END, STORED, sync

RANDOM_SEED = 20240611
MIB = 1 << 20


class RandomBytes(HostileCase):

    def test_1mib_random_bytes(self):
        data = random.Random(RANDOM_SEED).randbytes(MIB)
        # memcached (and so hardcached) closes a connection whose line passes
        # 2048 bytes without "\n"; random bytes contain such a run about once
        # per MiB. The rest then goes on a new connection, so all 1 MiB is fed.
        pos, conns, received, t0 = 0, 0, 0, time.monotonic()
        while pos < len(data) and conns < 64 and time.monotonic() - t0 < 60:
            s = connect(self.port)
            conns += 1
            try:
                sent, got, closed = blast(s, data[pos:], timeout=30)
            finally:
                s.close()
            pos += sent
            received += got
            if not closed and pos < len(data):
                self.fail("server neither read nor closed (stuck at %d of %d bytes)"
                          % (pos, len(data)))
        print("1 MiB random (seed %d): %d bytes fed over %d connection(s), %d bytes "
              "answered, %.1f s" % (RANDOM_SEED, pos, conns, received, time.monotonic() - t0))
        self.assertEqual(pos, len(data), "could not feed the whole MiB")
        self.assertSurvived()


class LongLine(HostileCase):

    def test_64k_line_without_newline_closes(self):
        s = connect(self.port)
        try:
            line = random.Random(7).choice([b"x", b"set"]) + b"A" * (64 * 1024)
            sent, _, closed = blast(s, line, timeout=10)
            closed = closed or read_to_close(s, 5, keep=False)[1]
        finally:
            s.close()
        print("64 KiB line without newline: %d bytes sent, closed by server: %s"
              % (sent, closed))
        self.assertTrue(closed, "server kept a connection holding a 64 KiB non-get line")
        self.assertSurvived()

    def test_64k_line_then_newline_in_one_send(self):
        # the newline arrives too late: the first read already holds > 2048
        # bytes of one line, so the connection is closed as in memcached
        s = connect(self.port)
        try:
            sent, _, closed = blast(s, b"B" * (64 * 1024) + b"\r\nget seed:001\r\n", timeout=10)
            closed = closed or read_to_close(s, 5, keep=False)[1]
        finally:
            s.close()
        self.assertTrue(closed, "server kept a connection after a 64 KiB unknown line")
        self.assertSurvived()

    def test_2mib_get_line_without_newline(self):
        # "get" lines may be long (a large multi-get), but not without bound
        s = connect(self.port)
        try:
            keys = b" ".join(b"k%07d" % i for i in range(2 * 1024 * 1024 // 9))
            sent, _, closed = blast(s, b"get " + keys, timeout=20)
            closed = closed or read_to_close(s, 5, keep=False)[1]
        finally:
            s.close()
        print("2 MiB get line without newline: %d bytes sent, closed: %s" % (sent, closed))
        self.assertTrue(closed, "server kept buffering a get line past 2 MiB")
        self.assertSurvived()


VERBS = [b"set", b"add", b"replace", b"append", b"prepend", b"cas", b"get", b"gets",
         b"gat", b"gats", b"delete", b"incr", b"decr", b"touch", b"version",
         b"verbosity", b"stats", b"quit", b"mn", b"mg", b"ms", b"", b"GET", b"\x00set"]
NUMBERS = [b"0", b"1", b"-1", b"2147483647", b"2147483648", b"-2147483649", b"4294967295",
           b"4294967296", b"18446744073709551615", b"18446744073709551616", b"1e9", b"0x10",
           b" 5", b"+5", b"", b"99999999999999999999999999"]


def random_line(rnd):
    verb = rnd.choice(VERBS)
    words = [verb]
    for _ in range(rnd.randrange(0, 8)):
        kind = rnd.random()
        if kind < 0.4:
            words.append(rnd.choice(NUMBERS))
        elif kind < 0.7:  # keys never start with "seed:": the bystander's stay safe
            words.append(b"g" + bytes(rnd.randrange(33, 127) for _ in range(rnd.randrange(0, 300))))
        elif kind < 0.8:
            words.append(b"noreply")
        else:
            words.append(rnd.randbytes(rnd.randrange(0, 40)).replace(b"\n", b"").replace(b" ", b"_"))
    line = b" ".join(words) + rnd.choice([b"\r\n", b"\n", b"\r\n", b"\r\r\n"])
    if verb in (b"set", b"add", b"replace", b"append", b"prepend", b"cas") and rnd.random() < 0.7:
        line += rnd.randbytes(rnd.randrange(0, 200)) + b"\r\n"
    return line


class RandomCommands(HostileCase):

    def test_random_command_lines(self):
        rnd = random.Random(RANDOM_SEED + 1)
        t0, conns, lines, fed = time.monotonic(), 0, 0, 0
        while conns < 40 and time.monotonic() - t0 < 30:
            batch = b"".join(random_line(rnd) for _ in range(500))
            batch = batch.replace(b"flush_all", b"flush_nil").replace(b"shutdown", b"shutnone")
            s = connect(self.port)
            conns += 1
            try:
                sent, _, _ = blast(s, batch, timeout=10)
            finally:
                s.close()
            lines += 500
            fed += sent
        print("random command lines: %d lines, %d bytes over %d connections, %.1f s"
              % (lines, fed, conns, time.monotonic() - t0))
        with self.server.client() as c:
            self.assertEqual(sync(c, b"set fine 0 0 2\r\nok\r\nget fine\r\n"),
                             STORED + b"VALUE fine 0 2\r\nok\r\n" + END)
        self.assertSurvived()
