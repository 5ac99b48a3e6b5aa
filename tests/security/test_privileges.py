"""Promise 3 (SPEC §3, §8): never runs with privileges it does not need, and
cannot regain them. Two layers of evidence, both read from /proc from outside:
  PrivdropDriverTest: src/sec/privdrop.c through a small standalone driver
                      (tests/security/privdrop_driver.c), every edge case.
  DaemonPrivilegeTest: the real daemon (build/hardcached or $HC_BIN) started
                      as root and as nobody: every thread's ids, all five
                      capability sets, no_new_privs, seccomp, dumpable, and it
                      still serves.
Started as root (any test needs root to set up users or setpriv); otherwise
each test is skipped with the reason."""
import os
import shutil
import unittest

import privcheck as pc
from privcheck import CAP_SETS, ZERO_CAPS

harness = pc.harness

NEEDS_ROOT = "needs root (to start it as root, and as nobody with setpriv)"
MISSING_USER = "nosuchuser"


class Dropped:
    """Assertions on the kernel's view of every thread of a process."""

    def assert_dropped(self, pid, uid, gid, bounding_zero=True, seccomp=False,
                       min_tasks=1, dumpable=False):
        tasks = pc.task_status(pid)
        self.assertGreaterEqual(len(tasks), min_tasks, "threads: %s" % sorted(tasks))
        for tid, st in tasks.items():
            where = "pid %d thread %d" % (pid, tid)
            self.assertEqual(pc.ids(st, "Uid"), [uid] * 4, where)
            self.assertEqual(pc.ids(st, "Gid"), [gid] * 4, where)
            self.assertNotIn("0", st.get("Groups", "").split(), where + ": in group root")
            for cap in CAP_SETS:
                if cap != "CapBnd" or bounding_zero:
                    self.assertEqual(st[cap], ZERO_CAPS, "%s: %s" % (where, cap))
            self.assertEqual(st["NoNewPrivs"], "1", where)
            if seccomp:
                self.assertEqual(st["Seccomp"], "2", where + ": seccomp filter not active")
        # Not dumpable: the kernel makes /proc/PID/* root's; dumpable: the owner's.
        self.assertEqual(pc.proc_owner(pid), uid if dumpable else 0, "dumpable")
        return tasks


@unittest.skipUnless(harness.is_root(), NEEDS_ROOT)
class PrivdropDriverTest(unittest.TestCase, Dropped):
    @classmethod
    def setUpClass(cls):
        pc.ensure_user()
        cls.uid, cls.gid = pc.user_ids(pc.RUN_AS)
        cls.nobody = pc.user_ids(pc.UNPRIV_USER)
        cls.tmp = pc.make_tmpdir()
        cls.driver = pc.build_driver(cls.tmp)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def start(self, *args, prefix=()):
        d = pc.Driver(list(prefix) + [self.driver] + list(args))
        self.addCleanup(d.close)
        self.assertTrue(d.ready, "driver not ready: %s %s" % (d.text, d.err))
        return d

    def refused(self, *args, prefix=()):
        return pc.run_refused(list(prefix) + [self.driver] + list(args))

    def test_root_switches_to_memcache_on_every_thread(self):
        d = self.start("--threads-after", "2")
        tasks = self.assert_dropped(d.pid, self.uid, self.gid, min_tasks=3)
        self.assertEqual(len(tasks), 3)
        for st in tasks.values():
            self.assertEqual(st.get("Groups", ""), "", "supplementary groups remain")
        self.assertIn("DUMPABLE 0", d.text)
        # threads started after the drop cannot get root back either
        self.assertIn("THREAD 0 setuid0=-1 setgid0=-1", d.text)
        self.assertIn("THREAD 1 setuid0=-1 setgid0=-1", d.text)

    def test_threads_started_before_the_drop_are_refused(self):
        status, err = self.refused("--threads-before", "2")
        self.assertEqual(status, 71, err)
        self.assertIn("3 threads exist", err)

    def test_enable_coredumps_keeps_it_dumpable(self):
        d = self.start("--coredumps")
        self.assert_dropped(d.pid, self.uid, self.gid, dumpable=True)
        self.assertIn("DUMPABLE 1", d.text)

    def test_user_root_is_refused_with_64(self):
        status, err = self.refused("--user", "root")
        self.assertEqual(status, 64, err)
        self.assertIn('user "root" is root (uid 0)', err)

    def test_missing_user_is_refused_with_67(self):
        if harness.user_exists(MISSING_USER):
            self.skipTest("a user named %s exists here" % MISSING_USER)
        status, err = self.refused("--user", MISSING_USER)
        self.assertEqual(status, 67, err)
        self.assertIn('user "%s" does not exist; create it with: adduser --system --group '
                      '--no-create-home --home /nonexistent %s' % (MISSING_USER, MISSING_USER),
                      err)

    def test_setuid_root_style_start_switches_all_ids(self):
        # real uid nobody, effective and saved uid 0 (a setuid-root binary)
        d = self.start(prefix=[pc.SETPRIV, "--ruid=" + pc.UNPRIV_USER, "--"])
        self.assert_dropped(d.pid, self.uid, self.gid)

    def test_root_without_setpcap_fails_closed(self):
        # root that cannot empty its bounding set must not start
        status, err = self.refused(prefix=[pc.SETPRIV, "--bounding-set=-setpcap", "--"])
        self.assertEqual(status, 71, err)
        self.assertIn("capability bounding set", err)

    def test_root_with_no_capabilities_fails_closed(self):
        status, err = self.refused(prefix=[pc.SETPRIV, "--bounding-set=-all", "--"])
        self.assertEqual(status, 71, err)
        self.assertIn("apply:", err)

    def test_nonroot_keeps_its_user(self):
        d = self.start("--threads-after", "1", prefix=pc.unpriv_prefix())
        # Unprivileged, it cannot touch the bounding set; no_new_privs makes
        # that set unusable (SECURITY.md); every other set must be empty.
        self.assert_dropped(d.pid, *self.nobody, bounding_zero=False, min_tasks=2)
        self.assertIn("RESOLVED name=nobody", d.text)

    def test_nonroot_with_ambient_caps_clears_everything(self):
        caps = "+setpcap,+net_bind_service"
        d = self.start(prefix=pc.unpriv_prefix(["--inh-caps=" + caps, "--ambient-caps=" + caps]))
        self.assert_dropped(d.pid, *self.nobody, bounding_zero=True)

    def test_nonroot_with_group_root_is_refused(self):
        prefix = [pc.SETPRIV, "--reuid=" + pc.UNPRIV_USER, "--regid=0", "--clear-groups", "--"]
        status, err = self.refused(prefix=prefix)
        self.assertEqual(status, 64, err)
        self.assertIn("group root", err)

    def test_nonroot_user_root_is_refused(self):
        status, err = self.refused("--user", "root", prefix=pc.unpriv_prefix())
        self.assertEqual(status, 64, err)


