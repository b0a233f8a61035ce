#!/usr/bin/env python3
"""Writes one hostile input for the test/Reliability tests.

    make_hostile_input.py CASE SOURCE OUT

Each case copies SOURCE with exactly one thing wrong, so that a test names
one problem. SOURCE and OUT are, by case prefix:

  config-*     SOURCE a config.json, OUT a config.json
  st-*         SOURCE a checkpoint directory (config.json, model.safetensors),
               OUT a directory with config.json and a broken model.safetensors
  checkpoint-* SOURCE a checkpoint directory, OUT a copy with a hostile
               companion file
  llama2c-*    SOURCE a config.json whose shape the .bin takes, OUT a .bin
  manifest-*   SOURCE an artifact directory, OUT a copy with a broken
               manifest.json

Cases:
  config-zero-hidden          hidden_size 0
  config-negative-layers      num_hidden_layers -2
  config-heads-not-dividing   3 heads for the hidden size, no head_dim
  config-kv-not-dividing      num_key_value_heads that does not divide the heads
  config-zero-vocab           vocab_size 0
  config-string-size          hidden_size as a string
  config-huge                 a valid config padded to 100 MB
  config-huge-head-dim        a valid config with head_dim 2^26 (one head)
  st-header-past-end          header length equal to the file size
  st-negative-offset          a tensor whose data_offsets begin at -4
  st-overlap                  two tensors sharing their bytes
  st-out-of-range             a tensor whose data_offsets end past the data
  st-shape-overflow           a shape whose element count overflows 64 bits
  st-float8                   a tensor of dtype F8_E4M3
  st-garbage-dtype            a dtype of control bytes and junk
  st-duplicate-name           the same tensor name twice in the header
  st-deep-header              a header nested a million levels deep
  checkpoint-deep-generation-config
                              generation_config.json nested a million levels
  checkpoint-garbage-tokenizer
                              a tokenizer.model that is not a SentencePiece model
                              and whose bytes include a newline and an escape
  llama2c-negative-dim        a header whose dim is -16
  llama2c-absurd-layers       a header claiming 2^31 - 1 layers
  llama2c-absurd-sizes        sizes whose file would exceed 2^64 bytes
  llama2c-short               a file one float shorter than its header implies
  manifest-version            format_version 99
  manifest-not-an-artifact    format "something-else"
  manifest-table-shape        a weight whose shape disagrees with the checkpoint
  manifest-table-missing      the table without its last weight
  manifest-table-extra        the table with a weight the checkpoint lacks
  manifest-huge               manifest.json padded past 64 MiB
  manifest-tokenizer-outside  a tokenizer path that leaves the artifact directory

Python 3 standard library only; nothing is written outside OUT.
"""
import json
import os
import shutil
import struct
import sys


def load_json(path):
    with open(path) as f:
        return json.load(f)


def write_json(path, value, padding=0):
    with open(path, "w") as f:
        json.dump(value, f, indent=2)
        if padding:
            f.write(" " * padding)


# config-*: edits of a config.json.
CONFIG_EDITS = {
    "config-zero-hidden": lambda c: c.update(hidden_size=0),
    "config-negative-layers": lambda c: c.update(num_hidden_layers=-2),
    "config-heads-not-dividing": lambda c: (c.pop("head_dim", None), c.update(num_attention_heads=3)),
    "config-kv-not-dividing": lambda c: c.update(num_key_value_heads=3),
    "config-zero-vocab": lambda c: c.update(vocab_size=0),
    "config-string-size": lambda c: c.update(hidden_size=str(c["hidden_size"])),
    "config-huge-head-dim": lambda c: c.update(hidden_size=1 << 26, head_dim=1 << 26,
                                               num_attention_heads=1, num_key_value_heads=1),
}


def make_config(case, source, out):
    config = load_json(source)
    if case == "config-huge":
        write_json(out, config, padding=100 * 1000 * 1000)
        return
    CONFIG_EDITS[case](config)
    write_json(out, config)


def read_safetensors(path):
    with open(path, "rb") as f:
        blob = f.read()
    (length,) = struct.unpack("<Q", blob[:8])
    return json.loads(blob[8 : 8 + length]), blob[8 + length :]


def safetensors_bytes(header_text, data, length=None):
    header_text = header_text.encode() if isinstance(header_text, str) else header_text
    size = len(header_text) if length is None else length
    return struct.pack("<Q", size) + header_text + data


def tensor_names(header):
    return [name for name in header if name != "__metadata__"]


