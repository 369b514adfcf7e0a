"""agent-bridge against the REAL Qwen Code 0.15.10 (offline, mock OpenAI Chat Completions API),
over the real sshd.

Every call goes through the CLI as a user would run it: registry -> SSH -> tmux -> driver. One
Qwen serves the whole module (the tests run in file order; the model switch and kill -9 come last).
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bridge.transcripts.qwen import usage
from tests.e2e.connects import connections, remote, require_strace, traced
from tests.e2e.mock_anthropic import TOOL_COMMAND, TOOL_INTRO, multiline_text
from tests.e2e.mock_openai_chat import MODELS, MockOpenAIChat
from tests.e2e.npm_cli import CliUnavailable
from tests.e2e.qwen_code import QwenCode, install_qwen_code, launch_qwen_code
from tests.helpers.fixtures import Sshd, agent_toml, run_cli, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

Cli = Callable[..., tuple[int, str, str]]


@pytest.fixture(scope="module")
def qwen(tmp_path_factory: pytest.TempPathFactory) -> Iterator[QwenCode]:
    """A pane at its shell; the ``cli`` fixture starts Qwen there with the bridge."""
    try:
        executable = install_qwen_code()
    except CliUnavailable as exc:
        pytest.skip(reason=str(exc))
    with MockOpenAIChat() as mock:
        qwen = launch_qwen_code(tmp_path_factory.mktemp("qwen"), mock, executable, start=False)
        try:
            yield qwen
        finally:
            qwen.close()


@pytest.fixture(scope="module")
def cli(qwen: QwenCode, sshd: Sshd, tmp_path_factory: pytest.TempPathFactory) -> Cli:
    """The bridge CLI on a registry naming that pane; ``agent-bridge start qwen`` has run the
    profile's ``qwen --session-id {session_id}`` there, with an id the bridge chose."""
    registry = tmp_path_factory.mktemp("registry") / "registry.toml"
    registry.write_text(
        sshd.host_toml("vps", tmux_socket=str(qwen.pane.socket))
        + agent_toml("qwen", "vps", "qwen:0.0", profile="qwen-code")
    )

    def call(*args: str, stdin: bytes | None = None) -> tuple[int, str, str]:
        result = run_cli("--config", str(registry), *args, input=stdin, timeout=180)
        return result.returncode, result.stdout.decode(), result.stderr.decode()

    code, out, err = call("--json", "start", "qwen")
    assert code == 0, (out, err)
    started = json.loads(out)
    assert started["started"] and started["state"] == "idle", started
    qwen.session_id = started["session_id"]
    if (pid := qwen.pane.foreground_pid()) is not None:
        qwen.pane.started_pids.append(pid)  # so the teardown stops it too
    return call


@pytest.fixture(autouse=True)
def last_screen_on_failure(request: pytest.FixtureRequest, qwen: QwenCode) -> Iterator[None]:
    yield
    if getattr(getattr(request.node, "rep_call", None), "failed", False):
        print(f"--- last screen ({qwen.pane.current_command()}) ---\n{qwen.pane.capture(history=40)}")
        print(
            "--- mock requests ---", [(r.seq, r.model, r.last_user_text[:40]) for r in qwen.mock.requests()]
        )


def test_short_reply_is_exact_from_the_transcript(cli: Cli) -> None:
    code, out, err = cli("--json", "ask", "qwen", "hello from the bridge")
    assert code == 0, err
    data = json.loads(out)
    assert data["reply"] == "MOCK-REPLY: hello from the bridge"
    assert (data["source"], data["state"], data["model"]) == ("transcript", "idle", MODELS[0])
    code, out, _ = cli("ask", "qwen", "and plain mode")
    assert code == 0 and out == "MOCK-REPLY: and plain mode\n"


def test_thirty_line_reply_is_exact(cli: Cli) -> None:
    """The screen indents Qwen's numbered list by one column; the transcript has the model's text."""
    prompt = "please answer multiline"
    code, out, err = cli("--json", "ask", "qwen", prompt)
    assert code == 0, err
    data = json.loads(out)
    assert data["reply"] == multiline_text(prompt) and data["source"] == "transcript"


