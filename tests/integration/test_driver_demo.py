"""The driver end to end with the demo agent: real tmux, reached through the real sshd."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers.fixtures import Sshd, TmuxServer, agent_toml, run_cli, stop_brokers, wait_for

pytestmark = pytest.mark.integration

CLI = Callable[..., tuple[int, str, str]]


@pytest.fixture
def cli(
    demo: tuple[str, Path], sshd: Sshd, tmux_server: TmuxServer, make_registry: Callable[..., Path]
) -> CLI:
    registry = make_registry(
        sshd.host_toml("vps", tmux_socket=tmux_server.socket),
        agent_toml("demo", "vps", "demo:0.0", profile="demo", start=f"{sys.executable} -m bridge.demo"),
        agent_toml("careful", "vps", "demo:0.0", profile="demo", permissions="deny"),
        agent_toml("phoenix", "vps", "demo:0.0", profile="demo", restart="auto"),
    )

    def call(*args: str, stdin: bytes | None = None) -> tuple[int, str, str]:
        result = run_cli("--config", str(registry), *args, input=stdin, timeout=120)
        return result.returncode, result.stdout.decode(), result.stderr.decode()

    return call


def logged(log: Path) -> list[str]:
    return [json.loads(line)["prompt"] for line in log.read_text().splitlines()] if log.exists() else []


def test_ask_prints_the_reply_alone(cli: CLI, demo: tuple[str, Path]) -> None:
    code, out, err = cli("ask", "demo", "What is 6 x 7?")
    assert code == 0, err
    assert out == "42\n"
    assert logged(demo[1]) == ["What is 6 x 7?"], "typed exactly once"


def test_ask_json_shape(cli: CLI) -> None:
    code, out, err = cli("ask", "demo", "hello there", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert set(data) == {"agent", "reply", "state", "source", "model", "elapsed_s"}
    assert data["reply"] == "MOCK-REPLY: hello there"
    assert data["source"] == "screen" and data["state"] == "idle"


def test_reply_reads_the_answer_after_a_timeout(cli: CLI, demo: tuple[str, Path]) -> None:
    """`agent-bridge reply AGENT`: the reply an `ask` gave up waiting for, once the agent is done;
    and the last reply again, without typing anything."""
    code, _, err = cli("ask", "demo", "delay3 answer me later", "--timeout", "1.5")
    # the limit as given; exit 6: the prompt was delivered (a retry would ask twice)
    assert code == 6 and "timed out after 1.5s waiting" in err, err
    code, _, err = cli("reply", "demo")
    assert code == 4 and "busy, not idle" in err, "a reply still being written is not read"
    wait_for(lambda: cli("state", "demo")[1].strip() == "idle", 20, 0.2)
    code, out, err = cli("reply", "demo")
    assert code == 0 and out == "MOCK-REPLY: delay3 answer me later\n", err
    code, out, err = cli("reply", "demo", "--json")
    data = json.loads(out)
    assert data["reply"] == "MOCK-REPLY: delay3 answer me later" and data["source"] == "screen"
    assert logged(demo[1]) == ["delay3 answer me later"], "reply types nothing"


def test_messages_say_what_was_wanted(cli: CLI) -> None:
    """#16: not "demo is idle, not idle" but what the command needed."""
    code, _, err = cli("restart", "demo")
    assert code == 4 and "demo is idle, not dead: cannot restart it" in err, err
    code, _, err = cli("approve", "demo", "yes")
    assert code == 4 and "demo is idle, not asking for permission" in err, err


def test_ask_strip_controls_says_how_many(cli: CLI, demo: tuple[str, Path]) -> None:
    """#16: `ask --strip-controls` says how many characters it dropped (as the README says)."""
    code, out, err = cli("ask", "demo", "-", "--strip-controls", stdin=b"hel\x1blo\x03 there")
    assert code == 0, err
    assert out == "MOCK-REPLY: hello there\n" and "removed 2 control character(s)" in err
    code, out, err = cli("--json", "ask", "demo", "-", "--strip-controls", stdin=b"a\x07b")
    assert json.loads(out)["removed_controls"] == 1
    assert logged(demo[1])[-1] == "ab"


def test_multiline_reply_exact(cli: CLI) -> None:
    code, out, err = cli("ask", "demo", "give me multiline please")
    assert code == 0, err
    expected = [f"line {i}" for i in range(1, 31)] + ["MOCK-END"]
    assert out.splitlines() == expected


