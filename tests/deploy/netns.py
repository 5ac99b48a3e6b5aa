"""netns.py: throwaway network namespaces for the deploy tests (root only).
A Lab owns every namespace, process and temp dir it creates and removes them
all in close(), whatever happened before. ufw runs inside a private mount
namespace with bind-mounted copies of /etc/ufw and /etc/default/ufw and a
tmpfs on /run, so the host's firewall configuration is never read for
writing, let alone changed; the rules it loads live in the namespace.
Addresses are private ranges used only inside namespaces made here."""
import os
import shutil
import signal
import subprocess
import tempfile
import time

CMD_TIMEOUT = 60.0

# Runs "$@" with the copies of ufw's configuration bound over the real ones.
UFW_SANDBOX = r'''
set -e
cfg=$1; shift
mount --bind "$cfg/etc-ufw" /etc/ufw
mount --bind "$cfg/default-ufw" /etc/default/ufw
mount -t tmpfs -o mode=0755 tmpfs /run
exec "$@"
'''

# A tiny memcached client run inside a namespace: prints one result word.
CLIENT = r'''
import socket, sys
host, port, mode, timeout = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
try:
    s = socket.create_connection((host, port), timeout)
except socket.timeout:
    print("TIMEOUT"); sys.exit(0)
except ConnectionRefusedError:
    print("REFUSED"); sys.exit(0)
except OSError as e:
    print("ERROR", e); sys.exit(0)
s.settimeout(timeout)
def reply():
    buf = b""
    while not buf.endswith(b"\r\n"):
        chunk = s.recv(4096)
        if not chunk:
            break
        buf += chunk
    return buf
try:
    if mode == "version":
        s.sendall(b"version\r\n")
        print("OK" if reply().startswith(b"VERSION ") else "BAD")
    else:
        key = "k" + mode
        s.sendall(b"set %s 7 0 5\r\nhello\r\n" % key.encode())
        r1 = reply()
        s.sendall(b"get %s\r\n" % key.encode())
        buf = b""
        while not buf.endswith(b"END\r\n"):
            chunk = s.recv(4096)
            if not chunk:
                break
            buf += chunk
        want = b"VALUE %s 7 5\r\nhello\r\nEND\r\n" % key.encode()
        print("OK" if r1 == b"STORED\r\n" and buf == want else "BAD %r %r" % (r1, buf))
except socket.timeout:
    print("TIMEOUT")
except OSError as e:
    print("ERROR", e)
'''


def missing_tools(*names):
    return [n for n in names if shutil.which(n) is None]


class Lab:
    """Three namespaces: server (srv), allowed client (ok), other client (no),
    each client linked to the server by its own veth pair, IPv4 and IPv6."""

    count = 0

    def __init__(self):
        Lab.count += 1
        tag = "%d-%d" % (os.getpid(), Lab.count)
        self.srv, self.ok, self.no = ("hcsrv" + tag, "hcok" + tag, "hcno" + tag)
        self.made = []
        self.procs = []
        self.tmp = tempfile.mkdtemp(prefix="hc-deploy-")
        self.addr = {
            "srv_ok4": "10.211.0.1", "ok4": "10.211.0.2",
            "srv_no4": "10.211.1.1", "no4": "10.211.1.2",
            "srv_ok6": "fd11:211::1", "ok6": "fd11:211::2",
            "srv_no6": "fd11:211:1::1", "no6": "fd11:211:1::2",
        }

    # ---- set-up ----
    def ip(self, *args):
        run(["ip"] + list(args))

    def build(self):
        for ns in (self.srv, self.ok, self.no):
            self.ip("netns", "add", ns)
            self.made.append(ns)
            self.ip("-n", ns, "link", "set", "lo", "up")
        a = self.addr
        for peer, s_if, c_if, s4, c4, s6, c6 in (
                (self.ok, "va0", "va1", a["srv_ok4"], a["ok4"], a["srv_ok6"], a["ok6"]),
                (self.no, "vb0", "vb1", a["srv_no4"], a["no4"], a["srv_no6"], a["no6"])):
            self.ip("-n", self.srv, "link", "add", s_if, "type", "veth", "peer", "name", c_if,
                    "netns", peer)
            self.ip("-n", self.srv, "addr", "add", s4 + "/24", "dev", s_if)
            self.ip("-n", peer, "addr", "add", c4 + "/24", "dev", c_if)
            self.ip("-n", self.srv, "addr", "add", s6 + "/64", "dev", s_if, "nodad")
            self.ip("-n", peer, "addr", "add", c6 + "/64", "dev", c_if, "nodad")
            self.ip("-n", self.srv, "link", "set", s_if, "up")
            self.ip("-n", peer, "link", "set", c_if, "up")
        self._copy_ufw_config()

    def _copy_ufw_config(self):
        cfg = os.path.join(self.tmp, "cfg")
        os.mkdir(cfg, 0o755)
        shutil.copytree("/etc/ufw", os.path.join(cfg, "etc-ufw"), symlinks=True)
        os.chmod(os.path.join(cfg, "etc-ufw"), 0o755)
        shutil.copy2("/etc/default/ufw", os.path.join(cfg, "default-ufw"))
        self.cfg = cfg

    # ---- running things ----
    def in_ns(self, ns, argv, timeout=CMD_TIMEOUT, check=True):
        return run(["ip", "netns", "exec", ns] + list(argv), timeout=timeout, check=check)

    def ufw_ns(self, argv, timeout=CMD_TIMEOUT, check=True):
        """argv inside the server namespace, with the ufw configuration copies."""
        return self.in_ns(self.srv, ["unshare", "--mount", "--propagation", "private",
                                     "sh", "-c", UFW_SANDBOX, "sh", self.cfg] + list(argv),
                          timeout=timeout, check=check)

    def start(self, ns, argv, name):
        out = open(os.path.join(self.tmp, name + ".log"), "wb")
        p = subprocess.Popen(["ip", "netns", "exec", ns] + list(argv), stdout=out,
                             stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        out.close()
        self.procs.append(p)
        return p

    def log(self, name):
        try:
            with open(os.path.join(self.tmp, name + ".log"), "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def client(self, ns, host, port, mode, timeout=2.0):
        py = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else shutil.which("python3")
        r = self.in_ns(ns, [py, "-c", CLIENT, host, str(port), mode, str(timeout)],
                       timeout=timeout * 3 + 10)
        return r.stdout.strip()

    def wait_served(self, ns, host, port, proc, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                return False
            if self.client(ns, host, port, "version", 0.5) == "OK":
                return True
            time.sleep(0.1)
        return False

    # ---- tear-down ----
    def close(self):
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(5)
        for ns in reversed(self.made):
            subprocess.run(["ip", "netns", "del", ns], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=30)
        self.made = []
        shutil.rmtree(self.tmp, ignore_errors=True)


def run(argv, timeout=CMD_TIMEOUT, check=True, **kw):
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       stdin=subprocess.DEVNULL, timeout=timeout, **kw)
    r.stdout = r.stdout.decode(errors="replace")
    r.stderr = r.stderr.decode(errors="replace")
    if check and r.returncode != 0:
        raise AssertionError("%s exited %d\nstdout: %s\nstderr: %s" % (
            " ".join(argv), r.returncode, r.stdout, r.stderr))
    return r
