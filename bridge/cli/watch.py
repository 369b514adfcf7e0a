"""``agent-bridge watch`` (a live, read-only view of a pane) and ``agent-bridge logs``.

The machinery is :mod:`bridge.watch`'s; these are its commands.
"""

from __future__ import annotations

import contextlib
import enum
import shutil
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from bridge.cli.app import OPTS, app, emit, fail, run
from bridge.errors import ConfigError

if TYPE_CHECKING:
    from bridge.api import Bridge


class LogAction(enum.StrEnum):
    start = "start"
    stop = "stop"
    show = "show"
    tail = "tail"


@app.command("watch")
def watch_command(
    agent: Annotated[str, typer.Argument(help="Agent name from the registry.", show_default=False)],
    interval: Annotated[
        float, typer.Option("--interval", "-i", min=0.05, help="Seconds between looks at the pane.")
    ] = 0.5,
    as_json: Annotated[
        bool, typer.Option("--json", help="Refused with a JSON error: a live view is not JSON.")
    ] = False,
) -> None:
    """Show the agent's pane live in this terminal (read-only; Ctrl-C quits).

    Redraws only when the pane changes. Nothing you type reaches the agent; to type into it, use `agent-bridge attach AGENT`.
    """  # noqa: E501
    from bridge.watch import terminal, watch  # lazy: `agent-bridge --help` stays fast

    if as_json or OPTS.json:
        fail(
            ConfigError(
                "watch is a live view, not JSON",
                hint="for the pane as JSON, use: agent-bridge screen AGENT --json",
            ),
            True,
        )
    if not sys.stdout.isatty():
        raise ConfigError(
            "watch needs a terminal",
            hint="for text, use: agent-bridge screen AGENT, or agent-bridge logs AGENT tail",
        )

    async def job(bridge: Bridge) -> None:
        with terminal(sys.stdout, sys.stdin):
            await watch(
                bridge,
                agent,
                interval=interval,
                out=sys.stdout,
                size=lambda: shutil.get_terminal_size((80, 24)),
            )

    with contextlib.suppress(KeyboardInterrupt):
        run(job)


@app.command("logs")
def logs_command(
    agent: Annotated[str, typer.Argument(help="Agent name from the registry.", show_default=False)],
    action: Annotated[LogAction, typer.Argument(help="start | stop | show | tail", show_default=False)],
    lines: Annotated[int, typer.Option("--lines", "-n", min=0, help="tail: how many lines.")] = 40,
    turns: Annotated[
        bool,
        typer.Option("--turns", help="show: the conversation as turns (prompt, reply), not every redraw."),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")] = False,
) -> None:
    """Log the agent's pane to a dated file on its host (start/stop) and read it back (show/tail).

    The file is ~/.local/state/agent-bridge/logs/AGENT-YYYY-MM-DD.log on the agent's host (mode 0600), fed by `tmux pipe-pane`; show and tail print it with terminal escape codes removed.
    """  # noqa: E501
    from bridge.watch import log_read, log_start, log_stop  # lazy: see watch_command

    if action in (LogAction.start, LogAction.stop):
        fn = log_start if action is LogAction.start else log_stop
        st = run(lambda b: fn(b, agent), as_json=as_json)
        if action is LogAction.start:
            text = (
                f"logging {agent} ({st.pane} on {st.host}) to {st.path}"
                if st.changed
                else f"{agent} is already logging (to {st.path or 'a file'})"
            )
        else:
            text = f"stopped logging {agent}" if st.changed else f"{agent} was not logging"
        emit(st.to_dict(), text, as_json)
        return
    if turns and action is LogAction.show:
        from bridge.watch import log_turns

        found = run(lambda b: log_turns(b, agent), as_json=as_json)
        text = "\n\n".join(
            f"> {t['prompt']}\n" + "\n".join("  " + line for line in t["reply"].splitlines()) for t in found
        )
        emit({"agent": agent, "turns": found}, text or "(no turns on its screen)", as_json)
        return
    count = lines if action is LogAction.tail else None
    path, text = run(lambda b: log_read(b, agent, lines=count), as_json=as_json)
    emit({"agent": agent, "path": path, "text": text}, text, as_json)
