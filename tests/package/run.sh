#!/usr/bin/env bash
# Installs the Debian package of the build under test on this machine, starts the installed
# server (as its own user, with the installed config and no flags but the database) against the
# suite's PostgreSQL, checks that it found its rule packs, dashboard and migrations, then purges
# the package.   tests/package/run.sh BUILD_DIR
# Needs root (CI runs as root) or password-less sudo; otherwise it is skipped (exit 77).
set -euo pipefail
build=$(cd "$1" && pwd)
source_dir=$(cd "$(dirname "$0")/../.." && pwd)
if [ "$(id -u)" = 0 ]; then as_root() { "$@"; }
elif sudo -n true 2>/dev/null; then as_root() { sudo -n "$@"; }
else echo "skipped: installing a package needs root"; exit 77; fi
grep -q '^CMAKE_INSTALL_PREFIX:PATH=/usr$' "$build/CMakeCache.txt" ||
  { echo "the build must be configured with -DCMAKE_INSTALL_PREFIX=/usr (scripts/test does)"; exit 1; }
if dpkg-query -W -f='${Status}' cityguard 2>/dev/null | grep -q "install ok installed"; then
  echo "skipped: a cityguard package is already installed here; not touching it"; exit 77
fi

work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
dsn=$(cat "$CITYGUARD_TEST_DSN_FILE")
db=cityguard_pkg_$$
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then
    as_root pkill -KILL -u cityguard -x cityguard 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  as_root dpkg --purge cityguard >/dev/null 2>&1 || true
  psql "$dsn dbname=postgres" -qc "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "==> cpack -G DEB"
(cd "$build" && cpack -G DEB -B "$work" >/dev/null)
deb=$(ls "$work"/cityguard_*.deb)
dpkg-deb -I "$deb" | grep -E '^ (Package|Version|Depends):'

echo "==> dpkg -i $(basename "$deb")"
as_root dpkg -i "$deb" >/dev/null
for f in /usr/bin/cityguard /usr/bin/cityguard-sim /etc/cityguard/cityguard.json /usr/share/cityguard/notifications.json \
         /usr/share/cityguard/web/index.html /usr/share/cityguard/sql/0001_init.sql /lib/systemd/system/cityguard.service \
         /usr/share/cityguard/prometheus/cityguard-alerts.yml; do
  [ -e "$f" ] || { echo "missing after install: $f"; exit 1; }
done
packs=$(ls "$source_dir"/config/rules/*.json | wc -l)
[ "$(ls /usr/share/cityguard/rules/*.json | wc -l)" = "$packs" ] || { echo "rule packs not installed"; exit 1; }
getent passwd cityguard >/dev/null || { echo "no cityguard user"; exit 1; }
[ "$(stat -c %G:%a /etc/cityguard/cityguard.json)" = "cityguard:640" ] || { echo "config file not 0640 root:cityguard"; exit 1; }
if command -v systemd-analyze >/dev/null; then
  systemd-analyze verify /lib/systemd/system/cityguard.service
fi

echo "==> the installed server, started as its user with no flags but the database"
psql "$dsn dbname=postgres" -qc "CREATE DATABASE $db" >/dev/null
as_root runuser -u cityguard -- env -i PATH=/usr/bin:/bin CITYGUARD_DB_URL="$dsn dbname=$db" \
  CITYGUARD_LISTEN="127.0.0.1:$port" ASAN_OPTIONS=detect_leaks=0 \
  /usr/bin/cityguard --config /etc/cityguard/cityguard.json >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 300); do
  curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log"; echo "the installed server exited"; exit 1; }
  sleep 0.1
done
curl -sf "http://127.0.0.1:$port/readyz" >/dev/null || { cat "$work/server.log"; exit 1; }
key=$(as_root cat /var/lib/cityguard/admin.key)
rules=$(curl -sf -H "Authorization: Bearer $key" "http://127.0.0.1:$port/api/v1/rules" |
  python3 -c 'import json,sys; print(len(json.load(sys.stdin)["rules"]))')
expected=$(grep -o 'rule packs: [0-9]* rules' "$work/server.log" | grep -o '[0-9]*' || true)
[ "$rules" -gt 0 ] && [ "$rules" = "$expected" ] || { echo "rules: API $rules, log $expected"; cat "$work/server.log"; exit 1; }
grep -q "rule packs: $rules rules of [0-9]* domains from /usr/share/cityguard/rules" "$work/server.log" ||
  { cat "$work/server.log"; echo "rule packs not read from the install"; exit 1; }
grep -q "dashboard: .* from /usr/share/cityguard/web" "$work/server.log" || { echo "dashboard not found"; exit 1; }
# Whole answers first: grep -q leaving early would make curl fail on a closed pipe (pipefail).
page=$(curl -sf "http://127.0.0.1:$port/") && grep -q '<html' <<<"$page" || { echo "no dashboard at /"; exit 1; }
metrics=$(curl -sf "http://127.0.0.1:$port/metrics") && grep -q '^cityguard_build_info' <<<"$metrics" ||
  { echo "no /metrics"; exit 1; }
[ "$(as_root stat -c %U:%a /var/lib/cityguard/admin.key)" = "cityguard:600" ] || { echo "admin key file not 0600"; exit 1; }
echo "installed server: $rules rules, dashboard, metrics, ready"
# The server itself, not runuser: SIGTERM is its graceful stop.
as_root pkill -TERM -u cityguard -x cityguard
wait "$server_pid" || true
server_pid=
grep -q "cityguard stopped" "$work/server.log" || { cat "$work/server.log"; echo "the installed server did not stop cleanly"; exit 1; }
as_root dpkg --purge cityguard >/dev/null
[ ! -e /usr/bin/cityguard ] && [ ! -e /etc/cityguard/cityguard.json ] && ! getent passwd cityguard >/dev/null ||
  { echo "purge left files or the user behind"; exit 1; }
echo "package: installed, served, purged"
