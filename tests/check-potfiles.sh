#!/bin/sh
# every source file that marks strings with _( or N_( must be in po/POTFILES.in
# (fwupd's contrib/ci/check-potfiles.py, in sh)
set -eu
srcdir="${1:-$(dirname "$0")/..}"
cd "$srcdir"
status=0
for f in $(grep -rlE '(^|[^A-Za-z0-9_])N?_\("' src --include='*.c' | sort); do
  if ! grep -qx "$f" po/POTFILES.in; then
    echo "missing from po/POTFILES.in: $f"
    status=1
  fi
done
exit $status
