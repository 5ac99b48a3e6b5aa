"""deliberate.py: the documented differences between hardcached and memcached 1.6.18, as
data: for each case the exact request bytes, what Debian's memcached 1.6.18 answers
(measured; test_deliberate_differences.py re-measures it on every run) and what hardcached
answers (the specification). docs/COMPATIBILITY.md shows the same table; the test checks
that every case appears there verbatim, so the document cannot drift from the tests.

Cases whose `hardcached` is SAME mark the edge of a difference: hardcached answers exactly
as 1.6.18 does, and the differential test does not exempt them."""

SAME = object()

V = b"set victim 0 0 1\r\nv\r\n"            # a key the swallowed data block would delete
D = b"delete victim\r\n"                     # 13 bytes + CRLF: the declared data block
G = b"get victim\r\n"
ERR = b"CLIENT_ERROR bad command line format\r\n"
EXP = b"CLIENT_ERROR invalid exptime argument\r\n"
VICTIM_DELETED = b"STORED\r\n" + ERR + b"DELETED\r\nEND\r\n"
VICTIM_KEPT = b"STORED\r\n" + ERR + b"VALUE victim 0 1\r\nv\r\nEND\r\n"
HC_VERSION = b"VERSION 1.6.18-hardcached-0.1.0\r\n"


class Case:
    def __init__(self, letter, title, request, memcached_1618, hardcached, exempt=None):
        self.letter, self.title, self.request = letter, title, request
        self.memcached_1618 = memcached_1618
        self.hardcached = memcached_1618 if hardcached is SAME else hardcached
        # Whether the differential test exempts this command: by default when the
        # answers differ; a delayed flush_all is exempt even where they coincide.
        self.exempt = self.differs if exempt is None else exempt

    @property
    def differs(self):
        return self.hardcached != self.memcached_1618


