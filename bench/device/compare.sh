#!/usr/bin/env bash
# A/B of builds on the GPU machine: times batch-1 decode (ctx 256, as
# bench.sh's headline row) of each given CUDA artifact on the same weights,
# twice in alternating order (A B A B) so that drift between runs shows,
# and prints one line per run: decode tok/s, GPU ms/token, kernels/token,
# and the prefill's tok/s (512 tokens; LLAMAC_COMPARE_PROMPT sets another
# prompt length).
# Meant for artifacts built here from other commits, patches or options
# (--gemm-tile), carried in .device (bench/NOTES.md names what each was
# built from). LLAMAC_COMPARE_TOKENS sets the decode tokens per run (128);
# fewer when only prefill is compared. WEIGHTS_DIR "random" binds
# --random-weights instead (the same values for every artifact of a shape:
# no checkpoint needed, e.g. for int4 builds).
#
#   bash bench/device/compare.sh WEIGHTS_DIR|random ARTIFACT...
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
device=$root/.device
weights=${1:?usage: compare.sh WEIGHTS_DIR|random ARTIFACT...}
shift
[ $# -gt 0 ] || { echo "usage: compare.sh WEIGHTS_DIR|random ARTIFACT..." >&2; exit 2; }
export LD_LIBRARY_PATH=$device/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
source=(--weights "$weights")
[ "$weights" = random ] && source=(--random-weights)

status=0
for round in 1 2; do
  for artifact in "$@"; do
    if ! json=$("$device/bin/llamac-run" bench "$artifact" "${source[@]}" \
        -p "${LLAMAC_COMPARE_PROMPT:-512}" -n "${LLAMAC_COMPARE_TOKENS:-128}" \
        --ctx 256 --json); then
      echo "$(basename "$artifact") round $round: FAILED"
      status=1
      continue
    fi
    python3 -c '
import json, sys
r = json.loads(sys.argv[1])
print("{} round {}: {:.1f} tok/s, GPU {:.3f} ms/token, {} kernels/token, prefill of {} {:.0f} tok/s".format(
    sys.argv[2], sys.argv[3], r["decode_tokens_per_second"], r["gpu_ms_per_token"],
    r["kernels_per_token"], r["prompt_tokens"], r["prompt_tokens_per_second"]))
' "$json" "$(basename "$artifact")" "$round"
  done
done
exit $status
