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
    lines = []
    for row in rows:
        line = f"{row['agent']:<16} {row['host']:<12} {row['target']:<20} {row['profile']}"
        if check:
            line += f"  {row['state']}"
        if "error" in row:
            line += f"  ({row['error']})"
        lines.append(line)
    return "\n".join(lines) or "(no agents)"


def profile_lines(rows: Sequence[dict[str, Any]]) -> str:
    """``agent-bridge profiles``: name, agent, version and file of each profile."""
    return "\n".join(f"{r['name']:<14} {r['agent']:<14} {r['version']:<10} {r['source']}" for r in rows)
