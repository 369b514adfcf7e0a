"""The hub's schedule: ``[[schedule]]`` entries run at their cron times (local time; croniter).

An entry either asks an agent a prompt (through the same operation as ``agent-bridge ask``, so
the ask and its reply are in the event log with the hub as the actor) or writes the report to a
file on the hub (``{date}`` filled in) and keeps it for the dashboard. Each run is a ``schedule``
event with its outcome; a failed run is visible, and the next one still comes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from croniter import croniter

from bridge import ops
from bridge.config.models import ScheduleSpec
from bridge.errors import BridgeError, ConfigError

if TYPE_CHECKING:
    from bridge.hub.server import Hub

__all__ = ["Scheduler"]

log = logging.getLogger("bridge.hub.schedule")


class Scheduler:
    """Runs the registry's schedule in the hub (see the module)."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.entries = list(hub.registry.model.schedule)
        for entry in self.entries:
            if not croniter.is_valid(entry.cron):
                raise ConfigError(f"schedule: {entry.cron!r} is not a cron expression")
        self.last_report: dict[str, Any] | None = None  # {"at", "path", "markdown"}

    def next_times(self, now: float) -> list[float]:
        """When each entry runs next, after ``now``."""
        start = datetime.fromtimestamp(now)
        return [croniter(e.cron, start).get_next(float) for e in self.entries]

    async def run(self) -> None:
        """Sleep until the next entry is due, run every due one, again; forever."""
        if not self.entries:
            await asyncio.Event().wait()  # nothing scheduled: idle, as one of the hub's tasks
        due = self.next_times(time.time())
        while True:
            await asyncio.sleep(max(min(due) - time.time(), 0.0))
            now = time.time()
            for index, entry in enumerate(self.entries):
                if due[index] <= now:
                    due[index] = croniter(entry.cron, datetime.fromtimestamp(now)).get_next(float)
                    asyncio.get_running_loop().create_task(self.fire(entry))

    async def fire(self, entry: ScheduleSpec) -> None:
        """Run one entry now; its outcome is a ``schedule`` event."""
        events = self.hub.events
        try:
            if entry.ask is not None:
                result = await ops.call(self.hub.bridge, "ask", {"agent": entry.ask, "prompt": entry.prompt})
                await events.add("schedule", agent=entry.ask, actor="hub", cron=entry.cron, outcome="asked",
                                 elapsed_s=result.get("elapsed_s"))  # fmt: skip
            else:
                path = await self.write_report(entry)
                await events.add("schedule", actor="hub", cron=entry.cron, outcome="report", path=str(path))
        except (BridgeError, OSError) as exc:
            log.warning("schedule %s: %s", entry.cron, exc)
            await events.add("schedule", agent=entry.ask, actor="hub", cron=entry.cron, outcome="failed",
                             detail=str(exc))  # fmt: skip

    async def write_report(self, entry: ScheduleSpec) -> Path:
        from bridge.hub.report import build_report, markdown

        now = time.time()
        report = await build_report(self.hub, since=now - entry.since, until=now)
        text = markdown(report)
        assert entry.report is not None
        day = time.strftime("%Y-%m-%d", time.localtime(now))
        path = Path(entry.report.replace("{date}", day)).expanduser()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        self.last_report = {"at": now, "path": str(path), "markdown": text}
        return path
