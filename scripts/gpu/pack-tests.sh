#!/usr/bin/env bash
# Packs test binaries for a GPU machine that has no Rust and no LLVM: builds
# them here (release), copies them into gpu-out/bin/ (ignored by git) with a
# runner, so that on the GPU machine `gpu-out/run-tests.sh` runs them with
# their GPU tests (`--include-ignored`). cudarc loads the CUDA driver at run
# time, so the binaries need nothing else there.
#
# The pseudo-target `lib` packs the facade's unit tests (`cargo test -p
# tilefuse --lib`: every seed kernel against its f64 reference) as
# gpu-out/bin/tilefuse-lib; run-tests.sh runs it with
# TILEFUSE_TEST_DEVICE=cuda, so those tests run on GPU 0 (src/testing.rs).
# It embeds the prebuilt PTX (21 MB of the binary's 26 MB).
#
# The binaries are built without the `jit` feature: a JIT build links
# libLLVM-22.so dynamically (150 MB), which the GPU machine does not have.
# Instead, a JIT build here fills gpu-out/cache with the PTX of the kernels
# the GPU tests compile at launch, and run-tests.sh points
# TILEFUSE_CACHE_DIR there: the packed binaries load that PTX from the
# disk cache exactly as a JIT build would after compiling it. (The variants
# the lib tests launch without prebuilt PTX must be in that cache too.)
#
# Binaries packed by earlier calls stay in gpu-out/bin/ (prebuild-basic.sh
# packs `gpu gpu_basic`, then `pack-tests.sh lib` adds the lib tests).
#
# usage: scripts/gpu/pack-tests.sh [TEST_TARGET|lib ...]   (default: `gpu` and `streams`)
set -euo pipefail
cd "$(dirname "$0")/../.."
targets=()
pack_lib=0
for t in "$@"; do
  if [ "$t" = lib ]; then pack_lib=1; else targets+=("$t"); fi
done
[ $# -gt 0 ] || targets=(gpu streams)
mkdir -p gpu-out/bin
# Copies the test executables of cargo's JSON messages on stdin into
# gpu-out/bin/, each named by its target, or by $1 when given.
copy_tests() {
  python3 -c '
import json, shutil, sys, os
rename = sys.argv[1] if len(sys.argv) > 1 else None
for line in sys.stdin:
    msg = json.loads(line)
    if msg.get("reason") == "compiler-artifact" and msg.get("executable") and msg["profile"]["test"]:
        name = rename or msg["target"]["name"]
        shutil.copy(msg["executable"], os.path.join("gpu-out/bin", name))
        print("packed", name, os.path.getsize(msg["executable"]) // 1024, "KiB")
' "$@"
}
if [ ${#targets[@]} -gt 0 ]; then
  args=()
  for t in "${targets[@]}"; do args+=(--test "$t"); done
  cargo test --release --workspace --no-run --message-format=json "${args[@]}" 2>/dev/null \
    | copy_tests
fi
if [ $pack_lib = 1 ]; then
  # One codegen unit for the facade: every unit that names the prebuilt table
  # gets its own copy of its PTX strings otherwise (128 MB instead of 26 MB).
  cargo test --release -p tilefuse --lib --no-run --message-format=json \
    --config 'profile.release.package.tilefuse.codegen-units=1' 2>/dev/null \
    | copy_tests tilefuse-lib
fi
if TILEFUSE_CACHE_DIR="$PWD/gpu-out/cache" cargo test -q -p tilefuse-runtime --features jit \
    --test gpu jit_ptx_for_every_arch >/dev/null 2>&1; then
  echo "filled gpu-out/cache with JIT-compiled PTX"
else
  echo "note: no JIT PTX cache (the jit feature needs LLVM 22 here); the JIT GPU test will fail" >&2
fi
cat > gpu-out/run-tests.sh <<'RUN'
#!/usr/bin/env bash
# Runs every packed test binary with its GPU tests; exits non-zero if any fails.
cd "$(dirname "$0")"
# PTX compiled by a JIT build where the tests were packed (see pack-tests.sh).
if [ -d cache ]; then export TILEFUSE_CACHE_DIR="$PWD/cache"; fi
status=0
for t in bin/*; do
  echo "== $t"
  if [ "$(basename "$t")" = tilefuse-lib ]; then
    # The facade's unit tests on GPU 0; --show-output shows their
    # "skipped on GPU: ..." lines (parts that need a kernel without GPU code).
    TILEFUSE_TEST_DEVICE=cuda "$t" --include-ignored --test-threads=1 --show-output || status=1
  else
    "$t" --include-ignored --test-threads=1 || status=1
  fi
done
exit $status
RUN
chmod +x gpu-out/run-tests.sh
echo "packed into gpu-out/ ($(du -sh gpu-out | cut -f1)): run gpu-out/run-tests.sh on the GPU machine"
