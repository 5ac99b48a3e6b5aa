#!/usr/bin/env bash
# run.sh: the side-by-side benchmark behind `make bench`: Debian's memcached against hardcached,
# both on loopback with the same -t and -m, runs alternated (memcached, hardcached, memcached, ...)
# for N rounds, the median of each figure reported. Server CPU per op comes from /proc/PID/stat,
# sampled by the load generator around its measured window. Everything it starts it stops, by pid.
# Usage: bench/run.sh [--mc-vs-mc] [path/to/hardcached]; knobs are BENCH_* variables (README.md).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)

MC_VS_MC=${BENCH_MC_VS_MC:-0}
if [ "${1:-}" = "--mc-vs-mc" ]; then
  MC_VS_MC=1
  shift
fi
HC_BIN=${1:-$ROOT/build/hardcached}

LOADGEN=${BENCH_LOADGEN:-$ROOT/build/bench/loadgen}
OUT=${BENCH_OUT:-$ROOT/build/bench}
MC_BIN=${BENCH_MC_BIN:-/usr/bin/memcached}
THREADS=${BENCH_THREADS:-1}
ROUNDS=${BENCH_ROUNDS:-3}
SECS=${BENCH_SECONDS:-5}
MEM=${BENCH_MEM:-64}
CONNS=${BENCH_CONNS:-50}
KEYS=${BENCH_KEYS:-100000}
KEYS_4K=${BENCH_KEYS_4K:-10000}
LG_THREADS=${BENCH_LOADGEN_THREADS:-1}
ROWS=${BENCH_ROWS:-mixed pipelined multiget meta binget binset binmulti set4k tls memory flood items hitratio ttl churn connect}
ITEMS_SIZES=${BENCH_ITEMS_SIZES:-32 100 1000 4096 10000 mixed}
HR_REQUESTS=${BENCH_HR_REQUESTS:-1500000}
HR_WARMUP=${BENCH_HR_WARMUP:-500000}
CHURN_MEM=${BENCH_CHURN_MEM:-1024}
CHURN_KEYS=${BENCH_CHURN_KEYS:-100000}
CHURN_SMALL=${BENCH_CHURN_SMALL:-100}
CHURN_LARGE=${BENCH_CHURN_LARGE:-4096}
CONNECT_THREADS=${BENCH_CONNECT_THREADS:-4}
PORT_MC=${BENCH_PORT:-21811}
PORT_HC=$((PORT_MC + 1))

role_name() { if [ "$1" = mc ]; then echo "$MC_NAME"; else echo "$HC_NAME"; fi; }
die() { echo "bench: $*" >&2; exit 1; }
say() { echo "bench: $*" >&2; }

num_in() {   # num_in NAME VALUE MIN MAX: a whole number within bounds, or die
  case "$2" in '' | *[!0-9]*) die "$1 must be a whole number, got '$2'" ;; esac
  if [ "$2" -lt "$3" ] || [ "$2" -gt "$4" ]; then die "$1 must be within $3..$4, got $2"; fi
}
num_in BENCH_THREADS "$THREADS" 1 64
num_in BENCH_ROUNDS "$ROUNDS" 1 15
num_in BENCH_SECONDS "$SECS" 1 120
num_in BENCH_MEM "$MEM" 8 4096
num_in BENCH_CONNS "$CONNS" 1 1000
num_in BENCH_KEYS "$KEYS" 100 10000000
num_in BENCH_KEYS_4K "$KEYS_4K" 100 1000000
num_in BENCH_LOADGEN_THREADS "$LG_THREADS" 1 64
num_in BENCH_PORT "$PORT_MC" 1024 65000
num_in BENCH_HR_REQUESTS "$HR_REQUESTS" 1000 20000000
num_in BENCH_HR_WARMUP "$HR_WARMUP" 0 $((HR_REQUESTS - 1))
num_in BENCH_CHURN_MEM "$CHURN_MEM" 8 16384
num_in BENCH_CHURN_KEYS "$CHURN_KEYS" 100 10000000
num_in BENCH_CHURN_SMALL "$CHURN_SMALL" 1 1048576
num_in BENCH_CHURN_LARGE "$CHURN_LARGE" 1 1048576
num_in BENCH_CONNECT_THREADS "$CONNECT_THREADS" 1 64
for r in $ROWS; do
  case "$r" in
    mixed | pipelined | multiget | meta | binget | binset | binmulti | set4k | tls | memory | flood | items | hitratio | ttl | churn | connect) ;;
    *) die "unknown row '$r'" ;;
  esac
done
[ -n "$ITEMS_SIZES" ] || die "BENCH_ITEMS_SIZES is empty"
for z in $ITEMS_SIZES; do
  [ "$z" = mixed ] || num_in "BENCH_ITEMS_SIZES entry" "$z" 1 1048576
done

[ -x "$LOADGEN" ] || die "no load generator at $LOADGEN (run: make -C bench)"
[ -x "$MC_BIN" ] || die "no memcached at $MC_BIN (run: scripts/deps.sh build bench)"
command -v timeout >/dev/null || die "timeout(1) is missing (coreutils)"
case " $ROWS " in *" items "* | *" hitratio "* | *" ttl "* | *" churn "* | *" flood "*)
  [ -x /usr/bin/python3 ] || die "/usr/bin/python3 is missing; the flood and store rows need it" ;;
esac
case " $ROWS " in *" tls "*)
  command -v openssl >/dev/null || die "openssl(1) is missing; the tls row makes its certificates with it" ;;
esac

# ---- the two server command lines; -p is appended per start ----
run_as=()
RUN_USER=
if [ "$(id -u)" -eq 0 ]; then
  if id memcache >/dev/null 2>&1; then RUN_USER=memcache; else RUN_USER=nobody; fi
  run_as=(-u "$RUN_USER")
