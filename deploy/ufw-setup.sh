#!/usr/bin/env bash
# ufw-setup.sh: close the hardcached port with ufw to every source except the
# networks given with --allow-from, install hardcached's ufw application
# profile, keep SSH reachable, and enable ufw. Idempotent: running it again
# with the same arguments leaves the same rule set (ufw skips rules that
# exist; rules from an earlier run for sources no longer given are removed).
# Rules it owns carry the comment 'hardcached'; other rules are left alone.
set -euo pipefail

readonly PROG=${0##*/}
readonly TAG=hardcached
readonly APP=hardcached
readonly APPS_DIR=/etc/ufw/applications.d

EX_USAGE=64 EX_UNAVAILABLE=69 EX_NOPERM=77

port=11211
allow_from=()      # canonical form, as ufw itself prints them
ssh_ports=()
dry_run=0
profile_src=""

usage() {
  cat <<EOF
Usage: $PROG [--port N] [--allow-from CIDR]... [--ssh-port N]... [--dry-run]

Closes TCP port N (default 11211) with ufw to every source except the
networks given with --allow-from; loopback stays allowed (ufw always
accepts it). Installs the ufw application profile '$APP' into
$APPS_DIR, makes sure SSH stays allowed, then enables ufw
(non-interactively) if it is not active.
Safe to run again: the rule set converges to what the arguments say.

Options:
  --port N           the hardcached port (1-65535; default 11211)
  --allow-from CIDR  an allowed source: IPv4 or IPv6 address or network
                     (10.0.0.0/8, 192.0.2.7, 2001:db8::/32). Repeatable.
                     Without it, only loopback can reach the port.
  --ssh-port N       SSH port(s) to keep allowed (repeatable; default: the
                     ports sshd is configured with, else 22)
  --profile FILE     the application profile to install (default:
                     firewall/ufw/hardcached next to this script)
  --dry-run          print the commands instead of running them; changes nothing
  -h, --help         this help

Exit status: 0 done, 64 bad arguments, 69 ufw missing, 77 not root, 1 a
ufw command failed.
EOF
}

die() {  # status, message
  echo "$PROG: $2" >&2
  exit "$1"
}

note() {
  echo "$PROG: $*" >&2
}

# ---- address validation and canonical form -------------------------------

# 0-255 without leading zeros (inet_pton rejects them, and so do we).
is_octet() {
  [[ $1 =~ ^(0|[1-9][0-9]{0,2})$ ]] && (( $1 <= 255 ))
}

# Prints the 8 groups of an IPv6 address as decimal numbers, or fails.
v6_groups() {
  local a=$1 head tail
  local -a h=() t=() out=()
  [[ $a =~ ^[0-9a-fA-F:]+$ ]] || return 1
  if [[ $a == *::* ]]; then
    head=${a%%::*}; tail=${a#*::}
    [[ $tail != *::* ]] || return 1
    [[ -z $head ]] || IFS=: read -r -a h <<<"$head"
    [[ -z $tail ]] || IFS=: read -r -a t <<<"$tail"
    (( ${#h[@]} + ${#t[@]} <= 7 )) || return 1
    out=("${h[@]}")
    local i
    for (( i = ${#h[@]} + ${#t[@]}; i < 8; i++ )); do out+=(0); done
    out+=("${t[@]}")
  else
    [[ $a != :* && $a != *: ]] || return 1
    IFS=: read -r -a out <<<"$a"
    (( ${#out[@]} == 8 )) || return 1
  fi
  local g
  for g in "${out[@]}"; do
    [[ $g =~ ^[0-9a-fA-F]{1,4}$ ]] || return 1
    printf '%d ' "$((16#$g))"
  done
}

# RFC 5952 text form of 8 decimal groups (what inet_ntop, so ufw, prints):
# lower-case hex, the longest run of two or more zero groups as "::".
v6_format() {
  local -a g=("$@")
  local i best=-1 bestlen=1 run=-1 len=0
  for (( i = 0; i < 8; i++ )); do
    if (( g[i] == 0 )); then
      (( run < 0 )) && { run=$i; len=0; }
      len=$((len + 1))
      if (( len > bestlen )); then best=$run; bestlen=$len; fi
    else
      run=-1
    fi
  done
  local s=""
  for (( i = 0; i < 8; i++ )); do
    if (( best >= 0 && i == best )); then
      s+="::"; i=$((best + bestlen - 1)); continue
    fi
    [[ -n $s && $s != *:: ]] && s+=":"
    s+=$(printf '%x' "${g[i]}")
  done
  printf '%s' "$s"
}

# canonical_cidr TEXT: prints the form ufw stores (no /32 or /128 for a
# single address) or prints an error and fails. Host bits must be clear:
# "10.1.2.3/8" is almost always a typo, so it is refused, not rounded.
canonical_cidr() {
  local text=$1 addr prefix="" max
  addr=${text%%/*}
  if [[ $text == */* ]]; then
    prefix=${text#*/}
    [[ $prefix =~ ^(0|[1-9][0-9]{0,2})$ ]] || { echo "bad prefix length '/$prefix'"; return 1; }
  fi
  if [[ $addr == *.* && $addr != *:* ]]; then
    local -a o
    IFS=. read -r -a o <<<"$addr"
    if (( ${#o[@]} != 4 )) || [[ $addr == *. ]] || ! is_octet "${o[0]}" || ! is_octet "${o[1]}" ||
       ! is_octet "${o[2]}" || ! is_octet "${o[3]}"; then
      echo "not an IPv4 address: '$addr'"; return 1
    fi
    max=32; prefix=${prefix:-32}
    (( prefix <= max )) || { echo "IPv4 prefix length must be 0-32"; return 1; }
    local n=$(( (o[0] << 24) | (o[1] << 16) | (o[2] << 8) | o[3] ))
    local mask=$(( prefix == 0 ? 0 : (0xffffffff << (32 - prefix)) & 0xffffffff ))
    local net=$(( n & mask ))
    local nettext="$((net >> 24 & 255)).$((net >> 16 & 255)).$((net >> 8 & 255)).$((net & 255))"
    if (( net != n )); then
      echo "host bits set in '$text' (did you mean $nettext/$prefix?)"; return 1
    fi
    (( prefix == 32 )) && { printf '%s\n' "$nettext"; return 0; }
    printf '%s/%s\n' "$nettext" "$prefix"
    return 0
  fi
  local groups
  groups=$(v6_groups "$addr") || { echo "not an IPv4 or IPv6 address: '$addr'"; return 1; }
  local -a g
  read -r -a g <<<"$groups"
  max=128; prefix=${prefix:-128}
  (( prefix <= max )) || { echo "IPv6 prefix length must be 0-128"; return 1; }
  local i bits keep
  local -a net=()
  for (( i = 0; i < 8; i++ )); do
    bits=$(( prefix - 16 * i ))
    if (( bits >= 16 )); then keep=${g[i]}
    elif (( bits <= 0 )); then keep=0
    else keep=$(( g[i] & ((0xffff << (16 - bits)) & 0xffff) ))
    fi
    net+=("$keep")
  done
  local nettext
  nettext=$(v6_format "${net[@]}")
  if [[ "${net[*]}" != "${g[*]}" ]]; then
    echo "host bits set in '$text' (did you mean $nettext/$prefix?)"; return 1
  fi
  (( prefix == 128 )) && { printf '%s\n' "$nettext"; return 0; }
  printf '%s/%s\n' "$nettext" "$prefix"
}

is_v6() { [[ $1 == *:* ]]; }

valid_port() {
  [[ $1 =~ ^[1-9][0-9]{0,4}$ ]] && (( $1 <= 65535 ))
}

# ---- arguments ------------------------------------------------------------

parse_args() {
  local c
  while (( $# )); do
    case $1 in
      --port|--allow-from|--ssh-port|--profile)
        (( $# >= 2 )) || die $EX_USAGE "$1 needs a value (see --help)"
        set -- "$1=$2" "${@:3}"; continue ;;
      --port=*)
        port=${1#*=}
        valid_port "$port" || die $EX_USAGE "--port: '$port' is not a port number (1-65535)" ;;
      --allow-from=*)
        c=$(canonical_cidr "${1#*=}") ||
          die $EX_USAGE "--allow-from: $c; expected an address or network like 10.0.0.0/8 or 2001:db8::/32"
        case $c in
          0.0.0.0/0|::/0) die $EX_USAGE "--allow-from: '${1#*=}' allows every source; hardcached must never be open to the world" ;;
        esac
        allow_from+=("$c") ;;
      --ssh-port=*)
        valid_port "${1#*=}" || die $EX_USAGE "--ssh-port: '${1#*=}' is not a port number (1-65535)"
        ssh_ports+=("${1#*=}") ;;
      --profile=*) profile_src=${1#*=} ;;
      --dry-run) dry_run=1 ;;
      -h|--help) usage; exit 0 ;;
      *) die $EX_USAGE "unknown argument '$1' (see --help)" ;;
    esac
    shift
  done
}

# ---- running or printing ---------------------------------------------------

quote_cmd() {
  local line="" a
  for a in "$@"; do
    if [[ $a =~ ^[A-Za-z0-9_./:=@%+-]+$ ]]; then line+=" $a"; else line+=" $(printf '%q' "$a")"; fi
  done
  printf '%s\n' "${line# }"
}

run() {
  if (( dry_run )); then
    quote_cmd "$@"
  else
    echo "+ $(quote_cmd "$@")"
    "$@" || die 1 "command failed: $(quote_cmd "$@")"
  fi
}

# The rules as ufw lists them ("ufw allow ..."), one a line; empty when
# they cannot be read (dry run without root or without ufw).
current_rules() {
  (( can_read_state )) || return 0
  ufw show added 2>/dev/null | sed -n 's/^ufw //p'
}

# ---- the steps -------------------------------------------------------------

check_environment() {
  can_read_state=1
  if ! command -v ufw >/dev/null 2>&1; then
    (( dry_run )) || die $EX_UNAVAILABLE "ufw is not installed (Debian/Ubuntu: apt-get install ufw)"
    note "ufw is not installed: printing the full command list without reading the current rules"
    can_read_state=0
  fi
  if (( EUID != 0 )); then
    (( dry_run )) || die $EX_NOPERM "must be run as root: it changes the firewall (try: sudo $0 ${orig_args[*]}; --dry-run works without root)"
    (( can_read_state == 0 )) || note "not root: printing the full command list without reading the current rules"
    can_read_state=0
  fi
  if [[ -z $profile_src ]]; then
    local here
    here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
    profile_src=${here%/*}/firewall/ufw/hardcached
  fi
  [[ -r $profile_src ]] || die $EX_UNAVAILABLE "application profile not found: $profile_src (use --profile FILE)"
  grep -q "^\[$APP\]" "$profile_src" || die $EX_USAGE "$profile_src is not the [$APP] application profile"
  if [[ -r /etc/default/ufw ]] && ! grep -qE '^IPV6=yes' /etc/default/ufw; then
    local c
    for c in "${allow_from[@]}"; do
      is_v6 "$c" && die $EX_USAGE "--allow-from $c is IPv6, but ufw manages IPv6 only with IPV6=yes in /etc/default/ufw"
    done
    note "warning: IPV6=yes is not set in /etc/default/ufw: ufw does not close port $port on IPv6"
  fi
}

# SSH ports from sshd's own view of its configuration, else the config files.
detect_ssh_ports() {
  (( ${#ssh_ports[@]} )) && return 0
  local p
  if command -v sshd >/dev/null 2>&1 && (( EUID == 0 )); then
    while read -r p; do valid_port "$p" && ssh_ports+=("$p"); done \
      < <(sshd -T 2>/dev/null | awk '$1 == "port" { print $2 }' | sort -un)
  fi
  if (( ${#ssh_ports[@]} == 0 )); then
    while read -r p; do valid_port "$p" && ssh_ports+=("$p"); done \
      < <(cat /etc/ssh/sshd_config /etc/ssh/sshd_config.d/*.conf 2>/dev/null |
          awk 'tolower($1) == "port" { print $2 }' | sort -un)
  fi
  (( ${#ssh_ports[@]} )) || ssh_ports=(22)
}

# SECURITY: never lock out: the port to close must not be an SSH port.
check_not_ssh() {
  if [[ " ${ssh_ports[*]} " == *" $port "* ]]; then
    die $EX_USAGE "--port $port is an SSH port: closing it could lock you out"
  fi
}

# The profile with the chosen port, installed only when it differs.
install_profile() {
  local dst=$APPS_DIR/$APP want tmp
  want=$(sed -E "s|^ports=.*|ports=$port/tcp|" "$profile_src")
  if [[ -r $dst ]] && [[ "$(cat "$dst")" == "$want" ]]; then
    if (( dry_run )); then echo "# profile $dst is up to date"; else echo "profile $dst is up to date"; fi
  elif (( dry_run )); then
    echo "# install $profile_src as $dst (ports=$port/tcp), mode 0644"
  else
    echo "+ install profile $dst (ports=$port/tcp)"
    mkdir -p "$APPS_DIR"
    # Written next to applications.d, then renamed into it: ufw never sees
    # a half-written profile, nor a stray temporary one there.
    tmp=$(mktemp "${APPS_DIR%/*}/.$APP-profile.XXXXXX")
    printf '%s\n' "$want" >"$tmp"
    chmod 0644 "$tmp"
    mv -f "$tmp" "$dst"
  fi
  run ufw app update "$APP"
}

# SECURITY: never lock out. An existing allow or limit rule for an SSH port
# (any source, any form) counts as the operator's choice and is left as is;
# otherwise one is added before ufw is enabled.
ensure_ssh() {
  local rules p
  rules=$(current_rules)
  for p in "${ssh_ports[@]}"; do
    if grep -qE "^(allow|limit)( in)?( .*)? (port )?$p(/tcp)?( |$)" <<<"$rules" ||
       { [[ $p == 22 ]] && grep -qE "^(allow|limit)( in)?( .*)? '?(OpenSSH|SSH)'?( |$)" <<<"$rules"; }; then
      (( dry_run )) && echo "# SSH port $p: already allowed"
      continue
    fi
    run ufw allow "$p/tcp"
  done
}

# Allow rules of ours for this port whose source is no longer wanted.
remove_stale() {
  local line src c keep
  while IFS= read -r line; do
    [[ $line =~ ^allow\ from\ ([^ ]+)\ to\ any\ port\ $port\ proto\ tcp\ comment\ \'$TAG\'$ ]] || continue
    src=${BASH_REMATCH[1]}
    keep=0
    for c in "${allow_from[@]}"; do [[ $c == "$src" ]] && keep=1; done
    (( keep )) || run ufw delete allow from "$src" to any port "$port" proto tcp
  done < <(current_rules)
}

# The deny first, then each allow prepended in front of it: ufw evaluates
# rules in order, so the allows win for their sources and everyone else hits
# the deny, whatever other rules or default policy the host has. DROP, not
# REJECT: a prober learns nothing. ufw skips a rule that already exists.
close_port() {
  run ufw prepend deny proto tcp to any port "$port" comment "$TAG"
  local i
  for (( i = ${#allow_from[@]} - 1; i >= 0; i-- )); do
    run ufw prepend allow from "${allow_from[i]}" to any port "$port" proto tcp comment "$TAG"
  done
}

enable_ufw() {
  if (( can_read_state )) && ufw status | grep -q '^Status: active'; then
    (( dry_run )) && echo "# ufw is already active: the rules above apply at once"
    return 0
  fi
  run ufw --force enable
}

main() {
  orig_args=("$@")
  parse_args "$@"
  check_environment
  detect_ssh_ports
  check_not_ssh
  (( dry_run )) && echo "# $PROG --dry-run: nothing is changed; these are the commands a real run makes"
  (( ${#allow_from[@]} )) || note "no --allow-from given: port $port is closed to every source except loopback"
  install_profile
  ensure_ssh
  remove_stale
  close_port
  enable_ufw
  if (( ! dry_run )); then
    ufw status verbose
  fi
}

main "$@"
