"""Pure screen model: ``tmux capture-pane -p -e`` text -> an immutable :class:`Snapshot`.

No I/O here. :func:`parse` renders the captured text with pyte (0.8.2) and freezes the result into
plain dataclasses: per row the text (trailing spaces stripped, as ``capture-pane -p`` prints it)
and the cells with their attributes.

pyte 0.8.2 needs help with what tmux emits; :func:`parse` handles it:

* each captured line is placed with an explicit cursor move, so a bare LF never leaves the
  column where it was (pyte treats LF as "down only");
* SGR 2 (dim) is dropped by pyte: we interpret SGR ourselves and keep ``dim`` per cell;
* colon sub-parameters (``4:3``, ``38:2::r:g:b``) make pyte print stray text: they are rewritten
  into their semicolon forms before pyte sees them;
* ``58;5;N`` / ``58;2;r;g;b`` (underline colour) would be misread as other attributes: skipped;
* a zero-width character (U+200B, U+FE0F, U+200D, ...) makes pyte drop the rest of its text run:
  zero-width characters are attached to the previous cell instead, as tmux does (the rule is
  :mod:`bridge.screen.width`'s).

Colours are strings: ``"default"``, a palette index ``"0"``..``"255"`` (SGR 30-37/90-97 are
``"0"``-``"15"``), or ``"#rrggbb"`` for 24-bit colour.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple, cast

import pyte
from pyte.screens import Char

from bridge.screen.ansi import strip_ansi
from bridge.screen.width import char_width, text_width

__all__ = ["BLANK", "Cell", "Snapshot", "parse"]

_SGR = re.compile(r"\x1b\[([0-9;:]*)m")
# What wcwidth calls control characters (width -1); pyte passes on those it does not act on.
_CONTROLS = frozenset(map(chr, [*range(0x01, 0x20), *range(0x7F, 0xA0)]))


@dataclass(frozen=True, slots=True)
class Cell:
    """One screen cell. ``char`` is ``""`` for the right half of a wide character."""

    char: str = " "
    fg: str = "default"
    bg: str = "default"
    bold: bool = False
    dim: bool = False
    reverse: bool = False
    italics: bool = False
    underline: bool = False


BLANK = Cell()


@dataclass(frozen=True)
class Snapshot:
    """An immutable rendering of a captured pane.

    ``lines[i]`` is row ``i``'s text without trailing spaces; ``cells[i]`` has exactly ``width``
    cells. ``cursor`` is ``(x, y)`` = (column, row) in snapshot rows (row 0 is the first captured
    line, which may be history), or ``None`` when unknown. ``pane_width`` is the pane's width when
    the caller gave it (``width`` may be larger: lines joined by ``-J``), else ``None``.
    """

    lines: tuple[str, ...]
    cells: tuple[tuple[Cell, ...], ...]
    cursor: tuple[int, int] | None
    width: int
    height: int
    pane_width: int | None = None
    # _starts[row][col]: string offset where cell col starts; one extra entry for the row's end
    _starts: tuple[tuple[int, ...], ...] = field(default=(), repr=False, compare=False)

    @property
    def text(self) -> str:
        """All rows joined by ``"\\n"``, trailing blank rows dropped (like ``capture-pane -p``)."""
        return "\n".join(self.lines[: self.last_nonblank() + 1])

    def row(self, i: int) -> str:
        """The text of row ``i`` (negative counts from the bottom); ``""`` outside the screen."""
        if -self.height <= i < self.height:
            return self.lines[i]
        return ""

    def last_nonblank(self) -> int:
        """Index of the last row with any text, or ``-1`` for an empty screen."""
        for i in range(self.height - 1, -1, -1):
            if self.lines[i]:
                return i
        return -1

    @property
    def cursor_row(self) -> int | None:
        """The row the cursor is on, if known and inside the snapshot."""
        if self.cursor is None or not 0 <= self.cursor[1] < self.height:
            return None
        return self.cursor[1]

    def before_cursor(self) -> str | None:
        """The text of the cursor's row left of the cursor, spaces included (``None`` if the
        cursor is unknown). String offsets in it are those of ``lines[row]``."""
        y = self.cursor_row
        if y is None or self.cursor is None:
            return None
        return "".join(cell.char for cell in self.cells[y][: max(self.cursor[0], 0)])

    def column_of(self, row: int, offset: int) -> int:
        """The cell column holding string offset ``offset`` of ``lines[row]``."""
        starts = self._starts[row]
        return min(bisect_right(starts, offset) - 1, self.width)

    def offset_of(self, row: int, column: int) -> int:
        """The string offset in ``lines[row]`` where cell ``column`` starts (clamped to the text)."""
        starts = self._starts[row]
        return min(starts[min(max(column, 0), self.width)], len(self.lines[row]))

    def cell_at(self, row: int, offset: int) -> Cell:
        """The cell holding the character at string offset ``offset`` of ``lines[row]``."""
        col = self.column_of(row, offset)
        return self.cells[row][col] if col < self.width else BLANK

    def cells_for(self, row: int, start: int, end: int) -> tuple[Cell, ...]:
        """The cells covering string offsets ``[start, end)`` of ``lines[row]``."""
        if end <= start:
            return ()
        return self.cells[row][self.column_of(row, start) : self.column_of(row, end - 1) + 1]

    def find(
        self, pattern: re.Pattern[str], rows: Iterable[int] | None = None
    ) -> Iterator[tuple[int, re.Match[str]]]:
        """``(row, match)`` for every row (in ``rows`` order, default top-down) ``pattern`` matches."""
        for i in range(self.height) if rows is None else rows:
            m = pattern.search(self.lines[i])
            if m:
                yield i, m

    def highlighted_rows(self, *, fg: str | None = None, reverse: bool = True) -> tuple[int, ...]:
        """Rows with a non-blank cell in reverse video (if ``reverse``) or in colour ``fg``."""
        found = []
        for i, row in enumerate(self.cells):
            for cell in row:
                if cell.char.strip() and ((reverse and cell.reverse) or (fg is not None and cell.fg == fg)):
                    found.append(i)
                    break
        return tuple(found)


# -- rendering ----------------------------------------------------------------------------------


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


class _Screen(pyte.Screen):
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


def _fix_sgr(match: re.Match[str]) -> str:
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


def _cell(ch: Char, cache: dict[Char, Cell]) -> Cell:
    """The immutable :class:`Cell` for a pyte character (shared: most cells are alike)."""
    cell = cache.get(ch)
    if cell is None:
        cell = cache[ch] = Cell(
            char=ch.data,
            fg=ch.fg,
            bg=ch.bg,
            bold=ch.bold,
            dim=getattr(ch, "dim", False),
            reverse=ch.reverse,
            italics=ch.italics,
            underline=ch.underscore,
        )
    return cell


_Row = tuple[tuple[Cell, ...], str, tuple[int, ...]]  # cells, text, where each cell starts in text
_ROWS: dict[tuple[int, Char, str], tuple[_Row, Char]] = {}  # rendered rows, see parse()
_ROWS_MAX = 2048
_FAST = True  # render plain rows without pyte (tests compare both ways)


def _freeze_row(row: Mapping[int, Char], width: int, cache: dict[Char, Cell]) -> _Row:
    used = min(max(row.keys(), default=-1) + 1, width)  # cells after these are all blank
    head = [_cell(row[x], cache) for x in range(used)]
    blank = _cell(row[width], cache)  # a never-written cell: the row's default
    return _row(head, width, blank)


def _row(head: list[Cell], width: int, blank: Cell, text: str | None = None) -> _Row:
    """The row of ``head`` cells padded with ``blank`` to ``width`` (``text``: their characters)."""
    if text is None or len(text) != len(head):
        starts = [0]
        for cell in head:
            starts.append(starts[-1] + len(cell.char))
        text = "".join(cell.char for cell in head)
        starts += range(starts[-1] + 1, starts[-1] + 1 + width - len(head))
        offsets = tuple(starts)
    else:  # one character per cell: offsets are 0..width, the same tuple for every such row
        offsets = _ONE_PER_CELL.get(width) or _ONE_PER_CELL.setdefault(width, tuple(range(width + 1)))
    return (*head, *(blank,) * (width - len(head))), text.rstrip(" "), offsets


_ONE_PER_CELL: dict[int, tuple[int, ...]] = {}
_ONE_CELL: dict[str, bool] = {}  # character -> printable and one cell wide


def _one_cell_each(text: str) -> bool:
    """Every character of ``text`` is printable and one cell wide (what pyte draws one per cell)."""
    if text.isascii():
        return text.isprintable()
    for ch in set(text):
        ok = _ONE_CELL.get(ch)
        if ok is None:
            ok = _ONE_CELL[ch] = ch.isprintable() and char_width(ch) == 1
        if not ok:
            return False
    return True


def _plain_row(line: str, screen: _Screen, width: int, cache: dict[Char, Cell]) -> _Row | None:
    """The row pyte renders for ``line`` (SGR already rewritten by :func:`_fix_sgr`) when it holds
    only SGR sequences and one-cell characters, which is most rows, without pyte's work per
    character; ``None`` for anything else (pyte renders it). Updates the cursor's attributes."""
    parts = _SGR.split(line)  # text, params, text, params, ..., text
    texts = parts[0::2]
    if sum(map(len, texts)) > width or not all(_one_cell_each(t) for t in texts if t):
        return None
    if any(p.replace(";", "") and not p.replace(";", "").isdigit() for p in parts[1::2]):
        return None  # not digits and ";" only: leave it to pyte
    head: list[Cell] = []
    for i, part in enumerate(parts):
        if i % 2:
            screen.select_graphic_rendition(*(min(int(p or 0), 9999) for p in part.split(";")))
        elif part:
            attrs = screen.cursor.attrs
            cells = {ch: _cell(attrs._replace(data=ch), cache) for ch in set(part)}
            head += map(cells.__getitem__, part)
    return _row(head, width, _cell(screen.default_char, cache), "".join(texts))


