#!/usr/bin/env python3
"""Checks `llamac-run serve` end to end against the command-line tools.

    check_server.py --artifact A.lmc --fixture DIR [--runner llamac-run]
                    [--api-key KEY] [-- SERVE_FLAGS...]

Starts the server on a free port and checks, one line each:
- with --api-key (given to serve as LLAMAC_API_KEY, and sent with every
  request): requests without the key, or with another, get 401, but
  /health and /metrics;
- with serve's --allowed-origins: a browser's preflight from the first
  origin is answered, from another refused, and a completion names it;
- /health and /v1/models;
- completions (greedy, seeded sampling, presence and frequency penalties
  with a logit bias, a stop string, a prompt of ids)
  give the text and token counts `generate` gives for the same request,
  also a prompt that extends the last one (its start kept in the cache);
- a streamed completion's pieces join to the same text and end with
  finish_reason and [DONE]; streamed log-probabilities join to the whole
  reply's, and a streamed echo sends its prompt first;
- several prompts in one completion request run as a batch and give what
  generate gives them, streamed and whole, and score as each does alone;
- n choices of one prompt are rows of a batch, choice i sampled with seed
  + i as generate samples with that seed; best_of picks the candidates of
  the highest log-probability per token;
- a chat completion answers what `chat` answers to the same messages, and a
  second turn answers the same with and without the first turn's cache;
- log-probabilities, of a completion and of a chat, are those generate
  --logprobs computes for the same ids; a prompt scored with echo (as
  evaluation harnesses score texts) within 2e-4 of Hugging Face's logits;
- bad requests get their status and an OpenAI-style error naming the field;
- /metrics counts a completion's tokens as its usage does; /tokenize and
  /detokenize convert as generate and chat do;
- a client that leaves mid-stream or before its answer does not stop the
  server, and is not answered;
- a client that stalls mid-request holds only its own connection, and
  completions sent at once are answered in turn, each as alone;
- SIGTERM stops it with exit status 0, also with a client stalled.
SERVE_FLAGS (--prompt-lookup N) go to serve only: the answers must not change.
Exits 1 at the first mismatch. Python 3 standard library only.
"""
import argparse
import atexit
import http.client
import json
import os
import re
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time

from check_golden import fail, run_json
from check_logprobs import log_softmax
from float32_file import read_floats

PROMPT = "Once upon a time"
# Structured outputs' schema: a person's two keys, each required, no others.
PERSON = {"type": "object",
          "properties": {"name": {"type": "string"},
                         "age": {"type": "integer"}},
          "required": ["name", "age"], "additionalProperties": False}


class Server:
    def __init__(self, args):
        environment = dict(os.environ)
        environment.pop("LLAMAC_API_KEY", None)
        if args.api_key:
            environment["LLAMAC_API_KEY"] = args.api_key
        self.process = subprocess.Popen(
            [args.runner, "serve", args.artifact, "--port", "0",
             "--model-name", "stories"] + args.serve_flags,
            stderr=subprocess.PIPE, text=True, env=environment)
        line = self.process.stderr.readline()
        match = re.search(r"serving stories on http://127\.0\.0\.1:(\d+)", line)
        if not match:
            fail("serve printed %r" % line)
        self.port = int(match.group(1))
        self.headers = ({"Authorization": "Bearer " + args.api_key}
                        if args.api_key else {})

    def exchange(self, method, path, body=None, headers=None):
        """The status, headers and body of the answer to a request, which
        carries the API key unless `headers` replace it."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port,
                                                timeout=60)
        payload = None if body is None else (
            body if isinstance(body, str) else json.dumps(body))
        connection.request(method, path, payload,
                           self.headers if headers is None else headers)
        response = connection.getresponse()
        data = response.read().decode()
        connection.close()
        return response.status, response.headers, data

    def request(self, method, path, body=None, headers=None):
        status, answer_headers, data = self.exchange(method, path, body,
                                                     headers)
        return status, answer_headers["Content-Type"], data

    def post(self, path, body):
        status, _, data = self.request("POST", path, body)
        if status != 200:
            fail("POST %s %s: %d %s" % (path, body, status, data))
        return json.loads(data)

    def stream(self, path, body):
        status, kind, data = self.request("POST", path, dict(body, stream=True))
        if status != 200 or kind != "text/event-stream":
            fail("stream %s: %d %s" % (path, status, kind))
        events = [line[len("data: "):] for line in data.split("\n\n") if line]
        if events[-1] != "[DONE]":
            fail("the stream ends with %r, not [DONE]" % events[-1])
        return [json.loads(event) for event in events[:-1]]


def schema_file(schema):
    """A file holding `schema`, removed when the check ends."""
    handle, path = tempfile.mkstemp(suffix=".schema.json")
    with os.fdopen(handle, "w") as file:
        json.dump(schema, file)
    atexit.register(os.remove, path)
    return path


def json_output_flags(response_format):
    """The generate and chat flags of a response_format."""
    if response_format["type"] == "json_schema":
        return ["--json-schema",
                schema_file(response_format["json_schema"]["schema"])]
    return ["--json-object"]


def completion_case(prompt, max_tokens, **fields):
    """A completion's body, and the generate flags that give its answer:
    temperature, seed and stop become their flags, response_format
    --json-object or --json-schema; stream is the body's alone."""
    flags = ["-p", prompt, "--max-new-tokens", str(max_tokens)]
    for name, value in fields.items():
        if name == "response_format":
            flags += json_output_flags(value)
        elif name != "stream":
            flags += ["--" + name, str(value)]
    return dict(fields, prompt=prompt, max_tokens=max_tokens), flags


