#!/usr/bin/env python3
"""What limits the linear kernels, from what the GPU machine's tools say.

    gemm_report.py limits DETAILS.csv RAW.csv  Nsight Compute's limits per kernel
    gemm_report.py cubin MODEL.so OUT     the cubin model.so embeds, to OUT
    gemm_report.py sass SASS.txt [REGEX]  SASS opcodes per kernel

limits: DETAILS.csv and RAW.csv are `ncu --csv --page details` and `--page
raw` of one report with the SpeedOfLight, ComputeWorkloadAnalysis and
WarpStateStats sections (profile.sh); one line per kernel launch: its
duration, the share of the SM's, the memories' and the issue slots' peak it
used (details), and the stall reasons that cost the most cycles per issued
instruction (the raw metrics *issue_stalled_REASON_per_issue_active.ratio).

cubin: model.so holds the kernels' cubin as data (an ELF of machine 190,
EM_CUDA, inside the host ELF); it is written to OUT for cuobjdump.

sass: SASS.txt is `cuobjdump -sass` of that cubin; for each kernel whose
name matches REGEX (default "gemm"), its instruction count and the opcodes
that make it up, most frequent first: mma.sync is HMMA, wgmma HGMMA,
ldmatrix LDSM, cp.async LDGSTS, barriers BAR, 16-byte loads LDG.

Python 3 standard library only.
"""
import csv
import re
import struct
import sys

LIMITS = [
    ("Duration", "us"),
    ("Compute (SM) Throughput", "SM"),
    ("Memory Throughput", "memory"),
    ("L1/TEX Cache Throughput", "L1"),
    ("L2 Cache Throughput", "L2"),
    ("DRAM Throughput", "DRAM"),
    ("Issue Slots Busy", "issue"),
    ("Executed Ipc Active", "IPC"),
    ("Warp Cycles Per Issued Instruction", "cycles/issue"),
]
STALL = re.compile(r"issue_stalled_([a-z_]+?)_per_issue_active\.ratio$")
EM_CUDA = 190


def value(text):
    try:
        return float(text.replace(",", ""))
    except ValueError:
        return None


def csv_rows(path):
    with open(path, newline="") as f:
        # ncu's own "==PROF==" lines may come before the table.
        return list(csv.DictReader(line for line in f if not line.startswith("==")))


def stalls_by_launch(path):
    """Each launch's stall reasons (cycles per issued instruction), from the
    raw page: a column per metric, a row per launch (after a row of units)."""
    stalls = {}
    for row in csv_rows(path):
        if not row.get("ID", "").isdigit():
            continue
        reasons = stalls.setdefault(int(row["ID"]), {})
        for name, text in row.items():
            found = STALL.search(name or "")
            number = value(text or "")
            if found and number is not None:
                reasons[found.group(1)] = number
    return stalls


def limits(details, raw):
    stalls = stalls_by_launch(raw)
    launches = {}
    for row in csv_rows(details):
        if not row.get("ID", "").isdigit():
            continue
        launch = launches.setdefault(int(row["ID"]), {
            "kernel": row.get("Kernel Name", "?"), "grid": row.get("Grid Size", ""),
            "metrics": {}, "units": {}})
        number = value(row.get("Metric Value", ""))
        if number is not None:
            launch["metrics"][row.get("Metric Name", "")] = number
            launch["units"][row.get("Metric Name", "")] = row.get("Metric Unit", "")
    if not launches:
        sys.exit("error: no kernel launches in " + details)
    for launch_id, launch in sorted(launches.items()):
        metrics, units = launch["metrics"], launch["units"]
        parts = []
        for name, label in LIMITS:
            if name not in metrics:
                continue
            number = metrics[name]
            if name == "Duration":
                scale = {"ns": 1e-3, "nsecond": 1e-3, "us": 1.0, "usecond": 1.0,
                         "ms": 1e3, "msecond": 1e3}
                parts.append(f"{number * scale.get(units[name], 1e-3):.1f} us")
            elif units[name] == "%":
                parts.append(f"{label} {number:.0f}%")
            else:
                parts.append(f"{label} {number:.2f}")
        worst = sorted(((cycles, reason) for reason, cycles
                        in stalls.get(launch_id, {}).items()), reverse=True)
        if worst:
            parts.append("stalls " + ", ".join(f"{reason} {cycles:.2f}"
                                                for cycles, reason in worst[:5]))
        print(f"{launch['kernel']} {launch['grid']}: " + "; ".join(parts))


def embedded_cubin(data):
    """The first ELF of machine EM_CUDA inside `data` (past its own header)."""
    start = data.find(b"\x7fELF", 1)
    while start != -1:
        header = data[start:start + 64]
        if len(header) == 64 and header[4] == 2 and header[5] == 1:
            machine = struct.unpack_from("<H", header, 0x12)[0]
            # The section and program header tables, whichever ends last.
            programs_at, sections_at = struct.unpack_from("<QQ", header, 0x20)
            program_size, programs, section_size, sections = struct.unpack_from(
                "<HHHH", header, 0x36)
            end = start + max(programs_at + program_size * programs,
                              sections_at + section_size * sections)
            if machine == EM_CUDA and end <= len(data):
                return data[start:end]
        start = data.find(b"\x7fELF", start + 1)
    return None


def cubin(library, out):
    with open(library, "rb") as f:
        found = embedded_cubin(f.read())
    if found is None:
        sys.exit(f"error: {library} embeds no CUDA ELF")
    with open(out, "wb") as f:
        f.write(found)
    print(f"{out}: {len(found)} bytes")


FUNCTION = re.compile(r"Function\s*:\s*(\S+)")
INSTRUCTION = re.compile(r"/\*[0-9a-f]{4,}\*/\s+(?:@!?U?P\w+\s+)?([A-Z][A-Z0-9_]*)")


def sass(path, pattern):
    kernels, name = {}, None
    with open(path) as f:
        for line in f:
            found = FUNCTION.search(line)
            if found:
                name = found.group(1)
                kernels.setdefault(name, {})
                continue
            found = INSTRUCTION.search(line)
            if name and found:
                counts = kernels[name]
                counts[found.group(1)] = counts.get(found.group(1), 0) + 1
    selected = {k: v for k, v in kernels.items() if re.search(pattern, k)}
    if not selected:
        sys.exit(f"error: no kernel matching '{pattern}' in {path}")
    for kernel, counts in sorted(selected.items()):
        top = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:12]
        print(f"{kernel}: {sum(counts.values())} instructions; "
              + ", ".join(f"{opcode} {count}" for opcode, count in top))


def main():
    args = sys.argv[1:]
    if args[:1] == ["limits"] and len(args) == 3:
        limits(args[1], args[2])
    elif args[:1] == ["cubin"] and len(args) == 3:
        cubin(args[1], args[2])
    elif args[:1] == ["sass"] and len(args) in (2, 3):
        sass(args[1], args[2] if len(args) == 3 else "gemm")
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
