"""test_reload.py: SIGHUP reloads the -Y file and every --allow-file (and,
with -Z, the certificates: see test_tls.py) through the reader process. A
new user can log in after it and a removed one cannot; a source added to an
allow file is served after it and a removed one is closed at accept; a file
that is broken or gone at reload time keeps the old state, is counted in
config_reload_errors (one per file) and logged on stderr; every SIGHUP is
counted in config_reloads. As root, fanotify shows who opens the files during a
reload: the reader, never the daemon itself.

memcached 1.6.18 reloads nothing on SIGHUP: hardcached only (skipped with
that reason under HC_TARGET=memcached). Files change the way deploy tools
change them: a new file renamed over the old one. Every wait has a
deadline; traffic stays on 127.0.0.0/8."""
import ctypes
import os
import re
import select
import shutil
import signal
import struct
import tempfile
import time
import unittest

import itest
import harness
import tlsutil
import wire
from harness import wait_until

NO_RELOAD = "memcached 1.6.18 reloads nothing on SIGHUP"
UNAUTH = b"CLIENT_ERROR unauthenticated\r\n"
AUTH_FAIL = b"CLIENT_ERROR authentication failure\r\n"
ADMIN = ("admin", "admin-pw")


def login_line(user, password):
    cred = ("%s %s" % (user, password)).encode()
    return b"set auth 0 0 %d\r\n%s" % (len(cred), cred)


def served_from(port, source):
    return harness.version_served(port, source)


