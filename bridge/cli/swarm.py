"""``agent-bridge swarm run | status``: a PLAN.md checklist fanned out to a pool of workers.

See :mod:`bridge.swarm.runner`. The state (leases, attempts, results) is kept in a SQLite file
next to the plan (``.PLAN.md.swarm.db``) unless ``--store`` names another, or the registry's hub
keeps its store in PostgreSQL (then there, in its ``swarm_tasks`` table).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from bridge.cli.app import OPTS, app, command_group, emit, leave, run, run_async
from bridge.cli.params import JsonOpt
from bridge.errors import ConfigError

if TYPE_CHECKING:
    from bridge.api import Bridge
    from bridge.config.registry import Registry
    from bridge.hub.store.engine import Store
    from bridge.swarm.runner import Update
    from bridge.swarm.state import Row

swarm_app = command_group(
    "Run a PLAN.md checklist on a pool of agents: each unchecked `- [ ]` item is leased to one "
    "idle worker, its reply waited for, and the item ticked in place; failures are retried on "
    "another worker. Kill it and run it again: nothing is sent twice.",
    no_args_is_help=True,
)
app.add_typer(swarm_app, name="swarm")

PlanArg = Annotated[
    Path, typer.Argument(help="The plan: a Markdown file of - [ ] items.", show_default=False)
]
StoreOpt = Annotated[
    str | None,
    typer.Option("--store", help="Where the state lives (a SQLite path or postgresql:// URL); "
                 "default: .PLAN.md.swarm.db next to the plan.", show_default=False),
]  # fmt: skip


async def _open(plan: Path, store: str | None, *, reader: bool = False) -> Store:
    """The state store: the plan's own SQLite file (its lock file is the owner), or ``store``
    (a SQLite file is then opened as its one owner, unless only read)."""
    from bridge.hub.store.engine import open_store  # lazy: SQLAlchemy only when needed
    from bridge.swarm.state import local_store

    if store is None:
        return await open_store(str(local_store(plan)), owner=False)
    sqlite = "://" not in store or store.startswith("sqlite")
    return await open_store(store, owner=sqlite and not reader)


def _shared_store(registry: Registry | None = None) -> str | None:
    """The hub's store when it is PostgreSQL (shared by design; the hub keeps its own owner
    lock); a hub's SQLite file is the hub's alone, so the plan's own file is used then. Without
    ``registry``, the configured one, if there is one."""
    if registry is None:
        from bridge.config.registry import Registry

        try:
            registry = Registry.from_cli(OPTS.config)
        except ConfigError:
            return None
    hub_store = registry.model.hub.store or ""
    return hub_store if hub_store.startswith(("postgresql://", "postgres://")) else None


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    return f"{seconds:.1f}s" if seconds < 120 else f"{int(seconds) // 60}m{int(seconds) % 60:02d}s"


def summary(rows: Sequence[Row], plan: Path) -> dict[str, Any]:
    """The JSON of a run or a status: counts and one entry per task."""
    tasks = [
        {"task": r.task, "section": r.section, "state": r.state, "worker": r.worker,
         "attempts": r.attempts, "elapsed_s": r.elapsed_s, "reason": r.reason}
        for r in rows
    ]  # fmt: skip
    counts = {state: sum(r.state == state for r in rows) for state in ("done", "failed", "queued", "leased")}
    return {"plan": str(plan), **counts, "tasks": tasks}


def summary_table(rows: Sequence[Row]) -> Any:
    from rich.table import Table

    table = Table("task", "worker", "attempts", "time", "result")
    for r in rows:
        result = r.state if r.state != "failed" else f"FAILED: {r.reason}"
        table.add_row(r.task, r.worker or "—", str(r.attempts), _clock(r.elapsed_s), result)
    return table


def _show_table(rows: Sequence[Row]) -> None:
    from rich.console import Console

    Console(width=max(100, Console().width)).print(summary_table(rows))


class _Progress:
    """What the run shows while it runs: a live panel on a terminal, else a line per update on
    stderr (with --json only the notes: a question waiting for a person, a worker restarted or
    out of the pool)."""

    def __init__(self, workers: Sequence[str], live: bool, quiet: bool) -> None:
        self.doing = dict.fromkeys(workers, "idle")
        self.counts = {"done": 0, "failed": 0, "retry": 0}
        self.live: Any = None
        self.quiet = quiet
        self.message = ""  # the last note about no worker in particular
        self.began = time.monotonic()
        if live and not quiet:
            from rich.live import Live

            self.live = Live(self.render(), refresh_per_second=4, transient=True)
            self.live.start()

    def render(self) -> Any:
        from rich.console import Group
        from rich.table import Table
        from rich.text import Text

        counts = self.counts
        head = (f"swarm: {counts['done']} done, {counts['failed']} failed, {counts['retry']} retried, "
                f"{_clock(time.monotonic() - self.began)}")  # fmt: skip
        table = Table("worker", "doing")
        for worker, doing in self.doing.items():
            table.add_row(worker, doing)
        return Group(Text(head), table, *([Text(self.message)] if self.message else []))

    def __call__(self, update: Update) -> None:
        if update.kind in self.counts:
            self.counts[update.kind] += 1
        if update.kind == "dispatched":
            self.doing[update.worker] = update.task
        elif update.kind in ("done", "retry", "failed"):
            self.doing[update.worker] = "idle"
        elif update.kind == "note" and update.worker in self.doing:
            self.doing[update.worker] = update.detail
        elif update.kind == "note":
            self.message = update.detail
        if self.live is not None:
            self.live.update(self.render())
        elif update.kind == "note" or (not self.quiet and update.kind != "leased"):  # notes even with --json
            tail = f": {update.detail}" if update.detail else ""
            what = f" {update.task!r}" if update.task else ""
            print(
                f"agent-bridge: swarm: {update.worker} {update.kind}{what}{tail}", file=sys.stderr, flush=True
            )

    def stop(self) -> None:
        if self.live is not None:
            self.live.stop()


@swarm_app.command("run")
def run_plan(
    plan: PlanArg,
    workers: Annotated[
        str,
        typer.Option(
            "--workers", "-w", help="A group, or agents A,B,... (comma-separated).", show_default=False
        ),
    ],
    template: Annotated[
        Path | None,
        typer.Option(
            "--template",
            help="A prompt template file: {task}, {section}, {plan}, {done_file}, "
            "{context} (the task's nested lines). Default: the task and its context.",
            show_default=False,
        ),
    ] = None,
    done_file: Annotated[
        str | None,
        typer.Option(
            "--done-file",
            help="A task is done only when this file exists on the worker's host "
            "(relative to its cwd): {n} (task number), {slug}, {key}.",
            show_default=False,
        ),
    ] = None,
    timeout: Annotated[
        float, typer.Option("--timeout", "-t", min=1, help="Seconds one attempt may take.")
    ] = 600.0,
    attempts: Annotated[
        int, typer.Option("--attempts", min=1, help="Attempts per task (on other workers).")
    ] = 2,
    permissions: Annotated[
        str,
        typer.Option(
            "--permissions",
            help="ask: wait for a person to answer a permission question; "
            "deny: answer No (the attempt fails).",
        ),
    ] = "ask",
    store: StoreOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Run the plan: every unchecked task leased to one idle worker, done when the worker replies
    (and --done-file exists), ticked in PLAN.md with the worker and time; a timeout, a dead worker
    or a permission question retries it on another worker up to --attempts, then it is left
    unchecked with the reason. Exit 0 only when every task is done."""
    from bridge.swarm.runner import DEFAULT_TEMPLATE, Options, Swarm
    from bridge.swarm.state import Ledger, owner_lock

    as_json = as_json or OPTS.json
    if permissions not in ("ask", "deny"):
        raise ConfigError(f"--permissions {permissions!r}: use ask or deny")
    text = DEFAULT_TEMPLATE
    if template is not None:
        try:
            text = template.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read the template {template}: {exc}") from None
    options = Options(tuple(n.strip() for n in workers.split(",") if n.strip()), text, done_file, timeout,
                      attempts, permissions == "deny")  # fmt: skip
    path = plan.resolve()
    progress = _Progress([], live=sys.stderr.isatty(), quiet=as_json)

    async def job(bridge: Bridge) -> list[Row]:
        from bridge.swarm.plan import read_plan

        read_plan(path)  # a malformed plan is refused before anything else
        lock = owner_lock(path)
        try:
            opened = await _open(path, store or _shared_store(bridge.registry))
            try:
                swarm = Swarm(bridge, path, Ledger(opened.engine, path), options, progress)
                progress.doing = dict.fromkeys(swarm.pool.names, "idle")
                return await swarm.run()
            finally:
                await opened.close()
        finally:
            progress.stop()
            lock.close()

    rows = run(job, as_json=as_json)
    if as_json:
        emit(summary(rows, path), None, True)
    else:
        _show_table(rows)
    leave(0 if all(r.state == "done" for r in rows) else 1)


@swarm_app.command("status")
def status(plan: PlanArg, store: StoreOpt = None, as_json: JsonOpt = False) -> None:
    """Each task of the plan with its state (done, queued, leased to a worker, failed and why),
    worker, attempts and time, as the last run left them (or as one is running them)."""
    from bridge.swarm.plan import read_plan
    from bridge.swarm.state import Ledger, local_store

    path = plan.resolve()
    store = store or _shared_store()

    async def look() -> list[Row]:
        from bridge.swarm.state import Row

        parsed = read_plan(path)
        by_key: dict[str, Row] = {}
        if store is not None or local_store(path).exists():
            opened = await _open(path, store, reader=True)
            try:
                by_key = {row.key: row for row in await Ledger(opened.engine, path).rows()}
            finally:
                await opened.close()
        fresh = [Row(t.key, t.text, t.section, "done" if t.done else "queued", None, None, 0, (), None,
                     None, None, None) for t in parsed.tasks]  # fmt: skip
        return [by_key.get(row.key, row) for row in fresh]

    rows = run_async(look, as_json=as_json)
    if as_json or OPTS.json:
        emit(summary(rows, path), None, True)
    else:
        _show_table(rows)
