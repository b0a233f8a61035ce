#!/usr/bin/env python3
"""Checks `llamac-run` on a compiled artifact against a fixture's golden.json.

    check_golden.py --artifact A.lmc --fixture DIR [--tolerance 1e-4]

Causal LM fixtures (see fixtures/hf/README.md): for every case, the prompt's
logits (--dump-logits) against `logits_file` (or the last position against
`last_logits_file`) and the greedy ids against `greedy_dynamic`; then the
`left_padded_batch` rows' greedy ids, and `greedy_from_bos` when present.
Sequence-classification fixtures: `classify` against `logits`.

Prints one line per comparison and exits 1 at the first mismatch.
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


def run_json(runner, args):
    result = subprocess.run([runner] + args, capture_output=True, text=True)
    if result.returncode != 0:
        fail(" ".join(args) + " exited with " + str(result.returncode) + ": " +
             result.stderr.strip())
    return json.loads(result.stdout)


def prompt_ids(rows):
    return ";".join(",".join(str(i) for i in row) for row in rows)


def max_abs_diff(actual, expected, what):
    if len(actual) != len(expected):
        fail("%s: %d values, expected %d" % (what, len(actual), len(expected)))
    return max(abs(a - e) for a, e in zip(actual, expected))


def until_eos(ids, eos):
    """Hugging Face keeps emitting padding after EOS; llamac-run stops."""
    return ids[:ids.index(eos) + 1] if eos in ids else ids


def generate(args, rows, new_tokens, dump=None):
    command = ["generate", args.artifact, "--prompt-ids", prompt_ids(rows),
               "--max-new-tokens", str(new_tokens), "--json"]
    if dump:
        command += ["--dump-logits", dump]
    return run_json(args.runner, command)["generated_ids"]


def check_ids(what, actual, expected):
    if actual != expected:
        fail("%s: greedy ids %s, expected %s" % (what, actual, expected))
    print("%s: greedy ids match (%d tokens)" % (what, len(expected)))


def check_case(args, index, case, eos, scratch):
    what = "case %d" % index
    dump = os.path.join(scratch, "logits_%d.f32" % index)
    expected_ids = until_eos(case["greedy_dynamic"], eos)
    generated = generate(args, [case["input_ids"]], len(case["greedy_dynamic"]),
                         dump)
    logits = read_floats(dump)
    if "logits_file" in case:
        reference = read_floats(os.path.join(args.fixture, case["logits_file"]))
    else:
        reference = read_floats(os.path.join(args.fixture,
                                              case["last_logits_file"]))
        logits = logits[len(logits) - len(reference):]
    diff = max_abs_diff(logits, reference, what + " logits")
    if diff > args.tolerance:
        fail("%s: logits max |diff| %.3g > %g" % (what, diff, args.tolerance))
    print("%s: logits max |diff| %.3g <= %g" % (what, diff, args.tolerance))
    check_ids(what, generated[0], expected_ids)


def check_left_padded_batch(args, batch, eos):
    rows = [[token for token, keep in zip(ids, mask) if keep]
            for ids, mask in zip(batch["input_ids"], batch["attention_mask"])]
    new_tokens = max(len(ids) for ids in batch["greedy"])
    generated = generate(args, rows, new_tokens)
    for row, (actual, expected) in enumerate(zip(generated, batch["greedy"])):
        check_ids("left-padded batch row %d" % row, actual,
                  until_eos(expected, eos))


def check_causal(args, golden, config):
    eos = config.get("eos_token_id", 2)
    with tempfile.TemporaryDirectory() as scratch:
        for index, case in enumerate(golden["cases"]):
            check_case(args, index, case, eos, scratch)
    if "left_padded_batch" in golden:
        check_left_padded_batch(args, golden["left_padded_batch"], eos)
    if "greedy_from_bos" in golden:
        expected = golden["greedy_from_bos"]
        generated = generate(args, [[config.get("bos_token_id", 1)]],
                             len(expected))
        check_ids("from BOS", generated[0], until_eos(expected, eos))


def check_classifier(args, golden):
    scores = run_json(args.runner, ["classify", args.artifact, "--prompt-ids",
                                    prompt_ids(golden["input_ids"]), "--json"])
    actual = [value for row in scores["logits"] for value in row]
    expected = [value for row in golden["logits"] for value in row]
    diff = max_abs_diff(actual, expected, "scores")
    if diff > args.tolerance:
        fail("scores max |diff| %.3g > %g" % (diff, args.tolerance))
    print("scores max |diff| %.3g <= %g" % (diff, args.tolerance))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artifact", required=True)
    parser.add_argument("--fixture", required=True)
    parser.add_argument("--runner", default="llamac-run")
    parser.add_argument("--tolerance", type=float, default=1e-4)
    args = parser.parse_args()
    with open(os.path.join(args.fixture, "golden.json")) as f:
        golden = json.load(f)
    with open(os.path.join(args.fixture, "config.json")) as f:
        config = json.load(f)
    if "cases" in golden:
        check_causal(args, golden, config)
    else:
        check_classifier(args, golden)


if __name__ == "__main__":
    main()
