#!/usr/bin/env bash
# A throw-away PostgreSQL server for the tests (Debian's `postgresql` package), never the
# system service.
#
#   bash scripts/test-setup-postgres.sh                 install the package if missing
#   bash scripts/test-setup-postgres.sh start DIR PORT  initdb + start a server owned by the
#                                                       `postgres` user: data in DIR/data,
#                                                       socket in DIR, on 127.0.0.1:PORT;
#                                                       prints its SQLAlchemy URL
#   bash scripts/test-setup-postgres.sh stop DIR        stop it (the caller removes DIR)
#
# initdb and postgres come from the package's bin folder (/usr/lib/postgresql/<ver>/bin) and run
# as `postgres` (runuser), with trust authentication on loopback only: a test server, no
# secrets. Needs root (CI runs as root); the tests skip it elsewhere, and fail in CI.
set -euo pipefail

pg_bin() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
  [ -n "$d" ] && [ -x "$d/initdb" ] && echo "$d"
}

install() {
  if [ -n "$(pg_bin || true)" ] && id postgres >/dev/null 2>&1; then
    return 0
  fi
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  # the package's own cluster is never started: policy-rc.d refuses service starts meanwhile
  local policy=/usr/sbin/policy-rc.d had_policy=0
  if [ -e "$policy" ]; then had_policy=1; fi
  if [ "$had_policy" -eq 0 ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
    $sudo chmod +x "$policy"
  fi
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq postgresql >/dev/null
  if [ "$had_policy" -eq 0 ]; then $sudo rm -f "$policy"; fi
  pg_bin >/dev/null || { echo "PostgreSQL installed but no initdb found" >&2; exit 1; }
}

start() {
  local dir=$1 port=$2 bin
  bin=$(pg_bin) || { echo "PostgreSQL is not installed: run $0" >&2; exit 1; }
  mkdir -p "$dir"
  chown postgres: "$dir"
  chmod 700 "$dir"
  runuser -u postgres -- "$bin/initdb" -D "$dir/data" -U postgres --auth=trust \
    --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log" >&2; exit 1; }
  runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 start \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c full_page_writes=off -c max_connections=200" \
    >/dev/null || { cat "$dir/postgres.log" >&2; exit 1; }
  echo "postgresql+psycopg://postgres@127.0.0.1:$port/postgres"
}

stop() {
  local dir=$1 bin
  bin=$(pg_bin) || exit 0
  if [ -f "$dir/data/postmaster.pid" ]; then
    runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
  fi
}

case "${1:-install}" in
  install) install ;;
  start) start "$2" "$3" ;;
  stop) stop "$2" ;;
  *) echo "usage: $0 [install | start DIR PORT | stop DIR]" >&2; exit 2 ;;
esac