def expect(what, actual, expected):
    if actual != expected:
        fail("%s: %r, expected %r" % (what, actual, expected))


def generate(args, flags):
    return run_json(args.runner, ["generate", args.artifact, "--json"] + flags)


def check_api_key(server):
    """Without the key, or with another, the routes but /health and
    /metrics answer 401 with OpenAI's invalid_api_key."""
    key = server.headers["Authorization"]
    for headers in [{}, {"Authorization": key + "x"},
                    {"Authorization": key.replace("Bearer", "Basic")}]:
        for method, path, body in [
                ("GET", "/v1/models", None), ("POST", "/tokenize",
                                              {"prompt": PROMPT}),
                ("POST", "/v1/completions", {"prompt": PROMPT})]:
            status, _, data = server.request(method, path, body, headers)
            expect("%s %s with %s" % (method, path, headers),
                   (status, json.loads(data)["error"]["code"]),
                   (401, "invalid_api_key"))
    for path in ["/health", "/metrics"]:
        expect("GET %s without the key" % path,
               server.request("GET", path, headers={})[0], 200)
    print("api key: refused without it or with another, but /health and "
          "/metrics")


def check_cors(server, origin):
    """A preflight from `origin` is answered without the key; one from
    another origin is refused, and an answer to `origin` names it."""
    asking = {"Origin": origin, "Access-Control-Request-Method": "POST",
              "Access-Control-Request-Headers": "authorization, content-type"}
    status, headers, _ = server.exchange("OPTIONS", "/v1/chat/completions",
                                         headers=asking)
    expect("preflight from " + origin,
           (status, headers["Access-Control-Allow-Origin"],
            headers["Access-Control-Allow-Headers"]),
           (200, origin, "Authorization, Content-Type"))
    other = dict(asking, Origin="http://elsewhere.example")
    expect("preflight from another origin", server.request(
        "OPTIONS", "/v1/chat/completions", headers=other)[0], 403)
    status, headers, _ = server.exchange(
        "POST", "/v1/completions", {"prompt": PROMPT, "max_tokens": 4},
        dict(server.headers, Origin=origin))
    expect("a completion for " + origin,
           (status, headers["Access-Control-Allow-Origin"]), (200, origin))
    print("cors: %s's preflight answered, another origin's refused" % origin)


def check_routes(server):
    expect("GET /health", server.request("GET", "/health")[2],
           '{"status":"ok"}')
    models = json.loads(server.request("GET", "/v1/models")[2])
    expect("GET /v1/models", [m["id"] for m in models["data"]], ["stories"])
    expect("GET /v1/models/stories",
           json.loads(server.request("GET", "/v1/models/stories")[2]),
           models["data"][0])
    print("routes: /health, /v1/models, /v1/models/stories")


def check_completion(server, args, what, body, flags):
    reply = server.post("/v1/completions", body)
    reference = generate(args, flags)
    choice = reply["choices"][0]
    expect(what + " text", choice["text"], reference["text"][0])
    expect(what + " finish_reason", choice["finish_reason"],
           "length" if reference["finish_reason"][0] == "length" else "stop")
    usage = reply["usage"]
    expect(what + " usage", [usage["prompt_tokens"], usage["completion_tokens"],
                             usage["total_tokens"]],
           [len(reference["prompt_ids"][0]), len(reference["generated_ids"][0]),
            len(reference["prompt_ids"][0]) +
            len(reference["generated_ids"][0])])
    expect(what + " object", reply["object"], "text_completion")
    print("%s: the text generate gives (%d tokens, %s)" %
          (what, usage["completion_tokens"], choice["finish_reason"]))
    return choice["text"], usage["prompt_tokens_details"]["cached_tokens"]