CASES = [
    # (a) malformed storage line that declares a valid length: data block swallowed.
    Case("a", "flags not a number", V + b"set k abc 0 13\r\n" + D + G,
         VICTIM_DELETED, VICTIM_KEPT),
    Case("a", "flags negative", V + b"set k -1 0 13\r\n" + D + G,
         VICTIM_DELETED, VICTIM_KEPT),
    Case("a", "flags >= 2^64", V + b"set k 18446744073709551616 0 13\r\n" + D + G,
         VICTIM_DELETED, VICTIM_KEPT),
    Case("a", "exptime not a number", V + b"set k 0 1x 13\r\n" + D + G,
         VICTIM_DELETED, VICTIM_KEPT),
    Case("a", "exptime >= 2^63", V + b"set k 0 9223372036854775808 13\r\n" + D + G,
         VICTIM_DELETED, VICTIM_KEPT),
    Case("a", "key of 251 bytes", V + b"set " + b"k" * 251 + b" 0 0 13\r\n" + D + G,
         VICTIM_DELETED, VICTIM_KEPT),
    Case("a", "cas unique not a number", V + b"cas victim 0 0 13 abc\r\n" + D + G,
         VICTIM_DELETED, VICTIM_KEPT),
    Case("a", "cas unique >= 2^64",
         V + b"cas victim 0 0 13 18446744073709551616\r\n" + D + G,
         VICTIM_DELETED, VICTIM_KEPT),
    Case("a", "noreply: error line suppressed by both, block still swallowed",
         V + b"append victim abc 0 13 noreply\r\n" + D + G,
         b"STORED\r\nDELETED\r\nEND\r\n", b"STORED\r\nVALUE victim 0 1\r\nv\r\nEND\r\n"),
    Case("a", "the price of this rule: a key with a space shifts the words, the length "
         "swallowed is the wrong one, and the rest of the block runs as commands",
         V + b"set a b 0 0 11\r\nXXflush_all\r\n" + G,
         b"STORED\r\n" + ERR + b"ERROR\r\nVALUE victim 0 1\r\nv\r\nEND\r\n",
         b"STORED\r\n" + ERR + b"OK\r\nEND\r\n"),
    Case("a", "same: wrong number of tokens (no reliable length)",
         V + b"set k 0 0 13 extra token\r\n" + D + G,
         b"STORED\r\nERROR\r\nDELETED\r\nEND\r\n", SAME),
    Case("a", "same: wrong number of tokens, a block that is junk to 1.6.18 stays junk",
         V + b"set k 0 0 1 x y\r\nAAAflush_all\r\n" + G,
         b"STORED\r\nERROR\r\nERROR\r\nVALUE victim 0 1\r\nv\r\nEND\r\n", SAME),
    Case("a", "same: negative length (no length declared)", V + b"set k 0 0 -1\r\n" + D + G,
         VICTIM_DELETED, SAME),
    # (b) flags >= 2^32 rejected, not narrowed.
    Case("b", "flags 2^32", b"set k 4294967296 0 1\r\nx\r\nget k\r\n",
         b"STORED\r\nVALUE k 0 1\r\nx\r\nEND\r\n", ERR + b"END\r\n"),
    Case("b", "flags 2^64-1", b"set k 18446744073709551615 0 1\r\nx\r\nget k\r\n",
         b"STORED\r\nVALUE k 4294967295 1\r\nx\r\nEND\r\n", ERR + b"END\r\n"),
    Case("b", "flags 2^32 with noreply", b"set k 4294967296 0 1 noreply\r\nx\r\nget k\r\n",
         b"VALUE k 0 1\r\nx\r\nEND\r\n", b"END\r\n"),
    Case("b", "same: strtoul's own wrap of a negative number is kept",
         b"set k -18446744073709551615 0 1\r\nx\r\nget k\r\n",
         b"STORED\r\nVALUE k 1 1\r\nx\r\nEND\r\n", SAME),
    Case("b", "verbosity level 2^32 (1.6.18: 0)", b"verbosity 4294967296\r\n",
         b"OK\r\n", ERR),
    # (c) exptime outside int32 rejected, not wrapped.
    Case("c", "set, exptime 2^32 (1.6.18: 0, never expires)",
         b"set k 0 4294967296 1\r\nx\r\nget k\r\n",
         b"STORED\r\nVALUE k 0 1\r\nx\r\nEND\r\n", ERR + b"END\r\n"),
    Case("c", "set, exptime 2^31 (1.6.18: negative, expired at once)",
         b"set k 0 2147483648 1\r\nx\r\nget k\r\n", b"STORED\r\nEND\r\n", ERR + b"END\r\n"),
    Case("c", "touch, exptime 2^31", b"set k 0 0 1\r\nx\r\ntouch k 2147483648\r\nget k\r\n",
         b"STORED\r\nTOUCHED\r\nEND\r\n", b"STORED\r\n" + EXP + b"VALUE k 0 1\r\nx\r\nEND\r\n"),
    Case("c", "gat, exptime 2^32", b"set k 0 0 1\r\nx\r\ngat 4294967296 k\r\nget k\r\n",
         b"STORED\r\nVALUE k 0 1\r\nx\r\nEND\r\nVALUE k 0 1\r\nx\r\nEND\r\n",
         b"STORED\r\n" + EXP + b"VALUE k 0 1\r\nx\r\nEND\r\n"),
    Case("c", "flush_all, delay 2^32 (1.6.18: 0, flushes now)",
         b"set k 0 0 1\r\nx\r\nflush_all 4294967296\r\nget k\r\n",
         b"STORED\r\nOK\r\nEND\r\n", b"STORED\r\n" + EXP + b"VALUE k 0 1\r\nx\r\nEND\r\n"),
    # (d) data length outside int32 rejected, not wrapped (nothing to swallow).
    Case("d", "length 2^32+2 (1.6.18: 2)", b"set k 0 0 4294967298\r\nab\r\nget k\r\n",
         b"STORED\r\nVALUE k 0 2\r\nab\r\nEND\r\n", ERR + b"ERROR\r\nEND\r\n"),
    Case("d", "same: length 2^31 (negative to 1.6.18 too)",
         b"set k 0 0 2147483648\r\nab\r\nget k\r\n", ERR + b"ERROR\r\nEND\r\n", SAME),
    # (e) flush_all with a delay.
    Case("e", "a pending delayed flush revives flushed items",
         b"set a 0 0 1\r\n1\r\nset b 0 0 1\r\n2\r\nflush_all\r\nget a\r\n"
         b"flush_all 100\r\nget b\r\n",
         b"STORED\r\nSTORED\r\nOK\r\nEND\r\nOK\r\nVALUE b 0 1\r\n2\r\nEND\r\n",
         b"STORED\r\nSTORED\r\nOK\r\nEND\r\nOK\r\nEND\r\n"),
    Case("e", "a deadline in the past (absolute time) flushes nothing and revives",
         b"set d 0 0 1\r\n4\r\nflush_all\r\nflush_all 2592001\r\nget d\r\n",
         b"STORED\r\nOK\r\nOK\r\nVALUE d 0 1\r\n4\r\nEND\r\n", b"STORED\r\nOK\r\nOK\r\nEND\r\n"),
    Case("e", "a deadline in the past flushes now",
         b"set c 0 0 1\r\n3\r\nflush_all 2592001\r\nget c\r\n",
         b"STORED\r\nOK\r\nVALUE c 0 1\r\n3\r\nEND\r\n", b"STORED\r\nOK\r\nEND\r\n"),
    Case("e", "same: before its deadline a delayed flush hides nothing",
         b"set e 0 0 1\r\n5\r\nflush_all 100\r\nget e\r\n",
         b"STORED\r\nOK\r\nVALUE e 0 1\r\n5\r\nEND\r\n", SAME, exempt=True),
    # version text (normalised by the differential test, not exempted).
    Case("version", "version string", b"version\r\n", b"VERSION 1.6.18\r\n", HC_VERSION),
]


def esc(b):
    """How docs/COMPATIBILITY.md writes bytes: Python's repr of a bytes object."""
    return repr(bytes(b))


def markdown(letter):
    """The case list of one section of docs/COMPATIBILITY.md, as it appears there."""
    out = []
    for c in CASES:
        if c.letter != letter:
            continue
        out.append("- %s  " % c.title)
        out.append("  request: `%s`  " % esc(c.request))
        out.append("  memcached 1.6.18: `%s`  " % esc(c.memcached_1618))
        if c.differs:
            out.append("  hardcached: `%s`" % esc(c.hardcached))
        else:
            out.append("  hardcached: the same, `%s`" % esc(c.hardcached))
    return "\n".join(out)


if __name__ == "__main__":
    # After changing CASES: python3 tests/compat/deliberate.py, and paste each section's
    # list into docs/COMPATIBILITY.md (test_deliberate_differences checks it is there).
    for letter in dict.fromkeys(c.letter for c in CASES):
        print("=== (%s)\n%s\n" % (letter, markdown(letter)))
