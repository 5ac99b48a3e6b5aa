"""test_firewall_files.py: the firewall/ files are valid for their tools and
do what they say. Each tool checks its own file: ufw parses the application
profile and every line of rules.template (--dry-run), `nft -c -f` checks the
nftables file, `iptables-restore --test` the iptables ones. Then the nftables
and iptables rule sets are loaded for real in throwaway network namespaces
(netns.Lab): an allowed client is served, another one's packets are dropped.
Checks run in their own network and mount namespaces: the host's firewall
and /etc are never changed. Needs root and the tools; skipped otherwise."""
import os
import re
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

import harness  # noqa: E402
import netns  # noqa: E402

FW = os.path.join(harness.ROOT, "firewall")
PROFILE = os.path.join(FW, "ufw", "hardcached")
TEMPLATE = os.path.join(FW, "ufw", "rules.template")
NFT = os.path.join(FW, "nftables", "hardcached.nft")
IPT4 = os.path.join(FW, "iptables", "hardcached.rules")
IPT6 = os.path.join(FW, "iptables", "hardcached6.rules")
PORT = 11211


def need(*tools):
    if not harness.is_root():
        return "needs root (network namespaces)"
    missing = netns.missing_tools("unshare", *tools)
    if missing:
        return "missing tools: %s (scripts/deps.sh test installs them)" % " ".join(missing)
    return None


def in_private_netns(argv, stdin=None, timeout=60):
    """argv in a new, empty network namespace that dies with it."""
    r = subprocess.run(["unshare", "--net"] + argv, input=stdin, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout)
    return r.returncode, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")


def nft_text(port, allow4, allow6):
    with open(NFT) as f:
        text = f.read()
    text, n1 = re.subn(r"(?m)^define HC_PORT = .*$", "define HC_PORT = %d" % port, text)
    text, n2 = re.subn(r"(?m)^define HC_ALLOW_V4 = .*$",
                       "define HC_ALLOW_V4 = { %s }" % ", ".join(allow4), text)
    text, n3 = re.subn(r"(?m)^define HC_ALLOW_V6 = .*$",
                       "define HC_ALLOW_V6 = { %s }" % ", ".join(allow6), text)
    assert (n1, n2, n3) == (1, 1, 1), "the defines moved in %s" % NFT
    return text


def ipt_text(path, doc_range, allow):
    with open(path) as f:
        text = f.read()
    line = "-A HARDCACHED -s %s -j ACCEPT" % doc_range
    assert line in text, "%s lacks %r" % (path, line)
    return text.replace(line, "\n".join("-A HARDCACHED -s %s -j ACCEPT" % a for a in allow))


class Ufw(unittest.TestCase):
    def setUp(self):
        reason = need("ufw", "mount")
        if reason:
            self.skipTest(reason)
        self.tmp = tempfile.TemporaryDirectory(prefix="hc-fw-")
        self.addCleanup(self.tmp.cleanup)
        d = self.tmp.name
        subprocess.run(["cp", "-a", "/etc/ufw", d + "/etc-ufw"], check=True)
        subprocess.run(["cp", "-a", "/etc/default/ufw", d + "/default-ufw"], check=True)
        os.chmod(d + "/etc-ufw", 0o755)
        subprocess.run(["cp", PROFILE, d + "/etc-ufw/applications.d/hardcached"], check=True)

    def ufw(self, *args):
        rc, out, err = in_private_netns(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c",
             netns.UFW_SANDBOX, "sh", self.tmp.name, "ufw"] + list(args))
        return rc, out + err

    def test_profile_parses(self):
        rc, out = self.ufw("app", "info", "hardcached")
        self.assertEqual(rc, 0, out)
        self.assertIn("Profile: hardcached", out)
        self.assertRegex(out, r"(?m)^\s+%d/tcp$" % PORT)
        self.assertNotIn("udp", out)
        rc, out = self.ufw("--dry-run", "allow", "from", "192.0.2.0/24", "to", "any", "app",
                           "hardcached")
        self.assertEqual(rc, 0, out)
        self.assertIn("-p tcp --dport %d -s 192.0.2.0/24 -j ACCEPT" % PORT, out)

    def test_template_lines_parse(self):
        with open(TEMPLATE) as f:
            lines = [l.strip() for l in f if l.startswith("ufw ")]
        self.assertGreaterEqual(len(lines), 4)
        for line in lines:
            line = line.replace("${PORT}", str(PORT)).replace("${ALLOWED}", "192.0.2.0/24")
            args = [a.strip("'") for a in line.split()[1:]]
            rc, out = self.ufw("--dry-run", *args)
            self.assertEqual(rc, 0, "%s: %s" % (line, out))
            self.assertNotRegex(out, "ERROR|WARN", line)
            if "prepend" in args:
                self.assertIn("--dport %d" % PORT, out, line)


