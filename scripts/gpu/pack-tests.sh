#!/usr/bin/env bash
# Packs test binaries for a GPU machine that has no Rust and no LLVM: builds
# them here (release), copies them into gpu-out/bin/ (ignored by git) with a
# runner, so that on the GPU machine `gpu-out/run-tests.sh` runs them with
# their GPU tests (`--include-ignored`). cudarc loads the CUDA driver at run
# time, so the binaries need nothing else there.
#
# usage: scripts/gpu/pack-tests.sh [TEST_TARGET...]   (default: the runtime's `gpu` tests)
set -euo pipefail
cd "$(dirname "$0")/../.."
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(gpu)
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
cat > gpu-out/run-tests.sh <<'RUN'
#!/usr/bin/env bash
# Runs every packed test binary with its GPU tests; exits non-zero if any fails.
cd "$(dirname "$0")"
status=0
for t in bin/*; do
  echo "== $t"
  "$t" --include-ignored --test-threads=1 || status=1
done
exit $status
RUN
chmod +x gpu-out/run-tests.sh
echo "packed into gpu-out/: run gpu-out/run-tests.sh on the GPU machine"
