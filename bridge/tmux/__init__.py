"""tmux on one host: typed commands (:mod:`.commands`, the one runner), the control-mode channel
(:mod:`.quoting`, :mod:`.protocol`, :mod:`.changes`, :mod:`.channel`, :mod:`.link`), typing
(:mod:`.paste`), pane locks (:mod:`.lock`, :mod:`.flock`) and the one failure mapper
(:mod:`.failures`).

Modules of this package import each other directly; this module only re-exports the names other
layers use (``from bridge.tmux import Tmux``).
"""

from bridge.tmux.commands import Tmux
from bridge.tmux.facts import FACTS_FORMAT, SESSION_OPTION, PaneFacts, mismatch, same_as
from bridge.tmux.quoting import escape_literal

__all__ = ["FACTS_FORMAT", "SESSION_OPTION", "PaneFacts", "Tmux", "escape_literal", "mismatch", "same_as"]
