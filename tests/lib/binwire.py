"""binwire.py: memcached's binary protocol as the test suites speak it:
request packets built as bytes (lengths that lie included), answers parsed
into packets, normalised for comparison with memcached 1.6.18 (cas values
become the order they first appear in, the version text a token), a daemon
whose readiness is a binary VERSION, and memcached's SASL set-up (a Cyrus
sasldb made with saslpasswd2) for the reference server. No test logic here."""
import collections
import os
import shutil
import socket
import struct
import subprocess

import harness

REQ, RES = 0x80, 0x81
HEADER = struct.Struct(">BBHBBHIIQ")

# opcodes (protocol_binary.h)
GET, SET, ADD, REPLACE, DELETE, INCR, DECR, QUIT, FLUSH = range(9)
GETQ, NOOP, VERSION, GETK, GETKQ, APPEND, PREPEND, STAT = range(0x09, 0x11)
SETQ, ADDQ, REPLACEQ, DELETEQ, INCRQ, DECRQ, QUITQ, FLUSHQ, APPENDQ, PREPENDQ = \
    range(0x11, 0x1b)
VERBOSITY, TOUCH, GAT, GATQ = 0x1b, 0x1c, 0x1d, 0x1e
SASL_LIST_MECHS, SASL_AUTH, SASL_STEP, GATK, GATKQ = 0x20, 0x21, 0x22, 0x23, 0x24

Packet = collections.namedtuple("Packet", "magic opcode status extras key value opaque cas")


def pkt(op, key=b"", extras=b"", value=b"", opaque=0, cas=0, magic=REQ, keylen=None,
        extlen=None, bodylen=None):
    """A request; keylen/extlen/bodylen override what the header says."""
    kl = len(key) if keylen is None else keylen
    el = len(extras) if extlen is None else extlen
    bl = len(key) + len(extras) + len(value) if bodylen is None else bodylen
    return HEADER.pack(magic, op, kl, el, 0, 0, bl, opaque, cas) + extras + key + value


def set_extras(flags=0, exptime=0):
    return struct.pack(">II", flags, exptime)


def delta_extras(delta, initial=0, exptime=0):
    return struct.pack(">QQI", delta, initial, exptime)


def plain(user, password, authzid=b""):
    """SASL PLAIN's message."""
    return authzid + b"\0" + user + b"\0" + password


def parse(data):
    """([Packet], rest): the answer packets in data, and bytes that do not
    make a whole one."""
    out = []
    while len(data) >= HEADER.size:
        magic, op, kl, el, _dt, st, bl, opq, cas = HEADER.unpack(data[:HEADER.size])
        if len(data) < HEADER.size + bl:
            break
        body = data[HEADER.size:HEADER.size + bl]
        out.append(Packet(magic, op, st, body[:el], body[el:el + kl], body[el + kl:], opq, cas))
        data = data[HEADER.size + bl:]
    return out, data


def normalise(data):
    """An answer as comparable data: packets with cas values replaced by the
    order of their first appearance (0 stays 0), the version's text by
    "VERSION"; trailing bytes as they are."""
    packets, rest = parse(data)
    seen = {}
    out = []
    for p in packets:
        cas = 0 if p.cas == 0 else seen.setdefault(p.cas, len(seen) + 1)
        value = b"VERSION" if p.opcode == VERSION and p.status == 0 else p.value
        out.append(p._replace(cas=cas, value=value))
    return out, rest


def answers_binary_version(port):
    """True once a binary VERSION on 127.0.0.1:port is answered."""
    try:
        with socket.create_connection(("127.0.0.1", port), 0.2) as s:
            s.sendall(pkt(VERSION))
            s.settimeout(1.0)
            return s.recv(HEADER.size)[:2] == bytes([RES, VERSION])
    except OSError:
        return False


class BinaryServer(harness.Server):
    """A daemon that answers the binary protocol only (-B binary, -S): its
    readiness is a binary VERSION."""

    def _wait_ready(self, timeout):
        if not harness.wait_until(lambda: self.proc.poll() is not None
                                  or answers_binary_version(self.port), timeout):
            self.stop()
            raise RuntimeError("server did not answer within %.0fs: %s" % (timeout, self.cmd))
        if self.proc.poll() is not None:
            raise RuntimeError("server exited %s: %s" % (self.proc.returncode, self.output()))


