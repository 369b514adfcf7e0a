"""A tiny terminal program for tests: records exactly what a bracketed paste delivers.

Run in a tmux pane as ``python -m tests.helpers.receiver OUT``. It puts the terminal in raw mode,
turns bracketed paste on, and for every Enter (CR) appends one JSON line ``{"text": ...}`` to OUT
with what was received since the previous Enter, paste markers removed. Ctrl-D exits.
"""

from __future__ import annotations

import json
import os
import sys
import termios
import tty

START, END = b"\x1b[200~", b"\x1b[201~"


def main(out: str) -> None:
    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    tty.setraw(fd)
    os.write(sys.stdout.fileno(), b"\x1b[?2004hREADY\r\n")
    buf, pending = b"", b""
    in_paste = False
    try:
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                return
            pending += chunk
            while pending:
                if in_paste:
                    idx = pending.find(END)
                    if idx < 0:
                        keep = len(END) - 1
                        buf, pending = buf + pending[:-keep], pending[-keep:]
                        break
                    buf += pending[:idx]
                    pending = pending[idx + len(END) :]
                    in_paste = False
                    continue
                if pending.startswith(START):
                    in_paste, pending = True, pending[len(START) :]
                    continue
                if START.startswith(pending):
                    break  # wait for the rest of the marker
                byte, pending = pending[:1], pending[1:]
                if byte == b"\r":
                    with open(out, "a", encoding="utf-8") as handle:
                        text = buf.decode("utf-8", errors="surrogateescape")
                        handle.write(json.dumps({"text": text}, ensure_ascii=True) + "\n")
                    os.write(sys.stdout.fileno(), f"GOT {len(buf)} BYTES\r\n".encode())
                    buf = b""
                elif byte == b"\x04":
                    return
                else:
                    buf += byte
    finally:
        os.write(sys.stdout.fileno(), b"\x1b[?2004l")
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


if __name__ == "__main__":
    main(sys.argv[1])
