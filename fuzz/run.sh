#!/usr/bin/env bash
# Runs one libFuzzer target over its committed seeds for a fixed number of executions.
#   fuzz/run.sh BINARY SEED_DIR RUNS WORK_DIR [more libFuzzer flags]
# New inputs go to WORK_DIR/new (the committed seeds are never written; FUZZ_RESUME=1 keeps the
# inputs an earlier run left there, so a long campaign can go on where it stopped); a crash leaves its
# input in WORK_DIR/crashes and the exit status is non-zero. Every crash found so far, kept in
# fuzz/regressions/TARGET beside fuzz/corpus/TARGET, is replayed first.
set -euo pipefail
bin=$1 seeds=$2 runs=$3 work=$4
shift 4
[ "${FUZZ_RESUME:-0}" = 1 ] || rm -rf "$work/new"
mkdir -p "$work/new" "$work/crashes"
dirs=("$work/new" "$seeds")
regressions=${seeds%/}
regressions=${regressions/\/corpus\//\/regressions\/}
[ -d "$regressions" ] && dirs+=("$regressions")
exec "$bin" -runs="$runs" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
  -artifact_prefix="$work/crashes/" "$@" "${dirs[@]}"