def check_completions(server, args):
    greedy, _ = check_completion(
        server, args, "greedy", {"prompt": PROMPT, "max_tokens": 40,
                                 "temperature": 0},
        ["-p", PROMPT, "--max-new-tokens", "40", "--temperature", "0"])
    # The next request extends the last one: the cache keeps what they share.
    longer = PROMPT + greedy
    _, cached = check_completion(
        server, args, "extended prompt", {"prompt": longer, "max_tokens": 20,
                                          "temperature": 0},
        ["-p", longer, "--max-new-tokens", "20", "--temperature", "0"])
    if cached < 40:
        fail("the extended prompt reused %d cached tokens" % cached)
    print("extended prompt: %d prompt tokens came from the cache" % cached)
    check_completion(
        server, args, "sampled",
        {"prompt": PROMPT, "max_tokens": 40, "temperature": 0.8, "seed": 5,
         "top_k": 40},
        ["-p", PROMPT, "--max-new-tokens", "40", "--temperature", "0.8",
         "--seed", "5", "--top-k", "40"])
    check_completion(
        server, args, "penalized",
        {"prompt": PROMPT, "max_tokens": 40, "temperature": 0,
         "presence_penalty": 0.5, "frequency_penalty": 0.8,
         "logit_bias": {"432": -100}, "no_repeat_ngram_size": 3,
         "min_tokens": 30},
        ["-p", PROMPT, "--max-new-tokens", "40", "--temperature", "0",
         "--presence-penalty", "0.5", "--frequency-penalty", "0.8",
         "--logit-bias", "432:-100", "--no-repeat-ngram-size", "3",
         "--min-new-tokens", "30"])
    check_completion(
        server, args, "stop string",
        {"prompt": PROMPT, "max_tokens": 60, "temperature": 0, "stop": "Lily"},
        ["-p", PROMPT, "--max-new-tokens", "60", "--temperature", "0",
         "--stop", "Lily"])
    check_completion(
        server, args, "ids", {"prompt": [1, 403, 407], "max_tokens": 20,
                              "temperature": 0},
        ["--prompt-ids", "1,403,407", "--max-new-tokens", "20",
         "--temperature", "0"])
    chunks = server.stream("/v1/completions",
                           {"prompt": PROMPT, "max_tokens": 40,
                            "temperature": 0})
    expect("streamed text", "".join(c["choices"][0]["text"] for c in chunks),
           greedy)
    expect("streamed finish_reason", chunks[-1]["choices"][0]["finish_reason"],
           "length")
    print("stream: %d chunks join to the greedy text, then [DONE]" %
          len(chunks))
    body = {"prompt": PROMPT, "max_tokens": 20, "temperature": 0}
    chunks = server.stream("/v1/completions", dict(
        body, stream_options={"include_usage": True}))
    usage = server.post("/v1/completions", body)["usage"]
    expect("include_usage's last chunk",
           (chunks[-1]["choices"], chunks[-1]["usage"]), ([], usage))
    expect("include_usage's other chunks",
           [c["usage"] for c in chunks[:-1]], [None] * (len(chunks) - 1))
    print("stream: include_usage ends with the usage a whole reply gives")


def check_batch(server, args):
    """Several prompts in one completion request run as one batch."""
    prompts = [PROMPT, "Tom had a red ball", "Lily"]
    body = {"prompt": prompts, "max_tokens": 16, "temperature": 0}
    reply = server.post("/v1/completions", body)
    reference = generate(args, sum((["-p", p] for p in prompts), []) +
                         ["--max-new-tokens", "16", "--temperature", "0"])
    expect("batch indexes", [c["index"] for c in reply["choices"]], [0, 1, 2])
    expect("batch texts", [c["text"] for c in reply["choices"]],
           reference["text"])
    chunks = server.stream("/v1/completions", body)
    streamed = ["", "", ""]
    for chunk in chunks:
        for c in chunk["choices"]:
            streamed[c["index"]] += c["text"]
    expect("batch streamed texts", streamed, reference["text"])
    # Echoed prompts of different lengths score as each does alone.
    scored = server.post("/v1/completions", dict(
        prompt=prompts, max_tokens=0, echo=True, logprobs=2))
    for prompt, c in zip(prompts, scored["choices"]):
        alone = server.post("/v1/completions", dict(
            prompt=prompt, max_tokens=0, echo=True, logprobs=2))
        expect("echo of %r in a batch" % prompt, c["logprobs"],
               alone["choices"][0]["logprobs"])
    print("batch: %d prompts in one request give generate's texts, streamed "
          "and whole, and score as alone" % len(prompts))


def check_choices(server, args):
    """n choices of a prompt: rows of one batch, choice i sampled with seed
    + i, each the text generate gives with that seed; usage counts the
    prompt once."""
    body = {"prompt": PROMPT, "max_tokens": 24, "temperature": 0.9,
            "seed": 7, "n": 3}
    reply = server.post("/v1/completions", body)
    expected = [generate(args, ["-p", PROMPT, "--max-new-tokens", "24",
                                "--temperature", "0.9", "--seed",
                                str(7 + i)]) for i in range(3)]
    texts = [r["text"][0] for r in expected]
    expect("n indexes", [c["index"] for c in reply["choices"]], [0, 1, 2])
    expect("n texts", [c["text"] for c in reply["choices"]], texts)
    if len(set(texts)) == 1:
        fail("the 3 choices are the same text: their seeds did not differ")
    expect("n prompt_tokens", reply["usage"]["prompt_tokens"],
           len(expected[0]["prompt_ids"][0]))
    streamed = ["", "", ""]
    for chunk in server.stream("/v1/completions", body):
        for c in chunk["choices"]:
            streamed[c["index"]] += c["text"]
    expect("n streamed texts", streamed, texts)
    chat = server.stream("/v1/chat/completions", {
        "messages": [{"role": "user", "content": "Tell me a story."}],
        "max_tokens": 8, "temperature": 0.9, "seed": 7, "n": 2})
    roles = sorted(c["index"] for chunk in chat for c in chunk["choices"]
                   if c["delta"].get("role") == "assistant")
    expect("n chat roles", roles, [0, 1])
    print("n: 3 choices, seeds 7, 8, 9: generate's texts, streamed and "
          "whole; a chat's 2 streamed choices each name their role")


