"""agent-bridge against the REAL Claude Code 2.1.197 (offline, mock API), over the real sshd.

Every call goes through the CLI as a user would run it: registry -> SSH -> tmux -> driver.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.claude_code import ClaudeCode
from tests.e2e.mock_anthropic import TOOL_COMMAND, multiline_text
from tests.helpers.fixtures import Sshd, agent_toml, run_cli, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


@pytest.fixture
def cli(
    claude_code: ClaudeCode, sshd: Sshd, make_registry: Callable[..., Path]
) -> Callable[..., tuple[int, str, str]]:
    registry = make_registry(
        sshd.host_toml("vps", tmux_socket=str(claude_code.socket)),
        agent_toml("claude", "vps", "claude:0.0", profile="claude-code"),
    )

    def call(*args: str, stdin: bytes | None = None) -> tuple[int, str, str]:
        result = run_cli("--config", str(registry), *args, input=stdin, timeout=180)
        return result.returncode, result.stdout.decode(), result.stderr.decode()

    return call


def test_ask_returns_the_exact_reply(cli: Callable[..., tuple[int, str, str]]) -> None:
    code, out, err = cli("--json", "ask", "claude", "hello from the bridge")
    assert code == 0, err
    data = json.loads(out)
    assert data["reply"] == "MOCK-REPLY: hello from the bridge"
    assert data["source"] == "transcript"
    assert data["state"] == "idle" and data["agent"] == "claude"
    code, out, _ = cli("ask", "claude", "and plain mode")
    assert code == 0 and out == "MOCK-REPLY: and plain mode\n"


def test_thirty_line_reply_exact(cli: Callable[..., tuple[int, str, str]]) -> None:
    prompt = "please answer multiline"
    code, out, err = cli("ask", "claude", prompt, "--json")
    assert code == 0, err
    assert json.loads(out)["reply"] == multiline_text(prompt)


def test_model_switch_to_sonnet_reaches_the_api(
    cli: Callable[..., tuple[int, str, str]], claude_code: ClaudeCode
) -> None:
    assert cli("ask", "claude", "first turn")[0] == 0  # a conversation: Claude asks "Switch model?"
    code, out, err = cli("model", "claude", "sonnet")
    assert code == 0, err
    assert "Sonnet" in out
    code, out, err = cli("--json", "ask", "claude", "which model now")
    assert code == 0, err
    main = claude_code.mock.main_requests()
    assert "sonnet" in main[-1].model, [r.model for r in main]
    assert json.loads(out)["model"] == main[-1].model
    # For this session only ("s" in Claude's menu): the user's default is not touched.
    settings = claude_code.home / ".claude" / "settings.json"
    assert "model" not in (json.loads(settings.read_text()) if settings.exists() else {})
    assert "Set model to Sonnet 5 for this session only" in claude_code.capture()
    # Already on it: the menu says so (✔), nothing is switched and no confirmation is added.
    code, out, err = cli("--json", "model", "claude", "sonnet")
    assert code == 0 and json.loads(out)["model"] == "Sonnet", err
    assert claude_code.capture().count("Set model to") == 1
    assert claude_code.wait_idle()
    # --save: Claude's own Enter, which saves it as the default for new sessions.
    code, out, err = cli("--json", "model", "claude", "haiku", "--save")
    assert code == 0, err
    assert "haiku" in json.loads(settings.read_text())["model"]


def test_ask_with_model_flag_switches_first(
    cli: Callable[..., tuple[int, str, str]], claude_code: ClaudeCode
) -> None:
    code, out, err = cli("ask", "claude", "quick one", "--model", "haiku")
    assert code == 0, err
    assert out.strip() == "MOCK-REPLY: quick one"
    assert "haiku" in claude_code.mock.main_requests()[-1].model


def test_permission_question_then_approve(
    cli: Callable[..., tuple[int, str, str]], claude_code: ClaudeCode
) -> None:
    code, out, err = cli("--json", "ask", "claude", "please usetool now")
    assert code == 5, (out, err)
    data = json.loads(out)
    assert data["state"] == "permission"
    assert TOOL_COMMAND in data["question"]
    assert data["options"][0].startswith("Yes") and data["options"][-1].startswith("No")
    assert not (claude_code.cwd / "mock_tool_ran.txt").exists(), "nothing auto-approved"
    code, out, err = cli("--json", "approve", "claude", "yes", "--wait")
    assert code == 0, err
    assert (claude_code.cwd / "mock_tool_ran.txt").exists()
    # The whole turn's text: what Claude said before the tool call, then after it.
    expected = "I will run a shell command for you.\n\nMOCK-REPLY: tool done: MOCK-TOOL-RAN"
    assert json.loads(out)["reply"] == expected


def test_permission_denied(cli: Callable[..., tuple[int, str, str]], claude_code: ClaudeCode) -> None:
    assert cli("ask", "claude", "please usetool again")[0] == 5
    code, _, err = cli("approve", "claude", "no")
    assert code == 0, err
    wait_for(lambda: cli("state", "claude")[1].strip() == "idle", 20, 0.3)
    assert not (claude_code.cwd / "mock_tool_ran.txt").exists()


def test_busy_agent_is_not_typed_into(cli: Callable[..., tuple[int, str, str]]) -> None:
    assert cli("send", "claude", "delay4 take your time")[0] == 0
    wait_for(lambda: cli("state", "claude")[1].strip() == "busy", 10, 0.2)
    code, out, err = cli("--json", "ask", "claude", "are you there")
    assert code == 4
    assert json.loads(out)["state"] == "busy" and "busy" in err


def test_kill9_dead_then_restart(cli: Callable[..., tuple[int, str, str]], claude_code: ClaudeCode) -> None:
    assert cli("ask", "claude", "remember me")[0] == 0
    os.kill(claude_code.claude_pid(), signal.SIGKILL)
    wait_for(lambda: cli("state", "claude")[1].strip() == "dead", 10, 0.2)
    code, _, err = cli("ask", "claude", "hello?")
    assert code == 4 and "agent-bridge restart claude" in err
    # Started without --session-id: the bridge learnt the session from the transcript of the reply
    # it read, and resumes exactly that one (not --continue's newest in the folder).
    first = claude_code.transcripts()[-1].stem
    code, out, err = cli("--json", "restart", "claude")
    assert code == 0, err
    assert json.loads(out) == {"agent": "claude", "state": "idle", "session_id": first}
    code, out, err = cli("ask", "claude", "back again")
    assert code == 0 and out.strip() == "MOCK-REPLY: back again", err
    entries = claude_code.transcript_entries(claude_code.projects_dir / f"{first}.jsonl")
    prompts = [e["message"]["content"] for e in entries
               if e.get("type") == "user" and isinstance(e["message"].get("content"), str)]  # fmt: skip
    assert prompts[0] == "remember me" and prompts[-1] == "back again"
