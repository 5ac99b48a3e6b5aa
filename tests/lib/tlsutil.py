"""tlsutil.py: what the TLS tests share. A throwaway PKI made with the openssl
command in a temp dir (one per test class): a CA, a server certificate for
127.0.0.1/::1/localhost, client certificates carrying an identity in each
place --tls-client-identity looks (SAN DNS, SAN URI with a SPIFFE ID, subject
CN only), one signed by a second CA nobody trusts and one that has expired;
new server certificates on demand (refresh tests) and certbot-style swaps of
the files a server was started with. Client contexts (pinned TLS version,
optional client certificate), a RawClient over TLS, a Server that probes its
port over TLS, and the outcome of one TLS conversation ("served" or why not).
Every file is readable by the unprivileged user memcached runs as (it reads
certificates again after dropping privileges, on refresh_certs). Nothing
here sleeps: every socket has a timeout, every wait a deadline. Traffic goes
to 127.0.0.1 only."""
import hashlib
import itertools
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time

import harness

SPIFFE_ID = "spiffe://example.org/ns/prod/sa/app"
OTHER_SPIFFE_ID = "spiffe://example.org/ns/prod/sa/other"
CLIENT_DNS = "app.example.org"
CLIENT_CN = "cn-client"

_serials = itertools.count(1000)


def _openssl(args, cwd):
    r = subprocess.run(["openssl"] + args, cwd=cwd, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=60)
    if r.returncode != 0:
        raise RuntimeError("openssl %s failed: %s" % (" ".join(args),
                                                      r.stdout.decode(errors="replace")))
    return r.stdout


class Cert:
    """One certificate and its key: .cert and .key are paths (PEM), .der the
    certificate's DER bytes, .serial its serial number."""

    def __init__(self, cert, key, serial):
        self.cert, self.key, self.serial = cert, key, serial
        with open(cert) as f:
            self.der = ssl.PEM_cert_to_DER_cert(f.read())

    @property
    def fingerprint(self):
        return hashlib.sha256(self.der).hexdigest()


