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
                 deterministic: zero mismatches expected)"""
import collections
import os
import random
import sys
import time
import unittest

import compat_env
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


class DifferentialTest(unittest.TestCase):
    def test_differential_against_memcached(self):
        compat_env.require_target()
        nseq = int(os.environ.get("HC_DIFF_SEQS", "3000"))
        seed = os.environ.get("HC_DIFF_SEED") or str(random.SystemRandom().getrandbits(40))
        only = os.environ.get("HC_DIFF_ONLY")
        budget = float(os.environ.get("HC_DIFF_BUDGET", "120"))
        indices = ([int(x) for x in only.split(",") if x.strip()] if only
                   else list(range(nseq)))
        runner = "/usr/bin/python3 tests/lib/runner.py tests/compat compat test_differential.py"
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