fi
# -m is added at each start: SRV_MEM, which is MEM except in the churn row
MC_CMD=("$MC_BIN" -U 0 -l 127.0.0.1 -t "$THREADS" "${run_as[@]}")
MC_NAME=memcached
if [ "$MC_VS_MC" = 1 ]; then
  HC_CMD=("${MC_CMD[@]}")
  HC_NAME=memcached2
elif [ -n "${BENCH_HC_CMD:-}" ]; then
  read -r -a HC_CMD <<<"$BENCH_HC_CMD"
  HC_CMD+=(-t "$THREADS")
  HC_NAME=${BENCH_HC_NAME:-hardcached}
else
  [ -x "$HC_BIN" ] || die "no hardcached at $HC_BIN (run: make build/hardcached)"
  HC_CMD=("$HC_BIN" -t "$THREADS")
  # hardcached switches to user memcache when started as root; mirror memcached when it is missing
  if [ "$(id -u)" -eq 0 ] && ! id memcache >/dev/null 2>&1; then HC_CMD+=(-u nobody); fi
  HC_NAME=hardcached
fi

mkdir -p "$OUT"
RAW="$OUT/raw.txt"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/bench.XXXXXX")
: >"$RAW"
: >"$OUT/mc.log"
: >"$OUT/hc.log"
: >"$OUT/loadgen.log"
STARTED=()
LG_PID=
TLS_DIR=
# Extra arguments for one row: SRV_EXTRA goes to both servers, LG_EXTRA to every load generator
# run against them (pings included). Empty except during the tls row.
SRV_EXTRA=()
LG_EXTRA=()
SRV_MEM=$MEM
RUN_NOTES=()
FAILED=0

cleanup() {
  local pid
  if [ -n "$LG_PID" ]; then
    kill -TERM "$LG_PID" 2>/dev/null || true   # timeout(1) passes it on to the load generator
  fi
  for pid in "${STARTED[@]}"; do
    kill -KILL "$pid" 2>/dev/null || true
  done
  rm -rf "$WORK"
  if [ -n "$TLS_DIR" ]; then rm -rf "$TLS_DIR"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- servers ----
# start_server ROLE PORT: starts it in the background, waits until it answers `version`;
# sets SERVER_PID. ROLE is mc or hc. (Not run in a subshell: STARTED must see the pid.)
SERVER_PID=
start_server() {
  local role=$1 port=$2 pid i log="$OUT/$1.log"
  SERVER_PID=
  local -a cmd
  if [ "$role" = mc ]; then cmd=("${MC_CMD[@]}"); else cmd=("${HC_CMD[@]}"); fi
  cmd+=(-m "$SRV_MEM" "${SRV_EXTRA[@]}")
  if "$LOADGEN" -p "$port" -w ping -d 0.2 >/dev/null 2>&1 ||
    { [ "${#LG_EXTRA[@]}" -gt 0 ] && "$LOADGEN" -p "$port" "${LG_EXTRA[@]}" -w ping -d 0.2 >/dev/null 2>&1; }; then
    say "port $port is already in use; set BENCH_PORT"
    RUN_NOTES+=("port $port was already in use; set BENCH_PORT")
    return 1
  fi
  echo "== $(date +%T) ${cmd[*]} -p $port" >>"$log"
  "${cmd[@]}" -p "$port" >>"$log" 2>&1 </dev/null &
  pid=$!
  STARTED+=("$pid")
  for ((i = 0; i < 100; i++)); do   # up to ~10 s
    if ! kill -0 "$pid" 2>/dev/null; then
      break
    fi
    if "$LOADGEN" -p "$port" "${LG_EXTRA[@]}" -w ping -d 0.1 >/dev/null 2>&1; then
      SERVER_PID=$pid
      return 0
    fi
  done
  say "$role did not come up on port $port; last lines of $log:"
  tail -n 5 "$log" >&2
  RUN_NOTES+=("$(role_name "$role") did not start or answer \`version\` (${cmd[*]} -p $port); see $log")
  stop_server "$pid"
  return 1
}

# stop_server PID: TERM, up to 5 s grace, then KILL; reaped and forgotten, so that cleanup never
# signals a pid that may since have been reused.
stop_server() {
  local pid=$1 i p keep=()
  if kill -TERM "$pid" 2>/dev/null; then
    for ((i = 0; i < 50; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
  for p in "${STARTED[@]}"; do
    [ "$p" = "$pid" ] || keep+=("$p")
  done
  STARTED=("${keep[@]}")
}

rss_mib() { awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || echo -1; }
hwm_mib() { awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || echo -1; }

# ---- rows: the load generator's arguments for the measured run and for the warm-up ----
row_args() {
  case "$1" in
    mixed) echo "-w mixed -c $CONNS -P 1 -k $KEYS -s 100 -r 0.9 -d $SECS" ;;
    pipelined) echo "-w mixed -c $CONNS -P 16 -k $KEYS -s 100 -r 0.9 -d $SECS" ;;
    multiget) echo "-w multiget -m 100 -c $CONNS -P 1 -k $KEYS -s 100 -d $SECS" ;;
    # 100 quiet `mg <key> v q` and an `mn` per batch; 10% of the keys were never stored
    meta) echo "-w meta -m 100 --hit-ratio 0.9 -c $CONNS -P 1 -k $KEYS -s 100 -d $SECS" ;;
    # the binary protocol (loadgen --binary): GET only, SET only, and meta's batch as GETKQ + NOOP
    binget) echo "-w mixed --binary -r 1 -c $CONNS -P 1 -k $KEYS -s 100 -d $SECS" ;;
    binset) echo "-w mixed --binary -r 0 -c $CONNS -P 1 -k $KEYS -s 100 -d $SECS" ;;
    binmulti) echo "-w meta --binary -m 100 --hit-ratio 0.9 -c $CONNS -P 1 -k $KEYS -s 100 -d $SECS" ;;
    set4k) echo "-w mixed -r 0 -c $CONNS -P 1 -k $KEYS_4K -s 4096 -d $SECS" ;;
    tls) echo "-w mixed -c $CONNS -P 1 -k $KEYS -s 100 -r 0.9 -d $SECS" ;;
    memory) echo "-w fill -n $((3 * MEM * 1048576 / 100)) -c 4 -P 100 -s 100 -d 120 --stats" ;;
    # connect, one `get` of a stored 100-byte value, close; sequentially, on each client thread
    connect) echo "-w connect -T $CONNECT_THREADS -k 1000 -s 100 -d $SECS" ;;
  esac
}
warm_args() {
  case "$1" in
    # the bin* rows are warmed over ASCII too: their gets read what `set` stored
    mixed | pipelined | multiget | meta | binget | binset | binmulti)
      echo "-w fill -n $KEYS -c 4 -P 100 -s 100 -d 60" ;;
    set4k) echo "-w fill -n $KEYS_4K -c 4 -P 16 -s 4096 -d 60" ;;
    # 50 sets of 100 bytes are 7 KB, one TLS record: memcached 1.6.18 -Z stops reading when a
    # burst of requests spans records (it leaves decrypted bytes in OpenSSL's buffer)
    tls) echo "-w fill -n $KEYS -c 4 -P 50 -s 100 -d 60" ;;
    connect) echo "-w fill -n 1000 -c 1 -P 100 -s 100 -d 60" ;;
  esac
}

