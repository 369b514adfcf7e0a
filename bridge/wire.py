"""The operations' requests and results (:mod:`bridge.ops`): what crosses the broker's socket as
each model's JSON, and what ``--json`` prints.

A result's JSON holds the fields the operation set: an optional field (a host's round trip after
``--check``, an agent's error) is absent when it does not apply, never ``null`` (:meth:`Result.to_json`).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from bridge.driver import Reply

__all__ = [
    "AgentReply",
    "AgentRequest",
    "AgentRow",
    "AgentsRequest",
    "Answered",
    "ApproveRequest",
    "AskRequest",
    "HostRow",
    "HostsRequest",
    "KeysRequest",
    "KeysResult",
    "ModelRequest",
    "ModelResult",
    "ReplyRequest",
    "Request",
    "RestartRequest",
    "RestartResult",
    "Result",
    "ScreenRequest",
    "ScreenResult",
    "SendRequest",
    "SendResult",
    "StartRequest",
    "StartResult",
    "StateRequest",
    "StateResult",
]


class Request(BaseModel):
    """What a caller asks for; sent over the broker's socket as this model's JSON."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class AgentRequest(Request):
    agent: str


class Result(BaseModel):
    """What an operation answers; its JSON holds the fields that were set."""

    model_config = ConfigDict(extra="forbid")

    def to_json(self) -> dict[str, Any]:
        """The JSON-ready form (as printed by ``--json``): the fields that were set, in order."""
        return self.model_dump(mode="json", exclude_unset=True)


# -- requests and results -----------------------------------------------------------------------


class HostsRequest(Request):
    check: bool = False  # connect to each host: reachability, tmux version, round trip


class HostRow(Result):
    host: str
    local: bool
    address: str | None
    reachable: bool | None = None  # this and the rest: with check only
    tmux: str | None = None
    connect_ms: float | None = None
    rtt_ms: float | None = None
    error: str | None = None
    exit_code: int | None = None  # with check, when the host could not be used


class AgentsRequest(Request):
    check: bool = False  # look at each agent's pane


class AgentRow(Result):
    agent: str
    host: str
    target: str
    profile: str
    state: str | None = None  # with check only
    error: str | None = None  # what stops it on use (its profile, its key), or, with check, why its
    exit_code: int | None = None  # pane could not be looked at; and the exit code that error has


class ScreenRequest(AgentRequest):
    ansi: bool = False
    history: int = Field(default=0, ge=0)


class ScreenResult(Result):
    agent: str
    screen: str


class SendRequest(AgentRequest):
    text: str
    enter: bool = True
    strip_controls: bool = False


class SendResult(Result):
    agent: str
    sent: int
    removed_controls: int


class KeysRequest(AgentRequest):
    keys: list[str]


class KeysResult(Result):
    agent: str
    keys: list[str]


class StartRequest(AgentRequest):
    pass


class StartResult(Result):
    agent: str
    pane: str
    created: bool
    started: bool
    already_running: bool
    state: str | None = None  # what the agent showed once started (None: not started)
    session_id: str | None = None  # the agent session the pane runs, where known


class AskRequest(AgentRequest):
    prompt: str
    timeout: float | None = None
    model: str | None = None
    strip_controls: bool = False


class AgentReply(Result):
    """An agent's answer to a prompt (from ``ask``, or ``approve`` with ``wait``)."""

    agent: str
    reply: str
    state: str
    source: str  # "transcript" or "screen"
    model: str | None
    elapsed_s: float
    removed_controls: int | None = None  # set by an ask with strip_controls: how many were dropped

    @classmethod
    def of(cls, reply: Reply) -> AgentReply:
        return cls.model_validate(reply.to_dict())


class ReplyRequest(AgentRequest):
    """The agent's last completed reply (``agent-bridge reply AGENT``)."""


class StateRequest(AgentRequest):
    question: bool = False  # in state permission, also read the question and its options


class StateResult(Result):
    agent: str
    state: str
    command: str | None
    pane: str
    question: str | None = None  # with question, in state permission
    options: list[str] | None = None


class ModelRequest(AgentRequest):
    name: str  # a row number, a label, or a prefix of it
    timeout: float = 60.0
    save: bool = False  # make it the user's default (else this session only, where offered)


class ModelResult(Result):
    agent: str
    model: str


class ApproveRequest(AgentRequest):
    answer: str = "yes"
    wait: bool = False
    timeout: float | None = None


class Answered(Result):
    agent: str
    answered: str
    state: str


class RestartRequest(AgentRequest):
    timeout: float = 60.0


class RestartResult(Result):
    agent: str
    state: str
    session_id: str | None = None  # the session it was resumed into, where known
