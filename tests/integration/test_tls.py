"""test_tls.py: -Z (TLS), side by side with Debian's memcached 1.6.18 -Z
where memcached has the feature: every class named ...Memcached runs the
same tests as its ...Hardcached twin, with the same certificates and flags.
Covered: pymemcache and raw round trips over TLS 1.2 and 1.3 (small and
512 KiB values, multiget, pipelining); plain text on a TLS port gets nothing;
ssl_verify_mode 0/1/2 with no, trusted, untrusted and expired client
certificates; TLS 1.1 and (ssl_min_version=3) TLS 1.2 refused; refresh_certs
after certbot-style swaps and with a broken key; -l notls: next to TLS;
-Y logins over TLS. hardcached only: --tls-client-identity (dns:, uri:, cn:),
a stalled handshake closed by --read-timeout, SIGHUP reloading the
certificates, its stats counters and `stats settings` compared field by
field with memcached's. The certificates come from tests/lib/tlsutil.py.

HC_TARGET=memcached skips the ...Hardcached classes (their ...Memcached
twins run the shared tests); the memcached classes skip only when Debian's
memcached is not installed. Every wait has a deadline; traffic stays on
127.0.0.1."""
import os
import re
import signal
import ssl
import subprocess
import time
import unittest

import itest
import harness
import tlsutil
import wire
from harness import wait_until

TLS10 = ssl.TLSVersion.TLSv1
TLS11 = ssl.TLSVersion.TLSv1_1
TLS12 = ssl.TLSVersion.TLSv1_2
TLS13 = ssl.TLSVersion.TLSv1_3
NAMES = {TLS12: "TLSv1.2", TLS13: "TLSv1.3"}
BIG = 512 * 1024

HAVE_MEMCACHED = os.access(harness.MEMCACHED, os.X_OK)
NO_MEMCACHED = "Debian's memcached is not installed (apt-get install memcached)"
TWIN_COVERS = ("HC_TARGET=memcached: the ...Memcached twin of this class runs its "
               "tests against memcached; this one needs hardcached")

# memcached's `stats settings` TLS fields; we print all but ssl_wbuf_size
SSL_SETTINGS = ("ssl_enabled ssl_chain_cert ssl_key ssl_verify_mode ssl_keyformat "
                "ssl_ciphers ssl_ca_cert ssl_session_cache ssl_kernel_tls "
                "ssl_min_version").split()
OUR_COUNTERS = ("ssl_identity_refused", "auth_throttled", "config_reloads",
                "config_reload_errors")


