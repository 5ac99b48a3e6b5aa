"""test_systemd_run.py: the deploy units run for real. The score test reads
the unit files; this one proves the sandbox they describe still lets the
daemon serve. It boots a throwaway container (systemd-nspawn, systemd as its
PID 1, the host's /usr read-only, a copy of /etc, its own empty network) with
the units from deploy/ (only the binary path changed, to the built daemon),
and unit_probe.py inside starts hardcached.service, then hardcached.socket,
talks memcached to each over 127.0.0.1 and ::1, and reports what the kernel
says about the running daemon (user, capabilities, no_new_privs, seccomp,
network namespace). Needs root, systemd-nspawn (Debian: systemd-container)
and a merged-/usr system; skipped with the reason otherwise."""
import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

import harness  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DEPLOY = os.path.join(harness.ROOT, "deploy")
UNITS = ("hardcached.service", "hardcached.socket", "hardcached-socket.service")
INSTALLED_BIN = "/usr/local/bin/hardcached"
IN_BIN = "/opt/hc/hardcached"
BOOT_TIMEOUT = 150


def _skip_reason():
    if not harness.is_root():
        return "needs root (boots a container)"
    if shutil.which("systemd-nspawn") is None:
        return "systemd-nspawn is missing (Debian package systemd-container)"
    if not os.path.exists("/lib/systemd/systemd"):
        return "systemd is not installed"
    if not all(os.path.islink(d) for d in ("/bin", "/lib", "/sbin")):
        return "needs a merged-/usr system (/bin, /lib, /sbin -> /usr)"
    if not os.path.exists("/usr/bin/python3"):
        return "/usr/bin/python3 is missing"
    if not os.access(harness.hardcached_binary(), os.X_OK):
        return "%s is not built (make)" % harness.hardcached_binary()
    if not harness.user_exists("memcache"):
        return "user memcache is missing (scripts/ensure-user.sh creates it)"
    return None


def _daemon_has_config_flags():
    r = subprocess.run([harness.hardcached_binary(), "--help"], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=10)
    text = r.stdout.decode(errors="replace")
    return "--check-config" in text and "--config" in text


