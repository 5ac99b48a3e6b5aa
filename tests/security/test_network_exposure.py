"""test_network_exposure.py: promises 1, 2 and 5 seen from outside the
running daemon. Defaults: listening sockets on loopback only (read from
/proc/net/tcp and tcp6 for the daemon's own socket inodes) and no UDP socket
at all. The allowlist: a client bound to source 127.0.0.2 is closed with zero
bytes received while 127.0.0.1 is served; the same for IPv6 and for a list
given in a file; malformed CIDRs exit 64 with nothing started."""
import os
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import harness  # noqa: E402

BIN = harness.hardcached_binary()


def socket_inodes(pid):
    """Inodes of every socket the process holds (from /proc/PID/fd)."""
    out = set()
    fd_dir = "/proc/%d/fd" % pid
    for name in os.listdir(fd_dir):
        try:
            target = os.readlink(os.path.join(fd_dir, name))
        except OSError:
            continue
        if target.startswith("socket:["):
            out.add(target[len("socket:["):-1])
    return out


def proc_net(kind):
    """(local address hex, state, inode) rows of /proc/net/<kind>."""
    rows = []
    try:
        with open("/proc/net/" + kind) as f:
            next(f)
            for line in f:
                parts = line.split()
                rows.append((parts[1], parts[3], parts[9]))
    except FileNotFoundError:
        pass
    return rows


LOOPBACK_V4 = "0100007F"            # 127.0.0.1 as /proc shows it
LOOPBACK_V6 = "00000000000000000000000001000000"
LISTEN = "0A"


def have_ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


served = harness.version_served


