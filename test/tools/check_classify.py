#!/usr/bin/env python3
"""Checks `llamac-run serve` on a sequence classifier: POST /classify gives
each row's class probabilities and label as Hugging Face's logits make them.

    check_classify.py --artifact A.lmc --fixture DIR [--runner llamac-run]

DIR is the classifier's Hugging Face fixture (golden.json: input_ids and
logits). The golden rows, sent as ids, must come back with the softmax of
Hugging Face's logits (within 1e-4) and the label config.json's id2label
gives their largest; a text must score as `llamac-run classify` scores the
ids /tokenize gives it. Completions and bad input are refused with 400.
Python 3 standard library only.
"""
import argparse
import json
import math
import os

from check_golden import fail, run_json
from check_server import Server, expect


def softmax(logits):
    top = max(logits)
    exps = [math.exp(x - top) for x in logits]
    return [e / sum(exps) for e in exps]


def expect_close(what, actual, expected, tolerance=1e-4):
    if len(actual) != len(expected) or any(
            abs(a - e) > tolerance for a, e in zip(actual, expected)):
        fail("%s: %s, expected %s" % (what, actual, expected))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artifact", required=True)
    parser.add_argument("--fixture", required=True)
    parser.add_argument("--runner", default="llamac-run")
    args = parser.parse_args()
    args.api_key, args.serve_flags = None, []
    with open(os.path.join(args.fixture, "golden.json")) as file:
        golden = json.load(file)
    with open(os.path.join(args.fixture, "config.json")) as file:
        labels = json.load(file)["id2label"]
    server = Server(args)
    try:
        reply = server.post("/classify", {"input": golden["input_ids"]})
        expect("object", reply["object"], "list")
        expect("rows", len(reply["data"]), len(golden["logits"]))
        for row, logits in enumerate(golden["logits"]):
            result = reply["data"][row]
            expect_close("row %d probs" % row, result["probs"],
                         softmax(logits))
            expect("row %d label" % row, result["label"],
                   labels[str(logits.index(max(logits)))])
            expect("row %d num_classes" % row, result["num_classes"],
                   len(logits))
        expect("prompt tokens", reply["usage"]["prompt_tokens"],
               sum(len(ids) for ids in golden["input_ids"]))

        text = "Once upon a time"
        ids = server.post("/tokenize", {"prompt": text})["tokens"]
        scores = run_json(args.runner, [
            "classify", args.artifact, "--json", "--prompt-ids",
            ",".join(map(str, ids))])["logits"][0]
        probs = server.post("/classify", {"input": text})["data"][0]["probs"]
        expect_close("text probs", probs, softmax(scores))

        for path, body, problem in [
                ("/v1/completions", {"prompt": text},
                 "classification scores, not logits"),
                ("/classify", {"input": []}, "input must be"),
                ("/classify", {"input": [[1, 512]]}, "512")]:
            status, _, data = server.request("POST", path, body)
            message = json.loads(data)["error"]["message"]
            if status != 400 or problem not in message:
                fail("%s %s: %d %s" % (path, body, status, message))
    finally:
        server.process.kill()
    print("classify: %d golden rows within 1e-4 of Hugging Face, labelled "
          "by id2label; a text as classify scores its ids; 3 bad requests "
          "refused" % len(golden["logits"]))


if __name__ == "__main__":
    main()
