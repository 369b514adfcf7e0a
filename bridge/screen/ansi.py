"""Terminal escape sequences: one pattern for all of them, and the one :func:`strip_ansi`."""

from __future__ import annotations

import re

__all__ = ["ESCAPE", "split_ansi", "strip_ansi"]

# CSI, OSC (BEL or ST terminated, or cut off), DCS/SOS/PM/APC strings, other ESC sequences
# (character sets, keypad modes, save/restore cursor, ...), the 8-bit CSI, and a lone ESC.
ESCAPE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"
    r"|\x1b[PX^_][^\x1b\x07]*(?:\x1b\\|\x07)?"
    r"|\x1b[ -/]*[0-~]"
    r"|\x9b[0-?]*[ -/]*[@-~]"
    r"|\x1b",
)
_PIECES = re.compile(f"({ESCAPE.pattern})")


def _as_text(match: re.Match[str]) -> str:
    seq = match.group(0)
    if seq.startswith("\x1b[") and seq[-1] in "ABEFHfd":
        return "\n"  # the cursor went to another row: a line break reads best
    if seq.startswith("\x1b[") and seq[-1] == "C":
        return " "  # the cursor skipped columns: a space
    return ""


def strip_ansi(text: str, *, moves: bool = False) -> str:
    """``text`` without escape sequences.

    With ``moves`` (for a raw terminal stream rather than a captured screen), a cursor move to
    another row becomes a line break and a move to the right a space, so the text still reads.
    """
    return ESCAPE.sub(_as_text if moves else "", text)


def split_ansi(text: str) -> list[str]:
    """``text`` cut into plain pieces (even indexes) and escape sequences (odd indexes)."""
    return _PIECES.split(text)
