"""compat_env.py: which daemon is "the server under test" for the compat suite.

HC_TARGET=hardcached (default) tests build/hardcached (or $HC_BIN); HC_TARGET=memcached
makes the server under test a second Debian memcached 1.6.18, which is how these tests
are validated before our binary exists (memcached against itself must pass everything).
The reference is always Debian's memcached, started by tests/lib/harness.py."""
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
LIB = os.path.join(HERE, "..", "lib")
if LIB not in sys.path:
    sys.path.insert(0, LIB)

import harness  # noqa: E402  (tests/lib)

TARGET = os.environ.get("HC_TARGET", "hardcached").strip().lower() or "hardcached"
if TARGET not in ("hardcached", "memcached"):
    raise SystemExit("HC_TARGET must be 'hardcached' or 'memcached', not %r" % TARGET)

# Both daemons get the same memory and item-size limits. -m is generous so that no
# test ever evicts (eviction order is an implementation detail, not protocol).
COMMON_ARGS = ["-m", "1024", "-I", "1m"]


def target_is_memcached():
    return TARGET == "memcached"


def target_name():
    return "memcached" if target_is_memcached() else "hardcached"


def reference_server(args=()):
    return harness.Server(args=COMMON_ARGS + list(args), reference=True)


def require_target():
    """Skip the calling test (with the reason) when HC_TARGET=hardcached and the
    binary has not been built. Call it before starting anything."""
    if target_is_memcached():
        return
    binary = harness.hardcached_binary()
    if not os.access(binary, os.X_OK):
        raise unittest.SkipTest("%s is not built (run make, or set HC_TARGET=memcached "
                                "to validate these tests against memcached)" % binary)


def target_server(args=()):
    """Start the server under test (skips, like require_target, if it is not built)."""
    require_target()
    if target_is_memcached():
        return harness.Server(args=COMMON_ARGS + list(args), reference=True)
    return harness.Server(args=COMMON_ARGS + list(args), binary=harness.hardcached_binary())


def replay_env():
    """The environment prefix a replay command needs to reproduce this run."""
    parts = ["HC_TARGET=%s" % TARGET]
    if not target_is_memcached() and os.environ.get("HC_BIN"):
        parts.append("HC_BIN=%s" % os.environ["HC_BIN"])
    return " ".join(parts)
