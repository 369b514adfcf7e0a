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
_SURROGATE = re.compile("[\ud800-\udfff]")
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x80-\x9f]")
_NAMES = {0x00: "NUL", 0x03: "Ctrl-C", 0x04: "Ctrl-D", 0x0D: "CR (Enter)", 0x1A: "Ctrl-Z",
          0x1B: "ESC", 0x7F: "DEL"}


def clean(text: str) -> tuple[str, int]:
    """Return ``(safe_text, removed)``: ``text`` with CRLF as LF and key-like controls removed
    (bytes that are not UTF-8 are refused all the same: see :func:`argv_text`)."""
    return _UNSAFE.subn("", _NEWLINES.sub("\n", argv_text(text)))


def check(text: str) -> str:
    """``text`` with CRLF as LF, if it holds no key-like control and is valid Unicode text; else a
    one-line ConfigError."""
    text = _NEWLINES.sub("\n", text)
    text = argv_text(text)  # bytes that were not UTF-8 (argv decoded with surrogateescape)
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
            f"prompt is not valid UTF-8 (byte {exc.start}: {data[exc.start:exc.start + 1]!r}); "
            "nothing was typed",
            hint="convert it first, e.g. iconv -f latin1 -t utf-8",
        ) from None


def argv_text(text: str) -> str:
    """A prompt given as a command-line argument, as the bytes it was: Python decodes argv with
    ``surrogateescape``, so bytes that are not UTF-8 (``0xFF``, a raw 8-bit CSI ``0x9B``) come in
    as lone surrogates. They are refused as :func:`decode_prompt` refuses them on stdin."""
    if not _SURROGATE.search(text):
        return text
    try:
        data = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError as exc:  # a surrogate that stands for no byte
        raise ConfigError(
            f"the text holds a lone surrogate U+{ord(text[exc.start]):04X} at character {exc.start}, "
            "which is not text; nothing was typed",
            hint="send valid UTF-8",
        ) from None
    return decode_prompt(data)
