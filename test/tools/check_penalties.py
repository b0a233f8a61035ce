#!/usr/bin/env python3
"""Checks greedy generation under a logit bias, the repetition, presence
and frequency penalties and Hugging Face's bans against them applied here to
the run's own raw logits.

    check_penalties.py --artifact A.lmc --prompt-ids IDS --new-tokens N
                       [--bias ID:B]... [--repetition R] [--presence P]
                       [--frequency F] [--no-repeat-ngram N]
                       [--min-new-tokens M]

Generates N greedy tokens (--ignore-eos), dumping the prompt's logits and
every decode step's. For step i the raw logits (the prompt's last position,
then decode step i - 1) get B added to token ID's, Hugging Face's repetition
penalty over the prompt and the tokens generated before i, then OpenAI's:
minus P for each token generated before i, minus F per time it was; then
Hugging Face's NoRepeatNGramLogitsProcessor bans each token that would end
an N-gram of the prompt and tokens before i a second time, and
MinNewTokensLengthLogitsProcessor bans the artifact's EOS while i < M. The
token generated must be their argmax (within 1e-5: float32 rounding here and there). Fails too
if no step chose other than the raw argmax: the penalties went unchecked.

Prints one line and exits 1 at the first mismatch.
Python 3 standard library only.
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile

from float32_file import read_floats


def fail(message):
    print("FAIL: " + message)
    sys.exit(1)


def penalized(raw, history, generated, args):
    logits = list(raw)
    for token, bias in args.bias:
        logits[token] += bias
    for token in set(history):
        value = logits[token]
        logits[token] = value * args.repetition if value < 0 \
            else value / args.repetition
    for token in set(generated):
        logits[token] -= args.presence + args.frequency * generated.count(token)
    for token in repeated_ngram_ends(history, args.no_repeat_ngram):
        logits[token] = -math.inf
    if len(generated) < args.min_new_tokens:
        logits[args.eos] = -math.inf
    return logits


def repeated_ngram_ends(history, n):
    """The tokens that would end an n-gram of `history` a second time, as
    Hugging Face's _calc_banned_ngram_tokens finds them."""
    if n <= 0 or len(history) + 1 < n:
        return set()
    tail = history[len(history) - (n - 1):]
    return {history[start + n - 1] for start in range(len(history) - n + 1)
            if history[start:start + n - 1] == tail}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artifact", required=True)
    parser.add_argument("--prompt-ids", required=True)
    parser.add_argument("--new-tokens", type=int, required=True)
    parser.add_argument("--repetition", type=float, default=1.0)
    parser.add_argument("--presence", type=float, default=0.0)
    parser.add_argument("--frequency", type=float, default=0.0)
    parser.add_argument("--bias", action="append", default=[])
    parser.add_argument("--no-repeat-ngram", type=int, default=0)
    parser.add_argument("--min-new-tokens", type=int, default=0)
    args = parser.parse_args()
    with open(os.path.join(args.artifact, "manifest.json")) as f:
        args.eos = json.load(f)["config"]["eos_token_id"]
    bias_flags = []
    for entry in args.bias:
        bias_flags += ["--logit-bias", entry]
    args.bias = [(int(entry.split(":")[0]), float(entry.split(":")[1]))
                 for entry in args.bias]
    prompt = [int(i) for i in args.prompt_ids.split(",")]
    with tempfile.TemporaryDirectory() as scratch:
        prompt_dump = os.path.join(scratch, "prompt.f32")
        decode_dump = os.path.join(scratch, "decode.f32")
        result = subprocess.run(
            ["llamac-run", "generate", args.artifact, "--prompt-ids",
             args.prompt_ids, "--max-new-tokens", str(args.new_tokens),
             "--ignore-eos", "--temperature", "0", "--json",
             "--repetition-penalty", str(args.repetition),
             "--presence-penalty", str(args.presence),
             "--frequency-penalty", str(args.frequency),
             "--no-repeat-ngram-size", str(args.no_repeat_ngram),
             "--min-new-tokens", str(args.min_new_tokens)] + bias_flags + [
             "--dump-logits", prompt_dump, "--dump-decode-logits", decode_dump],
            capture_output=True, text=True)
        if result.returncode != 0:
            fail(result.stderr.strip())
        generated = json.loads(result.stdout)["generated_ids"][0]
        prompt_logits = read_floats(prompt_dump)
        decode_logits = read_floats(decode_dump)
    vocab = len(prompt_logits) // len(prompt)
    steered = 0
    for i, token in enumerate(generated):
        raw = (prompt_logits[-vocab:] if i == 0
               else decode_logits[(i - 1) * vocab:i * vocab])
        logits = penalized(raw, prompt + generated[:i], generated[:i], args)
        best = max(range(vocab), key=lambda t: (logits[t], -t))
        if logits[token] < logits[best] - 1e-5:
            fail("step %d: generated %d (%.6g), the penalized argmax is %d "
                 "(%.6g)" % (i, token, logits[token], best, logits[best]))
        raw_best = max(range(vocab), key=lambda t: (raw[t], -t))
        steered += token != raw_best
    if steered == 0:
        fail("every token was the raw argmax: the penalties changed nothing")
    print("%d tokens: each the argmax of its penalized logits; %d not the "
          "raw argmax" % (len(generated), steered))


if __name__ == "__main__":
    main()
