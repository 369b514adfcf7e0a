"""The swarm's memory of a plan: each task's lease, attempts and result, in a SQL store.

One row per (plan path, task key) in ``swarm_tasks`` (SQLAlchemy Core; the hub's store has the
same table through its migrations, so the state can live there or in PostgreSQL). With no store
given it is a SQLite file next to the plan, ``.PLAN.md.swarm.db`` (0600), opened by the CLI with
the hub's ``open_store``. The rows survive the swarm process: a rerun knows what was done, what
is leased to which worker, and how often each task was tried.

One swarm per plan: :func:`owner_lock` holds an exclusive ``flock`` on ``.PLAN.md.swarm.lock``
for the run (the kernel frees it when the process dies, however it dies).

States: ``queued`` → ``leased`` (a worker has it, until ``lease_until``) → ``done`` | ``failed``;
a failed attempt puts it back to ``queued`` with the worker in ``tried``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bridge.errors import ConfigError
from bridge.owner import take
from bridge.swarm.plan import Plan, Task

__all__ = ["SWARM_TASKS", "Ledger", "Row", "local_store", "owner_lock"]

_metadata = sa.MetaData()

SWARM_TASKS = sa.Table(
    "swarm_tasks",
    _metadata,
    sa.Column("plan", sa.String(1024), primary_key=True),  # the plan file's absolute path
    sa.Column("key", sa.String(64), primary_key=True),  # Task.key
    sa.Column("task", sa.Text, nullable=False),
    sa.Column("section", sa.Text, nullable=False),
    sa.Column("position", sa.Integer, nullable=False),  # its place in the plan when first stored
    sa.Column("state", sa.String(16), nullable=False),  # queued | leased | done | failed
    sa.Column("worker", sa.String(64), nullable=True),  # who has (or last had) it
    sa.Column("lease_until", sa.Float, nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("tried", sa.Text, nullable=False, default=""),  # workers an attempt failed on, comma-separated
    sa.Column("reason", sa.Text, nullable=True),  # why the last attempt failed
    sa.Column("prompt", sa.Text, nullable=True),  # what the lease's worker was sent
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Column("started_at", sa.Float, nullable=True),  # of the current (or last) attempt
    sa.Column("finished_at", sa.Float, nullable=True),
    sa.Index("ix_swarm_tasks_state", "plan", "state"),
)


@dataclass(frozen=True)
class Row:
    """A task's state as stored."""

    key: str
    task: str
    section: str
    state: str
    worker: str | None
    lease_until: float | None
    attempts: int
    tried: tuple[str, ...]
    reason: str | None
    prompt: str | None
    started_at: float | None
    finished_at: float | None

    @classmethod
    def of(cls, found: Any) -> Row:
        return cls(found.key, found.task, found.section, found.state, found.worker, found.lease_until,
                   found.attempts, tuple(n for n in found.tried.split(",") if n), found.reason,
                   found.prompt, found.started_at, found.finished_at)  # fmt: skip

    @property
    def elapsed_s(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return round(self.finished_at - self.started_at, 2)


def _hidden(plan: Path, suffix: str) -> Path:
    return plan.with_name(f".{plan.name}.{suffix}")


def local_store(plan: Path) -> Path:
    """The SQLite file a plan's state lives in when no store is given: ``.PLAN.md.swarm.db``."""
    return _hidden(plan, "swarm.db")


def owner_lock(plan: Path) -> IO[str]:
    """Take the plan's one-swarm lock (keep the returned file open for the run; closing frees it).
    A second swarm on the same plan is a :class:`ConfigError` naming the first one's PID."""
    handle, pid = take(_hidden(plan, "swarm.lock"))
    if handle is None:
        raise ConfigError(f"another swarm (pid {pid}) is running the plan {plan}",
                          hint="one swarm per plan: wait for it, or stop it first")  # fmt: skip
    return handle


class Ledger:
    """The rows of one plan in a store (``engine``: an open async engine with ``swarm_tasks``)."""

    def __init__(self, engine: AsyncEngine, plan: Path) -> None:
        self.engine = engine
        self.plan = str(plan.resolve())

    def _where(self, key: str) -> sa.ColumnElement[bool]:
        return sa.and_(SWARM_TASKS.c.plan == self.plan, SWARM_TASKS.c.key == key)

    async def sync(self, plan: Plan) -> None:
        """Add a row for each task not stored yet (``done`` when checked in the file); a task a
        person checked by hand is marked done."""
        now = time.time()
        stored = {row.key: row for row in await self.rows()}
        async with self.engine.begin() as connection:
            for position, task in enumerate(plan.tasks, start=len(stored)):
                row = stored.get(task.key)
                if row is None:
                    await connection.execute(SWARM_TASKS.insert().values(
                        plan=self.plan, key=task.key, task=task.text, section=task.section, position=position,
                        state="done" if task.done else "queued", attempts=0, tried="",
                        created_at=now, updated_at=now,
                    ))  # fmt: skip
                elif task.done and row.state in ("queued", "failed"):
                    await connection.execute(
                        SWARM_TASKS.update().where(self._where(task.key)).values(state="done", updated_at=now)
                    )

    async def rows(self) -> list[Row]:
        async with self.engine.connect() as connection:
            found = await connection.execute(
                SWARM_TASKS.select().where(SWARM_TASKS.c.plan == self.plan).order_by(SWARM_TASKS.c.position)
            )
            return [Row.of(row) for row in found]

    async def row(self, key: str) -> Row | None:
        async with self.engine.connect() as connection:
            found = (await connection.execute(SWARM_TASKS.select().where(self._where(key)))).first()
            return None if found is None else Row.of(found)

    async def _update(self, key: str, only: tuple[str, ...], **values: Any) -> bool:
        """Set ``values`` on the row if its state is one of ``only``; whether it was."""
        async with self.engine.begin() as connection:
            done = await connection.execute(
                SWARM_TASKS.update()
                .where(self._where(key), SWARM_TASKS.c.state.in_(only))
                .values(updated_at=time.time(), **values)
            )
            return bool(done.rowcount)

    async def lease(self, task: Task, worker: str, prompt: str, seconds: float) -> bool:
        """Lease the queued task to ``worker`` (an attempt begins); False if it is not queued."""
        now = time.time()
        return await self._update(task.key, ("queued",), state="leased", worker=worker, prompt=prompt,
                                  lease_until=now + seconds, started_at=now, finished_at=None,
                                  attempts=SWARM_TASKS.c.attempts + 1)  # fmt: skip

    async def done(self, key: str) -> bool:
        return await self._update(key, ("leased",), state="done", lease_until=None, reason=None,
                                  finished_at=time.time())  # fmt: skip

    async def give_back(self, key: str, reason: str, *, worker: str, counted: bool, final: bool) -> Row:
        """End the lease unsuccessfully: back to the queue (``final``: failed for good). An
        attempt that never reached the worker (``counted`` False) is not counted."""
        row = await self.row(key)
        assert row is not None
        tried = row.tried if not counted or worker in row.tried else (*row.tried, worker)
        await self._update(key, ("leased",), state="failed" if final else "queued", lease_until=None,
                           reason=reason, tried=",".join(tried), finished_at=time.time(),
                           attempts=row.attempts if counted else max(0, row.attempts - 1))  # fmt: skip
        new = await self.row(key)
        assert new is not None
        return new

    async def requeue_failed(self) -> None:
        """Failed tasks get another round (a rerun tries them again, attempts counted afresh)."""
        async with self.engine.begin() as connection:
            await connection.execute(
                SWARM_TASKS.update()
                .where(SWARM_TASKS.c.plan == self.plan, SWARM_TASKS.c.state == "failed")
                .values(state="queued", attempts=0, tried="", updated_at=time.time())
            )
