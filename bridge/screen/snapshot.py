"""Pure screen model: ``tmux capture-pane -p -e`` text -> an immutable :class:`Snapshot`.

No I/O here. :func:`parse` renders the captured text with pyte (0.8.2, taught what tmux emits in
:mod:`bridge.screen.emulator`) and freezes the result into plain dataclasses: per row the text
(trailing spaces stripped, as ``capture-pane -p`` prints it) and the cells with their attributes.
Each captured line is placed with an explicit cursor move, so a bare LF never leaves the column
where it was (pyte treats LF as "down only"). Most rows (SGR and one-cell characters only) are
drawn here without pyte's work per character, and rows already rendered are remembered.

Colours are strings: ``"default"``, a palette index ``"0"``..``"255"`` (SGR 30-37/90-97 are
``"0"``-``"15"``), or ``"#rrggbb"`` for 24-bit colour.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

import pyte
from pyte.screens import Char

from bridge.screen.ansi import strip_ansi
from bridge.screen.emulator import SGR, Screen, fix_sgr
from bridge.screen.width import char_width, text_width

__all__ = ["BLANK", "Cell", "Snapshot", "parse"]


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


def _plain_row(line: str, screen: Screen, width: int, cache: dict[Char, Cell]) -> _Row | None:
    """The row pyte renders for ``line`` (SGR already rewritten by :func:`fix_sgr`) when it holds
    only SGR sequences and one-cell characters, which is most rows, without pyte's work per
    character; ``None`` for anything else (pyte renders it). Updates the cursor's attributes."""
    parts = SGR.split(line)  # text, params, text, params, ..., text
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

    screen = Screen(cols, rows)
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
        fixed = SGR.sub(fix_sgr, line)
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
