"""``agent-bridge doctor``: the checks of :mod:`bridge.doctor`, as a command.

It runs in this process on purpose (never through the broker): it checks this machine's own
tunnel and route.
"""

from __future__ import annotations

from typing import Annotated

import typer

from bridge.cli.app import app, emit, leave, run

NameArg = Annotated[
    str | None,
    typer.Argument(
        help="A host or agent from the registry (default: every host, then every agent).", show_default=False
    ),
]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print the checks as a JSON list on stdout.")]


@app.command()
def doctor(name: NameArg = None, as_json: JsonFlag = False) -> None:
    """Check the path to a host or agent step by step (WireGuard, RTT, SSH, host key, tmux,
    pane, profile, state, version) and say what to fix.

    Exit 0 if nothing failed, else the code of the first failure: 3 host, 4 pane/agent, 2 config.
    """
    from bridge.doctor import diagnose, exit_code, render  # lazy: `agent-bridge --help` stays fast

    checks = run(lambda bridge: diagnose(bridge, name), as_json=as_json)
    emit([c.to_dict() for c in checks], render(checks), as_json)
    leave(exit_code(checks))
