"""test_binary.py: memcached's binary protocol and SASL, hardcached beside
Debian's memcached 1.6.18: every exchange is sent to both, a step at a time
(each step's bytes in one send), and the answers must be the same packets
(cas values compared by the order they appear in, the version's text set
aside) with the connection closed, or not, alike. Covered: every opcode
1.6.18 implements and their quiet forms, the unknown ones (verbosity among
them: 1.6.18 has none), lengths that do not add up (the CVE-2016-8704/8705/
8706 patterns), a bad magic, -B ascii|binary|auto, and -S: SASL PLAIN, what
is refused before a login, ASCII on a -S port. Deliberate differences and
hardcached's own behaviour run on hardcached only."""
import os
import shutil
import socket
import struct
import subprocess
import tempfile
import time
import unittest

import itest
from itest import harness

import binwire as bw
import tlsutil
from binwire import pkt

K = b"k"                         # each exchange's keys get its own prefix
E8 = bw.set_extras
T4 = struct.Struct(">I").pack    # touch/gat/flush extras
D20 = bw.delta_extras
NOOP = pkt(bw.NOOP, opaque=0xA0A0)
BAD_MAGIC = b"\x81" + b"\0" * 23
CLOSED = "closed"


def steps_basic(k):
    """name -> steps for a plain (-B auto) server; k prefixes the keys."""
    big = b"v" * (1024 * 1024 + 100)
    return {
        "noop_version": [pkt(bw.NOOP, opaque=1), pkt(bw.VERSION, opaque=0x12345678)],
        "get_misses": [pkt(bw.GET, k + b"m", opaque=7), pkt(bw.GETK, k + b"m", opaque=8),
                       pkt(bw.GETQ, k + b"m") + pkt(bw.GETKQ, k + b"m") + NOOP,
                       pkt(bw.GET, k + b"m", opaque=1, cas=77)],
        "get_kinds": [
            pkt(bw.SET, k, E8(5, 0), b"hello", opaque=9), pkt(bw.GET, k), pkt(bw.GETK, k),
            pkt(bw.GETQ, k) + pkt(bw.GETKQ, k) + NOOP, pkt(bw.TOUCH, k, T4(100)),
            pkt(bw.GAT, k, T4(100)), pkt(bw.GATK, k, T4(100)),
            pkt(bw.GATQ, k, T4(100)) + pkt(bw.GATKQ, k, T4(100)) + NOOP,
            pkt(bw.TOUCH, k + b"m", T4(1)), pkt(bw.GAT, k + b"m", T4(1)),
            pkt(bw.GATK, k + b"m", T4(1)), pkt(bw.GATQ, k + b"m", T4(1)) + NOOP],
        "add_replace_set": [
            pkt(bw.SET, k, E8(1, 0), b"x"), pkt(bw.ADD, k, E8(0, 0), b"y"),
            pkt(bw.ADDQ, k, E8(0, 0), b"y") + NOOP, pkt(bw.REPLACE, k + b"m", E8(0, 0), b"y"),
            pkt(bw.REPLACEQ, k + b"m", E8(0, 0), b"y") + NOOP,
            pkt(bw.SETQ, k + b"2", E8(0, 0), b"z") + NOOP, pkt(bw.ADD, k + b"3", E8(0, 0), b"w"),
            pkt(bw.REPLACE, k, E8(2, 0), b"r"), pkt(bw.GET, k),
            pkt(bw.SET, k + b"e", E8(0, 0), b""), pkt(bw.GET, k + b"e")],
        "cas": [pkt(bw.SET, k, E8(0, 0), b"x"), pkt(bw.SET, k, E8(0, 0), b"y", cas=999999),
                pkt(bw.SET, k + b"m", E8(0, 0), b"y", cas=999999),
                pkt(bw.ADD, k, E8(0, 0), b"y", cas=999999),
                pkt(bw.REPLACE, k, E8(0, 0), b"y", cas=999999), pkt(bw.GET, k)],
        "append_prepend": [
            pkt(bw.SET, k, E8(5, 0), b"hello"), pkt(bw.APPEND, k, value=b"A"),
            pkt(bw.APPEND, k + b"m", value=b"A"), pkt(bw.APPENDQ, k + b"m", value=b"A") + NOOP,
            pkt(bw.APPEND, k, value=b"A", cas=999999), pkt(bw.PREPEND, k, value=b"P"),
            pkt(bw.PREPENDQ, k, value=b"Q") + NOOP, pkt(bw.GET, k)],
        "delete": [pkt(bw.SET, k, E8(0, 0), b"x"), pkt(bw.DELETE, k, cas=999999),
                   pkt(bw.DELETEQ, k + b"m") + NOOP, pkt(bw.DELETE, k),
                   pkt(bw.DELETE, k), pkt(bw.SET, k, E8(0, 0), b"x"),
                   pkt(bw.DELETEQ, k) + NOOP, pkt(bw.GET, k)],
        "incr_decr": [
            pkt(bw.INCR, k, D20(1, 10, 0xffffffff)), pkt(bw.INCR, k, D20(1, 10, 0)),
            pkt(bw.INCR, k, D20(5, 10, 0)), pkt(bw.DECR, k, D20(100, 10, 0)),
            pkt(bw.INCRQ, k, D20(5, 10, 0)) + NOOP, pkt(bw.INCR, k, D20(5, 10, 0), cas=999999),
            pkt(bw.GET, k), pkt(bw.DECRQ, k + b"q", D20(1, 7, 0)) + NOOP,
            pkt(bw.DECR, k + b"m", D20(1, 0, 0xffffffff)),
            pkt(bw.SET, k + b"s", E8(0, 0), b"abc"), pkt(bw.INCR, k + b"s", D20(5, 10, 0)),
            pkt(bw.INCRQ, k + b"s", D20(5, 10, 0)) + NOOP,
            pkt(bw.SET, k + b"w", E8(0, 0), b"18446744073709551615"),
            pkt(bw.INCR, k + b"w", D20(2, 0, 0)), pkt(bw.INCR, k + b"t", D20(1, 3, 100))],
        "quit": [pkt(bw.GET, k + b"m"), pkt(bw.QUIT, opaque=3)],
        "quitq": [pkt(bw.QUITQ)],
        "flush": [pkt(bw.SET, k, E8(0, 0), b"x"), pkt(bw.FLUSHQ) + NOOP, pkt(bw.GET, k),
                  pkt(bw.FLUSH, extras=T4(2)), pkt(bw.FLUSH, opaque=4)],
        "stat_words": [pkt(bw.STAT, b"reset"), pkt(bw.STAT, b"bogus"), pkt(bw.STAT, b"conns"),
                       pkt(bw.STAT, b"cachedump 1 1"), pkt(bw.STAT, b"sizes"),
                       pkt(bw.STAT, b"detail x"), pkt(bw.STAT, b"res"),
                       pkt(bw.STAT, b"detail"), pkt(bw.STAT, b"detail dump"),
                       pkt(bw.STAT, b"detail on"), pkt(bw.STAT, b"detail off")],
        "unknown_opcodes": [pkt(bw.VERBOSITY, extras=T4(1)) + NOOP,
                            pkt(0x40, value=b"abcd") + NOOP,
                            pkt(0x50, opaque=0xdeadbeef, cas=77),
                            pkt(bw.SASL_LIST_MECHS) + NOOP,
                            pkt(bw.SASL_AUTH, b"PLAIN", value=bw.plain(b"a", b"b")) + NOOP],
        # 1.6.18 swallows the whole body length after the key: the noop's
        # first bytes go with it
        "unknown_with_key": [pkt(0x40, b"ab", value=b"abcd") + NOOP, pkt(bw.NOOP)],
        "unknown_body_split": [pkt(0x41, bodylen=100) + b"z" * 50, b"z" * 50 + NOOP],
        "datatype_vbucket_ignored": [
            pkt(bw.SET, k, E8(0, 0), b"abcd")[:5] + b"\x01\x00\x05" + pkt(bw.SET, k, E8(0, 0), b"abcd")[8:],
            pkt(bw.GET, k)[:6] + b"\x00\x05" + pkt(bw.GET, k)[8:]],
        "too_large": [pkt(bw.SET, k, E8(0, 0), b"old"),
                      pkt(bw.SET, k, E8(0, 0), big) + NOOP, pkt(bw.GET, k),
                      pkt(bw.APPEND, k + b"a", value=big) + NOOP],
        # a length 1.6.18 holds as a negative int: answered at once, the
        # body's bytes read as requests (the noop here)
        "body_length_past_2_31": [pkt(bw.SET, k, E8(0, 0), bodylen=0xfffffff0) + NOOP,
                                  pkt(bw.PREPENDQ, k, bodylen=0x80000010) + NOOP,
                                  pkt(0x42, bodylen=0x90000000) + NOOP],
        "too_large_waits_for_the_body": [
            pkt(bw.SET, k, E8(0, 0), bodylen=11 + len(big)), big[:1000], big[1000:] + NOOP],
        "partial_packets": [pkt(bw.NOOP)[:20], pkt(bw.NOOP)[20:], b"\x80",
                            pkt(bw.VERSION)[1:]],
        "long_key_waits_below_16k": [pkt(bw.GET, b"a" * 16361)[:16000]],
        "key_waits_for_its_bytes": [pkt(bw.GET, b"abc", bodylen=2)[:24], b"ab", b"c"],
        "pipeline": [b"".join(pkt(bw.SETQ, k + b"%d" % i, E8(i, 0), b"v%d" % i)
                              for i in range(50))
                     + b"".join(pkt(bw.GETKQ, k + b"%d" % i, opaque=i) for i in range(60))
                     + NOOP],
        "key_of_250": [pkt(bw.GET, b"a" * 250) + NOOP],
        "ascii_after_binary_closes": [NOOP + b"version\r\n" + b"x" * 20],
        "binary_after_ascii_is_text": [b"version\r\n" + pkt(bw.NOOP)],
    }


