"""``agent-bridge init``: write a first, commented registry (:mod:`bridge.config.starter`)."""

from __future__ import annotations

from typing import Annotated

import typer

from bridge.cli.app import OPTS, app, emit, reported
from bridge.cli.params import JsonOpt


@app.command("init")
def init_command(
    vps: Annotated[
        str | None,
        typer.Option(
            "--vps", help="Also a VPS host at this address (its WireGuard address, a DNS name or an "
            "~/.ssh/config alias) with a Claude Code agent.", show_default=False,
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Write a commented registry where agent-bridge looks for one (--config, else
    $AGENT_BRIDGE_CONFIG, else ~/.config/agent-bridge/registry.toml); never overwrites a file."""
    from bridge.config.paths import registry_path  # lazy: `agent-bridge --help` stays fast
    from bridge.config.starter import write_starter

    path, origin = registry_path(OPTS.config)
    with reported(as_json):
        written = write_starter(path, vps)
    flag = f"--config {written} " if origin == "--config" else ""
    text = (
        f"wrote {written}\n"
        f"next: agent-bridge {flag}start demo && agent-bridge {flag}ask demo 'What is 6 x 7?'"
    )
    emit({"registry": str(written), "vps": vps}, text, as_json)
