"""pyte 0.8.2 taught what tmux emits: a :class:`Screen` and :func:`fix_sgr` for the snapshot.

* SGR 2 (dim) is dropped by pyte: SGR is interpreted here and ``dim`` kept per cell;
* colon sub-parameters (``4:3``, ``38:2::r:g:b``) make pyte print stray text: :func:`fix_sgr`
  rewrites them into their semicolon forms before pyte sees them;
* ``58;5;N`` / ``58;2;r;g;b`` (underline colour) would be misread as other attributes: skipped;
* a zero-width character (U+200B, U+FE0F, U+200D, ...) makes pyte drop the rest of its text run:
  zero-width characters are attached to the previous cell instead, as tmux does (the rule is
  :mod:`bridge.screen.width`'s).

Colours become the strings of :class:`bridge.screen.snapshot.Cell`.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple, cast

import pyte
from pyte.screens import Char

from bridge.screen.width import char_width

__all__ = ["SGR", "Screen", "fix_sgr"]

SGR = re.compile(r"\x1b\[([0-9;:]*)m")
# What wcwidth calls control characters (width -1); pyte passes on those it does not act on.
_CONTROLS = frozenset(map(chr, [*range(0x01, 0x20), *range(0x7F, 0xA0)]))


class _Char(NamedTuple):
    """pyte's ``Char`` plus ``dim`` (pyte copies it with ``_replace``, so the field survives)."""

    data: str
    fg: str = "default"
    bg: str = "default"
    bold: bool = False
    italics: bool = False
    underscore: bool = False
    strikethrough: bool = False
    reverse: bool = False
    blink: bool = False
    dim: bool = False


_TEXT_ON = {
    1: "bold",
    2: "dim",
    3: "italics",
    4: "underscore",
    5: "blink",
    7: "reverse",
    9: "strikethrough",
    21: "underscore",
}
_TEXT_OFF = {
    22: ("bold", "dim"),
    23: ("italics",),
    24: ("underscore",),
    25: ("blink",),
    27: ("reverse",),
    29: ("strikethrough",),
}


def _extended_colour(params: list[int]) -> str | None:
    """Consume ``5;N`` or ``2;r;g;b`` from the front of ``params``; the colour, or None."""
    if not params:
        return None
    kind = params.pop(0)
    if kind == 5 and params:
        return str(params.pop(0) & 0xFF)
    if kind == 2 and len(params) >= 3:
        r, g, b = (params.pop(0) & 0xFF for _ in range(3))
        return f"#{r:02x}{g:02x}{b:02x}"
    return None


class Screen(pyte.Screen):
    """A pyte screen with our SGR interpretation (dim kept) and zero-width characters kept."""

    @property
    def default_char(self) -> Char:
        return cast(Char, _Char(data=" "))  # a Char with one more field, see _Char

    def reset(self) -> None:
        super().reset()
        self.cursor.attrs = self.default_char

    def select_graphic_rendition(self, *attrs: int, private: bool = False) -> None:
        if private:
            return
        params = list(attrs) or [0]
        replace: dict[str, Any] = {}
        while params:
            code = params.pop(0)
            if code == 0:
                replace = dict(self.default_char._asdict())
                del replace["data"]
            elif code in _TEXT_ON:
                replace[_TEXT_ON[code]] = True
            elif code in _TEXT_OFF:
                replace.update(dict.fromkeys(_TEXT_OFF[code], False))
            elif 30 <= code <= 37 or 90 <= code <= 97:
                replace["fg"] = str(code - 30 if code < 90 else code - 82)
            elif 40 <= code <= 47 or 100 <= code <= 107:
                replace["bg"] = str(code - 40 if code < 100 else code - 92)
            elif code in (39, 49):
                replace["fg" if code == 39 else "bg"] = "default"
            elif code in (38, 48):
                colour = _extended_colour(params)
                if colour is not None:
                    replace["fg" if code == 38 else "bg"] = colour
            elif code == 58:  # underline colour: consume and ignore
                _extended_colour(params)
        self.cursor.attrs = self.cursor.attrs._replace(**replace)

    def draw(self, data: str) -> None:
        run: list[str] = []
        before = ""  # a ZWJ there puts this character into its cell (see bridge.screen.width)
        for char in data:
            if char_width(char, before) > 0:
                run.append(char)
            else:
                if run:
                    super().draw("".join(run))
                    run = []
                if char not in _CONTROLS:  # a control character pyte did not consume: dropped
                    self._attach(char)
            before = char
        if run:
            super().draw("".join(run))

    def _attach(self, char: str) -> None:
        """Append a zero-width character to the cell left of the cursor (skipping a wide stub)."""
        x, y = self.cursor.x, self.cursor.y
        line = self.buffer[y]
        x -= 1
        while x >= 0 and line[x].data == "":
            x -= 1
        if x >= 0:
            line[x] = line[x]._replace(data=line[x].data + char)


def fix_sgr(match: re.Match[str]) -> str:
    """Rewrite colon sub-parameters into forms pyte parses (``4:3`` -> ``4``, ``38:2::r:g:b``...)."""
    params = match.group(1)
    if ":" not in params:
        return match.group(0)
    out: list[str] = []
    for part in params.split(";"):
        if ":" not in part:
            out.append(part)
            continue
        sub = [s or "0" for s in part.split(":")]
        head = sub[0]
        if head in ("38", "48", "58") and len(sub) >= 3:
            if sub[1] == "5":
                out += [head, "5", sub[2]]
            elif sub[1] == "2":
                rgb = sub[3:6] if len(sub) >= 6 else sub[2:5]
                out += [head, "2", *rgb]
        elif head == "4":
            out.append("24" if sub[1] == "0" else "4")
        else:
            out.append(head)
    return "\x1b[" + ";".join(out) + "m"
