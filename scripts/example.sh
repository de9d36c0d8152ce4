#!/usr/bin/env bash
# Runs the main example (softmax, checked against a plain Rust reference) on
# the GPU when there is one, else on the CPU interpreter; it says which.
# Installs what is missing first.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
cargo run --release --locked --example softmax
