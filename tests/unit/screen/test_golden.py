"""Golden test: every recorded capture (.ans, with SGR) renders to exactly tmux's plain text (.txt).

The only normalisation: trailing spaces at the end of each row and trailing empty rows are
ignored (``capture-pane -p`` trims the first, ``-J`` keeps them, and ``Snapshot.text`` drops
both). Everything else, including wide characters and column positions, must match.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.screen import parse
from tests.unit.recorded import SCREENS, meta_for

CAPTURES = sorted(SCREENS.glob("*/*.ans"))


def _normalise(text: str) -> str:
    return "\n".join(line.rstrip(" ") for line in text.split("\n")).rstrip("\n")


def test_all_folders_present() -> None:
    folders = {p.parent.name for p in CAPTURES}
    assert {"claude-code-2.1.197", "codex-0.169.0", "shell-bash-5.2", "tmux-3.3a-edge", "demo"} <= folders
    assert len(CAPTURES) >= 80


@pytest.mark.parametrize("ans", CAPTURES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_renders_like_tmux(ans: Path) -> None:
    expected = ans.with_suffix(".txt").read_text(encoding="utf-8")
    meta = meta_for(ans)
    raw = ans.read_text(encoding="utf-8")
    # Both without the pane width (grid = widest line) and with it (as the driver parses).
    assert parse(raw).text == _normalise(expected)
    if meta is not None:
        snap = parse(raw, meta.width, meta.cursor, pane_height=meta.height)
        assert snap.text == _normalise(expected)
        assert snap.height == len(raw.split("\n")) - 1
