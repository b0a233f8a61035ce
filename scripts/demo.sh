#!/usr/bin/env bash
# The main job end to end: install, build, compile a model to an artifact and
# run the compiled generator on it.
#
#   scripts/demo.sh [MODEL] [PROMPT]
#
# MODEL defaults to the real stories260K checkpoint in ../shared when it is
# there; otherwise a random checkpoint of the same shape is synthesized (its
# text is noise). Point MODEL at any Hugging Face Llama 2 directory
# (config.json + *.safetensors + tokenizer.model) or llama2.c .bin to run it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${LLAMAC_BUILD_DIR:-$root/build}
shared=${LLAMAC_SHARED_DIR:-$root/../shared}
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh"

model=${1:-}
prompt=${2:-Once upon a time}
work="$build/demo"
mkdir -p "$work"
if [ -z "$model" ]; then
  if [ -d "$shared/models/stories260K/hf" ]; then
    model="$shared/models/stories260K/hf"
    echo "demo: using the trained stories260K checkpoint at $model"
  else
    model="$work/random-stories260K"
    cat > "$work/stories260K-shape.json" <<'JSON'
{"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 512,
 "hidden_size": 64, "intermediate_size": 172, "num_hidden_layers": 5,
 "num_attention_heads": 8, "num_key_value_heads": 4, "max_position_embeddings": 512,
 "rms_norm_eps": 1e-05, "rope_theta": 10000.0, "tie_word_embeddings": true,
 "torch_dtype": "float32"}
JSON
    "$build/bin/llamac-run" synth --config "$work/stories260K-shape.json" -o "$model"
    echo "demo: $shared is missing, so this runs a RANDOM checkpoint of the stories260K shape"
    echo "demo: (it has no tokenizer; pass a real checkpoint: scripts/demo.sh /path/to/Llama-2-7b-hf)"
  fi
fi

artifact="$work/model.lmc"
"$build/bin/llamac" compile "$model" -o "$artifact" --target cpu -O2 --force
"$build/bin/llamac" inspect "$artifact" 2>/dev/null || true
if [ -f "$artifact/tokenizer.model" ]; then
  printf '%s' "$prompt"   # the generated text continues it
  "$build/bin/llamac-run" generate "$artifact" -p "$prompt" --max-new-tokens 200 --temperature 0
else
  "$build/bin/llamac-run" generate "$artifact" --prompt-ids 1 --max-new-tokens 64
fi
