#!/usr/bin/env python3
"""Checks the CUDA lowering's kernels on the CPU with llamac-gpu-emulate.

    check_emulated_kernels.py --lowered L.mlir --weights MODEL [--dtype f32|f16|bf16]
        (--fixture DIR [--left-padded] | --reference A.lmc --prompt-ids 1,2,3)
        [--steps N] [--tolerance T]

--fixture (a fixtures/hf folder): case 0's prompt logits against Hugging
Face's (`logits_file`, or `last_logits_file`) and the greedy ids against
`greedy_dynamic`; with --left-padded (the lowered model compiled with
--max-batch 2), also `left_padded_batch`'s greedy ids, both rows in one
batch. --reference (a CPU artifact of the same weights): the
prompt's logits and greedy ids against `llamac-run generate` on it. Then, in
both modes, decode against prefill: --steps greedy decode steps (each from
the KV cache: split attention, combined by each head's last block) after a
prefill that computes the logits of the prompt's last position only, as generation does
(bit-identical to that position of the prefill at every position), compared
with one prefill over the generated sequence. Every other comparison is max
|diff| <= --tolerance
(by default from --dtype, the lowered model's compute dtype: 1e-4 for f32,
5e-2 for f16/bf16, whose weights and KV cache are rounded to it). Prints one line per comparison; exits 1 on the first
mismatch. Python 3 standard library only.
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


def run(argv):
    result = subprocess.run(argv, capture_output=True, text=True)
    if result.returncode != 0:
        fail(" ".join(argv) + ": " + result.stderr.strip())
    return result.stdout


def max_diff(actual, expected):
    if len(actual) != len(expected):
        fail("%d logits, expected %d" % (len(actual), len(expected)))
    return max(abs(a - b) for a, b in zip(actual, expected))


def check(name, diff, tolerance):
    verdict = "PASS" if diff <= tolerance else "FAIL"
    print("%s: %s max |diff| %.3g (<= %g)" % (verdict, name, diff, tolerance))
    if verdict == "FAIL":
        sys.exit(1)


class Emulator:
    def __init__(self, args, scratch):
        self.args = args
        self.scratch = scratch

    def run_rows(self, rows, new_tokens, name, all_positions=True):
        """Each row's generated ids, the prompt logits (all positions, or
        each row's last), and the decode logits."""
        logits = os.path.join(self.scratch, name + "-prompt.f32")
        decode = os.path.join(self.scratch, name + "-decode.f32")
        out = run(["llamac-gpu-emulate", self.args.lowered, "--weights", self.args.weights,
                   "--prompt-ids", ";".join(",".join(map(str, row)) for row in rows),
                   "--new-tokens", str(new_tokens),
                   "--dump-logits" if all_positions else "--dump-last-logits", logits,
                   "--dump-decode-logits", decode])
        generated = [[int(token) for token in line.split(",")] for line in out.split()]
        return generated, read_floats(logits), read_floats(decode)

    def run(self, ids, new_tokens, name, all_positions=True):
        generated, logits, decode = self.run_rows([ids], new_tokens, name, all_positions)
        return generated[0], logits, decode


def against_fixture(emulator, fixture, tolerance):
    with open(os.path.join(fixture, "golden.json")) as f:
        case = json.load(f)["cases"][0]
    prompt, greedy = case["input_ids"], case["greedy_dynamic"]
    ids, logits, _ = emulator.run(prompt, len(greedy), "fixture")
    if "logits_file" in case:
        expected = read_floats(os.path.join(fixture, case["logits_file"]))
    else:
        expected = read_floats(os.path.join(fixture, case["last_logits_file"]))
        logits = logits[len(logits) - len(expected):]
    check("prompt logits vs Hugging Face (%d tokens)" % len(prompt),
          max_diff(logits, expected), tolerance)
    # Hugging Face stops at EOS; the emulator runs the full count.
    if ids[:len(greedy)] != greedy:
        fail("greedy ids %s, Hugging Face %s" % (ids[:len(greedy)], greedy))
    print("PASS: %d greedy ids as Hugging Face" % len(greedy))
    return prompt


