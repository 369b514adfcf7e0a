"""Typed operations over a :class:`~bridge.api.Bridge`: one request and one result model each.

Every caller runs the same functions: the CLI (in this process, or through the broker), its fast
path, the broker (which carries requests and results over its socket as these models' JSON,
through :func:`call`) and the MCP server (which calls the functions directly).

The requests and results are :mod:`bridge.wire`'s models, named here too (``ops.AskRequest``).
Errors stay :class:`~bridge.errors.BridgeError`; the broker carries them with their exit code and
data (:func:`bridge.broker.error_to_wire`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import TypeAdapter, ValidationError

from bridge.driver import Reply
from bridge.errors import BridgeError, ConfigError
from bridge.reading import State, read_permission
from bridge.text import clean
from bridge.wire import (
    AgentReply,
    AgentRequest,
    AgentRow,
    AgentsRequest,
    Answered,
    ApproveRequest,
    AskRequest,
    HostRow,
    HostsRequest,
    KeysRequest,
    KeysResult,
    ModelRequest,
    ModelResult,
    ReplyRequest,
    Request,
    RestartRequest,
    RestartResult,
    Result,
    ScreenRequest,
    ScreenResult,
    SendRequest,
    SendResult,
    StartRequest,
    StartResult,
    StateRequest,
    StateResult,
)

__all__ = [
    "OPERATIONS",
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
    "Operation",
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
    "call",
]

if TYPE_CHECKING:
    from bridge.api import Bridge

Req = TypeVar("Req", bound="Request")
Res = TypeVar("Res")


# -- the operations -----------------------------------------------------------------------------


async def hosts(bridge: Bridge, request: HostsRequest) -> list[HostRow]:
    """The registry's hosts; with ``check``, each one reached and measured."""
    rows = []
    for name, spec in bridge.registry.hosts.items():
        row: dict[str, Any] = {"host": name, "local": spec.local, "address": spec.address}
        if request.check:
            try:
                row.update(await bridge.check_host(name))
            except BridgeError as exc:
                row.update(reachable=False, error=str(exc), exit_code=exc.exit_code)
        rows.append(HostRow.model_validate(row))
    return rows


async def agents(bridge: Bridge, request: AgentsRequest) -> list[AgentRow]:
    """The registry's agents, each checked for what would fail on use without the network (its
    profile, its host's identity file); with ``check``, also each one's state. A registry without
    agents is a :class:`ConfigError`: a listing that says ok must mean something can be asked."""
    if not bridge.registry.agents:
        raise ConfigError(f"{bridge.registry.path}: no agents", hint="add an [agents.NAME] table")
    rows = []
    for name, spec in bridge.registry.agents.items():
        row: dict[str, Any] = {
            "agent": name, "host": spec.host, "target": spec.target, "profile": spec.profile,
        }  # fmt: skip
        try:
            _usable(bridge, name)
        except BridgeError as exc:
            row.update(error=str(exc), exit_code=exc.exit_code)
            if request.check:
                row["state"] = "misconfigured"
        else:
            if request.check:
                await _look(bridge, name, row)
        rows.append(AgentRow.model_validate(row))
    return rows


def _usable(bridge: Bridge, name: str) -> None:
    """Raise what would stop agent ``name`` on use before reaching it: an unknown or invalid
    profile, a missing identity file or one others can read."""
    from bridge.transport.ssh import check_private_key_file  # lazy: asyncssh only when needed

    agent = bridge.registry.agent(name)
    bridge.agent_profile(agent)
    if agent.host.identity_file and not agent.host.local:
        check_private_key_file(Path(agent.host.identity_file).expanduser(), host=agent.host_name)


async def _look(bridge: Bridge, name: str, row: dict[str, Any]) -> None:
    """``agents --check``: the agent's state, or why it could not be looked at, into ``row``."""
    try:
        row["state"] = (await bridge.state(name)).state.value
    except BridgeError as exc:
        state = getattr(exc, "state", None) or ("unreachable" if exc.exit_code == 3 else "missing")
        row.update(state=state, error=str(exc), exit_code=exc.exit_code)


async def screen(bridge: Bridge, request: ScreenRequest) -> ScreenResult:
    text = await bridge.screen(request.agent, ansi=request.ansi, history=request.history)
    return ScreenResult(agent=request.agent, screen=text)


async def send(bridge: Bridge, request: SendRequest) -> SendResult:
    removed = await bridge.send(
        request.agent, request.text, enter=request.enter, strip_controls=request.strip_controls
    )
    return SendResult(agent=request.agent, sent=len(request.text), removed_controls=removed)


async def keys(bridge: Bridge, request: KeysRequest) -> KeysResult:
    await bridge.keys(request.agent, list(request.keys))
    return KeysResult(agent=request.agent, keys=list(request.keys))


async def start(bridge: Bridge, request: StartRequest) -> StartResult:
    return StartResult.model_validate(await bridge.start(request.agent))