# loadgen ROLE PORT ARGS...: one bounded load generator run; its RESULT line on stdout and in raw.txt
# (In the background plus `wait`, so that a TERM or INT is handled at once, not after the run.)
loadgen() {
  local role=$1 port=$2 line rc=0
  shift 2
  timeout 300 "$LOADGEN" -p "$port" "${LG_EXTRA[@]}" -T "$LG_THREADS" -L "$role" "$@" >"$WORK/lg.out" \
    2>>"$OUT/loadgen.log" &
  LG_PID=$!
  wait "$LG_PID" || rc=$?
  LG_PID=
  line=$(grep -m 1 '^RESULT ' "$WORK/lg.out" || true)
  if [ "$rc" -ne 0 ] || [ -z "$line" ]; then
    say "load generator failed against $role ($*); see $OUT/loadgen.log"
    RUN_NOTES+=("load generator failed against $(role_name "$role") ($*); see $OUT/loadgen.log")
    line="${line:-RESULT failed=1 label=$role}"
    FAILED=1
  fi
  echo "$line" >>"$RAW"
  echo "$line"
}

# measure ROW ROLE PORT PID: a measured run; appends the RESULT line to WORK/ROW.ROLE
measure() {
  local row=$1 role=$2 port=$3 pid=$4
  # shellcheck disable=SC2046
  loadgen "$role" "$port" $(row_args "$row") -C "$pid" >>"$WORK/$row.$role"
}

# run_row ROW: both servers up side by side, warmed, then alternated rounds.
run_row() {
  local row=$1 r mc_pid hc_pid
  say "row $row: $ROUNDS rounds x ${SECS}s each server"
  start_server mc "$PORT_MC" || { FAILED=1; return 0; }
  mc_pid=$SERVER_PID
  if ! start_server hc "$PORT_HC"; then
    FAILED=1
    stop_server "$mc_pid"
    return 0
  fi
  hc_pid=$SERVER_PID
  # shellcheck disable=SC2046
  loadgen mc "$PORT_MC" $(warm_args "$row") >/dev/null
  # shellcheck disable=SC2046
  loadgen hc "$PORT_HC" $(warm_args "$row") >/dev/null
  for ((r = 1; r <= ROUNDS; r++)); do
    measure "$row" mc "$PORT_MC" "$mc_pid"
    measure "$row" hc "$PORT_HC" "$hc_pid"
  done
  stop_server "$hc_pid"
  stop_server "$mc_pid"
}

# make_tls_files: a throwaway CA and a server certificate for 127.0.0.1 (P-256, valid 2 days) in
# TLS_DIR. The key stays ours (memcached reads it as root, hardcached's file reader as root without
# capabilities), group-readable by the group of the user the servers switch to, in case a server
# reads it after that; the directory can be passed through but not listed.
make_tls_files() {   # (called in an `if`, so set -e is off here: every step is checked)
  local log="$OUT/loadgen.log"
  TLS_DIR=$(mktemp -d "${TMPDIR:-/tmp}/bench-tls.XXXXXX") && [ -d "$TLS_DIR" ] || return 1
  echo "== $(date +%T) tls: certificates in $TLS_DIR" >>"$log"
  (
    cd "$TLS_DIR" || exit 1
    umask 077
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
      -subj "/CN=hardcached bench CA" -keyout ca.key -out ca.crt || exit 1
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
      -subj "/CN=127.0.0.1" -keyout server.key -out server.csr || exit 1
    printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=digitalSignature" \
      "extendedKeyUsage=serverAuth" "subjectAltName=IP:127.0.0.1,DNS:localhost" >server.ext || exit 1
    openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
      -extfile server.ext -out server.crt || exit 1
    rm -f ca.key server.csr server.ext ca.srl
    chmod 644 ca.crt server.crt || exit 1
    if [ -n "$RUN_USER" ]; then
      chgrp "$(id -gn "$RUN_USER")" server.key && chmod 640 server.key || exit 1
    fi
    chmod 711 . && [ -s ca.crt ] && [ -s server.crt ] && [ -s server.key ]
  ) >>"$log" 2>&1
}

