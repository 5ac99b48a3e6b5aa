"""test_scale_out.py: deploy/scale-out/ works as its README says.

- The shipped nutcracker.yml passes `nutcracker -t` and has the settings the
  README describes. A copy with only the ports changed runs in front of three
  hardcached instances. A real client (pymemcache) stores 1,000 keys through the
  proxy and reads every one back with its value. Each instance's own `stats`
  shows that every instance holds some of the keys and that together they hold
  exactly 1,000. delete, incr/decr, gets/cas, append and touch work through
  the proxy. The commands the README lists as unsupported close the
  connection without an answer. A killed instance is ejected after at most
  server_failure_limit errors, and the keys on the other instances are still
  found.
- python-memcached with two servers: set_multi/get_multi of 1,000 keys, spread
  over both. Its placement is modulo N: a third server moves most keys.
- pylibmc with ketama over three instances: the same checks. Dropping one
  server from the list keeps every key of the other two (consistent hashing).
- Every Python snippet in the README runs, with its ports changed to the test's.

Only 127.0.0.1 is used, every wait is bounded, and every process is killed at
the end. Each part is skipped, with the reason, when nutcracker or a client
library is missing."""
import importlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

import harness  # noqa: E402

SCALE = os.path.join(harness.ROOT, "deploy", "scale-out")
TEMPLATE = os.path.join(SCALE, "nutcracker.yml")
README = os.path.join(SCALE, "README.md")
TEMPLATE_LISTEN = 22121
TEMPLATE_PORTS = (11211, 11212, 11213)
N_KEYS = 1000
INSTANCE_ARGS = ["-m", "16"]


def nutcracker_binary():
    for path in ("/usr/sbin/nutcracker", "/usr/bin/nutcracker"):
        if os.access(path, os.X_OK):
            return path
    return shutil.which("nutcracker")


def need_nutcracker():
    if nutcracker_binary() is None:
        return "nutcracker (twemproxy) is not installed: apt-get install nutcracker"
    return None


def need_module(name, package):
    try:
        importlib.import_module(name)
    except ImportError:
        return "%s is not installed for %s: apt-get install %s" % (
            name, sys.executable, package)
    return None


def template_settings(text):
    """The pool's `key: value` settings and its server lines, read from the YAML text."""
    pools = re.findall(r"(?m)^([A-Za-z0-9_]+):\s*$", text)
    settings = dict(re.findall(r"(?m)^  ([a-z_]+):[ \t]*(\S[^#\n]*?)\s*$", text))
    servers = re.findall(r"(?m)^\s+-\s+(\S+)(?:[ \t]+(\S+))?\s*$", text)
    return pools, settings, servers


def render_template(listen_port, ports):
    """The shipped nutcracker.yml, with only the ports changed."""
    with open(TEMPLATE) as f:
        text = f.read()
    text, n = re.subn(r"(?m)^(\s+listen:\s+127\.0\.0\.1:)%d\s*$" % TEMPLATE_LISTEN,
                      r"\g<1>%d" % listen_port, text)
    assert n == 1, "listen: 127.0.0.1:%d moved in %s" % (TEMPLATE_LISTEN, TEMPLATE)
    for old, new in zip(TEMPLATE_PORTS, ports):
        text, n = re.subn(r"(?m)^(\s+-\s+127\.0\.0\.1:)%d(:\d+)" % old,
                          r"\g<1>%d\g<2>" % new, text)
        assert n == 1, "server 127.0.0.1:%d moved in %s" % (old, TEMPLATE)
    return text


def nutcracker_check(path):
    """`nutcracker -t -c path`: (ok, output)."""
    r = subprocess.run([nutcracker_binary(), "-t", "-c", path], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=10)
    out = r.stdout.decode(errors="replace")
    return r.returncode == 0 and "syntax is ok" in out, out


class Nutcracker:
    """nutcracker on 127.0.0.1:port with the given config text; stats on loopback."""

    def __init__(self, conf_text, port, start_timeout=10.0):
        self.port = port
        self.dir = tempfile.mkdtemp(prefix="hc-scale-out-")
        self.proc = None
        self.conf = os.path.join(self.dir, "nutcracker.yml")
        with open(self.conf, "w") as f:
            f.write(conf_text)
        self.logfile = os.path.join(self.dir, "nutcracker.log")
        try:
            ok, out = nutcracker_check(self.conf)
            if not ok:
                raise AssertionError("nutcracker -t rejects the generated config: %s" % out)
            self.stats_port = harness.free_port()
            self.cmd = [nutcracker_binary(), "-c", self.conf, "-a", "127.0.0.1",
                        "-s", str(self.stats_port), "-o", self.logfile,
                        "-p", os.path.join(self.dir, "nutcracker.pid")]
            self.proc = subprocess.Popen(self.cmd, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL)
            self._wait_ready(start_timeout)
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("nutcracker exited %s: %s" % (self.proc.returncode,
                                                                self.log()))
            try:
                with socket.create_connection(("127.0.0.1", self.port), 0.2) as s:
                    s.settimeout(1.0)
                    s.sendall(b"version\r\n")
                    if s.recv(100).startswith(b"VERSION"):
                        return
            except OSError:
                pass
            time.sleep(0.02)
        raise RuntimeError("nutcracker did not answer within %.0fs: %s" % (timeout, self.log()))

    def log(self):
        try:
            with open(self.logfile, errors="replace") as f:
                return f.read()[-2000:]
        except OSError:
            return ""

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
        shutil.rmtree(self.dir, ignore_errors=True)


