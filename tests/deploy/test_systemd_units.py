"""test_systemd_units.py: the systemd units in deploy/ scored offline by
`systemd-analyze security --offline=true` (systemd need not be running):
hardcached.service, where the daemon binds its own port, at 1.0 or below;
the socket-activated hardcached-socket.service at 0.2 or below (SPEC §7;
Debian 12's memcached.service scores 4.8). --threshold=N exits non-zero when
the exposure is above N/10. Also `systemd-analyze verify`, which works
offline, with the binary path pointed at the built daemon (it checks that the
command exists), and the settings the daemon depends on. Last, the daemon
started as the units start it, without systemd: as memcache, under the
units' own system call filter (their SystemCallFilter= lines expanded by
`systemd-analyze syscall-filter`, loaded with libseccomp, EPERM for the
rest, unshare refused as RestrictNamespaces= refuses it), plain and with TLS
and -Y, whose file reader is a forked process (tests/deploy/test_systemd_run.py
boots the real units in a container)."""
import ctypes
import ctypes.util
import os
import pwd
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

import harness  # noqa: E402

DEPLOY = os.path.join(harness.ROOT, "deploy")
INSTALLED_BIN = "/usr/local/bin/hardcached"   # make install's default (PREFIX=/usr/local)
ANALYZE = shutil.which("systemd-analyze")
# unit -> threshold in tenths (exit 0 means exposure <= threshold / 10)
BOUNDS = {"hardcached.service": 10, "hardcached-socket.service": 2}


def analyze(*args, cwd=DEPLOY, timeout=60):
    r = subprocess.run([ANALYZE] + list(args), cwd=cwd, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, timeout=timeout)
    return r.returncode, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")


def exposure(text):
    m = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", text)
    return float(m.group(1)) if m else None


def read_unit(name):
    """The unit's assignments as {key: [values]} (all sections together)."""
    out = {}
    with open(os.path.join(DEPLOY, name)) as f:
        for line in f:
            line = line.strip()
            if not line or line[0] in "#;[" or "=" not in line:
                continue
            k, v = line.split("=", 1)
            out.setdefault(k.strip(), []).append(v.strip())
    return out


@unittest.skipIf(ANALYZE is None, "systemd-analyze is missing (Debian package systemd)")
class SecurityScore(unittest.TestCase):
    def check_bound(self, unit):
        bound = BOUNDS[unit]
        rc, out, err = analyze("security", "--offline=true", "--no-pager", unit)
        score = exposure(out)
        self.assertIsNotNone(score, "no exposure line for %s:\n%s%s" % (unit, out, err))
        print("\n  %s: exposure %.1f (bound %.1f; memcached.service 4.8)" % (unit, score, bound / 10),
              end=" ", flush=True)
        rc, out, err = analyze("security", "--offline=true", "--no-pager",
                               "--threshold=%d" % bound, unit)
        failing = [l for l in out.splitlines() if l.startswith("✗")]
        self.assertEqual(rc, 0, "%s scores %s, above %.1f; open items:\n%s\n%s"
                         % (unit, score, bound / 10, "\n".join(failing), err))
        return score

    def test_service_binding_its_own_port_scores_at_most_1_0(self):
        self.assertLessEqual(self.check_bound("hardcached.service"), 1.0)

    def test_socket_activated_service_scores_at_most_0_2(self):
        self.assertLessEqual(self.check_bound("hardcached-socket.service"), 0.2)

    def test_threshold_gate_works(self):
        # Guard for the gate itself: a bare unit scores far above 1.0 and must fail it.
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "bare.service"), "w") as f:
                f.write("[Service]\nExecStart=/bin/true\n")
            rc, out, _ = analyze("security", "--offline=true", "--threshold=10",
                                 "bare.service", cwd=d)
            self.assertNotEqual(rc, 0, out)
            self.assertGreater(exposure(out), 1.0)


@unittest.skipIf(ANALYZE is None, "systemd-analyze is missing (Debian package systemd)")
class Verify(unittest.TestCase):
    """systemd-analyze verify on copies whose binary path is one that exists."""

    def test_units_verify_cleanly(self):
        binary = harness.hardcached_binary()
        if not os.access(binary, os.X_OK):
            binary = "/bin/true"
        with tempfile.TemporaryDirectory() as d:
            for name in ("hardcached.service", "hardcached.socket", "hardcached-socket.service"):
                with open(os.path.join(DEPLOY, name)) as f:
                    text = f.read()
                if name.endswith(".service"):
                    self.assertIn(INSTALLED_BIN, text)
                with open(os.path.join(d, name), "w") as f:
                    f.write(text.replace(INSTALLED_BIN, os.path.abspath(binary)))
            for name in ("hardcached.service", "hardcached.socket", "hardcached-socket.service"):
                rc, out, err = analyze("verify", "--man=no", "./" + name, cwd=d)
                self.assertEqual(rc, 0, "%s: %s%s" % (name, out, err))
                # verify reports bad lines ("Unknown key", "Failed to parse ... ignoring")
                # as warnings with exit 0: any output is a defect.
                self.assertEqual((out + err).strip(), "", "%s: %s%s" % (name, out, err))