def pattern(n, seed=b"x"):
    """n bytes, different at every offset within a block (a shifted or lost
    TLS record shows as a mismatch)."""
    block = b"".join(b"%08d" % i for i in range(8192)) + seed
    return (block * (n // len(block) + 1))[:n]


class TLSBase:
    """One PKI per class (self.pki); servers started with self.start (one
    test) or cls.start_shared (the whole class), both stopped afterwards.
    DAEMON ("memcached" or "hardcached") comes from MemcachedCase or
    HardcachedCase, which follow this class in a twin's bases."""

    @classmethod
    def setUpClass(cls):
        cls.pki = tlsutil.PKI()
        cls.addClassCleanup(cls.pki.close)

    @classmethod
    def start_server(cls, args, probe_ctx=None, ref_args=(), hc_args=(), **kw):
        ref = cls.DAEMON == "memcached"
        argv = list(args) + list(ref_args if ref else hc_args)
        return tlsutil.TLSServer(argv, probe_ctx=probe_ctx or cls.pki.client_context(),
                                 reference=ref, **kw)

    @classmethod
    def start_shared(cls, *a, **kw):
        srv = cls.start_server(*a, **kw)
        cls.addClassCleanup(srv.stop)
        return srv

    def start(self, *a, **kw):
        srv = self.start_server(*a, **kw)
        self.addCleanup(srv.stop)
        return srv

    def plain_server(self, args=()):
        srv = harness.Server(list(args), reference=self.DAEMON == "memcached")
        self.addCleanup(srv.stop)
        return srv

    def ctx(self, **kw):
        return self.pki.client_context(**kw)

    def assertServed(self, port, ctx, version=None):
        got = tlsutil.outcome(port, ctx)
        self.assertEqual(got[0], "served", got[1])
        if version is not None:
            self.assertEqual(got[1], NAMES[version])
        return got

    def assertRefused(self, port, ctx, stage=None):
        """The client is served nothing and the server says so (an alert or
        a close) within the deadline; returns why. stage: "handshake" or
        "first read", where the refusal must show."""
        got = tlsutil.outcome(port, ctx)
        self.assertEqual(got[0], "refused", got)
        if stage is not None:
            self.assertTrue(got[1].startswith(stage), got[1])
        return got[1]

    def fingerprint_now(self, port, ctx=None):
        got = self.assertServed(port, ctx or self.ctx())
        return got[2]


@unittest.skipUnless(HAVE_MEMCACHED, NO_MEMCACHED)
class MemcachedCase(unittest.TestCase):
    DAEMON = "memcached"


@unittest.skipIf(itest.IS_REFERENCE, TWIN_COVERS)
class HardcachedCase(unittest.TestCase):
    DAEMON = "hardcached"


# ---- round trips --------------------------------------------------------------------

class RoundTrips(TLSBase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server = cls.start_shared(["-Z", "-o", tlsutil.ssl_opts(cls.pki)])

    def setUp(self):
        self.assertIsNone(self.server.proc.poll(), "server died earlier in this class")
        self.p = self._testMethodName[5:40] + "_"

    def pymemcache(self, version):
        from pymemcache.client.base import Client
        c = Client(("127.0.0.1", self.server.port), connect_timeout=5, timeout=10,
                   tls_context=self.ctx(min_version=version, max_version=version))
        self.addCleanup(c.close)
        return c

    def round_trips(self, version):
        c, p = self.pymemcache(version), self.p
        self.assertTrue(c.set(p + "small", b"hello over tls", noreply=False))
        self.assertEqual(c.get(p + "small"), b"hello over tls")
        self.assertEqual(c.sock.version(), NAMES[version])
        big = pattern(BIG, version.name.encode())
        self.assertTrue(c.set(p + "big", big, noreply=False))
        self.assertEqual(c.get(p + "big"), big)
        self.assertIsNone(c.get(p + "missing"))
        self.assertEqual(c.incr(p + "n", 1), None)
        c.set(p + "n", b"41", noreply=False)
        self.assertEqual(c.incr(p + "n", 1), 42)

    def test_pymemcache_tls13_small_and_512k(self):
        self.round_trips(TLS13)

    def test_pymemcache_tls12_small_and_512k(self):
        self.round_trips(TLS12)

    def test_pymemcache_multiget(self):
        c, p = self.pymemcache(TLS13), self.p
        values = {"%sk%d" % (p, i): pattern(100 + 977 * i, b"%d" % i) for i in range(40)}
        values[p + "big"] = pattern(BIG)
        self.assertEqual(c.set_many(values, noreply=False), [])
        keys = list(values) + [p + "missing1", p + "missing2"]
        self.assertEqual(c.get_many(keys), values)

    def test_raw_multiget_is_byte_exact(self):
        with self.server.tls_client(self.ctx(max_version=TLS12)) as c:
            big = pattern(BIG, b"raw")
            c.send(wire.storage("set", self.p + "a", b"alpha", flags=7) +
                   wire.storage("set", self.p + "b", big, flags=1))
            self.assertEqual(c.readline(), wire.STORED)
            self.assertEqual(c.readline(), wire.STORED)
            c.send(("get %sa %smissing %sb\r\n" % (self.p, self.p, self.p)).encode())
            expect = (wire.value_reply(self.p + "a", b"alpha", flags=7) +
                      wire.value_reply(self.p + "b", big, flags=1) + wire.END)
            self.assertEqual(c.read_exact(len(expect)), expect)
            self.assertEqual(c.read_available(0.2), b"")

    def test_pipelined_commands_in_one_tls_write(self):
        with self.server.tls_client() as c:
            batch = b"".join(wire.storage("set", "%sp%d" % (self.p, i), b"v%d" % i)
                             for i in range(50))
            batch += b"".join(b"get %sp%d\r\n" % (self.p.encode(), i) for i in range(50))
            expect = wire.STORED * 50 + b"".join(
                wire.value_reply("%sp%d" % (self.p, i), b"v%d" % i) + wire.END
                for i in range(50))
            self.assertEqual(wire.sync(c, batch), expect)

    def test_plain_text_on_tls_port_is_not_served(self):
        data, closed = tlsutil.plain_outcome(self.server.port)
        self.assertNotIn(b"VERSION", data)
        self.assertTrue(closed, "a plain-text client on the TLS port was left open")
        # at most a TLS alert record, never protocol text
        self.assertTrue(data == b"" or data[:1] == b"\x15", data[:50])
        self.assertServed(self.server.port, self.ctx())

    def test_tls11_and_tls10_refused(self):
        for v in (TLS11, TLS10):
            why = self.assertRefused(self.server.port,
                                     self.ctx(min_version=v, max_version=v, seclevel0=True),
                                     stage="handshake")
            self.assertIn("VERSION", why.upper(), why)  # a protocol_version alert
        self.assertServed(self.server.port, self.ctx())

    def test_tls11_refused_with_openssl_s_client(self):
        r = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % self.server.port,
                            "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0", "-CAfile",
                            self.pki.ca.cert], input=b"version\r\n", stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=30)
        out = r.stdout.decode(errors="replace")
        self.assertNotEqual(r.returncode, 0, out)
        self.assertNotIn("VERSION 1.", out)
        self.assertRegex(out, r"(?i)protocol version|no protocols available")


class RoundTripsMemcached(RoundTrips, MemcachedCase):
    pass


class RoundTripsHardcached(RoundTrips, HardcachedCase):
    pass


# ---- client certificates and protocol versions -------------------------------------

class VerifyRequired(TLSBase):
    """ssl_verify_mode=2: a certificate from our CA is required."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server = cls.start_shared(
            ["-Z", "-o", tlsutil.ssl_opts(cls.pki, ssl_verify_mode=2)],
            probe_ctx=cls.pki.client_context(cert=cls.pki.client_cn))

    def setUp(self):
        self.assertIsNone(self.server.proc.poll(), "server died earlier in this class")

    def test_no_certificate_tls13_refused_at_first_read(self):
        # TLS 1.3: the client finishes its handshake before the server has
        # seen (the lack of) its certificate; the refusal is the next record
        self.assertRefused(self.server.port, self.ctx(min_version=TLS13), stage="first read")

    def test_no_certificate_tls12_refused_in_handshake(self):
        self.assertRefused(self.server.port, self.ctx(max_version=TLS12), stage="handshake")

    def test_certificates_from_our_ca_served(self):
        for cert in (self.pki.client_dns, self.pki.client_uri, self.pki.client_cn):
            for v in (TLS12, TLS13):
                with self.subTest(cert=os.path.basename(cert.cert), version=v.name):
                    self.assertServed(self.server.port,
                                      self.ctx(cert=cert, min_version=v, max_version=v), v)

    def test_certificate_from_untrusted_ca_refused(self):
        self.assertRefused(self.server.port,
                           self.ctx(cert=self.pki.client_untrusted, max_version=TLS12),
                           stage="handshake")
        self.assertRefused(self.server.port,
                           self.ctx(cert=self.pki.client_untrusted, min_version=TLS13))

    def test_expired_certificate_refused(self):
        self.assertRefused(self.server.port,
                           self.ctx(cert=self.pki.client_expired, max_version=TLS12),
                           stage="handshake")
        self.assertRefused(self.server.port,
                           self.ctx(cert=self.pki.client_expired, min_version=TLS13))

    def test_refused_client_cannot_run_a_command(self):
        """Commands sent right behind a refused TLS 1.3 handshake never run."""
        key = "refused_%d" % os.getpid()
        s = tlsutil.tls_connect(self.server.port, self.ctx(min_version=TLS13))
        try:
            s.sendall(wire.storage("set", key, b"should not be stored"))
            data, closed = harness.read_to_close(s, 5.0)
        except (ssl.SSLError, OSError):
            data, closed = b"", True
        finally:
            s.close()
        self.assertEqual(data, b"")
        self.assertTrue(closed)
        with self.server.tls_client() as c:
            self.assertIsNone(c.get(key))


class VerifyRequiredMemcached(VerifyRequired, MemcachedCase):
    pass


class VerifyRequiredHardcached(VerifyRequired, HardcachedCase):
    pass


class VerifyModes(TLSBase):
    """ssl_verify_mode 0 (none, the default) and 1 (checked when sent)."""

    def test_mode0_serves_without_certificate(self):
        for args in ([], ["ssl_verify_mode=0"]):
            opts = tlsutil.ssl_opts(self.pki) + "".join("," + a for a in args)
            srv = self.start(["-Z", "-o", opts])
            for v in (TLS12, TLS13):
                self.assertServed(srv.port, self.ctx(min_version=v, max_version=v), v)
            srv.stop()

    def test_mode1_checks_a_certificate_when_sent(self):
        srv = self.start(["-Z", "-o", tlsutil.ssl_opts(self.pki, ssl_verify_mode=1)])
        self.assertServed(srv.port, self.ctx())
        self.assertServed(srv.port, self.ctx(cert=self.pki.client_dns))
        self.assertRefused(srv.port, self.ctx(cert=self.pki.client_untrusted, max_version=TLS12),
                           stage="handshake")
        self.assertRefused(srv.port, self.ctx(cert=self.pki.client_untrusted, min_version=TLS13))

    def test_min_version_3_refuses_tls12(self):
        srv = self.start(["-Z", "-o", tlsutil.ssl_opts(self.pki, ssl_min_version=3)])
        self.assertRefused(srv.port, self.ctx(max_version=TLS12), stage="handshake")
        self.assertServed(srv.port, self.ctx(), TLS13)

    def test_key_in_der_format(self):
        der = self.pki.der_key(self.pki.server, "server-der")
        srv = self.start(["-Z", "-o", tlsutil.ssl_opts(self.pki, key=der, ssl_keyformat=2)])
        self.assertEqual(self.fingerprint_now(srv.port), self.pki.server.fingerprint)


class VerifyModesMemcached(VerifyModes, MemcachedCase):
    pass


class VerifyModesHardcached(VerifyModes, HardcachedCase):
    pass


# ---- refresh_certs --------------------------------------------------------------------

class Refresh(TLSBase):
    """refresh_certs after the files changed the way renewals change them."""

    def own_files(self, c):
        """Copies of c's certificate and key under names of this test."""
        base = self.pki.path(self._testMethodName)
        tlsutil.replace_file(base + ".pem", c.cert)
        tlsutil.replace_file(base + ".key", c.key)
        return base + ".pem", base + ".key"

    def refresh(self, c):
        """Sends refresh_certs on client c; returns the answer line, after
        checking nothing else follows it."""
        line = c.cmd("refresh_certs")
        self.assertEqual(wire.sync(c), b"", "more than one line answered")
        return line

    def check_swap(self, srv, new, swap):
        """Old connection open, files swapped by swap(), refresh_certs: new
        handshakes present new, the old connection goes on."""
        old_fp = self.pki.server.fingerprint
        self.assertEqual(self.fingerprint_now(srv.port), old_fp)
        with srv.tls_client() as kept:
            self.assertEqual(kept.set("kept", b"before"), wire.STORED)
            swap()
            # no refresh yet: still the old certificate
            self.assertEqual(self.fingerprint_now(srv.port), old_fp)
            with srv.tls_client() as c:
                self.assertEqual(self.refresh(c), wire.OK)
            self.assertEqual(self.fingerprint_now(srv.port), new.fingerprint)
            self.assertEqual(self.fingerprint_now(srv.port, self.ctx(max_version=TLS12)),
                             new.fingerprint)
            # the connection made before the refresh keeps its session
            self.assertEqual(kept.fingerprint, old_fp)
            self.assertEqual(kept.get("kept"), b"before")
            self.assertEqual(kept.set("kept", b"after"), wire.STORED)
            self.assertEqual(kept.get("kept"), b"after")
        self.assertLessEqual(int(srv.stats()["time_since_server_cert_refresh"]), 5)

    def test_refresh_after_files_renamed_over(self):
        cert, key = self.own_files(self.pki.server)
        srv = self.start(["-Z", "-o", tlsutil.ssl_opts(self.pki, cert=cert, key=key)])
        new = self.pki.new_server_cert("renewed-" + self._testMethodName)

        def swap():
            tlsutil.replace_file(key, new.key)
            tlsutil.replace_file(cert, new.cert)
        self.check_swap(srv, new, swap)

    def test_refresh_after_symlinks_repointed(self):
        live = tlsutil.LiveDir(self.pki.path(self._testMethodName), self.pki.server)
        srv = self.start(["-Z", "-o", tlsutil.ssl_opts(self.pki, cert=live.cert, key=live.key)])
        new = self.pki.new_server_cert("renewed-" + self._testMethodName)
        self.check_swap(srv, new, lambda: live.renew(new))

    def test_refresh_with_broken_key_keeps_old_certificate(self):
        cert, key = self.own_files(self.pki.server)
        srv = self.start(["-Z", "-o", tlsutil.ssl_opts(self.pki, cert=cert, key=key)])
        with srv.tls_client() as kept:
            tlsutil.write_file(key, "-----BEGIN PRIVATE KEY-----\nnot a key\n"
                               "-----END PRIVATE KEY-----\n")
            line = self.refresh(kept)
            self.assertTrue(line.startswith(b"Error"), line)
            self.assertIn(key.encode(), line)
            self.assertEqual(kept.set("k", b"v"), wire.STORED)
        self.assertEqual(self.fingerprint_now(srv.port), self.pki.server.fingerprint)
        # a missing key file: the same
        os.unlink(key)
        with srv.tls_client() as c:
            line = self.refresh(c)
            self.assertTrue(line.startswith(b"Error"), line)
        self.assertEqual(self.fingerprint_now(srv.port), self.pki.server.fingerprint)
        # mended: the refresh works again
        tlsutil.replace_file(key, self.pki.server.key)
        with srv.tls_client() as c:
            self.assertEqual(self.refresh(c), wire.OK)
        self.assertEqual(self.fingerprint_now(srv.port), self.pki.server.fingerprint)

    def test_refresh_without_tls(self):
        srv = self.plain_server()
        with srv.client() as c:
            self.assertEqual(c.cmd("refresh_certs"), b"Error TLS not enabled\r\n")
            self.assertEqual(wire.sync(c), b"")


class RefreshMemcached(Refresh, MemcachedCase):
    pass


class RefreshHardcached(Refresh, HardcachedCase):
    pass


class RefreshAllOrNothing(TLSBase, HardcachedCase):
    """A renewal that went half wrong (new certificate, bad or mismatched
    key) keeps the old pair in force. memcached 1.6.18 loads into the
    context in use: measured here, it keeps the new certificate with the old
    key and every later handshake fails (deliberate difference)."""

    def setUp(self):
        base = self.pki.path(self._testMethodName)
        self.cert, self.key = base + ".pem", base + ".key"
        tlsutil.replace_file(self.cert, self.pki.server.cert)
        tlsutil.replace_file(self.key, self.pki.server.key)
        self.srv = self.start(["-Z", "-o", tlsutil.ssl_opts(self.pki, cert=self.cert,
                                                            key=self.key)])
        self.new = self.pki.new_server_cert("renewed-" + self._testMethodName)

    def refresh_fails(self):
        with self.srv.tls_client() as c:
            line = c.cmd("refresh_certs")
        self.assertTrue(line.startswith(b"Error"), line)
        for v in (TLS12, TLS13):
            self.assertEqual(self.fingerprint_now(self.srv.port, self.ctx(max_version=v)),
                             self.pki.server.fingerprint)

    def test_new_certificate_with_old_key(self):
        tlsutil.replace_file(self.cert, self.new.cert)
        self.refresh_fails()

    def test_new_certificate_with_garbage_key(self):
        tlsutil.replace_file(self.cert, self.new.cert)
        tlsutil.write_file(self.key, b"\x00garbage")
        self.refresh_fails()

    def test_garbage_certificate(self):
        tlsutil.write_file(self.cert, "-----BEGIN CERTIFICATE-----\nAAAA\n"
                                      "-----END CERTIFICATE-----\n")
        tlsutil.replace_file(self.key, self.new.key)
        self.refresh_fails()


class ReloadBySighup(TLSBase, HardcachedCase):
    """SIGHUP reloads the certificates like refresh_certs (through the
    reader process). config_reloads counts every SIGHUP handled,
    config_reload_errors every file one of them could not load."""

    def setUp(self):
        self.live = tlsutil.LiveDir(self.pki.path(self._testMethodName), self.pki.server)
        self.srv = self.start(["-Z", "-o", tlsutil.ssl_opts(self.pki, cert=self.live.cert,
                                                            key=self.live.key)])

    def counter(self, name):
        return int(self.srv.stats()[name])

    def counters(self):
        st = self.srv.stats()
        return int(st["config_reloads"]), int(st["config_reload_errors"])

    def hup_and_wait(self, reloads, errors):
        """SIGHUP; waits until (config_reloads, config_reload_errors) reads
        (reloads, errors)."""
        os.kill(self.srv.pid, signal.SIGHUP)
        want = (reloads, errors)
        if not wait_until(lambda: self.counters() == want, 10):
            self.fail("(config_reloads, config_reload_errors) is %s, not %s, 10 s after "
                      "SIGHUP" % (self.counters(), want))

    def test_sighup_loads_renewed_certificate(self):
        self.assertEqual(self.counter("config_reloads"), 0)
        new = self.pki.new_server_cert("renewed-" + self._testMethodName)
        with self.srv.tls_client() as kept:
            self.assertEqual(kept.set("k", b"v"), wire.STORED)
            self.live.renew(new)
            self.hup_and_wait(1, 0)
            self.assertEqual(self.fingerprint_now(self.srv.port), new.fingerprint)
            self.assertEqual(kept.get("k"), b"v")
        self.assertLessEqual(int(self.srv.stats()["time_since_server_cert_refresh"]), 5)
        self.assertIsNone(self.srv.proc.poll())

    def test_sighup_with_broken_key_keeps_old_state(self):
        new = self.pki.new_server_cert("renewed-" + self._testMethodName)
        broken = self.pki.path(self._testMethodName + "-broken.key")
        with open(broken, "w") as f:
            f.write("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
        os.chmod(broken, 0o644)
        self.live.renew(tlsutil.Cert(new.cert, broken, new.serial))
        self.hup_and_wait(1, 1)
        self.assertEqual(self.fingerprint_now(self.srv.port), self.pki.server.fingerprint)
        # one line on stderr, naming the file it could not load
        self.assertTrue(self.srv.wait_output(re.escape(self.live.key), 10),
                        "no line names %s: %r" % (self.live.key, self.srv.output()))
        self.assertIsNone(self.srv.proc.poll())
        # mended: the next SIGHUP succeeds
        self.live.renew(new)
        self.hup_and_wait(2, 1)
        self.assertEqual(self.fingerprint_now(self.srv.port), new.fingerprint)


# ---- notls: listener ------------------------------------------------------------------

class NotlsListener(TLSBase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.plain_port = harness.free_port()
        cls.server = cls.start_shared(
            ["-Z", "-o", tlsutil.ssl_opts(cls.pki)],
            # the harness gives memcached "-l 127.0.0.1" already (it joins -l's)
            ref_args=["-l", "notls:127.0.0.1:%d" % cls.plain_port],
            hc_args=["-l", "127.0.0.1,notls:127.0.0.1:%d" % cls.plain_port])

    def test_plain_text_served_on_notls_listener(self):
        self.assertTrue(harness.answers_version(self.plain_port))
        with harness.RawClient(("127.0.0.1", self.plain_port)) as plain:
            self.assertEqual(plain.set("shared", b"one cache"), wire.STORED)
        with self.server.tls_client() as c:
            self.assertEqual(c.get("shared"), b"one cache")

    def test_tls_not_spoken_on_notls_listener(self):
        got = tlsutil.outcome(self.plain_port, self.ctx(), timeout=3.0)
        self.assertNotEqual(got[0], "served", got)

    def test_plain_text_not_served_on_tls_listener(self):
        data, closed = tlsutil.plain_outcome(self.server.port)
        self.assertNotIn(b"VERSION", data)
        self.assertTrue(closed)
        self.assertServed(self.server.port, self.ctx())


class NotlsListenerMemcached(NotlsListener, MemcachedCase):
    pass


class NotlsListenerHardcached(NotlsListener, HardcachedCase):
    pass


# ---- -Y over TLS ----------------------------------------------------------------------

class AuthOverTLS(TLSBase):
    """-Y and -Z together: the login is a set carrying "user pass"."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.auth = cls.pki.path("auth")
        with open(cls.auth, "w") as f:
            f.write("alice:s3cret\nbob:hunter2\n")
        os.chmod(cls.auth, 0o644)
        cls.server = cls.start_shared(["-Z", "-o", tlsutil.ssl_opts(cls.pki), "-Y", cls.auth],
                                      probe_expect=b"")

    def test_commands_refused_before_login(self):
        with self.server.tls_client() as c:
            self.assertEqual(c.cmd("version"), b"CLIENT_ERROR unauthenticated\r\n")
            self.assertEqual(c.cmd("get a"), b"CLIENT_ERROR unauthenticated\r\n")
            self.assertEqual(c.cmd("stats"), b"CLIENT_ERROR unauthenticated\r\n")

    def test_raw_login_over_tls(self):
        for v in (TLS12, TLS13):
            with self.server.tls_client(self.ctx(min_version=v, max_version=v)) as c:
                self.assertEqual(c.version, NAMES[v])
                self.assertEqual(c.cmd(b"set x 0 0 11\r\nalice wrong"),
                                 b"CLIENT_ERROR authentication failure\r\n")
                self.assertEqual(c.cmd(b"set x 0 0 12\r\nalice s3cret"), wire.STORED)
                self.assertTrue(c.cmd("version").startswith(b"VERSION "))
                self.assertEqual(c.set("raw_" + v.name, b"value"), wire.STORED)
                self.assertEqual(c.get("raw_" + v.name), b"value")

    def test_pymemcache_login_over_tls(self):
        from pymemcache.client.base import Client
        c = Client(("127.0.0.1", self.server.port), connect_timeout=5, timeout=10,
                   tls_context=self.ctx())
        self.addCleanup(c.close)
        from pymemcache.exceptions import MemcacheClientError
        with self.assertRaises(MemcacheClientError):   # CLIENT_ERROR unauthenticated
            c.get("before")
        c.close()
        # the login: set <any key> carrying "user pass"; memcached answers STORED
        self.assertTrue(c.set("login", b"bob hunter2", noreply=False))
        big = pattern(BIG, b"auth")
        self.assertTrue(c.set("pm_big", big, noreply=False))
        self.assertEqual(c.get_many(["pm_big", "pm_none"]), {"pm_big": big})


class AuthOverTLSMemcached(AuthOverTLS, MemcachedCase):
    pass


class AuthOverTLSHardcached(AuthOverTLS, HardcachedCase):
    pass


# ---- hardcached only: --tls-client-identity -------------------------------------------

class ClientIdentity(TLSBase, HardcachedCase):
    """--tls-client-identity: a certificate our CA signed is served only when
    it carries one of the listed identities; otherwise the connection is
    closed right after the handshake and counted in ssl_identity_refused."""

    def serve(self, identities):
        return self.start(["-Z", "-o", tlsutil.ssl_opts(self.pki, ssl_verify_mode=2),
                           "--tls-client-identity", identities],
                          probe_ctx=self.ctx(cert=self.pki.client_dns))

    def refused_for_identity(self, srv, cert):
        """Refused after a completed TLS 1.2 handshake (the CA accepted it),
        and under TLS 1.3."""
        self.assertRefused(srv.port, self.ctx(cert=cert, max_version=TLS12), stage="first read")
        self.assertRefused(srv.port, self.ctx(cert=cert, min_version=TLS13))

    def served_both(self, srv, cert):
        for v in (TLS12, TLS13):
            self.assertServed(srv.port, self.ctx(cert=cert, min_version=v, max_version=v), v)

    def identity_refused(self, srv, n):
        wait_until(lambda: int(srv.stats()["ssl_identity_refused"]) >= n, 10,
                   "ssl_identity_refused to reach %d" % n)
        self.assertEqual(int(srv.stats()["ssl_identity_refused"]), n)

    def test_dns_identity(self):
        srv = self.serve("dns:" + tlsutil.CLIENT_DNS)
        self.served_both(srv, self.pki.client_dns)
        self.refused_for_identity(srv, self.pki.client_uri)
        self.refused_for_identity(srv, self.pki.client_cn)
        self.identity_refused(srv, 4)

    def test_dns_identity_matches_case_insensitively(self):
        srv = self.serve("dns:" + tlsutil.CLIENT_DNS.upper())
        self.served_both(srv, self.pki.client_dns)

    def test_spiffe_uri_identity(self):
        srv = self.start(["-Z", "-o", tlsutil.ssl_opts(self.pki, ssl_verify_mode=2),
                          "--tls-client-identity", "uri:" + tlsutil.SPIFFE_ID],
                         probe_ctx=self.ctx(cert=self.pki.client_uri))
        self.served_both(srv, self.pki.client_uri)
        self.refused_for_identity(srv, self.pki.client_other_uri)  # same trust domain
        self.refused_for_identity(srv, self.pki.client_dns)
        self.identity_refused(srv, 4)

    def test_cn_identity(self):
        srv = self.start(["-Z", "-o", tlsutil.ssl_opts(self.pki, ssl_verify_mode=2),
                          "--tls-client-identity", "cn:" + tlsutil.CLIENT_CN],
                         probe_ctx=self.ctx(cert=self.pki.client_cn))
        self.served_both(srv, self.pki.client_cn)
        self.refused_for_identity(srv, self.pki.client_dns)     # its CN is another
        self.identity_refused(srv, 2)

    def test_list_of_identities_and_untrusted_carrier(self):
        srv = self.serve("dns:%s, uri:%s,cn:%s" % (tlsutil.CLIENT_DNS, tlsutil.SPIFFE_ID,
                                                   tlsutil.CLIENT_CN))
        for cert in (self.pki.client_dns, self.pki.client_uri, self.pki.client_cn):
            self.served_both(srv, cert)
        self.refused_for_identity(srv, self.pki.client_other_uri)
        self.identity_refused(srv, 2)
        # carrying every listed identity does not help a certificate our CA
        # did not sign, or one that expired: refused in the handshake, and not
        # counted as an identity refusal
        for cert in (self.pki.client_untrusted, self.pki.client_expired):
            self.assertRefused(srv.port, self.ctx(cert=cert, max_version=TLS12),
                               stage="handshake")
            self.assertRefused(srv.port, self.ctx(cert=cert, min_version=TLS13))
        self.assertEqual(int(srv.stats()["ssl_identity_refused"]), 2)

    def test_refused_identity_runs_no_command(self):
        srv = self.serve("dns:" + tlsutil.CLIENT_DNS)
        for v in (TLS12, TLS13):
            s = tlsutil.tls_connect(srv.port, self.ctx(cert=self.pki.client_cn, min_version=v,
                                                       max_version=v))
            try:
                s.sendall(wire.storage("set", "smuggled", b"x") + b"version\r\n")
                data, closed = harness.read_to_close(s, 5.0)
            except (ssl.SSLError, OSError):
                data, closed = b"", True
            finally:
                s.close()
            self.assertEqual(data, b"", v.name)
            self.assertTrue(closed, v.name)
        with srv.tls_client() as c:
            self.assertIsNone(c.get("smuggled"))

    def test_start_refused_without_tls_or_required_certificates(self):
        ident = ["--tls-client-identity", "dns:" + tlsutil.CLIENT_DNS]
        opts = tlsutil.ssl_opts(self.pki)
        cases = [
            ([], "-Z"),
            (["-Z", "-o", opts], "ssl_verify_mode"),
            (["-Z", "-o", opts + ",ssl_verify_mode=0"], "ssl_verify_mode"),
            (["-Z", "-o", opts + ",ssl_verify_mode=1"], "ssl_verify_mode"),
        ]
        for args, named in cases:
            with self.subTest(args=args):
                r = subprocess.run([harness.hardcached_binary(), "-p", str(harness.free_port())]
                                   + args + ident, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, timeout=10)
                err = r.stderr.decode(errors="replace")
                self.assertEqual(r.returncode, 64, err)
                self.assertEqual(err.count("\n"), 1, err)
                self.assertIn("tls-client-identity", err)
                self.assertIn(named, err)
        for bad in ("dns:", "email:a@example.org", "app.example.org", "uri:"):
            with self.subTest(identity=bad):
                r = subprocess.run([harness.hardcached_binary(), "-p", str(harness.free_port()),
                                    "-Z", "-o", opts + ",ssl_verify_mode=2",
                                    "--tls-client-identity", bad], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, timeout=10)
                self.assertEqual(r.returncode, 64, r.stderr)
                self.assertIn(b"tls-client-identity", r.stderr)
        # the well-formed combination starts (so the refusals above were about
        # the combination, not an unknown flag)
        for mode in (2, 3):
            srv = self.start(["-Z", "-o", opts + ",ssl_verify_mode=%d" % mode] + ident,
                             probe_ctx=self.ctx(cert=self.pki.client_dns))
            srv.stop()


# ---- hardcached only: a stalled handshake and --read-timeout --------------------------

class StalledHandshake(TLSBase, HardcachedCase):
    READ_TIMEOUT = 2
    MARGIN = 3.0

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server = cls.start_shared(["-Z", "-o", tlsutil.ssl_opts(cls.pki),
                                       "--read-timeout", str(cls.READ_TIMEOUT)])

    def closed_in_time(self, sock):
        t0 = time.monotonic()
        _, closed = harness.read_to_close(sock, self.READ_TIMEOUT + self.MARGIN)
        elapsed = time.monotonic() - t0
        self.assertTrue(closed, "still open %.1fs after stalling (--read-timeout %d)"
                        % (elapsed, self.READ_TIMEOUT))
        # the server's clock ticks in whole seconds: allow one tick early
        self.assertGreaterEqual(elapsed, self.READ_TIMEOUT - 1.1,
                                "closed after %.2fs, before the timeout" % elapsed)
        return elapsed

    def stall(self, data):
        s = harness.connect(self.server.port)
        self.addCleanup(s.close)
        s.sendall(data)
        # others are served meanwhile
        self.assertServed(self.server.port, self.ctx())
        return self.closed_in_time(s)

    def test_ten_bytes_of_client_hello(self):
        hello = tlsutil.client_hello(self.ctx())
        self.assertGreater(len(hello), 10)
        self.stall(hello[:10])

    def test_whole_client_hello_then_nothing(self):
        self.stall(tlsutil.client_hello(self.ctx(max_version=TLS12)))

    def test_partial_command_after_handshake(self):
        """After a completed handshake, a partial request is a slowloris like
        any other."""
        s = tlsutil.tls_connect(self.server.port, self.ctx())
        self.addCleanup(s.close)
        s.sendall(b"get half_a_comm")
        self.closed_in_time(s)


# ---- hardcached only: stats and stats settings ----------------------------------------

class StatsFields(TLSBase, HardcachedCase):
    def both(self, args, probe_ctx=None):
        """(memcached's, ours) `stats settings` for the same flags."""
        if not HAVE_MEMCACHED:
            self.skipTest(NO_MEMCACHED)
        out = []
        for ref in (True, False):
            if args and "-Z" in args:
                srv = tlsutil.TLSServer(args, probe_ctx=probe_ctx or self.ctx(), reference=ref)
            else:
                srv = harness.Server(args, reference=ref)
            self.addCleanup(srv.stop)
            with (srv.tls_client() if isinstance(srv, tlsutil.TLSServer) else srv.client()) as c:
                out.append((c.stats("settings"), c.stats()))
            srv.stop()
        return out

    def compare(self, ref, ours, free=()):
        """Every TLS field of memcached's is ours too, with its value (but
        for the names in free); all differences reported at once. Note:
        memcached prints ssl_verify_mode as the OpenSSL flags it made of
        the option (measured: 0, 1, 2, 3 print 0, 1, 3, 7)."""
        for name in SSL_SETTINGS:
            self.assertIn(name, ref, "memcached has no %s?" % name)
        missing = [n for n in SSL_SETTINGS if n not in ours]
        self.assertEqual(missing, [], "stats settings lacks these")
        differ = ["%s: ours %r, memcached %r" % (n, ours[n], ref[n])
                  for n in SSL_SETTINGS if n not in free and ours[n] != ref[n]]
        self.assertEqual(differ, [], "stats settings differs from memcached's")
        self.assertNotIn("ssl_wbuf_size", ours)
        self.assertIn("tls_client_identity", ours)

    def test_settings_full_configuration(self):
        opts = tlsutil.ssl_opts(self.pki, ssl_verify_mode=2, ssl_keyformat=1,
                                ssl_ciphers="ECDHE-ECDSA-AES128-GCM-SHA256:"
                                            "ECDHE-ECDSA-CHACHA20-POLY1305",
                                ssl_min_version=3, ssl_session_cache=None)
        (ref, _), (ours, _) = self.both(["-Z", "-o", opts],
                                        self.ctx(cert=self.pki.client_dns))
        self.compare(ref, ours)
        self.assertEqual(ours["ssl_min_version"], "tlsv1.3")
        self.assertEqual(ours["ssl_session_cache"], "yes")

    def test_settings_defaults_with_tls(self):
        opts = "ssl_chain_cert=%s,ssl_key=%s" % (self.pki.server.cert, self.pki.server.key)
        (ref, _), (ours, _) = self.both(["-Z", "-o", opts])
        # memcached prints NULL for "OpenSSL's default"; ours names its list
        self.compare(ref, ours, free=("ssl_ciphers",))
        self.assertTrue(ours["ssl_ciphers"])

    def test_settings_without_tls(self):
        (ref, _), (ours, _) = self.both([])
        self.compare(ref, ours, free=("ssl_chain_cert", "ssl_key", "ssl_ciphers",
                                      "ssl_ca_cert"))
        self.assertEqual(ours["ssl_enabled"], "no")

    def test_stats_counters_present(self):
        (_, ref_st), (_, ours) = self.both(["-Z", "-o", tlsutil.ssl_opts(self.pki)])
        for name in ("ssl_handshake_errors", "time_since_server_cert_refresh"):
            self.assertIn(name, ref_st)
            self.assertIn(name, ours)
        for name in OUR_COUNTERS:
            self.assertEqual(ours.get(name), "0", name)
        self.assertEqual(ours["ssl_handshake_errors"], "0")

    def test_handshake_errors_counted(self):
        srv = self.start(["-Z", "-o", tlsutil.ssl_opts(self.pki, ssl_verify_mode=2)],
                         probe_ctx=self.ctx(cert=self.pki.client_dns))
        failures = [
            lambda: self.assertRefused(srv.port, self.ctx(min_version=TLS11, max_version=TLS11,
                                                          seclevel0=True)),
            lambda: self.assertRefused(srv.port, self.ctx(max_version=TLS12)),
            lambda: self.assertRefused(srv.port, self.ctx(cert=self.pki.client_untrusted,
                                                          max_version=TLS12)),
            lambda: self.assertRefused(srv.port, self.ctx(cert=self.pki.client_expired)),
            lambda: self.assertNotIn(b"VERSION", tlsutil.plain_outcome(srv.port)[0]),
        ]
        for n, fail in enumerate(failures, 1):
            fail()
            wait_until(lambda: int(srv.stats()["ssl_handshake_errors"]) >= n, 10,
                       "ssl_handshake_errors to reach %d" % n)
            self.assertEqual(int(srv.stats()["ssl_handshake_errors"]), n)
        self.assertEqual(srv.stats()["ssl_identity_refused"], "0")

    def test_time_since_server_cert_refresh(self):
        srv = self.start(["-Z", "-o", tlsutil.ssl_opts(self.pki)])
        wait_until(lambda: int(srv.stats()["time_since_server_cert_refresh"]) >= 2, 10,
                   "time_since_server_cert_refresh to grow")
        with srv.tls_client() as c:
            self.assertEqual(c.cmd("refresh_certs"), wire.OK)
            self.assertLessEqual(int(c.stats()["time_since_server_cert_refresh"]), 1)


class AuthThrottleOverTLS(TLSBase, HardcachedCase):
    """--auth-fail-limit: the Nth failed -Y login from a source closes its
    connection, and the source's new connections are closed at accept
    (before the handshake); each closed connection counts in
    auth_throttled."""

    def test_failed_logins_close_source_at_accept(self):
        auth = self.pki.path("auth-throttle")
        with open(auth, "w") as f:
            f.write("alice:s3cret\n")
        os.chmod(auth, 0o644)
        srv = self.start(["-Z", "-o", tlsutil.ssl_opts(self.pki), "-Y", auth,
                          "--auth-fail-limit", "3", "--auth-fail-window", "60"],
                         probe_expect=b"")
        with srv.tls_client() as admin:
            self.assertEqual(admin.cmd(b"set x 0 0 12\r\nalice s3cret"), wire.STORED)
            with srv.tls_client() as c:
                for _ in range(3):
                    self.assertEqual(c.cmd(b"set x 0 0 11\r\nalice guess"),
                                     b"CLIENT_ERROR authentication failure\r\n")
                # the failure that reached the limit closes its connection too
                _, closed = c.read_to_close(5.0)
                self.assertTrue(closed, "the guessing connection stayed open")
            self.assertRefused(srv.port, self.ctx(), stage="handshake")
            # counted: the guessing connection, then the one closed at accept
            wait_until(lambda: int(admin.stats()["auth_throttled"]) >= 2, 10,
                       "auth_throttled to count")
            self.assertEqual(int(admin.stats()["auth_throttled"]), 2)
            # the logged-in connection from the same source goes on
            self.assertEqual(admin.set("after", b"x"), wire.STORED)


if __name__ == "__main__":
    unittest.main()
