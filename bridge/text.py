"""Prompt text hygiene: what may be typed into an agent's pane as data.

A prompt is typed as one bracketed paste. Inside it a program sees bytes, and some bytes act as
keys anyway: ESC can end the paste (``ESC[201~``) and start escape sequences; other C0 controls
(``^C``, ``^D``, ``^Z``, a lone ``CR`` = Enter, NUL) are read as key presses by many TUIs; DEL acts
as Backspace; C1 controls (U+0080-U+009F) are 8-bit escape introducers. So:

* newline (LF) and tab are data and are delivered as they are; CRLF becomes LF (a Windows file);
* any other of those characters is **refused** with the first offending offset
  (:func:`check`), unless the caller asks to strip them (``--strip-controls``, :func:`clean`),
  in which case they are removed and counted;
* everything else (quotes, ``$``, backticks, ``;``, ``#{…}``, RTL and zero-width characters, any
  Unicode) is delivered byte for byte.
"""

from __future__ import annotations

import re

from bridge.errors import ConfigError

_NEWLINES = re.compile(r"\r\n")
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x80-\x9f]")
_NAMES = {0x00: "NUL", 0x03: "Ctrl-C", 0x04: "Ctrl-D", 0x0D: "CR (Enter)", 0x1A: "Ctrl-Z",
          0x1B: "ESC", 0x7F: "DEL"}


def clean(text: str) -> tuple[str, int]:
    """Return ``(safe_text, removed)``: ``text`` with CRLF as LF and key-like controls removed."""
    return _UNSAFE.subn("", _NEWLINES.sub("\n", text))


def check(text: str) -> str:
    """``text`` with CRLF as LF, if it holds no key-like control; else a one-line ConfigError."""
    text = _NEWLINES.sub("\n", text)
    bad = _UNSAFE.search(text)
    if bad:
        code = ord(bad.group())
        name = f"{_NAMES[code]} (U+{code:04X})" if code in _NAMES else f"control character U+{code:04X}"
        raise ConfigError(
            f"the text contains {name} at character {bad.start()}, which a terminal "
            "would take as a key press; nothing was typed",
            hint="remove it, or pass --strip-controls to drop such characters",
        )
    return text


def decode_prompt(data: bytes) -> str:
    """Decode prompt bytes as UTF-8, refusing invalid input with the offending offset."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"prompt is not valid UTF-8 (byte {exc.start}: {data[exc.start:exc.start + 1]!r})",
            hint="convert it first, e.g. iconv -f latin1 -t utf-8",
        ) from None