def test_a_long_pasted_prompt_arrives_whole(cli: Cli, qwen: QwenCode) -> None:
    """Qwen shows a big paste as "[Pasted Content N chars]"; the model gets every line of it."""
    lines = [f"line {i:03d}: context for the agent, with symbols <>&\"' $HOME `x`" for i in range(1, 201)]
    prompt = "\n".join([*lines, "reply with a short answer please"])
    code, out, err = cli("--json", "ask", "qwen", "-", stdin=prompt.encode())
    assert code == 0, err
    assert qwen.mock.turns()[-1].last_user_text == prompt
    data = json.loads(out)
    assert (data["reply"], data["source"]) == (f"MOCK-REPLY: {prompt}", "transcript")


def test_a_slow_reply_is_waited_for(cli: Cli) -> None:
    began = time.monotonic()
    code, out, err = cli("--json", "ask", "qwen", "take your time delay6")
    assert code == 0, err
    assert json.loads(out)["reply"] == "MOCK-REPLY: take your time delay6"
    assert time.monotonic() - began >= 6  # the mock sleeps 6 s before it answers


def test_permission_question_then_approve_yes(cli: Cli, qwen: QwenCode) -> None:
    code, out, err = cli("--json", "ask", "qwen", "please usetool now")
    assert code == 5, (out, err)
    data = json.loads(out)
    assert data["state"] == "permission" and data["question"].endswith("Allow execution of: 'touch'?")
    assert f"\n  {TOOL_COMMAND}\n" in data["question"] and "│" not in data["question"]
    assert data["options"][0] == "Yes, allow once" and data["options"][-1] == "No, suggest changes"
    assert not (qwen.cwd / "mock_tool_ran.txt").exists(), "nothing auto-approved"
    code, out, err = cli("--json", "approve", "qwen", "yes", "--wait")
    assert code == 0, err
    assert (qwen.cwd / "mock_tool_ran.txt").exists()
    before, after = json.loads(out)["reply"].split("\n\n")
    assert before == TOOL_INTRO
    assert after.startswith(f"MOCK-REPLY: tool done: Command: {TOOL_COMMAND}\n") and "MOCK-TOOL-RAN" in after


def test_permission_question_then_approve_no(cli: Cli, qwen: QwenCode) -> None:
    (qwen.cwd / "mock_tool_ran.txt").unlink(missing_ok=True)
    assert cli("ask", "qwen", "please usetool again")[0] == 5
    code, _, err = cli("approve", "qwen", "no")
    assert code == 0, err
    wait_for(lambda: cli("state", "qwen")[1].strip() == "idle", 20, 0.3)
    assert not (qwen.cwd / "mock_tool_ran.txt").exists()


def test_approve_by_number_always_allows_in_this_project(cli: Cli, qwen: QwenCode) -> None:
    """Option 2, "Always allow run 'touch *' commands in this project": the next call is not asked."""
    assert cli("ask", "qwen", "please usetool once more")[0] == 5
    code, _, err = cli("approve", "qwen", "2", "--wait")
    assert code == 0, err
    assert (qwen.cwd / "mock_tool_ran.txt").exists()
    (qwen.cwd / "mock_tool_ran.txt").unlink()
    code, out, err = cli("ask", "qwen", "please usetool unasked")
    assert code == 0, (out, err)
    assert (qwen.cwd / "mock_tool_ran.txt").exists()
    assert "MOCK-REPLY: tool done: " in out


def test_model_switch_reaches_the_api(cli: Cli, qwen: QwenCode) -> None:
    code, out, err = cli("model", "qwen", "max")
    assert code == 0, err
    assert MODELS[1] in out
    code, out, err = cli("--json", "ask", "qwen", "which model now")
    assert code == 0, err
    assert qwen.mock.turns()[-1].model == MODELS[1]
    assert json.loads(out)["model"] == MODELS[1]


