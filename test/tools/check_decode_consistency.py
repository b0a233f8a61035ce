#!/usr/bin/env python3
"""Checks that decoding token by token with the KV cache computes what a full
recomputation without it does.

    check_decode_consistency.py --artifact A.lmc --prompt-ids 1,2,3 --steps N

Generates N greedy tokens after the prompt, keeping every decode step's
logits (each computed from the cache); then prefills the whole sequence at
once and compares those positions' logits: max |diff| <= --tolerance.
Python 3 standard library only.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

from float32_file import read_floats


def run(args):
    result = subprocess.run(["llamac-run"] + args, capture_output=True, text=True)
    if result.returncode != 0:
        print("FAIL: llamac-run %s: %s" % (" ".join(args), result.stderr.strip()))
        sys.exit(1)
    return result.stdout


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artifact", required=True)
    parser.add_argument("--prompt-ids", required=True)
    parser.add_argument("--steps", type=int, required=True)
    parser.add_argument("--tolerance", type=float, default=1e-5)
    args = parser.parse_args()
    prompt = [int(i) for i in args.prompt_ids.split(",")]
    with tempfile.TemporaryDirectory() as scratch:
        decoded = os.path.join(scratch, "decode.f32")
        full = os.path.join(scratch, "full.f32")
        out = json.loads(run(["generate", args.artifact, "--prompt-ids", args.prompt_ids,
                              "--max-new-tokens", str(args.steps), "--json",
                              "--dump-decode-logits", decoded]))
        generated = out["generated_ids"][0]
        # Decode step i ran generated[i] at position len(prompt) + i.
        sequence = prompt + generated[:-1]
        run(["generate", args.artifact, "--prompt-ids", ",".join(map(str, sequence)),
             "--max-new-tokens", "1", "--dump-logits", full])
        step_logits = read_floats(decoded)
        full_logits = read_floats(full)
        steps = len(generated) - 1
        vocab = len(step_logits) // steps
        recomputed = full_logits[len(prompt) * vocab:]
        if len(recomputed) != len(step_logits):
            print("FAIL: %d decode logits vs %d recomputed" % (len(step_logits), len(recomputed)))
            sys.exit(1)
        diff = max(abs(a - b) for a, b in zip(step_logits, recomputed))
        verdict = "<=" if diff <= args.tolerance else ">"
        print("%d decode steps: max |diff| %.3g %s %g" % (steps, diff, verdict, args.tolerance))
        sys.exit(0 if diff <= args.tolerance else 1)


if __name__ == "__main__":
    main()
