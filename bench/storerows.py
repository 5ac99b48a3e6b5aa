#!/usr/bin/python3
"""storerows.py: the client side of bench/run.sh's store rows (issue 12).

run.sh starts the server (fresh for every run, alternated memcached/hardcached)
and reads its RSS and CPU; this script talks to it on 127.0.0.1:PORT only and
prints one `RESULT key=value ...` line, like the load generator.

  items PORT SIZE     32-byte keys, values of SIZE bytes (or `mixed`: 50 B..20 KB
                      log-uniform, seeded) written until `stats` first shows an
                      eviction, then every key read back (`mg <key> s`: a key counts
                      as held when it answers HD with the size it was written with)
  hitratio PORT       a Zipf get/set-on-miss trace (hitratio.py's, seeded) over a
                      key space of --space x -m; hits / gets after the warm-up
  ttl PORT            half of -m (key + value bytes) written with exptime 2, a 3 s
                      wait, then 0.7 x -m of items without expiry (--long), `stats`
                      after every 64 KiB: evicted_early = evictions while expired
                      items were still counted in curr_items; then every long-lived
                      key read back (long_lost: all that were evicted)
  churn PORT          --keys keys of --small bytes, then the same keys rewritten
                      with --large bytes; every key read back (run.sh reads RSS)

Writes are `set ... noreply`, pipelined, each batch followed by `stats` (items)
or `version` (the others) to wait for it. Every loop is bounded by a key count
and by --max-seconds; a run that hits the time limit says timed_out=1.
Standard library only (Debian's /usr/bin/python3).
"""
import argparse
import math
import os
import random
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hitratio  # noqa: E402  (the trace of bench/hitratio.py, so both agree)

MAX_KEYS = 20_000_000
KEY = b"%032d"                   # 32-byte keys


class TimedOut(Exception):
    pass


class Conn:
    def __init__(self, port, deadline):
        self.deadline = deadline
        self.s = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def check_time(self):
        if time.monotonic() > self.deadline:
            raise TimedOut()

    def send(self, data):
        self.s.sendall(data)

    def _more(self):
        chunk = self.s.recv(1 << 20)
        if not chunk:
            raise RuntimeError("server closed the connection")
        self.buf += chunk

    def lines(self, n):
        """The next n reply lines."""
        while self.buf.count(b"\r\n") < n:
            self._more()
        parts = self.buf.split(b"\r\n", n)
        self.buf = parts[n]
        return parts[:n]

    def until(self, end):
        """Everything up to and including the first line equal to `end`."""
        marker = end + b"\r\n"
        start = 0
        while True:
            i = self.buf.find(marker, start)
            if i < 0:
                start = max(0, len(self.buf) - len(marker) - 2)
                self._more()
            elif i == 0 or self.buf[i - 2:i] == b"\r\n":
                out, self.buf = self.buf[:i + len(marker)], self.buf[i + len(marker):]
                return out
            else:
                start = i + 1

    def sync(self):
        self.send(b"version\r\n")
        line = self.lines(1)[0]
        if not line.startswith(b"VERSION "):
            raise RuntimeError("unexpected answer %r" % line[:80])

    def stats(self):
        self.send(b"stats\r\n")
        return parse_stats(self.until(b"END"))


def parse_stats(text):
    out = {}
    for line in text.split(b"\r\n"):
        p = line.split(b" ")
        if len(p) == 3 and p[0] == b"STAT":
            out[p[1].decode()] = p[2].decode()
    return out


def st_int(st, name):
    try:
        return int(st[name])
    except (KeyError, ValueError):
        return -1


_values = {}


def value(n):
    v = _values.get(n)
    if v is None:
        v = _values[n] = b"v" * n + b"\r\n"
    return v


def set_cmd(key, n, exptime=0):
    return b"set %s 0 %d %d noreply\r\n" % (KEY % key, exptime, n) + value(n)


def log_uniform(seed, lo, hi):
    """Size of key i, drawn in key order from one seeded stream."""
    rnd = random.Random(seed)
    a, b = math.log(lo), math.log(hi)
    sizes = []

    def f(i):
        while len(sizes) <= i:
            sizes.append(int(math.exp(rnd.uniform(a, b))))
        return sizes[i]
    return f


def read_back(c, first, count, size_of, batch=1000):
    """Keys first..first+count-1 with `mg <key> s`; returns (held, wrong size)."""
    held = wrong = 0
    for k0 in range(first, first + count, batch):
        c.check_time()
        ks = range(k0, min(first + count, k0 + batch))
        c.send(b"".join(b"mg %s s\r\n" % (KEY % k) for k in ks))
        for k, line in zip(ks, c.lines(len(ks))):
            if line.startswith(b"HD"):
                if line == b"HD s%d" % size_of(k):
                    held += 1
                else:
                    wrong += 1
            elif not line.startswith(b"EN"):
                raise RuntimeError("unexpected answer %r" % line[:80])
    return held, wrong


