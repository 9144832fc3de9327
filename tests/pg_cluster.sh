#!/usr/bin/env bash
# Starts or stops a throwaway PostgreSQL cluster for the test suite (the CTest fixture).
#   pg_cluster.sh start STATE_DIR   -> initdb + start on a free loopback port; writes STATE_DIR/dsn
#   pg_cluster.sh stop  STATE_DIR   -> stop and remove the cluster
# PostgreSQL refuses to run as root, so as root the cluster belongs to the `postgres` user.
set -euo pipefail
action=${1:?start|stop}
state=${2:?state dir}
mkdir -p "$state"

source "$(dirname "$0")/pg_lib.sh"

case "$action" in
start)
  if [ -f "$state/datadir" ] && [ -d "$(cat "$state/datadir")" ]; then
    "$0" stop "$state" || true
  fi
  data=$(mktemp -d /tmp/cityguard-test-pg.XXXXXX)
  chmod 755 "$data"
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$data"
  echo "$data" > "$state/datadir"
  as_owner "$pg_bin/initdb" -D "$data/db" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$state/initdb.log" 2>&1 \
    || { cat "$state/initdb.log" >&2; exit 1; }
  port=$(free_port)
  # Test-only default: durability of the test cluster itself does not matter, speed does.
  # Benchmarks pass PG_CLUSTER_OPTS with fsync on, so their figures are honest.
  opts=${PG_CLUSTER_OPTS:-"-c fsync=off -c full_page_writes=off"}
  as_owner "$pg_bin/pg_ctl" -D "$data/db" -l "$data/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $data -c max_connections=300 $opts" \
    start >/dev/null || { cat "$data/server.log" >&2; exit 1; }
  echo "host=127.0.0.1 port=$port user=postgres" > "$state/dsn"
  echo "pg_cluster: started on port $port ($data)"
  ;;
stop)
  if [ -f "$state/datadir" ]; then
    data=$(cat "$state/datadir")
    if [ -d "$data/db" ]; then
      as_owner "$pg_bin/pg_ctl" -D "$data/db" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$data"
    rm -f "$state/datadir" "$state/dsn"
  fi
  echo "pg_cluster: stopped"
  ;;
*) echo "usage: $0 start|stop STATE_DIR" >&2; exit 2 ;;
esac
