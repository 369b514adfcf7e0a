"""Pure reading of a :class:`~bridge.screen.Snapshot` with a :class:`~bridge.profiles.Profile`.

No I/O and no waiting: each function looks at one snapshot. The driver calls them on every
screen it captures.

* :func:`classify` -> :class:`State` (pane facts first, then the profile's state rules in order;
  a screen no rule recognises is ``unknown``, never a guess);
* :func:`input_text` -> what is typed in the live input box;
* :func:`find_reply` / :func:`extract_reply` -> the answer that follows a submitted prompt;
* :func:`read_menu` / :func:`read_permission` -> numbered choices and the highlighted one.

There is no separate "typing" state: an idle agent with unsent text is ``idle``, and
:func:`input_text` says what is in the box.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum

from bridge.profiles import InputRules, Marker, Profile, RowRule, Selector, StateRule
from bridge.screen import Snapshot, text_width

__all__ = [
    "InputBox",
    "Menu",
    "MenuItem",
    "PermissionQuestion",
    "Reply",
    "State",
    "Turn",
    "classify",
    "extract_reply",
    "find_input_box",
    "find_reply",
    "input_text",
    "last_prompt",
    "paste_landed",
    "read_menu",
    "read_permission",
    "user_turns",
]


class State(StrEnum):
    """What the agent in the pane is doing, as far as one screen tells."""

    IDLE = "idle"
    BUSY = "busy"
    PERMISSION = "permission"
    MENU = "menu"
    DIALOG = "dialog"
    DEAD = "dead"
    UNKNOWN = "unknown"


# -- rule matching ------------------------------------------------------------------------------


def _first_cell_ok(snap: Snapshot, rule: RowRule, row: int, match: re.Match[str]) -> bool:
    """Check ``rule.attrs`` on the first non-space cell of ``match`` in ``row``."""
    if rule.attrs is None:
        return True
    text = match.group(0)
    offset = match.start() + (len(text) - len(text.lstrip()))
    return rule.attrs.matches(snap.cell_at(row, offset))


def _row_match(snap: Snapshot, rule: RowRule, row: int) -> re.Match[str] | None:
    match = rule.regex.search(snap.lines[row])
    if match and _first_cell_ok(snap, rule, row, match):
        return match
    return None


def _tail(snap: Snapshot, rows: int) -> range:
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
        rows = _tail(snap, marker.rows)
    elif marker.where == "last_row":
        rows = _tail(snap, 1)
    else:
        rows = [] if snap.cursor_row is None else [snap.cursor_row]
    for row in rows:
        match = _row_match(snap, marker, row)
        if match:
            yield row, match


def _found(snap: Snapshot, marker: Marker) -> bool:
    return next(_marker_hits(snap, marker), None) is not None


def _holds(rule: StateRule, snap: Snapshot, profile: Profile) -> bool:
    if rule.always:
        return True
    if rule.input_box is not None and (find_input_box(snap, profile) is not None) != rule.input_box:
        return False
    return (
        all(_found(snap, m) for m in rule.all)
        and (not rule.any or any(_found(snap, m) for m in rule.any))
        and not any(_found(snap, m) for m in rule.none)
    )


def classify(
    snap: Snapshot, profile: Profile, *, current_command: str | None = None, pane_dead: bool = False
) -> State:
    """The agent's state on ``snap``. Pane facts win: a dead pane, or a shell as the pane's
    current command (the agent exited back to it), is ``dead`` whatever the screen shows."""
    if pane_dead:
        return State.DEAD
    if current_command:
        command = os.path.basename(current_command.strip()).lstrip("-")
        if command in profile.process.shells:
            return State.DEAD
    for name in profile.states.order:
        rule = getattr(profile.states, name)
        if rule is not None and _holds(rule, snap, profile):
            return State(name)
    return State.UNKNOWN


# -- input box ----------------------------------------------------------------------------------


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
    for row in reversed(_tail(snap, rules.search_rows)):
        match = _row_match(snap, rules.first, row)
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


def _squash(text: str) -> str:
    return "".join(text.split())


def paste_landed(snap: Snapshot, profile: Profile, text: str) -> bool:
    """True if the input box shows ``text`` (compared without whitespace, which wrapping and
    indenting change) or a collapsed-paste marker such as ``[Pasted text #1 +40 lines]``."""
    typed = input_text(snap, profile)
    if not typed or profile.input is None:
        return False
    if any(p.search(line) for p in profile.input.collapsed for line in typed.splitlines()):
        return True
    return _squash(typed) == _squash(text)


# -- user turns and replies ----------------------------------------------------------------------


@dataclass(frozen=True)
class Turn:
    """A past user turn (prompt echo) on the screen; ``truncated`` if its start is above row 0."""

    first_row: int
    last_row: int
    text: str
    truncated: bool = False

    def shows(self, head: str, whole: str) -> bool:
        """Whether this echo shows a prompt, given squashed (see :func:`_squash`): it starts with
        ``head``, the prompt's first non-blank line; or, if truncated, its visible part is in
        ``whole``, the prompt."""
        text = _squash(self.text)
        return bool(text) and text in whole if self.truncated else text.startswith(head)


def user_turns(snap: Snapshot, profile: Profile) -> list[Turn]:
    """Every past user turn on the screen, top to bottom (the live input box excluded)."""
    rules = profile.turn
    if rules is None:
        return []
    box = find_input_box(snap, profile)
    turns: list[Turn] = []
    row = 0
    while row < snap.height:
        match = _row_match(snap, rules.first, row) if box is None or row != box.first_row else None
        truncated = False
        if match is None and row == 0 and rules.continuation is not None:
            # the capture starts inside an echo: its first rows are above the captured history
            match = _row_match(snap, rules.continuation, 0)
            truncated = match is not None
        if match is None:
            row += 1
            continue
        texts, end = [match.group("text")], row + 1
        while rules.continuation is not None and end < snap.height:
            cont = _row_match(snap, rules.continuation, end)
            if cont is None:
                break
            texts.append(cont.group("text"))
            end += 1
        turns.append(Turn(row, end - 1, "\n".join(texts), truncated))
        row = end
    return turns


def last_prompt(snap: Snapshot, profile: Profile) -> str | None:
    """The text of the last past user turn on the screen (``None`` if there is none)."""
    turns = user_turns(snap, profile)
    return turns[-1].text if turns else None


@dataclass(frozen=True)
class Reply:
    """The answer after one user turn.

    ``blocks`` are the agent's text blocks (tool calls dropped), ``text`` joins them with a
    blank line. ``complete`` is true when the start of the answer and the turn's end (its end
    marker, or a later prompt) are both on the screen; otherwise the text is partial (still
    streaming, or its start scrolled off).
    """

    text: str
    blocks: tuple[str, ...]
    complete: bool
    prompt_row: int
    end_row: int


def _matches_any(snap: Snapshot, rules: Iterable[RowRule], row: int) -> bool:
    return any(_row_match(snap, rule, row) is not None for rule in rules)


def _continues(prev: str, content: str, mode: str, width: int) -> str | None:
    """The separator if ``content`` continues the screen row ``prev`` (it was wrapped), else None.

    ``cells``: the terminal wrapped a row that filled the width. ``words``: the agent wrapped at
    a space because the next word did not fit."""
    if mode == "cells" and text_width(prev) == width:
        return ""
    if mode == "words" and text_width(prev) + 1 + text_width(content.split(" ", 1)[0]) > width:
        return " "
    return None


def _join_wrapped(rows: list[tuple[str, str]], mode: str, width: int) -> list[str]:
    """Rejoin wrapped rows; ``rows`` are (screen row text, content without prefix/indent)."""
    out: list[str] = []
    prev: str | None = None
    for full, content in rows:
        sep = _continues(prev, content, mode, width) if prev and content and out and out[-1] else None
        if sep is None:
            out.append(content)
        else:
            out[-1] += sep + (content.lstrip() if sep else content)
        prev = full
    return out


def _blocks(snap: Snapshot, profile: Profile, rows: list[int]) -> tuple[list[str], bool]:
    """Split reply rows into text blocks; also whether the first block's start was visible."""
    rules = profile.reply
    raw: list[list[tuple[str, str]]] = []
    tool: list[bool] = []  # per block: a row matched one of rules.tool_rows
    started = rules.prefix is None
    for row in rows:
        line = snap.lines[row]
        prefix = rules.prefix.match(line) if rules.prefix is not None else None
        is_tool = any(p.search(line) for p in rules.tool_rows)
        if prefix is not None:
            raw.append([(line, line[prefix.end() :])])
            tool.append(is_tool)
            started = started or len(raw) == 1
            continue
        if not raw:
            if not line:
                continue
            raw.append([])
            tool.append(False)
        tool[-1] = tool[-1] or is_tool
        content = line[len(rules.indent) :] if line.startswith(rules.indent) else line
        raw[-1].append((line, content))
    blocks = []
    for parts, is_tool in zip(raw, tool, strict=True):
        if is_tool:
            continue
        lines = _join_wrapped(parts, rules.wrap if snap.pane_width else "none", snap.pane_width or 0)
        while lines and not lines[-1].strip():
            lines.pop()
        while lines and not lines[0].strip():
            lines.pop(0)
        if lines:
            blocks.append("\n".join(lines))
    return blocks, started


def find_reply(snap: Snapshot, profile: Profile, prompt: str | None = None) -> Reply | None:
    """The reply to ``prompt``: after the LAST user turn whose text starts with the prompt's
    first line (any turn if ``prompt`` is None). An echo whose start was cut off by the top of
    the capture counts if its visible text is part of ``prompt``. ``None`` if no such turn is on
    the screen: capture more history."""
    every = user_turns(snap, profile)
    if prompt is None:
        turns = every
    else:
        lines = [line for line in prompt.strip().splitlines() if line.strip()]
        head, whole = _squash(lines[0]) if lines else "", _squash(prompt)
        turns = [t for t in every if t.shows(head, whole)]
    if not turns:
        return None
    turn = turns[-1]
    later = [t.first_row for t in every if t.first_row > turn.last_row]
    box = find_input_box(snap, profile)
    limit = min([snap.height, *later, *([box.first_row] if box and box.first_row > turn.last_row else [])])
    rules = profile.reply
    rows: list[int] = []
    end_row = limit - 1
    ended = bool(later) and limit == later[0]  # a later prompt: this turn is over
    # the row at the limit (input box, next turn) may itself be the end marker (a shell prompt)
    for row in range(turn.last_row + 1, min(limit + 1, snap.height)):
        if _matches_any(snap, rules.end, row):
            ended, end_row = True, row
            break
        if row == limit:
            break
        if _matches_any(snap, rules.stop, row):
            end_row = row - 1
            break
        if not _matches_any(snap, rules.chrome, row):
            rows.append(row)
    blocks, started = _blocks(snap, profile, rows)
    return Reply("\n\n".join(blocks), tuple(blocks), started and ended, turn.first_row, end_row)


def extract_reply(snap: Snapshot, profile: Profile, prompt: str | None = None) -> str:
    """The plain text of :func:`find_reply` (``""`` when the prompt's echo is not on screen)."""
    reply = find_reply(snap, profile, prompt)
    return "" if reply is None else reply.text


# -- menus and permission questions -------------------------------------------------------------


@dataclass(frozen=True)
class MenuItem:
    """One numbered choice."""

    number: int
    label: str
    description: str
    highlighted: bool
    current: bool
    key: str | None = None
    row: int = -1


@dataclass(frozen=True)
class Menu:
    """A menu or dialog: its title, its items, and the index (into ``items``) highlighted."""

    title: str
    items: tuple[MenuItem, ...]
    highlighted: int | None

    @property
    def current(self) -> int | None:
        """Index of the item marked as the current choice, if any."""
        return next((i for i, item in enumerate(self.items) if item.current), None)


def _read_items(snap: Snapshot, selector: Selector, rows: Iterable[int]) -> list[MenuItem]:
    items: list[MenuItem] = []
    for row in rows:
        match = selector.item.search(snap.lines[row])
        if match is None:
            if items and snap.lines[row].strip() and not snap.lines[row].startswith(" " * 4):
                break  # the list ended (an indented row may be a wrapped description)
            continue
        groups = match.groupdict()
        glyph = bool(groups.get("glyph"))
        lit = True
        if selector.highlight is not None:
            start = match.start("glyph") if glyph else match.start()
            text = snap.lines[row][start:]
            cell = snap.cell_at(row, start + len(text) - len(text.lstrip()))
            lit = selector.highlight.matches(cell)
        highlighted = (glyph or not selector.use_glyph) and lit
        label = groups["label"].strip()
        current = False
        if selector.current is not None:
            mark = selector.current.search(label)
            if mark:
                current, label = True, (label[: mark.start()] + label[mark.end() :]).strip()
        items.append(
            MenuItem(
                number=int(groups["number"]),
                label=label,
                description=(groups.get("description") or "").strip(),
                highlighted=highlighted,
                current=current,
                key=groups.get("key"),
                row=row,
            )
        )
    return items


def _highlighted(items: list[MenuItem]) -> int | None:
    return next((i for i, item in enumerate(items) if item.highlighted), None)


def read_menu(snap: Snapshot, profile: Profile) -> Menu | None:
    """The menu (or dialog) at the bottom of the screen, or ``None`` if there is none."""
    rules = profile.menu
    if rules is None:
        return None
    region = _tail(snap, rules.rows)
    titles = [
        (row, m) for row in region for pattern in rules.titles if (m := pattern.search(snap.lines[row]))
    ]
    if not titles:
        return None
    row, match = max(titles, key=lambda hit: hit[0])
    title = (match.groupdict().get("title") or match.group(0)).strip()
    items = _read_items(snap, rules.items, range(row + 1, region.stop))
    if not items:
        return None
    return Menu(title, tuple(items), _highlighted(items))


@dataclass(frozen=True)
class PermissionQuestion:
    """A permission question: the whole question block, the command (if one is shown), the
    numbered options and the index highlighted."""

    question: str
    command: str | None
    options: tuple[MenuItem, ...]
    highlighted: int | None

    @property
    def labels(self) -> list[str]:
        """The option labels, in order."""
        return [item.label for item in self.options]


def _dedent(lines: list[str]) -> str:
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    margin = min((len(line) - len(line.lstrip()) for line in lines if line.strip()), default=0)
    return "\n".join(line[margin:] for line in lines)


def read_permission(snap: Snapshot, profile: Profile) -> PermissionQuestion | None:
    """The permission question at the bottom of the screen, or ``None`` if there is none."""
    rules = profile.permission
    if rules is None:
        return None
    region = _tail(snap, rules.rows)
    questions = [row for row in region if rules.question.search(snap.lines[row])]
    if not questions:
        return None
    q_row = questions[-1]
    starts = [row for row in range(region.start, q_row + 1) if rules.start.search(snap.lines[row])]
    if not starts:
        return None
    first = starts[-1] if rules.start_inclusive else starts[-1] + 1
    options = _read_items(snap, rules.options, range(q_row + 1, region.stop))
    if not options:
        return None
    block = [snap.lines[row] for row in range(first, options[0].row)]
    command = None
    if rules.command is not None:
        command = next((m.group("command") for line in block if (m := rules.command.search(line))), None)
    return PermissionQuestion(_dedent(block), command, tuple(options), _highlighted(options))
