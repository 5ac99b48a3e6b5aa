"""The README's telnet transcript, replayed against a fresh server: every
answer line must be what the README shows, and so must every STAT line it
shows except pid, uptime and time (which change from run to run). Keeps the
document a new user follows true."""
import os
import unittest

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
