"""``agent-bridge hub``: run the hub (``serve``) and mint tokens for it (``token``).

The hub stores messages between agents, wakes a sleeping agent's pane with a one-line nudge, keeps
the event log and serves the dashboard. See :mod:`bridge.hub.server`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from bridge.cli.app import OPTS, app, command_group, emit, run_async
from bridge.cli.params import JsonOpt

hub_app = command_group(
    "The hub: messages between agents, a pager that wakes a sleeping agent, the event log and "
    "a live dashboard. Run `agent-bridge hub serve` on one machine (the VPS); mint a token per "
    "agent with `agent-bridge hub token AGENT`.",
    no_args_is_help=True,
)
app.add_typer(hub_app, name="hub")


@hub_app.command("serve")
def serve(
    listen: Annotated[
        str | None,
        typer.Option(
            "--listen",
            help="ADDR:PORT to serve on (default: [hub] listen, else "
            "127.0.0.1:7878). Give the WireGuard address for other machines; 0.0.0.0 only "
            "if you mean every address.",
            show_default=False,
        ),
    ] = None,
    store: Annotated[
        str | None,
        typer.Option(
            "--store",
            help="A SQLite file or a postgresql:// URL (default: [hub] store, "
            "else ~/.local/state/agent-bridge/hub.db).",
            show_default=False,
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Say where it serves as one JSON line on stdout.")
    ] = False,
) -> None:
    """Run the hub in the foreground until Ctrl-C (one process owns the store)."""
    from bridge.config.registry import Registry
    from bridge.hub.server import Hub, parse_listen  # lazy: `agent-bridge --help` stays fast

    async def main() -> None:
        registry = Registry.from_cli(OPTS.config)
        address = parse_listen(listen or registry.model.hub.listen)
        hub = await Hub.open(registry, store)
        try:
            host, port = address
            where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
            url = f"http://{where}/"

            def ready() -> None:
                if as_json or OPTS.json:
                    print(json.dumps({"serving": url, "store": hub.store.label}), flush=True)
                else:
                    print(f"agent-bridge hub: serving {url} (store: {hub.store.label}); Ctrl-C stops it",
                          file=sys.stderr, flush=True)  # fmt: skip

            await hub.serve(address, ready=ready)
        finally:
            await hub.close()

    try:
        run_async(main, as_json=as_json)
    except KeyboardInterrupt:
        print("agent-bridge hub: stopped", file=sys.stderr)


@hub_app.command("token")
def token(
    agent: Annotated[
        str | None, typer.Argument(help="The agent the token is for.", show_default=False)
    ] = None,
    admin: Annotated[bool, typer.Option("--admin", help="A token for people and the dashboard.")] = False,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Write the token to FILE (0600) instead of printing it.",
            show_default=False,
            dir_okay=False,
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Mint a token for AGENT (or --admin). It is shown once and stored hashed; run this on the hub's
    machine (it asks the running hub, or opens its store when none runs)."""
    from bridge.errors import ConfigError  # lazy: see serve
    from bridge.hub.manage import mint_token

    if (agent is None) == (not admin):
        raise ConfigError("name one AGENT, or give --admin", hint="agent-bridge hub token claude")

    async def main() -> str:
        return await mint_token(OPTS.config, agent, admin=admin)

    value = run_async(main, as_json=as_json)
    who = "admin" if admin else agent
    if output is not None:
        from bridge.hub.client import write_token_file

        write_token_file(output, value)
        emit(
            {"agent": agent, "admin": admin, "file": str(output)},
            f"wrote {who}'s token to {output} (0600)",
            as_json,
        )
        return
    emit({"agent": agent, "admin": admin, "token": value}, value, as_json)
