"""runner.py: runs one folder of Python test modules (test_*.py) with unittest
and ends with one line "<suite>: N passed, N failed, N skipped" that
tests/run.sh adds up. Skips print their reason: a skip is never silent."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


class Result(unittest.TextTestResult):
    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self.stream.write("SKIP %s: %s\n" % (test.id(), reason))
        self.stream.flush()


def main():
    folder, name = sys.argv[1], sys.argv[2]
    pattern = sys.argv[3] if len(sys.argv) > 3 else "test_*.py"
    suite = unittest.defaultTestLoader.discover(folder, pattern=pattern,
                                                top_level_dir=folder)
    runner = unittest.TextTestRunner(verbosity=2, resultclass=Result, stream=sys.stdout)
    result = runner.run(suite)
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    skipped = len(result.skipped)
    # errors in setUpClass/module fixtures are not tests that ran: keep them
    # out of the "passed" arithmetic (they still count as failed)
    fixture_errors = sum(1 for test, _ in result.errors
                         if isinstance(test, unittest.suite._ErrorHolder))
    passed = result.testsRun - (failed - fixture_errors) - skipped
    print("%s: %d passed, %d failed, %d skipped" % (name, passed, failed, skipped))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
