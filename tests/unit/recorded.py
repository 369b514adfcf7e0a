"""Load the recorded screens in tests/unit/screens/ as snapshots, with their pane facts (.meta)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from bridge.screen import Snapshot, parse

SCREENS = Path(__file__).resolve().parent / "screens"
CLAUDE = "claude-code-2.1.197"
CODEX = "codex-0.169.0"
SHELL = "shell-bash-5.2"
DEMO = "demo"


@dataclass(frozen=True)
class Meta:
    """NAME.meta: ``200x50 cursor=2,6 alt=0 hist=0``."""

    width: int
    height: int
    cursor: tuple[int, int]


def meta_for(ans: Path) -> Meta | None:
    path = ans.with_name(re.sub(r"(\.hist)?\.ans$", ".meta", ans.name))
    if not path.exists():
        return None
    text = path.read_text()
    size = re.search(r"(\d+)x(\d+)", text)
    cursor = re.search(r"cursor=(\d+),(\d+)", text)
    assert size and cursor, f"unreadable {path}"
    return Meta(int(size[1]), int(size[2]), (int(cursor[1]), int(cursor[2])))


def load(folder: str, name: str) -> Snapshot:
    """Snapshot of ``<folder>/<name>.ans`` as the driver would build it (pane width, cursor)."""
    ans = SCREENS / folder / f"{name}.ans"
    meta = meta_for(ans)
    raw = ans.read_text(encoding="utf-8")
    if meta is None:
        return parse(raw)
    return parse(raw, meta.width, meta.cursor, pane_height=meta.height)


def names(folder: str) -> list[str]:
    """Every capture in ``folder`` (``.hist`` variants included), by name without ``.ans``."""
    return sorted(p.name.removesuffix(".ans") for p in (SCREENS / folder).glob("*.ans"))
