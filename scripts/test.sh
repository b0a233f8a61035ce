#!/usr/bin/env bash
# Installs the dependencies, builds, and runs every test (lit + GoogleTest),
# ending with one line "N passed, N failed, N skipped".
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh"
ninja -C "${LLAMAC_BUILD_DIR:-$root/build}" check-llamac
