#!/usr/bin/env python3
"""Checks the grid dependency control of every kernel of a PTX file:
griddepcontrol.launch_dependents, then griddepcontrol.wait before the
kernel touches any memory an earlier kernel may have written. Before the
wait a kernel may only load from its weights, which no kernel writes: the
matvec and swiglu kernels' memref arguments 1..W (W is 2 for swiglu, the
number of output groups in a matvec's `_n` name part, e.g. 3 for
`_n4096x4096x4096`). Each memref argument is five PTX parameters (allocated
and aligned pointer, offset, size, stride); a load's address is traced back
through the registers it is computed from to the parameters it derives from.
Prints one line per kernel; exits 1 if any kernel fails.

    check_dependent_launch.py FILE.ptx
"""
import re
import sys

MEMORY = re.compile(r"^\s*(@!?%p\d+\s+)?(ld|st|atom|red|cp)\.(global|shared)")
PARAM_LOAD = re.compile(r"ld\.param\.\w+\s+(%\w+),\s*\[\w+_param_(\d+)")
REGISTER = re.compile(r"%\w+")
ADDRESS = re.compile(r"\[(%\w+)")


def kernels(text):
    for match in re.finditer(r"^\.visible \.entry (\w+)\(.*?^\{(.*?)^\}", text, re.M | re.S):
        yield match.group(1), match.group(2).splitlines()


def weight_parameters(name):
    """The PTX parameters of the kernel's weight pointers."""
    if name.startswith("swiglu_"):
        weights = 2
    elif name.startswith("matvec_"):
        weights = len(re.search(r"_n([\dx]+)", name).group(1).split("x"))
    else:
        weights = 0
    return {5 * arg + pointer for arg in range(1, weights + 1) for pointer in (0, 1)}


def check(name, body):
    weights = weight_parameters(name)
    sources = {}  # register -> the parameters its value derives from
    released = prefetched = 0
    for line in body:
        if "griddepcontrol.launch_dependents" in line:
            released = True
            continue
        if "griddepcontrol.wait" in line:
            if not released:
                return "wait before launch_dependents"
            if not prefetched:
                return "ok"
            return f"ok, {prefetched} weight load{'s' if prefetched > 1 else ''} before the wait"
        param = PARAM_LOAD.search(line)
        if param:
            sources[param.group(1)] = {int(param.group(2))}
            continue
        memory = MEMORY.match(line)
        if memory:
            address = ADDRESS.search(line)
            derived = sources.get(address.group(1), set()) if address else {None}
            if memory.group(2) != "ld" or memory.group(3) != "global" or not derived <= weights:
                return "memory access before griddepcontrol.wait: " + line.strip()
            prefetched += 1
        registers = REGISTER.findall(line.split("//")[0])
        if registers:
            # The destination(s) come first; a vector load's braces hold several.
            destinations = re.findall(r"%\w+", line.split("{")[1].split("}")[0]) \
                if "{" in line.split(",")[0] else registers[:1]
            derived = set()
            for register in registers:
                if register not in destinations:
                    derived |= sources.get(register, set())
            for register in destinations:
                sources[register] = derived
    return "no griddepcontrol.wait"


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    failures = 0
    found = 0
    for name, body in kernels(open(sys.argv[1]).read()):
        found += 1
        verdict = check(name, body)
        failures += not verdict.startswith("ok")
        print(f"{name}: {verdict}")
    if not found:
        print("no kernels found")
        return 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