def check_best_of(server, args):
    """best_of 3, n 2: the two of the 3 seeded candidates (seeds 7, 8, 9, as
    generate samples them) with the highest mean log-probability per token,
    best first; usage counts all 3."""
    flags = ["-p", PROMPT, "--max-new-tokens", "16", "--temperature", "1"]
    candidates = []
    for i in range(3):
        reference = generate(args, flags + ["--seed", str(7 + i),
                                            "--logprobs", "0"])
        logprobs = [t["logprob"] for t in reference["logprobs"][0]]
        candidates.append((sum(logprobs) / len(logprobs),
                           reference["text"][0], len(logprobs)))
    if len(set(text for _, text, _ in candidates)) == 1:
        fail("best_of: the 3 candidates are the same text")
    ranked = sorted(candidates, key=lambda c: -c[0])
    reply = server.post("/v1/completions", {
        "prompt": PROMPT, "max_tokens": 16, "temperature": 1, "seed": 7,
        "n": 2, "best_of": 3})
    expect("best_of choices", [(c["index"], c["text"], c["logprobs"])
                               for c in reply["choices"]],
           [(0, ranked[0][1], None), (1, ranked[1][1], None)])
    expect("best_of completion_tokens", reply["usage"]["completion_tokens"],
           sum(length for _, _, length in candidates))
    print("best_of: the 2 likeliest of 3 candidates per token, best first "
          "(means %s)" % ", ".join("%.3f" % c[0] for c in ranked))


def chat_reference(args, system, user, new_tokens, flags=()):
    result = subprocess.run(
        [args.runner, "chat", args.artifact, "--system", system,
         "--max-new-tokens", str(new_tokens), "--temperature", "0"] +
        list(flags),
        input=user + "\n", capture_output=True, text=True)
    if result.returncode != 0:
        fail("chat: " + result.stderr.strip())
    return result.stdout[:-1]


def begins_object(text, finish_reason):
    """Whether `text` begins a JSON object, and is one if it ended."""
    if finish_reason == "stop":
        try:
            return isinstance(json.loads(text), dict)
        except ValueError:
            return False
    return text.lstrip(" \n").startswith("{")


def json_chat(server, args, what, response_format, user, max_tokens):
    """A greedy chat answered under `response_format`: its body and choice,
    once its answer is checked to be chat's with the same flags."""
    system = "Answer in JSON."
    body = {"messages": [{"role": "system", "content": system},
                         {"role": "user", "content": user}],
            "max_tokens": max_tokens, "temperature": 0,
            "response_format": response_format}
    choice = server.post("/v1/chat/completions", body)["choices"][0]
    expect(what + " chat", choice["message"]["content"],
           chat_reference(args, system, user, max_tokens,
                          json_output_flags(response_format)))
    return body, choice


def check_json_mode(server, args):
    """JSON mode (response_format json_object): a completion's text is
    generate --json-object's, a chat's answer chat --json-object's, whole
    and streamed, and each begins a JSON object."""
    json_object = {"type": "json_object"}
    text, _ = check_completion(
        server, args, "json mode",
        *completion_case(PROMPT, 60, temperature=0,
                         response_format=json_object))
    body, choice = json_chat(server, args, "json mode", json_object,
                             "Name a cat.", 60)
    answer = choice["message"]["content"]
    chunks = server.stream("/v1/chat/completions", body)
    expect("json mode chat stream", "".join(
        c["choices"][0]["delta"].get("content", "") for c in chunks), answer)
    for what, reply, reason in [("completion", text, None),
                                ("chat", answer, choice["finish_reason"])]:
        if not begins_object(reply, reason):
            fail("json mode %s: %r is no JSON object" % (what, reply))
    print("json mode: a chat's answer is chat --json-object's, streamed and "
          "whole; both begin objects")
    check_json_schema(server, args)


def check_json_schema(server, args):
    """Structured outputs (response_format json_schema): a completion's text
    is generate --json-schema's, a chat's answer chat --json-schema's, and
    those that end are objects of the schema's keys and types; a schema
    beyond what is kept to is refused."""
    structured = {"type": "json_schema",
                  "json_schema": {"name": "person", "strict": True,
                                  "schema": PERSON}}
    text, _ = check_completion(
        server, args, "json schema",
        *completion_case(PROMPT, 100, temperature=0,
                         response_format=structured))
    _, choice = json_chat(server, args, "json schema", structured,
                          "Who is Tom?", 100)
    answer = choice["message"]["content"]
    ended = 0
    for reply, reason in [(text, "stop"), (answer, choice["finish_reason"])]:
        if reason != "stop":
            continue
        ended += 1
        value = json.loads(reply)
        expect("json schema keys", sorted(value), ["age", "name"])
        if not (isinstance(value["name"], str) and
                isinstance(value["age"], int)):
            fail("json schema: %r has the wrong types" % reply)
    unsupported = dict(structured, json_schema={"schema": dict(
        PERSON, properties={"name": {"type": "string", "pattern": "^[A-Z]"},
                            "age": {"type": "integer"}})})
    status, _, data = server.request("POST", "/v1/completions", {
        "prompt": PROMPT, "response_format": unsupported})
    message = json.loads(data)["error"]["message"]
    if status != 400 or 'keyword "pattern" is not supported' not in message:
        fail("json schema pattern: %d %r" % (status, message))
    print("json schema: a chat's answer is chat --json-schema's; %d of 2 "
          "ended, as objects the schema accepts; pattern refused" % ended)


