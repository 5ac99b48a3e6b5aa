"""harness.py: the shared test harness. Starts a real daemon (hardcached, or
Debian's memcached as a reference) on a free loopback port, waits until it
answers, and gives tests a raw socket client that reads exact bytes, raw
sockets where a test needs socket-level control, and the waits and user
checks every suite needs. The protocol's own bytes (replies, storage
commands, get replies) are wire.py's. Every wait here is bounded in time;
every server is killed on exit."""
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time

import wire

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MEMCACHED = "/usr/bin/memcached"


def hardcached_binary():
    return os.environ.get("HC_BIN", os.path.join(ROOT, "build", "hardcached"))


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def is_root():
    return os.geteuid() == 0


def user_exists(name):
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def answers_version(port, host="127.0.0.1", source=None):
    """True if a server on host:port answers "version" now (a connection
    from source, when given). Never raises: refused, reset or silent is False."""
    try:
        with socket.create_connection((host, port), 0.2,
                                      source_address=(source, 0) if source else None) as s:
            s.sendall(b"version\r\n")
            s.settimeout(1.0)
            return s.recv(100).startswith(b"VERSION")
    except OSError:
        return False


def wait_until(predicate, timeout, what=None, interval=0.05):
    """Poll predicate until it returns something true or `timeout` seconds pass;
    returns its last value. With `what` (a description), giving up raises
    AssertionError naming it. For anything a test observes that the daemon does
    asynchronously to the test's own reads (a log line, a stats counter another
    thread bumps, a file, a socket it closes): wait for the event with a
    deadline, never sleep and hope."""
    deadline = time.monotonic() + timeout
    while True:
        v = predicate()
        if v or time.monotonic() >= deadline:
            break
        time.sleep(interval)
    if not v and what is not None:
        raise AssertionError("gave up after %.1fs waiting for %s" % (timeout, what))
    return v


