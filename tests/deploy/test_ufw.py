"""test_ufw.py: deploy/ufw-setup.sh for real, in throwaway network namespaces.
A server namespace runs ufw (configured by the unmodified script, with copies
of /etc/ufw bound over the real ones) and hardcached on its own addresses;
one client namespace is allowed, the other is not. The allowed client is
served over IPv4 and IPv6; the other one's packets are dropped (its connect
times out, it is not refused). Also: SSH stays allowed, a second run leaves
the same rules, --dry-run changes nothing. Needs root, ufw and iproute2;
skipped with the reason otherwise. The host's firewall is never touched."""
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

import harness  # noqa: E402
import netns  # noqa: E402

SCRIPT = os.path.join(harness.ROOT, "deploy", "ufw-setup.sh")
PORT = 11211


def _skip_reason():
    if not harness.is_root():
        return "needs root (network namespaces, ufw)"
    missing = netns.missing_tools("ufw", "ip", "iptables", "ip6tables", "unshare", "mount")
    if missing:
        return "missing tools: %s (scripts/deps.sh test installs them)" % " ".join(missing)
    if not os.path.exists("/etc/ufw") or not os.path.exists("/etc/default/ufw"):
        return "ufw's configuration (/etc/ufw, /etc/default/ufw) is missing"
    if not os.access(harness.hardcached_binary(), os.X_OK):
        return "%s is not built (make)" % harness.hardcached_binary()
    return None


def _run_as_user():
    return next((name for name in ("memcache", "nobody") if harness.user_exists(name)), None)


