#!/usr/bin/python3
"""conncost.py: server CPU per short-lived connection (issue 12).

Each client thread makes N sequential connections to 127.0.0.1:PORT:
connect, "get k\\r\\n" for a key that exists, read to "END\\r\\n", close.
The server's CPU (utime+stime of every thread, /proc/PID/stat) is read
before and after, so the figure is server CPU microseconds per connection,
whatever the client costs.

Starts each server itself and alternates them round by round on the same
machine, so both see the same background load; prints every round and the
medians.

  tools/conncost.py --hc build/hH/hardcached --mc /usr/bin/memcached \\
      --threads 4 --clients 2 --conns 4000 --rounds 5
"""
import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

TICK = os.sysconf("SC_CLK_TCK")


def cpu_us(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[0] is field 3 (state): utime is field 14, stime field 15
    return (int(fields[11]) + int(fields[12])) * 1_000_000 / TICK


def run_ns(pid):
    """Summed on-CPU time of every thread (schedstat, nanoseconds): the same
    quantity as utime+stime without the clock-tick granularity."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except OSError:
            pass
    return total


def wait_port(port, timeout=5.0):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"nothing listens on {port}")


def prime(port, key, value):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"set %s 0 0 %d\r\n%s\r\n" % (key, len(value), value))
    assert s.recv(64) == b"STORED\r\n"
    s.close()


def client(port, key, n, errors):
    req = b"get " + key + b"\r\n"
    addr = ("127.0.0.1", port)
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.connect(addr)
            s.sendall(req)
            got = b""
            while not got.endswith(b"END\r\n"):
                chunk = s.recv(4096)
                if not chunk:
                    errors.append("closed early")
                    break
                got += chunk
        except OSError as e:
            errors.append(str(e))
        finally:
            s.close()


def one_round(pid, port, key, clients, conns):
    errors = []
    threads = [threading.Thread(target=client, args=(port, key, conns, errors))
               for _ in range(clients)]
    time.sleep(0.2)                  # let the last round's closes settle
    before, before_ns = cpu_us(pid), run_ns(pid)
    t0 = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.time() - t0
    time.sleep(0.1)                  # the server's side of the last closes
    after, after_ns = cpu_us(pid), run_ns(pid)
    total = clients * conns
    if errors:
        print(f"  {len(errors)} errors, first: {errors[0]}", file=sys.stderr)
    return (after - before) / total, (after_ns - before_ns) / 1000 / total, total / elapsed


def start(cmd, port):
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port)
    return p


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hc", action="append", default=[],
                    help="hardcached binary (repeatable: NAME=PATH to compare builds)")
    ap.add_argument("--mc", default="/usr/bin/memcached")
    ap.add_argument("--threads", type=int, default=4, help="-t for both servers")
    ap.add_argument("--clients", type=int, default=2, help="client threads")
    ap.add_argument("--conns", type=int, default=3000, help="connections per client per round")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--port", type=int, default=22411)
    ap.add_argument("--hc-args", default="", help="extra hardcached arguments")
    args = ap.parse_args()

    servers = []
    port = args.port
    if args.mc:
        servers.append(("memcached", [args.mc, "-U", "0", "-l", "127.0.0.1", "-t",
                                      str(args.threads), "-m", "64", "-p", str(port)]
                        + (["-u", "nobody"] if os.geteuid() == 0 else []), port))
        port += 1
    for spec in args.hc or ["build/hH/hardcached"]:
        name, _, path = spec.rpartition("=")
        name = name or "hardcached"
        cmd = [path, "-t", str(args.threads), "-m", "64", "-p", str(port)] + args.hc_args.split()
        if os.geteuid() == 0:
            cmd += ["-u", "nobody"]
        servers.append((name, cmd, port))
        port += 1

    procs = {}
    try:
        for name, cmd, p in servers:
            procs[name] = start(cmd, p)
            prime(p, b"k", b"v" * 32)
        results = {name: [] for name, _, _ in servers}
        precise = {name: [] for name, _, _ in servers}
        for r in range(args.rounds):
            # a different server goes first each round: no one always follows
            # the same neighbour's closes
            order = servers[r % len(servers):] + servers[:r % len(servers)]
            for name, _, p in order:
                us, us_ns, rate = one_round(procs[name].pid, p, b"k", args.clients, args.conns)
                results[name].append(us)
                precise[name].append(us_ns)
                print(f"round {r + 1} {name:12s} {us:7.1f} us/conn (stat)  {us_ns:7.2f} "
                      f"us/conn (schedstat)  {rate:7.0f} conn/s", flush=True)
        print(f"-t {args.threads}, {args.clients} clients x {args.conns} connections, "
              f"{args.rounds} rounds; medians:")
        for name, _, _ in servers:
            print(f"  {name:12s} {statistics.median(results[name]):7.1f} us/conn (stat: "
                  f"min {min(results[name]):.1f}, max {max(results[name]):.1f})  "
                  f"{statistics.median(precise[name]):7.2f} us/conn (schedstat: "
                  f"min {min(precise[name]):.2f}, max {max(precise[name]):.2f})")
        # the machine's load moves every server's figure alike within a round:
        # the paired difference against the first server is the steadier one
        first = servers[0][0]
        for name, _, _ in servers[1:]:
            diffs = [a - b for a, b in zip(precise[name], precise[first])]
            ratios = [a / b for a, b in zip(precise[name], precise[first])]
            wins = sum(d <= 0 for d in diffs)
            print(f"  {name} - {first}: median {statistics.median(diffs):+.2f} us/conn, "
                  f"ratio {statistics.median(ratios):.3f}; at or below in {wins}/{len(diffs)} rounds")
    finally:
        for p in procs.values():
            p.send_signal(signal.SIGTERM)
        for p in procs.values():
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()


if __name__ == "__main__":
    main()
