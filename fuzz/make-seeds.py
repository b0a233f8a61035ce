#!/usr/bin/env python3
"""Derives small seed inputs for the fuzz targets from the shared fixtures.

Usage: make-seeds.py SHARED_DIR OUT_DIR

Writes OUT_DIR/<target>/<name> for every target in fuzz/CMakeLists.txt. The
fixtures themselves are megabytes; a fuzzer learns more from small inputs
that have their structure, so the seeds are the fixtures' headers with a
little data, valid files repacked to a few tensors, and the fixtures' JSON
documents. Nothing here is copied into the repository: scripts/fuzz.sh runs
this into the build directory every time.
"""
import json
import os
import struct
import sys

SHARED, OUT = sys.argv[1], sys.argv[2]
MAX_DATA = 4096  # bytes of tensor data kept in a truncated seed


PERSON_SCHEMA = {
    "type": "object", "additionalProperties": False, "required": ["name", "age"],
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"},
                   "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 3},
                   "mood": {"enum": ["happy", "sad"]}}}


def write(target, name, data):
    folder = os.path.join(OUT, target)
    os.makedirs(folder, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def checkpoints():
    """(name, directory) of every Hugging Face checkpoint in the fixtures."""
    found = []
    for parent in ("fixtures/hf", "models/stories260K"):
        base = os.path.join(SHARED, parent)
        for entry in sorted(os.listdir(base)):
            directory = os.path.join(base, entry)
            if os.path.isfile(os.path.join(directory, "model.safetensors")):
                found.append((entry if parent == "fixtures/hf" else "stories260K", directory))
    return found


def read_safetensors(path):
    with open(path, "rb") as f:
        blob = f.read()
    (length,) = struct.unpack("<Q", blob[:8])
    return blob, length, json.loads(blob[8 : 8 + length])


def pack_safetensors(entries):
    """entries: [(name, dtype, shape, bytes)] -> a valid file."""
    header, data = {}, b""
    for name, dtype, shape, payload in entries:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(payload)]}
        data += payload
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + data


def safetensors_seeds():
    for name, directory in checkpoints():
        blob, length, header = read_safetensors(os.path.join(directory, "model.safetensors"))
        # The real header with the start of the data (offsets then run past the end).
        write("safetensors_fuzzer", f"{name}-truncated", blob[: 8 + length + MAX_DATA])
        # A valid file of the smallest tensors, with their real bytes.
        tensors = [(k, v) for k, v in header.items() if k != "__metadata__"]
        tensors.sort(key=lambda item: item[1]["data_offsets"][1] - item[1]["data_offsets"][0])
        chosen, total = [], 0
        for key, value in tensors:
            begin, end = value["data_offsets"]
            if total + end - begin > MAX_DATA:
                break
            payload = blob[8 + length + begin : 8 + length + end]
            chosen.append((key, value["dtype"], value["shape"], payload))
            total += end - begin
        if chosen:
            write("safetensors_fuzzer", f"{name}-small", pack_safetensors(chosen))
        # The index a sharded copy of this checkpoint would have.
        weight_map = {key: f"model-0000{1 + i % 2}-of-00002.safetensors" for i, (key, _) in enumerate(tensors)}
        write("safetensors_index_fuzzer", f"{name}-index.json",
              json.dumps({"metadata": {"total_size": len(blob)}, "weight_map": weight_map}, indent=2))
    # A weight stored as int4 (llamac-run quantize): U8 codes, F16 scales and minimums.
    write("safetensors_fuzzer", "int4-parts",
          pack_safetensors([("w.int4_codes", "U8", [4, 8], bytes(range(32))),
                            ("w.int4_scales", "F16", [4, 2], bytes(16)),
                            ("w.int4_mins", "F16", [4, 2], bytes(16))]))


def json_seeds():
    for name, directory in checkpoints():
        for document in ("config.json", "generation_config.json"):
            path = os.path.join(directory, document)
            if os.path.isfile(path):
                with open(path, "rb") as f:
                    write("config_fuzzer", f"{name}-{document}", f.read())
    configs = os.path.join(SHARED, "configs")
    for entry in sorted(os.listdir(configs)):
        path = os.path.join(configs, entry, "config.json")
        if os.path.isfile(path):
            with open(path, "rb") as f:
                write("config_fuzzer", f"{entry}-config.json", f.read())