@unittest.skipIf(_skip_reason(), _skip_reason())
class UfwSetupInNamespaces(unittest.TestCase):
    """One lab for the whole class: set up once (script run twice), then each
    test checks one promise against it."""

    @classmethod
    def setUpClass(cls):
        cls.lab = lab = netns.Lab()
        cls.addClassCleanup(lab.close)
        lab.build()
        a = lab.addr
        cls.allow = [a["ok4"], a["ok6"]]
        cls.args = []
        for c in cls.allow:
            cls.args += ["--allow-from", c]
        # Before any change: a dry run must leave everything as it was.
        cls.fresh = cls.snapshot()
        cls.dry_fresh = lab.ufw_ns([SCRIPT, "--dry-run"] + cls.args, check=False)
        cls.after_dry_fresh = cls.snapshot()
        cls.first = lab.ufw_ns([SCRIPT] + cls.args, check=False)
        cls.rules1 = cls.snapshot()
        cls.second = lab.ufw_ns([SCRIPT] + cls.args, check=False)
        cls.rules2 = cls.snapshot()
        user = _run_as_user()
        listen = ",".join([a["srv_ok4"], a["srv_no4"],
                           "[%s]" % a["srv_ok6"], "[%s]" % a["srv_no6"]])
        argv = [harness.hardcached_binary(), "-p", str(PORT), "-l", listen]
        if user:
            argv += ["-u", user]
        cls.server = lab.start(lab.srv, argv, "hardcached")
        # From inside the server namespace: local traffic, ufw accepts it.
        cls.ready = lab.wait_served(lab.srv, a["srv_ok4"], PORT, cls.server)

    @classmethod
    def snapshot(cls):
        """Everything the script may change: the loaded rules of both
        families and ufw's files (the bound copies)."""
        lab = cls.lab
        out = []
        for tool in ("iptables-save", "ip6tables-save"):
            r = lab.in_ns(lab.srv, [tool])
            out.append("\n".join(l for l in r.stdout.splitlines()
                                 if not l.startswith("#")))
        r = lab.ufw_ns(["sh", "-c", "cat /etc/ufw/user.rules /etc/ufw/user6.rules "
                        "/etc/ufw/ufw.conf /etc/default/ufw; ls -l /etc/ufw/applications.d"])
        out.append(r.stdout)
        r = lab.ufw_ns(["ufw", "status", "numbered"])
        out.append(r.stdout)
        return "\n=====\n".join(out)

    def status(self):
        return self.lab.ufw_ns(["ufw", "status", "verbose"]).stdout

    # ---- the script ----
    def test_script_succeeds_twice(self):
        for r in (self.first, self.second):
            self.assertEqual(r.returncode, 0, "ufw-setup.sh failed:\n%s\n%s" % (r.stdout, r.stderr))
        self.assertRegex(self.status(), r"(?m)^Status: active$")

    def test_second_run_leaves_the_same_rules(self):
        self.assertEqual(self.rules1, self.rules2)
        self.assertIn("Skipping", self.second.stdout)

    def test_dry_run_changes_nothing(self):
        self.assertEqual(self.dry_fresh.returncode, 0, self.dry_fresh.stderr)
        self.assertEqual(self.fresh, self.after_dry_fresh)
        self.assertIn("ufw --force enable", self.dry_fresh.stdout)
        self.assertIn("ufw prepend deny proto tcp to any port %d" % PORT, self.dry_fresh.stdout)
        # On the configured firewall, with other sources: still nothing changes.
        before = self.snapshot()
        r = self.lab.ufw_ns([SCRIPT, "--dry-run", "--port", "11311", "--allow-from",
                             "192.0.2.0/24"], check=False)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("ufw prepend allow from 192.0.2.0/24 to any port 11311", r.stdout)
        self.assertEqual(before, self.snapshot())

    def test_dry_run_prints_removal_of_sources_no_longer_given(self):
        r = self.lab.ufw_ns([SCRIPT, "--dry-run", "--allow-from", self.allow[0]], check=False)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("ufw delete allow from %s to any port %d proto tcp" % (self.allow[1], PORT),
                      r.stdout)
        self.assertNotIn("delete allow from %s " % self.allow[0], r.stdout)

    def test_ssh_stays_allowed(self):
        st = self.status()
        self.assertRegex(st, r"(?m)^22/tcp\s+ALLOW IN\s+Anywhere\s*$")
        self.assertRegex(st, r"(?m)^22/tcp \(v6\)\s+ALLOW IN\s+Anywhere \(v6\)\s*$")
        # ...and reachable: from the other client, port 22 answers (RST:
        # nothing listens there), so the path is open and the firewall passes it.
        a = self.lab.addr
        self.assertEqual(self.lab.client(self.lab.no, a["srv_no4"], 22, "version"), "REFUSED")

    def test_rules_allow_only_the_given_sources(self):
        st = self.status()
        for src in self.allow:
            self.assertRegex(st, r"(?m)^%d/tcp\s+ALLOW IN\s+%s\s+# hardcached$"
                             % (PORT, re.escape(src)))
        self.assertRegex(st, r"(?m)^%d/tcp\s+DENY IN\s+Anywhere\s+# hardcached$" % PORT)
        self.assertRegex(st, r"(?m)^%d/tcp \(v6\)\s+DENY IN\s+Anywhere \(v6\)\s+# hardcached$"
                         % PORT)
        # The allows come before the deny, per family (ufw: first match wins).
        v4 = self.lab.in_ns(self.lab.srv, ["iptables", "-S", "ufw-user-input"]).stdout
        lines = [l for l in v4.splitlines() if "--dport %d" % PORT in l]
        self.assertEqual(len(lines), 2, v4)
        self.assertIn("-s %s/32" % self.allow[0], lines[0])
        self.assertTrue(lines[0].endswith("-j ACCEPT") and lines[1].endswith("-j DROP"), lines)

    def test_profile_installed(self):
        r = self.lab.ufw_ns(["ufw", "app", "info", "hardcached"])
        self.assertIn("Profile: hardcached", r.stdout)
        self.assertRegex(r.stdout, r"(?m)^\s+%d/tcp$" % PORT)

    # ---- the daemon behind it ----
    def require_server(self):
        if not self.ready:
            self.fail("hardcached did not serve in the server namespace: %s"
                      % self.lab.log("hardcached"))

    def test_allowed_client_is_served(self):
        self.require_server()
        a = self.lab.addr
        self.assertEqual(self.lab.client(self.lab.ok, a["srv_ok4"], PORT, "v4"), "OK")
        self.assertEqual(self.lab.client(self.lab.ok, a["srv_ok6"], PORT, "v6"), "OK")

    def test_other_client_is_dropped(self):
        self.require_server()
        a = self.lab.addr

        def drops(ip6=False):
            tool, chain = ("ip6tables", "ufw6-user-input") if ip6 else ("iptables",
                                                                      "ufw-user-input")
            out = self.lab.in_ns(self.lab.srv, [tool, "-L", chain, "-n", "-v", "-x"]).stdout
            for line in out.splitlines():
                f = line.split()
                if len(f) > 2 and f[2] == "DROP" and "dpt:%d" % PORT in line:
                    return int(f[0])
            self.fail("no DROP rule for port %d in %s" % (PORT, out))

        before4, before6 = drops(), drops(True)
        self.assertEqual(self.lab.client(self.lab.no, a["srv_no4"], PORT, "v4", 1.5), "TIMEOUT")
        self.assertEqual(self.lab.client(self.lab.no, a["srv_no6"], PORT, "v6", 1.5), "TIMEOUT")
        self.assertGreater(drops(), before4)
        self.assertGreater(drops(True), before6)
        # The server itself was up and listening on that address all along.
        self.assertEqual(self.lab.client(self.lab.srv, a["srv_no4"], PORT, "version"), "OK")
        self.assertIsNone(self.server.poll(), self.lab.log("hardcached"))


if __name__ == "__main__":
    unittest.main()