# Each closes the connection: name -> the one step.
CLOSING = {
    "cve_2016_8704_append_key_longer_than_body": pkt(bw.APPEND, b"k" * 100, bodylen=10)
    + b"x" * 10,
    "cve_2016_8704_prependq": pkt(bw.PREPENDQ, b"k" * 5, bodylen=4),
    "cve_2016_8705_set_key_and_extras_past_body": pkt(bw.SET, b"kkkkk", E8(0, 0), bodylen=10),
    "cve_2016_8705_set_key_past_body": pkt(bw.SETQ, b"k" * 200, E8(0, 0), bodylen=100),
    "cve_2016_8706_sasl_key_past_body": pkt(bw.SASL_AUTH, b"PLAIN", bodylen=3),
    "get_with_extras": pkt(bw.GET, b"a", b"1234") + NOOP,
    "get_without_key": pkt(bw.GET) + NOOP,
    "get_with_value": pkt(bw.GET, b"a", value=b"zz") + NOOP,
    "set_extras_4": pkt(bw.SET, b"a", b"1234", b"abcd") + NOOP,
    "set_without_key": pkt(bw.SET, extras=E8(0, 0), value=b"abcd") + NOOP,
    "append_with_extras": pkt(bw.APPEND, b"a", b"1234", b"x") + NOOP,
    "incr_extras_8": pkt(bw.INCR, b"n", b"1" * 8) + NOOP,
    "incr_with_value": pkt(bw.INCR, b"n", D20(1), b"x") + NOOP,
    "delete_with_value": pkt(bw.DELETE, b"n", value=b"x") + NOOP,
    "touch_without_extras": pkt(bw.TOUCH, b"k") + NOOP,
    "touch_extra_body_is_the_next_header": pkt(bw.TOUCH, b"k", T4(0), b"zz") + NOOP,
    "stat_with_extras": pkt(bw.STAT, extras=b"1234") + NOOP,
    "stat_body_is_the_next_header": pkt(bw.STAT, b"items", value=b"zz") + NOOP,
    "flush_extras_8": pkt(bw.FLUSH, extras=b"12345678") + NOOP,
    "version_with_key": pkt(bw.VERSION, b"a") + NOOP,
    "noop_with_body": pkt(bw.NOOP, value=b"x"),
    "quit_with_extras": pkt(bw.QUIT, extras=b"1234"),
    "list_mechs_with_body": pkt(bw.SASL_LIST_MECHS, value=b"x"),
    "key_of_251": pkt(bw.GET, b"a" * 251) + NOOP,
    # header, extras and key past memcached's 16 KiB read buffer: closed,
    # unanswered (answers not yet written out are lost)
    "key_of_16360": pkt(bw.GET, b"a" * 16360),
    "key_of_16361": NOOP + pkt(bw.GET, b"a" * 16361),
    "key_past_16k_lengths_wrong": pkt(bw.GET, b"a" * 16361, bodylen=5),
    "key_past_16k_after_get_hit": pkt(bw.SET, b"k16", E8(0, 0), b"v") + pkt(bw.GET, b"k16")
    + pkt(bw.INCR, b"a" * 16341, D20(1)),
    "unknown_key_of_251": pkt(0x60, b"a" * 251) + NOOP,
    "bad_magic_mid_connection": NOOP + pkt(bw.NOOP, magic=0x81) + NOOP,
    "bad_magic_zero": NOOP + b"\0" * 24,
    # answers not yet written out (after the last error or noop) are lost
    "bad_magic_after_get_hit": pkt(bw.SET, b"bm", E8(0, 0), b"v") + pkt(bw.GET, b"bm")
    + BAD_MAGIC,
    "bad_magic_after_get_miss": pkt(bw.GET, b"bm-miss") + BAD_MAGIC,
    "bad_magic_after_getk_miss": pkt(bw.GETK, b"bm-miss") + BAD_MAGIC,
    "bad_magic_after_version": pkt(bw.VERSION) + BAD_MAGIC,
    "bad_magic_after_stat": pkt(bw.STAT, b"sizes") + BAD_MAGIC,
    "bad_magic_after_unknown": pkt(0x55) + BAD_MAGIC,
    "bad_magic_after_noop_and_get": NOOP + pkt(bw.GET, b"bm") + BAD_MAGIC,
}


