#!/usr/bin/env bash
# A PostgreSQL primary with a synchronous streaming standby on loopback, for the cluster test
# (tests/integration/cluster_test.cpp, docs/scaling.md).
#   pg_pair.sh start STATE_DIR         -> primary + standby; STATE_DIR/{primary_port,standby_port}
#   pg_pair.sh kill-primary STATE_DIR  -> immediate stop of the primary (as if its machine died)
#   pg_pair.sh promote STATE_DIR       -> the standby becomes the primary (what Patroni would do)
#   pg_pair.sh stop STATE_DIR          -> stop both and remove them
# A commit returns only once the standby has flushed it (synchronous_commit = on with the standby
# named in synchronous_standby_names), so what was acknowledged survives the primary.
# As root the clusters belong to the `postgres` user (PostgreSQL refuses to run as root).
set -euo pipefail
action=${1:?start|kill-primary|promote|stop}
state=${2:?state dir}
mkdir -p "$state"
source "$(dirname "$0")/pg_lib.sh"
data_of() { cat "$state/datadir"; }

case "$action" in
start)
  [ -f "$state/datadir" ] && "$0" stop "$state" >/dev/null 2>&1 || true
  data=$(mktemp -d /tmp/cityguard-test-pair.XXXXXX)
  chmod 755 "$data"
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$data"
  echo "$data" > "$state/datadir"
  p1=$(free_port); p2=$(free_port)
  while [ "$p2" = "$p1" ]; do p2=$(free_port); done
  as_owner "$pg_bin/initdb" -D "$data/primary" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$state/initdb.log" 2>&1 \
    || { cat "$state/initdb.log" >&2; exit 1; }
  # fsync off: the test kills processes, not machines; the page cache survives an immediate stop.
  common="-c listen_addresses=127.0.0.1 -k $data -c max_connections=200 -c fsync=off -c full_page_writes=off"
  as_owner "$pg_bin/pg_ctl" -D "$data/primary" -l "$data/primary.log" -w -t 60 \
    -o "$common -p $p1 -c synchronous_standby_names=standby1 -c synchronous_commit=on -c wal_level=replica" \
    start >/dev/null || { cat "$data/primary.log" >&2; exit 1; }
  as_owner "$pg_bin/pg_basebackup" -h 127.0.0.1 -p "$p1" -U postgres -D "$data/standby" -X stream \
    -d "application_name=standby1" -R >"$state/basebackup.log" 2>&1 || { cat "$state/basebackup.log" >&2; exit 1; }
  as_owner "$pg_bin/pg_ctl" -D "$data/standby" -l "$data/standby.log" -w -t 60 -o "$common -p $p2" \
    start >/dev/null || { cat "$data/standby.log" >&2; exit 1; }
  for _ in $(seq 1 100); do
    sync=$(as_owner "$pg_bin/psql" -h 127.0.0.1 -p "$p1" -U postgres -Atc \
      "SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'" 2>/dev/null || echo 0)
    [ "$sync" = 1 ] && break
    sleep 0.1
  done
  [ "$sync" = 1 ] || { echo "pg_pair: the standby never became synchronous" >&2; cat "$data/standby.log" >&2; exit 1; }
  echo "$p1" > "$state/primary_port"
  echo "$p2" > "$state/standby_port"
  echo "pg_pair: primary on $p1, synchronous standby on $p2 ($data)"
  ;;
kill-primary)
  as_owner "$pg_bin/pg_ctl" -D "$(data_of)/primary" -m immediate -w stop >/dev/null
  echo "pg_pair: primary stopped (immediate)"
  ;;
promote)
  as_owner "$pg_bin/pg_ctl" -D "$(data_of)/standby" -w promote >/dev/null
  echo "pg_pair: standby promoted"
  ;;
stop)
  if [ -f "$state/datadir" ]; then
    data=$(data_of)
    for d in primary standby; do
      [ -d "$data/$d" ] && as_owner "$pg_bin/pg_ctl" -D "$data/$d" -m immediate -w stop >/dev/null 2>&1 || true
    done
    rm -rf "$data"
    rm -f "$state/datadir" "$state/primary_port" "$state/standby_port"
  fi
  echo "pg_pair: stopped"
  ;;
*) echo "usage: $0 start|kill-primary|promote|stop STATE_DIR" >&2; exit 2 ;;
esac
