#!/usr/bin/env bash
# CPU benchmark: compiles stories260K and random checkpoints of the
# stories15M and stories110M shapes (f32 and f16, and the f16 one with
# `--quantize int4`, groups of 32 and 128) and of a 1.1B shape (f16 and
# int4) with `llamac compile --target cpu -O2`, runs `llamac-run bench` on
# each and prints one Markdown table.
#
# Usage: bench/cpu.sh [BUILD_DIR]        (default: ./build)
# Environment: LLAMAC_SHARED_DIR (default: ../shared next to the repository),
#              THREADS (2), PROMPT (256), DECODE (128).
# stories260K's context is 512 tokens, which bounds PROMPT + DECODE.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin=$(cd "${1:-$root/build}" && pwd)/bin
shared=${LLAMAC_SHARED_DIR:-$root/../shared}
threads=${THREADS:-2}
prompt=${PROMPT:-256}
decode=${DECODE:-128}
max_seq=$((prompt + decode))

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# write_config NAME DIM LAYERS HEADS FFN: a stories-shaped config (llama2.c's
# tinyllamas: kv heads = heads, vocab 32000) in $work/NAME.json.
write_config() {
  cat >"$work/$1.json" <<JSON
{"architectures": ["LlamaForCausalLM"], "model_type": "llama",
 "vocab_size": 32000, "hidden_size": $2, "intermediate_size": $5,
 "num_hidden_layers": $3, "num_attention_heads": $4,
 "num_key_value_heads": $4, "max_position_embeddings": 1024,
 "rms_norm_eps": 1e-05, "rope_theta": 10000.0, "tie_word_embeddings": false,
 "bos_token_id": 1, "eos_token_id": 2, "torch_dtype": "float32"}
JSON
}

# bench_model LABEL CHECKPOINT [COMPILE OPTION...]: compiles CHECKPOINT and
# benchmarks it into $work/LABEL.bench.json.
labels=()
bench_model() {
  local artifact="$work/$1.lmc"
  echo "compiling $1" >&2
  "$bin/llamac" compile "$2" -o "$artifact" --target cpu -O2 \
    --max-seq "$max_seq" --max-batch 1 "${@:3}"
  echo "benchmarking $1" >&2
  "$bin/llamac-run" bench "$artifact" -p "$prompt" -n "$decode" \
    --threads "$threads" --json >"$work/$1.bench.json"
  labels+=("$1")
}

bench_model stories260K "$shared/models/stories260K/hf"
write_config stories15M 288 6 6 768
write_config stories110M 768 12 12 2048
for shape in stories15M stories110M; do
  for dtype in f32 f16; do
    "$bin/llamac-run" synth --config "$work/$shape.json" \
      -o "$work/$shape-$dtype" --dtype "$dtype" --seed 0
    bench_model "$shape-$dtype" "$work/$shape-$dtype"
  done
done
# stories15M's hidden size (288) takes groups of 32, stories110M's 128.
bench_model stories15M-int4-g32 "$work/stories15M-f16" --quantize int4 --group-size 32
bench_model stories110M-int4-g128 "$work/stories110M-f16" --quantize int4 --group-size 128
# A 1.1B shape (TinyLlama's sizes, kv heads = heads), where f16 decode is
# bound by DRAM and int4 reads 3.2x fewer bytes.
write_config llama1B 2048 22 32 5632
"$bin/llamac-run" synth --config "$work/llama1B.json" -o "$work/llama1B-f16" \
  --dtype f16 --seed 0
bench_model llama1B-f16 "$work/llama1B-f16"
bench_model llama1B-int4-g128 "$work/llama1B-f16" --quantize int4 --group-size 128

python3 - "$work" "$prompt" "$decode" "$threads" "${labels[@]}" <<'PY'
import json, os, sys
work, prompt, decode, threads, *labels = sys.argv[1:]
print(f"CPU, {threads} threads, prompt {prompt} tokens, decode {decode} tokens\n")
print("| model | prompt tok/s | decode tok/s | ms/token | weight MiB/token "
      "| read GB/s | floor tok/s | of floor | load s |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
for label in labels:
    with open(os.path.join(work, label + ".bench.json")) as f:
        r = json.load(f)
    print(f"| {label} | {r['prompt_tokens_per_second']:.1f} "
          f"| {r['decode_tokens_per_second']:.1f} | {r['decode_ms_per_token']:.2f} "
          f"| {r['weight_bytes_per_token'] / 2**20:.2f} "
          f"| {r['bandwidth_gb_per_second']:.2f} "
          f"| {r['floor_tokens_per_second']:.1f} | {100 * r['fraction_of_floor']:.0f}% "
          f"| {r['load_seconds']:.2f} |")
PY
