#!/usr/bin/env bash
# CTest entry of the browser test: a scratch database on the suite's cluster, the real server
# binary with the demo registry and the dashboard, then dashboard.test.mjs in headless Chromium.
#   run.sh SERVER_BINARY ARTIFACTS_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
binary=${1:?server binary}
artifacts=${2:?artifacts dir}
dsn=$(cat "${CITYGUARD_TEST_DSN_FILE:?run through ctest}")
[ -d "$here/node_modules/playwright-core" ] || { echo "run.sh: npm ci in tests/browser first (scripts/test does)" >&2; exit 1; }

db=cg_browser_$$
psql "$dsn dbname=postgres" -qAtc "CREATE DATABASE $db"
server=""
cleanup() {
  [ -n "$server" ] && { kill -TERM "$server" 2>/dev/null; wait "$server" 2>/dev/null || true; }
  psql "$dsn dbname=postgres" -qAtc "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
admin_key=browser-test-admin-key-0123456789
mkdir -p "$artifacts"
# The defaults (every key is optional), with admins made to use a second factor (the test
# enrols one).
echo '{"auth": {"require_totp_for": ["admin"]}}' >"$artifacts/cityguard.json"
CITYGUARD_ADMIN_KEY=$admin_key "$binary" --config "$artifacts/cityguard.json" --db "$dsn dbname=$db" --listen "127.0.0.1:$port" --threads 2 \
  --web "$root/web" --rules "$root/config/rules" --registry "$root/config/demo/registry.json" \
  --log-level warn >"$artifacts/server.log" 2>&1 &
server=$!
for _ in $(seq 1 300); do
  curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || { cat "$artifacts/server.log" >&2; exit 1; }
  sleep 0.1
done

CITYGUARD_URL=http://127.0.0.1:$port CITYGUARD_ADMIN_KEY=$admin_key CITYGUARD_ARTIFACTS=$artifacts \
  node "$here/dashboard.test.mjs"
