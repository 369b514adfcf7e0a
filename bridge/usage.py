"""Tokens an agent used and the model it talks to, from its own session transcript.

Read on the agent's host over the bridge's connection, from the file the profile's transcript path
names for the pane's session (the newest in the folder when the session is not known yet: then
``exact`` is false, as another agent sharing the folder may own it). Each model call counts once
(see :meth:`bridge.transcripts.TranscriptReader.usage`).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from bridge.transcripts import TokenUsage, reader_for

if TYPE_CHECKING:
    from bridge.api import Bridge

__all__ = ["AgentUsage", "agent_calls", "agent_usage", "total"]


@dataclass(frozen=True)
class AgentUsage:
    """One agent's token use in its session so far, and the model of its last call."""

    agent: str
    session_id: str | None
    exact: bool  # read from the pane's own session file (not the newest in its folder)
    model: str | None
    calls: int
    input: int
    output: int
    cached: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def total(agent: str, calls: list[TokenUsage], session_id: str | None) -> AgentUsage:
    """Sum the calls of one transcript."""
    return AgentUsage(
        agent=agent,
        session_id=session_id,
        exact=session_id is not None,
        model=next((c.model for c in reversed(calls) if c.model), None),
        calls=len(calls),
        input=sum(c.input for c in calls),
        output=sum(c.output for c in calls),
        cached=sum(c.cached for c in calls),
    )


async def _calls(bridge: Bridge, name: str) -> tuple[list[TokenUsage], str] | None:
    agent = bridge.registry.agent(name)
    profile = bridge.profile(agent.spec.profile)
    reader = reader_for(profile.transcript.kind)
    if reader is None:
        return None
    pane = await bridge.pane(name)
    facts = pane.facts or await pane.current_facts()
    text = await reader.fetch(pane.tmux.transport, pane_pid=facts.pid, cwd=facts.current_path,
                              rules=profile.transcript, session_id=facts.session_id)  # fmt: skip
    return (reader.usage(text) if text else []), facts.session_id


async def agent_calls(bridge: Bridge, name: str, *, since: float = 0.0) -> list[TokenUsage] | None:
    """The agent's model calls since ``since`` (epoch) from its transcript; ``None`` if its
    profile keeps no transcript it can read."""
    found = await _calls(bridge, name)
    if found is None:
        return None
    after = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(since))
    return [c for c in found[0] if (c.when or "") >= after]


async def agent_usage(bridge: Bridge, name: str, *, day: str | None = None) -> AgentUsage | None:
    """The agent's usage from its transcript (only calls made on ``day``, ``YYYY-MM-DD`` UTC, when
    given); ``None`` if its profile keeps no transcript it can read."""
    found = await _calls(bridge, name)
    if found is None:
        return None
    calls, session_id = found
    if day is not None:
        calls = [c for c in calls if (c.when or "").startswith(day)]
    return total(name, calls, session_id or None)
