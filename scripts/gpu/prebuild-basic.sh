#!/usr/bin/env bash
# Lowers the basic kernels (vector add, softmax, layernorm) to PTX with the
# NVPTX backend and packs their GPU test, for a GPU machine without Rust or
# LLVM: then run `TILEFUSE_PTX_DIR=gpu-out/ptx gpu-out/run-tests.sh` there.
#
# usage: scripts/gpu/prebuild-basic.sh [ARCH]   (default sm_90a, the H100)
set -euo pipefail
cd "$(dirname "$0")/../.."
arch="${1:-sm_90a}"
mkdir -p gpu-out/ptx
cargo build -q --release -p tilefuse-codegen --features llvm --bin tilefuse
tf=target/release/tilefuse
$tf dump src/kernels/basic.rs --kernel vector_add --const BLOCK=1024 --stage ptx --arch "$arch" > gpu-out/ptx/vector_add.ptx
$tf dump src/kernels/basic.rs --kernel softmax --const BLOCK=1024 --stage ptx --arch "$arch" > gpu-out/ptx/softmax.ptx
$tf dump src/kernels/basic.rs --kernel layernorm --const BLOCK=512 --stage ptx --arch "$arch" > gpu-out/ptx/layernorm.ptx
echo "wrote gpu-out/ptx/{vector_add,softmax,layernorm}.ptx for $arch"
scripts/gpu/pack-tests.sh gpu gpu_basic
