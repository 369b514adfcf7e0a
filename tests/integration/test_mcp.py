"""The MCP server end to end: the SDK's own stdio client runs `python -m bridge --config REG mcp`
against the demo agent in a real tmux server (a local host: no SSH needed)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.fixtures import REPO, TmuxServer, agent_toml, local_host_toml, run_cli, wait_for

mcp = pytest.importorskip("mcp", reason="the mcp extra is not installed (pip install -e '.[mcp]')")

from mcp import ClientSession  # noqa: E402
from mcp.client.stdio import StdioServerParameters, stdio_client  # noqa: E402

pytestmark = pytest.mark.integration

TOOLS = {
    "list_agents", "agent_state", "ask", "send", "keys", "screen", "switch_model", "approve", "restart",
    # the swarm's tools
    "plan_status", "dispatch_next", "task_result",
    # the hub's message tools
    "send_message", "inbox", "read_message", "reply", "close_thread", "message_status",
}



@pytest.fixture
def registry(demo: tuple[str, Path], tmux_server: TmuxServer, make_registry: Callable[..., Path]) -> Path:
    return make_registry(
        local_host_toml("here", tmux_server.socket),
        agent_toml("demo", "here", "demo:0.0", profile="demo"),
    )


@asynccontextmanager
async def server(registry: Path, tmp_path: Path) -> AsyncIterator[ClientSession]:
    """A client session with `python -m bridge --config REGISTRY mcp` (bounded in time)."""
    import anyio

    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "bridge", "--config", str(registry), "mcp"],
        cwd=str(REPO),
        env={"PYTHONPATH": str(REPO), "AGENT_BRIDGE_TIMEOUT": "60"},
    )
    with (tmp_path / "mcp-server.stderr").open("w") as errlog, anyio.fail_after(90):
        async with stdio_client(params, errlog=errlog) as (read, write), ClientSession(
            read, write
        ) as session:
            await session.initialize()
            yield session


def text_of(result: Any) -> str:
    return "".join(block.text for block in result.content if getattr(block, "type", "") == "text")


async def test_lists_the_tools_with_descriptions(registry: Path, tmp_path: Path) -> None:
    async with server(registry, tmp_path) as session:
        listed = (await session.list_tools()).tools
    assert {tool.name for tool in listed} == TOOLS
    for tool in listed:
        assert tool.description and len(tool.description) > 80, tool.name
    ask = next(tool for tool in listed if tool.name == "ask")
    assert "cannot see this conversation" in (ask.description or "")
    assert set(ask.input_schema["properties"]) == {"agent", "prompt", "timeout", "model"}
    assert ask.input_schema["required"] == ["agent", "prompt"]


async def test_ask_returns_the_reply_and_reports_progress(
    registry: Path, tmp_path: Path, demo: tuple[str, Path]
) -> None:
    progress: list[tuple[float, float | None, str | None]] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append((done, total, message))

    async with server(registry, tmp_path) as session:
        result = await session.call_tool("ask", {"agent": "demo", "prompt": "What is 6 x 7?"})
        assert not result.is_error, text_of(result)
        assert text_of(result) == "42"
        assert result.structured_content is not None
        assert result.structured_content["reply"] == "42"
        assert result.structured_content["state"] == "idle"

        slow = await session.call_tool(
            "ask", {"agent": "demo", "prompt": "delay3 hello"}, progress_callback=on_progress
        )
        assert text_of(slow) == "MOCK-REPLY: delay3 hello"
        state = await session.call_tool("agent_state", {"agent": "demo"})
        assert state.structured_content is not None and state.structured_content["state"] == "idle"
    assert len(progress) >= 2, progress
    elapsed = [done for done, _, _ in progress]
    assert elapsed == sorted(elapsed) and elapsed[-1] >= 2
    assert progress[0][1] == 60  # total = the ask's time limit
    assert all(message and "waiting for demo" in message for _, _, message in progress)
    prompts = [json.loads(line)["prompt"] for line in demo[1].read_text().splitlines()]
    assert prompts == ["What is 6 x 7?", "delay3 hello"], "each prompt typed exactly once"


async def test_permission_comes_back_as_a_result_and_approve_answers_it(
    registry: Path, tmp_path: Path
) -> None:
    async with server(registry, tmp_path) as session:
        asked = await session.call_tool("ask", {"agent": "demo", "prompt": "please run touch x"})
        assert not asked.is_error, text_of(asked)
        data = asked.structured_content
        assert data is not None and data["state"] == "permission"
        assert "touch x" in data["question"]
        assert data["options"][0] == "Yes" and data["options"][-1] == "No"
        assert "approve" in data["how_to_answer"]
        assert text_of(asked).startswith("PERMISSION NEEDED: demo asks:")

        state = await session.call_tool("agent_state", {"agent": "demo"})
        assert state.structured_content is not None
        assert state.structured_content["state"] == "permission"
        assert "touch x" in state.structured_content["question"]

        approved = await session.call_tool("approve", {"agent": "demo", "answer": "yes"})
        assert not approved.is_error, text_of(approved)
        assert text_of(approved) == "Done: touch x"


async def test_errors_are_tool_errors_with_the_cli_message(registry: Path, tmp_path: Path) -> None:
    cli = run_cli("--config", str(registry), "ask", "nosuch", "hello")
    assert cli.returncode == 2
    line = cli.stderr.decode().strip().removeprefix("agent-bridge: error: ")
    async with server(registry, tmp_path) as session:
        result = await session.call_tool("ask", {"agent": "nosuch", "prompt": "hello"})
        assert result.is_error
        assert text_of(result) == line
        assert "nosuch" in line
        # The session survives errors.
        agents = await session.call_tool("list_agents", {})
    assert agents.structured_content is not None
    assert [row["agent"] for row in agents.structured_content["agents"]] == ["demo"]


async def test_hints_name_tools_and_switch_model_takes_model(
    registry: Path, tmp_path: Path, demo: tuple[str, Path]
) -> None:
    """#16: an error's hint names the tool to call (not a CLI flag); the time limit in the message
    is the one asked for; switch_model takes `model`, as ask does."""
    async with server(registry, tmp_path) as session:
        late = await session.call_tool("ask", {"agent": "demo", "prompt": "delay4 later", "timeout": 2})
        assert late.is_error
        text = text_of(late)
        assert "timed out after 2s" in text and 'call screen(agent="demo")' in text, text
        assert "agent-bridge" not in text and "--timeout" not in text
        wait_for(lambda: "delay4 later" in demo[1].read_text(), 10)
        busy = await session.call_tool("ask", {"agent": "demo", "prompt": "too soon"})
        assert busy.is_error and 'call keys(agent="demo", keys=["Escape"])' in text_of(busy), text_of(busy)
        state: Any = None
        for _ in range(100):  # until the demo is done with "delay4 later"
            state = await session.call_tool("agent_state", {"agent": "demo"})
            if state.structured_content and state.structured_content["state"] == "idle":
                break
            await anyio_sleep(0.1)
        switched = await session.call_tool("switch_model", {"agent": "demo", "model": "sonnet"})
        assert not switched.is_error, text_of(switched)
        assert text_of(switched) == "demo: model set to Sonnet"


async def anyio_sleep(seconds: float) -> None:
    import anyio

    await anyio.sleep(seconds)


async def test_send_keys_screen(registry: Path, tmp_path: Path, tmux_server: TmuxServer,
                                demo: tuple[str, Path]) -> None:
    async with server(registry, tmp_path) as session:
        sent = await session.call_tool("send", {"agent": "demo", "text": "hello there", "enter": False})
        assert not sent.is_error, text_of(sent)
        wait_for(lambda: "hello there" in tmux_server.capture(demo[0]), 10)
        shown = await session.call_tool("screen", {"agent": "demo"})
        assert "hello there" in text_of(shown)
        pressed = await session.call_tool("keys", {"agent": "demo", "keys": ["C-u"]})
        assert not pressed.is_error, text_of(pressed)


async def test_bad_registry_still_serves_and_says_why(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    async with server(missing, tmp_path) as session:
        result = await session.call_tool("list_agents", {})
    assert result.is_error and "nope.toml" in text_of(result)


def test_config_snippets(tmp_path: Path, registry: Path) -> None:
    for client in ("claude-code", "qwen-code"):
        done = run_cli("--config", str(registry), "mcp", "config", "--for", client)
        assert done.returncode == 0, done.stderr.decode()
        entry = json.loads(done.stdout)["mcpServers"]["agent-bridge"]
        assert entry["args"][-1] == "mcp"
        assert entry["env"] == {"AGENT_BRIDGE_CONFIG": str(registry.resolve())}
        assert os.path.isabs(entry["command"])
        hint = done.stderr.decode()
        if client == "claude-code":
            assert entry["type"] == "stdio" and ".mcp.json" in hint and "claude mcp add" in hint
        else:
            assert entry["timeout"] > 600_000 and "settings.json" in hint and "qwen mcp add" in hint
    bad = run_cli("mcp", "config", "--for", "vim")
    assert bad.returncode == 2 and "unknown client" in bad.stderr.decode()


async def test_an_orchestrator_runs_a_plan_through_the_swarm_tools(registry: Path, tmp_path: Path) -> None:
    plan = tmp_path / "PLAN.md"
    plan.write_text("# Plan\n- [ ] Say alpha\n- [ ] Say beta\n")
    async with server(registry, tmp_path) as session:
        for task in ("Say alpha", "Say beta"):
            sent = await session.call_tool("dispatch_next", {"plan": str(plan), "worker": "demo"})
            assert not sent.is_error and sent.structured_content["task"] == task, text_of(sent)
            got = await session.call_tool("task_result", {"plan": str(plan), "worker": "demo", "wait": 60})
            assert got.structured_content["state"] == "done", text_of(got)
            assert text_of(got) == f"MOCK-REPLY: {task}"
        last = await session.call_tool("dispatch_next", {"plan": str(plan), "worker": "demo"})
        assert last.structured_content["task"] is None
        status = await session.call_tool("plan_status", {"plan": str(plan)})
        assert [t["state"] for t in status.structured_content["tasks"]] == ["done", "done"]
    ticked = [line.split(" <!-- ")[0] for line in plan.read_text().splitlines()[1:]]
    assert ticked == ["- [x] Say alpha", "- [x] Say beta"]
