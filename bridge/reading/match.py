"""Matching a profile's row rules on a snapshot: the regions and checks every reader shares."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from bridge.profiles import Marker, RowRule
from bridge.screen import Snapshot

__all__ = ["found", "last_hit", "matches_any", "row_match", "tail"]


def _first_cell_ok(snap: Snapshot, rule: RowRule, row: int, match: re.Match[str]) -> bool:
    """Check ``rule.attrs`` on the first non-space cell of ``match`` in ``row``."""
    if rule.attrs is None:
        return True
    text = match.group(0)
    offset = match.start() + (len(text) - len(text.lstrip()))
    return rule.attrs.matches(snap.cell_at(row, offset))


def row_match(snap: Snapshot, rule: RowRule, row: int) -> re.Match[str] | None:
    """``rule``'s match in ``row`` (its regex, and its attributes on the first matched cell)."""
    match = rule.regex.search(snap.lines[row])
    if match and _first_cell_ok(snap, rule, row, match):
        return match
    return None


def matches_any(snap: Snapshot, rules: Iterable[RowRule], row: int) -> bool:
    return any(row_match(snap, rule, row) is not None for rule in rules)


def tail(snap: Snapshot, rows: int) -> range:
    """The last ``rows`` rows up to the last non-blank one."""
    last = snap.last_nonblank()
    return range(max(0, last - rows + 1), last + 1)


def _marker_hits(snap: Snapshot, marker: Marker) -> Iterator[tuple[int, re.Match[str]]]:
    if marker.where == "before_cursor":
        row, text = snap.cursor_row, snap.before_cursor()
        if row is not None and text is not None:
            match = marker.regex.search(text)
            if match and _first_cell_ok(snap, marker, row, match):
                yield row, match
        return
    if marker.where == "screen":
        rows: Iterable[int] = range(snap.height)
    elif marker.where == "tail":
        rows = tail(snap, marker.rows)
    elif marker.where == "last_row":
        rows = tail(snap, 1)
    else:
        rows = [] if snap.cursor_row is None else [snap.cursor_row]
    for row in rows:
        match = row_match(snap, marker, row)
        if match:
            yield row, match


def last_hit(snap: Snapshot, marker: Marker) -> re.Match[str] | None:
    """The lowest match of ``marker`` in its region of the screen, or ``None``."""
    hit = None
    for _, match in _marker_hits(snap, marker):
        hit = match
    return hit


def found(snap: Snapshot, marker: Marker) -> bool:
    """Whether ``marker`` matches anywhere in its region of the screen."""
    return next(_marker_hits(snap, marker), None) is not None
