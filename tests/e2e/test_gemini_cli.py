"""agent-bridge against the REAL Gemini CLI 0.61.0 (offline, mock Gemini API), over the real sshd.

Every call goes through the CLI as a user would run it: registry -> SSH -> tmux -> driver, with
the built-in ``gemini-cli`` profile. The mock proves what reached the API (which model).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.e2e.gemini_cli import Gemini, install_gemini_cli, launch_gemini_cli
from tests.e2e.mock_anthropic import TOOL_COMMAND, TOOL_INTRO, multiline_text
from tests.e2e.mock_gemini import MockGemini
from tests.e2e.npm_cli import CliUnavailable
from tests.helpers.fixtures import Sshd, agent_toml, run_cli, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

Cli = Callable[..., tuple[int, str, str]]
TOOL_TURN = f"{TOOL_INTRO}\n\nMOCK-REPLY: tool done: MOCK-TOOL-RAN"


@pytest.fixture(scope="module")
def gemini_executable() -> Path:
    if not shutil.which("tmux"):
        pytest.skip(reason="tmux is not installed (apt-get install tmux)")
    try:
        return install_gemini_cli()
    except CliUnavailable as exc:
        pytest.skip(reason=str(exc))


@pytest.fixture
def gemini(request: pytest.FixtureRequest, tmp_path: Path, gemini_executable: Path) -> Iterator[Gemini]:
    """Gemini CLI at its idle prompt in a private tmux pane, talking to a fresh mock (indirect
    parameter ``False``: only the pane's shell, for ``agent-bridge start``)."""
    mock = MockGemini().start()
    try:
        launched = launch_gemini_cli(tmp_path, mock, gemini_executable, start=getattr(request, "param", True))
    except BaseException:
        mock.stop()
        raise
    try:
        yield launched
    finally:
        if getattr(getattr(request.node, "rep_call", None), "failed", False):
            pane = launched.pane
            print(f"--- last screen ({pane.current_command()}) ---\n{pane.capture(history=40)}")
            seen = [(r.method, r.model, r.last_user_text[:60]) for r in mock.requests()]
            print("--- mock requests ---", *seen, sep="\n")
        launched.close()
        mock.stop()


@pytest.fixture
def cli(gemini: Gemini, sshd: Sshd, make_registry: Callable[..., Path]) -> Cli:
    registry = make_registry(
        sshd.host_toml("vps", tmux_socket=str(gemini.pane.socket)),
        agent_toml("gemini", "vps", "gemini:0.0", profile="gemini-cli"),
    )

    def call(*args: str) -> tuple[int, str, str]:
        result = run_cli("--config", str(registry), *args, timeout=180)
        return result.returncode, result.stdout.decode(), result.stderr.decode()

    return call


def test_exact_replies_short_thirty_lines_and_slow(cli: Cli) -> None:
    code, out, err = cli("--json", "ask", "gemini", "hello from the bridge")
    assert code == 0, err
    data = json.loads(out)
    assert data["reply"] == "MOCK-REPLY: hello from the bridge"
    assert (data["source"], data["state"]) == ("transcript", "idle")
    prompt = "please answer multiline"
    code, out, err = cli("--json", "ask", "gemini", prompt)
    assert code == 0, err
    data = json.loads(out)
    assert data["reply"] == multiline_text(prompt) and data["source"] == "transcript"
    began = time.monotonic()
    code, out, err = cli("ask", "gemini", "take your time delay6")
    assert code == 0, err
    assert out == "MOCK-REPLY: take your time delay6\n"
    assert time.monotonic() - began >= 6


def test_model_switch_through_both_menu_levels(cli: Cli, gemini: Gemini) -> None:
    code, out, err = cli("model", "gemini", "gemini-2.5-pro")
    assert code == 0, err
    assert "gemini-2.5-pro" in out
    code, out, err = cli("--json", "ask", "gemini", "which model now")
    assert code == 0, err
    assert gemini.mock.turns()[-1].model == "gemini-2.5-pro"
    assert json.loads(out)["model"] == "gemini-2.5-pro"
    # An unknown model: both menus are closed again (Escape per level), Gemini idle as it was.
    code, _, err = cli("model", "gemini", "no-such-model")
    assert code != 0 and "no-such-model" in err
    assert cli("state", "gemini")[1].strip() == "idle"
    assert "Select Model" not in gemini.pane.capture()
    code, out, err = cli("ask", "gemini", "still here")
    assert code == 0 and out == "MOCK-REPLY: still here\n", err
    assert gemini.mock.turns()[-1].model == "gemini-2.5-pro"
    # Already on it (the status row says so): nothing is opened.
    opened = gemini.pane.capture(history=200).count("> /model")
    code, out, err = cli("model", "gemini", "gemini-2.5-pro")
    assert code == 0 and "gemini-2.5-pro" in out, err
    assert gemini.pane.capture(history=200).count("> /model") == opened


def test_model_for_this_session_only_unless_saved(cli: Cli, gemini: Gemini) -> None:
    settings = gemini.home / ".gemini" / "settings.json"
    before = settings.read_text()
    assert cli("model", "gemini", "gemini-3-flash-preview")[0] == 0
    assert settings.read_text() == before, "for this session only: nothing saved"
    code, out, err = cli("model", "gemini", "gemma-4-31b-it", "--save")
    assert code == 0 and "gemma-4-31b-it" in out, err
    assert "gemma-4-31b-it" in settings.read_text(), "saved as the default for new sessions"
    assert cli("ask", "gemini", "saved model")[0] == 0
    assert gemini.mock.turns()[-1].model == "gemma-4-31b-it"


def test_permission_yes_no_always(cli: Cli, gemini: Gemini) -> None:
    marker = gemini.cwd / "mock_tool_ran.txt"
    code, out, err = cli("--json", "ask", "gemini", "please usetool now")
    assert code == 5, (out, err)
    data = json.loads(out)
    assert data["state"] == "permission"
    assert data["options"] == ["Allow once", "Allow for this session", "No, suggest changes"]
    assert TOOL_COMMAND in data["question"] and "│" not in data["question"]
    assert not marker.exists(), "nothing auto-approved"
    code, out, err = cli("--json", "approve", "gemini", "yes", "--wait")
    assert code == 0, err
    assert marker.exists()
    assert json.loads(out)["reply"] == TOOL_TURN
    marker.unlink()

    assert cli("ask", "gemini", "please usetool to deny")[0] == 5
    code, _, err = cli("approve", "gemini", "no")
    assert code == 0, err
    wait_for(lambda: cli("state", "gemini")[1].strip() == "idle", 20, 0.3)
    assert not marker.exists()

    assert cli("ask", "gemini", "please usetool for the session")[0] == 5
    code, out, err = cli("--json", "approve", "gemini", "always", "--wait")
    assert code == 0, err
    assert json.loads(out)["reply"] == TOOL_TURN and marker.exists()
    marker.unlink()
    code, out, err = cli("ask", "gemini", "please usetool again")  # allowed for the session: no question
    assert code == 0, (out, err)
    assert out.strip() == TOOL_TURN and marker.exists()


def session_of_chat(gemini: Gemini) -> str:
    """The session id in the header of Gemini's newest chat file."""
    return str(json.loads(gemini.chats[-1].read_text().splitlines()[0])["sessionId"])


def test_kill9_dead_then_restart_into_the_same_session(cli: Cli, gemini: Gemini) -> None:
    assert cli("ask", "gemini", "remember me")[0] == 0
    pid = gemini.pane.foreground_pid()
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: cli("state", "gemini")[1].strip() == "dead", 10, 0.2)
    code, _, err = cli("ask", "gemini", "hello?")
    assert code == 4 and "agent-bridge restart gemini" in err
    # Started as plain `gemini`: the session id was learnt from the chat file of the reply read,
    # and `gemini --resume <id>` resumes exactly that one.
    code, out, err = cli("--json", "restart", "gemini")
    assert code == 0, err
    assert json.loads(out) == {"agent": "gemini", "state": "idle", "session_id": session_of_chat(gemini)}
    code, out, err = cli("--json", "ask", "gemini", "back again")
    assert code == 0, err
    assert json.loads(out)["reply"] == "MOCK-REPLY: back again"
    history = json.dumps(gemini.mock.turns()[-1].contents)
    assert "remember me" in history, "resumed into the session that was killed"