def start_instances(test, n):
    servers = []
    for _ in range(n):
        s = harness.Server(INSTANCE_ARGS)
        test.addCleanup(s.stop)
        servers.append(s)
    return servers


def curr_items(servers):
    return [int(s.stats()["curr_items"]) for s in servers]


def keys_on(server, keys):
    """The keys among `keys` that this instance holds, asked directly."""
    found = set()
    with server.client() as c:
        for i in range(0, len(keys), 100):
            batch = keys[i:i + 100]
            c.send(("get %s\r\n" % " ".join(batch)).encode())
            while True:
                line = c.readline()
                if line == b"END\r\n":
                    break
                parts = line.split()
                assert parts[0] == b"VALUE", line
                c.read_exact(int(parts[3]) + 2)
                found.add(parts[1].decode())
    return found


def dataset(prefix):
    # distinct values, so a key answered with another key's value is caught
    return {"%s:%d" % (prefix, i): "value-%d-%s" % (i, "x" * (i % 37)) for i in range(N_KEYS)}


def report(what, counts):
    """Figures for the log (the distribution is in the report, not only asserted)."""
    text = " / ".join(map(str, counts))
    if len(counts) > 1:
        text += " (sum %d)" % sum(counts)
    sys.stdout.write("\n    %s: %s " % (what, text))
    sys.stdout.flush()


class TemplateFile(unittest.TestCase):
    """The shipped nutcracker.yml: valid for nutcracker, and what the README says."""

    def test_nutcracker_accepts_the_shipped_file(self):
        reason = need_nutcracker()
        if reason:
            self.skipTest(reason)
        ok, out = nutcracker_check(TEMPLATE)
        self.assertTrue(ok, out)

    def test_settings(self):
        with open(TEMPLATE) as f:
            pools, settings, servers = template_settings(f.read())
        self.assertEqual(len(pools), 1, "one pool: %s" % pools)
        self.assertEqual(settings.get("listen"), "127.0.0.1:%d" % TEMPLATE_LISTEN)
        self.assertEqual(settings.get("hash"), "md5")
        self.assertEqual(settings.get("distribution"), "ketama")
        self.assertIn(settings.get("redis", "false"), ("false", "no"))  # memcache protocol
        self.assertGreater(int(settings.get("timeout", "0")), 0)
        self.assertEqual(settings.get("auto_eject_hosts"), "true")
        self.assertGreaterEqual(int(settings["server_failure_limit"]), 1)
        self.assertGreaterEqual(int(settings["server_retry_timeout"]), 1000)
        self.assertEqual([s for s, _ in servers],
                         ["127.0.0.1:%d:1" % p for p in TEMPLATE_PORTS])
        self.assertTrue(all(name for _, name in servers), "node names keep the ring stable")