def readable(answer):
    packets, rest = bw.normalise(answer[0])
    rest = rest.replace(b"VERSION 1.6.18-hardcached-0.1.0", b"VERSION 1.6.18")
    return packets, rest, answer[1]


def connect(server):
    s = socket.create_connection(("127.0.0.1", server.port), 5)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def run(server, steps):
    """What each step got on one connection: (packets, rest, closed)."""
    got = []
    with connect(server) as s:
        for data in steps:
            answer = bw.exchange(s, data, quiet=0.25, first=5.0)   # every step is answered
            got.append(readable(answer))
            if answer[1]:
                break
    return got


def run_pair(ref, hc, steps, patience=1.0):
    """The steps on memcached, each then on hardcached read as memcached
    answered it (a quiet memcached costs one wait, not two). An answer is
    over when nothing more comes for a while: `patience` scales the waits."""
    want, got = [], []
    with connect(ref) as r, connect(hc) as h:
        for data in steps:
            a = bw.exchange(r, data, quiet=0.1 * patience, first=0.5 * patience)
            b = bw.exchange_like(h, data, len(a[0]), a[1], extra=0.05 * patience)
            want.append(readable(a))
            got.append(readable(b))
            if a[1] or b[1]:
                break
    return want, got


def assert_same(test, ref, hc, table):
    """Each steps' answers equal; a difference is measured once more with
    ten times the waits, so a stall of a busy machine that cut an answer
    short is not taken for one (a real difference shows both times)."""
    for name, steps in table.items():
        with test.subTest(name):
            want, got = run_pair(ref, hc, steps)
            if got != want:
                want, got = run_pair(ref, hc, steps, patience=10.0)
            test.assertEqual(got, want, name)


