"""test_tls_privsep.py: with -Z and -Y on, the daemon started as root keeps
its promises and the reader process it forks for reloads is confined, all
read from /proc from outside: every task of the daemon runs under seccomp
(Seccomp: 2); the reader (a child of the daemon) runs under its own filter,
with NoNewPrivs, no capabilities, in a network namespace of its own that
holds nothing but lo; it dies when the daemon is stopped (SIGTERM) or
killed (SIGKILL); and a SIGHUP served through it still works, so the
confinement is not bought by breaking the reload. Root only (the daemon is
started as root and drops to memcache; the reader's network namespace is a
root-only feature): otherwise each test is skipped with the reason."""
import os
import signal
import unittest

import privcheck as pc
from privcheck import ZERO_CAPS

harness = pc.harness
import tlsutil  # noqa: E402  (tests/lib, on the path through privcheck)

NEEDS_ROOT = "needs root (the daemon is started as root; the reader's network " \
             "namespace exists only then)"


@unittest.skipUnless(harness.is_root(), NEEDS_ROOT)
class ReaderPrivsep(pc.RootDaemonCase):
    def setUp(self):
        super().setUp()
        os.chmod(self.tmp, 0o755)
        self.pki = tlsutil.PKI()
        self.addCleanup(self.pki.close)
        self.auth = os.path.join(self.tmp, "auth")
        with open(self.auth, "w") as f:
            f.write("admin:admin-pw\n")
        os.chmod(self.auth, 0o644)
        self.srv = tlsutil.TLSServer(
            ["-Z", "-o", tlsutil.ssl_opts(self.pki), "-Y", self.auth],
            probe_ctx=self.pki.client_context(), probe_expect=b"", binary=self.binary)
        self.addCleanup(self.srv.stop)

    def reader(self):
        """The reader: the daemon's one child process, (pid, start time)."""
        kids = tlsutil.children_of(self.srv.pid)
        self.assertEqual(len(kids), 1, "children of the daemon: %s (expected the reader)"
                         % kids)
        return kids[0], tlsutil.start_time(kids[0])

    def net_ns(self, pid):
        return os.readlink("/proc/%d/ns/net" % pid)

    def test_every_daemon_task_has_seccomp(self):
        tasks = pc.task_status(self.srv.pid)
        self.assertGreater(len(tasks), 1, "expected worker threads: %s" % sorted(tasks))
        for tid, st in tasks.items():
            self.assertEqual(st["Seccomp"], "2", "daemon thread %d has no filter" % tid)
            self.assertEqual(st["NoNewPrivs"], "1", "daemon thread %d" % tid)
            self.assertEqual(st["CapEff"], ZERO_CAPS, "daemon thread %d" % tid)
            self.assertEqual(pc.ids(st, "Uid"), [self.uid] * 4, "daemon thread %d" % tid)

    def test_reader_is_confined(self):
        pid, _ = self.reader()
        tasks = pc.task_status(pid)
        self.assertTrue(tasks, "the reader vanished")
        for tid, st in tasks.items():
            where = "reader %d task %d" % (pid, tid)
            self.assertEqual(st["Seccomp"], "2", where + ": no seccomp filter")
            self.assertEqual(st["NoNewPrivs"], "1", where)
            for cap in ("CapAmb", "CapInh"):
                self.assertEqual(st[cap], ZERO_CAPS, "%s: %s" % (where, cap))
            # CAP_DAC_READ_SEARCH (bit 2) alone: the key may belong to the
            # service user with mode 0600, as memcached reads it as root
            for cap in ("CapEff", "CapPrm", "CapBnd"):
                self.assertEqual(st[cap], "0000000000000004", "%s: %s" % (where, cap))
            self.assertEqual(int(st["PPid"]), self.srv.pid, where + ": not the daemon's child")
        self.assertNotEqual(self.net_ns(pid), self.net_ns(self.srv.pid),
                            "the reader shares the daemon's network namespace")
        self.assertNotEqual(self.net_ns(pid), self.net_ns(os.getpid()))
        with open("/proc/%d/net/dev" % pid) as f:
            ifaces = [line.split(":")[0].strip() for line in f.readlines()[2:]]
        self.assertEqual(ifaces, ["lo"], "interfaces the reader can see")

    def test_reload_works_through_the_confined_reader(self):
        pid, started = self.reader()
        with open(self.auth + ".new", "w") as f:
            f.write("admin:admin-pw\nbob:bob-pw\n")
        os.chmod(self.auth + ".new", 0o644)
        os.rename(self.auth + ".new", self.auth)
        with self.srv.tls_client() as c:
            self.assertEqual(c.cmd(b"set a 0 0 14\r\nadmin admin-pw"), b"STORED\r\n")
            os.kill(self.srv.pid, signal.SIGHUP)
            harness.wait_until(lambda: int(c.stats()["config_reloads"]) >= 1, 10,
                               "config_reloads to count the SIGHUP")
            self.assertEqual(c.stats()["config_reload_errors"], "0")
        with self.srv.tls_client() as c:
            self.assertEqual(c.cmd(b"set a 0 0 10\r\nbob bob-pw"), b"STORED\r\n")
        self.assertFalse(tlsutil.process_gone(pid, started), "the reader died in the reload")

    def stop_and_check_reader_dies(self, sig):
        pid, started = self.reader()
        self.srv.stop(sig)
        harness.wait_until(lambda: tlsutil.process_gone(pid, started), 10,
                           "the reader %d to end after the daemon got signal %d" % (pid, sig))

    def test_reader_dies_with_daemon_sigterm(self):
        self.stop_and_check_reader_dies(signal.SIGTERM)
        self.assertEqual(self.srv.proc.returncode, 0, self.srv.output())

    def test_reader_dies_with_daemon_sigkill(self):
        self.stop_and_check_reader_dies(signal.SIGKILL)


if __name__ == "__main__":
    unittest.main()
