"""test_install.py: scripts/install.sh (what `make install` runs) into a
temporary DESTDIR: every file where the layout says, with its mode; the
systemd units' /usr/local/bin/hardcached rewritten to the real PREFIX; an
existing /etc/hardcached/hardcached.conf never overwritten; no system user
created by a staged install. The build it installs is assembled from HC_BIN
and genman's pages (BUILD=...), so the script is tested whatever state
build/ is in; `make install` itself is run on HC_BIN's build (make's BUILD),
and a broken install target fails (it is what `make test` has of it)."""
import os
import shutil
import stat
import subprocess
import tempfile
import unittest

import audit_util as au
import harness

ROOT = au.ROOT
SCRIPT = os.path.join(ROOT, "scripts", "install.sh")
UNITS = ("hardcached.service", "hardcached.socket", "hardcached-socket.service")


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def skip_reason():
    if not os.access(au.binary(), os.X_OK):
        return "%s is not built (make)" % au.binary()
    if not os.access(au.genman(), os.X_OK):
        return "%s is not built (make)" % au.genman()
    return None


@unittest.skipIf(skip_reason(), skip_reason())
class Install(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="hc-install-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        cls.build = os.path.join(cls.tmp, "build")
        os.makedirs(os.path.join(cls.build, "man"))
        shutil.copy(au.binary(), os.path.join(cls.build, "hardcached"))
        for sec, name in (("8", "hardcached.8"), ("5", "hardcached.conf.5")):
            with open(os.path.join(cls.build, "man", name), "w") as f:
                f.write(subprocess.run([au.genman(), sec], stdout=subprocess.PIPE, check=True,
                                       timeout=30).stdout.decode())

    def install(self, destdir, prefix, expect_ok=True):
        p = subprocess.run([SCRIPT, destdir, prefix], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=120,
                           env=dict(os.environ, BUILD=self.build))
        out = p.stdout.decode()
        if expect_ok:
            self.assertEqual(p.returncode, 0, out)
        return p.returncode, out

    def dest(self):
        return tempfile.mkdtemp(dir=self.tmp)

    def check_tree(self, d, prefix, unitdir):
        binary = d + prefix + "/bin/hardcached"
        self.assertEqual(mode(binary), 0o755)
        p = subprocess.run([binary, "-V"], stdout=subprocess.PIPE, timeout=10)
        self.assertTrue(p.stdout.startswith(b"hardcached "), p.stdout)
        for rel in ("/share/man/man8/hardcached.8", "/share/man/man5/hardcached.conf.5"):
            self.assertEqual(mode(d + prefix + rel), 0o644, rel)
            with open(d + prefix + rel) as f, \
                    open(os.path.join(self.build, "man", os.path.basename(rel))) as g:
                self.assertEqual(f.read(), g.read())
        conf = d + "/etc/hardcached/hardcached.conf"
        self.assertEqual(mode(conf), 0o644)
        self.assertEqual(mode(os.path.dirname(conf)), 0o755)
        with open(conf) as f, open(os.path.join(ROOT, "deploy", "hardcached.conf")) as g:
            self.assertEqual(f.read(), g.read())
        if harness.is_root():
            self.assertEqual(os.stat(conf).st_uid, 0)
            self.assertEqual(os.stat(conf).st_gid, 0)
        ufw = d + "/etc/ufw/applications.d/hardcached"
        self.assertEqual(mode(ufw), 0o644)
        for unit in UNITS:
            path = d + unitdir + "/" + unit
            self.assertEqual(mode(path), 0o644, path)
            with open(path) as f:
                text = f.read()
            with open(os.path.join(ROOT, "deploy", unit)) as f:
                shipped = f.read()
            want = shipped.replace("/usr/local/bin/hardcached", prefix + "/bin/hardcached")
            self.assertEqual(text, want, unit)
            if unit.endswith(".service"):
                self.assertIn("ExecStart=%s/bin/hardcached --config /etc/hardcached/"
                              "hardcached.conf\n" % prefix, text)
                self.assertIn("ExecStartPre=%s/bin/hardcached " % prefix, text)
            if prefix != "/usr/local":
                self.assertNotIn("/usr/local/bin", text)
        self.assertEqual(mode(d + prefix + "/share/hardcached/ufw-setup.sh"), 0o755)

    def test_usr_local(self):
        d = self.dest()
        _, out = self.install(d, "/usr/local")
        self.check_tree(d, "/usr/local", "/usr/local/lib/systemd/system")
        self.assertIn("not creating the system user", out)
        self.assertNotIn("systemctl link", out)

    def test_usr_goes_to_lib_systemd(self):
        d = self.dest()
        self.install(d, "/usr")
        self.check_tree(d, "/usr", "/lib/systemd/system")
        self.assertFalse(os.path.exists(d + "/usr/lib/systemd/system/hardcached.service"))

    def test_other_prefix_is_rewritten_and_said(self):
        d = self.dest()
        _, out = self.install(d, "/opt/hardcached/")
        self.check_tree(d, "/opt/hardcached", "/opt/hardcached/lib/systemd/system")
        self.assertIn("systemctl link /opt/hardcached/lib/systemd/system/hardcached.service", out)

    def test_existing_config_is_kept(self):
        d = self.dest()
        self.install(d, "/usr/local")
        conf = d + "/etc/hardcached/hardcached.conf"
        with open(conf, "w") as f:
            f.write("# the operator's\nmemory-limit = 128\n")
        os.chmod(conf, 0o640)
        _, out = self.install(d, "/usr/local")
        with open(conf) as f:
            self.assertEqual(f.read(), "# the operator's\nmemory-limit = 128\n")
        self.assertEqual(mode(conf), 0o640)
        self.assertIn("kept %s" % conf, out)

    def test_installed_config_checks_clean(self):
        if harness.is_root() and not harness.user_exists("memcache"):
            self.skipTest("as root the defaults need the user memcache")
        d = self.dest()
        os.chmod(d, 0o755)
        self.install(d, "/usr/local")
        p = subprocess.run([d + "/usr/local/bin/hardcached", "--config",
                            d + "/etc/hardcached/hardcached.conf", "--check-config"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
        self.assertEqual(p.returncode, 0, p.stdout.decode())

    def test_umask_does_not_leak_into_modes(self):
        d = self.dest()
        p = subprocess.run(["bash", "-c", 'umask 077; exec "$0" "$1" /usr/local', SCRIPT, d],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120,
                           env=dict(os.environ, BUILD=self.build))
        self.assertEqual(p.returncode, 0, p.stdout.decode())
        self.assertEqual(mode(d + "/usr/local/share/man/man8"), 0o755)
        self.check_tree(d, "/usr/local", "/usr/local/lib/systemd/system")

    def test_refusals(self):
        rc, out = self.install("relative", "/usr/local", expect_ok=False)
        self.assertNotEqual(rc, 0)
        self.assertIn("DESTDIR must be empty or an absolute path", out)
        rc, out = self.install(self.dest(), "usr", expect_ok=False)
        self.assertIn("PREFIX must be an absolute path", out)
        p = subprocess.run([SCRIPT, self.dest(), "/usr/local"], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=60,
                           env=dict(os.environ, BUILD=os.path.join(self.tmp, "nowhere")))
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("run make first", p.stdout.decode())
        p = subprocess.run([SCRIPT], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
        self.assertEqual(p.returncode, 64)

    def test_make_install(self):
        # the build under test: HC_BIN's directory is make's BUILD (build/ by
        # default), so a run against another build never rebuilds build/
        build = os.path.relpath(os.path.dirname(os.path.abspath(au.binary())), ROOT)
        if build.startswith(".."):
            self.skipTest("%s is not a build under %s" % (au.binary(), ROOT))
        mk = subprocess.run(["make", "-n", "-C", ROOT, "install", "DESTDIR=/x", "BUILD=" + build],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
        # the target exists: a broken one fails here, it is never skipped
        self.assertEqual(mk.returncode, 0, mk.stdout.decode()[-3000:])
        self.assertIn(b"install.sh", mk.stdout, "make install does not run scripts/install.sh")
        if not os.path.exists(os.path.join(ROOT, build, "man", "hardcached.8")):
            self.skipTest("%s/ has no man pages (make BUILD=%s)" % (build, build))
        d = self.dest()
        p = subprocess.run(["make", "-C", ROOT, "install", "DESTDIR=" + d, "PREFIX=/usr/local",
                            "BUILD=" + build],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=600)
        self.assertEqual(p.returncode, 0, p.stdout.decode()[-3000:])
        self.assertEqual(mode(d + "/usr/local/bin/hardcached"), 0o755)
        self.assertTrue(os.path.exists(d + "/usr/local/share/man/man5/hardcached.conf.5"))
        self.assertTrue(os.path.exists(d + "/etc/hardcached/hardcached.conf"))


if __name__ == "__main__":
    unittest.main()
