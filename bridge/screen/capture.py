"""Saved captures: ``NAME.ans`` (``capture-pane -p -e``) or ``NAME.txt`` (``-p``) with an optional
``NAME.meta`` beside it (``200x50 cursor=2,6 alt=0 hist=0``: pane size and cursor), read back as
the driver would have seen the pane."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from bridge.errors import ConfigError
from bridge.screen.snapshot import Snapshot, parse

__all__ = ["CaptureMeta", "load_capture", "meta_for"]


@dataclass(frozen=True)
class CaptureMeta:
    """What ``NAME.meta`` says: the pane's size and tmux's cursor position."""

    width: int
    height: int
    cursor: tuple[int, int]


def meta_for(capture: Path) -> CaptureMeta | None:
    """The ``.meta`` beside a capture (``NAME.ans``, ``NAME.txt`` or ``NAME.hist.ans``), if any."""
    path = capture.with_name(re.sub(r"(\.hist)?\.(ans|txt)$", ".meta", capture.name))
    if path == capture or not path.is_file():
        return None
    text = path.read_text(encoding="utf-8")
    size = re.search(r"(\d+)x(\d+)", text)
    cursor = re.search(r"cursor=(\d+),(\d+)", text)
    if not (size and cursor):
        raise ConfigError(f"{path}: not a capture's meta (want e.g. '200x50 cursor=2,6')")
    return CaptureMeta(int(size[1]), int(size[2]), (int(cursor[1]), int(cursor[2])))


def load_capture(path: Path) -> Snapshot:
    """A :class:`Snapshot` of the saved capture at ``path`` (with its ``.meta`` where there is
    one: pane width and cursor; without it the cursor is unknown)."""
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read the capture {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason})") from None
    meta = meta_for(path)
    if meta is None:
        return parse(raw)
    return parse(raw, meta.width, meta.cursor, pane_height=meta.height)
