"""mcmodel.py: a model of how memcached 1.6.18 reads the ASCII protocol (line splitting,
tokenizing, C strtol-family number parsing, which storage and `ms` lines read a data
block, which meta tokens are flags, what a `b` key decodes to) and of the deliberate
differences hardcached makes (docs/COMPATIBILITY.md, items a-e, and the meta row of its
"Other differences", which applies a-d to the meta commands).

The differential test uses it for two things only, both decided from the bytes it is
about to send, never from the answers: (1) skipping exactly the commands that fall under a
documented deliberate difference, and (2) making sure a generated chunk never leaves the
server waiting for bytes (that would swallow the next command). It is not an oracle for
answers: the answers are always compared against the real memcached."""
import base64
import binascii

INT32_MIN = -(1 << 31)
INT32_MAX = (1 << 31) - 1
U64 = 1 << 64
KEY_MAX_LENGTH = 250
REALTIME_MAXDELTA = 60 * 60 * 24 * 30   # exptimes above this are absolute unix times
MAX_TOKENS = 24          # memcached's tokenizer array; at most 23 words are split out
C_SPACE = b" \t\n\v\f\r"  # isspace() in the C locale

STORAGE = (b"set", b"add", b"replace", b"append", b"prepend", b"cas")

# Every first word memcached 1.6.18 acts on (plus all two-letter 'm?' meta commands).
KNOWN_COMMANDS = frozenset([
    b"get", b"gets", b"gat", b"gats", b"bget", b"set", b"add", b"replace", b"append",
    b"prepend", b"cas", b"incr", b"decr", b"delete", b"touch", b"stats", b"flush_all",
    b"version", b"quit", b"shutdown", b"verbosity", b"watch", b"lru_crawler", b"lru",
    b"slabs", b"cache_memlimit", b"extstore", b"misbehave", b"debugtime",
    b"refresh_certs"])

# The deliberate differences, as docs/COMPATIBILITY.md names them.
DIFF_MALFORMED_STORAGE_SWALLOW = "a"   # malformed storage line with a valid length
DIFF_FLAGS_RANGE = "b"                 # flags (and verbosity level) >= 2^32
DIFF_EXPTIME_RANGE = "c"               # exptime outside int32
DIFF_LENGTH_RANGE = "d"                # data length outside int32 (1.6.18 wraps it)
DIFF_FLUSH_DELAY = "e"                 # flush_all with a positive delay
DIFF_NAMES = {
    "a": "malformed storage line with a valid length: data block swallowed",
    "b": "flags or verbosity level >= 2^32 rejected",
    "c": "exptime outside int32 rejected",
    "d": "data length outside int32 rejected",
    "e": "flush_all with a positive delay (1.6.18 revival quirk)",
}


# Meta commands (protocol.txt "Meta Commands"): 'me' is known but never generated.
META = (b"mg", b"ms", b"md", b"ma", b"mn", b"me")
MFLAG_MAX_OPT_LENGTH = 20   # proto_text.c: ntokens above this is "options flags too long"
MFLAG_MAX_OPAQUE_LENGTH = 32  # an 'O' token (flag letter included) longer than this fails


def is_known_command(word):
    return word in KNOWN_COMMANDS or (len(word) == 2 and word[:1] == b"m")


# --- HTTP on the cache port -------------------------------------------------------------

# First words process_command_ascii takes itself (measured on 1.6.18): every word starting
# with one of these letters, every two-letter 'm?' word, and these names. Only the other
# words reach its last branch, which closes on HTTP.
DISPATCHED_FIRST_BYTES = b"gsacidt"
DISPATCHED_NAMES = frozenset([
    b"replace", b"prepend", b"bget", b"flush_all", b"version", b"quit", b"lru_crawler",
    b"watch", b"verbosity", b"lru", b"refresh_certs", b"extstore"])


def http_closes(line):
    """True if memcached closes the connection on this command line, answering nothing
    (and dropping answers it has not written yet): an unknown command whose last token
    (of the first 23) starts with "HTTP/", case-sensitive. hardcached does the same
    (docs/COMPATIBILITY.md); the differential test's wire cannot compare a close, so the
    generator never sends such a line (tests/integration/test_http.py covers it)."""
    words, ntok = tokenize(line)
    if not words or len(words[0]) < 2:
        return False
    first = words[0]
    if (first[0] in DISPATCHED_FIRST_BYTES or (len(first) == 2 and first[:1] == b"m")
            or first in DISPATCHED_NAMES):
        return False
    return words[ntok - 2].startswith(b"HTTP/")


