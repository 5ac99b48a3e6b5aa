#!/usr/bin/env bash
# run.sh: memcheck over the unit tests and a short run of the real daemon
# (--seccomp=off: valgrind's own syscalls are outside the policy). A suite
# passes when memcheck reports no error and no definitely/indirectly lost
# block. Ends with "valgrind: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
VG="valgrind --tool=memcheck --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect"
passed=0; failed=0; out=$(mktemp -d); trap 'rm -rf "$out"' EXIT

if ! command -v valgrind >/dev/null; then
  echo "SKIP valgrind: not installed (scripts/deps.sh test installs it)"
  echo "valgrind: 0 passed, 0 failed"; exit 0
fi

for t in build/tests/test_num build/tests/test_proto build/tests/test_store build/tests/test_allowlist build/tests/test_options build/tests/test_config; do
  [ -x "$t" ] || continue
  if CK_FORK=no timeout 600 $VG --log-file="$out/$(basename "$t").log" "$t" >/dev/null 2>&1; then
    echo "ok   memcheck $(basename "$t")"; passed=$((passed + 1))
  else
    echo "FAIL memcheck $(basename "$t")"; grep -E "ERROR SUMMARY|lost:|Invalid|uninitialised" "$out/$(basename "$t").log" | head -20
    failed=$((failed + 1))
  fi
done

# The daemon: a short session of every command family, then SIGTERM.
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
user_args=()
if [ "$(id -u)" -eq 0 ]; then scripts/ensure-user.sh >/dev/null; user_args=(-u memcache); fi
$VG --log-file="$out/daemon.log" build/hardcached -p "$port" -t 2 --seccomp=off "${user_args[@]}" \
    >"$out/daemon.out" 2>&1 &
pid=$!
if /usr/bin/python3 - "$port" <<'PY'
import socket, sys, time
port = int(sys.argv[1])
deadline = time.monotonic() + 60
while True:
    try:
        s = socket.create_connection(("127.0.0.1", port), 1)
        break
    except OSError:
        if time.monotonic() > deadline:
            sys.exit("daemon under valgrind did not start")
        time.sleep(0.2)
s.settimeout(20)
script = (b"set a 0 0 1\r\nx\r\nget a b\r\nadd a 0 0 1\r\ny\r\nappend a 0 0 2\r\nyz\r\n"
          b"prepend a 0 0 1\r\nw\r\ngets a\r\nset n 0 0 2\r\n99\r\nincr n 1\r\ndecr n 200\r\n"
          b"touch a 100\r\ngat 0 a\r\ndelete a\r\nset big 0 0 300000\r\n" + b"v" * 300000 +
          b"\r\nget big big big\r\nstats\r\nstats settings\r\nstats items\r\nstats slabs\r\n"
          b"stats conns\r\nstats reset\r\nflush_all\r\nverbosity 1\r\nbogus\r\nversion\r\n")
s.sendall(script)
data = b""
while not data.endswith(b"VERSION 1.6.18-hardcached-0.1.0\r\n"):
    chunk = s.recv(1 << 20)
    if not chunk:
        sys.exit("connection closed early")
    data += chunk
s.close()
PY
then
  kill -TERM "$pid"; wait "$pid"; rc=$?
  if [ "$rc" -eq 0 ] && grep -q "ERROR SUMMARY: 0 errors" "$out/daemon.log"; then
    echo "ok   memcheck daemon session"; passed=$((passed + 1))
  else
    echo "FAIL memcheck daemon session (exit $rc)"; grep -E "ERROR SUMMARY|lost:|Invalid|uninitialised" -A3 "$out/daemon.log" | head -30
    failed=$((failed + 1))
  fi
else
  kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
  echo "FAIL memcheck daemon session (client)"; cat "$out/daemon.out"; failed=$((failed + 1))
fi
echo "valgrind: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