def check_chat(server, args):
    system, user = "Be brief.", "Tell me a story about a cat."
    body = {"messages": [{"role": "system", "content": system},
                         {"role": "user", "content": user}],
            "max_tokens": 24, "temperature": 0}
    reply = server.post("/v1/chat/completions", body)
    message = reply["choices"][0]["message"]
    expect("chat role", message["role"], "assistant")
    expect("chat answer", message["content"],
           chat_reference(args, system, user, 24))
    chunks = server.stream("/v1/chat/completions", body)
    expect("chat stream role", chunks[0]["choices"][0]["delta"],
           {"role": "assistant", "content": ""})
    expect("chat stream text", "".join(
        c["choices"][0]["delta"].get("content", "") for c in chunks),
        message["content"])
    print("chat: the answer chat gives, streamed and whole")
    # A second turn right after the first reuses the conversation's cache;
    # after an unrelated request it is computed afresh: the same answer.
    follow_up = dict(body, messages=body["messages"] + [
        message, {"role": "user", "content": "And then?"}])
    warm = server.post("/v1/chat/completions", follow_up)
    server.post("/v1/completions", {"prompt": "Tom had a dog.", "max_tokens": 4})
    cold = server.post("/v1/chat/completions", follow_up)
    expect("second turn after another request", cold["choices"],
           warm["choices"])
    cached = [r["usage"]["prompt_tokens_details"]["cached_tokens"]
              for r in (warm, cold)]
    if not cached[0] > cached[1]:
        fail("second turn: cached tokens %s" % cached)
    print("chat: a second turn reuses the cache (%d of %d prompt tokens) and "
          "answers as without it" % (cached[0], warm["usage"]["prompt_tokens"]))


def as_float32(value):
    return struct.unpack("<f", struct.pack("<f", value))[0]


def check_logprobs_match(what, served, reference):
    """`served`: [(logprob, [top logprobs])] from the server (float32 values
    widened to double); `reference`: generate --logprobs' tokens."""
    expect(what + " tokens", len(served), len(reference))
    for (logprob, top), token in zip(served, reference):
        expect(what + " logprob", as_float32(logprob),
               as_float32(token["logprob"]))
        expect(what + " top", [as_float32(v) for v in top],
               [as_float32(t["logprob"]) for t in token["top"]])


def check_logprobs(server, args):
    reply = server.post("/v1/completions", {"prompt": PROMPT, "max_tokens": 12,
                                            "temperature": 0, "logprobs": 3})
    logprobs = reply["choices"][0]["logprobs"]
    reference = generate(args, ["-p", PROMPT, "--max-new-tokens", "12",
                                "--temperature", "0", "--logprobs", "3"])
    tokens = reference["logprobs"][0]
    expect("completion logprobs texts", logprobs["tokens"],
           [t["piece"].replace("\u2581", " ") for t in tokens])
    check_logprobs_match("completion", [
        (lp, sorted(top.values(), reverse=True)) for lp, top in
        zip(logprobs["token_logprobs"], logprobs["top_logprobs"])], tokens)
    print("logprobs: a completion's are generate --logprobs' (%d tokens)" %
          len(tokens))

    system, user = "Be brief.", "Tell me a story about a cat."
    chat = server.post("/v1/chat/completions", {
        "messages": [{"role": "system", "content": system},
                     {"role": "user", "content": user}],
        "max_tokens": 12, "temperature": 0, "logprobs": True,
        "top_logprobs": 2})
    ids = chat_prompt_ids(args, system, user)
    reference = generate(args, ["--prompt-ids", ",".join(map(str, ids)),
                                "--max-new-tokens", "12", "--temperature", "0",
                                "--logprobs", "2"])["logprobs"][0]
    content = chat["choices"][0]["logprobs"]["content"]
    for token, expected in zip(content, reference):
        expect("chat logprob bytes", bytes(token["bytes"]),
               expected["piece"].replace("\u2581", " ").encode())
    check_logprobs_match("chat", [
        (t["logprob"], [top["logprob"] for top in t["top_logprobs"]])
        for t in content], reference)
    print("logprobs: a chat's are those of its prompt ids (%d tokens)" %
          len(content))


def joined_logprobs(chunks, chat):
    """The log-probabilities of a stream's chunks, joined in the shape of a
    whole reply's; every chunk that carries text carries its tokens'."""
    joined = {"content": []} if chat else {
        "tokens": [], "token_logprobs": [], "top_logprobs": []}
    for chunk in chunks:
        choice = chunk["choices"][0]
        text = choice["delta"].get("content", "") if chat else choice["text"]
        if choice["logprobs"] is None:
            if text:
                fail("a streamed chunk of text %r has no logprobs" % text)
            continue
        for key, values in choice["logprobs"].items():
            joined[key] += values
    return joined


