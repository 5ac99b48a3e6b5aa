"""test_differential.py: the differential test. Seeded random sequences of valid and
malformed ASCII commands, classic and meta (diffgen.py, diffmeta.py), go to the server
under test and to memcached 1.6.18 side by side; every answer must be byte-for-byte the
same after the normalisation that diffwire.py documents (version text, cas numbering,
incr/decr padding, the 't'/'l' clock readings of meta answers within two seconds).
Commands that fall under a deliberate difference listed in docs/COMPATIBILITY.md are
recognised from their bytes before sending (mcmodel.classify_line) and not compared;
nothing else is exempt.
Those commands go to a third daemon, a scratch memcached, instead: its answers check that
the model behind the classification reads 1.6.18 right (mcmodel.check_prediction).

Environment:
  HC_DIFF_SEQS   number of sequences (default 3000, about 10 s against memcached)
  HC_DIFF_SEED   seed (default: random; always printed, with a replay command)
  HC_DIFF_ONLY   comma-separated sequence numbers to run alone (replay of a failure)
  HC_DIFF_BUDGET seconds the run may take before it stops and fails (default 120)
  HC_TARGET      memcached: compare memcached against itself (proves the harness is
                 deterministic: zero mismatches expected)
  HC_DIFF_MODE   text, binary, sasl or both (default both): which tests run (binary:
                 both binary ones; sasl: the -S one alone)

The binary mode (BinaryDifferentialTest; generator, framing model, wire and normaliser in
diffbin.py, which says what is generated, what is normalised and what is kept out, and
why) sends seeded random binary-protocol packet sequences the same way: valid requests of
every opcode, quiet pipelines ended by noop, wrong lengths, unknown opcodes, bad magic,
truncated packets; answers are compared packet by packet, field by field, after its
normalisation (cas numbering, the version string, stat names and values). A server under
test that does not answer a binary noop fails it at once.
  HC_DIFF_BIN_SEQS  number of binary sequences (default 1000, about 7 s against
                    memcached); HC_DIFF_SEED, HC_DIFF_ONLY and HC_DIFF_BUDGET as above

The -S run (BinarySaslDifferentialTest) starts both daemons with -S -B binary and the
same users (memcached from a Cyrus sasldb: Debian's build has no MEMCACHED_SASL_PWDB;
hardcached from a --sasl-pwdb file) and sends diffbin.BinSaslSequenceGenerator's
sequences: requests before a login (what 1.6.18 serves then, and what it refuses with
"Auth failure." and a close), list-mechanisms, a failed auth, the login (an auth, or an
auth answered "continue" and a step), then the binary generator's chunks with auths,
steps and list-mechanisms among them; diffbin.SaslState models the connection's login
state chunk by chunk. It is skipped without saslpasswd2 (Debian package sasl2-bin).
  HC_DIFF_SASL_SEQS number of -S sequences (default 200); the other knobs as above"""
import collections
import contextlib
import os
import random
import re
import shutil
import sys
import tempfile
import time
import unittest

import binwire
import compat_env
import diffbin
import diffgen
import diffwire
import mcmodel

MAX_REPORTED = 5


def _r(b, limit=600):
    s = repr(bytes(b))
    return s if len(s) <= limit else s[:limit] + "...(%d bytes)" % len(b)


def first_line(data):
    """The first command line of a chunk, as memcached splits it."""
    return mcmodel.strip_line(data.split(b"\n", 1)[0])


def meta_kind(words):
    """'HD c t W' for a meta answer line: its code and the letters of its tokens."""
    code = words[0].decode("latin-1")
    letters = " ".join(w[:1].decode("latin-1") for w in words[2 if code == "VA" else 1:])
    return (code + " " + letters).strip()


def answer_kind(e):
    """A short label for one answer element, for the coverage summary."""
    if isinstance(e, tuple):
        if e[0] == "VA":
            return meta_kind(e[1])
        return "VALUE(cas)" if len(e[1]) == 5 else "VALUE"
    line = e.rstrip(b"\r\n")
    if line.isdigit():
        return "<number>"
    if line[:2] in diffwire.META_CODES and line[2:3] in (b"", b" "):
        return meta_kind(line.split(b" "))
    return line.decode("latin-1")[:60]


def diff_mode():
    mode = os.environ.get("HC_DIFF_MODE", "both").strip().lower() or "both"
    if mode not in ("text", "binary", "sasl", "both"):
        raise SystemExit("HC_DIFF_MODE must be text, binary, sasl or both, not %r" % mode)
    return mode


