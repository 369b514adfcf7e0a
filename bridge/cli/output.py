"""What the CLI prints: results (text, or one line of JSON) and errors (one line on stderr).

Plain functions without typer: the fast path (:mod:`bridge.cli.fastpath`) prints through them too,
so both paths print the same bytes. The ``agent-bridge: error: …`` line is built here only.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bridge.errors import BridgeError


def print_result(data: Any, text: str | None, as_json: bool) -> None:
    """Print ``data`` as one line of JSON when asked, else ``text`` (if any)."""
    if as_json:
        print(json.dumps(data, ensure_ascii=False, indent=None))
    elif text is not None:
        print(text)


def print_error(error: BridgeError, as_json: bool = False) -> None:
    """One line on stderr (what failed, and its hint); with ``--json`` also the error as a JSON
    object on stdout."""
    if as_json:
        print(json.dumps(error.to_dict(), ensure_ascii=False))
    print(f"agent-bridge: error: {error}", file=sys.stderr)


def note(text: str) -> None:
    """A line for the person at the terminal, on stderr (never part of the result)."""
    print(f"agent-bridge: {text}", file=sys.stderr)


def first_failure(rows: Sequence[dict[str, Any]]) -> int:
    """The exit code of the first row a check failed on (0: none did)."""
    return next((int(row["exit_code"]) for row in rows if row.get("exit_code")), 0)


def host_lines(rows: Sequence[dict[str, Any]], check: bool) -> str:
    """``agent-bridge hosts``: one line per host (with ``--check``: tmux and round trip)."""
    lines = []
    for row in rows:
        where = "local" if row["local"] else row["address"]
        line = f"{row['host']:<16} {where}"
        if check:
            line += (
                f"  ok  {row['tmux']}  rtt {row['rtt_ms']} ms"
                if row.get("reachable")
                else f"  UNREACHABLE  {row['error']}"
            )
        lines.append(line)
    return "\n".join(lines) or "(no hosts)"


def agent_lines(rows: Sequence[dict[str, Any]], check: bool) -> str:
    """``agent-bridge agents``: one line per agent (with ``--check``: its state)."""
    cells = [[row["agent"], row["host"], row["target"], row["profile"]] for row in rows]
    if check:
        for cell, row in zip(cells, rows, strict=True):
            cell.append(row["state"])
    for cell, row in zip(cells, rows, strict=True):
        if "error" in row:
            cell[-1] += f"  ({row['error']})"
    return table(cells) or "(no agents)"


def table(rows: Sequence[Sequence[str]]) -> str:
    """Rows of cells as aligned columns (each as wide as its widest cell; the last not padded)."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)] if rows else []
    return "\n".join(
        "  ".join([*(cell.ljust(width) for cell, width in zip(row, widths, strict=False)), row[-1]])
        for row in rows
    )


def profile_lines(rows: Sequence[dict[str, Any]]) -> str:
    """``agent-bridge profiles``: name, agent, version and file of each profile."""
    return table([[r["name"], r["agent"], r["version"], r["source"]] for r in rows])
