"""The screen: what a pane shows, as pure data (no I/O).

* :mod:`.snapshot`: ``tmux capture-pane -p -e`` text -> an immutable :class:`Snapshot` (pyte);
* :mod:`.width`: the one cell-width rule (:func:`text_width`), the one the snapshot draws with;
* :mod:`.ansi`: the one escape-sequence pattern and :func:`strip_ansi`.
"""

from bridge.screen.ansi import split_ansi, strip_ansi
from bridge.screen.snapshot import BLANK, Cell, Snapshot, parse
from bridge.screen.width import char_width, text_width

__all__ = ["BLANK", "Cell", "Snapshot", "char_width", "parse", "split_ansi", "strip_ansi", "text_width"]
