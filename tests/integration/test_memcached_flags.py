"""test_memcached_flags.py: every flag and -o key of memcached 1.6.18 is known
to hardcached by the same spelling (issue 10, SPEC §4), in one of three kinds
that genman's table dump names: implemented, ignored (the server starts and
prints one stderr line saying so and why) or refused (exit 64 with one line
saying why and what instead). `memcached -h` is run and parsed at test time,
so a flag it lists and the table lacks fails here. Each option is started one
at a time, then all together; then Debian's /etc/memcached.conf as its
systemd wrapper passes it (and with -d, as the file says), and lines as the
puppet-memcached module writes them. A start counts when `version` is
answered; every wait has a deadline and every server is stopped."""
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import unittest

from itest import IS_REFERENCE
import harness
from harness import wait_until

EX_USAGE = 64
RUN_TIMEOUT = 20
NOT_HC = "hardcached's own option table (HC_TARGET=memcached has none)"


def genman_path():
    return os.environ.get("HC_GENMAN", os.path.join(
        os.path.dirname(os.path.abspath(harness.hardcached_binary())), "tools", "genman"))


def table():
    """genman's dump of the option table: {name: row}, row has short, group, effect."""
    p = subprocess.run([genman_path(), "names"], capture_output=True, text=True, timeout=30)
    if p.returncode != 0:
        raise AssertionError("genman names: %s" % p.stderr)
    rows = {}
    for line in p.stdout.splitlines():
        f = line.split("\t")
        if f[0] in ("finding", "metric"):
            continue
        rows[f[0]] = {"name": f[0], "short": None if f[1] == "-" else f[1], "where": f[2],
                      "group": f[3], "effect": f[4]}
    return rows


def memcached_help():
    """(flags, keys) of `memcached -h`: flags as (short, long or None), keys
    as the -o words it lists."""
    p = subprocess.run([harness.MEMCACHED, "-h"], capture_output=True, text=True,
                       timeout=RUN_TIMEOUT)
    flags, keys = [], []
    for line in p.stdout.splitlines():
        m = re.match(r"^-([A-Za-z])[A-Za-z]*[, ]*(?:--([\w-]+))?", line)
        if m:
            flags.append((m.group(1), m.group(2)))
        m = re.match(r"^\s+- ([a-z0-9_]+):", line)
        if m:
            keys.append(m.group(1))
    return flags, keys


def memcached_takes_long(name, value):
    """Whether memcached's own getopt takes --name (its -h spells one long
    option differently from its option table): -h after it exits 0."""
    arg = "--%s=%s" % (name, value) if value else "--%s" % name
    p = subprocess.run([harness.MEMCACHED, arg, "-h"], capture_output=True, timeout=RUN_TIMEOUT)
    return p.returncode == 0


def label(row):
    """The option as hardcached's messages name it (options_label)."""
    if row["group"] == "extended":
        return "-o/--extended: %s" % row["name"]
    if row["short"]:
        return "-%s/--%s" % (row["short"], row["name"])
    return "--%s" % row["name"]


def extra_args():
    return os.environ.get("HC_EXTRA_ARGS", "").split()


