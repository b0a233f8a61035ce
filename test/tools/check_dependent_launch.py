#!/usr/bin/env python3
"""Checks the grid dependency control of every kernel of a PTX file:
griddepcontrol.launch_dependents, then griddepcontrol.wait before the
kernel touches any memory an earlier kernel may have written. Before the
wait a kernel may only load from its weights, which no kernel writes (with
ld.global, or cp.async into its shared memory): the weight matrices of the
linear kernels (matvec, gemm and their swiglu forms: 2 for swiglu, else one
per output group in the `_n` name part, e.g. 3 for `_n4096x4096x4096`,
but not a `_dequantized` GEMM's, which the kernel before decoded from int4
into scratch; the int4 weight a `dequantize_` kernel decodes) and
the RMSNorm weight of the norm kernels and of the matrix-vector kernels
that normalize their input (`_rmsnorm`, `_addrmsnorm`); decode's split
attention, from the positions and first slots the host uploads before the
call and from the KV cache, whose layer no earlier kernel of a decode call
writes (its 4th to 6th arguments); any kernel may store to its shared
memory. A load from a module global (the attention's arrival counts) is
memory an earlier kernel may write. Each memref
argument is five PTX parameters (allocated and aligned pointer, offset,
size, stride), a scalar one; a load's address is traced back through the
registers it is computed from to the parameters it derives from. Prints one
line per kernel; exits 1 if any kernel fails.

    check_dependent_launch.py FILE.ptx
"""
import re
import sys

INSTRUCTION = re.compile(r"^\s*(?:@!?%p\d+\s+)?([\w.:]+)\s*(.*?);")
REGISTER = re.compile(r"%\w+")
PARAMETER = re.compile(r"\[\w+_param_(\d+)")
ADDRESS = re.compile(r"\[(%\w+)")
# Instructions whose first operand is not a register they define.
NO_DESTINATION = ("st.", "red.", "bra", "bar.", "ret", "griddepcontrol", "membar", "fence", "cp.")


def globals_of(text):
    """The names of the module's global variables."""
    return set(re.findall(r"^\.global .*?(\w+)\[", text, re.M))


def kernels(text):
    for match in re.finditer(r"^\.visible \.entry (\w+)\(.*?^\{(.*?)^\}", text, re.M | re.S):
        yield match.group(1), match.group(2).splitlines()


# A row norm's arguments: input, (residual,) weight, (sum,) epsilon.
NORM = ["memref", "weight", "scalar"]
ADD_NORM = ["memref", "memref", "weight", "memref", "scalar"]


def leading_arguments(name):
    """The kernel's arguments up to its last weight (the split attention's
    all): "weight", "memref" or "scalar"."""
    if name.startswith("attention_split_"):
        return ["memref"] * 3 + ["weight"] * 3 + ["memref"] * 3 + ["scalar"] * 2
    if name.startswith("add_rms_norm_"):
        return ADD_NORM
    if name.startswith("rms_norm_"):
        return NORM
    if name.startswith("dequantize_"):
        return ["weight"]
    if name.startswith("swiglu_"):
        weights = 2
    elif name.startswith(("matvec_", "gemm_")):
        weights = len(re.search(r"_n([\dx]+)", name).group(1).split("x"))
    else:
        return []
    inputs = ADD_NORM if name.endswith("_addrmsnorm") else \
        NORM if name.endswith("_rmsnorm") else ["memref"]
    # A GEMM's int4 weights decoded to scratch are the kernel before's output.
    return inputs + ["memref" if "_dequantized" in name else "weight"] * weights


def weight_parameters(name):
    """The PTX parameters of the kernel's weight pointers, and of its
    scalars (values, not memory) among the arguments leading_arguments
    lists."""
    parameters, first = set(), 0
    for kind in leading_arguments(name):
        if kind == "weight":
            parameters |= {first, first + 1}
        if kind == "scalar":
            parameters.add(first)
        first += 1 if kind == "scalar" else 5
    return parameters


def check(name, body, variables):
    weights = weight_parameters(name)
    sources = {}  # register -> the parameters its value derives from
    released = False
    prefetched = 0
    for line in body:
        instruction = INSTRUCTION.match(line.split("//")[0])
        if not instruction:
            continue  # labels, declarations, braces
        opcode, operands = instruction.groups()
        if opcode == "griddepcontrol.launch_dependents":
            released = True
            continue
        if opcode == "griddepcontrol.wait":
            if not released:
                return "wait before launch_dependents"
            if not prefetched:
                return "ok"
            what = "cache and position" if name.startswith("attention_split_") else "weight"
            return f"ok, {prefetched} {what} load{'s' if prefetched > 1 else ''} before the wait"
        if opcode.startswith("cp.async.") and ".global" in opcode:
            # cp.async [shared], [global], ...: the global source must be a weight.
            source = ADDRESS.findall(operands)[1]
            if not sources.get(source, {None}) <= weights:
                return "memory access before griddepcontrol.wait: " + line.strip()
            prefetched += 1
            continue
        space = opcode.split(".")[1] if "." in opcode else ""
        if opcode.split(".")[0] in ("ld", "st", "atom", "red", "cp") and space in ("global", "shared"):
            address = ADDRESS.search(operands)
            derived = sources.get(address.group(1), {None}) if address else {None}
            if opcode.startswith("st.shared"):
                continue  # the block's own shared memory
            if not (opcode.startswith("ld.global") and derived <= weights):
                return "memory access before griddepcontrol.wait: " + line.strip()
            prefetched += 1
        if opcode.startswith(NO_DESTINATION):
            continue
        if opcode.startswith("ld.param"):
            parameter = PARAMETER.search(operands)
            derived = {int(parameter.group(1))} if parameter else set()
        else:
            derived = set()
        destination, _, rest = operands.partition(",") if not operands.startswith("{") \
            else operands[1:].partition("}")
        for register in REGISTER.findall(rest):
            derived |= sources.get(register, set())
        if variables & set(re.findall(r"\w+", rest)):
            derived.add(None)  # a global's address: not a weight's
        for register in REGISTER.findall(destination):
            sources[register] = derived
    return "no griddepcontrol.wait"


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    failures = 0
    found = 0
    text = open(sys.argv[1]).read()
    variables = globals_of(text)
    for name, body in kernels(text):
        found += 1
        verdict = check(name, body, variables)
        failures += not verdict.startswith("ok")
        print(f"{name}: {verdict}")
    if not found:
        print("no kernels found")
        return 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
