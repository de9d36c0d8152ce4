#!/usr/bin/env bash
# Lowers the basic kernels (vector add, softmax, layernorm) and the kernels
# of tests/gpu_ops.rs, tests/gpu_misc.rs and tests/gpu_vector.rs to PTX with
# the NVPTX backend and packs their GPU tests, for a GPU machine without
# Rust or LLVM: then run
# `TILEFUSE_PTX_DIR=gpu-out/ptx gpu-out/run-tests.sh` there.
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
# Scans, sorts and top-k (tests/gpu_ops.rs defines the kernels it checks).
ops=tests/gpu_ops.rs
$tf dump $ops --kernel scan_f32 --const B=1024 --stage ptx --arch "$arch" > gpu-out/ptx/scan_f32.ptx
$tf dump $ops --kernel scan_i32 --const B=1024 --stage ptx --arch "$arch" > gpu-out/ptx/scan_i32.ptx
$tf dump $ops --kernel scan_f16 --const B=1024 --stage ptx --arch "$arch" > gpu-out/ptx/scan_f16.ptx
$tf dump $ops --kernel scan2_f32 --const R=16 --const C=64 --stage ptx --arch "$arch" > gpu-out/ptx/scan2_f32.ptx
$tf dump $ops --kernel sort_f32 --const B=1024 --stage ptx --arch "$arch" > gpu-out/ptx/sort_f32.ptx
$tf dump $ops --kernel sort2_i32 --const R=32 --const C=32 --stage ptx --arch "$arch" > gpu-out/ptx/sort2_i32.ptx
$tf dump $ops --kernel topk_f32 --const B=1024 --stage ptx --arch "$arch" > gpu-out/ptx/topk_f32.ptx
$tf dump $ops --kernel topk2_i32 --const R=32 --const C=32 --stage ptx --arch "$arch" > gpu-out/ptx/topk2_i32.ptx
$tf dump $ops --kernel sync_flow --const B=1024 --stage ptx --arch "$arch" > gpu-out/ptx/sync_flow.ptx
echo "wrote gpu-out/ptx/{scan_f32,scan_i32,scan_f16,scan2_f32,sort_f32,sort2_i32,topk_f32,topk2_i32,sync_flow}.ptx for $arch"
# tests/gpu_misc.rs: atomics, descriptors, print and assert (kernels defined in the test).
misc=tests/gpu_misc.rs
$tf dump $misc --kernel histogram --const B=256 --stage ptx --arch "$arch" > gpu-out/ptx/histogram_256.ptx
$tf dump $misc --kernel histogram --const B=16 --stage ptx --arch "$arch" > gpu-out/ptx/histogram_16.ptx
$tf dump $misc --kernel tickets --const B=1 --stage ptx --arch "$arch" > gpu-out/ptx/tickets.ptx
$tf dump $misc --kernel extremes --const B=128 --stage ptx --arch "$arch" > gpu-out/ptx/extremes.ptx
$tf dump $misc --kernel typed_atomics --const B=64 --stage ptx --arch "$arch" > gpu-out/ptx/typed_atomics.ptx
$tf dump $misc --kernel claim --const B=64 --stage ptx --arch "$arch" > gpu-out/ptx/claim.ptx
$tf dump $misc --kernel desc_transpose --const BM=32 --const BN=16 --stage ptx --arch "$arch" > gpu-out/ptx/desc_transpose.ptx
$tf dump $misc --kernel printing --const B=16 --stage ptx --arch "$arch" > gpu-out/ptx/printing.ptx
$tf dump $misc --kernel checking --const B=64 --stage ptx --arch "$arch" > gpu-out/ptx/checking.ptx
echo "wrote gpu-out/ptx/ for the kernels of $misc"
# tests/gpu_vector.rs: vector global accesses on misaligned and ragged data.
vec=tests/gpu_vector.rs
$tf dump $vec --kernel vcopy_f16 --const B=1024 --stage ptx --arch "$arch" > gpu-out/ptx/vcopy_f16.ptx
$tf dump $vec --kernel vscale_f32 --const B=1024 --stage ptx --arch "$arch" > gpu-out/ptx/vscale_f32.ptx
$tf dump $vec --kernel vcopy_f64 --const B=256 --stage ptx --arch "$arch" > gpu-out/ptx/vcopy_f64.ptx
$tf dump $vec --kernel vcopy_i8 --const B=2048 --stage ptx --arch "$arch" > gpu-out/ptx/vcopy_i8.ptx
$tf dump $vec --kernel vrows_f32 --const R=16 --const C=64 --stage ptx --arch "$arch" > gpu-out/ptx/vrows_f32.ptx
$tf dump $vec --kernel vcols_f16 --const R=64 --const C=32 --stage ptx --arch "$arch" > gpu-out/ptx/vcols_f16.ptx
echo "wrote gpu-out/ptx/ for the kernels of $vec"
scripts/gpu/pack-tests.sh gpu gpu_basic gpu_ops gpu_misc gpu_vector
