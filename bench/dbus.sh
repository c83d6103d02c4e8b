#!/usr/bin/env bash
# D-Bus benchmarks (SPEC 10, 14) against the real daemon on a private bus:
#   - ListJobs latency with 1 000 and 10 000 jobs (target < 50 ms): median,
#     min and max of 11 calls from a GDBus client after one warm-up call,
#     the reply's size, and the CPU time per call of av1d, dbus-daemon and
#     the client (wall-clock times mean little on a loaded machine: the load
#     average is printed first); then the same calls through sd-bus (as
#     av1top makes them): median and client CPU per call;
#   - the daemon's RSS with those stores (VmRSS after the calls, VmHWM);
#   - PropertiesChanged per job object during a real software encode
#     (target <= 2 per second): signals, their rate over the encode and the
#     most sent within any one second.
# The job stores are written by bench-store --create, as the daemon writes
# them (finished jobs; av1d exports each as /org/av1d/job/<id>).
# Usage: bench/dbus.sh [BUILDDIR] [PARENT]
#   PARENT is where the temp dirs go (default $TMPDIR or /tmp).
set -euo pipefail
cd "$(dirname "$0")/.."
builddir="${1:-build}"
parent="${2:-${TMPDIR:-/tmp}}"
av1d="$builddir/src/daemon/av1d"
client="$builddir/bench/bench-dbus"
store_bench="$builddir/bench/bench-store"

ninja -C "$builddir" src/daemon/av1d bench/bench-dbus bench/bench-store >/dev/null

work=$(mktemp -d "$parent/av1d-bench-dbus-XXXXXX")
bus_pid=""
daemon_pid=""
cleanup() {
  if [ -n "$daemon_pid" ]; then kill -TERM "$daemon_pid" 2>/dev/null || true; wait "$daemon_pid" 2>/dev/null || true; fi
  if [ -n "$bus_pid" ]; then kill -TERM "$bus_pid" 2>/dev/null || true; wait "$bus_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# a private session bus for this run
exec 3< <(exec dbus-daemon --session --nofork --print-address=1 --print-pid=1)
read -r address <&3
read -r bus_pid <&3
export DBUS_SESSION_BUS_ADDRESS="$address"

# start_daemon CONFIG: av1d on the private bus, back once it owns org.av1d
start_daemon() {
  "$av1d" --config "$1" >"$work/daemon.log" 2>&1 &
  daemon_pid=$!
  for _ in $(seq 1 600); do
    if busctl --address="$address" call org.freedesktop.DBus /org/freedesktop/DBus \
      org.freedesktop.DBus NameHasOwner s org.av1d 2>/dev/null | grep -q true; then
      return 0
    fi
    kill -0 "$daemon_pid" 2>/dev/null || break
    sleep 0.05
  done
  echo "bench: av1d did not come up:" >&2
  cat "$work/daemon.log" >&2
  exit 1
}

stop_daemon() {
  kill -TERM "$daemon_pid"
  wait "$daemon_pid" || true
  daemon_pid=""
}

# utime + stime of a process in ms
cpu_ms() {
  awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) * 1000 / hz}' "/proc/$1/stat"
}

# per call, from two cpu_ms readings
per_call() {
  awk -v a="$1" -v b="$2" -v n="$3" 'BEGIN {printf "%.1f", (b - a) / n}'
}

rss_kib() {
  awk -v key="$2:" '$1 == key {print $2}' "/proc/$1/status"
}

mkdir -p "$work/library"
long_dir="$work/library/$(printf 'a%.0s' $(seq 1 120))/$(printf 'b%.0s' $(seq 1 120))"
mkdir -p "$long_dir"
long="$long_dir/not really a film.mkv"
echo "not media" >"$long"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs"
printf '%6s %9s %7s %7s %11s %9s %8s %10s %8s %8s %9s %9s\n' jobs median_ms min_ms max_ms \
  reply_bytes av1d_cpu bus_cpu client_cpu rss_mib hwm_mib sdbus_med sdbus_cpu
calls=11
for n in 1000 10000; do
  store=$("$store_bench" --dir "$work" --create "$n")
  cat >"$work/config.toml" <<EOF
library_roots = ["$work/library"]
job_state_dir = "$store"
min_bytes = 1
EOF
  start_daemon "$work/config.toml"
  # one job whose row needs wide framing offsets: a long path, failed with
  # a reason
  busctl --address="$address" call org.av1d /org/av1d org.av1d.Manager1 Enqueue s "$long" >/dev/null
  daemon_cpu=$(cpu_ms "$daemon_pid")
  bus_cpu=$(cpu_ms "$bus_pid")
  read -r median min max jobs bytes client_cpu < <("$client" --address "$address" --list-jobs "$calls")
  [ "$jobs" -eq $((n + 1)) ] || { echo "bench: ListJobs returned $jobs jobs, not $((n + 1))" >&2; exit 1; }
  # the warm-up call is in these two
  daemon_cpu=$(per_call "$daemon_cpu" "$(cpu_ms "$daemon_pid")" $((calls + 1)))
  bus_cpu=$(per_call "$bus_cpu" "$(cpu_ms "$bus_pid")" $((calls + 1)))
  rss=$(rss_kib "$daemon_pid" VmRSS)
  hwm=$(rss_kib "$daemon_pid" VmHWM)
  # the same through sd-bus, av1top's library
  read -r sd_median _ _ sd_jobs sd_cpu < <("$client" --address "$address" --sd-bus "$calls")
  [ "$sd_jobs" -eq "$jobs" ] || { echo "bench: sd-bus read $sd_jobs rows, not $jobs" >&2; exit 1; }
  printf '%6s %9s %7s %7s %11s %9s %8s %10s %8.1f %8.1f %9s %9s\n' "$n" "$median" "$min" "$max" \
    "$bytes" "$daemon_cpu" "$bus_cpu" "$client_cpu" \
    "$(awk -v k="$rss" 'BEGIN {print k / 1024}')" "$(awk -v k="$hwm" 'BEGIN {print k / 1024}')" \
    "$sd_median" "$sd_cpu"
  stop_daemon
  rm -rf "$store"
done

# PropertiesChanged during one real encode: a 20 s clip, software AV1
rm -rf "$work/library"/*
media="$work/clip.mkv"
ffmpeg -hide_banner -nostdin -loglevel error -f lavfi -i testsrc2=size=640x360:rate=25:duration=20 \
  -f lavfi -i sine=frequency=440:sample_rate=48000:duration=20 \
  -c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a aac -b:a 64k "$media"
cat >"$work/config.toml" <<EOF
library_roots = ["$work/library"]
job_state_dir = "$work/state"
min_bytes = 1
stable_secs = 0
max_size_ratio = 1.0
encoder = "software"
EOF
start_daemon "$work/config.toml"
exec 4< <(exec "$client" --address "$address" --count-signals 300)
read -r ready <&4
[ "$ready" = ready ] || { echo "bench: the signal counter did not start" >&2; exit 1; }
mv "$media" "$work/library/clip.mkv"
echo
printf '%-20s %8s %8s %8s %10s\n' object signals span_s per_s max_in_1s
while read -r path count span rate max1; do
  printf '%-20s %8s %8s %8s %10s\n' "$path" "$count" "$span" "$rate" "$max1"
done <&4
grep -oE 'clip.mkv: (success|failed|skipped).*' "$work/daemon.log" | tail -n 1 | sed 's/^/  /' || true
stop_daemon
