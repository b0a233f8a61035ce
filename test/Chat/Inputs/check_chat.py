#!/usr/bin/env python3
"""Drives `llamac-run chat --print-ids` through a pipe and checks what it did.

    check_chat.py reference --runner R --artifact A --chat-json FILE
        Every dialog of chat.json's Meta reference (and, with --template hf,
        the Hugging Face template cases) that ends with a user message: the
        ids the chat prefills for the first user message are the fixture's,
        and a second user message prefills the fixture's last exchange after
        the </s> that closes the model's own answer.
    check_chat.py prefix-reuse --runner R --artifact A
        Two turns, /reset, the first turn again: each turn prefills exactly
        the ids it prints; turn 2 only the end of answer 1 and its own
        message; its answer equals generating from the whole conversation at
        once; after /reset the first turn prefills its full prompt again.

Prints one line per check and exits 1 at the first mismatch.
Python 3 standard library only.
"""
import argparse
import json
import re
import subprocess
import sys

EOS = 2
TURN_IDS = re.compile(r"^\[turn (\d+) (ids|answer ids):((?: \d+)*)\]$")
TURN_REPORT = re.compile(
    r"^\[turn (\d+): prefilled (\d+) tokens, generated (\d+) tokens, [0-9.]+ tok/s\]$")


def fail(message):
    print("FAIL: " + message)
    sys.exit(1)


def run(command, stdin=""):
    result = subprocess.run(command, input=stdin.encode("utf-8"),
                            capture_output=True)
    if result.returncode != 0:
        fail(" ".join(command) + " exited with %d: %s" %
             (result.returncode, result.stderr.decode("utf-8", "replace")))
    return result.stdout.decode("utf-8"), result.stderr.decode("utf-8")


def chat(args, lines, extra=()):
    """The turns of one chat run: a list of dicts with ids, answer, prefilled,
    generated, in order (turn numbers restart after /reset)."""
    command = [args.runner, "chat", args.artifact, "--print-ids",
               "--temperature", "0", "--max-new-tokens", "12"] + list(extra)
    _, stderr = run(command, "\n".join(lines) + "\n")
    turns = []
    for line in stderr.splitlines():
        ids = TURN_IDS.match(line)
        report = TURN_REPORT.match(line)
        if ids and ids.group(2) == "ids":
            turns.append({"number": int(ids.group(1)),
                          "ids": [int(i) for i in ids.group(3).split()]})
        elif ids:
            turns[-1]["answer"] = [int(i) for i in ids.group(3).split()]
        elif report:
            turns[-1]["prefilled"] = int(report.group(2))
            turns[-1]["generated"] = int(report.group(3))
    return turns


def expect(what, actual, expected):
    if actual != expected:
        fail("%s: %s, expected %s" % (what, actual, expected))


def check_reference(args):
    with open(args.chat_json, encoding="utf-8") as f:
        fixture = json.load(f)
    cases = [("meta_reference", [], i, c)
             for i, c in enumerate(fixture["meta_reference"])]
    cases += [("hf_chat_template", ["--template", "hf"], i, c)
              for i, c in enumerate(fixture["hf_chat_template"]["cases"])]
    for kind, template, index, case in cases:
        messages = case["messages"]
        if messages[-1]["role"] != "user":
            continue
        system = [m["content"] for m in messages if m["role"] == "system"]
        users = [m["content"] for m in messages if m["role"] == "user"]
        extra = template + (["--system", system[0]] if system else [])
        turns = chat(args, users, extra)
        expect("%s: turns" % kind, len(turns), len(users))
        ids = case["ids"]
        first = turns[0]["ids"]
        if len(users) == 1:
            expect("%s case %d: turn 1 ids" % (kind, index), first, ids)
        else:
            # Up to its [/INST]: the fixture goes on with its own answer.
            expect("%s case %d: turn 1 ids" % (kind, index), first,
                   ids[:len(first)])
            last = len(ids) - ids[::-1].index(EOS)
            answer = turns[0]["answer"]
            closing = [] if answer[-1] == EOS else [answer[-1]]
            expect("%s case %d: turn 2 ids" % (kind, index), turns[1]["ids"],
                   closing + [EOS] + ids[last:])
        print("%s case %d: %d user message(s), ids match" %
              (kind, index, len(users)))


def check_prefix_reuse(args):
    turns = chat(args, ["Hello!", "Tell me a story.", "/reset", "Hello!"])
    expect("turns", [t["number"] for t in turns], [1, 2, 1])
    for turn in turns:
        expect("turn %d prefilled" % turn["number"], turn["prefilled"],
               len(turn["ids"]))
        expect("turn %d generated" % turn["number"], turn["generated"],
               len(turn["answer"]))
    first, second, again = turns
    print("turn 1: prefilled all %d prompt tokens" % first["prefilled"])

    # Turn 2 prefills what closes answer 1, then its own exchange alone.
    stdout, _ = run([args.runner, "tokenize", "--tokenizer",
                     args.artifact + "/tokenizer.model", "--text",
                     "[INST] Tell me a story. [/INST]"])
    exchange = [int(i) for i in stdout.strip().split(",")]
    answer = first["answer"]
    closing = [] if answer[-1] == EOS else [answer[-1]]
    expect("turn 2 ids", second["ids"], closing + [EOS] + exchange)
    conversation = first["ids"] + answer[:-1] + second["ids"]
    print("turn 2: prefilled %d of the conversation's %d tokens" %
          (second["prefilled"], len(conversation)))

    # The cache after turn 1 is what prefilling the conversation computes.
    stdout, _ = run([args.runner, "generate", args.artifact, "--prompt-ids",
                     ",".join(map(str, conversation)), "--max-new-tokens",
                     str(len(second["answer"])), "--json"])
    expect("turn 2 answer vs. generate over the whole conversation",
           second["answer"], json.loads(stdout)["generated_ids"][0])
    print("turn 2: answer equals generating from the whole conversation")

    expect("after /reset: ids", again["ids"], first["ids"])
    expect("after /reset: answer", again["answer"], first["answer"])
    print("after /reset: turn 1 prefilled all %d prompt tokens again" %
          again["prefilled"])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("check", choices=["reference", "prefix-reuse"])
    parser.add_argument("--runner", required=True)
    parser.add_argument("--artifact", required=True)
    parser.add_argument("--chat-json")
    args = parser.parse_args()
    if args.check == "reference":
        check_reference(args)
    else:
        check_prefix_reuse(args)


if __name__ == "__main__":
    main()
