#!/usr/bin/env bash
# Builds and runs a crate outside the repository that depends on tilefuse by
# path and writes DESIGN.md's softmax with #[tile_kernel]: what a user does.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/src"
cat > "$dir/Cargo.toml" <<TOML
[package]
name = "user-softmax"
version = "0.1.0"
edition = "2024"

[dependencies]
tilefuse = { path = "$repo" }
TOML
cp "$repo/scripts/external-crate-main.rs" "$dir/src/main.rs"
# Share the repository's dependency builds so this takes seconds, not minutes.
CARGO_TARGET_DIR="$repo/target/external" cargo run --quiet --manifest-path "$dir/Cargo.toml"
