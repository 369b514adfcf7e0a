"""Load the recorded screens in tests/unit/screens/ as snapshots, with their pane facts (.meta)."""

from __future__ import annotations

from pathlib import Path

from bridge.screen import Snapshot
from bridge.screen.capture import load_capture, meta_for

__all__ = ["CLAUDE", "CODEX", "DEMO", "SCREENS", "SHELL", "load", "meta_for", "names"]

SCREENS = Path(__file__).resolve().parent / "screens"
CLAUDE = "claude-code-2.1.197"
CODEX = "codex-0.169.0"
SHELL = "shell-bash-5.2"
DEMO = "demo"


def load(folder: str, name: str) -> Snapshot:
    """Snapshot of ``<folder>/<name>.ans`` as the driver would build it (pane width, cursor)."""
    return load_capture(SCREENS / folder / f"{name}.ans")


def names(folder: str) -> list[str]:
    """Every capture in ``folder`` (``.hist`` variants included), by name without ``.ans``."""
    return sorted(p.name.removesuffix(".ans") for p in (SCREENS / folder).glob("*.ans"))
