"""stats (plain, settings, items, slabs, conns, reset), version, verbosity,
unknown commands, quit. Field names are the ones memcached uses and that
monitoring clients (memcstat, Prometheus' memcached_exporter) read; the man
page's METRICS section, written from the same tables, lists exactly them."""
import os
import re
import subprocess
import time
import unittest

from itest import IS_REFERENCE, hardcached_only, start_server
from wire import (DELETED, END, ERROR, EXISTS, NOT_FOUND, NOT_STORED, OK, STORED, TOUCHED,
                  gets, storage, sync)
import harness
from harness import wait_until

# memcached_exporter's needs (NOTES.md).
EXPORTER_STATS = """version uptime time rusage_user rusage_system
get_hits get_misses delete_hits delete_misses incr_hits incr_misses decr_hits decr_misses
cas_hits cas_misses touch_hits touch_misses cas_badval cmd_flush cmd_set bytes
limit_maxbytes curr_items total_items bytes_read bytes_written curr_connections
total_connections rejected_connections conn_yields listen_disabled_num evictions reclaimed
store_too_large store_no_memory lru_crawler_starts direct_reclaims crawler_items_checked
crawler_reclaimed moves_to_cold moves_to_warm moves_within_lru accepting_conns""".split()
EXPORTER_SETTINGS = ["maxconns"]
EXPORTER_SETTINGS_LRU = """lru_crawler_sleep lru_crawler_tocrawl lru_maintainer_thread
hot_lru_pct warm_lru_pct hot_max_factor warm_max_factor""".split()
SLAB_CLASS_FIELDS = """chunk_size chunks_per_page total_pages total_chunks used_chunks
free_chunks free_chunks_end get_hits cmd_set delete_hits incr_hits
decr_hits cas_hits cas_badval touch_hits""".split()
ITEM_CLASS_FIELDS = "number age evicted hits_to_hot hits_to_warm hits_to_cold hits_to_temp".split()
# memcached 1.6.18 reports the LRU-segment fields above (moves_*, hits_to_*,
# lru_crawler_starts, direct_reclaims) only with its LRU maintainer and
# crawler on, which the harness turns off for the reference by default.
LRU_ON_REF = ("-o", "lru_crawler,lru_maintainer")


RUSAGE = re.compile(r"^[0-9]+\.[0-9]{6}$")


class StatsTest(unittest.TestCase):
    """A fresh server per test: counters start at zero."""
    ARGS = ()
    REF_ARGS = ()

    def setUp(self):
        self.server = start_server(self.ARGS, ref_args=self.REF_ARGS)
        self.c = self.server.client()

    def tearDown(self):
        self.c.close()
        self.server.stop()

    def r(self, data):
        return sync(self.c, data)

    def st(self, sub=""):
        return self.c.stats(sub)

    def num(self, name, sub=""):
        return int(self.st(sub)[name])


class PlainStats(StatsTest):
    REF_ARGS = LRU_ON_REF

    def test_exporter_fields_present(self):
        self.assertEqual(self.r(storage("set", "a", "1") + b"get a\r\n"),
                         STORED + b"VALUE a 0 1\r\n1\r\nEND\r\n")
        st = self.st()
        missing = [f for f in EXPORTER_STATS if f not in st]
        self.assertEqual(missing, [])

    def test_stats_line_format(self):
        self.c.send(b"stats\r\n")
        raw = self.c.read_until(b"END\r\n")
        lines = raw.split(b"\r\n")[:-2]
        self.assertGreater(len(lines), 40)
        for line in lines:
            self.assertRegex(line, rb"^STAT [a-z_0-9:]+ [^ \r\n]+$")
        self.assertTrue(raw.endswith(b"\r\nEND\r\n"))

    def test_rusage_format(self):
        st = self.st()
        self.assertRegex(st["rusage_user"], RUSAGE)
        self.assertRegex(st["rusage_system"], RUSAGE)

    def test_identity_and_clock_fields(self):
        st = self.st()
        self.assertEqual(int(st["pid"]), self.server.pid)
        self.assertLessEqual(abs(int(st["time"]) - time.time()), 5)
        self.assertTrue(0 <= int(st["uptime"]) < 60)
        self.c.send(b"version\r\n")
        self.assertEqual(self.c.readline(), b"VERSION %s\r\n" % st["version"].encode())

    def test_defaults(self):
        st = self.st()
        self.assertEqual(st["limit_maxbytes"], str(64 * 1024 * 1024))
        self.assertEqual(st["accepting_conns"], "1")
        self.assertEqual(st["threads"], "4")
        for f in ("curr_items", "total_items", "evictions", "get_hits", "cmd_set",
                  "rejected_connections", "store_too_large", "store_no_memory"):
            self.assertEqual(st[f], "0", f)