def manifest_for(config, header, generation):
    """What compiler/Target/Artifact.cpp writes for this checkpoint (the
    fields the runtime reads, docs/ARTIFACT.md)."""
    classifier = config.get("architectures", ["LlamaForCausalLM"])[0] == "LlamaForSequenceClassification"
    heads = config["num_attention_heads"]
    head_dim = config.get("head_dim", config["hidden_size"] // heads)
    kv_heads = config.get("num_key_value_heads", heads)
    num_labels = config.get("num_labels", len(config.get("id2label", {})) or 2) if classifier else 0
    dtypes = {"F32": "f32", "F16": "f16", "BF16": "bf16"}
    table = [{"name": k, "dtype": dtypes[v["dtype"]], "shape": v["shape"]}
             for k, v in header.items() if k != "__metadata__"]
    return {
        "format": "llamac-artifact",
        "format_version": 1,
        "producer": "llamac 0.1.0",
        "target": "cpu",
        "chip": "x86-64",
        "opt_level": 2,
        "compute_dtype": "f32",
        "library": "model.so",
        "entry_points": {"prefill": "_mlir_ciface_prefill", "decode": "_mlir_ciface_decode"},
        "max_batch": 2,
        "max_seq": 16,
        "kv_cache": {"dtype": "f32", "shape": [config["num_hidden_layers"], 2, 2, kv_heads, 16, head_dim]},
        "output": {"kind": "scores" if classifier else "logits",
                   "size": num_labels if classifier else config["vocab_size"]},
        # The checkpoint's config.json as it is: the runtime reads it with the
        # frontends' parser.
        "config": config,
        "weights": {"source": "/nonexistent/checkpoint", "format": "huggingface", "table": table},
        "tokenizer": None,
        "generation_config": generation,
        "memory_plan": {"weight_bytes": 0, "kv_cache_bytes": 0, "scratch_bytes": 4096},
        "functions": [],
    }


def manifest_seeds():
    for name, directory in checkpoints():
        with open(os.path.join(directory, "config.json")) as f:
            config = json.load(f)
        _, _, header = read_safetensors(os.path.join(directory, "model.safetensors"))
        generation = None
        if os.path.isfile(os.path.join(directory, "generation_config.json")):
            with open(os.path.join(directory, "generation_config.json")) as f:
                generation = json.load(f)
        write("manifest_fuzzer", f"{name}-manifest.json",
              json.dumps(manifest_for(config, header, generation), indent=2))


def llama2c_seeds():
    path = os.path.join(SHARED, "models/stories260K/llama2c/stories260K.bin")
    with open(path, "rb") as f:
        blob = f.read()
    write("llama2c_fuzzer", "stories260K-truncated", blob[: 28 + MAX_DATA])
    # Valid files of a tiny shape: the real header's layout with small sizes.
    for dim, hidden, layers, heads, kv_heads, vocab, seq in ((8, 16, 1, 2, 1, 8, 4), (8, 12, 2, 2, 2, -6, 2)):
        head_dim = dim // heads
        kv_dim = kv_heads * head_dim
        floats = abs(vocab) * dim + layers * (dim + dim * dim + 2 * kv_dim * dim + dim * dim + dim + 3 * hidden * dim)
        floats += dim + seq * head_dim  # final norm, the two rotary tables
        if vocab < 0:
            floats += -vocab * dim
        header = struct.pack("<7i", dim, hidden, layers, heads, kv_heads, vocab, seq)
        data = struct.pack(f"<{floats}f", *[(i % 7) * 0.25 - 0.75 for i in range(floats)])
        write("llama2c_fuzzer", f"tiny-{dim}-{hidden}-{layers}-{heads}-{kv_heads}-{vocab}-{seq}.bin", header + data)


def tokenizer_seeds():
    with open(os.path.join(SHARED, "fixtures/tokenizer/llama2/vectors.json")) as f:
        vectors = json.load(f)["vectors"]
    for i, vector in enumerate(vectors):
        text = vector["text"].encode()
        # Mode byte: bit 0 BOS, bit 1 dummy prefix, bits 2.. the special-token mode.
        write("tokenizer_fuzzer", f"encode-{i:03d}", bytes([0x03 | (i % 3) << 2]) + text)
        ids = vector["ids"]
        write("tokenizer_fuzzer", f"decode-{i:03d}", bytes([0x80 | i % 2]) + struct.pack(f"<{len(ids)}H", *ids))
    with open(os.path.join(SHARED, "fixtures/tokenizer/llama2/chat.json")) as f:
        chat = f.read()
    write("tokenizer_fuzzer", "chat-json", bytes([0x07]) + chat.encode()[:MAX_DATA])
    # The small real model (stories260K's, 512 pieces); Llama 2's is 500 KB.
    with open(os.path.join(SHARED, "models/stories260K/hf/tokenizer.model"), "rb") as f:
        write("tokenizer_model_fuzzer", "stories260K.model", f.read())


def http_seeds():
    """What clients send `llamac-run serve`: each route, streamed and not,
    and the framings the parser refuses."""
    def post(path, body):
        data = json.dumps(body).encode()
        return (f"POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: "
                f"application/json\r\nContent-Length: {len(data)}\r\n\r\n").encode() + data
    chat = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    requests = {
        "health": b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n",
        "models": b"GET /v1/models HTTP/1.0\n\n",
        "completion": post("/v1/completions", {"prompt": "Once upon a time", "max_tokens": 16,
                                               "temperature": 0.7, "top_p": 0.9, "stop": ["\n", "."]}),
        "completion-ids": post("/v1/completions", {"prompt": [1, 403, 407], "stream": True, "seed": 3}),
        "completion-choices": post("/v1/completions", {
            "prompt": ["Once", [1, 403]], "n": 2, "presence_penalty": 0.5,
            "frequency_penalty": -0.25, "logit_bias": {"13": -100, "403": 2.5}}),
        "completion-best-of": post("/v1/completions", {
            "prompt": "Once", "n": 2, "best_of": 4, "logprobs": 2, "echo": True}),
        "completion-stream-logprobs": post("/v1/completions", {
            "prompt": "Once", "stream": True, "logprobs": 1, "stop": "x"}),
        "tokenize": post("/tokenize", {"prompt": "Once upon a time", "add_special_tokens": False}),
        "detokenize": post("/detokenize", {"tokens": [1, 403, 407, 511]}),
        "chat": post("/v1/chat/completions", {"messages": chat, "max_tokens": 8, "stream": True, "n": 3}),
        "chat-parts": post("/v1/chat/completions", {"messages": [
            {"role": "user", "content": [{"type": "text", "text": "Hello"}]}], "n": 1, "logprobs": False}),
        "completion-json-mode": post("/v1/completions", {
            "prompt": "Once", "response_format": {"type": "json_object"}, "ignore_eos": False}),
        "chat-json-schema": post("/v1/chat/completions", {"messages": chat, "response_format": {
            "type": "json_schema", "json_schema": {"name": "p", "schema": PERSON_SCHEMA}}}),
        "classify": post("/classify", {"input": ["Once upon a time", [1, 403, 407]]}),
        "chunked": b"POST /v1/completions HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    }
    for name, request in requests.items():
        write("http_request_fuzzer", name, request)


def json_schema_seeds():
    """Schemas of each kind the compiler takes, each with a text it accepts
    after the NUL, and a few it refuses."""
    cases = {
        "person": (PERSON_SCHEMA, '{"name": "Ann", "age": 3, "tags": ["a"], "mood": "sad"}'),
        "any-object": ({"type": "object"}, '{"a": [1, -2.5e+3, {"b": "\\u00e9\\ud83d\\ude00"}, null]}'),
        "enums": ({"type": "object", "properties": {"n": {"enum": [1, 12, 3.5, None, {"a": [1]}]},
                                                    "c": {"const": "x y"}}},
                  '{"n": 12, "c": "x y"}'),
        "defs": ({"$defs": {"P": {"type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"]}},
                  "type": "object", "properties": {"p": {"$ref": "#/$defs/P"},
                                                   "o": {"anyOf": [{"type": "string"}, {"type": "null"}]}},
                  "required": ["p"]},
                 '{"p": {"x": 1, "y": true}, "o": null}'),
        "bounds": ({"type": "object", "properties": {
                       "n": {"type": "integer", "minimum": -5, "exclusiveMaximum": 120},
                       "s": {"type": "string", "minLength": 1, "maxLength": 3}}},
                   '{"n": -4, "s": "\\u00e9\\ud83d\\ude00"}'),
        "refused": ({"type": "object", "properties": {"a": {"type": "string", "pattern": "a+"}}}, ""),
    }
    for name, (schema, text) in cases.items():
        write("json_schema_fuzzer", name, json.dumps(schema).encode() + b"\0" + text.encode())


safetensors_seeds()
json_seeds()
manifest_seeds()
llama2c_seeds()
tokenizer_seeds()
http_seeds()
json_schema_seeds()