# run_tls: the mixed row's workload with both servers on TLS (same flags for both), the load
# generator verifying the certificate; one handshake per connection, before the measured window.
run_tls() {
  if ! make_tls_files; then
    RUN_NOTES+=("tls: could not make the certificates with openssl(1); see $OUT/loadgen.log")
    FAILED=1
    return 0
  fi
  SRV_EXTRA=(-Z -o "ssl_chain_cert=$TLS_DIR/server.crt,ssl_key=$TLS_DIR/server.key")
  LG_EXTRA=(--tls-ca "$TLS_DIR/ca.crt")
  run_row tls
  SRV_EXTRA=()
  LG_EXTRA=()
}

# run_memory: a fresh server per run (a fill changes what it holds), alternated, RSS recorded.
run_memory() {
  local r role port pid
  say "row memory: $ROUNDS rounds, fill $((3 * MEM * 1048576 / 100)) keys of 100 bytes into -m $MEM"
  for ((r = 1; r <= ROUNDS; r++)); do
    for role in mc hc; do
      if [ "$role" = mc ]; then port=$PORT_MC; else port=$PORT_HC; fi
      start_server "$role" "$port" || { FAILED=1; continue; }
      pid=$SERVER_PID
      measure memory "$role" "$port" "$pid"
      echo "RESULT rss_mib=$(rss_mib "$pid")" >>"$WORK/memory_rss.$role"
      stop_server "$pid"
    done
  done
}

# run_flood: one attacker per worker thread floods 100-key gets; a victim times `version` every
# 20 ms (bench/flood_victim.py). A fresh server per run, alternated.
run_flood() {
  local r role port pid line
  say "row flood: $ROUNDS rounds, $THREADS attacker(s) vs a victim, ${SECS}s each"
  for ((r = 1; r <= ROUNDS; r++)); do
    for role in mc hc; do
      if [ "$role" = mc ]; then port=$PORT_MC; else port=$PORT_HC; fi
      start_server "$role" "$port" || { FAILED=1; continue; }
      pid=$SERVER_PID
      line=$(timeout 120 /usr/bin/python3 "$ROOT/bench/flood_victim.py" "$port" "$THREADS" "$SECS" \
        "$role" 2>>"$OUT/loadgen.log" | grep -m 1 '^RESULT ' || true)
      if [ -z "$line" ]; then
        RUN_NOTES+=("flood: the victim script failed against $(role_name "$role"); see $OUT/loadgen.log")
        line="RESULT failed=1 label=$role"
        FAILED=1
      fi
      echo "$line" >>"$RAW"
      echo "$line" >>"$WORK/flood.$role"
      stop_server "$pid"
    done
  done
}

# ---- the store rows (issue 12): bench/storerows.py against a fresh server per run ----
# store ROW ROLE PORT FILE ARGS...: one bounded storerows.py run; its RESULT line goes to
# WORK/FILE.ROLE and raw.txt
store() {
  local row=$1 role=$2 port=$3 file=$4 line rc=0
  shift 4
  timeout 600 /usr/bin/python3 "$ROOT/bench/storerows.py" "$row" "$port" "$@" --label "$role" \
    --max-seconds 300 >"$WORK/st.out" 2>>"$OUT/loadgen.log" &
  LG_PID=$!
  wait "$LG_PID" || rc=$?
  LG_PID=
  line=$(grep -m 1 '^RESULT ' "$WORK/st.out" || true)
  if [ "$rc" -ne 0 ] || [ -z "$line" ]; then
    say "storerows.py failed against $role ($row $*); see $OUT/loadgen.log"
    RUN_NOTES+=("$file: storerows.py failed against $(role_name "$role") ($row $*); see $OUT/loadgen.log")
    line="${line:-RESULT failed=1 label=$role}"
    FAILED=1
  fi
  echo "$line" >>"$RAW"
  echo "$line" >>"$WORK/$file.$role"
}

# run_fresh ROW FILE ARGS...: ROUNDS alternated runs (memcached, hardcached, ...), each on a
# fresh server, since what a server holds is the workload; churn also records RSS and its peak.
run_fresh() {
  local row=$1 file=$2 r role port pid
  shift 2
  for ((r = 1; r <= ROUNDS; r++)); do
    for role in mc hc; do
      if [ "$role" = mc ]; then port=$PORT_MC; else port=$PORT_HC; fi
      start_server "$role" "$port" || { FAILED=1; continue; }
      pid=$SERVER_PID
      store "$row" "$role" "$port" "$file" "$@"
      if [ "$row" = churn ]; then
        echo "RESULT rss_mib=$(rss_mib "$pid") hwm_mib=$(hwm_mib "$pid")" >>"$WORK/churn_rss.$role"
      fi
      stop_server "$pid"
    done
  done
}

run_items() {
  local z
  say "row items: value sizes $ITEMS_SIZES into -m $MEM, $ROUNDS rounds each, a fresh server per run"
  for z in $ITEMS_SIZES; do
    run_fresh items "items_$z" "$z" --mem "$MEM"
  done
}

run_hitratio() {
  say "row hitratio: $HR_REQUESTS requests ($HR_WARMUP warm-up), Zipf 0.99, key space 10x -m $MEM, $ROUNDS rounds"
  run_fresh hitratio hitratio --mem "$MEM" --requests "$HR_REQUESTS" --warmup "$HR_WARMUP"
}

run_ttl() {
  say "row ttl: -m $MEM, half with exptime 2, 3 s wait, then long-lived items; $ROUNDS rounds"
  run_fresh ttl ttl --mem "$MEM"
}

