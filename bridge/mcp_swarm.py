"""The swarm as MCP tools (added to :mod:`bridge.mcp`'s server), for an orchestrator agent that
decides itself what goes where: ``plan_status``, ``dispatch_next``, ``task_result``.

They run the deterministic runner's own pieces (:class:`bridge.swarm.runner.Swarm`): the same
ledger next to the plan, the same leases, ticks, retries and ``task`` events. ``dispatch_next``
leases the next task to a worker and starts it in the background (this server process keeps
running it); ``task_result`` waits a bounded time for it. The first dispatch on a plan takes the
plan's one-swarm lock for the life of this server: a ``swarm run`` on it meanwhile is refused.

No ``from __future__ import annotations``: the SDK reads the tools' annotations at run time.
"""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any

from bridge.errors import ConfigError

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer
    from mcp.types import CallToolResult

    from bridge.api import Bridge
    from bridge.hub.store.engine import Store
    from bridge.swarm.attempt import Outcome
    from bridge.swarm.runner import Swarm
    from bridge.swarm.state import Row

DESCRIPTIONS = {
    "plan_status": (
        "Show a PLAN.md checklist's tasks with their state (queued, leased to a worker, done, "
        "failed and why), worker and attempts. Use it to decide what to dispatch next; the "
        "deterministic `agent-bridge swarm run` does all of this by itself."
    ),
    "dispatch_next": (
        "Lease the next unchecked task of a PLAN.md to an idle worker agent and send it as its "
        "prompt (in the background: this returns at once with the task). Then call task_result "
        "for that worker. A task is never sent twice; a worker that failed a task gets others first."
    ),
    "task_result": (
        "The result of the task dispatched to a worker: still working, done (the item is ticked in "
        "PLAN.md; the worker's reply is returned) or failed (with the reason; it is retried on "
        "another worker by the next dispatch_next, up to the attempts limit)."
    ),
}


@dataclass
class _Opened:
    swarm: "Swarm"
    store: "Store"
    lock: IO[str]
    jobs: dict[str, "asyncio.Task[Outcome]"] = field(default_factory=dict)  # worker -> its attempt


class SwarmTools:
    """The plans this server is running: one ledger, lock and set of attempts per plan."""

    def __init__(self) -> None:
        self.plans: dict[Path, _Opened] = {}

    async def opened(
        self, bridge: "Bridge", plan: str, *, timeout: float = 600.0, attempts: int = 2
    ) -> _Opened:
        """The plan as this server runs it (opened, with its lock taken, on first use)."""
        from bridge.hub.store.engine import open_store  # lazy: SQLAlchemy only when used
        from bridge.swarm.plan import read_plan
        from bridge.swarm.runner import Options, Swarm
        from bridge.swarm.state import Ledger, local_store, owner_lock

        path = Path(plan).expanduser().resolve()
        if path in self.plans:
            return self.plans[path]
        read_plan(path)
        lock = owner_lock(path)
        try:
            store = await open_store(str(local_store(path)), owner=False)
        except BaseException:
            lock.close()
            raise
        options = Options(workers=(), timeout=timeout, attempts=attempts)
        self.plans[path] = _Opened(Swarm(bridge, path, Ledger(store.engine, path), options), store, lock)
        return self.plans[path]

    async def rows(self, plan: str) -> list["Row"]:
        """The plan's rows (from this server's ledger, else the plan's ledger file read only)."""
        from bridge.hub.store.engine import open_store
        from bridge.swarm.plan import read_plan
        from bridge.swarm.state import Ledger, Row, local_store

        path = Path(plan).expanduser().resolve()
        parsed = read_plan(path)
        by_key: dict[str, Row] = {}
        if path in self.plans:
            by_key = {row.key: row for row in await self.plans[path].swarm.ledger.rows()}
        elif local_store(path).exists():
            store = await open_store(str(local_store(path)), owner=False)
            try:
                by_key = {row.key: row for row in await Ledger(store.engine, path).rows()}
            finally:
                await store.close()
        return [by_key.get(t.key) or Row(t.key, t.text, t.section, "done" if t.done else "queued", None, None,
                                         0, (), None, None, None, None) for t in parsed.tasks]  # fmt: skip

    async def close(self) -> None:
        for opened in self.plans.values():
            for job in opened.jobs.values():
                job.cancel()
            await opened.store.close()
            opened.lock.close()
        self.plans.clear()