class Counters(StatsTest):

    def test_get_hits_misses_cmd_get(self):
        self.r(storage("set", "a", "1"))
        self.assertEqual(self.r(b"get a b\r\n"), b"VALUE a 0 1\r\n1\r\nEND\r\n")
        gets(self.c, "a")
        st = self.st()
        self.assertEqual((st["cmd_get"], st["get_hits"], st["get_misses"]), ("3", "2", "1"))

    def test_cmd_set_counts_every_storage_command(self):
        self.assertEqual(self.r(storage("set", "a", "1") + storage("add", "a", "2")
                                + storage("replace", "b", "3") + storage("append", "a", "4")),
                         STORED + NOT_STORED + NOT_STORED + STORED)
        self.assertEqual(self.num("cmd_set"), 4)

    def test_curr_and_total_items(self):
        self.r(storage("set", "a", "1") + storage("set", "b", "2") + storage("set", "c", "3"))
        st = self.st()
        self.assertEqual((st["curr_items"], st["total_items"]), ("3", "3"))
        self.assertEqual(self.r(b"delete a\r\n"), DELETED)
        st = self.st()
        self.assertEqual((st["curr_items"], st["total_items"]), ("2", "3"))
        self.assertGreater(int(st["bytes"]), 0)

    def test_delete_hits_misses(self):
        self.assertEqual(self.r(storage("set", "a", "1") + b"delete a\r\ndelete a\r\n"),
                         STORED + DELETED + NOT_FOUND)
        st = self.st()
        self.assertEqual((st["delete_hits"], st["delete_misses"]), ("1", "1"))

    def test_incr_decr_hits_misses(self):
        self.assertEqual(self.r(storage("set", "n", "5") + b"incr n 1\r\nincr x 1\r\n"
                                b"decr n 1\r\ndecr n 1\r\ndecr x 1\r\ndecr y 1\r\n"),
                         STORED + b"6\r\n" + NOT_FOUND + b"5\r\n4\r\n" + NOT_FOUND * 2)
        st = self.st()
        self.assertEqual([st[f] for f in ("incr_hits", "incr_misses", "decr_hits", "decr_misses")],
                         ["1", "1", "2", "2"])

    def test_cas_counters(self):
        self.r(storage("set", "a", "1"))
        _, cas = gets(self.c, "a")
        self.assertEqual(self.r(storage("cas", "zz", "1", cas=1) + storage("cas", "a", "2", cas=cas + 5)
                                + storage("cas", "a", "3", cas=cas)),
                         NOT_FOUND + EXISTS + STORED)
        st = self.st()
        self.assertEqual([st[f] for f in ("cas_misses", "cas_badval", "cas_hits")], ["1", "1", "1"])

    def test_touch_counters(self):
        self.assertEqual(self.r(storage("set", "a", "1") + b"touch a 100\r\ntouch b 100\r\n"),
                         STORED + TOUCHED + NOT_FOUND)
        st = self.st()
        self.assertEqual([st[f] for f in ("cmd_touch", "touch_hits", "touch_misses")],
                         ["2", "1", "1"])

    def test_gat_counts_as_touch_not_get(self):
        self.assertEqual(self.r(storage("set", "a", "1") + b"gat 100 a b\r\n"),
                         STORED + b"VALUE a 0 1\r\n1\r\nEND\r\n")
        st = self.st()
        self.assertEqual([st[f] for f in ("cmd_touch", "touch_hits", "touch_misses")],
                         ["2", "1", "1"])
        self.assertEqual([st[f] for f in ("cmd_get", "get_hits", "get_misses")], ["0", "0", "0"])

    def test_bytes_read_written_increase(self):
        st1 = self.st()
        data = storage("set", "a", "x" * 1000) + b"get a\r\n"
        reply = self.r(data)
        st2 = self.st()
        self.assertGreaterEqual(int(st2["bytes_read"]) - int(st1["bytes_read"]), len(data))
        self.assertGreaterEqual(int(st2["bytes_written"]) - int(st1["bytes_written"]), len(reply))

    def settled(self, name):
        """A counter read three times in a row with the same value (the
        harness' readiness probe connection may still be closing)."""
        seen = []

        def stable():
            seen.append(self.num(name))
            return len(seen) >= 3 and seen[-1] == seen[-2] == seen[-3]
        wait_until(stable, 5, interval=0.1)
        return seen[-1]

    def test_connection_counters(self):
        curr1 = self.settled("curr_connections")
        total1 = self.num("total_connections")
        others = [self.server.client() for _ in range(3)]
        try:
            for o in others:
                sync(o)
            self.assertEqual(self.settled("curr_connections"), curr1 + 3)
            self.assertEqual(self.num("total_connections"), total1 + 3)
        finally:
            for o in others:
                o.close()
        self.assertTrue(wait_until(lambda: self.num("curr_connections") == curr1, 5),
                        "curr_connections did not drop back after close")

    def test_stats_reset(self):
        self.r(storage("set", "a", "1") + b"get a\r\nget b\r\nincr a 1\r\n")
        self.assertEqual(self.num("get_hits"), 1)
        self.assertEqual(self.r(b"stats reset\r\n"), b"RESET\r\n")
        st = self.st()
        for f in ("get_hits", "get_misses", "cmd_get", "cmd_set", "incr_hits"):
            self.assertEqual(st[f], "0", f)
        self.assertEqual(st["curr_items"], "1")
        self.assertEqual(self.r(b"get a\r\n"), b"VALUE a 0 1\r\n2\r\nEND\r\n")
        self.assertEqual(self.num("get_hits"), 1)


