"""An HTTP request sent to the cache port (SECURITY.md, docs/COMPATIBILITY.md). memcached
closes the connection on an unknown command whose last token starts with "HTTP/"
(case-sensitive): nothing is answered and the rest of what was sent (headers, a body of
memcached commands) never runs. Answers memcached had not written yet when it read that
line are lost with the connection; those of a get that reached its END are written. Every
case here holds for memcached 1.6.18 too (HC_TARGET=memcached), except the stats counter
and the log, which are ours."""
import http.client
import unittest

from itest import hardcached_only, start_server
from wire import END, ERROR, STORED, storage, sync

import harness

BODY = b"set pwn 0 0 5\r\nhello\r\n"
# memcached's own t/malicious-commands.t lines
MALICIOUS = [b"GET / HTTP/1.0\r\n", b"PUT /asdf/asd/fasdfasdf/sadf HTTP/1.1\r\n",
             b"DELETE HTTP/1.1\r\n"]


def post_request(path=b"/"):
    return (b"POST " + path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\n"
            b"Content-Length: %d\r\n\r\n" % len(BODY) + BODY)


class HttpTest(unittest.TestCase):
    """A fresh server per test: the stats counter starts at zero."""
    ARGS = ()

    def setUp(self):
        self.server = start_server(self.ARGS)

    def tearDown(self):
        self.server.stop()

    def closes_silently(self, data):
        """Send data on a new connection; assert the server closes it having
        written nothing."""
        self.assertEqual(self.answer_then_close(data), b"")

    def answer_then_close(self, data):
        """Send data on a new connection; return what the server wrote before
        closing it (failing if it does not close within the deadline)."""
        with self.server.client() as c:
            c.send(data)
            got, closed = c.read_to_close(timeout=10.0)
        self.assertTrue(closed, "still open after %r, got %r" % (data, got))
        return got

    def assertNotStored(self, key=b"pwn"):
        with self.server.client() as c:
            self.assertEqual(sync(c, b"get " + key + b"\r\n"), END)


class HttpRequestCloses(HttpTest):

    def test_post_through_http_client_runs_nothing(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=5)
        try:
            conn.request("POST", "/", body=BODY, headers={"Content-Type": "text/plain"})
            # 0 bytes then EOF is http.client's RemoteDisconnected; a reset (the
            # kernel's answer to bytes left unread at close) is a close too
            with self.assertRaises((http.client.RemoteDisconnected, ConnectionResetError)):
                conn.getresponse()
        finally:
            conn.close()
        self.assertNotStored()

    def test_post_raw_bytes_get_nothing(self):
        self.closes_silently(post_request())
        self.assertNotStored()

    def test_memcached_malicious_commands(self):
        for line in MALICIOUS:
            with self.subTest(line=line):
                self.closes_silently(line)

    def test_shapes_that_close(self):
        for line in [b"HTTP/1.1\r\n", b"GET HTTP/\r\n", b"GET / HTTP/1.1 \r\n",
                     b"GET / HTTP/1.1\n", b"GET / HTTP/1.1\0set pwn 0 0 5\r\n",
                     b"bgets / HTTP/1.1\r\n", b"xyzzy a b c HTTP/2\r\n",
                     b"misbehave HTTP/1.1\r\n", b"mxy / HTTP/1.1\r\n",
                     b"  OPTIONS * HTTP/1.1\r\n", b"POST " + b"a " * 21 + b"HTTP/1.1\r\n"]:
            with self.subTest(line=line):
                self.closes_silently(line)

    def test_body_after_the_line_never_runs(self):
        self.closes_silently(b"GET / HTTP/1.1\r\n" + BODY + b"version\r\n")
        self.assertNotStored()


class HttpNotCaught(HttpTest):
    """Lines memcached answers normally although they look like HTTP."""

    def test_get_with_http_token_is_a_get(self):
        with self.server.client() as c:
            self.assertEqual(sync(c, b"get / HTTP/1.1\r\n"), END)
            self.assertEqual(sync(c, storage("set", "HTTP/1.1", "page")), STORED)
            self.assertEqual(sync(c, b"get / HTTP/1.1\r\n"),
                             b"VALUE HTTP/1.1 0 4\r\npage\r\nEND\r\n")
            self.assertEqual(sync(c, b"delete HTTP/1.1\r\n"), b"DELETED\r\n")

    def test_lower_case_is_not_caught(self):
        with self.server.client() as c:
            self.assertEqual(sync(c, b"POST / http/1.1\r\n"), ERROR)
            self.assertEqual(sync(c, b"GET / Http/1.1\r\n"), ERROR)

    def test_near_misses_answer_error(self):
        # memcached checks only lines its dispatcher does not take (none starting
        # with g s a c i d t, no two-letter m word, no known name), only the last
        # of the first 23 tokens, and never a one-byte command word
        lines = [b"gxx / HTTP/1.1", b"sxx / HTTP/1.1", b"axx / HTTP/1.1", b"cxx / HTTP/1.1",
                 b"ixx / HTTP/1.1", b"dxx / HTTP/1.1", b"txx / HTTP/1.1",
                 b"replace / HTTP/1.1", b"prepend / HTTP/1.1", b"lru / HTTP/1.1",
                 b"watch / HTTP/1.1", b"lru_crawler / HTTP/1.1", b"extstore / HTTP/1.1",
                 b"G / HTTP/1.1", b"GET / HTTP/1.1 noreply", b"GET / HTTP",
                 b"GET / HTTP/1.1 x", b"GET\tHTTP/1.1",
                 b"POST " + b"a " * 22 + b"HTTP/1.1"]
        with self.server.client() as c:
            for line in lines:
                with self.subTest(line=line):
                    self.assertEqual(sync(c, line + b"\r\n"), ERROR)

    def test_known_commands_with_http_token(self):
        with self.server.client() as c:
            self.assertEqual(c.cmd("version HTTP/1.1")[:8], b"VERSION ")
            self.assertEqual(sync(c, b"incr HTTP/1.1\r\n"), ERROR)
            self.assertEqual(sync(c, b"flush_all HTTP/1.1\r\n"),
                             b"CLIENT_ERROR invalid exptime argument\r\n")


