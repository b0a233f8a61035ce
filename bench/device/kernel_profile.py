#!/usr/bin/env python3
"""Sums an Nsight Compute CSV of one generation (profile.sh) by kernel.

    kernel_profile.py KERNELS.csv

The CSV is `ncu --csv --page raw --print-units base` with the metrics
gpu__time_duration.sum, dram__bytes_read.sum and dram__bytes_write.sum over
a prefill and the decode steps after it. The decode steps are the repeating
tail of the launch sequence (the same kernels and grids each token); what
comes before them is the prefill. For each phase: one row per kernel and
grid, sorted by time, with its launches, microseconds, DRAM bytes and the
bandwidth that gives. Python 3 standard library only.
"""
import csv
import sys

TIME = "gpu__time_duration.sum"
READ = "dram__bytes_read.sum"
WRITE = "dram__bytes_write.sum"


def number(row, metric):
    """The metric's value; 0 where ncu could not collect it ("n/a")."""
    try:
        return float(row.get(metric, "").replace(",", ""))
    except ValueError:
        return 0.0


def launches(path):
    with open(path, newline="") as f:
        # ncu's own "==PROF==" lines come before the table.
        lines = [line for line in f if not line.startswith("==")]
    rows = [row for row in csv.DictReader(lines) if row.get("ID", "").isdigit()]
    return [{"kernel": row.get("Kernel Name") or row.get("Function Name", "?"),
             "grid": row.get("Grid Size", ""), "block": row.get("Block Size", ""),
             "ns": number(row, TIME), "bytes": number(row, READ) + number(row, WRITE)}
            for row in rows]


def keys_of(sequence):
    return [(launch["kernel"], launch["grid"]) for launch in sequence]


def decode_step_length(keys):
    """The shortest K whose last two K-launch windows match, else 0."""
    for k in range(16, len(keys) // 2 + 1):
        if keys[-k:] == keys[-2 * k:-k]:
            return k
    return 0


def table(title, phase, steps):
    groups = {}
    for launch in phase:
        key = (launch["kernel"], launch["grid"], launch["block"])
        group = groups.setdefault(key, {"launches": 0, "ns": 0.0, "bytes": 0.0})
        group["launches"] += 1
        group["ns"] += launch["ns"]
        group["bytes"] += launch["bytes"]
    total_ns = sum(group["ns"] for group in groups.values())
    total_bytes = sum(group["bytes"] for group in groups.values())
    print(f"\n{title}: {len(phase) // steps} launches, {total_ns / steps / 1e3:.1f} us, "
          f"{total_bytes / steps / 1e6:.1f} MB from/to DRAM, "
          f"{total_bytes / max(total_ns, 1):.0f} GB/s (per {'step' if steps > 1 else 'pass'})")
    print("| kernel | grid | block | launches | us | share | MB | GB/s |")
    print("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for (kernel, grid, block), group in sorted(groups.items(), key=lambda item: -item[1]["ns"]):
        print(f"| {kernel} | {grid} | {block} | {group['launches'] // steps} "
              f"| {group['ns'] / steps / 1e3:.1f} | {group['ns'] / max(total_ns, 1):.1%} "
              f"| {group['bytes'] / steps / 1e6:.2f} | {group['bytes'] / max(group['ns'], 1):.0f} |")


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sequence = launches(sys.argv[1])
    if not sequence:
        sys.exit("error: no kernel launches in " + sys.argv[1])
    keys = keys_of(sequence)
    k = decode_step_length(keys)
    if k == 0:
        table("all launches (no repeating decode step found)", sequence, 1)
        return
    prefill_end = len(keys) - 2 * k
    while prefill_end >= k and keys[prefill_end - k:prefill_end] == keys[prefill_end:prefill_end + k]:
        prefill_end -= k
    decode = sequence[prefill_end:]
    if prefill_end:
        table("prefill", sequence[:prefill_end], 1)
    table("decode", decode, len(decode) // k)


if __name__ == "__main__":
    main()