class SettingsStats(StatsTest):

    def test_settings_defaults(self):
        st = self.st("settings")
        want = {"maxconns": "1024", "maxbytes": str(64 << 20), "tcpport": str(self.server.port),
                "evictions": "on", "item_size_max": str(1 << 20), "growth_factor": "1.25",
                "cas_enabled": "yes", "num_threads": "4", "reqs_per_event": "20",
                "flush_enabled": "yes"}
        self.assertEqual({k: st.get(k) for k in want}, want)

    def test_settings_lru_fields_with_crawler(self):
        st = self.st("settings")
        for f in EXPORTER_SETTINGS:
            self.assertIn(f, st)
        if st.get("lru_crawler") == "yes":
            self.assertEqual([f for f in EXPORTER_SETTINGS_LRU if f not in st], [])


class SettingsFromFlags(StatsTest):
    ARGS = ("-c", "100", "-m", "16", "-I", "2m", "-M", "-f", "1.5", "-C", "-R", "5",
            "-t", "2", "-F")

    def test_settings_reflect_flags(self):
        st = self.st("settings")
        want = {"maxconns": "100", "maxbytes": str(16 << 20), "item_size_max": str(2 << 20),
                "evictions": "off", "growth_factor": "1.50", "cas_enabled": "no",
                "reqs_per_event": "5", "num_threads": "2", "flush_enabled": "no"}
        self.assertEqual({k: st.get(k) for k in want}, want)
        self.assertEqual(self.st()["limit_maxbytes"], str(16 << 20))

    def test_flush_all_disabled(self):
        self.r(storage("set", "a", "1"))
        self.assertEqual(self.r(b"flush_all\r\n"), b"CLIENT_ERROR flush_all not allowed\r\n")
        self.assertEqual(self.r(b"get a\r\n"), b"VALUE a 0 1\r\n1\r\nEND\r\n")

    def test_cas_disabled_gets_reports_zero(self):
        self.r(storage("set", "a", "1"))
        self.assertEqual(self.r(b"gets a\r\n"), b"VALUE a 0 1 0\r\n1\r\nEND\r\n")


