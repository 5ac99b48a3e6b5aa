"""itest.py: helpers shared by the integration tests (tests/integration/).

Which daemon is under test:
  HC_TARGET unset or "hardcached": build/hardcached (or $HC_BIN), via harness.Server.
  HC_TARGET=memcached: Debian's /usr/bin/memcached 1.6.18, via
                       harness.Server(reference=True). Used to validate these tests
                       while the hardcached binary does not exist yet.
  HC_SANITIZED=1:      the binary is the ASan+UBSan build (slower, RSS meaningless).

Tests whose expected behaviour is a deliberate difference from 1.6.18 (SPEC §4:
follow current upstream) use @deliberate_difference; behaviour only hardcached
has uses @hardcached_only(...). Both are skipped under HC_TARGET=memcached, with
the reason printed by the runner.

Every wait is bounded: sockets have timeouts, polling loops have deadlines."""
import os
import socket
import sys
import time
import unittest

_HERE = os.path.dirname(os.path.abspath(__file__))
_LIB = os.path.join(_HERE, "..", "lib")
if _LIB not in sys.path:
    sys.path.insert(0, _LIB)

import harness  # noqa: E402  (path set up above)

Server = harness.Server
RawClient = harness.RawClient

TARGET = os.environ.get("HC_TARGET", "hardcached").strip().lower() or "hardcached"
if TARGET not in ("hardcached", "memcached"):
    raise RuntimeError("HC_TARGET must be 'hardcached' or 'memcached', not %r" % TARGET)
IS_REFERENCE = TARGET == "memcached"
SANITIZED = os.environ.get("HC_SANITIZED", "") not in ("", "0")

DELIBERATE = "deliberate difference from 1.6.18"

# Lines memcached answers with; spelled once so a typo cannot hide in one test.
STORED = b"STORED\r\n"
NOT_STORED = b"NOT_STORED\r\n"
EXISTS = b"EXISTS\r\n"
NOT_FOUND = b"NOT_FOUND\r\n"
DELETED = b"DELETED\r\n"
TOUCHED = b"TOUCHED\r\n"
END = b"END\r\n"
OK = b"OK\r\n"
ERROR = b"ERROR\r\n"
BAD_FORMAT = b"CLIENT_ERROR bad command line format\r\n"
BAD_CHUNK = b"CLIENT_ERROR bad data chunk\r\n"
BAD_DELTA = b"CLIENT_ERROR invalid numeric delta argument\r\n"
BAD_EXPTIME = b"CLIENT_ERROR invalid exptime argument\r\n"
NON_NUMERIC = b"CLIENT_ERROR cannot increment or decrement non-numeric value\r\n"
TOO_LARGE = b"SERVER_ERROR object too large for cache\r\n"
NO_MEMORY = b"SERVER_ERROR out of memory storing object\r\n"
TOO_MANY_CONNS = b"ERROR Too many open connections\r\n"

# A data block that produces no reply whether the server swallows it (current
# upstream memcached, hardcached) or runs it as a command line (1.6.18's quirk).
# Lets one test check a malformed storage line's exact error and that the
# connection goes on, against both; the swallowing itself is checked by the
# @deliberate_difference tests.
SILENT_BLOCK = b"verbosity 0 noreply"


def deliberate_difference(fn):
    """Expected behaviour follows current upstream memcached, not 1.6.18."""
    return unittest.skipIf(IS_REFERENCE, DELIBERATE)(fn)


def hardcached_only(reason="hardcached-only behaviour"):
    return unittest.skipIf(IS_REFERENCE, reason)


def start_server(args=(), ref_args=None, hc_args=None, **kw):
    """Start the daemon under test on 127.0.0.1 and a free port.

    args:     flags both daemons take with the same meaning.
    ref_args: extra flags only for memcached 1.6.18 (e.g. options it needs and
              hardcached need not know); hc_args: extra flags only for hardcached.

    The harness sends the daemon's output to a file (Server.output())."""
    if IS_REFERENCE:
        return Server(args=list(args) + list(ref_args or ()), reference=True, **kw)
    return Server(args=list(args) + list(hc_args or ()), **kw)


