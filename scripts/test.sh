#!/usr/bin/env bash
# Runs every test of tilefuse, installing what is missing first:
# formatting, clippy, the workspace's unit, integration, UI and doc tests
# (kernels on the CPU interpreter), the NVPTX backend with ptxas, the runtime's JIT, and a crate outside the repository that
# depends on tilefuse by path and runs a #[tile_kernel].
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== cargo test (workspace)"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
cargo test --workspace --locked 2>&1 | tee "$log"

echo "== the NVPTX backend (LLVM 22, ptxas)"
cargo clippy -p tilefuse-codegen --features llvm --all-targets --locked -- -D warnings
TILEFUSE_REQUIRE_PTXAS=1 cargo test -p tilefuse-codegen --features llvm --locked nvptx 2>&1 | tee -a "$log"

echo "== the runtime's JIT (compiles and caches PTX without a GPU)"
cargo clippy -p tilefuse-runtime --features jit --all-targets --locked -- -D warnings
TILEFUSE_REQUIRE_PTXAS=1 cargo test -p tilefuse-runtime --features jit --locked 2>&1 | tee -a "$log"

echo "== the committed prebuilt PTX is what the compiler produces now"
# The registry dump (examples/dump_kernels.rs) reuses the facade built above;
# tests/prebuilt.rs (run above) checks the registry is complete.
fresh="$(mktemp -d)"
scripts/prebuild.sh "$fresh"
if ! diff -r "$fresh" ptx >/dev/null; then
  diff -r "$fresh" ptx | head -20
  echo "ptx/ is stale: run scripts/prebuild.sh and commit ptx/" >&2
  exit 1
fi
rm -rf "$fresh"

echo "== ptxas assembles every prebuilt PTX for its architecture"
scripts/check-ptx.sh

echo "== a user crate outside the repository"
scripts/external-crate-test.sh

# One closing line over every test binary, so the total is visible at a glance.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($i ~ /^passed;?$/) p += $(i-1); if ($i ~ /^failed;?$/) f += $(i-1) } }
     END { printf "tilefuse: %d passed, %d failed\n", p, f }' "$log"
