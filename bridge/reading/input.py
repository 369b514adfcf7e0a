"""The live input box: where it is and what is typed in it (``""`` when empty or a placeholder)."""

from __future__ import annotations

from dataclasses import dataclass

from bridge.profiles import InputRules, Profile
from bridge.reading.match import row_match, tail
from bridge.screen import Snapshot

__all__ = ["InputBox", "find_input_box", "input_text"]


@dataclass(frozen=True)
class InputBox:
    """The live input box: its rows (inclusive) and text (``""`` when empty or a placeholder)."""

    first_row: int
    last_row: int
    text: str
    placeholder: bool


def _box_texts(snap: Snapshot, rules: InputRules, row: int, first: str) -> list[str] | None:
    """The text rows of a box starting at ``row``; ``None`` if its ``end`` row never comes."""
    texts, r = [first], row + 1
    while r < snap.height:
        line = snap.lines[r]
        if rules.end is not None and rules.end.search(line):
            break
        cont = rules.continuation.search(line)
        if rules.end is None and cont is None:
            break
        texts.append(cont.group("text") if cont else line)
        r += 1
    if rules.end is None:
        return texts
    if r >= snap.height:
        return None  # an unclosed box is no box (e.g. the agent crashed over it)
    # drop trailing empty rows, but not up to the cursor (an Enter that became a newline)
    cursor = snap.cursor_row if snap.cursor_row is not None and row <= snap.cursor_row < r else row
    while len(texts) > 1 and not texts[-1] and row + len(texts) - 1 > cursor:
        texts.pop()
    return texts


def find_input_box(snap: Snapshot, profile: Profile) -> InputBox | None:
    """The live input box, searched from the bottom, or ``None`` if none is visible."""
    rules = profile.input
    if rules is None:
        return None
    for row in reversed(tail(snap, rules.search_rows)):
        match = row_match(snap, rules.first, row)
        texts = _box_texts(snap, rules, row, match.group("text")) if match else None
        if match is None or texts is None:
            continue
        last = row + len(texts) - 1
        cursor = snap.cursor_row
        if rules.require_cursor and not (cursor is not None and row <= cursor <= last):
            continue
        text = "\n".join(t.rstrip() for t in texts)
        if rules.placeholder is not None and last == row and text.strip():
            cells = snap.cells_for(row, match.start("text"), len(snap.lines[row]))
            if all(rules.placeholder.matches(c) for c in cells if c.char.strip()):
                return InputBox(row, last, "", True)
        return InputBox(row, last, text, False)
    return None


def input_text(snap: Snapshot, profile: Profile) -> str | None:
    """What is typed in the live input box (``""`` if empty), or ``None`` if no box is visible."""
    box = find_input_box(snap, profile)
    return None if box is None else box.text
