"""audit_util.py: what the tests of --check-config, the man pages and the
install script share: where the programs under test are, and a bounded way to
run them (every run has a timeout; nothing is left running)."""
import json
import os
import re
import subprocess

import harness

ROOT = harness.ROOT
NOBODY = 65534

# One finding line of the text report, and the summary line that ends it.
FINDING_RE = re.compile(r"^(critical|warning|info) ([a-z0-9-]+): (.+); fix: (.+)$")
SUMMARY_RE = re.compile(r"^hardcached: configuration (OK|OK, with warnings \(--fail-on=critical\)"
                        r"|has warnings|has critical findings) \((\d+) findings?"
                        r"(: (\d+) critical, (\d+) warning, (\d+) info)?\)$")


def binary():
    return harness.hardcached_binary()


def genman():
    """HC_GENMAN, or the genman of the build HC_BIN comes from."""
    return os.environ.get("HC_GENMAN", os.path.join(os.path.dirname(os.path.abspath(binary())),
                                                    "tools", "genman"))


def run(args, env=None, timeout=30, as_nobody=False, nofile=None):
    """Runs the daemon binary with args; returns (rc, stdout, stderr) as text.
    as_nobody: as uid/gid 65534 (only when we are root); nofile: (soft, hard)."""
    def preexec():
        if nofile is not None:
            import resource
            resource.setrlimit(resource.RLIMIT_NOFILE, nofile)
        if as_nobody:
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
    full_env = dict(os.environ)
    full_env.pop("LISTEN_FDS", None)
    full_env.pop("LISTEN_PID", None)
    full_env.update(env or {})
    p = subprocess.run([binary()] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=full_env, timeout=timeout, stdin=subprocess.DEVNULL,
                       preexec_fn=preexec if (as_nobody or nofile) else None)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def parse_json(text):
    return json.loads(text)
