#!/usr/bin/env python3
"""The CUDA backend's checks on a GPU machine (run by check.sh).

Uses only what prepare.sh put in .device/: llamac-run, CUDA artifacts of
every fixture in f32/f16/bf16, CPU artifacts of the same fixtures, and the
fixture files (weights, golden.json, reference logits).

  f32        test/tools/check_golden.py on the CUDA f32 artifact: prompt
             logits within 1e-4 of Hugging Face, greedy ids identical,
             left-padded batch rows (batch 2) identical.
  tf-DTYPE   teacher forcing: the prompt plus HF's greedy ids as one prompt;
             every position's logits within 1e-4 (f32) / 5e-2 (f16, bf16) of
             the CPU artifact computing in f32 on the same weights (for
             f16/bf16, the checkpoint rounded to that dtype by prepare.sh),
             and the prompt positions within the same tolerance of the
             golden logits, or, where rounding the checkpoint to the dtype
             alone moves the CPU's logits further than that from Hugging
             Face, within that rounding error plus the tolerance.
  cpu-ids    greedy ids of the CUDA f32 and the CPU artifact identical.
  graph      decode replayed from a CUDA graph and launched directly give
             identical ids (f32 and f16).
  pdl        kernels launched with programmatic stream serialization (the
             default on sm_90) and plainly give identical ids (f32 and f16).
  decode-DTYPE  199 decode steps' logits (f32, f16) within 1e-4 / 5e-2 of
             the CPU artifact in f32 on the same weights, teacher-forced over
             the generated sequence; GPU prefill over it reported beside.
  tile-TILE  the gqa fixture built with another mma.sync --gemm-tile (sm_90):
             prompt logits bit-identical to 128x128/4's (150 tokens, f16).
  wgmma-rows-TILE  the gqa fixture built with --gemm-tile TILE/wgmma: the
             same 150 tokens' logits within 5e-2 of 128x128/4's.
  tc-KERNELS the gqa fixture built with --prefill-tensor-cores gemm,
             attention or none: f16 prompt logits within 5e-2 of Hugging
             Face (which tensor-core kernel fails, should the default).
  wgmma-TILE the gqa fixture built with --gemm-tile TILE/wgmma: f16 prompt
             logits within 5e-2 of Hugging Face.
  rope       the gqa fixture built with --fold-prefill-rope (the q/k/v
             GEMM's epilogue instead of a rope_qkv kernel a layer): the same
             150 tokens' logits bit-identical to the default's.
  norms      the gqa fixture built with --fold-decode-norms=false: f16
             decode logits bit-identical to the default build's, whose
             matrix-vector kernels compute the norms, and the same greedy
             ids for a left-padded batch of 2.
  int4-DTYPE the gqa fixture built with --quantize int4 --group-size 8 (f32,
             f16), and the bf16-theta1e6 one with --group-size 32
             --int4-lanes 32 (32 codes a load): the logits of case 0's
             prompt and Hugging Face's greedy ids, teacher-forced, within
             1e-4 / 5e-2 of the CPU's int4 build (of the same groups);
             int4-ids: 32 greedy ids of the f32 build identical to the CPU's.
  lookup-DTYPE  generate --prompt-lookup 4 (prefill calls scoring drafts)
             against one decode step per token, f32 and f16: the same greedy
             ids, and the logits each token was chosen from within 1e-4 /
             5e-2; the draft tokens kept beside (a check that kept none
             proves nothing and fails).
  memcheck   compute-sanitizer --tool memcheck on one generation (graph,
             direct launches, sm_90's mma.sync build): 0 errors.

Python 3 standard library only.
"""
import argparse
import json
import os
import re
import shutil
import stat
import struct
import subprocess
import sys
import tempfile

TOLERANCE = {"f32": 1e-4, "f16": 5e-2, "bf16": 5e-2}


class Checks:
    def __init__(self):
        self.rows = []

    def add(self, name, fixture, ok, detail):
        self.rows.append((name, fixture, ok, detail))
        print("%s: %-9s %-28s %s" % ("PASS" if ok else "FAIL", name, fixture, detail),
              flush=True)

    def table(self):
        print("\n| check | fixture | result | detail |\n| --- | --- | --- | --- |")
        for name, fixture, ok, detail in self.rows:
            print("| %s | %s | %s | %s |" % (name, fixture, "PASS" if ok else "FAIL",
                                             detail))
        failed = sum(1 for row in self.rows if not row[2])
        print("\n%s: %d checks, %d failed" % ("FAIL" if failed else "PASS",
                                              len(self.rows), failed))
        return failed == 0


