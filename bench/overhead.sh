#!/usr/bin/env bash
# Orchestration overhead (SPEC 14, target <= 1.03): the same encode run
# through `av1d --once` and as the bare ffmpeg argv av1d recorded for it.
# Usage: bench/overhead.sh [BUILDDIR] [RUNS] [SECONDS]
set -euo pipefail
builddir="${1:-build}"
runs="${2:-3}"
seconds="${3:-8}"
av1d="$builddir/src/daemon/av1d"
[ -x "$av1d" ] || { echo "build first: ninja -C $builddir" >&2; exit 1; }

work=$(mktemp -d /tmp/av1d-bench-overhead.XXXXXX)
trap 'rm -rf "$work"' EXIT
lib="$work/library"
mkdir -p "$lib"
ffmpeg -hide_banner -loglevel error -f lavfi -i "testsrc2=size=320x240:rate=25" \
  -f lavfi -i "sine=frequency=440" -t "$seconds" -c:v libx264 -preset veryfast \
  -c:a aac "$lib/clip.mkv"

now_ms() { date +%s%3N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

job_ms() {
  python3 - "$1" <<'PY'
import json, sys
from datetime import datetime
j = json.load(open(sys.argv[1]))
f = lambda s: datetime.fromisoformat(s.replace("Z", "+00:00"))
print(int((f(j["finished_at"]) - f(j["started_at"])).total_seconds() * 1000))
PY
}

av1d_times=()
job_times=()
encode_times=()
for i in $(seq "$runs"); do
  rm -rf "$work/state" "$lib"/.av1d-* "$lib"/clip.mkv.why.txt
  [ -f "$lib/clip.orig.mkv" ] && mv -f "$lib/clip.orig.mkv" "$lib/clip.mkv"
  printf 'library_roots = ["%s"]\nmin_bytes = 1\nstable_secs = 0\nmax_size_ratio = 1.0\njob_state_dir = "%s/state"\n' \
    "$lib" "$work" > "$work/config.toml"
  start=$(now_ms)
  "$av1d" --once --verbose --config "$work/config.toml" > /dev/null 2> "$work/log"
  av1d_times+=($(( $(now_ms) - start )))
  job_times+=($(job_ms "$work/state/1.json"))
  encode_times+=($(grep -o 'encoder ran for [0-9]*' "$work/log" | grep -o '[0-9]*$'))
done

# the exact argv av1d ran, from its job file
mapfile -t argv < <(python3 -c 'import json,sys; [print(a) for a in json.load(open(sys.argv[1]))["argv"]]' "$work/state/1.json")
# the job's private temp folder is gone with the job: make it again
out_dir=$(dirname "${argv[-1]}")
bare_times=()
for i in $(seq "$runs"); do
  rm -rf "$out_dir" && mkdir -m 0700 "$out_dir"
  start=$(now_ms)
  "${argv[@]}" > /dev/null 2>&1
  bare_times+=($(( $(now_ms) - start )))
done
rm -rf "$out_dir"

a=$(printf '%s\n' "${av1d_times[@]}" | median)
j=$(printf '%s\n' "${job_times[@]}" | median)
e=$(printf '%s\n' "${encode_times[@]}" | median)
b=$(printf '%s\n' "${bare_times[@]}" | median)
printf '%-40s %10s %8s\n' "what" "median ms" "ratio"
printf '%-40s %10s %8s\n' "bare ffmpeg argv" "$b" "1.000"
awk -v t="$e" -v b="$b" 'BEGIN { printf "%-40s %10d %8.3f  (target <= 1.03)\n", "the encode run by av1d (GSubprocess+progress)", t, t / b }'
awk -v t="$j" -v b="$b" 'BEGIN { printf "%-40s %10d %8.3f\n", "whole job (probe, encode, verify, swap)", t, t / b }'
awk -v t="$a" -v b="$b" 'BEGIN { printf "%-40s %10d %8.3f\n", "whole av1d --once process (+start-up)", t, t / b }'
echo "($runs runs each, ${seconds} s 320x240 clip, encoder: ${argv[0]} $(printf '%s ' "${argv[@]}" | grep -o -- '-c:v [^ ]*'))"