# --- C number parsing (glibc on LP64, base 10) -------------------------------------

def c_strto(tok, signed):
    """strtol (signed) or strtoul/strtoull (unsigned). Returns (value, end, erange);
    end == 0 means no conversion (endptr == str)."""
    i, n = 0, len(tok)
    while i < n and tok[i] in C_SPACE:
        i += 1
    neg = False
    if i < n and tok[i] in b"+-":
        neg = tok[i] == 0x2D
        i += 1
    start = i
    while i < n and 0x30 <= tok[i] <= 0x39:
        i += 1
    if i == start:
        return 0, 0, False
    mag = int(tok[start:i])
    if signed:
        if neg:
            return (-(1 << 63), i, True) if mag > (1 << 63) else (-mag, i, False)
        return ((1 << 63) - 1, i, True) if mag > (1 << 63) - 1 else (mag, i, False)
    if mag > U64 - 1:
        return U64 - 1, i, True
    return ((-mag) % U64 if neg else mag), i, False


def _end_ok(tok, end):
    # memcached: xisspace(*endptr) || (*endptr == '\0' && endptr != str)
    return end > 0 and (end == len(tok) or tok[end] in C_SPACE)


def safe_strtol(tok):
    """memcached's safe_strtol before narrowing: the long value, or None if rejected."""
    v, end, erange = c_strto(tok, True)
    if erange or end == 0 or not _end_ok(tok, end):
        return None
    return v


def safe_strtoul(tok):
    """memcached's safe_strtoul/safe_strtoull before narrowing (64-bit value) or None."""
    v, end, erange = c_strto(tok, False)
    if erange or end == 0 or not _end_ok(tok, end):
        return None
    if v >= (1 << 63) and b"-" in tok:
        return None
    return v


def wrap32(v):
    """What storing a long into an int32_t does."""
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v >= (1 << 31) else v


def in_int32(v):
    return INT32_MIN <= v <= INT32_MAX


# --- lines and tokens -----------------------------------------------------------------

def strip_line(raw):
    """The command string memcached builds from the bytes before a '\\n'."""
    if len(raw) > 1 and raw.endswith(b"\r"):
        raw = raw[:-1]
    return raw


def tokenize(line):
    """(words, ntokens) as memcached's tokenize_command sees them: the string ends at
    the first NUL, words are split on ' ' only, ntokens counts the terminal token."""
    s = line.split(b"\0", 1)[0]
    words = [w for w in s.split(b" ") if w]
    return words, min(len(words), MAX_TOKENS - 1) + 1


def meta_flag_start(cmd):
    """Index of the first flag token of a meta command line (after key, and datalen)."""
    return 3 if cmd == b"ms" else 2


def meta_flags(words, ntok):
    """The flag tokens of a meta line, as 1.6.18 walks them (up to the terminal token)."""
    if not words:
        return []
    return words[meta_flag_start(words[0]):ntok - 1]


def meta_key(words, ntok):
    """The key a well-formed meta line addresses, decoded when it carries a 'b' flag
    (None when there is none, or it is not valid base64: then 1.6.18 reads no key)."""
    if len(words) < 2 or ntok < 3:
        return None
    key = words[1]
    if any(f[:1] == b"b" for f in meta_flags(words, ntok)):
        try:
            key = base64.b64decode(key, validate=True)
        except (binascii.Error, ValueError):
            return None
        if not key:
            return None
    return key


def noreply_of(words, ntok):
    return ntok >= 2 and len(words) >= ntok - 1 and words[ntok - 2] == b"noreply"


# --- storage lines --------------------------------------------------------------------

class Storage:
    """How one implementation treats a storage command line.
    kind: 'ERROR' (wrong token count), 'error' (CLIENT_ERROR line), 'read' (reads data).
    swallow: bytes discarded after an 'error' (None: the next bytes are commands).
    length: bytes of value read for 'read'."""

    def __init__(self, kind, length=None, swallow=None, flags=None, exptime=None):
        self.kind, self.length, self.swallow = kind, length, swallow
        self.flags, self.exptime = flags, exptime

    def consumed(self):
        if self.kind == "read":
            return self.length + 2
        if self.kind == "error" and self.swallow is not None:
            return self.swallow + 2
        return 0


