"""Memory bound (SPEC §5): with -m 64, writing ten times -m worth of data keeps
RSS within 64 MiB * 1.1 + 16 MiB, for small (100 B) and large (10 KiB) values
on the same server. hardcached only; meaningless under ASan (shadow memory)."""
import threading
import time
import unittest

from itest import SANITIZED, hardcached_only, start_server
from wire import sync

M_MIB = 64
TOTAL = 10 * M_MIB << 20          # ten times -m
LIMIT_KIB = int(M_MIB * 1.1 * 1024 + 16 * 1024)
CONNS = 4                          # one per default worker thread
BATCH = 1000


def fill(server, value_size, tag):
    """Write TOTAL bytes of values of value_size with noreply sets, pipelined in
    batches of BATCH commands, over CONNS connections in parallel; each ends
    with a get so we know the server has read everything. Returns seconds."""
    n = TOTAL // value_size
    per_conn = n // CONNS + 1
    value = (b"%s" % tag.encode() * value_size)[:value_size]
    # "set <tag><conn>:<batch>:<j> 0 0 <size> noreply\r\n<value>\r\n"; the
    # "<tag><conn>:<batch>" part is joined in front of precomputed tails
    tails = [b":%03d 0 0 %d noreply\r\n%s\r\n" % (j, value_size, value) for j in range(BATCH)]
    errors = []

    def worker(ci):
        try:
            with server.client(timeout=60) as c:
                sent, b = 0, 0
                while sent < per_conn:
                    k = min(BATCH, per_conn - sent)
                    prefix = b"set %s%d:%d" % (tag.encode(), ci, b)
                    c.send(prefix.join([b""] + tails[:k]))
                    sent += k
                    b += 1
                c.send(b"get %s%d:%d:000\r\n" % (tag.encode(), ci, b - 1))
                c.read_until(b"END\r\n")
        except Exception as e:  # noqa: BLE001 - reported by the caller
            errors.append(e)

    t0 = time.monotonic()
    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(CONNS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    if errors:
        raise errors[0]
    if any(t.is_alive() for t in threads):
        raise AssertionError("fill with %d-byte values did not finish in time" % value_size)
    return time.monotonic() - t0


@hardcached_only("memory bound is a hardcached promise (SPEC §5)")
@unittest.skipIf(SANITIZED, "ASan build: shadow memory makes RSS meaningless")
class MemoryBound(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.server = start_server(("-m", str(M_MIB)))

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def check(self, value_size, tag):
        secs = fill(self.server, value_size, tag)
        with self.server.client() as c:
            self.assertEqual(sync(c), b"")  # still serving
            st = c.stats()
        rss = self.server.rss_kib()
        print("RSS after %d MiB of %d-byte values: %d KiB (%.1f MiB; limit %.1f MiB; "
              "%.1f s; evictions %s)" % (TOTAL >> 20, value_size, rss, rss / 1024.0,
                                         LIMIT_KIB / 1024.0, secs, st.get("evictions")))
        self.assertGreater(int(st["evictions"]), 0)
        self.assertLessEqual(rss, LIMIT_KIB)

    def test_1_rss_bounded_small_values(self):
        self.check(100, "s")

    def test_2_rss_bounded_10k_values_same_server(self):
        self.check(10 * 1024, "L")


if __name__ == "__main__":
    unittest.main()