run_churn() {
  say "row churn: -m $CHURN_MEM, $CHURN_KEYS keys of $CHURN_SMALL B then $CHURN_LARGE B; $ROUNDS rounds"
  SRV_MEM=$CHURN_MEM
  run_fresh churn churn --mem "$CHURN_MEM" --keys "$CHURN_KEYS" --small "$CHURN_SMALL" \
    --large "$CHURN_LARGE"
  SRV_MEM=$MEM
}

# ---- figures: medians of RESULT fields ----
# med ROW ROLE FIELD: median of FIELD over that row's runs; "-" when there is none
med() {
  local f="$WORK/$1.$2"
  [ -s "$f" ] || { echo -; return; }
  awk -v k="$3" '{ for (i = 1; i <= NF; i++) if (index($i, k "=") == 1) print substr($i, length(k) + 2) }' "$f" |
    awk '$1 != "" && $1 != "-1"' | sort -g |
    awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2];
                              else printf "%.6g\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
# total ROW ROLE FIELD: the sum over runs (for error counters)
total() {
  local f="$WORK/$1.$2"
  [ -s "$f" ] || { echo 0; return; }
  awk -v k="$3" '{ for (i = 1; i <= NF; i++) if (index($i, k "=") == 1) s += substr($i, length(k) + 2) }
                 END { printf "%d\n", s }' "$f"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || a + 0 == 0) print "-"; else printf "%.2f\n", b / a }'; }
fmt0() { awk -v a="$1" 'BEGIN { if (a == "-") print "-"; else printf "%.0f\n", a }'; }
fmt1() { awk -v a="$1" 'BEGIN { if (a == "-") print "-"; else printf "%.1f\n", a }'; }
fmt2() { awk -v a="$1" 'BEGIN { if (a == "-") print "-"; else printf "%.2f\n", a }'; }
# spread ROW FIELD: the larger of the two servers' (max-min)/median over rounds, in percent
spread() {
  local role f worst=0 s
  if [ "$ROUNDS" -lt 2 ]; then echo -; return; fi
  for role in mc hc; do
    f="$WORK/$1.$role"
    [ -s "$f" ] || continue
    s=$(awk -v k="$2" '{ for (i = 1; i <= NF; i++) if (index($i, k "=") == 1) print substr($i, length(k) + 2) }' "$f" |
      sort -g | awk '{ v[NR] = $1 } END { if (NR < 2) { print 0; exit }
                      m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
                      if (m > 0) printf "%.0f\n", 100 * (v[NR] - v[1]) / m; else print 0 }')
    [ "$s" -gt "$worst" ] && worst=$s
  done
  echo "$worst"
}

# line ROW-LABEL A-OPS B-OPS RATIO SPREAD A-P50/P99 B-P50/P99 A-CPU B-CPU: one table line
line() { printf "%-19s | %10s | %10s | %5s | %6s | %15s | %15s | %10s | %10s\n" "$@"; }
NOTES=()

check_row() {   # check_row ROW: notes for any error, miss, short value or failed run
  local row=$1 role n c
  for role in mc hc; do
    for c in errors proto_errors bad_values bad_keys closed timeouts failed; do
      n=$(total "$row" "$role" "$c")
      [ "$n" = 0 ] || NOTES+=("$row: $(role_name "$role"): $c=$n")
    done
    if [ "$row" != flood ] && [ "$(total "$row" "$role" server_cpu_us)" = 0 ] && [ -s "$WORK/$row.$role" ]; then
      NOTES+=("$row: $(role_name "$role"): server CPU read as 0: is the pid a wrapper, not the server?")
    fi
    if [ "$row" = tls ] && [ "$(tls_of mc)" != "$(tls_of hc)" ]; then
      [ "$role" = hc ] && NOTES+=("tls: the servers negotiated different protocols or ciphers" \
        "($MC_NAME $(tls_of mc), $HC_NAME $(tls_of hc)): CPU per op is not like for like")
    fi
    if [ "$row" != set4k ] && [ "$row" != memory ]; then
      n=$(total "$row" "$role" misses)
      [ "$n" = 0 ] || NOTES+=("$row: $(role_name "$role"): $n keys missed that the warm-up stored")
    fi
  done
}

# tls_of ROLE: the protocol and cipher the tls row's runs negotiated, e.g. TLSv1.3/TLS_AES_256_GCM_SHA384
tls_of() {
  local f="$WORK/tls.$1"
  [ -s "$f" ] || { echo -; return; }
  awk '{ v = "-"; c = "-"
         for (i = 1; i <= NF; i++) {
           if (index($i, "tls_version=") == 1) v = substr($i, 13)
           if (index($i, "tls_cipher=") == 1) c = substr($i, 12)
         }
         print v "/" c }' "$f" | sort -u | paste -sd, -
}

# tls_cost ROLE: median server CPU us/op of the tls row minus that of the mixed row
tls_cost() {
  awk -v a="$(med tls "$1" server_cpu_us_per_op)" -v b="$(med mixed "$1" server_cpu_us_per_op)" \
    'BEGIN { if (a == "-" || b == "-") print "-"; else printf "%+.2f\n", a - b }'
}

lat() { echo "$(fmt1 "$(med "$1" "$2" p50_us)")/$(fmt1 "$(med "$1" "$2" p99_us)")"; }
cpu() { fmt2 "$(med "$1" "$2" server_cpu_us_per_op)"; }

perf_line() {   # perf_line ROW LABEL OPSFIELD
  local row=$1 label=$2 k=$3 mo ho
  mo=$(med "$row" mc "$k")
  ho=$(med "$row" hc "$k")
  line "$label" "$(fmt0 "$mo")" "$(fmt0 "$ho")" "$(ratio "$mo" "$ho")" "$(spread "$row" "$k" | sed 's/[0-9]$/&%/')" \
    "$(lat "$row" mc)" "$(lat "$row" hc)" "$(cpu "$row" mc)" "$(cpu "$row" hc)"
}

