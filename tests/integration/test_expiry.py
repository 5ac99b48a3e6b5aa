"""Expiry, touch / gat / gats, flush_all. memcached's clock has a 1 s tick and
the daemon's clock, not ours, decides when an item expires: "still there" is
checked after 2.1 s, "gone" is polled with a get (which does not change an
item's expiry) until it is seen or a deadline passes, so a loaded machine whose
daemon ticks late does not fail the test, and a pass returns at once."""
import time
import unittest

from itest import ServerTest, start_server
from harness import wait_until
from wire import END, NOT_FOUND, OK, STORED, TOUCHED, gets, storage, sync, value_reply

GONE_AFTER_1S = 2.1
GONE_WITHIN = 10.0


def gone(c, key):
    """True once a get of key finds nothing (polls until GONE_WITHIN)."""
    if isinstance(key, str):
        key = key.encode()
    return wait_until(lambda: sync(c, b"get %s\r\n" % key) == END, GONE_WITHIN, interval=0.1)


class Expiry(ServerTest):

    def test_exptime_1s_then_gone(self):
        k = self.key()
        self.assertReply(storage("set", k, "v", exptime=1), STORED)
        self.assertReply(b"get %s\r\n" % k.encode(), value_reply(k, "v") + END)
        self.assertTrue(gone(self.c, k), "still there %.0f s after its 1 s" % GONE_WITHIN)

    def test_negative_exptime_immediately_expired(self):
        k = self.key()
        self.assertReply(storage("set", k, "v", exptime=-1), STORED)
        self.assertReply(b"get %s\r\n" % k.encode(), END)

    def test_negative_exptime_replaces_old_value(self):
        k = self.key()
        self.assertReply(storage("set", k, "old") + storage("set", k, "new", exptime=-1),
                         STORED * 2)
        self.assertReply(b"get %s\r\n" % k.encode(), END)

    def test_absolute_timestamp_in_past_expired(self):
        k = self.key()
        self.assertReply(storage("set", k, "v", exptime=int(time.time()) - 1000), STORED)
        self.assertReply(b"get %s\r\n" % k.encode(), END)

    def test_absolute_timestamp_in_future_present(self):
        k = self.key()
        self.assertReply(storage("set", k, "v", exptime=int(time.time()) + 1000), STORED)
        self.assertReply(b"get %s\r\n" % k.encode(), value_reply(k, "v") + END)

    def test_30_days_is_relative(self):
        # 2592000 (30 days) is still relative; a unix time would be long past
        k = self.key()
        self.assertReply(storage("set", k, "v", exptime=2592000), STORED)
        self.assertReply(b"get %s\r\n" % k.encode(), value_reply(k, "v") + END)

    def test_just_above_30_days_is_absolute(self):
        # 2592001 read as a unix timestamp: January 1970, expired
        k = self.key()
        self.assertReply(storage("set", k, "v", exptime=2592001), STORED)
        self.assertReply(b"get %s\r\n" % k.encode(), END)

    def test_add_over_expired_item_stored(self):
        k = self.key()
        self.assertReply(storage("set", k, "v", exptime=-1), STORED)
        self.assertReply(storage("add", k, "w"), STORED)
        self.assertReply(b"get %s\r\n" % k.encode(), value_reply(k, "w") + END)


