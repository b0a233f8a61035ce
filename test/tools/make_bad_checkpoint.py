#!/usr/bin/env python3
"""Makes a broken copy of a checkpoint for the CLI error tests.

    make_bad_checkpoint.py CASE SOURCE OUT

SOURCE is a Hugging Face checkpoint directory (config.json +
model.safetensors) or, for the llama2c-* cases, a llama2.c .bin file. OUT is
created (a directory, or a .bin file for the llama2c-* cases) holding a copy
of SOURCE with one thing wrong, so that each test names exactly one problem:

  no-config               the directory without config.json
  invalid-json            config.json that is not JSON
  heads-not-dividing      no head_dim, and num_attention_heads that does not
                          divide hidden_size
  unsupported-rope        rope_scaling of type "yarn"
  truncated-safetensors   model.safetensors cut in the middle of its data
  header-too-long         a header length larger than the file
  offsets-out-of-range    a tensor whose data_offsets end past the data
  wrong-dtype             a tensor whose dtype is not a safetensors dtype
  missing-tensor          model.layers.1.mlp.up_proj.weight left out
  wrong-shape             model.layers.0.mlp.gate_proj.weight with its
                          dimensions swapped (same byte size)
  beyond-half             element 5 of model.layers.1.self_attn.o_proj.weight
                          set to 98304, finite but beyond float16's range
  below-half              the same element set to -98304
  nan-weight              the same element set to NaN
  llama2c-nonsense        a llama2.c header with a negative dimension
  llama2c-truncated       a llama2.c file cut after its header

Python 3 standard library only; nothing is written outside OUT.
"""
import json
import os
import shutil
import struct
import sys

SAFETENSORS = "model.safetensors"


def copy_checkpoint(source, out):
    """Copies config.json and model.safetensors (what the loader reads)."""
    os.makedirs(out, exist_ok=True)
    for name in ("config.json", SAFETENSORS):
        shutil.copyfile(os.path.join(source, name), os.path.join(out, name))


def edit_config(out, edit):
    path = os.path.join(out, "config.json")
    with open(path) as f:
        config = json.load(f)
    edit(config)
    with open(path, "w") as f:
        json.dump(config, f, indent=2)


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    return header, data[8 + length:]


def write_safetensors(path, header, payload):
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        f.write(payload)


def edit_header(out, edit):
    path = os.path.join(out, SAFETENSORS)
    header, payload = read_safetensors(path)
    edit(header)
    write_safetensors(path, header, payload)


def set_element(out, name, index, value):
    """Stores `value` at element `index` of tensor `name` (F32 or BF16)."""
    path = os.path.join(out, SAFETENSORS)
    header, payload = read_safetensors(path)
    entry = header[name]
    if entry["dtype"] not in ("F32", "BF16"):
        sys.exit("%s is %s, not F32 or BF16" % (name, entry["dtype"]))
    raw = struct.pack("<f", value)
    if entry["dtype"] == "BF16":
        raw = raw[2:]  # the upper half, exact for 98304
    offset = entry["data_offsets"][0] + index * len(raw)
    payload = payload[:offset] + raw + payload[offset + len(raw):]
    write_safetensors(path, header, payload)


def last_tensor(header):
    """The tensor whose data ends last."""
    tensors = {k: v for k, v in header.items() if k != "__metadata__"}
    return max(tensors, key=lambda name: tensors[name]["data_offsets"][1])


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    case, source, out = sys.argv[1:]

    if case.startswith("llama2c-"):
        with open(source, "rb") as f:
            data = bytearray(f.read())
        if case == "llama2c-nonsense":
            # dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len
            struct.pack_into("<i", data, 0, -64)
        elif case == "llama2c-truncated":
            data = data[:7 * 4 + 100]
        else:
            sys.exit("unknown case " + case)
        with open(out, "wb") as f:
            f.write(data)
        return

    copy_checkpoint(source, out)
    if case == "no-config":
        os.remove(os.path.join(out, "config.json"))
    elif case == "invalid-json":
        with open(os.path.join(out, "config.json"), "w") as f:
            f.write('{"hidden_size": 128, "num_attention_heads": 8,\n')
    elif case == "heads-not-dividing":
        def edit(config):
            config.pop("head_dim", None)
            config["num_attention_heads"] = 7
            config["num_key_value_heads"] = 7
        edit_config(out, edit)
    elif case == "unsupported-rope":
        def edit(config):
            config.pop("rope_parameters", None)
            config["rope_theta"] = 10000.0
            config["rope_scaling"] = {"type": "yarn", "factor": 4.0}
        edit_config(out, edit)
    elif case == "truncated-safetensors":
        path = os.path.join(out, SAFETENSORS)
        size = os.path.getsize(path)
        with open(path, "r+b") as f:
            f.truncate(size // 2)
    elif case == "header-too-long":
        path = os.path.join(out, SAFETENSORS)
        size = os.path.getsize(path)
        with open(path, "r+b") as f:
            f.write(struct.pack("<Q", size + 4096))
    elif case == "offsets-out-of-range":
        def edit(header):
            entry = header[last_tensor(header)]
            begin, end = entry["data_offsets"]
            entry["data_offsets"] = [begin + 4096, end + 4096]
        edit_header(out, edit)
    elif case == "wrong-dtype":
        def edit(header):
            header["model.norm.weight"]["dtype"] = "F17"
        edit_header(out, edit)
    elif case == "missing-tensor":
        def edit(header):
            del header["model.layers.1.mlp.up_proj.weight"]
        edit_header(out, edit)
    elif case == "wrong-shape":
        def edit(header):
            entry = header["model.layers.0.mlp.gate_proj.weight"]
            entry["shape"] = list(reversed(entry["shape"]))
        edit_header(out, edit)
    elif case in ("beyond-half", "below-half", "nan-weight"):
        value = {"beyond-half": 98304.0, "below-half": -98304.0,
                 "nan-weight": float("nan")}[case]
        set_element(out, "model.layers.1.self_attn.o_proj.weight", 5, value)
    else:
        sys.exit("unknown case " + case)


if __name__ == "__main__":
    main()
