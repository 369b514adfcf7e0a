"""``agent-bridge up | down | status``: the fleet the registry declares, as one."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from typing import Annotated, Any

import typer

from bridge.cli.app import OPTS, app, emit, leave, run
from bridge.cli.output import first_failure, note, table
from bridge.cli.params import JsonOpt

Names = Annotated[
    list[str] | None,
    typer.Argument(
        help="Agents or groups (the registry's groups table); default: every agent.", show_default=False
    ),
]


def _age(seconds: int | None) -> str:
    if seconds is None:
        return "—"
    return (
        f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
        if seconds >= 3600
        else f"{seconds // 60}m{seconds % 60:02d}s"
    )


def _tokens(used: dict[str, Any] | None) -> str:
    return "—" if not used else f"{used['input']} in / {used['output']} out"


def up_lines(rows: Sequence[dict[str, Any]]) -> str:
    cells = [["agent", "host", "target", "result", "session"]]
    for row in rows:
        if "error" in row:
            result = f"FAILED: {row['error']}"
        elif row["started"]:
            result = f"started, {row['state']}" + (" (new pane)" if row["created"] else "")
        else:
            result = "already running"
        cells.append([row["agent"], row["host"], row["target"], result, row.get("session_id") or "—"])
    return table(cells)


def status_lines(rows: Sequence[dict[str, Any]]) -> str:
    head = ["agent", "host", "target", "state", "model", "session", "uptime", "restarts", "last activity"]
    cells = [[*head, "tokens today"]]
    now = time.time()
    for row in rows:
        session = row.get("session_id") or "—"
        restarts, last = row.get("restarts"), row.get("last_activity")
        cells.append([
            row["agent"], row["host"], row["target"], row["state"], row.get("model") or "—",
            session[:8] if len(session) > 8 else session, _age(row.get("uptime_s")),
            "—" if restarts is None else str(restarts),
            "—" if last is None else _age(int(now - last)) + " ago", _tokens(row.get("tokens")),
        ])  # fmt: skip
    return table(cells)


async def _with_hub(bridge: Any, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Restarts (last 24 h), last activity and ``failed`` from the registry's hub, if it has one."""
    spec = bridge.registry.model.hub
    if not (spec.url or spec.store or spec.listen):
        return rows
    from bridge.errors import BridgeError
    from bridge.hub.client import HubClient

    try:
        async with HubClient.configured(spec) as client:
            seen = {row["agent"]: row for row in await client.agents()}
    except BridgeError as exc:
        note(f"status without the hub's restarts and activity: {exc}")
        return rows
    for row in rows:
        hub_row = seen.get(row["agent"], {})
        row.update(restarts=hub_row.get("restarts"), last_activity=hub_row.get("last_activity"))
        if hub_row.get("state") == "failed":
            row["state"] = "failed"
    return rows


@app.command()
def up(
    names: Names = None,
    timeout: Annotated[
        float, typer.Option("--timeout", "-t", min=1, help="Seconds each agent may take to start.")
    ] = 60.0,
    as_json: JsonOpt = False,
) -> None:
    """Bring the fleet up: create missing sessions, windows and panes (registry order), apply the
    window layouts, start every agent not running with a session id of its own, and see each come
    up idle. Running agents are left alone: a second `up` changes nothing."""
    from bridge.fleet import up as bring_up

    rows = run(lambda bridge: bring_up(bridge, names or [], timeout=timeout), as_json=as_json)
    emit(rows, up_lines(rows), as_json)
    leave(first_failure(rows))


@app.command()
def down(
    names: Names = None,
    kill: Annotated[
        bool, typer.Option("--kill", help="Close the panes at once, without the exit command.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Take agents down: each exits cleanly (its profile's exit command; a busy one is
    interrupted first), then its pane is closed. `--kill` skips the politeness."""
    from bridge.fleet import down as take_down

    rows = run(lambda bridge: take_down(bridge, names or [], kill=kill), as_json=as_json)
    text = table(
        [
            ["agent", "host", "target", "result"],
            *([r["agent"], r["host"], r["target"], r.get("result") or f"FAILED: {r['error']}"] for r in rows),
        ]
    )
    emit(rows, text, as_json)
    leave(first_failure(rows))


@app.command()
def status(
    names: Names = None,
    watch: Annotated[
        bool, typer.Option("--watch", "-w", help="Keep the table on screen, refreshed every 2 s.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """One table of the fleet: agent, host, target, state, model, session, uptime and tokens today
    (from each agent's own transcript, where its CLI keeps one)."""
    from bridge.fleet import status as fleet_status

    async def look(bridge: Any, names: list[str]) -> list[dict[str, Any]]:
        return await _with_hub(bridge, await fleet_status(bridge, names))

    if not watch or as_json or OPTS.json:
        rows = run(lambda bridge: look(bridge, names or []), as_json=as_json)
        emit(rows, status_lines(rows), as_json)
        return
    from rich.live import Live
    from rich.text import Text

    async def live(bridge: Any) -> None:
        import asyncio

        with Live(Text("…"), refresh_per_second=4, screen=False) as shown:
            while True:
                rows = await look(bridge, names or [])
                shown.update(Text(time.strftime("%H:%M:%S  ") + "agent-bridge status\n" + status_lines(rows)))
                await asyncio.sleep(2.0)

    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C ends the watch
        run(live)
