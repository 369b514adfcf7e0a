"""The supervisor: agents with ``restart = "auto"`` are brought back when they die, into their
own session, and a crash loop is stopped and shown instead of restarted forever.

The hub's state watcher hands every look at an agent to :meth:`Supervisor.seen`. A dead agent is
restarted with the bridge's own ``restart`` (its resume command with its session id, confirmed
idle on a screen the new process drew). ``restart_limit`` restarts within ``restart_window``
seconds (settings; 3 in 10 minutes by default) make it ``failed``: no more restarts, the state
everyone sees says so, until the agent is seen alive again (a person fixed it). Every crash,
restart and failure is an event with who did it (``supervisor``).
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict, deque
from typing import TYPE_CHECKING

from bridge.errors import AgentNotReadyError, BridgeError

if TYPE_CHECKING:
    from bridge.api import Bridge
    from bridge.config.registry import Registry
    from bridge.hub.events import EventLog

__all__ = ["Supervisor"]

log = logging.getLogger("bridge.hub.supervisor")
RESTART_S = 60.0  # how long one restart may take to come up idle


class Supervisor:
    """Restarts the registry's ``restart = "auto"`` agents when they die (see the module)."""

    def __init__(self, bridge: Bridge, registry: Registry, events: EventLog) -> None:
        self.bridge = bridge
        self.registry = registry
        self.events = events
        settings = registry.model.settings
        self.limit = settings.restart_limit
        self.window = settings.restart_window
        self.restarts: dict[str, deque[float]] = defaultdict(deque)  # agent -> when it was restarted
        self.failed: set[str] = set()

    def wanted(self, name: str) -> bool:
        spec = self.registry.agents.get(name)
        return spec is not None and spec.restart == "auto"

    async def seen(self, name: str, state: str) -> str:
        """The state to show for what the watcher saw; a dead agent is restarted first (the
        state returned is then what came back), a crash loop is ``failed``."""
        if state != "dead":
            if name in self.failed:
                self.failed.discard(name)  # alive again: someone fixed it
                await self.events.add("recovered", agent=name, actor="supervisor", state=state)
            return state
        if not self.wanted(name):
            return state
        if name in self.failed:
            return "failed"
        now = time.time()
        recent = self.restarts[name]
        while recent and now - recent[0] > self.window:
            recent.popleft()
        if len(recent) >= self.limit:
            self.failed.add(name)
            reason = f"{len(recent)} restarts within {self.window:.0f} s: not restarting it again"
            log.warning("%s: %s", name, reason)
            await self.events.add("failed", agent=name, actor="supervisor", reason=reason)
            return "failed"
        await self.events.add("crash", agent=name, actor="supervisor")
        recent.append(now)
        began = time.monotonic()
        try:
            obs = await self.bridge.restart(name, timeout=RESTART_S)
        except AgentNotReadyError as exc:
            if exc.state in (None, "dead"):
                await self.events.add("restart", agent=name, actor="supervisor", outcome="failed",
                                      detail=str(exc))  # fmt: skip
                return "dead"
            recent.pop()  # brought back meanwhile by another caller (an ask that found it dead)
            return str(exc.state)
        except BridgeError as exc:
            await self.events.add("restart", agent=name, actor="supervisor", outcome="failed",
                                  detail=str(exc))  # fmt: skip
            return "dead"
        await self.events.add(
            "restart", agent=name, actor="supervisor", outcome="ok", session=obs.facts.session_id or None,
            took_s=round(time.monotonic() - began, 2),
        )  # fmt: skip
        return obs.state.value
