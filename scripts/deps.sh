#!/usr/bin/env bash
# deps.sh: make sure the Debian packages a make target needs are installed.
# Installs them with apt-get when run as root; otherwise prints the exact
# command and fails, so a developer never builds against a half-set machine.
set -euo pipefail

build_pkgs="gcc make pkg-config libevent-dev libxxhash-dev libseccomp-dev libcap-dev libssl-dev"
test_pkgs="check memcached openssl libmemcached-tools python3 python3-pymemcache python3-memcache python3-pylibmc python3-binary-memcached ruby ruby-dalli sasl2-bin clang libclang-rt-14-dev procps valgrind ufw iptables nftables iproute2 systemd systemd-container shellcheck nutcracker util-linux mount netcat-openbsd groff-base"
bench_pkgs="memcached openssl"

want=""
for set in "$@"; do
  case "$set" in
    build) want="$want $build_pkgs" ;;
    test)  want="$want $build_pkgs $test_pkgs" ;;
    bench) want="$want $build_pkgs $bench_pkgs" ;;
    *) echo "deps.sh: unknown set '$set' (build, test, bench)" >&2; exit 64 ;;
  esac
done

missing=""
for p in $want; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    case " $missing " in *" $p "*) ;; *) missing="$missing $p" ;; esac
  fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "missing Debian packages:$missing" >&2
  echo "install them with: sudo apt-get install -y$missing" >&2
  exit 1
fi
echo "installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
