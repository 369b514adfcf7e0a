"""The control link a :class:`~bridge.tmux.commands.Tmux` uses: the control channel for one tmux
session on one host, opened on first use and reopened after it closed (or, while control mode
cannot start there, none: one exec per command and polling instead).
"""

from __future__ import annotations

import asyncio
import logging

from bridge.errors import BridgeError, HostUnreachableError, TargetNotFoundError
from bridge.tmux.changes import Watcher
from bridge.tmux.channel import DEFAULT_TIMEOUT, OPEN_TIMEOUT, ControlChannel
from bridge.transport.base import ProcessTransport

log = logging.getLogger("bridge.control")  # the name it always had (-v output, tests)

RETRY_AFTER_S = 5.0  # after control mode could not start (no session yet, old tmux): exec meanwhile


class ControlLink:
    """The control channel for one tmux session on one host, opened on first use and reopened.

    :meth:`channel` gives the open channel, or ``None`` when control mode is unavailable there
    (session not there yet, a tmux without control mode, ...): the caller then uses one exec per
    command and polls, which is said once at ``-v``. A link that dropped raises
    :class:`HostUnreachableError` from :meth:`channel` (the caller's reconnect logic applies) and is
    reopened on the next call. :meth:`watcher` hands out one :class:`Watcher` per pane.
    """

    def __init__(self, transport: ProcessTransport, socket: str | None, session: str, *,
                 timeout: float = DEFAULT_TIMEOUT, open_timeout: float = OPEN_TIMEOUT) -> None:  # fmt: skip
        self.transport = transport
        self.socket = socket
        self.session = session
        self.timeout = timeout  # per command; over SSH a silent channel is a dropped link
        self.open_timeout = open_timeout
        self._channel: ControlChannel | None = None
        self._watchers: dict[str, Watcher] = {}
        self._failed_at: float | None = None
        self._said: str | None = None
        self._opening = asyncio.Lock()

    async def channel(self) -> ControlChannel | None:
        """The open channel; ``None`` (exec and poll instead) while control mode is unavailable."""
        if self._channel is not None and not self._channel.closed:
            return self._channel
        loop = asyncio.get_running_loop()
        if self._failed_at is not None and loop.time() - self._failed_at < RETRY_AFTER_S:
            return None
        async with self._opening:
            if self._channel is not None and not self._channel.closed:
                return self._channel
            self._watchers.clear()  # they belonged to the channel that closed
            try:
                self._channel = await ControlChannel.open(
                    self.transport, self.socket, session=self.session, timeout=self.open_timeout
                )
            except HostUnreachableError:
                raise
            except BridgeError as exc:
                self._failed_at = loop.time()
                if self._said != str(exc):
                    self._said = str(exc)
                    log.info("control mode unavailable on %s (%s); one exec per command, polling",
                             self.transport.host, exc)  # fmt: skip
                return None
            self._failed_at = None
            log.debug("control on %s: attached to session %s", self.transport.host, self.session)
            return self._channel

    async def watcher(self, pane: str) -> Watcher | None:
        """The watcher of ``pane`` (``None`` without a channel, or when the pane is elsewhere)."""
        channel = await self.channel()
        if channel is None:
            return None
        watcher = self._watchers.get(pane)
        if watcher is None or watcher.channel is not channel:
            try:
                watcher = await channel.watch(pane)
            except TargetNotFoundError:
                return None  # a pane of another session (moved?): polling still works
            self._watchers[pane] = watcher
        return watcher

    async def close(self) -> None:
        channel, self._channel = self._channel, None
        self._watchers.clear()
        if channel is not None:
            await channel.close()