def write_bytes(c, first, size_of, exptime, total, batch_bytes=256 << 10, after=None):
    """Keys from `first` on until their key + value bytes reach `total`; returns the count.
    Each batch is followed by `version`, or by `stats`, handed to after(keys written so far)."""
    k = first
    done = 0
    while done < total and k - first < MAX_KEYS:
        c.check_time()
        out = []
        n = 0
        while n < batch_bytes and done < total:
            sz = size_of(k)
            out.append(set_cmd(k, sz, exptime))
            n += sz
            done += sz + 32
            k += 1
        c.send(b"".join(out))
        if after is None:
            c.sync()
        else:
            after(k - first, c.stats())
    return k - first


def fields(**kv):
    return " ".join(f"{k}={v}" for k, v in kv.items())


# ---- the rows ----

def row_items(c, a):
    size_of = log_uniform(a.seed, 50, 20000) if a.size == "mixed" else (lambda i, n=int(a.size): n)
    # Small batches near the size of a segment or slab page would overshoot the first eviction
    # by at most one batch: 200 keys, or 32 KiB of values, whichever comes first.
    k = 0
    ev = 0
    while k < a.max_keys:
        c.check_time()
        out = []
        n = 0
        while len(out) < 200 and n < 32768:
            sz = size_of(k + len(out))
            out.append(set_cmd(k + len(out), sz))
            n += sz
        k += len(out)
        c.send(b"".join(out) + b"stats\r\n")
        ev = st_int(parse_stats(c.until(b"END")), "evictions")
        if ev > 0:
            break
    written = k
    held, wrong = read_back(c, 0, written, size_of)
    st = c.stats()
    return fields(size=a.size, written=written, held=held, bad_values=wrong,
                  reached_eviction=int(ev > 0), evictions=st_int(st, "evictions"),
                  curr_items=st_int(st, "curr_items"))


def row_hitratio(c, a):
    ns = argparse.Namespace(seed=a.seed, m=a.mem, space=a.space, alpha=a.alpha, min=50,
                            max=20000, requests=a.requests)
    sizes, reqs = hitratio.make_trace(ns)
    hits = gets = 0
    for b0 in range(0, len(reqs), a.batch):
        c.check_time()
        chunk = reqs[b0:b0 + a.batch]
        c.send(b"".join(b"mg %032d\r\n" % k for k in chunk))
        lines = c.lines(len(chunk))
        sets = []
        seen = set()
        for i, k in enumerate(chunk):
            line = lines[i]
            if not line.startswith((b"HD", b"EN")):
                raise RuntimeError("unexpected answer %r" % line[:80])
            # a key missed twice in one batch: the second is a hit, as it would be one by one
            hit = line.startswith(b"HD") or k in seen
            if not hit:
                seen.add(k)
                sets.append(set_cmd(k, sizes[k]))
            if b0 + i >= a.warmup:
                gets += 1
                hits += hit
        if sets:
            c.send(b"".join(sets))
    c.sync()
    st = c.stats()
    return fields(hit_ratio="%.4f" % (hits / gets if gets else 0), hits=hits, gets=gets,
                  keys=len(sizes), requests=len(reqs), warmup=a.warmup,
                  evictions=st_int(st, "evictions"), curr_items=st_int(st, "curr_items"))