@unittest.skipIf(itest.IS_REFERENCE, "compares hardcached with memcached itself")
class BinaryBesideMemcached(unittest.TestCase):
    """-B auto (both defaults): the binary protocol, packet for packet."""

    @classmethod
    def setUpClass(cls):
        cls.ref = harness.Server(reference=True)
        try:
            cls.hc = harness.Server()
        except Exception:
            cls.ref.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.hc.stop()
        cls.ref.stop()

    def test_every_exchange_as_memcached(self):
        table = {name: steps for name, steps in steps_basic(K).items()}
        assert_same(self, self.ref, self.hc, table)

    def test_closing_exchanges_as_memcached(self):
        table = {name: [data] for name, data in CLOSING.items()}
        assert_same(self, self.ref, self.hc, table)
        for name in ("cve_2016_8704_append_key_longer_than_body",
                     "cve_2016_8705_set_key_and_extras_past_body"):
            (packets, rest, closed), = run(self.hc, [CLOSING[name]])
            self.assertEqual([(p.status, p.value) for p in packets],
                             [(0x81, b"Unknown command")], name)
            self.assertTrue(closed, name)

    def test_stat_sections_are_the_text_ones(self):
        """The binary STAT reuses the text protocol's producers: the same
        names (and the values that do not move) as "stats <section>"."""
        with socket.create_connection(("127.0.0.1", self.hc.port), 5) as s:
            bw.send_and_read(s, pkt(bw.SET, b"statkey", E8(0, 0), b"x"), 1)
        for section in (b"", b"settings", b"items", b"slabs", b"sizes"):
            with self.subTest(section.decode() or "general"):
                with socket.create_connection(("127.0.0.1", self.hc.port), 5) as s:
                    packets, _ = bw.parse(bw.send_and_read_stats(s, pkt(bw.STAT, section))[0])
                self.assertEqual(packets[-1].key + packets[-1].value, b"", "the terminator")
                names = [p.key.decode() for p in packets[:-1]]
                text = self.hc.stats(section.decode())
                self.assertEqual(names, list(text), section)

    def test_stat_settings_names_the_protocol(self):
        for server, want in ((self.ref, "auto-negotiate"), (self.hc, "auto-negotiate")):
            self.assertEqual(server.stats("settings")["binding_protocol"], want)
            self.assertEqual(server.stats("settings")["auth_enabled_sasl"], "no")


