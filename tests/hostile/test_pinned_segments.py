"""One slow connection per segment: at -m 64 (64 segments of 1 MiB), 80
connections each send a set line and half its value, then stop, with over a
segment of junk sets between them so each half-sent value is allocated in a
new segment. A value still arriving must pin no segment (the store detaches
it to a heap block), so a bystander can still store and read, large values
too, and the slow senders' values still complete correctly afterwards."""
import time

from hostile import HostileCase
from harness import connect, wait_until
from wire import STORED, read_get_reply, stat_int, storage, sync

M_MIB = 64
PINS = 80                    # more than there are segments
VALUE = 1000                 # each pin's value; half is sent
JUNK = 18                    # junk sets of 60 KiB between pins: past a segment's end
JUNK_SIZE = 60 * 1024


def pin_value(i):
    return (b"pin%d;" % i * VALUE)[:VALUE]


class PinnedSegments(HostileCase):
    SERVER_ARGS = ("-m", str(M_MIB), "--read-timeout", "120")

    def test_half_sent_values_pin_no_segment(self):
        pins = []
        try:
            with self.server.client(timeout=30) as junk:
                junk_v = b"j" * JUNK_SIZE
                n = 0
                for i in range(PINS):
                    s = connect(self.port, timeout=10)
                    pins.append(s)
                    sent = b"set pin:%d %d 0 %d\r\n" % (i, i, VALUE) + pin_value(i)[:VALUE // 2]
                    read0 = stat_int(self.server, "bytes_read")
                    s.sendall(sent)
                    # its worker has read (so allocated) it before the junk goes: the
                    # server counts the pin's bytes and this stats line's own
                    self.assertTrue(wait_until(
                        lambda: stat_int(self.server, "bytes_read")
                        >= read0 + len(sent) + len(b"stats\r\n"), 10),
                        "pin %d was never read" % i)
                    batch = b"".join(storage("set", "junk:%d" % (n + j), junk_v)
                                     for j in range(JUNK))
                    junk.send(batch)
                    for j in range(JUNK):
                        line = junk.readline()
                        self.assertEqual(line, STORED, "junk set %d after %d pins: %r"
                                         % (n + j, i + 1, line))
                    n += JUNK
            t0 = time.monotonic()
            with self.server.client(timeout=10) as c:
                for k, size in (("by:small", 100), ("by:mid", 50000), ("by:large", 900000)):
                    v = (b"%s;" % k.encode() * size)[:size]
                    self.assertEqual(sync(c, storage("set", k, v)), STORED,
                                     "bystander's %d-byte set with %d values half sent"
                                     % (size, PINS))
                    c.send(b"get %s\r\n" % k.encode())
                    self.assertEqual(read_get_reply(c), [(k, 0, v)])
            self.assertLess(time.monotonic() - t0, 10)
            # the slow senders finish: their values are whole and exact
            for i in range(0, PINS, 7):
                pins[i].sendall(pin_value(i)[VALUE // 2:] + b"\r\n")
                buf = b""
                deadline = time.monotonic() + 10
                while not buf.endswith(b"\r\n") and time.monotonic() < deadline:
                    chunk = pins[i].recv(64)
                    if not chunk:
                        break
                    buf += chunk
                self.assertEqual(buf, STORED, "pin %d completed" % i)
            with self.server.client(timeout=10) as c:
                for i in range(0, PINS, 7):
                    c.send(b"get pin:%d\r\n" % i)
                    self.assertEqual(read_get_reply(c), [("pin:%d" % i, i, pin_value(i))])
                c.send(b"get pin:1\r\n")
                self.assertEqual(read_get_reply(c), [])
        finally:
            for s in pins:
                s.close()
        self.assertSurvived(evictions_ok=True)


if __name__ == "__main__":
    import unittest
    unittest.main()
