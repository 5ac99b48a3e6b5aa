"""diffwire.py: talking to one server for the differential test, and the answer
normaliser.

Each chunk is sent followed by a sentinel "version\\r\\n"; the answer is everything up to
and including the expected number of "VERSION " lines (one, or two when the chunk itself
is a version command). The reader parses VALUE blocks and meta "VA <size>" blocks by their
declared length, so value bytes that look like "VERSION" or "END" never end an answer
early. Every read has a deadline: a server that stops answering yields a 'timeout' answer,
not a hung test.

Normalisation (the only differences allowed besides docs/COMPATIBILITY.md's list):
- the text after "VERSION " (version strings differ by design);
- cas uniques in VALUE lines, replaced by their order of first appearance in the sequence;
- for keys incr/decr has changed in this sequence, trailing spaces of an all-digit value
  (memcached rewrites a shorter result in place, padded with spaces; the protocol allows
  it and the padding depends on memcached internals), with the length field adjusted;
  the same for a meta "VA" block answering a chunk that addresses such a key (a VA line
  names no key; the test passes that fact in), with the VA size adjusted;
- in meta answer lines (HD VA EN NF NS EX MN), the 'c' token (a cas unique, returned by
  mg/ms/ma with 'c') is numbered like a VALUE line's cas, in the same numbering, so a
  value read with gets and one read with 'mg c' compare alike; 'c0' (ms's "no cas" on a
  failure) is kept as it is;
- in the same lines, the numbers of 't' (seconds of TTL left) and 'l' (seconds since the
  last access) are clock readings. They are replaced by 't~'/'l~' and compared
  separately, in order, with a tolerance of two seconds (drift_ok): each server's clock
  ticks at its own moment (one second); memcached's clock is a one-second timer on its
  main event loop that runs late under load; and for an absolute exptime memcached adds
  two separately rounded origins (its start on the wall clock, uptime on the monotonic
  clock). Measured: memcached's 't' for "now + 2 days" is 172800 or 172801 idle, 172802
  under load, where hardcached's is 172800. So this test cannot catch a TTL that is
  off by a second or two. 't-1' (no expiry) stays exact, and so do the win/stale
  flags W X Z, 's', 'f', 'h' and every other token."""
import re
import socket
import time

SENTINEL = b"version\r\n"
PADDED = re.compile(rb"[0-9]+ +")
META_CODES = frozenset([b"HD", b"VA", b"EN", b"NF", b"NS", b"EX", b"MN"])
DRIFT_TOLERANCE = 2      # seconds a 't' or 'l' reading may differ between the servers


def drift_ok(a, b):
    """The clock readings of two answers ('t' and 'l' numbers, in order) agree."""
    return len(a) == len(b) and all(abs(x - y) <= DRIFT_TOLERANCE for x, y in zip(a, b))


class Timeout(Exception):
    pass


class Wire:
    def __init__(self, port):
        self.port = port
        self.sock = None
        self.connect()

    def connect(self):
        self.close()
        self.sock = socket.create_connection(("127.0.0.1", self.port), 5)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.raw = bytearray()
        self.send_error = None

    def close(self):
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
            self.sock = None

    def send(self, data):
        self.send_error = None
        try:
            self.sock.settimeout(10)
            self.sock.sendall(data + SENTINEL)
        except OSError as e:
            self.send_error = "send failed: %s" % e

    def _fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise Timeout()
        self.sock.settimeout(left)
        try:
            chunk = self.sock.recv(1 << 20)
        except socket.timeout:
            raise Timeout()
        if not chunk:
            raise EOFError("connection closed by the server")
        self.buf += chunk
        self.raw += chunk

    def _line(self, deadline):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line, self.buf = self.buf[:i + 2], self.buf[i + 2:]
                return line
            self._fill(deadline)

    def _exact(self, n, deadline):
        while len(self.buf) < n:
            self._fill(deadline)
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def read_answer(self, versions, timeout=10.0):
        """Returns (elements, raw bytes, error). Elements: bytes lines, or
        ('VALUE', [words], data-with-CRLF) for each VALUE block."""
        deadline = time.monotonic() + timeout
        self.raw = bytearray()
        elements, seen = [], 0
        if self.send_error:
            return elements, b"", self.send_error
        try:
            while seen < versions:
                line = self._line(deadline)
                if line.startswith(b"VALUE "):
                    words = line[:-2].split(b" ")
                    if len(words) in (4, 5) and words[3].isdigit():
                        data = self._exact(int(words[3]) + 2, deadline)
                        elements.append(("VALUE", words, data))
                        continue
                elif line.startswith(b"VA "):
                    words = line[:-2].split(b" ")
                    if words[1].isdigit():
                        data = self._exact(int(words[1]) + 2, deadline)
                        elements.append(("VA", words, data))
                        continue
                elif line.startswith(b"VERSION "):
                    seen += 1
                elements.append(line)
            return elements, bytes(self.raw), None
        except Timeout:
            return elements, bytes(self.raw), "timeout (no complete answer within %.0fs)" % timeout
        except (EOFError, OSError) as e:
            return elements, bytes(self.raw), "connection error: %s" % e


class Normaliser:
    """Per-server, per-sequence state for normalising answers."""

    def __init__(self):
        self.cas = {}           # cas unique (bytes) -> order of first appearance
        self.drift = []         # 't'/'l' readings of the last answer apply() saw

    def cas_seen(self):
        return list(self.cas)

    def _cas(self, value):
        return b"#%d" % self.cas.setdefault(value, len(self.cas))

    def _meta_tokens(self, words, first):
        """Normalise the flag tokens words[first:] of a meta answer line in place."""
        for i in range(first, len(words)):
            t = words[i]
            letter, rest = t[:1], t[1:]
            if letter == b"c" and rest.isdigit() and rest != b"0":
                words[i] = b"c" + self._cas(rest)
            elif letter in (b"t", b"l") and rest.isdigit():
                self.drift.append(int(rest))
                words[i] = letter + b"~"

    def apply(self, elements, padded_keys, va_padded=False):
        """Normalised answer elements. va_padded: the chunk addresses a key that
        incr/decr/ma changed (its VA blocks may be padded)."""
        out = []
        self.drift = []
        for e in elements:
            if isinstance(e, tuple) and e[0] == "VA":
                _, words, data = e
                words = list(words)
                if va_padded and data.endswith(b"\r\n") and PADDED.fullmatch(data[:-2]):
                    data = data[:-2].rstrip(b" ") + b"\r\n"
                    words[1] = b"%d" % (len(data) - 2)
                self._meta_tokens(words, 2)
                out.append(b" ".join(words) + b"\r\n" + data)
            elif isinstance(e, tuple):
                _, words, data = e
                words = list(words)
                if words[1] in padded_keys and data.endswith(b"\r\n") \
                        and PADDED.fullmatch(data[:-2]):
                    data = data[:-2].rstrip(b" ") + b"\r\n"
                    words[3] = b"%d" % (len(data) - 2)
                if len(words) == 5:
                    words[4] = self._cas(words[4])
                out.append(b" ".join(words) + b"\r\n" + data)
            elif e.startswith(b"VERSION "):
                out.append(b"VERSION *\r\n")
            elif e[:2] in META_CODES and e[2:3] in (b" ", b"\r"):
                words = e[:-2].split(b" ")
                self._meta_tokens(words, 1)
                out.append(b" ".join(words) + b"\r\n")
            else:
                out.append(e)
        return out
