"""The night, in one test: `up` a fleet of six demo agents under a real hub; ask each something;
kill two (the supervisor brings them back into their own sessions); a scheduled ask fires and a
scheduled report is written; one agent is left on a permission question; then the report, whose
counts must match the test's own tally (and the agents' own logs) exactly."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.fixtures import TmuxServer, free_port, wait_for
from tests.helpers.hub import HubRun

pytestmark = pytest.mark.integration

CONTENT = ("prometheus", "orpheus", "hephaestus")
REVIEW = ("athena", "apollo", "hermes")
AGENTS = CONTENT + REVIEW


def once_at(epoch: float) -> str:
    """A six-field cron (seconds last) that fires once a day, at ``epoch``'s local time."""
    t = time.localtime(epoch)
    return f"{t.tm_min} {t.tm_hour} * * * {t.tm_sec}"


def target(name: str) -> str:
    return f"atlas:content.{CONTENT.index(name)}" if name in CONTENT else f"atlas:review.{REVIEW.index(name)}"


def logged(logs: Path, name: str) -> list[dict[str, Any]]:
    path = logs / f"{name}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture
def night(tmux_server: TmuxServer, tmp_path: Path) -> tuple[HubRun, Path, Path]:
    logs, reports = tmp_path / "logs", tmp_path / "reports"
    logs.mkdir()
    port = free_port()
    now = time.time()
    lines = ["[hub]", f'listen = "127.0.0.1:{port}"', f'store = "{tmp_path / "hub.db"}"',
             "[hosts.here]", "local = true", f'tmux_socket = "{tmux_server.socket}"']  # fmt: skip
    for name in AGENTS:
        demo = f"agent-bridge-demo --delay 0.1 --log {logs / name}.jsonl --session-id {{session_id}}"
        lines += [f"[agents.{name}]", 'host = "here"', f'target = "{target(name)}"', 'profile = "demo"',
                  f'start = "{demo}"', f'resume = "{demo}"', 'restart = "auto"',
                  f'cwd = "{tmp_path}"']  # fmt: skip
    lines += ["[[schedule]]", f'cron = "{once_at(now + 25)}"', 'ask = "hermes"',
              'prompt = "scheduled check-in"', "[[schedule]]", f'cron = "{once_at(now + 45)}"',
              f'report = "{reports}/night-{{date}}.md"', "since = 3600"]  # fmt: skip
    registry = tmp_path / "registry.toml"
    registry.write_text("\n".join(lines) + "\n")
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    env = {"XDG_RUNTIME_DIR": str(runtime), "XDG_STATE_HOME": str(tmp_path / "state"),
           "XDG_CONFIG_HOME": str(tmp_path / "config"), "AGENT_BRIDGE_NO_BROKER": "1"}  # fmt: skip
    hub = HubRun(tmp_path, registry, f"http://127.0.0.1:{port}", env, {}, {}, str(tmp_path / "hub.db"),
                 tmux_server.socket)  # fmt: skip
    hub.start()
    hub.mint("admin")
    yield hub, logs, reports
    hub.stop()


def kill(tmux: TmuxServer, target: str) -> None:
    shell = int(tmux.tmux("display-message", "-p", "-t", target, "#{pane_pid}").stdout)
    os.killpg(int(Path(f"/proc/{shell}/stat").read_text().rsplit(")", 1)[1].split()[5]), signal.SIGKILL)


def test_a_night_of_six_agents_and_its_report(
    night: tuple[HubRun, Path, Path], tmux_server: TmuxServer, tmp_path: Path
) -> None:
    hub, logs, reports = night
    up = hub.cli("--json", "up", who="admin", timeout=180)
    assert up.returncode == 0, up.stderr
    sessions = {row["agent"]: row["session_id"] for row in json.loads(up.stdout)}
    zero = {"asks": 0, "replies": 0, "crashes": 0, "restarts": 0}
    tally: dict[str, dict[str, int]] = {name: dict(zero) for name in AGENTS}

    def ask(name: str, prompt: str, code: int = 0) -> None:
        result = hub.cli("ask", name, prompt, who="admin")
        assert result.returncode == code, result.stderr
        tally[name]["asks"] += 1
        tally[name]["replies"] += code == 0

    for name in AGENTS:
        ask(name, f"hello from the night shift, {name}")
    for name in ("orpheus", "athena"):
        kill(tmux_server, target(name))
        tally[name]["crashes"] += 1
        tally[name]["restarts"] += 1

    def restarted() -> bool:
        rows = hub.api("GET", "/api/events", params={"since": 0}).json()
        return {e["agent"] for e in rows if e["kind"] == "restart" and e["data"].get("outcome") == "ok"} >= {
            "orpheus", "athena"}  # fmt: skip

    wait_for(restarted, 20, 0.3)
    for name in ("orpheus", "athena"):
        wait_for(lambda name=name: hub.cli("state", name).stdout.strip() == "idle", 15, 0.3)  # type: ignore[misc]
        ask(name, "are you back?")
        # Back in its own session: the same id before and after the crash, in its own log.
        assert {e["session"] for e in logged(logs, name)} == {sessions[name]}
    ask("apollo", "run ls -la", code=5)  # left on its permission question

    wait_for(lambda: any(e["prompt"] == "scheduled check-in" for e in logged(logs, "hermes")), 60, 0.5)
    tally["hermes"]["asks"] += 1
    tally["hermes"]["replies"] += 1
    wait_for(lambda: list(reports.glob("night-*.md")), 60, 0.5)
    written = next(reports.glob("night-*.md")).read_text()
    assert "## Needs your attention" in written and "**apollo** (permission)" in written

    def settled() -> dict[str, Any] | None:
        result = hub.cli("--json", "report", "--since", "1h", who="admin")
        assert result.returncode == 0, result.stderr
        found: dict[str, Any] = json.loads(result.stdout)
        return found if found["agents"]["hermes"]["asks"] == tally["hermes"]["asks"] else None


    report = wait_for(settled, 15, 0.5)  # the scheduled ask is recorded once its reply is in
    assert ("apollo", "permission") in [(a["agent"], a["kind"]) for a in report["attention"]]
    for name in AGENTS:
        row = report["agents"][name]
        assert {k: row[k] for k in ("asks", "replies", "crashes", "restarts")} == tally[name], name
        assert row["timeouts"] == 0 and row["messages_in"] == 0 and row["busy_s"] >= 0
        # the agents' own logs: every prompt the test (or the schedule) asked, exactly once
        assert len(logged(logs, name)) == tally[name]["asks"], name
    coordination = hub.cli("log", "--since", "1h", "--md", who="admin")
    assert coordination.returncode == 0, coordination.stderr
    assert "→ apollo\nStatus: permission\nTask: run ls -la" in coordination.stdout
    assert "hub → hermes\nStatus: replied\nTask: scheduled check-in" in coordination.stdout