class PKI:
    """The certificates of one test class, in their own temp dir (0755, files
    0644: readable by memcached's unprivileged user). close() removes it."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="hc-tls-")
        os.chmod(self.dir, 0o755)
        self.ca = self._ca("ca", "hardcached test CA")
        self.other_ca = self._ca("ca2", "untrusted test CA")
        self.server = self.new_server_cert("server")
        self.client_dns = self._client("client-dns", "dns-only-client",
                                       "DNS:%s" % CLIENT_DNS)
        self.client_uri = self._client("client-uri", "uri-only-client", "URI:%s" % SPIFFE_ID)
        self.client_cn = self._client("client-cn", CLIENT_CN, None)
        self.client_other_uri = self._client("client-uri2", "other-uri-client",
                                             "URI:%s" % OTHER_SPIFFE_ID)
        # the untrusted one carries every identity the trusted ones do: only
        # the CA can refuse it
        self.client_untrusted = self._client("client-untrusted", CLIENT_CN,
                                             "DNS:%s,URI:%s" % (CLIENT_DNS, SPIFFE_ID),
                                             ca=self.other_ca)
        self.client_expired = self._client("client-expired", CLIENT_CN,
                                           "DNS:%s,URI:%s" % (CLIENT_DNS, SPIFFE_ID),
                                           days=-1)

    def path(self, name):
        return os.path.join(self.dir, name)

    def _key(self, name):
        key = self.path(name + ".key")
        _openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                  "-out", key], self.dir)
        os.chmod(key, 0o644)
        return key

    def _ca(self, name, cn):
        key = self._key(name)
        cert = self.path(name + ".pem")
        serial = next(_serials)
        _openssl(["req", "-x509", "-new", "-key", key, "-out", cert, "-days", "3650",
                  "-subj", "/CN=%s" % cn, "-set_serial", str(serial),
                  "-addext", "basicConstraints=critical,CA:TRUE",
                  "-addext", "keyUsage=critical,keyCertSign,cRLSign"], self.dir)
        os.chmod(cert, 0o644)
        return Cert(cert, key, serial)

    def _sign(self, name, subject, exts, ca, days=30):
        """A certificate for a fresh key, signed by ca; exts are the lines of
        its extension section."""
        key = self._key(name)
        csr = self.path(name + ".csr")
        cert = self.path(name + ".pem")
        extfile = self.path(name + ".ext")
        with open(extfile, "w") as f:
            f.write("\n".join(exts) + "\n")
        _openssl(["req", "-new", "-key", key, "-out", csr, "-subj", subject], self.dir)
        serial = next(_serials)
        _openssl(["x509", "-req", "-in", csr, "-CA", ca.cert, "-CAkey", ca.key,
                  "-set_serial", str(serial), "-days", str(days), "-extfile", extfile,
                  "-out", cert], self.dir)
        os.chmod(cert, 0o644)
        return Cert(cert, key, serial)

    def new_server_cert(self, name, ca=None):
        """A server certificate (and key) for 127.0.0.1, ::1 and localhost,
        with a serial of its own: name.pem, name.key in the PKI dir."""
        return self._sign(name, "/CN=localhost",
                          ["basicConstraints=CA:FALSE",
                           "keyUsage=critical,digitalSignature",
                           "extendedKeyUsage=serverAuth",
                           "subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost"],
                          ca or self.ca)

    def _client(self, name, cn, san, ca=None, days=30):
        exts = ["basicConstraints=CA:FALSE", "keyUsage=critical,digitalSignature",
                "extendedKeyUsage=clientAuth"]
        if san:
            exts.append("subjectAltName=" + san)
        return self._sign(name, "/CN=%s" % cn, exts, ca or self.ca, days)

    def der_key(self, cert, name):
        """cert's key in DER (for ssl_keyformat=2)."""
        out = self.path(name + ".der")
        _openssl(["pkey", "-in", cert.key, "-outform", "DER", "-out", out], self.dir)
        os.chmod(out, 0o644)
        return out

    def client_context(self, cert=None, min_version=None, max_version=None,
                       seclevel0=False, verify=True):
        """A client SSLContext trusting our CA (verifying 127.0.0.1 against the
        server certificate's SAN), presenting cert (a Cert) when given, and
        pinned between min_version and max_version (ssl.TLSVersion)."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        if verify:
            ctx.load_verify_locations(self.ca.cert)
        else:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        if seclevel0:
            # OpenSSL 3 refuses TLS 1.0/1.1 at the default security level
            ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        if min_version is not None:
            ctx.minimum_version = min_version
        if max_version is not None:
            ctx.maximum_version = max_version
        if cert is not None:
            ctx.load_cert_chain(cert.cert, cert.key)
        return ctx

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)


# ---- certbot-style swaps ---------------------------------------------------------

def replace_file(dst, src):
    """Puts a copy of src at dst the way certbot and most deploy tools do:
    written next to it under another name, then renamed over it (so dst is a
    new inode; a reader holding the old one would not see the change)."""
    tmp = dst + ".new"
    shutil.copyfile(src, tmp)
    os.chmod(tmp, 0o644)
    os.rename(tmp, dst)


def write_file(dst, data):
    """Replaces dst by data (bytes or str), again through a rename."""
    tmp = dst + ".new"
    with open(tmp, "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)
    os.chmod(tmp, 0o644)
    os.rename(tmp, dst)


class LiveDir:
    """certbot's layout: live/cert.pem and live/privkey.pem are symlinks into
    archive/, where each renewal adds certN.pem/privkeyN.pem; a renewal
    re-points the symlinks (each through a rename, so never dangling)."""

    def __init__(self, root, first):
        self.root = root
        self.archive = os.path.join(root, "archive")
        self.live = os.path.join(root, "live")
        for d in (root, self.archive, self.live):
            os.makedirs(d, exist_ok=True)
            os.chmod(d, 0o755)
        self.n = 0
        self.cert = os.path.join(self.live, "cert.pem")
        self.key = os.path.join(self.live, "privkey.pem")
        self.renew(first)

    def renew(self, c):
        self.n += 1
        for link, src, kind in ((self.cert, c.cert, "cert"), (self.key, c.key, "privkey")):
            target = os.path.join(self.archive, "%s%d.pem" % (kind, self.n))
            shutil.copyfile(src, target)
            os.chmod(target, 0o644)
            tmp = link + ".tmp"
            os.symlink(os.path.relpath(target, self.live), tmp)
            os.rename(tmp, link)


# ---- clients ---------------------------------------------------------------------

def tls_connect(port, ctx, host="127.0.0.1", timeout=5.0):
    """A TLS socket to host:port after a completed handshake (raises the
    ssl.SSLError / OSError of a refused one)."""
    raw = socket.create_connection((host, port), timeout)
    try:
        return ctx.wrap_socket(raw, server_hostname=host)
    except BaseException:
        raw.close()
        raise


def peer_fingerprint(sock):
    return hashlib.sha256(sock.getpeercert(binary_form=True)).hexdigest()


class TLSClient(harness.RawClient):
    """harness.RawClient over TLS: the same byte-exact reads and writes."""

    def __init__(self, port, ctx, host="127.0.0.1", timeout=5.0):
        self.sock = tls_connect(port, ctx, host, timeout)
        self.buf = b""

    @property
    def fingerprint(self):
        return peer_fingerprint(self.sock)

    @property
    def version(self):
        return self.sock.version()


def outcome(port, ctx, host="127.0.0.1", timeout=5.0, expect=b"VERSION "):
    """What one TLS client gets: ("served", tls version, peer fingerprint)
    when `version` is answered over TLS (with a line starting with expect:
    b"" takes any answer, as an -Y server's "CLIENT_ERROR unauthenticated"
    still proves the TLS session works); otherwise ("refused", why, None),
    why naming the stage (handshake, or the first read: under TLS 1.3 a
    refused client certificate shows only there, as an alert after the
    handshake) and the error. A server that neither answers nor closes
    within timeout is a third outcome, ("hung", ..., None)."""
    try:
        s = tls_connect(port, ctx, host, timeout)
    except ssl.SSLError as e:
        return ("refused", "handshake: %s" % e, None)
    except socket.timeout:
        return ("hung", "handshake timed out", None)
    except OSError as e:
        return ("refused", "handshake: %r" % e, None)
    try:
        try:
            s.sendall(b"version\r\n")
            data = b""
            deadline = time.monotonic() + timeout
            while not data.endswith(b"\r\n") and time.monotonic() < deadline:
                chunk = s.recv(1024)
                if not chunk:
                    return ("refused", "first read: closed after %r" % data, None)
                data += chunk
        except ssl.SSLError as e:
            return ("refused", "first read: %s" % e, None)
        except socket.timeout:
            return ("hung", "no answer to version", None)
        except OSError as e:
            return ("refused", "first read: %r" % e, None)
        if data.endswith(b"\r\n") and data.startswith(expect):
            return ("served", s.version(), peer_fingerprint(s))
        return ("refused", "answered %r" % data[:100], None)
    finally:
        s.close()


def plain_outcome(port, host="127.0.0.1", timeout=5.0):
    """(bytes received, closed) for a plain-text `version` sent to host:port."""
    s = harness.connect(port, host, timeout)
    try:
        try:
            s.sendall(b"version\r\n")
        except OSError:
            return b"", True
        return harness.read_to_close(s, timeout)
    finally:
        s.close()


def plain_answers(port, expect=b"VERSION ", host="127.0.0.1"):
    """True if a plain-text `version` on host:port is answered now with a
    line starting with expect (b"": any line). Never raises."""
    try:
        with socket.create_connection((host, port), 0.2) as s:
            s.sendall(b"version\r\n")
            s.settimeout(1.0)
            data = b""
            while not data.endswith(b"\r\n") and len(data) < 1000:
                chunk = s.recv(1000)
                if not chunk:
                    return False
                data += chunk
            return data.startswith(expect)
    except OSError:
        return False


class TLSServer(harness.Server):
    """harness.Server whose readiness probe speaks TLS with probe_ctx (a
    context the server will serve, client certificate included when it
    requires one). probe_port: probe that port (TLS) instead of .port; with
    probe_plain, probe it in plain text (a notls: listener, or a server
    without -Z, e.g. an -Y server). probe_expect:
    the start of the answer to `version` that counts (b"" for an -Y server,
    which answers CLIENT_ERROR before a login)."""

    def __init__(self, args=(), probe_ctx=None, probe_port=None, probe_plain=False,
                 probe_expect=b"VERSION ", **kw):
        self.probe_ctx = probe_ctx
        self.probe_expect = probe_expect
        self.probe_port = probe_port
        self.probe_plain = probe_plain
        super().__init__(args=args, **kw)

    def _ready_once(self):
        port = self.probe_port or self.port
        if self.probe_plain:
            return plain_answers(port, self.probe_expect)
        try:
            return outcome(port, self.probe_ctx, timeout=1.0,
                           expect=self.probe_expect)[0] == "served"
        except OSError:
            return False

    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("server exited %s: %s\n%s" % (
                    self.proc.returncode, " ".join(self.cmd), self.output()))
            if self._ready_once():
                return
            time.sleep(0.02)
        out = self.output()
        self.stop()
        raise RuntimeError("server did not answer over TLS within %.0fs: %s\n%s"
                           % (timeout, " ".join(self.cmd), out))

    def tls_client(self, ctx=None, timeout=5.0):
        return TLSClient(self.port, ctx or self.probe_ctx, timeout=timeout)

    def stats(self, sub=""):
        """stats over TLS (the probe's context)."""
        with self.tls_client() as c:
            return c.stats(sub)


def ssl_opts(pki, cert=None, key=None, **more):
    """The value of -o for a TLS server: ssl_chain_cert, ssl_key, ssl_ca_cert
    (our CA) and more (name=value, in the order given; a value of None
    gives the bare name, e.g. ssl_session_cache)."""
    opts = ["ssl_chain_cert=%s" % (cert or pki.server.cert),
            "ssl_key=%s" % (key or pki.server.key),
            "ssl_ca_cert=%s" % pki.ca.cert]
    opts += [k if v is None else "%s=%s" % (k, v) for k, v in more.items()]
    return ",".join(opts)


def client_hello(ctx, host="127.0.0.1"):
    """The bytes a client built on ctx sends first (its ClientHello record),
    made in memory: for tests that send only part of a handshake."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname=host)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


# ---- the reader process ------------------------------------------------------------

def children_of(pid):
    """Pids whose parent is pid: from /proc/PID/task/*/children when the
    kernel has it, else by scanning /proc for PPid == pid."""
    out = set()
    try:
        for tid in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/children" % (pid, tid)) as f:
                out.update(int(c) for c in f.read().split())
        return sorted(out)
    except FileNotFoundError:
        pass
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/status" % name) as f:
                for line in f:
                    if line.startswith("PPid:"):
                        if int(line.split()[1]) == pid:
                            out.add(int(name))
                        break
        except (FileNotFoundError, ProcessLookupError):
            pass
    return sorted(out)


def start_time(pid):
    """Field 22 of /proc/PID/stat (start time in ticks): with the pid, it
    names one process even if the pid is reused. None when it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return int(stat[stat.rindex(")") + 2:].split()[19])


def process_gone(pid, started):
    """True once the process (pid, started) no longer runs: no /proc entry,
    another process under that pid, or a zombie nobody reaped yet."""
    if start_time(pid) != started:
        return True
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("State:"):
                    return line.split()[1] in ("Z", "X")
    except (FileNotFoundError, ProcessLookupError):
        return True
    return False
