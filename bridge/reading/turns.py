"""Past user turns on the screen: the echoes of submitted prompts."""

from __future__ import annotations

from dataclasses import dataclass

from bridge.profiles import Profile
from bridge.reading.input import find_input_box
from bridge.reading.match import row_match
from bridge.screen import Snapshot

__all__ = ["Turn", "last_prompt", "squash", "user_turns"]


def squash(text: str) -> str:
    """``text`` without any whitespace (which wrapping and indenting change on a screen)."""
    return "".join(text.split())


@dataclass(frozen=True)
class Turn:
    """A past user turn (prompt echo) on the screen; ``truncated`` if its start is above row 0."""

    first_row: int
    last_row: int
    text: str
    truncated: bool = False

    def shows(self, head: str, whole: str) -> bool:
        """Whether this echo shows a prompt, given squashed (see :func:`squash`): it starts with
        ``head``, the prompt's first non-blank line; or, if truncated, its visible part is in
        ``whole``, the prompt."""
        text = squash(self.text)
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
        match = row_match(snap, rules.first, row) if box is None or row != box.first_row else None
        truncated = False
        if match is None and row == 0 and rules.continuation is not None:
            # the capture starts inside an echo: its first rows are above the captured history
            match = row_match(snap, rules.continuation, 0)
            truncated = match is not None
        if match is None:
            row += 1
            continue
        texts, end = [match.group("text")], row + 1
        while rules.continuation is not None and end < snap.height:
            cont = row_match(snap, rules.continuation, end)
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
