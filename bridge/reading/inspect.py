"""Everything a profile reads on one screen, in one place: what ``agent-bridge profiles check``
prints for a profile author (state, input box, turns, reply, menu, permission question, model)."""

from __future__ import annotations

from typing import Any

from bridge.profiles import Profile
from bridge.reading.input import find_input_box
from bridge.reading.match import last_hit
from bridge.reading.menus import MenuItem, read_menu, read_permission
from bridge.reading.reply import find_reply
from bridge.reading.states import classify
from bridge.reading.turns import user_turns
from bridge.screen import Snapshot

__all__ = ["inspect_screen"]


def _item(item: MenuItem) -> dict[str, Any]:
    return {
        "number": item.number,
        "label": item.label,
        "description": item.description,
        "highlighted": item.highlighted,
        "current": item.current,
        "key": item.key,
        "row": item.row,
    }


def inspect_screen(
    snap: Snapshot, profile: Profile, *, prompt: str | None = None, current_command: str | None = None
) -> dict[str, Any]:
    """What ``profile`` reads on ``snap``: the state, the input box, the past turns, the reply to
    ``prompt`` (the last turn's when ``None``), the menu, the permission question and the model
    the screen shows; ``None`` for what it does not find. Rows are 0-based screen rows."""
    box = find_input_box(snap, profile)
    reply = find_reply(snap, profile, prompt)
    menu = read_menu(snap, profile)
    question = read_permission(snap, profile)
    marker = profile.model.current if profile.model else None
    shown = last_hit(snap, marker) if marker else None
    return {
        "profile": profile.name,
        "state": classify(snap, profile, current_command=current_command).value,
        "input": None
        if box is None
        else {"text": box.text, "first_row": box.first_row, "last_row": box.last_row},
        "turns": [
            {"text": t.text, "first_row": t.first_row, "last_row": t.last_row, "truncated": t.truncated}
            for t in user_turns(snap, profile)
        ],
        "reply": None if reply is None else {"text": reply.text, "complete": reply.complete},
        "menu": None if menu is None else {"title": menu.title, "items": [_item(i) for i in menu.items]},
        "permission": None
        if question is None
        else {
            "question": question.question,
            "command": question.command,
            "options": [_item(i) for i in question.options],
        },
        "model": shown.group("model").strip() if shown else None,
    }
