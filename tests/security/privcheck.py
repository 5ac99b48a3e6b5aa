"""privcheck.py: helpers for the privilege tests (tests/security/). Reads the
kernel's own view of a process (/proc/PID/task/*/status), builds the
standalone privdrop driver, and starts programs as an unprivileged user with
setpriv. Trusts nothing the process under test says about itself: every
assertion is made on /proc, from outside. Every wait is bounded."""
import os
import pwd
import grp
import select
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

_HERE = os.path.dirname(os.path.abspath(__file__))
_LIB = os.path.join(_HERE, "..", "lib")
if _LIB not in sys.path:
    sys.path.insert(0, _LIB)

import harness  # noqa: E402  (path set up above)

ROOT = harness.ROOT
RUN_AS = "memcache"
UNPRIV_USER = "nobody"
ZERO_CAPS = "0000000000000000"
CAP_SETS = ("CapInh", "CapPrm", "CapEff", "CapAmb", "CapBnd")
SETPRIV = "/usr/bin/setpriv"
CFLAGS = ["-std=c11", "-Wall", "-Wextra", "-Werror", "-Wshadow", "-Wformat=2", "-Wvla",
          "-Wstrict-prototypes", "-D_GNU_SOURCE", "-O2", "-g"]


def ensure_user():
    """scripts/ensure-user.sh: creates the memcache user when missing (root)."""
    r = subprocess.run([os.path.join(ROOT, "scripts", "ensure-user.sh"), RUN_AS],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    if r.returncode != 0:
        raise RuntimeError("ensure-user.sh failed: %s" % r.stdout.decode(errors="replace"))


def user_ids(name):
    pw = pwd.getpwnam(name)
    return pw.pw_uid, pw.pw_gid


def unpriv_group():
    """nogroup on Debian; otherwise nobody's primary group."""
    try:
        return grp.getgrnam("nogroup").gr_name
    except KeyError:
        return grp.getgrgid(pwd.getpwnam(UNPRIV_USER).pw_gid).gr_name


def unpriv_prefix(extra=()):
    """Runs the rest of argv as nobody:nogroup without supplementary groups."""
    return [SETPRIV, "--reuid=" + UNPRIV_USER, "--regid=" + unpriv_group(),
            "--clear-groups"] + list(extra) + ["--"]


def parse_status(text):
    out = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            out[key] = value.strip()
    return out


def task_status(pid):
    """{tid: status dict} for every thread of pid, read from /proc."""
    base = "/proc/%d/task" % pid
    out = {}
    for tid in sorted(os.listdir(base), key=int):
        try:
            with open(os.path.join(base, tid, "status")) as f:
                out[int(tid)] = parse_status(f.read())
        except FileNotFoundError:
            pass  # the thread ended between listdir and open
    return out


def ids(status, key):
    """The four ids (real, effective, saved, fs) of a Uid:/Gid: line."""
    return [int(v) for v in status[key].split()]


def proc_owner(pid):
    """Owner of /proc/PID/status: root when the process is not dumpable."""
    return os.stat("/proc/%d/status" % pid).st_uid


def expose(path, tmpdir):
    """A copy of an executable that any user can run (0755 dir, 0755 file)."""
    os.chmod(tmpdir, 0o755)
    dst = os.path.join(tmpdir, os.path.basename(path))
    shutil.copy2(path, dst)
    os.chmod(dst, 0o755)
    return dst


def build_driver(tmpdir):
    """Compiles tests/security/privdrop_driver.c with src/sec/privdrop.c."""
    os.chmod(tmpdir, 0o755)
    out = os.path.join(tmpdir, "privdrop_driver")
    libs = subprocess.run(["pkg-config", "--cflags", "--libs", "libcap"], check=True,
                          stdout=subprocess.PIPE, timeout=30).stdout.decode().split()
    cmd = (["gcc"] + CFLAGS + ["-I" + os.path.join(ROOT, "src"),
           os.path.join(_HERE, "privdrop_driver.c"),
           os.path.join(ROOT, "src", "sec", "privdrop.c"), "-o", out] + libs + ["-lpthread"])
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    if r.returncode != 0:
        raise RuntimeError("building the driver failed:\n%s" % r.stdout.decode(errors="replace"))
    os.chmod(out, 0o755)
    return out


def make_tmpdir():
    return tempfile.mkdtemp(prefix="hc-sec-")


class RootDaemonCase(unittest.TestCase):
    """A test that starts the daemon binary itself as root (it drops to
    RUN_AS): the user exists, self.binary is built, self.tmp is a fresh
    directory removed afterwards; self.uid/self.gid are RUN_AS's ids."""

    @classmethod
    def setUpClass(cls):
        ensure_user()
        cls.uid, cls.gid = user_ids(RUN_AS)
        cls.binary = os.path.abspath(harness.hardcached_binary())

    def setUp(self):
        if not os.path.exists(self.binary):
            self.fail("%s is missing: run make first" % self.binary)
        self.tmp = make_tmpdir()
        self.addCleanup(shutil.rmtree, self.tmp, True)


class Driver:
    """The driver started with argv; waits for READY (or its exit). While it
    is alive its pid can be inspected; close() ends it and returns its status."""

    def __init__(self, argv, timeout=10.0):
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        self.out = b""
        self.err = b""
        self.ready = self._wait_ready(timeout)

    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while b"READY\n" not in self.out:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            r, _, _ = select.select([fd], [], [], left)
            if not r:
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                return False  # exited (or closed stdout) before READY
            self.out += chunk
        return True

    @property
    def pid(self):
        return self.proc.pid

    @property
    def text(self):
        return self.out.decode(errors="replace")

    def close(self):
        """Closes stdin (the driver exits on EOF); returns the exit status."""
        if self.proc.returncode is not None:
            return self.proc.returncode
        try:  # communicate() closes stdin first
            rest, err = self.proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rest, err = self.proc.communicate(timeout=5)
        self.out += rest
        self.err += err
        return self.proc.returncode


def run_refused(argv, timeout=10.0):
    """Runs a program expected to exit by itself; returns (status, stderr text).
    A program still running after timeout is killed and reported as None."""
    try:
        r = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        return None, (e.stderr or b"").decode(errors="replace")
    return r.returncode, r.stderr.decode(errors="replace") + r.stdout.decode(errors="replace")
