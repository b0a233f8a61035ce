#!/usr/bin/env bash
# Builds the runtime, the frontends, the tokenizer, llamac-run and their
# GoogleTest units with clang-22 and AddressSanitizer + UndefinedBehavior-
# Sanitizer (-fno-sanitize-recover=all; LeakSanitizer on) in build-asan,
# compiler off, and runs there every GoogleTest unit and the lit suites that
# run without the compiler (test/Runtime, test/Tokenizer, test/Reliability;
# their tests that need it report UNSUPPORTED, the other suites EXCLUDED).
# The MLIR compiler is not built: Debian's libMLIR is not sanitized (see
# docs/RELIABILITY.md). Any sanitizer report aborts the process and fails
# its test. Ends with the line "N passed, N failed, N skipped".
#
# Usage: scripts/sanitize.sh [lit args...]
#   LLAMAC_ASAN_BUILD_DIR  build directory (default ./build-asan)
#   LLAMAC_SHARED_DIR      the shared fixtures (default ../shared)
#   LLAMAC_JOBS            build jobs (default 2)
#   LLAMAC_SANITIZE_FILTER which tests run (a lit --filter regex)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh" >/dev/null
build=${LLAMAC_ASAN_BUILD_DIR:-$root/build-asan}
shared=$(cd "${LLAMAC_SHARED_DIR:-$root/../shared}" && pwd)
jobs=${LLAMAC_JOBS:-2}
llvm=/usr/lib/llvm-22/bin

"$root/scripts/configure-sanitized.sh" "$build" address,undefined \
  -DLLVM_EXTERNAL_LIT="$llvm/lit" -DLLAMAC_SHARED_DIR="$shared"
ninja -C "$build" -j "$jobs" llamac-run llamac-unittests

# abort_on_error: a report ends in SIGABRT, never in a plain exit status 1
# that a test expecting a clean error could take for one.
export ASAN_OPTIONS=abort_on_error=1:detect_leaks=1:check_initialization_order=1:strict_init_order=1:detect_stack_use_after_return=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:abort_on_error=1
export ASAN_SYMBOLIZER_PATH=$llvm/llvm-symbolizer
export LLAMAC_SANITIZE=address,undefined
filter=${LLAMAC_SANITIZE_FILTER:-'^llamac-unit :: |^llamac :: (Runtime|Tokenizer|Reliability)/'}
exec "$root/scripts/lit-summary.sh" "$llvm/lit" "$build/test" --filter "$filter" "$@"
