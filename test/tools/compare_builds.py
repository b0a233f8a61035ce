#!/usr/bin/env python3
"""Compares the logits of two artifacts of one checkpoint on a fixture's prompts.

    compare_builds.py --fixture DIR --tolerance 1e-5 A.lmc B.lmc [C.lmc ...]

For every prompt in the fixture's golden.json (the classifier's rows for a
sequence-classification fixture), every artifact after the first must give
logits within --tolerance (max abs) of the first's. Prints one line per
comparison; exits 1 at the first mismatch. Python 3 standard library only.
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


def run(runner, args):
    result = subprocess.run([runner] + args, capture_output=True, text=True)
    if result.returncode != 0:
        fail(" ".join(args) + ": " + result.stderr.strip())
    return result.stdout


def prompt_logits(runner, artifact, ids, scratch):
    dump = os.path.join(scratch, "logits.f32")
    run(runner, ["generate", artifact, "--prompt-ids", ",".join(map(str, ids)),
                 "--max-new-tokens", "1", "--dump-logits", dump])
    return read_floats(dump)


def classifier_scores(runner, artifact, rows):
    ids = ";".join(",".join(map(str, row)) for row in rows)
    scores = json.loads(run(runner, ["classify", artifact, "--prompt-ids", ids, "--json"]))
    return [value for row in scores["logits"] for value in row]


def compare(what, reference, actual, tolerance):
    if len(reference) != len(actual):
        fail("%s: %d values vs %d" % (what, len(actual), len(reference)))
    diff = max(abs(a - b) for a, b in zip(reference, actual))
    if diff > tolerance:
        fail("%s: max |diff| %.3g > %g" % (what, diff, tolerance))
    print("%s: max |diff| %.3g <= %g" % (what, diff, tolerance))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fixture", required=True)
    parser.add_argument("--tolerance", type=float, required=True)
    parser.add_argument("--runner", default="llamac-run")
    parser.add_argument("artifacts", nargs="+")
    args = parser.parse_args()
    if len(args.artifacts) < 2:
        fail("give at least two artifacts")
    with open(os.path.join(args.fixture, "golden.json")) as f:
        golden = json.load(f)
    reference, *others = args.artifacts
    with tempfile.TemporaryDirectory() as scratch:
        if "cases" not in golden:
            expected = classifier_scores(args.runner, reference, golden["input_ids"])
            for other in others:
                compare("scores " + os.path.basename(other), expected,
                        classifier_scores(args.runner, other, golden["input_ids"]),
                        args.tolerance)
            return
        for index, case in enumerate(golden["cases"]):
            expected = prompt_logits(args.runner, reference, case["input_ids"], scratch)
            for other in others:
                actual = prompt_logits(args.runner, other, case["input_ids"], scratch)
                compare("case %d %s" % (index, os.path.basename(other)), expected,
                        actual, args.tolerance)


if __name__ == "__main__":
    main()