memory_lines() {
  local mi hi
  mi=$(med memory mc curr_items)
  hi=$(med memory hc curr_items)
  line "memory: items held" "$(fmt0 "$mi")" "$(fmt0 "$hi")" "$(ratio "$mi" "$hi")" \
    "$(spread memory curr_items | sed 's/[0-9]$/&%/')" "-" "-" "$(cpu memory mc)" "$(cpu memory hc)"
  mi=$(med memory_rss mc rss_mib)
  hi=$(med memory_rss hc rss_mib)
  line "memory: RSS MiB" "$(fmt1 "$mi")" "$(fmt1 "$hi")" "$(ratio "$mi" "$hi")" "" "-" "-" "" ""
}

flood_lines() {
  local ma ha
  ma=$(med flood mc answer_share)
  ha=$(med flood hc answer_share)
  line "flood: victim share" "$(fmt2 "$ma")" "$(fmt2 "$ha")" "$(ratio "$ma" "$ha")" \
    "$(spread flood answer_share | sed 's/[0-9]$/&%/')" \
    "$(fmt0 "$(med flood mc p50_us)")/$(fmt0 "$(med flood mc p99_us)")" \
    "$(fmt0 "$(med flood hc p50_us)")/$(fmt0 "$(med flood hc p99_us)")" "" ""
}

# ---- the store rows' lines ----
pct() { sed 's/[0-9]$/&%/'; }
fmt4() { awk -v a="$1" 'BEGIN { if (a == "-") print "-"; else printf "%.4f\n", a }'; }
# both ROW FIELD FMT: "A/B" medians of a field, for the legend
both() { echo "$($3 "$(med "$1" mc "$2")")/$($3 "$(med "$1" hc "$2")")"; }
# goal_of SIZE: the issue-12 goal for items held at that value size, or "-"
goal_of() {
  case "$1" in 32) echo 1.8 ;; 100) echo 1.3 ;; 1000 | 4096 | 10000 | mixed) echo 1.1 ;; *) echo - ;; esac
}
# verdict RATIO OP GOAL: "met" or "missed" (OP is >= or <=)
verdict() {
  awk -v r="$1" -v op="$2" -v g="$3" 'BEGIN { if (r == "-" || g == "-") print "-";
    else if ((op == ">=" && r + 0 >= g + 0) || (op == "<=" && r + 0 <= g + 0)) print "met";
    else print "MISSED" }'
}

items_lines() {
  local z mi hi label
  for z in $ITEMS_SIZES; do
    mi=$(med "items_$z" mc held)
    hi=$(med "items_$z" hc held)
    if [ "$z" = mixed ]; then label="items mixed"; else label="items ${z}B"; fi
    line "$label" "$(fmt0 "$mi")" "$(fmt0 "$hi")" "$(ratio "$mi" "$hi")" \
      "$(spread "items_$z" held | pct)" "-" "-" "" ""
  done
}

hitratio_lines() {
  local mh hh
  mh=$(med hitratio mc hit_ratio)
  hh=$(med hitratio hc hit_ratio)
  line "hitratio zipf0.99" "$(fmt4 "$mh")" "$(fmt4 "$hh")" "$(ratio "$mh" "$hh")" \
    "$(spread hitratio hit_ratio | pct)" "-" "-" "" ""
}

ttl_lines() {
  local ml hl
  ml=$(med ttl mc evicted_early)
  hl=$(med ttl hc evicted_early)
  line "ttl: early evicts" "$(fmt0 "$ml")" "$(fmt0 "$hl")" "$(ratio "$ml" "$hl")" "" "-" "-" "" ""
}

churn_lines() {
  local mr hr
  mr=$(med churn_rss mc rss_mib)
  hr=$(med churn_rss hc rss_mib)
  line "churn: RSS MiB" "$(fmt1 "$mr")" "$(fmt1 "$hr")" "$(ratio "$mr" "$hr")" \
    "$(spread churn_rss rss_mib | pct)" "-" "-" "" ""
}

connect_lines() {
  local mc_cpu hc_cpu
  perf_line connect "connect+get+close/s" ops_per_s
  mc_cpu=$(med connect mc server_cpu_us_per_op)
  hc_cpu=$(med connect hc server_cpu_us_per_op)
  line "connect CPU us/conn" "$(fmt2 "$mc_cpu")" "$(fmt2 "$hc_cpu")" "$(ratio "$mc_cpu" "$hc_cpu")" \
    "$(spread connect server_cpu_us_per_op | pct)" "" "" "" ""
}

# check_store FILE: notes for a failed or timed-out run, a value of the wrong size, a fill that
# never reached an eviction
check_store() {
  local file=$1 role c n
  for role in mc hc; do
    [ -s "$WORK/$file.$role" ] || continue
    for c in failed timed_out bad_values; do
      n=$(total "$file" "$role" "$c")
      [ "$n" = 0 ] || NOTES+=("$file: $(role_name "$role"): $c=$n")
    done
    if [ "${file%%_*}" = items ] && grep -q 'reached_eviction=0' "$WORK/$file.$role"; then
      NOTES+=("$file: $(role_name "$role"): no eviction within --max-keys keys: held is not the capacity")
    fi
  done
}