def check_streamed_logprobs(server):
    """Streamed, each chunk carries its tokens' log-probabilities: joined,
    they are the whole reply's, also where a stop string holds text back."""
    requests = [
        ("/v1/completions", {"prompt": PROMPT, "max_tokens": 12,
                             "temperature": 0, "logprobs": 3}),
        ("/v1/completions", {"prompt": PROMPT, "max_tokens": 60,
                             "temperature": 0, "logprobs": 1, "stop": "Lily"}),
        ("/v1/chat/completions", {
            "messages": [{"role": "user", "content": "Tell me a story."}],
            "max_tokens": 12, "temperature": 0, "logprobs": True,
            "top_logprobs": 2}),
    ]
    for path, body in requests:
        chat = "chat" in path
        whole = server.post(path, body)["choices"][0]
        if "stop" in body:
            expect("the stop string's reply", whole["finish_reason"], "stop")
        chunks = server.stream(path, body)
        what = "streamed %s logprobs" % ("chat" if chat else "completion")
        expect(what, joined_logprobs(chunks, chat), whole["logprobs"])
        text = "".join(c["choices"][0]["delta"].get("content", "") if chat
                       else c["choices"][0]["text"] for c in chunks)
        expect(what + " text", text,
               whole["message"]["content"] if chat else whole["text"])
        expect(what + " finish_reason",
               chunks[-1]["choices"][0]["finish_reason"],
               whole["finish_reason"])
    echoed = {"prompt": PROMPT, "max_tokens": 8, "temperature": 0,
              "echo": True}
    chunks = server.stream("/v1/completions", echoed)
    expect("streamed echo's first chunk", chunks[0]["choices"][0]["text"],
           PROMPT)
    expect("streamed echo", "".join(c["choices"][0]["text"] for c in chunks),
           server.post("/v1/completions", echoed)["choices"][0]["text"])
    print("stream: logprobs (completion, with a stop string, chat) join to "
          "the whole reply's; an echo streams its prompt first")


def check_echo(server, args):
    """Scoring a text as evaluation harnesses do (echo, logprobs, no new
    tokens): the prompt's log-probabilities against Hugging Face's logits."""
    with open(os.path.join(args.fixture, "golden.json")) as f:
        case = json.load(f)["cases"][0]
    ids = case["input_ids"]
    vocab = case["logits_shape"][1]
    logits = read_floats(os.path.join(args.fixture, case["logits_file"]))
    reply = server.post("/v1/completions", {"prompt": ids, "max_tokens": 0,
                                            "echo": True, "logprobs": 5})
    logprobs = reply["choices"][0]["logprobs"]
    expect("echo first token", (logprobs["token_logprobs"][0],
                                logprobs["top_logprobs"][0]), (None, None))
    worst = 0.0
    for i in range(1, len(ids)):
        expected = log_softmax(logits[(i - 1) * vocab:i * vocab])
        worst = max(worst, abs(logprobs["token_logprobs"][i] - expected[ids[i]]))
        top = sorted(logprobs["top_logprobs"][i].values(), reverse=True)
        best = sorted(expected, reverse=True)[:len(top)]
        worst = max([worst] + [abs(a - b) for a, b in zip(top, best)])
    # A log-probability is a logit minus a log-sum-exp of logits: twice the
    # logits' tolerance (fixtures/hf/README.md).
    if worst > 2e-4:
        fail("echoed prompt log-probabilities: |diff| %.3g > 2e-4" % worst)
    total = sum(logprobs["token_logprobs"][1:])
    scored = run_json(args.runner, [
        "perplexity", args.artifact, "--prompt-ids", ",".join(map(str, ids)),
        "--ctx", str(len(ids)), "--json"])
    # Each served term is rounded to float32 (|logprob| < 8: 5e-7 at most).
    if abs(total + scored["negative_log_likelihood"]) > 5e-7 * len(ids):
        fail("echo sums to %.9g, perplexity's NLL is %.9g" %
             (total, scored["negative_log_likelihood"]))
    print("echo: the prompt's log-probabilities within 2e-4 of Hugging Face's "
          "(%d tokens), summing to -NLL of perplexity" % (len(ids) - 1))


def chat_prompt_ids(args, system, user):
    result = subprocess.run(
        [args.runner, "chat", args.artifact, "--system", system,
         "--max-new-tokens", "1", "--print-ids"],
        input=user + "\n", capture_output=True, text=True)
    match = re.search(r"\[turn 1 ids: ([0-9 ]+)\]", result.stderr)
    if result.returncode != 0 or not match:
        fail("chat --print-ids: " + result.stderr.strip())
    return [int(i) for i in match.group(1).split()]


