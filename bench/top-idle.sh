#!/usr/bin/env bash
# av1top at rest (issue 8): the real av1top in tmux against an idle av1d on a
# private bus, for IDLE_SECS, printed as a table of its voluntary context
# switches (= wakeups: av1top is one thread), involuntary ones and CPU time.
#
# Two av1tops run side by side: one with the default meter interval
# (--delay 2: a sample of /proc and a redraw every 2 s are its own needs) and
# one with --delay 3600, which shows what is left when nothing changes: with
# nothing on the bus and no key, poll() sleeps and the count stays ~0.
#
# The daemon's jobs have all ended (tests/top/fake-ffmpeg fails each encode
# at once), so the table has rows but nothing moves.
# Usage: bench/top-idle.sh [BUILDDIR] [IDLE_SECS]
set -euo pipefail
builddir="${1:-build}"
idle_secs="${2:-60}"
src=$(cd "$(dirname "$0")/.." && pwd)
av1d="$builddir/src/daemon/av1d"
av1top="$builddir/src/top/av1top"
[ -x "$av1d" ] && [ -x "$av1top" ] || { echo "build first: ninja -C $builddir" >&2; exit 1; }
av1d=$(cd "$(dirname "$av1d")" && pwd)/av1d
av1top=$(cd "$(dirname "$av1top")" && pwd)/av1top

work=$(mktemp -d /tmp/av1top-bench-idle.XXXXXX)
sock="av1top-bench-$$"
bus_pid="" daemon_pid=""
cleanup() {
  tmux -L "$sock" kill-server 2>/dev/null || true
  [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null
  [ -n "$bus_pid" ] && kill "$bus_pid" 2>/dev/null
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

bash "$src/tests/media.sh" "$work/media"
mkdir -p "$work/library"
for f in h264-eng-rus.mkv movtext.mp4 font-chapters.mkv only-russian.mkv; do
  cp "$work/media/$f" "$work/library/"
done
printf 'library_roots = ["%s"]\nmin_bytes = 1\nstable_secs = 0\nencoder = "software"\nffmpeg_bin = "%s"\njob_state_dir = "%s/state"\n' \
  "$work/library" "$src/tests/top/fake-ffmpeg" "$work" > "$work/config.toml"

dbus-daemon --session --nofork --print-address=1 > "$work/bus.address" &
bus_pid=$!
until [ -s "$work/bus.address" ]; do sleep 0.05; done
address=$(head -n1 "$work/bus.address")
FAKE_FFMPEG_BLOCKS=1 FAKE_FFMPEG_INTERVAL=0.01 FAKE_FFMPEG_EXIT=1 \
  DBUS_SESSION_BUS_ADDRESS="$address" "$av1d" --config "$work/config.toml" 2> "$work/daemon.log" &
daemon_pid=$!

# idle: every job ended, nothing running or queued
pending() {
  busctl --address="$address" get-property org.av1d /org/av1d org.av1d.Manager1 "$1" 2>/dev/null |
    awk '{print $2}'
}
for _ in $(seq 200); do
  [ "$(pending RunningCount)" = 0 ] && [ "$(pending PendingCount)" = 0 ] &&
    [ "$(pending FailedCount)" = 4 ] && break
  sleep 0.1
done

start() { # name delay
  tmux -L "$sock" -f /dev/null new-session -d -s "$1" -x 120 -y 40 \
    "exec $av1top --bus-address '$address' --delay $2"
}
start default 2
start still 3600
sleep 3 # connect, load, first draws

pid_of() { tmux -L "$sock" list-panes -t "$1" -F '#{pane_pid}'; }
# voluntary, involuntary switches and utime+stime in clock ticks
sample() {
  local pid=$1
  echo "$(awk '/^voluntary_ctxt_switches/ {print $2}' /proc/"$pid"/status)" \
    "$(awk '/^nonvoluntary_ctxt_switches/ {print $2}' /proc/"$pid"/status)" \
    "$(awk '{print $14 + $15}' /proc/"$pid"/stat)"
}
default_pid=$(pid_of default)
still_pid=$(pid_of still)
read -r dv0 di0 dt0 < <(sample "$default_pid")
read -r sv0 si0 st0 < <(sample "$still_pid")
sleep "$idle_secs"
read -r dv1 di1 dt1 < <(sample "$default_pid")
read -r sv1 si1 st1 < <(sample "$still_pid")
tmux -L "$sock" capture-pane -p -t default > "$work/screen.txt"
grep -q "failed" "$work/screen.txt" || { echo "av1top shows no jobs:" >&2; cat "$work/screen.txt" >&2; exit 1; }

hz=$(getconf CLK_TCK)
row() { # name delay v0 v1 i0 i1 t0 t1
  printf '| %-26s | %5s | %12d | %14d | %11.1f | %6d |\n' "$1" "$2" $(($4 - $3)) $(($6 - $5)) \
    "$(awk -v n=$(($4 - $3)) -v s="$idle_secs" 'BEGIN { print n * 60 / s }')" $((($8 - $7) * 1000 / hz))
}
echo "av1top idle for ${idle_secs} s against an idle av1d (4 finished jobs), 120x40 tmux pane"
echo
echo "| av1top                     | delay | voluntary cs | involuntary cs | wakeups/min | CPU ms |"
echo "|----------------------------|-------|--------------|----------------|-------------|--------|"
row "meters every 2 s (default)" 2 "$dv0" "$dv1" "$di0" "$di1" "$dt0" "$dt1"
row "meters every hour" 3600 "$sv0" "$sv1" "$si0" "$si1" "$st0" "$st1"
