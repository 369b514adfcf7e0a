"""What the agent is doing, as far as one screen tells: :func:`classify` -> :class:`State`.

Pane facts first, then the profile's state rules in order; a screen no rule recognises is
``unknown``, never a guess. There is no separate "typing" state: an idle agent with unsent text is
``idle``, and :func:`~bridge.reading.input.input_text` says what is in the box.
"""

from __future__ import annotations

import os
from enum import StrEnum

from bridge.profiles import Profile, StateRule
from bridge.reading.input import find_input_box
from bridge.reading.match import found
from bridge.screen import Snapshot

__all__ = ["State", "classify"]


class State(StrEnum):
    """What the agent in the pane is doing, as far as one screen tells."""

    IDLE = "idle"
    BUSY = "busy"
    PERMISSION = "permission"
    MENU = "menu"
    DIALOG = "dialog"
    DEAD = "dead"
    UNKNOWN = "unknown"


def _holds(rule: StateRule, snap: Snapshot, profile: Profile) -> bool:
    if rule.always:
        return True
    if rule.input_box is not None and (find_input_box(snap, profile) is not None) != rule.input_box:
        return False
    return (
        all(found(snap, m) for m in rule.all)
        and (not rule.any or any(found(snap, m) for m in rule.any))
        and not any(found(snap, m) for m in rule.none)
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
