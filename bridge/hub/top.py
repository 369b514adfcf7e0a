"""``agent-bridge top``: the dashboard in a terminal (rich), refreshed live from the hub."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from bridge.hub.models import Event

STYLES = {"idle": "green", "busy": "yellow", "permission": "bold red", "dead": "bold red",
          "failed": "bold red", "unreachable": "red", "missing": "red", "menu": "cyan",
          "dialog": "cyan"}  # fmt: skip


def ago(epoch: float | None, now: float) -> str:
    if not epoch:
        return "—"
    seconds = max(0, int(now - epoch))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def count(n: int) -> str:
    return f"{n / 1e6:.1f}M" if n >= 1_000_000 else f"{round(n / 1e3)}k" if n >= 10_000 else str(n)


def tokens(used: dict[str, Any] | None) -> str:
    """Tokens from the agent's transcript: in / out (cached); "—" where its CLI keeps none."""
    if not used:
        return "—"
    cached = f" ({count(used['cached'])} cached)" if used.get("cached") else ""
    return f"{count(used['input'])} in / {count(used['output'])} out{cached}"


def render(agents: Sequence[dict[str, Any]], events: Sequence[Event], *, now: float | None = None) -> Group:
    """The agents table and the latest events, as one renderable."""
    now = time.time() if now is None else now
    table = Table(title="agents", title_justify="left", expand=True)
    for column in ("agent", "host", "state", "model", "last activity", "unread", "tokens", "waiting"):
        table.add_column(column, no_wrap=column != "waiting")
    for row in agents:
        state = str(row.get("state") or "unknown")
        table.add_row(
            str(row["agent"]), str(row.get("host") or ""), Text(state, style=STYLES.get(state, "")),
            str(row.get("model") or "—"), ago(row.get("last_activity"), now), str(row.get("unread", 0)),
            tokens(row.get("tokens")), str(row.get("waiting") or ""),
        )  # fmt: skip
    log = Table(title="events", title_justify="left", expand=True, show_header=False, box=None)
    log.add_column("when", no_wrap=True, style="dim")
    log.add_column("what", no_wrap=True)
    log.add_column("who", no_wrap=True)
    log.add_column("detail")
    for event in events[-15:]:
        detail = " ".join(f"{k}={v}" for k, v in event.data.items() if v is not None)
        who = (event.agent or "") + (f" (by {event.actor})" if event.actor else "")
        log.add_row(time.strftime("%H:%M:%S", time.localtime(event.at)), event.kind, who, detail)
    return Group(table, log)