@unittest.skipUnless(harness.is_root(), NEEDS_ROOT)
class DaemonPrivilegeTest(unittest.TestCase, Dropped):
    @classmethod
    def setUpClass(cls):
        pc.ensure_user()
        cls.uid, cls.gid = pc.user_ids(pc.RUN_AS)
        cls.nobody = pc.user_ids(pc.UNPRIV_USER)
        cls.binary = os.path.abspath(pc.harness.hardcached_binary())
        cls.tmp = pc.make_tmpdir()

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        if not os.path.exists(self.binary):
            self.fail("%s is missing: run make first" % self.binary)

    def serve(self, args=(), binary=None):
        srv = pc.harness.Server(args=list(args), binary=binary)
        self.addCleanup(srv.stop)
        return srv

    def assert_serves(self, srv):
        with srv.client() as c:
            self.assertEqual(c.set("privtest", "dropped"), b"STORED\r\n")
            self.assertEqual(c.get("privtest"), b"dropped")

    def unpriv_wrapper(self, extra=()):
        """An executable that runs a 0755 copy of the daemon as nobody."""
        binary = pc.expose(self.binary, self.tmp)
        path = os.path.join(self.tmp, "as-nobody-%d" % len(os.listdir(self.tmp)))
        with open(path, "w") as f:
            f.write("#!/bin/sh\nexec %s %s \"$@\"\n" % (
                " ".join(pc.unpriv_prefix(extra)), binary))
        os.chmod(path, 0o755)
        return path

    def refused(self, argv):
        status, err = pc.run_refused(argv)
        self.assertIsNotNone(status, "the daemon did not refuse (still running after 10s)")
        return status, err

    def test_root_start_drops_to_memcache_on_every_thread(self):
        srv = self.serve(["-t", "4"])
        tasks = self.assert_dropped(srv.pid, self.uid, self.gid, seccomp=True, min_tasks=5)
        for st in tasks.values():
            self.assertEqual(st.get("Groups", ""), "", "supplementary groups remain")
        self.assert_serves(srv)

    def test_explicit_user_memcache(self):
        srv = self.serve(["-u", pc.RUN_AS])
        self.assert_dropped(srv.pid, self.uid, self.gid, seccomp=True, min_tasks=2)
        self.assert_serves(srv)

    def test_enable_coredumps_is_dumpable_but_still_dropped(self):
        srv = self.serve(["-r"])
        self.assert_dropped(srv.pid, self.uid, self.gid, seccomp=True, dumpable=True)
        self.assert_serves(srv)

    def test_user_root_is_refused_with_64(self):
        status, err = self.refused([self.binary, "-p", str(pc.harness.free_port()),
                                    "-u", "root"])
        self.assertEqual(status, 64, err)
        self.assertIn("root", err)

    def test_missing_user_is_refused_with_67(self):
        if harness.user_exists(MISSING_USER):
            self.skipTest("a user named %s exists here" % MISSING_USER)
        status, err = self.refused([self.binary, "-p", str(pc.harness.free_port()),
                                    "-u", MISSING_USER])
        self.assertEqual(status, 67, err)
        self.assertIn('user "%s" does not exist' % MISSING_USER, err)
        self.assertIn("adduser --system", err)

    def test_nonroot_start_keeps_its_user(self):
        srv = self.serve(["-t", "2"], binary=self.unpriv_wrapper())
        self.assert_dropped(srv.pid, *self.nobody, bounding_zero=False, seccomp=True,
                            min_tasks=3)
        self.assert_serves(srv)

    def test_nonroot_start_with_ambient_caps_clears_them(self):
        caps = "+setpcap,+net_bind_service"
        srv = self.serve(binary=self.unpriv_wrapper(["--inh-caps=" + caps,
                                                     "--ambient-caps=" + caps]))
        self.assert_dropped(srv.pid, *self.nobody, bounding_zero=True, seccomp=True,
                            min_tasks=2)
        self.assert_serves(srv)

    def test_nonroot_user_root_is_refused_with_64(self):
        status, err = self.refused([self.unpriv_wrapper(), "-p",
                                    str(pc.harness.free_port()), "-u", "root"])
        self.assertEqual(status, 64, err)


if __name__ == "__main__":
    unittest.main()
