"""diffgen.py: the seeded generator of command sequences for the differential test.

Sequence i of seed S is generated from random.Random("S:i") alone, so any one sequence can
be replayed by itself. Each sequence works in its own key namespace (a prefix with the
sequence number), plus a few short un-prefixed keys that it deletes first. Commands are
valid and malformed ASCII protocol: every storage and retrieval command, delete, incr,
decr, touch, flush_all (immediate, noreply, junk and delayed), version, verbosity, junk
lines, lines that look like HTTP requests but are not closed for it; edge numbers, wrong
token counts, empty tokens, leading/trailing spaces, tabs, NUL and control bytes in keys,
wrong declared lengths and bad data terminators, noreply everywhere. About 40% of the
generated commands are meta commands (mg ms md ma mn, quiet pipelines ended by mn,
stale/win/recache scripts, malformed meta lines: diffmeta.py says what and how) on the
same keys as the classic ones.

What it avoids, and why (each is a property of the test, not an exemption):
- chunks that leave the server waiting for bytes (a declared length longer than what
  follows is padded so the server reads exactly what was sent; see mcmodel.parse_stream);
- lines that a data block turns into state-changing or stream-changing commands;
- lines on which memcached closes the connection for HTTP (mcmodel.http_closes): a close
  ends the comparison; tests/integration/test_http.py checks those against both;
- exptimes of 1-9 seconds (would expire while the two servers' clocks tick apart);
- incr/decr on a value memcached 1.6.18 reads past the item for (>= 2^63 or all
  whitespace: ../shared/NOTES.md), tracked conservatively per key;
- append/prepend after incr/decr on a key (incr's in-place space padding, which may
  legitimately differ, would end up inside the value);
- cas unique literals that could match a real cas on one server and not the other;
- the meta cases diffmeta.py lists (me; R tokens near a TTL; 't' on an item the same
  command expires; s/h and the stale/win machinery on keys incr/decr/ma changed; ma on a
  key an earlier command of the same pipeline addressed).
Chunks that fall under a deliberate difference (docs/COMPATIBILITY.md: (a)-(e), and for
the meta commands the row of "Other differences" that applies (a)-(d) to them) are
generated, classified by mcmodel.classify_line and marked `skip`: the test does not
compare them (it sends them to a scratch memcached, to check the classifier's reading of
1.6.18). Pipelines and scripts leave such a command out instead."""
import random
import string

import diffmeta
import mcmodel as M

SAFE_KEY = (string.ascii_letters + string.digits + "_-.:").encode()
WEIRD_KEY = bytes(b for b in range(1, 256) if b not in (0x20, 0x0A, 0x0D))
ANY_BYTE = bytes(range(256))
WORDS = [b"hello", b"world", b"hello world", b"xxx@qq.com", b"111111", b"zhiliao",
         b"xiaotuo", b"VALUE x 0 1", b"END", b"STORED", b"ERROR", b"\xe4\xb8\xad\xe6\x96\x87"]
NUM_VALUES = [b"0", b"1", b"9", b"10", b"20", b"42", b"99", b"100", b"1000", b"65535",
              b"4294967295", b"4294967296", b"9223372036854775806", b"9223372036854775807",
              b"9223372036854775808", b"18446744073709551615", b"18446744073709551616",
              b"-1", b"-0", b"+7", b" 12", b"12 ", b"\t5", b"5\t", b"007", b"12a", b"a12",
              b"1 2", b" ", b"\t", b"0x10", b"1.5", b"-18446744073709551615", b"5  ", b"00"]
EDGE = [b"0", b"1", b"-1", b"-0", b"+1", b"2147483647", b"2147483648", b"-2147483648",
        b"-2147483649", b"4294967295", b"4294967296", b"4294967297", b"4294967298",
        b"9223372036854775807", b"9223372036854775808", b"18446744073709551615",
        b"18446744073709551616", b"99999999999999999999", b"-18446744073709551615",
        b"12a", b"a12", b"0x10", b"1e3", b"\t5", b"5\t", b"0100", b"", b"-", b"+", b"1.5",
        b"\t", b"+-1", b"1\x0b",
        # >= 2^63, then whitespace and a '-' in the same word: 1.6.18's safe_strtoull/
        # safe_strtoul look for the '-' with strchr over the whole word, and reject
        b"9223372036854775808\t-", b"18446744073709551615\tx-"]
