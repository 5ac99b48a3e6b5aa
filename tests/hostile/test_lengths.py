"""Hostile declared lengths: a set declaring 2^31, 2^31-1, 2147483645 bytes, a
negative length, 2^32+2 (1.6.18 read it as 2) and 2^64; a value over -I.
Answers are memcached's (docs/COMPATIBILITY.md); nothing may be allocated for
a length that is never sent, and a swallowed block never runs as commands."""
from hostile import HostileCase, blast
from harness import connect
from wire import BAD_FORMAT, END, STORED, TOO_LARGE, read_get_reply, sync

MIB = 1 << 20
EVIL = b"set pwned 0 0 1\r\nX\r\ndelete seed:000\r\n"


class DeclaredLengths(HostileCase):

    def rejected_line(self, length):
        """A length rejected on the line itself: the error, nothing swallowed,
        the connection goes on (the next line is a command again)."""
        with self.server.client() as c:
            got = sync(c, b"set huge 0 0 %s\r\n" % length)
            self.assertEqual(got, BAD_FORMAT, "set declaring %s" % length.decode())
            self.assertEqual(sync(c, b"get huge\r\n"), END)

    def test_length_2_pow_31(self):
        self.rejected_line(b"2147483648")
        self.assertSurvived()

    def test_length_2_pow_31_minus_1(self):
        self.rejected_line(b"2147483647")
        self.assertSurvived()

    def test_length_negative(self):
        for length in (b"-1", b"-2147483648", b"-2147483649"):
            self.rejected_line(length)
        self.assertSurvived()

    def test_length_2_pow_32_plus_2_and_2_pow_64(self):
        for length in (b"4294967298", b"18446744073709551616"):
            self.rejected_line(length)
        self.assertSurvived()

    def test_length_2147483645_swallowed_not_allocated(self):
        # the largest length the line accepts: too large for any item, so
        # SERVER_ERROR and the next 2147483647 bytes are discarded as they come
        rss0 = self.rss_kib()
        s = connect(self.port)
        try:
            s.sendall(b"set huge 0 0 2147483645\r\n")
            s.settimeout(5)
            first = b""
            while not first.endswith(b"\r\n") and len(first) < 200:
                chunk = s.recv(200)
                if not chunk:
                    break
                first += chunk
            self.assertEqual(first, TOO_LARGE)
            # 16 MiB of command lines inside the declared block: none may run
            sent, received, closed = blast(s, EVIL * (16 * MIB // len(EVIL)), timeout=30)
        finally:
            s.close()
        rss1 = self.rss_kib()
        print("set of 2147483645 bytes: %d bytes of block fed, %d answered, closed %s; "
              "RSS %d -> %d KiB" % (sent, received, closed, rss0, rss1))
        self.assertEqual(received, 0, "bytes inside a swallowed block were answered")
        with self.server.client() as c:
            self.assertEqual(sync(c, b"get pwned huge\r\n"), END)
        self.assertRss("RSS growth bounded", lambda: self.assertLess(
            rss1 - rss0, 8 * 1024, "RSS grew for a value never stored"))
        self.assertSurvived()

    def test_value_over_item_size_swallowed(self):
        # default -I 1m; 2 MiB of command lines as the value
        evil = (EVIL * (2 * MIB // len(EVIL) + 1))[:2 * MIB]
        with self.server.client() as c:
            before = int(c.stats()["store_too_large"])
            got = sync(c, b"set big 0 0 %d\r\n%s\r\n" % (len(evil), evil))
            self.assertEqual(got, TOO_LARGE)
            self.assertEqual(sync(c, b"get big pwned\r\n"), END)
            self.assertEqual(int(c.stats()["store_too_large"]), before + 1)
            # same again with noreply, split in many small sends
            c.send(b"set big 0 0 %d noreply\r\n" % len(evil))
            for i in range(0, len(evil), 4096):
                c.send(evil[i:i + 4096])
            self.assertEqual(sync(c, b"\r\nget big pwned\r\n"), END)
            c.send(b"get seed:000\r\n")
            self.assertEqual(len(read_get_reply(c)), 1)
        self.assertSurvived()

    def test_value_of_exactly_item_size_max(self):
        # the boundary from the other side: -I's own size is refused only if
        # the item (header + key + value) does not fit, never crashes
        with self.server.client() as c:
            v = b"v" * (MIB - 512)
            got = sync(c, b"set edge 0 0 %d\r\n%s\r\n" % (len(v), v))
            self.assertIn(got, (STORED, TOO_LARGE))
            if got == STORED:
                self.assertEqual(c.get("edge"), v)
        self.assertSurvived()
