"""test_deliberate_differences.py: every difference from memcached 1.6.18 that
docs/COMPATIBILITY.md lists, byte for byte, in three checks:
- the reference memcached 1.6.18 still answers the bytes the document says it does (the
  measurement behind the document is re-done on every run);
- the server under test answers the bytes the document specifies for hardcached
  (skipped, with the reason, when HC_TARGET=memcached: then it is memcached itself);
- the document shows every case verbatim, and the differential test's classifier exempts
  exactly the cases that differ (and none of the SAME ones).
Each case runs on a freshly started daemon: flush_all with a delay leaves server state."""
import os
import unittest

import compat_env
import deliberate
import diffwire
import mcmodel

DOC = os.path.join(compat_env.HERE, "..", "..", "docs", "COMPATIBILITY.md")


def answer(server, request):
    """The server's bytes for `request`, delimited by a trailing 'version' sentinel."""
    w = diffwire.Wire(server.port)
    try:
        w.send(request)
        versions = 1 + sum(1 for line in request.split(b"\r\n") if line == b"version")
        elements, raw, err = w.read_answer(versions, timeout=3)
    finally:
        w.close()
    if err:
        return raw + b" [" + err.encode() + b"]"
    # Drop the sentinel's own VERSION line (the last one).
    cut = raw.rfind(b"VERSION ")
    return raw[:cut]


class DeliberateDifferencesTest(unittest.TestCase):
    def test_memcached_1618_answers_as_documented(self):
        for c in deliberate.CASES:
            with self.subTest(case="(%s) %s" % (c.letter, c.title)):
                with compat_env.reference_server() as ref:
                    self.assertEqual(answer(ref, c.request), c.memcached_1618)

    def test_server_under_test_answers_as_documented(self):
        compat_env.require_target()
        if compat_env.target_is_memcached():
            self.skipTest("HC_TARGET=memcached: the server under test is memcached 1.6.18, "
                          "whose answers the previous test checks")
        for c in deliberate.CASES:
            with self.subTest(case="(%s) %s" % (c.letter, c.title)):
                with compat_env.target_server() as srv:
                    self.assertEqual(answer(srv, c.request), c.hardcached)

    def test_document_shows_every_case(self):
        with open(DOC, encoding="utf-8") as f:
            doc = f.read()
        for c in deliberate.CASES:
            with self.subTest(case="(%s) %s" % (c.letter, c.title)):
                for what in (c.request, c.memcached_1618, c.hardcached):
                    self.assertTrue(deliberate.esc(what) in doc, "docs/COMPATIBILITY.md "
                                    "does not show %s" % deliberate.esc(what))

    def test_differential_exempts_exactly_the_differing_lines(self):
        """The classifier must flag each exempt case by its letter and must not flag the
        others (the SAME cases mark where a difference stops)."""
        for c in deliberate.CASES:
            if c.letter == "version":
                continue
            flagged = set()
            for raw in c.request.split(b"\r\n"):
                flagged |= mcmodel.classify_line(raw)
            with self.subTest(case="(%s) %s" % (c.letter, c.title)):
                if c.exempt:
                    self.assertIn(c.letter, flagged)
                else:
                    self.assertEqual(flagged, set())


if __name__ == "__main__":
    unittest.main()
