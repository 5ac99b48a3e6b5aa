"""test_systemd_units.py: the systemd units in deploy/ scored offline by
`systemd-analyze security --offline=true` (systemd need not be running):
hardcached.service, where the daemon binds its own port, at 1.0 or below;
the socket-activated hardcached-socket.service at 0.2 or below (SPEC §7;
Debian 12's memcached.service scores 4.8). --threshold=N exits non-zero when
the exposure is above N/10. Also `systemd-analyze verify`, which works
offline, with the binary path pointed at the built daemon (it checks that the
command exists), and the settings the daemon depends on."""
import os
import re
import shutil
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


if __name__ == "__main__":
    unittest.main()
