"""The morning report: what happened since a time, computed from the event log (what the bridge
saw and what clients recorded) and the agents' own transcripts, never from what an agent says
about itself (notes are listed apart, as self-reported).

``--json`` is a stable contract::

    {"since", "until",
     "attention": [{"agent", "kind", "detail"}],
     "agents": {NAME: {"asks", "replies", "timeouts", "crashes", "restarts", "busy_s",
                       "messages_in", "messages_out", "tokens": {MODEL: {...}}, "files", "notes"}}}

``asks`` counts every ask of that agent by any client; ``restarts`` every restart the supervisor
or a person made.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import defaultdict
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from bridge.errors import BridgeError
from bridge.hub.models import Event
from bridge.hub.store.schema import messages, threads
from bridge.usage import agent_calls

if TYPE_CHECKING:
    from bridge.hub.server import Hub

__all__ = ["DEFAULT_SINCE_S", "build_report", "markdown"]

DEFAULT_SINCE_S = 8 * 3600.0
UNREAD_S = 3600.0  # unread messages older than this need attention
EXTENSIONS = "py|md|txt|json|toml|ya?ml|ts|tsx|js|rs|go|sh|html|css|sql|csv"
FILES = re.compile(rf"(?<![\w/.-])((?:[\w.-]+/)*[\w-]+\.(?:{EXTENSIONS}))\b")  # files a reply names


def _busy(events: list[Event], until: float) -> float:
    """Seconds in state ``busy``, from the state events (oldest first)."""
    total, began = 0.0, None
    for event in events:
        if began is not None:
            total += event.at - began
            began = None
        if event.data.get("state") == "busy":
            began = event.at
    return total + (until - began if began is not None else 0.0)


def _price(model: str, prices: dict[str, Any]) -> Any:
    matches = [prefix for prefix in prices if model.startswith(prefix)]
    return prices[max(matches, key=len)] if matches else None


async def _tokens(hub: Hub, agent: str, since: float) -> dict[str, dict[str, Any]]:
    """Tokens by model from the agent's transcript, for calls since ``since``, with a cost
    estimate where the registry's price table has the model."""
    try:
        calls = await agent_calls(hub.bridge, agent, since=since)
    except BridgeError:
        return {}
    by: dict[str, dict[str, Any]] = {}
    prices = hub.registry.model.prices
    for call in calls or []:
        row = by.setdefault(call.model or "unknown", {"input": 0, "output": 0, "cached": 0, "calls": 0})
        row["input"] += call.input
        row["output"] += call.output
        row["cached"] += call.cached
        row["calls"] += 1
    for model, row in by.items():
        price = _price(model, prices)
        if price is not None:
            cost = row["input"] * price.input + row["output"] * price.output + row["cached"] * price.cached
            row["cost_usd"] = round(cost / 1e6, 4)
    return by


async def build_report(hub: Hub, *, since: float | None = None, until: float | None = None) -> dict[str, Any]:
    """The report of what happened between ``since`` (default 8 h ago) and ``until`` (now)."""
    until = time.time() if until is None else until
    since = until - DEFAULT_SINCE_S if since is None else since
    seen = [e for e in await hub.events.since(0, since_time=since, limit=1_000_000) if e.at <= until]
    agents = list(hub.registry.agents)
    rows: dict[str, dict[str, Any]] = {}
    by_agent: dict[str, list[Event]] = defaultdict(list)
    for event in seen:
        if event.agent:
            by_agent[event.agent].append(event)
    tokens = await asyncio.gather(*(_tokens(hub, name, since) for name in agents))
    for name, used in zip(agents, tokens, strict=True):
        mine = by_agent.get(name, [])
        asks = [e for e in mine if e.kind == "ask"]
        replies = [e for e in mine if e.kind in ("ask", "approve") and e.data.get("outcome") == "replied"]
        texts = [str((e.data.get("reply") or {}).get("text", "")) for e in replies]
        files = sorted({name for text in texts for name in FILES.findall(text)})
        rows[name] = {
            "asks": len(asks),
            "replies": len(replies),
            "timeouts": sum(e.data.get("outcome") == "timeout" for e in asks),
            "crashes": sum(e.kind == "crash" for e in mine),
            "restarts": sum(e.kind == "restart" and e.data.get("outcome") == "ok" for e in mine),
            "busy_s": round(_busy([e for e in mine if e.kind == "state"], until), 1),
            "messages_in": sum(e.kind == "message" for e in mine),
            "messages_out": sum(e.kind == "message" and e.actor == name for e in seen),
            "tokens": used,
            "files": files,
            "notes": [{"at": e.at, "text": e.data.get("text")} for e in mine if e.kind == "note"],
        }
    return {"since": since, "until": until, "attention": await _attention(hub, seen), "agents": rows}


