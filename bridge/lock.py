"""Moved to :mod:`bridge.tmux.lock` and :mod:`bridge.tmux.flock` (this shim keeps the old import
path working)."""

from bridge.tmux.flock import pane_lock
from bridge.tmux.lock import CONTESTED_S, POLL_MAX, POLL_MIN, Held, LockServer, Mark

__all__ = ["CONTESTED_S", "POLL_MAX", "POLL_MIN", "Held", "LockServer", "Mark", "pane_lock"]
