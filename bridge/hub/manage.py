"""What the hub's owner does on the hub's machine: mint tokens (through the running hub's private
socket, or straight into the store when no hub runs: the store still has one opener at a time)."""

from __future__ import annotations

import os

from bridge.config.registry import Registry
from bridge.errors import HubUnreachableError, UnknownAgentError
from bridge.hub import tokens
from bridge.hub.client import HubClient
from bridge.hub.server import socket_path
from bridge.hub.store.engine import open_store


async def mint_token(config: str | os.PathLike[str] | None, agent: str | None, *, admin: bool = False) -> str:
    """A new token for ``agent`` (or an admin token); the only time it is seen in clear."""
    registry = Registry.from_cli(config)
    if agent is not None and agent not in registry.agents:
        raise UnknownAgentError(
            f"no agent {agent!r} in {registry.path}", hint="agent-bridge agents lists them"
        )
    if socket_path().exists():
        try:
            async with HubClient(None, None) as hub:
                return await hub.mint(agent, admin=admin)
        except HubUnreachableError:
            pass  # a dead hub's socket: the store tells whether another hub owns it
    store = await open_store(registry.model.hub.store)
    try:
        return await tokens.mint(store, agent, admin=admin)
    finally:
        await store.close()