async def _attention(hub: Hub, seen: list[Event]) -> list[dict[str, Any]]:
    """What waits for a person: permission questions still open, agents failed or dead, asks
    that timed out, unread messages older than an hour."""
    found: list[dict[str, Any]] = []
    for name in hub.registry.agents:
        state = hub.states.get(name, {}).get("state")
        if state == "permission":
            asked = [e for e in seen if e.agent == name and e.data.get("outcome") == "permission"]
            detail = asked[-1].data.get("detail") if asked else "a permission question is waiting"
            found.append({"agent": name, "kind": "permission", "detail": detail})
        elif state in ("failed", "dead"):
            found.append({"agent": name, "kind": state, "detail": f"the agent is {state}"})
    for event in seen:
        if event.kind == "ask" and event.data.get("outcome") == "timeout":
            found.append({"agent": event.agent, "kind": "timeout", "detail": event.data.get("detail")})
        elif event.kind == "task" and event.data.get("outcome") == "failed":  # a swarm's task, given up
            data = event.data
            detail = f"task {data.get('task')!r} of {data.get('plan')}: {data.get('reason')}"
            found.append({"agent": event.agent, "kind": "task-failed", "detail": detail})
    old = time.time() - UNREAD_S
    query = (
        sa.select(messages.c.recipient, sa.func.count(), sa.func.min(messages.c.created_at))
        .join(threads, threads.c.id == messages.c.thread_id)
        .where(messages.c.read_at.is_(None), messages.c.created_at < old, threads.c.closed_at.is_(None))
        .group_by(messages.c.recipient)
    )
    async with hub.store.begin() as conn:
        for recipient, count, oldest in (await conn.execute(query)).all():
            hours = (time.time() - float(oldest)) / 3600
            found.append({"agent": recipient, "kind": "unread",
                          "detail": f"{count} unread message(s), the oldest {hours:.1f} h old"})  # fmt: skip
    return found


def _when(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(epoch))


def markdown(report: dict[str, Any]) -> str:
    """The report as Markdown: what needs attention first, then one section per agent."""
    lines = [f"# agent-bridge report, {_when(report['since'])} to {_when(report['until'])}", ""]
    lines += ["## Needs your attention", ""]
    attention = [f"- **{a['agent']}** ({a['kind']}): {a['detail']}" for a in report["attention"]]
    lines += attention or ["- nothing"]
    for name, row in report["agents"].items():
        lines += ["", f"## {name}", ""]
        lines.append(f"- asks {row['asks']}, replies {row['replies']}, timeouts {row['timeouts']}; "
                     f"crashes {row['crashes']}, restarts {row['restarts']}; "
                     f"busy {row['busy_s'] / 60:.1f} min; "
                     f"messages in {row['messages_in']}, out {row['messages_out']}")  # fmt: skip
        for model, used in row["tokens"].items():
            cost = f", about ${used['cost_usd']}" if "cost_usd" in used else ""
            lines.append(f"- tokens ({model}): {used['input']} in, {used['output']} out, "
                         f"{used['cached']} cached in {used['calls']} calls{cost}")  # fmt: skip
        if row["files"]:
            lines.append("- files named in its replies: " + ", ".join(f"`{f}`" for f in row["files"]))
        for note in row["notes"]:
            lines.append(f"- note (self-reported, {_when(note['at'])}): {note['text']}")
    return "\n".join(lines) + "\n"