def check_errors(server):
    cases = [
        ("GET", "/nowhere", None, 404, "no such route: /nowhere"),
        ("DELETE", "/v1/models", None, 405, "DELETE is not allowed"),
        ("GET", "/v1/models/gpt-4", None, 404, "no such model: gpt-4"),
        ("POST", "/v1/completions", "{not json", 400, "the body is not JSON"),
        ("POST", "/v1/completions", {"prompt": [PROMPT, "Tom"], "n": 2}, 400,
         "n times the 2 prompt(s) must be at most the artifact's max_batch "
         "of 3"),
        ("POST", "/v1/completions", {"prompt": PROMPT, "best_of": 4}, 400,
         "best_of times the 1 prompt(s) must be at most the artifact's "
         "max_batch of 3"),
        ("POST", "/detokenize", {"tokens": [600]}, 400,
         "tokens has an id outside the vocabulary of 512: 600"),
        ("POST", "/v1/completions", {"prompt": PROMPT, "top_p": 2}, 400,
         "top_p must be in (0, 1]"),
        ("POST", "/v1/completions", {"prompt": PROMPT, "max_tokens": 600},
         400, "exceeds the artifact's max_seq of 512"),
        ("POST", "/v1/completions", {"prompt": [1, 9999]}, 400,
         "outside the vocabulary of 512"),
        ("POST", "/v1/chat/completions",
         {"messages": [{"role": "assistant", "content": "hi"}]}, 400,
         "must end with a user message"),
    ]
    for method, path, body, status, message in cases:
        actual, _, data = server.request(method, path, body)
        error = json.loads(data)["error"]
        if actual != status or message not in error["message"]:
            fail("%s %s: %d %r, expected %d with %r" %
                 (method, path, actual, error["message"], status, message))
    print("errors: %d bad requests refused with their status and field" %
          len(cases))


def send_completion(server, body, half_close=False):
    """A connection that has sent a completion request, and then closed its
    side when `half_close`: corked, the request and the end of the stream
    leave in one segment, so the server sees both at once."""
    client = socket.create_connection(("127.0.0.1", server.port))
    client.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, int(half_close))
    data = json.dumps(body)
    headers = "".join("%s: %s\r\n" % item for item in server.headers.items())
    client.sendall(("POST /v1/completions HTTP/1.1\r\n%sContent-Length: %d"
                    "\r\n\r\n%s" % (headers, len(data), data)).encode())
    if half_close:
        client.shutdown(socket.SHUT_WR)
    return client


def check_client_leaving(server):
    client = send_completion(server, {"prompt": PROMPT, "max_tokens": 400,
                                      "stream": True})
    client.recv(64)
    client.close()
    expect("after a client left", server.request("GET", "/health")[0], 200)
    # A client that closes (its side) is not answered: its generation stops.
    client = send_completion(server, {"prompt": PROMPT, "max_tokens": 400},
                             half_close=True)
    expect("the answer to a client gone", client.recv(64), b"")
    client.close()
    print("a client leaving mid-stream or before its answer: the server goes "
          "on")


def stall(server):
    """A connection that has sent the start of a request and then nothing."""
    client = socket.create_connection(("127.0.0.1", server.port))
    client.sendall(b"POST /v1/completions HTTP/1.1\r\nContent-Length: 100"
                   b"\r\n\r\n{")
    return client


def check_concurrency(server, args):
    """A stalled client holds only its connection: health checks and
    completions are answered meanwhile (within 10 s; the read timeout is
    30 s), and completions sent at once, with settings of their own, are
    answered each as alone, whether they ran one by one or as rows of one
    batch."""
    stalled = stall(server)
    started = time.monotonic()
    expect("/health beside a stalled client",
           server.request("GET", "/health")[0], 200)
    requests = [
        completion_case(PROMPT, 16, temperature=0),
        completion_case("Tom had a dog.", 24, temperature=0.8, seed=3),
        completion_case("Lily saw a bird.", 40, temperature=0, stop="Lily"),
    ]
    answers = [None] * len(requests)

    def complete(index):
        answers[index] = server.post("/v1/completions",
                                     requests[index][0])["choices"][0]["text"]
    clients = [threading.Thread(target=complete, args=(i,))
               for i in range(len(requests))]
    for client in clients:
        client.start()
    for client in clients:
        client.join()
    if time.monotonic() - started > 10:
        fail("answers beside a stalled client took %.1f s" %
             (time.monotonic() - started))
    expect("completions sent at once", answers,
           [generate(args, flags)["text"][0] for _, flags in requests])
    stalled.close()
    print("concurrency: beside a stalled client, /health and %d completions "
          "sent at once answer as alone" % len(requests))


def check_tokenize(server, args):
    """/tokenize gives the ids generate gives the prompt (a chat's: those
    chat gives it), /detokenize the text back."""
    reference = generate(args, ["-p", PROMPT, "--max-new-tokens", "0"])
    ids = reference["prompt_ids"][0]
    expect("/tokenize", server.post("/tokenize", {"prompt": PROMPT}),
           {"tokens": ids, "count": len(ids), "max_model_len": 512})
    expect("/tokenize without BOS", server.post("/tokenize", {
        "prompt": PROMPT, "add_special_tokens": False})["tokens"], ids[1:])
    system, user = "Be brief.", "Tell me a story about a cat."
    chat = server.post("/tokenize", {"messages": [
        {"role": "system", "content": system},
        {"role": "user", "content": user}]})
    expect("/tokenize a chat", chat["tokens"],
           chat_prompt_ids(args, system, user))
    expect("/detokenize", server.post("/detokenize", {"tokens": ids}),
           {"prompt": PROMPT})
    print("tokenize: a prompt's and a chat's ids as generate and chat give "
          "them; detokenize gives the text back")


