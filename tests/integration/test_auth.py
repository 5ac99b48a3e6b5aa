"""test_auth.py: -Y (ASCII authentication), hardcached beside Debian's
memcached 1.6.18 started with the same credentials file: every exchange is
run on both and the bytes each answers are compared with each other and with
what 1.6.18 was measured to answer (the tables below). Before login memcached
answers everything but a login "set" with "CLIENT_ERROR unauthenticated" and
keeps the connection; of one batch of input (what one read brings) it sends
only the last such answer, so each step here is one send, and a step's answer
is read in full before the next is sent. Deliberate differences (hardcached
bounds what a stranger may send, SPEC §8 promise 6) run on hardcached only,
with memcached's measured answer in a comment. The failed-login throttle
(--auth-fail-limit) is hardcached's own."""
import os
import shutil
import socket
import tempfile
import unittest

import itest
from itest import harness

UNAUTH = b"CLIENT_ERROR unauthenticated\r\n"
FAILURE = b"CLIENT_ERROR authentication failure\r\n"
FORMAT = b"CLIENT_ERROR bad authentication token format\r\n"
TERM = b"CLIENT_ERROR bad command line termination\r\n"
STORED = b"STORED\r\n"
LOGIN = b"set a 0 0 12\r\nalice secret\r\n"
CLOSED = object()          # the step's answer: nothing, then the connection closes

CREDENTIALS = b"alice:secret\nbob:hunter2\n"

# name -> [(bytes sent in one send, the answer memcached 1.6.18 gives)]
SAME = {
    "refused_one_by_one": [
        (b"version\r\n", UNAUTH), (b"stats\r\n", UNAUTH), (b"quit\r\n", UNAUTH),
        (b"\r\n", UNAUTH), (b"get a\r\n", UNAUTH), (b"refresh_certs\r\n", UNAUTH),
        (b"GET / HTTP/1.1\r\n", UNAUTH), (b"SET a 0 0 12\r\n", UNAUTH),
        (b"setx a 0 0 12\r\n", UNAUTH), (b"set a 0 0\r\n", UNAUTH),
        (b"set a 0 0 x\r\n", UNAUTH), (b"set a 0 0 -1\r\n", UNAUTH),
        (b"set a 0 0 \r\n", UNAUTH), (b"set a 0\x00 0 12\r\n", UNAUTH),
        (b"add a 0 0 12\r\nalice secret\r\n", UNAUTH),
    ],
    "login": [(LOGIN, STORED), (b"get a\r\n", b"END\r\n")],
    "login_noreply": [(b"set a 0 0 12 noreply\r\nalice secret\r\n", STORED)],
    "login_second_user": [(b"set x 1 2 11\r\nbob hunter2\r\n", STORED)],
    "login_after_failures": [
        (b"set a 0 0 12\r\nalice secreX\r\n", FAILURE),
        (b"set a 0 0 11\r\nalice secre\r\n", FAILURE),          # a prefix
        (b"set a 0 0 13\r\nalice secret1\r\n", FAILURE),        # longer
        (b"set a 0 0 10\r\neve secret\r\n", FAILURE),           # unknown user
        (b"set a 0 0 13\r\nalice hunter2\r\n", FAILURE),        # another's password
        (b"set a 0 0 13\r\nalice secr\ret\r\n", FAILURE),
        (LOGIN, STORED),
    ],
    "bad_token_format": [
        (b"set a 0 0 5\r\nalice\r\n", FORMAT), (b"set a 0 0 6\r\nalice \r\n", FORMAT),
        (b"set a 0 0 0\r\n\r\n", FORMAT), (b"set a 0 0 12\r\nalice\tsecret\r\n", FORMAT),
        (b"set a 0 0 12\r\nalice\x00secret\r\n", FORMAT),
        (b"set a 0 0 12\r\n\x00lice secret\r\n", FORMAT),
    ],
    "bad_termination": [
        (b"set a 0 0 12\r\nalice secretXX", TERM), (b"version\r\n", UNAUTH),
        (b"set a 0 0 12\r\nalice secret\n", b""), (b"x", TERM),
    ],
    "extra_words_ignored": [(b"set a 0 0 16\r\nalice secret xyz\r\n", STORED)],
    "runs_of_spaces": [(b"set a 0 0 15\r\n  alice  secret\r\n", STORED)],
    "trailing_space": [(b"set a 0 0 13\r\nalice secret \r\n", STORED)],
    "nul_ends_the_block": [(b"set a 0 0 13\r\nalice secret\x00\r\n", STORED)],
    "length_with_sign": [(b"set a 0 0 +12\r\nalice secret\r\n", STORED)],
    "length_with_blanks": [(b"set a 0 0 \t12\r\r\nalice secret\r\n", STORED)],
    "line_ends_lf": [(b"set a 0 0 12\nalice secret\r\n", STORED)],
    "many_words_on_the_line": [
        (b"set a 0 0 12 a b c d e f g h i j k l m n o p q r s t u v w\r\nalice secret\r\n",
         STORED)],
    "block_of_1024": [
        (b"set a 0 0 1024\r\nalice secret " + b"j" * 1011 + b"\r\n", STORED)],
    "lone_newline_waits": [(b"\n", b""), (b"x", UNAUTH)],
    "split_login": [(b"set a 0 0 12\r\nali", b""), (b"ce secret\r\n", STORED)],
    # of one batch, only the last answer before login goes out
    "batch_two_refusals": [(b"version\r\nversion\r\n", UNAUTH)],
    "batch_three_refusals": [(b"version\r\nget a\r\nstats\r\n", UNAUTH)],
    "batch_refusal_then_login": [(b"version\r\n" + LOGIN, STORED)],
    "batch_two_failures": [
        (b"set a 0 0 12\r\nalice secreX\r\nset a 0 0 12\r\nalice secreY\r\n", FAILURE)],
    "batch_termination_then_line": [(b"set a 0 0 12\r\nalice secretXX\r\n", UNAUTH)],
    "batch_login_then_commands": [
        (LOGIN + b"set k 0 0 1\r\nv\r\nget k\r\n",
         STORED + STORED + b"VALUE k 0 1\r\nv\r\nEND\r\n")],
    # after a login the connection is an ordinary one
    "second_login_is_a_set": [
        (LOGIN, STORED), (LOGIN, STORED),
        (b"get a\r\n", b"VALUE a 0 12\r\nalice secret\r\nEND\r\n"), (b"\r\n", b"ERROR\r\n"),
        (b"delete a\r\n", b"DELETED\r\n")],
    "quit_after_login": [(LOGIN, STORED), (b"quit\r\n", CLOSED)],
    "quit_before_login": [(b"quit\r\n", UNAUTH), (b"version\r\n", UNAUTH)],
    "refresh_certs_without_tls": [(LOGIN, STORED),
                                  (b"refresh_certs\r\n", b"Error TLS not enabled\r\n")],
    # 2049 bytes without "\n" close, whatever they are
    "line_of_2049": [(b"x" * 2049, CLOSED)],
    "line_of_2048_then_one": [(b"x" * 2048, b""), (b"y", CLOSED)],
}