class UnitContents(unittest.TestCase):
    """What the daemon needs from its units, and what SPEC §7 asks of them."""

    def test_both_services_check_the_config_first_and_run_as_the_service_user(self):
        for name in BOUNDS:
            u = read_unit(name)
            self.assertEqual(u.get("Type"), ["exec"], name)
            self.assertEqual(u.get("User"), ["memcache"], name)
            pre = u.get("ExecStartPre", [])
            self.assertEqual(len(pre), 1, name)
            self.assertTrue(pre[0].startswith(INSTALLED_BIN + " "), pre)
            self.assertIn("--check-config --fail-on=critical", pre[0])
            self.assertTrue(u["ExecStart"][0].startswith(INSTALLED_BIN), name)
            # The config read by the check is the one the start uses.
            self.assertIn(u["ExecStart"][0][len(INSTALLED_BIN):].strip(), pre[0], name)

    def test_system_call_filter_lets_the_daemon_install_its_own_seccomp_filter(self):
        for name in BOUNDS:
            allow = read_unit(name)["SystemCallFilter"][0].split()
            self.assertIn("@system-service", allow, name)   # epoll, eventfd, threads, mmap, prctl
            self.assertIn("seccomp", allow, name)            # not in @system-service
            self.assertEqual(read_unit(name).get("SystemCallErrorNumber"), ["EPERM"], name)

    def test_socket_pair(self):
        sock = read_unit("hardcached.socket")
        svc = read_unit("hardcached-socket.service")
        self.assertEqual(sock.get("Service"), ["hardcached-socket.service"])
        self.assertEqual(sock.get("Accept"), ["no"])
        self.assertNotIn("ListenDatagram", sock)                 # no UDP, ever
        self.assertEqual(sock.get("IPAddressDeny"), ["any"])
        self.assertTrue(sock.get("IPAddressAllow"))
        for addr in sock["ListenStream"]:                        # loopback by default
            self.assertRegex(addr, r"^(127\.0\.0\.1|\[::1\]):11211$")
        self.assertEqual(svc.get("PrivateNetwork"), ["yes"])
        self.assertEqual(svc.get("RestrictAddressFamilies"), ["none"])

    def test_binding_service_is_loopback_only_by_default(self):
        u = read_unit("hardcached.service")
        self.assertEqual(u.get("IPAddressDeny"), ["any"])
        self.assertEqual(u.get("IPAddressAllow"), ["localhost"])
        self.assertEqual(u.get("RestrictAddressFamilies"), ["AF_INET AF_INET6"])


# --- the daemon under the units' system call filter --------------------------

SCMP_ACT_ALLOW = 0x7fff0000
SCMP_ACT_EPERM = 0x00050000 | 1          # SCMP_ACT_ERRNO(EPERM)
LIBSECCOMP = ctypes.util.find_library("seccomp")


def expand_filter_set(name, seen=None):
    """The system calls of a name or @group, as systemd-analyze lists them."""
    if not name.startswith("@"):
        return {name}
    seen = set() if seen is None else seen
    if name in seen:
        return set()
    seen.add(name)
    _, out, _ = analyze("syscall-filter", "--no-pager", name)
    calls = set()
    for line in out.splitlines()[1:]:
        item = line.strip()
        if item and not item.startswith("#"):
            calls |= expand_filter_set(item, seen)
    return calls


def unit_allowed_syscalls(unit):
    """What the unit's SystemCallFilter= lines allow: the allow list, minus
    every later ~deny list; minus unshare and setns (RestrictNamespaces=yes)."""
    allowed = set()
    for i, value in enumerate(read_unit(unit)["SystemCallFilter"]):
        deny = value.startswith("~")
        names = set()
        for item in value.lstrip("~").split():
            names |= expand_filter_set(item)
        if i == 0 and not deny:
            allowed = names
        elif deny:
            allowed -= names
        else:
            allowed |= names
    if read_unit(unit).get("RestrictNamespaces") == ["yes"]:
        allowed -= {"unshare", "setns"}
    return allowed


