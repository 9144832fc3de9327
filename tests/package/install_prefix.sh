#!/usr/bin/env bash
# An install stays inside its prefix: `cmake --install BUILD --prefix X` of a build configured
# for /usr writes nothing outside X (issue 27: it used to write /usr/local/etc/cityguard), and
# DESTDIR=D with the configured prefix writes nothing outside D, /etc/cityguard included.
#   tests/package/install_prefix.sh BUILD_DIR
set -euo pipefail
build=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The manifest cmake writes is the list of every file it installed, by absolute path.
manifest=$build/install_manifest.txt

check_inside() { # root, what
  [ -s "$manifest" ] || { echo "$2 installed nothing"; exit 1; }
  local outside
  outside=$(grep -v "^$1/" "$manifest" || true)
  if [ -n "$outside" ]; then
    echo "$2 wrote outside $1:"; echo "$outside"; exit 1
  fi
}

cmake --install "$build" --prefix "$work/prefix" >/dev/null
check_inside "$work/prefix" "cmake --install --prefix"
[ -f "$work/prefix/etc/cityguard/cityguard.json" ] || { echo "no PREFIX/etc/cityguard/cityguard.json"; exit 1; }
[ -x "$work/prefix/bin/cityguard" ] || { echo "no PREFIX/bin/cityguard"; exit 1; }

# With DESTDIR the manifest lists the paths as installed on the target (/usr/..., /etc/...);
# each must have landed under DESTDIR, and none may be a file this run put on this machine.
etc_before=$( [ -e /etc/cityguard/cityguard.json ] && echo yes || echo no)
DESTDIR="$work/stage" cmake --install "$build" --prefix /usr >/dev/null
[ -s "$manifest" ] || { echo "DESTDIR install installed nothing"; exit 1; }
while read -r path; do
  [ -e "$work/stage$path" ] || { echo "DESTDIR install: $path is not under DESTDIR"; exit 1; }
done <"$manifest"
if [ "$etc_before" = no ] && [ -e /etc/cityguard/cityguard.json ]; then
  echo "DESTDIR install wrote /etc/cityguard/cityguard.json on this machine"; exit 1
fi
[ -f "$work/stage/etc/cityguard/cityguard.json" ] || { echo "no DESTDIR/etc/cityguard/cityguard.json for /usr"; exit 1; }
[ -f "$work/stage/usr/share/cityguard/notifications.json" ] || { echo "no DESTDIR/usr/share/cityguard"; exit 1; }
echo "install: inside its prefix and inside DESTDIR"