class ItemsAndSlabs(StatsTest):
    REF_ARGS = LRU_ON_REF

    def classes(self, st, suffix):
        """Slab class ids present in a 'stats items'/'stats slabs' dict."""
        ids = set()
        for k in st:
            m = re.match(r"^(?:items:)?([0-9]+):" + suffix + "$", k)
            if m:
                ids.add(m.group(1))
        return ids

    def test_items_after_store(self):
        self.assertEqual(self.st("items"), {})
        self.r(storage("set", "a", "x" * 10) + storage("set", "b", "y" * 10))
        st = self.st("items")
        ids = self.classes(st, "number")
        self.assertEqual(len(ids), 1)
        n = ids.pop()
        self.assertEqual(st["items:%s:number" % n], "2")
        for f in ITEM_CLASS_FIELDS:
            self.assertIn("items:%s:%s" % (n, f), st)
        self.assertEqual(st["items:%s:evicted" % n], "0")

    def test_items_one_class_for_every_size(self):
        # the segment store has no size classes: class 1 holds every item
        # (docs/COMPATIBILITY.md, "stats slabs, stats items")
        self.r(storage("set", "a", "x" * 10) + storage("set", "b", "y" * 100000))
        st = self.st("items")
        self.assertEqual(self.classes(st, "number"), {"1"})
        self.assertEqual(st["items:1:number"], "2")

    def test_slabs_after_store(self):
        self.r(storage("set", "a", "x" * 10) + b"get a\r\n")
        st = self.st("slabs")
        ids = self.classes(st, "chunk_size")
        self.assertEqual(len(ids), 1)
        n = ids.pop()
        for f in SLAB_CLASS_FIELDS:
            self.assertIn("%s:%s" % (n, f), st)
        self.assertEqual(st["%s:used_chunks" % n], "1")
        self.assertEqual(st["%s:get_hits" % n], "1")
        self.assertEqual(st["%s:cmd_set" % n], "1")
        self.assertGreaterEqual(int(st["%s:chunk_size" % n]), 10 + 1)
        self.assertEqual(int(st["%s:total_chunks" % n]),
                         int(st["%s:used_chunks" % n]) + int(st["%s:free_chunks" % n])
                         + int(st["%s:free_chunks_end" % n]))
        self.assertEqual(st["active_slabs"], "1")
        self.assertGreater(int(st["total_malloced"]), 0)
        items = self.st("items")
        self.assertIn(n, self.classes(items, "number"))
        # mem_requested: 1.6.18 reports it per class in "stats items"; accept
        # it there or in "stats slabs"
        self.assertTrue("items:%s:mem_requested" % n in items or "%s:mem_requested" % n in st)


class Conns(StatsTest):

    def test_stats_conns_lists_this_connection(self):
        st = self.st("conns")
        for k in st:
            self.assertRegex(k, r"^[0-9]+:[a-z_]+$")
        me = "tcp:127.0.0.1:%d" % self.c.sock.getsockname()[1]
        ids = [k.split(":")[0] for k, v in st.items() if k.endswith(":addr") and v == me]
        self.assertEqual(len(ids), 1, st)
        fd = ids[0]
        self.assertIn("%s:state" % fd, st)
        self.assertIn("%s:secs_since_last_cmd" % fd, st)
        self.assertEqual(st.get("%s:listen_addr" % fd), "tcp:127.0.0.1:%d" % self.server.port)


class MiscCommands(StatsTest):

    def test_version(self):
        self.c.send(b"version\r\n")
        line = self.c.readline()
        self.assertRegex(line, rb"^VERSION [0-9][^ \r\n]*\r\n$")
        if IS_REFERENCE:
            self.assertEqual(line, b"VERSION 1.6.18\r\n")

    def test_verbosity(self):
        self.assertEqual(self.r(b"verbosity 1\r\n"), OK)
        self.assertEqual(self.r(b"verbosity 0\r\n"), OK)

    def test_unknown_command(self):
        self.assertEqual(self.r(b"bogus\r\n"), ERROR)
        self.assertEqual(self.r(b"bogus with args 1 2 3\r\n"), ERROR)

    def test_empty_line(self):
        self.assertEqual(self.r(b"\r\n"), ERROR)
        self.assertEqual(self.r(b"   \r\n"), ERROR)

    def test_unknown_stats_subcommand(self):
        self.assertEqual(self.r(b"stats bogus\r\n"), ERROR)

    def test_quit_closes(self):
        self.c.send(b"quit\r\n")
        self.assertTrue(self.c.is_closed(2.0))

    def test_quit_ignores_pipelined_rest(self):
        self.c.send(storage("set", "a", "1") + b"quit\r\nset b 0 0 1\r\n2\r\nget a\r\n")
        self.assertEqual(self.c.readline(), STORED)
        self.assertTrue(self.c.is_closed(2.0))
        self.assertEqual(self.c.buf, b"")
        with self.server.client() as c2:
            self.assertEqual(sync(c2, b"get b\r\n"), END)

    def test_server_survives_abrupt_disconnect(self):
        self.c.send(b"set a 0 0 100\r\nabc")
        self.c.close()
        with self.server.client() as c2:
            self.assertEqual(sync(c2, b"get a\r\n"), END)


