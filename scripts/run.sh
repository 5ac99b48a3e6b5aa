#!/usr/bin/env bash
# run.sh: what `make run` starts: the daemon in the foreground on loopback,
# with the arguments the Makefile passes (the binary, then its flags).
set -euo pipefail
bin=$1; shift
echo "hardcached: serving on 127.0.0.1 (and ::1) port ${PORT:-11211}; Ctrl-C stops it" >&2
exec "$bin" "$@"
