#!/usr/bin/env bash
# layers.sh: keeps the tree honest (STYLE.md). Dependencies point one way
# (base <- store <- proto <- net <- main; conf uses base and sec; sec uses
# only base), no two modules include each other, and the protocol and
# storage layers make no system calls of their own: they include no
# <sys/*> or <unistd.h>. A module is a .c with the .h of the same name
# (foo_internal.h belongs to foo). ARCHITECTURE.md's Layers section lists
# the same rules. Ends with "layers: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
passed=0; failed=0

allowed() {  # layer -> layers it may include
  case "$1" in
    base) echo "base" ;;
    store) echo "base store" ;;
    proto) echo "base store proto conf sec" ;;
    conf) echo "base conf sec" ;;
    sec) echo "base sec" ;;
    net) echo "base store proto conf sec net" ;;
  esac
}


includes() {  # file -> its "quoted" includes
  sed -n 's/^#include "\([^"]*\)".*/\1/p' "$1"
}

module() {  # src/conf/options.c, conf/options.h -> conf/options
  local m=${1#src/}
  m=${m%.*}
  echo "${m%_internal}"
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
  done < <(includes "$f")
  if [ "$layer" = proto ] || [ "$layer" = store ]; then
    if grep -nE '^#include <(sys/[^>]*|unistd\.h)>' "$f"; then
      echo "FAIL $f: the $layer layer must not talk to the system"; ok=0
    fi
  fi
  if [ $ok = 1 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
done

# No direct circle between two modules: a.c (or a.h) includes b.h while
# b.c (or b.h) includes a.h. One check per module pair found.
declare -A edge=()
for f in src/main.c src/*/*.[ch]; do
  from=$(module "$f")
  while read -r inc; do
    to=$(module "$inc")
    [ "$to" != "$from" ] && edge["$from $to"]=1
  done < <(includes "$f")
done
circles=0
while read -r a b; do
  if [[ "$a" < "$b" ]] && [ -n "${edge["$b $a"]:-}" ]; then
    echo "FAIL $a and $b include each other: one of them must not know the other"
    circles=$((circles + 1))
  fi
done < <(printf '%s\n' "${!edge[@]}" | sort)
if [ $circles = 0 ]; then passed=$((passed + 1)); else failed=$((failed + circles)); fi

echo "layers: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
