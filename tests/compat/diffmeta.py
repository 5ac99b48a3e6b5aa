"""diffmeta.py: the meta-command half of the differential test's generator (diffgen.py's
SequenceGenerator mixes it in; every method draws from the same seeded random.Random).

What it generates, on the same keys as the classic commands (a value set with `set` is
read with `mg`, one stored with `ms` is read with `get`/`gets`, `ma` and `incr` work on
the same numbers, a `c` cas from `mg` feeds a classic `cas`, a `gets` cas feeds `ms C`):
- mg with b c f h k l O q s t u v N R T (and P L, ignored by 1.6.18; E, which 1.6.18 does
  not know: CLIENT_ERROR invalid flag), in random order (answers keep the order);
- ms with modes E A P R S (M), I, F, C, T, q, b, c, k, O, every kind of value the classic
  generator makes (binary, CRLF inside, 1 MB, too large), wrong lengths and terminators;
- md with I T q C b k O; ma with modes I + D - (M), N, J, D, T, q, t, c, v, k, O, b, C;
- mn, and quiet pipelines: 2-6 meta commands, most with q, ended by mn;
- scripts of several chunks for the stale/win/recache machinery: ms then md I, then mg
  (X W, then Z X); ms with an older C and I (a stale store); mg N vivify (W, then Z);
  mg R against a TTL below/above the token (W, then Z); the winner storing back with the
  cas it was given;
- base64 keys (b), valid (they decode to the sequence's keys, including ones with spaces,
  NUL and CR that only b can address) and broken (bad length, bad padding, junk bytes);
- malformed lines: no key, key over 250 bytes, too many tokens, duplicate and unknown
  flags, flag letters >= 0x7f, bad numbers in N T R D J F C, M tokens of the wrong
  length or mode, opaque tokens over 32 bytes, NUL in the line, unknown 'mX' words, and
  the classic whitespace mutations (diffgen.join_line).

Not generated, and why:
- `me`: its answer is "exp= la= cas= fetch= cls= size=": exp and la are clock readings,
  cls is the slab class, which differs by design (docs/COMPATIBILITY.md, "Other
  differences", the meta row: hardcached's own class ladder), size the item size. All
  but the key and fetch= would have to be masked; a normalised `me` would compare almost
  nothing, and it is a debugging command (tests/integration/test_meta.py covers it).

Not compared: the meta lines under that same row (rules (a)-(d) applied to the meta
commands: ms swallowing a block after a key or word-count error, F >= 2^32, N R T outside
int32, an ms length outside int32), recognised by mcmodel.classify_meta like the classic
ones.

Kept deterministic (each is a property of the generator, decided from the bytes sent):
- TTLs in T and N tokens avoid 1-9 seconds (after 1.6.18's int32 narrowing), as classic
  exptimes do; an mg or ma that sets an already-past TTL (negative, or an absolute time
  in the past) carries no 't': 1.6.18 then prints the unsigned 32-bit wrap of
  "exptime - now" in its private clock, whose origin is its start time minus 62 s (the
  value depends on its uptime, e.g. t4294967235; docs/COMPATIBILITY.md, meta row);
- R tokens come from a set at least 10 s away from every TTL the generator can give an
  item (30 45 100 1000 86400 2592000, 2 days absolute), so "TTL left < R" never sits on
  a clock tick;
- 't' (TTL left) and 'l' (seconds since last access) are clock readings: diffwire
  compares them with a tolerance of two seconds, and says why ('t-1', no expiry,
  exactly);
- 'c' and 'C': cas uniques are numbered like the classic ones; a C token either carries
  a value that server returned earlier in the sequence (the placeholder ('cas', r, b"C"),
  resolved per server at send time, as classic `cas` does; r = -1 is the newest one, so a
  script can hand back the cas it was just given), or a literal that cannot be a live
  cas on one server only (0, >= 2^40, not a number);
- incr/decr/ma replace an item in place or by a copy depending on memcached's reference
  counts, and a copy drops the item's fetched/stale/win bits and resets its size padding.
  So on a key incr/decr/ma touched in this sequence the generator sends no mg with s or
  h, no stale or win machinery (md I, ms I, mg N/R) and no ms append/prepend mode; and on
  a key that machinery touched, no incr/decr/ma. In a pipeline, no ma on a key an
  earlier command of the pipeline addressed (the unsent answer may still hold the item,
  so 1.6.18 copies it: see pipeline_ok). Without pipelines both servers copy exactly
  when the new number is wider (measured: T lost, b-key and stale bits dropped, alike).
  ma respects the classic generator's bound on the stored number (1.6.18 reads past an
  item >= 2^63)."""