class Server:
    """A daemon on 127.0.0.1:port. Use as a context manager."""

    def __init__(self, args=(), binary=None, port=None, reference=False,
                 env=None, start_timeout=10.0, probe_host="127.0.0.1", probe_source=None):
        self.probe = (probe_host, probe_source)
        self.port = port or free_port()
        self.reference = reference
        if reference:
            cmd = [MEMCACHED, "-U", "0", "-l", "127.0.0.1", "-p", str(self.port),
                   "-o", "no_lru_crawler,no_lru_maintainer"]
            if is_root():
                cmd += ["-u", "memcache" if user_exists("memcache") else "nobody"]
        else:
            cmd = [binary or hardcached_binary(), "-p", str(self.port)]
            # e.g. the sanitizer build runs with --seccomp=log: LeakSanitizer's
            # exit-time clone and ptrace are (rightly) outside the policy
            cmd += os.environ.get("HC_EXTRA_ARGS", "").split()
        self.cmd = cmd + list(args)
        # output goes to a file, never a pipe nobody reads (a chatty daemon
        # would block once the pipe filled)
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(self.cmd, stdout=self.log, stderr=subprocess.STDOUT,
                                     env=env)
        self._wait_ready(start_timeout)

    def output(self):
        """Everything the daemon printed so far."""
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def wait_output(self, pattern, timeout=10.0):
        """The first match of the regex (re.M) in the daemon's output, waiting up
        to `timeout` seconds for it: its lines reach the file asynchronously to
        anything the test reads from a socket. None at the deadline."""
        rx = re.compile(pattern, re.M)
        return wait_until(lambda: rx.search(self.output()), timeout)

    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("server exited %s: %s" % (self.proc.returncode,
                                                             self.output()))
            host, source = self.probe
            if answers_version(self.port, host, source):
                return
            time.sleep(0.02)
        self.stop()
        raise RuntimeError("server did not answer within %.0fs: %s" % (timeout, self.cmd))

    @property
    def pid(self):
        return self.proc.pid

    def client(self, timeout=5.0):
        host, source = self.probe
        return RawClient((host, self.port), timeout, source=(source, 0) if source else None)

    def stats(self, sub=""):
        with self.client() as c:
            return c.stats(sub)

    def rss_kib(self):
        with open("/proc/%d/status" % self.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def stop(self, sig=None):
        if self.proc.poll() is None:
            if sig is None:
                self.proc.kill()
            else:
                self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return self.proc.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def port_is_closed(port, host="127.0.0.1"):
    """True if nothing accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), 0.5):
            return False
    except OSError:
        return True


def connect(port, host="127.0.0.1", timeout=5.0, source=None, rcvbuf=None):
    """A raw TCP socket to host:port (IPv6 when host has a colon), for tests
    that need the socket itself: a small receive buffer (rcvbuf, set before
    connecting), a source address, bytes sent and never read."""
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        if rcvbuf:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        s.settimeout(timeout)
        if source:
            s.bind((source, 0))
        s.connect((host, port))
    except OSError:
        s.close()
        raise
    return s



def version_served(port, source=None, family=socket.AF_INET, host="127.0.0.1"):
    """True if a `version` request is answered; False if the connection is
    closed with 0 bytes (an allowlist or throttle refusal, a plain client on
    a TLS port). Any other answer fails the test."""
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(5)
    try:
        if source:
            s.bind((source, 0))
        s.connect((host, port))
        try:
            s.sendall(b"version\r\n")
        except OSError:
            return False
        data = b""
        while not data.endswith(b"\r\n"):
            try:
                chunk = s.recv(100)
            except ConnectionResetError:
                break
            if not chunk:
                break
            data += chunk
        if data == b"":
            return False
        if not data.startswith(b"VERSION "):
            raise AssertionError("unexpected answer %r" % data)
        return True
    finally:
        s.close()

def read_to_close(sock, timeout=5.0, keep=True):
    """(bytes, closed): what the peer sends on sock until it closes the
    connection (EOF or reset), or until `timeout` seconds pass (closed False).
    keep=False drops the bytes as they come (a flood's answers). The socket's
    own timeout is restored afterwards."""
    deadline = time.monotonic() + timeout
    old = sock.gettimeout()
    data = b""
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return data, False
            sock.settimeout(left)
            try:
                chunk = sock.recv(262144)
            except socket.timeout:
                return data, False
            if not chunk:
                return data, True
            if keep:
                data += chunk
    except (ConnectionResetError, BrokenPipeError):
        return data, True
    finally:
        sock.settimeout(old)


class RawClient:
    """Byte-exact client: send raw bytes, read exact replies."""

    def __init__(self, addr, timeout=5.0, source=None):
        self.sock = socket.create_connection(addr, timeout, source_address=source)
        self.buf = b""

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("connection closed by server")
        self.buf += chunk

    def readline(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line + b"\r\n"

    def read_exact(self, n):
        while len(self.buf) < n:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def read_until(self, terminator):
        while terminator not in self.buf:
            self._fill()
        i = self.buf.index(terminator) + len(terminator)
        data, self.buf = self.buf[:i], self.buf[i:]
        return data

    def read_available(self, wait=0.2):
        """Whatever arrives within `wait` seconds (for 'no reply' checks)."""
        self.sock.settimeout(wait)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    break
                self.buf += chunk
        except socket.timeout:
            pass
        finally:
            self.sock.settimeout(5.0)
        data, self.buf = self.buf, b""
        return data

    def is_closed(self, wait=1.0):
        self.sock.settimeout(wait)
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False
        finally:
            self.sock.settimeout(5.0)

    def read_to_close(self, timeout=5.0):
        """(bytes, closed): everything the server sends until it closes the
        connection (EOF or reset), or until `timeout` seconds pass (closed False)."""
        data, self.buf = self.buf, b""
        more, closed = read_to_close(self.sock, timeout)
        return data + more, closed

    def cmd(self, line):
        """One command line (\\r\\n added), one reply line back."""
        self.send(line.encode() + b"\r\n" if isinstance(line, str) else line + b"\r\n")
        return self.readline()

    def set(self, key, value, flags=0, exptime=0, verb="set"):
        self.send(wire.storage(verb, key, value, flags=flags, exptime=exptime))
        return self.readline()

    def get(self, key):
        """The value of key, or None."""
        self.send(b"get " + (key.encode() if isinstance(key, str) else key) + b"\r\n")
        got = wire.read_get_reply(self)
        if len(got) > 1:
            raise AssertionError("get %r answered %d values" % (key, len(got)))
        return got[0][2] if got else None

    def stats(self, sub=""):
        self.send(("stats %s\r\n" % sub).strip().encode() + b"\r\n" if sub else b"stats\r\n")
        out = {}
        while True:
            line = self.readline()
            if line == b"END\r\n":
                return out
            parts = line.decode().split(" ", 2)
            if parts[0] != "STAT":
                raise AssertionError("bad stats line %r" % line)
            out[parts[1]] = parts[2].rstrip("\r\n")

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def system_python():
    return "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else shutil.which("python3")
