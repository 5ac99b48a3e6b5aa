"""Connection flood past -c: with -c 50, 200 connections at once. Those past
the limit get "ERROR Too many open connections" and are closed; an existing
client is served throughout; after the flood every connection is released
and the limit is usable again."""
import select
import socket
import time

from hostile import HostileCase, settled_conns
import harness
from wire import TOO_MANY_CONNS, sync

LIMIT = 50
FLOOD = 200


class ConnFlood(HostileCase):
    SERVER_ARGS = ("-c", str(LIMIT))

    def classify(self, socks, wait=1.0):
        """served / rejected per socket: rejected ones get the error line at
        once and are closed; the others answer "version"."""
        first = {s: b"" for s in socks}
        eof = set()
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            live = [s for s in socks if s not in eof]
            r, _, _ = select.select(live, [], [], 0.1)
            for s in r:
                try:
                    d = s.recv(200)
                except (ConnectionResetError, BrokenPipeError):
                    d = b""
                if d == b"":
                    eof.add(s)
                else:
                    first[s] += d
        served, rejected, odd = [], [], []
        for s in socks:
            if s in eof:
                (rejected if first[s] == TOO_MANY_CONNS else odd).append((s, first[s]))
            elif first[s] == b"":
                served.append(s)
            else:
                odd.append((s, first[s]))
        return served, rejected, odd

    @staticmethod
    def keeper_conns_back_to(keeper, baseline, timeout):
        """Waits until curr_connections, read on the open keeper, is at most
        baseline; returns the last value read."""
        last = [None]

        def back():
            last[0] = int(keeper.stats()["curr_connections"])
            return last[0] <= baseline
        harness.wait_until(back, timeout)
        return last[0]

    def test_flood_past_conn_limit_then_recover(self):
        quiet = settled_conns(self.server)    # only the asking client open
        with self.server.client() as keeper:
            rej0 = int(keeper.stats()["rejected_connections"])  # a new client could be refused
            socks, refused = [], 0
            t0 = time.monotonic()
            for _ in range(FLOOD):
                try:
                    s = socket.create_connection(("127.0.0.1", self.port), 2)
                    socks.append(s)
                except OSError:
                    refused += 1
            served, rejected, odd = self.classify(socks)
            # the existing client is served while the flood holds the slots
            self.assertEqual(sync(keeper, b"get seed:007\r\n")[:15], b"VALUE seed:007 ")
            for s in served:
                s.sendall(b"version\r\n")
                s.settimeout(5)
                self.assertTrue(s.recv(100).startswith(b"VERSION "))
            print("flood of %d at -c %d: %d served, %d rejected with the error line, "
                  "%d odd, %d refused by the kernel, %.1f s" % (
                      FLOOD, LIMIT, len(served), len(rejected), len(odd), refused,
                      time.monotonic() - t0))
            self.assertFalse(odd, "unexpected answers: %r" % [d for _, d in odd[:3]])
            self.assertLessEqual(len(served), LIMIT)
            self.assertGreaterEqual(len(served), LIMIT // 2, "far fewer than -c served")
            self.assertEqual(len(served) + len(rejected) + refused, FLOOD)
            # the listener counts a refusal after closing the socket: wait for it
            harness.wait_until(
                lambda: int(keeper.stats()["rejected_connections"]) - rej0 >= len(rejected),
                10, "rejected_connections to count every refused client")
            for s in socks:
                s.close()
            # asked through the keeper, so no asking client of our own is
            # still being closed when the limit is tried again
            conns = self.keeper_conns_back_to(keeper, quiet, 10)
            self.assertLessEqual(conns, quiet, "connections not released after the flood")
            # recovery: the full limit is usable again
            again = [socket.create_connection(("127.0.0.1", self.port), 2)
                     for _ in range(len(served))]
            try:
                served2, rejected2, odd2 = self.classify(again, wait=0.5)
                self.assertEqual((len(served2), len(rejected2), len(odd2)),
                                 (len(served), 0, 0), "limit not fully usable after the flood")
            finally:
                for s in again:
                    s.close()
            self.assertEqual(sync(keeper, b"get seed:007\r\n")[:15], b"VALUE seed:007 ")
        self.assertSurvived()
