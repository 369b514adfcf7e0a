"""The answer that follows a submitted prompt on the screen: :func:`find_reply` -> :class:`ScreenReply`."""

from __future__ import annotations

from dataclasses import dataclass

from bridge.profiles import Profile
from bridge.reading.input import InputBox, find_input_box
from bridge.reading.match import matches_any
from bridge.reading.turns import Turn, squash, user_turns
from bridge.screen import Snapshot, text_width

__all__ = ["ScreenReply", "conversation", "find_reply"]


@dataclass(frozen=True)
class ScreenReply:
    """The answer after one user turn, as the screen shows it.

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
    cut: bool = False  # the agent shows only part of it (a ``reply.cut`` row)


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


def find_reply(snap: Snapshot, profile: Profile, prompt: str | None = None) -> ScreenReply | None:
    """The reply to ``prompt``: after the LAST user turn whose text starts with the prompt's
    first line (any turn if ``prompt`` is None). An echo whose start was cut off by the top of
    the capture counts if its visible text is part of ``prompt``. ``None`` if no such turn is on
    the screen: capture more history."""
    every = user_turns(snap, profile)
    if prompt is None:
        turns = every
    else:
        lines = [line for line in prompt.strip().splitlines() if line.strip()]
        head, whole = squash(lines[0]) if lines else "", squash(prompt)
        turns = [t for t in every if t.shows(head, whole)]
    if not turns:
        return None
    return _after(snap, profile, turns[-1], every, find_input_box(snap, profile))


def conversation(snap: Snapshot, profile: Profile) -> list[tuple[Turn, ScreenReply]]:
    """Every user turn on the screen with the reply after it, oldest first: the conversation a
    pane holds, without its redraws (``agent-bridge logs AGENT show --turns``)."""
    every = user_turns(snap, profile)
    box = find_input_box(snap, profile)
    return [(turn, _after(snap, profile, turn, every, box)) for turn in every]


def _after(
    snap: Snapshot, profile: Profile, turn: Turn, every: list[Turn], box: InputBox | None
) -> ScreenReply:
    later = [t.first_row for t in every if t.first_row > turn.last_row]
    limit = min([snap.height, *later, *([box.first_row] if box and box.first_row > turn.last_row else [])])
    rules = profile.reply
    rows: list[int] = []
    end_row = limit - 1
    ended = bool(later) and limit == later[0]  # a later prompt: this turn is over
    # the row at the limit (input box, next turn) may itself be the end marker (a shell prompt)
    for row in range(turn.last_row + 1, min(limit + 1, snap.height)):
        if matches_any(snap, rules.end, row):
            ended, end_row = True, row
            break
        if row == limit:
            break
        if matches_any(snap, rules.stop, row):
            end_row = row - 1
            break
        if not matches_any(snap, rules.chrome, row):
            rows.append(row)
    cut = any(matches_any(snap, rules.cut, row) for row in rows)
    blocks, started = _blocks(snap, profile, [row for row in rows if not matches_any(snap, rules.cut, row)])
    return ScreenReply("\n\n".join(blocks), tuple(blocks), started and ended, turn.first_row, end_row, cut)