def _row_line(row: "Row") -> str:
    tail = f" ({row.worker}, {row.attempts} attempts)" if row.worker else ""
    why = f": {row.reason}" if row.state == "failed" and row.reason else ""
    return f"[{row.state}] {row.task}{tail}{why}"


def add_swarm_tools(
    server: "MCPServer[Any]",
    run: Callable[[Callable[["Bridge"], Awaitable["CallToolResult"]]], Awaitable["CallToolResult"]],
    *,
    result: Callable[[str, dict[str, Any]], "CallToolResult"],
) -> SwarmTools:
    """Register the three swarm tools on ``server`` (``run``: runs a job with the server's bridge,
    a BridgeError becoming a tool error; ``result``: how a tool's answer is shaped)."""
    from mcp.types import CallToolResult, ToolAnnotations
    from pydantic import Field

    state = SwarmTools()
    looks = ToolAnnotations(read_only_hint=True, open_world_hint=True)
    acts = ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=True)
    Plan = Annotated[str, Field(description="path of the PLAN.md (on this machine)")]
    Worker = Annotated[str, Field(description="the worker agent's name, from list_agents")]

    @server.tool(description=DESCRIPTIONS["plan_status"], annotations=looks)
    async def plan_status(plan: Plan) -> CallToolResult:
        async def job(bridge: "Bridge") -> CallToolResult:
            rows = await state.rows(plan)
            tasks = [
                {"task": r.task, "section": r.section, "state": r.state, "worker": r.worker,
                 "attempts": r.attempts, "reason": r.reason}
                for r in rows
            ]  # fmt: skip
            data = {"plan": plan, "tasks": tasks}
            return result("\n".join(_row_line(row) for row in rows), data)

        return await run(job)

    @server.tool(description=DESCRIPTIONS["dispatch_next"], annotations=acts)
    async def dispatch_next(
        plan: Plan,
        worker: Worker,
        timeout: Annotated[float, Field(gt=0, description="seconds the worker may take")] = 600.0,
        attempts: Annotated[int, Field(ge=1, description="attempts per task, over all workers")] = 2,
    ) -> CallToolResult:
        async def job(bridge: "Bridge") -> CallToolResult:
            opened = await state.opened(bridge, plan, timeout=timeout, attempts=attempts)
            running = opened.jobs.get(worker)
            if running is not None and not running.done():
                raise ConfigError(f"{worker} is still on its task", hint="call task_result for it first")
            leased = await opened.swarm.lease_to(worker)
            if leased is None:
                return result("nothing left to dispatch in " + plan, {"plan": plan, "task": None})
            task, number, prompt = leased
            opened.jobs[worker] = asyncio.create_task(opened.swarm.attempt(worker, task, number, prompt))
            data = {"plan": plan, "worker": worker, "task": task.text, "section": task.section}
            return result(f"dispatched {task.text!r} to {worker}", data)

        return await run(job)

    @server.tool(description=DESCRIPTIONS["task_result"], annotations=looks)
    async def task_result(
        plan: Plan,
        worker: Worker,
        wait: Annotated[float, Field(ge=0, le=600, description="seconds to wait for it to finish")] = 30.0,
    ) -> CallToolResult:
        async def job(bridge: "Bridge") -> CallToolResult:
            opened = await state.opened(bridge, plan)
            running = opened.jobs.get(worker)
            if running is None:
                raise ConfigError(f"nothing was dispatched to {worker} on {plan}", hint="call dispatch_next")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(running), wait)
            if not running.done():
                return result(f"{worker} is still working", {"worker": worker, "state": "working"})
            outcome = running.result()
            data = {
                "worker": worker, "state": "done" if outcome.ok else "failed",
                "reason": outcome.reason or None, "reply": outcome.reply,
            }  # fmt: skip
            text = (outcome.reply or "") if outcome.ok else f"failed: {outcome.reason}"
            return result(text or "done (no reply text)", data)

        return await run(job)

    return state


__all__ = ["DESCRIPTIONS", "SwarmTools", "add_swarm_tools"]
