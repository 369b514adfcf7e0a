"""``agent-bridge hub pager``: wakes for agents on a host the hub cannot reach (a laptop behind
NAT), typed by a pager running on that host.

The hub keeps every rule (:mod:`bridge.hub.pager_routes`): it says who has messages waiting,
claims each wake (budget, one wake per unread batch, the lease with its fencing token, the wake
row with its nonce written first) and records how it went. This process only looks at its own
panes and types the line the hub composed, through the bridge, exactly as the hub's own pager
does (:class:`~bridge.hub.waker.BridgeWaker`: only into an idle pane). Started again after a
crash, it settles the wakes it left unfinished by looking for their nonce on its panes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from bridge.errors import AgentNotReadyError, BridgeError
from bridge.hub.client import HubClient
from bridge.hub.waker import BridgeWaker

__all__ = ["RemotePager"]

log = logging.getLogger("bridge.hub.remote")


class RemotePager:
    """Wakes ``agents`` (on this host) for the hub ``client`` talks to."""

    def __init__(self, client: HubClient, waker: BridgeWaker, agents: Sequence[str], *, poll_s: float = 1.0):
        self.client = client
        self.waker = waker
        self.agents = list(agents)
        self.poll_s = poll_s

    def _params(self) -> dict[str, str]:
        return {"agents": ",".join(self.agents)}

    async def recover(self) -> list[tuple[str, str]]:
        """Settle the wakes a pager of this host left unfinished."""
        settled = []
        for row in await self.client.call("GET", "/api/pager/open", params=self._params()):
            agent = row["agent"]
            try:
                seen = await self.waker.shows(agent, f"[wake {row['nonce']}]")
                if seen == "pending":  # typed, but the pager died before it pressed Enter
                    await self.waker.submit(agent)
            except BridgeError as exc:
                log.warning("cannot check wake %s of %s: %s", row["wake_id"], agent, exc)
                continue
            done = await self.client.call(
                "POST", "/api/pager/settle", {"agent": agent, "wake_id": row["wake_id"], "seen": seen}
            )
            settled.append((agent, str(done["outcome"])))
        return settled

    async def round(self) -> dict[str, str]:
        """One look at each of this host's agents the hub has messages waiting for."""
        outcomes: dict[str, str] = {}
        for agent in await self.client.call("GET", "/api/pager/queued", params=self._params()):
            outcomes[agent] = await self.wake(agent)
        return outcomes

    async def wake(self, agent: str) -> str:
        try:
            state = await self.waker.state(agent)
        except BridgeError as exc:
            return f"unseen: {exc}"
        if state != "idle":
            return f"not-idle ({state})"
        claimed: dict[str, Any] = await self.client.call("POST", "/api/pager/claim", {"agent": agent})
        if "status" in claimed:
            return str(claimed["status"])
        error: dict[str, str] | None = None
        try:
            await self.waker.type_line(agent, claimed["text"])
        except AgentNotReadyError as exc:
            error = {"kind": "not-idle", "state": exc.state or "not idle", "detail": str(exc)}
        except BridgeError as exc:
            error = {"kind": "failed", "detail": str(exc)}
        typed = {"agent": agent, "wake_id": claimed["wake_id"], "fence": claimed["fence"], "error": error}
        return str((await self.client.call("POST", "/api/pager/typed", typed))["outcome"])

    async def run(self) -> None:
        """Settle what was left unfinished, then look every ``poll_s`` seconds; forever."""
        await self.recover()
        while True:
            for agent, outcome in (await self.round()).items():
                log.info("%s: %s", agent, outcome)
            await asyncio.sleep(self.poll_s)
