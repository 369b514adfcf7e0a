"""``agent-bridge bench AGENT``: the measurements of :mod:`bridge.bench`, as a command."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from bridge.cli.app import app, emit, run
from bridge.cli.output import note

BenchAgent = Annotated[str, typer.Argument(help="Agent name from the registry (nothing is typed into it).")]
Samples = Annotated[
    int,
    typer.Option("-n", "--samples", min=1, max=1000,
                 help="Samples of the round trip, the exchange and the 14 KB prompt (their medians and "
                 "spread; a fresh connection and the cold CLI: at most 3 and 5)."),
]  # fmt: skip
BenchJson = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]


@app.command("bench")
def bench_command(agent: BenchAgent, n: Samples = 20, as_json: BenchJson = False) -> None:
    """Measure RTT, connect, exchange, cold CLI call and a 14 KB prompt on AGENT's host.

    Uses a scratch echo agent (a new `ab-bench-*` window running bash in AGENT's tmux
    session, removed afterwards); AGENT itself is never typed into.
    """
    from bridge.bench import measure, render  # lazy: `agent-bridge --help` stays fast

    if sys.stderr.isatty() and not as_json:
        note(f"measuring next to {agent} ({n} samples) ...")
    result = run(lambda bridge: measure(bridge, agent, n), as_json=as_json)
    emit(result, render(result), as_json)