async def ask(bridge: Bridge, request: AskRequest) -> AgentReply:
    """Ask; with ``strip_controls`` the controls are dropped here, so the answer can say how many."""
    prompt, removed = clean(request.prompt) if request.strip_controls else (request.prompt, None)
    reply = AgentReply.of(
        await bridge.ask(request.agent, prompt, timeout=request.timeout, model=request.model)
    )
    if removed is not None:
        reply.removed_controls = removed
    return reply


async def reply(bridge: Bridge, request: ReplyRequest) -> AgentReply:
    """Read the last reply again (after a timeout, or to read it twice); types nothing."""
    driver = await bridge.driver(request.agent)
    return AgentReply.of(await driver.last_reply())


async def state(bridge: Bridge, request: StateRequest) -> StateResult:
    """One look at the agent (its pane remembered from an earlier call is confirmed first)."""
    obs = await bridge.state(request.agent)
    found: dict[str, Any] = {
        "agent": request.agent, "state": obs.state.value,
        "command": obs.facts.current_command, "pane": obs.facts.pane_id,
    }  # fmt: skip
    if request.question and obs.state is State.PERMISSION:
        profile = bridge.profile(bridge.registry.agent(request.agent).spec.profile)
        asked = read_permission(obs.snapshot, profile)
        if asked is not None:
            found.update(question=asked.question, options=asked.labels)
    return StateResult.model_validate(found)


async def model(bridge: Bridge, request: ModelRequest) -> ModelResult:
    chosen = await bridge.switch_model(
        request.agent, request.name, timeout=request.timeout, save=request.save
    )
    return ModelResult(agent=request.agent, model=chosen)


async def approve(bridge: Bridge, request: ApproveRequest) -> AgentReply | Answered:
    """Answer a pending permission question; with ``wait``, the reply that follows."""
    result = await bridge.approve(request.agent, request.answer, wait=request.wait, timeout=request.timeout)
    if isinstance(result, Reply):
        return AgentReply.of(result)
    return Answered(agent=request.agent, answered=request.answer, state=result.state.value)


async def restart(bridge: Bridge, request: RestartRequest) -> RestartResult:
    obs = await bridge.restart(request.agent, timeout=request.timeout)
    return RestartResult(agent=request.agent, state=obs.state.value, session_id=obs.facts.session_id or None)


# -- by name, for the broker's socket -----------------------------------------------------------


@dataclass(frozen=True)
class Operation(Generic[Req, Res]):
    """An operation as the broker's socket names it: its request model, function and result type."""

    name: str
    request: type[Req]
    run: Callable[[Bridge, Req], Awaitable[Res]]
    result: TypeAdapter[Res]
    read_only: bool = False  # never types into a pane: safe to run again if a broker dies under it

    def dump(self, value: Res) -> Any:
        """The result's JSON-ready form (the fields that were set)."""
        return self.result.dump_python(value, mode="json", exclude_unset=True)


def _op(name: str, request: type[Req], run: Callable[[Bridge, Req], Awaitable[Res]],
        result: Any, *, read_only: bool = False) -> Operation[Req, Res]:  # fmt: skip
    return Operation(name, request, run, TypeAdapter(result), read_only)


OPERATIONS: dict[str, Operation[Any, Any]] = {
    op.name: op
    for op in (
        _op("hosts", HostsRequest, hosts, list[HostRow], read_only=True),
        _op("agents", AgentsRequest, agents, list[AgentRow], read_only=True),
        _op("screen", ScreenRequest, screen, ScreenResult, read_only=True),
        _op("state", StateRequest, state, StateResult, read_only=True),
        _op("reply", ReplyRequest, reply, AgentReply, read_only=True),
        _op("send", SendRequest, send, SendResult),
        _op("keys", KeysRequest, keys, KeysResult),
        _op("start", StartRequest, start, StartResult),
        _op("ask", AskRequest, ask, AgentReply),
        _op("model", ModelRequest, model, ModelResult),
        _op("approve", ApproveRequest, approve, AgentReply | Answered),
        _op("restart", RestartRequest, restart, RestartResult),
    )
}


async def call(bridge: Bridge, name: str, args: dict[str, Any]) -> Any:
    """Run operation ``name`` with ``args`` (its request's JSON); return its result's JSON."""
    try:
        op = OPERATIONS[name]
    except KeyError:
        raise BridgeError(f"unknown operation {name!r}") from None
    try:
        request = op.request.model_validate(args)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in err['loc']) or name}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"{name}: {problems}") from None
    recorder, agent = bridge.recorder, args.get("agent")
    try:
        result = op.dump(await op.run(bridge, request))
    except BridgeError as exc:
        if recorder is not None:
            recorder.record(name, agent, args, error=exc)
        raise
    if recorder is not None:
        recorder.record(name, agent, args, result)
    return result
