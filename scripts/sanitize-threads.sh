#!/usr/bin/env bash
# Builds the server's GoogleTest units (and the runtime under them) with
# clang-22 and ThreadSanitizer in build-tsan, compiler off, and runs them:
# `llamac-run serve` gives each connection a thread, answers some requests
# on those threads and hands completions to the model's, so a data race
# there fails a test. Ends with the line "N passed, N failed, N skipped".
#
# Usage: scripts/sanitize-threads.sh [lit args...]
#   LLAMAC_TSAN_BUILD_DIR  build directory (default ./build-tsan)
#   LLAMAC_SHARED_DIR      the shared fixtures (default ../shared)
#   LLAMAC_JOBS            build jobs (default 2)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh" >/dev/null
build=${LLAMAC_TSAN_BUILD_DIR:-$root/build-tsan}
shared=$(cd "${LLAMAC_SHARED_DIR:-$root/../shared}" && pwd)
jobs=${LLAMAC_JOBS:-2}
llvm=/usr/lib/llvm-22/bin

"$root/scripts/configure-sanitized.sh" "$build" thread \
  -DLLVM_EXTERNAL_LIT="$llvm/lit" -DLLAMAC_SHARED_DIR="$shared"
ninja -C "$build" -j "$jobs" ServerTests

export TSAN_OPTIONS=halt_on_error=1:abort_on_error=1:second_deadlock_stack=1
export LLAMAC_SANITIZE=thread
exec "$root/scripts/lit-summary.sh" "$llvm/lit" "$build/test" \
  --filter '^llamac-unit :: server/' "$@"
