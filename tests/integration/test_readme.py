"""The README's telnet transcript, replayed against a fresh server: every
answer line must be what the README shows, and so must every STAT line it
shows except pid, uptime and time (which change from run to run). Its SASL
session (python3-binary-memcached against -S) is replayed the same way, each
`>>>` line's result against the line the README shows. Keeps the document a
new user follows true."""
import os
import shutil
import tempfile
import unittest

from binwire import BinaryServer
from itest import IS_REFERENCE, start_server

README = os.path.join(os.path.dirname(__file__), "..", "..", "README.md")
SECTION = "## Everyday use: a telnet session"
COMMANDS = {"set", "add", "replace", "append", "prepend", "cas", "get", "gets", "incr",
            "decr", "delete", "touch", "flush_all", "stats", "version", "verbosity", "quit"}
STORAGE = {"set", "add", "replace", "append", "prepend", "cas"}
VARYING = {"pid", "uptime", "time"}
if IS_REFERENCE:
    VARYING.add("version")      # the transcript is memcached's, but the version is ours


def transcript():
    """[(request bytes, [expected answer lines])] from the section's first code block."""
    with open(README, encoding="utf-8") as f:
        text = f.read()
    body = text[text.index(SECTION):]
    block = body.split("```", 2)[1].strip("\n").splitlines()
    steps, i = [], 0
    while i < len(block):
        line = block[i]
        word = line.split(" ", 1)[0]
        assert word in COMMANDS, "README transcript: %r is not a command" % line
        request = line + "\r\n"
        i += 1
        if word in STORAGE:
            request += block[i] + "\r\n"
            i += 1
        answers = []
        while i < len(block) and block[i].split(" ", 1)[0] not in COMMANDS:
            answers.append(block[i])
            i += 1
        steps.append((request.encode(), answers))
    return steps


SASL_SECTION = "## Clients that log in with SASL (binary protocol)"


def sasl_session():
    """(credentials file line, [(python statement, shown result)]) from the SASL
    section's first two code blocks."""
    with open(README, encoding="utf-8") as f:
        text = f.read()
    blocks = text[text.index(SASL_SECTION):].split("```")
    setup, session = blocks[1], blocks[3]
    line = setup.split("printf '", 1)[1].split("\\n'", 1)[0]
    steps, lines = [], session.strip("\n").splitlines()
    for i, text_line in enumerate(lines):
        if text_line.startswith(">>> "):
            shown = lines[i + 1] if i + 1 < len(lines) and not lines[i + 1].startswith(">>> ") \
                else None
            steps.append((text_line[4:], shown))
    return line, steps


class ReadmeTranscript(unittest.TestCase):

    def test_telnet_transcript(self):
        steps = transcript()
        self.assertGreaterEqual(len(steps), 10)
        with start_server() as s, s.client() as c:
            for request, expected in steps:
                c.send(request)
                if request.startswith(b"quit"):
                    self.assertTrue(c.is_closed(2.0))
                    continue
                if request.startswith(b"stats"):
                    self.check_stats(c, expected)
                    continue
                got = [c.readline().rstrip(b"\r\n").decode() for _ in expected]
                self.assertEqual(got, expected, "after %r" % request)

    def check_stats(self, c, expected):
        shown = {}
        for line in expected:
            if line.startswith("STAT "):
                _, name, value = line.split(" ", 2)
                shown[name] = value
        got = {}
        while True:
            line = c.readline().rstrip(b"\r\n").decode()
            if line == "END":
                break
            _, name, value = line.split(" ", 2)
            got[name] = value
        self.assertEqual(expected[-1], "END")
        for name, value in shown.items():
            self.assertIn(name, got)
            if name not in VARYING:
                self.assertEqual(got[name], value, "STAT %s" % name)


if __name__ == "__main__":
    unittest.main()


@unittest.skipIf(IS_REFERENCE, "the README's -S command line is hardcached's (--sasl-pwdb)")
class ReadmeSaslSession(unittest.TestCase):

    def test_sasl_session(self):
        import bmemcached                       # Debian's python3-binary-memcached
        line, steps = sasl_session()
        self.assertGreaterEqual(len(steps), 4)
        tmp = tempfile.mkdtemp(prefix="hc-readme-")
        self.addCleanup(shutil.rmtree, tmp, True)
        pwdb = os.path.join(tmp, "sasl-users")
        with open(os.open(pwdb, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
            f.write(line + "\n")
        with BinaryServer(args=["-S", "--sasl-pwdb", pwdb]) as srv:
            scope = {}
            for statement, shown in steps:
                statement = statement.replace("127.0.0.1:11211", "127.0.0.1:%d" % srv.port)
                if shown is not None and shown.startswith("bmemcached.exceptions."):
                    with self.assertRaises(bmemcached.exceptions.MemcachedException) as e:
                        eval(statement, scope)
                    self.assertEqual("bmemcached.exceptions.MemcachedException: %s"
                                     % e.exception, shown, statement)
                elif shown is None:
                    exec(statement, scope)
                else:
                    self.assertEqual(repr(eval(statement, scope)), shown, statement)
