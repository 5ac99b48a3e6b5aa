"""flood_victim.py: the `flood` row of make bench. One attacker process per
worker thread pipelines 100-key gets in 1 MB batches as fast as the server
takes them; a victim sends `version` every 20 ms for SECONDS and times each
answer (the same code as tests/hostile/test_fairness.py). Prints one RESULT
line for bench/run.sh: the share of expected answers that arrived, and their
p50/p99 in us.

    flood_victim.py PORT ATTACKERS SECONDS LABEL

Bounded: the attackers stop by themselves after SECONDS + 6 s and are
terminated when the victim is done. Traffic to 127.0.0.1 only."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "tests", "hostile"))
from flood_client import (start_flood, stat, stop_flood, victim_round_trips,  # noqa: E402
                          wait_flooding)


def pct(values, p):
    v = sorted(values)
    if not v:
        return -1
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def main():
    port, attackers, seconds, label = (int(sys.argv[1]), int(sys.argv[2]),
                                       float(sys.argv[3]), sys.argv[4])
    before = stat(port, "bytes_read")
    procs = start_flood(port, attackers, seconds + 6)
    try:
        wait_flooding(port, before)
        expected, lat = victim_round_trips(port, seconds)
        flooded = stat(port, "bytes_read") - before
    finally:
        stop_flood(procs)
    print("RESULT workload=flood label=%s attackers=%d expected=%d answers=%d "
          "answer_share=%.3f p50_us=%.0f p99_us=%.0f max_us=%.0f flood_mb=%.0f"
          % (label, attackers, expected, len(lat), len(lat) / float(expected),
             pct(lat, 50) * 1000, pct(lat, 99) * 1000, max(lat, default=-0.001) * 1000,
             flooded / 1e6))


if __name__ == "__main__":
    main()
