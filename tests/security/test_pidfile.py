"""The pidfile (-P) is written as the start-up user, often root, maybe in a
directory the run-as user can write (so the daemon can remove it at exit).
Nothing there may make root write elsewhere: a symlink is not followed
(dangling or not), a FIFO, directory or hard-linked file is refused with exit
71 and one line naming the pidfile, and the file it would have hit is left
as it was. A normal pidfile holds the pid, mode 0644; at exit the daemon,
by then unprivileged and under seccomp (which allows unlink of exactly the
-P and -s names), removes it where the run-as user may, and leaves it with
exit status 0 where it may not. Every wait is bounded."""
import os
import signal
import socket
import stat
import subprocess
import tempfile
import unittest

import privcheck as pc

harness = pc.harness
NEEDS_ROOT = "needs root (starts the daemon as root, which drops to memcache)"


def snapshot(path):
    """What a write through the pidfile would change."""
    st = os.lstat(path)
    with open(path, "rb") as f:
        return f.read(), st.st_mtime_ns, stat.S_IMODE(st.st_mode), st.st_size


@unittest.skipUnless(harness.is_root(), NEEDS_ROOT)
class Pidfile(pc.RootDaemonCase):
    def setUp(self):
        super().setUp()
        self.victim = os.path.join(self.tmp, "victim")
        with open(self.victim, "w") as f:
            f.write("precious\n")
        os.chmod(self.victim, 0o600)

    def path(self, name):
        return os.path.join(self.tmp, name)

    def start_refused(self, pidfile, extra=()):
        argv = [self.binary, "-p", str(harness.free_port()), "-P", pidfile] + list(extra)
        status, err = pc.run_refused(argv)
        self.assertIsNotNone(status, "the daemon started (or hung) with -P %s" % pidfile)
        self.assertEqual(status, 71, err)
        lines = [line for line in err.splitlines() if line.strip()]
        self.assertEqual(len(lines), 1, err)
        self.assertTrue(lines[0].startswith("hardcached: pidfile: " + pidfile + ": "), err)
        return lines[0]

    def serve(self, args):
        srv = harness.Server(args=list(args), binary=self.binary)
        self.addCleanup(srv.stop)
        return srv

    def assert_serves(self, srv):
        with srv.client() as c:
            self.assertEqual(c.set("pidtest", "v"), b"STORED\r\n")
            self.assertEqual(c.get("pidtest"), b"v")

    # ---- refused ---------------------------------------------------------

    def test_symlink_to_a_file_is_refused_and_the_file_untouched(self):
        before = snapshot(self.victim)
        link = self.path("hc.pid")
        os.symlink(self.victim, link)
        line = self.start_refused(link)
        self.assertIn("symbolic link", line)
        self.assertEqual(snapshot(self.victim), before)
        self.assertTrue(os.path.islink(link))

    def test_dangling_symlink_is_refused_and_nothing_created(self):
        target = self.path("would-be-created")
        link = self.path("hc.pid")
        os.symlink(target, link)
        self.assertIn("symbolic link", self.start_refused(link))
        self.assertFalse(os.path.lexists(target), "the symlink's target was created")

    def test_fifo_is_refused_without_hanging(self):
        fifo = self.path("hc.pid")
        os.mkfifo(fifo)
        self.assertIn("not a regular file", self.start_refused(fifo))
        self.assertTrue(stat.S_ISFIFO(os.lstat(fifo).st_mode))

    def test_fifo_with_a_reader_is_refused(self):
        fifo = self.path("hc.pid")
        os.mkfifo(fifo)
        reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        self.addCleanup(os.close, reader)
        self.assertIn("not a regular file", self.start_refused(fifo))
        self.assertEqual(os.read(reader, 100), b"")  # the writer closed, wrote nothing

    def test_directory_is_refused(self):
        d = self.path("hc.pid")
        os.mkdir(d)
        self.start_refused(d)
        self.assertEqual(os.listdir(d), [])

    def test_hard_link_is_refused_and_the_other_name_untouched(self):
        before = snapshot(self.victim)
        link = self.path("hc.pid")
        os.link(self.victim, link)
        self.assertIn("hard links", self.start_refused(link))
        self.assertEqual(snapshot(self.victim), before)

    def test_symlink_is_refused_under_d_too_and_the_caller_hears_it(self):
        # -d: the caller waits for the daemon's start-up and gets its status
        link = self.path("hc.pid")
        os.symlink(self.victim, link)
        before = snapshot(self.victim)
        self.assertIn("symbolic link", self.start_refused(link, ["-d"]))
        self.assertEqual(snapshot(self.victim), before)

    # ---- written, and removed at exit --------------------------------------

    def test_pidfile_holds_the_pid_mode_0644(self):
        pidfile = self.path("hc.pid")
        srv = self.serve(["-P", pidfile])
        with open(pidfile) as f:
            self.assertEqual(f.read(), "%d\n" % srv.pid)
        st = os.stat(pidfile)
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o644)
        self.assertEqual(st.st_uid, 0)
        self.assert_serves(srv)

    def test_stale_pidfile_is_rewritten(self):
        pidfile = self.path("hc.pid")
        with open(pidfile, "w") as f:
            f.write("99999999 and a long stale line\n")
        os.chmod(pidfile, 0o666)
        srv = self.serve(["-P", pidfile])
        with open(pidfile) as f:
            self.assertEqual(f.read(), "%d\n" % srv.pid)
        self.assertEqual(stat.S_IMODE(os.stat(pidfile).st_mode), 0o644)

    def test_removed_at_exit_where_the_run_as_user_may(self):
        os.chown(self.tmp, self.uid, self.gid)
        pidfile = self.path("hc.pid")
        srv = self.serve(["-P", pidfile])
        self.assertTrue(os.path.exists(pidfile))
        self.assertEqual(srv.stop(signal.SIGTERM), 0, srv.output())
        self.assertFalse(os.path.exists(pidfile), "pidfile left after a clean exit")

    def test_left_in_a_root_owned_directory_with_a_clean_exit(self):
        # memcache cannot remove it there: unlink fails (EACCES), it is not
        # killed by the filter, and the service manager removes the file
        pidfile = self.path("hc.pid")
        srv = self.serve(["-P", pidfile])
        self.assertEqual(srv.stop(signal.SIGTERM), 0, srv.output())
        self.assertTrue(os.path.exists(pidfile))

    def test_unix_socket_removed_at_exit(self):
        os.chown(self.tmp, self.uid, self.gid)
        path = self.path("hc.sock")
        log = tempfile.TemporaryFile()
        proc = subprocess.Popen([self.binary, "-s", path], stdout=log, stderr=subprocess.STDOUT)
        self.addCleanup(lambda: proc.poll() is None and (proc.kill(), proc.wait(5)))

        def answers():
            try:
                with socket.socket(socket.AF_UNIX) as s:
                    s.settimeout(1)
                    s.connect(path)
                    s.sendall(b"version\r\n")
                    return s.recv(100).startswith(b"VERSION")
            except OSError:
                return proc.poll() is not None  # exited: stop waiting
        self.assertTrue(harness.wait_until(answers, 10, interval=0.02), "no answer on %s" % path)
        self.assertIsNone(proc.poll(), "exited %s" % proc.returncode)
        proc.send_signal(signal.SIGTERM)
        status = proc.wait(10)
        log.seek(0)
        self.assertEqual(status, 0, log.read().decode(errors="replace"))
        self.assertFalse(os.path.exists(path), "unix socket left after a clean exit")

if __name__ == "__main__":
    unittest.main()