class DifferentialTest(unittest.TestCase):
    def test_differential_against_memcached(self):
        if diff_mode() in ("binary", "sasl"):
            self.skipTest("HC_DIFF_MODE=%s: only the binary mode runs" % diff_mode())
        compat_env.require_target()
        nseq = int(os.environ.get("HC_DIFF_SEQS", "3000"))
        seed = os.environ.get("HC_DIFF_SEED") or str(random.SystemRandom().getrandbits(40))
        only = os.environ.get("HC_DIFF_ONLY")
        budget = float(os.environ.get("HC_DIFF_BUDGET", "120"))
        indices = ([int(x) for x in only.split(",") if x.strip()] if only
                   else list(range(nseq)))
        runner = ("HC_DIFF_MODE=text /usr/bin/python3 tests/lib/runner.py tests/compat compat "
                  "test_differential.py")
        replay_all = "%s HC_DIFF_SEED=%s HC_DIFF_SEQS=%d %s" % (
            compat_env.replay_env(), seed, nseq, runner)
        print("\ndifferential: seed %s, %d sequences, %s vs memcached 1.6.18\n"
              "differential: replay with: %s" % (seed, len(indices),
                                                 compat_env.target_name(), replay_all))
        sys.stdout.flush()

        stats = collections.Counter()
        skipped = collections.Counter()
        self.answers = collections.Counter()
        self.descs = collections.Counter()
        mismatches = []
        start = time.monotonic()
        with compat_env.reference_server() as ref, compat_env.target_server() as tgt, \
                compat_env.reference_server() as scratch:
            wt, wr = diffwire.Wire(tgt.port), diffwire.Wire(ref.port)
            # A third daemon (memcached) receives the chunks that are not compared, so the
            # model that decided to skip them is checked against real 1.6.18 answers.
            self.scratch = diffwire.Wire(scratch.port)
            try:
                for i in indices:
                    if time.monotonic() - start > budget:
                        self.fail("differential: budget of %.0fs used up after %d of %d "
                                  "sequences (seed %s)" % (budget, stats["sequences"],
                                                           len(indices), seed))
                    report = self.run_sequence(seed, i, wt, wr, stats, skipped)
                    stats["sequences"] += 1
                    if report:
                        gone = [name for name, srv in (("server under test", tgt),
                                                       ("reference memcached", ref))
                                if srv.proc.poll() is not None]
                        if gone:
                            report += "\n  %s exited (status %s): stopping" % (
                                " and ".join(gone), tgt.proc.poll())
                        mismatches.append(report + "\n  replay this sequence: %s "
                                          "HC_DIFF_SEED=%s HC_DIFF_ONLY=%d %s\n  replay the "
                                          "run: %s" % (compat_env.replay_env(), seed, i,
                                                       runner, replay_all))
                        print(mismatches[-1])
                        sys.stdout.flush()
                        if gone or len(mismatches) >= MAX_REPORTED:
                            break
                        try:
                            wt.connect()
                            wr.connect()
                        except OSError as e:
                            time.sleep(0.5)
                            mismatches.append("cannot reconnect after the mismatch (%s); "
                                              "server under test exit status: %s" % (
                                                  e, tgt.proc.poll()))
                            break
            finally:
                wt.close()
                wr.close()
                self.scratch.close()
        elapsed = time.monotonic() - start
        skip_txt = ", ".join("(%s) %d" % (k, skipped[k]) for k in sorted(skipped)) or "none"
        print("differential: %d sequences, %d chunks compared (%d command lines: %d meta, "
              "%d classic), %d not compared as deliberate differences [%s], %d mismatching "
              "sequences, %.1fs, seed %s" % (
                  stats["sequences"], stats["compared"], stats["lines"], stats["meta"],
                  stats["lines"] - stats["meta"], stats["skipped"], skip_txt,
                  len(mismatches), elapsed, seed))
        print("differential: chunks by generator: %s" % ", ".join(
            "%s %d" % (k, n) for k, n in self.descs.most_common()))
        print("differential: answers compared (memcached's, by kind): %s" % ", ".join(
            "%s %d" % (k, n) for k, n in self.answers.most_common(60)))
        if mismatches:
            self.fail("differential: %d sequence(s) answered differently (seed %s):\n%s"
                      % (len(mismatches), seed, "\n".join(mismatches)))
        self.assertGreater(stats["compared"], 0)

    def run_sequence(self, seed, i, wt, wr, stats, skipped):
        """Run sequence i on both servers; return a mismatch report or None."""
        chunks = diffgen.SequenceGenerator(seed, i).sequence()
        nt, nr = diffwire.Normaliser(), diffwire.Normaliser()
        padded = set()
        history = []
        for j, c in enumerate(chunks):
            if c.skip:
                stats["skipped"] += 1
                for letter in c.skip:
                    skipped[letter] += 1
                history.append("  [%d] not compared (deliberate difference %s): %s" % (
                    j, ",".join(sorted(c.skip)), _r(c.model_bytes(), 200)))
                problem = self.check_model_on_scratch(c)
                if problem:
                    return "HARNESS BUG seed %s sequence %d command %d: %s" % (
                        seed, i, j, problem)
                continue
            absfut = b"%d" % (int(time.time()) + 2 * 86400)
            bt = c.resolve(nt.cas_seen(), absfut)
            br = c.resolve(nr.cas_seen(), absfut)
            padded.update(c.arith_keys)
            va_padded = bool(c.meta_keys & padded)
            wt.send(bt)
            wr.send(br)
            et, raw_t, err_t = wt.read_answer(c.versions, timeout=3)
            er, raw_r, err_r = wr.read_answer(c.versions, timeout=3)
            stats["compared"] += 1
            stats["lines"] += c.nlines
            if c.desc in diffgen.diffmeta.META_DESCS:
                stats["meta"] += c.nlines
            self.descs[c.desc] += 1
            if err_r:
                # The reference itself did not answer: the generator produced something
                # it must not (a harness bug). Report it like a mismatch, loudly.
                return self.report(seed, i, j, c, bt, br, raw_t, err_t, raw_r,
                                   "HARNESS BUG: memcached gave no complete answer: " + err_r,
                                   history)
            problem = (mcmodel.check_prediction(first_line(br), er[0] if len(er) > 1 else None)
                       if c.single else None)
            if problem:
                return self.report(seed, i, j, c, bt, br, raw_t, err_t, raw_r,
                                   "HARNESS BUG: mcmodel disagrees with memcached: " + problem,
                                   history)
            if err_t or nt.apply(et, padded, va_padded) != nr.apply(er, padded, va_padded):
                return self.report(seed, i, j, c, bt, br, raw_t, err_t, raw_r, None, history)
            if not diffwire.drift_ok(nt.drift, nr.drift):
                return self.report(seed, i, j, c, bt, br, raw_t, err_t, raw_r,
                                   "t/l clock readings differ by more than %ds: %s vs %s" % (
                                       diffwire.DRIFT_TOLERANCE, nt.drift, nr.drift), history)
            history.append("  [%d] %s" % (j, _r(br, 200)))
            for e in er[:-1]:
                self.answers[answer_kind(e)] += 1
            if c.store_key is not None and c.single and er and (
                    er[0] == b"STORED\r\n" or er[0][:3] in (b"HD\r", b"HD ")):
                padded.discard(c.store_key)
            if c.set_noreply_key is not None:
                padded.discard(c.set_noreply_key)
        return None

    def check_model_on_scratch(self, c):
        """Send a skipped chunk to the scratch memcached; the model's view of how 1.6.18
        treats it (the basis of the skip) must match the real answer."""
        data = c.resolve([b"1"], b"%d" % (int(time.time()) + 2 * 86400))
        reset = b""
        if mcmodel.tokenize(first_line(data))[0][:1] == [b"verbosity"]:
            # A raised verbosity makes memcached log every command to its stderr, a
            # pipe nobody reads: put it back at once (no answer under noreply).
            reset = b"verbosity 0 noreply\r\n"
        self.scratch.send(data + reset)
        elements, raw, err = self.scratch.read_answer(c.versions)
        if err:
            self.scratch.connect()
            return "scratch memcached gave no complete answer to %s: %s" % (_r(data), err)
        problem = mcmodel.check_prediction(first_line(data),
                                           elements[0] if len(elements) > 1 else None)
        if problem:
            return "mcmodel disagrees with memcached on %s (answer %s): %s" % (
                _r(data), _r(raw), problem)
        return None

    @staticmethod
    def report(seed, i, j, c, bt, br, raw_t, err_t, raw_r, harness_err, history):
        name = "server under test (%s)" % compat_env.target_name()
        lines = ["MISMATCH seed %s sequence %d command %d (%s)" % (seed, i, j, c.desc)]
        if harness_err:
            lines.append("  " + harness_err)
        lines.append("  command bytes: %s" % _r(br))
        if bt != br:
            lines.append("  (to %s, with its own cas unique: %s)" % (name, _r(bt)))
        lines.append("  %s answered: %s%s" % (name, _r(raw_t),
                                               "  [%s]" % err_t if err_t else ""))
        lines.append("  reference memcached 1.6.18 answered: %s" % _r(raw_r))
        lines.append("  (each answer ends with the sentinel 'version' command's reply)")
        if history:
            lines.append("  earlier commands of this sequence:")
            lines.extend(history[-25:])
        return "\n".join(lines)


