"""bridge.ops: requests and results survive JSON unchanged; the JSON holds what was set (as the CLI
printed before ops existed); errors cross the broker's socket with their exit code, message and data."""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from pydantic import BaseModel

from bridge import broker, ops
from bridge.cli.requests import ask_request, state_request
from bridge.errors import (
    AgentNotReadyError,
    AgentTimeoutError,
    BridgeError,
    ConfigError,
    HostUnreachableError,
    PermissionPendingError,
)
from bridge.evidence import Recorder, record_of
from bridge.reading import State

REQUESTS: list[ops.Request] = [
    ops.HostsRequest(check=True),
    ops.AgentsRequest(),
    ops.ScreenRequest(agent="a", ansi=True, history=30),
    ops.SendRequest(agent="a", text="héllo\nworld", enter=False, strip_controls=True),
    ops.KeysRequest(agent="a", keys=["Down", "Enter"]),
    ops.StartRequest(agent="a"),
    ops.AskRequest(agent="a", prompt="6 x 7? 🙂", timeout=2.5, model="opus"),
    ops.StateRequest(agent="a", question=True),
    ops.ModelRequest(agent="a", name="sonnet", timeout=30),
    ops.ApproveRequest(agent="a", answer="2", wait=True),
    ops.RestartRequest(agent="a"),
]

RESULTS: list[ops.Result] = [
    ops.HostRow(
        host="h", local=False, address="10.0.0.1", reachable=True, tmux="3.4", connect_ms=12.5, rtt_ms=0.8
    ),
    ops.HostRow(host="h", local=True, address=None),
    ops.AgentRow(agent="a", host="h", target="s:0.0", profile="shell", state="unreachable", error="x"),
    ops.ScreenResult(agent="a", screen="$ \n"),
    ops.SendResult(agent="a", sent=5, removed_controls=1),
    ops.KeysResult(agent="a", keys=["C-c"]),
    ops.StartResult(agent="a", pane="%3", created=True, started=True, already_running=False),
    ops.AgentReply(agent="a", reply="42", state="idle", source="screen", model=None, elapsed_s=1.25),
    ops.StateResult(
        agent="a", state="permission", command="claude", pane="%1", question="Run ls?", options=["Yes", "No"]
    ),
    ops.StateResult(agent="a", state="idle", command=None, pane="%1"),
    ops.ModelResult(agent="a", model="Opus"),
    ops.Answered(agent="a", answered="no", state="idle"),
    ops.RestartResult(agent="a", state="idle"),
]


@pytest.mark.parametrize("model", REQUESTS + RESULTS, ids=lambda m: type(m).__name__)
def test_models_round_trip_through_json(model: BaseModel) -> None:
    wire = json.dumps(model.model_dump(mode="json", exclude_unset=True))
    back = type(model).model_validate(json.loads(wire))
    assert back == model
    assert back.model_dump(mode="json", exclude_unset=True) == json.loads(wire)


def test_unset_fields_are_absent_not_null() -> None:
    assert ops.HostRow(host="h", local=True, address=None).to_json() == {
        "host": "h", "local": True, "address": None,
    }  # fmt: skip
    assert list(ops.StateResult(agent="a", state="idle", command=None, pane="%1").to_json()) == [
        "agent", "state", "command", "pane",
    ]  # fmt: skip


def test_approve_answers_a_reply_or_what_was_answered() -> None:
    approve = ops.OPERATIONS["approve"]
    assert approve.dump(ops.Answered(agent="a", answered="no", state="idle")) == {
        "agent": "a", "answered": "no", "state": "idle",
    }  # fmt: skip
    reply = ops.AgentReply(agent="a", reply="done", state="idle", source="transcript", model="m", elapsed_s=2)
    assert approve.dump(reply) == reply.to_json() and "reply" in reply.to_json()


def test_every_operation_is_named_once_and_the_broker_knows_the_read_only_ones() -> None:
    assert set(ops.OPERATIONS) == {
        "hosts", "agents", "screen", "send", "keys", "start", "ask", "reply", "state", "model", "approve",
        "restart",
    }  # fmt: skip
    assert {name for name, op in ops.OPERATIONS.items() if op.read_only} == broker.READ_ONLY