def parse(
    ansi: str,
    width: int | None = None,
    cursor: tuple[int, int] | None = None,
    *,
    pane_height: int | None = None,
) -> Snapshot:
    """Render captured pane text (``capture-pane -p [-e] [-J] [-S -N]``) into a :class:`Snapshot`.

    ``width`` is the pane width; the grid grows to the widest captured line (lines joined by
    ``-J`` can be longer) and defaults to that, at least 80. Pass it when you know it: rejoining
    rows an agent wrapped needs it. The height is the number of captured lines.
    ``cursor`` is tmux's ``(cursor_x, cursor_y)``; when the capture includes history above the
    visible screen, pass ``pane_height`` and the row is shifted by the extra lines captured.
    """
    raw_lines = ansi.split("\n")
    if len(raw_lines) > 1 and raw_lines[-1] == "":
        raw_lines.pop()  # capture-pane ends every line, the last one too, with LF
    raw_lines = [line.rstrip("\r") for line in raw_lines]
    cols = max(width or 80, 1)
    # A line is at most two cells per character: only longer ones can widen the grid.
    widest = max((text_width(strip_ansi(line)) for line in raw_lines if 2 * len(line) > cols), default=0)
    cols = max(cols, widest)
    rows = max(len(raw_lines), 1)

    screen = _Screen(cols, rows)
    stream: pyte.Stream | None = None  # made only for a row that needs pyte
    cache: dict[Char, Cell] = {}
    frozen: list[_Row] = []
    for y, line in enumerate(raw_lines):
        # A row depends only on its text, the width and the attributes in force where it starts
        # (capture-pane -e carries SGR state from line to line): consecutive looks at a pane
        # mostly repeat rows, and rendering one with pyte is what an observation costs most.
        key = (cols, screen.cursor.attrs, line)
        known = _ROWS.get(key)
        if known is not None:
            frozen.append(known[0])
            screen.cursor.attrs = known[1]
            continue
        fixed = _SGR.sub(_fix_sgr, line)
        row = _plain_row(fixed, screen, cols, cache) if _FAST else None
        if row is None:
            stream = stream or pyte.Stream(screen)
            stream.feed(f"\x1b[{y + 1};1H" + fixed)
            row = _freeze_row(screen.buffer[y], cols, cache)
        frozen.append(row)
        if len(_ROWS) >= _ROWS_MAX:
            _ROWS.clear()
        _ROWS[key] = (row, screen.cursor.attrs)
    if not raw_lines:
        frozen.append(_freeze_row(screen.buffer[0], cols, cache))
    if cursor is not None and pane_height is not None:
        cursor = (cursor[0], cursor[1] + rows - pane_height)
    return Snapshot(
        lines=tuple(text for _, text, _ in frozen),
        cells=tuple(cells for cells, _, _ in frozen),
        cursor=cursor,
        width=cols,
        height=rows,
        pane_width=width,
        _starts=tuple(starts for _, _, starts in frozen),
    )