def binary_cmd():
    """argv[0] for running the daemon directly (CLI tests)."""
    return harness.MEMCACHED if IS_REFERENCE else harness.hardcached_binary()


def sync(c, data=b""):
    """Send `data` followed by `version`; return every byte the server wrote
    before the VERSION line. A reply-free `data` therefore returns b"", and we
    know the server has processed all of `data` (replies come in order)."""
    c.send(data + b"version\r\n")
    out = c.read_until(b"VERSION ")
    line = c.readline()
    assert line.strip(), "empty version string"
    return out[:-len(b"VERSION ")]


def value_reply(key, value, flags=0, cas=None):
    """Bytes of one VALUE block (without END)."""
    if isinstance(key, str):
        key = key.encode()
    if isinstance(value, str):
        value = value.encode()
    head = b"VALUE %s %d %d" % (key, flags, len(value))
    if cas is not None:
        head += b" %d" % cas
    return head + b"\r\n" + value + b"\r\n"


def storage(verb, key, value, flags=0, exptime=0, cas=None, noreply=False):
    """Bytes of one storage command with its data block."""
    if isinstance(key, str):
        key = key.encode()
    if isinstance(value, str):
        value = value.encode()
    line = b"%s %s %d %d %d" % (verb.encode(), key, flags, exptime, len(value))
    if cas is not None:
        line += b" %d" % cas
    if noreply:
        line += b" noreply"
    return line + b"\r\n" + value + b"\r\n"


def read_get_reply(c, with_cas=False):
    """Read one get/gets/gat/gats reply; returns {key: (flags, value, cas|None)}."""
    out = {}
    while True:
        line = c.readline()
        if line == END:
            return out
        parts = line.split()
        if parts[0] != b"VALUE" or len(parts) != (5 if with_cas else 4):
            raise AssertionError("unexpected line in get reply: %r" % line)
        n = int(parts[3])
        data = c.read_exact(n + 2)
        if data[-2:] != b"\r\n":
            raise AssertionError("value not followed by CRLF: %r" % data[-10:])
        out[parts[1]] = (int(parts[2]), data[:-2], int(parts[4]) if with_cas else None)


def gets(c, key):
    """(value, cas) of key, or None."""
    c.send(b"gets %s\r\n" % (key.encode() if isinstance(key, str) else key))
    r = read_get_reply(c, with_cas=True)
    if not r:
        return None
    (_, (flags, value, cas)), = r.items()
    return value, cas


def wait_until(predicate, timeout, interval=0.05):
    """Poll predicate until true or timeout; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        v = predicate()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(interval)


def port_is_closed(port, host="127.0.0.1"):
    """True if nothing accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), 0.5):
            return False
    except OSError:
        return True


class ServerTest(unittest.TestCase):
    """Base class: one daemon per test class (started in setUpClass with
    SERVER_ARGS / SERVER_REF_ARGS), a fresh connection per test in self.c.
    Use only where tests cannot disturb each other (distinct keys, no flush,
    no stats counter assertions)."""
    SERVER_ARGS = ()
    SERVER_REF_ARGS = ()
    SERVER_HC_ARGS = ()

    @classmethod
    def setUpClass(cls):
        cls.server = start_server(cls.SERVER_ARGS, ref_args=cls.SERVER_REF_ARGS,
                                  hc_args=cls.SERVER_HC_ARGS)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def setUp(self):
        self.assertIsNone(self.server.proc.poll(), "server died earlier in this class")
        self.c = self.server.client()
        # a key prefix unique to this test, so tests sharing a server never meet
        self.k = self._testMethodName[5:45]

    def tearDown(self):
        self.c.close()

    def key(self, suffix=""):
        return "%s%s" % (self.k, suffix)

    def assertReply(self, data, expected):
        """Send data (then a version sentinel); everything the server answers
        before the sentinel must be exactly `expected`."""
        self.assertEqual(sync(self.c, data), expected)
