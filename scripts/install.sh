#!/usr/bin/env bash
# install.sh DESTDIR PREFIX: what `make install` runs after the build. Puts
#   build/hardcached                 -> $DESTDIR$PREFIX/bin/hardcached (0755)
#   build/man/hardcached.8, .conf.5  -> $DESTDIR$PREFIX/share/man/man8, man5 (0644)
#   deploy/hardcached.conf           -> $DESTDIR/etc/hardcached/hardcached.conf (0644,
#                                       root), never over an existing one
#   deploy/*.service, *.socket       -> the systemd unit directory (below), with
#                                       /usr/local/bin/hardcached rewritten to
#                                       $PREFIX/bin/hardcached
#   firewall/ufw/hardcached          -> $DESTDIR/etc/ufw/applications.d/ (0644)
#   deploy/ufw-setup.sh, firewall/   -> $DESTDIR$PREFIX/share/hardcached/
# Units: PREFIX=/usr -> /lib/systemd/system (Debian's place for packaged
# units); any other PREFIX -> $PREFIX/lib/systemd/system (/usr/local/lib/
# systemd/system is on systemd's search path; other prefixes need
# `systemctl link`, which is said). The configuration lives in /etc whatever
# the PREFIX. With an empty DESTDIR, as root, the system user is created when
# missing (scripts/ensure-user.sh); a staged install (DESTDIR set) creates no
# user and changes nothing outside DESTDIR. BUILD (default build) is where the
# binary and the man pages are read from.
set -euo pipefail
umask 022            # directories we create are 0755 whatever the caller's umask
cd "$(dirname "$0")/.."

die() { echo "install.sh: $*" >&2; exit 1; }

[ $# -eq 2 ] || { echo "usage: scripts/install.sh DESTDIR PREFIX (DESTDIR may be \"\")" >&2; exit 64; }
destdir=${1%/}
prefix=${2%/}
build=${BUILD:-build}
[ -n "$prefix" ] || prefix=/
case "$prefix" in /*) ;; *) die "PREFIX must be an absolute path, got '$prefix'" ;; esac
case "$destdir" in ''|/*) ;; *) die "DESTDIR must be empty or an absolute path, got '$destdir'" ;; esac
[ "$prefix" = / ] && prefix=""

bin_src=$build/hardcached
man_src=$build/man
[ -x "$bin_src" ] || die "$bin_src is missing: run make first"
for page in hardcached.8 hardcached.conf.5; do
  [ -f "$man_src/$page" ] || die "$man_src/$page is missing: run make first (it generates the man pages)"
done

root=0
[ "$(id -u)" -eq 0 ] && root=1

# install_file MODE SRC DST: atomic (a temporary name, then rename), owner
# root:root when we are root.
install_file() {
  local mode=$1 src=$2 dst=$3 tmp
  mkdir -p "$(dirname "$dst")"
  tmp=$(mktemp "$(dirname "$dst")/.install.XXXXXX")
  cat "$src" >"$tmp"
  chmod "$mode" "$tmp"
  if (( root )); then chown 0:0 "$tmp"; fi
  mv -f "$tmp" "$dst"
  echo "installed $dst"
}

# install_text MODE SRC DST: like install_file, with the binary's path
# rewritten from /usr/local/bin/hardcached to the installed one.
install_text() {
  local mode=$1 src=$2 dst=$3 tmp
  tmp=$(mktemp)
  sed "s|/usr/local/bin/hardcached|$prefix/bin/hardcached|g" "$src" >"$tmp"
  install_file "$mode" "$tmp" "$dst"
  rm -f "$tmp"
}

# --- the daemon and its man pages
install_file 0755 "$bin_src" "$destdir$prefix/bin/hardcached"
install_file 0644 "$man_src/hardcached.8" "$destdir$prefix/share/man/man8/hardcached.8"
install_file 0644 "$man_src/hardcached.conf.5" "$destdir$prefix/share/man/man5/hardcached.conf.5"

# --- the configuration: an operator's edits are never overwritten
conf="$destdir/etc/hardcached/hardcached.conf"
mkdir -p "$(dirname "$conf")"
chmod 0755 "$(dirname "$conf")"
if (( root )); then chown 0:0 "$(dirname "$conf")"; fi
if [ -e "$conf" ]; then
  echo "kept $conf (it exists; the shipped default is deploy/hardcached.conf)"
else
  install_file 0644 deploy/hardcached.conf "$conf"
fi

# --- systemd units
if [ "$prefix" = /usr ]; then
  unitdir=/lib/systemd/system
else
  unitdir=$prefix/lib/systemd/system
fi
for unit in hardcached.service hardcached.socket hardcached-socket.service; do
  install_text 0644 "deploy/$unit" "$destdir$unitdir/$unit"
done
case "$unitdir" in
  /lib/systemd/system|/usr/lib/systemd/system|/usr/local/lib/systemd/system) ;;
  *) echo "note: systemd does not look in $unitdir; use: systemctl link $unitdir/hardcached.service" ;;
esac

# --- firewall: the ufw application profile, and the tools to use it
install_file 0644 firewall/ufw/hardcached "$destdir/etc/ufw/applications.d/hardcached"
share=$destdir$prefix/share/hardcached
install_file 0755 deploy/ufw-setup.sh "$share/ufw-setup.sh"
for f in firewall/ufw/rules.template firewall/nftables/hardcached.nft \
         firewall/iptables/hardcached.rules firewall/iptables/hardcached6.rules; do
  if [ -f "$f" ]; then install_file 0644 "$f" "$share/$f"; fi
done

# --- the system user, only on a real install
if [ -z "$destdir" ] && (( root )); then
  scripts/ensure-user.sh
  echo "next: systemctl daemon-reload; then check the configuration with"
  echo "  $prefix/bin/hardcached --config /etc/hardcached/hardcached.conf --check-config"
else
  echo "not creating the system user (staged install into '$destdir', or not root)"
fi