@unittest.skipIf(itest.IS_REFERENCE, "compares hardcached with memcached itself")
class ProtocolOption(unittest.TestCase):
    """-B ascii and -B binary: each side answers the other protocol's bytes
    as memcached does."""

    def exchange_both(self, args, steps, binary):
        kind = bw.BinaryServer if binary else harness.Server
        ref = kind(args=args, reference=True)
        try:
            with kind(args=args) as hc:
                assert_same(self, ref, hc, steps)
                return hc.stats("settings") if not binary else None
        finally:
            ref.stop()

    def test_ascii(self):
        settings = self.exchange_both(["-B", "ascii"], {
            "binary_noop_is_a_line": [pkt(bw.NOOP) * 2],
            "binary_get_waits_for_a_newline": [pkt(bw.GET, b"abc"), b"\r\nversion\r\n"],
        }, binary=False)
        self.assertEqual(settings["binding_protocol"], "ascii")

    def test_binary(self):
        self.exchange_both(["-B", "binary"], {
            "ascii_is_closed_at_24_bytes": [b"version\r\n", b"x" * 15],
            "binary_served": [pkt(bw.NOOP), pkt(bw.VERSION)],
            "first_byte_not_0x80": [b"\x81" + b"\0" * 23],
        }, binary=True)


USERS = {"alice": b"secret", "bob": b"hunter2"}


def auth(user, password, op=bw.SASL_AUTH, mech=b"PLAIN", opaque=0):
    return pkt(op, mech, value=bw.plain(user, password), opaque=opaque)


