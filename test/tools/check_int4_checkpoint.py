#!/usr/bin/env python3
"""Checks a checkpoint that `llamac-run quantize` wrote against its source.

    check_int4_checkpoint.py SRC_DIR STORED_DIR GROUP_SIZE

Every projection of SRC's decoder layers (quantize_checkpoint.LINEAR, [N, K])
must be stored as NAME.int4_codes (U8 [N, K/2], code k in byte k/2, the low
nibble for an even k), NAME.int4_scales and NAME.int4_mins (F16 [N, K/G]),
back to back in that order, holding what the independent quantizer gives;
every other tensor must hold SRC's bytes, and nothing else may be stored.
Prints a summary; exits 1 at the first difference. Python 3 standard
library only.
"""
import struct
import sys

from quantize_checkpoint import LINEAR, quantized_group
from round_checkpoint import read_checkpoint, to_floats


def fail(message):
    print("FAIL: " + message)
    sys.exit(1)


def int4_parts(values, shape, group_size):
    """The bytes of the codes, scales and minimums of a [N, K] weight."""
    codes, scales, minimums = [], [], []
    for start in range(0, shape[0] * shape[1], group_size):
        group_codes, scale, minimum = quantized_group(values[start:start + group_size])
        codes.extend(group_codes)
        scales.append(scale)
        minimums.append(minimum)
    packed = bytes(codes[i] | codes[i + 1] << 4 for i in range(0, len(codes), 2))
    return [packed, struct.pack("<%de" % len(scales), *scales),
            struct.pack("<%de" % len(minimums), *minimums)]


def main():
    source, stored, group_size = sys.argv[1], sys.argv[2], int(sys.argv[3])
    source_header, _, source_body = read_checkpoint(source)
    header, _, body = read_checkpoint(stored)
    expected = set()
    int4_weights = 0

    def expect(name, dtype, shape, raw):
        expected.add(name)
        entry = header.get(name)
        if entry is None:
            fail("%s is not stored" % name)
        if entry["dtype"] != dtype or entry["shape"] != shape:
            fail("%s is %s %s, expected %s %s" % (name, entry["dtype"], entry["shape"],
                                                 dtype, shape))
        begin, end = entry["data_offsets"]
        if body[begin:end] != raw:
            fail("%s differs from the reference" % name)
        return entry["data_offsets"]

    for name, entry in source_header.items():
        begin, end = entry["data_offsets"]
        raw, shape = source_body[begin:end], entry["shape"]
        if not LINEAR.match(name):
            expect(name, entry["dtype"], shape, raw)
            continue
        rows, columns = shape
        parts = int4_parts(to_floats(raw, entry["dtype"]), shape, group_size)
        groups_shape = [rows, columns // group_size]
        offsets = [expect(name + ".int4_codes", "U8", [rows, columns // 2], parts[0]),
                   expect(name + ".int4_scales", "F16", groups_shape, parts[1]),
                   expect(name + ".int4_mins", "F16", groups_shape, parts[2])]
        if offsets[0][1] != offsets[1][0] or offsets[1][1] != offsets[2][0]:
            fail("the int4 parts of %s are not back to back" % name)
        int4_weights += 1
    extra = sorted(set(header) - expected)
    if extra:
        fail("unexpected tensors: " + ", ".join(extra))
    print("%d weights stored as the reference quantizer's int4, %d as the source's"
          % (int4_weights, len(source_header) - int4_weights))


if __name__ == "__main__":
    main()
