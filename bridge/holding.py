"""Holding an agent's pane for one caller only (across processes and machines, see
:mod:`bridge.tmux.lock`), and handing an ask's last look on to the next ask while its lock is kept."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from bridge.config.registry import Registry
from bridge.driver import Driver, Observation
from bridge.tmux import Tmux

if TYPE_CHECKING:
    from bridge.tmux.lock import LockServer

__all__ = ["Holding"]


class Holding:
    """The pane-lock holder on each host of ``registry`` (started on first use), and the looks
    handed from one ask to the next."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.locks: dict[str, LockServer] = {}  # host name -> its pane-lock holder
        # Lock key -> the last look of an ask that kept its lock (bridge.tmux.lock: keep): while that
        # lock is kept and tmux's events say the pane is unchanged, the next ask starts from it.
        self.seen: dict[str, Observation] = {}

    async def close(self) -> None:
        """Let go of every lock holder (a dead one must not keep the rest open)."""
        held, self.locks = list(self.locks.values()), {}
        for locks in held:
            with contextlib.suppress(Exception):
                await locks.close()

    def lock_server(self, tmux: Tmux) -> LockServer:
        """The pane-lock holder on ``tmux``'s host."""
        from bridge.tmux.lock import LockServer  # lazy: only calls that hold a pane need it

        locks = self.locks.get(tmux.host)
        if locks is None:
            spec = self.registry.host(tmux.host)
            answer_s = 30.0 if spec.local else spec.connect_timeout  # a silent holder = a lost link
            locks = self.locks[tmux.host] = LockServer(tmux.transport, timeout=answer_s)
        return locks

    @contextlib.asynccontextmanager
    async def exclusive(
        self, driver: Driver, timeout: float, *, look: bool = False
    ) -> AsyncIterator[Observation | None]:
        """Hold the driver's pane; see :meth:`bridge.api.Bridge.exclusive`."""
        facts = driver.facts or await driver.handle.current_facts()
        key = f"{facts.server_pid}-{facts.pane_id.lstrip('%')}"
        locks = self.lock_server(driver.tmux)
        seen = self.seen.pop(key, None)
        if not look:
            async with locks.hold(key, timeout=timeout, agent=driver.agent):
                yield None
            return
        if seen is not None and not (locks.keeps(key) and driver.can_start_from(seen)):
            seen = None  # the lock was let go, or the pane may have changed: look afresh
        mark = locks.mark(key)
        # The first look is this ask's first word with the host (a kept lock needs none): a link
        # that is down fails it at once, as a lock request would, instead of riding it out.
        early = None
        if seen is None:
            early = asyncio.ensure_future(driver.observe_through_drops(time.monotonic()))
        keep = self.registry.model.settings.keep_lock
        try:
            async with locks.hold(key, timeout=timeout, agent=driver.agent, keep=keep) as held:
                if seen is not None and held.kept and driver.can_start_from(seen):
                    first = driver.start_from(seen)
                elif early is None:  # the kept lock was let go meanwhile
                    first = await driver.observe_through_drops(time.monotonic())
                else:
                    first = await early
                    if not held.untouched_since(mark):
                        first = await driver.observe()  # it may have changed before the lock was ours
                yield first
                if driver.last is not None:
                    self.seen[key] = driver.last
        finally:
            if early is not None:
                if not early.done():
                    early.cancel()
                elif not early.cancelled():
                    early.exception()  # if the lock failed first, the look's outcome is not news
