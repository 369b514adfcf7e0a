"""The whole ``agent-bridge`` CLI: the app of :mod:`bridge.cli.app` with every command module.

Importing a command module adds its commands to the app; the modules import nothing heavy at the
top, so that ``agent-bridge --help`` stays fast.
"""

from __future__ import annotations

from bridge.cli.app import app, execute

# The order of these imports is the order of the commands in `agent-bridge --help`.
# isort: off
from bridge.cli import agents, fleet, profiles, demo, starter, msg, record, hub, wg
from bridge.cli import swarm, bench, doctor, mcp, skill, watch, broker
# isort: on

COMMAND_MODULES = (
    agents, fleet, profiles, demo, starter, msg, record, hub, wg, swarm, bench, doctor, mcp, skill, watch,
    broker,
)  # fmt: skip

__all__ = ["COMMAND_MODULES", "app", "main"]


def main() -> None:
    """Run the full CLI (the console script's fast path, :mod:`bridge.cli.fastpath`, comes first)."""
    execute()