class ReloadCase(unittest.TestCase):
    """A temp dir of files (0755/0644: the reader may run unprivileged),
    a server started with start(), and the SIGHUP-and-wait step."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="hc-reload-")
        os.chmod(self.dir, 0o755)
        self.addCleanup(shutil.rmtree, self.dir, True)

    def file(self, name, text):
        """Writes (or replaces, through a rename) dir/name; returns its path."""
        path = os.path.join(self.dir, name)
        tlsutil.write_file(path, text)
        return path

    def start(self, args, probe_expect=b"VERSION "):
        srv = tlsutil.TLSServer(args, probe_plain=True, probe_expect=probe_expect,
                                binary=harness.hardcached_binary())
        self.addCleanup(srv.stop)
        self.srv = srv
        return srv

    def counters(self):
        """(config_reloads, config_reload_errors), from a client of its own."""
        st = self.stats()
        return int(st["config_reloads"]), int(st["config_reload_errors"])

    def stats(self):
        with self.srv.client() as c:
            return c.stats()

    def hup(self, reloads, errors):
        """SIGHUP, then wait until (config_reloads, config_reload_errors)
        reads (reloads, errors): every SIGHUP counts in the first, every
        file it could not load in the second."""
        os.kill(self.srv.pid, signal.SIGHUP)
        want = (reloads, errors)
        if not wait_until(lambda: self.counters() == want, 10):
            self.fail("(config_reloads, config_reload_errors) is %s, not %s, 10 s after "
                      "SIGHUP" % (self.counters(), want))
        self.assertIsNone(self.srv.proc.poll(), "the daemon died on SIGHUP")


@itest.hardcached_only(NO_RELOAD)
class AuthFileReload(ReloadCase):
    """-Y: "admin" stays in every version of the file, so an admin
    connection logged in at the start can read stats throughout."""

    def setUp(self):
        super().setUp()
        self.auth = self.file("auth", "%s:%s\nalice:alice-pw\n" % ADMIN)
        self.start(["-Y", self.auth], probe_expect=b"CLIENT_ERROR")
        self.admin = self.srv.client()
        self.addCleanup(self.admin.close)
        self.assertEqual(self.admin.cmd(login_line(*ADMIN)), wire.STORED)

    def stats(self):
        return self.admin.stats()

    def login(self, user, password):
        with self.srv.client() as c:
            self.assertEqual(c.cmd("version"), UNAUTH)
            return c.cmd(login_line(user, password))

    def test_sighup_adds_and_removes_users(self):
        self.assertEqual(self.counters(), (0, 0))
        self.assertEqual(self.login("alice", "alice-pw"), wire.STORED)
        self.assertEqual(self.login("bob", "bob-pw"), AUTH_FAIL)
        self.file("auth", "%s:%s\nbob:bob-pw\n" % ADMIN)
        # nothing changes before the signal
        self.assertEqual(self.login("bob", "bob-pw"), AUTH_FAIL)
        self.hup(1, 0)
        self.assertEqual(self.login("bob", "bob-pw"), wire.STORED)
        self.assertEqual(self.login("alice", "alice-pw"), AUTH_FAIL)
        # a password change
        self.file("auth", "%s:%s\nbob:new-pw\n" % ADMIN)
        self.hup(2, 0)
        self.assertEqual(self.login("bob", "bob-pw"), AUTH_FAIL)
        self.assertEqual(self.login("bob", "new-pw"), wire.STORED)

    def test_broken_file_keeps_old_credentials(self):
        self.file("auth", "%s:%s\nthis line has no colon\nbob:bob-pw\n" % ADMIN)
        self.hup(1, 1)
        self.assertEqual(self.login("alice", "alice-pw"), wire.STORED)
        self.assertEqual(self.login("bob", "bob-pw"), AUTH_FAIL)
        self.assertTrue(self.srv.wait_output(re.escape(self.auth), 10),
                        "no line on stderr names %s: %r" % (self.auth, self.srv.output()))
        # mended, the next reload works
        self.file("auth", "%s:%s\nbob:bob-pw\n" % ADMIN)
        self.hup(2, 1)
        self.assertEqual(self.login("bob", "bob-pw"), wire.STORED)

    def test_missing_file_keeps_old_credentials(self):
        os.unlink(self.auth)
        self.hup(1, 1)
        self.assertEqual(self.login("alice", "alice-pw"), wire.STORED)
        self.assertTrue(self.srv.wait_output(re.escape(self.auth), 10),
                        "no line on stderr names %s: %r" % (self.auth, self.srv.output()))

    def test_logged_in_connection_survives_reload(self):
        with self.srv.client() as c:
            self.assertEqual(c.cmd(login_line("alice", "alice-pw")), wire.STORED)
            self.file("auth", "%s:%s\n" % ADMIN)
            self.hup(1, 0)
            # the daemon is still serving this connection (whatever it
            # decides about the session, it answers, and does not crash)
            reply = c.cmd("version")
            self.assertTrue(reply.startswith(b"VERSION ") or reply == UNAUTH, reply)
        self.assertEqual(self.login("alice", "alice-pw"), AUTH_FAIL)


@itest.hardcached_only(NO_RELOAD)
class AllowFileReload(ReloadCase):
    def test_added_source_served_after_sighup_and_removed_one_refused(self):
        allow = self.file("clients.allow", "# app servers\n127.0.0.1/32\n")
        srv = self.start(["--allow-file", allow])
        self.assertTrue(served_from(srv.port, "127.0.0.1"))
        self.assertFalse(served_from(srv.port, "127.0.0.2"))
        self.file("clients.allow", "# app servers\n127.0.0.1/32\n127.0.0.2/32\n")
        self.assertFalse(served_from(srv.port, "127.0.0.2"))    # not before the signal
        self.hup(1, 0)
        self.assertTrue(served_from(srv.port, "127.0.0.2"))
        self.file("clients.allow", "127.0.0.1/32\n")
        self.hup(2, 0)
        self.assertFalse(served_from(srv.port, "127.0.0.2"))
        self.assertTrue(served_from(srv.port, "127.0.0.1"))

    def test_every_allow_file_reloaded(self):
        a = self.file("a.allow", "127.0.0.1/32\n")
        b = self.file("b.allow", "10.0.0.0/8\n")
        srv = self.start(["--allow-file", a, "--allow-file", b])
        self.assertFalse(served_from(srv.port, "127.0.0.3"))
        self.file("b.allow", "10.0.0.0/8\n127.0.0.3/32\n")
        self.hup(1, 0)
        self.assertTrue(served_from(srv.port, "127.0.0.3"))
        self.assertFalse(served_from(srv.port, "127.0.0.2"))

    def test_broken_allow_file_keeps_old_list(self):
        allow = self.file("clients.allow", "127.0.0.1/32\n127.0.0.2/32\n")
        srv = self.start(["--allow-file", allow])
        self.assertTrue(served_from(srv.port, "127.0.0.2"))
        self.file("clients.allow", "127.0.0.1/32\n10.0.0.0/99\n")
        self.hup(1, 1)
        self.assertTrue(served_from(srv.port, "127.0.0.2"))
        self.assertTrue(served_from(srv.port, "127.0.0.1"))
        self.assertTrue(srv.wait_output(re.escape(allow), 10),
                        "no line on stderr names %s: %r" % (allow, srv.output()))

    def test_emptied_allow_file_keeps_old_list(self):
        # an emptied file is more likely a failed deploy than a wish to refuse everyone
        allow = self.file("clients.allow", "127.0.0.1/32\n127.0.0.2/32\n")
        srv = self.start(["--allow-file", allow])
        self.file("clients.allow", "# nothing left\n")
        self.hup(1, 1)
        self.assertTrue(served_from(srv.port, "127.0.0.2"))
        self.assertTrue(srv.wait_output("no network in the file", 10),
                        "no line on stderr says the file is empty: %r" % srv.output())


# ---- who reads the files: fanotify (root) ------------------------------------------

FAN_CLOEXEC, FAN_NONBLOCK, FAN_CLASS_NOTIF = 0x1, 0x2, 0x0
FAN_MARK_ADD = 0x1
FAN_OPEN, FAN_EVENT_ON_CHILD = 0x20, 0x08000000
O_LARGEFILE = 0o100000
AT_FDCWD = -100
EVENT = struct.Struct("<IBBHQii")   # struct fanotify_event_metadata


class FileOpens:
    """Who opens files in a directory (fanotify, FAN_OPEN on its children):
    a list of (pid, path)."""

    def __init__(self, directory):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.fanotify_mark.argtypes = [ctypes.c_int, ctypes.c_uint, ctypes.c_uint64,
                                       ctypes.c_int, ctypes.c_char_p]
        self.fd = libc.fanotify_init(FAN_CLOEXEC | FAN_NONBLOCK | FAN_CLASS_NOTIF,
                                     os.O_RDONLY | O_LARGEFILE)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "fanotify_init")
        if libc.fanotify_mark(self.fd, FAN_MARK_ADD, FAN_OPEN | FAN_EVENT_ON_CHILD,
                              AT_FDCWD, directory.encode()) != 0:
            err = ctypes.get_errno()
            os.close(self.fd)
            raise OSError(err, "fanotify_mark")
        self.events = []

    def drain(self, wait):
        """Reads the events that arrive within `wait` seconds."""
        deadline = time.monotonic() + wait
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.fd], [], [], left)[0]:
                return self.events
            try:
                buf = os.read(self.fd, 65536)
            except BlockingIOError:
                continue
            off = 0
            while off + EVENT.size <= len(buf):
                length, _, _, _, mask, efd, pid = EVENT.unpack_from(buf, off)
                path = None
                if efd >= 0:
                    try:
                        path = os.readlink("/proc/self/fd/%d" % efd)
                    finally:
                        os.close(efd)
                self.events.append((pid, path))
                off += length

    def close(self):
        os.close(self.fd)


@itest.hardcached_only(NO_RELOAD)
@unittest.skipUnless(harness.is_root(), "needs root (fanotify watches other processes' opens)")
class ReaderDoesTheReading(ReloadCase):
    """A reload of the certificates, the -Y file and an --allow-file: every
    open of those files comes from the reader process (a child of the
    daemon), none from the daemon."""

    def test_reload_reads_through_reader(self):
        pki = tlsutil.PKI()
        self.addCleanup(pki.close)
        auth = self.file("auth", "%s:%s\n" % ADMIN)
        allow = self.file("clients.allow", "127.0.0.1/32\n")
        srv = tlsutil.TLSServer(["-Z", "-o", tlsutil.ssl_opts(pki), "-Y", auth,
                                 "--allow-file", allow],
                                probe_ctx=pki.client_context(), probe_expect=b"",
                                binary=harness.hardcached_binary())
        self.addCleanup(srv.stop)
        readers = tlsutil.children_of(srv.pid)
        self.assertTrue(readers, "the daemon has no child process (the reader)")
        watches = [FileOpens(self.dir), FileOpens(pki.dir)]
        for w in watches:
            self.addCleanup(w.close)
        with srv.tls_client() as admin:
            self.assertEqual(admin.cmd(login_line(*ADMIN)), wire.STORED)
            os.kill(srv.pid, signal.SIGHUP)
            wait_until(lambda: int(admin.stats()["config_reloads"]) >= 1, 10,
                       "config_reloads to count the SIGHUP")
            self.assertEqual(admin.stats()["config_reload_errors"], "0")
        opened = {}
        for w in watches:
            for pid, path in w.drain(0.5):
                opened.setdefault(path, set()).add(pid)
        for path in (auth, allow, pki.server.cert, pki.server.key, pki.ca.cert):
            self.assertIn(path, opened, "%s was not read again by anyone" % path)
            self.assertNotIn(srv.pid, opened[path], "the daemon itself opened %s" % path)
            self.assertTrue(opened[path] <= set(readers),
                            "%s opened by %s, not the reader %s" % (path, opened[path], readers))


if __name__ == "__main__":
    unittest.main()
