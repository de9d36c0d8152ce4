#!/usr/bin/env bash
# Packs the benchmark for a GPU machine that has no Rust: builds tilefuse-bench
# (release) here and copies it with bench/run.sh, bench/join.py and the peers'
# script anchors_gpu.py into gpu-out/bench/ (ignored by git). There (device
# `run`, carry ["gpu-out"]): `gpu-out/bench/run.sh` (add `--quick` for a smoke run).
#
# usage: scripts/gpu/pack-bench.sh    (env SHARED: the shared folder, default ../shared)
set -euo pipefail
cd "$(dirname "$0")/../.."
shared="${SHARED:-../shared}"
cargo build --release -p tilefuse-bench
mkdir -p gpu-out/bench
cp target/release/tilefuse-bench bench/run.sh bench/join.py bench/README.md gpu-out/bench/
install -m 0644 "$shared/bench/anchors_gpu.py" gpu-out/bench/anchors_gpu.py
python3 gpu-out/bench/join.py --self-test > /dev/null
echo "packed into gpu-out/bench/: run gpu-out/bench/run.sh on the GPU machine"
ls -la gpu-out/bench