class TouchAndGat(ServerTest):

    def test_touch_found_and_missing(self):
        k = self.key()
        self.assertReply(b"touch %s 10\r\n" % k.encode(), NOT_FOUND)
        self.assertReply(storage("set", k, "v"), STORED)
        self.assertReply(b"touch %s 10\r\n" % k.encode(), TOUCHED)
        self.assertReply(b"get %s\r\n" % k.encode(), value_reply(k, "v") + END)

    def test_touch_shortens_exptime(self):
        k = self.key()
        self.assertReply(storage("set", k, "v") + b"touch %s 1\r\n" % k.encode(),
                         STORED + TOUCHED)
        self.assertTrue(gone(self.c, k), "still there %.0f s after its 1 s" % GONE_WITHIN)
        self.assertReply(b"touch %s 10\r\n" % k.encode(), NOT_FOUND)

    def test_touch_negative_expires(self):
        k = self.key()
        self.assertReply(storage("set", k, "v") + b"touch %s -1\r\n" % k.encode(),
                         STORED + TOUCHED)
        self.assertReply(b"get %s\r\n" % k.encode(), END)

    def test_gat_returns_value_and_updates_exptime(self):
        k = self.key()
        self.assertReply(storage("set", k, "v", flags=9), STORED)
        self.assertReply(b"gat 1 %s\r\n" % k.encode(), value_reply(k, "v", 9) + END)
        self.assertTrue(gone(self.c, k), "still there %.0f s after its 1 s" % GONE_WITHIN)
        self.assertReply(b"gat 100 %s\r\n" % k.encode(), END)
        self.assertReply(b"get %s\r\n" % k.encode(), END)

    def test_gat_zero_removes_expiry(self):
        k = self.key()
        self.assertReply(storage("set", k, "v", exptime=1), STORED)
        self.assertReply(b"gat 0 %s\r\n" % k.encode(), value_reply(k, "v") + END)
        time.sleep(GONE_AFTER_1S)
        self.assertReply(b"get %s\r\n" % k.encode(), value_reply(k, "v") + END)

    def test_gats_returns_cas(self):
        k = self.key()
        self.assertReply(storage("set", k, "v"), STORED)
        _, cas = gets(self.c, k)
        self.assertReply(b"gats 100 %s\r\n" % k.encode(), value_reply(k, "v", 0, cas) + END)

    def test_gat_multiple_keys_with_missing(self):
        a, b = self.key("a"), self.key("b")
        self.assertReply(storage("set", a, "1") + storage("set", b, "2"), STORED * 2)
        self.assertReply(b"gat 100 %s nope %s\r\n" % (a.encode(), b.encode()),
                         value_reply(a, "1") + value_reply(b, "2") + END)

    def test_gat_missing_key(self):
        self.assertReply(b"gat 10 %s\r\n" % self.key().encode(), END)

    def test_gat_without_key_answers_end(self):
        # memcached (1.6.18 and upstream) checks only for "gat <exptime>": no
        # key means an empty reply, not ERROR
        self.assertReply(b"gat 10\r\n", END)


class FlushAll(unittest.TestCase):
    """Each test has a server of its own: flush_all empties everything."""

    def setUp(self):
        self.server = start_server()
        self.c = self.server.client()

    def tearDown(self):
        self.c.close()
        self.server.stop()

    def r(self, data):
        return sync(self.c, data)

    def test_flush_all_immediate(self):
        self.assertEqual(self.r(storage("set", "a", "1") + storage("set", "b", "2")), STORED * 2)
        self.assertEqual(self.r(b"flush_all\r\n"), OK)
        self.assertEqual(self.r(b"get a b\r\n"), END)

    def test_items_set_after_flush_visible(self):
        self.assertEqual(self.r(storage("set", "a", "1")), STORED)
        self.assertEqual(self.r(b"flush_all\r\n"), OK)
        self.assertEqual(self.r(storage("set", "a", "new") + storage("add", "b", "2")),
                         STORED * 2)
        self.assertEqual(self.r(b"get a b\r\n"),
                         value_reply("a", "new") + value_reply("b", "2") + END)

    def test_flush_all_with_delay(self):
        self.assertEqual(self.r(storage("set", "a", "1")), STORED)
        self.assertEqual(self.r(b"flush_all 2\r\n"), OK)
        self.assertEqual(self.r(b"get a\r\n"), value_reply("a", "1") + END)
        self.assertTrue(gone(self.c, "a"), "still there %.0f s after flush_all 2" % GONE_WITHIN)

    def test_flush_all_zero_is_immediate(self):
        self.assertEqual(self.r(storage("set", "a", "1")), STORED)
        self.assertEqual(self.r(b"flush_all 0\r\n"), OK)
        self.assertEqual(self.r(b"get a\r\n"), END)

    def test_flush_all_noreply_silent(self):
        self.assertEqual(self.r(storage("set", "a", "1")), STORED)
        self.assertEqual(self.r(b"flush_all noreply\r\n"), b"")
        self.assertEqual(self.r(b"get a\r\n"), END)

    def test_flush_all_counts_cmd_flush(self):
        before = int(self.c.stats()["cmd_flush"])
        self.assertEqual(self.r(b"flush_all\r\nflush_all 0\r\n"), OK * 2)
        self.assertEqual(int(self.c.stats()["cmd_flush"]), before + 2)

    def test_flushed_key_can_be_added(self):
        self.assertEqual(self.r(storage("set", "a", "1")), STORED)
        self.assertEqual(self.r(b"flush_all\r\n"), OK)
        self.assertEqual(self.r(storage("add", "a", "2")), STORED)
        self.assertEqual(self.r(storage("replace", "b", "2")), b"NOT_STORED\r\n")


if __name__ == "__main__":
    unittest.main()
