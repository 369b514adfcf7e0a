"""The event log: what the hub saw and did (messages, wakes, states, ...), with time, agent and
who caused it. Stored in the ``events`` table; live listeners (the SSE stream, the dashboard,
``top``) wait on :meth:`EventLog.wait` instead of polling the store."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from bridge.hub.models import Event
from bridge.hub.store.engine import Store
from bridge.hub.store.schema import events


class EventLog:
    """Append and read events; wake live listeners on each append (one hub process owns the store,
    so an in-process signal is enough)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._changed = asyncio.Condition()
        self.last_id = 0

    async def add(
        self, kind: str, *, agent: str | None = None, actor: str | None = None, **data: Any
    ) -> Event:
        async with self.store.begin() as conn:
            event = await self.insert(conn, kind, agent=agent, actor=actor, **data)
        await self.publish(event)
        return event

    async def insert(
        self,
        conn: AsyncConnection,
        kind: str,
        *,
        agent: str | None = None,
        actor: str | None = None,
        **data: Any,
    ) -> Event:
        """Add an event inside the caller's transaction; :meth:`publish` it once that committed."""
        at = time.time()
        result = await conn.execute(
            events.insert().values(at=at, kind=kind, agent=agent, actor=actor, data=json.dumps(data))
        )
        new_id = int(result.inserted_primary_key[0])  # type: ignore[index]
        return Event(id=new_id, at=at, kind=kind, agent=agent, actor=actor, data=data)

    async def publish(self, event: Event) -> None:
        """Wake live listeners for a committed event."""
        async with self._changed:
            self.last_id = max(self.last_id, event.id)
            self._changed.notify_all()

    async def since(
        self,
        after: int = 0,
        *,
        limit: int = 500,
        agent: str | None = None,
        since_time: float | None = None,
        newest: bool = False,
    ) -> list[Event]:
        """Events after id ``after`` (oldest first), at most ``limit`` (``newest``: the last ones)."""
        order = events.c.id.desc() if newest else events.c.id
        query = sa.select(events).where(events.c.id > after).order_by(order).limit(limit)
        if agent is not None:
            query = query.where(events.c.agent == agent)
        if since_time is not None:
            query = query.where(events.c.at >= since_time)
        async with self.store.begin() as conn:
            rows = (await conn.execute(query)).all()
        found = [
            Event(id=r.id, at=r.at, kind=r.kind, agent=r.agent, actor=r.actor, data=json.loads(r.data))
            for r in rows
        ]
        return found[::-1] if newest else found

    async def count(self, kind: str, *, since: float, outcome: str | None = None) -> dict[str, int]:
        """Events of ``kind`` per agent since ``since`` (with that ``outcome`` when given)."""
        query = (
            sa.select(events.c.agent, events.c.data)
            .where(events.c.kind == kind, events.c.at >= since, events.c.agent.is_not(None))
        )
        counts: dict[str, int] = {}
        async with self.store.begin() as conn:
            for agent, data in (await conn.execute(query)).all():
                if outcome is None or json.loads(data).get("outcome") == outcome:
                    counts[agent] = counts.get(agent, 0) + 1
        return counts

    async def latest_id(self) -> int:
        async with self.store.begin() as conn:
            value = (await conn.execute(sa.select(sa.func.max(events.c.id)))).scalar()
        self.last_id = max(self.last_id, int(value or 0))
        return self.last_id

    async def wait(self, after: int, timeout: float) -> bool:
        """Wait until an event newer than ``after`` was added (True) or ``timeout`` passed."""
        async with self._changed:
            if self.last_id > after:
                return True
            try:
                async with asyncio.timeout(timeout):
                    await self._changed.wait_for(lambda: self.last_id > after)
            except TimeoutError:
                return False
            return True
