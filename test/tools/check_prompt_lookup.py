#!/usr/bin/env python3
"""Checks that `llamac-run generate --prompt-lookup N` generates what one
token per step does.

    check_prompt_lookup.py --artifact A.lmc --fixture DIR [--draft N]
                           [--ngram M] [--tolerance T] [--runner R]
                           [--any-greedy-ids] [-- FLAGS...]

For each case of the fixture's golden.json, generates the case's length after
its prompt twice, plainly and with prompt lookup, and checks: the same ids
(and, greedy, Hugging Face's greedy_dynamic ids, unless --any-greedy-ids:
for f16 artifacts, whose rounding may choose otherwise); the logits each token was
chosen from (--dump-decode-logits: a step that keeps draft tokens computes
them in one prefill call, the plain run one decode call each) and the tokens'
log-probabilities, within --tolerance. FLAGS (sampling settings) go to both
runs. Fails unless some draft token was kept: otherwise nothing here ran the
prefill path.

Prints one line per case and exits 1 at the first mismatch.
Python 3 standard library only.
"""
import argparse
import json
import os
import tempfile

from check_golden import fail, max_abs_diff, prompt_ids, run_json, until_eos
from float32_file import read_floats


def generate(args, prompt, new_tokens, dump, lookup):
    command = ["generate", args.artifact, "--prompt-ids", prompt_ids([prompt]),
               "--max-new-tokens", str(new_tokens), "--json", "--logprobs", "1",
               "--dump-decode-logits", dump] + args.flags
    if lookup:
        command += ["--prompt-lookup", str(args.draft),
                    "--lookup-ngram", str(args.ngram)]
    return run_json(args.runner, command)


def logprobs_of(output):
    return [token["logprob"] for token in output["logprobs"][0]]


def check_case(args, what, prompt, expected, scratch):
    """Returns the draft tokens kept."""
    plain_logits = os.path.join(scratch, "plain.f32")
    drafted_logits = os.path.join(scratch, "drafted.f32")
    plain = generate(args, prompt, len(expected), plain_logits, False)
    drafted = generate(args, prompt, len(expected), drafted_logits, True)
    ids = drafted["generated_ids"][0]
    if ids != plain["generated_ids"][0]:
        fail("%s: ids %s with prompt lookup, %s without" %
             (what, ids, plain["generated_ids"][0]))
    if not args.flags and not args.any_greedy_ids and \
            ids != until_eos(expected, args.eos):
        fail("%s: greedy ids %s, Hugging Face's %s" % (what, ids, expected))
    diff = max(max_abs_diff(read_floats(drafted_logits),
                            read_floats(plain_logits), what + " logits"),
               max_abs_diff(logprobs_of(drafted), logprobs_of(plain),
                            what + " log-probabilities"))
    if diff > args.tolerance:
        fail("%s: logits max |diff| %.3g > %g" % (what, diff, args.tolerance))
    lookup = drafted["prompt_lookup"]
    print("%s: the same %d ids; %d of %d draft tokens kept; logits max |diff| "
          "%.3g <= %g" % (what, len(ids), lookup["accepted_draft_tokens"],
                          lookup["draft_tokens"], diff, args.tolerance))
    return lookup["accepted_draft_tokens"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artifact", required=True)
    parser.add_argument("--fixture", required=True)
    parser.add_argument("--draft", type=int, default=4)
    parser.add_argument("--ngram", type=int, default=2)
    parser.add_argument("--tolerance", type=float, default=1e-5)
    parser.add_argument("--runner", default="llamac-run")
    parser.add_argument("--any-greedy-ids", action="store_true",
                        help="do not compare greedy ids with Hugging Face's")
    parser.add_argument("flags", nargs="*")
    args = parser.parse_args()
    with open(os.path.join(args.fixture, "golden.json")) as f:
        golden = json.load(f)
    with open(os.path.join(args.fixture, "config.json")) as f:
        args.eos = json.load(f).get("eos_token_id", 2)
    kept = 0
    with tempfile.TemporaryDirectory() as scratch:
        for index, case in enumerate(golden["cases"]):
            kept += check_case(args, "case %d" % index, case["input_ids"],
                               case["greedy_dynamic"], scratch)
    if kept == 0:
        fail("no draft token was kept: the prefill path went unchecked")


if __name__ == "__main__":
    main()
