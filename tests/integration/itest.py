"""itest.py: what only the integration tests (tests/integration/) share: which
daemon is under test, the decorators for behaviour that differs between the
two, and ServerTest. The protocol's bytes (replies, storage commands, get
replies, sync) are tests/lib/wire.py's; servers, clients and waits are
tests/lib/harness.py's.

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
import sys
import unittest

_HERE = os.path.dirname(os.path.abspath(__file__))
_LIB = os.path.join(_HERE, "..", "lib")
if _LIB not in sys.path:
    sys.path.insert(0, _LIB)

import harness  # noqa: E402  (path set up above)
from wire import sync  # noqa: E402


Server = harness.Server

TARGET = os.environ.get("HC_TARGET", "hardcached").strip().lower() or "hardcached"
if TARGET not in ("hardcached", "memcached"):
    raise RuntimeError("HC_TARGET must be 'hardcached' or 'memcached', not %r" % TARGET)
IS_REFERENCE = TARGET == "memcached"
SANITIZED = os.environ.get("HC_SANITIZED", "") not in ("", "0")

DELIBERATE = "deliberate difference from 1.6.18"

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
