"""test_check_config.py: `hardcached --check-config` end to end (SPEC §6), on
the real binary and the real host. Each finding that this host can produce is
triggered here, and every run is checked in both formats: the text report
(one `severity id: what; fix: how` line per finding, most severe first, then
one summary line) and the JSON one (parsed; same findings, same exit status).
Findings that need a host we cannot make (a user with gid 0, an active ufw
rule) are proven by tests/unit/test_audit.c on made-up hosts; an inactive ufw
is faked, as root, by a stand-in /usr/sbin/ufw bound over the real one in a
private mount namespace of the audited process only. The cross-host
deployments the README quotes (beyond loopback: an allowlist, TLS with client
certificates or with -Y logins, the key 0600) are proven clean here. Nothing
here binds a socket, changes the firewall or creates users."""
import json
import os
import re
import shutil
import socket
import stat
import subprocess
import tempfile
import unittest

import audit_util as au
import harness

ROOT = au.ROOT
IS_ROOT = harness.is_root()
HAVE_UFW = os.access("/usr/sbin/ufw", os.X_OK)
SEVERITY_RANK = {"critical": 0, "warning": 1, "info": 2}
UFW_IDS = {"ufw-inactive", "ufw-open", "ufw-unreadable"}


def phys_mb():
    return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // (1024 * 1024)


class Report:
    """Both reports of one configuration."""

    def __init__(self, test, args, runner=au.run, **kw):
        self.args = list(args)
        self.rc, self.text, self.err = runner(["--check-config"] + self.args, **kw)
        rc_json, out_json, _ = runner(["--check-config", "--format=json"] + self.args, **kw)
        test.assertEqual(self.rc, rc_json, "text and json disagree on the exit status")
        try:
            self.json = json.loads(out_json)
        except ValueError as e:
            test.fail("not JSON (%s):\n%s" % (e, out_json))
        self.test = test
        self.lines = self.text.splitlines()
        self._check_text()
        self._check_json()

    def _check_text(self):
        t = self.test
        t.assertTrue(self.lines, "no output; stderr: %s" % self.err)
        summary = au.SUMMARY_RE.match(self.lines[-1])
        t.assertIsNotNone(summary, "last line is not the summary: %r" % self.lines[-1])
        self.ids = []
        ranks = []
        for line in self.lines[:-1]:
            m = au.FINDING_RE.match(line)
            t.assertIsNotNone(m, "not a finding line: %r" % line)
            self.ids.append(m.group(2))
            ranks.append(SEVERITY_RANK[m.group(1)])
        t.assertEqual(ranks, sorted(ranks), "most severe first:\n" + self.text)
        t.assertEqual(int(summary.group(2)), len(self.ids))
        for line in self.text.splitlines():
            t.assertTrue(all(0x20 <= ord(c) < 0x7f for c in line), repr(line))

    def _check_json(self):
        t, j = self.test, self.json
        t.assertEqual(j["program"], "hardcached")
        t.assertTrue(j["valid"])
        t.assertEqual([f["id"] for f in j["findings"]], self.ids)
        for f in j["findings"]:
            t.assertEqual(set(f), {"severity", "id", "message", "fix"})
        s = j["summary"]
        for sev in ("critical", "warning", "info"):
            t.assertEqual(s[sev], sum(1 for f in j["findings"] if f["severity"] == sev))
        t.assertEqual(s["exit_status"], self.rc)
        t.assertEqual(s["result"], {0: "ok", 1: "warning", 2: "critical"}[self.rc])

    def finding(self, fid):
        for f in self.json["findings"]:
            if f["id"] == fid:
                return f
        self.test.fail("no %s in:\n%s" % (fid, self.text))
        return None


# Runs the daemon in its own mount namespace with `dir`/ufw (a script)
# standing in for /usr/sbin (the audit runs /usr/sbin/ufw by its full path).
FAKE_UFW_SH = 'mount --bind "$0" /usr/sbin && exec "$@"'


def fake_ufw_runner(fake_dir):
    def run(args, timeout=30):
        p = subprocess.run(["unshare", "--mount", "--propagation", "private", "/bin/sh", "-c",
                            FAKE_UFW_SH, fake_dir, au.binary()] + list(args),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           stdin=subprocess.DEVNULL, timeout=timeout,
                           env={k: v for k, v in os.environ.items()
                                if k not in ("LISTEN_FDS", "LISTEN_PID")})
        return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")
    return run


