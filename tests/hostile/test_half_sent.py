"""Commands half sent, then the connection closed (FIN or RST): nothing of the
half command is stored, nothing leaks (connections, items, bytes), and the
server goes on."""
import socket
import struct
import time

from hostile import HostileCase, conns_back_to, settled_conns
from harness import connect
from wire import END, read_get_reply, sync

PARTIALS = [
    b"set half 0 0 100\r\n" + b"x" * 50,          # value half there
    b"set half 0 0 5\r\nhello",                    # value, no CRLF
    b"set half 0 0 5\r\nhello\r",                  # value, half the CRLF
    b"set half 0 0 10",                            # line, no newline
    b"set half 0 0 900000\r\n" + b"y" * 450000,    # a large item half received
    b"cas half 0 0 5 1\r\nab",
    b"append seed:001 0 0 10\r\nabc",              # must not touch the existing value
    b"prepend seed:002 0 0 10\r\nabc",
    b"get seed:001 seed:002",                      # get without newline
    b"get " + b" ".join(b"seed:%03d" % i for i in range(100)) * 20,  # long get line
    b"incr seed:003 1",
    b"delete seed:004",                            # must not delete (no newline)
    b"gets",
    b"\r",
]
ROUNDS = 30


def close_with_rst(s):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


class HalfSent(HostileCase):

    def test_half_commands_then_close(self):
        base = settled_conns(self.server)
        st0 = self.server.stats()
        rss0 = self.rss_kib()
        t0 = time.monotonic()
        n = 0
        for r in range(ROUNDS):
            for p in PARTIALS:
                s = connect(self.port)
                s.sendall(p)
                if r % 3 == 2:
                    close_with_rst(s)
                else:
                    if r % 3 == 1:
                        time.sleep(0.001)
                    s.close()
                n += 1
        conns = conns_back_to(self.server, base, 10)
        st1 = self.server.stats()
        rss1 = self.rss_kib()
        print("%d half commands closed (FIN and RST) in %.1f s; curr_connections %d -> %s; "
              "curr_items %s -> %s; bytes %s -> %s; RSS %d -> %d KiB"
              % (n, time.monotonic() - t0, base, conns, st0["curr_items"], st1["curr_items"],
                 st0["bytes"], st1["bytes"], rss0, rss1))
        self.assertLessEqual(conns, base, "closed connections still counted")
        self.assertEqual(st1["curr_items"], st0["curr_items"], "a half command stored an item")
        self.assertEqual(st1["bytes"], st0["bytes"], "item memory changed")
        with self.server.client() as c:
            self.assertEqual(sync(c, b"get half\r\n"), END)
        self.assertRss("RSS growth bounded", lambda: self.assertLess(
            rss1 - rss0, 16 * 1024, "RSS grew by %d KiB" % (rss1 - rss0)))
        self.assertSurvived()

    def test_half_set_invisible_to_others(self):
        # while a large value of a bystander key is half received, others read
        # the old value; after the half sender closes, still the old value
        old = [(f, v) for k, f, v in self.seed if k == "seed:005"][0]
        s = connect(self.port)
        try:
            s.sendall(b"set seed:005 0 0 500000\r\n" + b"z" * 200000)
            time.sleep(0.2)
            with self.server.client() as c:
                c.send(b"get seed:005\r\n")
                self.assertEqual([(f, v) for _, f, v in read_get_reply(c)], [old])
        finally:
            close_with_rst(s)
        time.sleep(0.2)
        self.assertSurvived()
