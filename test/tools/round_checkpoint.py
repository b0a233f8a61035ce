#!/usr/bin/env python3
"""Writes a copy of a Hugging Face checkpoint with every tensor rounded to
f16 or bf16 (round to nearest even, as the CUDA runtime converts weights).

    round_checkpoint.py SRC_DIR DST_DIR f16|bf16

The CPU artifact compiled from the copy computes in float32 on exactly the
weights a CUDA artifact of that compute dtype holds, which separates the
GPU's own error from the dtype's rounding of a wider checkpoint. Exits 2
without writing when every tensor is already stored in that dtype.
Python 3 standard library only.
"""
import json
import os
import shutil
import struct
import sys

SIZES = {"F32": 4, "F16": 2, "BF16": 2}


def to_floats(raw, dtype):
    count = len(raw) // SIZES[dtype]
    if dtype == "F32":
        return struct.unpack("<%df" % count, raw)
    if dtype == "F16":
        return struct.unpack("<%de" % count, raw)
    bits = struct.unpack("<%dH" % count, raw)
    return struct.unpack("<%df" % count, struct.pack("<%dI" % count,
                                                     *[b << 16 for b in bits]))


def from_floats(values, dtype):
    if dtype == "F16":
        return struct.pack("<%de" % len(values), *values)  # Nearest even.
    words = struct.unpack("<%dI" % len(values), struct.pack("<%df" % len(values),
                                                            *values))
    rounded = [w >> 16 | 0x40 if (w & 0x7fffffff) > 0x7f800000
               else (w + 0x7fff + ((w >> 16) & 1)) >> 16 for w in words]
    return struct.pack("<%dH" % len(rounded), *rounded)


def read_checkpoint(directory):
    """The header of DIRECTORY/model.safetensors (its __metadata__ apart) and
    its data section: (header, metadata or None, body)."""
    with open(os.path.join(directory, "model.safetensors"), "rb") as f:
        data = f.read()
    length = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + length])
    return header, header.pop("__metadata__", None), data[8 + length:]


def rewrite_checkpoint(source, target, convert):
    """Copies the checkpoint SOURCE to TARGET with every tensor passed
    through convert(name, dtype, shape, raw) -> (raw, dtype)."""
    header, metadata, body = read_checkpoint(source)
    out_header = {"__metadata__": metadata} if metadata is not None else {}
    chunks, offset = [], 0
    for name in sorted(header, key=lambda n: header[n]["data_offsets"][0]):
        entry = header[name]
        begin, end = entry["data_offsets"]
        chunk, dtype = convert(name, entry["dtype"], entry["shape"], body[begin:end])
        out_header[name] = {"dtype": dtype, "shape": entry["shape"],
                            "data_offsets": [offset, offset + len(chunk)]}
        chunks.append(chunk)
        offset += len(chunk)
    encoded = json.dumps(out_header).encode()
    encoded += b" " * (-len(encoded) % 8)
    os.makedirs(target, exist_ok=True)
    for name in os.listdir(source):
        if name != "model.safetensors" and not name.endswith(".f32"):
            shutil.copy(os.path.join(source, name), target)
    with open(os.path.join(target, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(encoded)) + encoded + b"".join(chunks))


def stored_dtypes(source):
    header, _, _ = read_checkpoint(source)
    return {entry["dtype"] for entry in header.values()}


def main():
    source, target, dtype = sys.argv[1], sys.argv[2], sys.argv[3].upper()
    if stored_dtypes(source) == {dtype}:
        return 2
    rewrite_checkpoint(source, target, lambda name, stored, shape, raw:
                       (from_floats(to_floats(raw, stored), dtype), dtype))
    return 0


if __name__ == "__main__":
    sys.exit(main())
