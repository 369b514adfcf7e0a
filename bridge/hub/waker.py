"""The pager's hands: it sees and types into panes through :class:`bridge.api.Bridge`, exactly as
a user's script would (the bridge knows nothing of the hub)."""

from __future__ import annotations

import asyncio

from bridge.api import Bridge
from bridge.errors import AgentNotReadyError, PaneChangedError
from bridge.hub.pager import Seen
from bridge.reading import State, input_text
from bridge.text import check


class BridgeWaker:
    def __init__(self, bridge: Bridge, *, lock_timeout: float = 10.0) -> None:
        self.bridge = bridge
        self.lock_timeout = lock_timeout

    async def state(self, agent: str) -> str:
        return (await self.bridge.state(agent)).state.value

    async def type_line(self, agent: str, text: str) -> None:
        """Type ``text`` + Enter only while the agent is idle, else AgentNotReadyError.

        Under the pane's lock (no ask of anyone else in between): one look, and the paste is
        checked by tmux itself against that look when it is due, so a pane that woke up, opened a
        menu or died in between gets nothing typed.
        """
        safe = check(text)
        driver = await self.bridge.driver(agent)
        async with self.bridge.exclusive(driver, self.lock_timeout, look=True) as seen:
            if seen is None or seen.state is not State.IDLE:
                state = "unknown" if seen is None else seen.state.value
                raise AgentNotReadyError(f"{agent} is {state}, not idle: nothing typed", state=state)
            try:
                await driver.handle.paste(safe, unless_changed=seen.facts)
            except PaneChangedError as exc:
                raise AgentNotReadyError(
                    f"{agent} changed as the wake was due: nothing typed", state="changed"
                ) from exc
            driver.last = None  # the pane is about to change: no later ask may start from that look
            await asyncio.sleep(driver.profile.submit.gap_ms / 1000)
            await driver.handle.keys(["Enter"])

    async def shows(self, agent: str, mark: str) -> Seen:
        driver = await self.bridge.driver(agent)
        seen = await driver.observe()
        if mark in (input_text(seen.snapshot, driver.profile) or ""):
            return "pending"
        return "submitted" if mark in await self.bridge.screen(agent, history=5000) else "absent"

    async def submit(self, agent: str) -> None:
        await self.bridge.keys(agent, ["Enter"])