def test_multiline_prompt_from_stdin_byte_exact(cli: CLI, demo: tuple[str, Path]) -> None:
    prompt = "first line\n\tsecond 'quoted' $HOME `x`;\nthird — ünïcode 🙂"
    code, out, err = cli("ask", "demo", "-", stdin=prompt.encode())
    assert code == 0, err
    assert logged(demo[1]) == [prompt]
    # The demo keeps no transcript: the reply is read from the screen, where a tab is drawn as spaces.
    lines = out.splitlines()
    assert lines[0] == "MOCK-REPLY: first line"
    assert lines[1].strip() == "second 'quoted' $HOME `x`;"
    assert lines[2] == "third — ünïcode 🙂"


def test_model_switch(cli: CLI, demo: tuple[str, Path]) -> None:
    code, out, err = cli("model", "demo", "sonnet")
    assert code == 0, err
    assert out.strip() == "model set to Sonnet"
    assert cli("ask", "demo", "after switch")[0] == 0
    assert json.loads(demo[1].read_text().splitlines()[-1])["model"] == "Sonnet"
    # With a conversation, the demo asks "Switch model?" like Claude: answered.
    code, out, err = cli("--json", "ask", "demo", "and now?", "--model", "4")
    assert code == 0, err
    assert json.loads(demo[1].read_text().splitlines()[-1])["model"] == "Haiku"
    # the JSON names the model switched to (it said null), and its time counts the switch too
    answer = json.loads(out)
    assert answer["model"] == "Haiku" and answer["elapsed_s"] > 0.3


def test_unknown_model_is_refused_without_pressing(cli: CLI) -> None:
    code, _, err = cli("model", "demo", "gpt-9")
    assert code == 2 and "no single menu row matches 'gpt-9'" in err
    # the menu it opened is closed again: the agent is as it was, and the next ask works
    assert cli("state", "demo")[1].strip() == "idle"
    code, out, err = cli("ask", "demo", "What is 3+4?")
    assert code == 0 and out == "7\n", err


def test_permission_yes(cli: CLI) -> None:
    code, out, err = cli("--json", "ask", "demo", "please run touch x")
    assert code == 5, err
    data = json.loads(out)
    assert data["state"] == "permission" and "touch x" in data["question"]
    assert data["options"][0] == "Yes" and data["options"][-1] == "No"
    assert cli("state", "demo")[1].strip() == "permission"
    code, out, err = cli("approve", "demo", "yes", "--wait")
    assert code == 0, err
    assert out.strip() == "Done: touch x"


def test_permission_no(cli: CLI) -> None:
    assert cli("ask", "demo", "please run rm -rf /tmp/nothing")[0] == 5
    code, _, err = cli("approve", "demo", "no")
    assert code == 0, err
    wait_for(lambda: cli("state", "demo")[1].strip() == "idle", 10, 0.2)


def test_permissions_deny_answers_no_itself(cli: CLI) -> None:
    code, _, err = cli("ask", "careful", "please run touch y", "--timeout", "20")
    assert code == 0, err
    assert cli("state", "careful")[1].strip() == "idle"


def test_timeout_returns_screen_and_exit_4_before_typing_6_after(cli: CLI, demo: tuple[str, Path]) -> None:
    """Too little time to see a prompt taken: nothing typed, exit 4. Typed, then out of time:
    exit 6 (delivered), the last screen, within the timeout and a second."""
    code, out, err = cli("--json", "ask", "demo", "delay5 too late", "--timeout", "1")
    assert code == 4, err
    assert json.loads(out)["delivered"] is False and "nothing was typed" in err
    assert logged(demo[1]) == []
    began = time.monotonic()
    code, out, err = cli("--json", "ask", "demo", "delay5 slow one", "--timeout", "2.5")
    assert code == 6, err
    assert time.monotonic() - began < 2.5 + 1.5  # + the interpreter's start
    data = json.loads(out)
    assert data["state"] == "busy" and "Thinking" in data["screen"] and data["delivered"] is True
    assert "timed out" in err and "--timeout" in err
    assert logged(demo[1]) == ["delay5 slow one"]


def test_dead_agent_then_restart(cli: CLI, demo: tuple[str, Path], tmux_server: TmuxServer) -> None:
    pane, _ = demo
    assert cli("keys", "demo", "C-c", "C-c")[0] == 0
    wait_for(lambda: tmux_server.current_command(pane) == "bash", 10)
    assert cli("state", "demo")[1].strip() == "dead"
    code, _, err = cli("ask", "demo", "anyone?")
    assert code == 4 and "agent-bridge restart demo" in err
    code, out, err = cli("--json", "restart", "demo")
    assert code == 0, out
    code, out, err = cli("ask", "demo", "What is 2+2?")
    assert code == 0 and out == "4\n", err


