#!/usr/bin/env python3
"""Checks `llamac-run generate --logprobs N --json` against log-softmaxes
computed here.

    check_logprobs.py --artifact A.lmc --fixture DIR [--top N] [-- FLAGS...]

For each case of the fixture's golden.json: the first generated token follows
the prompt's last position, whose logits Hugging Face stored, so its
log-probability and the N most likely tokens (ids in order, lowest id among
equal logits) are checked against the log-softmax of HF's logits, within twice
the logits' tolerance (fixtures/hf/README.md: 1e-4; a log-probability is a
logit minus a log-sum-exp of logits). Every later token's against the
log-softmax of the decode logits the same run dumps (--dump-decode-logits),
within float32 rounding (an ulp). FLAGS (sampling settings) go to generate: the
log-probabilities are the raw logits', whatever the sampling does.

Prints one line per case and exits 1 at the first mismatch.
Python 3 standard library only.
"""
import argparse
import json
import math
import os
import tempfile

from check_golden import fail, prompt_ids, run_json
from float32_file import read_floats

LOGITS_TOLERANCE = 1e-4


def log_softmax(logits):
    largest = max(logits)
    normalizer = largest + math.log(sum(math.exp(v - largest) for v in logits))
    return [v - normalizer for v in logits]


def most_likely(logprobs, count):
    return sorted(range(len(logprobs)), key=lambda i: (-logprobs[i], i))[:count]


def check_token(what, token, chosen, expected, top, tolerance):
    """`token`: generate's entry; `expected`: the reference log-softmax row;
    `tolerance(value)`: how far an entry may be from the reference value."""
    if token["id"] != chosen:
        fail("%s: entry for id %d, generated %d" % (what, token["id"], chosen))
    ids = [entry["id"] for entry in token["top"]]
    if ids != most_likely(expected, top):
        fail("%s: top ids %s, expected %s" % (what, ids,
                                                most_likely(expected, top)))
    worst = 0.0
    for entry in [token] + token["top"]:
        diff = abs(entry["logprob"] - expected[entry["id"]])
        if diff > tolerance(expected[entry["id"]]):
            fail("%s: id %d log-probability %.9g, expected %.9g" %
                 (what, entry["id"], entry["logprob"], expected[entry["id"]]))
        worst = max(worst, diff)
    return worst


def float32_rounding(value):
    """An ulp of a float32 near `value`: half for rounding the double to a
    float32, half for the shortest text that reads back as that float32; and
    the double sums' order."""
    return 2.0 ** -23 * max(1.0, abs(value)) + 1e-12


def reference_last_row(args, case):
    if "logits_file" in case:
        logits = read_floats(os.path.join(args.fixture, case["logits_file"]))
        vocab = case["logits_shape"][1]
        return logits[len(logits) - vocab:]
    return read_floats(os.path.join(args.fixture, case["last_logits_file"]))


def check_case(args, index, case, scratch):
    dump = os.path.join(scratch, "decode_%d.f32" % index)
    new_tokens = len(case["greedy_dynamic"])
    output = run_json(args.runner, [
        "generate", args.artifact, "--prompt-ids", prompt_ids([case["input_ids"]]),
        "--max-new-tokens", str(new_tokens), "--logprobs", str(args.top),
        "--dump-decode-logits", dump, "--json"] + args.flags)
    generated = output["generated_ids"][0]
    tokens = output["logprobs"][0]
    if len(tokens) != len(generated):
        fail("case %d: %d log-probability entries for %d tokens" %
             (index, len(tokens), len(generated)))
    first = log_softmax(reference_last_row(args, case))
    hf_diff = check_token("case %d token 0" % index, tokens[0], generated[0],
                          first, args.top, lambda _: 2 * LOGITS_TOLERANCE)
    decode = read_floats(dump)
    vocab = len(first)
    for step in range(1, len(generated)):
        expected = log_softmax(decode[(step - 1) * vocab:step * vocab])
        check_token("case %d token %d" % (index, step), tokens[step],
                    generated[step], expected, args.top, float32_rounding)
    print("case %d: token 0 against HF |diff| %.3g <= %g; %d later tokens "
          "within float32 rounding" % (index, hf_diff, 2 * LOGITS_TOLERANCE,
                                       len(generated) - 1))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artifact", required=True)
    parser.add_argument("--fixture", required=True)
    parser.add_argument("--runner", default="llamac-run")
    parser.add_argument("--top", type=int, default=5)
    parser.add_argument("flags", nargs="*")
    args = parser.parse_args()
    with open(os.path.join(args.fixture, "golden.json")) as f:
        golden = json.load(f)
    with tempfile.TemporaryDirectory() as scratch:
        for index, case in enumerate(golden["cases"]):
            check_case(args, index, case, scratch)


if __name__ == "__main__":
    main()