class LastClassCounters(unittest.TestCase):
    """With -f 1.1 the ladder reaches the 64th class (a whole page); its
    per-class counters must be its own, not class 0's."""

    @hardcached_only("class ladder of hardcached")
    def test_whole_page_class_counts_its_hits(self):
        with start_server(["-f", "1.1", "-m", "128"]) as srv:
            with srv.client() as c:
                value = b"v" * 600000
                self.assertEqual(c.set("big", value), STORED)
                self.assertEqual(c.get("big"), value)
                st = c.stats("slabs")
        ids = {k.split(":")[0] for k in st if k.endswith(":chunk_size")}
        biggest = max(ids, key=int)
        self.assertEqual(st["%s:cmd_set" % biggest], "1")
        self.assertEqual(st["%s:get_hits" % biggest], "1")


def genman_path():
    """The genman of the build under test: $HC_GENMAN, else the one beside
    the binary (BUILD/hardcached, BUILD/tools/genman)."""
    return os.environ.get("HC_GENMAN") or os.path.join(
        os.path.dirname(os.path.abspath(harness.hardcached_binary())), "tools", "genman")


# One field of hardcached(8)'s METRICS section: name, kind, description.
MAN_FIELD = re.compile(r"^\.TP\n\\fB([a-z0-9_]+)\\fR \(([^)]*)\)\n([^.\n].*)$", re.M)
VALUE_OF_KIND = {"counter": r"^[0-9]+$", "gauge": r"^[0-9]+$",
                 "counter, zeroed by stats reset": r"^[0-9]+$",
                 "counter, seconds": RUSAGE.pattern, "text": r"^[^ ]+$"}


class ManPageMetrics(StatsTest):
    """hardcached(8) lists the fields of stats from the metric tables
    (tools/genman.c): exactly the fields stats prints, in its order."""

    def man_fields(self):
        genman = genman_path()
        if not os.access(genman, os.X_OK):
            self.skipTest("%s is not built" % genman)
        p = subprocess.run([genman, "8"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        sections = p.stdout.decode().split("\n.SH METRICS\n")
        self.assertEqual(len(sections), 2, "no METRICS section in hardcached.8")
        fields = MAN_FIELD.findall(sections[1].split("\n.SH ")[0])
        # this server runs without -Z: memcached's TLS fields are not shown
        return [f for f in fields if not f[2].replace("\\-", "-").startswith("-Z only:")]

    def printed(self):
        self.c.send(b"stats\r\n")
        raw = self.c.read_until(b"END\r\n").decode()
        return [line.split(" ", 2)[1:] for line in raw.split("\r\n") if line.startswith("STAT ")]

    @hardcached_only("hardcached's man page")
    def test_man_page_lists_exactly_the_fields_stats_prints(self):
        fields = self.man_fields()
        printed = self.printed()
        self.assertEqual([f[0] for f in fields], [p[0] for p in printed])
        self.assertEqual(len(set(p[0] for p in printed)), len(printed), "a field printed twice")

    @hardcached_only("hardcached's man page")
    def test_every_field_has_a_kind_and_a_description(self):
        fields = self.man_fields()
        values = dict(self.printed())
        self.assertGreater(len(fields), 80)
        for name, kind, desc in fields:
            self.assertIn(kind, VALUE_OF_KIND, name)
            self.assertRegex(values[name], VALUE_OF_KIND[kind], name)
            self.assertGreater(len(desc), 10, name)
            self.assertTrue(desc.endswith("."), name)


if __name__ == "__main__":
    unittest.main()