def as_unit(allowed, user="memcache"):
    """A preexec_fn: become User= (no supplementary groups), then load a filter
    that allows exactly `allowed` and fails everything else with EPERM, as
    SystemCallErrorNumber=EPERM does (libseccomp also sets no_new_privs)."""
    pw = pwd.getpwnam(user)
    names = sorted(n.encode() for n in allowed)

    def preexec():
        os.setgroups([])
        os.setgid(pw.pw_gid)
        os.setuid(pw.pw_uid)
        lib = ctypes.CDLL(LIBSECCOMP)
        lib.seccomp_init.restype = ctypes.c_void_p
        lib.seccomp_init.argtypes = [ctypes.c_uint32]
        lib.seccomp_rule_add.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int,
                                         ctypes.c_uint]
        lib.seccomp_load.argtypes = [ctypes.c_void_p]
        ctx = lib.seccomp_init(SCMP_ACT_EPERM)
        for n in names:
            nr = lib.seccomp_syscall_resolve_name(n)
            if nr >= 0:
                lib.seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0)
        if lib.seccomp_load(ctx) != 0:
            os._exit(126)
    return preexec


def openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True, timeout=60,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def served(port, tls=False, login=None, timeout=2.0):
    """True when a client gets "VERSION" from 127.0.0.1:port (over TLS, after
    a -Y login "user password"). Never raises."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout) as raw:
            sock = raw
            if tls:
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
                sock = ctx.wrap_socket(raw)
            sock.settimeout(timeout)
            if login is not None:
                sock.sendall(b"set login 0 0 %d\r\n%s\r\n" % (len(login), login))
                if not sock.recv(100).startswith(b"STORED"):
                    return False
            sock.sendall(b"version\r\n")
            return sock.recv(100).startswith(b"VERSION")
    except (OSError, ssl.SSLError):
        return False


def unit_run_skip_reason():
    if ANALYZE is None:
        return "systemd-analyze is missing (Debian package systemd)"
    if not harness.is_root() or not harness.user_exists("memcache"):
        return "needs root and the user memcache (scripts/ensure-user.sh)"
    if LIBSECCOMP is None:
        return "libseccomp is missing"
    if shutil.which("openssl") is None:
        return "the openssl command is missing (Debian package openssl)"
    if not os.access(harness.hardcached_binary(), os.X_OK):
        return "%s is not built" % harness.hardcached_binary()
    return None


@unittest.skipIf(unit_run_skip_reason(), unit_run_skip_reason())
class UnderTheUnitsFilter(unittest.TestCase):
    """hardcached.service's User= and SystemCallFilter=, without systemd."""

    @classmethod
    def setUpClass(cls):
        cls.allowed = unit_allowed_syscalls("hardcached.service")
        cls.tmp = tempfile.mkdtemp(prefix="hc-unit-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        os.chmod(cls.tmp, 0o755)
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-nodes", "-subj", "/CN=localhost", "-days", "2", "-keyout", "key.pem",
                "-out", "cert.pem", cwd=cls.tmp)
        with open(os.path.join(cls.tmp, "auth"), "w") as f:
            f.write("app:unit-test-password\n")
        mc = pwd.getpwnam("memcache")
        for name, mode in (("key.pem", 0o600), ("auth", 0o600), ("cert.pem", 0o644)):
            path = os.path.join(cls.tmp, name)
            os.chown(path, mc.pw_uid, mc.pw_gid)
            os.chmod(path, mode)

    def test_the_filter_allows_what_the_daemon_and_its_reader_need(self):
        # the reader: fork (clone), socketpair, wait4; both install seccomp filters
        for call in ("clone", "socketpair", "wait4", "prctl", "seccomp", "close_range"):
            self.assertIn(call, self.allowed)
        # and what it must cope with: unshare and capset fail with EPERM here
        self.assertNotIn("unshare", self.allowed)
        self.assertNotIn("capset", self.allowed)

    def serve(self, args, tls=False, login=None):
        port = harness.free_port()
        log = tempfile.TemporaryFile()
        proc = subprocess.Popen([harness.hardcached_binary(), "-l", "127.0.0.1", "-p", str(port)]
                                + args, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, preexec_fn=as_unit(self.allowed))
        try:
            ok = harness.wait_until(lambda: proc.poll() is not None or served(port, tls, login),
                                    10.0)
            log.seek(0)
            out = log.read().decode(errors="replace")
            self.assertIsNone(proc.poll(), "exited %s under the unit's filter: %s"
                              % (proc.returncode, out))
            self.assertTrue(ok and served(port, tls, login), "not served: %s" % out)
        finally:
            proc.kill()
            proc.wait(10)

    def test_plain(self):
        self.serve([])

    def test_tls_and_logins(self):
        self.serve(["-Z", "-o", "ssl_chain_cert=%s/cert.pem,ssl_key=%s/key.pem"
                    % (self.tmp, self.tmp), "-Y", os.path.join(self.tmp, "auth")],
                   tls=True, login=b"app unit-test-password")


if __name__ == "__main__":
    unittest.main()
