"""What the demo agent draws, as styled lines (pure: no I/O).

A :data:`Line` is a tuple of ``(text, sgr)`` segments, ``sgr`` being SGR parameters such as
``"38;5;246"`` ("" = default). Every line fits the terminal width (wrapped here, never by the
terminal), so the inline screen always knows how many rows it drew. The look copies Claude Code
2.1.197 (see ``tests/unit/screens/README.md``): colours 244 (rules), 246 (hints), 237 (grey
background of past user turns), 153 (highlighted menu row), 114 (current model / tool ran),
211 (tool rejected), 174 (spinner).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

from bridge.screen.width import char_width, text_width

Segment = tuple[str, str]
Line = tuple[Segment, ...]
ToolState = Literal["waiting", "ran", "rejected"]

NBSP = "\u00a0"
RULE = "─"
PROMPT = "❯"
BULLET = "●"
RESULT = "⎿"
CHECK = "✔"
SPINNER_GLYPHS = ("✻", "✽", "✶", "✳", "✢", "·")
ELLIPSIS = "…"

GREY = "38;5;246"
RULE_GREY = "38;5;244"
ACCENT = "38;5;153"
GREEN = "38;5;114"
RED = "38;5;211"
ORANGE = "38;5;174"
YELLOW = "38;5;220"
WHITE = "38;5;231"
TURN_BG = "48;5;237"
REVERSE = "7"
DIM = "2"
BOLD = "1"

MAX_BLOCK_ROWS = 500  # longer echoes / replies are cut, with a "… +N chars" row
MODEL_LABEL_WIDTH = 25

_UNPRINTABLE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")
_TOKENS = re.compile(r"\s+|\S+")


def line(*segments: Segment) -> Line:
    return tuple(seg for seg in segments if seg[0])


BLANK: Line = ()


# -- wrapping (cell widths: bridge.screen.width) ---------------------------------------------------


def line_width(ln: Line) -> int:
    return sum(text_width(text) for text, _ in ln)


def printable(text: str) -> str:
    """One display line of user text: tabs as 4 spaces, other control characters as ``?``."""
    if "\t" in text:
        text = text.replace("\t", "    ")
    return _UNPRINTABLE.sub("?", text)


def cut(text: str, width: int) -> tuple[str, str]:
    """Split ``text`` after at most ``width`` columns (at least one character if width > 0)."""
    if text.isascii():
        return text[:width], text[width:]
    used, before = 0, ""
    for index, ch in enumerate(text):
        w = char_width(ch, before)
        if used + w > width and index > 0:
            return text[:index], text[index:]
        used += w
        before = ch
    return text, ""


def wrap_line(text: str, width: int) -> Iterator[str]:
    """Word-wrap one line (no newlines) to ``width`` columns; words longer than a row are split."""
    width = max(width, 1)
    if (len(text) <= width or text.isascii()) and text_width(text) <= width:
        yield text
        return
    row, used = "", 0
    for token in _TOKENS.findall(text):
        w = text_width(token)
        if used + w <= width:
            row, used = row + token, used + w
            continue
        if token.isspace():
            if row:
                yield row
            row, used = "", 0
            continue
        if row.strip():
            yield row.rstrip()
            row, used = "", 0
        while token:  # a word longer than the room left: split it
            if used >= width or (used and char_width(token[0]) > width - used):
                yield row
                row, used = "", 0
            head, token = cut(token, width - used)
            if token:
                yield row + head
                row, used = "", 0
            else:
                row, used = row + head, used + text_width(head)
    if row.strip() or not text.strip():
        yield row


def wrap_text(text: str, width: int, max_rows: int = MAX_BLOCK_ROWS) -> tuple[list[str], int]:
    """Wrap multi-line ``text``; returns (rows, about how many characters were left out)."""
    rows: list[str] = []
    offset = 0
    for source in text.split("\n"):
        shown = 0
        for row in wrap_line(printable(source), width):
            if len(rows) >= max_rows:
                return rows, len(text) - offset - shown
            rows.append(row)
            shown += len(row)
        offset += len(source) + 1
    return rows, 0


def _prefixed(
    text: str, width: int, first: Line, rest: Line, style: str, max_rows: int = MAX_BLOCK_ROWS
) -> list[Line]:
    """``text`` wrapped, its first row after ``first``, the others after ``rest``."""
    inner = max(width - line_width(first), 1)
    rows, left_out = wrap_text(text, inner, max_rows)
    lines = [(*(first if n == 0 else rest), *line((row, style))) for n, row in enumerate(rows)]
    if left_out:
        lines.append((*rest, *line((f"{ELLIPSIS} +{left_out} chars", GREY))))
    return lines


# -- conversation blocks ----------------------------------------------------------------------------


def header_block(version: str, model: str, cwd: str) -> list[Line]:
    return [
        line((" ✻ ", ORANGE), ("agent-bridge demo agent", BOLD), (" ", ""), (f"v{version}", GREY)),
        line(("   ", ""), (f"{model} · mock replies · no network", GREY)),
        line(("   ", ""), (cwd, GREY)),
        BLANK,
    ]


def user_turn_block(text: str, width: int) -> list[Line]:
    """A past user turn: ``❯ text`` on a grey background, continuation rows indented by two."""
    first = line((f"{PROMPT} ", f"38;5;239;{TURN_BG}"))
    return _prefixed(text, width, first, line(("  ", TURN_BG)), f"{WHITE};{TURN_BG}")


def reply_block(text: str, width: int) -> list[Line]:
    """``● first line``, continuation rows indented by two."""
    return _prefixed(text, width, line((BULLET, WHITE), (" ", "")), line(("  ", "")), "")


def result_line(text: str, *, tool: bool = False, bold_tail: str = "", style: str = "") -> Line:
    """``  ⎿  text`` under a turn; tool output uses ``⎿`` + space + NBSP like Claude Code."""
    gap = f" {NBSP}" if tool else "  "
    return line((f"  {RESULT}{gap}", GREY), (text, style), (bold_tail, BOLD))


def tool_block(command: str, state: ToolState, outcome: str, width: int) -> list[Line]:
    """``● Bash(command)`` plus one result row; state is waiting / ran / rejected."""
    colour = {"waiting": GREY, "ran": GREEN, "rejected": RED}[state]
    title = f"Bash({command})"
    head, _ = cut(printable(title), max(width - 2, 1))
    result = result_line(outcome, tool=True, style="" if state == "ran" else GREY)
    return [line((BULLET, colour), (" ", ""), (head, BOLD)), result]


def spinner_block(frame: int, seconds: int) -> list[Line]:
    glyph = SPINNER_GLYPHS[frame % len(SPINNER_GLYPHS)]
    elapsed = f"({seconds}s · esc to interrupt)" if seconds >= 1 else ""
    return [line((glyph, ORANGE), (" ", ""), (f"Thinking{ELLIPSIS} ", ORANGE), (elapsed, GREY))]


def worked_block(seconds: int) -> list[Line]:
    return [line(("✻", GREY), (" ", ""), (f"Worked for {seconds}s", GREY))]


# -- the input box ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Drawn:
    """Lines of a block and where the terminal cursor belongs in it (row, column), if anywhere."""

    lines: list[Line]
    cursor: tuple[int, int] | None = None


def input_box(text: str, *, busy: bool, footer: str, width: int, max_rows: int) -> Drawn:
    """Rule, ``❯`` + NBSP + text + reverse-video fake cursor, rule, footer."""
    inner = max(width - 2, 1)
    rows: list[str] = []
    for source in text.split("\n"):
        rows.extend(wrap_line(printable(source), inner))
    if text_width(rows[-1]) >= inner:
        rows.append("")
    rows = rows[-max(max_rows, 1) :]
    prompt_style = GREY if busy else ""
    lines: list[Line] = [line((RULE * width, RULE_GREY))]
    for n, row in enumerate(rows):
        lead = line((f"{PROMPT}{NBSP}", prompt_style)) if n == 0 else line(("  ", ""))
        tail = line((" ", REVERSE)) if n == len(rows) - 1 else BLANK
        lines.append((*lead, *line((row, "")), *tail))
    lines.append(line((RULE * width, RULE_GREY)))
    lines.append(line(("  ", ""), (footer, GREY)))
    return Drawn(lines, (len(rows), 2 + text_width(rows[-1])))


# -- dialogs ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelChoice:
    name: str
    label: str
    description: str


MODELS: tuple[ModelChoice, ...] = (
    ModelChoice("Default", "Default (recommended)", "Use the default model (currently Opus) · demo only"),
    ModelChoice("Opus", "Opus", "Most capable, for complex work · demo only"),
    ModelChoice("Sonnet", "Sonnet", "Efficient for routine tasks · demo only"),
    ModelChoice("Haiku", "Haiku", "Fastest for quick answers · demo only"),
)


def _option(indent: str, highlighted: bool, number: int, label: str, label_style: str) -> Line:
    marker = (f"{PROMPT} ", ACCENT) if highlighted else ("  ", "")
    style = label_style or (ACCENT if highlighted else "")
    return line((indent, ""), marker, (f"{number}. ", GREY), (label, style))


def model_menu_block(current: str, highlight: int, width: int) -> Drawn:
    lines: list[Line] = [
        line((RULE * width, ACCENT)),
        line(("  ", ""), ("Select model", f"{BOLD};{ACCENT}")),
        line(
            ("  ", ""), ("Switch between demo models. Your pick is used for the rest of this session.", GREY)
        ),
        BLANK,
    ]
    for index, choice in enumerate(MODELS):
        is_current = choice.name.lower() == current.lower()
        label = f"{choice.label} {CHECK}" if is_current else choice.label
        pad = " " * max(MODEL_LABEL_WIDTH - text_width(label), 2)
        row = _option("  ", index == highlight, index + 1, label, GREEN if is_current else "")
        lines.append((*row, *line((pad, ""), (choice.description, GREY))))
    lines += [BLANK, line(("  ", ""), ("Enter to set as default · Esc to cancel", GREY))]
    return Drawn(lines, (4 + highlight, 2))


def model_confirm_block(name: str, highlight: int, width: int) -> Drawn:
    notice = (
        f"This conversation is cached for the current model. Switching to {name} means the full "
        "history gets re-read on your next message."
    )
    lines: list[Line] = [
        line((RULE * width, YELLOW)),
        line(("  ", ""), ("Switch model?", f"{BOLD};{YELLOW}")),
        line(("  ", ""), ("Your next response will be slower and use more tokens", GREY)),
        BLANK,
        *(line(("  ", ""), (row, "")) for row in wrap_text(notice, max(width - 2, 1))[0]),
        BLANK,
    ]
    first = len(lines)
    lines.append(_option("  ", highlight == 0, 1, f"Yes, switch to {name}", ""))
    lines.append(_option("  ", highlight == 1, 2, "No, go back", ""))
    return Drawn(lines, (first + highlight, 2))


PERMISSION_OPTIONS = ("Yes", "Yes, and don't ask again for this command", "No")


def permission_block(command: str, highlight: int, width: int) -> Drawn:
    lines: list[Line] = [
        line((RULE * width, ACCENT)),
        line((" ", ""), ("Bash command", f"{BOLD};{ACCENT}")),
        BLANK,
        *_prefixed(command, width, line(("   ", "")), line(("   ", "")), "", max_rows=10),
        line(("   ", ""), ("Demo tool call: nothing is executed", GREY)),
        BLANK,
        line((" Do you want to proceed?", "")),
    ]
    first = len(lines)
    for index, label in enumerate(PERMISSION_OPTIONS):
        lines.append(_option(" ", index == highlight, index + 1, label, ""))
    lines += [BLANK, line((" ", ""), ("Esc to cancel", GREY))]
    return Drawn(lines, (first + highlight, 1))


def stack(blocks: Sequence[Drawn]) -> Drawn:
    """Blocks one after another, each preceded by a blank line (Claude Code's spacing)."""
    lines: list[Line] = []
    cursor: tuple[int, int] | None = None
    for block in blocks:
        lines.append(BLANK)
        if block.cursor is not None:
            cursor = (len(lines) + block.cursor[0], block.cursor[1])
        lines.extend(block.lines)
    return Drawn(lines, cursor)


# -- to terminal bytes ------------------------------------------------------------------------------


def to_ansi(ln: Line, width: int) -> str:
    """One line as text with SGR escapes, cut to ``width`` columns."""
    out: list[str] = []
    room = width
    for text, sgr in ln:
        if room <= 0:
            break
        w = text_width(text)
        if w > room:
            text, _ = cut(text, room)
            w = text_width(text)
        room -= w
        out.append(f"\x1b[{sgr}m{text}\x1b[0m" if sgr else text)
    return "".join(out)


def plain(ln: Line) -> str:
    return "".join(text for text, _ in ln)