def _storage_arity_ok(words, ntok):
    want = (7, 8) if words[0] == b"cas" else (6, 7)
    return ntok in want and len(words) >= ntok - 1


def storage_1618(words, ntok):
    if not _storage_arity_ok(words, ntok):
        return Storage("ERROR")
    if len(words[1]) > KEY_MAX_LENGTH:
        return Storage("error")
    flags, exptime, vlen = safe_strtoul(words[2]), safe_strtol(words[3]), safe_strtol(words[4])
    if flags is None or exptime is None or vlen is None:
        return Storage("error")
    if words[0] == b"cas" and safe_strtoul(words[5]) is None:
        return Storage("error")
    vlen = wrap32(vlen)
    if vlen < 0 or vlen > INT32_MAX - 2:
        return Storage("error")
    return Storage("read", vlen, flags=flags & 0xFFFFFFFF, exptime=wrap32(exptime))


def mset_1618(words, ntok):
    """How 1.6.18 frames an 'ms <key> <datalen> <flags>*' line (proto_text.c,
    process_mset_command, measured): 'ERROR' without a key; 'error' (a CLIENT_ERROR line,
    nothing read after it: the next bytes are commands) for a key over 250 bytes, no
    datalen, more than 19 words, or a datalen that is not a number in 0..2^31-3 after
    1.6.18's narrowing to int32; else 'read': datalen + 2 bytes are read, then stored or,
    after any error in the flags (or a value too large), swallowed."""
    if ntok < 3:
        return Storage("ERROR")
    if len(words[1]) > KEY_MAX_LENGTH or ntok == 3 or ntok > MFLAG_MAX_OPT_LENGTH:
        return Storage("error")
    vlen = safe_strtol(words[2])
    if vlen is None:
        return Storage("error")
    vlen = wrap32(vlen)
    if vlen < 0 or vlen > INT32_MAX - 2:
        return Storage("error")
    return Storage("read", vlen)


def storage_hardcached(words, ntok):
    """docs/COMPATIBILITY.md (a)-(d): numbers out of their field's range are rejected,
    and a line rejected for its key, flags, exptime or cas unique has its data block
    swallowed when its length word is a number from 0 to 2^31-1."""
    if not _storage_arity_ok(words, ntok):
        return Storage("ERROR")
    vlen = safe_strtol(words[4])
    declared = vlen if vlen is not None and 0 <= vlen <= INT32_MAX else None
    flags, exptime = safe_strtoul(words[2]), safe_strtol(words[3])
    bad = (len(words[1]) > KEY_MAX_LENGTH
           or flags is None or flags > 0xFFFFFFFF
           or exptime is None or not in_int32(exptime)
           or (words[0] == b"cas" and safe_strtoul(words[5]) is None))
    if bad:
        return Storage("error", swallow=declared)
    if declared is None or declared > INT32_MAX - 2:
        return Storage("error")          # a bad length alone: nothing to swallow
    return Storage("read", declared, flags=flags, exptime=exptime)


# --- deliberate differences -----------------------------------------------------------

META_PREPARSE_OK = frozenset(b"bNTRlOPLkstcfvhuqFCMJDI")   # 1.6.18's _meta_flag_preparse


def meta_returning_error(flags):
    """Whether 1.6.18's flag pre-parse stops on these flags with an error of its own
    (a flag byte >= 0x7f or seen twice: "duplicate flag"; an unknown one: "invalid
    flag"), which both servers answer alike whatever numbers the flags carry."""
    seen = set()
    for f in flags:
        o = f[0]
        if o >= 127 or o in seen or o not in META_PREPARSE_OK:
            return True
        seen.add(o)
    return False