def test_the_cli_builds_exactly_the_requests_ops_reads() -> None:
    built = ask_request("a", "hi", timeout=3.0)
    assert ops.AskRequest.model_validate(built).model_dump(mode="json") == built
    state = ops.StateRequest.model_validate(state_request("a"))
    assert state.model_dump(mode="json", exclude_defaults=True) == state_request("a")


def test_requests_refuse_unknown_fields() -> None:
    with pytest.raises(ValueError, match="extra"):
        ops.AskRequest.model_validate({"agent": "a", "prompt": "p", "temperature": 1})


# -- call(): what the broker and the CLI run ------------------------------------------------------


class FakeBridge:
    """Just enough of a Bridge: two hosts (one down) and two agents (one not ready)."""

    def __init__(self) -> None:
        self.recorder: Recorder | None = None
        self.registry = SimpleNamespace(
            hosts={
                "here": SimpleNamespace(local=True, address=None),
                "vps": SimpleNamespace(local=False, address="10.77.0.1"),
            },
            agents={
                "sh": SimpleNamespace(host="here", target="work:0.0", profile="shell"),
                "busy": SimpleNamespace(host="vps", target="%4", profile="claude-code"),
            },
        )
        hosts, agents = self.registry.hosts, self.registry.agents
        self.registry.agent = lambda name: SimpleNamespace(  # as Registry.agent resolves it
            name=name, spec=agents[name], host_name=agents[name].host,
            host=SimpleNamespace(**vars(hosts[agents[name].host]), identity_file=None),
        )  # fmt: skip

    def agent_profile(self, agent: Any) -> None:
        """Every profile here is known."""

    async def check_host(self, name: str) -> dict[str, Any]:
        if name == "vps":
            raise HostUnreachableError("cannot reach vps", hint="is it up?", host="vps")
        return {"host": name, "reachable": True, "tmux": "tmux 3.4", "connect_ms": 1.0, "rtt_ms": 0.5}

    async def state(self, name: str) -> Any:
        if name == "busy":
            raise AgentNotReadyError("busy is busy", state="busy", screen="working…", host="vps")
        facts = SimpleNamespace(current_command="bash", pane_id="%1", session_id="s1")
        return SimpleNamespace(state=State.IDLE, facts=facts)

    async def restart(self, name: str, *, timeout: float) -> Any:
        return await self.state(name)


async def call(op: str, args: dict[str, Any]) -> Any:
    return await ops.call(FakeBridge(), op, args)  # type: ignore[arg-type]


async def test_call_answers_the_json_the_cli_printed() -> None:
    assert await call("hosts", {}) == [
        {"host": "here", "local": True, "address": None},
        {"host": "vps", "local": False, "address": "10.77.0.1"},
    ]
    assert await call("hosts", {"check": True}) == [
        {"host": "here", "local": True, "address": None, "reachable": True, "tmux": "tmux 3.4",
         "connect_ms": 1.0, "rtt_ms": 0.5},
        {"host": "vps", "local": False, "address": "10.77.0.1", "reachable": False,
         "error": "cannot reach vps (is it up?)", "exit_code": 3},
    ]  # fmt: skip
    rows = await call("agents", {"check": True})
    assert rows[0] == {
        "agent": "sh", "host": "here", "target": "work:0.0", "profile": "shell", "state": "idle",
    }  # fmt: skip
    assert rows[1]["state"] == "busy" and rows[1]["error"] == "busy is busy" and rows[1]["exit_code"] == 4
    state = {"agent": "sh", "state": "idle", "command": "bash", "pane": "%1"}
    assert await call("state", {"agent": "sh"}) == state


async def test_call_refuses_unknown_operations_and_bad_requests() -> None:
    with pytest.raises(BridgeError, match="unknown operation 'fly'"):
        await call("fly", {})
    with pytest.raises(ConfigError, match="history") as bad:
        await call("screen", {"agent": "sh", "history": -1})
    assert bad.value.exit_code == 2


# -- errors on the wire ---------------------------------------------------------------------------

