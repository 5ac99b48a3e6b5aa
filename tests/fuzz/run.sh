#!/usr/bin/env bash
# run.sh: builds the libFuzzer targets (clang, ASan+UBSan) into build/fuzz/
# from src/ directly (every src/*/*.c but main.c, as an archive so a target
# links only what it uses), replays the committed corpus and crash inputs,
# then fuzzes each target for a while, one fuzzing process at a time.
#   tests/fuzz/run.sh            each target FUZZ_SECONDS (300) seconds
#   tests/fuzz/run.sh --smoke    replay everything, each target ~25 s (CI)
#   tests/fuzz/run.sh --replay   replay only, no fuzzing
#   tests/fuzz/run.sh [opts] proto allowlist   only these targets
# New corpus entries go to build/fuzz/corpus/<target>/ (never committed
# automatically); crashes to build/fuzz/artifacts/<target>/; FUZZ_OUT=dir
# puts all of it elsewhere (a long run beside a CI smoke). A target passes
# when its build, its replay and its fuzzing end without crash, leak or
# timeout. Last line: "fuzz: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.."

MODE=full
SECONDS_EACH=${FUZZ_SECONDS:-300}
TARGETS=()
for a in "$@"; do
    case $a in
        --smoke) MODE=smoke; SECONDS_EACH=${FUZZ_SMOKE_SECONDS:-25} ;;
        --replay) MODE=replay ;;
        -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
        -*) echo "run.sh: unknown option $a" >&2; exit 64 ;;
        *) TARGETS+=("$a") ;;
    esac
done
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(proto cli allowlist config auth binary)

CC=${FUZZ_CC:-clang}
OUT=${FUZZ_OUT:-build/fuzz}
FUZZ_DIR=tests/fuzz
PKGS="libevent libxxhash libseccomp libcap openssl"
SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
CFLAGS="-g -O1 -std=c11 -D_GNU_SOURCE -Isrc -I$OUT/gen $SAN $(pkg-config --cflags $PKGS 2>/dev/null)"
LIBS="$(pkg-config --libs $PKGS 2>/dev/null) -lpthread -lm"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# Per-target libFuzzer options (input size, time per input).
declare -A MAXLEN=([proto]=16384 [cli]=2048 [allowlist]=4096 [config]=8192 [auth]=8192
                  [binary]=16384)

passed=0; failed=0
mkdir -p "$OUT/obj"

# --- build ---------------------------------------------------------------

# Generated headers, made the way the Makefile makes them (under build/).
gen_policy() {   # policy file, header, array name (the Makefile's rules)
    local policy=$1 h=$2
    if [ -x scripts/gen_seccomp.sh ] && [ -f "$policy" ] &&
       { [ ! -f "$h" ] || [ "$policy" -nt "$h" ] ||
         [ scripts/gen_seccomp.sh -nt "$h" ]; }; then
        scripts/gen_seccomp.sh "$policy" "$h" ${3:+"$3"} || return 1
    fi
}

build_gen() {
    gen_policy policy/seccomp.policy "$OUT/gen/sec/seccomp_policy.h" &&
        gen_policy policy/reader.policy "$OUT/gen/sec/reader_policy.h" reader_policy
}

