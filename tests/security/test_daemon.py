"""-d detaches fully: the daemon leaves the caller's session and directory
(cwd "/"), keeps no descriptor it did not open (an extra fd the caller
passes is closed), has stdin/stdout/stderr on /dev/null, umask 027, and the
caller's process exits 0 only once the daemon serves, with the pidfile
written; a start-up error after the fork still reaches the caller with the
daemon's exit status. Stopped with SIGTERM through the pidfile, it exits 0
and removes the pidfile. Read from /proc, from outside (root: the daemon is
not dumpable). This process becomes a child subreaper, so the detached
daemon is reparented to it and its exit status can be read. Every wait is
bounded: the pidfile and the port are polled with deadlines."""
import ctypes
import os
import signal
import stat
import subprocess
import unittest

import privcheck as pc

harness = pc.harness
NEEDS_ROOT = "needs root (reads /proc/PID/fd and cwd of a daemon that is not dumpable)"
PR_SET_CHILD_SUBREAPER = 36
START_TIMEOUT = 10


def set_subreaper(on):
    libc = ctypes.CDLL(None, use_errno=True)
    return libc.prctl(PR_SET_CHILD_SUBREAPER, 1 if on else 0, 0, 0, 0) == 0


def proc_status(pid):
    with open("/proc/%d/status" % pid) as f:
        return pc.parse_status(f.read())


def session_of(pid):
    with open("/proc/%d/stat" % pid) as f:
        text = f.read()
    return int(text[text.rindex(")") + 2:].split()[3])   # pid (comm) state ppid pgrp session


