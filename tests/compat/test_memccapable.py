"""test_memccapable.py: libmemcached's conformance checker (memccapable -a, the 27 ASCII
sub-tests, and memccapable -b, the 27 binary ones) against the reference memcached
1.6.18 and against the server under test, in the same test. Our failing sub-tests must
be a subset of memcached's own failures (on Debian 12 memcached fails none), and every
binary sub-test must pass. memccapable flushes the server it tests, so each run gets
its own freshly started daemon."""
import re
import shutil
import subprocess
import unittest

import compat_env

MEMCCAPABLE = shutil.which("memccapable") or "/usr/bin/memccapable"
RESULT = re.compile(r"^(?P<name>(?:ascii|binary) .*?)\s+\[(?P<status>pass|FAIL|skip)\]\s*$")


def run_memccapable(port, timeout=60, mode="-a"):
    """Run the ASCII (-a) or binary (-b) sub-tests against 127.0.0.1:port. Returns
    (results, raw output): results maps sub-test name -> 'pass' | 'FAIL' | 'skip'."""
    # -t: per-I/O timeout in seconds, so a server that stops answering fails a
    # sub-test instead of hanging memccapable.
    cmd = [MEMCCAPABLE, mode, "-t", "3", "-h", "127.0.0.1", "-p", str(port)]
    try:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              timeout=timeout)
        out = proc.stdout.decode(errors="replace")
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode(errors="replace") + "\n(memccapable timed out)\n"
    results = {}
    for line in out.splitlines():
        m = RESULT.match(line.strip())
        if m:
            results[m.group("name")] = m.group("status")
    return results, out


def summary(name, results, expected_names):
    passed = sum(1 for n in expected_names if results.get(n) == "pass")
    return "%s %d/%d passed" % (name, passed, len(expected_names))


@unittest.skipUnless(shutil.which("memccapable"), "memccapable not installed "
                     "(Debian package libmemcached-tools)")
class MemccapableTest(unittest.TestCase):
    def test_ascii_subtests_no_worse_than_memcached(self):
        compat_env.require_target()
        with compat_env.reference_server() as ref:
            ref_results, ref_out = run_memccapable(ref.port)
        # memcached must have produced the full list, or the parse is wrong.
        self.assertGreaterEqual(len(ref_results), 27,
                                "could not parse memccapable output against memcached:\n"
                                + ref_out)
        with compat_env.target_server() as srv:
            our_results, our_out = run_memccapable(srv.port)

        names = sorted(ref_results)
        # A sub-test missing from our run (memccapable gave up) counts as failed.
        ref_failed = {n for n in names if ref_results[n] != "pass"}
        our_failed = {n for n in names if our_results.get(n) != "pass"}
        line = "memccapable: %s, %s" % (
            summary(compat_env.target_name() + " (under test)", our_results, names),
            summary("memcached 1.6.18 (reference)", ref_results, names))
        print("\n" + line)
        if ref_failed:
            print("memccapable: memcached's own failures: %s" % ", ".join(sorted(ref_failed)))
        extra = sorted(our_failed - ref_failed)
        self.assertEqual(extra, [], "%s\nsub-tests failing only on the server under test: "
                         "%s\nits memccapable output:\n%s" % (line, ", ".join(extra), our_out))

    def test_binary_subtests_all_pass(self):
        compat_env.require_target()
        with compat_env.reference_server() as ref:
            ref_results, ref_out = run_memccapable(ref.port, mode="-b")
        self.assertGreaterEqual(len(ref_results), 27,
                                "could not parse memccapable -b output against memcached:\n"
                                + ref_out)
        with compat_env.target_server() as srv:
            our_results, our_out = run_memccapable(srv.port, mode="-b")
        names = sorted(ref_results)
        line = "memccapable -b: %s, %s" % (
            summary(compat_env.target_name() + " (under test)", our_results, names),
            summary("memcached 1.6.18 (reference)", ref_results, names))
        print("\n" + line)
        failed = [n for n in names if our_results.get(n) != "pass"]
        self.assertEqual(failed, [], "%s\nits memccapable -b output:\n%s" % (line, our_out))
        self.assertEqual([n for n in names if ref_results[n] != "pass"], [],
                         "memcached 1.6.18 itself:\n" + ref_out)


if __name__ == "__main__":
    unittest.main()