@unittest.skipIf(_skip_reason(), _skip_reason())
class UnitsRunUnderSystemd(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="hc-nspawn-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        cls.machine = "hctest-%d" % os.getpid()
        cls.addClassCleanup(shutil.rmtree, "/run/systemd/nspawn/propagate/" + cls.machine, True)
        cls.full = _daemon_has_config_flags()
        root = cls.root = os.path.join(cls.tmp, "root")
        cls.out = os.path.join(cls.tmp, "out")
        os.makedirs(cls.out)
        cls.build_root(root)
        cls.report, cls.log = cls.boot()

    @classmethod
    def build_root(cls, root):
        for d in ("etc", "usr", "var/tmp", "var/lib", "var/log", "tmp", "run", "proc", "sys",
                  "dev", "root", "out", "opt/hc"):
            os.makedirs(os.path.join(root, d), exist_ok=True)
        for d in ("bin", "lib", "lib64", "sbin"):
            if os.path.islink("/" + d):
                os.symlink("usr/" + d, os.path.join(root, d))
        subprocess.run(["cp", "-a", "/etc/.", os.path.join(root, "etc")], check=True, timeout=60)
        etc = os.path.join(root, "etc")
        # nspawn checks for os-release before /usr is mounted; a new machine id
        # keeps the container's journal apart from the host's.
        os.remove(os.path.join(etc, "os-release"))
        shutil.copy("/usr/lib/os-release", os.path.join(etc, "os-release"))
        with open(os.path.join(etc, "machine-id"), "w") as f:
            f.write(uuid.uuid4().hex + "\n")
        system = os.path.join(etc, "systemd", "system")
        wants = os.path.join(system, "multi-user.target.wants")
        shutil.rmtree(wants, ignore_errors=True)     # none of the host's services
        os.makedirs(wants)
        for name in UNITS:
            with open(os.path.join(DEPLOY, name)) as f:
                text = f.read().replace(INSTALLED_BIN, IN_BIN)
            with open(os.path.join(system, name), "w") as f:
                f.write(text)
        if cls.full:
            os.makedirs(os.path.join(etc, "hardcached"), exist_ok=True)
            conf = os.path.join(etc, "hardcached", "hardcached.conf")
            with open(conf, "w") as f:
                f.write("# written by tests/deploy/test_systemd_run.py\nmemory-limit = 64\n")
            os.chmod(conf, 0o644)
        else:
            # The daemon does not have --config/--check-config yet: run the
            # same sandbox with the plain command line.
            for svc in ("hardcached.service", "hardcached-socket.service"):
                d = os.path.join(system, svc + ".d")
                os.makedirs(d)
                with open(os.path.join(d, "no-config.conf"), "w") as f:
                    f.write("[Service]\nExecStartPre=\nExecStart=\nExecStart=%s\n" % IN_BIN)
        with open(os.path.join(system, "hc-probe.service"), "w") as f:
            f.write("[Unit]\nDescription=deploy unit probe\nAfter=multi-user.target\n"
                    "[Service]\nType=oneshot\n"
                    "ExecStart=/usr/bin/python3 /opt/hc/unit_probe.py /out/report.json\n"
                    "[Install]\nWantedBy=multi-user.target\n")
        os.symlink("../hc-probe.service", os.path.join(wants, "hc-probe.service"))

    @classmethod
    def boot(cls):
        log_path = os.path.join(cls.tmp, "nspawn.log")
        argv = ["systemd-nspawn", "-q", "--keep-unit", "--register=no", "--link-journal=no",
                "--private-network", "--machine=" + cls.machine, "-D", cls.root,
                "--bind-ro=/usr",
                "--bind-ro=%s:%s" % (os.path.abspath(harness.hardcached_binary()), IN_BIN),
                "--bind-ro=%s:/opt/hc/unit_probe.py" % os.path.join(HERE, "unit_probe.py"),
                "--bind=%s:/out" % cls.out, "--boot"]
        with open(log_path, "wb") as log:
            p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL)
            try:
                p.wait(BOOT_TIMEOUT)
            except subprocess.TimeoutExpired:
                p.send_signal(signal.SIGTERM)      # nspawn: orderly poweroff
                try:
                    p.wait(30)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(10)
        with open(log_path, "rb") as f:
            log_text = f.read().decode(errors="replace")
        try:
            with open(os.path.join(cls.out, "report.json")) as f:
                return json.load(f), log_text
        except (OSError, ValueError):
            return None, log_text

    def setUp(self):
        if self.report is None:
            self.fail("the container wrote no report; nspawn said:\n%s" % self.log[-4000:])
        self.assertNotIn("error", self.report, self.report.get("error"))

    def check_unit(self, key, want_private_net):
        r = self.report[key]
        self.assertEqual(r["start_rc"], 0, r["start_out"] + r["status"])
        self.assertEqual(r["active"], "active", r["status"])
        for host, reply in r["replies"].items():
            self.assertEqual(reply, "STORED\r\nVALUE probe 5 2\r\nhi\r\nEND\r\n",
                             "%s via %s: %r\n%s" % (key, host, reply, r["status"]))
        p = r["proc"]
        memcache = pwd.getpwnam("memcache")
        self.assertEqual(p.get("Uid"), str(memcache.pw_uid), p)
        self.assertEqual(p.get("Gid"), str(memcache.pw_gid), p)
        for cap in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
            self.assertEqual(int(p[cap], 16), 0, "%s: %s" % (cap, p))
        self.assertEqual(p.get("NoNewPrivs"), "1", p)
        self.assertEqual(p.get("Seccomp"), "2", p)
        self.assertEqual(p.get("netns_private"), want_private_net, p)

    def test_service_binding_its_own_port_serves(self):
        self.check_unit("service", False)

    def test_socket_activated_service_serves_from_an_empty_network_namespace(self):
        self.check_unit("socket", True)

    def test_no_system_call_was_refused_fatally(self):
        j = self.report["journal"]
        self.assertNotRegex(j, r"status=31/SYS|code=killed|core-dump|Bad system call", j)
        self.assertNotRegex(j, r"hardcached\[\d+\]: .*(Operation not permitted|Permission denied)",
                            j)

    def test_units_run_as_shipped_with_the_config_check(self):
        if not self.full:
            self.skipTest("the daemon has no --config/--check-config yet: the units ran with "
                          "ExecStartPre= cleared and ExecStart= without --config")
        for key in ("service", "socket"):
            self.assertRegex(self.report[key]["status"],
                             r"ExecStartPre=.*--check-config.*status=0/SUCCESS")


if __name__ == "__main__":
    unittest.main()
