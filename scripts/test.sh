#!/usr/bin/env bash
# Runs every test of tilefuse, installing what is missing first:
# formatting, clippy, the workspace's unit, integration, UI and doc tests
# (kernels on the CPU interpreter), and a crate outside the repository that
# depends on tilefuse by path and runs a #[tile_kernel].
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== cargo test (workspace)"
cargo test --workspace --locked

echo "== a user crate outside the repository"
scripts/external-crate-test.sh

echo "all tilefuse tests passed"