def fake_ufw_skip_reason():
    if not IS_ROOT:
        return "needs root (a mount namespace with a stand-in ufw)"
    if shutil.which("unshare") is None or shutil.which("mount") is None:
        return "needs unshare and mount (util-linux)"
    try:
        p = subprocess.run(["unshare", "--mount", "--propagation", "private", "true"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)
    except OSError as e:
        return "unshare: %s" % e
    if p.returncode != 0:
        return "cannot make a mount namespace here"
    return skip_defaults_reason()


def skip_defaults_reason():
    if IS_ROOT and not harness.user_exists("memcache"):
        return "as root the defaults need the user memcache (scripts/ensure-user.sh)"
    return None


FAKE_UFW_SKIP = fake_ufw_skip_reason()


class CheckConfig(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="hc-audit-")
        os.chmod(cls.tmp, 0o755)
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)

    def write(self, name, text, mode=0o644):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)
        return path

    def report(self, *args, **kw):
        return Report(self, args, **kw)

    def assert_finding(self, r, fid, severity, needle=None):
        f = r.finding(fid)
        self.assertEqual(f["severity"], severity)
        if needle:
            self.assertIn(needle, f["message"])
        self.assertRegex(r.text, r"(?m)^%s %s: " % (severity, fid))
        want_rc = 2 if severity == "critical" else 1 if severity == "warning" else None
        if want_rc is not None:
            self.assertGreaterEqual(r.rc, want_rc)

    # --- clean configurations -------------------------------------------

    @unittest.skipIf(skip_defaults_reason(), skip_defaults_reason())
    def test_defaults_are_clean(self):
        r = self.report()
        self.assertEqual(r.rc, 0, r.text)
        self.assertEqual(r.text, "hardcached: configuration OK (0 findings)\n")
        self.assertEqual(r.err, "")
        self.assertEqual(r.json["findings"], [])
        self.assertIsNone(r.json["config_file"])

    @unittest.skipIf(skip_defaults_reason(), skip_defaults_reason())
    def test_shipped_config_file_is_clean(self):
        with open(os.path.join(ROOT, "deploy", "hardcached.conf")) as f:
            conf = self.write("shipped.conf", f.read())
        r = self.report("--config", conf)
        self.assertEqual(r.rc, 0, r.text)
        self.assertEqual(r.json["config_file"], conf)

    @unittest.skipIf(skip_defaults_reason(), skip_defaults_reason())
    def test_a_plain_text_network_configuration_warns_only_of_plain_text(self):
        conf = self.write("net.conf", "listen = 0.0.0.0\nallow = 10.0.0.0/8\n"
                          "max-conns-per-ip = 16\ndisable-flush-all = yes\n")
        r = self.report("--config", conf)
        self.assertTrue(set(r.ids) <= {"listen-plaintext"} | UFW_IDS, r.text)
        self.assert_finding(r, "listen-plaintext", "warning",
                            "listening on 0.0.0.0:11211 without TLS (-Z): keys and values "
                            "cross the network in clear text")
        self.assertEqual(r.rc, 1)

    # --- the cross-host deployment (README) -----------------------------------

    def tls_files(self, key_mode=0o600):
        """A certificate, its key (key_mode) and a client CA, in a directory
        of their own. The audit reads owners and modes, not certificates."""
        d = os.path.join(self.tmp, "tls-%o" % key_mode)
        os.makedirs(d, exist_ok=True)
        os.chmod(d, 0o755)
        cert = self.write(os.path.join(d, "cert.pem"), "-----BEGIN CERTIFICATE-----\n")
        key = self.write(os.path.join(d, "key.pem"), "-----BEGIN PRIVATE KEY-----\n",
                         key_mode)
        ca = self.write(os.path.join(d, "clients-ca.pem"), "-----BEGIN CERTIFICATE-----\n")
        return cert, key, ca

    def assert_clean_but_for_the_firewall(self, r):
        self.assertTrue(set(r.ids) <= UFW_IDS, r.text)
        if not r.ids:
            self.assertEqual(r.rc, 0, r.text)
            self.assertEqual(r.text, "hardcached: configuration OK (0 findings)\n")

    @unittest.skipIf(skip_defaults_reason(), skip_defaults_reason())
    def test_cross_host_deployment_with_mutual_tls_is_clean(self):
        # Serving other hosts: a non-loopback address, an allowlist, a cap per
        # address, no flush_all, and TLS that requires a client certificate
        # signed by the clients' CA. The key is 0600. Nothing to report (but
        # what this host's firewall says).
        cert, key, ca = self.tls_files()
        conf = self.write("cross-host-mtls.conf",
                          "listen = 0.0.0.0:11211\n"
                          "allow = 10.0.0.0/8\n"
                          "max-conns-per-ip = 16\n"
                          "disable-flush-all = yes\n"
                          "enable-ssl = yes\n"
                          "ssl_chain_cert = %s\n"
                          "ssl_key = %s\n"
                          "ssl_ca_cert = %s\n"
                          "ssl_verify_mode = 2\n" % (cert, key, ca))
        self.assert_clean_but_for_the_firewall(self.report("--config", conf))
        # the same on the command line, memcached's way
        r = self.report("-l", "0.0.0.0", "--allow", "10.0.0.0/8", "--max-conns-per-ip", "16",
                        "-F", "-Z", "-o", "ssl_chain_cert=%s,ssl_key=%s,ssl_ca_cert=%s,"
                        "ssl_verify_mode=2" % (cert, key, ca))
        self.assert_clean_but_for_the_firewall(r)

    @unittest.skipIf(skip_defaults_reason(), skip_defaults_reason())
    def test_cross_host_deployment_with_tls_and_logins_is_clean(self):
        # The same with -Y logins instead of client certificates.
        cert, key, _ = self.tls_files()
        auth = self.write("auth", "app:correct-horse-battery-staple\n", 0o600)
        conf = self.write("cross-host-auth.conf",
                          "listen = 0.0.0.0:11211\n"
                          "allow = 10.0.0.0/8\n"
                          "max-conns-per-ip = 16\n"
                          "disable-flush-all = yes\n"
                          "enable-ssl = yes\n"
                          "ssl_chain_cert = %s\n"
                          "ssl_key = %s\n"
                          "auth-file = %s\n" % (cert, key, auth))
        self.assert_clean_but_for_the_firewall(self.report("--config", conf))

    # --- TLS and -Y: each finding ---------------------------------------------

    def mtls_args(self, key_mode=0o600):
        cert, key, ca = self.tls_files(key_mode)
        return ["-Z", "-o", "ssl_chain_cert=%s,ssl_key=%s,ssl_ca_cert=%s,ssl_verify_mode=2"
                % (cert, key, ca)]

    def test_notls_listener_beyond_loopback(self):
        r = self.report(*(self.mtls_args() + ["-l", "notls:0.0.0.0:11212,127.0.0.1",
                                              "--allow", "10.0.0.0/8"]))
        self.assert_finding(r, "listen-plaintext", "warning",
                            "listening on 0.0.0.0:11212 as notls: although -Z is on")
        r = self.report(*(self.mtls_args() + ["-l", "notls:127.0.0.1:11212,127.0.0.1"]))
        self.assertNotIn("listen-plaintext", r.ids)
        r = self.report("-l", "0.0.0.0", "--allow", "10.0.0.0/8", "-Y",
                        self.write("auth-pt", "a:b\n", 0o600))
        self.assert_finding(r, "listen-plaintext", "warning", "keys, values and -Y passwords")

    def test_sasl_passwords_in_clear_text(self):
        # PLAIN sends the password as it is: beyond loopback without TLS the
        # warning names it; over TLS, or on loopback, nothing is said.
        pwdb = self.write("sasl-pt", "a:b\n", 0o600)
        r = self.report("-l", "0.0.0.0", "--allow", "10.0.0.0/8", "-S", "--sasl-pwdb", pwdb)
        self.assert_finding(r, "listen-plaintext", "warning",
                            "keys, values and -S (SASL PLAIN) passwords cross the network")
        cert, key, _ = self.tls_files()
        r = self.report("-l", "0.0.0.0", "--allow", "10.0.0.0/8", "-S", "--sasl-pwdb", pwdb,
                        "-Z", "-o", "ssl_chain_cert=%s,ssl_key=%s" % (cert, key))
        self.assertNotIn("listen-plaintext", r.ids)
        self.assertNotIn("tls-no-client-auth", r.ids, "SASL logins are client authentication")
        self.assertNotIn("listen-plaintext", self.report("-S", "--sasl-pwdb", pwdb).ids)

    def test_sasl_password_file_audited_like_the_auth_file(self):
        pwdb = self.write("sasl-open", "app:secret\n", 0o644)
        r = self.report("-S", "--sasl-pwdb", pwdb)
        self.assert_finding(r, "secret-others-readable", "critical",
                            "SASL password file %s is readable by every user (mode 0644): "
                            "anyone on the host can read every password in it" % pwdb)
        bad = self.write("sasl-bad", "no colon here\n", 0o600)
        rc, out, err = au.run(["--check-config", "-S", "--sasl-pwdb", bad])
        self.assertEqual(rc, 2)
        self.assertRegex(err, r"^hardcached: --sasl-pwdb: %s: line 1: .+\n$" % re.escape(bad))

    def test_tls_without_client_authentication(self):
        cert, key, _ = self.tls_files()
        base = ["-Z", "-o", "ssl_chain_cert=%s,ssl_key=%s" % (cert, key)]
        r = self.report(*(base + ["-l", "0.0.0.0", "--allow", "10.0.0.0/8"]))
        self.assert_finding(r, "tls-no-client-auth", "warning",
                            "-Z with ssl_verify_mode=0 (no client certificate is asked for) "
                            "and no -Y: TLS hides the traffic, but anyone who reaches the "
                            "port may use the cache")
        self.assertIn("-Y FILE", r.finding("tls-no-client-auth")["fix"])
        r = self.report(*base)                              # loopback only: info
        self.assert_finding(r, "tls-no-client-auth", "info", "loopback only")
        self.assertEqual(r.rc, 0)

    def test_old_tls_versions(self):
        r = self.report(*(self.mtls_args() + ["-o", "ssl_min_version=1"]))
        self.assert_finding(r, "tls-old-protocol", "warning", "ssl_min_version=1 accepts TLS 1.1")
        self.assertNotIn("tls-old-protocol", self.report(*self.mtls_args()).ids)

    def test_ssl_settings_without_tls_are_ignored(self):
        r = self.report("-o", "ssl_verify_mode=2,ssl_key=/nonexistent/key.pem")
        self.assert_finding(r, "ssl-without-tls", "info",
                            "ssl_key, ssl_verify_mode are set but -Z is not: TLS is off and "
                            "they are ignored")
        self.assertEqual(r.ids, ["ssl-without-tls"])        # the missing key is not read
        self.assertEqual(r.rc, 0)

    def test_tls_client_identity_listed(self):
        r = self.report(*(self.mtls_args() + ["--tls-client-identity",
                                              "uri:spiffe://example.org/app,dns:app.example"]))
        self.assert_finding(r, "tls-client-identity", "info",
                            "one of 2 identities are served (uri:spiffe://example.org/app, "
                            "dns:app.example)")
        self.assertEqual(r.rc, 0)

    def test_tls_key_readable_by_others_or_group(self):
        r = self.report(*self.mtls_args(0o644))
        self.assert_finding(r, "secret-others-readable", "critical",
                            "key.pem is readable by every user (mode 0644)")
        r = self.report(*self.mtls_args(0o640))
        self.assert_finding(r, "secret-group-readable", "warning",
                            "key.pem is readable by its group (mode 0640)")
        self.assertNotIn("secret-others-readable", r.ids)
        r = self.report(*self.mtls_args(0o620))
        self.assert_finding(r, "file-group-writable", "warning", "TLS key file")
        self.assertNotIn("secret-others-readable", self.report(*self.mtls_args()).ids)
        # (the certificate and the CA file are 0644 there: they may be read) but
        # with the key inside the certificate file, that file is the secret
        cert, _, _ = self.tls_files()
        r = self.report("-Z", "-o", "ssl_chain_cert=%s" % cert)
        self.assert_finding(r, "secret-others-readable", "critical",
                            "TLS certificate and key file %s is readable by every user" % cert)

    @unittest.skipUnless(IS_ROOT, "needs root to give a file to another user")
    def test_tls_key_of_another_user(self):
        args = self.mtls_args()
        key = args[2].split("ssl_key=")[1].split(",")[0]
        os.chown(key, au.NOBODY, au.NOBODY)
        try:
            r = self.report(*args)
            self.assert_finding(r, "file-foreign-owner", "critical",
                                "TLS key file %s is owned by uid %d" % (key, au.NOBODY))
        finally:
            os.chown(key, 0, 0)

    def test_auth_file_readable_by_others(self):
        auth = self.write("auth-open", "app:secret\n", 0o644)
        r = self.report("-Y", auth)
        self.assert_finding(r, "secret-others-readable", "critical",
                            "-Y file %s is readable by every user (mode 0644): anyone on the "
                            "host can read every password in it" % auth)

    def test_missing_or_unreadable_files(self):
        cert, key, _ = self.tls_files()
        missing = os.path.join(self.tmp, "no-such-ca.pem")
        r = self.report("-Z", "-o", "ssl_chain_cert=%s,ssl_key=%s,ssl_ca_cert=%s,"
                        "ssl_verify_mode=2" % (cert, key, missing))
        self.assert_finding(r, "file-unreadable", "critical",
                            "TLS CA file %s does not exist: the start will fail" % missing)
        r = self.report("-Y", self.tmp)
        self.assert_finding(r, "file-unreadable", "critical", "is not a regular file")
        if IS_ROOT:                                         # as the service user
            r = self.report(*self.mtls_args(), as_nobody=True)
            self.assert_finding(r, "file-unreadable", "critical",
                                "cannot be read by uid %d (Permission denied)" % au.NOBODY)

    def test_malformed_auth_file_is_an_invalid_configuration(self):
        auth = self.write("auth-bad", "app:secret\nno colon on this line\n", 0o600)
        rc, out, err = au.run(["--check-config", "-Y", auth])
        self.assertEqual((rc, out), (2, ""))
        self.assertRegex(err, r"^hardcached: -Y/--auth-file: %s: line 2: .+\n$"
                         % re.escape(auth))
        rc, out, err2 = au.run(["--check-config", "--format=json", "-Y", auth])
        self.assertEqual(rc, 2)
        j = json.loads(out)
        self.assertFalse(j["valid"])
        self.assertEqual(j["error"], err.rstrip("\n"))
        self.assertEqual(j["summary"]["result"], "invalid")

    def test_tls_options_refused_under_check_config(self):
        cases = [
            (["-Z"], "hardcached: -Z/--enable-ssl: needs -o ssl_chain_cert=FILE"),
            (["-Z", "-o", "ssl_chain_cert=/c,ssl_verify_mode=2"],
             "hardcached: -o/--extended: ssl_verify_mode: 2 asks for client certificates, "
             "but ssl_ca_cert is not set, so none can be verified"),
            (["--tls-client-identity", "cn:a"], "hardcached: --tls-client-identity: needs -Z"),
            (["-Z", "-o", "ssl_chain_cert=/c", "--tls-client-identity", "cn:a"],
             "hardcached: --tls-client-identity: needs -o ssl_verify_mode=2 or 3"),
            (["--tls-client-identity", "dns:*.example"],
             "hardcached: --tls-client-identity: entry 1 \"dns:*.example\": wildcards are "
             "not accepted"),
        ]
        for args, want in cases:
            rc, out, err = au.run(args + ["--check-config"])
            self.assertEqual(rc, 2, args)
            self.assertTrue(err.startswith(want), "%s: %s" % (args, err))
            self.assertEqual(err.count("\n"), 1, err)
            rc, _, err64 = au.run(args)
            self.assertEqual((rc, err64), (64, err), args)

    # --- the brief's example ----------------------------------------------

    def test_dangerous_configuration(self):
        r = self.report("-l", "0.0.0.0", "--seccomp=off", "-A")
        self.assertEqual(r.rc, 2)
        self.assert_finding(r, "listen-exposed", "critical",
                            "listening on 0.0.0.0:11211 with no allowlist: anyone who can "
                            "reach this host can read and write the cache")
        self.assert_finding(r, "seccomp-off", "critical")
        self.assert_finding(r, "shutdown-enabled", "warning")
        self.assertRegex(r.lines[-1], r"^hardcached: configuration has critical findings")

    # --- each finding ---------------------------------------------------------

    def test_listen_exposed_ipv6_and_host_port(self):
        r = self.report("-l", "[::]:11300,127.0.0.1")
        self.assert_finding(r, "listen-exposed", "critical", "[::]:11300")
        self.assertNotIn("127.0.0.1", r.finding("listen-exposed")["message"])

    def test_listen_unresolvable(self):
        r = self.report("-l", "hc-audit-test.invalid")
        self.assert_finding(r, "listen-unresolvable", "warning", "hc-audit-test.invalid")

    def test_listen_ignored_with_a_unix_socket(self):
        r = self.report("-s", os.path.join(self.tmp, "hc.sock"), "-l", "0.0.0.0")
        self.assert_finding(r, "listen-ignored", "info")
        self.assertNotIn("listen-exposed", r.ids)

    def test_allowlist_admits_all(self):
        for cidr in ("0.0.0.0/0", "::/0", "0.0.0.0/1,128.0.0.0/1"):
            r = self.report("--allow", cidr)
            self.assert_finding(r, "allowlist-admits-all", "critical")
            self.assertEqual(r.rc, 2)

    def test_allowlist_wider_than_listen(self):
        r = self.report("--allow", "127.0.0.1,10.0.0.0/8")
        self.assert_finding(r, "allowlist-wider-than-listen", "info", "10.0.0.0/8")
        self.assertNotIn("127.0.0.1", r.finding("allowlist-wider-than-listen")["message"])

    def test_allowlist_unused_with_a_unix_socket(self):
        r = self.report("-s", os.path.join(self.tmp, "hc.sock"), "--allow", "10.0.0.0/8")
        self.assert_finding(r, "allowlist-unused", "info")

    def test_seccomp_off_and_log(self):
        self.assert_finding(self.report("--seccomp=off"), "seccomp-off", "critical")
        r = self.report("--seccomp=log")
        self.assert_finding(r, "seccomp-log", "warning")

    def test_shutdown_coredumps_read_timeout(self):
        self.assert_finding(self.report("-A"), "shutdown-enabled", "warning")
        self.assert_finding(self.report("-r"), "coredumps-enabled", "warning")
        self.assert_finding(self.report("--read-timeout", "0"), "read-timeout-off", "warning")

    def test_vv_logs_keys_v_does_not(self):
        self.assert_finding(self.report("-vv"), "keys-logged", "warning")
        self.assertNotIn("keys-logged", self.report("-v").ids)

    def test_exposed_without_per_ip_cap_and_with_flush_all(self):
        r = self.report("-l", "0.0.0.0", "--allow", "10.0.0.0/8")
        self.assert_finding(r, "per-ip-unlimited", "warning",
                            "no per-address connection cap (--max-conns-per-ip 0) and no idle "
                            "timeout (-o idle_timeout=0)")
        fix = r.finding("per-ip-unlimited")["fix"]
        self.assertIn("--max-conns-per-ip", fix)
        self.assertIn("idle_timeout", fix)
        self.assert_finding(r, "flush-all-exposed", "info")
        self.assertNotIn("listen-exposed", r.ids)
        r = self.report("-l", "0.0.0.0", "--allow", "10.0.0.0/8", "--max-conns-per-ip", "8",
                        "-F")
        self.assertNotIn("per-ip-unlimited", r.ids)
        self.assertNotIn("flush-all-exposed", r.ids)

    def test_per_ip_unlimited_is_info_with_an_idle_timeout_or_on_loopback(self):
        r = self.report("-l", "0.0.0.0", "--allow", "10.0.0.0/8", "-o", "idle_timeout=120")
        self.assert_finding(r, "per-ip-unlimited", "info", "idle for 120 s")
        conf = self.write("idle.conf", "listen = 0.0.0.0\nallow = 10.0.0.0/8\n"
                          "idle_timeout = 120\n")
        self.assert_finding(self.report("--config", conf), "per-ip-unlimited", "info")
        r = self.report("-l", "127.0.0.1", "-o", "idle_timeout=0")
        self.assertNotIn("per-ip-unlimited", r.ids)

    def test_unix_socket_open_to_others(self):
        sock = os.path.join(self.tmp, "hc.sock")
        r = self.report("-s", sock, "-a", "0777")
        self.assert_finding(r, "unix-socket-open", "warning", "mask 0777")
        self.assertNotIn("unix-socket-open", self.report("-s", sock, "-a", "0770").ids)

    def test_config_file_writable_by_others(self):
        conf = self.write("open.conf", "port = 11211\n", 0o666)
        r = self.report("--config", conf)
        self.assert_finding(r, "file-others-writable", "critical",
                            "config file %s is writable by every user (mode 0666)" % conf)

    def test_config_directory_writable_by_others(self):
        d = os.path.join(self.tmp, "opendir")
        os.makedirs(d, exist_ok=True)
        os.chmod(d, 0o777)
        conf = os.path.join(d, "hc.conf")
        with open(conf, "w") as f:
            f.write("port = 11211\n")
        os.chmod(conf, 0o644)
        r = self.report("--config", conf)
        self.assert_finding(r, "file-others-writable", "critical", "directory %s" % d)
        os.chmod(d, 0o1777)                          # sticky, like /tmp: fine
        self.assertNotIn("file-others-writable", self.report("--config", conf).ids)

    def test_allowlist_file_writable_by_group(self):
        lst = self.write("allow.list", "10.0.0.0/8\n", 0o664)
        r = self.report("--allow-file", lst)
        self.assert_finding(r, "file-group-writable", "warning",
                            "allowlist file %s is writable by its group (mode 0664)" % lst)

    @unittest.skipUnless(IS_ROOT, "needs root to give a file to another user")
    def test_config_file_of_another_user(self):
        conf = self.write("foreign.conf", "port = 11211\n")
        os.chown(conf, au.NOBODY, au.NOBODY)
        r = self.report("--config", conf)
        self.assert_finding(r, "file-foreign-owner", "critical",
                            "owned by uid %d" % au.NOBODY)

    def test_memory_larger_than_the_host(self):
        r = self.report("-m", str(phys_mb() + 1024))
        self.assert_finding(r, "memory-exceeds-ram", "critical", "physical memory")
        r = self.report("-m", str(phys_mb() * 9 // 10))
        self.assert_finding(r, "memory-near-ram", "warning", "more than 80%")
        self.assertNotIn("memory-exceeds-ram", r.ids)

    @unittest.skipUnless(IS_ROOT, "needs root to run as another user")
    def test_conn_limit_above_the_open_files_limit(self):
        r = self.report("-c", "2048", as_nobody=True, nofile=(1024, 1024))
        self.assert_finding(r, "conn-limit-above-nofile", "warning",
                            "-c 2048 needs 2112 open files")
        r = self.report("-c", "960", as_nobody=True, nofile=(1024, 1024))
        self.assertNotIn("conn-limit-above-nofile", r.ids)

    @unittest.skipUnless(IS_ROOT, "the run-as user only matters when started as root")
    def test_run_as_user_missing(self):
        r = self.report("-u", "hc-no-such-user")
        self.assert_finding(r, "user-missing", "critical", "\"hc-no-such-user\" does not exist")

    @unittest.skipUnless(IS_ROOT, "needs root to run as another user")
    def test_user_ignored_when_not_root(self):
        r = self.report(as_nobody=True)
        self.assert_finding(r, "user-ignored", "info", "runs as \"nobody\"")
        self.assertEqual(r.rc, 0)

    def test_socket_activation_skips_listen_findings(self):
        r = self.report("-l", "0.0.0.0", env={"LISTEN_FDS": "1", "LISTEN_PID": "1"})
        self.assert_finding(r, "socket-activated", "info", "LISTEN_FDS")
        self.assertNotIn("listen-exposed", r.ids)
        self.assertNotIn("per-ip-unlimited", r.ids)

    @unittest.skipUnless(IS_ROOT and HAVE_UFW, "needs root and /usr/sbin/ufw")
    def test_ufw_unreadable_as_the_service_user(self):
        r = self.report("-l", "0.0.0.0", "--allow", "10.0.0.0/8", as_nobody=True)
        self.assert_finding(r, "ufw-unreadable", "info", "not running as root")
        self.assertNotIn("ufw-inactive", r.ids)
        self.assertNotIn("ufw-open", r.ids)

    @unittest.skipUnless(IS_ROOT and HAVE_UFW, "needs root and /usr/sbin/ufw")
    def test_ufw_state_as_root(self):
        import subprocess
        st = subprocess.run(["/usr/sbin/ufw", "status", "verbose"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, timeout=30,
                            env={"LC_ALL": "C", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
        text = st.stdout.decode(errors="replace")
        r = self.report("-l", "0.0.0.0", "--allow", "10.0.0.0/8")
        ufw_ids = [i for i in r.ids if i.startswith("ufw-")]
        if st.returncode != 0:
            self.assertEqual(ufw_ids, ["ufw-unreadable"], r.text)
        elif "Status: inactive" in text:
            self.assertEqual(ufw_ids, ["ufw-inactive"], r.text)
            self.assert_finding(r, "ufw-inactive", "warning", "0.0.0.0:11211")  # allowlisted
            r = self.report("-l", "0.0.0.0")
            self.assert_finding(r, "ufw-inactive", "critical", "0.0.0.0:11211")
        else:
            self.skipTest("ufw is active here; its verdicts are proven by test_audit.c "
                          "(this test changes no firewall)")
        # loopback only: ufw is not asked
        self.assertFalse([i for i in self.report().ids if i.startswith("ufw-")])

    @unittest.skipIf(FAKE_UFW_SKIP, FAKE_UFW_SKIP)
    def test_ufw_inactive_is_a_warning_with_an_allowlist(self):
        d = os.path.join(self.tmp, "fake-sbin")
        os.makedirs(d, exist_ok=True)
        os.chmod(d, 0o755)
        self.write(os.path.join(d, "ufw"), "#!/bin/sh\necho 'Status: inactive'\n", 0o755)
        run = fake_ufw_runner(d)
        # the allowlist refuses other peers: a warning, and --fail-on=critical passes
        r = self.report("-l", "0.0.0.0", "--allow", "10.0.0.0/24", runner=run)
        self.assert_finding(r, "ufw-inactive", "warning",
                            "no firewall rule keeps others away from 0.0.0.0:11211; only "
                            "the daemon's allowlist refuses them")
        self.assertEqual(r.rc, 1, r.text)
        r = self.report("-l", "0.0.0.0", "--allow", "10.0.0.0/24", "--fail-on=critical",
                        runner=run)
        self.assertEqual(r.rc, 0, r.text)
        self.assertEqual(r.json["summary"]["critical"], 0)
        # nothing in front of the port: critical, whatever --fail-on says
        for args in (["-l", "0.0.0.0"], ["-l", "0.0.0.0", "--allow", "0.0.0.0/0"]):
            r = self.report(*(args + ["--fail-on=critical"]), runner=run)
            self.assert_finding(r, "ufw-inactive", "critical", "0.0.0.0:11211")
            self.assertEqual(r.rc, 2)

    # --- exit statuses and --fail-on -------------------------------------------

    def test_fail_on_critical(self):
        r = self.report("-A")
        self.assertEqual(r.rc, 1)
        self.assertRegex(r.lines[-1], r"has warnings \(1 finding: 0 critical, 1 warning")
        r = self.report("-A", "--fail-on=critical")
        self.assertEqual(r.rc, 0)
        self.assertEqual(r.json["summary"]["fail_on"], "critical")
        self.assertRegex(r.lines[-1], r"OK, with warnings \(--fail-on=critical\)")
        r = self.report("-A", "--seccomp=off", "--fail-on=critical")
        self.assertEqual(r.rc, 2)

    def test_info_only_exits_0(self):
        r = self.report("--allow", "127.0.0.1,10.0.0.0/8")
        self.assertEqual(r.rc, 0)
        self.assertRegex(r.lines[-1], r"^hardcached: configuration OK \(1 finding: 0 critical, "
                                      r"0 warning, 1 info\)$")

    # --- invalid configurations -------------------------------------------------

    def test_invalid_file_exits_2_under_check_config_and_64_otherwise(self):
        conf = self.write("bad.conf", "port = 11211\nmemory-limit = lots\n")
        want = ("hardcached: %s:2: memory-limit: expected an integer 1-67108864 (megabytes, "
                "no suffix), got \"lots\"\n" % conf)
        rc, out, err = au.run(["--config", conf, "--check-config"])
        self.assertEqual((rc, out, err), (2, "", want))
        rc, out, err = au.run(["--check-config", "--format=json", "--config", conf])
        self.assertEqual(rc, 2)
        self.assertEqual(err, want)
        j = json.loads(out)
        self.assertFalse(j["valid"])
        self.assertEqual(j["error"], want.rstrip("\n"))
        self.assertEqual(j["findings"], [])
        self.assertEqual(j["summary"]["exit_status"], 2)
        self.assertEqual(j["summary"]["result"], "invalid")
        rc, out, err = au.run(["--config", conf])
        self.assertEqual((rc, out, err), (64, "", want))

    def test_invalid_flags_exit_2_under_check_config(self):
        for args in (["-p", "junk"], ["--bogus"], ["-u", "root"], ["--config", "/nonexistent"]):
            rc, out, err = au.run(args + ["--check-config"])
            self.assertEqual(rc, 2, args)
            self.assertRegex(err, r"^hardcached: .+\n$")
            rc, _, _ = au.run(args)
            self.assertEqual(rc, 64, args)

    def test_format_and_fail_on_need_check_config(self):
        rc, _, err = au.run(["--format=json"])
        self.assertEqual((rc, err), (64, "hardcached: --format: only applies with "
                                         "--check-config\n"))
        rc, _, err = au.run(["--check-config", "--format=yaml"])
        self.assertEqual(rc, 2)
        self.assertIn("expected text or json", err)

    # --- the file and the command line, as a start would load them ---------------

    def test_command_line_overrides_the_file(self):
        conf = self.write("wide.conf", "listen = 0.0.0.0\nseccomp = off\nenable-shutdown = yes\n")
        r = self.report("--config", conf)
        self.assertTrue({"listen-exposed", "seccomp-off", "shutdown-enabled"} <= set(r.ids))
        r = self.report("--config", conf, "-l", "127.0.0.1", "--seccomp=on",
                        "--enable-shutdown")
        self.assertNotIn("listen-exposed", r.ids)
        self.assertNotIn("seccomp-off", r.ids)
        self.assertIn("shutdown-enabled", r.ids)

    def test_starts_nothing(self):
        with socket.socket() as held:                    # the port is taken ...
            held.bind(("127.0.0.1", 0))
            held.listen(1)
            port = held.getsockname()[1]
            pid = os.path.join(self.tmp, "hc.pid")
            rc, out, err = au.run(["--check-config", "-l", "127.0.0.1", "-p", str(port),
                                   "-P", pid, "-d"])
        self.assertIn(rc, (0, 1, 2))                     # ... and no bind was tried
        self.assertNotIn("cannot listen", err)
        self.assertFalse(os.path.exists(pid), "--check-config wrote the pidfile")

    def test_json_escapes_paths(self):
        d = os.path.join(self.tmp, 'we"ird\\dir')
        os.makedirs(d, exist_ok=True)
        os.chmod(d, 0o755)
        conf = os.path.join(d, "hc.conf")
        with open(conf, "w") as f:
            f.write("port = 11211\n")
        os.chmod(conf, 0o666)
        r = self.report("--config", conf)
        self.assertEqual(r.json["config_file"], conf)
        self.assertIn(conf, r.finding("file-others-writable")["message"])
        self.assertIn(conf, r.text)


if __name__ == "__main__":
    unittest.main()
