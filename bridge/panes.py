"""Where each agent's pane is: resolved through tmux from the registry's target, and remembered
between the calls of one :class:`~bridge.api.Bridge`.

A remembered pane saves a warm ask its resolving round trip; the driver's first look then
confirms it (the same tmux server, pane id and target), or the caller resolves it again.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass

from bridge.config import Target
from bridge.config.registry import Agent
from bridge.driver.pane import Pane
from bridge.errors import TargetNotFoundError
from bridge.tmux import PaneFacts, Tmux, mismatch

__all__ = ["AgentPane", "Panes", "same_pane"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AgentPane(Pane):
    """An agent's pane, resolved: a :class:`Pane` handle (tmux on its host and the stable pane
    id) for ``agent``."""

    agent: Agent
    facts: PaneFacts | None = None  # what tmux said about it when it was resolved
    remembered: bool = False  # resolved by an earlier call, not checked yet

    def expect(self) -> Callable[[PaneFacts], bool] | None:
        """For a remembered pane, what its first look must confirm (see :func:`same_pane`)."""
        if not self.remembered or self.facts is None:
            return None
        return functools.partial(same_pane, self.agent.spec.target, self.facts)


def same_pane(target: str, known: PaneFacts, facts: PaneFacts) -> bool:
    """Is ``facts`` still the pane ``known`` was (same tmux server, same id, still ``target``)?"""
    same = facts.pane_id == known.pane_id and facts.server_pid == known.server_pid
    return same and mismatch(target, facts) is None


class Panes:
    """Resolves agents to their panes with ``tmux(host name, session)`` and remembers each."""

    def __init__(self, tmux: Callable[[str, str | None], Tmux]) -> None:
        self._tmux = tmux
        # (host, target) -> the pane it named last time.
        self._resolved: dict[tuple[str, str], PaneFacts] = {}

    async def resolve(self, agent: Agent, *, remembered: bool = False) -> AgentPane:
        """The agent's pane (raises if the target is missing).

        With ``remembered``, a pane resolved by an earlier call is returned as is
        (:attr:`AgentPane.remembered`): the caller must confirm it with its first look.
        """
        target = agent.spec.target
        key = (agent.host_name, target)
        known = self._resolved.get(key)
        if remembered and known is not None:
            return AgentPane(self._tmux(agent.host_name, known.session), known.pane_id, agent, known, True)
        if not target.startswith("%"):
            session = Target.parse(target).session
        elif known is not None:
            session = known.session
        else:  # a pane id names no session: one look (one exec) tells which to attach to
            session = (await self._tmux(agent.host_name, None).facts(target)).session
        tmux = self._tmux(agent.host_name, session)
        try:
            facts = await tmux.resolve_facts(target)
        except TargetNotFoundError:
            self._resolved.pop(key, None)
            raise
        self._resolved[key] = facts
        where = "this machine" if agent.host.local else f"{agent.host_name} ({agent.host.address}, ssh)"
        log.info("%s: %s is pane %s on %s, running %s", agent.name, target, facts.pane_id, where,
                 facts.current_command)  # fmt: skip
        return AgentPane(tmux, facts.pane_id, agent, facts)

    def forget(self, agent: Agent) -> None:
        """Resolve the agent's target afresh next time."""
        self._resolved.pop((agent.host_name, agent.spec.target), None)
