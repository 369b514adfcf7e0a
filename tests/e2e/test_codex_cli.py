"""agent-bridge against the REAL Codex CLI 0.169.0 (offline, mock Responses API), over the real sshd.

Every call goes through the CLI as a user would run it: registry -> SSH -> tmux -> driver. After
each test no process with the test's ``CODEX_HOME`` may be left (no daemon outlives the pane).
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

from bridge.transcripts.codex import CodexTranscripts
from tests.e2e.codex_cli import CliUnavailable, Codex, install_codex, launch_codex
from tests.e2e.connects import connections, remote, require_strace, traced
from tests.e2e.mock_anthropic import TOOL_COMMAND, TOOL_INTRO, multiline_text
from tests.e2e.mock_openai_responses import MockResponses
from tests.helpers.fixtures import Sshd, agent_toml, run_cli, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

Cli = Callable[..., tuple[int, str, str]]


@pytest.fixture(scope="session")
def codex_executable() -> Path:
    if not shutil.which("tmux"):
        pytest.skip(reason="tmux is not installed (apt-get install tmux)")
    try:
        return install_codex()
    except CliUnavailable as exc:
        pytest.skip(reason=str(exc))


@pytest.fixture
def codex(request: pytest.FixtureRequest, tmp_path: Path, codex_executable: Path) -> Iterator[Codex]:
    """Codex at its idle composer in a private pane, talking to a fresh mock; afterwards the
    pane is gone and no process of this Codex is left."""
    with MockResponses() as mock:
        agent = launch_codex(tmp_path, mock, codex_executable)
        try:
            yield agent
        finally:
            if getattr(getattr(request.node, "rep_call", None), "failed", False):
                print(f"--- last screen ---\n{agent.screen()}\n--- mock requests ---")
                for r in mock.requests():
                    print(r.seq, r.method, r.path, r.model, r.effort, repr(r.last_user_text[:60]))
            left = agent.close()
    assert left == [], f"processes of this Codex outlived its pane: {left}"


@pytest.fixture
def cli(codex: Codex, sshd: Sshd, make_registry: Callable[..., Path]) -> Cli:
    registry = make_registry(
        sshd.host_toml("vps", tmux_socket=str(codex.pane.socket)),
        agent_toml("codex", "vps", "codex:0.0", profile="codex"),
    )

    def call(*args: str) -> tuple[int, str, str]:
        result = run_cli("--config", str(registry), *args, timeout=180)
        return result.returncode, result.stdout.decode(), result.stderr.decode()

    return call


def test_short_and_thirty_line_replies_are_exact(cli: Cli) -> None:
    code, out, err = cli("--json", "ask", "codex", "hello from the bridge")
    assert code == 0, err
    data = json.loads(out)
    assert (data["reply"], data["source"], data["state"]) == (
        "MOCK-REPLY: hello from the bridge",
        "transcript",
        "idle",
    )
    assert data["model"] == "gpt-5-codex"
    prompt = "please answer multiline"  # 32 lines: more than the screen shows of it
    code, out, err = cli("--json", "ask", "codex", prompt)
    assert code == 0, err
    data = json.loads(out)
    assert (data["reply"], data["source"]) == (multiline_text(prompt), "transcript")


def test_a_slow_reply_is_waited_for(cli: Cli) -> None:
    """The busy bullet blinks (• / ◦): a 6 s answer must not come back early with the busy line."""
    code, out, err = cli("--json", "ask", "codex", "take your time delay6")
    assert code == 0, err
    data = json.loads(out)
    assert data["reply"] == "MOCK-REPLY: take your time delay6"
    assert data["elapsed_s"] >= 6


def test_model_switch_reaches_the_api_and_an_unknown_model_changes_nothing(cli: Cli, codex: Codex) -> None:
    config = (codex.codex_home / "config.toml").read_text()
    code, out, err = cli("model", "codex", "GPT-6-Astra")  # then Codex asks the reasoning level
    assert code == 0, err
    assert "gpt-6-astra" in out
    # "s" in the reasoning-level menu: for this session only, the user's config.toml untouched.
    assert (codex.codex_home / "config.toml").read_text() == config
    code, out, err = cli("--json", "ask", "codex", "which model now")
    assert code == 0, err
    assert json.loads(out)["reply"] == "MOCK-REPLY: which model now"
    assert codex.mock.turns()[-1].model == "gpt-6-astra"
    assert json.loads(out)["model"] == "gpt-6-astra"  # from the transcript's turn
    code, out, err = cli("model", "codex", "gpt-6-astra")  # already on it: the status row says so
    assert code == 0 and "GPT-6-Astra" in out, err
    code, _, err = cli("model", "codex", "no-such-model")
    assert code != 0 and "no-such-model" in err
    assert cli("state", "codex")[1].strip() == "idle"  # the /model menu was closed again
    code, out, err = cli("ask", "codex", "still there")
    assert code == 0 and out == "MOCK-REPLY: still there\n", err
    assert codex.mock.turns()[-1].model == "gpt-6-astra"
    code, out, err = cli("model", "codex", "GPT-6-Luna", "--save")  # Enter: the new default
    assert code == 0, err
    assert 'model = "gpt-6-luna"' in (codex.codex_home / "config.toml").read_text()


def test_permission_question_then_approve_yes(cli: Cli, codex: Codex) -> None:
    code, out, err = cli("--json", "ask", "codex", "please usetool now")
    assert code == 5, (out, err)
    data = json.loads(out)
    assert data["state"] == "permission"
    assert data["question"].startswith("Would you like to run the following command?")
    assert TOOL_COMMAND in data["question"]
    assert data["options"][0].startswith("Yes, proceed") and data["options"][-1].startswith("No")
    assert not (codex.cwd / "mock_tool_ran.txt").exists(), "nothing auto-approved"
    code, out, err = cli("--json", "approve", "codex", "yes", "--wait")
    assert code == 0, err
    assert (codex.cwd / "mock_tool_ran.txt").exists()
    assert json.loads(out)["reply"] == f"{TOOL_INTRO}\n\nMOCK-REPLY: tool done: MOCK-TOOL-RAN"
    assert codex.mock.turns()[-1].tool_output == "MOCK-TOOL-RAN"


def test_permission_denied(cli: Cli, codex: Codex) -> None:
    code, out, err = cli("--json", "ask", "codex", "please usetool again")
    assert code == 5, (out, err)
    assert json.loads(out)["state"] == "permission"
    code, _, err = cli("approve", "codex", "no")
    assert code == 0, err
    wait_for(lambda: cli("state", "codex")[1].strip() == "idle", 20, 0.3)
    assert not (codex.cwd / "mock_tool_ran.txt").exists()
    code, out, err = cli("ask", "codex", "after the refusal")
    assert code == 0 and out == "MOCK-REPLY: after the refusal\n", err


def test_kill9_dead_then_restart_into_the_same_session(cli: Cli, codex: Codex) -> None:
    assert cli("ask", "codex", "remember me")[0] == 0
    pid = codex.codex_pid()
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: cli("state", "codex")[1].strip() == "dead", 10, 0.2)
    code, _, err = cli("ask", "codex", "hello?")
    assert code == 4 and "agent-bridge restart codex" in err
    code, out, err = cli("--json", "restart", "codex")
    assert code == 0, err
    # Resumed by the session id learnt from the rollout: codex resume --no-daemon <id>.
    session = CodexTranscripts().session_of(codex.rollouts()[-1].read_text())
    assert session and json.loads(out)["session_id"] == session
    resumed = codex.codex_pid()
    assert resumed is not None
    assert Path(f"/proc/{resumed}/cmdline").read_bytes().split(b"\0")[:-1] == [
        b"codex", b"resume", b"--no-daemon", session.encode()]  # fmt: skip
    assert cli("state", "codex")[1].strip() == "idle"
    code, out, err = cli("--json", "ask", "codex", "back again")
    assert code == 0, err
    assert (json.loads(out)["reply"], json.loads(out)["source"]) == ("MOCK-REPLY: back again", "transcript")
    # The same conversation: the model saw the turn from before the crash, in the same rollout.
    asked = codex.mock.turns()[-1]
    assert any("remember me" in json.dumps(item) for item in asked.items)
    assert len(codex.rollouts()) == 1


def test_codex_stays_on_loopback(tmp_path: Path, codex_executable: Path) -> None:
    """Every connection Codex (and its children) opens goes to 127.0.0.1, apart from one DNS
    lookup (raw.githubusercontent.com: its start-up tip, fetched whatever the config says),
    which fails offline."""
    require_strace()
    log = tmp_path / "strace.txt"
    with MockResponses() as mock:
        agent = launch_codex(tmp_path / "run", mock, codex_executable, start=False)
        try:
            agent.start(traced(log, "codex --no-daemon"))
            agent.pane.send_keys("hello there", literal=True)
            time.sleep(0.3)
            agent.pane.send_keys("Enter")
            agent.pane.wait_for("MOCK-REPLY: hello there", 30)
            time.sleep(2)  # background start-up work
        finally:
            assert agent.close() == []
    assert any(port == str(mock.port) for port, _ in connections(log)), "the mock was never reached?"
    assert remote(log) == set()


def test_resume_by_id_reopens_that_session(codex: Codex) -> None:
    """``codex resume --no-daemon <id>`` (the profile's resume with the session id) continues
    the session it names, not the newest one in the folder, in the same rollout file."""
    codex.ask("marker of the first session")
    first = codex.rollouts()[-1]
    session = CodexTranscripts().session_of(first.read_text())
    assert session and first.name.endswith(f"-{session}.jsonl")
    codex.quit()
    codex.start()
    codex.ask("marker of the second session")
    codex.quit()
    assert len(codex.rollouts()) == 2
    codex.start(f"codex resume --no-daemon {session}")
    codex.ask("which session is this")
    seen = json.dumps(codex.mock.turns()[-1].items)
    assert "marker of the first session" in seen and "marker of the second session" not in seen
    assert codex.rollouts()[-1] == first  # appended to its own file
    reply = CodexTranscripts().reply_after(first.read_text(), "which session is this")
    assert reply is not None and reply.text == "MOCK-REPLY: which session is this"
