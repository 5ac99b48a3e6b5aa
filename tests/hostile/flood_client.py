"""flood_client.py: the pipelining flood behind tests/hostile/test_fairness.py
and the `flood` row of make bench, and the victim both measure with.

As a program it is one hostile client, run as its own process so that it
does not share an interpreter lock with the victim it is measured against.
It pipelines `get key0 ... key99` lines in 1 MB batches as fast as the
server takes them and drains the answers on a second thread, so the server
never stops reading from it for backpressure.

    flood_client.py PORT SECONDS [MAX_BYTES] [--nice] [--binary=getkq|get|swallow]

--binary floods in memcached's binary protocol instead (the batches are
again ~1 MB): "getkq" sends 100 quiet GETKQ of missing keys then a NOOP per
batch (100 commands answered by one packet), "get" a pipeline of loud GETs
of missing keys (each answered "Not found"), "swallow" SETQs whose values
are one byte over the default -I (each a 1 MiB body to discard, answered
"Too large."). The victim can likewise time binary NOOPs
(victim_round_trips(..., binary=True)).

Bounded in time (SECONDS) and bytes (MAX_BYTES, default 4 GiB). With --nice
it runs at the lowest CPU priority: the test measures how the server shares
its worker between connections, and on a busy 2-core machine full-priority
attacker processes would also take the CPU from the victim process itself.
Traffic to 127.0.0.1 only."""
import os
import socket
import struct
import subprocess
import sys
import threading
import time

LINE = b"get " + b" ".join(b"key%d" % i for i in range(100)) + b"\r\n"
BATCH = LINE * (1_000_000 // len(LINE))
VICTIM_PERIOD = 0.020

# the binary protocol (tests/lib/binwire.py has the full set; a flooding
# process needs only these, and runs without tests/lib on its path)
_BIN_HEADER = struct.Struct(">BBHBBHIIQ")
_BIN_GET, _BIN_NOOP, _BIN_GETKQ = 0x00, 0x0a, 0x0d


def bin_request(opcode, key=b"", opaque=0):
    """A binary request packet with a key and nothing else."""
    return _BIN_HEADER.pack(0x80, opcode, len(key), 0, 0, 0, len(key), opaque, 0) + key


_GETKQ_RUN = (b"".join(bin_request(_BIN_GETKQ, b"key%d" % i) for i in range(100))
              + bin_request(_BIN_NOOP))
_GET_RUN = b"".join(bin_request(_BIN_GET, b"key%d" % i) for i in range(100))
# a SETQ whose value is 1 byte over the default -I (1 MiB): no item, its body
# swallowed, answered "Too large." once all of it is read
_OVER_I = (1 << 20) + 1
_SETQ_OVER = (_BIN_HEADER.pack(0x80, 0x11, 2, 8, 0, 0, 8 + 2 + _OVER_I, 0, 0)
              + b"\0" * 8 + b"sw" + b"s" * _OVER_I)
BINARY_BATCHES = {
    "getkq": _GETKQ_RUN * (1_000_000 // len(_GETKQ_RUN)),
    "get": _GET_RUN * (1_000_000 // len(_GET_RUN)),
    "swallow": _SETQ_OVER,
}


def _drain(sock, stop):
    while not stop.is_set():
        try:
            if not sock.recv(1 << 20):
                return
        except socket.timeout:
            continue
        except OSError:
            return


def flood(port, seconds, max_bytes=4 << 30, batch=BATCH):
    sock = socket.create_connection(("127.0.0.1", port), 5.0)
    sock.settimeout(5.0)       # a server that stops reading ends us by then
    stop = threading.Event()
    threading.Thread(target=_drain, args=(sock, stop), daemon=True).start()
    sent = 0
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline and sent < max_bytes:
            sock.sendall(batch)
            sent += len(batch)
    except OSError:
        pass
    stop.set()
    sock.close()


def start_flood(port, n, seconds, nice=False, binary=None):
    """n flooding processes, each stopping by itself after `seconds`;
    binary: None (text), or a BINARY_BATCHES name."""
    extra = ["--nice"] if nice else []
    if binary is not None:
        if binary not in BINARY_BATCHES:
            raise ValueError("no binary flood %r" % binary)
        extra.append("--binary=" + binary)
    return [subprocess.Popen([sys.executable, __file__, str(port), str(seconds)] + extra,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for _ in range(n)]


def stop_flood(procs):
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)


def stat(port, name):
    """One counter of `stats`, on a connection of its own."""
    with socket.create_connection(("127.0.0.1", port), 5.0) as s:
        s.sendall(b"stats\r\n")
        data = b""
        while not data.endswith(b"END\r\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    for line in data.split(b"\r\n"):
        parts = line.split()
        if len(parts) == 3 and parts[1] == name.encode():
            return int(parts[2])
    raise KeyError(name)


def wait_flooding(port, before, timeout=10.0):
    """True once the server has read 4 MB more than `before` bytes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if stat(port, "bytes_read") - before > 4_000_000:
            return True
        time.sleep(0.05)
    return False


def _bin_noop_round_trip(s, opaque):
    """One binary NOOP answered: its 24-byte header, our opaque echoed."""
    s.sendall(bin_request(_BIN_NOOP, opaque=opaque))
    got = b""
    while len(got) < _BIN_HEADER.size:
        chunk = s.recv(_BIN_HEADER.size - len(got))
        if not chunk:
            raise OSError("closed by the server")
        got += chunk
    magic, op, _kl, _el, _dt, status, bodylen, opq, _cas = _BIN_HEADER.unpack(got)
    if (magic, op, status, bodylen, opq) != (0x81, _BIN_NOOP, 0, 0, opaque):
        raise AssertionError("victim got %r" % got)


def victim_round_trips(port, seconds, period=VICTIM_PERIOD, binary=False):
    """Sends `version` (binary: a binary NOOP) every `period` s for
    `seconds`; returns (expected, round-trip times in ms). A late answer
    delays the next request, so the share of expected answers shows a stall
    even when each answer is fast; 5 s without an answer ends the run
    (starved)."""
    lat = []
    s = socket.create_connection(("127.0.0.1", port), 5.0)
    t_end = time.monotonic() + seconds
    next_at = time.monotonic()
    try:
        while time.monotonic() < t_end:
            t0 = time.perf_counter()
            if binary:
                _bin_noop_round_trip(s, len(lat) + 1)
            else:
                s.sendall(b"version\r\n")
                got = b""
                while not got.endswith(b"\r\n"):
                    chunk = s.recv(100)
                    if not chunk:
                        raise OSError("closed by the server")
                    got += chunk
                if not got.startswith(b"VERSION "):
                    raise AssertionError("victim got %r" % got[:100])
            lat.append((time.perf_counter() - t0) * 1000.0)
            next_at += period
            pause = next_at - time.monotonic()
            if pause > 0:
                time.sleep(pause)
    except OSError as e:
        print("victim: no answer (%s)" % e, file=sys.stderr)
    finally:
        s.close()
    return int(seconds / period), lat


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--nice" and not a.startswith("--binary=")]
    modes = [a.split("=", 1)[1] for a in sys.argv[1:] if a.startswith("--binary=")]
    if "--nice" in sys.argv[1:]:
        os.nice(19)
    flood(int(args[0]), float(args[1]), int(args[2]) if len(args) > 2 else 4 << 30,
          BINARY_BATCHES[modes[-1]] if modes else BATCH)