# Deliberate differences: hardcached's answer (memcached 1.6.18's in the comment).
HC_ONLY = {
    # memcached: UNAUTH when the line and its "\n" arrive in one read (it
    # closes only if 2049 bytes are buffered without one)
    "long_get_line": [(b"get " + b"k" * 3000 + b"\r\n", CLOSED)],
    # memcached: waits for the block (up to ~16 KiB, then closes)
    "block_over_1024": [(b"set a 0 0 1025\r\n", CLOSED)],
    # memcached: reads the length as 32 bits (12 here) and answers STORED
    "length_past_32_bits": [(b"set a 0 0 4294967308\r\nalice secret\r\n", CLOSED)],
}


def answers_unauthenticated(port):
    """True once a -Y server answers (a refusal: it is not logged in)."""
    try:
        with socket.create_connection(("127.0.0.1", port), 0.2) as s:
            s.sendall(b"version\r\n")
            s.settimeout(1.0)
            return s.recv(100) == UNAUTH
    except OSError:
        return False


class AuthServer(harness.Server):
    """A daemon started with -Y: "version" is refused until a login, so its
    readiness is the refusal."""

    def _wait_ready(self, timeout):
        if not harness.wait_until(lambda: self.proc.poll() is not None
                                  or answers_unauthenticated(self.port), timeout):
            self.stop()
            raise RuntimeError("server did not answer within %.0fs: %s" % (timeout, self.cmd))
        if self.proc.poll() is not None:
            raise RuntimeError("server exited %s: %s" % (self.proc.returncode, self.output()))


def credentials_file(tmp, data=CREDENTIALS):
    """The -Y file, readable by memcached after it drops to its user (it
    reads the file then) and by nobody else."""
    path = os.path.join(tmp, "auth")
    with open(path, "wb") as f:
        f.write(data)
    if harness.is_root():
        user = "memcache" if harness.user_exists("memcache") else "nobody"
        gid = __import__("pwd").getpwnam(user).pw_gid
        os.chmod(tmp, 0o711)
        os.chown(path, 0, gid)
        os.chmod(path, 0o640)
    else:
        os.chmod(path, 0o600)
    return path


def start(path, reference, hc_args=()):
    """memcached 1.6.18 (reference, or every server under HC_TARGET=memcached)
    or hardcached with hc_args, each with -Y path."""
    if reference or itest.IS_REFERENCE:
        return AuthServer(args=["-Y", path], reference=True)
    return AuthServer(args=["-Y", path] + list(hc_args))