def test_restart_confirms_on_a_new_screen_and_fails_fast_when_it_dies_at_once(
    tmux_server: TmuxServer, make_registry: Callable[..., Path], tmp_path: Path
) -> None:
    """A resume command whose process exits at once fails in seconds, not at the timeout (and a
    dead agent's old frame is cleared first, so it cannot be read as the new one's: the restart
    test above ran flaky on that, about 1 in 2)."""
    import subprocess

    outside = tmp_path / "elsewhere"
    outside.mkdir()
    path = {"PATH": "/usr/bin:/bin"}  # the system's python3, without this checkout's venv
    found = subprocess.run(["python3", "-c", "import bridge"], cwd=outside, capture_output=True, env=path)
    if found.returncode == 0:
        pytest.skip(reason="the system's python3 imports bridge from anywhere: its resume cannot fail")
    pane = tmux_server.new_pane("lost", f"{sys.executable} -m bridge.demo --delay 0.1", cwd=outside, env=path)
    wait_for(lambda: "? for shortcuts" in tmux_server.capture(pane), 15)
    registry = make_registry(
        f'[hosts.here]\nlocal = true\ntmux_socket = "{tmux_server.socket}"\n',
        agent_toml("lost", "here", "lost:0.0", profile="demo", resume="python3 -m bridge.demo"),
    )
    tmux_server.tmux("send-keys", "-t", pane, "C-c", "C-c")
    wait_for(lambda: tmux_server.current_command(pane) == "bash", 10)
    began = time.monotonic()
    # python3 -m bridge.demo (the agent's own resume) cannot find bridge from here: it exits
    result = run_cli("--config", str(registry), "--json", "restart", "lost", "--timeout", "60")
    took = time.monotonic() - began
    assert result.returncode == 4, result.stdout
    error = json.loads(result.stdout)
    # it exits within milliseconds: seen running first ("exited at once") or never (after START_S)
    assert error["state"] == "dead" and (
        "exited at once" in error["message"] or "never started" in error["message"]
    )
    assert "(the command: python3 -m bridge.demo)" in error["message"]
    assert "ModuleNotFoundError" in tmux_server.capture(pane) and took < 30


def test_keys_and_skill_show_honour_json_before_and_after(cli: CLI) -> None:
    for args in (("keys", "demo", "Escape", "--json"), ("--json", "keys", "demo", "Escape")):
        code, out, err = cli(*args)
        assert code == 0, err
        assert json.loads(out) == {"agent": "demo", "keys": ["Escape"]}
    for args in (("skill", "show", "--json"), ("--json", "skill", "show")):
        code, out, err = cli(*args)
        assert code == 0 and json.loads(out)["skill"].startswith("---\nname: agent-bridge"), err


def test_agents_check_reports_state(cli: CLI) -> None:
    code, out, err = cli("--json", "agents", "--check")
    assert code == 0, err
    states = {row["agent"]: row["state"] for row in json.loads(out)}
    assert states == {"demo": "idle", "careful": "idle", "phoenix": "idle"}


def test_demo_command_needs_no_config(tmp_path: Path) -> None:
    """The Quick start's first command: a private tmux server, the demo agent, a real reply."""
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    env = {"XDG_RUNTIME_DIR": str(runtime), "AGENT_BRIDGE_CONFIG": str(tmp_path / "none.toml")}
    socket = runtime / "agent-bridge" / "demo.sock"
    try:
        result = run_cli("demo", env=env, timeout=60)
        assert result.returncode == 0, result.stderr
        out = result.stdout.decode()
        assert "it replied (screen," in out and ": 42\n" in out
        assert f"tmux -S {socket} attach -t demo -r" in out
        again = run_cli("--json", "demo", "--prompt", "What is 2+3?", env=env, timeout=60)
        assert json.loads(again.stdout)["reply"] == "5", "a second run reuses the running agent"
    finally:
        subprocess.run(["tmux", "-S", str(socket), "kill-server"], capture_output=True, timeout=10)


def test_demo_left_on_a_question_is_answered_by_its_hint_then_replaced(tmp_path: Path) -> None:
    """#16 item 4: the exit-5 hint works without a registry, and a demo left on a question does not
    make the next run time out (it is replaced by a fresh demo agent)."""
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    env = {"XDG_RUNTIME_DIR": str(runtime), "AGENT_BRIDGE_CONFIG": str(tmp_path / "none.toml")}
    socket = runtime / "agent-bridge" / "demo.sock"
    try:
        asked = run_cli("demo", "-p", "run ls", env=env, timeout=90)
        assert asked.returncode == 5, asked.stderr
        hint = asked.stderr.decode()
        assert "agent-bridge demo --approve yes" in hint, hint
        answered = run_cli("--json", "demo", "--approve", "yes", env=env, timeout=90)
        assert answered.returncode == 0, answered.stderr
        assert json.loads(answered.stdout)["state"] == "idle"
        assert run_cli("demo", "-p", "run ls", env=env, timeout=90).returncode == 5
        again = run_cli("--json", "demo", "-p", "What is 2+3?", env=env, timeout=90)
        assert again.returncode == 0, again.stderr
        assert json.loads(again.stdout)["reply"] == "5"
    finally:
        subprocess.run(["tmux", "-S", str(socket), "kill-server"], capture_output=True, timeout=10)


