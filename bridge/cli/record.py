"""``agent-bridge note | log | report``: the event log the hub keeps, and the morning report.

Every client of a registry with ``[hub]`` sends what it did to the hub (:mod:`bridge.evidence`);
``note`` adds an agent's own words (kept apart, as self-reported); ``log`` reads the log back;
``report`` is what happened, computed from the log and the agents' transcripts.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from bridge.cli.app import OPTS, app, emit
from bridge.cli.msg import AsOpt, HubOpt, with_hub
from bridge.cli.params import JsonOpt

if TYPE_CHECKING:
    from bridge.hub.client import HubClient

SinceOpt = Annotated[
    str, typer.Option("--since", "-s", help="How far back: 8h, 30m, 2d, or a time (2026-12-05T01:00).")
]
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def since_epoch(text: str, now: float | None = None) -> float:
    """``8h`` / ``30m`` / ``2d`` ago, or a local ISO time, as an epoch time."""
    from bridge.errors import ConfigError

    now = time.time() if now is None else now
    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd])\s*", text)
    if found:
        return now - float(found[1]) * UNITS[found[2]]
    for layout in ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            return time.mktime(time.strptime(text.strip(), layout))
        except ValueError:
            continue
    raise ConfigError(f"--since {text!r}: write a span (8h, 30m, 2d) or a time (2026-12-05T01:00)")


def _when(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(epoch))


def _shown(value: Any) -> str:
    """A logged text: itself, or its size and hash when the log keeps only those."""
    if isinstance(value, dict):
        return (
            str(value["text"])
            if "text" in value
            else f"({value.get('size')} bytes, sha256 {value.get('sha256')})"
        )
    return "" if value is None else str(value)


def coordination(events: list[dict[str, Any]]) -> str:
    """Events in the coordination-file style: ``## [time] who → whom``, then Status, Task, Output."""
    blocks = []
    for e in events:
        data, when = e["data"], _when(e["at"])
        if e["kind"] == "note":
            blocks.append(
                f"## [{when}] {e['agent'] or e['actor']} (note, self-reported)\nStatus: {data.get('text')}"
            )
        elif e["kind"] in ("ask", "approve"):
            output = _shown(data.get("reply")) if "reply" in data else data.get("detail", "")
            task = _shown(data.get("prompt")) if e["kind"] == "ask" else f"answer {data.get('answer')}"
            blocks.append(
                f"## [{when}] {e['actor']} → {e['agent']}\nStatus: {data.get('outcome')}\n"
                f"Task: {task}\nOutput: {output}"
            )
        elif e["kind"] == "message":
            blocks.append(
                f"## [{when}] {e['actor']} → {e['agent']} (message #{data.get('id')})\n"
                f"Task: {data.get('subject')}"
            )
        else:
            detail = ", ".join(f"{k}: {v}" for k, v in data.items() if v is not None)
            who = f" (by {e['actor']})" if e.get("actor") else ""
            blocks.append(
                f"## [{when}] {e['kind']} {e['agent'] or ''}{who}" + (f"\nStatus: {detail}" if detail else "")
            )
    return "\n\n".join(blocks)


@app.command("note")
def note(
    text: Annotated[
        str, typer.Argument(help='What you want on the record, e.g. "Status: DONE, wrote docs/a.md".')
    ],
    as_agent: AsOpt = None,
    hub: HubOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a note to the hub's event log, as yourself (an agent's token: about that agent). Notes
    are kept apart from what the bridge saw: the report lists them as self-reported."""

    async def job(client: HubClient) -> Any:
        return await client.call("POST", "/api/events", {"kind": "note", "text": text})

    event = with_hub(as_agent, hub, job, as_json)
    emit(event, f"noted (event #{event['id']})", as_json)


@app.command("log")
def log(
    since: SinceOpt = "8h",
    agent: Annotated[str | None, typer.Option("--agent", "-a", help="Only this agent's events.")] = None,
    md: Annotated[bool, typer.Option("--md", help="Markdown, in the coordination-file style.")] = False,
    hub: HubOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The hub's event log: asks and replies, states, permission answers, model switches, crashes,
    restarts, wakes, messages and notes, with who caused each. Needs an admin token."""
    params: dict[str, Any] = {"since": since_epoch(since)}
    if agent:
        params["agent"] = agent

    async def job(client: HubClient) -> Any:
        return await client.call("GET", "/api/events", params=params)

    events = with_hub(None, hub, job, as_json)
    if as_json or OPTS.json or not md:
        lines = [
            f"{_when(e['at'])}  {e['kind']:<9} {e['agent'] or '-':<14} {e['actor'] or '':<12} "
            + " ".join(f"{k}={_shown(v)[:60]}" for k, v in e["data"].items() if v is not None)
            for e in events
        ]
        emit(events, "\n".join(lines) or "(no events)", as_json)
        return
    print(coordination(events))


@app.command("report")
def report(
    since: SinceOpt = "8h",
    md: Annotated[Path | None, typer.Option("--md", help="Also write it as Markdown to this file.")] = None,
    hub: HubOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The morning report, from the event log and the agents' own transcripts (never from what an
    agent says about itself): what needs your attention first, then per agent asks, replies,
    timeouts, crashes, restarts, busy time, messages and tokens. Needs an admin token."""
    from bridge.hub.report import markdown

    async def job(client: HubClient) -> Any:
        return await client.call("GET", "/api/report", params={"since": since_epoch(since)})

    found = with_hub(None, hub, job, as_json)
    text = markdown(found)
    if md is not None:
        md.write_text(text, encoding="utf-8")
    emit(found, text, as_json)
