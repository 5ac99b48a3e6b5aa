"""A get naming 10,000 keys: answered in full (every present key once, in
order, then END), with several MiB of output so the get suspends and resumes
at the output high-water mark; also 10,000 repeats of one key."""
import time

from hostile import HostileCase
from wire import END, read_get_reply, storage, sync

N = 10_000


class HugeMultiGet(HostileCase):

    def test_get_10000_keys(self):
        keys = ["mg:%05d" % i for i in range(N)]
        present = {k: (b"%s=" % k.encode()) * (1 + i % 200) for i, k in enumerate(keys)
                   if i % 2 == 0}
        with self.server.client(timeout=30) as c:
            self.assertEqual(sync(c, b"".join(storage("set", k, v, flags=7, noreply=True)
                                              for k, v in present.items())), b"")
            t0 = time.monotonic()
            c.send(b"get " + b" ".join(k.encode() for k in keys) + b"\r\n")
            got = read_get_reply(c)
            secs = time.monotonic() - t0
            self.assertEqual(sync(c), b"")     # nothing after END
        size = sum(len(v) for _, _, v in got)
        print("get of %d keys (line %d bytes): %d values, %d bytes, %.2f s"
              % (N, 4 + sum(len(k) + 1 for k in keys), len(got), size, secs))
        self.assertEqual([k for k, _, _ in got], [k for k in keys if k in present])
        for k, f, v in got:
            self.assertEqual((f, v), (7, present[k]), "value of %s" % k)
        self.assertSurvived()

    def test_get_one_key_10000_times(self):
        with self.server.client(timeout=30) as c:
            c.send(b"get" + b" seed:010" * N + b"\r\n")
            got = read_get_reply(c)
        expect = [(k, f, v) for k, f, v in self.seed if k == "seed:010"] * N
        self.assertEqual(len(got), N)
        self.assertTrue(got == expect, "repeated values differ")
        self.assertSurvived()

    def test_gets_10000_missing_keys(self):
        with self.server.client(timeout=30) as c:
            c.send(b"gets " + b" ".join(b"nokey:%05d" % i for i in range(N)) + b"\r\n")
            self.assertEqual(c.readline(), END)
        self.assertSurvived()
