"""The hub shows each agent's model and tokens, read from its own transcript: a real hub process
over the real Claude Code (offline, mock API), checked against what the mock API reported."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.claude_code import ClaudeCode
from tests.helpers.fixtures import free_port, wait_for
from tests.helpers.hub import HubRun

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


def test_the_dashboard_rows_carry_the_model_and_the_tokens(claude_code: ClaudeCode, tmp_path: Path) -> None:
    port = free_port()
    registry = tmp_path / "registry.toml"
    registry.write_text("\n".join([
        "[hub]", f'listen = "127.0.0.1:{port}"', f'store = "{tmp_path / "hub.db"}"',
        "[hosts.here]", "local = true", f'tmux_socket = "{claude_code.socket}"',
        "[agents.claude]", 'host = "here"', 'target = "claude:0.0"', 'profile = "claude-code"',
    ]) + "\n")  # fmt: skip
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    env = {"XDG_RUNTIME_DIR": str(runtime), "XDG_STATE_HOME": str(tmp_path / "state"),
           "XDG_CONFIG_HOME": str(tmp_path / "config"), "AGENT_BRIDGE_NO_BROKER": "1"}  # fmt: skip
    hub = HubRun(tmp_path, registry, f"http://127.0.0.1:{port}", env, {}, {}, str(tmp_path / "hub.db"),
                 str(claude_code.socket))  # fmt: skip
    hub.start()
    try:
        hub.mint("admin")
        for prompt in ("hello there", "please answer multiline"):
            asked = hub.cli("ask", "claude", prompt, timeout=120)
            assert asked.returncode == 0, asked.stderr
        turns = claude_code.mock.main_requests()  # what the mock reported, per model call
        assert len(turns) == 2

        def row() -> dict[str, Any] | None:
            rows = {r["agent"]: r for r in hub.api("GET", "/api/agents").json()}
            tokens = rows["claude"]["tokens"]
            return rows["claude"] if tokens and tokens["calls"] == 2 else None

        shown = wait_for(row, 30, 0.5)
        assert shown["model"] == turns[-1].model
        assert shown["tokens"] == {
            "input": sum(t.usage["input_tokens"] for t in turns),
            "output": sum(t.usage["output_tokens"] for t in turns),
            "cached": 0, "calls": 2, "exact": True,  # the session id was learnt from the transcript
        }  # fmt: skip
        top = hub.cli("--json", "top", "--once", who="admin")
        assert top.returncode == 0, top.stderr
        agents = {r["agent"]: r for r in json.loads(top.stdout)["agents"]}
        assert agents["claude"]["tokens"]["output"] == shown["tokens"]["output"]
    finally:
        hub.stop()
