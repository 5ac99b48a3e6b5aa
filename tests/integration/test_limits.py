"""Limits: item size (-I), memory with -M (no evictions) and without (LRU
eviction), connection limit (-c), per-event request limit (-R)."""
import threading
import time
import unittest

from itest import IS_REFERENCE, start_server
from harness import wait_until
from wire import (END, NO_MEMORY, STORED, TOO_LARGE, TOO_MANY_CONNS, read_get_reply, storage,
                  sync, value_reply)

# The item size limit under test. memcached 1.6.18 refuses an -I below its
# slab_chunk_max (512k) unless given "-o slab_chunk_max=N", and with that
# EXPERIMENTAL option it was measured to crash (SIGSEGV) on the next set after
# a too-large one; so against the reference the limit is 2m, against
# hardcached 64k (which also exercises the k suffix).
if IS_REFERENCE:
    I_FLAG, LIMIT = "2m", 2 << 20
else:
    I_FLAG, LIMIT = "64k", 64 << 10


class ItemSizeLimit(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.server = start_server(("-I", I_FLAG))

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def setUp(self):
        self.assertIsNone(self.server.proc.poll(), "server died earlier in this class")
        self.c = self.server.client()

    def tearDown(self):
        self.c.close()

    def test_value_under_limit_stored(self):
        v = b"u" * (LIMIT // 2)
        self.assertEqual(sync(self.c, storage("set", "under", v)), STORED)
        self.assertEqual(sync(self.c, b"get under\r\n"), value_reply("under", v) + END)

    def test_value_over_limit_rejected_and_swallowed(self):
        # the data block is full of command lines: none may run
        size = LIMIT + LIMIT // 2
        evil = (b"set pwned 0 0 1\r\nX\r\n" * (size // 20 + 1))[:size]
        before = int(self.c.stats()["store_too_large"])
        self.assertEqual(sync(self.c, b"set big 0 0 %d\r\n%s\r\n" % (len(evil), evil)), TOO_LARGE)
        self.assertEqual(sync(self.c, b"get big pwned\r\n"), END)
        self.assertEqual(int(self.c.stats()["store_too_large"]), before + 1)

    def test_too_large_set_removes_old_value(self):
        self.assertEqual(sync(self.c, storage("set", "old", "small")), STORED)
        self.assertEqual(sync(self.c, storage("set", "old", b"z" * (LIMIT * 2))), TOO_LARGE)
        self.assertEqual(sync(self.c, b"get old\r\n"), END)
        self.assertEqual(sync(self.c, storage("set", "old", "again")), STORED)

    def test_too_large_noreply_still_swallowed(self):
        self.assertEqual(sync(self.c, storage("set", "nr", b"get nr\r\n" * (LIMIT // 4),
                                              noreply=True)), b"")

    def test_too_large_split_across_sends(self):
        n = LIMIT // 10000 + 5
        self.c.send(b"set split 0 0 %d\r\n" % (n * 10000))
        for _ in range(n):
            self.c.send(b"version\r\n" + b"." * 9991)
            time.sleep(0.002)
        self.assertEqual(sync(self.c, b"\r\n"), TOO_LARGE)

    def test_settings_item_size_max(self):
        self.assertEqual(self.c.stats("settings")["item_size_max"], str(LIMIT))


class NoEvictions(unittest.TestCase):

    def test_out_of_memory_with_M(self):
        with start_server(("-M", "-m", "8")) as s, s.client() as c:
            v = b"m" * 10000
            stored, reply = 0, None
            for i in range(3000):  # 30 MB: well past -m 8
                reply = sync(c, storage("set", "k%d" % i, v))
                if reply != STORED:
                    break
                stored += 1
            self.assertEqual(reply, NO_MEMORY)
            self.assertGreater(stored, 100)
            # the data block was swallowed, the connection is fine, nothing
            # was evicted: the first item is still there
            self.assertEqual(sync(c, b"get k0\r\n"), value_reply("k0", v) + END)
            st = c.stats()
            self.assertEqual(st["evictions"], "0")
            self.assertGreaterEqual(int(st["store_no_memory"]), 1)
            # a small item into an already-used class still fits after a delete
            self.assertEqual(sync(c, b"delete k1\r\n"), b"DELETED\r\n")
            self.assertEqual(sync(c, storage("set", "again", v)), STORED)


class LruEviction(unittest.TestCase):

    def test_lru_evicts_old_keeps_recent(self):
        with start_server(("-m", "8")) as s, s.client() as c:
            v = b"e" * 1000
            n = 40000  # ~40 MB through an 8 MB cache
            for start in range(0, n, 1000):
                batch = b"".join(storage("set", "key%06d" % i, v, noreply=True)
                                 for i in range(start, start + 1000))
                self.assertEqual(sync(c, batch), b"")
            st = c.stats()
            self.assertGreater(int(st["evictions"]), 0)
            self.assertLess(int(st["curr_items"]), n)
            self.assertEqual(int(st["total_items"]), n)
            self.assertLessEqual(int(st["bytes"]), 8 << 20)
            recent = ["key%06d" % i for i in range(n - 100, n)]
            c.send(b"get " + " ".join(recent).encode() + b"\r\n")
            got = read_get_reply(c)
            self.assertEqual(len(got), 100)
            self.assertTrue(all(val == v for _, _, val in got))
            self.assertEqual(sync(c, b"get key000000\r\n"), END)
            self.assertEqual(sync(c, storage("set", "after", "ok")), STORED)

    def test_recently_read_item_survives(self):
        # reading an item bumps it in the LRU: read key 'hot' between writes
        with start_server(("-m", "8")) as s, s.client() as c:
            v = b"h" * 1000
            self.assertEqual(sync(c, storage("set", "hot", "keepme")), STORED)
            for start in range(0, 30000, 500):
                batch = b"".join(storage("set", "k%06d" % i, v, noreply=True)
                                 for i in range(start, start + 500))
                self.assertEqual(sync(c, batch + b"get hot\r\n"), value_reply("hot", "keepme") + END)
            self.assertGreater(int(c.stats()["evictions"]), 0)


class ConnectionLimit(unittest.TestCase):
    # memcached 1.6.18 measured: with -c N it reserves fds for itself and
    # accepts N-24 clients at once (-c 30: 6). The N+1-th client gets
    # "ERROR Too many open connections" and is closed. The test asserts the
    # behaviour, not memcached's reservation: between 1 and N clients served.
    N = 30

    def test_conn_limit_rejects_and_keeps_existing(self):
        with start_server(("-c", str(self.N))) as s:
            # the harness' readiness probe may still be closing: let it settle
            wait_until(lambda: int(s.stats()["curr_connections"]) <= 1, 10)
            conns, rejected = [], None
            try:
                for _ in range(self.N + 5):
                    c = s.client()
                    c.send(b"version\r\n")
                    line = c.readline()
                    if line.startswith(b"VERSION "):
                        conns.append(c)
                        continue
                    rejected = (c, line)
                    break
                print("-c %d: %d connections accepted" % (self.N, len(conns)))
                self.assertIsNotNone(rejected, "no connection was refused")
                c, line = rejected
                self.assertEqual(line, TOO_MANY_CONNS)
                self.assertTrue(c.is_closed(10.0))
                c.close()
                self.assertGreaterEqual(len(conns), 1)
                self.assertLessEqual(len(conns), self.N)
                if IS_REFERENCE:
                    self.assertEqual(len(conns), self.N - 24)
                # every existing connection is still served
                for i, c in enumerate(conns):
                    self.assertEqual(sync(c, storage("set", "c%d" % i, "v")), STORED)
                # the refusal is counted after its socket is closed, by another
                # thread than the one answering our stats: wait for it
                self.assertTrue(wait_until(
                    lambda: conns[0].stats()["rejected_connections"] == "1", 10),
                    "rejected_connections is %s" % conns[0].stats()["rejected_connections"])
                # a freed slot is usable again
                conns.pop().close()

                def reconnect():
                    try:
                        with s.client() as c2:
                            return sync(c2, b"get c0\r\n") == value_reply("c0", "v") + END
                    except (EOFError, OSError):
                        return False
                self.assertTrue(wait_until(reconnect, 5, interval=0.1))
            finally:
                for c in conns:
                    c.close()


class RequestsPerEvent(unittest.TestCase):

    def test_R1_pipelining_client_does_not_starve_other(self):
        with start_server(("-R", "1", "-t", "1")) as s, s.client() as a, s.client() as b:
            self.assertEqual(sync(a, storage("set", "k", "0123456789")), STORED)
            n = 20000
            one = value_reply("k", "0123456789") + END
            got = {}

            def reader():
                try:
                    got["data"] = a.read_exact(len(one) * n)
                except Exception as e:  # noqa: BLE001 - reported below
                    got["error"] = e

            t = threading.Thread(target=reader, daemon=True)
            a.send(b"get k\r\n" * n)
            t.start()
            t0 = time.monotonic()
            self.assertEqual(sync(b), b"")
            latency = time.monotonic() - t0
            t.join(20)
            self.assertFalse(t.is_alive(), "pipelined replies did not all arrive")
            self.assertNotIn("error", got)
            self.assertEqual(got["data"], one * n)
            self.assertLess(latency, 2.0)
            self.assertGreater(int(b.stats()["conn_yields"]), 0)


if __name__ == "__main__":
    unittest.main()
