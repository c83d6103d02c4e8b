#!/usr/bin/env bash
# Watcher benchmarks (SPEC 14), printed as a table:
#  - initial crawl of FILES sparse files in DIRS folders, from daemon start to
#    "crawl finished", against `find ROOT -size +N` on the same warm tree
#  - idle wakeups: voluntary context switches of the idle daemon (all its
#    threads) over IDLE_SECS, and its RSS with DIRS watched folders
#  - event latency: a file closed -> its job file exists, minus stable_secs
# Usage: bench/watch.sh [BUILDDIR] [FILES] [DIRS] [IDLE_SECS]
set -euo pipefail
builddir="${1:-build}"
files="${2:-100000}"
dirs="${3:-10000}"
idle_secs="${4:-60}"
av1d="$builddir/src/daemon/av1d"
[ -x "$av1d" ] || { echo "build first: ninja -C $builddir" >&2; exit 1; }

work=$(mktemp -d /tmp/av1d-bench-watch.XXXXXX)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
lib="$work/library"

# sparse files big enough to be candidates, spread evenly over the folders
python3 - "$lib" "$files" "$dirs" <<'PY'
import os, sys
lib, files, dirs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for d in range(dirs):
    os.makedirs(os.path.join(lib, "d%03d" % (d // 100), "s%05d" % d), exist_ok=True)
for f in range(files):
    d = f % dirs
    p = os.path.join(lib, "d%03d" % (d // 100), "s%05d" % d, "film%06d.mkv" % f)
    with open(p, "wb") as fh:
        fh.truncate(3 * 1024 * 1024 * 1024)
PY
# min_bytes above the files' size: the crawl visits and stats every file
# (as find -size does) but queues none, so the numbers are the crawl's own
printf 'library_roots = ["%s"]\nmin_bytes = 4294967296\nstable_secs = 2\njob_state_dir = "%s/state"\nffprobe_bin = "/bin/false"\n' \
  "$lib" "$work" > "$work/config.toml"

now_ms() { date +%s%3N; }
find "$lib" -size +4G > /dev/null # warm the cache
start=$(now_ms); find "$lib" -size +4G | wc -l > /dev/null; find_ms=$(( $(now_ms) - start ))

start=$(now_ms)
"$av1d" --config "$work/config.toml" 2> "$work/daemon.log" &
pid=$!
until grep -q "crawl finished" "$work/daemon.log"; do sleep 0.01; done
start_ms=$(( $(now_ms) - start ))
crawl_ms=$(grep -o 'crawl finished in [0-9]*' "$work/daemon.log" | grep -o '[0-9]*$')
sleep 3

# per thread, so that a thread ending in the window (GLib's pool retires
# idle workers) cannot make the sum go down
switches() {
  for t in /proc/"$pid"/task/*; do
    echo "${t##*/} $(awk '/^voluntary_ctxt_switches/ {print $2}' "$t"/status 2>/dev/null)"
  done | sort
}
switches > "$work/before"
sleep "$idle_secs"
switches > "$work/after"
idle_switches=$(join "$work/before" "$work/after" | awk '{d += $3 - $2} END {print d + 0}')
threads_gone=$(join -v1 "$work/before" "$work/after" | wc -l)
rss_kb=$(awk '/^VmRSS/ {print $2}' /proc/"$pid"/status)

# latency: close a new file, then time until its job file appears; polled
# from one process every millisecond (a shell loop forking grep and sleep
# would add its own tens of milliseconds), median of five files
mkdir -p "$lib/new"
sleep 1
latency_ms=$(python3 - "$lib/new" "$work/state" 2 <<'PY'
import glob, os, sys, time, json
folder, state, stable = sys.argv[1], sys.argv[2], float(sys.argv[3])
def queued(name):
    for path in glob.glob(os.path.join(state, "*.json")):
        try:
            with open(path) as f:
                if json.load(f)["source_path"].endswith("/" + name):
                    return True
        except (OSError, ValueError, KeyError):
            pass
    return False
samples = []
for i in range(5):
    name = "late%d.mkv" % i
    with open(os.path.join(folder, name), "wb") as f:
        f.truncate(5 * 1024 ** 3)
    closed = time.monotonic()
    time.sleep(stable - 0.2)
    while not queued(name):
        time.sleep(0.001)
    samples.append((time.monotonic() - closed - stable) * 1000)
samples.sort()
print("%.0f" % samples[len(samples) // 2])
PY
)

printf '%-46s %12s %s\n' "measure" "value" "target"
printf '%-46s %12s\n' "files / folders" "$files / $dirs"
printf '%-46s %10s ms\n' "find ROOT -size +4G (warm)" "$find_ms"
printf '%-46s %10s ms\n' "av1d crawl (warm, as logged)" "$crawl_ms"
printf '%-46s %10s ms\n' "av1d start incl. encoder probe, to crawl end" "$start_ms"
awk -v a="$crawl_ms" -v b="$find_ms" 'BEGIN { printf "%-46s %12.2f <= 1.5\n", "crawl / find", a / b }'
printf '%-46s %12s 0 (no timers)\n' "voluntary context switches idle, ${idle_secs} s" "$idle_switches"
printf '%-46s %12s\n' "threads that ended meanwhile (GLib pool)" "$threads_gone"
awk -v kb="$rss_kb" 'BEGIN { printf "%-46s %9.1f MB <= 10 MB (10 000 dirs)\n", "RSS idle", kb / 1024 }'
printf '%-46s %10s ms <= 100 ms\n' "close -> queued, beyond stable_secs" "$latency_ms"