class Nftables(unittest.TestCase):
    def setUp(self):
        reason = need("nft")
        if reason:
            self.skipTest(reason)

    def test_file_as_shipped_checks(self):
        rc, out, err = in_private_netns(["nft", "-c", "-f", NFT])
        self.assertEqual(rc, 0, out + err)

    def test_loads_twice_and_replaces_itself(self):
        text = nft_text(11311, ["10.211.0.0/24", "192.0.2.7"], ["fd11:211::/64"]).encode()
        with tempfile.NamedTemporaryFile("wb", suffix=".nft") as f:
            f.write(text)
            f.flush()
            rc, out, err = in_private_netns(
                ["sh", "-ec", 'nft -c -f "$1"; nft -f "$1"; nft -f "$1"; nft list ruleset',
                 "sh", f.name])
        self.assertEqual(rc, 0, out + err)
        self.assertEqual(out.count("table inet hardcached"), 1, out)
        self.assertIn("tcp dport 11311", out)
        self.assertIn("10.211.0.0/24", out)


class Iptables(unittest.TestCase):
    def setUp(self):
        reason = need("iptables-restore", "ip6tables-restore")
        if reason:
            self.skipTest(reason)

    def test_files_as_shipped_check(self):
        for tool, path in (("iptables-restore", IPT4), ("ip6tables-restore", IPT6)):
            with open(path, "rb") as f:
                rc, out, err = in_private_netns([tool, "--test"], stdin=f.read())
            self.assertEqual(rc, 0, "%s: %s%s" % (path, out, err))

    def test_loading_twice_leaves_one_copy(self):
        script = ('iptables-restore --noflush < "$1"; iptables-restore --noflush < "$1"; '
                  'iptables -S HARDCACHED')
        rc, out, err = in_private_netns(["sh", "-ec", script, "sh", IPT4])
        self.assertEqual(rc, 0, out + err)
        self.assertEqual(out.count("-j DROP"), 1, out)


class RealTraffic(unittest.TestCase):
    """Each rule set loaded in the server namespace of a fresh Lab."""

    def setUp(self):
        reason = need("ip", "nft", "iptables-restore", "ip6tables-restore", "iptables", "ip6tables")
        if reason:
            self.skipTest(reason)
        if not os.access(harness.hardcached_binary(), os.X_OK):
            self.skipTest("%s is not built (make)" % harness.hardcached_binary())
        self.lab = netns.Lab()
        self.addCleanup(self.lab.close)
        self.lab.build()

    def serve_and_probe(self):
        lab, a = self.lab, self.lab.addr
        listen = ",".join([a["srv_ok4"], a["srv_no4"], "[%s]" % a["srv_ok6"],
                           "[%s]" % a["srv_no6"]])
        argv = [harness.hardcached_binary(), "-p", str(PORT), "-l", listen]
        if harness.is_root():
            argv += ["-u", "memcache" if harness.user_exists("memcache") else "nobody"]
        server = lab.start(lab.srv, argv, "hardcached")
        self.assertTrue(lab.wait_served(lab.srv, a["srv_ok4"], PORT, server),
                        lab.log("hardcached"))
        self.assertEqual(lab.client(lab.ok, a["srv_ok4"], PORT, "v4"), "OK")
        self.assertEqual(lab.client(lab.ok, a["srv_ok6"], PORT, "v6"), "OK")
        self.assertEqual(lab.client(lab.no, a["srv_no4"], PORT, "v4", 1.5), "TIMEOUT")
        self.assertEqual(lab.client(lab.no, a["srv_no6"], PORT, "v6", 1.5), "TIMEOUT")

    def test_nftables(self):
        a = self.lab.addr
        with tempfile.NamedTemporaryFile("w", suffix=".nft", dir=self.lab.tmp,
                                         delete=False) as f:
            f.write(nft_text(PORT, [a["ok4"]], [a["ok6"]]))
        self.lab.in_ns(self.lab.srv, ["nft", "-f", f.name])
        self.serve_and_probe()
        out = self.lab.in_ns(self.lab.srv, ["nft", "list", "table", "inet", "hardcached"]).stdout
        self.assertRegex(out, r"tcp dport %d counter packets [1-9]\d* bytes \d+ drop" % PORT)

    def test_iptables(self):
        a = self.lab.addr
        for tool, path, doc, src in (("iptables", IPT4, "192.0.2.0/24", a["ok4"]),
                                     ("ip6tables", IPT6, "2001:db8::/32", a["ok6"])):
            rules = ipt_text(path, doc, [src])
            p = subprocess.run(["ip", "netns", "exec", self.lab.srv, tool + "-restore",
                                "--noflush"], input=rules.encode(), timeout=30,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            self.assertEqual(p.returncode, 0, p.stdout)
            # The README's idempotent jump: -C, else -I.
            jump = ["INPUT", "-p", "tcp", "--dport", str(PORT), "-j", "HARDCACHED"]
            for _ in range(2):
                if self.lab.in_ns(self.lab.srv, [tool, "-C"] + jump, check=False).returncode:
                    self.lab.in_ns(self.lab.srv, [tool, "-I"] + jump[:1] + ["1"] + jump[1:])
            out = self.lab.in_ns(self.lab.srv, [tool, "-S", "INPUT"]).stdout
            self.assertEqual(out.count("-j HARDCACHED"), 1, out)
        self.serve_and_probe()


if __name__ == "__main__":
    unittest.main()
