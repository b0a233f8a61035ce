#!/usr/bin/env bash
# What a prompt-lookup step costs on this card: the prefill call of T tokens
# (the last token and T - 1 draft tokens) against one decode step, from
# `llamac-run bench -p T` on the given weights (each the median of its 3
# runs). A step that keeps K draft tokens yields K + 1 tokens, so prompt
# lookup pays where the tokens a step yields exceed the ratio printed.
#
#   bash bench/device/verify_cost.sh ARTIFACT WEIGHTS_DIR [T...]   (1 2 4 8 16)
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
device=$root/.device
artifact=${1:?usage: verify_cost.sh ARTIFACT WEIGHTS_DIR [T...]}
weights=${2:?usage: verify_cost.sh ARTIFACT WEIGHTS_DIR [T...]}
shift 2
lengths=("$@")
[ ${#lengths[@]} -gt 0 ] || lengths=(1 2 4 8 16)
export LD_LIBRARY_PATH=$device/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}

echo "| T | prefill of T (ms) | decode step (ms) | ratio |"
echo "| ---: | ---: | ---: | ---: |"
status=0
for length in "${lengths[@]}"; do
  if ! json=$("$device/bin/llamac-run" bench "$artifact" --weights "$weights" \
      -p "$length" -n 16 --json); then
    echo "| $length | FAILED | | |"
    status=1
    continue
  fi
  python3 -c '
import json, sys
r = json.loads(sys.argv[1])
prefill = 1e3 * r["prompt_tokens"] / r["prompt_tokens_per_second"]
decode = r["decode_ms_per_token"]
print("| %d | %.3f | %.3f | %.2f |" % (r["prompt_tokens"], prefill, decode, prefill / decode))
' "$json"
done
exit $status
