#!/usr/bin/env python3
"""Types into `llamac-run chat` on a terminal, as a person would, with tmux.

    tmux_chat.py --socket PATH -- COMMAND...

Starts COMMAND in a detached tmux session on its own server (PATH), types
"Hello!", waits for the turn's report, types "/reset", then ends the input
with Ctrl-D, and prints the screen once the command has exited.
Python 3 standard library only.
"""
import argparse
import shlex
import subprocess
import sys
import time


def tmux(socket, *args):
    return subprocess.run(["tmux", "-S", socket] + list(args),
                          capture_output=True, text=True, check=True).stdout


def wait_for(socket, found, what, timeout=120):
    """The screen's non-blank lines (trailing blanks dropped) once `found`
    says yes to them."""
    deadline = time.time() + timeout
    while True:
        screen = tmux(socket, "capture-pane", "-p", "-t", "chat")
        lines = [line.rstrip() for line in screen.splitlines() if line.strip()]
        if found(lines):
            return lines
        if time.time() > deadline:
            print("FAIL: no %s on the screen:\n%s" % (what, screen))
            sys.exit(1)
        time.sleep(0.2)


def showing(text):
    return lambda lines: any(text in line for line in lines)


def prompting(lines):
    return bool(lines) and lines[-1] == ">"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--socket", required=True)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = [c for c in args.command if c != "--"]
    # The shell stays to show how the chat exited.
    shell = shlex.join(command) + '; echo "[exit $?]"; sleep 600'
    tmux(args.socket, "new-session", "-d", "-s", "chat", "-x", "200", "-y",
         "50", "sh", "-c", shell)
    try:
        wait_for(args.socket, prompting, "prompt")
        tmux(args.socket, "send-keys", "-t", "chat", "Hello!", "Enter")
        wait_for(args.socket, showing("[turn 1:"), "turn report")
        wait_for(args.socket, prompting, "second prompt")
        tmux(args.socket, "send-keys", "-t", "chat", "/reset", "Enter")
        wait_for(args.socket,
                 lambda lines: "[conversation reset]" in lines and
                 prompting(lines), "prompt after /reset")
        tmux(args.socket, "send-keys", "-t", "chat", "C-d")
        print("\n".join(wait_for(args.socket, showing("[exit "), "exit")))
    finally:
        tmux(args.socket, "kill-server")


if __name__ == "__main__":
    main()
