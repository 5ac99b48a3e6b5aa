"""wire.py: memcached's ASCII protocol as every test suite speaks it: the
reply lines (spelled once, so a typo cannot hide in one test), storage
commands built as bytes, get replies read as a client reads them, and sync(),
after which a test knows the server has processed everything it sent. Works
on any client with send/readline/read_exact/read_until (harness.RawClient).
No sockets or processes here: those are harness.py's."""

# Lines memcached answers with.
STORED = b"STORED\r\n"
NOT_STORED = b"NOT_STORED\r\n"
EXISTS = b"EXISTS\r\n"
NOT_FOUND = b"NOT_FOUND\r\n"
DELETED = b"DELETED\r\n"
TOUCHED = b"TOUCHED\r\n"
END = b"END\r\n"
OK = b"OK\r\n"
ERROR = b"ERROR\r\n"
BAD_FORMAT = b"CLIENT_ERROR bad command line format\r\n"
BAD_CHUNK = b"CLIENT_ERROR bad data chunk\r\n"
BAD_DELTA = b"CLIENT_ERROR invalid numeric delta argument\r\n"
BAD_EXPTIME = b"CLIENT_ERROR invalid exptime argument\r\n"
NON_NUMERIC = b"CLIENT_ERROR cannot increment or decrement non-numeric value\r\n"
TOO_LARGE = b"SERVER_ERROR object too large for cache\r\n"
NO_MEMORY = b"SERVER_ERROR out of memory storing object\r\n"
TOO_MANY_CONNS = b"ERROR Too many open connections\r\n"


def _bytes(v):
    return v.encode() if isinstance(v, str) else v


def storage(verb, key, value, flags=0, exptime=0, cas=None, noreply=False):
    """Bytes of one storage command (set, add, replace, append, prepend, cas)
    with its data block."""
    key, value = _bytes(key), _bytes(value)
    line = b"%s %s %d %d %d" % (verb.encode(), key, flags, exptime, len(value))
    if cas is not None:
        line += b" %d" % cas
    if noreply:
        line += b" noreply"
    return line + b"\r\n" + value + b"\r\n"


def value_reply(key, value, flags=0, cas=None):
    """Bytes of one VALUE block of a get reply (without END)."""
    key, value = _bytes(key), _bytes(value)
    head = b"VALUE %s %d %d" % (key, flags, len(value))
    if cas is not None:
        head += b" %d" % cas
    return head + b"\r\n" + value + b"\r\n"


def read_get_reply(c, with_cas=False):
    """Reads one get/gets/gat/gats reply from client c, through its END:
    [(key, flags, value)] in the order sent, or [(key, flags, value, cas)]
    with_cas. Keys are str; a repeated key appears as often as it was sent.
    Anything but VALUE blocks and END is an AssertionError."""
    out = []
    fields = 5 if with_cas else 4
    while True:
        line = c.readline()
        if line == END:
            return out
        parts = line.split()
        if len(parts) != fields or parts[0] != b"VALUE":
            raise AssertionError("unexpected line in get reply: %r" % line[:200])
        n = int(parts[3])
        data = c.read_exact(n + 2)
        if data[-2:] != b"\r\n":
            raise AssertionError("value not followed by CRLF: %r" % data[-10:])
        item = (parts[1].decode(errors="surrogateescape"), int(parts[2]), data[:-2])
        out.append(item + (int(parts[4]),) if with_cas else item)


def gets(c, key):
    """(value, cas) of key, or None."""
    c.send(b"gets %s\r\n" % _bytes(key))
    r = read_get_reply(c, with_cas=True)
    if not r:
        return None
    (_, _, value, cas), = r
    return value, cas


def sync(c, data=b""):
    """Sends `data` followed by `version`; returns every byte the server wrote
    before the VERSION line. A reply-free `data` therefore returns b"", and the
    server has processed all of `data` (replies come in order)."""
    c.send(data + b"version\r\n")
    out = c.read_until(b"VERSION ")
    line = c.readline()
    assert line.strip(), "empty version string"
    return out[:-len(b"VERSION ")]


def stat_int(server, name):
    """One field of `stats` as an int (a missing field is an AssertionError)."""
    st = server.stats()
    if name not in st:
        raise AssertionError("stats has no field %r" % name)
    return int(st[name])
