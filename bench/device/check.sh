#!/usr/bin/env bash
# Checks the CUDA backend on a GPU machine, from what prepare.sh put in
# .device/ (nothing is built here): every fixture's f32 logits and greedy
# ids against Hugging Face, f16/bf16 teacher-forced logits, GPU against CPU,
# CUDA graph against direct launches, and compute-sanitizer memcheck.
# Prints a table and PASS/FAIL lines; exits non-zero on any failure.
#
#   bash bench/device/check.sh
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
device=$root/.device
if [ ! -x "$device/bin/llamac-run" ]; then
  echo "FAIL: $device/bin/llamac-run missing: run bench/device/prepare.sh first"
  exit 1
fi
export LD_LIBRARY_PATH=$device/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null \
  || echo "(nvidia-smi unavailable)"
exec python3 "$root/bench/device/check_device.py" --device-dir "$device" \
  --golden-checker "$root/test/tools/check_golden.py" \
  --lookup-checker "$root/test/tools/check_prompt_lookup.py"
