"""The deterministic swarm: every unchecked task of a PLAN.md leased to one idle worker, its reply
waited for, the item ticked; failures retried on another worker up to a limit.

The loop (one process per plan; see :func:`bridge.swarm.state.owner_lock`):

1. read the plan, add its new tasks to the ledger (the ones an earlier run gave up on get new
   attempts); tasks a killed run left *leased* are found on their workers
   (:func:`~bridge.swarm.attempt.recover`), never sent again;
2. while tasks are queued: give each idle worker the first queued task it has not failed yet (or
   any, when every worker left has), leased with an expiry, and dispatch it;
3. an attempt that worked ticks the item (matched by its text in the file as it is *now*); one
   that failed puts the task back, or after ``attempts`` leaves it unchecked with the reason.

Every lease, dispatch, completion and failure is a ``task`` event for the hub's log (through the
bridge's recorder, when there is one) and an update for the progress display.
"""

from __future__ import annotations

import asyncio
import re
import string
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bridge.errors import ConfigError
from bridge.swarm.attempt import Outcome, Worker, dispatch, recover
from bridge.swarm.plan import Plan, Task, read_plan, tick
from bridge.swarm.state import Ledger, Row

if TYPE_CHECKING:
    from bridge.api import Bridge

__all__ = ["DEFAULT_TEMPLATE", "Options", "Swarm", "Update"]

DEFAULT_TEMPLATE = "{task}{context}{done_note}"
LEASE_MARGIN_S = 30.0  # a lease outlives the ask's timeout by this much
UNREACHED_LIMIT = 3  # a worker that could not be given a task this often in a row sits out


@dataclass(frozen=True)
class Options:
    """How to run a plan (``swarm run``'s options)."""

    workers: tuple[str, ...]
    template: str = DEFAULT_TEMPLATE
    done_file: str | None = None  # a pattern: {n} (task number), {slug}, {key}
    timeout: float = 600.0
    attempts: int = 2
    deny: bool = False


@dataclass(frozen=True)
class Update:
    """What the display shows: ``kind`` is leased, dispatched, done, retry, failed, note."""

    kind: str
    worker: str
    task: str
    detail: str = ""


@dataclass
class _Pool:
    names: list[str]
    idle: list[str] = field(default_factory=list)
    out: set[str] = field(default_factory=set)  # not usable any more in this run
    unreached: dict[str, int] = field(default_factory=dict)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "task"