def run(args, timeout=RUN_TIMEOUT):
    """The daemon in the foreground; it must exit by itself."""
    p = subprocess.run([harness.hardcached_binary()] + extra_args() + list(args),
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


# A value memcached accepts for each option that takes one (the rest are
# flags). Implemented options started here need nothing but their flag.
VALUES = {
    "udp-port": "0", "unix-mask": "0770", "listen": "127.0.0.1", "memory-limit": "32",
    "conn-limit": "512", "slab-growth-factor": "1.5", "slab-min-size": "64", "threads": "2",
    "max-reqs-per-event": "10", "listen-backlog": "128", "max-item-size": "512k",
    "prefix-delimiter": ":", "protocol": "auto", "napi-ids": "2",
    "hashpower": "16", "tail_repair_time": "60", "hash_algorithm": "murmur3",
    "lru_crawler_sleep": "100", "lru_crawler_tocrawl": "0", "read_buf_mem_limit": "32",
    "hot_lru_pct": "20", "warm_lru_pct": "40", "hot_max_factor": "0.2",
    "warm_max_factor": "2.0", "temporary_ttl": "61", "idle_timeout": "600",
    "slab_chunk_max": "524288", "watcher_logbuf_size": "256", "worker_logbuf_size": "64",
    "sock_cookie_id": "7", "ext_page_size": "64", "ext_wbuf_size": "4", "ext_threads": "1",
    "ext_io_depth": "1", "ext_item_size": "512", "ext_item_age": "3600", "ext_low_ttl": "0",
    "ext_recache_rate": "2000", "ext_compact_under": "16", "ext_drop_under": "16",
    "ext_max_frag": "0.8", "ext_max_sleep": "1000000", "slab_automove_freeratio": "0.01",
    "slab_automove": "2", "slab_automove_ratio": "0.8", "slab_automove_window": "30",
    "resp_obj_mem_limit": "1", "ssl_wbuf_size": "16", "ssl_keyformat": "1",
    "ssl_verify_mode": "0", "ssl_min_version": "2", "ssl_ciphers": "HIGH",
    "ssl_chain_cert": "/nonexistent/cert.pem", "ssl_key": "/nonexistent/key.pem",
    "ssl_ca_cert": "/nonexistent/ca.pem", "memory-file": "/dev/shm/hc-test",
    "ext_path": "/nonexistent/ext:64m", "user": "memcache",
}

# Implemented memcached options this file does not start one at a time, and
# where they are started instead.
ELSEWHERE = {
    "port": "every start here gives -p",
    "unix-socket": "UnixSocket below, tests/integration/test_cli.py",
    "daemon": "DebianConf.test_as_the_file_says below, tests/security/test_daemon.py",
    "pidfile": "DebianConf below, tests/security/test_pidfile.py",
    "lock-memory": "tests/security/test_lock_memory.py",
    "enable-ssl": "tests/integration/test_tls.py",
    "auth-file": "tests/integration/test_auth.py",
    "enable-sasl": "needs credentials: tests/integration/test_binary.py",
    "help": "exits 0 (ExitingFlags below)", "version": "exits 0 (ExitingFlags below)",
    "license": "exits 0 (ExitingFlags below)", "extended": "every -o key here",
}


def argv_for(row, value=None):
    """The option as an init script writes it: -X [value], or -o key[=value]."""
    value = value if value is not None else VALUES.get(row["name"])
    if row["group"] == "extended":
        return ["-o", row["name"] + ("=" + value if value is not None else "")]
    flag = "-" + row["short"] if row["short"] else "--" + row["name"]
    return [flag] + ([value] if value is not None else [])


def notice_prefix(row, value=None):
    value = value if value is not None else VALUES.get(row["name"])
    return "hardcached: %s%s: ignored: " % (label(row), "=" + value if value else "")


def memcached_rows(rows):
    return [r for r in rows.values() if r["group"] in ("memcached", "extended")]


@unittest.skipIf(IS_REFERENCE, NOT_HC)
@unittest.skipUnless(os.access(harness.MEMCACHED, os.X_OK), "Debian's memcached is not installed")
class MemcachedHelp(unittest.TestCase):
    """`memcached -h`, parsed now, against hardcached's table and -h."""

    @classmethod
    def setUpClass(cls):
        cls.rows = table()
        cls.flags, cls.keys = memcached_help()
        rc, cls.help, _ = run(["-h"])
        assert rc == 0

    def test_parsed_what_memcached_lists(self):
        self.assertGreater(len(self.flags), 30)
        self.assertGreater(len(self.keys), 40)
        self.assertIn(("W", "disable-watch"), self.flags)   # "-W  --disable-watch": no comma
        self.assertIn(("D", None), self.flags)               # no long form
        for k in ("modern", "no_lru_crawler", "ext_path", "ssl_min_version", "sock_cookie_id"):
            self.assertIn(k, self.keys)

    def test_every_flag_is_in_the_table(self):
        shorts = {r["short"]: r for r in self.rows.values() if r["short"]}
        missing = []
        for short, long in self.flags:
            row = shorts.get(short)
            if row is None:
                missing.append("-" + short)
                continue
            if long is None:
                continue
            if long != row["name"] and not memcached_takes_long(long, "1"):
                # memcached -h says --napi_ids; its getopt takes --napi-ids only
                self.assertTrue(memcached_takes_long(row["name"], "1"),
                                "-%s: memcached takes neither --%s nor --%s"
                                % (short, long, row["name"]))
                continue
            if long != row["name"]:
                missing.append("--%s (-%s is --%s here)" % (long, short, row["name"]))
        self.assertEqual(missing, [], "memcached's flags hardcached does not know")

    def test_every_key_is_in_the_table(self):
        missing = [k for k in self.keys
                   if k not in self.rows or self.rows[k]["group"] != "extended"]
        self.assertEqual(missing, [], "memcached's -o keys hardcached does not know")

    def test_no_forms(self):
        """'most options have a no_ prefix to disable': the pairs memcached
        1.6.18 accepts (memcached.c's subopts_tokens), both spellings."""
        pairs = ("lru_crawler", "lru_maintainer", "slab_reassign", "slab_automove",
                 "maxconns_fast", "modern", "inline_ascii_resp", "drop_privileges")
        for k in pairs:
            self.assertIn(k, self.rows)
            self.assertIn("no_" + k, self.rows)
        for k in ("no_hashexpand", "no_chunked_items"):          # no positive form there
            self.assertIn(k, self.rows)
        for k in self.keys:
            if k.startswith("no_"):
                self.assertIn(k, self.rows)

    def test_every_one_in_hardcached_help(self):
        for short, long in self.flags:
            row = next(r for r in self.rows.values() if r["short"] == short)
            self.assertRegex(self.help, r"(?m)^  -%s, --%s\b" % (short, re.escape(row["name"])))
        for k in self.keys:
            self.assertRegex(self.help, r"(?m)^      - %s\b" % re.escape(k))

    def test_kinds_are_marked_in_help(self):
        for r in memcached_rows(self.rows):
            if r["effect"] == "implemented":
                continue
            want = r["name"] if r["group"] == "extended" else "--" + r["name"]
            text = re.sub(r"\s+", " ", self.help)
            self.assertRegex(text, r"(?<![\w-])%s\S* %s: " % (re.escape(want), r["effect"]),
                             "%s is not marked %s in -h" % (r["name"], r["effect"]))


class HardcachedCase(unittest.TestCase):
    def start(self, args, **kw):
        srv = harness.Server(list(args), **kw)
        self.addCleanup(srv.stop)
        return srv

    def assertServes(self, srv):
        self.assertTrue(harness.version_served(srv.port), "no version answer")

    def assertNotices(self, srv, prefixes):
        """Each prefix starts exactly one line of the output, and no other line
        says "ignored:"."""
        for p in prefixes:
            self.assertTrue(srv.wait_output("^" + re.escape(p)), "no line %r in %r"
                            % (p, srv.output()))
        lines = [ln for ln in srv.output().splitlines() if ": ignored: " in ln]
        for p in prefixes:
            self.assertEqual(len([ln for ln in lines if ln.startswith(p)]), 1, p)
        self.assertEqual(len(lines), len(prefixes), srv.output())


@unittest.skipIf(IS_REFERENCE, NOT_HC)
class OneAtATime(HardcachedCase):
    @classmethod
    def setUpClass(cls):
        cls.rows = table()
        rc, cls.help, _ = run(["-h"])
        assert rc == 0

    def takes_value(self, r):
        """As --help shows it: "--name=<...>" or "- key=<...>"."""
        if r["group"] == "extended":
            return re.search(r"(?m)^      - %s=<" % re.escape(r["name"]), self.help) is not None
        return ("--%s=<" % r["name"]) in self.help

    def test_every_row_is_covered(self):
        """A new row of memcached's needs a value here, or a note in ELSEWHERE."""
        for r in memcached_rows(self.rows):
            if r["effect"] == "implemented" and r["name"] in ELSEWHERE:
                continue
            self.assertTrue(r["name"] in VALUES or not self.takes_value(r),
                            "%s: add a value to VALUES" % r["name"])

    def test_ignored_each_starts_and_says_so(self):
        for r in memcached_rows(self.rows):
            if r["effect"] != "ignored":
                continue
            with self.subTest(option=r["name"]):
                srv = self.start(argv_for(r))
                self.assertServes(srv)
                self.assertNotices(srv, [notice_prefix(r)])
                srv.stop()

    def test_implemented_each_starts_quietly(self):
        for r in memcached_rows(self.rows):
            if r["effect"] != "implemented" or r["name"] in ELSEWHERE:
                continue
            if r["name"] == "user" and not harness.is_root():
                continue             # -u is only used when started as root
            with self.subTest(option=r["name"]):
                srv = self.start(argv_for(r))
                self.assertServes(srv)
                self.assertNotIn(": ignored: ", srv.output())
                srv.stop()

    def test_refused_each_exits_64_with_one_line(self):
        for r in memcached_rows(self.rows):
            if r["effect"] != "refused":
                continue
            with self.subTest(option=r["name"]):
                self.assertRefused(argv_for(r), [label(r) + ": refused: "])

    def assertRefused(self, args, needles):
        port = harness.free_port()
        rc, out, err = run(["-p", str(port)] + list(args))
        self.assertEqual(rc, EX_USAGE, "stdout=%r stderr=%r" % (out, err))
        lines = err.strip("\n").split("\n")
        self.assertEqual(len(lines), 1, "stderr must be one line: %r" % err)
        for n in needles:
            self.assertIn(n, lines[0])
        self.assertTrue(harness.port_is_closed(port))

    def test_refused_say_what_instead(self):
        self.assertRefused(["-S"], ["-S/--enable-sasl: needs credentials: --sasl-pwdb FILE",
                                    "MEMCACHED_SASL_PWDB"])
        self.assertRefused(["-S", "-B", "ascii"], ["-B/--protocol: ascii: you cannot allow "
                                                   "the ASCII protocol while using SASL"])
        self.assertRefused(["-e", "/dev/shm/hc"], ["-e/--memory-file: refused:", "remove -e"])
        self.assertRefused(["-o", "ext_page_size=64,ext_path=/var/lib/ext:1G"],
                           ["-o/--extended: ext_path: refused:", "opens no file after start-up",
                            "give -m the memory instead"])
        self.assertRefused(["-U", "11211"], ["-U/--udp-port: UDP is not supported"])
        if not harness.user_exists("toor"):
            self.assertRefused(["-u", "root"], ["-u/--user: refusing to run as root"])

    def test_bad_values_are_errors(self):
        """A value memcached refuses (or that only its atoi would take)."""
        for args, needle in ((["-o", "slab_automove=x"], "slab_automove: expected an integer"),
                             (["-o", "hash_algorithm=md5"], "hash_algorithm: expected jenkins"),
                             (["-o", "tail_repair_time=5"], "tail_repair_time: expected"),
                             (["-o", "hot_lru_pct=60,warm_lru_pct=30"], "add up to more than 80"),
                             (["-o", "slab_chunk_max=3000"], "slab_chunk_max: 3000 must divide"),
                             (["-o", "lru_crawler=maybe"], "lru_crawler: expected yes or no"),
                             (["-N", "0"], "-N/--napi-ids: expected an integer"),
                             (["-B", "udp"], "-B/--protocol: expected auto, ascii or binary")):
            with self.subTest(args=args):
                self.assertRefused(args, [needle])

    def test_check_config_lists_them(self):
        rc, out, err = run(["--check-config", "--format=json", "--fail-on=critical", "-L",
                            "-o", "modern,slab_automove=2"])
        self.assertEqual(rc, 0, err)
        found = [f for f in json.loads(out)["findings"] if f["id"] == "memcached-option-ignored"]
        self.assertEqual([f["severity"] for f in found], ["info"] * 3)
        self.assertEqual([f["message"].split(": ignored: ")[0] for f in found],
                         ["-L/--enable-largepages", "-o/--extended: modern",
                          "-o/--extended: slab_automove=2"])
        self.assertEqual(err, "")          # the audit lists them; no start-up lines


@unittest.skipIf(IS_REFERENCE, NOT_HC)
class AllTogether(HardcachedCase):
    def test_every_compatible_option_at_once(self):
        rows = table()
        args, prefixes, keys = [], [], []
        tmp = tempfile.mkdtemp(prefix="hc-flags-")
        self.addCleanup(shutil.rmtree, tmp, True)
        for r in memcached_rows(rows):
            if r["effect"] == "refused" or r["name"] in ELSEWHERE:
                continue
            if r["name"] == "user" and not harness.is_root():
                continue
            if r["group"] == "extended":
                v = VALUES.get(r["name"])
                keys.append(r["name"] + ("=" + v if v is not None else ""))
            else:
                args += argv_for(r)
            if r["effect"] == "ignored":
                prefixes.append(notice_prefix(r))
        args += ["-o", ",".join(keys), "-P", os.path.join(tmp, "hc.pid")]
        srv = self.start(args)
        self.assertServes(srv)
        self.assertNotices(srv, prefixes)
        self.assertGreater(len(prefixes), 50)
        st = srv.stats("settings")
        self.assertEqual(st["hash_algorithm"], "xxh3")     # the facts, whatever was asked
        self.assertEqual(st["lru_crawler"], "no")
        self.assertEqual(st["binding_protocol"], "auto-negotiate")    # -B auto
        self.assertEqual(st["idle_timeout"], "600")          # and what is implemented, is
        self.assertEqual(st["num_threads"], "2")


@unittest.skipIf(IS_REFERENCE, NOT_HC)
class CompatibilityTable(unittest.TestCase):
    """docs/COMPATIBILITY.md's "memcached's options" names every row of
    memcached's with the kind the table gives it."""

    def test_every_option_with_its_kind(self):
        with open(os.path.join(harness.ROOT, "docs", "COMPATIBILITY.md")) as f:
            section = f.read().split("\n## memcached's options\n")[1].split("\n## ")[0]
        lines = [ln.split("|") for ln in section.splitlines() if ln.startswith("| `")]
        for r in memcached_rows(table()):
            spellings = ["-" + r["short"]] if r["short"] else []
            spellings.append(r["name"] if r["group"] == "extended" else "--" + r["name"])
            rx = re.compile(r"(?<![\w-])(%s)(?![\w-])" % "|".join(map(re.escape, spellings)))
            kinds = [cells[2].strip() for cells in lines if rx.search(cells[1])]
            self.assertTrue(kinds, "%s is not in the table" % r["name"])
            self.assertEqual(kinds[0], r["effect"], r["name"])


@unittest.skipIf(IS_REFERENCE, NOT_HC)
class ExitingFlags(unittest.TestCase):
    def test_help_version_license_exit_0(self):
        for flag in ("-h", "-V", "-i", "--license"):
            port = harness.free_port()
            rc, out, err = run([flag, "-p", str(port)])
            self.assertEqual(rc, 0, err)
            self.assertTrue(out.startswith("hardcached "), out)
            self.assertTrue(harness.port_is_closed(port))


# --- configurations written for memcached -------------------------------------------

def debian_wrapper_argv(text):
    """What Debian's systemd-memcached-wrapper makes of a memcached.conf:
    a # starts a comment, lines are trimmed, -d and -h lines are dropped (the
    unit keeps it in the foreground), lines not starting with "-" (logfile)
    are dropped, and the rest is joined and split as its shell does."""
    params = []
    for line in text.splitlines():
        line = re.sub(r"(?<!\\)#[^#]*", "", line).strip()
        if not line or re.match(r"^-[dh]", line) or not line.startswith("-"):
            continue
        params.append(line)
    return shlex.split(" ".join(params))


def conf_argv(text, keep_daemon=False):
    """A memcached.conf's flags: as the wrapper passes them, or (keep_daemon)
    every flag line as written, -d included."""
    if not keep_daemon:
        return debian_wrapper_argv(text)
    lines = [re.sub(r"(?<!\\)#[^#]*", "", ln).strip() for ln in text.splitlines()]
    return shlex.split(" ".join(ln for ln in lines if ln.startswith("-")))


def localize(argv, port, tmp):
    """The same flags on a free port, with the pid file and socket in tmp."""
    out, i = [], 0
    while i < len(argv):
        a = argv[i]
        if a in ("-p", "-P", "-s") and i + 1 < len(argv):
            v = {"-p": str(port), "-P": os.path.join(tmp, "memcached.pid"),
                 "-s": os.path.join(tmp, "memcached.sock")}[a]
            out += [a, v]
            i += 2
            continue
        out.append(a)
        i += 1
    return out


# puppet-memcached's template (saz/puppet-memcached templates/memcached.conf.erb)
# as it comes out for a few parameter sets.
PUPPET_DEFAULT = """# File managed by puppet

# Run memcached as a daemon.
-d

# pidfile
-P /var/run/memcached.pid

# Log memcached's output
logfile /var/log/memcached.log

# Use <num> MB memory max to use for object storage.
-m 64

# IP to listen on
-l 127.0.0.1

# TCP port to listen on
-p 11211

# UDP port to listen on
-U 0

# Run daemon as user
-u memcache

# Limit the number of simultaneous incoming connections.
-c 1024

# Number of threads to use to process incoming requests.
-t 4

-o modern
"""

PUPPET_TUNED = """# File managed by puppet
-d
-P /var/run/memcached.pid
logfile /var/log/memcached.log
# Verbosity
-v
-m 256
-l 127.0.0.1
-p 11211
-U 0
-u memcache
# Try to use large memory pages (if available)
-L
-c 2048
-t 8
# Override  the  default size of each slab page
-I 2m
-n 72
-f 1.05
# Disable automatic removal of items from the cache when out of memory
-M
-o modern,lru_crawler,lru_maintainer,idle_timeout=600,hashpower=16,slab_reassign,slab_automove=1
-X
"""

PUPPET_SASL = """-d
-P /var/run/memcached.pid
logfile /var/log/memcached.log
-m 64
# Start with SASL support
-S
-l 127.0.0.1
-p 11211
-U 0
-u memcache
-c 1024
-t 2
"""

PUPPET_SOCKET = """-d
-P /var/run/memcached.pid
logfile /var/log/memcached.log
-m 64
# UNIX socket path to listen on
-s /run/memcached/memcached.sock
# UNIX socket access mask
-a 0770
-u memcache
-c 1024
-t 2
"""


@unittest.skipIf(IS_REFERENCE, NOT_HC)
class DebianConf(HardcachedCase):
    """/etc/memcached.conf of this machine (Debian's default when untouched)."""

    def setUp(self):
        if not os.path.exists("/etc/memcached.conf"):
            self.skipTest("/etc/memcached.conf is not there (memcached not installed)")
        with open("/etc/memcached.conf") as f:
            self.text = f.read()
        self.tmp = tempfile.mkdtemp(prefix="hc-debconf-")
        os.chmod(self.tmp, 0o755)
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def test_wrapper_translation(self):
        argv = debian_wrapper_argv("-d\nlogfile /var/log/x # c\n  -m 64  # megs\n-p 1\n# -v\n")
        self.assertEqual(argv, ["-m", "64", "-p", "1"])

    def test_as_the_wrapper_passes_it(self):
        port = harness.free_port()
        argv = localize(conf_argv(self.text), port, self.tmp)
        self.assertNotIn("-d", argv)
        srv = self.start(argv, port=port)
        self.assertServes(srv)
        ignored = [f for f in argv if f in ("-L", "-X", "-W", "-D", "-B", "-N")]
        if not ignored and "-o" not in argv:
            self.assertNotIn(": ignored: ", srv.output())

    def test_as_the_file_says(self):
        """-d too: the caller returns 0 once the daemon serves."""
        port = harness.free_port()
        argv = localize(conf_argv(self.text, keep_daemon=True), port, self.tmp)
        if "-d" not in argv:
            self.skipTest("this /etc/memcached.conf has no -d")
        if "-P" not in argv:
            argv += ["-P", os.path.join(self.tmp, "memcached.pid")]
        pidfile = argv[argv.index("-P") + 1]
        rc, out, err = run(argv)
        self.assertEqual(rc, 0, err)
        pid = int(wait_until(lambda: os.path.exists(pidfile) and open(pidfile).read().strip(),
                             10, "the pid file"))
        self.addCleanup(self.kill, pid)
        self.assertTrue(harness.version_served(port))
        self.kill(pid)
        self.assertTrue(wait_until(lambda: harness.port_is_closed(port), 10))

    @staticmethod
    def kill(pid):
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        wait_until(lambda: not os.path.exists("/proc/%d" % pid)
                   or open("/proc/%d/stat" % pid).read().split()[2] == "Z", 10)


@unittest.skipIf(IS_REFERENCE, NOT_HC)
class PuppetLines(HardcachedCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="hc-puppet-")
        os.chmod(self.tmp, 0o755)
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def serve(self, text):
        port = harness.free_port()
        srv = self.start(localize(debian_wrapper_argv(text), port, self.tmp), port=port)
        self.assertServes(srv)
        return srv

    def test_default(self):
        srv = self.serve(PUPPET_DEFAULT)
        self.assertNotices(srv, ["hardcached: -o/--extended: modern: ignored: "])

    def test_tuned(self):
        srv = self.serve(PUPPET_TUNED)
        self.assertNotices(srv, [
            "hardcached: -L/--enable-largepages: ignored: ",
            "hardcached: -X/--disable-dumping: ignored: ",
            "hardcached: -o/--extended: modern: ignored: ",
            "hardcached: -o/--extended: lru_crawler: ignored: ",
            "hardcached: -o/--extended: lru_maintainer: ignored: ",
            "hardcached: -o/--extended: slab_reassign: ignored: ",
            "hardcached: -o/--extended: slab_automove=1: ignored: ",
        ])
        st = srv.stats("settings")
        self.assertEqual((st["item_size_max"], st["evictions"], st["idle_timeout"],
                          st["hashpower_init"]), (str(2 << 20), "off", "600", "16"))

    def test_sasl_needs_its_credentials(self):
        """-S as memcached's init scripts give it: memcached finds its users in
        Cyrus SASL's configuration; hardcached wants --sasl-pwdb or
        MEMCACHED_SASL_PWDB and says so (tests/integration/test_binary.py runs it)."""
        port = harness.free_port()
        rc, out, err = run(localize(debian_wrapper_argv(PUPPET_SASL), port, self.tmp))
        self.assertEqual(rc, EX_USAGE, err)
        self.assertEqual(len(err.strip("\n").split("\n")), 1, err)
        self.assertIn("-S/--enable-sasl: needs credentials", err)
        self.assertTrue(harness.port_is_closed(port))

    def test_unix_socket(self):
        argv = localize(debian_wrapper_argv(PUPPET_SOCKET), harness.free_port(), self.tmp)
        path = argv[argv.index("-s") + 1]
        log = tempfile.TemporaryFile()
        proc = subprocess.Popen([harness.hardcached_binary()] + extra_args() + argv,
                                stdout=log, stderr=subprocess.STDOUT)
        self.addCleanup(lambda: (proc.poll() is None and proc.kill(), proc.wait(10)))

        def answers():
            try:
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                    s.settimeout(1)
                    s.connect(path)
                    s.sendall(b"version\r\n")
                    return s.recv(100).startswith(b"VERSION ")
            except OSError:
                return False
        self.assertTrue(wait_until(answers, 10, "a version answer on %s" % path))
        log.seek(0)
        self.assertNotIn(b": ignored: ", log.read())


if __name__ == "__main__":
    unittest.main()