@pytest.mark.parametrize("gemini", [False], indirect=True)
def test_started_by_the_bridge_with_a_session_id_it_chose(cli: Cli, gemini: Gemini) -> None:
    code, out, err = cli("--json", "start", "gemini")
    assert code == 0, err
    started = json.loads(out)
    assert started["state"] == "idle" and started["session_id"]
    assert cli("ask", "gemini", "remember me too")[0] == 0
    assert session_of_chat(gemini) == started["session_id"]  # gemini --session-id <the bridge's id>
    pid = gemini.pane.foreground_pid()
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: cli("state", "gemini")[1].strip() == "dead", 10, 0.2)
    code, out, err = cli("--json", "restart", "gemini")
    assert code == 0, err
    assert json.loads(out)["session_id"] == started["session_id"]
    code, out, err = cli("ask", "gemini", "and back")
    assert code == 0 and out == "MOCK-REPLY: and back\n", err
    assert "remember me too" in json.dumps(gemini.mock.turns()[-1].contents)


def test_the_loop_detection_dialog_stops_an_ask_at_once(cli: Cli, gemini: Gemini) -> None:
    began = time.monotonic()
    code, out, err = cli("--json", "ask", "gemini", "please repeatloop now", "--timeout", "60")
    assert code == 6, (out, err)  # the prompt was delivered, no whole reply came back
    error = json.loads(out)
    assert error["state"] == "dialog" and error["delivered"] is True
    assert "A potential loop was detected [1. Keep loop detection enabled (esc)" in error["message"]
    assert time.monotonic() - began < 30, "stopped at once, not at the timeout"
    assert cli("keys", "gemini", "Escape")[0] == 0  # "Keep loop detection enabled (esc)"
    wait_for(lambda: cli("state", "gemini")[1].strip() == "idle", 10, 0.2)
    code, out, err = cli("ask", "gemini", "after the loop")
    assert code == 0 and out == "MOCK-REPLY: after the loop\n", err
