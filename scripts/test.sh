#!/usr/bin/env bash
# Run the whole test suite: installs what is missing, builds, runs every suite
# (unit, integration, dbus, docker, slow). Extra arguments go to `meson test`.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh

av1d_install_deps
av1d_build "${AV1D_BUILDDIR:-build}"
meson test -C "${AV1D_BUILDDIR:-build}" --print-errorlogs --num-processes 2 "$@"
