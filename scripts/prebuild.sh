#!/usr/bin/env bash
# Regenerates the committed prebuilt PTX (ptx/) of the bundled kernels with
# the NVPTX backend, in two steps:
#   1. the facade's registry of bundled kernels (src/kernels/registry.rs),
#      macro-stamped ones included, is dumped as IR + configurations
#      (examples/dump_kernels.rs);
#   2. `tilefuse prebuild --ir` compiles every prebuilt variant of it (each
#      kernel's `prebuild = [..]` flags both ways, no `cpu_only` config) for
#      sm_75, sm_80, sm_86, sm_89 and sm_90a, and writes ptx/index.rs and
#      ptx/manifest.md (what was not built, and why).
# Run it after changing a kernel or the compiler; CI fails when ptx/ is stale.
#
# usage: scripts/prebuild.sh [OUT_DIR]   (default: ptx)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh >/dev/null
dump="$(mktemp -d)"
trap 'rm -rf "$dump"' EXIT
cargo run --quiet --locked -p tilefuse --example dump_kernels -- "$dump" >/dev/null
cargo run --quiet --locked -p tilefuse-codegen --features llvm --bin tilefuse -- \
  prebuild --ir "$dump" --out "${1:-ptx}"