class _BinaryRun:
    """The binary differential's driver, shared by the two binary test classes: KIND
    names the run in its output; generator, environment knobs and servers are the
    subclass's."""

    KIND = "binary"
    MODE = "binary"                 # the HC_DIFF_MODE of a replay
    SEQS_ENV, SEQS_DEFAULT = "HC_DIFF_BIN_SEQS", 1000
    GENERATOR = diffbin.BinSequenceGenerator
    LOGIN = None                    # -S: the wire's login request

    def servers(self, stack):
        """(reference, server under test), started; stack closes them."""
        return (stack.enter_context(compat_env.reference_server()),
                stack.enter_context(compat_env.target_server()))

    def run_differential(self):
        if diff_mode() not in ("both", self.MODE, "binary"):
            self.skipTest("HC_DIFF_MODE=%s: the %s mode does not run" % (diff_mode(),
                                                                       self.KIND))
        compat_env.require_target()
        nseq = int(os.environ.get(self.SEQS_ENV, str(self.SEQS_DEFAULT)))
        seed = os.environ.get("HC_DIFF_SEED") or str(random.SystemRandom().getrandbits(40))
        only = os.environ.get("HC_DIFF_ONLY")
        budget = float(os.environ.get("HC_DIFF_BUDGET", "120"))
        indices = ([int(x) for x in only.split(",") if x.strip()] if only
                   else list(range(nseq)))
        runner = ("HC_DIFF_MODE=%s /usr/bin/python3 tests/lib/runner.py tests/compat "
                  "compat test_differential.py" % self.MODE)
        replay_all = "%s HC_DIFF_SEED=%s %s=%d %s" % (
            compat_env.replay_env(), seed, self.SEQS_ENV, nseq, runner)
        name = compat_env.target_name()
        tag = "differential (%s)" % self.KIND
        print("\n%s: seed %s, %d sequences, %s vs memcached 1.6.18\n"
              "%s: replay with: %s" % (tag, seed, len(indices), name, tag, replay_all))
        sys.stdout.flush()
        self.stats = collections.Counter()
        self.answers = collections.Counter()
        self.descs = collections.Counter()
        self.ops = collections.Counter()
        self.closes = collections.Counter()
        mismatches = []
        start = time.monotonic()
        with contextlib.ExitStack() as stack:
            ref, tgt = self.servers(stack)
            try:
                wt = diffbin.BinWire(tgt.port, "the server under test (%s)" % name,
                                     self.LOGIN)
            except diffbin.NotBinary as e:
                self.fail("%s: %s. The binary protocol is not implemented (issue 11)."
                          % (tag, e))
            stack.callback(wt.close)
            wr = diffbin.BinWire(ref.port, "the reference memcached", self.LOGIN)
            stack.callback(wr.close)
            for i in indices:
                if time.monotonic() - start > budget:
                    self.fail("%s: budget of %.0fs used up after %d of %d sequences "
                              "(seed %s)" % (tag, budget, self.stats["sequences"],
                                             len(indices), seed))
                try:
                    report = self.run_sequence(seed, i, wt, wr)
                except (OSError, diffbin.NotBinary) as e:
                    report = "%s seed %s sequence %d: cannot connect: %s" % (tag, seed, i, e)
                self.stats["sequences"] += 1
                if not report:
                    continue
                gone = [n for n, srv in (("server under test", tgt),
                                         ("reference memcached", ref))
                        if srv.proc.poll() is not None]
                if gone:
                    report += "\n  %s exited (status %s): stopping" % (
                        " and ".join(gone), tgt.proc.poll())
                mismatches.append(report + "\n  replay this sequence: %s "
                                  "HC_DIFF_SEED=%s HC_DIFF_ONLY=%d %s\n  replay the "
                                  "run: %s" % (compat_env.replay_env(), seed, i, runner,
                                               replay_all))
                print(mismatches[-1])
                sys.stdout.flush()
                if gone or len(mismatches) >= MAX_REPORTED:
                    break
                try:
                    wt.connect()
                    wr.connect()
                except (OSError, diffbin.NotBinary) as e:
                    mismatches.append("cannot reconnect after the mismatch (%s); server "
                                      "under test exit status: %s" % (e, tgt.proc.poll()))
                    break
        elapsed = time.monotonic() - start
        st = self.stats
        print("%s: %d sequences, %d chunks compared (%d requests; %d ended by a close, "
              "%d by the client's half-close, %d sent in pieces), %d response packets "
              "compared, %d mismatching sequences, %.1fs, seed %s" % (
                  tag, st["sequences"], st["chunks"], st["requests"], st["close"],
                  st["halfclose"], st["split"], st["packets"], len(mismatches), elapsed,
                  seed))
        print("%s: chunks by generator: %s" % (tag, ", ".join(
            "%s %d" % (k, n) for k, n in self.descs.most_common())))
        print("%s: chunks ended by a close, by cause (diffbin.mc_read): %s" % (tag, ", ".join(
            "%s %d" % (k, n) for k, n in self.closes.most_common())))
        print("%s: requests by opcode: %s" % (tag, ", ".join(
            "%s %d" % (k, n) for k, n in self.ops.most_common())))
        print("%s: answers compared (memcached's, by opcode and status): %s" % (
            tag, ", ".join("%s %d" % (k, n) for k, n in self.answers.most_common(80))))
        if mismatches:
            self.fail("%s: %d sequence(s) answered differently (seed %s):\n%s"
                      % (tag, len(mismatches), seed, "\n".join(mismatches)))
        self.assertGreater(st["chunks"], 0)

    def begin_sequence(self, wt, wr):
        """Before a sequence (-S: a new connection, not logged in)."""

    def run_sequence(self, seed, i, wt, wr):
        """Run sequence i on both servers; return a mismatch report or None."""
        chunks = self.GENERATOR(seed, i).sequence()
        self.begin_sequence(wt, wr)
        nt, nr = diffbin.BinNormaliser(), diffbin.BinNormaliser()
        padded, history = set(), []
        for j, c in enumerate(chunks):
            absfut = int(time.time()) + 2 * 86400
            bt = c.resolve(nt.cas_seen(), absfut)
            br = c.resolve(nr.cas_seen(), absfut)
            padded |= c.arith_keys
            is_padded = bool(c.keys & padded)
            at = wt.exchange(bt, c.mode, c.splits)
            ar = wr.exchange(br, c.mode, c.splits)
            self.stats["chunks"] += 1
            self.stats["requests"] += c.npackets
            self.stats[c.mode] += 1
            if c.mode == "close":
                self.closes[diffbin.mc_read(c.model_bytes(), sasl=c.sasl_before).why] += 1
            self.stats["split"] += bool(c.splits)
            self.descs[c.desc] += 1
            for op in c.ops:
                self.ops[diffbin.NAMES.get(op, "0x%02x" % op)] += 1
            want = "sentinel" if c.mode == "sentinel" else "closed"
            if ar.end != want or ar.err:
                return self.report(seed, i, j, c, bt, br, at, ar, history, "HARNESS BUG: "
                                   "the model of 1.6.18's framing predicted %s, memcached "
                                   "ended with %s%s" % (
                                       "the sentinel's answer" if want == "sentinel"
                                       else "a close", ar.end,
                                       " (%s)" % ar.err if ar.err else ""))
            et, er = nt.apply(at.packets, is_padded), nr.apply(ar.packets, is_padded)
            if at.end != ar.end or at.err or et != er:
                return self.report(seed, i, j, c, bt, br, at, ar, history, None, et, er)
            self.stats["packets"] += len(ar.packets)
            for e in er:
                d = dict(e)
                self.answers["%s/%s" % (diffbin.NAMES.get(d["opcode"], "0x%02x" % d["opcode"]),
                                        "stats" if d["kind"] == "STATS"
                                        else "0x%02x" % d["status"])] += 1
            history.append("  [%d] %s (%s, %d bytes): %s" % (
                j, c.desc, c.mode, len(br), _r(br, 160)))
            if c.mode != "sentinel":
                wt.connect(c.relogin)
                wr.connect(c.relogin)
        return None

    @staticmethod
    def report(seed, i, j, c, bt, br, at, ar, history, harness_err, et=None, er=None):
        name = "server under test (%s)" % compat_env.target_name()
        lines = ["MISMATCH (binary%s) seed %s sequence %d chunk %d (%s, %s%s)" % (
            ", -S" if c.sasl_before is not None else "", seed, i, j, c.desc, c.mode,
            ", sent in %d pieces at %s" % (len(c.splits) + 1, c.splits) if c.splits
            else "")]
        if harness_err:
            lines.append("  " + harness_err)
        lines.append("  request bytes: %s" % _r(br, 1500))
        if bt != br:
            lines.append("  (to the %s, with its own cas values: %s)" % (name, _r(bt, 1500)))
        if c.sasl_before is not None:
            lines.append("  the connection before it (diffbin.SaslState): %r"
                         % c.sasl_before)
        lines.append("  memcached 1.6.18 reads it as (diffbin.mc_read): %s" % "; ".join(
            diffbin.mc_read(c.model_bytes(), sasl=c.sasl_before).acts))
        for who, a in ((name, at), ("reference memcached 1.6.18", ar)):
            lines.append("  %s: %d packet(s), then %s%s" % (
                who, len(a.packets), {"sentinel": "the sentinel's answer",
                                      "closed": "closed the connection",
                                      "timeout": "nothing more (timeout)"}[a.end],
                " [%s]" % a.err if a.err else ""))
            for p in a.packets[:12]:
                lines.append("      " + diffbin.describe_raw(p))
            if len(a.packets) > 12:
                lines.append("      ... %d more" % (len(a.packets) - 12))
        if et is not None and et != er:
            k = next((n for n, (x, y) in enumerate(zip(et, er)) if x != y),
                     min(len(et), len(er)))
            if k < len(et) and k < len(er):
                lines.append("  first difference, normalised answer element %d: %s" % (
                    k, "; ".join(diffbin.field_diff(et[k], er[k]))))
            else:
                lines.append("  first difference: normalised answers have %d vs %d elements"
                             % (len(et), len(er)))
        if history:
            lines.append("  earlier chunks of this sequence:")
            lines.extend(history[-15:])
        return "\n".join(lines)


