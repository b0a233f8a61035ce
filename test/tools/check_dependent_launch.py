#!/usr/bin/env python3
"""Checks that every kernel of a PTX file waits for its predecessor grid
(griddepcontrol.wait, then griddepcontrol.launch_dependents) before its
first global or shared memory access. Prints one line per kernel; exits 1
if any kernel reads or writes memory first or lacks the instructions.

    check_dependent_launch.py FILE.ptx
"""
import re
import sys

MEMORY = re.compile(r"^\s*(@%p\d+\s+)?(ld|st|atom|red|cp)\.(global|shared)")


def kernels(text):
    for match in re.finditer(r"^\.visible \.entry (\w+)\(.*?^\{(.*?)^\}", text, re.M | re.S):
        yield match.group(1), match.group(2).splitlines()


def check(body):
    waited = False
    for line in body:
        if "griddepcontrol.wait" in line:
            waited = True
        elif "griddepcontrol.launch_dependents" in line:
            return "ok" if waited else "launch_dependents before wait"
        elif MEMORY.match(line):
            return "memory access before griddepcontrol: " + line.strip()
    return "no griddepcontrol"


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    failures = 0
    found = 0
    for name, body in kernels(open(sys.argv[1]).read()):
        found += 1
        verdict = check(body)
        failures += verdict != "ok"
        print(f"{name}: {verdict}")
    if not found:
        print("no kernels found")
        return 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
