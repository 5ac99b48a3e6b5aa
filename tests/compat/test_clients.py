"""test_clients.py: real Python memcached clients against the server under test:
pymemcache (Client, HashClient), python-memcached (one server, two servers, and the
README's workflow verbatim), pylibmc (libmemcached, ASCII and binary protocol, and
binary with SASL), python3-binary-memcached (bmemcached, binary, SASL) and Ruby's
Dalli (ruby-dalli, binary, SASL; dalli_round_trip.rb); the binary and SASL round trips
run against memcached 1.6.18 too, side by side, and must end alike.
These are the libraries users already have; each round trip here is one they will make.
Two daemons under test are started once for the whole module; each test uses its own
key prefix so tests do not see each other's data (flush_all tests re-check afterwards)."""
import itertools
import json
import logging
import os
import shutil
import subprocess
import tempfile
import unittest

import compat_env
import binwire

_servers = []
_counter = itertools.count()


def setUpModule():
    compat_env.require_target()
    _servers.append(compat_env.target_server())
    _servers.append(compat_env.target_server())


def tearDownModule():
    while _servers:
        _servers.pop().stop()


def addr(i=0):
    return "127.0.0.1:%d" % _servers[i].port


def prefix():
    return "t%d_" % next(_counter)


def curr_items(i):
    return int(_servers[i].stats()["curr_items"])


class PymemcacheTest(unittest.TestCase):
    def setUp(self):
        from pymemcache.client.base import Client
        self.c = Client(("127.0.0.1", _servers[0].port), connect_timeout=5, timeout=5)
        self.p = prefix()

    def tearDown(self):
        self.c.close()

    def test_round_trips(self):
        c, p = self.c, self.p
        self.assertTrue(c.set(p + "a", b"hello", expire=300))
        self.assertEqual(c.get(p + "a"), b"hello")
        self.assertIsNone(c.get(p + "missing"))
        self.assertEqual(c.set_many({p + "b": b"2", p + "c": b"3"}, expire=300), [])
        self.assertEqual(c.get_many([p + "a", p + "b", p + "c", p + "missing"]),
                         {p + "a": b"hello", p + "b": b"2", p + "c": b"3"})
        self.assertTrue(c.add(p + "d", b"x", noreply=False))
        self.assertFalse(c.add(p + "d", b"y", noreply=False))
        self.assertTrue(c.replace(p + "d", b"z", noreply=False))
        self.assertFalse(c.replace(p + "nope", b"z", noreply=False))
        self.assertTrue(c.append(p + "d", b"!", noreply=False))
        self.assertTrue(c.prepend(p + "d", b"<", noreply=False))
        self.assertEqual(c.get(p + "d"), b"<z!")
        self.assertTrue(c.set(p + "n", b"10"))
        self.assertEqual(c.incr(p + "n", 5), 15)
        self.assertEqual(c.decr(p + "n", 20), 0)
        self.assertIsNone(c.incr(p + "nope", 1))
        value, cas = c.gets(p + "a")
        self.assertEqual(value, b"hello")
        self.assertTrue(c.cas(p + "a", b"new", cas, noreply=False))
        self.assertFalse(c.cas(p + "a", b"newer", cas, noreply=False))
        self.assertEqual(c.get(p + "a"), b"new")
        self.assertTrue(c.touch(p + "a", 600, noreply=False))
        self.assertFalse(c.touch(p + "nope", 600, noreply=False))
        self.assertTrue(c.delete(p + "a", noreply=False))
        self.assertFalse(c.delete(p + "a", noreply=False))
        self.assertIsNone(c.get(p + "a"))
        self.assertTrue(c.version())
        stats = c.stats()
        self.assertIn(b"curr_items", stats)
        self.assertIn(b"get_hits", stats)

    def test_noreply_pipeline_and_binary_value(self):
        c, p = self.c, self.p
        blob = bytes(range(256)) * 4 + b"\r\nEND\r\n"
        c.set(p + "bin", blob, noreply=True)
        c.set(p + "big", b"v" * 500000, noreply=True)
        self.assertEqual(c.get(p + "bin"), blob)
        self.assertEqual(c.get(p + "big"), b"v" * 500000)

    def test_flush_all(self):
        c, p = self.c, self.p
        c.set(p + "f", b"1")
        self.assertTrue(c.flush_all(noreply=False))
        self.assertIsNone(c.get(p + "f"))


