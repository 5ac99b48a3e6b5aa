#!/usr/bin/env bash
# layers.sh: keeps the tree honest (STYLE.md). Dependencies point one way
# (base <- store <- proto <- net <- main; conf and sec use base), and the
# protocol and storage layers make no system calls of their own: they
# include no <sys/*> or <unistd.h>. Ends with "layers: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
passed=0; failed=0

allowed() {  # layer -> layers it may include
  case "$1" in
    base) echo "base" ;;
    store) echo "base store" ;;
    proto) echo "base store proto conf" ;;
    conf) echo "base conf sec" ;;
    sec) echo "base conf sec" ;;
    net) echo "base store proto conf sec net" ;;
  esac
}

for f in src/*/*.[ch]; do
  layer=$(basename "$(dirname "$f")")
  ok=1
  while read -r inc; do
    dep=${inc%%/*}
    case " $(allowed "$layer") " in
      *" $dep "*) ;;
      *) echo "FAIL $f includes \"$inc\": $layer may not depend on $dep"; ok=0 ;;
    esac
  done < <(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f")
  if [ "$layer" = proto ] || [ "$layer" = store ]; then
    if grep -nE '^#include <(sys/[^>]*|unistd\.h)>' "$f"; then
      echo "FAIL $f: the $layer layer must not talk to the system"; ok=0
    fi
  fi
  if [ $ok = 1 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
done
echo "layers: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
