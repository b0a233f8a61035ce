"""Raw little-endian float32 files (`--dump-logits`, the fixtures' logits),
shared by the test tools beside this file."""
import struct


def read_floats(path):
    with open(path, "rb") as f:
        data = f.read()
    return struct.unpack("<%df" % (len(data) // 4), data)