import base64

import mcmodel as M

OPAQUE_CHARS = (b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                b"_-.:/+=!#$%&*")
# TTLs for T and N tokens (the classic exptime set, plus 30/45 for vivify and recache).
META_TTLS = [(28, b"0"), (8, b"30"), (8, b"45"), (10, b"1000"), (6, b"86400"),
             (3, b"2592000"), (4, b"-1"), (2, b"2592001"), (2, b"1000000000"),
             (5, "ABSFUT"), (5, "EDGE")]
# R tokens: each at least 10 s from any TTL an item can have here ("TTL left < R" must not
# depend on which side of a clock tick the two servers read it).
RECACHE = [b"0", b"-1", b"20", b"60", b"2000", b"100000", b"200000", b"3000000",
           b"2147483647", b"abc", b"", b"12a", b"-2147483649", b"4294967296"]
DELTAS = [(30, b"1"), (5, b"0"), (5, b"2"), (5, b"5"), (5, b"10"), (5, b"95"), (5, b"100"),
          (3, b"1000"), (2, b"65536"), (2, b"4294967296"), (1, b"9223372036854775807"),
          (1, b"18446744073709551615"), (1, b"18446744073709551616"), (1, b"-1"),
          (1, b"12a"), (1, b""), (1, b"+3"), (1, b"-0"), (1, b"007"),
          (1, b"18446744073709551615\t-"), (1, b"9223372036854775808\tz-z")]
INITIALS = [b"0", b"1", b"5", b"10", b"100", b"4294967295", b"9223372036854775807",
            b"9223372036854775808", b"18446744073709551615", b"18446744073709551616",
            b"-1", b"abc", b"", b"007", b"18446744073709551615\t-"]
MS_MODES = [(25, b"S"), (15, b"E"), (15, b"A"), (12, b"P"), (15, b"R"), (2, b"s"),
            (2, b"X"), (1, b""), (1, b"SS"), (1, b"+")]
MA_MODES = [(20, b"I"), (10, b"+"), (20, b"D"), (10, b"-"), (2, b"i"), (2, b"d"), (1, b"X"),
            (1, b""), (1, b"ID")]
BAD_FLAG_BYTES = b"adegijmnopqrswxyzABGHKQUVWXYZ0123456789!#@~\t\x01\x7f"
HIGH_FLAG_BYTES = b"\x7f\x80\xc3\xff"
PAST_ABSOLUTE = 1500000000    # absolute exptimes up to this are in the past (2017)
META_DESCS = ("mg", "ms", "md", "ma", "mn", "meta_pipe", "meta_stale", "meta_junk")