SASL_STEPS = {
    "list_mechs": [pkt(bw.SASL_LIST_MECHS, opaque=4)],
    "version_allowed": [pkt(bw.VERSION)],
    "login": [auth(b"alice", b"secret", opaque=6) + pkt(bw.VERSION), pkt(bw.GET, b"a")],
    "failure_then_login": [auth(b"alice", b"wrong"), auth(b"alice", b"secret"),
                           pkt(bw.GET, b"a")],
    "unknown_user": [auth(b"eve", b"secret"), pkt(bw.VERSION)],
    "another_users_password": [auth(b"alice", b"hunter2"), pkt(bw.VERSION)],
    "password_prefix": [auth(b"alice", b"secre"), pkt(bw.VERSION)],
    "unknown_mechanism": [auth(b"alice", b"secret", mech=b"BOGUS"), pkt(bw.VERSION)],
    "mechanism_any_case": [auth(b"alice", b"secret", mech=b"plain"), pkt(bw.VERSION)],
    "mechanism_of_32": [auth(b"alice", b"secret", mech=b"P" * 32), pkt(bw.VERSION)],
    "mechanism_of_40_swallowed": [auth(b"alice", b"secret", mech=b"P" * 40),
                                  pkt(bw.VERSION)],
    "no_nul": [pkt(bw.SASL_AUTH, b"PLAIN", value=b"alice secret"), pkt(bw.VERSION)],
    "one_nul": [pkt(bw.SASL_AUTH, b"PLAIN", value=b"\0alice"), pkt(bw.VERSION)],
    "trailing_nul": [pkt(bw.SASL_AUTH, b"PLAIN", value=b"\0alice\0secret\0"),
                     pkt(bw.VERSION)],
    "authzid_self": [pkt(bw.SASL_AUTH, b"PLAIN", value=bw.plain(b"alice", b"secret",
                                                                b"alice")), pkt(bw.VERSION)],
    "authzid_other": [pkt(bw.SASL_AUTH, b"PLAIN", value=bw.plain(b"alice", b"secret",
                                                                 b"bob")), pkt(bw.VERSION)],
    "empty_user_or_password": [auth(b"", b"secret"), auth(b"alice", b""), pkt(bw.VERSION)],
    "continue_then_step": [pkt(bw.SASL_AUTH, b"PLAIN"), auth(b"alice", b"secret", bw.SASL_STEP),
                           pkt(bw.GET, b"a")],
    "continue_then_failed_steps": [pkt(bw.SASL_AUTH, b"PLAIN"),
                                   auth(b"alice", b"bad", bw.SASL_STEP),
                                   auth(b"alice", b"secret", bw.SASL_STEP, mech=b"X"),
                                   pkt(bw.GET, b"a")],
    "step_before_auth": [auth(b"alice", b"secret", bw.SASL_STEP), pkt(bw.VERSION)],
    "step_after_login_logs_out": [auth(b"alice", b"secret"),
                                  auth(b"alice", b"secret", bw.SASL_STEP), pkt(bw.GET, b"a")],
    "failure_after_login_logs_out": [auth(b"alice", b"secret"), auth(b"alice", b"wrong"),
                                     pkt(bw.GET, b"a")],
    "list_mechs_logs_out": [auth(b"alice", b"secret"), pkt(bw.SASL_LIST_MECHS),
                            pkt(bw.GET, b"a")],
    "second_login_fails_then_next_checked": [auth(b"alice", b"secret"),
                                             auth(b"alice", b"secret"),
                                             auth(b"alice", b"secret"), pkt(bw.VERSION)],
    "continue_after_login_then_step_fails": [auth(b"alice", b"secret"),
                                             pkt(bw.SASL_AUTH, b"PLAIN"),
                                             auth(b"alice", b"secret", bw.SASL_STEP),
                                             pkt(bw.VERSION)],
    "quiet_set_after_login": [auth(b"alice", b"secret"),
                              pkt(bw.SETQ, b"a", E8(0, 0), b"v") + NOOP, pkt(bw.GET, b"a")],
    "noop_refused": [pkt(bw.NOOP) + pkt(bw.VERSION)],
    "get_refused": [pkt(bw.GET, b"a", opaque=5) + pkt(bw.VERSION)],
    "stat_refused": [pkt(bw.STAT)],
    "quit_refused": [pkt(bw.QUIT)],
    "unknown_refused": [pkt(0x50) + pkt(bw.VERSION)],
    "lengths_checked_first": [pkt(bw.GET, b"abc", bodylen=2) + pkt(bw.VERSION)],
    "auth_keylen_0": [pkt(bw.SASL_AUTH, value=bw.plain(b"alice", b"secret"))],
    "auth_with_extras": [pkt(bw.SASL_AUTH, b"PLAIN", b"1234", bw.plain(b"alice", b"secret"))],
    "cve_2016_8706_sasl_key_past_body": [pkt(bw.SASL_AUTH, b"PLAIN", bodylen=3)],
    "sasl_data_past_1024": [pkt(bw.SASL_AUTH, b"PLAIN", value=bw.plain(b"alice", b"secret")
                                + b"x" * 4000) + pkt(bw.VERSION)],
    "sasl_length_past_2_31": [pkt(bw.SASL_AUTH, b"PLAIN", bodylen=0xfffffff0)
                              + pkt(bw.VERSION)],
    "sasl_long_mechanism_past_2_31": [pkt(bw.SASL_AUTH, b"P" * 40, bodylen=0xfffffff0)
                                      + pkt(bw.VERSION)],
    "ascii_ignored_then_closed": [b"version\r\n", b"get a b c d e f\r\n"],
    "ascii_23_bytes_then_one": [b"x" * 23, b"y"],
}


