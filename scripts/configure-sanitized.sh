#!/usr/bin/env bash
# Configures BUILD_DIR once as a clang-22 build of the MLIR-free parts
# (frontends, runtime, tokenizer, llamac-run) instrumented with SANITIZERS
# (a -fsanitize= list); further arguments go to cmake. Used by sanitize.sh
# and fuzz.sh.
#
#   scripts/configure-sanitized.sh BUILD_DIR SANITIZERS [CMAKE_ARGS...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$1
sanitizers=$2
shift 2
[ -f "$build/build.ninja" ] && exit 0
flags="-O1 -fno-omit-frame-pointer -fsanitize=$sanitizers -fno-sanitize-recover=all"
cmake -G Ninja -S "$root" -B "$build" \
  -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 \
  -DCMAKE_C_FLAGS="$flags" -DCMAKE_CXX_FLAGS="$flags" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=$sanitizers" \
  -DCMAKE_SHARED_LINKER_FLAGS="-fsanitize=$sanitizers" \
  -DCMAKE_MODULE_LINKER_FLAGS="-fsanitize=$sanitizers" \
  -DLLAMAC_ENABLE_COMPILER=OFF \
  "$@" >/dev/null
