#!/usr/bin/env python3
"""Runs a command that must fail with one exact exit status.

    exit_status.py STATUS COMMAND [ARG...]

Prints the command's stderr, then its stdout, on stdout (for FileCheck), and
exits 0 when the command exited with STATUS, 1 otherwise (a crash, a
signal, success or another status), after printing
"exit_status.py: ... exited with X, expected STATUS".
Python 3 standard library only.
"""
import subprocess
import sys


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    expected = int(sys.argv[1])
    result = subprocess.run(sys.argv[2:], capture_output=True)
    sys.stdout.buffer.write(result.stderr)
    sys.stdout.buffer.write(result.stdout)
    sys.stdout.flush()
    if result.returncode != expected:
        how = ("signal %d" % -result.returncode if result.returncode < 0
               else "status %d" % result.returncode)
        print("exit_status.py: %s exited with %s, expected %d"
              % (sys.argv[2], how, expected))
        sys.exit(1)


if __name__ == "__main__":
    main()
