#!/usr/bin/env bash
# Installs what tilefuse's build and tests need and are missing, on Debian or Ubuntu.
# Sourced by scripts/test.sh and scripts/example.sh; safe to run again.
set -euo pipefail

need_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# A C toolchain for the few crates that build C, and curl for rustup.
if ! command -v cc >/dev/null 2>&1 || ! command -v curl >/dev/null 2>&1; then
  echo "setup: installing a C compiler and curl (apt)"
  need_root apt-get update -qq
  need_root apt-get install -y -qq build-essential curl ca-certificates
fi

# Rust 1.95 or newer (edition 2024), through rustup when cargo is missing.
if ! command -v cargo >/dev/null 2>&1; then
  if [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
  else
    echo "setup: installing Rust with rustup"
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --component rustfmt,clippy
    export PATH="$HOME/.cargo/bin:$PATH"
  fi
fi

# rustfmt and clippy, which the test command runs.
for component in rustfmt clippy; do
  tool=$([ "$component" = rustfmt ] && echo fmt || echo clippy)
  if ! cargo "$tool" --version >/dev/null 2>&1; then
    if command -v rustup >/dev/null 2>&1; then
      echo "setup: adding the $component component"
      rustup component add "$component"
    else
      echo "setup: cargo $tool is missing and there is no rustup to add it" >&2
      exit 1
    fi
  fi
done

# LLVM 22 (the NVPTX backend behind codegen's `llvm` feature), from Debian's packages.
if ! command -v llvm-config-22 >/dev/null 2>&1; then
  echo "setup: installing LLVM 22 (apt)"
  need_root apt-get update -qq
  need_root apt-get install -y -qq llvm-22-dev libpolly-22-dev libzstd-dev zlib1g-dev libxml2-dev
fi

# ptxas, to check that every PTX assembles, from the nvidia-cuda-nvcc wheel (no CUDA install needed).
find_ptxas() {
  command -v ptxas 2>/dev/null && return 0
  python3 - <<'PY' 2>/dev/null
import os, site
for d in site.getsitepackages() + [site.getusersitepackages()]:
    p = os.path.join(d, "nvidia", "cu13", "bin", "ptxas")
    if os.path.isfile(p):
        print(p)
        raise SystemExit(0)
raise SystemExit(1)
PY
}
if ! find_ptxas >/dev/null; then
  if ! command -v pip3 >/dev/null 2>&1 && ! python3 -m pip --version >/dev/null 2>&1; then
    echo "setup: installing python3-pip (apt)"
    need_root apt-get update -qq
    need_root apt-get install -y -qq python3-pip
  fi
  echo "setup: installing ptxas (pip install nvidia-cuda-nvcc)"
  python3 -m pip install -q nvidia-cuda-nvcc || python3 -m pip install -q --break-system-packages nvidia-cuda-nvcc
fi
TILEFUSE_PTXAS="$(find_ptxas)"
export TILEFUSE_PTXAS
