"""-k (lock memory) starts and serves. Started as root, the daemon locks its
memory before dropping to memcache (/proc/PID/status VmLck > 0, the item
memory among it) and raises RLIMIT_MEMLOCK first when it may (CAP_SYS_RESOURCE),
so that after the drop every later allocation is locked too; when it may not
(a container), it says so on stderr and keeps what it locked. Started as an
unprivileged user under a small RLIMIT_MEMLOCK, mlockall fails: a warning,
and it serves unlocked (memcached's behaviour). Before the fix, -k as root
exited 71: MCL_FUTURE made the workers' stacks count against the memcache
user's limit."""
import os
import shutil
import signal
import unittest

import privcheck as pc

harness = pc.harness
NEEDS_ROOT = "needs root (to start it as root, and as nobody with setpriv)"
CAP_SYS_RESOURCE = 24
SMALL_LIMIT_KIB = 64
WARNING = "hardcached: warning: lock memory (-k):"


def status_kib(pid, field):
    with open("/proc/%d/status" % pid) as f:
        return int(pc.parse_status(f.read())[field].split()[0])


def may_raise_rlimits():
    with open("/proc/self/status") as f:
        eff = int(pc.parse_status(f.read())["CapEff"], 16)
    return bool(eff & (1 << CAP_SYS_RESOURCE))


def locked_limit(pid):
    """Soft "Max locked memory" of pid, as /proc/PID/limits words."""
    with open("/proc/%d/limits" % pid) as f:
        for line in f:
            if line.startswith("Max locked memory"):
                return line.split()[3]
    return None


@unittest.skipUnless(harness.is_root(), NEEDS_ROOT)
class LockMemory(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        pc.ensure_user()
        cls.uid, cls.gid = pc.user_ids(pc.RUN_AS)
        cls.binary = os.path.abspath(harness.hardcached_binary())
        cls.tmp = pc.make_tmpdir()

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        if not os.path.exists(self.binary):
            self.fail("%s is missing: run make first" % self.binary)

    def serve(self, args, binary=None):
        srv = harness.Server(args=list(args), binary=binary or self.binary)
        self.addCleanup(srv.stop)
        return srv

    def assert_serves(self, srv):
        with srv.client() as c:
            big = "x" * 300000                  # a large buffer, allocated after start-up
            self.assertEqual(c.set("locked", big), b"STORED\r\n")
            self.assertEqual(c.get("locked"), big.encode())

    def test_root_start_locks_and_serves(self):
        srv = self.serve(["-k", "-t", "4"])
        st = pc.task_status(srv.pid)
        self.assertGreaterEqual(len(st), 5, "workers did not start")
        self.assertEqual(pc.ids(st[srv.pid], "Uid"), [self.uid] * 4)
        self.assert_serves(srv)
        self.assertGreater(status_kib(srv.pid, "VmLck"), 0)
        # MCL_ONFAULT: the -m region is locked as it is touched, not all resident
        self.assertLess(status_kib(srv.pid, "VmRSS"), 64 * 1024)
        out = srv.output()
        if may_raise_rlimits():
            self.assertEqual(locked_limit(srv.pid), "unlimited")
            self.assertNotIn(WARNING, out)
        else:
            self.assertIn(WARNING + " RLIMIT_MEMLOCK is", out)
        self.assertEqual(srv.stop(signal.SIGTERM), 0, srv.output())

    def test_nonroot_small_limit_warns_and_serves(self):
        binary = pc.expose(self.binary, self.tmp)
        wrapper = os.path.join(self.tmp, "small-memlock")
        with open(wrapper, "w") as f:
            f.write("#!/bin/sh\nulimit -l %d || exit 99\nexec %s %s \"$@\"\n"
                    % (SMALL_LIMIT_KIB, " ".join(pc.unpriv_prefix()), binary))
        os.chmod(wrapper, 0o755)
        srv = self.serve(["-k"], binary=wrapper)
        self.assertEqual(locked_limit(srv.pid), str(SMALL_LIMIT_KIB * 1024))
        self.assert_serves(srv)
        self.assertEqual(status_kib(srv.pid, "VmLck"), 0)
        self.assertIn(WARNING + " mlockall failed", srv.output())
        self.assertIn("RLIMIT_MEMLOCK %d KiB" % SMALL_LIMIT_KIB, srv.output())
        self.assertEqual(srv.stop(signal.SIGTERM), 0, srv.output())


if __name__ == "__main__":
    unittest.main()
