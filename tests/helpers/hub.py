"""A real hub process (``agent-bridge hub serve``) over demo agents in a private tmux server.

A pytest plugin (``pytest_plugins`` in tests/conftest.py): the ``make_hub`` fixture, and
:class:`HubRun` to drive it, for the integration tests and the dashboard's browser test alike."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.helpers.fixtures import REPO, TmuxServer, free_port, wait_for

AGENTS = ("alice", "bob", "carol")


@dataclass
class HubRun:
    """One hub process, its registry, its demo agents and the tokens minted for them."""

    tmp: Path
    registry: Path
    url: str
    env: dict[str, str]
    panes: dict[str, str]
    logs: dict[str, Path]
    store: str
    socket: str
    proc: subprocess.Popen[bytes] | None = None
    tokens: dict[str, str] = field(default_factory=dict)
    stderr: Path | None = None

    def cli(self, *args: str, who: str | None = None, input: bytes | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess[str]:  # fmt: skip
        """``agent-bridge --config REGISTRY ARGS`` as ``who`` (its token in the environment)."""
        env = {**os.environ, **self.env}
        env.pop("AGENT_BRIDGE_TOKEN", None)
        if who is not None:
            env["AGENT_BRIDGE_TOKEN"] = self.tokens[who]
        return subprocess.run(
            [sys.executable, "-m", "bridge", "--config", str(self.registry), *args],
            input=input.decode() if input is not None else None, capture_output=True, text=True,
            env=env, timeout=timeout, cwd=REPO,
        )  # fmt: skip

    def start(self) -> None:
        self.stderr = self.tmp / f"hub-{time.monotonic_ns()}.log"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bridge", "--config", str(self.registry), "hub", "serve"],
            env={**os.environ, **self.env}, stdout=subprocess.DEVNULL, stderr=open(self.stderr, "wb"),  # noqa: SIM115
            cwd=REPO,
        )  # fmt: skip

        def healthy() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"the hub exited: {self.stderr.read_text() if self.stderr else ''}")
            try:
                return httpx.get(f"{self.url}/api/health", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(healthy, 30)

    def stop(self, sig: int = signal.SIGINT) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def mint(self, who: str) -> str:
        args = ["hub", "token", "--admin"] if who == "admin" else ["hub", "token", who]
        result = self.cli("--json", *args)
        assert result.returncode == 0, result.stderr
        self.tokens[who] = json.loads(result.stdout)["token"]
        return self.tokens[who]

    def prompts(self, agent: str) -> list[str]:
        """What the demo agent was typed, from its own log (the test's ground truth)."""
        path = self.logs[agent]
        if not path.exists():
            return []
        return [json.loads(line)["prompt"] for line in path.read_text().splitlines() if line.strip()]

    def wakes(self, agent: str) -> list[str]:
        return [p for p in self.prompts(agent) if "[wake " in p]

    def api(self, method: str, path: str, who: str = "admin", **kwargs: object) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"}
        return httpx.request(method, f"{self.url}{path}", headers=headers, timeout=30, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def make_hub(tmux_server: TmuxServer, tmp_path: Path) -> Iterator[Callable[..., HubRun]]:
    """Build (not start) a hub over three demo agents; ``extra`` TOML goes into agents' tables."""
    made: list[HubRun] = []

    def make(store: str, *, extra: dict[str, str] | None = None, delay: float = 0.3) -> HubRun:
        runtime = tmp_path / "run"
        runtime.mkdir(mode=0o700, exist_ok=True)
        panes, logs = {}, {}
        for name in AGENTS:
            logs[name] = tmp_path / f"{name}.jsonl"
            panes[name] = tmux_server.new_pane(
                name, f"{sys.executable} -m bridge.demo --delay {delay} --log {logs[name]}"
            )
        for pane in panes.values():
            wait_for(lambda pane=pane: "? for shortcuts" in tmux_server.capture(pane), 15)
        port = free_port()
        lines = [
            "[hub]", f'listen = "127.0.0.1:{port}"', f'store = "{store}"',
            "[hosts.here]", "local = true", f'tmux_socket = "{tmux_server.socket}"',
        ]  # fmt: skip
        for name in AGENTS:
            lines += [f"[agents.{name}]", 'host = "here"', f'target = "{name}:0.0"', 'profile = "demo"']
            lines += [(extra or {}).get(name, "")]
        registry = tmp_path / "registry.toml"
        registry.write_text("\n".join(lines) + "\n")
        env = {"XDG_RUNTIME_DIR": str(runtime), "XDG_STATE_HOME": str(tmp_path / "state"),
               "XDG_CONFIG_HOME": str(tmp_path / "config"), "AGENT_BRIDGE_NO_BROKER": "1"}  # fmt: skip
        run = HubRun(
            tmp_path, registry, f"http://127.0.0.1:{port}", env, panes, logs, store, tmux_server.socket
        )
        made.append(run)
        return run

    yield make
    for run in made:
        run.stop()