# The library: recompiled when its source or any header under src/ is newer.
build_lib() {
    local newest_h objs=() src obj
    build_gen || return 1
    newest_h=$(find src "$OUT/gen" -name '*.h' -newer "$OUT/libhc.a" 2>/dev/null | head -n 1)
    [ -f "$OUT/libhc.a" ] || newest_h=all
    for src in src/*/*.c; do
        obj="$OUT/obj/${src//\//_}"; obj="${obj%.c}.o"
        objs+=("$obj")
        if [ -n "$newest_h" ] || [ ! -f "$obj" ] || [ "$src" -nt "$obj" ]; then
            $CC $CFLAGS -fsanitize=fuzzer-no-link -c "$src" -o "$obj" || return 1
        fi
    done
    rm -f "$OUT/libhc.a"
    ar rcs "$OUT/libhc.a" "${objs[@]}"
}

# The harness itself gets no coverage feedback (coverage.ignore): only the
# code under test steers the fuzzer.
build_target() {   # name
    $CC $CFLAGS -Wall -Wextra -fsanitize=fuzzer \
        -fsanitize-coverage-ignorelist="$FUZZ_DIR/coverage.ignore" \
        "$FUZZ_DIR/fuzz_$1.c" "$OUT/libhc.a" $LIBS -o "$OUT/fuzz_$1.tmp" &&
        mv -f "$OUT/fuzz_$1.tmp" "$OUT/fuzz_$1"
}

# --- run -----------------------------------------------------------------

replay() {   # name: every committed input once (corpus and crash regressions)
    local dirs=()
    for d in "$FUZZ_DIR/corpus/$1" "$FUZZ_DIR/regress/$1"; do
        [ -d "$d" ] && [ -n "$(ls -A "$d")" ] && dirs+=("$d")
    done
    [ ${#dirs[@]} -gt 0 ] || { echo "replay $1: no inputs"; return 0; }
    local n; n=$(find "${dirs[@]}" -type f | wc -l)
    echo "replay $1: $n inputs"
    mkdir -p "$OUT/artifacts/$1"
    "$OUT/fuzz_$1" -runs=0 -timeout=25 -rss_limit_mb=2560 -artifact_prefix="$OUT/artifacts/$1/replay-" "${dirs[@]}" \
        >"$OUT/log/$1.replay.log" 2>&1 || { tail -n 40 "$OUT/log/$1.replay.log"; return 1; }
}

fuzz() {   # name seconds
    local work="$OUT/corpus/$1" art="$OUT/artifacts/$1/" dict=()
    mkdir -p "$work" "$art"
    [ -d "$FUZZ_DIR/corpus/$1" ] && cp -n "$FUZZ_DIR/corpus/$1"/* "$work"/ 2>/dev/null
    [ -f "$FUZZ_DIR/$1.dict" ] && dict=(-dict="$FUZZ_DIR/$1.dict")
    echo "fuzz $1: $2 s"
    "$OUT/fuzz_$1" "$work" "${dict[@]}" -max_total_time="$2" -max_len="${MAXLEN[$1]:-4096}" \
        -timeout=25 -rss_limit_mb=2560 -artifact_prefix="$art" -print_final_stats=1 \
        >"$OUT/log/$1.fuzz.log" 2>&1
    local rc=$?
    grep -E '^stat::number_of_executed_units|^#[0-9]+.*DONE' "$OUT/log/$1.fuzz.log" | tail -n 2
    if [ $rc -ne 0 ]; then
        grep -E 'ERROR|SUMMARY|invariant|Test unit written' "$OUT/log/$1.fuzz.log" | head -n 10
        echo "fuzz $1: FAILED (rc $rc); log $OUT/log/$1.fuzz.log; input under $art"
    fi
    return $rc
}

# One function, read whole before it runs: editing this file while a long
# run is going cannot change what that run executes.
main() {
    mkdir -p "$OUT/log"
    echo "=== building the fuzz library ($CC)"
    if ! build_lib; then
        echo "fuzz: library build failed"
        echo "fuzz: 0 passed, ${#TARGETS[@]} failed"
        exit 1
    fi

    for t in "${TARGETS[@]}"; do
        echo "=== $t"
        if [ ! -f "$FUZZ_DIR/fuzz_$t.c" ]; then
            echo "FAIL $t: no $FUZZ_DIR/fuzz_$t.c"; failed=$((failed + 1)); continue
        fi
        if ! build_target "$t"; then
            echo "FAIL $t: build"; failed=$((failed + 1)); continue
        fi
        ok=1
        replay "$t" || ok=0
        if [ $ok -eq 1 ] && [ "$MODE" != replay ]; then
            fuzz "$t" "$SECONDS_EACH" || ok=0
        fi
        if [ $ok -eq 1 ]; then
            echo "PASS $t"; passed=$((passed + 1))
        else
            echo "FAIL $t"; failed=$((failed + 1))
        fi
    done

    echo "fuzz: $passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}

main; exit $?
