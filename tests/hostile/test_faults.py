"""test_faults.py: the daemon under faults. SIGTERM: it stops accepting at
once, answers everything a client had already sent, and exits 0. Running
out of file descriptors at accept: it backs off (listen_disabled_num) instead
of spinning on accept, and serves again once descriptors are free."""
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import harness  # noqa: E402

BIN = harness.hardcached_binary()
CLK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK


def wait_port(port, deadline=10.0):
    harness.wait_until(lambda: harness.answers_version(port), deadline,
                       "the server on port %d to answer" % port)


class Sigterm(unittest.TestCase):
    def test_answers_in_flight_then_exits_0(self):
        srv = harness.Server(["-t", "2"])
        try:
            c = socket.create_connection(("127.0.0.1", srv.port), 5)
            batch = b"".join(b"set k%d 0 0 5\r\nvalue\r\nget k%d\r\n" % (i, i) for i in range(500))
            c.sendall(batch)
            time.sleep(0.05)           # on its way, not necessarily all answered yet
            srv.proc.send_signal(signal.SIGTERM)
            c.settimeout(10)
            data = b""
            while True:
                chunk = c.recv(1 << 16)
                if not chunk:
                    break
                data += chunk
            self.assertEqual(data.count(b"STORED\r\n"), 500)
            self.assertEqual(data.count(b"END\r\n"), 500)
            self.assertEqual(srv.proc.wait(10), 0)
            with socket.socket() as s:     # no longer accepting
                self.assertNotEqual(s.connect_ex(("127.0.0.1", srv.port)), 0)
        finally:
            srv.stop()

    def test_idle_clients_do_not_hold_the_exit(self):
        srv = harness.Server()
        try:
            idle = [socket.create_connection(("127.0.0.1", srv.port), 5) for _ in range(20)]
            started = time.monotonic()
            srv.proc.send_signal(signal.SIGTERM)
            self.assertEqual(srv.proc.wait(10), 0)
            self.assertLess(time.monotonic() - started, 3)
            for s in idle:
                s.settimeout(5)
                self.assertEqual(s.recv(10), b"")   # closed, told nothing
                s.close()
        finally:
            srv.stop()


class AllocationFailure(unittest.TestCase):
    """A connection buffer that cannot grow: the get is answered with
    memcached's out-of-memory error, nothing crashes, the client and others
    are served on. realloc is made to fail by an LD_PRELOAD shim."""

    def test_get_answer_that_cannot_be_buffered(self):
        if os.environ.get("HC_SANITIZED"):
            self.skipTest("ASan build: its allocator does not go through the shim")
        shim_dir = tempfile.mkdtemp()
        shim = os.path.join(shim_dir, "failalloc.so")
        src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "shim", "failalloc.c")
        subprocess.run(["cc", "-shared", "-fPIC", "-O1", "-o", shim, src, "-ldl"], check=True,
                       timeout=60)
        env = dict(os.environ, LD_PRELOAD=shim, FAILALLOC_MIN=str(512 * 1024))
        try:
            with harness.Server(["-t", "1"], env=env) as srv:
                with srv.client() as c:
                    value = b"v" * 200000
                    for i in range(4):
                        self.assertEqual(c.set("big%d" % i, value), b"STORED\r\n")
                    c.send(b"get big0 big1 big2 big3\r\n")
                    self.assertEqual(c.readline(),
                                     b"SERVER_ERROR out of memory writing get response\r\n")
                    self.assertEqual(c.get("big0"), value)      # one fits: served
                    self.assertEqual(c.set("k", "v"), b"STORED\r\n")
                with srv.client() as other:
                    self.assertEqual(other.get("k"), b"v")
                self.assertIsNone(srv.proc.poll())
        finally:
            if os.path.exists(shim):
                os.unlink(shim)
            os.rmdir(shim_dir)


@unittest.skipUnless(harness.is_root(), "needs root to start the daemon as an unprivileged "
                     "user whose descriptor limit it cannot raise")
class OutOfDescriptors(unittest.TestCase):
    def test_accept_backs_off_and_recovers(self):
        port = harness.free_port()

        def low_limit():
            resource.setrlimit(resource.RLIMIT_NOFILE, (48, 48))

        cmd = ["/usr/bin/setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--",
               BIN, "-p", str(port), "-t", "1", "-c", "40"]
        proc = subprocess.Popen(cmd, preexec_fn=low_limit, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        clients = []
        try:
            wait_port(port)
            for _ in range(60):            # more than the descriptors left
                try:
                    clients.append(socket.create_connection(("127.0.0.1", port), 2))
                except OSError:
                    break
            time.sleep(0.3)
            before = cpu_seconds(proc.pid)
            time.sleep(2.0)
            used = cpu_seconds(proc.pid) - before
            print("out of descriptors: %d clients connected, server CPU %.2f s over 2 s"
                  % (len(clients), used))
            self.assertLess(used, 0.5, "the server spins on accept")
            for s in clients:
                s.close()
            clients = []
            time.sleep(0.5)
            with harness.RawClient(("127.0.0.1", port)) as c:
                self.assertEqual(c.set("k", "v"), b"STORED\r\n")
                st = c.stats()
                self.assertGreater(int(st["listen_disabled_num"]), 0)
                print("listen_disabled_num", st["listen_disabled_num"])
        finally:
            for s in clients:
                s.close()
            proc.kill()
            proc.wait(5)


if __name__ == "__main__":
    unittest.main()
