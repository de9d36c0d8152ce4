#!/usr/bin/env bash
# Packs test binaries for a GPU machine that has no Rust and no LLVM: builds
# them here (release), copies them into gpu-out/bin/ (ignored by git) with a
# runner, so that on the GPU machine `gpu-out/run-tests.sh` runs them with
# their GPU tests (`--include-ignored`). cudarc loads the CUDA driver at run
# time, so the binaries need nothing else there.
#
# The binaries are built without the `jit` feature: a JIT build links
# libLLVM-22.so dynamically (150 MB), which the GPU machine does not have.
# Instead, a JIT build here fills gpu-out/cache with the PTX of the kernels
# the GPU tests compile at launch, and run-tests.sh points
# TILEFUSE_CACHE_DIR there: the packed binaries load that PTX from the
# disk cache exactly as a JIT build would after compiling it.
#
# usage: scripts/gpu/pack-tests.sh [TEST_TARGET...]   (default: `gpu` and `streams`)
set -euo pipefail
cd "$(dirname "$0")/../.."
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(gpu streams)
mkdir -p gpu-out/bin
args=()
for t in "${targets[@]}"; do args+=(--test "$t"); done
cargo test --release --workspace --no-run --message-format=json "${args[@]}" 2>/dev/null \
  | python3 -c '
import json, shutil, sys, os
for line in sys.stdin:
    msg = json.loads(line)
    if msg.get("reason") == "compiler-artifact" and msg.get("executable") and msg["profile"]["test"]:
        name = msg["target"]["name"]
        shutil.copy(msg["executable"], os.path.join("gpu-out/bin", name))
        print("packed", name)
'
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
  "$t" --include-ignored --test-threads=1 || status=1
done
exit $status
RUN
chmod +x gpu-out/run-tests.sh
echo "packed into gpu-out/: run gpu-out/run-tests.sh on the GPU machine"