class PymemcacheHashClientTest(unittest.TestCase):
    def test_two_servers(self):
        from pymemcache.client.hash import HashClient
        hc = HashClient([("127.0.0.1", s.port) for s in _servers], connect_timeout=5,
                        timeout=5)
        p = prefix()
        try:
            before = [curr_items(0), curr_items(1)]
            keys = {"%sk%d" % (p, i): ("v%d" % i).encode() for i in range(60)}
            self.assertEqual(hc.set_many(keys, expire=300), [])
            self.assertEqual(hc.get_many(list(keys)), keys)
            hc.set(p + "n", b"1")
            self.assertEqual(hc.incr(p + "n", 41), 42)
            self.assertTrue(hc.delete(p + "n", noreply=False))
            after = [curr_items(0), curr_items(1)]
        finally:
            hc.close()
        self.assertGreater(after[0], before[0], "no key landed on server 1")
        self.assertGreater(after[1], before[1], "no key landed on server 2")


class PythonMemcachedTest(unittest.TestCase):
    """python-memcached (import memcache), the client of the README."""

    def client(self, n=1, debug=True, **kw):
        import memcache
        return memcache.Client([addr(i) for i in range(n)], debug=debug, **kw)

    def test_readme_workflow_one_server(self):
        # Exactly the README's workflow (its "import memcached" is a typo for memcache).
        mc = self.client(1)
        mc.flush_all()
        mc.set('username', 'hello world', time=60 * 5)
        mc.set_multi({'email': 'xxx@qq.com', 'telphone': '111111'}, time=60 * 5)
        result = mc.get('telphone')
        self.assertEqual(result, '111111')
        self.assertEqual(mc.get('username'), 'hello world')
        self.assertEqual(mc.get('email'), 'xxx@qq.com')
        self.assertTrue(mc.delete('email'))
        self.assertIsNone(mc.get('email'))
        # incr on a key that was never set: the README does this first; memcached
        # answers NOT_FOUND and the client returns None.
        self.assertIsNone(mc.incr('read_count', delta=10))
        mc.set('read_count', '0')
        self.assertEqual(mc.incr('read_count', delta=10), 10)
        self.assertEqual(mc.incr('read_count'), 11)
        self.assertEqual(mc.decr('read_count', delta=10), 1)
        self.assertEqual(mc.decr('read_count'), 0)
        self.assertEqual(mc.decr('read_count'), 0)  # decr floors at 0
        self.assertEqual(int(mc.get('read_count')), 0)
        mc.disconnect_all()

    def test_readme_workflow_two_servers(self):
        # The README's distributed client: memcache.Client(['ip1:port','ip2:port'])
        mc = self.client(2)
        mc.flush_all()
        mc.set('username', 'hello world', time=60 * 5)
        mc.set_multi({'email': 'xxx@qq.com', 'telphone': '111111'}, time=60 * 5)
        self.assertEqual(mc.get('telphone'), '111111')
        mc.delete('email')
        self.assertIsNone(mc.get('email'))
        mc.set('read_count', '0')
        self.assertEqual(mc.incr('read_count', delta=10), 10)
        self.assertEqual(mc.incr('read_count'), 11)
        self.assertEqual(mc.decr('read_count', delta=10), 1)
        keys = {'user%d' % i: 'value %d' % i for i in range(60)}
        self.assertEqual(mc.set_multi(keys, time=300), [])
        self.assertEqual(mc.get_multi(list(keys)), keys)
        self.assertGreater(curr_items(0), 0, "no key landed on server 1")
        self.assertGreater(curr_items(1), 0, "no key landed on server 2")
        stats = mc.get_stats()
        self.assertEqual(len(stats), 2)
        for name, st in stats:
            self.assertGreater(int(st['curr_items']), 0, name)
        mc.disconnect_all()

    def test_all_operations_one_and_two_servers(self):
        for n in (1, 2):
            with self.subTest(servers=n):
                # cache_cas=True: python-memcached only sends "cas" (instead of a
                # plain "set") for keys it has read with gets.
                mc, p = self.client(n, cache_cas=True, debug=False), prefix()
                self.assertTrue(mc.set(p + 'a', 'hello', time=300))
                self.assertEqual(mc.get(p + 'a'), 'hello')
                self.assertEqual(mc.set_multi({p + 'b': 'B', p + 'c': 'C'}, time=300), [])
                self.assertEqual(mc.get_multi([p + 'a', p + 'b', p + 'c', p + 'zz']),
                                 {p + 'a': 'hello', p + 'b': 'B', p + 'c': 'C'})
                self.assertTrue(mc.add(p + 'd', 'x'))
                self.assertFalse(mc.add(p + 'd', 'y'))
                self.assertTrue(mc.replace(p + 'd', 'z'))
                self.assertFalse(mc.replace(p + 'nope', 'z'))
                self.assertTrue(mc.append(p + 'd', '!'))
                self.assertTrue(mc.prepend(p + 'd', '<'))
                self.assertEqual(mc.get(p + 'd'), '<z!')
                mc.set(p + 'n', '5')
                self.assertEqual(mc.incr(p + 'n', delta=10), 15)
                self.assertEqual(mc.incr(p + 'n'), 16)
                self.assertEqual(mc.decr(p + 'n', delta=6), 10)
                self.assertEqual(mc.decr(p + 'n'), 9)
                self.assertIsNone(mc.incr(p + 'nope'))
                mc.set(p + 'i', 42)  # python-memcached stores ints as text with a flag
                self.assertEqual(mc.get(p + 'i'), 42)
                self.assertEqual(mc.incr(p + 'i'), 43)
                mc.set(p + 'o', {'k': [1, 2]})  # pickled, flag 1
                self.assertEqual(mc.get(p + 'o'), {'k': [1, 2]})
                self.assertEqual(mc.gets(p + 'a'), 'hello')
                self.assertTrue(mc.cas(p + 'a', 'via-cas'))
                self.assertEqual(mc.get(p + 'a'), 'via-cas')
                mc.reset_cas()
                self.assertEqual(mc.gets(p + 'a'), 'via-cas')
                other = self.client(n, debug=False)
                other.set(p + 'a', 'someone else')
                self.assertFalse(mc.cas(p + 'a', 'lost race'))
                self.assertEqual(mc.get(p + 'a'), 'someone else')
                self.assertTrue(mc.touch(p + 'a', 600))
                self.assertFalse(mc.touch(p + 'nope', 600))
                self.assertTrue(mc.delete(p + 'a'))
                self.assertIsNone(mc.get(p + 'a'))
                stats = mc.get_stats()
                self.assertEqual(len(stats), n)
                for _, st in stats:
                    self.assertIn('curr_items', st)
                    self.assertIn('version', st)
                other.disconnect_all()
                mc.flush_all()
                self.assertIsNone(mc.get(p + 'b'))
                mc.disconnect_all()


