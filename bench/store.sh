#!/usr/bin/env bash
# Job store load time (SPEC 9: 100 000 jobs well under a second on a warm
# cache, 2 cores). Each load runs in a fresh process, as the daemon's start
# does. json_ms: every file parsed (no snapshot: a first start), which
# also writes the snapshot; load_ms: the usual start, with the snapshot
# (median of three, files cached); cold_ms: the same after dropping the
# job files and the snapshot from the page cache. read_1t is what only
# opening, reading and closing every file costs on one thread: what any
# loader that reads the files would pay.
# Usage: bench/store.sh [BUILDDIR] [PARENT]
#   PARENT is where the temp job dirs go (default $TMPDIR or /tmp); use the
#   file system the daemon's state will live on.
set -euo pipefail
cd "$(dirname "$0")/.."
builddir="${1:-build}"
parent="${2:-${TMPDIR:-/tmp}}"
bench="$builddir/bench/bench-store"

ninja -C "$builddir" bench/bench-store > /dev/null

dir=""
trap 'if [ -n "$dir" ]; then rm -rf "$dir"; fi' EXIT

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

printf '%8s %9s %9s %9s %12s %9s %10s %10s %12s\n' \
  jobs json_ms cold_ms load_ms ms_per_1000 rss_mib read_1t_ms id_lookup path_lookup
for n in 1000 10000 100000; do
  dir=$("$bench" --dir "$parent" --create "$n")
  # files changed in the last 3 s are never cached (av1d-job-store.c)
  sleep 3.5
  # parsing every file: the first start, or one after the snapshot is gone
  json=$(for _ in 1 2 3; do rm -f "$dir/jobs.snapshot"; "$bench" --row --load "$dir"; done |
    awk '{print $1}' | median)
  read -r cold _ _ _ < <("$bench" --row --evict --load "$dir")
  rows=$(for _ in 1 2 3; do "$bench" --row --load "$dir"; done)
  warm=$(awk '{print $1}' <<< "$rows" | median)
  rss=$(awk '{print $2}' <<< "$rows" | median)
  id_ns=$(awk '{print $3}' <<< "$rows" | median)
  path_ns=$(awk '{print $4}' <<< "$rows" | median)
  floor=$(for _ in 1 2 3; do "$bench" --floor "$dir"; done | median)
  per=$(awk -v ms="$warm" -v n="$n" 'BEGIN {printf "%.2f", ms * 1000 / n}')
  printf '%8s %9s %9s %9s %12s %9s %10s %8s ns %10s ns\n' \
    "$n" "$json" "$cold" "$warm" "$per" "$rss" "$floor" "$id_ns" "$path_ns"
  rm -rf "$dir"
  dir=""
done
