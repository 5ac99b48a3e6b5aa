"""The short soak (tests/soak/soak.py, 15 s) as part of the hostile suite:
32 connections of mixed set/get/delete/append/prepend/incr/decr/touch/cas with
self-describing values, on -m 16 so evictions happen. Zero mismatches, zero
errors (a SERVER_ERROR out of memory with evictions on counts as one), the
server alive afterwards; the bystander's keys may be evicted, present ones
must be exact."""
import os
import subprocess

from hostile import HostileCase, ROOT

SOAK = os.path.join(ROOT, "tests", "soak", "soak.py")
SECONDS = float(os.environ.get("SOAK_SHORT_SECONDS", "15"))


class SoakShort(HostileCase):
    SERVER_ARGS = ("-m", "16")

    def test_soak_short(self):
        cmd = ["/usr/bin/python3", SOAK, "--port", str(self.port), "--seconds", str(SECONDS),
               "--server-pid", str(self.server.pid)]
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=SECONDS + 180)
        out = r.stdout.decode(errors="replace")
        print(out.rstrip())
        self.assertIn("soak: mismatches 0,", out)
        self.assertEqual(r.returncode, 0, "soak failed (see its output above)")
        self.assertSurvived(evictions_ok=True)
