"""The store's part of waking: an agent's queued batch, its budget's count, and the wake lease
with its fencing token claimed together with the wake row in one transaction (see
:mod:`bridge.hub.pager` for the rules this keeps)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from bridge.hub.store.engine import Store
from bridge.hub.store.schema import messages, threads, wake_leases, wakes

__all__ = ["HOUR", "SENDERS", "Batch", "batch", "claim", "fence_of", "let_go", "queued_query", "used"]

HOUR = 3600.0
SENDERS = 5  # senders a wake line names at most (the newest)


@dataclass(frozen=True)
class Batch:
    """An agent's queued messages, summed up: how many, the newest id, who (the newest few
    senders, oldest first) and the newest subject."""

    count: int
    newest: int
    senders: list[str]
    subject: str


def queued_query(only: str | None = None) -> sa.Select[Any]:
    announced = sa.select(messages.c.recipient).where(
        messages.c.read_at.is_(None), messages.c.woken_at.is_not(None)
    )
    query = (
        sa.select(messages.c.recipient)
        .distinct()
        .join(threads, threads.c.id == messages.c.thread_id)
        .where(
            messages.c.read_at.is_(None),
            messages.c.woken_at.is_(None),
            threads.c.closed_at.is_(None),
            messages.c.recipient.not_in(announced),
        )
    )
    return query if only is None else query.where(messages.c.recipient == only)


async def batch(store: Store, agent: str) -> Batch | None:
    """The agent's queued batch, summed up in the store (count, newest id) with its newest
    few senders and subject: a look costs the same with 5 or 5,000 messages waiting."""
    queued = sa.and_(
        messages.c.recipient == agent,
        messages.c.read_at.is_(None),
        messages.c.woken_at.is_(None),
        threads.c.closed_at.is_(None),
    )
    joined = messages.join(threads, threads.c.id == messages.c.thread_id)
    async with store.begin() as conn:
        count, newest = (
            await conn.execute(
                sa.select(sa.func.count(), sa.func.max(messages.c.id)).select_from(joined).where(queued)
            )
        ).one()
        if not count:
            return None
        rows = (
            await conn.execute(
                sa.select(messages.c.sender, messages.c.subject)
                .select_from(joined)
                .where(queued)
                .order_by(messages.c.id.desc())
                .limit(SENDERS)
            )
        ).all()
    senders = list(dict.fromkeys(str(r.sender) for r in reversed(rows)))
    return Batch(int(count), int(newest), senders, str(rows[0].subject))

async def used(store: Store, agent: str) -> int:
    """Wakes typed for the agent in the last hour (its budget's count)."""
    query = sa.select(sa.func.count()).where(
        wakes.c.agent == agent,
        wakes.c.started_at >= time.time() - HOUR,
        wakes.c.outcome.in_(("typed", "recovered")),
    )
    async with store.begin() as conn:
        return int((await conn.execute(query)).scalar() or 0)

async def claim(
    store: Store, agent: str, nonce: str, *, holder: str, lease_s: float
) -> tuple[int, int] | Literal["leased", "done"]:
    """In ONE transaction: take the agent's wake lease (free or expired: a new fencing token),
    check that its batch is still unannounced, and write the wake row; (fence, wake id).

    A pager that dies anywhere leaves nothing, or the lease together with its wake row, which
    :meth:`Pager.recover` settles: never a lease that blocks the next hub until it expires.
    """
    now = time.time()
    try:
        async with store.begin() as conn:
            taken = await conn.execute(
                wake_leases.update()
                .where(wake_leases.c.agent == agent, wake_leases.c.expires_at < now)
                .values(fence=wake_leases.c.fence + 1, holder=holder, expires_at=now + lease_s)
            )
            if taken.rowcount == 0:
                exists = (
                    await conn.execute(sa.select(wake_leases.c.fence).where(wake_leases.c.agent == agent))
                ).first()
                if exists is not None:
                    return "leased"  # held by someone else
                await conn.execute(
                    wake_leases.insert().values(
                        agent=agent, fence=1, holder=holder, expires_at=now + lease_s
                    )
                )
            fence = await fence_of(conn, agent)
            if fence is None or not (await conn.execute(queued_query(agent))).first():
                raise _Nothing
            row = wakes.insert().values(agent=agent, fence=fence, nonce=nonce, started_at=now)
            wake_id = int((await conn.execute(row)).inserted_primary_key[0])  # type: ignore[index]
            return fence, wake_id
    except _Nothing:
        return "done"  # rolled back: the lease is as it was
    except IntegrityError:
        return "leased"  # another pager inserted it first


class _Nothing(Exception):
    """Nothing to wake after all: roll the claim back."""


async def let_go(conn: AsyncConnection, agent: str, fence: int) -> None:
    await conn.execute(
        wake_leases.update()
        .where(wake_leases.c.agent == agent, wake_leases.c.fence == fence)
        .values(expires_at=0.0)
    )


async def fence_of(conn: AsyncConnection, agent: str) -> int | None:
    value = (await conn.execute(sa.select(wake_leases.c.fence).where(wake_leases.c.agent == agent))).scalar()
    return None if value is None else int(value)
