"""Command line (SPEC §2): bad input exits 64 (EX_USAGE) with a one-line error
naming the option and starts nothing; -U other than 0 is refused; -V, -h;
-d with -P writes the daemon's pid. Every run is bounded by a timeout."""
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import unittest
import ctypes

from itest import IS_REFERENCE, binary_cmd, hardcached_only
import harness
from harness import RawClient, port_is_closed, wait_until
from wire import sync

EX_USAGE = 64
RUN_TIMEOUT = 10


def ref_extra():
    """What memcached 1.6.18 needs to start like hardcached does (as root it
    insists on -u; it listens everywhere and may open UDP unless told)."""
    if not IS_REFERENCE:
        return []
    extra = ["-l", "127.0.0.1", "-U", "0"]
    if harness.is_root():
        extra += ["-u", "memcache"]
    return extra


def run(args, timeout=RUN_TIMEOUT):
    """Run the daemon binary in the foreground; it must exit by itself."""
    try:
        p = subprocess.run([binary_cmd()] + list(args), stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raise AssertionError("%s %s did not exit within %ss (it started serving?)"
                             % (binary_cmd(), " ".join(args), timeout)) from e
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


@hardcached_only("hardcached's EX_USAGE contract (memcached exits 1 or starts anyway)")
class BadInput(unittest.TestCase):

    def assertUsageError(self, args, names):
        port = harness.free_port()
        rc, out, err = run(["-p", str(port)] + list(args))
        self.assertEqual(rc, EX_USAGE, "stdout=%r stderr=%r" % (out, err))
        lines = err.strip("\n").split("\n")
        self.assertEqual(len(lines), 1, "stderr must be one line: %r" % err)
        self.assertTrue(any(n in lines[0] for n in names),
                        "stderr %r names none of %r" % (lines[0], names))
        self.assertTrue(port_is_closed(port), "something listens on %d" % port)

    def test_unknown_long_option(self):
        self.assertUsageError(["--no-such-option"], ["no-such-option"])

    def test_unknown_short_option(self):
        self.assertUsageError(["-9"], ["-9", "'9'", "9"])

    def test_memory_limit_not_a_number(self):
        self.assertUsageError(["-m", "lots"], ["-m", "memory-limit"])

    def test_port_out_of_range(self):
        self.assertUsageError(["-p", "70000"], ["-p", "port"])

    def test_threads_not_a_number(self):
        self.assertUsageError(["-t", "many"], ["-t", "threads"])

    def test_conn_limit_garbage(self):
        self.assertUsageError(["-c", "12abc"], ["-c", "conn-limit"])

    def test_max_item_size_bad_suffix(self):
        self.assertUsageError(["-I", "1q"], ["-I", "max-item-size"])

    def test_missing_option_value(self):
        self.assertUsageError(["-m"], ["-m", "'m'", "memory-limit"])

    def test_udp_port_refused(self):
        self.assertUsageError(["-U", "11211"], ["-U", "udp"])

    def test_udp_port_long_form_refused(self):
        self.assertUsageError(["--udp-port=11211"], ["-U", "udp"])


class InfoFlags(unittest.TestCase):

    def test_version_flag(self):
        port = harness.free_port()
        rc, out, err = run(["-V", "-p", str(port)])
        self.assertEqual(rc, 0, err)
        # "memcached 1.6.18"; "hardcached 0.1.0 (...)": a name, then the version
        self.assertRegex(out.strip(), r"^\S+ [0-9]+\.[0-9]+")
        self.assertEqual(len(out.strip().split("\n")), 1)
        self.assertTrue(port_is_closed(port))

    def test_version_long_flag(self):
        rc, out, err = run(["--version"])
        self.assertEqual(rc, 0, err)
        self.assertRegex(out, r"[0-9]+\.[0-9]+")

    def test_help_flag(self):
        port = harness.free_port()
        rc, out, err = run(["-h", "-p", str(port)])
        self.assertEqual(rc, 0, err)
        self.assertRegex(out, r"(?m)^\s*-p\b")
        self.assertIn("--port", out)
        self.assertTrue(port_is_closed(port))

    def test_help_long_flag(self):
        rc, out, err = run(["--help"])
        self.assertEqual(rc, 0, err)
        self.assertRegex(out, r"(?m)^\s*-p\b")


PR_SET_CHILD_SUBREAPER = 36


def set_subreaper(on):
    """Make this process the reaper of daemons its children fork, so a killed
    daemon can be waited for (PID 1 in some containers never reaps)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1 if on else 0, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


class Daemonize(unittest.TestCase):

    def setUp(self):
        self.reaper = set_subreaper(True)
        self.addCleanup(set_subreaper, False)
        self.tmp = tempfile.mkdtemp(prefix="hc-pidfile-")
        # the daemon may write its pidfile after switching to 'memcache'
        if harness.is_root():
            try:
                pw = pwd.getpwnam("memcache")
                os.chown(self.tmp, pw.pw_uid, pw.pw_gid)
            except KeyError:
                pass
        self.pid = None

    def tearDown(self):
        if self.pid:
            self.kill(self.pid)
        shutil.rmtree(self.tmp, ignore_errors=True)

    @staticmethod
    def alive(pid):
        try:
            with open("/proc/%d/status" % pid) as f:
                for line in f:
                    if line.startswith("State:"):
                        return "Z" not in line.split()[1]
        except (FileNotFoundError, ProcessLookupError):
            return False
        return True

    def kill(self, pid):
        for sig, wait in ((signal.SIGTERM, 5), (signal.SIGKILL, 5)):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                break
            if wait_until(lambda: not self.alive(pid), wait):
                break
        if self.reaper:
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass

    def test_daemon_writes_pidfile(self):
        port = harness.free_port()
        pidfile = os.path.join(self.tmp, "hc.pid")
        rc, out, err = run(["-p", str(port), "-d", "-P", pidfile] + ref_extra())
        self.assertEqual(rc, 0, "stdout=%r stderr=%r" % (out, err))

        def read_pid():
            try:
                with open(pidfile) as f:
                    text = f.read()
                return int(text) if re.match(r"^[0-9]+\n?$", text) else None
            except (FileNotFoundError, ValueError):
                return None
        pid = wait_until(read_pid, 5)
        self.assertIsNotNone(pid, "no pid in %s" % pidfile)
        self.pid = pid
        self.assertTrue(self.alive(pid))

        def answers():
            try:
                with RawClient(("127.0.0.1", port), 1.0) as c:
                    return sync(c) == b""
            except (OSError, EOFError):
                return False
        self.assertTrue(wait_until(answers, 5), "daemon does not answer on %d" % port)
        with RawClient(("127.0.0.1", port), 2.0) as c:
            self.assertEqual(int(c.stats()["pid"]), pid)
        self.kill(pid)
        self.assertFalse(self.alive(pid), "daemon survived SIGTERM and SIGKILL")
        self.assertTrue(wait_until(lambda: port_is_closed(port), 5))
        self.pid = None


if __name__ == "__main__":
    unittest.main()
