#!/usr/bin/env python3
"""Checks greedy generation under a logit bias and the repetition, presence
and frequency penalties against them applied here to the run's own raw
logits.

    check_penalties.py --artifact A.lmc --prompt-ids IDS --new-tokens N
                       [--bias ID:B]... [--repetition R] [--presence P]
                       [--frequency F]

Generates N greedy tokens (--ignore-eos), dumping the prompt's logits and
every decode step's. For step i the raw logits (the prompt's last position,
then decode step i - 1) get B added to token ID's, Hugging Face's repetition
penalty over the prompt and the tokens generated before i, then OpenAI's:
minus P for each token generated before i, minus F per time it was. The token generated must
be their argmax (within 1e-5: float32 rounding here and there). Fails too
if no step chose other than the raw argmax: the penalties went unchecked.

Prints one line and exits 1 at the first mismatch.
Python 3 standard library only.
"""
import argparse
import json
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
    return logits


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artifact", required=True)
    parser.add_argument("--prompt-ids", required=True)
    parser.add_argument("--new-tokens", type=int, required=True)
    parser.add_argument("--repetition", type=float, default=1.0)
    parser.add_argument("--presence", type=float, default=0.0)
    parser.add_argument("--frequency", type=float, default=0.0)
    parser.add_argument("--bias", action="append", default=[])
    args = parser.parse_args()
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
             "--frequency-penalty", str(args.frequency)] + bias_flags + [
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