store_footer() {
  local z g r gl="" bound
  case " $ROWS " in *" items "*)
    echo "items  = 32-byte keys, values of one size (mixed: 50 B..20 KB, log-uniform, seed 12) set with"
    echo "         noreply until \`stats\` first shows an eviction (checked after every 200 keys or 32 KiB"
    echo "         of values), then every key read back with \`mg <key> s\`: held = keys answered with the"
    echo "         size they were written with; -m $MEM, a fresh server per run."
    for z in $ITEMS_SIZES; do
      g=$(goal_of "$z")
      [ "$g" = - ] && continue
      r=$(ratio "$(med "items_$z" mc held)" "$(med "items_$z" hc held)")
      gl="$gl $z>=$g:$r:$(verdict "$r" ">=" "$g")"
    done
    echo "         goals (issue 12, B/A):$gl"
    echo "         keys written A/B:$(for z in $ITEMS_SIZES; do printf ' %s %s' "$z" "$(both "items_$z" written fmt0)"; done)" ;;
  esac
  case " $ROWS " in *" hitratio "*)
    echo "hitratio = bench/hitratio.py's trace: $HR_REQUESTS \`mg <key>\` (Zipf 0.99, seed 12) over keys of 50 B..20 KB"
    echo "         (log-uniform) adding up to 10x -m $MEM; each miss is followed by a set; hits/gets after the"
    echo "         first $HR_WARMUP; a fresh server per run. Items held at the end A/B $(both hitratio curr_items fmt0)," \
      "evictions $(both hitratio evictions fmt0)." ;;
  esac
  case " $ROWS " in *" ttl "*)
    echo "ttl    = -m $MEM: half of it (key + value bytes, 50 B..20 KB) set with exptime 2, a 3 s wait, then"
    echo "         0.7 x -m of items without expiry, \`stats\` after every 64 KiB of them: early evicts ="
    echo "         evictions (live items: all long-lived) in batches after which curr_items still counted"
    echo "         expired items, i.e. evicted while expired ones held memory (at most"
    echo "         $(both ttl evicted_early_upper fmt0): those in batches before which some were counted); then every"
    echo "         long-lived key read back. Medians A/B: long-lived written $(both ttl long_written fmt0)," \
      "lost $(both ttl long_lost fmt0), evictions $(both ttl evictions fmt0),"
    echo "         reclaimed $(both ttl reclaimed fmt0) (by the LRU crawler $(both ttl crawler_reclaimed fmt0))," \
      "expired_unfetched $(both ttl expired_unfetched fmt0), expired items still counted at the end" \
      "$(both ttl other_items fmt0)." ;;
  esac
  case " $ROWS " in *" churn "*)
    bound=$(awk -v m="$CHURN_MEM" 'BEGIN { printf "%.1f", 1.1 * m + 16 }')
    echo "churn  = -m $CHURN_MEM: $CHURN_KEYS keys of $CHURN_SMALL B, then the same keys rewritten with $CHURN_LARGE B;"
    echo "         RSS = VmRSS afterwards; bound 1.1 x -m + 16 MiB = $bound MiB:" \
      "A $(verdict "$(med churn_rss mc rss_mib)" "<=" "$bound"), B $(verdict "$(med churn_rss hc rss_mib)" "<=" "$bound");"
    echo "         peak (VmHWM) A/B $(both churn_rss hwm_mib fmt1) MiB; keys held A/B $(both churn held fmt0)," \
      "evictions $(both churn evictions fmt0)." ;;
  esac
  case " $ROWS " in *" connect "*)
    r=$(ratio "$(med connect mc server_cpu_us_per_op)" "$(med connect hc server_cpu_us_per_op)")
    echo "connect = $CONNECT_THREADS client threads, each making connections one after another: connect, \`get\` of a"
    echo "         stored 100-byte value, close; ops = connections; CPU = server CPU per connection;"
    echo "         goal (issue 12) CPU B/A <= 1.0: $r $(verdict "$r" "<=" 1.0)." ;;
  esac
}

print_header() {
  local model mcv hcv
  model=$(lscpu 2>/dev/null | sed -n 's/^Model name:[[:space:]]*//p' | head -n 1)
  mcv=$("$MC_BIN" -V 2>/dev/null | head -n 1 || true)
  hcv=$(timeout 2 "${HC_CMD[0]}" -V 2>/dev/null | head -n 1 || true)
  echo "hardcached bench, $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "machine: ${model:-unknown CPU}, $(nproc) CPUs, $(uname -sr);" \
    "load average before/after: $LOAD_BEFORE / $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "servers: A = ${mcv:-memcached} [${MC_CMD[*]} -m $MEM]"
  echo "         B = ${hcv:-$HC_NAME} [${HC_CMD[*]} -m $MEM]"
  echo "method:  loopback, -t $THREADS -m $MEM, $ROUNDS alternated rounds x ${SECS}s, medians;" \
    "load generator: 1 process, $LG_THREADS thread(s), epoll"
  echo
  line "row" "$MC_NAME" "$HC_NAME" "ratio" "spread" "$MC_NAME" "$HC_NAME" "$MC_NAME" "$HC_NAME"
  line "" "ops/s" "ops/s" "B/A" "" "p50/p99 us" "p50/p99 us" "CPU us/op" "CPU us/op"
  line "" "" "" "" "" "" "" "" "" | tr ' |' '-+'
}

