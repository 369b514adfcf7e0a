"""Agents started with a session id the bridge chooses, and resumed into exactly that session
(real tmux, through the real sshd; the demo agent writes its session id in its log)."""

from __future__ import annotations

import json
import os
import signal
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers.fixtures import Sshd, TmuxServer, agent_toml, run_cli, wait_for

pytestmark = pytest.mark.integration

CLI = Callable[..., tuple[int, str, str]]


def sessions(log: Path) -> list[tuple[str, str]]:
    lines = log.read_text().splitlines() if log.exists() else []
    return [(entry["prompt"], entry.get("session", "")) for entry in map(json.loads, lines)]


@pytest.fixture
def setup(
    sshd: Sshd, tmux_server: TmuxServer, make_registry: Callable[..., Path], tmp_path: Path
) -> tuple[CLI, Path]:
    log = tmp_path / "demo.log"
    demo = f"agent-bridge-demo --delay 0.1 --log {log} --session-id {{session_id}}"
    elsewhere = tmp_path / "somewhere else"  # not the repository: the console script works anywhere
    elsewhere.mkdir()
    registry = make_registry(
        sshd.host_toml("vps", tmux_socket=tmux_server.socket),
        # The agent's own resume: its start's flags (the log) are not in the profile's resume.
        agent_toml("worker", "vps", "team:worker.0", profile="demo", start=demo, resume=demo,
                   cwd=str(elsewhere)),
        agent_toml("broken", "vps", "team:broken.0", profile="demo", start="agent-bridge-demo --bad-flag"),
    )

    def call(*args: str) -> tuple[int, str, str]:
        result = run_cli("--config", str(registry), *args, timeout=120)
        return result.returncode, result.stdout.decode(), result.stderr.decode()

    return call, log


def test_start_chooses_a_session_and_restart_resumes_exactly_it(
    setup: tuple[CLI, Path], tmux_server: TmuxServer
) -> None:
    cli, log = setup
    code, out, err = cli("--json", "start", "worker")
    assert code == 0, err
    started = json.loads(out)
    assert started["started"] and started["state"] == "idle", started
    session = started["session_id"]
    assert uuid.UUID(session)
    pane = started["pane"]
    option = tmux_server.tmux("show-options", "-p", "-v", "-t", pane, "@agent_bridge_session").stdout.strip()
    assert option == session  # written on the pane, where every client reads it
    assert cli("--json", "start", "worker")[1].count('"already_running": true') == 1  # left alone

    assert cli("ask", "worker", "first turn")[0] == 0
    assert sessions(log) == [("first turn", session)]

    shell = int(tmux_server.tmux("display-message", "-p", "-t", pane, "#{pane_pid}").stdout)
    agent = int(Path(f"/proc/{shell}/stat").read_text().rsplit(")", 1)[1].split()[5])  # foreground group
    os.killpg(agent, signal.SIGKILL)
    wait_for(lambda: cli("state", "worker")[1].strip() == "dead", 15)
    code, out, err = cli("--json", "restart", "worker")
    assert code == 0, err
    assert json.loads(out) == {"agent": "worker", "state": "idle", "session_id": session}
    assert cli("ask", "worker", "after the crash")[0] == 0
    assert sessions(log) == [("first turn", session), ("after the crash", session)]


def test_start_that_does_not_come_up_fails_clearly(setup: tuple[CLI, Path]) -> None:
    cli, _ = setup
    code, out, err = cli("--json", "start", "broken")
    assert code == 4, (out, err)
    error = json.loads(out)
    assert error["state"] == "dead"
    assert "broken did not come back" in error["message"] or "did not come up" in error["message"]
    assert "agent-bridge-demo --bad-flag" in error["message"]
