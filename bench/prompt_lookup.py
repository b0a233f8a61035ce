#!/usr/bin/env python3
"""Prompt lookup against one token per step, measured in the same run.

    bench/prompt_lookup.py ARTIFACT (-f FILE | -p TEXT | --prompt-ids IDS)
        [--weights MODEL] [-n 128] [--draft 2,4,8] [--ngram 2] [--runs 5]
        [--runner build/bin/llamac-run]

Generates -n tokens greedily (--ignore-eos) after the prompt, plainly and
with --prompt-lookup N for each N of --draft, --runs times each, the
settings taking turns so that drift in the machine's speed spreads over all
of them. Prints a Markdown table: decode tokens/s (the median run's), its
ratio to the plain run's, the draft tokens kept of those scored, and the
decode steps taken. Fails if a setting generates different ids than the
plain run: prompt lookup must change the speed only.
Python 3 standard library only.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys


def generate(args, draft):
    command = [args.runner, "generate", args.artifact, "--max-new-tokens",
               str(args.n), "--ignore-eos", "--temperature", "0", "--json"]
    command += args.prompt
    if args.weights:
        command += ["--weights", args.weights]
    if draft:
        command += ["--prompt-lookup", str(draft), "--lookup-ngram",
                    str(args.ngram)]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit("%s: %s" % (" ".join(command), result.stderr.strip()))
    return json.loads(result.stdout)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("artifact")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("-f", dest="file")
    source.add_argument("-p", dest="text")
    source.add_argument("--prompt-ids")
    parser.add_argument("--weights")
    parser.add_argument("-n", type=int, default=128)
    parser.add_argument("--draft", default="2,4,8")
    parser.add_argument("--ngram", type=int, default=2)
    parser.add_argument("--runs", type=int, default=5)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser.add_argument("--runner",
                        default=os.path.join(root, "build/bin/llamac-run"))
    args = parser.parse_args()
    args.prompt = (["-f", args.file] if args.file else
                   ["-p", args.text] if args.text is not None else
                   ["--prompt-ids", args.prompt_ids])
    drafts = [0] + [int(d) for d in args.draft.split(",")]
    runs = {draft: [] for draft in drafts}
    for _ in range(args.runs):
        for draft in drafts:
            runs[draft].append(generate(args, draft))
    expected = runs[0][0]["generated_ids"]
    for draft, outputs in runs.items():
        for output in outputs:
            if output["generated_ids"] != expected:
                sys.exit("--prompt-lookup %d generated other ids than one "
                         "token per step" % draft)

    def speed(draft):
        return statistics.median(o["decode_tokens_per_second"]
                                 for o in runs[draft])

    plain = speed(0)
    print("| prompt lookup | decode tok/s | ratio | draft tokens kept | steps |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for draft in drafts:
        output = runs[draft][0]
        lookup = output.get("prompt_lookup", {})
        kept = lookup.get("accepted_draft_tokens", 0)
        steps = output["decode_tokens"] - kept
        print("| %s | %.2f | %.2fx | %s | %d |" % (
            "off" if draft == 0 else "N = %d, %d-gram" % (draft, args.ngram),
            speed(draft), speed(draft) / plain,
            "-" if draft == 0 else "%d of %d" % (kept, lookup["draft_tokens"]),
            steps))
    print("\n%d tokens after a %d-token prompt, median of %d runs; the same "
          "ids in every run." % (args.n, runs[0][0]["prompt_tokens"],
                                 args.runs))


if __name__ == "__main__":
    main()
