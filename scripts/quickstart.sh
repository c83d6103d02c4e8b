#!/usr/bin/env bash
# Quick start: install what is missing, build, and run av1d once.
#   scripts/quickstart.sh            a generated demo library (tiny clips)
#   scripts/quickstart.sh ROOT...    your own library roots, with your config
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh

av1d_install_deps
av1d_build build

if [ "$#" -gt 0 ]; then
  exec build/src/daemon/av1d --once "$@"
fi

# the demo: a few seconds of generated video per file; the thresholds are
# lowered because the clips are tiny (the defaults ignore files < 2 GiB)
demo="$PWD/demo-library"
mkdir -p "$demo"
bash tests/media.sh "$demo"
cat > build/demo-config.toml <<TOML
library_roots = ["$demo"]
min_bytes = 1
stable_secs = 0
max_size_ratio = 1.0
job_state_dir = "$PWD/build/demo-state"
TOML
echo "av1d: demo library in $demo" >&2
build/src/daemon/av1d check --config build/demo-config.toml || true
exec build/src/daemon/av1d --once --config build/demo-config.toml