@unittest.skipIf(itest.IS_REFERENCE, "compares hardcached with memcached itself")
@unittest.skipUnless(bw.have_sasl_reference(), "saslpasswd2 (Debian package sasl2-bin) "
                     "is needed to run memcached -S beside hardcached")
class SaslBesideMemcached(unittest.TestCase):
    """-S: memcached with a Cyrus sasldb, hardcached with the same users in
    its credentials file (MEMCACHED_SASL_PWDB: memcached's own variable)."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="hc-sasl-")
        os.chmod(cls.tmp, 0o711)            # memcached reads its sasldb as its user
        ref_dir = os.path.join(cls.tmp, "ref")
        os.mkdir(ref_dir)
        ref_env = bw.sasl_reference_env(ref_dir, USERS)
        env = dict(os.environ, MEMCACHED_SASL_PWDB=bw.pwdb_file(cls.tmp, USERS))
        cls.ref = bw.BinaryServer(args=["-S"], reference=True, env=ref_env)
        try:
            # the failed-login throttle (hardcached's own) would close this
            # test's source after its tenth failure
            cls.hc = bw.BinaryServer(args=["-S", "--auth-fail-limit", "0"], env=env)
        except Exception:
            cls.ref.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.hc.stop()
        cls.ref.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_every_exchange_as_memcached(self):
        assert_same(self, self.ref, self.hc, SASL_STEPS)

    def test_counters_and_settings_as_memcached(self):
        steps = [auth(b"alice", b"wrong"), auth(b"eve", b"x"), pkt(bw.SASL_AUTH, b"PLAIN"),
                 auth(b"alice", b"secret")]
        deltas = []
        for server in (self.ref, self.hc):
            before = sasl_stats(server)
            run(server, steps)
            after = sasl_stats(server)
            deltas.append(tuple(int(after[k]) - int(before[k]) for k in
                                (b"auth_cmds", b"auth_errors")))
            settings = sasl_stats(server, b"settings")
            self.assertEqual((settings[b"binding_protocol"], settings[b"auth_enabled_sasl"],
                              settings[b"auth_enabled_ascii"]), (b"binary", b"yes", b"no"))
        # the login sasl_stats makes counts as one more
        self.assertEqual(deltas[0], (4, 2), "memcached 1.6.18 itself")
        self.assertEqual(deltas[1], deltas[0])


def sasl_stats(server, section=b""):
    """A STAT section on a connection that logged in first."""
    with socket.create_connection(("127.0.0.1", server.port), 5) as s:
        answer, _ = bw.send_and_read_stats(s, auth(b"alice", b"secret") + pkt(bw.STAT, section))
    packets, _ = bw.parse(answer)
    return {p.key: p.value for p in packets[1:]}


@unittest.skipIf(itest.IS_REFERENCE, "hardcached's own: the throttle, the login deadline")
class SaslHardening(unittest.TestCase):
    """Failed SASL logins feed -Y's per-source throttle; a connection that
    does not log in meets --read-timeout; -S needs credentials."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="hc-sasl-")
        self.pwdb = bw.pwdb_file(self.tmp, USERS)

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_failed_logins_throttle_the_source(self):
        with bw.BinaryServer(args=["-S", "--sasl-pwdb", self.pwdb, "--auth-fail-limit", "3",
                                   "--auth-fail-window", "60"]) as hc:
            with socket.create_connection(("127.0.0.1", hc.port), 5) as s:
                for _ in range(2):
                    answer, closed = bw.send_and_read(s, auth(b"alice", b"wrong"), 1)
                    self.assertFalse(closed)
                s.sendall(auth(b"alice", b"wrong"))
                answer, closed = harness.read_to_close(s, 10)
                self.assertEqual([p.status for p in bw.parse(answer)[0]], [0x20])
                self.assertTrue(closed, "the third failure closes the connection")
            with socket.create_connection(("127.0.0.1", hc.port), 5) as s:
                s.sendall(auth(b"alice", b"secret"))
                answer, closed = harness.read_to_close(s, 10)
                self.assertEqual((answer, closed), (b"", True), "closed at accept")

    def test_login_deadline(self):
        with bw.BinaryServer(args=["-S", "--sasl-pwdb", self.pwdb, "--read-timeout", "1"]) as hc:
            with socket.create_connection(("127.0.0.1", hc.port), 5) as s:
                bw.send_and_read(s, pkt(bw.VERSION), 1)
                start = time.monotonic()
                answer, closed = harness.read_to_close(s, 10)
                self.assertTrue(closed and answer == b"")
                self.assertLess(time.monotonic() - start, 5)

    def test_credentials_required(self):
        hc = harness.hardcached_binary()
        env = {k: v for k, v in os.environ.items() if k != "MEMCACHED_SASL_PWDB"}
        for args, want in ((["-S"], "needs credentials"),
                           (["-S", "-Y", self.pwdb], "cannot be used with -Y"),
                           (["-S", "--sasl-pwdb", self.pwdb, "-B", "ascii"],
                            "cannot allow the ASCII protocol"),
                           (["--sasl-pwdb", self.pwdb], "only applies with -S")):
            r = subprocess.run([hc, "-p", "1"] + args, env=env, capture_output=True,
                               timeout=10)
            self.assertEqual(r.returncode, 64, args)
            self.assertIn(want, r.stderr.decode(), args)


