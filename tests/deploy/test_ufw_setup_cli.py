"""test_ufw_setup_cli.py: deploy/ufw-setup.sh's command line, without a
firewall: argument validation (exit 64 with a message naming the option),
the not-root (77) and no-ufw (69) errors, the exact --dry-run command list,
shellcheck. Runs as any user; as root, the not-root cases run as nobody
(setpriv). Nothing here changes the system."""
import os
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

import harness  # noqa: E402

SCRIPT = os.path.join(harness.ROOT, "deploy", "ufw-setup.sh")
PROFILE = os.path.join(harness.ROOT, "firewall", "ufw", "hardcached")


def run(args, as_nobody=False, env=None):
    argv = [SCRIPT] + list(args)
    if as_nobody and harness.is_root():
        if shutil.which("setpriv") is None:
            raise unittest.SkipTest("setpriv (util-linux) is missing")
        argv = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"] + argv
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       stdin=subprocess.DEVNULL, timeout=30, env=env)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


class Arguments(unittest.TestCase):
    def test_help(self):
        rc, out, _ = run(["--help"])
        self.assertEqual(rc, 0)
        for opt in ("--port", "--allow-from", "--ssh-port", "--dry-run"):
            self.assertIn(opt, out)

    def test_bad_arguments_exit_64_naming_the_option(self):
        cases = [
            (["--port", "0"], "--port"),
            (["--port", "65536"], "--port"),
            (["--port", "11211x"], "--port"),
            (["--port"], "--port"),
            (["--allow-from", "10.1.2.3/8"], "did you mean 10.0.0.0/8"),
            (["--allow-from", "2001:db8::1/32"], "did you mean 2001:db8::/32"),
            (["--allow-from", "0.0.0.0/0"], "every source"),
            (["--allow-from", "::/0"], "every source"),
            (["--allow-from", "256.0.0.1"], "--allow-from"),
            (["--allow-from", "010.0.0.1"], "--allow-from"),
            (["--allow-from", "10.0.0.0/33"], "0-32"),
            (["--allow-from", "1::2::3"], "--allow-from"),
            (["--allow-from", "example.com"], "--allow-from"),
            (["--allow-from", "10.0.0.0/8;reboot"], "--allow-from"),
            (["--ssh-port", "x"], "--ssh-port"),
            (["--frobnicate"], "unknown argument"),
            (["--dry-run", "--port", "22", "--ssh-port", "22"], "lock you out"),
        ]
        for args, needle in cases:
            with self.subTest(args=args):
                rc, out, err = run(args)
                self.assertEqual(rc, 64, (args, out, err))
                self.assertIn(needle, err)
                self.assertEqual(len(err.strip().splitlines()), 1, err)


class Environment(unittest.TestCase):
    def test_not_root_is_refused_with_exit_77(self):
        if shutil.which("ufw") is None:
            self.skipTest("ufw is not installed (the no-ufw check comes first)")
        rc, _, err = run(["--allow-from", "10.0.0.0/8"], as_nobody=True)
        self.assertEqual(rc, 77, err)
        self.assertIn("must be run as root", err)

    def test_missing_ufw_exits_69(self):
        path = "/usr/bin:/bin"
        if any(os.path.exists(os.path.join(d, "ufw")) for d in path.split(":")):
            self.skipTest("ufw is on %s" % path)
        env = dict(os.environ, PATH=path)
        rc, _, err = run(["--allow-from", "10.0.0.0/8"], env=env)
        if harness.is_root():
            self.assertEqual(rc, 69, err)
            self.assertIn("ufw is not installed", err)
        else:
            self.assertIn(rc, (69, 77), err)


class DryRun(unittest.TestCase):
    def test_full_command_list_without_reading_state(self):
        # Not root: the rules cannot be read, so every command is listed.
        rc, out, err = run(["--dry-run", "--port", "11311", "--ssh-port", "2222",
                            "--allow-from", "10.0.0.0/8", "--allow-from", "2001:DB8:0::/32",
                            "--allow-from", "192.0.2.7/32"], as_nobody=True)
        self.assertEqual(rc, 0, err)
        cmds = [l for l in out.splitlines() if not l.startswith("#")]
        self.assertEqual(cmds, [
            "ufw app update hardcached",
            "ufw allow 2222/tcp",
            "ufw prepend deny proto tcp to any port 11311 comment hardcached",
            "ufw prepend allow from 192.0.2.7 to any port 11311 proto tcp comment hardcached",
            "ufw prepend allow from 2001:db8::/32 to any port 11311 proto tcp comment hardcached",
            "ufw prepend allow from 10.0.0.0/8 to any port 11311 proto tcp comment hardcached",
            "ufw --force enable",
        ])
        self.assertIn("ports=11311/tcp", out)

    def test_no_allow_from_closes_to_all_but_loopback(self):
        rc, out, err = run(["--dry-run"], as_nobody=True)
        self.assertEqual(rc, 0, err)
        self.assertIn("closed to every source except loopback", err)
        self.assertNotIn("prepend allow", out)
        self.assertIn("ufw prepend deny proto tcp to any port 11211 comment hardcached", out)


class Lint(unittest.TestCase):
    def test_shellcheck_clean(self):
        if shutil.which("shellcheck") is None:
            self.skipTest("shellcheck is missing (Debian package shellcheck)")
        r = subprocess.run(["shellcheck", "-x", SCRIPT], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout.decode())

    def test_strict_mode_and_syntax(self):
        with open(SCRIPT) as f:
            text = f.read()
        self.assertTrue(text.startswith("#!/usr/bin/env bash\n"))
        self.assertIn("\nset -euo pipefail\n", text)
        self.assertTrue(os.access(SCRIPT, os.X_OK))
        r = subprocess.run(["bash", "-n", SCRIPT], stderr=subprocess.PIPE, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr.decode())

    def test_profile_is_tcp_11211(self):
        with open(PROFILE) as f:
            text = f.read()
        self.assertIn("[hardcached]", text)
        self.assertRegex(text, r"(?m)^ports=11211/tcp$")
        self.assertRegex(text, r"(?m)^title=.+")
        self.assertRegex(text, r"(?m)^description=.+")


if __name__ == "__main__":
    unittest.main()
