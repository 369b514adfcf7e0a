"""Whether a pane changed since a look: stamps on answers, and watchers woken by ``%output``.

tmux pushes ``%output %PANE ...`` for every pane of the *attached* session (linking a window into
a channel's own session would make ``-t %PANE`` resolve ``#{session_name}`` to that session, so it
is not done; to watch a pane, attach the channel to the pane's session). Those bytes are never
parsed as the truth: a :class:`Watcher` only turns them into a coalesced "something changed" flag,
and the caller re-reads the screen (``capture-pane``) when it fires.

Every ``%output`` and every notification that can change what a pane shows without output
(``%layout-change``, ``%pane-mode-changed``, ``%window-close``, ... all but ``%paste-buffer-*``,
which our own pastes cause) advances the channel's position; a command's answer is
:class:`Answered` with a :class:`Stamp` of the position at its ``%end``, in tmux's own order.
``stamp.unchanged(pane)`` is then True while the pane wrote nothing since tmux ran that command (as
far as the events that arrived tell, which is as fresh as a new look would be when it got back).

Cost of ``%output``: tmux sends every byte a pane of the attached session writes (control
characters as ``\\NNN``, so up to 4x), whether or not anyone watches; the reader drains it and
wakes only the watchers of that pane. Switching unwatched panes off (``refresh-client -A %N:off``,
on again when watched) would save that bandwidth, but tmux 3.3a's server crashes (SIGSEGV, every
agent of the session gone) when a pane is switched off and on while it writes: a paste and Enter
sent together hit it in 1 of 4 asks. So nothing is ever switched off (a test keeps it so).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Protocol

from bridge.errors import BridgeError
from bridge.transport.base import Completed


class Events(Protocol):
    """What stamps and watchers need of their channel (:class:`bridge.tmux.channel.ControlChannel`)."""

    @property
    def closed(self) -> bool: ...

    @property
    def error(self) -> BridgeError | None: ...

    def unchanged_since(self, pane: str, position: int) -> bool: ...

    def _unwatch(self, watcher: Watcher) -> None: ...


@dataclass(frozen=True)
class Stamp:
    """Where an answer stood in one control channel's stream of events."""

    channel: Events
    position: int

    def unchanged(self, pane: str) -> bool:
        """True while ``pane`` wrote nothing (and nothing else happened) since that answer."""
        return self.channel.unchanged_since(pane, self.position)


@dataclass(frozen=True)
class Answered(Completed):
    """A command's result over a control channel, with where it stood among the events."""

    stamp: Stamp | None = None


class Watcher:
    """Tells when a pane wrote something since the last look (coalesced: a flag, never bytes)."""

    def __init__(self, channel: Events, pane: str) -> None:
        self.channel = channel
        self.pane = pane
        self._event = asyncio.Event()
        self._closed = False

    def _poke(self) -> None:
        self._event.set()

    async def changed(self, timeout: float | None) -> bool:
        """True once ``%output`` for the pane arrived since the previous call; False on timeout.

        Raises the channel's error once it is closed (the caller falls back to polling).
        """
        if not self._event.is_set():
            self._raise_if_closed()
            try:
                await asyncio.wait_for(self._event.wait(), timeout)
            except TimeoutError:
                return False
        self._event.clear()
        self._raise_if_closed()
        return True

    def _raise_if_closed(self) -> None:
        if self._closed:
            raise BridgeError(f"watch of pane {self.pane} was closed", target=self.pane)
        if self.channel.closed:
            raise self.channel.error or BridgeError("control channel closed")

    def close(self) -> None:
        """Stop watching (tmux keeps sending the pane's ``%output``: nothing is switched off)."""
        self._closed = True
        self.channel._unwatch(self)
        self._event.set()


class Changes:
    """One channel's stream of events: its position, where each pane last wrote, who watches.

    The position grows by one per ``%output`` and per notification that may change a pane.
    """

    def __init__(self) -> None:
        self.position = 0
        self._wrote: dict[str, int] = {}  # pane -> position of its last %output
        self._upset = 0  # position of the last such notification
        self._watchers: dict[str, set[Watcher]] = {}

    def output(self, pane: str) -> None:
        """``%output`` from ``pane``: it moved on, and its watchers wake."""
        self.position += 1
        self._wrote[pane] = self.position
        for watcher in self._watchers.get(pane, ()):
            watcher._poke()

    def notified(self, name: str) -> None:
        """A ``%name`` notification: any pane may have changed (our own pastes' excepted)."""
        if not name.startswith("paste-buffer-"):  # our own pastes cause those
            self.position += 1
            self._upset = self.position

    def quiet_since(self, pane: str, position: int) -> bool:
        """True while neither ``pane`` wrote nor anything else happened after ``position``."""
        return self._upset <= position and self._wrote.get(pane, 0) <= position

    def add(self, watcher: Watcher) -> None:
        self._watchers.setdefault(watcher.pane, set()).add(watcher)

    def remove(self, watcher: Watcher) -> None:
        watchers = self._watchers.get(watcher.pane)
        if watchers is not None:
            watchers.discard(watcher)
            if not watchers:
                del self._watchers[watcher.pane]

    def wake_all(self) -> None:
        """Wake every watcher: a re-read will tell what happened."""
        for watchers in self._watchers.values():
            for watcher in watchers:
                watcher._poke()