class Device:
    def __init__(self, root):
        self.root = root
        self.runner = os.path.join(root, "bin", "llamac-run")

    def artifact(self, fixture, kind):
        return os.path.join(self.root, "artifacts", "%s-%s.lmc" % (fixture, kind))

    def fixture(self, name):
        return os.path.join(self.root, "fixtures", name)

    def run(self, command, artifact, fixture, args, prefix=()):
        argv = list(prefix) + [self.runner, command, artifact] + list(args) + [
            "--weights", self.fixture(fixture)]
        return subprocess.run(argv, capture_output=True, text=True, timeout=600)

    def reference(self, fixture, dtype):
        """(artifact kind, weights) of the CPU f32 run on `dtype` weights."""
        rounded = "%s@%s" % (fixture, dtype)
        if dtype != "f32" and os.path.isdir(self.fixture(rounded)):
            return "cpu-" + dtype, rounded
        return "cpu", fixture

    def generate(self, fixture, kind, rows, new_tokens, dump=None, extra=(),
                 weights=None):
        args = ["--prompt-ids", ";".join(",".join(map(str, r)) for r in rows),
                "--max-new-tokens", str(new_tokens), "--json"] + list(extra)
        if dump:
            args += ["--dump-logits", dump]
        result = self.run("generate", self.artifact(fixture, kind), weights or fixture,
                          args)
        if result.returncode != 0:
            raise RuntimeError(result.stderr.strip().splitlines()[-1]
                               if result.stderr.strip() else "exit %d" % result.returncode)
        return json.loads(result.stdout)["generated_ids"]

    def classify(self, fixture, kind, rows, weights=None):
        args = ["--prompt-ids", ";".join(",".join(map(str, r)) for r in rows), "--json"]
        result = self.run("classify", self.artifact(fixture, kind), weights or fixture,
                          args)
        if result.returncode != 0:
            raise RuntimeError(result.stderr.strip())
        return [v for row in json.loads(result.stdout)["logits"] for v in row]