ERRORS: list[BridgeError] = [
    PermissionPendingError("claude asks", question="Run rm?", options=["Yes", "No"], host="vps", screen="…"),
    AgentNotReadyError("not idle", hint="wait", state="busy", target="%1", screen="x\ny"),
    HostUnreachableError("cannot reach vps", host="vps"),
    ConfigError("no agent named 'x'", hint="agent-bridge agents lists them"),
    BridgeError("anything else"),
]


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: type(e).__name__)
def test_an_error_crosses_the_wire_with_its_exit_code_and_data(error: BridgeError) -> None:
    wire = json.loads(json.dumps(broker.error_to_wire(error)))
    back = broker.error_from_wire(wire)
    assert isinstance(back, BridgeError)
    assert back.exit_code == error.exit_code
    assert str(back) == str(error)
    assert back.to_dict() == error.to_dict()
    assert back.screen == error.screen
    assert back.state == error.to_dict().get("state")


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A folder with a short path: a unix socket's path is limited to ~107 bytes."""
    path = Path(tempfile.mkdtemp(prefix="ab-ops-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


async def test_a_request_and_an_error_cross_a_real_broker_socket(short_dir: Path) -> None:
    server = broker.Broker(short_dir / "b.sock", idle=60)

    async def fake_bridge_for(config: str | None) -> Any:
        return FakeBridge()

    server.bridge_for = fake_bridge_for  # type: ignore[method-assign]
    listening = await asyncio.start_unix_server(server.handle, path=str(server.path))

    def ask(op: str, args: dict[str, Any]) -> dict[str, Any]:
        sock = broker._connect(server.path, 5.0)
        assert sock is not None
        try:
            return broker._exchange(sock, {"op": op, "args": args, "config": None}, 5.0)
        finally:
            sock.close()

    try:
        ok = await asyncio.to_thread(ask, "state", ops.StateRequest(agent="sh").model_dump(mode="json"))
        assert ok == {"ok": True, "result": {"agent": "sh", "state": "idle", "command": "bash", "pane": "%1"}}
        failed = await asyncio.to_thread(ask, "state", {"agent": "busy"})
    finally:
        listening.close()
    assert failed["ok"] is False
    error = broker.error_from_wire(failed["error"])
    assert error.exit_code == 4
    assert error.to_dict() == {"error": "AgentNotReadyError", "message": "busy is busy", "delivered": False,
                               "host": "vps", "screen": "working…", "state": "busy"}  # fmt: skip


async def test_every_operation_on_an_agent_is_recorded_once_with_its_outcome() -> None:
    sent: list[tuple[str, str | None, dict[str, Any]]] = []

    async def keep(kind: str, agent: str | None, data: dict[str, Any]) -> None:
        sent.append((kind, agent, data))

    bridge = FakeBridge()
    bridge.recorder = Recorder(keep, keep_text=False)
    await ops.call(bridge, "state", {"agent": "sh"})  # type: ignore[arg-type]  # only looks: not recorded
    await ops.call(bridge, "restart", {"agent": "sh"})  # type: ignore[arg-type]
    with pytest.raises(AgentNotReadyError):
        await ops.call(bridge, "restart", {"agent": "busy"})  # type: ignore[arg-type]
    await bridge.recorder.flush()
    assert sent[0] == ("restart", "sh", {"outcome": "ok", "state": "idle", "session_id": "s1"})
    assert sent[1][:2] == ("restart", "busy") and sent[1][2]["outcome"] == "error"
    assert sent[1][2]["error"] == "AgentNotReadyError" and sent[1][2]["exit_code"] == 4
    sent.clear()
    asked = {"agent": "sh", "prompt": "hi"}
    bridge.recorder.record("ask", "sh", asked, {"reply": "hello", "source": "screen"})
    await bridge.recorder.flush()
    assert sent == [("ask", "sh", {
        "prompt": {"size": 2, "sha256": hashlib.sha256(b"hi").hexdigest()}, "outcome": "replied",
        "reply": {"size": 5, "sha256": hashlib.sha256(b"hello").hexdigest()}, "source": "screen",
        "model": None, "elapsed_s": None,
    })]  # fmt: skip
    assert record_of("ask", {"prompt": "p"}, error=AgentTimeoutError("slow"))["outcome"] == "timeout"