def exchange(sock, data, quiet=0.3, first=1.0, timeout=5.0):
    """(answer bytes, closed) after sending data: read until the connection
    closes, or nothing came for `first` seconds at first, `quiet` seconds
    once something did."""
    sock.sendall(data)
    got = b""
    sock.settimeout(first)
    try:
        while True:
            chunk = sock.recv(262144)
            if not chunk:
                return got, True
            got += chunk
            sock.settimeout(quiet)
    except socket.timeout:
        return got, False
    except (ConnectionResetError, BrokenPipeError):
        return got, True
    finally:
        sock.settimeout(timeout)


def read_packets(sock, done, timeout=10.0):
    """(answer bytes, closed) after reading until done(packets) is true for
    the whole packets read so far, the connection closes, or the deadline
    passes (then AssertionError: the answer never came)."""
    got = b""
    sock.settimeout(timeout)
    try:
        while not done(parse(got)[0]):
            chunk = sock.recv(262144)
            if not chunk:
                return got, True
            got += chunk
    except socket.timeout:
        raise AssertionError("no complete answer within %.0f s: %r" % (timeout, got[:200]))
    except (ConnectionResetError, BrokenPipeError):
        return got, True
    return got, False


def send_and_read(sock, data, count, timeout=10.0):
    """(answer bytes, closed) after sending data: `count` whole packets."""
    sock.sendall(data)
    return read_packets(sock, lambda packets: len(packets) >= count, timeout)


def send_and_read_stats(sock, data, timeout=10.0):
    """(answer bytes, closed) after sending data: up to the STAT terminator
    (an empty STAT answer)."""
    sock.sendall(data)
    return read_packets(sock, lambda packets: any(
        p.opcode == STAT and p.key == b"" and p.value == b"" for p in packets), timeout)


def exchange_like(sock, data, length, closes, extra=0.1, timeout=5.0):
    """(answer bytes, closed) after sending data, reading as another server
    answered it: `length` bytes (or to a close), then to the close if that
    one closed, else whatever more comes within `extra` seconds."""
    sock.sendall(data)
    got = b""
    sock.settimeout(timeout)
    try:
        while len(got) < length:
            chunk = sock.recv(262144)
            if not chunk:
                return got, True
            got += chunk
        sock.settimeout(timeout if closes else extra)
        while True:
            chunk = sock.recv(262144)
            if not chunk:
                return got, True
            got += chunk
    except socket.timeout:
        return got, False
    except (ConnectionResetError, BrokenPipeError):
        return got, True
    finally:
        sock.settimeout(timeout)


SASLPASSWD2 = shutil.which("saslpasswd2") or "/usr/sbin/saslpasswd2"


def have_sasl_reference():
    return os.path.exists(SASLPASSWD2) and os.path.exists(harness.MEMCACHED)


def sasl_reference_env(tmp, users):
    """The environment memcached -S needs (Debian builds it with Cyrus SASL):
    SASL_CONF_PATH naming tmp, whose memcached.conf allows PLAIN against a
    sasldb in tmp holding users {name: password}, readable by the user
    memcached runs as."""
    db = os.path.join(tmp, "sasldb")
    with open(os.path.join(tmp, "memcached.conf"), "w") as f:
        f.write("mech_list: plain\nsasldb_path: %s\n" % db)
    realm = socket.gethostname()
    for user, password in users.items():
        subprocess.run([SASLPASSWD2, "-p", "-c", "-f", db, "-u", realm, user],
                       input=password, check=True, timeout=10)
    os.chmod(tmp, 0o755)
    os.chmod(db, 0o644)
    env = dict(os.environ)
    env["SASL_CONF_PATH"] = tmp
    return env


def pwdb_file(tmp, users):
    """hardcached's -S credentials ("user:password" lines), 0600."""
    path = os.path.join(tmp, "pwdb")
    with open(path, "wb") as f:
        for user, password in users.items():
            f.write(user.encode() + b":" + password + b"\n")
    os.chmod(path, 0o600)
    return path
