"""``agent-bridge _broker``: the background broker's own process (hidden; :mod:`bridge.broker`
starts it with ``python -m bridge _broker --socket PATH --idle S``)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from bridge.cli.app import app, run_async


@app.command("_broker", hidden=True)
def broker_command(
    socket: Annotated[Path, typer.Option("--socket", help="The unix socket to listen on.")],
    idle: Annotated[float, typer.Option("--idle", help="Exit after this many idle seconds.")],
) -> None:
    """Run the broker in the foreground until it has been idle for IDLE seconds."""
    from bridge.broker import Broker  # lazy: `agent-bridge --help` stays fast

    logging.basicConfig(level=logging.INFO, format="%(asctime)s broker %(name)s: %(message)s")
    logging.getLogger("asyncssh").setLevel(logging.WARNING)  # it would log every command line
    run_async(lambda: Broker(socket, idle).serve())
