"""The event log's intake: every client of a registry with ``[hub]`` sends the record of each
operation it ran (:mod:`bridge.evidence`), the hub keeps it with who sent it; agents' own notes
are kept apart, as self-reported.

* :func:`connect` (a :data:`bridge.api.Bridge.hooks` hook, added by the CLI): a Bridge whose
  registry names a hub, with a token to reach it, sends its records there;
* :func:`keep_locally`: the hub's own Bridge records straight into the log;
* :func:`accept`: what the hub does with a record a client sent.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from bridge.errors import BridgeError, ConfigError
from bridge.evidence import RECORDED, REPORTED, Recorder
from bridge.hub.models import Event, Identity

if TYPE_CHECKING:
    from bridge.api import Bridge
    from bridge.hub.events import EventLog

__all__ = ["NOTE", "accept", "connect", "keep_locally"]

log = logging.getLogger("bridge.hub.evidence")
NOTE = "note"  # an agent's own words about itself (`agent-bridge note`): kept, never counted as seen
RESERVED = frozenset({"kind", "agent", "actor"})
MAX_NOTE = 20_000


def connect(bridge: Bridge) -> None:
    """Send ``bridge``'s records to the hub its registry names, if it has a token for it."""
    from bridge.hub.client import HubClient  # lazy: only for a registry with a [hub]

    spec = bridge.registry.model.hub
    try:  # the hub's URL with a token, or the hub running on this machine (its private socket)
        client = HubClient.configured(spec)
    except BridgeError as exc:
        log.debug("no event log: %s", exc)
        return
    if not client.token and not client.local:
        return

    async def send(kind: str, agent: str | None, data: dict[str, Any]) -> None:
        await client.call("POST", "/api/events", {"kind": kind, "agent": agent, "data": data})

    bridge.recorder = Recorder(send, keep_text=spec.log_text, close=client.close)


def keep_locally(bridge: Bridge, events: EventLog, *, actor: str = "hub") -> None:
    """The hub's own Bridge (its supervisor, its pager) records into ``events`` directly."""

    async def send(kind: str, agent: str | None, data: dict[str, Any]) -> None:
        await events.add(kind, agent=agent, actor=actor, **_clean(data))

    bridge.recorder = Recorder(send, keep_text=bridge.registry.model.hub.log_text)


def _clean(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if key not in RESERVED}


async def accept(events: EventLog, agents: set[str], who: Identity, body: dict[str, Any]) -> Event:
    """Keep a record a client sent (``{"kind", "agent", "data"}``), or a note (``{"kind":
    "note", "text"}``: an agent's notes are about itself), with who sent it as the actor."""
    kind, agent, data = body.get("kind"), body.get("agent"), body.get("data") or {}
    if kind == NOTE:
        text = body.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ConfigError("a note needs some text")
        if len(text) > MAX_NOTE:
            raise ConfigError(f"a note is at most {MAX_NOTE} characters")
        about = who.agent or (agent if isinstance(agent, str) else None)
        return await events.add(NOTE, agent=about, actor=who.name, text=text, self_reported=True)
    if kind not in RECORDED | REPORTED:
        known = ", ".join(sorted(RECORDED | REPORTED))
        raise ConfigError(f"not an event a client records: {kind!r} (one of {known})")
    if agent is not None and agent not in agents:
        raise ConfigError(f"no agent {agent!r} in the hub's registry")
    if not isinstance(data, dict):
        raise ConfigError("an event's data must be a JSON object")
    return await events.add(str(kind), agent=agent, actor=who.name, **_clean(data))
