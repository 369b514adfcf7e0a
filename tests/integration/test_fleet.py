"""The fleet the registry declares: `up` builds it (sessions, windows, panes, layouts) and starts
every agent into a session of its own, a second `up` changes nothing, `status` shows it, `down`
takes it down. Six demo agents in two windows of a private tmux server, one more session reached
through the real sshd."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.fixtures import Sshd, TmuxServer, local_host_toml, run_cli

pytestmark = pytest.mark.integration

CONTENT = ("prometheus", "orpheus", "hephaestus")
REVIEW = ("athena", "apollo")


@pytest.fixture
def fleet(sshd: Sshd, tmux_server: TmuxServer, make_registry: Callable[..., Path], tmp_path: Path
          ) -> tuple[Callable[..., Any], Path]:  # fmt: skip
    logs = tmp_path / "logs"
    logs.mkdir()

    def agent(name: str, host: str, target: str, **extra: str) -> str:
        demo = f"agent-bridge-demo --delay 0.1 --log {logs / name}.jsonl --session-id {{session_id}}"
        lines = [f"[agents.{name}]", f'host = "{host}"', f'target = "{target}"', 'profile = "demo"',
                 f'start = "{demo}"', f'resume = "{demo}"', f'cwd = "{tmp_path}"']  # fmt: skip
        return "\n".join(lines + [f"{k} = {v}" for k, v in extra.items()]) + "\n"

    registry = make_registry(
        local_host_toml("here", tmux_server.socket),
        sshd.host_toml("vps", tmux_socket=tmux_server.socket),
        *(agent(n, "here", f"atlas:content.{i}") for i, n in enumerate(CONTENT)),
        agent("athena", "here", "atlas:review.0", env='{ FLEET_MARK = "athena-env" }'),
        agent("apollo", "here", "atlas:review.1"),
        agent("hermes", "vps", "olympus:ops.0"),
        '[groups]\ncontent = ["prometheus", "orpheus", "hephaestus"]\nreview = ["athena", "apollo"]\n',
        '[windows."atlas:content"]\nlayout = "main-vertical"\n',
        '[windows."atlas:review"]\nlayout = "even-horizontal"\n',
    )

    def cli(*args: str) -> Any:
        result = run_cli("--config", str(registry), "--json", *args, timeout=180)
        return result.returncode, json.loads(result.stdout or "null"), result.stderr.decode()

    return cli, logs


def panes(tmux: TmuxServer, session: str) -> list[str]:
    out = tmux.tmux("list-panes", "-s", "-t", session, "-F", "#{window_name}.#{pane_index} #{pane_id}").stdout
    return sorted(out.split("\n")[:-1])


def test_up_builds_the_fleet_once_status_shows_it_down_takes_it_down(
    fleet: tuple[Callable[..., Any], Path], tmux_server: TmuxServer
) -> None:
    cli, logs = fleet
    code, rows, err = cli("up")
    assert code == 0, err
    by = {row["agent"]: row for row in rows}
    assert list(by) == [*CONTENT, *REVIEW, "hermes"]  # registry order
    assert all(row["started"] and row["state"] == "idle" for row in rows), rows
    sessions = {name: row["session_id"] for name, row in by.items()}
    assert len(set(sessions.values())) == 6 and all(uuid.UUID(s) for s in sessions.values())
    built = panes(tmux_server, "atlas")
    assert [p.split()[0] for p in built] == ["content.0", "content.1", "content.2", "review.0", "review.1"]
    assert [p.split()[0] for p in panes(tmux_server, "olympus")] == ["ops.0"]  # made through the sshd
    # The layouts were applied: applying the same one again changes nothing.
    for window, layout in (("atlas:content", "main-vertical"), ("atlas:review", "even-horizontal")):
        applied = tmux_server.tmux("display-message", "-p", "-t", window, "#{window_layout}").stdout
        tmux_server.tmux("select-layout", "-t", window, "tiled")
        tmux_server.tmux("select-layout", "-t", window, layout)
        assert tmux_server.tmux("display-message", "-p", "-t", window, "#{window_layout}").stdout == applied
    # The agent's env is in its process, never typed on its screen.
    pid = int(tmux_server.tmux("display-message", "-p", "-t", "atlas:review.0", "#{pane_pid}").stdout)
    assert "FLEET_MARK=athena-env" in Path(f"/proc/{pid}/environ").read_text().split("\0")
    assert "athena-env" not in tmux_server.capture("atlas:review.0")

    code, again, err = cli("up")
    assert code == 0, err
    assert [row["started"] for row in again] == [False] * 6
    assert {row["agent"]: row["session_id"] for row in again} == sessions
    assert panes(tmux_server, "atlas") == built

    code, rows, err = cli("status")
    assert code == 0, err
    assert {row["agent"]: (row["state"], row["session_id"]) for row in rows} == {
        name: ("idle", sessions[name]) for name in sessions
    }
    assert all(isinstance(row["uptime_s"], int) for row in rows)
    assert [row["agent"] for row in cli("status", "content")[1]] == list(CONTENT)  # a group selects
    code, _, err = cli("ask", "orpheus", "hello")
    assert code == 0, err
    logged = [json.loads(line) for line in (logs / "orpheus.jsonl").read_text().splitlines()]
    assert [(e["prompt"], e["session"]) for e in logged] == [("hello", sessions["orpheus"])]
    code, _, err = cli("up", "nobody")
    assert code == 2 and "no agent or group 'nobody'" in err

    code, rows, err = cli("down", "review")
    assert code == 0, err
    assert [(row["agent"], row["result"]) for row in rows] == [("athena", "exited"), ("apollo", "exited")]
    assert [p.split()[0] for p in panes(tmux_server, "atlas")] == ["content.0", "content.1", "content.2"]
    code, rows, err = cli("down", "--kill", "hermes")
    assert code == 0 and rows[0]["result"] == "killed", err
    states = {row["agent"]: row["state"] for row in cli("status")[1]}
    assert states == {**dict.fromkeys(CONTENT, "idle"), "athena": "missing", "apollo": "missing",
                      "hermes": "missing"}  # fmt: skip
    # Back up: only what is missing is made and started, each into a new session.
    code, rows, err = cli("up")
    assert code == 0, err
    assert [row["agent"] for row in rows if row["started"]] == ["athena", "apollo", "hermes"]