class PylibmcTest(unittest.TestCase):
    def client(self, n=1, **kw):
        import pylibmc
        return pylibmc.Client([addr(i) for i in range(n)], binary=False, **kw)

    def test_round_trips(self):
        mc, p = self.client(behaviors={"cas": True}), prefix()
        self.assertTrue(mc.set(p + "a", b"hello", time=300))
        self.assertEqual(mc.get(p + "a"), b"hello")
        self.assertIsNone(mc.get(p + "missing"))
        self.assertEqual(mc.set_multi({p + "b": b"B", p + "c": b"C"}, time=300), [])
        self.assertEqual(mc.get_multi([p + "a", p + "b", p + "c", p + "zz"]),
                         {p + "a": b"hello", p + "b": b"B", p + "c": b"C"})
        self.assertTrue(mc.add(p + "d", b"x"))
        self.assertFalse(mc.add(p + "d", b"y"))
        self.assertTrue(mc.replace(p + "d", b"z"))
        self.assertTrue(mc.append(p + "d", b"!"))
        self.assertTrue(mc.prepend(p + "d", b"<"))
        self.assertEqual(mc.get(p + "d"), b"<z!")
        mc.set(p + "n", 7)
        self.assertEqual(mc.incr(p + "n", 3), 10)
        self.assertEqual(mc.decr(p + "n", 4), 6)
        self.assertEqual(mc.decr(p + "n", 100), 0)
        value, cas = mc.gets(p + "a")
        self.assertEqual(value, b"hello")
        self.assertTrue(mc.cas(p + "a", b"new", cas))
        self.assertFalse(mc.cas(p + "a", b"newer", cas))
        self.assertEqual(mc.get(p + "a"), b"new")
        self.assertTrue(mc.delete(p + "a"))
        self.assertFalse(mc.delete(p + "a"))
        self.assertTrue(mc.delete_multi([p + "b", p + "c"]))
        self.assertIsNone(mc.get(p + "b"))
        self.assertEqual(mc.get(p + "big"), None)
        mc.set(p + "big", b"q" * 300000)
        self.assertEqual(mc.get(p + "big"), b"q" * 300000)
        stats = mc.get_stats()
        self.assertEqual(len(stats), 1)
        self.assertIn("curr_items", stats[0][1])
        mc.disconnect_all()

    def test_ketama_two_servers(self):
        mc, p = self.client(2, behaviors={"ketama": True}), prefix()
        before = [curr_items(0), curr_items(1)]
        keys = {"%sk%d" % (p, i): b"v" for i in range(60)}
        self.assertEqual(mc.set_multi(keys, time=300), [])
        self.assertEqual(mc.get_multi(list(keys)), keys)
        self.assertGreater(curr_items(0), before[0], "no key landed on server 1")
        self.assertGreater(curr_items(1), before[1], "no key landed on server 2")
        mc.disconnect_all()