def classify_meta(words, ntok):
    """docs/COMPATIBILITY.md, "Other differences", the meta row: rules (a)-(d) applied to
    the meta commands, as measured on hardcached:
    (a) an ms line 1.6.18 rejects for its key (over 250 bytes) or its word count (over
        19 words) whose length is a number from 0 to 2^31-3 has its data block
        swallowed (1.6.18 reads the block as commands);
    (b) an F token of 2^32 or more (1.6.18 narrows it) is refused, in any meta command;
    (c) an N, R or T token outside int32 (1.6.18 narrows it) is refused;
    (d) an ms length outside int32 that 1.6.18 narrows to one it reads is refused.
    (b) and (c) only where 1.6.18 parses the flags (the line passed its key, word count
    and ms length checks) and stops on none of them with an error of its own."""
    cmd = words[0]
    reasons = set()
    if ntok < 3 or cmd not in (b"mg", b"ms", b"md", b"ma"):
        return reasons
    if cmd == b"ms":
        st = mset_1618(words, ntok)
        vlen = safe_strtol(words[2]) if ntok > 3 else None
        if (st.kind == "error" and vlen is not None and 0 <= vlen <= INT32_MAX - 2
                and (len(words[1]) > KEY_MAX_LENGTH or ntok > MFLAG_MAX_OPT_LENGTH)):
            reasons.add(DIFF_MALFORMED_STORAGE_SWALLOW)
        if st.kind != "read":
            return reasons
        if not in_int32(vlen):
            reasons.add(DIFF_LENGTH_RANGE)
    elif len(words[1]) > KEY_MAX_LENGTH or ntok > MFLAG_MAX_OPT_LENGTH:
        return reasons
    flags = meta_flags(words, ntok)
    if meta_returning_error(flags):
        return reasons
    for f in flags:
        if f[:1] == b"F":
            v = safe_strtoul(f[1:])
            if v is not None and v > 0xFFFFFFFF:
                reasons.add(DIFF_FLAGS_RANGE)
        elif f[:1] in (b"N", b"R", b"T"):
            v = safe_strtol(f[1:])
            if v is not None and not in_int32(v):
                reasons.add(DIFF_EXPTIME_RANGE)
    return reasons


def classify_line(line):
    """The set of deliberate differences (letters a-e) that apply to one command line,
    as memcached would split it out of the stream. Empty set: both must answer alike."""
    words, ntok = tokenize(line)
    if not words:
        return set()
    cmd = words[0]
    if cmd in META:
        return classify_meta(words, ntok)
    if cmd in STORAGE:
        old, new = storage_1618(words, ntok), storage_hardcached(words, ntok)
        if old.kind == "ERROR":
            return set()
        if old.kind == "error":
            # Both reject the line; they differ only if we swallow a declared block.
            return {DIFF_MALFORMED_STORAGE_SWALLOW} if new.swallow is not None else set()
        if new.kind == "read":
            return set()
        reasons = set()
        flags, exptime, vlen = safe_strtoul(words[2]), safe_strtol(words[3]), safe_strtol(words[4])
        if flags > 0xFFFFFFFF:
            reasons.add(DIFF_FLAGS_RANGE)
        if not in_int32(exptime):
            reasons.add(DIFF_EXPTIME_RANGE)
        if not in_int32(vlen):
            reasons.add(DIFF_LENGTH_RANGE)
        if new.swallow is not None:
            reasons.add(DIFF_MALFORMED_STORAGE_SWALLOW)
        assert reasons, "model error: %r" % line
        return reasons
    if cmd == b"verbosity":
        if ntok not in (3, 4):
            return set()
        v = safe_strtoul(words[1])
        return {DIFF_FLAGS_RANGE} if v is not None and v > 0xFFFFFFFF else set()
    if cmd == b"touch":
        if ntok not in (4, 5) or len(words[1]) > KEY_MAX_LENGTH:
            return set()
        v = safe_strtol(words[2])
        return {DIFF_EXPTIME_RANGE} if v is not None and not in_int32(v) else set()
    if cmd in (b"gat", b"gats"):
        if ntok < 3:
            return set()
        v = safe_strtol(words[1])
        return {DIFF_EXPTIME_RANGE} if v is not None and not in_int32(v) else set()
    if cmd == b"flush_all":
        if not 2 <= ntok <= 4:
            return set()
        if ntok == (3 if noreply_of(words, ntok) else 2):
            return set()
        v = safe_strtol(words[1])
        if v is None:
            return set()
        if not in_int32(v):
            return {DIFF_EXPTIME_RANGE}
        return {DIFF_FLUSH_DELAY} if v > 0 else set()
    return set()


class Unit:
    """One command as memcached reads it from a byte stream: its line (as sent, before
    the '\\n'), its words, and the data block it consumed, if any."""

    def __init__(self, raw, words, ntok, data=None):
        self.raw, self.words, self.ntok, self.data = raw, words, ntok, data

    @property
    def cmd(self):
        return self.words[0] if self.words else b""


