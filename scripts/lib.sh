# Shared by scripts/run and scripts/test. Source it; do not run it.

# Debian 12 packages the build, the server and the tests need.
CITYGUARD_PACKAGES=(
  g++ cmake make ninja-build pkg-config python3 clang-format
  libboost1.81-dev libpqxx-dev nlohmann-json3-dev libspdlog-dev libssl-dev libsodium-dev
  libmosquitto-dev mosquitto mosquitto-clients libmodbus-dev
  libgtest-dev googletest
  postgresql-15
)

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# Installs whichever of CITYGUARD_PACKAGES (plus any given as arguments) are missing.
ensure_packages() {
  local missing=() pkg
  for pkg in "${CITYGUARD_PACKAGES[@]}" "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "==> installing: ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  fi
}

# Configures a Ninja build in DIR (further arguments go to cmake). Ninja compiles a target's
# objects while the libraries it links are still being built, which keeps both cores busy; a
# directory configured earlier with another generator is started afresh.
configure_build() {
  local dir=$1
  shift
  if [ -f "$dir/CMakeCache.txt" ] && ! grep -q '^CMAKE_GENERATOR:INTERNAL=Ninja$' "$dir/CMakeCache.txt"; then
    rm -rf "$dir"
  fi
  cmake -G Ninja -S . -B "$dir" "$@"
}

# What the browser test needs: Debian's Chromium (playwright-core drives it and never downloads
# a browser), a CJK font so screenshots show the Chinese labels, Node.js with npm, and the
# locked npm packages of tests/browser.
ensure_browser_tools() {
  local extra=(chromium fonts-wqy-zenhei)
  command -v npm >/dev/null 2>&1 || extra+=(nodejs npm)
  ensure_packages "${extra[@]}"
  if [ ! -d tests/browser/node_modules/playwright-core ] ||
     [ tests/browser/package-lock.json -nt tests/browser/node_modules/.package-lock.json ]; then
    echo "==> npm ci in tests/browser"
    (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

# What the contract tests need: Node.js with npm and the locked packages of tests/contract
# (Redocly CLI lints docs/openapi.json, Ajv validates the answers the integration tests got).
ensure_contract_tools() {
  command -v npm >/dev/null 2>&1 || ensure_packages nodejs npm
  if [ ! -d tests/contract/node_modules/ajv ] ||
     [ tests/contract/package-lock.json -nt tests/contract/node_modules/.package-lock.json ]; then
    echo "==> npm ci in tests/contract"
    (cd tests/contract && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

# The newest installed PostgreSQL server binaries.
pg_bindir() {
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1
}

# Runs a command as the owner of a PostgreSQL cluster: `postgres` when we are root
# (PostgreSQL refuses to run as root), ourselves otherwise.
as_pg_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# PostgreSQL settings for a write-heavy CityGuard database on this machine (docs/operations.md,
# "PostgreSQL settings"), as postgresql.conf lines. A stock cluster (max_wal_size 1 GB,
# shared_buffers 128 MB) checkpoints every few seconds under the ingest load; these spread
# checkpoints over 15 minutes and keep the hot partitions in memory. Durability is untouched:
# fsync, full_page_writes and synchronous_commit stay on.
pg_write_heavy_settings() {
  local mem_mb shared cache maint
  mem_mb=$(awk '/^MemTotal:/ { print int($2 / 1024) }' /proc/meminfo)
  shared=$(( mem_mb / 4 )); [ $shared -gt 8192 ] && shared=8192; [ $shared -lt 128 ] && shared=128
  cache=$(( mem_mb * 3 / 4 ))
  maint=$(( mem_mb / 16 )); [ $maint -gt 2048 ] && maint=2048; [ $maint -lt 64 ] && maint=64
  cat <<CONF
# Written by CityGuard's scripts (scripts/lib.sh, pg_write_heavy_settings) for ${mem_mb} MB of memory.
shared_buffers = ${shared}MB
effective_cache_size = ${cache}MB
maintenance_work_mem = ${maint}MB
wal_buffers = 64MB
max_wal_size = 8GB
min_wal_size = 1GB
checkpoint_timeout = 15min
checkpoint_completion_target = 0.9
wal_compression = lz4
log_checkpoints = on
fsync = on
full_page_writes = on
synchronous_commit = on
CONF
}
