#!/usr/bin/env bash
# Builds the user crate of scripts/external-crate-test.sh (outside the
# repository, depending on tilefuse by path, no `jit`) in release and packs
# its binary as gpu-out/user-crate: on the GPU machine it runs a bundled
# kernel on the GPU from prebuilt PTX, with no LLVM and no CUDA toolkit there.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/src" "$repo/gpu-out"
cat > "$dir/Cargo.toml" <<TOML
[package]
name = "user-softmax"
version = "0.1.0"
edition = "2024"

[dependencies]
tilefuse = { path = "$repo" }
TOML
cp "$repo/scripts/external-crate-main.rs" "$dir/src/main.rs"
CARGO_TARGET_DIR="$repo/target/external" cargo build --quiet --release --manifest-path "$dir/Cargo.toml"
cp "$repo/target/external/release/user-softmax" "$repo/gpu-out/user-crate"
echo "packed gpu-out/user-crate: run it on the GPU machine"
