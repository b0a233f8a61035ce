#!/usr/bin/env python3
"""Checks that `llamac-run serve` runs completions waiting together as one
batch, each answered as it would be alone.

    check_batching.py --artifact A.lmc [--runner llamac-run] -- SERVE_FLAGS

SERVE_FLAGS must hold --batch-wait-ms long enough for every client to arrive
(a few seconds), and the artifact's max_batch must take the rows below (4).
Sent at once: a greedy completion, a sampled one with a seed, one with a
stop string and a short limit, and a streamed JSON-mode one. They must run
as one batch (the log and /metrics say so), and each answer must be what
generate gives alone; the short one must be answered first. Python 3
standard library only.
"""
import argparse
import threading

from check_golden import fail
from check_server import (PROMPT, Server, completion_case, expect, generate,
                          metrics)

# (request body, generate's flags for the same answer)
REQUESTS = [
    completion_case(PROMPT, 120, temperature=0),
    completion_case("Tom had a dog.", 100, temperature=0.9, seed=4),
    completion_case("Lily saw a bird.", 6, temperature=0, stop="Lily"),
    completion_case("The cat", 80, temperature=0,
                    response_format={"type": "json_object"}, stream=True),
]


def answer(server, body):
    if body.get("stream"):
        chunks = server.stream("/v1/completions", body)
        return "".join(chunk["choices"][0]["text"] for chunk in chunks)
    return server.post("/v1/completions", body)["choices"][0]["text"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artifact", required=True)
    parser.add_argument("--runner", default="llamac-run")
    parser.add_argument("serve_flags", nargs="*",
                        help="after --: flags for serve")
    args = parser.parse_args()
    args.api_key = None
    server = Server(args)
    try:
        before = metrics(server)
        answers = [None] * len(REQUESTS)
        order = []

        def client(index):
            answers[index] = answer(server, REQUESTS[index][0])
            order.append(index)
        clients = [threading.Thread(target=client, args=(i,))
                   for i in range(len(REQUESTS))]
        for thread in clients:
            thread.start()
        for thread in clients:
            thread.join()
        after = metrics(server)
        expect("batches run, and completions in them", [
            after["llamac_batch_requests_count"] -
            before["llamac_batch_requests_count"],
            after["llamac_batch_requests_sum"] -
            before["llamac_batch_requests_sum"]], [1, len(REQUESTS)])
        for index, (_, flags) in enumerate(REQUESTS):
            expect("answer %d" % index, answers[index],
                   generate(args, flags)["text"][0])
        if order[0] != 2:
            fail("the short completion was answered after others: %s" % order)
        server.process.terminate()
        log = server.process.communicate(timeout=30)[1]
        batched = log.count(", in a batch of %d, " % len(REQUESTS))
        expect("log lines of the batch", batched, len(REQUESTS))
    finally:
        if server.process.poll() is None:
            server.process.kill()
    print("batching: %d completions sent at once ran as one batch, each "
          "answered as generate answers it alone, the shortest first"
          % len(REQUESTS))


if __name__ == "__main__":
    main()
