#!/usr/bin/env python3
"""Prints the GPU-speed benchmark of bench.sh as one markdown table.

    summarize.py OUT_DIR

Reads what bench.sh wrote in OUT_DIR: llamac-run bench's JSON
(ours-SHAPE-ctxC.json) and hf_decode_baseline.py's (hf-MODE-PROMPT-NEW.json).
One row per measure: ours, Hugging Face eager and static where they measure
the same thing, the ratios, and the issue's target with PASS/FAIL. A file
that is missing (a failed or skipped step) or lacks a field shows "-" and
its target "not run". Python 3 standard library only.
"""
import json
import os
import sys

# The GPU-speed issue's targets on an H100.
DECODE_128_TARGET = 190.0  # tok/s, 7B, decode after a 128-token prompt
DECODE_2K_TARGET = 175.0  # tok/s, 7B, decode at 2k context
PREFILL_512_TARGET = 25000.0  # tok/s, 7B, 512-token prompt
FLOOR_13B_TARGET = 0.85  # 13B decode, fraction of its floor


def load(out, name):
    try:
        with open(os.path.join(out, name + ".json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def number(value, digits=1):
    return "-" if value is None else f"{value:,.{digits}f}"


def percent(value):
    return "-" if value is None else f"{100 * value:.0f}%"


def ratio(ours, theirs):
    return "-" if ours is None or not theirs else f"{ours / theirs:.2f}x"


def verdict(value, target):
    if value is None:
        return "not run"
    return "PASS" if value >= target else "FAIL"


def row(measure, ours="-", eager="-", static="-", ratios=("-", "-"), target="-",
        result="-"):
    print(f"| {measure} | {ours} | {eager} | {static} | {ratios[0]} | {ratios[1]} "
          f"| {target} | {result} |")


def decode_row(measure, ours, eager, static, target):
    value = ours.get("decode_tokens_per_second")
    theirs_eager, theirs_static = eager.get("decode_tok_s"), static.get("decode_tok_s")
    row(measure, number(value), number(theirs_eager), number(theirs_static),
        (ratio(value, theirs_static), ratio(value, theirs_eager)),
        f">= {target:.0f} tok/s", verdict(value, target))


def prefill_row(measure, ours, eager, static):
    value = ours.get("prompt_tokens_per_second")
    theirs_eager, theirs_static = eager.get("prefill512_tok_s"), static.get("prefill512_tok_s")
    row(measure, number(value), number(theirs_eager), number(theirs_static),
        (ratio(value, theirs_static), ratio(value, theirs_eager)),
        f">= {PREFILL_512_TARGET:,.0f} tok/s", verdict(value, PREFILL_512_TARGET))


def tile_builds(out):
    """(name, flags) of each 7B build of bench.sh's tiles part."""
    try:
        with open(os.path.join(out, "llama-2-7b-tiles.txt")) as f:
            return [tuple(line.split(maxsplit=1)) for line in f.read().splitlines() if line]
    except OSError:
        return []


def prefill_split(ours):
    """Wall and GPU ms of the prefill: what its kernels take, and the rest."""
    rate, tokens = ours.get("prompt_tokens_per_second"), ours.get("prompt_tokens")
    wall = 1e3 * tokens / rate if rate and tokens else None
    return f"{number(wall, 2)} / {number(ours.get('prompt_gpu_ms'), 2)}"


def fraction_row(measure, ours, eager, static):
    row(measure, percent(ours.get("fraction_of_floor")),
        percent(eager.get("fraction_of_floor")), percent(static.get("fraction_of_floor")))


def time_split(ours):
    """GPU / host / launch-overhead ms per decode token."""
    fields = ("gpu_ms_per_token", "host_ms_per_token", "launch_overhead_ms_per_token")
    return " / ".join(number(ours.get(field), 3) for field in fields)


def int4_row(label, ours):
    row(label, f"{number(ours.get('prompt_tokens_per_second'))} / "
        f"{number(ours.get('decode_tokens_per_second'))} "
        f"({number(ours.get('floor_tokens_per_second'))}, "
        f"{percent(ours.get('fraction_of_floor'))})")


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    at256, at2k = load(out, "ours-llama-2-7b-ctx256"), load(out, "ours-llama-2-7b-ctx2048")
    plain = load(out, "ours-llama-2-7b-ctx256-plain")
    big = load(out, "ours-llama-2-13b-ctx256")
    bf16 = load(out, "ours-llama-2-7b-bf16-ctx256")
    int4 = load(out, "ours-llama-2-7b-int4-ctx256")
    eager = load(out, "hf-eager-128-256")
    static = load(out, "hf-static-128-256")
    static2k = load(out, "hf-static-1920-128")
    none = {}

    print("| measure | llamac | HF eager | HF static | llamac / HF static "
          "| llamac / HF eager | target | result |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | --- | --- |")
    row("card", at256.get("device", "-"), eager.get("gpu", "-"), static.get("gpu", "-"))
    row("bandwidth GB/s (read + written)",
        f"{number(at256.get('bandwidth_gb_per_second'))} ({at256.get('bandwidth_source', '-')})",
        number(eager.get("d2d_GBps")), number(static.get("d2d_GBps")))
    row("7B floor tok/s", number(at256.get("floor_tokens_per_second")),
        number(eager.get("floor_tok_s")), number(static.get("floor_tok_s")))
    decode_row("7B decode tok/s, ctx 256 (128-token prompt; HF: 128 + 256 new)",
               at256, eager, static, DECODE_128_TARGET)
    fraction_row("7B decode, of floor, ctx 256", at256, eager, static)
    decode_row("7B decode tok/s, ctx 2048 (1920-token prompt; HF: 1920 + 128 new)",
               at2k, none, static2k, DECODE_2K_TARGET)
    fraction_row("7B decode, of floor, ctx 2048", at2k, none, static2k)
    prefill_row("7B prefill tok/s, 512 tokens", at256, eager, static)
    for name, flags in tile_builds(out):
        prefill_row(f"7B prefill tok/s, 512 tokens, {flags}",
                    load(out, f"ours-llama-2-7b-tiles-{name}-ctx256"), eager, static)
    row("7B prefill ms, 512 tokens: wall / GPU", prefill_split(at256))
    row("7B decode tok/s, ctx 256, plain launches (--no-dependent-launch)",
        number(plain.get("decode_tokens_per_second")))
    row("7B kernels per decode token", number(at256.get("kernels_per_token"), 0))
    row("7B decode ms/token, ctx 256: wall", number(at256.get("decode_ms_per_token"), 3),
        number(eager.get("decode_ms_per_token"), 3), number(static.get("decode_ms_per_token"), 3))
    row("7B decode ms/token, ctx 256: GPU / host / launch overhead", time_split(at256))
    row("7B decode ms/token, ctx 2048: GPU / host / launch overhead", time_split(at2k))
    row("7B bf16 prefill tok/s, 512 tokens / decode tok/s, ctx 256",
        f"{number(bf16.get('prompt_tokens_per_second'))} / "
        f"{number(bf16.get('decode_tokens_per_second'))}")
    int4_row("7B int4 prefill tok/s, 512 tokens / decode tok/s, ctx 256 (floor, of it)", int4)
    int4_row("70B int4, random weights: prefill tok/s, 512 tokens / decode tok/s, ctx 256 "
             "(floor, of it)", load(out, "ours-llama-2-70b-int4-ctx256"))
    row("13B decode tok/s, ctx 256 (floor)",
        f"{number(big.get('decode_tokens_per_second'))} "
        f"({number(big.get('floor_tokens_per_second'))})")
    big_fraction = big.get("fraction_of_floor")
    row("13B decode, of floor, ctx 256", percent(big_fraction),
        target=f">= {FLOOR_13B_TARGET:.0%} of floor",
        result=verdict(big_fraction, FLOOR_13B_TARGET))


if __name__ == "__main__":
    main()