EXPTIMES = [(45, b"0"), (15, b"1000"), (5, b"86400"), (4, b"2592000"), (5, b"-1"),
            (4, b"2592001"), (3, b"1000000000"), (5, "ABSFUT"), (14, "EDGE")]
CAS_LITERALS = [b"0", b"18446744073709551615", b"9223372036854775808", b"12a", b"-1",
                b"18446744073709551616", b"", b"abc", b"18446744073709551615\t-"]
COMMANDS = [(16, "set"), (6, "add"), (5, "replace"), (5, "append"), (4, "prepend"),
            (9, "cas"), (14, "get"), (9, "gets"), (4, "gat"), (3, "gats"), (7, "delete"),
            (8, "incr"), (6, "decr"), (4, "touch"), (1, "flush_all"), (1.5, "version"),
            (1, "verbosity"), (2.5, "junk"), (1.5, "http"),
            # meta commands: about 40% of the draws (pipelines and scripts send several)
            (20, "mg"), (15, "ms"), (7, "md"), (9, "ma"), (2, "mn"), (6, "meta_pipe"),
            (3, "meta_stale"), (5, "meta_junk")]
# First words a generated chunk may start with; anything else memcached knows is off
# limits (stats, watch, quit, shutdown, lru, slabs, me ...). "mz" and "mx" are two-letter
# 'm' words 1.6.18 answers ERROR to.
ALLOWED_FIRST = {b"set", b"add", b"replace", b"append", b"prepend", b"cas", b"get", b"gets",
                 b"gat", b"gats", b"delete", b"incr", b"decr", b"touch", b"flush_all",
                 b"version", b"verbosity", b"mg", b"ms", b"md", b"ma", b"mn", b"mz", b"mx"}
MAX_LINE = 2000
BIG_VALUE = 1000000          # fits in a 1 MB item on both servers
TOO_BIG_VALUE = 1048577      # larger than -I 1m allows, whatever the item header size
BIG_NUMBER_PAD = 600000      # well past 1.6.18's chunked-item threshold (~524,250 bytes)
MAX_PAD = 1100000
ABSFUT_MODEL = b"1900000000"  # stands for "now + 2 days" when the model reads a chunk
CAS_MODEL = b"77777777777777"  # stands for a real cas unique when the model reads a chunk
HTTP_VERSIONS = [b"HTTP/1.1", b"HTTP/1.0", b"HTTP/2", b"HTTP/"]
HTTP_METHODS = [b"GET", b"POST", b"PUT", b"DELETE", b"HEAD", b"OPTIONS", b"CONNECT"]
# Unknown words memcached's dispatcher still takes (first byte g s a c i d t): ERROR,
# never an HTTP close.
HTTP_DISPATCHED = [b"gett", b"got", b"sett", b"stat", b"add1", b"cas2", b"incrx", b"dget",
                   b"touchy"]


def pick(rng, weighted):
    total = sum(w for w, _ in weighted)
    r = rng.uniform(0, total)
    for w, v in weighted:
        r -= w
        if r <= 0:
            return v
    return weighted[-1][1]


class Chunk:
    """Bytes to send as one step, with placeholders resolved per server at send time:
    ('cas', r[, prefix]) -> prefix + one of the cas uniques that server returned earlier
    in the sequence (in order of first appearance; r = -1 is the newest),
    ('absfut'[, prefix]) -> prefix + an absolute unix time two days ahead (same for both
    servers). The prefix is a meta flag letter (b"C", b"T", b"N")."""

    def __init__(self, parts):
        self.parts = parts
        self.skip = set()          # deliberate differences (letters) -> not sent
        self.versions = 1          # VERSION lines that end this chunk's answer
        self.store_key = None      # key of a storage command (STORED/HD clears padding)
        self.arith_keys = []       # keys of incr/decr/ma (their values may be space-padded)
        self.set_noreply_key = None  # well-formed "set ... noreply": clears padding
        self.meta_keys = set()     # keys the chunk's meta commands address (decoded)
        self.single = True         # one generated command (False: a pipeline)
        self.nlines = 1            # command lines, as memcached splits them
        self.desc = ""

    def resolve(self, cas_seen, absfut):
        out = []
        for p in self.parts:
            if isinstance(p, bytes):
                out.append(p)
            elif p[0] == "cas":
                prefix = p[2] if len(p) > 2 else b""
                out.append(prefix + (cas_seen[p[1] % len(cas_seen)] if cas_seen else b"0"))
            else:
                out.append((p[1] if len(p) > 1 else b"") + absfut)
        return b"".join(out)

    def model_bytes(self):
        return self.resolve([CAS_MODEL], ABSFUT_MODEL)


