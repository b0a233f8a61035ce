#!/usr/bin/env bash
# Configures (once) and builds llamac in ./build (or $LLAMAC_BUILD_DIR).
# LLAMAC_SHARED_DIR points the tests at the shared fixtures (default ../shared).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${LLAMAC_BUILD_DIR:-$root/build}
shared=${LLAMAC_SHARED_DIR:-$root/../shared}
jobs=${LLAMAC_JOBS:-$(nproc)}

if [ ! -f "$build/build.ninja" ]; then
  cmake -G Ninja -S "$root" -B "$build" \
    -DCMAKE_BUILD_TYPE=Release \
    -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir \
    -DLLVM_EXTERNAL_LIT=/usr/lib/llvm-22/bin/lit \
    -DLLAMAC_SHARED_DIR="$shared" \
    "$@"
fi
ninja -C "$build" -j "$jobs"