class ThroughNutcracker(unittest.TestCase):
    """Three instances behind nutcracker, driven by pymemcache."""

    def setUp(self):
        reason = need_nutcracker() or need_module("pymemcache", "python3-pymemcache")
        if reason:
            self.skipTest(reason)
        from pymemcache.client.base import Client
        self.servers = start_instances(self, 3)
        self.port = harness.free_port()
        self.proxy = Nutcracker(render_template(self.port, [s.port for s in self.servers]),
                                self.port)
        self.addCleanup(self.proxy.stop)
        with open(TEMPLATE) as f:
            self.settings = template_settings(f.read())[1]
        self.client = Client(("127.0.0.1", self.port), connect_timeout=2, timeout=5)
        self.addCleanup(self.client.close)

    def test_1000_keys_spread_over_all_instances(self):
        data = dataset("user")
        for k, v in data.items():
            self.assertTrue(self.client.set(k, v, expire=600, noreply=False), k)
        for k, v in data.items():                      # one get per key
            self.assertEqual(self.client.get(k), v.encode(), k)
        keys = list(data)
        for i in range(0, N_KEYS, 100):                # multi-key gets, split by the proxy
            got = self.client.get_many(keys[i:i + 100])
            self.assertEqual(got, {k: data[k].encode() for k in keys[i:i + 100]})
        counts = curr_items(self.servers)
        report("nutcracker, %d keys per instance" % N_KEYS, counts)
        self.assertTrue(all(c > 0 for c in counts), counts)
        self.assertEqual(sum(counts), N_KEYS)
        # each key is on exactly one instance
        where = [keys_on(s, keys) for s in self.servers]
        self.assertEqual([len(w) for w in where], counts)
        self.assertEqual(set().union(*where), set(keys))

    def test_delete_incr_cas_through_the_proxy(self):
        c = self.client
        data = {"del:%d" % i: "v%d" % i for i in range(100)}
        self.assertEqual(c.set_many(data, noreply=False), [])
        self.assertEqual(sum(curr_items(self.servers)), 100)
        for k in data:
            self.assertTrue(c.delete(k, noreply=False), k)
        for k in data:
            self.assertIsNone(c.get(k), k)
            self.assertFalse(c.delete(k, noreply=False), k)
        self.assertEqual(sum(curr_items(self.servers)), 0)

        for i in range(30):                            # counters on every instance
            k = "counter:%d" % i
            self.assertTrue(c.set(k, "10", noreply=False))
            self.assertEqual(c.incr(k, 5, noreply=False), 15)
            self.assertEqual(c.decr(k, 3, noreply=False), 12)
            self.assertEqual(c.get(k), b"12")
        self.assertIsNone(c.incr("counter:missing", 1, noreply=False))

        self.assertTrue(c.set("casme", "one", noreply=False))
        value, token = c.gets("casme")
        self.assertEqual(value, b"one")
        self.assertTrue(c.cas("casme", "two", token, noreply=False))
        self.assertFalse(c.cas("casme", "three", token, noreply=False))   # stale token
        self.assertEqual(c.get("casme"), b"two")
        self.assertTrue(c.append("casme", "+", noreply=False))
        self.assertTrue(c.prepend("casme", "-", noreply=False))
        self.assertTrue(c.touch("casme", 600, noreply=False))
        self.assertEqual(c.get("casme"), b"-two+")
        self.assertFalse(c.add("casme", "x", noreply=False))
        self.assertTrue(c.add("fresh", "x", noreply=False))
        self.assertTrue(c.replace("fresh", "y", noreply=False))
        self.assertFalse(c.replace("never-set", "y", noreply=False))
        self.assertEqual(c.get_many(["casme", "fresh", "never-set"]),
                         {"casme": b"-two+", "fresh": b"y"})
        c.set("quiet", "sent with noreply")                # pymemcache's default noreply
        self.assertEqual(c.get("quiet"), b"sent with noreply")
        self.assertIn(b"hardcached", c.version())

    def test_unsupported_commands_close_the_connection(self):
        """The README's list: nutcracker closes the connection, no ERROR answer."""
        self.assertTrue(self.client.set("survivor", "still here", noreply=False))
        for cmd in (b"stats", b"stats items", b"flush_all", b"flush_all 0", b"verbosity 1",
                    b"shutdown", b"gat 60 survivor", b"gats 60 survivor", b"mg survivor v",
                    b"ms survivor 2", b"md survivor", b"ma survivor", b"mn",
                    b"get " + b"k" * 251):
            with socket.create_connection(("127.0.0.1", self.port), 2) as s:
                s.settimeout(3)
                s.sendall(cmd + b"\r\n")
                try:
                    answer = s.recv(1000)
                except ConnectionResetError:
                    answer = b""
                self.assertEqual(answer, b"", "%r through nutcracker answered %r" % (cmd, answer))
        # flush_all and shutdown never reached an instance
        self.assertEqual(self.client.get("survivor"), b"still here")
        for s in self.servers:
            self.assertIsNone(s.proc.poll())

    def test_dead_instance_is_ejected(self):
        from pymemcache.exceptions import MemcacheServerError
        data = {"before:%d" % i: "v%d" % i for i in range(300)}
        self.assertEqual(self.client.set_many(data, noreply=False), [])
        where = [keys_on(s, list(data)) for s in self.servers]
        self.assertTrue(all(where), [len(w) for w in where])
        self.servers[2].stop()

        limit = int(self.settings["server_failure_limit"])
        errors = 0
        deadline = time.monotonic() + 10
        after = {"after:%d" % i: "w%d" % i for i in range(300)}
        for k, v in after.items():                      # a client that retries
            while True:
                self.assertLess(time.monotonic(), deadline, "instance never ejected")
                try:
                    self.assertTrue(self.client.set(k, v, noreply=False), k)
                    break
                except MemcacheServerError:
                    errors += 1
                    self.client.close()
        report("SERVER_ERRORs before the dead instance left the ring", [errors])
        self.assertLessEqual(errors, limit)
        got = self.client.get_many(list(data))
        # consistent hashing: only the dead instance's keys are lost
        self.assertEqual(set(got), where[0] | where[1])
        self.assertEqual(self.client.get_many(list(after)),
                         {k: v.encode() for k, v in after.items()})
        self.assertEqual(sum(curr_items(self.servers[:2])),
                         len(where[0]) + len(where[1]) + len(after))


