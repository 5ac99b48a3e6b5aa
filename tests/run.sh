#!/usr/bin/env bash
# run.sh: runs every suite (unit, integration, compat; then unit and
# integration again on the ASan+UBSan build), adds up their counts and ends
# with the one line CI reads: "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
PY=/usr/bin/python3
passed=0; failed=0; skipped=0
log=$(mktemp); trap 'rm -f "$log"' EXIT

add_counts() {  # parses "...: N passed, N failed, N skipped" or check's summary
  local line p f s
  line=$(grep -E '^[A-Za-z0-9_ -]*: [0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
  if [ -n "$line" ]; then
    p=$(sed -E 's/.*: ([0-9]+) passed.*/\1/' <<<"$line")
    f=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")
    s=$(sed -nE 's/.* ([0-9]+) skipped.*/\1/p' <<<"$line")
  else
    line=$(grep -E '^[0-9]+%: Checks: [0-9]+' "$log" | tail -n 1)
    if [ -z "$line" ]; then echo "$1: no summary line (crashed?)"; failed=$((failed + 1)); return; fi
    local checks fails errs
    checks=$(sed -E 's/.*Checks: ([0-9]+).*/\1/' <<<"$line")
    fails=$(sed -E 's/.*Failures: ([0-9]+).*/\1/' <<<"$line")
    errs=$(sed -E 's/.*Errors: ([0-9]+).*/\1/' <<<"$line")
    f=$((fails + errs)); p=$((checks - f)); s=0
  fi
  passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + ${s:-0}))
}

run_suite() {  # name, command...
  local name=$1; shift
  echo "=== $name"
  "$@" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  add_counts "$name"
  if [ "$rc" -ne 0 ] && ! grep -qE ' [1-9][0-9]* failed|Failures: [1-9]|Errors: [1-9]' "$log"; then
    echo "$name: exited $rc without reporting a failure"; failed=$((failed + 1))
  fi
}

# as root the daemon drops to "memcache": make sure that user exists
scripts/ensure-user.sh >/dev/null

for t in build/tests/test_*; do
  [ -x "$t" ] && run_suite "unit $(basename "$t")" "$t"
done
run_suite layers tests/lint/layers.sh
run_suite integration env HC_BIN=build/hardcached $PY tests/lib/runner.py tests/integration integration
run_suite compat env HC_BIN=build/hardcached $PY tests/lib/runner.py tests/compat compat
run_suite security env HC_BIN=build/hardcached $PY tests/lib/runner.py tests/security security
run_suite audit env HC_BIN=build/hardcached $PY tests/lib/runner.py tests/audit audit
[ -d tests/hostile ] && run_suite hostile env HC_BIN=build/hardcached $PY tests/lib/runner.py tests/hostile hostile
[ -d tests/deploy ] && run_suite deploy env HC_BIN=build/hardcached $PY tests/lib/runner.py tests/deploy deploy
[ -x tests/fuzz/run.sh ] && run_suite fuzz tests/fuzz/run.sh --smoke
run_suite valgrind tests/valgrind/run.sh

export ASAN_OPTIONS=abort_on_error=1:detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
for t in build/asan/tests/test_*; do
  [ -x "$t" ] && run_suite "asan unit $(basename "$t")" env CK_FORK=no "$t"
done
run_suite "asan integration" env HC_BIN=build/asan/hardcached HC_GENMAN=build/tools/genman HC_SANITIZED=1 HC_EXTRA_ARGS=--seccomp=log \
    $PY tests/lib/runner.py tests/integration asan-integration

echo "skipped: $skipped (each SKIP above says why)"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