def pylibmc_round_trip(server, **kw):
    """What pylibmc's binary protocol client gets from a round trip of every
    operation (kw: username and password for SASL)."""
    import pylibmc
    mc, p = pylibmc.Client(["127.0.0.1:%d" % server.port], binary=True,
                           behaviors={"cas": True}, **kw), prefix()
    got = [mc.set(p + "a", b"hello", time=300), mc.get(p + "a"), mc.get(p + "missing"),
           mc.set_multi({p + "b": b"B", p + "c": b"C"}, time=300),
           sorted((k[len(p):], v) for k, v in
                  mc.get_multi([p + "a", p + "b", p + "c", p + "zz"]).items()),
           mc.add(p + "d", b"x"), mc.add(p + "d", b"y"), mc.replace(p + "d", b"z"),
           mc.append(p + "d", b"!"), mc.prepend(p + "d", b"<"), mc.get(p + "d"),
           mc.set(p + "n", 7), mc.incr(p + "n", 3), mc.decr(p + "n", 4), mc.decr(p + "n", 100)]
    value, cas = mc.gets(p + "a")
    got += [value, mc.cas(p + "a", b"new", cas), mc.cas(p + "a", b"newer", cas),
            mc.get(p + "a"), mc.touch(p + "a", 100), mc.delete(p + "a"), mc.delete(p + "a"),
            mc.delete_multi([p + "b", p + "c"]), mc.get(p + "b"),
            mc.set(p + "big", b"q" * 300000), mc.get(p + "big") == b"q" * 300000,
            "curr_items" in mc.get_stats()[0][1]]
    mc.disconnect_all()
    return got


