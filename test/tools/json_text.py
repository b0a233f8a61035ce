#!/usr/bin/env python3
"""Prints one row's text from `llamac-run generate --json` output.

    json_text.py FILE [--row N] [--until STR]

Writes the row's "text" and a newline, as `generate` streams it to stdout,
so the two can be compared with cmp. --until cuts the text before the first
STR, as a stop string does. Python 3 standard library only.
"""
import argparse
import json
import sys


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("file")
    parser.add_argument("--row", type=int, default=0)
    parser.add_argument("--until")
    args = parser.parse_args()
    with open(args.file, encoding="utf-8") as f:
        text = json.load(f)["text"][args.row]
    if args.until is not None and args.until in text:
        text = text[:text.index(args.until)]
    sys.stdout.buffer.write((text + "\n").encode("utf-8"))


if __name__ == "__main__":
    main()
