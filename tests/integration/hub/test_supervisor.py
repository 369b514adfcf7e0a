"""The hub's supervisor with real demo agents in a private tmux server: a killed agent comes back
into its own session within seconds, every step an event; a crash loop stops, visibly."""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.fixtures import TmuxServer, wait_for
from tests.helpers.hub import AGENTS, HubRun

pytestmark = pytest.mark.integration


def kill_agent(tmux: TmuxServer, pane: str) -> None:
    """kill -9 the agent's process (the pane's foreground job), as a crash would."""
    shell = int(tmux.tmux("display-message", "-p", "-t", pane, "#{pane_pid}").stdout)
    group = int(Path(f"/proc/{shell}/stat").read_text().rsplit(")", 1)[1].split()[5])
    assert group != shell, "the agent is running"
    os.killpg(group, signal.SIGKILL)


def states(hub: HubRun) -> dict[str, str]:
    return {row["agent"]: row["state"] for row in hub.api("GET", "/api/agents").json()}


def events(hub: HubRun, kind: str, agent: str) -> list[dict[str, Any]]:
    rows = hub.api("GET", "/api/events", params={"agent": agent}).json()
    return [e for e in rows if e["kind"] == kind]


def sessions_logged(log: Path) -> list[str]:
    return [json.loads(line).get("session", "") for line in log.read_text().splitlines()]


def test_killed_agents_come_back_into_their_own_sessions(
    make_hub: Callable[..., HubRun], tmux_server: TmuxServer, tmp_path: Path
) -> None:
    demo = f"{sys.executable} -m bridge.demo --delay 0.1 --log {{log}} --session-id {{{{session_id}}}}"
    extra = {name: f'restart = "auto"\nresume = "{demo.format(log=tmp_path / f"{name}.jsonl")}"'
             for name in AGENTS}  # fmt: skip
    hub = make_hub(f"sqlite:///{tmp_path / 'hub.db'}", extra=extra)
    hub.start()
    try:
        hub.mint("admin")
        wait_for(lambda: states(hub) == dict.fromkeys(AGENTS, "idle"), 20, 0.2)
        for name in ("alice", "bob"):
            kill_agent(tmux_server, hub.panes[name])
        wait_for(lambda: all(events(hub, "restart", n) for n in ("alice", "bob")), 15, 0.2)
        wait_for(lambda: states(hub) == dict.fromkeys(AGENTS, "idle"), 10, 0.2)
        first = {}
        for name in ("alice", "bob"):
            assert [e["data"]["outcome"] for e in events(hub, "restart", name)] == ["ok"]
            assert len(events(hub, "crash", name)) == 1
            first[name] = events(hub, "restart", name)[0]["data"]["session"]
            assert first[name]  # started afresh with a session id of its own (none was known)
        assert not events(hub, "crash", "carol")
        # Killed again: resumed into THAT session, as its own log says.
        kill_agent(tmux_server, hub.panes["alice"])
        wait_for(lambda: len(events(hub, "restart", "alice")) == 2, 15, 0.2)
        assert events(hub, "restart", "alice")[1]["data"]["session"] == first["alice"]
        wait_for(lambda: states(hub)["alice"] == "idle", 10, 0.2)
        asked = hub.cli("ask", "alice", "still you?")
        assert asked.returncode == 0, asked.stderr
        assert sessions_logged(tmp_path / "alice.jsonl")[-1] == first["alice"]
    finally:
        hub.stop()


def test_a_crash_loop_stops_and_says_failed(
    make_hub: Callable[..., HubRun], tmux_server: TmuxServer, tmp_path: Path
) -> None:
    # Its resume dies at once, every time: restarted twice (the limit), then "failed".
    crashing = f'restart = "auto"\nresume = "{sys.executable} -c \'raise SystemExit(3)\'"'
    hub = make_hub(f"sqlite:///{tmp_path / 'hub.db'}", extra={"carol": crashing})
    settings = "[settings]\nrestart_limit = 2\n"
    hub.registry.write_text(settings + hub.registry.read_text())
    hub.start()
    try:
        hub.mint("admin")
        wait_for(lambda: states(hub)["carol"] == "idle", 20, 0.2)
        kill_agent(tmux_server, hub.panes["carol"])
        wait_for(lambda: states(hub)["carol"] == "failed", 40, 0.3)
        assert [e["data"]["outcome"] for e in events(hub, "restart", "carol")] == ["failed", "failed"]
        assert "2 restarts within 600 s" in events(hub, "failed", "carol")[0]["data"]["reason"]
        top = hub.cli("--json", "top", "--once", who="admin")
        assert {r["agent"]: r["state"] for r in json.loads(top.stdout)["agents"]}["carol"] == "failed"
        assert states(hub)["alice"] == "idle"  # the others are untouched
    finally:
        hub.stop()
