#!/usr/bin/python3
"""Hit ratio under eviction, hardcached against memcached in the same run
(issue 12).

A Zipf(alpha) trace of gets over a key space whose values add up to
`--space` times -m; every miss is followed by a set of that key (the
look-aside cache pattern). Value sizes are per key, log-uniform between
--min and --max bytes, the same for both servers. Keys are looked up with
`mg <key>` (no flags: a hit answers HD, a miss EN, and both servers count it
as a fetch, as a get), so the client does not read values back.

Requests go in batches (one write per batch, then the sets for its misses);
a key missed twice in one batch counts the second time as a hit, as it
would be in a one-by-one run. The first --warmup requests fill the cache and
are not counted. Both servers get the identical trace, alternated
(memcached first, then hardcached, then again if --rounds > 1).

Only 127.0.0.1; servers are started and killed by pid.
"""
import argparse
import bisect
import math
import random
import socket
import subprocess
import time


def connect(port):
    deadline = time.monotonic() + 5
    while True:
        try:
            s = socket.create_connection(("127.0.0.1", port))
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return s
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def read_lines(s, buf, n):
    """Reads until n lines ("\\r\\n") are complete; returns them and the rest."""
    while buf.count(b"\r\n") < n:
        chunk = s.recv(1 << 20)
        if not chunk:
            raise RuntimeError("server closed")
        buf += chunk
    lines = buf.split(b"\r\n")
    return lines[:n], b"\r\n".join(lines[n:])


def stats(s):
    s.sendall(b"stats\r\n")
    buf = b""
    while not buf.endswith(b"END\r\n"):
        buf += s.recv(1 << 20)
    out = {}
    for line in buf.split(b"\r\n"):
        p = line.split(b" ")
        if len(p) == 3:
            out[p[1].decode()] = p[2].decode()
    return out


def make_trace(args):
    rnd = random.Random(args.seed)
    mem = args.m << 20
    sizes = []
    total = 0
    while total < args.space * mem:
        n = int(math.exp(rnd.uniform(math.log(args.min), math.log(args.max))))
        sizes.append(n)
        total += n + 32
    nkeys = len(sizes)
    cum = []
    acc = 0.0
    for r in range(1, nkeys + 1):
        acc += 1.0 / r ** args.alpha
        cum.append(acc)
    perm = list(range(nkeys))
    rnd.shuffle(perm)          # popularity rank -> key id
    reqs = []
    for _ in range(args.requests):
        u = rnd.random() * acc
        reqs.append(perm[bisect.bisect_left(cum, u)])
    return sizes, reqs


def run(binary, argv, port, sizes, reqs, warmup, batch):
    p = subprocess.Popen([binary] + argv + ["-p", str(port)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        s = connect(port)
        buf = b""
        hits = gets = 0
        for b0 in range(0, len(reqs), batch):
            chunk = reqs[b0:b0 + batch]
            s.sendall(b"".join(b"mg %032d\r\n" % k for k in chunk))
            lines, buf = read_lines(s, buf, len(chunk))
            sets = []
            seen = set()
            for i, k in enumerate(chunk):
                hit = lines[i].startswith(b"HD") or k in seen
                if not lines[i].startswith((b"HD", b"EN")):
                    raise RuntimeError("unexpected answer %r" % lines[i])
                if not hit:
                    seen.add(k)
                    n = sizes[k]
                    sets.append(b"set %032d 0 0 %d noreply\r\n" % (k, n) + b"v" * n + b"\r\n")
                if b0 + i >= warmup:
                    gets += 1
                    hits += hit
            if sets:
                s.sendall(b"".join(sets))
        st = stats(s)
        rss = int(open(f"/proc/{p.pid}/statm").read().split()[1]) * 4096
        return hits, gets, st, rss
    finally:
        p.kill()
        p.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("hardcached")
    ap.add_argument("--memcached", default="/usr/bin/memcached")
    ap.add_argument("-m", type=int, default=64, help="-m of both servers (MiB)")
    ap.add_argument("--space", type=float, default=10.0, help="key space / -m")
    ap.add_argument("--alpha", type=float, default=0.99)
    ap.add_argument("--min", type=int, default=50)
    ap.add_argument("--max", type=int, default=20000)
    ap.add_argument("--requests", type=int, default=1_500_000)
    ap.add_argument("--warmup", type=int, default=500_000)
    ap.add_argument("--batch", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--seed", type=int, default=12)
    ap.add_argument("--mc-args", default="", help="extra memcached options, e.g. "
                    "'-o no_lru_crawler,no_lru_maintainer'")
    args = ap.parse_args()
    sizes, reqs = make_trace(args)
    print(f"keys {len(sizes)}, requests {len(reqs)} (warm-up {args.warmup}), "
          f"alpha {args.alpha}, sizes {args.min}-{args.max} B, -m {args.m} -t 1", flush=True)
    mc = ["-U", "0", "-m", str(args.m), "-t", "1", "-u", "memcache", "-l", "127.0.0.1"]
    mc += args.mc_args.split()
    hc = ["-m", str(args.m), "-t", "1", "-l", "127.0.0.1"]
    for r in range(args.rounds):
        for name, binary, argv, port in (("memcached", args.memcached, mc, 23411),
                                         ("hardcached", args.hardcached, hc, 23412)):
            t0 = time.monotonic()
            hits, gets, st, rss = run(binary, argv, port, sizes, reqs, args.warmup, args.batch)
            print(f"round {r} {name:>10}: hit ratio {hits / gets:.4f} ({hits}/{gets}), "
                  f"items {st['curr_items']}, evictions {st['evictions']}, "
                  f"rss {rss >> 20} MiB, {time.monotonic() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main()