class SaslTlsServer(tlsutil.TLSServer):
    """A -Z -S daemon: ready once a binary VERSION is answered over TLS."""

    def _ready_once(self):
        try:
            with tlsutil.tls_connect(self.port, self.probe_ctx, timeout=1.0) as s:
                answer, _ = bw.send_and_read(s, pkt(bw.VERSION), 1, timeout=1.0)
                return answer[:2] == bytes([bw.RES, bw.VERSION])
        except (OSError, AssertionError):
            return False


@unittest.skipIf(itest.IS_REFERENCE, "hardcached's TLS and SASL together")
class SaslOverTls(unittest.TestCase):
    """PLAIN sends the password in clear: over TLS it works the same."""

    def test_login_and_round_trip(self):
        pki = tlsutil.PKI()
        self.addCleanup(pki.close)
        pwdb = bw.pwdb_file(pki.dir, USERS)
        ctx = pki.client_context()
        args = ["-Z", "-o", tlsutil.ssl_opts(pki), "-S", "--sasl-pwdb", pwdb]
        with SaslTlsServer(args, probe_ctx=ctx) as srv:
            with tlsutil.tls_connect(srv.port, ctx) as s:
                s.sendall(pkt(bw.GET, b"a"))
                answer, closed = harness.read_to_close(s, 10)
                self.assertEqual(([p.status for p in bw.parse(answer)[0]], closed),
                                 ([0x20], True))
            with tlsutil.tls_connect(srv.port, ctx) as s:
                answer, closed = bw.send_and_read(s, auth(b"bob", b"hunter2")
                                                  + pkt(bw.SET, b"a", E8(3, 0), b"over tls")
                                                  + pkt(bw.GET, b"a"), 3)
                packets, _ = bw.parse(answer)
                self.assertEqual([(p.status, p.value) for p in packets],
                                 [(0, b"Authenticated"), (0, b""), (0, b"over tls")])
                self.assertFalse(closed)


if __name__ == "__main__":
    unittest.main()
