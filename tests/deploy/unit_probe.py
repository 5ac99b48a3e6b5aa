"""unit_probe.py: runs INSIDE the throwaway container that
test_systemd_run.py boots (systemd as its PID 1). Starts each deploy unit,
talks memcached to it, reads what the kernel says about the running daemon,
writes one JSON report and powers the container off. Every wait is bounded."""
import json
import os
import socket
import subprocess
import sys
import time

OUT = sys.argv[1] if len(sys.argv) > 1 else "/out/report.json"


def sh(*argv, timeout=30):
    try:
        r = subprocess.run(list(argv), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=timeout)
        return r.returncode, r.stdout.decode(errors="replace")
    except subprocess.TimeoutExpired:
        return -1, "timeout"


def talk(host, timeout=3.0):
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, 11211), 1.0) as s:
                s.settimeout(2.0)
                s.sendall(b"set probe 5 0 2\r\nhi\r\nget probe\r\n")
                buf = b""
                while not buf.endswith(b"END\r\n"):
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    buf += chunk
                return buf.decode(errors="replace")
        except OSError as e:
            last = "error: %s" % e
            time.sleep(0.1)
    return last


def proc_facts(unit):
    _, pid = sh("systemctl", "show", "-p", "MainPID", "--value", unit)
    pid = pid.strip()
    facts = {"pid": pid}
    if pid in ("", "0"):
        return facts
    try:
        with open("/proc/%s/status" % pid) as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("Uid", "Gid", "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb",
                         "NoNewPrivs", "Seccomp", "Seccomp_filters", "Threads"):
                    facts[k] = v.split()[0] if k in ("Uid", "Gid") else v.strip()
        facts["netns_private"] = (os.readlink("/proc/%s/ns/net" % pid)
                                  != os.readlink("/proc/1/ns/net"))
    except OSError as e:
        facts["error"] = str(e)
    return facts


def check(unit, start, hosts):
    r = {}
    r["start_rc"], r["start_out"] = sh("systemctl", "start", start, timeout=60)
    r["replies"] = {h: talk(h) for h in hosts}
    r["active"] = sh("systemctl", "is-active", unit)[1].strip()
    r["proc"] = proc_facts(unit)
    r["status"] = sh("systemctl", "status", "--no-pager", "-l", "-n", "30", unit)[1]
    sh("systemctl", "stop", start, unit, timeout=60)
    return r


def main():
    report = {}
    try:
        report["service"] = check("hardcached.service", "hardcached.service",
                                  ["127.0.0.1", "::1"])
        report["socket"] = check("hardcached-socket.service", "hardcached.socket",
                                 ["127.0.0.1", "::1"])
        report["journal"] = sh("journalctl", "--no-pager", "-u", "hardcached.service",
                               "-u", "hardcached-socket.service", "-u", "hardcached.socket")[1]
    except Exception as e:  # the report must be written whatever happens
        report["error"] = repr(e)
    finally:
        with open(OUT + ".tmp", "w") as f:
            json.dump(report, f, indent=1)
        os.rename(OUT + ".tmp", OUT)
        sh("systemctl", "poweroff", "--no-block")


if __name__ == "__main__":
    main()