class Swarm:
    """One run of a plan on a pool of workers."""

    def __init__(self, bridge: Bridge, path: Path, ledger: Ledger, options: Options,
                 show: Callable[[Update], None] = lambda update: None) -> None:  # fmt: skip
        self.bridge, self.path, self.ledger, self.options, self.show = bridge, path, ledger, options, show
        bridge.registry.select(list(options.workers))  # unknown names fail before anything runs
        self.pool = _Pool([agent.name for agent in bridge.registry.select(list(options.workers))])
        self.fill(Task("check", "", False, 0), 1)  # a template naming an unknown field fails now

    # -- prompts ----------------------------------------------------------------------------------

    def done_file(self, task: Task, number: int) -> str | None:
        if self.options.done_file is None:
            return None
        fields = {"n": number, "slug": _slug(task.text), "key": task.key[:12]}
        return _format(self.options.done_file, fields, "--done-file")

    def fill(self, task: Task, number: int) -> str:
        done = self.done_file(task, number)
        context = f"\n\n{task.context}" if task.context else ""
        note = f"\n\nWhen the task is finished, create the file {done}." if done else ""
        fields = {"task": task.text, "section": task.section, "plan": str(self.path), "done_file": done or "",
                  "context": context, "done_note": note}  # fmt: skip
        return _format(self.options.template, fields, "--template")

    # -- events -----------------------------------------------------------------------------------

    def _event(self, kind: str, worker: str, task: Task | Row, **data: Any) -> None:
        self.show(Update(kind, worker, task.text if isinstance(task, Task) else task.task,
                         str(data.get("reason") or data.get("detail") or "")))  # fmt: skip
        if self.bridge.recorder is not None:
            self.bridge.recorder.event("task", worker, {
                "plan": str(self.path), "task": task.text if isinstance(task, Task) else task.task,
                "section": task.section, "key": task.key, "outcome": kind, **data,
            })  # fmt: skip

    def _note(self, worker: str, detail: str) -> None:
        self.show(Update("note", worker, "", detail))

    # -- the loop ---------------------------------------------------------------------------------

    async def run(self) -> list[Row]:
        """Run the plan to its end; the rows of every task (their final state)."""
        plan = read_plan(self.path)
        await self.ledger.requeue_failed()  # a new run gives the failed tasks new attempts
        await self.ledger.sync(plan)
        running: dict[asyncio.Task[None], str] = {}
        busy: set[str] = set()
        for row in await self.ledger.rows():
            if row.state == "leased" and row.worker is not None and plan.find(row.key) is not None:
                busy.add(row.worker)
                task = plan.find(row.key)
                assert task is not None
                self._note(row.worker, f"waiting for {task.text!r} (leased before the swarm stopped)")
                running[asyncio.create_task(self._recover(row, task, plan))] = row.worker
        self.pool.idle = [name for name in self.pool.names if name not in busy]
        while True:
            plan = self._reread(plan)  # as it is now: a person may have edited it
            await self.ledger.sync(plan)
            queued = [row for row in await self.ledger.rows() if row.state == "queued"]
            for worker, row in self._match(queued, plan):
                task = plan.find(row.key)
                assert task is not None
                number = plan.tasks.index(task) + 1
                prompt = self.fill(task, number)
                if not await self.ledger.lease(task, worker, prompt, self.options.timeout + LEASE_MARGIN_S):
                    self.pool.idle.append(worker)
                    continue
                running[asyncio.create_task(self._job(worker, task, number, prompt))] = worker
            if not running:
                return await self.ledger.rows()
            finished, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            for job in finished:
                worker = running.pop(job)
                job.result()  # a bug in an attempt is not hidden
                if worker not in self.pool.out and worker in self.pool.names:
                    self.pool.idle.append(worker)

    def _reread(self, plan: Plan) -> Plan:
        """The plan as it is now; while it cannot be read (a person's editor half-way through a
        save, say), the last one read."""
        try:
            return read_plan(self.path)
        except ConfigError as error:
            self._note("", f"the plan cannot be read now ({error}); going on with the last one read")
            return plan

    def _tick(self, worker: str, task: Task, note: str, *, failed: bool = False) -> str:
        """Tick (or note) the task in the file; a file that cannot be written now is reported,
        not fatal: the ledger keeps the result (``swarm status`` shows it)."""
        try:
            return tick(self.path, task.key, note, failed=failed)
        except (ConfigError, OSError) as error:
            self._note(worker, f"{task.text!r} could not be marked in {self.path}: {error}")
            return "unwritten"

    def _match(self, queued: list[Row], plan: Plan) -> list[tuple[str, Row]]:
        """Idle workers paired with queued tasks (plan order; a task goes to a worker it has not
        failed on, while there is one left)."""
        pairs: list[tuple[str, Row]] = []
        live = [name for name in self.pool.names if name not in self.pool.out]
        for row in queued:
            if not self.pool.idle or plan.find(row.key) is None:
                continue
            fresh = [w for w in self.pool.idle if w not in row.tried]
            if not fresh and any(w not in row.tried for w in live):
                continue  # wait for a worker that has not failed it
            worker = (fresh or self.pool.idle)[0]
            self.pool.idle.remove(worker)
            pairs.append((worker, row))
        return pairs

    def _worker(self, name: str) -> Worker:
        return Worker(self.bridge, name, self.options.timeout, self.options.deny, self._note)

    async def _job(self, worker: str, task: Task, number: int, prompt: str) -> None:
        await self.attempt(worker, task, number, prompt)

    async def lease_to(self, worker: str) -> tuple[Task, int, str] | None:
        """Lease the next queued task to ``worker`` (plan order, the ones it has not failed on
        first): the task, its number and its prompt; None when nothing is queued."""
        plan = read_plan(self.path)
        await self.ledger.sync(plan)
        queued = [row for row in await self.ledger.rows() if row.state == "queued" and plan.find(row.key)]
        for row in sorted(queued, key=lambda row: worker in row.tried):
            task = plan.find(row.key)
            assert task is not None
            number = plan.tasks.index(task) + 1
            prompt = self.fill(task, number)
            if await self.ledger.lease(task, worker, prompt, self.options.timeout + LEASE_MARGIN_S):
                return task, number, prompt
        return None

    async def attempt(self, worker: str, task: Task, number: int, prompt: str) -> Outcome:
        """Dispatch the task leased to ``worker``, settle how it went (tick, retry or give up)."""
        row = await self.ledger.row(task.key)
        attempt = row.attempts if row else 0
        self._event("leased", worker, task, attempt=attempt)
        self._event("dispatched", worker, task, attempt=attempt)
        outcome = await dispatch(self._worker(worker), prompt, self.done_file(task, number))
        await self._settle(worker, task, outcome)
        return outcome

    async def _recover(self, row: Row, task: Task, plan: Plan) -> None:
        assert row.worker is not None
        number = plan.tasks.index(task) + 1
        outcome = await recover(self._worker(row.worker), row.prompt or "", row.lease_until,
                                self.done_file(task, number))  # fmt: skip
        await self._settle(row.worker, task, outcome)

    async def _settle(self, worker: str, task: Task, outcome: Outcome) -> None:
        """Record the attempt's end: tick the item, or put the task back / give it up."""
        if not outcome.usable:
            self.pool.out.add(worker)
            self._note(worker, f"out of the pool: {outcome.reason}")
        if outcome.ok:
            await self.ledger.done(task.key)
            stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime())
            ticked = self._tick(worker, task, f"done by {worker} at {stamp}")
            if ticked == "missing":
                self._note(worker, f"{task.text!r} is no longer in {self.path}: not ticked")
            row = await self.ledger.row(task.key)
            self._event("done", worker, task, attempt=row.attempts if row else None, ticked=ticked,
                        elapsed_s=row.elapsed_s if row else None)  # fmt: skip
            self.pool.unreached.pop(worker, None)
            return
        if not outcome.counted:
            count = self.pool.unreached.get(worker, 0) + 1
            self.pool.unreached[worker] = count
            if count >= UNREACHED_LIMIT:
                self.pool.out.add(worker)
                self._note(worker, f"out of the pool: {outcome.reason}")
            else:
                await asyncio.sleep(1.0)  # it was not ready: give it a moment
        row = await self.ledger.row(task.key)
        spent = (row.attempts if row else 0) - (0 if outcome.counted else 1)
        final = outcome.counted and spent >= self.options.attempts
        if not final and not any(name not in self.pool.out for name in self.pool.names):
            final = True  # nobody left to try it
        row = await self.ledger.give_back(task.key, outcome.reason, worker=worker, counted=outcome.counted,
                                          final=final)  # fmt: skip
        if final:
            self._tick(worker, task, f"{outcome.reason} (after {row.attempts} attempts)", failed=True)
        self._event("failed" if final else "retry", worker, task, attempt=row.attempts, reason=outcome.reason)


def _format(template: str, fields: dict[str, Any], option: str) -> str:
    try:
        return string.Formatter().vformat(template, (), fields)
    except (KeyError, IndexError, ValueError) as exc:
        known = ", ".join("{" + name + "}" for name in fields)
        raise ConfigError(
            f"{option}: {template!r} cannot be filled ({exc})", hint=f"it may use {known}"
        ) from None
