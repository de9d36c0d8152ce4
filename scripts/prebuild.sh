#!/usr/bin/env bash
# Regenerates the committed prebuilt PTX (ptx/) of the bundled kernels with
# the NVPTX backend: every declared configuration the lowering covers, for
# sm_75, sm_80, sm_86, sm_89 and sm_90a. Run it after changing a kernel or
# the compiler; CI fails when ptx/ is stale.
#
# usage: scripts/prebuild.sh [OUT_DIR]   (default: ptx)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh >/dev/null
cargo run --quiet --locked -p tilefuse-codegen --features llvm --bin tilefuse -- \
  prebuild --out "${1:-ptx}" src/kernels/basic.rs