def test_spinner_on_a_terminal_only(
    cli: CLI, tmux_server: TmuxServer, sshd: Sshd, make_registry: Callable[..., Path]
) -> None:
    """In a real terminal, a long ask shows the agent's state and time on stderr, then clears it."""
    registry = make_registry(
        sshd.host_toml("vps", tmux_socket=tmux_server.socket),
        agent_toml("demo", "vps", "demo:0.0", profile="demo"),
        name="spin.toml",
    )
    runtime = Path(tempfile.mkdtemp(prefix="ab-spin-"))  # short: unix socket paths are limited
    command = (
        f"XDG_RUNTIME_DIR={runtime} {sys.executable} -m bridge --config {registry} "
        "ask demo 'delay3 spin please'"
    )
    term = tmux_server.new_pane("term", command)
    try:
        wait_for(lambda: "demo: busy ·" in tmux_server.capture(term), 15, 0.1)
        wait_for(lambda: "MOCK-REPLY: delay3 spin please" in tmux_server.capture(term), 20, 0.1)
        assert "demo: busy ·" not in tmux_server.capture(term), "the spinner line is cleared"
    finally:
        stop_brokers(runtime)
        shutil.rmtree(runtime, ignore_errors=True)
    # Piped (not a terminal): nothing but the result.
    code, out, err = cli("ask", "demo", "quiet please")
    assert (code, out, err) == (0, "MOCK-REPLY: quiet please\n", "")


def test_completion_offers_agent_names(cli: CLI, sshd: Sshd, make_registry: Callable[..., Path]) -> None:
    registry = make_registry(
        sshd.host_toml("vps"),
        agent_toml("demo", "vps", "a"),
        agent_toml("dev", "vps", "b"),
        agent_toml("claude", "vps", "c"),
        name="comp.toml",
    )
    script = Path(sys.executable).with_name("agent-bridge")
    env = {
        "AGENT_BRIDGE_CONFIG": str(registry),
        "_AGENT_BRIDGE_COMPLETE": "complete_bash",
        "COMP_WORDS": "agent-bridge ask d",
        "COMP_CWORD": "2",
    }
    result = subprocess.run(
        [str(script)], env={**os.environ, **env}, capture_output=True, text=True, timeout=30
    )
    assert result.stdout.split() == ["demo", "dev"]


def test_killed_mid_ask_is_detected_and_auto_restarted(
    cli: CLI, demo: tuple[str, Path], tmux_server: TmuxServer
) -> None:
    """kill -9 while answering: exit 6 (delivered) fast; restart = "auto" brings it back; nothing
    re-sent."""
    pane, log = demo
    result: list[tuple[int, str, str]] = []
    asker = threading.Thread(target=lambda: result.append(cli("--json", "ask", "phoenix", "delay8 doomed")))
    asker.start()
    wait_for(lambda: logged(log) == ["delay8 doomed"], 10)
    shell_pid = int(tmux_server.tmux("display-message", "-p", "-t", pane, "#{pane_pid}").stdout)
    agent_pid = int(
        subprocess.run(
            ["ps", "-o", "pid=", "--ppid", str(shell_pid)], capture_output=True, text=True, check=True
        ).stdout.split()[0]
    )
    killed_at = time.monotonic()
    os.kill(agent_pid, signal.SIGKILL)
    asker.join(60)
    code, out, err = result[0]
    assert code == 6, err  # not 4: the prompt had been delivered, a retry would ask twice
    assert json.loads(out)["state"] == "restarted" and json.loads(out)["delivered"] is True
    # The fixture started the demo without a session id: the profile's resume_last runs.
    assert "restarted with `agent-bridge-demo`" in err and "NOT sent again" in err
    assert time.monotonic() - killed_at < 15, "dead is noticed within 2 s, then the restart"
    # Idle (not busy for 8 s) after the restart: the prompt was not typed again.
    assert cli("state", "phoenix")[1].strip() == "idle"
    assert logged(log) == ["delay8 doomed"]
    # Found dead before anything is typed: the ask waits for the restart and is answered.
    tmux_server.tmux("send-keys", "-t", pane, "C-c", "C-c")
    wait_for(lambda: cli("state", "phoenix")[1].strip() == "dead", 10)
    code, out, err = cli("ask", "phoenix", "What is 6 x 7?")
    assert (code, out) == (0, "42\n"), err
