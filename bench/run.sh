#!/usr/bin/env bash
# One command for the GPU machine: times tilefuse (tilefuse-bench) and the peers
# (anchors_gpu.py) in the same run, then prints them side by side (join.py).
#
# usage: run.sh [tilefuse-bench options, e.g. --quick or --only flash]
# env:   OUT          where results go (default: ./bench-out); the device runner sets it
#        ONLY         anchors_gpu.py sections (default env,ceilings,flash_fwd,decode,tssa)
#        SKIP_ANCHORS=1  tilefuse numbers only
# writes $OUT/tilefuse.json, tilefuse.txt, tilefuse.log, anchors.jsonl, anchors.txt, report.txt
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
export OUT="${OUT:-$PWD/bench-out}"
mkdir -p "$OUT"

# The packed layout (gpu-out/bench/) has everything beside this script; in the
# repository, use the release build and the shared anchors script.
bin="$here/tilefuse-bench"
[ -x "$bin" ] || bin="$here/../target/release/tilefuse-bench"
anchors="$here/anchors_gpu.py"
[ -f "$anchors" ] || anchors="$here/../../shared/bench/anchors_gpu.py"

echo "== tilefuse-bench ($bin $*)"
"$bin" --json "$OUT/tilefuse.json" "$@" 2> >(tee "$OUT/tilefuse.log" >&2) | tee "$OUT/tilefuse.txt"
status=${PIPESTATUS[0]}
echo "== tilefuse-bench exit status $status"

if [ "${SKIP_ANCHORS:-0}" != 1 ]; then
  echo "== anchors_gpu.py (ONLY=${ONLY:-env,ceilings,flash_fwd,decode,tssa})"
  ONLY="${ONLY:-env,ceilings,flash_fwd,decode,tssa}" python3 "$anchors" > "$OUT/anchors.txt" 2>&1 \
    || echo "anchors_gpu.py failed (exit $?): see $OUT/anchors.txt"
  grep -v '^{' "$OUT/anchors.txt" | tail -5
fi

if [ -f "$OUT/tilefuse.json" ]; then
  echo "== side by side"
  # anchors.jsonl is written at the end of anchors_gpu.py; its stdout has the same lines so far.
  peers="$OUT/anchors.jsonl"
  [ -f "$peers" ] || peers="$OUT/anchors.txt"
  python3 "$here/join.py" "$OUT/tilefuse.json" "$peers" | tee "$OUT/report.txt"
else
  echo "no $OUT/tilefuse.json: tilefuse-bench did not finish (see above)"
fi
exit "$status"