def parse_stream(buf):
    """Split a chunk the way memcached 1.6.18 consumes it. Returns (units, problem);
    problem is None when the chunk ends exactly on a command boundary."""
    units, pos = [], 0
    while pos < len(buf):
        nl = buf.find(b"\n", pos)
        if nl < 0:
            return units, "incomplete line at the end of the chunk"
        raw = buf[pos:nl]
        pos = nl + 1
        words, ntok = tokenize(strip_line(raw))
        unit = Unit(raw, words, ntok)
        if words and (words[0] in STORAGE or words[0] == b"ms"):
            st = storage_1618(words, ntok) if words[0] in STORAGE else mset_1618(words, ntok)
            need = st.consumed()
            if need:
                if len(buf) - pos < need:
                    unit.data = buf[pos:]
                    units.append(unit)
                    return units, "data block needs %d more bytes" % (need - (len(buf) - pos))
                unit.data = buf[pos:pos + need]
                pos += need
        units.append(unit)
    return units, None


def may_extend_number(value):
    """Whether appending/prepending `value` could turn a stored value into a larger
    number (or whitespace) for incr/decr: any digit, sign or whitespace byte in it."""
    return len(value.translate(None, b"0123456789+-" + C_SPACE)) != len(value)


def numeric_risk(value):
    """Upper bound of what memcached 1.6.18's incr/decr would read from a stored value,
    or None when incr/decr on it is unsafe to compare: a value it reads as >= 2^63 (it then
    scans past the item for a '-') or a non-empty all-whitespace value (strtoull skips the
    \\r\\n terminator and reads whatever memory follows). See ../shared/NOTES.md."""
    if value and all(b in C_SPACE for b in value):
        return None
    v, end, erange = c_strto(value + b"\r\n", False)
    if end == 0 or erange:
        return 0          # not a number to it (ERANGE is rejected before any '-' scan)
    if v < (1 << 63):
        return v          # ("-18446744073709551615" is 1 to strtoull)
    if value.lstrip(C_SPACE)[:1] == b"-":
        return 0          # rejected: the '-' it scans for is inside the value
    return None


BAD_FORMAT = b"CLIENT_ERROR bad command line format\r\n"
BAD_EXPTIME = b"CLIENT_ERROR invalid exptime argument\r\n"


def check_prediction(line, first):
    """Check this model against memcached 1.6.18's real first answer element `first` to
    the command `line` (bytes line, a VALUE tuple, or None for no answer before the
    sentinel). Returns None if consistent, else a description. Covers the commands whose
    classification decides what the differential test skips."""
    words, ntok = tokenize(line)
    if not words:
        return None
    cmd = words[0]
    got = first if isinstance(first, bytes) else None
    # Under noreply memcached suppresses the command's own answer (errors included), so
    # the first element may come from later lines: only "not this error" can be checked.
    quiet = noreply_of(words, ntok)
    if cmd in STORAGE:
        st = storage_1618(words, ntok)
        if st.kind == "ERROR":
            ok = got == b"ERROR\r\n"
        elif st.kind == "error":
            ok = (got != BAD_FORMAT) if quiet else (got == BAD_FORMAT)
        else:
            ok = quiet or got not in (b"ERROR\r\n", BAD_FORMAT)
        return None if ok else "model predicted %s for a storage line" % st.kind
    if cmd == b"ms":
        # Meta errors are never suppressed ('q' hides only HD); no "noreply" word.
        st = mset_1618(words, ntok)
        if st.kind == "ERROR":
            ok = got == b"ERROR\r\n"
        elif st.kind == "error":
            ok = got is not None and got.startswith(b"CLIENT_ERROR ")
        elif any(f[:1] == b"q" for f in meta_flags(words, ntok)):
            ok = True     # its HD may be suppressed: the first answer can be a later line's
        else:
            ok = got != b"ERROR\r\n"
        return None if ok else "model predicted %s for an ms line" % st.kind
    if cmd in META:
        return None
    if quiet:
        return None
    exptime_word = None
    if cmd == b"touch" and ntok in (4, 5) and len(words[1]) <= KEY_MAX_LENGTH:
        exptime_word = words[2]
    elif cmd in (b"gat", b"gats") and ntok >= 3:
        exptime_word = words[1]
    elif cmd == b"flush_all" and 2 <= ntok <= 4 and ntok != (3 if noreply_of(words, ntok) else 2):
        exptime_word = words[1]
    if exptime_word is not None:
        accepted = safe_strtol(exptime_word) is not None
        if accepted == (got == BAD_EXPTIME):
            return "model predicted exptime %s" % ("accepted" if accepted else "rejected")
    return None