def left_padded_batch(emulator, fixture):
    with open(os.path.join(fixture, "golden.json")) as f:
        batch = json.load(f)["left_padded_batch"]
    rows = [[token for token, real in zip(ids, mask) if real]
            for ids, mask in zip(batch["input_ids"], batch["attention_mask"])]
    steps = max(len(row) for row in batch["greedy"])
    generated, _, _ = emulator.run_rows(rows, steps, "batch")
    for index, (ids, expected) in enumerate(zip(generated, batch["greedy"])):
        if ids[:len(expected)] != expected:
            fail("left-padded row %d: greedy ids %s, Hugging Face %s" %
                 (index, ids[:len(expected)], expected))
    print("PASS: left-padded batch of %d rows, greedy ids as Hugging Face" % len(rows))


def against_reference(emulator, reference, prompt, steps, tolerance, scratch):
    logits_path = os.path.join(scratch, "reference.f32")
    out = run(["llamac-run", "generate", reference, "--prompt-ids", ",".join(map(str, prompt)),
               "--max-new-tokens", str(steps), "--ignore-eos", "--dump-logits", logits_path])
    expected_ids = [int(token) for token in out.split()]
    ids, logits, _ = emulator.run(prompt, steps, "reference")
    check("prompt logits vs the CPU artifact (%d tokens)" % len(prompt),
          max_diff(logits, read_floats(logits_path)), tolerance)
    if ids != expected_ids:
        fail("greedy ids %s, CPU artifact %s" % (ids, expected_ids))
    print("PASS: %d greedy ids as the CPU artifact" % len(ids))


def decode_against_prefill(emulator, prompt, steps, tolerance):
    ids, last, decode = emulator.run(prompt, steps, "decode", all_positions=False)
    _, every, _ = emulator.run(prompt, 1, "every")
    vocab = len(last)
    diff = max_diff(last, every[(len(prompt) - 1) * vocab:])
    if diff != 0:
        fail("the prompt's last position computed alone is %.3g from the prefill "
             "at every position" % diff)
    print("PASS: the prompt's last position computed alone, bit-identical")
    sequence = prompt + ids[:-1]
    _, logits, _ = emulator.run(sequence, 1, "prefill")
    # Decode step i predicts from position len(prompt) + i.
    tail = logits[len(prompt) * vocab:]
    check("%d decode steps from position %d vs one prefill" % (steps - 1, len(prompt)),
          max_diff(decode, tail), tolerance)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lowered", required=True)
    parser.add_argument("--weights", required=True)
    # The lowered model's compute dtype: it sets the default tolerance.
    parser.add_argument("--dtype", default="f32", choices=["f32", "f16", "bf16"])
    parser.add_argument("--fixture")
    parser.add_argument("--left-padded", action="store_true")
    parser.add_argument("--reference")
    parser.add_argument("--prompt-ids")
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--tolerance", type=float)
    args = parser.parse_args()
    if bool(args.fixture) == bool(args.reference):
        fail("give --fixture or --reference")
    if args.steps < 2:
        fail("--steps must be at least 2")
    tolerance = args.tolerance or (1e-4 if args.dtype == "f32" else 5e-2)
    with tempfile.TemporaryDirectory() as scratch:
        emulator = Emulator(args, scratch)
        if args.fixture:
            prompt = against_fixture(emulator, args.fixture, tolerance)
            if args.left_padded:
                left_padded_batch(emulator, args.fixture)
        else:
            if not args.prompt_ids:
                fail("--reference needs --prompt-ids")
            prompt = [int(token) for token in args.prompt_ids.split(",")]
            against_reference(emulator, args.reference, prompt, args.steps, tolerance, scratch)
        decode_against_prefill(emulator, prompt, args.steps, tolerance)


if __name__ == "__main__":
    main()
