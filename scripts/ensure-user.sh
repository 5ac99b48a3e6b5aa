#!/usr/bin/env bash
# ensure-user.sh [USER]: make sure the system user hardcached switches to when
# started as root exists (default: memcache, the name Debian's memcached
# package uses, so both can share it). Creates it when missing: a system user
# with its own group, no home, no login shell. Idempotent. Not root: changes
# nothing, says so, exits 0 (a daemon started as non-root keeps its own user).
set -euo pipefail

user=${1:-memcache}
case "$user" in
  ''|-*|*[!a-z0-9_.-]*) echo "ensure-user.sh: invalid user name '$user'" >&2; exit 64 ;;
esac

if entry=$(getent passwd "$user"); then
  uid=$(cut -d: -f3 <<<"$entry"); gid=$(cut -d: -f4 <<<"$entry")
  # SECURITY: the daemon refuses a run-as user with uid 0 or gid 0; say it here too.
  if [ "$uid" -eq 0 ] || [ "$gid" -eq 0 ]; then
    echo "ensure-user.sh: user '$user' exists but has uid $uid gid $gid (root): hardcached will refuse it" >&2
    exit 1
  fi
  echo "ensure-user.sh: user '$user' exists (uid $uid, gid $gid)"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "ensure-user.sh: user '$user' does not exist; not root, so not creating it (only needed when hardcached starts as root)"
  echo "ensure-user.sh: create it with: sudo adduser --system --group --no-create-home --home /nonexistent --shell /usr/sbin/nologin $user"
  exit 0
fi

nologin=/usr/sbin/nologin
[ -x "$nologin" ] || nologin=/bin/false
if command -v adduser >/dev/null 2>&1; then
  adduser --quiet --system --group --no-create-home --home /nonexistent \
          --shell "$nologin" --gecos "hardcached" "$user"
elif command -v useradd >/dev/null 2>&1; then
  getent group "$user" >/dev/null || groupadd --system "$user"
  useradd --system --gid "$user" --no-create-home --home-dir /nonexistent \
          --shell "$nologin" --comment "hardcached" "$user"
else
  echo "ensure-user.sh: neither adduser nor useradd is installed; cannot create '$user'" >&2
  exit 1
fi

entry=$(getent passwd "$user") || { echo "ensure-user.sh: creating '$user' failed" >&2; exit 1; }
echo "ensure-user.sh: created system user '$user' (uid $(cut -d: -f3 <<<"$entry"), gid $(cut -d: -f4 <<<"$entry"))"
