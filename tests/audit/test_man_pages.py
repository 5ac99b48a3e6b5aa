"""test_man_pages.py: hardcached(8) and hardcached.conf(5), written by
tools/genman from the option, audit and metric tables, cannot drift from them:
every row of the option table appears in both pages (as a flag in (8), as a
config name or a command-line-only name in (5)), every --check-config finding
in (8), every flag of --help in (8), every field of stats in (8)'s METRICS
section, in stats' order; memcached's options without effect here and the
refused ones are marked so in both pages; both render with groff and man
without a warning;
and the pages the build left beside genman (BUILD/man/) are what it writes now.
(tests/integration/test_stats.py checks METRICS against a running stats.)"""
import os
import re
import shutil
import subprocess
import tempfile
import unittest

import audit_util as au

GENMAN = au.genman()


def roff_name(name):
    return name.replace("-", "\\-")


def genman(what):
    p = subprocess.run([GENMAN, what], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=30)
    if p.returncode != 0:
        raise AssertionError("genman %s: %s" % (what, p.stderr.decode()))
    return p.stdout.decode()


@unittest.skipUnless(os.access(GENMAN, os.X_OK), "%s is not built (make)" % GENMAN)
class ManPages(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="hc-man-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        cls.page8 = genman("8")
        cls.page5 = genman("5")
        cls.rows, cls.findings, cls.metrics = [], [], []
        for line in genman("names").splitlines():
            f = line.split("\t")
            if f[0] == "finding":
                cls.findings.append((f[1], f[2]))
            elif f[0] == "metric":
                cls.metrics.append({"name": f[1], "kind": f[2], "table": f[3]})
            else:
                cls.rows.append({"name": f[0], "short": f[1], "where": f[2], "group": f[3],
                                 "effect": f[4]})
        cls.path8 = os.path.join(cls.tmp, "hardcached.8")
        cls.path5 = os.path.join(cls.tmp, "hardcached.conf.5")
        for path, text in ((cls.path8, cls.page8), (cls.path5, cls.page5)):
            with open(path, "w") as f:
                f.write(text)

    def test_the_table_is_all_there(self):
        self.assertGreater(len(self.rows), 30)
        names = {r["name"] for r in self.rows}
        for n in ("port", "listen", "allow", "seccomp", "config", "check-config", "format",
                  "fail-on", "idle_timeout"):
            self.assertIn(n, names)

    def test_every_flag_in_hardcached_8(self):
        for r in self.rows:
            if r["group"] == "extended":
                want = "\\fB%s=\\fI" % roff_name(r["name"])
                flag = "\\fB%s\\fI\\fR\n" % roff_name(r["name"])   # a key without value
                want = flag if flag in self.page8 else want
            else:
                want = "\\fB\\-\\-%s\\fR" % roff_name(r["name"])
            self.assertTrue(want in self.page8, "%s: no %s in hardcached.8" % (r["name"], want))
            if r["short"] != "-":
                want = "\\fB\\-%s\\fR, \\fB\\-\\-%s" % (r["short"], roff_name(r["name"]))
                self.assertTrue(want in self.page8, "no %s in hardcached.8" % want)

    def test_every_name_in_hardcached_conf_5(self):
        for r in self.rows:
            want = "\\fB%s\\fR" % roff_name(r["name"])
            self.assertTrue(want in self.page5, "%s: no %s in hardcached.conf.5" % (r["name"], want))
            section = self.page5.split(".SH COMMAND-LINE ONLY")
            self.assertEqual(len(section), 2)
            where = section[1] if r["where"] == "cli" else section[0]
            self.assertTrue(".TP\n" + want in where, "%s is in the wrong section" % r["name"])

    def test_ignored_and_refused_are_marked(self):
        effects = {r["effect"] for r in self.rows}
        self.assertEqual(effects, {"implemented", "ignored", "refused"})
        for r in self.rows:
            if r["effect"] == "implemented":
                continue
            self.assertIn(r["group"], ("memcached", "extended"), r["name"])
            word = r["effect"].capitalize() + ": "
            for page in (self.page8, self.page5):
                tag = re.escape(roff_name(r["name"]))
                marked = re.search(r"\\fB(\\-\\-)?%s(\\|=)[^\n]*\n%s" % (tag, word), page)
                self.assertTrue(marked, "%s is not marked %s" % (r["name"], word))
        self.assertIn("memcached\\-option\\-ignored", self.page8)

    def test_every_finding_in_hardcached_8(self):
        self.assertGreater(len(self.findings), 20)
        for fid, sev in self.findings:
            want = "\\fB%s\\fR (%s)" % (roff_name(fid), sev)
            self.assertTrue(want in self.page8, "no %s in hardcached.8" % want)

    def test_every_metric_in_hardcached_8(self):
        self.assertGreater(len(self.metrics), 80)
        self.assertEqual(self.metrics[0]["name"], "pid")     # memcached's order
        names = [m["name"] for m in self.metrics]
        self.assertEqual(len(set(names)), len(names), "a field twice")
        self.assertTrue({"thread", "store", "net"} <= {m["table"] for m in self.metrics})
        sections = self.page8.split("\n.SH METRICS\n")
        self.assertEqual(len(sections), 2, "no METRICS section in hardcached.8")
        section = sections[1].split("\n.SH ")[0]
        listed = re.findall(r"^\.TP\n\\fB([^\\]+)\\fR \(([^)]*)\)\n(.*)$", section, re.M)
        self.assertEqual([n for n, _, _ in listed], names)
        for (name, kind, desc), m in zip(listed, self.metrics):
            self.assertTrue(kind.startswith(m["kind"]), "%s: %s" % (name, kind))
            self.assertGreater(len(desc), 10, name)
            if m["table"] == "thread" and m["kind"] == "counter":
                self.assertIn("stats reset", kind, name)

    def test_help_and_the_page_list_the_same_flags(self):
        binary = au.binary()
        if not os.access(binary, os.X_OK):
            self.skipTest("%s is not built" % binary)
        rc, out, _ = au.run(["--help"])
        self.assertEqual(rc, 0)
        for r in self.rows:
            if r["group"] == "extended":
                self.assertRegex(out, r"- %s(=| )" % re.escape(r["name"]))
            else:
                self.assertIn("--%s" % r["name"], out)

    def test_groff_renders_without_warnings(self):
        if shutil.which("groff") is None:
            self.skipTest("groff is not installed")
        for path in (self.path8, self.path5):
            p = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", path],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
            self.assertEqual(p.returncode, 0, p.stderr.decode())
            self.assertEqual(p.stderr.decode(), "", path)

    def test_man_renders_without_warnings(self):
        if shutil.which("man") is None:
            self.skipTest("man is not installed")
        env = dict(os.environ, MANWIDTH="80", MANPAGER="cat", PAGER="cat", LC_ALL="C.UTF-8")
        names8 = [r["name"] for r in self.rows if r["group"] != "extended"]
        names8 += [m["name"] for m in self.metrics]
        for path, names in ((self.path8, names8),
                            (self.path5, [r["name"] for r in self.rows])):
            p = subprocess.run(["man", "--warnings", "-l", path], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=env, timeout=60)
            self.assertEqual(p.returncode, 0, p.stderr.decode())
            self.assertEqual(p.stderr.decode(), "", path)
            text = p.stdout.decode()
            for n in names:          # names come out with ASCII hyphens, copy-pastable
                self.assertIn(n, text, "%s: %s" % (path, n))

    def test_built_pages_are_current(self):
        built = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(GENMAN))), "man")
        for name, text in (("hardcached.8", self.page8), ("hardcached.conf.5", self.page5)):
            path = os.path.join(built, name)
            if not os.path.exists(path):
                self.skipTest("%s is not built (make)" % path)
            with open(path) as f:
                self.assertEqual(f.read(), text, "%s is stale: make" % path)


if __name__ == "__main__":
    unittest.main()
