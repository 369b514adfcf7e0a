"""Which command starts an agent and which resumes it into *its own* session.

An agent CLI keeps its conversations as sessions with ids. ``--continue`` / ``--last`` resume the
newest session in the folder, which is another agent's when several share it; so the bridge knows
each pane's session id and resumes exactly that one:

* a ``start`` command (the agent's, else its profile's) holding ``{session_id}`` (Claude Code:
  ``claude --session-id {session_id}``) gets a new id the bridge chooses, written on the pane
  (tmux option ``@agent_bridge_session``) before the command is typed;
* a CLI that picks its own id has it learnt from its transcript after the first reply the bridge
  reads there (:meth:`bridge.transcripts.TranscriptReader.session_of`);
* ``resume`` (the agent's, else its profile's where the agent runs the profile's program)
  holding ``{session_id}`` is filled with the pane's id; with no id known, the profile's
  ``resume_last`` (``claude --continue``) runs, else ``start``.
"""

from __future__ import annotations

import os
import re
import shlex
import uuid
from dataclasses import dataclass

from bridge.config import Agent
from bridge.errors import ConfigError
from bridge.profiles import Profile

__all__ = ["PLACEHOLDER", "Launch", "resume_command", "start_command", "valid_session_id"]

PLACEHOLDER = "{session_id}"
_SESSION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def valid_session_id(value: str) -> bool:
    """A session id safe to put in a shell command unquoted (letters, digits, ``._-``)."""
    return bool(_SESSION_ID.match(value))


@dataclass(frozen=True)
class Launch:
    """A command to type into the agent's shell, and the session id it runs (where known)."""

    command: str
    session_id: str | None = None


def start_command(agent: Agent, profile: Profile) -> Launch | None:
    """The agent's start (registry, else profile), with a new session id where it takes one;
    ``None`` when neither names a command."""
    template = agent.spec.start or profile.start
    if not template:
        return None
    if PLACEHOLDER not in template:
        return Launch(template)
    session_id = str(uuid.uuid4())
    return Launch(template.replace(PLACEHOLDER, session_id), session_id)


def _program(command: str | None) -> str:
    try:
        words = shlex.split(command or "")
    except ValueError:
        return ""
    return os.path.basename(words[0]) if words else ""


def _runs_profile_program(agent: Agent, profile: Profile) -> bool:
    """The profile's resume fits an agent started the profile's way: its own ``start`` (if any)
    runs the program the profile's ``start`` runs (``claude`` for ``claude --verbose``)."""
    return not agent.spec.start or _program(agent.spec.start) == _program(profile.start)


def resume_command(agent: Agent, profile: Profile, session_id: str) -> Launch:
    """How to bring the dead agent back into its session ``session_id`` (``""``: unknown).

    The agent's ``resume``; else the profile's, where the agent runs the profile's program
    (another program, e.g. ``python3 -m …``, is started again with the agent's ``start``)."""
    template = agent.spec.resume or (profile.resume if _runs_profile_program(agent, profile) else None)
    if template and PLACEHOLDER in template:
        if valid_session_id(session_id):
            return Launch(template.replace(PLACEHOLDER, session_id), session_id)
        # No id known: the profile's "newest session there is", at best; an agent with its own
        # resume is started afresh its own way (never into a session that may be another's).
        template = None if agent.spec.resume else profile.resume_last
    if template:
        return Launch(template, session_id or None)
    started = start_command(agent, profile)
    if started is None:
        raise ConfigError(
            f"no command to restart {agent.name} with",
            hint=f'add start = "..." (or resume = "...") under [agents.{agent.name}]',
        )
    return started