def run_steps(server, steps):
    """Each step's bytes sent in one send; what came back for each (read as
    many bytes as 1.6.18 answered, or to the close for CLOSED), then what a
    final "version" gets (nothing more may precede its answer)."""
    got = []
    with server.client() as c:
        c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for data, want in steps:
            c.send(data)
            if want is CLOSED:
                got.append(c.read_to_close(5.0))
                return got
            try:
                got.append(c.read_exact(len(want)))
            except (socket.timeout, EOFError) as e:
                got.append(("%s after %r" % (type(e).__name__, c.buf)))
                return got
        c.send(b"version\r\n")
        line = c.readline()
        got.append(b"VERSION\r\n" if line.startswith(b"VERSION ") else line)
    return got


def expected(steps):
    want = [(b"", True) if w is CLOSED else w for _, w in steps]
    if steps[-1][1] is not CLOSED:
        logged = any(w == STORED or w.startswith(STORED) for _, w in steps)
        want.append(b"VERSION\r\n" if logged else UNAUTH)
    return want


class AuthBesideMemcached(unittest.TestCase):
    """The same -Y file, the same exchanges, the same bytes."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="hc-auth-")
        path = credentials_file(cls.tmp)
        cls.ref = start(path, reference=True)
        try:
            # the failed-login throttle (hardcached's own) would close this
            # test's source after its tenth failure
            cls.hc = start(path, reference=False, hc_args=["--auth-fail-limit", "0"])
        except Exception:
            cls.ref.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.hc.stop()
        cls.ref.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_every_exchange_as_memcached(self):
        for name, steps in SAME.items():
            with self.subTest(name):
                want = expected(steps)
                ref = run_steps(self.ref, steps)
                self.assertEqual(ref, want, "memcached 1.6.18 itself: %s" % name)
                self.assertEqual(run_steps(self.hc, steps), ref, name)

    @itest.deliberate_difference
    def test_a_stranger_is_bounded(self):
        for name, steps in HC_ONLY.items():
            with self.subTest(name):
                self.assertEqual(run_steps(self.hc, steps), expected(steps), name)

    def test_counters_as_memcached(self):
        """auth_cmds counts every login checked, auth_errors the refused ones;
        malformed logins and refused commands count in neither."""
        sequence = [(b"set a 0 0 5\r\nx yyy\r\n", FAILURE), (b"set a 0 0 1\r\nx\r\n", FORMAT),
                    (b"set a 0 0 1\r\nxyz", TERM), (b"version\r\n", UNAUTH),
                    (b"set a 0 0 12\r\nalice secreX\r\nset a 0 0 12\r\nalice secreY\r\n",
                     FAILURE),
                    (LOGIN, STORED)]
        deltas = []
        for server in (self.ref, self.hc):
            before = logged_in_stats(server)
            self.assertEqual(run_steps(server, sequence), expected(sequence))
            after = logged_in_stats(server)
            deltas.append(tuple(int(after[k]) - int(before[k]) - (1 if k == "auth_cmds" else 0)
                                for k in ("auth_cmds", "auth_errors")))
        self.assertEqual(deltas[0], (4, 3), "memcached 1.6.18 itself")
        self.assertEqual(deltas[1], deltas[0])


def logged_in_stats(server):
    """"stats" on a connection that logged in first (counted as a login)."""
    with server.client() as c:
        c.send(LOGIN)
        assert c.readline() == STORED
        return c.stats()


@itest.hardcached_only("--auth-fail-limit is hardcached's")
class FailedLoginThrottle(unittest.TestCase):
    """After --auth-fail-limit failures within the window, the source's
    connection is closed after its answer and new ones are closed at
    accept, nothing read or written; other commands never count."""

    def test_source_closed_after_the_limit(self):
        tmp = tempfile.mkdtemp(prefix="hc-auth-")
        self.addCleanup(shutil.rmtree, tmp, True)
        server = start(credentials_file(tmp), reference=False,
                       hc_args=["--auth-fail-limit", "2", "--auth-fail-window", "600"])
        self.addCleanup(server.stop)
        bad = b"set a 0 0 12\r\nalice secreX\r\n"
        steps = [(b"version\r\n", UNAUTH), (b"set a 0 0 1\r\nx\r\n", FORMAT), (bad, FAILURE),
                 (bad, FAILURE)]
        got = run_steps(server, steps[:-1] + [(bad, CLOSED)])
        self.assertEqual(got[:3], [UNAUTH, FORMAT, FAILURE])
        self.assertEqual(got[3], (FAILURE, True))
        with server.client() as c:
            self.assertEqual(c.read_to_close(5.0), (b"", True))


if __name__ == "__main__":
    unittest.main()