def read_floats(path):
    with open(path, "rb") as f:
        data = f.read()
    return struct.unpack("<%df" % (len(data) // 4), data)


def max_diff(actual, expected):
    if len(actual) != len(expected):
        raise RuntimeError("%d values, expected %d" % (len(actual), len(expected)))
    return max(abs(a - b) for a, b in zip(actual, expected))


def until_eos(ids, eos):
    return ids[:ids.index(eos) + 1] if eos in ids else ids


def load_json(path):
    with open(path) as f:
        return json.load(f)


def runner_with_weights(device, fixture, scratch):
    """A `llamac-run` for test/tools' checkers, which run `RUNNER ARGS`: the
    fixture's weights live in .device, not beside the artifact."""
    wrapper = os.path.join(scratch, "llamac-run-%s" % fixture)
    with open(wrapper, "w") as f:
        f.write('#!/bin/sh\nexec "%s" "$@" --weights "%s"\n' %
                (device.runner, device.fixture(fixture)))
    os.chmod(wrapper, os.stat(wrapper).st_mode | stat.S_IEXEC)
    return wrapper


def check_golden_f32(checks, device, checker, fixture, scratch):
    result = subprocess.run([sys.executable, checker, "--artifact",
                             device.artifact(fixture, "cuda-f32"), "--fixture",
                             device.fixture(fixture), "--runner",
                             runner_with_weights(device, fixture, scratch)],
                            capture_output=True, text=True, timeout=600)
    lines = result.stdout.strip().splitlines()
    diffs = [line.split("|diff|")[1].split("<=")[0].strip()
             for line in lines if "|diff|" in line and "<=" in line]
    detail = ("max |diff| " + ", ".join(diffs) + "; " if diffs else "") + \
        ("%d comparisons" % len(lines) if result.returncode == 0
         else (lines[-1] if lines else result.stderr.strip()[-300:]))
    checks.add("f32", fixture, result.returncode == 0, detail)


def golden_prompt_logits(device, fixture, case, logits, positions):
    """(the prompt positions of `logits`, the golden logits they compare to)."""
    vocab = len(logits) // positions
    prompt = len(case["input_ids"])
    if "logits_file" in case:
        return logits[:prompt * vocab], read_floats(
            os.path.join(device.fixture(fixture), case["logits_file"]))
    return logits[(prompt - 1) * vocab:prompt * vocab], read_floats(
        os.path.join(device.fixture(fixture), case["last_logits_file"]))


def within_golden(tolerance, gpu, floor):
    """The golden bound: the tolerance, or the dtype's own rounding error on
    the CPU plus the tolerance where that rounding alone exceeds it."""
    return gpu <= tolerance or (floor > tolerance and gpu <= floor + tolerance)


def check_teacher_forced(checks, device, fixture, golden, config, scratch):
    eos = config.get("eos_token_id", 2)
    for dtype in ("f32", "f16", "bf16"):
        tolerance = TOLERANCE[dtype]
        kind, weights = device.reference(fixture, dtype)
        worst_ref, worst_golden, floor = 0.0, 0.0, 0.0
        try:
            for index, case in enumerate(golden["cases"]):
                ids = case["input_ids"] + until_eos(case["greedy_dynamic"], eos)
                gpu_dump = os.path.join(scratch, "%s-%s-%d.f32" % (fixture, dtype, index))
                ref_dump = os.path.join(scratch, "%s-%s-%d.f32" % (fixture, kind, index))
                device.generate(fixture, "cuda-" + dtype, [ids], 1, gpu_dump)
                if not os.path.exists(ref_dump):
                    device.generate(fixture, kind, [ids], 1, ref_dump, weights=weights)
                gpu, ref = read_floats(gpu_dump), read_floats(ref_dump)
                worst_ref = max(worst_ref, max_diff(gpu, ref))
                actual, expected = golden_prompt_logits(device, fixture, case, gpu,
                                                        len(ids))
                worst_golden = max(worst_golden, max_diff(actual, expected))
                actual, expected = golden_prompt_logits(device, fixture, case, ref,
                                                        len(ids))
                floor = max(floor, max_diff(actual, expected))
            ok = worst_ref <= tolerance and within_golden(tolerance, worst_golden, floor)
            detail = "vs CPU on %s weights %.3g, vs HF %.3g (CPU %.3g) (<= %g)" % (
                dtype, worst_ref, worst_golden, floor, tolerance)
        except RuntimeError as error:
            ok, detail = False, str(error)
        checks.add("tf-" + dtype, fixture, ok, detail)


def check_classifier(checks, device, fixture, golden):
    expected = [v for row in golden["logits"] for v in row]
    for dtype in ("f32", "f16", "bf16"):
        tolerance = TOLERANCE[dtype]
        kind, weights = device.reference(fixture, dtype)
        try:
            scores = device.classify(fixture, "cuda-" + dtype, golden["input_ids"])
            reference = device.classify(fixture, kind, golden["input_ids"], weights)
            vs_ref, vs_hf = max_diff(scores, reference), max_diff(scores, expected)
            floor = max_diff(reference, expected)
            checks.add("cls-" + dtype, fixture,
                       vs_ref <= tolerance and within_golden(tolerance, vs_hf, floor),
                       "vs CPU on %s weights %.3g, vs HF %.3g (CPU %.3g) (<= %g)" % (
                           dtype, vs_ref, vs_hf, floor, tolerance))
        except RuntimeError as error:
            checks.add("cls-" + dtype, fixture, False, str(error))


def check_ids_and_graphs(checks, device, fixture, golden):
    prompt = golden["cases"][0]["input_ids"]
    try:
        gpu = device.generate(fixture, "cuda-f32", [prompt], 24)
        cpu = device.generate(fixture, "cpu", [prompt], 24)
        checks.add("cpu-ids", fixture, gpu == cpu, "%d ids%s" % (
            len(gpu[0]), "" if gpu == cpu else ": %s vs CPU %s" % (gpu, cpu)))
        for dtype in ("f32", "f16"):
            rows = [prompt, prompt[:max(1, len(prompt) // 2)]]
            graph = device.generate(fixture, "cuda-" + dtype, rows, 32)
            direct = device.generate(fixture, "cuda-" + dtype, rows, 32,
                                     extra=["--no-cuda-graph"])
            checks.add("graph-" + dtype, fixture, graph == direct,
                       "batch 2, %d+%d ids" % (len(graph[0]), len(graph[1])) +
                       ("" if graph == direct else ": %s vs %s" % (graph, direct)))
            plain = device.generate(fixture, "cuda-" + dtype, rows, 32,
                                    extra=["--no-dependent-launch"])
            checks.add("pdl-" + dtype, fixture, graph == plain,
                       "dependent vs plain launches, batch 2" +
                       ("" if graph == plain else ": %s vs %s" % (graph, plain)))
    except RuntimeError as error:
        checks.add("ids", fixture, False, str(error))


def check_decode_attention(checks, device, fixture, golden, config, scratch, steps):
    """Decode (attention split along the cache, combined across chunks) on
    the logits of `steps` greedy steps, past EOS: against the CPU artifact
    computing in f32 on the same weights, teacher-forced over the sequence
    they produced, the reference the tf rows use. Prefill over that sequence
    on the same GPU and dtype is reported beside it: at f16 the two GPU
    paths round differently (prefill's tensor cores read f16 activation
    rows, decode's matrix-vector kernels float32 ones), so each may lie
    within the tolerance of the reference and the two not within it of each
    other. Long enough to cross many chunk boundaries."""
    prompt = golden["cases"][0]["input_ids"]
    vocab = config["vocab_size"]
    for dtype in ("f32", "f16"):
        decode_dump = os.path.join(scratch, "%s-decode-%s.f32" % (fixture, dtype))
        prefill_dump = os.path.join(scratch, "%s-prefill-%s.f32" % (fixture, dtype))
        reference_dump = os.path.join(scratch, "%s-decode-reference-%s.f32" % (fixture, dtype))
        kind, weights = device.reference(fixture, dtype)
        try:
            ids = device.generate(fixture, "cuda-" + dtype, [prompt], steps,
                                  extra=["--ignore-eos", "--dump-decode-logits",
                                         decode_dump])[0]
            # Decode step i fed ids[i] at position len(prompt) + i.
            sequence = prompt + ids[:-1]
            device.generate(fixture, "cuda-" + dtype, [sequence], 1, prefill_dump)
            device.generate(fixture, kind, [sequence], 1, reference_dump, weights=weights)
            decode = read_floats(decode_dump)
            start = len(prompt) * vocab
            rows = len(decode) // vocab
            vs_reference = max_diff(decode, read_floats(reference_dump)[start:start + len(decode)])
            vs_prefill = max_diff(decode, read_floats(prefill_dump)[start:start + len(decode)])
            ok = rows == steps - 1 and vs_reference <= TOLERANCE[dtype]
            detail = ("%d decode steps from position %d vs CPU on %s weights: max |diff| "
                      "%.3g (<= %g); vs GPU prefill %.3g" % (
                          rows, len(prompt), dtype, vs_reference, TOLERANCE[dtype], vs_prefill))
        except RuntimeError as error:
            ok, detail = False, str(error)
        checks.add("decode-" + dtype, fixture, ok, detail)


def artifacts_named(device, fixture, infix, pattern):
    """The VARIANTs of the fixture's artifacts FIXTURE-INFIXVARIANT.lmc whose
    VARIANT matches PATTERN."""
    prefix = os.path.basename(device.artifact(fixture, infix))[:-len(".lmc")]
    return sorted(name[len(prefix):-len(".lmc")]
                  for name in os.listdir(os.path.join(device.root, "artifacts"))
                  if re.fullmatch(re.escape(prefix) + pattern + r"\.lmc", name))


def check_gemm_tiles(checks, device, fixture, scratch):
    """Each mma.sync --gemm-tile build of the fixture (prepare.sh's
    `cuda-f16-t*`) against 128x128/4's on the same GPU. No tile changes the
    order of any sum, so the prompt logits must agree bit for bit: a
    150-token prompt spans two or three row tiles, the last partial. The
    wgmma builds (`cuda-f16-wgmma-*`), whose tensor cores need not round as
    mma.sync's do, within the f16 tolerance of it: their second warpgroup's
    rows (64-127 of a tile) are only reached by prompts this long. The
    rotary epilogue's build against the default (the same GEMM with
    rope_qkv after it), bit for bit."""
    rows = [[i * 37 % 500 + 3 for i in range(150)]]
    tiles = artifacts_named(device, fixture, "cuda-f16-t", r"\d+x\d+(w\d+)?")
    wgmma_tiles = artifacts_named(device, fixture, "cuda-f16-wgmma-", r"\d+x\d+")
    if "128x128w4" not in tiles:
        checks.add("tiles", fixture, False, "no cuda-f16-t128x128w4 build: run prepare.sh")
        return
    tiles.remove("128x128w4")
    try:
        reference = os.path.join(scratch, "%s-tile-128x128w4.f32" % fixture)
        device.generate(fixture, "cuda-f16-t128x128w4", rows, 1, reference)
        expected = read_floats(reference)
        for tile in tiles:
            dump = os.path.join(scratch, "%s-tile-%s.f32" % (fixture, tile))
            device.generate(fixture, "cuda-f16-t" + tile, rows, 1, dump)
            actual = read_floats(dump)
            same = actual == expected
            checks.add("tile-" + tile, fixture, same,
                       "prompt logits of 150 tokens %s 128x128/4's" % (
                           "identical to" if same else
                           "differ (max %.3g) from" % max_diff(actual, expected)))
        for tile in wgmma_tiles:
            dump = os.path.join(scratch, "%s-wgmma-%s.f32" % (fixture, tile))
            device.generate(fixture, "cuda-f16-wgmma-" + tile, rows, 1, dump)
            worst = max_diff(read_floats(dump), expected)
            checks.add("wgmma-rows-" + tile, fixture, worst <= TOLERANCE["f16"],
                       "prompt logits of 150 tokens vs 128x128/4's: max |diff| "
                       "%.3g (<= %g)" % (worst, TOLERANCE["f16"]))
        # The GEMM epilogue that does rope_qkv's work against the kernel.
        if os.path.exists(device.artifact(fixture, "cuda-f16-rope-folded")):
            default = os.path.join(scratch, "%s-default.f32" % fixture)
            device.generate(fixture, "cuda-f16", rows, 1, default)
            dump = os.path.join(scratch, "%s-rope-folded.f32" % fixture)
            device.generate(fixture, "cuda-f16-rope-folded", rows, 1, dump)
            actual, expected = read_floats(dump), read_floats(default)
            same = actual == expected
            checks.add("rope", fixture, same,
                       "prompt logits of 150 tokens with the rotary epilogue %s rope_qkv's" % (
                           "identical to" if same else
                           "differ (max %.3g) from" % max_diff(actual, expected)))
    except RuntimeError as error:
        checks.add("tiles", fixture, False, str(error))


def check_prefill_variants(checks, device, fixture, golden, scratch, kind, option):
    """The fixture's f16 builds `cuda-f16-KIND-VARIANT` (prepare.sh's), each
    with OPTION % VARIANT: every one's prompt logits against Hugging Face's.
    KIND tc: only some prefill kernels on the tensor cores; should the
    default build fail, the variants that pass say which tensor-core kernel
    is at fault. KIND wgmma: the GEMM on wgmma, whose tensor cores need not
    round as mma.sync's do, so it is held to Hugging Face like the default
    build rather than compared bit for bit."""
    infix = "cuda-f16-%s-" % kind
    variants = artifacts_named(device, fixture, infix, r".+")
    for variant in variants:
        worst = 0.0
        try:
            for index, case in enumerate(golden["cases"]):
                ids = case["input_ids"]
                dump = os.path.join(scratch, "%s-%s-%s-%d.f32" % (fixture, kind, variant, index))
                device.generate(fixture, infix + variant, [ids], 1, dump)
                actual, expected = golden_prompt_logits(device, fixture, case,
                                                        read_floats(dump), len(ids))
                worst = max(worst, max_diff(actual, expected))
            checks.add("%s-%s" % (kind, variant), fixture, worst <= TOLERANCE["f16"],
                       "%s: prompt logits vs HF %.3g (<= %g)" % (
                           option % variant, worst, TOLERANCE["f16"]))
        except RuntimeError as error:
            checks.add("%s-%s" % (kind, variant), fixture, False, str(error))


def check_folded_norms(checks, device, fixture, golden, scratch):
    """The fixture built with --fold-decode-norms=false (prepare.sh's
    `cuda-f16-unfolded`) against the default build, whose decode
    matrix-vector kernels compute the norms with the norm kernel's own code:
    the logits of 32 decode steps past EOS must agree bit for bit (as they
    do in the emulator), and so must the greedy ids of a left-padded batch
    of two rows."""
    prompt = golden["cases"][0]["input_ids"]
    rows = [prompt, prompt[:max(1, len(prompt) // 2)]]
    logits, ids = [], []
    try:
        for kind in ("cuda-f16", "cuda-f16-unfolded"):
            dump = os.path.join(scratch, "%s-norms-%s.f32" % (fixture, kind))
            device.generate(fixture, kind, [prompt], 32,
                            extra=["--ignore-eos", "--dump-decode-logits", dump])
            logits.append(read_floats(dump))
            ids.append(device.generate(fixture, kind, rows, 32))
        same = logits[0] == logits[1] and ids[0] == ids[1]
        checks.add("norms", fixture, same,
                   "norms folded vs unfolded: 32 decode steps' logits %s, batch-2 ids %s" % (
                       "identical" if logits[0] == logits[1] else
                       "differ (max %.3g)" % max_diff(logits[0], logits[1]),
                       "identical" if ids[0] == ids[1] else "%s vs %s" % tuple(ids)))
    except RuntimeError as error:
        checks.add("norms", fixture, False, str(error))


def check_int4(checks, device, fixture, golden, scratch, build="int4"):
    """The fixture's int4 builds (prepare.sh's `cuda-f32-BUILD`,
    `cuda-f16-BUILD` and `cpu-BUILD`): the CUDA kernels decode the codes as
    the CPU's do, so their logits agree to the dtype's tolerance."""
    case = golden["cases"][0]
    ids = case["input_ids"] + case["greedy_dynamic"]
    try:
        reference = os.path.join(scratch, "%s-%s-cpu.f32" % (fixture, build))
        device.generate(fixture, "cpu-" + build, [ids], 1, reference)
        for dtype in ("f32", "f16"):
            dump = os.path.join(scratch, "%s-%s-%s.f32" % (fixture, build, dtype))
            device.generate(fixture, "cuda-%s-%s" % (dtype, build), [ids], 1, dump)
            diff = max_diff(read_floats(dump), read_floats(reference))
            checks.add("int4-" + dtype, fixture, diff <= TOLERANCE[dtype],
                       "teacher-forced %d tokens vs the CPU's int4 %.3g (<= %g)" % (
                           len(ids), diff, TOLERANCE[dtype]))
        extra = ["--ignore-eos"]
        gpu = device.generate(fixture, "cuda-f32-" + build, [case["input_ids"]], 32,
                              extra=extra)
        cpu = device.generate(fixture, "cpu-" + build, [case["input_ids"]], 32, extra=extra)
        checks.add("int4-ids", fixture, gpu == cpu,
                   "32 greedy ids %s" % ("as the CPU's int4" if gpu == cpu else
                                         "%s vs CPU %s" % (gpu, cpu)))
    except RuntimeError as error:
        checks.add("int4", fixture, False, str(error))


def check_prompt_lookup(checks, device, checker, fixture, scratch):
    """test/tools/check_prompt_lookup.py on the CUDA f32 and f16 artifacts."""
    runner = runner_with_weights(device, fixture, scratch)
    for dtype in ("f32", "f16"):
        result = subprocess.run(
            [sys.executable, checker, "--artifact",
             device.artifact(fixture, "cuda-" + dtype), "--fixture",
             device.fixture(fixture), "--runner", runner, "--tolerance",
             str(TOLERANCE[dtype])] + (["--any-greedy-ids"] if dtype == "f16" else []),
            capture_output=True, text=True, timeout=600)
        lines = result.stdout.strip().splitlines()
        counts = [re.search(r"(\d+) of (\d+) draft tokens kept; logits max \|diff\| (\S+)",
                            line) for line in lines]
        counts = [match.groups() for match in counts if match]
        detail = ("kept %d of %d draft tokens; logits max |diff| %s (<= %g)" % (
            sum(int(kept) for kept, _, _ in counts),
            sum(int(drafted) for _, drafted, _ in counts),
            max((diff for _, _, diff in counts), key=float), TOLERANCE[dtype])
            if result.returncode == 0 and counts else
            (lines[-1] if lines else result.stderr.strip()[-300:]))
        checks.add("lookup-" + dtype, fixture, result.returncode == 0, detail)


def find_sanitizer():
    found = shutil.which("compute-sanitizer")
    if found:
        return found
    for base in ["/usr/local/cuda"] + sorted(
            os.path.join("/usr/local", d) for d in os.listdir("/usr/local")
            if d.startswith("cuda")):
        path = os.path.join(base, "bin", "compute-sanitizer")
        if os.path.exists(path):
            return path
    return None


def check_memcheck(checks, device, fixture, golden):
    sanitizer = find_sanitizer()
    if not sanitizer:
        checks.add("memcheck", fixture, False, "compute-sanitizer not found")
        return
    prompt = ",".join(map(str, golden["cases"][0]["input_ids"]))
    for kind, build, extra in (("graph", "cuda-f16", []),
                               ("direct", "cuda-f16", ["--no-cuda-graph"]),
                               ("mma.sync 128x128/4", "cuda-f16-t128x128w4", [])):
        result = device.run("generate", device.artifact(fixture, build), fixture,
                            ["--prompt-ids", prompt + ";" + prompt[:prompt.find(",")],
                             "--max-new-tokens", "8", "--json"] + extra,
                            prefix=[sanitizer, "--tool", "memcheck", "--error-exitcode", "3"])
        summary = [line for line in (result.stdout + result.stderr).splitlines()
                   if "ERROR SUMMARY" in line]
        ok = result.returncode == 0 and summary and " 0 errors" in summary[-1]
        checks.add("memcheck", fixture, bool(ok), "%s, batch 2: %s" % (
            kind, summary[-1].strip() if summary else result.stderr.strip()[-300:]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device-dir", required=True)
    parser.add_argument("--golden-checker", required=True)
    parser.add_argument("--lookup-checker", required=True)
    args = parser.parse_args()
    device = Device(args.device_dir)
    checks = Checks()
    # NAME@DTYPE folders are prepare.sh's rounded copies, references only.
    fixtures = sorted(name for name in os.listdir(os.path.join(args.device_dir, "fixtures"))
                      if "@" not in name)
    with tempfile.TemporaryDirectory() as scratch:
        for fixture in fixtures:
            golden = load_json(os.path.join(device.fixture(fixture), "golden.json"))
            config = load_json(os.path.join(device.fixture(fixture), "config.json"))
            if "cases" not in golden:
                check_classifier(checks, device, fixture, golden)
                continue
            check_golden_f32(checks, device, args.golden_checker, fixture, scratch)
            check_teacher_forced(checks, device, fixture, golden, config, scratch)
            check_ids_and_graphs(checks, device, fixture, golden)
            check_decode_attention(checks, device, fixture, golden, config, scratch,
                                   min(200, config["max_position_embeddings"] -
                                       len(golden["cases"][0]["input_ids"])))
        check_gemm_tiles(checks, device, "tiny-llama2-gqa", scratch)
        gqa_golden = load_json(os.path.join(device.fixture("tiny-llama2-gqa"),
                                            "golden.json"))
        check_prefill_variants(checks, device, "tiny-llama2-gqa", gqa_golden, scratch,
                               "tc", "--prefill-tensor-cores %s")
        check_prefill_variants(checks, device, "tiny-llama2-gqa", gqa_golden, scratch,
                               "wgmma", "--gemm-tile %s/wgmma")
        check_folded_norms(checks, device, "tiny-llama2-gqa", gqa_golden, scratch)
        check_int4(checks, device, "tiny-llama2-gqa", gqa_golden, scratch)
        wide = "tiny-llama-bf16-theta1e6"
        check_int4(checks, device, wide,
                   load_json(os.path.join(device.fixture(wide), "golden.json")), scratch,
                   "int4-wide")
        check_prompt_lookup(checks, device, args.lookup_checker, wide, scratch)
        check_memcheck(checks, device, "tiny-llama2-gqa", gqa_golden)
    sys.exit(0 if checks.table() else 1)


if __name__ == "__main__":
    main()
