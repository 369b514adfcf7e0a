"""How many terminal cells text takes: the one cell-width rule of the bridge.

It is the rule the screen model draws with (:mod:`bridge.screen.snapshot`), which is how tmux
3.3a places characters:

* a character takes what :func:`wcwidth.wcwidth` says: 2 for wide East Asian characters and most
  emoji, 1 for the rest;
* zero-width characters (combining marks, U+200B, variation selectors, the zero-width joiner)
  and control characters take none: they belong to the cell before them;
* a character right after a zero-width joiner (U+200D) is drawn into the joiner's cell, so a ZWJ
  sequence such as 👨‍👩 is one wide cell.

Everything that measures or cuts text for a terminal (the reader rejoining wrapped rows,
``agent-bridge watch`` cropping lines, the demo agent wrapping its own) uses these functions.

The demo agent runs under any ``python3`` (standard library only, see :mod:`bridge.demo`): this
module imports nothing else of the bridge, and where :mod:`wcwidth` is not installed its table is
approximated from :mod:`unicodedata`.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

__all__ = ["ZWJ", "char_width", "text_width"]

ZWJ = "\u200d"


def _unicodedata_width(char: str) -> int:
    """:func:`wcwidth.wcwidth` as far as :mod:`unicodedata` tells (-1 for a control character)."""
    if char < " " or "\x7f" <= char < "\xa0":
        return 0 if char == "\0" else -1
    if char == "\xad":
        return 1  # the soft hyphen shows
    if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


_wcwidth: Callable[[str], int]
try:
    from wcwidth import wcwidth as _wcwidth
except ImportError:  # a bare python3 running the demo agent
    _wcwidth = _unicodedata_width


def char_width(char: str, before: str = "") -> int:
    """The cells the character ``char`` adds to a row after the character ``before`` (``""`` at
    the start): 0, 1 or 2. Zero for a zero-width or control character, and for any character a
    zero-width joiner joins to the cell before it."""
    if before == ZWJ:
        return 0
    return max(_wcwidth(char), 0)


def text_width(text: str) -> int:
    """The cells plain ``text`` (no escape sequences, no line breaks) takes on a row."""
    if text.isascii() and text.isprintable():
        return len(text)
    width, before = 0, ""
    for char in text:
        width += char_width(char, before)
        before = char
    return width