def metrics(server):
    """GET /metrics as {sample name with labels: value}; every sample must
    belong to a family with HELP and TYPE lines."""
    status, kind, data = server.request("GET", "/metrics")
    expect("GET /metrics", (status, kind), (200, "text/plain; version=0.0.4"))
    samples, families = {}, set()
    for line in data.splitlines():
        if line.startswith("# TYPE "):
            families.add(line.split()[2])
        elif not line.startswith("# HELP "):
            match = re.fullmatch(
                r'([a-z_]+)(\{status="\d+"\}|\{le="[0-9.e+Inf]+"\})? (\S+)',
                line)
            if not match:
                fail("/metrics line %r" % line)
            family = re.sub(r"_(sum|count|bucket)$", "", match.group(1))
            if match.group(1) not in families and family not in families:
                fail("/metrics: %s has no TYPE" % match.group(1))
            samples[match.group(1) + (match.group(2) or "")] = float(
                match.group(3))
    return samples


def check_metrics(server):
    """/metrics counts a completion's tokens as its usage does, and its
    latency histograms' buckets count up to their counts."""
    before = metrics(server)
    usage = server.post("/v1/completions", {"prompt": "Tom had a dog.",
                                            "max_tokens": 9})["usage"]
    after = metrics(server)
    delta = {name: after[name] - before.get(name, 0) for name in after}
    expect("/metrics after a completion", [
        delta['llamac_requests_total{status="200"}'],
        delta["llamac_request_duration_seconds_count"],
        delta["llamac_request_queue_seconds_count"],
        delta["llamac_time_to_first_token_seconds_count"],
        delta["llamac_prompt_tokens_total"],
        delta["llamac_prompt_tokens_cached_total"],
        delta["llamac_generation_tokens_total"],
        after["llamac_requests_running"], after["llamac_requests_waiting"]],
        [1, 1, 1, 1, usage["prompt_tokens"],
         usage["prompt_tokens_details"]["cached_tokens"],
         usage["completion_tokens"], 0, 0])
    if not delta["llamac_decode_seconds_total"] > 0:
        fail("/metrics: no decode time counted")
    for histogram in ["llamac_request_duration_seconds",
                      "llamac_request_queue_seconds",
                      "llamac_time_to_first_token_seconds"]:
        buckets = [value for name, value in sorted(
            ((name, value) for name, value in after.items()
             if name.startswith(histogram + "_bucket")),
            key=lambda item: float(item[0].split('"')[1]))]
        if buckets != sorted(buckets) or buckets[-1] != after[
                histogram + "_count"]:
            fail("/metrics: %s's buckets %s do not count up to its count"
                 % (histogram, buckets))
    if not 0 < delta["llamac_time_to_first_token_seconds_sum"] <= delta[
            "llamac_request_queue_seconds_sum"] + delta[
            "llamac_request_duration_seconds_sum"]:
        fail("/metrics: the first token came outside the request's time")
    print("metrics: a completion's tokens counted as its usage, in %d samples"
          % len(after))


def check_stop(server, args):
    # SIGTERM drops a request still arriving rather than wait it out.
    stalled = stall(server)
    server.process.send_signal(signal.SIGTERM)
    rest = server.process.stderr.read()
    status = server.process.wait(timeout=10)
    stalled.close()
    if status != 0 or "llamac-run: stopped" not in rest:
        fail("after SIGTERM: exit %d, stderr %r" % (status, rest[-300:]))
    if "the client went away" not in rest:
        fail("the log does not say the client went away: %r" % rest[-300:])
    if not re.search(r" 499 cmpl-\d+: the client went away before its turn",
                     rest):
        fail("the log does not say a client left before its answer: %r" %
             rest[-300:])
    if "--prompt-lookup" in args.serve_flags:
        kept = [int(n) for n in re.findall(r"kept (\d+) of \d+ draft", rest)]
        if sum(kept) == 0:
            fail("prompt lookup kept no draft token: its path went unchecked")
    print("SIGTERM: stopped, exit 0")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artifact", required=True)
    parser.add_argument("--fixture", required=True,
                        help="the artifact's Hugging Face fixture")
    parser.add_argument("--runner", default="llamac-run")
    parser.add_argument("--api-key")
    parser.add_argument("serve_flags", nargs="*",
                        help="after --: more flags for serve")
    args = parser.parse_args()
    server = Server(args)
    try:
        if args.api_key:
            check_api_key(server)
        if "--allowed-origins" in args.serve_flags:
            check_cors(server, args.serve_flags[
                args.serve_flags.index("--allowed-origins") + 1].split(",")[0])
        check_routes(server)
        check_completions(server, args)
        check_chat(server, args)
        check_json_mode(server, args)
        check_logprobs(server, args)
        check_echo(server, args)
        check_streamed_logprobs(server)
        check_batch(server, args)
        check_choices(server, args)
        check_best_of(server, args)
        check_errors(server)
        check_client_leaving(server)
        check_concurrency(server, args)
        check_metrics(server)
        check_tokenize(server, args)
        check_stop(server, args)
    finally:
        if server.process.poll() is None:
            server.process.kill()


if __name__ == "__main__":
    main()
