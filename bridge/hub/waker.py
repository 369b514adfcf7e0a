"""The pager's hands: it sees and types into panes through :class:`bridge.api.Bridge`, exactly as
a user's script would (the bridge knows nothing of the hub)."""

from __future__ import annotations

import dataclasses

from bridge.api import Bridge
from bridge.driver import StalePane
from bridge.errors import AgentNotReadyError
from bridge.hub.pager import Seen
from bridge.reading import State, input_text
from bridge.text import check

SCROLLBACK = 5000  # lines a restarted pager searches for a wake's nonce


class BridgeWaker:
    def __init__(self, bridge: Bridge, *, lock_timeout: float = 10.0) -> None:
        self.bridge = bridge
        self.lock_timeout = lock_timeout

    async def state(self, agent: str) -> str:
        return (await self.bridge.state(agent)).state.value

    async def type_line(self, agent: str, text: str) -> None:
        """Type ``text`` as a prompt only while the agent is idle, else AgentNotReadyError.

        Under the pane's lock (no ask of anyone else in between): one look, then the driver's own
        exactly-once submit (paste, see it land, the profile's gap, Enter, see it taken), with
        that look handed on as the one to check: tmux itself refuses the paste if the pane
        changed since (woke up, opened a menu, died), and nothing is typed.
        """
        safe = check(text)
        driver = await self.bridge.driver(agent)
        async with self.bridge.exclusive(driver, self.lock_timeout, look=True) as seen:
            if seen is None or seen.state is not State.IDLE:
                state = "unknown" if seen is None else seen.state.value
                raise AgentNotReadyError(f"{agent} is {state}, not idle: nothing typed", state=state)
            try:
                await driver.submit(safe, before=dataclasses.replace(seen, reused=True))
            except StalePane as exc:
                raise AgentNotReadyError(
                    f"{agent} changed as the wake was due: nothing typed", state="changed"
                ) from exc

    async def shows(self, agent: str, mark: str) -> Seen:
        """In one look (the screen and its scrollback): still in the input box, or anywhere."""
        driver = await self.bridge.driver(agent)
        seen = await driver.observe(history=SCROLLBACK)
        if mark in (input_text(seen.snapshot, driver.profile) or ""):
            return "pending"
        return "submitted" if mark in seen.text else "absent"

    async def submit(self, agent: str) -> None:
        await self.bridge.keys(agent, ["Enter"])