def test_an_unknown_model_leaves_the_agent_idle_with_the_menu_closed(cli: Cli) -> None:
    code, _, err = cli("model", "qwen", "no-such-model")
    assert code != 0 and "no-such-model" in err
    assert cli("state", "qwen")[1].strip() == "idle"
    code, out, err = cli("ask", "qwen", "still here")
    assert code == 0 and out == "MOCK-REPLY: still here\n", err


def test_a_refused_model_row_is_backed_out_of_in_seconds(cli: Cli) -> None:
    """Qwen keeps its menu open with an error for its discontinued row: the switch is given up
    on within the menu's answer time (not the whole timeout) and the menu closed."""
    began = time.monotonic()
    code, _, err = cli("model", "qwen", "coder-model", "--timeout", "60")
    assert code != 0, err
    assert time.monotonic() - began < 30
    assert cli("state", "qwen")[1].strip() == "idle"


def test_kill9_dead_then_restart_into_the_same_session(cli: Cli, qwen: QwenCode) -> None:
    assert cli("ask", "qwen", "remember me")[0] == 0
    sessions = qwen.chats()
    group = qwen.pane.foreground_pid()
    assert group is not None
    os.killpg(group, signal.SIGKILL)  # qwen and the node child it relaunched itself as
    wait_for(lambda: cli("state", "qwen")[1].strip() == "dead", 10, 0.2)
    code, _, err = cli("ask", "qwen", "hello?")
    assert code == 4 and "agent-bridge restart qwen" in err
    code, out, err = cli("--json", "restart", "qwen")
    assert code == 0, err
    if (pid := qwen.pane.foreground_pid()) is not None:
        qwen.pane.started_pids.append(pid)  # so the teardown stops it too
    assert json.loads(out) == {"agent": "qwen", "state": "idle", "session_id": qwen.session_id}
    assert f"qwen --resume {qwen.session_id}" in qwen.pane.capture(history=3000)  # the resume typed
    code, out, err = cli("--json", "ask", "qwen", "back again")
    assert code == 0, err
    data = json.loads(out)
    assert data["reply"] == "MOCK-REPLY: back again" and data["source"] == "transcript"
    # resumed: the session file the bridge's id names grew, no other one was made
    assert qwen.chats() == sessions == [sessions[0].with_name(f"{qwen.session_id}.jsonl")]
    assert "remember me" in json.dumps(qwen.mock.turns()[-1].messages)  # the old conversation came back


def test_token_usage_is_each_model_call_once(qwen: QwenCode) -> None:
    """The session file (across the restart) counts every model call once, as the API reported it."""
    (session,) = qwen.chats()
    calls = usage(session.read_text())
    assert [(c.model, c.input, c.output) for c in calls] == [
        (r.model, r.usage["prompt_tokens"], r.usage["completion_tokens"]) for r in qwen.mock.chats()
    ]


def test_qwen_stays_on_loopback(tmp_path: Path) -> None:
    """Every connection Qwen (and the node child it relaunches itself as) opens goes to the mock,
    until it has quit (with the shared README's ``disableAutoUpdate`` it asks registry.npmjs.org
    for updates: caught here; see ``qwen_code.write_settings``)."""
    require_strace()
    log = tmp_path / "strace.txt"
    with MockOpenAIChat() as mock:
        other = launch_qwen_code(tmp_path / "run", mock, install_qwen_code(), start=False)
        try:
            other.start(traced(log, "qwen"))
            other.pane.send_keys("hello there", literal=True)
            time.sleep(0.3)
            other.pane.send_keys("Enter")
            other.pane.wait_for("MOCK-REPLY: hello there", 30)
            time.sleep(3)  # the update check (if on) goes out within ~3 s of the start
            other.pane.send_keys("/quit", literal=True)  # what it sends on the way out counts too
            time.sleep(0.3)
            other.pane.send_keys("Enter")
            other.pane.wait_shell(30)
        finally:
            other.close()
    assert any(port == str(mock.port) for port, _ in connections(log)), "the mock was never reached?"
    assert remote(log) == set()