class BinaryDifferentialTest(_BinaryRun, unittest.TestCase):
    """The binary protocol, side by side with memcached 1.6.18 (diffbin.py)."""

    def test_binary_differential_against_memcached(self):
        if diff_mode() == "sasl":
            self.skipTest("HC_DIFF_MODE=sasl: only the -S binary mode runs")
        self.run_differential()


@unittest.skipUnless(binwire.have_sasl_reference(),
                     "saslpasswd2 (Debian package sasl2-bin) is needed to run memcached -S")
class BinarySaslDifferentialTest(_BinaryRun, unittest.TestCase):
    """The binary protocol under -S, side by side with memcached 1.6.18: both daemons
    run -S -B binary with the same users (diffbin.SASL_USERS), memcached from a Cyrus
    sasldb (Debian builds it without MEMCACHED_SASL_PWDB: it answers -S only with
    SASL_CONF_PATH naming a memcached.conf and sasldb), hardcached from a --sasl-pwdb
    file, both made in a temporary directory; hardcached with --auth-fail-limit 0 and
    --read-timeout 0 (its throttle of failed logins and its login deadline are
    deliberate differences: docs/COMPATIBILITY.md). Sequences: diffbin's
    BinSaslSequenceGenerator (a start before any login, the login, then the binary
    generator's chunks)."""

    KIND = "binary, -S"
    MODE = "sasl"
    SEQS_ENV, SEQS_DEFAULT = "HC_DIFF_SASL_SEQS", 200
    GENERATOR = diffbin.BinSaslSequenceGenerator
    LOGIN = diffbin.HDR.pack(diffbin.REQ, diffbin.SASL_AUTH, 5, 0, 0, 0,
                             5 + len(diffbin.plain(b"alice", b"secret")),
                             diffbin.LOGIN_OPAQUE, 0) + b"PLAIN" + diffbin.plain(b"alice",
                                                                                 b"secret")
    SASL_ARGS = ["-S", "-B", "binary"]

    def servers(self, stack):
        tmp = tempfile.mkdtemp(prefix="hc-diff-sasl-")
        stack.callback(shutil.rmtree, tmp, True)
        os.chmod(tmp, 0o711)                   # memcached reads its sasldb as its user
        users = {u.decode(): p for u, p in diffbin.SASL_USERS.items()}
        dirs = []
        for sub in ("ref", "tgt"):
            dirs.append(os.path.join(tmp, sub))
            os.mkdir(dirs[-1])
        ref = stack.enter_context(binwire.BinaryServer(
            args=compat_env.COMMON_ARGS + self.SASL_ARGS, reference=True,
            env=binwire.sasl_reference_env(dirs[0], users)))
        if compat_env.target_is_memcached():
            tgt = binwire.BinaryServer(args=compat_env.COMMON_ARGS + self.SASL_ARGS,
                                       reference=True,
                                       env=binwire.sasl_reference_env(dirs[1], users))
        else:
            tgt = binwire.BinaryServer(
                args=compat_env.COMMON_ARGS + self.SASL_ARGS + [
                    "--sasl-pwdb", binwire.pwdb_file(dirs[1], users),
                    "--auth-fail-limit", "0", "--read-timeout", "0"],
                binary=compat_env.harness.hardcached_binary())
        return ref, stack.enter_context(tgt)

    def begin_sequence(self, wt, wr):
        wt.connect()
        wr.connect()

    def test_binary_sasl_differential_against_memcached(self):
        self.run_differential()


