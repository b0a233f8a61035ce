#!/usr/bin/env bash
# Installs everything llamac needs to build and test on Debian 12 (idempotent).
# CUDA is optional: the CUDA target is built when /usr/local/cuda exists.
# libclang-rt-22-dev: clang-22's sanitizer runtimes and libFuzzer
# (scripts/sanitize.sh, scripts/fuzz.sh).
# tmux: test/Chat/terminal.test types into `llamac-run chat` on a terminal.
set -euo pipefail

packages=(
  build-essential cmake ninja-build git python3
  llvm-22-dev llvm-22-tools libmlir-22-dev mlir-22-tools libomp-22-dev clang-22
  libclang-rt-22-dev
  libsentencepiece-dev sentencepiece nlohmann-json3-dev
  libgtest-dev googletest
  tmux
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all packages present"
  exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
