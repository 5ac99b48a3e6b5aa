#!/usr/bin/env bash
# run.sh [--short]: the soak. Starts build/hardcached (or $HC_BIN; this script
# builds nothing) with -m 16 on a free 127.0.0.1 port, runs soak.py against it
# for SOAK_SECONDS (default 60; --short: 15), then checks the server is alive
# and answering and its RSS within -m*1.1+16 MiB (not under HC_SANITIZED=1),
# stops it, and ends with the line "soak: N passed, N failed".
# Extra server flags: HC_EXTRA_ARGS (as the harness), SOAK_SERVER_ARGS; extra
# soak.py flags: SOAK_ARGS.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2
PY=/usr/bin/python3
BIN=${HC_BIN:-build/hardcached}
M=16
SECONDS_WANTED=${SOAK_SECONDS:-60}
if [ "${1:-}" = "--short" ]; then SECONDS_WANTED=15; shift; fi
if [ $# -gt 0 ]; then echo "usage: $0 [--short]" >&2; exit 64; fi

passed=0; failed=0
pass() { echo "PASS $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1"; failed=$((failed + 1)); }
finish() {
  echo "soak: $passed passed, $failed failed"
  [ "$failed" -eq 0 ]
  exit $?
}

if [ ! -x "$BIN" ]; then
  fail "no daemon at $BIN (build it first: make)"; finish
fi

port=$($PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
errlog=$(mktemp)
# shellcheck disable=SC2086  # HC_EXTRA_ARGS, SOAK_SERVER_ARGS: lists of flags
"$BIN" -p "$port" -l 127.0.0.1 -m "$M" ${HC_EXTRA_ARGS:-} ${SOAK_SERVER_ARGS:-} >/dev/null 2>"$errlog" &
pid=$!
# shellcheck disable=SC2317  # run by the EXIT trap
cleanup() { kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -f "$errlog"; }
trap cleanup EXIT

answers() {  # true if the daemon answers "version" within 1 s
  $PY - "$port" <<'EOF'
import socket, sys
try:
    with socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1) as s:
        s.settimeout(1)
        s.sendall(b"version\r\n")
        sys.exit(0 if s.recv(100).startswith(b"VERSION ") else 1)
except OSError:
    sys.exit(1)
EOF
}

ready=0
for _ in $(seq 1 100); do   # at most ~10 s
  if ! kill -0 "$pid" 2>/dev/null; then break; fi
  if answers; then ready=1; break; fi
  sleep 0.1
done
if [ "$ready" -ne 1 ]; then
  fail "server start ($BIN -p $port -m $M): $(head -c 500 "$errlog")"; finish
fi
pass "server started on 127.0.0.1:$port (pid $pid, -m $M)"

echo "soak: running ${SECONDS_WANTED}s against pid $pid"
# shellcheck disable=SC2086
timeout $((${SECONDS_WANTED%.*} + 120)) $PY tests/soak/soak.py --port "$port" \
    --seconds "$SECONDS_WANTED" --server-pid "$pid" ${SOAK_ARGS:-}
rc=$?
if [ "$rc" -eq 0 ]; then pass "soak: no mismatch, no error"; else fail "soak exited $rc"; fi

if kill -0 "$pid" 2>/dev/null && answers; then
  pass "server alive and answering after the soak"
else
  fail "server dead or not answering after the soak; stderr: $(tail -c 500 "$errlog")"
fi

if [ -n "${HC_SANITIZED:-}" ] && [ "${HC_SANITIZED}" != "0" ]; then
  echo "SKIP RSS bound: ASan build (HC_SANITIZED=1): shadow memory makes RSS meaningless"
else
  rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
  limit=$(( M * 1024 * 11 / 10 + 16 * 1024 ))
  if [ -n "$rss" ] && [ "$rss" -gt 0 ] && [ "$rss" -le "$limit" ]; then
    pass "RSS $rss KiB within $limit KiB"
  else
    fail "RSS ${rss:-?} KiB over $limit KiB (-m $M * 1.1 + 16 MiB)"
  fi
fi

# SIGTERM after all that load: exit 0, and (on the sanitizer build) no report
# of a leak or an error written on the way out
kill -TERM "$pid" 2>/dev/null
status=124
for _ in $(seq 1 100); do   # at most ~10 s
  if ! kill -0 "$pid" 2>/dev/null; then wait "$pid"; status=$?; break; fi
  sleep 0.1
done
if [ "$status" -eq 0 ] && ! grep -q "Sanitizer\|runtime error" "$errlog"; then
  pass "clean exit on SIGTERM after the soak"
else
  fail "exit on SIGTERM: status $status (124: still running after 10 s); stderr: $(tail -c 800 "$errlog")"
fi
finish