@unittest.skipUnless(harness.is_root(), NEEDS_ROOT)
class Daemonize(pc.RootDaemonCase):
    def setUp(self):
        super().setUp()
        self.assertTrue(set_subreaper(True), "cannot become a child subreaper")
        self.addCleanup(set_subreaper, False)
        os.chown(self.tmp, self.uid, self.gid)   # memcache may remove the pidfile
        self.cwd = os.path.join(self.tmp, "cwd")
        os.mkdir(self.cwd)
        self.pid = None
        self.addCleanup(self.kill_daemon)

    def kill_daemon(self):
        """Whatever daemon a test left: ours as subreaper, even one that never
        wrote its pidfile."""
        for pid in [self.pid] if self.pid is not None else self.orphans():
            self.pid = pid
            if self.reap(0) is None:
                os.kill(pid, signal.SIGKILL)
                self.reap(5)

    def orphans(self):
        found = []
        for name in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open("/proc/%s/stat" % name) as f:
                    text = f.read()
                ppid = int(text[text.rindex(")") + 2:].split()[1])
                if ppid == os.getpid() and os.readlink("/proc/%s/exe" % name) == self.binary:
                    found.append(int(name))
            except (OSError, ValueError):
                pass
        return found

    def reap(self, timeout):
        """The daemon's wait status once it has exited (it is our orphan)."""
        def exited():
            try:
                got, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                return ("gone",)
            return (status,) if got == self.pid else None
        got = harness.wait_until(exited, timeout, interval=0.02)
        return got[0] if got else None

    def launch(self, args, pass_fds=()):
        """Runs hardcached -d ... from self.cwd; returns (status, output)."""
        r = subprocess.run([self.binary, "-d"] + list(args), cwd=self.cwd, pass_fds=pass_fds,
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=START_TIMEOUT)
        return r.returncode, r.stdout.decode(errors="replace")

    def read_pid(self, pidfile):
        try:
            with open(pidfile) as f:
                text = f.read()
        except FileNotFoundError:
            return None
        return int(text) if text.endswith("\n") and text[:-1].isdigit() else None

    def test_detaches_fully_and_stops_through_the_pidfile(self):
        port = harness.free_port()
        pidfile = os.path.join(self.tmp, "hc.pid")
        inherited_r, inherited_w = os.pipe()       # the caller's extra descriptor
        self.addCleanup(os.close, inherited_r)
        try:
            # subprocess.run returns only when every holder of its stdout
            # pipe is gone: a daemon keeping stdout would time out here
            status, out = self.launch(["-p", str(port), "-P", pidfile], pass_fds=(inherited_w,))
        finally:
            os.close(inherited_w)
        self.assertEqual(status, 0, out)
        self.assertEqual(out, "")
        # the caller exits once the daemon serves: the pidfile is there already
        self.pid = self.read_pid(pidfile)
        self.assertIsNotNone(self.pid, "no pid in %s when the caller exited" % pidfile)
        self.assertTrue(os.path.exists("/proc/%d" % self.pid))

        self.assertEqual(os.readlink("/proc/%d/cwd" % self.pid), "/")
        fd_dir = "/proc/%d/fd" % self.pid
        links = {int(fd): os.readlink(os.path.join(fd_dir, fd)) for fd in os.listdir(fd_dir)}
        for fd in (0, 1, 2):
            self.assertEqual(links.get(fd), "/dev/null", "fd %d: %s" % (fd, links))
        pipe_inode = "pipe:[%d]" % os.fstat(inherited_r).st_ino
        self.assertNotIn(pipe_inode, links.values(), "the inherited pipe is still open: %s" % links)
        # and no one holds its write end any more: EOF, not a wait
        os.set_blocking(inherited_r, False)
        self.assertEqual(os.read(inherited_r, 10), b"")
        st = proc_status(self.pid)
        self.assertEqual(st["Umask"], "0027")
        self.assertEqual(session_of(self.pid), self.pid, "not a session leader")
        self.assertEqual(pc.ids(st, "Uid"), [self.uid] * 4)
        self.assertEqual(st["Seccomp"], "2")

        with harness.RawClient(("127.0.0.1", port), 5.0) as c:
            self.assertEqual(c.set("daemon", "detached"), b"STORED\r\n")
            self.assertEqual(c.get("daemon"), b"detached")
            self.assertEqual(int(c.stats()["pid"]), self.pid)

        os.kill(self.read_pid(pidfile), signal.SIGTERM)
        status = self.reap(10)
        self.assertIsNotNone(status, "still running 10 s after SIGTERM")
        self.assertTrue(os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0,
                        "daemon ended with wait status %r" % (status,))
        self.pid = None
        self.assertFalse(os.path.exists(pidfile), "pidfile left after a clean exit")

    def test_relative_pidfile_lands_in_the_callers_directory(self):
        os.chown(self.cwd, self.uid, self.gid)
        status, out = self.launch(["-p", str(harness.free_port()), "-P", "rel.pid"])
        self.assertEqual(status, 0, out)
        pidfile = os.path.join(self.cwd, "rel.pid")
        self.pid = self.read_pid(pidfile)
        self.assertIsNotNone(self.pid, "no pid in %s" % pidfile)
        self.assertFalse(os.path.exists("/rel.pid"), "the pidfile followed the daemon to /")
        os.kill(self.pid, signal.SIGTERM)
        self.assertEqual(self.reap(10), 0)
        self.pid = None
        self.assertFalse(os.path.exists(pidfile), "pidfile left after a clean exit")

    def test_start_up_error_after_the_fork_reaches_the_caller(self):
        bad = os.path.join(self.tmp, "hc.pid")
        os.mkfifo(bad)
        status, out = self.launch(["-p", str(harness.free_port()), "-P", bad])
        self.assertEqual(status, 71, out)
        self.assertEqual(out, "hardcached: pidfile: %s: not a regular file; refusing to write "
                              "to it\n" % bad)
        self.assertTrue(stat.S_ISFIFO(os.lstat(bad).st_mode))

    def test_bind_error_reaches_the_caller(self):
        with harness.Server() as other:
            status, out = self.launch(["-p", str(other.port)])
        self.assertEqual(status, 71, out)
        self.assertIn("hardcached: listen:", out)


if __name__ == "__main__":
    unittest.main()
