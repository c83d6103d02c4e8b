#!/usr/bin/env bash
# Per-encode overhead of the docker-qsv backend: the container start.
#
# av1d encodes a clip once with encoder = "docker-qsv" (against the test
# stand-in image from tests/docker/build-image.sh, as there is no GPU here),
# and the argv it recorded for the job is then timed, RUNS times each:
#   docker   the whole `docker run --rm ... --entrypoint ffmpeg IMAGE ARGS`
#   local    the same ARGS through the image's ffmpeg shim run on the host
#            (same translation to libsvtav1, no container)
#   start    `docker run --rm --entrypoint ffmpeg IMAGE -version`: a container
#            start and stop with no encode
# and prints a table of medians; the overhead is docker - local.
# Usage: bench/docker.sh [BUILDDIR] [RUNS] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
builddir="${1:-build}"
runs="${2:-5}"
seconds="${3:-1}"
av1d="$builddir/src/daemon/av1d"
[ -x "$av1d" ] || { echo "build first: ninja -C $builddir" >&2; exit 1; }
docker version --format '{{.Server.Version}}' >/dev/null || { echo "no Docker engine answers" >&2; exit 1; }

image=$(sh tests/docker/build-image.sh)
work=$(mktemp -d /tmp/av1d-bench-docker.XXXXXX)
trap 'rm -rf "$work"' EXIT
lib="$work/library"
mkdir -p "$lib" "$work/state"
mknod "$work/renderD128" c 1 3
chmod 0666 "$work/renderD128"
ffmpeg -hide_banner -loglevel error -f lavfi -i "testsrc2=size=320x240:rate=25" \
  -f lavfi -i "sine=frequency=440" -t "$seconds" -c:v libx264 -preset veryfast \
  -c:a aac "$lib/clip.mkv"
cat >"$work/config.toml" <<EOF
library_roots = ["$lib"]
min_bytes = 1
stable_secs = 0
max_size_ratio = 1.0
job_state_dir = "$work/state"
encoder = "docker-qsv"
docker_image = "$image"
gpu_device = "$work/renderD128"
EOF
"$av1d" --once --config "$work/config.toml" >/dev/null 2>"$work/av1d.log" ||
  { cat "$work/av1d.log" >&2; exit 1; }
# swapped, or kept by the size gate: either way the original is back
[ -f "$lib/clip.orig.mkv" ] && mv -f "$lib/clip.orig.mkv" "$lib/clip.mkv"

# the recorded argv, one argument a line (no argument here holds a newline)
python3 - "$work/state" >"$work/argv" <<'PY'
import glob, json, sys
job = json.load(open(glob.glob(sys.argv[1] + "/[0-9]*.json")[0]))
print("\n".join(job["argv"]))
PY
mapfile -t argv <"$work/argv"
for i in "${!argv[@]}"; do
  if [ "${argv[$i]}" = "$image" ]; then ffmpeg_at=$((i + 1)); fi
done
ffmpeg_args=("${argv[@]:$ffmpeg_at}")
temp="${ffmpeg_args[-1]}"

now_ms() { date +%s%3N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

time_docker() {
  local name="av1d-bench-$$-$1" cmd=("${argv[@]}") t0
  # each run its own container name
  for i in "${!cmd[@]}"; do
    case "${cmd[$i]}" in av1d-[0-9]*) cmd[$i]=$name ;; esac
  done
  t0=$(now_ms)
  "${cmd[@]}" >/dev/null 2>&1
  echo $(($(now_ms) - t0))
  rm -f "$temp"
}

time_local() {
  local t0
  t0=$(now_ms)
  sh tests/docker/ffmpeg-shim.sh "${ffmpeg_args[@]}" >/dev/null 2>&1
  echo $(($(now_ms) - t0))
  rm -f "$temp" "$lib/.av1d-shim-argv"
}

time_start() {
  local t0
  t0=$(now_ms)
  docker run --rm --name "av1d-bench-$$-start-$1" --entrypoint ffmpeg "$image" -version >/dev/null
  echo $(($(now_ms) - t0))
}

docker_ms=(); local_ms=(); start_ms=()
for i in $(seq "$runs"); do
  docker_ms+=("$(time_docker "$i")")
  local_ms+=("$(time_local)")
  start_ms+=("$(time_start "$i")")
done

d=$(printf '%s\n' "${docker_ms[@]}" | median)
l=$(printf '%s\n' "${local_ms[@]}" | median)
s=$(printf '%s\n' "${start_ms[@]}" | median)
echo "docker-qsv per-encode overhead: ${seconds} s clip, 320x240, median of $runs runs"
echo "engine $(docker version --format '{{.Server.Version}}'), storage $(docker info --format '{{.Driver}}'), $(nproc) cores"
printf '%-34s %10s   %s\n' "variant" "median ms" "runs (ms)"
printf '%-34s %10s   %s\n' "docker run ... (av1d's argv)" "$d" "${docker_ms[*]}"
printf '%-34s %10s   %s\n' "same ffmpeg args, local" "$l" "${local_ms[*]}"
printf '%-34s %10s   %s\n' "docker run ... -version (no encode)" "$s" "${start_ms[*]}"
printf '%-34s %10s   %s\n' "overhead (docker - local)" "$((d - l))" \
  "$(awk -v d="$d" -v l="$l" 'BEGIN { printf "%.2fx", d / l }')"
