"""The screen: what a pane shows, as pure data (no I/O).

* :mod:`.snapshot`: ``tmux capture-pane -p -e`` text -> an immutable :class:`Snapshot` (pyte);
* :mod:`.emulator`: pyte 0.8.2 taught what tmux emits (SGR, zero-width characters);
* :mod:`.width`: the one cell-width rule (:func:`text_width`), the one the snapshot draws with;
* :mod:`.ansi`: the one escape-sequence pattern and :func:`strip_ansi`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bridge.screen.ansi import split_ansi, strip_ansi
from bridge.screen.width import char_width, text_width

if TYPE_CHECKING:
    from bridge.screen.snapshot import BLANK, Cell, Snapshot, parse

__all__ = ["BLANK", "Cell", "Snapshot", "char_width", "parse", "split_ansi", "strip_ansi", "text_width"]

_SNAPSHOT = frozenset({"BLANK", "Cell", "Snapshot", "parse"})


def __getattr__(name: str) -> Any:
    # Lazy: the demo agent imports bridge.screen.width under any python3, where pyte (which the
    # snapshot renders with) may not be installed.
    if name in _SNAPSHOT:
        from bridge.screen import snapshot

        return getattr(snapshot, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