def bmemcached_round_trip(server, user=None, password=None):
    import bmemcached
    mc, p = bmemcached.Client(["127.0.0.1:%d" % server.port], user, password), prefix()
    got = [mc.set(p + "a", "hello"), mc.get(p + "a"), mc.get(p + "missing"),
           mc.set_multi({p + "b": "B", p + "c": "C"}),
           sorted((k[len(p):], v) for k, v in mc.get_multi([p + "a", p + "b", p + "zz"]).items()),
           mc.add(p + "d", "x"), mc.add(p + "d", "y"), mc.replace(p + "d", "z"),
           mc.set(p + "n", 5), mc.incr(p + "n", 2), mc.decr(p + "n", 10),
           mc.delete(p + "a"), mc.delete(p + "a"), mc.get(p + "a")]
    mc.disconnect_all()
    return got


PYLIBMC_WANT = [True, b"hello", None, [], [("a", b"hello"), ("b", b"B"), ("c", b"C")], True, False, True, True, True, b"<z!", True,
                10, 6, 0, b"hello", True, False, b"new", True, True, False, True, None, True,
                True, True]
BMEMCACHED_WANT = [True, "hello", None, [], [("a", "hello"), ("b", "B")], True, False, True,
                   True, 7, 0, True, True, None]


DALLI_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "dalli_round_trip.rb")
RUBY = "/usr/bin/ruby"


def have_dalli():
    return os.path.exists(RUBY) and subprocess.run(
        [RUBY, "-e", "require 'dalli'"], capture_output=True, timeout=30).returncode == 0


def dalli_round_trip(server, user=None, password=None):
    """What Dalli's round trips returned (dalli_round_trip.rb), as JSON data."""
    argv = [RUBY, DALLI_SCRIPT, str(server.port), prefix()]
    if user is not None:
        argv += [user, password]
    r = subprocess.run(argv, capture_output=True, timeout=60)
    if r.returncode != 0:
        raise AssertionError("dalli_round_trip.rb failed: %s" % r.stderr.decode()[-2000:])
    return json.loads(r.stdout)


DALLI_WANT = [True, "hello", None, True, [["a", "hello"], ["b", "B"]], True, False, True, True,
              7, 0, 40, True, "z", True, None, None, True, True, True]
DALLI_SKIP = "ruby-dalli (and ruby) are needed for the Dalli round trips"


class BinaryClientsTest(unittest.TestCase):
    """pylibmc binary=True and bmemcached without SASL: the server under test
    and memcached 1.6.18 give the same results."""

    @classmethod
    def setUpClass(cls):
        cls.ref = compat_env.reference_server()

    @classmethod
    def tearDownClass(cls):
        cls.ref.stop()

    def test_pylibmc_binary(self):
        want = pylibmc_round_trip(self.ref)
        self.assertEqual(want, PYLIBMC_WANT)
        self.assertEqual(pylibmc_round_trip(_servers[0]), want)

    def test_bmemcached(self):
        want = bmemcached_round_trip(self.ref)
        self.assertEqual(want, BMEMCACHED_WANT)
        self.assertEqual(bmemcached_round_trip(_servers[0]), want)

    @unittest.skipUnless(have_dalli(), DALLI_SKIP)
    def test_dalli(self):
        want = dalli_round_trip(self.ref)
        self.assertEqual(want, DALLI_WANT)
        self.assertEqual(dalli_round_trip(_servers[0]), want)


USERS = {"alice": b"secret"}


def sasl_server(tmp, reference):
    """A -S daemon: memcached with a Cyrus sasldb, hardcached with the same
    user in MEMCACHED_SASL_PWDB (memcached's variable) and no failed-login
    throttle."""
    if reference or compat_env.target_is_memcached():
        folder = tempfile.mkdtemp(dir=tmp)
        env = binwire.sasl_reference_env(folder, USERS)
        return binwire.BinaryServer(args=compat_env.COMMON_ARGS + ["-S"], reference=True,
                                    env=env)
    env = dict(os.environ, MEMCACHED_SASL_PWDB=binwire.pwdb_file(tmp, USERS))
    # the per-source throttle of failed logins is a deliberate difference
    # (memcached has none): off, so many refusals compare alike
    return binwire.BinaryServer(args=compat_env.COMMON_ARGS + ["-S", "--auth-fail-limit", "0"],
                                env=env,
                                binary=compat_env.harness.hardcached_binary())


