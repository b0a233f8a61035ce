#!/usr/bin/env python3
"""Checks `llamac-run perplexity` against references computed here.

    check_perplexity.py --artifact A.lmc --fixture DIR
    check_perplexity.py --artifact A.lmc (--ids 1,2,3 | --text-file F [--no-bos])
                        --ctx N --stride S

With --fixture: every case that stores all its logits, run as one window,
against the mean negative log-likelihood of Hugging Face's logits. A
log-probability is a logit minus a log-sum-exp of logits, so it may move by
twice the logits' tolerance (fixtures/hf/README.md: 1e-4).

Otherwise: the sliding-window loop of Hugging Face's "Perplexity of
fixed-length models", written out here, over logits `generate --dump-logits`
computes for each window run alone; the text file is encoded with
`llamac-run tokenize` and the artifact's tokenizer.model. The perplexity
command batches windows (left-padded to max_batch rows), so this also checks
that a window scores the same in a batch as alone.

Prints one line per comparison and exits 1 at the first mismatch.
Python 3 standard library only.
"""
import argparse
import json
import math
import os
import tempfile

from check_golden import fail, run_json
from float32_file import read_floats

LOGITS_TOLERANCE = 1e-4


def negative_log_probability(logits, target):
    largest = max(logits)
    total = sum(math.exp(value - largest) for value in logits)
    return largest + math.log(total) - logits[target]


def window_nll(logits, vocab, window, first_scored):
    """The summed NLL of window[first_scored:], position j predicted by the
    logits of position j - 1."""
    return sum(negative_log_probability(
        logits[(j - 1) * vocab:j * vocab], window[j])
        for j in range(first_scored, len(window)))


def perplexity(args, ids, ctx, stride):
    return run_json(args.runner, [
        "perplexity", args.artifact, "--prompt-ids",
        ",".join(str(i) for i in ids), "--ctx", str(ctx), "--stride",
        str(stride), "--json"])


def compare(what, result, expected_nll, expected_count, tolerance):
    if result["scored_tokens"] != expected_count:
        fail("%s: %d tokens scored, expected %d" %
             (what, result["scored_tokens"], expected_count))
    diff = abs(result["mean_nll"] - expected_nll / expected_count)
    if diff > tolerance:
        fail("%s: mean NLL %.9g, expected %.9g (|diff| %.3g > %g)" %
             (what, result["mean_nll"], expected_nll / expected_count, diff,
              tolerance))
    print("%s: mean NLL |diff| %.3g <= %g over %d tokens" %
          (what, diff, tolerance, expected_count))


def check_fixture(args):
    with open(os.path.join(args.fixture, "golden.json")) as f:
        golden = json.load(f)
    checked = 0
    for index, case in enumerate(golden["cases"]):
        if "logits_file" not in case:
            continue
        ids = case["input_ids"]
        seq, vocab = case["logits_shape"]
        logits = read_floats(os.path.join(args.fixture, case["logits_file"]))
        expected = window_nll(logits, vocab, ids, 1)
        result = perplexity(args, ids, len(ids), len(ids))
        compare("case %d" % index, result, expected, len(ids) - 1,
                2 * LOGITS_TOLERANCE)
        checked += 1
    if not checked:
        fail("no case of %s stores all its logits" % args.fixture)


def text_ids(args):
    if args.ids:
        return [int(i) for i in args.ids.split(",")]
    with open(args.text_file, encoding="utf-8") as f:
        text = f.read()
    command = ["tokenize", "--tokenizer",
               os.path.join(args.artifact, "tokenizer.model"), "--text", text,
               "--json"]
    if args.no_bos:
        command.append("--no-bos")
    return run_json(args.runner, command)["ids"]


def window_logits(args, window, scratch):
    dump = os.path.join(scratch, "window.f32")
    run_json(args.runner, ["generate", args.artifact, "--prompt-ids",
                           ",".join(str(i) for i in window),
                           "--max-new-tokens", "0", "--dump-logits", dump,
                           "--json"])
    return read_floats(dump)


def sliding_window_reference(args, ids, scratch):
    """Hugging Face's loop: each window's labels are its last
    end - prev_end tokens, shifted by one inside the model."""
    total, count, prev_end = 0.0, 0, 0
    for begin in range(0, len(ids), args.stride):
        end = min(begin + args.ctx, len(ids))
        target_length = end - prev_end
        window = ids[begin:end]
        first_scored = max(1, len(window) - target_length)
        if first_scored < len(window):
            logits = window_logits(args, window, scratch)
            vocab = len(logits) // len(window)
            total += window_nll(logits, vocab, window, first_scored)
            count += len(window) - first_scored
        prev_end = end
        if end == len(ids):
            break
    return total, count


def check_windows(args):
    ids = text_ids(args)
    with tempfile.TemporaryDirectory() as scratch:
        expected, count = sliding_window_reference(args, ids, scratch)
    result = perplexity(args, ids, args.ctx, args.stride)
    # A batched window computes the logits it computes alone (bit for bit);
    # only the order of the double-precision sums may differ.
    compare("ctx %d stride %d" % (args.ctx, args.stride), result, expected,
            count, 1e-12)
    if args.text_file:
        command = ["perplexity", args.artifact, "-f", args.text_file, "--ctx",
                   str(args.ctx), "--stride", str(args.stride), "--json"]
        if args.no_bos:
            command.append("--no-bos")
        from_file = run_json(args.runner, command)
        keys = ("text_tokens", "scored_tokens", "windows", "mean_nll")
        if any(from_file[key] != result[key] for key in keys):
            fail("-f %s gives %s, its ids %s" % (
                args.text_file, [from_file[key] for key in keys],
                [result[key] for key in keys]))
        print("-f: the same as the text's ids (%d tokens)" %
              from_file["text_tokens"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artifact", required=True)
    parser.add_argument("--runner", default="llamac-run")
    parser.add_argument("--fixture")
    parser.add_argument("--ids")
    parser.add_argument("--text-file")
    parser.add_argument("--no-bos", action="store_true")
    parser.add_argument("--ctx", type=int)
    parser.add_argument("--stride", type=int)
    args = parser.parse_args()
    if args.fixture:
        check_fixture(args)
    elif (args.ids or args.text_file) and args.ctx and args.stride:
        check_windows(args)
    else:
        parser.error("give --fixture, or --ids/--text-file with --ctx and "
                     "--stride")


if __name__ == "__main__":
    main()