class Defaults(unittest.TestCase):
    def test_listens_on_loopback_only_and_no_udp(self):
        with harness.Server() as srv:
            inodes = socket_inodes(srv.pid)
            listening = [(kind, addr) for kind in ("tcp", "tcp6")
                         for addr, state, inode in proc_net(kind)
                         if inode in inodes and state == LISTEN]
            self.assertTrue(listening, "no listening socket found for the daemon")
            for kind, addr in listening:
                host = addr.split(":")[0]
                self.assertIn(host, (LOOPBACK_V4, LOOPBACK_V6),
                              "%s socket listens on %s, not loopback" % (kind, addr))
            self.assertIn(("tcp", LOOPBACK_V4), [(k, a.split(":")[0]) for k, a in listening])
            if have_ipv6_loopback():
                self.assertIn(("tcp6", LOOPBACK_V6), [(k, a.split(":")[0]) for k, a in listening])
            udp = [row for kind in ("udp", "udp6") for row in proc_net(kind) if row[2] in inodes]
            self.assertEqual(udp, [], "the daemon holds a UDP socket")
            print("listening:", listening)

    @unittest.skipUnless(harness.is_root(), "needs root for a private network namespace")
    def test_starts_without_ipv6(self):
        """A host without IPv6: in a fresh network namespace with IPv6 off,
        the default start serves on 127.0.0.1 alone."""
        script = (
            "ip link set lo up; "
            "sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.lo.disable_ipv6=1; "
            "%s -p 11211 -u memcache & pid=$!; "
            "for i in $(seq 50); do nc -z 127.0.0.1 11211 && break; sleep 0.1; done; "
            "printf 'version\\r\\n' | nc -q1 127.0.0.1 11211; "
            "kill $pid; wait $pid; echo exit=$?" % BIN)
        r = subprocess.run(["unshare", "--net", "sh", "-c", script], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=30)
        out = r.stdout.decode(errors="replace")
        self.assertIn("VERSION ", out)
        self.assertIn("exit=0", out)

    @unittest.skipUnless(have_ipv6_loopback(), "no IPv6 loopback on this host")
    def test_taken_ipv6_loopback_is_an_error(self):
        """If another process holds [::1]:port, starting anyway would let
        clients that resolve localhost to ::1 reach that process instead."""
        port = harness.free_port()
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as squatter:
            squatter.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            squatter.bind(("::1", port))
            squatter.listen(1)
            r = subprocess.run([BIN, "-p", str(port)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=10)
        self.assertEqual(r.returncode, 71, r.stderr)
        self.assertIn(b"::1", r.stderr)

    def test_udp_port_refused(self):
        r = subprocess.run([BIN, "-U", "11211", "-p", str(harness.free_port())],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=10)
        self.assertEqual(r.returncode, 64)
        self.assertIn(b"UDP", r.stderr)
        self.assertEqual(r.stderr.count(b"\n"), 1, r.stderr)


class UnixSocket(unittest.TestCase):
    """-s PATH serves on a unix socket only (no TCP), created with -a's mode."""

    def serve(self, mask_args, expect_mode):
        d = tempfile.mkdtemp()
        path = os.path.join(d, "hc.sock")
        proc = subprocess.Popen([BIN, "-s", path] + mask_args,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(100):
                if os.path.exists(path):
                    break
                time.sleep(0.05)
            mode = os.stat(path).st_mode & 0o777
            self.assertEqual(mode, expect_mode, "socket mode %o" % mode)
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as c:
                c.settimeout(5)
                for _ in range(100):
                    try:
                        c.connect(path)
                        break
                    except OSError:
                        time.sleep(0.05)
                c.sendall(b"set k 0 0 1\r\nv\r\nget k\r\n")
                data = b""
                while not data.endswith(b"END\r\n"):
                    data += c.recv(100)
                self.assertEqual(data, b"STORED\r\nVALUE k 0 1\r\nv\r\nEND\r\n")
            inodes = socket_inodes(proc.pid)
            tcp = [r for kind in ("tcp", "tcp6", "udp", "udp6") for r in proc_net(kind)
                   if r[2] in inodes]
            self.assertEqual(tcp, [], "a unix-socket server also holds IP sockets")
        finally:
            proc.kill()
            proc.wait(5)
            if os.path.exists(path):
                os.unlink(path)
            os.rmdir(d)

    def test_default_mask_is_owner_only(self):
        self.serve([], 0o700)

    def test_mask_option(self):
        self.serve(["-a", "0770"], 0o770)


class Allowlist(unittest.TestCase):
    def test_ipv4_outsider_gets_nothing(self):
        with harness.Server(["--allow", "127.0.0.1/32"]) as srv:
            self.assertTrue(served(srv.port))
            self.assertFalse(served(srv.port, source="127.0.0.2"))
            self.assertTrue(served(srv.port))
            self.assertEqual(srv.stats()["allowlist_rejects"], "1")

    @unittest.skipUnless(have_ipv6_loopback(), "no IPv6 loopback on this host")
    def test_ipv6_list(self):
        with harness.Server(["--allow", "::1/128"], probe_host="::1") as srv:
            self.assertTrue(served(srv.port, family=socket.AF_INET6, host="::1"))
            self.assertFalse(served(srv.port))       # 127.0.0.1 is not ::1

    def test_ipv4_mapped_and_ranges(self):
        with harness.Server(["--allow", "10.0.0.0/8,127.0.0.0/31"]) as srv:
            self.assertTrue(served(srv.port))                      # 127.0.0.1 in /31
            self.assertFalse(served(srv.port, source="127.0.0.2"))  # outside

    def test_file_given_list(self):
        with tempfile.NamedTemporaryFile("w", suffix=".allow", delete=False) as f:
            f.write("# clients of this cache\n\n127.0.0.2/32   # the app server\n")
            path = f.name
        try:
            with harness.Server(["--allow-file", path], probe_source="127.0.0.2") as srv:
                self.assertTrue(served(srv.port, source="127.0.0.2"))
                self.assertFalse(served(srv.port))            # 127.0.0.1 not listed
        finally:
            os.unlink(path)

    def test_malformed_cidrs_exit_64(self):
        port = harness.free_port()
        for bad in ("127.0.0.1/33", "10.0.0.1/8", "300.0.0.0/8", "::1/129", "", "abc"):
            r = subprocess.run([BIN, "-p", str(port), "--allow", bad],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=10)
            self.assertEqual(r.returncode, 64, (bad, r.stderr))
            self.assertIn(b"--allow", r.stderr)
            self.assertEqual(r.stderr.count(b"\n"), 1, r.stderr)
        with tempfile.NamedTemporaryFile("w", suffix=".allow", delete=False) as f:
            f.write("127.0.0.1/32\n10.0.0.0/99\n")
            path = f.name
        try:
            r = subprocess.run([BIN, "-p", str(port), "--allow-file", path],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=10)
            self.assertEqual(r.returncode, 64)
            self.assertIn(("%s:2" % path).encode(), r.stderr)
        finally:
            os.unlink(path)
        with socket.socket() as s:   # nothing was started
            s.settimeout(1)
            self.assertNotEqual(s.connect_ex(("127.0.0.1", port)), 0)


if __name__ == "__main__":
    unittest.main()