class MetaGen:
    """Mixed into diffgen.SequenceGenerator (uses its rng, keys, value(), exptime(),
    join_line(), _join_mixed() and its per-key bookkeeping)."""

    # --- tokens ---------------------------------------------------------------------

    def opaque(self):
        rng = self.rng
        r = rng.random()
        n = (0 if r < 0.05 else rng.randint(1, 8) if r < 0.75 else rng.randint(9, 31)
             if r < 0.96 else rng.randint(32, 40))
        return b"O" + bytes(rng.choice(OPAQUE_CHARS) for _ in range(n))

    def ttl_token(self, letter):
        """A T or N token; ('absfut', letter) for an absolute time two days ahead."""
        e = self.pick(META_TTLS)
        if e == "ABSFUT":
            return ("absfut", letter)
        if e == "EDGE":
            e = self.rng.choice(self.EDGE)
        return letter + e

    def cas_token(self, placeholder_p=0.7):
        rng = self.rng
        if rng.random() < placeholder_p:
            # mostly the newest cas this server gave (the one a client would hand back)
            r = -1 if rng.random() < 0.5 else rng.choice([-2, -3, rng.getrandbits(16)])
            return ("cas", r, b"C")
        return b"C" + rng.choice([b"0", b"18446744073709551615", b"9223372036854775808",
                                  b"12a", b"", b"-1", b"18446744073709551616", b"abc",
                                  b"1099511627776", b"18446744073709551615\t-"])

    def junk_suffix(self, tok):
        """Rarely, trailing bytes on a flag that takes no argument (1.6.18 reads only its
        first byte)."""
        if self.rng.random() < 0.03:
            return tok + self.rng.choice([b"1", b"x", b"vv", b"-"])
        return tok

    def meta_key(self):
        """A key of the sequence; often one a storage command was sent for (meta reads
        should hit as often as they miss)."""
        if self.stored and self.rng.random() < 0.45:
            return self.rng.choice(self.stored)
        return self.key()

    def key_token(self, b64_p=0.15):
        """(key token, key, uses_b): a key of the sequence, sometimes as base64 with 'b'."""
        k = self.meta_key()
        if self.rng.random() < b64_p:
            return base64.b64encode(k), k, True
        return k, k, False

    def bad_b64(self, key):
        rng = self.rng
        enc = base64.b64encode(key)
        r = rng.random()
        if r < 0.25:
            return enc.rstrip(b"=") or b"Q"               # padding dropped
        if r < 0.45:
            return enc[:-1] or b"Q"                       # length not a multiple of 4
        if r < 0.60:
            return enc + b"="                             # extra padding
        if r < 0.75:
            i = rng.randrange(len(enc) + 1)
            return enc[:i] + rng.choice([b"!", b"\t", b"*", b"\x01", b"=", b"-", b"_"]) + enc[i:]
        if r < 0.85:
            return rng.choice([b"AA==", b"AAAA", b"====", b"A===", b"QQ", b"Q", b"=QQ="])
        return bytes(rng.choice(b"abc!@") for _ in range(rng.randint(1, 8)))

    def finish_flags(self, flags, quiet=None):
        rng = self.rng
        if quiet is True and b"q" not in flags:
            flags.append(b"q")
        elif quiet is None and rng.random() < 0.12:
            flags.append(b"q")
        rng.shuffle(flags)
        r = rng.random()
        if r < 0.02 and flags:
            flags.append(rng.choice(flags))                       # a duplicate flag
        elif r < 0.04:
            flags.insert(rng.randint(0, len(flags)), bytes([rng.choice(BAD_FLAG_BYTES)]))
        elif r < 0.045:
            flags.insert(rng.randint(0, len(flags)), bytes([rng.choice(HIGH_FLAG_BYTES)]))
        elif r < 0.06:
            flags.append(rng.choice([b"P", b"L", b"Pfoo/bar", b"Lx"]))  # ignored
        return flags

    # --- commands -------------------------------------------------------------------

    def mg_words(self, quiet=None, key_tok=None, extra=()):
        rng = self.rng
        kt, key, b = key_tok or self.key_token()
        flags = [b"b"] if b else []
        for p, f in ((0.65, b"v"), (0.30, b"c"), (0.30, b"f"), (0.20, b"s"), (0.25, b"t"),
                     (0.25, b"k"), (0.15, b"h"), (0.12, b"l"), (0.05, b"u")):
            if rng.random() < p:
                flags.append(self.junk_suffix(f))
        if rng.random() < 0.25:
            flags.append(self.opaque())
        if rng.random() < 0.10:
            flags.append(self.ttl_token(b"T"))
        if rng.random() < 0.08:
            flags.append(self.ttl_token(b"N"))
        if rng.random() < 0.08:
            flags.append(b"R" + rng.choice(RECACHE))
        if rng.random() < 0.015:
            flags.append(b"E" + rng.choice([b"5", b"100", b""]))
        flags.extend(extra)
        return [b"mg", kt] + self.finish_flags(flags, quiet)

    def ms_parts(self, quiet=None, key_tok=None, value=None, extra=()):
        rng = self.rng
        kt, key, b = key_tok or self.key_token()
        if value is None:
            value = self.value()
        big = len(value) > 100000
        length = b"%d" % len(value)
        if not big and rng.random() < 0.08:
            length = rng.choice([b"%d" % (len(value) + d) for d in (1, -1, 3, -3)]
                                + [b"0", b"-1", b"x", rng.choice(self.EDGE)])
        flags = [b"b"] if b else []
        for p, f in ((0.30, b"c"), (0.20, b"k")):
            if rng.random() < p:
                flags.append(self.junk_suffix(f))
        if rng.random() < 0.20:
            flags.append(self.opaque())
        if rng.random() < 0.40:
            v = (b"0" if rng.random() < 0.3 else b"%d" % rng.randint(1, 999)
                 if rng.random() < 0.6 else b"%d" % rng.getrandbits(32)
                 if rng.random() < 0.8 else rng.choice(self.EDGE))
            flags.append(b"F" + v)
        if rng.random() < 0.40:
            flags.append(self.ttl_token(b"T"))
        if rng.random() < 0.30:
            flags.append(b"M" + self.pick(MS_MODES))
        if rng.random() < 0.15:
            flags.append(self.cas_token())
        if rng.random() < 0.08:
            flags.append(b"I")
        flags.extend(extra)
        words = [b"ms", kt, length] + self.finish_flags(flags, quiet)
        if big:
            line = []
            for i, w in enumerate(words):
                line += ([b" "] if i else []) + [w]
            return line + [b"\r\n", value, b"\r\n"]
        dterm = self.pick([(95, b"\r\n"), (2, b"\n"), (1, b""), (2, b"XY")])
        return self._join_mixed(words) + [value, dterm]

    def md_words(self, quiet=None, key_tok=None, extra=()):
        rng = self.rng
        kt, key, b = key_tok or self.key_token()
        flags = [b"b"] if b else []
        if rng.random() < 0.25:
            flags.append(self.junk_suffix(b"k"))
        if rng.random() < 0.20:
            flags.append(self.opaque())
        if rng.random() < 0.20:
            flags.append(self.cas_token())
        if rng.random() < 0.25:
            flags.append(b"I")
        if rng.random() < 0.15:
            flags.append(self.ttl_token(b"T"))
        flags.extend(extra)
        return [b"md", kt] + self.finish_flags(flags, quiet)

    def ma_words(self, quiet=None, key_tok=None, extra=()):
        rng = self.rng
        if key_tok is None and self.numeric and rng.random() < 0.6:
            k = rng.choice(self.numeric)
            key_tok = ((base64.b64encode(k), k, True) if rng.random() < 0.1
                       else (k, k, False))
        kt, key, b = key_tok or self.key_token()
        flags = [b"b"] if b else []
        if rng.random() < 0.20:
            flags.append(self.ttl_token(b"N"))
        if rng.random() < 0.15:
            flags.append(b"J" + rng.choice(INITIALS))
        if rng.random() < 0.55:
            flags.append(b"D" + (self.pick(DELTAS) if rng.random() < 0.6
                                 else b"%d" % rng.randint(0, 1000)))
        if rng.random() < 0.10:
            flags.append(self.ttl_token(b"T"))
        if rng.random() < 0.35:
            flags.append(b"M" + self.pick(MA_MODES))
        for p, f in ((0.15, b"t"), (0.20, b"c"), (0.50, b"v"), (0.15, b"k")):
            if rng.random() < p:
                flags.append(self.junk_suffix(f))
        if rng.random() < 0.15:
            flags.append(self.opaque())
        if rng.random() < 0.10:
            flags.append(self.cas_token())
        flags.extend(extra)
        return [b"ma", kt] + self.finish_flags(flags, quiet)

    def mn_parts(self):
        return [self.pick([(90, b"mn\r\n"), (3, b"mn x y\r\n"), (3, b"mn\n"),
                           (2, b" mn  \r\n"), (2, b"mn\x00junk\r\n")])]

    def meta_junk_parts(self):
        """Malformed meta lines (and a few well-formed ones with odd spellings)."""
        rng = self.rng
        cmd = rng.choice([b"mg", b"ms", b"md", b"ma"])
        k = self.key()
        kind = rng.randrange(14)
        if kind == 0:
            return [rng.choice([b"mg", b"ms", b"md", b"ma", b"mg ", b" mg", b"mz", b"mx k v",
                                b"mz " + k, b"mgg " + k, b"m " + k, b"MG " + k + b" v"]),
                    b"\r\n"]
        if kind == 1:       # key over 250 bytes
            words = [cmd, b"k" * rng.choice([251, 252, 300, 1000])]
            words += ([b"2"] if cmd == b"ms" else []) + [rng.choice([b"v", b"q", b"k", b"T0"])]
            parts = self.join_line(words)
            return parts + ([b"ab\r\n"] if cmd == b"ms" else [])
        if kind == 2:       # around the word limit (1.6.18: more than 19 words is "too
            n = rng.randint(14, 26)   # long"; up to it, the repeated letters are an error)
            flags = [bytes([rng.choice(b"vcfkstq")]) + b"%d" % i for i in range(n)]
            if rng.random() < 0.5:
                flags = [b"O%d" % i for i in range(n)]
            words = [cmd, k] + ([b"1"] if cmd == b"ms" else []) + flags
            return self.join_line(words) + ([b"x\r\n"] if cmd == b"ms" else [])
        if kind == 3:       # duplicate flags
            f = rng.choice([b"v", b"k", b"q", b"O1", b"T0", b"c", b"b"])
            words = [cmd, k] + ([b"1"] if cmd == b"ms" else []) + \
                [f, b"v" if f != b"v" else b"k", f]
            return self.join_line(words) + ([b"x\r\n"] if cmd == b"ms" else [])
        if kind == 4:       # unknown / high flag bytes
            f = bytes([rng.choice(BAD_FLAG_BYTES + HIGH_FLAG_BYTES)]) + \
                rng.choice([b"", b"1", b"zz"])
            words = [cmd, k] + ([b"1"] if cmd == b"ms" else []) + [f]
            return self.join_line(words) + ([b"x\r\n"] if cmd == b"ms" else [])
        if kind == 5:       # bad numbers in argument flags
            f = rng.choice([b"N", b"Nx", b"N1.5", b"T", b"T1x", b"T0x10", b"R", b"R-", b"D",
                            b"D-1", b"Dx", b"J1.5", b"J-1", b"F", b"Fx", b"F-1", b"F1.0",
                            b"C", b"Cabc", b"C-1", b"C12a", b"N99999999999999999999",
                            b"T-9223372036854775809", b"D18446744073709551616"])
            words = [cmd, k] + ([b"1"] if cmd == b"ms" else []) + [f, b"v"]
            return self.join_line(words) + ([b"x\r\n"] if cmd == b"ms" else [])
        if kind == 6:       # M tokens
            c2 = rng.choice([b"ms", b"ma"])
            f = b"M" + rng.choice([b"", b"EE", b"Z", b"e", b"a", b"p", b"r", b"s", b"i",
                                   b"d", b"+", b"-", b"I", b"D", b"E", b"A", b"P", b"R", b"S"])
            words = [c2, k] + ([b"1"] if c2 == b"ms" else []) + [f]
            return self.join_line(words) + ([b"5\r\n"] if c2 == b"ms" else [])
        if kind == 7:       # opaque lengths around the limit
            n = rng.choice([29, 30, 31, 32, 33, 100])
            words = [cmd, k] + ([b"1"] if cmd == b"ms" else []) + [b"O" + b"o" * n, b"k"]
            return self.join_line(words) + ([b"x\r\n"] if cmd == b"ms" else [])
        if kind == 8:       # broken base64 (no N R I, and no ms/ma: 1.6.18's decoder is
            c2 = rng.choice([b"mg", b"mg", b"md"])   # lenient, the key it reads unknown)
            words = [c2, self.bad_b64(k), b"b"] + rng.sample([b"k", b"v", b"q", b"c", b"s"],
                                                              rng.randint(0, 3))
            return self.join_line(words)
        if kind == 9:       # b on a key that is not base64
            words = [cmd, k] + ([b"1"] if cmd == b"ms" else []) + [b"b", b"k"]
            return self.join_line(words) + ([b"x\r\n"] if cmd == b"ms" else [])
        if kind == 10:      # NUL ends the command (strlen)
            words = [cmd, k + b"\0" + rng.choice([b"v", b" v", b" zzz"])]
            return self.join_line(words + ([b"1"] if cmd == b"ms" else [b"k"])) + \
                ([b"x\r\n"] if cmd == b"ms" else [])
        if kind == 11:      # ms datalen oddities
            n = rng.choice([b"x", b"-1", b"", b"2147483646", b"2147483645", b"+2", b" 2",
                            b"2x", b"00002", b"4294967298", b"-4294967294"])
            return self.join_line([b"ms", k, n, b"T0"]) + [b"ab\r\n"]
        if kind == 12:      # flags with no key-side argument where one is needed
            words = [cmd, k] + ([b"2"] if cmd == b"ms" else []) + \
                [rng.choice([b"O", b"k", b"q", b"P", b"L"])]
            return self.join_line(words) + ([b"ab\r\n"] if cmd == b"ms" else [])
        # a command word followed by a tab, or a flag glued to the key with a tab
        return [cmd + rng.choice([b"\t", b" \t"]) + k + rng.choice([b"", b"\tv", b" v"]),
                b"\r\n"]

    def meta_parts(self, cmd, quiet=None):
        if cmd == "mg":
            return self._join_mixed(self.mg_words(quiet))
        if cmd == "ms":
            return self.ms_parts(quiet)
        if cmd == "md":
            return self._join_mixed(self.md_words(quiet))
        if cmd == "ma":
            return self._join_mixed(self.ma_words(quiet))
        if cmd == "mn":
            return self.mn_parts()
        return self.meta_junk_parts()

    # --- multi-command chunks ---------------------------------------------------------

    def pipeline(self):
        """One chunk: 2-6 meta commands (most of them quiet) and mn."""
        rng = self.rng
        chunk = self.Chunk([])
        chunk.single = False
        for _ in range(rng.randint(2, 6)):
            cmd = self.pick([(10, "mg"), (6, "ms"), (4, "md"), (4, "ma"), (1, "junk")])
            quiet = True if rng.random() < 0.85 else None
            for _ in range(5):
                sub = self.Chunk(self.meta_parts(cmd, quiet) if cmd != "junk"
                                 else self.meta_junk_parts())
                units = self._check(sub)
                if units is not None and self.pipeline_ok(chunk, units[0]) \
                        and not self.exempt(units):
                    break
            else:
                continue
            self._account(chunk, units)
            chunk.parts.extend(sub.parts)
            chunk.nlines += len(units)
        chunk.parts.extend(self.mn_parts())
        chunk.nlines += 1
        return [chunk]

    @staticmethod
    def exempt(units):
        """Whether a command falls under a documented difference (mcmodel.classify_line):
        a pipeline or a script leaves it out (single chunks are sent to the scratch
        memcached instead, see test_differential)."""
        return any(M.classify_line(M.strip_line(u.raw)) for u in units)

    @staticmethod
    def pipeline_ok(chunk, first):
        """No ma on a key an earlier command of the same pipeline addressed: 1.6.18 may
        still hold that item for the answer it has not written yet, and then ma copies
        the item instead of changing it in place, whatever the widths (reference
        counts): the copy has no padding and loses a T, the b-key bit (k echoes the
        key raw), the fetched and stale/win bits."""
        if first.cmd != b"ma":
            return True
        return M.meta_key(first.words, first.ntok) not in chunk.meta_keys

    def fresh_key_token(self, b64_p=0.15):
        """A key incr/decr/ma has not touched (the stale machinery needs one)."""
        k = self.meta_key()
        if k in self.arith:
            k = self.new_key()
            self.keys.append(k)
        if self.rng.random() < b64_p:
            return base64.b64encode(k), k, True
        return k, k, False

    def deco(self, p=0.3):
        """A few harmless extra flags for a script step."""
        rng = self.rng
        out = []
        for f in (b"k", b"f", b"s", b"t", b"h", b"l"):
            if rng.random() < p / 3:
                out.append(f)
        if rng.random() < p / 2:
            out.append(self.opaque())
        return out

    def stale_script(self):
        """Several chunks exercising W X Z: invalidation, vivify, recache, stale stores."""
        rng = self.rng
        kt = self.fresh_key_token()
        b = [b"b"] if kt[2] else []
        key = kt[0]
        kind = rng.choice(["invalidate", "vivify", "recache", "stale_set"])
        steps = []

        def line(cmd, flags):
            return self._join_mixed([cmd, key] + b + flags)

        def ms(flags, value=None):
            value = value if value is not None else self.rng.choice(self.WORDS)
            return self._join_mixed([b"ms", key, b"%d" % len(value)] + b + flags) + \
                [value, b"\r\n"]

        ttl = rng.choice([b"T0", b"T30", b"T45", b"T1000", b"T86400"])
        if kind == "invalidate":
            steps.append(ms([ttl, b"c"] + self.deco()))
            md = [b"I"] + ([self.ttl_token(b"T")] if rng.random() < 0.4 else [])
            if rng.random() < 0.3:
                md.append(self.cas_token(0.9))
            steps.append(line(b"md", md + ([b"q"] if rng.random() < 0.3 else []) + self.deco()))
            for _ in range(rng.randint(1, 3)):
                steps.append(line(b"mg", [b"v", b"c"] + self.deco()))
            if rng.random() < 0.6:      # the winner stores back (current or older cas)
                steps.append(ms([("cas", rng.choice([-1, -1, -2]), b"C")]
                                + ([b"I"] if rng.random() < 0.5 else []) + [b"c"]))
                steps.append(line(b"mg", [b"v", b"c", b"t"] + self.deco()))
        elif kind == "vivify":
            n = rng.choice([b"N0", b"N30", b"N45", b"N1000", b"N-1"])
            steps.append(line(b"mg", [n, b"v", b"c"] + self.deco()))
            steps.append(line(b"mg", [n, b"v"] + self.deco()))
            if rng.random() < 0.5:
                steps.append(line(b"mg", [b"c", b"v"] + self.deco()))
            if rng.random() < 0.6:
                steps.append(ms([("cas", -1, b"C"), rng.choice([b"T0", b"T1000"]), b"c"]
                                + ([b"I"] if rng.random() < 0.3 else [])))
            steps.append(line(b"mg", [b"v", b"c"] + ([n] if rng.random() < 0.5 else [])
                              + self.deco()))
        elif kind == "recache":
            steps.append(ms([ttl]))
            r = b"R" + rng.choice([b"20", b"60", b"2000", b"100000"])
            steps.append(line(b"mg", [r, b"v", b"c"] + self.deco()))
            steps.append(line(b"mg", [r, b"c"] + self.deco()))
            if rng.random() < 0.5:
                steps.append(line(b"md", [b"I", self.ttl_token(b"T")] + self.deco()))
                steps.append(line(b"mg", [r, b"c", b"v"] + self.deco()))
            if rng.random() < 0.5:
                steps.append(ms([("cas", -1, b"C"), ttl]))
                steps.append(line(b"mg", [r, b"c", b"v"] + self.deco()))
        else:                           # stale_set
            steps.append(ms([ttl, b"c"]))
            steps.append(ms([b"c"] + ([ttl] if rng.random() < 0.5 else [])))
            steps.append(ms([("cas", rng.choice([-1, -2, -2]), b"C"), b"I", b"c"]
                            + self.deco()))
            for _ in range(rng.randint(1, 3)):
                steps.append(line(b"mg", [b"v", b"c"] + self.deco()))
            if rng.random() < 0.5:
                steps.append(ms([("cas", -1, b"C"), b"c"]))
                steps.append(line(b"mg", [b"v", b"c"] + self.deco()))
        out = []
        for parts in steps:
            c = self.Chunk(parts)
            units = self._check(c)
            if units is None or self.exempt(units):
                continue
            self._account(c, units)
            c.nlines = len(units)
            out.append(c)
        return out

    # --- checking and bookkeeping ---------------------------------------------------

    def check_meta(self, first):
        """Meta-specific reasons to regenerate a chunk whose first command is `first`
        (see the module docstring): True if it may be sent."""
        words, ntok = first.words, first.ntok
        flags = M.meta_flags(words, ntok)
        letters = {f[:1] for f in flags}
        for f in flags:
            if f[:1] in (b"T", b"N"):
                v = M.safe_strtol(f[1:])
                if v is None:
                    continue
                v = M.wrap32(v)
                if 1 <= v <= 9:
                    return False      # would expire while the clocks tick apart
                if b"t" in letters and first.cmd in (b"mg", b"ma") and (
                        v < 0 or M.REALTIME_MAXDELTA < v < PAST_ABSOLUTE):
                    return False      # 't' of an item this command expires: see above
            elif f[:1] == b"C" and f[1:] != self.CAS_MODEL:
                v = M.safe_strtoul(f[1:])
                if v is not None and 0 < v < (1 << 40):
                    return False      # a small literal could be a live cas on one server
        key = M.meta_key(words, ntok)
        if key is None:
            return True
        cmd = first.cmd
        if cmd == b"ma":
            return key not in self.flagged and self.ub.get(key, 0) is not None
        if key not in self.arith:
            return True
        if cmd == b"mg":
            return not letters & {b"s", b"h", b"N", b"R"}
        if cmd == b"md":
            return b"I" not in letters
        if cmd == b"ms":
            modes = {f[1:] for f in flags if f[:1] == b"M"}
            return b"I" not in letters and not modes & {b"A", b"P"}
        return True

    def account_meta(self, chunk, u):
        words, ntok = u.words, u.ntok
        key = M.meta_key(words, ntok)
        if key is None or u.cmd not in (b"mg", b"ms", b"md", b"ma"):
            return
        flags = M.meta_flags(words, ntok)
        letters = {f[:1] for f in flags}
        chunk.meta_keys.add(key)
        if u.cmd == b"ms":
            st = M.mset_1618(words, ntok)
            if st.kind != "read" or not u.data or not u.data.endswith(b"\r\n"):
                return
            chunk.store_key = key
            if key not in self.stored:
                self.stored.append(key)
            value = u.data[:-2]
            modes = {f[1:] for f in flags if f[:1] == b"M"}
            if modes & {b"A", b"P"}:
                if M.may_extend_number(value):
                    self.ub[key] = None
            else:
                risk = M.numeric_risk(value)
                old = self.ub.get(key, 0)
                self.ub[key] = None if risk is None or old is None else max(old, risk)
                if risk and key not in self.numeric:
                    self.numeric.append(key)
            if b"I" in letters:
                self.flagged.add(key)
        elif u.cmd == b"ma":
            chunk.arith_keys.append(key)
            self.arith.add(key)
            modes = [f[1:] for f in flags if f[:1] == b"M"]
            decr = bool(modes) and modes[0] in (b"D", b"-")
            delta = 1
            for f in flags:
                if f[:1] == b"D":
                    delta = M.safe_strtoul(f[1:])
            if delta is None:
                return
            old = self.ub.get(key, 0)
            if old is None:
                return
            new = old if decr else old + delta
            if b"N" in letters:
                j = 0
                for f in flags:
                    if f[:1] == b"J":
                        j = M.safe_strtoul(f[1:])
                new = None if j is None else max(new, j)
                if key not in self.numeric:
                    self.numeric.append(key)
            self.ub[key] = None if new is None or new >= (1 << 63) else new
        elif u.cmd == b"mg":
            if letters & {b"N", b"R"}:
                self.flagged.add(key)
        elif u.cmd == b"md":
            if b"I" in letters:
                self.flagged.add(key)
