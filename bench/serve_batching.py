#!/usr/bin/env python3
"""`llamac-run serve` with batching against one completion at a time.

    bench/serve_batching.py ARTIFACT [--weights MODEL] [--threads N]
        [--clients 4] [--requests 16] [--max-tokens 64] [--runs 3]
        [--batch-wait-ms 20] [--runner build/bin/llamac-run]

Starts the server three times per run: with --max-batch-requests 1, with
its default (completions waiting together run as one batch), and with
--batch-wait-ms (a turn waits that long for a fuller batch), the settings
taking turns so that drift in the machine's speed spreads over all. Each time,
--clients clients send --requests completions in all, each client its next
one as soon as it has an answer (greedy, ignore_eos, --max-tokens each), and
the time from the first request to the last answer is taken. Prints a
Markdown table of the median run's: completions, tokens generated per
second, its ratio to one at a time, the median and longest answer time, and
the mean batch size /metrics counted. Fails if a completion's text differs
between the settings: batching must change the speed only. The artifact's
max_batch bounds the batch. Python 3 standard library only.
"""
import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import threading
import time

PROMPTS = [
    "Once upon a time",
    "Tom had a red ball.",
    "The sun was hot and the birds",
    "Lily saw a big dog in the park. She",
    "One day, a little fish",
    "Ben and Mia went to the beach",
    "There was a tall tree",
    "The cat wanted to play with the",
]


class Server:
    """`llamac-run serve` on a free port, its log drained as it comes."""

    def __init__(self, args, extra):
        command = [args.runner, "serve", args.artifact, "--port", "0"]
        if args.weights:
            command += ["--weights", args.weights]
        if args.threads:
            command += ["--threads", str(args.threads)]
        self.process = subprocess.Popen(command + extra, text=True,
                                        stderr=subprocess.PIPE)
        self.port = None
        for line in self.process.stderr:
            if " on http://" in line:
                self.port = int(line.rsplit(":", 1)[1].split()[0])
                break
        if self.port is None:
            sys.exit("%s did not start" % " ".join(command + extra))
        self.drain = threading.Thread(
            target=lambda: [None for _ in self.process.stderr], daemon=True)
        self.drain.start()

    def request(self, method, path, body=None):
        connection = http.client.HTTPConnection("127.0.0.1", self.port,
                                                timeout=600)
        connection.request(method, path,
                           body=None if body is None else json.dumps(body),
                           headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        data = response.read()
        connection.close()
        if response.status != 200:
            sys.exit("%s %s: %d %s" % (method, path, response.status, data))
        return data

    def stop(self):
        self.process.terminate()
        self.process.wait()


def batches(server):
    """(completions, batches) the model has run, as /metrics counts them."""
    samples = {}
    for line in server.request("GET", "/metrics").decode().splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    return (samples["llamac_batch_requests_sum"],
            samples["llamac_batch_requests_count"])


def measure(args, extra):
    """One run of every client against a fresh server."""
    server = Server(args, extra)
    # A first completion loads the weights' pages and warms the caches.
    server.request("POST", "/v1/completions",
                   {"prompt": PROMPTS[0], "max_tokens": 4, "temperature": 0})
    before = batches(server)
    texts, seconds, tokens = {}, [], []
    next_index = [0]
    lock = threading.Lock()

    def client():
        while True:
            with lock:
                index = next_index[0]
                next_index[0] += 1
            if index >= args.requests:
                return
            started = time.monotonic()
            reply = json.loads(server.request("POST", "/v1/completions", {
                "prompt": PROMPTS[index % len(PROMPTS)],
                "max_tokens": args.max_tokens, "temperature": 0,
                "ignore_eos": True}))
            with lock:
                seconds.append(time.monotonic() - started)
                tokens.append(reply["usage"]["completion_tokens"])
                texts[index] = reply["choices"][0]["text"]

    clients = [threading.Thread(target=client) for _ in range(args.clients)]
    started = time.monotonic()
    for thread in clients:
        thread.start()
    for thread in clients:
        thread.join()
    wall = time.monotonic() - started
    after = batches(server)
    server.stop()
    mean_batch = (after[0] - before[0]) / (after[1] - before[1])
    return {"wall": wall, "tokens": sum(tokens), "texts": texts,
            "median_latency": statistics.median(seconds),
            "max_latency": max(seconds), "batch": mean_batch}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("artifact")
    parser.add_argument("--weights")
    parser.add_argument("--threads", type=int)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--requests", type=int, default=16)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batch-wait-ms", type=int, default=20)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser.add_argument("--runner",
                        default=os.path.join(root, "build/bin/llamac-run"))
    args = parser.parse_args()
    wait = str(args.batch_wait_ms)
    settings = [("one at a time", ["--max-batch-requests", "1"]),
                ("batched", []),
                ("batched, --batch-wait-ms " + wait,
                 ["--batch-wait-ms", wait])]
    runs = {label: [] for label, _ in settings}
    for run in range(args.runs):
        for label, extra in settings:
            print("run %d: %s" % (run + 1, label), file=sys.stderr)
            runs[label].append(measure(args, extra))
    reference = runs["one at a time"][0]["texts"]
    for label, measured in runs.items():
        for result in measured:
            if result["texts"] != reference:
                sys.exit("%s: the texts differ from one at a time's" % label)
    print("%d clients, %d completions of %d tokens (greedy, ignore_eos), "
          "median of %d runs\n" % (args.clients, args.requests,
                                   args.max_tokens, args.runs))
    print("| serving | tokens/s | vs one at a time | median answer s "
          "| longest answer s | mean batch |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    base = None
    for label, measured in runs.items():
        median = sorted(measured, key=lambda r: r["tokens"] / r["wall"])[
            len(measured) // 2]
        rate = median["tokens"] / median["wall"]
        base = base or rate
        print("| %s | %.1f | %.2fx | %.2f | %.2f | %.2f |" % (
            label, rate, rate / base, median["median_latency"],
            median["max_latency"], median["batch"]))


if __name__ == "__main__":
    main()