class ModelSelfTest(unittest.TestCase):
    """The classifier exempts exactly the documented cases (spot checks)."""

    def test_classifier(self):
        cases = {
            b"set k 0 0 5": set(), b"set k 0 0 5 noreply": set(),
            b"set k abc 0 5": {"a"}, b"cas k 0 0 1 x": {"a"},
            b"set " + b"k" * 251 + b" 0 0 5": {"a"}, b"set k 0 0 abc": set(),
            b"set k 0 0 5 extra tokens": set(), b"set k 0 0 -1": set(),
            b"set k 4294967296 0 1": {"a", "b"}, b"set k 0 2147483648 1": {"a", "c"},
            b"set k 0 0 4294967298": {"d"}, b"set k 0 0 2147483648": set(),
            b"set k -18446744073709551615 0 1": set(),
            b"touch k 4294967296": {"c"}, b"gat -2147483649 k": {"c"},
            b"flush_all": set(), b"flush_all 0": set(), b"flush_all -1": set(),
            b"flush_all noreply": set(), b"flush_all 10": {"e"},
            b"flush_all 10 noreply": {"e"}, b"flush_all 4294967296": {"c"},
            b"verbosity 4294967296": {"b"}, b"verbosity 4294967295": set(),
            b"incr k 18446744073709551616": set(),
        }
        for line, want in cases.items():
            self.assertEqual(mcmodel.classify_line(line), want, line)

    def test_classifier_meta(self):
        """docs/COMPATIBILITY.md's meta row (rules (a)-(d) on meta commands), at the
        boundaries measured on both servers."""
        k251 = b"k" * 251
        f17 = b" ".join(b"O%d" % i for i in range(17))
        cases = {
            b"ms " + k251 + b" 0": {"a"}, b"ms k 2 " + f17: {"a"},
            b"ms " + k251 + b" 2147483645": {"a"}, b"ms " + k251 + b" 2147483646": set(),
            b"ms " + k251 + b" -1": set(), b"ms " + k251 + b" 4294967298": set(),
            b"ms k 2 F4294967296": {"b"}, b"mg k F4294967296": {"b"},
            b"md k F18446744073709551615": {"b"}, b"ms k 2 F4294967295": set(),
            b"ms k 2 F-18446744073709551615": set(), b"mn F4294967296": set(),
            b"mg k T4294967296 v": {"c"}, b"ma k N2147483648 J5": {"c"},
            b"md k I T-2147483649": {"c"}, b"mg k R2147483648": {"c"},
            b"mg k T-2147483648": set(), b"mg k T9223372036854775808": set(),
            b"ms k 4294967298 T0": {"d"}, b"ms k -4294967294": {"d"},
            b"ms k 2147483648": set(), b"ms k abc T0": set(),
            # 1.6.18 stops on an error of its own first: both answer it
            b"mg k x T4294967296": set(), b"mg k T4294967296 v v": set(),
            b"mg k \xc3 T4294967296": set(), b"ms k x T4294967296": set(),
            b"mg " + k251 + b" F4294967296": set(),
            # a b key that does not decode does not stop the pre-parse
            b"mg !! b T4294967296": {"c"},
        }
        for line, want in cases.items():
            self.assertEqual(mcmodel.classify_line(line), want, line)

    def test_ms_framing(self):
        """Which ms lines read a data block (and how long), as measured on 1.6.18."""
        flags = lambda n: b" ".join(b"O%d" % i for i in range(n))  # noqa: E731
        cases = {
            b"ms k 2": ("read", 2), b"ms k 2 T0 F5 c k q": ("read", 2),
            b"ms k 2 Zq": ("read", 2),            # a flag error: the block is swallowed
            b"ms k 2 " + flags(16): ("read", 2),  # 19 words: duplicate flag, swallowed
            b"ms k 2 " + flags(17): ("error", None),   # 20 words: too long, not read
            b"ms k": ("error", None), b"ms": ("ERROR", None),
            b"ms " + b"k" * 251 + b" 2": ("error", None),
            b"ms k -1": ("error", None), b"ms k x": ("error", None),
            b"ms k 2147483646": ("error", None), b"ms k 2147483645": ("read", 2147483645),
            b"ms k 4294967298 T0": ("read", 2),    # 1.6.18 narrows the length to int32
            b"ms k\x002 T0": ("error", None),      # NUL ends the line
        }
        for line, (kind, length) in cases.items():
            st = mcmodel.mset_1618(*mcmodel.tokenize(line))
            self.assertEqual((st.kind, st.length), (kind, length), line)
        units, problem = mcmodel.parse_stream(b"ms k 2 q\r\nab\r\nmn\r\n")
        self.assertEqual(([u.cmd for u in units], problem), ([b"ms", b"mn"], None))

    def test_meta_key(self):
        for line, key in ((b"mg Zm9v b k", b"foo"), (b"mg Zm9v k", b"Zm9v"),
                          (b"md Zm9 b", None), (b"mg", None), (b"ms Zm9v 2 b", b"foo"),
                          (b"mg AA== b", b"\0")):
            self.assertEqual(mcmodel.meta_key(*mcmodel.tokenize(line)), key, line)

    def test_binary_opcodes_match_protocol_binary_h(self):
        """diffbin's opcode and status numbers are protocol_binary.h's (when the
        memcached package installed it)."""
        path = "/usr/include/memcached/protocol_binary.h"
        if not os.path.exists(path):
            self.skipTest("%s is not installed" % path)
        text = open(path).read()
        found = dict((m.group(1), int(m.group(2), 16)) for m in re.finditer(
            r"PROTOCOL_BINARY_CMD_([A-Z_]+)\s*=\s*(0x[0-9a-fA-F]+)", text))
        for name, op in diffbin.OPCODES.items():
            self.assertEqual(found.get(name), op, name)
        status = dict((m.group(1), int(m.group(2), 16)) for m in re.finditer(
            r"PROTOCOL_BINARY_RESPONSE_([A-Z0-9_]+)\s*=\s*(0x[0-9a-fA-F]+)", text))
        for name, v in (("SUCCESS", diffbin.SUCCESS), ("KEY_ENOENT", diffbin.KEY_ENOENT),
                        ("KEY_EEXISTS", diffbin.KEY_EEXISTS), ("E2BIG", diffbin.E2BIG),
                        ("EINVAL", diffbin.EINVAL), ("NOT_STORED", diffbin.NOT_STORED),
                        ("DELTA_BADVAL", diffbin.DELTA_BADVAL),
                        ("AUTH_ERROR", diffbin.AUTH_ERROR),
                        ("UNKNOWN_COMMAND", diffbin.UNKNOWN_COMMAND),
                        ("ENOMEM", diffbin.ENOMEM)):
            self.assertEqual(status.get(name), v, name)
        self.assertNotIn("VERBOSITY", found)   # 1.6.18 answers it "Unknown command"

    def test_binary_framing_model(self):
        """mc_read's reading of 1.6.18's framing, at the cases measured on the wire."""
        P, B = diffbin.packet, diffbin.mc_read

        def b(*packets):
            c = diffbin.Chunk("self-test")
            for p in packets:
                c.add(p)
            return c.model_bytes()

        def rd(*packets):
            f = B(b(*packets))
            return (f.kind, f.need, f.what, f.dropped, f.why)

        ext8 = b"\0" * 8
        self.assertEqual(rd(P(diffbin.NOOP)), ("open", 0, "", False, ""))
        self.assertEqual(rd(P(diffbin.SET, b"k", ext8, b"abc"))[:3], ("open", 0, ""))
        # a value longer than the bytes sent: the server waits for the rest
        f = B(b(P(diffbin.SET, b"k", ext8, b"abc", bodylen=9 + 10)))
        self.assertEqual((f.kind, f.need, f.what), ("need", 7, "value"))
        # unknown opcodes swallow the body length after the extras and key
        f = B(b(P(0x40, b"key", b"ext!", b"body")))
        self.assertEqual((f.kind, f.need, f.what), ("need", 7, "swallow"))
        f = B(b(P(diffbin.VERBOSITY, ext=b"\0\0\0\1")))
        self.assertEqual((f.kind, f.need, f.what), ("need", 4, "swallow"))
        # SASL without -S: the value only
        self.assertEqual(B(b(P(diffbin.SASL_AUTH, b"PLAIN", val=b"xy"))).kind, "open")
        # closes: wrong lengths (answered), bad magic and an oversized header (not)
        self.assertEqual(rd(P(diffbin.GET, b"k", b"1234"))[0::3], ("close", False))
        self.assertEqual(rd(P(diffbin.GET, b"kk", bodylen=1))[0::3], ("close", False))
        self.assertEqual(rd(P(diffbin.GET, b"k" * 251))[0::3], ("close", False))
        self.assertEqual(rd(P(diffbin.GET, b"k"), P(diffbin.NOOP, magic=0x82))[0::3],
                         ("close", True))
        self.assertEqual(rd(P(diffbin.NOOP), P(diffbin.NOOP, magic=0x82))[0::3],
                         ("close", False))
        self.assertEqual(rd(P(diffbin.NOOP), P(diffbin.GET, b"k" * 16361))[0::3],
                         ("close", False))
        self.assertEqual(rd(P(diffbin.NOOP), P(diffbin.GET, b"k" * 16360))[0::4],
                         ("close", "key length"))
        # stat and touch leave a value behind the key in the stream
        self.assertEqual(B(b(P(diffbin.STAT, b"items", bodylen=5 + 24), P(diffbin.NOOP))).kind,
                         "open")
        self.assertEqual(B(b(P(diffbin.TOUCH, b"k", b"\0" * 4, bodylen=5 + 24),
                             P(diffbin.NOOP))).kind, "open")
        # a value length of 2^31 or more: "Too large.", nothing swallowed
        self.assertEqual(B(b(P(diffbin.SET, b"k", ext8, bodylen=0x80000009))).kind, "open")
        # over the item size: swallowed
        f = B(b(P(diffbin.SET, b"k", ext8, bodylen=9 + 2000000)))
        self.assertEqual((f.kind, f.what, f.queued), ("need", "swallow", True))
        self.assertEqual(B(b(P(diffbin.QUITQ))).why, "quit")

    def test_binary_generator_is_deterministic(self):
        a = [c.model_bytes() for c in diffbin.BinSequenceGenerator("7", 3).sequence()]
        b = [c.model_bytes() for c in diffbin.BinSequenceGenerator("7", 3).sequence()]
        self.assertEqual(a, b)
        for i in range(40):
            for c in diffbin.BinSequenceGenerator("9", i).sequence():
                f = diffbin.mc_read(c.model_bytes())
                self.assertFalse(f.dropped)
                self.assertEqual({"open": "sentinel", "close": "close",
                                  "need": "halfclose"}[f.kind], c.mode, (i, c.desc, f))

    def test_binary_sasl_model(self):
        """diffbin.SaslState and mc_read under -S, at the cases measured on 1.6.18 with
        Debian's Cyrus SASL (statuses of each auth (A), step (S) in turn)."""
        ok, bad = diffbin.plain(b"alice", b"secret"), diffbin.plain(b"alice", b"wrong")
        A, S = (lambda data=ok, mech=b"PLAIN": (False, mech, data),
                lambda data=ok, mech=b"PLAIN": (True, mech, data))
        C = A(b"")
        OK, FAIL, CONT = diffbin.SUCCESS, diffbin.AUTH_ERROR, diffbin.AUTH_CONTINUE
        cases = [
            ([A(bad), A(bad), A()], [FAIL, FAIL, OK]),
            ([A(), A(), A(), A()], [OK, FAIL, OK, FAIL]),     # no restart after a login
            ([A(), C, S(), S()], [OK, CONT, FAIL, FAIL]),
            ([A(), A(mech=b"X"), A()], [OK, FAIL, OK]),
            ([A(), S(), A(), A()], [OK, FAIL, FAIL, OK]),
            ([A(), C, A(), A()], [OK, CONT, FAIL, OK]),
            ([C, S(bad), S(bad), S(mech=b"X")], [CONT, FAIL, FAIL, OK]),
            ([C, C, S()], [CONT, CONT, OK]),
            ([C, A(bad), S()], [CONT, FAIL, FAIL]),
            ([C, A(mech=b"X"), C, S()], [CONT, FAIL, CONT, OK]),
            ([S(), C, S()], [FAIL, CONT, OK]),
            ([A(mech=b"plain"), A(diffbin.plain(b"alice", b"secret", b"bob"))], [OK, FAIL]),
            ([A(b"\0alice\0secret\0"), A(diffbin.plain(b"alice", b"secret", b"alice"))],
             [FAIL, OK]),
        ]
        for steps, want in cases:
            st = diffbin.SaslState()
            self.assertEqual([st.step(*x) for x in steps], want, steps)
        P, R, L = diffbin.packet, diffbin.mc_read, diffbin.LOGGED_IN

        def b(*packets):
            c = diffbin.Chunk("self-test")
            for p in packets:
                c.add(p)
            return c.model_bytes()

        out = diffbin.SaslState()
        get = P(diffbin.GET, b"k")
        # before a login: version, list-mechanisms, auth and step are served, the rest
        # refused after the lengths and before the key length
        self.assertEqual(R(b(P(diffbin.VERSION), P(diffbin.SASL_LIST_MECHS)), sasl=out).kind,
                         "open")
        for p in (P(diffbin.NOOP), P(diffbin.QUIT), get, P(0x40), P(diffbin.VERBOSITY),
                  P(diffbin.GET, b"k" * 251), P(diffbin.GET, b"k", b"1234")):
            self.assertEqual(R(b(p), sasl=out).why, "not logged in", p)
        self.assertEqual(R(b(P(diffbin.GET, b"kk", bodylen=1)), sasl=out).why, "lengths")
        self.assertEqual(R(b(P(diffbin.VERSION, b"k" * 251)), sasl=out).why,
                         "key length")             # "Invalid arguments", as it is served
        # list-mechanisms logs out; a mechanism over 32 bytes changes nothing and its
        # "Invalid arguments" stays queued
        self.assertEqual(R(b(P(diffbin.SASL_LIST_MECHS), get), sasl=L).why, "not logged in")
        f = R(b(P(diffbin.SASL_AUTH, b"P" * 33, val=ok)), sasl=L)
        self.assertEqual((f.kind, f.queued, f.sasl), ("open", True, L))
        f = R(b(P(diffbin.SASL_AUTH, b"PLAIN", val=ok), get), sasl=out)
        self.assertEqual((f.kind, f.queued, f.sasl), ("open", True, L))
        f = R(b(P(diffbin.SASL_AUTH, b"PLAIN")), sasl=out)
        self.assertEqual((f.kind, f.queued, f.sasl.cyrus), ("open", False, "cont"))
        f = R(b(P(diffbin.SASL_AUTH, b"PLAIN", val=ok, bodylen=5 + 20)), sasl=out)
        self.assertEqual((f.kind, f.need, f.what), ("need", 7, "value"))
        # without -S the SASL opcodes are unknown ones
        self.assertEqual(R(b(P(diffbin.SASL_LIST_MECHS), get)).kind, "open")

    def test_binary_sasl_generator(self):
        """Deterministic; each chunk's mode is what mc_read says from the state it starts
        in; the login leaves the connection logged in."""
        g = diffbin.BinSaslSequenceGenerator
        a = [c.model_bytes() for c in g("7", 3).sequence()]
        self.assertEqual(a, [c.model_bytes() for c in g("7", 3).sequence()])
        for i in range(40):
            chunks = g("9", i).sequence()
            self.assertFalse(chunks[0].sasl_before.authed)
            for c in chunks:
                f = diffbin.mc_read(c.model_bytes(), sasl=c.sasl_before)
                self.assertFalse(f.dropped)
                self.assertEqual({"open": "sentinel", "close": "close",
                                  "need": "halfclose"}[f.kind], c.mode, (i, c.desc, f))
            login = [c for c in chunks if c.desc.startswith("login")]
            self.assertTrue(login and all(c.relogin for c in login), i)

    def test_binary_normaliser(self):
        n = diffbin.BinNormaliser()
        pk, rest, err = diffbin.parse_packets(
            diffbin.HDR.pack(0x81, diffbin.GET, 0, 4, 0, 0, 7, 9, 777) + b"\0\0\0\1" + b"12 "
            + diffbin.HDR.pack(0x81, diffbin.STAT, 3, 0, 0, 0, 4, 5, 0) + b"pidX"
            + diffbin.HDR.pack(0x81, diffbin.STAT, 3, 0, 0, 0, 4, 5, 0) + b"pidY"
            + diffbin.HDR.pack(0x81, diffbin.STAT, 0, 0, 0, 0, 0, 5, 0))
        self.assertEqual((rest, err), (b"", None))
        out = n.apply(pk, padded=True)
        self.assertEqual(len(out), 3)            # get, STATS, terminator
        self.assertEqual(n.apply(pk[3:], padded=True), out[1:])   # zero stats: the same
        self.assertEqual(dict(out[0])["cas"], "#0")
        self.assertEqual((dict(out[0])["value"], dict(out[0])["bodylen"]), (b"12", 6))
        self.assertEqual(dict(out[1])["kind"], "STATS")
        self.assertEqual(n.cas_seen(), [777])

    def test_drift_tolerance(self):
        n = diffwire.Normaliser()
        out = n.apply([b"HD t30 l0 c77 t-1\r\n", ("VA", [b"VA", b"1", b"t5"], b"x\r\n")],
                      set())
        self.assertEqual(out, [b"HD t~ l~ c#0 t-1\r\n", b"VA 1 t~\r\nx\r\n"])
        self.assertEqual(n.drift, [30, 0, 5])
        self.assertTrue(diffwire.drift_ok([30, 0, 5], [28, 1, 5]))
        self.assertFalse(diffwire.drift_ok([30, 0, 5], [27, 0, 5]))
        self.assertFalse(diffwire.drift_ok([30], [30, 1]))


if __name__ == "__main__":
    unittest.main()