def make_safetensors(case, source, out):
    os.makedirs(out, exist_ok=True)
    shutil.copyfile(os.path.join(source, "config.json"), os.path.join(out, "config.json"))
    header, data = read_safetensors(os.path.join(source, "model.safetensors"))
    names = tensor_names(header)
    first = header[names[0]]
    text = None
    if case == "st-header-past-end":
        text = json.dumps(header)
        blob = safetensors_bytes(text, data)
        blob = safetensors_bytes(text, data, length=len(blob))
    else:
        if case == "st-negative-offset":
            first["data_offsets"][0] = -4
        elif case == "st-overlap":
            # Two tensors of one size, the second given the first's bytes.
            sizes = {}
            for name in names:
                begin, end = header[name]["data_offsets"]
                if end - begin in sizes:
                    header[name]["data_offsets"] = list(header[sizes[end - begin]]["data_offsets"])
                    break
                sizes[end - begin] = name
        elif case == "st-out-of-range":
            first["data_offsets"][1] = len(data) + 4
        elif case == "st-shape-overflow":
            first["shape"] = [1 << 62, 1 << 62]
        elif case == "st-float8":
            first["dtype"] = "F8_E4M3"
        elif case == "st-garbage-dtype":
            first["dtype"] = "\x01\x02garbage\nmore"
        elif case == "st-duplicate-name":
            # json.dumps cannot repeat a key: splice the first entry in twice.
            entry = json.dumps({names[0]: first})[1:-1]
            text = "{" + entry + "," + json.dumps(header)[1:]
        elif case == "st-deep-header":
            text = "[" * 1000000 + "]" * 1000000
        else:
            sys.exit("unknown case " + case)
        if text is None:
            text = json.dumps(header)
        blob = safetensors_bytes(text, data)
    with open(os.path.join(out, "model.safetensors"), "wb") as f:
        f.write(blob)


def make_checkpoint(case, source, out):
    shutil.copytree(source, out)
    if case == "checkpoint-deep-generation-config":
        with open(os.path.join(out, "generation_config.json"), "w") as f:
            f.write("[" * 1000000 + "]" * 1000000)
    elif case == "checkpoint-garbage-tokenizer":
        with open(os.path.join(out, "tokenizer.model"), "wb") as f:
            f.write(b"\x1b[31mnot a model\n\xff\xfe" * 4)
    else:
        sys.exit("unknown case " + case)


def make_llama2c(case, source, out):
    config = load_json(source)
    dim, hidden, layers = config["hidden_size"], config["intermediate_size"], config["num_hidden_layers"]
    heads, kv_heads, vocab = config["num_attention_heads"], config["num_key_value_heads"], config["vocab_size"]
    seq = config["max_position_embeddings"]
    head_dim = dim // heads
    kv_dim = kv_heads * head_dim
    # vocab_size negative: an unshared classifier (lm_head) after the blocks.
    fields = [dim, hidden, layers, heads, kv_heads, -vocab, seq]
    floats = vocab * dim + layers * (2 * dim + 2 * dim * dim + 2 * kv_dim * dim + 3 * hidden * dim)
    floats += dim + seq * head_dim + vocab * dim
    if case == "llama2c-negative-dim":
        fields[0] = -16
    elif case == "llama2c-absurd-layers":
        fields[2] = 2**31 - 1
    elif case == "llama2c-absurd-sizes":
        fields = [2**30, 2**30, 65536, 1, 1, 2**31 - 1, 2**31 - 1]
    elif case == "llama2c-short":
        floats -= 1
    else:
        sys.exit("unknown case " + case)
    with open(out, "wb") as f:
        f.write(struct.pack("<7i", *fields))
        f.write(bytes(4 * floats))


def make_manifest(case, source, out):
    shutil.copytree(source, out)
    path = os.path.join(out, "manifest.json")
    manifest = load_json(path)
    table = manifest["weights"]["table"]
    padding = 0
    if case == "manifest-version":
        manifest["format_version"] = 99
    elif case == "manifest-not-an-artifact":
        manifest["format"] = "something-else"
    elif case == "manifest-table-shape":
        table[1]["shape"] = [dim + 1 for dim in table[1]["shape"]]
    elif case == "manifest-table-missing":
        table.pop()
    elif case == "manifest-table-extra":
        table.append({"name": "model.extra.weight", "dtype": table[0]["dtype"], "shape": [4]})
    elif case == "manifest-huge":
        padding = (64 << 20) + 1
    elif case == "manifest-tokenizer-outside":
        manifest["tokenizer"] = "../" + os.path.basename(os.path.normpath(source)) + "/tokenizer.model"
    else:
        sys.exit("unknown case " + case)
    write_json(path, manifest, padding)


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    case, source, out = sys.argv[1:]
    if case.startswith("config-"):
        make_config(case, source, out)
    elif case.startswith("st-"):
        make_safetensors(case, source, out)
    elif case.startswith("checkpoint-"):
        make_checkpoint(case, source, out)
    elif case.startswith("llama2c-"):
        make_llama2c(case, source, out)
    elif case.startswith("manifest-"):
        make_manifest(case, source, out)
    else:
        sys.exit("unknown case " + case)


if __name__ == "__main__":
    main()
