#!/usr/bin/env bash
# Assembles every committed prebuilt PTX file with ptxas for its own
# architecture (ptx/<arch>/*.ptx) and rejects any that calls an undefined
# LLVM function (`.extern .func llvm.`). Two ptxas at a time.
#
# usage: scripts/check-ptx.sh [PTX_DIR]   (default: ptx; needs TILEFUSE_PTXAS or ptxas on PATH)
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${1:-ptx}"
ptxas="${TILEFUSE_PTXAS:-$(command -v ptxas || true)}"
if [ -z "$ptxas" ]; then
  echo "check-ptx: no ptxas (source scripts/setup.sh, or set TILEFUSE_PTXAS)" >&2
  exit 1
fi
if grep -rl '\.extern \.func llvm\.' "$dir" >/dev/null; then
  echo "check-ptx: these PTX files call undefined LLVM functions:" >&2
  grep -rl '\.extern \.func llvm\.' "$dir" >&2
  exit 1
fi
export ptxas
count=$(find "$dir" -name '*.ptx' | wc -l)
find "$dir" -name '*.ptx' -print0 | xargs -0 -n 1 -P 2 sh -c '
  arch=$(basename "$(dirname "$1")")
  if ! out=$("$ptxas" -arch="$arch" "$1" -o /dev/null 2>&1); then
    echo "check-ptx: ptxas rejects $1 for $arch:" >&2
    echo "$out" >&2
    exit 255
  fi
' sh
echo "check-ptx: ptxas assembled all $count PTX files under $dir/ for their architectures"