class EarlierAnswers(HttpTest):
    """What was answered before the HTTP line in the same read: memcached writes
    its queued answers after each get that reached END and when it has run all it
    read; the rest is lost when it closes. Each case is one send, read at once."""

    def setUp(self):
        super().setUp()
        with self.server.client() as c:
            self.assertEqual(sync(c, storage("set", "a", "x")), STORED)

    def test_answers_not_written_yet_are_lost(self):
        self.assertEqual(self.answer_then_close(b"version\r\nGET / HTTP/1.1\r\n"), b"")
        self.assertEqual(self.answer_then_close(
            storage("set", "b", "y") + b"delete zz\r\nbogus\r\nGET / HTTP/1.1\r\n"), b"")
        with self.server.client() as c:          # the set itself ran
            self.assertEqual(c.get("b"), b"y")

    def test_a_get_writes_what_came_before_it(self):
        got = self.answer_then_close(b"version\r\nget a\r\nversion\r\nGET / HTTP/1.1\r\n"
                                     b"get a\r\n")
        self.assertTrue(got.startswith(b"VERSION "), got)
        self.assertTrue(got.endswith(b"\r\nVALUE a 0 1\r\nx\r\nEND\r\n"), got)
        self.assertEqual(got.count(b"VERSION "), 1)

    def test_gets_and_misses_flush_too(self):
        got = self.answer_then_close(storage("set", "c", "z") + b"get a nope\r\n"
                                     b"version\r\nget nope\r\nversion\r\nGET / HTTP/1.1\r\n")
        self.assertTrue(got.startswith(STORED + b"VALUE a 0 1\r\nx\r\nEND\r\n"), got)
        self.assertTrue(got.endswith(END), got)
        self.assertEqual(got.count(b"VERSION "), 1)
        self.assertEqual(self.answer_then_close(b"gets nope\r\nGET / HTTP/1.1\r\n"), END)
        self.assertEqual(self.answer_then_close(b"gat 0 nope\r\nGET / HTTP/1.1\r\n"), END)

    def test_a_failed_get_does_not(self):
        self.assertEqual(self.answer_then_close(
            b"version\r\nget " + b"k" * 251 + b"\r\nGET / HTTP/1.1\r\n"), b"")
        self.assertEqual(self.answer_then_close(b"gat x a\r\nGET / HTTP/1.1\r\n"), b"")

    def test_answers_of_earlier_reads_arrive(self):
        with self.server.client() as c:
            self.assertEqual(sync(c, b"get a\r\n"), b"VALUE a 0 1\r\nx\r\nEND\r\n")
            c.send(b"GET / HTTP/1.1\r\n")
            self.assertEqual(c.read_to_close(timeout=10.0), (b"", True))


@hardcached_only("stats counter and log are hardcached's")
class HttpCounted(HttpTest):
    ARGS = ("-vv",)

    def closes_counted(self):
        return int(self.server.stats()["http_request_closes"])

    def test_closes_are_counted(self):
        self.assertEqual(self.closes_counted(), 0)
        for line in MALICIOUS:
            self.closes_silently(line)
        self.closes_silently(post_request())
        with self.server.client() as c:        # not caught: not counted
            self.assertEqual(sync(c, b"get / HTTP/1.1\r\n"), END)
            self.assertEqual(sync(c, b"POST / http/1.1\r\n"), ERROR)
        # the worker that closed bumps its counter before the close we saw; the
        # deadline only covers another thread's view of it
        harness.wait_until(lambda: self.closes_counted() == 4, 10.0,
                           "http_request_closes to reach 4")
        fields = list(self.server.stats())
        self.assertEqual(fields.index("http_request_closes"), fields.index("conn_yields") + 1)

    def test_log_shows_the_line_never_the_body(self):
        self.closes_silently(post_request(b"/sneaky"))
        line = self.server.wait_output(r"^<(\d+) POST /sneaky HTTP/1\.1$")
        self.assertIsNotNone(line, self.server.output())
        fd = line.group(1)
        closed = r"^<%s POST /sneaky HTTP/1\.1$(?s:.*)^<%s connection closed\.$" % (fd, fd)
        self.assertIsNotNone(self.server.wait_output(closed), self.server.output())
        out = self.server.output()
        self.assertNotIn("Host: 127.0.0.1", out)
        self.assertNotIn("set pwn", out)
        self.assertNotIn("hello", out)

if __name__ == "__main__":
    unittest.main()