@unittest.skipUnless(binwire.have_sasl_reference(), "saslpasswd2 (Debian package sasl2-bin) "
                     "is needed to run memcached -S beside the server under test")
class SaslClientsTest(unittest.TestCase):
    """pylibmc and bmemcached with SASL (PLAIN): round trips with the right
    password; the wrong one and no login are refused, by both servers alike."""

    @classmethod
    def setUpClass(cls):
        compat_env.require_target()
        cls.tmp = tempfile.mkdtemp(prefix="hc-sasl-clients-")
        os.chmod(cls.tmp, 0o711)
        cls.servers = [sasl_server(cls.tmp, reference=True)]
        try:
            cls.servers.append(sasl_server(cls.tmp, reference=False))
        except Exception:
            cls.servers[0].stop()
            raise

    @classmethod
    def tearDownClass(cls):
        for server in cls.servers:
            server.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_pylibmc_sasl(self):
        ref, target = self.servers
        want = pylibmc_round_trip(ref, username="alice", password="secret")
        self.assertEqual(want, PYLIBMC_WANT)
        self.assertEqual(pylibmc_round_trip(target, username="alice", password="secret"), want)

    def test_bmemcached_sasl(self):
        ref, target = self.servers
        want = bmemcached_round_trip(ref, "alice", "secret")
        self.assertEqual(want, BMEMCACHED_WANT)
        self.assertEqual(bmemcached_round_trip(target, "alice", "secret"), want)

    @unittest.skipUnless(have_dalli(), DALLI_SKIP)
    def test_dalli_sasl(self):
        ref, target = self.servers
        want = dalli_round_trip(ref, "alice", "secret")
        self.assertEqual(want, DALLI_WANT)
        self.assertEqual(dalli_round_trip(target, "alice", "secret"), want)
        # the wrong password, and no login: every call fails, alike
        for creds in (("alice", "wrong"), (None, None)):
            want = dalli_round_trip(ref, *creds)
            self.assertNotIn("hello", want, creds)
            self.assertEqual(dalli_round_trip(target, *creds), want, creds)

    def refusals(self, server):
        import bmemcached
        import pylibmc
        addr = ["127.0.0.1:%d" % server.port]
        got = []
        for kw in ({"username": "alice", "password": "wrong"}, {}):
            mc = pylibmc.Client(addr, binary=True, **kw)
            try:
                got.append(("set", mc.set("refused", b"x")))
            except pylibmc.Error as e:
                got.append(("set", "AUTHENTICATION FAILURE" in str(e) or type(e).__name__))
        for creds in (("alice", "wrong"), (None, None)):
            mc = bmemcached.Client(addr, *creds)
            for op, call in (("get", lambda: mc.get("refused")),
                             ("set", lambda: mc.set("refused", "x"))):
                try:
                    got.append((op, call()))
                except bmemcached.exceptions.MemcachedException as e:
                    got.append((op, e.code))
            mc.disconnect_all()
        return got

    def test_wrong_password_and_no_login_refused(self):
        logging.disable(logging.CRITICAL)       # bmemcached logs each refusal
        try:
            ref, target = self.servers
            want = self.refusals(ref)
            # pylibmc: AUTHENTICATION FAILURE, then (no login) the refusal
            # closes and libmemcached reports an error; bmemcached: status
            # 0x20, and a set after the close is False
            self.assertEqual(want, [("set", True), ("set", "Error"), ("get", 32), ("set", 32),
                                    ("get", 32), ("set", False)])
            self.assertEqual(self.refusals(target), want)
        finally:
            logging.disable(logging.NOTSET)


if __name__ == "__main__":
    unittest.main()