class PythonMemcachedTwoServers(unittest.TestCase):
    """python-memcached's multi-server Client, no proxy."""

    def setUp(self):
        reason = need_module("memcache", "python3-memcache")
        if reason:
            self.skipTest(reason)
        self.servers = start_instances(self, 3)

    def test_set_multi_get_multi_spread(self):
        import memcache
        addrs = ["127.0.0.1:%d" % s.port for s in self.servers]
        mc = memcache.Client(addrs[:2], socket_timeout=5)
        self.addCleanup(mc.disconnect_all)
        data = dataset("session")
        self.assertEqual(mc.set_multi(data, time=600), [])
        self.assertEqual(mc.get_multi(list(data)), data)
        counts = curr_items(self.servers[:2])
        report("python-memcached, 2 servers", counts)
        self.assertTrue(all(c > 0 for c in counts), counts)
        self.assertEqual(sum(counts), N_KEYS)
        self.assertEqual(mc.get_stats()[0][1]["curr_items"], str(counts[0]))
        # hash modulo N, not consistent hashing: with a third server most keys move
        mc3 = memcache.Client(addrs, socket_timeout=5)
        self.addCleanup(mc3.disconnect_all)
        still_found = len(mc3.get_multi(list(data)))
        report("python-memcached, keys still found with a third server", [still_found])
        self.assertLess(still_found, N_KEYS * 6 // 10)


class PylibmcKetama(unittest.TestCase):
    """pylibmc (libmemcached) with ketama over three instances, no proxy."""

    def setUp(self):
        reason = need_module("pylibmc", "python3-pylibmc")
        if reason:
            self.skipTest(reason)
        self.servers = start_instances(self, 3)

    def test_ketama_spread_and_consistency(self):
        import pylibmc
        addrs = ["127.0.0.1:%d" % s.port for s in self.servers]
        mc = pylibmc.Client(addrs, behaviors={"ketama": True})
        self.addCleanup(mc.disconnect_all)
        self.assertEqual(mc.behaviors["distribution"], "consistent ketama")
        data = dataset("page")
        self.assertEqual(mc.set_multi(data, time=600), [])
        self.assertEqual(mc.get_multi(list(data)), data)
        counts = curr_items(self.servers)
        report("pylibmc ketama, 3 servers", counts)
        self.assertTrue(all(c > 0 for c in counts), counts)
        self.assertEqual(sum(counts), N_KEYS)
        # consistent hashing: without the third server, the others' keys stay put
        mc2 = pylibmc.Client(addrs[:2], behaviors={"ketama": True})
        self.addCleanup(mc2.disconnect_all)
        self.assertEqual(len(mc2.get_multi(list(data))), counts[0] + counts[1])


class ReadmeSnippets(unittest.TestCase):
    """Every ```python block in deploy/scale-out/README.md runs (ports changed)."""

    def test_snippets_run(self):
        reason = need_nutcracker()
        if reason:
            self.skipTest(reason)
        with open(README) as f:
            blocks = re.findall(r"```python\n(.*?)```", f.read(), re.S)
        self.assertGreaterEqual(len(blocks), 4)
        needs = {"pymemcache": "python3-pymemcache", "memcache": "python3-memcache",
                 "pylibmc": "python3-pylibmc"}
        servers = start_instances(self, 3)
        port = harness.free_port()
        proxy = Nutcracker(render_template(port, [s.port for s in servers]), port)
        self.addCleanup(proxy.stop)
        mapping = dict(zip(TEMPLATE_PORTS, [s.port for s in servers]))
        mapping[TEMPLATE_LISTEN] = port
        not_run = []
        for i, block in enumerate(blocks):
            module = re.search(r"^(?:from|import) (\w+)", block, re.M).group(1)
            missing = need_module(module, needs.get(module, module))
            if missing:
                sys.stdout.write("\n    snippet %d not run: %s " % (i + 1, missing))
                not_run.append(missing)
                continue
            code = re.sub(r"\b(%s)\b" % "|".join(map(str, mapping)),
                          lambda m: str(mapping[int(m.group(1))]), block)
            r = subprocess.run([sys.executable, "-c", code], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=20)
            self.assertEqual(r.returncode, 0, "README snippet %d failed:\n%s\n%s" % (
                i + 1, code, r.stdout.decode(errors="replace")))
        if len(not_run) == len(blocks):
            self.skipTest("no client library for any snippet: %s" % "; ".join(not_run))


if __name__ == "__main__":
    unittest.main()
