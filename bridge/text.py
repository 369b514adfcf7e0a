"""Prompt text hygiene: what may be typed into an agent's pane as data.

Inside a bracketed paste, a program sees bytes, and some bytes act as keys anyway: ESC can end the
paste (``ESC[201~``) and start escape sequences, other C0 controls (``^C``, ``^D``, ``^Z``, ``CR``)
are read as key presses by many TUIs, DEL as Backspace, and C1 controls (U+0080-U+009F) as 8-bit
escape introducers. :func:`clean` removes exactly those and keeps everything else byte for byte:
newline (LF) and tab are kept; CRLF and lone CR become LF.
"""

from __future__ import annotations

import re

_NEWLINES = re.compile(r"\r\n?")
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x80-\x9f]")


def clean(text: str) -> tuple[str, int]:
    """Return ``(safe_text, removed)``: ``text`` without key-like control characters."""
    text = _NEWLINES.sub("\n", text)
    safe, removed = _UNSAFE.subn("", text)
    return safe, removed


def decode_prompt(data: bytes) -> str:
    """Decode prompt bytes as UTF-8, refusing invalid input with the offending offset."""
    from bridge.errors import ConfigError

    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"prompt is not valid UTF-8 (byte {exc.start}: {data[exc.start:exc.start + 1]!r})",
            hint="convert it first, e.g. iconv -f latin1 -t utf-8",
        ) from None