print_footer() {
  local row lg=""
  echo
  echo "ratio  = B/A = $HC_NAME/$MC_NAME: above 1, B serves more (or holds more)."
  echo "spread = (max-min)/median of ops over the rounds, the larger of A's and B's: differences"
  echo "         smaller than this are noise."
  echo "CPU    = server utime+stime per op from /proc/PID/stat over the measured window"
  echo "         (multiget, meta, binmulti: per key; memory: per stored key)."
  for row in $ROWS; do
    case "$row" in items | hitratio | ttl | churn | flood) continue ;; esac
    lg="$lg $row $(fmt2 "$(med "$row" mc client_cpu_us_per_op)")/$(fmt2 "$(med "$row" hc client_cpu_us_per_op)")"
  done
  if [ -n "$lg" ]; then echo "load generator CPU us/op, A/B:$lg"; fi
  case " $ROWS " in *" meta "*)
    echo "meta   = batches of 100 quiet \`mg <key> v q\` ended by \`mn\`, one batch in flight per"
    echo "         connection: 90% of the keys stored (answered VA), 10% never stored (answered"
    echo "         nothing); keys/s counts both; latency per batch, send to MN." ;;
  esac
  case " $ROWS " in *" bin"*)
    echo "bin*   = memcached's binary protocol, 100-byte values, $CONNS connections, one request in"
    echo "         flight each: binget = GET of stored keys, binset = SET, binmulti = 100 GETKQ ended"
    echo "         by NOOP (keys as in meta: 90% stored; keys/s counts all); values are checked byte"
    echo "         by byte, every reply's opaque against its request's." ;;
  esac
  case " $ROWS " in *" tls "*)
    echo "tls    = the mixed row's workload over TLS: both servers get -Z -o ssl_chain_cert=,ssl_key="
    echo "         (a throwaway CA, P-256 certificate); the load generator verifies the certificate and"
    echo "         does one handshake per connection, before the measured window."
    echo "         negotiated: A $(tls_of mc), B $(tls_of hc)"
    case " $ROWS " in *" mixed "*)
      echo "         server CPU us/op, tls minus mixed (what TLS costs each server):" \
        "A $(tls_cost mc), B $(tls_cost hc)" ;;
    esac ;;
  esac
  case " $ROWS " in *" memory "*)
    echo "memory = $((3 * MEM * 1048576 / 100)) distinct 100-byte keys (3x -m) stored with noreply, synced"
    echo "         every 100; items = curr_items afterwards; RSS = VmRSS; a fresh server per run." ;;
  esac
  case " $ROWS " in *" flood "*)
    echo "flood  = one client per worker thread pipelines 100-key gets in 1 MB batches nonstop; a"
    echo "         victim sends \`version\` every 20 ms: share = answers / expected, p50/p99 its round"
    echo "         trips in us; a fresh server per run." ;;
  esac
  store_footer
  echo "row times (s):${ROW_TIMES}"
  NOTES=("${RUN_NOTES[@]}" "${NOTES[@]}")
  if [ "${#NOTES[@]}" -gt 0 ]; then
    echo "WARNINGS (these figures are suspect):"
    printf '  %s\n' "${NOTES[@]}"
  fi
  echo "raw results: $RAW"
}

print_table() {
  local row
  print_header
  for row in $ROWS; do
    case "$row" in
      mixed) perf_line mixed "mixed 90/10 c$CONNS" ops_per_s ;;
      pipelined) perf_line pipelined "pipelined x16 c$CONNS" ops_per_s ;;
      multiget)
        perf_line multiget "multiget100 keys/s" ops_per_s
        line "multiget100 req/s" "$(fmt0 "$(med multiget mc req_per_s)")" \
          "$(fmt0 "$(med multiget hc req_per_s)")" \
          "$(ratio "$(med multiget mc req_per_s)" "$(med multiget hc req_per_s)")" "" "" "" "" "" ;;
      meta)
        perf_line meta "meta mg100 keys/s" ops_per_s
        line "meta mg100 batch/s" "$(fmt0 "$(med meta mc req_per_s)")" \
          "$(fmt0 "$(med meta hc req_per_s)")" \
          "$(ratio "$(med meta mc req_per_s)" "$(med meta hc req_per_s)")" "" "" "" "" "" ;;
      binget) perf_line binget "bin get c$CONNS" ops_per_s ;;
      binset) perf_line binset "bin set c$CONNS" ops_per_s ;;
      binmulti)
        perf_line binmulti "binmulti keys/s" ops_per_s
        line "binmulti batch/s" "$(fmt0 "$(med binmulti mc req_per_s)")" \
          "$(fmt0 "$(med binmulti hc req_per_s)")" \
          "$(ratio "$(med binmulti mc req_per_s)" "$(med binmulti hc req_per_s)")" "" "" "" "" "" ;;
      set4k) perf_line set4k "set 4KiB c$CONNS" ops_per_s ;;
      tls) perf_line tls "tls mixed 90/10 c$CONNS" ops_per_s ;;
      memory) memory_lines ;;
      flood) flood_lines ;;
      items) items_lines ;;
      hitratio) hitratio_lines ;;
      ttl) ttl_lines ;;
      churn) churn_lines ;;
      connect) connect_lines ;;
    esac
    case "$row" in
      items) for z in $ITEMS_SIZES; do check_store "items_$z"; done ;;
      hitratio | ttl | churn) check_store "$row" ;;
      *) check_row "$row" ;;
    esac
  done
  print_footer
}

# ---- main ----
t0=$(date +%s)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
ROW_TIMES=
for row in $ROWS; do
  t_row=$(date +%s)
  case "$row" in
    memory) run_memory ;;
    flood) run_flood ;;
    tls) run_tls ;;
    items) run_items ;;
    hitratio) run_hitratio ;;
    ttl) run_ttl ;;
    churn) run_churn ;;
    *) run_row "$row" ;;
  esac
  ROW_TIMES="$ROW_TIMES $row $(($(date +%s) - t_row))"
done
print_table >"$OUT/latest.txt.tmp"   # not in a pipeline: print_table collects NOTES
# the allowlist lookup with 10,000 entries (issue: a trie or sorted ranges, not a scan)
if [ -x "$(dirname "$LOADGEN")/allowlist_bench" ]; then
  "$(dirname "$LOADGEN")/allowlist_bench" >>"$OUT/latest.txt.tmp"
fi
mv "$OUT/latest.txt.tmp" "$OUT/latest.txt"
cat "$OUT/latest.txt"
say "done in $(($(date +%s) - t0)) s; table in $OUT/latest.txt"
[ "$FAILED" = 0 ] && [ "${#NOTES[@]}" -eq 0 ]