class SequenceGenerator(diffmeta.MetaGen):
    EDGE, WORDS, CAS_MODEL, Chunk = EDGE, WORDS, CAS_MODEL, Chunk

    def pick(self, weighted):
        return pick(self.rng, weighted)

    def __init__(self, seed, index):
        self.rng = random.Random("%s:%d" % (seed, index))
        self.index = index
        self.prefix = b"s%d.%04x:" % (index, self.rng.getrandbits(16))
        self.raw_keys = []
        self.keys = [self.new_key() for _ in range(self.rng.randint(1, 4))]
        self.ub = {}            # key -> upper bound of its numeric value, None = unsafe
        self.arith = set()      # keys incr/decr/ma has touched
        self.numeric = []       # keys a number was stored under (incr/decr favour them)
        self.flagged = set()    # keys md I / ms I / mg N R touched (stale, win bits)
        self.stored = []        # keys a storage command read a value for

    # --- keys and values ------------------------------------------------------------

    def new_key(self):
        rng, p = self.rng, self.prefix
        r = rng.random()
        if r < 0.50:
            return p + bytes(rng.choice(SAFE_KEY) for _ in range(rng.randint(1, 8)))
        if r < 0.65:
            return p + bytes(rng.choice(WEIRD_KEY) for _ in range(rng.randint(1, 30)))
        if r < 0.77:
            n = rng.choice([249, 250, 250, 251])
            return p + bytes(rng.choice(SAFE_KEY) for _ in range(n - len(p)))
        if r < 0.82:
            n = rng.randint(len(p) + 1, 251)
            return p + bytes(rng.choice(WEIRD_KEY) for _ in range(n - len(p)))
        if r < 0.92:
            k = bytes(rng.choice(WEIRD_KEY) for _ in range(rng.randint(1, 12)))
            self.raw_keys.append(k)
            return k
        # Bytes memcached treats specially: NUL ends the line for it, a '\r' is a key
        # byte unless it ends the line, a space splits the key in two.
        tail = bytes(rng.choice(SAFE_KEY) for _ in range(rng.randint(1, 5)))
        special = rng.choice([b"\0", b"\r", b"\t", b"\x7f", b" ", b"\r\r", b"\0\0"])
        return p + tail + special + (tail if rng.random() < 0.7 else b"")

    def key(self):
        if self.rng.random() < 0.06:
            k = self.new_key()
            self.keys.append(k)
            return k
        return self.rng.choice(self.keys)

    def value(self):
        rng = self.rng
        r = rng.random()
        if r < 0.40:
            return rng.choice(NUM_VALUES)
        if r < 0.55:
            return rng.choice(WORDS)
        if r < 0.72:
            return bytes(rng.choice(ANY_BYTE) for _ in range(rng.randint(0, 64)))
        if r < 0.86:
            parts = [bytes(rng.choice(ANY_BYTE) for _ in range(rng.randint(0, 40)))
                     for _ in range(rng.randint(1, 6))]
            return rng.choice([b"\r\n", b"\n", b"\r"]).join(parts)
        if r < 0.995:
            return rng.choice([b"", b"a", b"\r\n", b"\0", b" x ", b"END\r\n"])
        r = rng.random()
        if r < 0.45:
            return b"L" * BIG_VALUE
        if r < 0.70:
            # a number padded to a size memcached stores chunked (over its 512 KiB slab
            # chunk limit; 1.6.18 then refuses incr/decr/ma whatever the bytes say)
            return b"%d" % rng.randint(0, 99) + b" " * BIG_NUMBER_PAD
        return b"L" * TOO_BIG_VALUE

    def exptime(self):
        e = pick(self.rng, EXPTIMES)
        if e == "ABSFUT":
            return ("absfut",)
        if e == "EDGE":
            return self.rng.choice(EDGE)
        return e

    # --- command lines --------------------------------------------------------------

    def join_line(self, words):
        """Words to a command line, with the occasional whitespace mutation."""
        rng = self.rng
        words = list(words)
        r = rng.random()
        if r < 0.03 and len(words) > 1:
            del words[rng.randrange(1, len(words))]           # a missing token
        elif r < 0.06:
            words.insert(rng.randint(1, len(words)), b"junk")  # an extra token
        elif r < 0.08 and len(words) > 1:
            words[1:1] = [b""]                                 # an empty token
        parts = []
        for i, w in enumerate(words):
            if i:
                sep = b" "
                s = rng.random()
                if s < 0.04:
                    sep = b"  "
                elif s < 0.05:
                    sep = b"\t"
                parts.append(sep)
            parts.append(w)
        if rng.random() < 0.03:
            parts.insert(0, b"  ")
        if rng.random() < 0.03:
            parts.append(rng.choice([b" ", b"   ", b"\t"]))
        if rng.random() < 0.01:
            parts[parts.index(words[0])] = words[0].upper()
        parts.append(b"\r\n" if rng.random() < 0.95 else b"\n")
        return parts

    def storage_parts(self, cmd):
        rng = self.rng
        key = self.key()
        value = self.value()
        big = len(value) > 100000
        flags = (b"0" if rng.random() < 0.55 else
                 str(rng.randint(1, 999)).encode() if rng.random() < 0.45 else
                 str(rng.getrandbits(32)).encode() if rng.random() < 0.6 else rng.choice(EDGE))
        exptime = self.exptime()
        length = str(len(value)).encode()
        if rng.random() < 0.10 and not big:
            length = rng.choice([str(len(value) + d).encode() for d in (1, -1, 3, -3, 10)]
                                + [b"0", rng.choice(EDGE)])
        words = [cmd.encode(), key, flags, exptime, length]
        if cmd == "cas":
            if rng.random() < 0.65:
                words.append(("cas", rng.getrandbits(16)))
            else:
                words.append(rng.choice(CAS_LITERALS))
        if rng.random() < 0.15:
            words.append(b"noreply")
        if big:
            line = []
            for i, w in enumerate(words):
                line += ([b" "] if i else []) + [w]
            line.append(b"\r\n")
            return line + [value, b"\r\n"]
        dterm = pick(rng, [(95, b"\r\n"), (2, b"\n"), (1, b""), (2, b"XY")])
        return self._join_mixed(words) + [value, dterm]

    def _join_mixed(self, words):
        """join_line for word lists that may hold placeholders (tuples)."""
        stand_in = [w if isinstance(w, bytes) else b"\x00PH%d\x00" % i
                    for i, w in enumerate(words)]
        parts = self.join_line(stand_in)
        out = []
        for p in parts:
            if p.startswith(b"\x00PH") and p.endswith(b"\x00"):
                out.append(words[int(p[3:-1])])
            else:
                out.append(p)
        return out

    def retrieval_parts(self, cmd):
        rng = self.rng
        r = rng.random()
        n = (0 if r < 0.03 else 1 if r < 0.63 else
             rng.randint(2, 4) if r < 0.93 else rng.randint(5, 12))
        keys = [self.key() for _ in range(n)]
        if rng.random() < 0.03:
            keys.append(b"noreply")
        words = [cmd.encode()]
        if cmd in ("gat", "gats"):
            words.append(self.exptime())
        return self._join_mixed(words + keys)

    def simple_parts(self, cmd):
        rng = self.rng
        if cmd == "delete":
            k = self.key()
            words = rng.choice([[k], [k], [k, b"noreply"], [k, b"0"], [k, b"0", b"noreply"],
                                [k, b"1"], [k, b"x", b"y", b"z"], [], [k, b"noreply", b"x"]])
            return self.join_line([b"delete"] + words)
        if cmd in ("incr", "decr"):
            r = rng.random()
            delta = (str(rng.randint(0, 1000)).encode() if r < 0.7 else
                     rng.choice([b"4294967296", b"1099511627776", b"18446744073709551615",
                                 b"9223372036854775807"]) if r < 0.8 else rng.choice(EDGE))
            key = (rng.choice(self.numeric) if self.numeric and rng.random() < 0.6
                   else self.key())
            words = [cmd.encode(), key, delta]
            if rng.random() < 0.15:
                words.append(b"noreply")
            return self.join_line(words)
        if cmd == "touch":
            words = [b"touch", self.key(), self.exptime()]
            if rng.random() < 0.15:
                words.append(b"noreply")
            return self._join_mixed(words)
        if cmd == "flush_all":
            return self.join_line(rng.choice([
                [b"flush_all"], [b"flush_all", b"0"], [b"flush_all", b"noreply"],
                [b"flush_all", b"0", b"noreply"], [b"flush_all", b"-1"],
                [b"flush_all", b"abc"], [b"flush_all", b"1", b"2", b"3"],
                [b"flush_all", b"60"], [b"flush_all", b"4294967296"],
                [b"flush_all", rng.choice(EDGE)]]))
        if cmd == "version":
            return rng.choice([[b"version\r\n"], [b"version x\r\n"], [b" version \r\n"],
                               [b"VERSION\r\n"], [b"version\n"]])
        if cmd == "verbosity":
            return self.join_line(rng.choice([
                [b"verbosity", b"1"], [b"verbosity", b"0"], [b"verbosity", b"1", b"noreply"],
                [b"verbosity", b"abc"], [b"verbosity"], [b"verbosity", b"1", b"2", b"3"],
                [b"verbosity", rng.choice(EDGE)]]))
        if cmd == "http":
            return self.http_parts()
        # junk
        k = self.key()
        return [rng.choice([b"", b"   ", b"GET " + k, b"xyzzy", b"\t", b"gett " + k,
                            b"get\t" + k, b"a" * rng.randint(100, 1900), b"\x01\x02",
                            b"set", b"incr", b"delete", b"cas " + k, b"get " + b"k" * 251,
                            b"get " + b" " * 40 + k, b"\r", b"quit" + b"x"]),
                b"\r\n" if rng.random() < 0.9 else b"\n"]

    def http_parts(self):
        """Lines shaped like HTTP request lines that memcached does not close on: a get
        whose last key is "HTTP/1.1", a lower-case version, a last token that is not the
        version (noreply, past the 23rd token), a one-byte or dispatched command word,
        known commands with an HTTP/ argument. Whitespace mutations (join_line) may turn
        one into a line that closes; _check drops those."""
        rng = self.rng
        ver = rng.choice(HTTP_VERSIONS)
        path = rng.choice([b"/", b"/index.html", b"*", b"/" + self.prefix + b"x", self.key()])
        meth = rng.choice(HTTP_METHODS)
        words = rng.choice([
            [b"get", path, ver], [b"gets", path, ver], [b"get", ver],
            [meth, path, ver.lower()], [meth, path, b"Http/1.1"],
            [meth, path, ver, b"noreply"], [meth, path, ver, b"x"], [meth, path, b"HTTP"],
            [meth, path, b"xHTTP/1.1"], [meth[:1], path, ver],
            [rng.choice(HTTP_DISPATCHED), path, ver],
            [meth] + [b"a"] * 22 + [ver],
            [b"delete", ver], [b"incr", ver], [b"touch", ver], [b"flush_all", ver],
            [b"version", ver]])
        return self.join_line(words)

    # --- checking and bookkeeping ---------------------------------------------------

    def _check(self, chunk):
        """Pad the chunk so memcached reads exactly its bytes; return the parsed units,
        or None if the chunk must be generated again."""
        for _ in range(3):
            units, problem = M.parse_stream(chunk.model_bytes())
            if problem is None:
                break
            if problem.startswith("incomplete"):
                chunk.parts.append(b"\r\n")
                continue
            need = int(problem.split()[3])
            if need > MAX_PAD:
                return None
            if need >= 2 and self.rng.random() < 0.5:
                chunk.parts.append(b"z" * (need - 2) + b"\r\n")
            else:
                chunk.parts.append(b"z" * need)
        else:
            return None
        if not units or any(len(u.raw) > MAX_LINE for u in units):
            return None
        first = units[0]
        if first.words and M.is_known_command(first.cmd) and first.cmd not in ALLOWED_FIRST:
            return None
        for u in units[1:]:   # lines a data block turned into commands
            if u.words and M.is_known_command(u.cmd):
                return None
        if any(M.http_closes(M.strip_line(u.raw)) for u in units):
            return None       # a close cannot be compared on this wire
        if first.cmd in (b"incr", b"decr") and first.ntok in (4, 5):
            if self.ub.get(first.words[1], 0) is None or first.words[1] in self.flagged:
                return None
        if first.cmd in (b"append", b"prepend") and len(first.words) > 1:
            if first.words[1] in self.arith:
                return None
        for field in self._exptime_fields(first):
            v = M.safe_strtol(field)
            if v is not None and 1 <= M.wrap32(v) <= 9:
                return None
        if first.cmd in M.META and not self.check_meta(first):
            return None
        if self._cas_placeholder(chunk):
            # A real cas unique must land exactly in the cas field (or a meta C flag),
            # nowhere else.
            if first.cmd in M.META:
                ok = (b"C" + CAS_MODEL in M.meta_flags(first.words, first.ntok)
                      and sum(CAS_MODEL in w for u in units for w in u.words) == 1)
            else:
                ok = (first.cmd == b"cas" and first.ntok in (7, 8)
                      and first.words[5] == CAS_MODEL
                      and sum(w == CAS_MODEL for u in units for w in u.words) == 1)
            if not ok:
                return None
        elif first.cmd == b"cas" and first.ntok in (7, 8):
            v = M.safe_strtoul(first.words[5])
            if v is not None and 0 < v < (1 << 40):
                return None   # a small literal could be a live cas on one server only
        return units

    @staticmethod
    def _cas_placeholder(chunk):
        return any(isinstance(p, tuple) and p[0] == "cas" for p in chunk.parts)

    @staticmethod
    def _exptime_fields(u):
        w = u.words
        if u.cmd in M.STORAGE and len(w) > 3:
            return [w[3]]
        if u.cmd == b"touch" and len(w) > 2:
            return [w[2]]
        if u.cmd in (b"gat", b"gats") and len(w) > 1:
            return [w[1]]
        if u.cmd == b"flush_all" and len(w) > 1:
            return [w[1]]
        return []

    def _account(self, chunk, units):
        """Update the incr/decr safety model and the padding bookkeeping."""
        u = units[0]
        chunk.versions = 1 + sum(1 for x in units if x.cmd == b"version")
        if u.cmd in M.META:
            self.account_meta(chunk, u)
        elif u.cmd in M.STORAGE:
            st = M.storage_1618(u.words, u.ntok)
            if st.kind == "read":
                key = u.words[1]
                chunk.store_key = key
                if key not in self.stored:
                    self.stored.append(key)
                data = u.data
                if data.endswith(b"\r\n"):
                    value = data[:-2]
                    if u.cmd in (b"append", b"prepend"):
                        if M.may_extend_number(value):
                            self.ub[key] = None
                    else:
                        risk = M.numeric_risk(value)
                        old = self.ub.get(key, 0)
                        self.ub[key] = None if risk is None or old is None else max(old, risk)
                        if risk and key not in self.numeric:
                            self.numeric.append(key)
                        if u.cmd == b"set" and M.noreply_of(u.words, u.ntok):
                            chunk.set_noreply_key = key
        elif u.cmd in (b"incr", b"decr") and u.ntok in (4, 5):
            key = u.words[1]
            chunk.arith_keys.append(key)
            self.arith.add(key)
            delta = M.safe_strtoul(u.words[2])
            if delta is not None and u.cmd == b"incr":
                old = self.ub.get(key, 0)
                self.ub[key] = None if old is None or old + delta >= (1 << 63) else old + delta

    def make(self, cmd):
        if cmd in diffmeta.META_DESCS:
            return Chunk(self.meta_parts(cmd))
        if cmd in ("set", "add", "replace", "append", "prepend", "cas"):
            return Chunk(self.storage_parts(cmd))
        if cmd in ("get", "gets", "gat", "gats"):
            return Chunk(self.retrieval_parts(cmd))
        return Chunk(self.simple_parts(cmd))

    def chunks(self):
        """One generated step: a list of chunks (one, or a script's several)."""
        for _ in range(30):
            cmd = pick(self.rng, COMMANDS)
            if cmd in ("meta_pipe", "meta_stale"):
                out = self.pipeline() if cmd == "meta_pipe" else self.stale_script()
                for c in out:
                    c.desc = cmd
                if out:
                    return out
                continue
            c = self.make(cmd)
            units = self._check(c)
            if units is None:
                continue
            for u in units:
                c.skip |= M.classify_line(M.strip_line(u.raw))
            if not c.skip:
                self._account(c, units)
            c.desc = cmd
            c.nlines = len(units)
            return [c]
        c = Chunk([b"get " + self.prefix + b"fallback\r\n"])
        c.desc = "fallback"
        return [c]

    def sequence(self):
        """The chunks of this sequence: clean-up of its short shared keys, then 5-32
        generated steps (a verbosity change is always followed by 'verbosity 0')."""
        out = []
        body = [c for _ in range(self.rng.randint(5, 32)) for c in self.chunks()]
        for k in dict.fromkeys(self.raw_keys):
            c = Chunk([b"delete " + k + b" noreply\r\n"])
            c.desc = "cleanup"
            out.append(c)
        for c in body:
            out.append(c)
            if c.desc == "verbosity" and not c.skip:
                reset = Chunk([b"verbosity 0\r\n"])
                reset.desc = "verbosity"
                out.append(reset)
        return out
