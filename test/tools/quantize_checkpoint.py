#!/usr/bin/env python3
"""Writes a copy of a Hugging Face checkpoint whose linear layers hold the
values int4 quantization gives them, as float32.

    quantize_checkpoint.py SRC_DIR DST_DIR GROUP_SIZE

The projections of every decoder layer (q/k/v/o_proj, gate/up/down_proj) are
quantized in groups of GROUP_SIZE input features, each group to 4-bit codes
with a float16 scale and minimum, and written back as code * scale + min; the
other tensors are copied unchanged. A float32 artifact of the copy computes
what an int4 artifact (`llamac compile --quantize int4`) of the original
should, so the two are compared. This is an independent implementation of
the runtime's quantizer (runtime/Int4Weights.cpp), rounding for rounding.
Python 3 standard library only.
"""
import re
import struct
import sys

from round_checkpoint import rewrite_checkpoint, to_floats

LINEAR = re.compile(r"model\.layers\.\d+\.(self_attn\.[qkvo]_proj|mlp\.(gate|up|down)_proj)\.weight$")


def f32(value):
    return struct.unpack("<f", struct.pack("<f", value))[0]


def f16(value):
    return struct.unpack("<e", struct.pack("<e", value))[0]


def quantized_group(values):
    """The group's codes, scale and minimum: float32 arithmetic, float16 scale
    and minimum, codes rounded half to even and clamped to [0, 15] (0 where
    the scale is 0)."""
    low, high = min(values), max(values)
    minimum = f16(low)
    scale = f16(f32(f32(high - low) / 15.0))
    if scale == 0.0:
        return [0] * len(values), scale, minimum
    codes = [min(15, max(0, round(f32(f32(v - minimum) / scale)))) for v in values]
    return codes, scale, minimum


def dequantized_group(values):
    """The group's values after quantization."""
    codes, scale, minimum = quantized_group(values)
    return [f32(code * scale + minimum) for code in codes]


def quantized(values, shape, group_size):
    rows, cols = shape
    if cols % group_size:
        sys.exit("group size %d does not divide %d" % (group_size, cols))
    out = []
    for start in range(0, rows * cols, group_size):
        out.extend(dequantized_group(values[start:start + group_size]))
    return out


def main():
    source, target, group_size = sys.argv[1], sys.argv[2], int(sys.argv[3])

    def convert(name, dtype, shape, raw):
        if not LINEAR.match(name):
            return raw, dtype
        values = quantized(to_floats(raw, dtype), shape, group_size)
        return struct.pack("<%df" % len(values), *values), "F32"

    rewrite_checkpoint(source, target, convert)


if __name__ == "__main__":
    main()