def row_ttl(c, a):
    mem = a.mem << 20
    short_size = log_uniform(a.seed, 50, 20000)
    long_size = log_uniform(a.seed + 1, 50, 20000)
    base = 100_000_000                  # long-lived keys: a range of their own
    n_ttl = write_bytes(c, 0, short_size, a.ttl, mem // 2)
    t_end = time.monotonic()
    st0 = c.stats()
    ev0 = st_int(st0, "evictions")
    time.sleep(a.wait)                  # the workload: let every TTL item expire
    # After each batch of long-lived sets: evictions (both servers count live items only; every
    # live item now is a long-lived one) and curr_items, which still counts the expired items
    # not yet dropped. Evictions in a batch after which expired items were still counted
    # happened while those held memory (early); in a batch before which some were counted,
    # they may have (early_upper): the batch's evictions are bracketed by the two.
    track = {"ev": ev0, "early": 0, "upper": 0, "expired_max_at_evict": 0,
             "expired": st_int(st0, "curr_items")}

    def after(written, st):
        ev = st_int(st, "evictions")
        live = written - (ev - ev0)
        expired = st_int(st, "curr_items") - live
        if ev > track["ev"] and expired > 0:
            track["early"] += ev - track["ev"]
            track["expired_max_at_evict"] = max(track["expired_max_at_evict"], expired)
        if ev > track["ev"] and (expired > 0 or track["expired"] > 0):
            track["upper"] += ev - track["ev"]
        track["ev"] = ev
        track["expired"] = expired
    n_long = write_bytes(c, base, lambda i: long_size(i - base), 0, int(a.long * mem),
                         batch_bytes=64 << 10, after=after)
    held, wrong = read_back(c, base, n_long, lambda i: long_size(i - base))
    st = c.stats()
    curr = st_int(st, "curr_items")
    return fields(ttl_items=n_ttl, ttl_s=a.ttl, wait_s=a.wait,
                  ttl_write_s="%.2f" % (t_end - a.t0), ttl_evictions=ev0,
                  long_written=n_long, long_held=held, long_lost=n_long - held - wrong,
                  evicted_early=track["early"], evicted_early_upper=track["upper"],
                  expired_at_evict=track["expired_max_at_evict"],
                  bad_values=wrong, evictions=st_int(st, "evictions"),
                  reclaimed=st_int(st, "reclaimed"),
                  crawler_reclaimed=st_int(st, "crawler_reclaimed"),
                  expired_unfetched=st_int(st, "expired_unfetched"),
                  curr_items=curr, other_items=curr - held if curr >= 0 else -1)


def row_churn(c, a):
    for n in (a.small, a.large):
        for k0 in range(0, a.keys, 100):
            c.check_time()
            c.send(b"".join(set_cmd(k, n) for k in range(k0, min(a.keys, k0 + 100))))
            if k0 % 10000 == 0:
                c.sync()
        c.sync()
    held, wrong = read_back(c, 0, a.keys, lambda i: a.large)
    st = c.stats()
    return fields(keys=a.keys, small=a.small, large=a.large, held=held, bad_values=wrong,
                  evictions=st_int(st, "evictions"), curr_items=st_int(st, "curr_items"),
                  bytes=st_int(st, "bytes"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("row", choices=("items", "hitratio", "ttl", "churn"))
    ap.add_argument("port", type=int)
    ap.add_argument("size", nargs="?", default="100", help="items: value bytes, or mixed")
    ap.add_argument("--label", default="-")
    ap.add_argument("--mem", type=int, default=64, help="the server's -m, MiB")
    ap.add_argument("--seed", type=int, default=12)
    ap.add_argument("--max-seconds", type=float, default=300)
    ap.add_argument("--max-keys", type=int, default=5_000_000, help="items: bound on the fill")
    # hitratio
    ap.add_argument("--space", type=float, default=10.0, help="key space / -m")
    ap.add_argument("--alpha", type=float, default=0.99)
    ap.add_argument("--requests", type=int, default=1_500_000)
    ap.add_argument("--warmup", type=int, default=500_000)
    ap.add_argument("--batch", type=int, default=200)
    # ttl
    ap.add_argument("--ttl", type=int, default=2)
    ap.add_argument("--wait", type=float, default=3.0)
    ap.add_argument("--long", type=float, default=0.7, help="long-lived bytes / -m")
    # churn
    ap.add_argument("--keys", type=int, default=100_000)
    ap.add_argument("--small", type=int, default=100)
    ap.add_argument("--large", type=int, default=4096)
    a = ap.parse_args()
    if a.size != "mixed" and not (a.size.isdigit() and 0 < int(a.size) <= 1 << 20):
        ap.error("size must be 1..1048576 or mixed")
    if not (0 < a.keys <= MAX_KEYS and 0 < a.max_keys <= MAX_KEYS and 0 < a.requests <= 20_000_000):
        ap.error("counts out of range")
    a.t0 = time.monotonic()
    c = Conn(a.port, a.t0 + a.max_seconds)
    extra = ""
    try:
        body = {"items": row_items, "hitratio": row_hitratio, "ttl": row_ttl,
                "churn": row_churn}[a.row](c, a)
    except TimedOut:
        body, extra = "failed=1", " timed_out=1"
    except (OSError, RuntimeError) as e:
        print(f"storerows: {a.row} on port {a.port}: {e}", file=sys.stderr)
        body = "failed=1"
    print(f"RESULT workload={a.row} label={a.label} {body}{extra} "
          f"elapsed_s={time.monotonic() - a.t0:.2f}", flush=True)
    return 0 if not body.startswith("failed") else 1


if __name__ == "__main__":
    sys.exit(main())
