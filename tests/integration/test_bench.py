"""`agent-bridge bench` through a real sshd on 127.0.0.1: every number is there and positive, the
scratch `ab-bench-*` window is gone afterwards (also after Ctrl-C), and the agent itself is never
typed into. Functional only: no timing is asserted here (see tests/benchmarks/ for that).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers.fixtures import REPO, Sshd, TmuxServer, agent_toml, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


def _argv(registry: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "bridge", "--config", str(registry), *args]


def _env(runtime: Path) -> dict[str, str]:
    return {**os.environ, "XDG_RUNTIME_DIR": str(runtime), "AGENT_BRIDGE_BROKER_IDLE": "120"}


def _scratch_windows(server: TmuxServer) -> list[str]:
    names = server.tmux("list-windows", "-a", "-F", "#{window_name}").stdout.split()
    return [name for name in names if name.startswith("ab-bench-")]


@pytest.fixture
def registry(sshd: Sshd, tmux_server: TmuxServer, make_registry: Callable[..., Path]) -> Path:
    tmux_server.new_pane("agents")
    return make_registry(
        sshd.host_toml("box", tmux_socket=tmux_server.socket), agent_toml("claude", "box", "agents:0.0")
    )


def test_bench_reports_every_number_and_cleans_up(
    registry: Path, tmux_server: TmuxServer, broker_runtime: Path
) -> None:
    agent_pane = tmux_server.panes[0]
    before = tmux_server.capture(agent_pane)
    result = subprocess.run(
        _argv(registry, "--json", "bench", "claude", "-n", "3"),
        capture_output=True, env=_env(broker_runtime), cwd=REPO, timeout=240,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr.decode()
    data = json.loads(result.stdout)
    for key in ("rtt_ms", "tcp_rtt_ms", "connect_ms", "cli_cold_ms", "prompt_14k_ms"):
        assert isinstance(data[key], int | float) and data[key] > 0, (key, data)
    exchange = data["exchange_ms"]
    assert set(exchange) >= {"min", "median", "max"}, exchange
    assert 0 < exchange["min"] <= exchange["median"] <= exchange["max"], exchange
    assert data["prompt_14k_bytes"] >= 14_000
    big = data["prompt_14k_spread_ms"]  # #16: N samples of the 14 KB prompt (not 3), and their spread
    assert 0 < big["min"] <= big["median"] == data["prompt_14k_ms"] <= big["max"], big
    assert data["samples"] == 3 and data["agent"] == "claude" and data["host"] == "box"
    assert data["scratch_window"].startswith("ab-bench-")
    assert _scratch_windows(tmux_server) == []
    assert tmux_server.capture(agent_pane) == before, "the agent's own pane was typed into"


def test_plain_output_is_a_table(registry: Path, tmux_server: TmuxServer, broker_runtime: Path) -> None:
    result = subprocess.run(
        _argv(registry, "bench", "claude", "-n", "1"),
        capture_output=True, env=_env(broker_runtime), cwd=REPO, timeout=240,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr.decode()
    text = result.stdout.decode()
    for label in ("tmux round trip", "connect (fresh)", "exchange median", "cold CLI ask", "14 KB prompt"):
        assert label in text, text
    assert "min-max" in text.splitlines()[2], text
    row = next(line for line in text.splitlines() if line.startswith("14 KB prompt"))
    assert re.search(r" \d+\.\d-\d+\.\d  ", row), row
    assert _scratch_windows(tmux_server) == []


def test_scratch_window_removed_on_ctrl_c(
    registry: Path, tmux_server: TmuxServer, broker_runtime: Path
) -> None:
    proc = subprocess.Popen(
        _argv(registry, "bench", "claude", "-n", "1000"),  # seconds of work even at ~4 ms a sample
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=_env(broker_runtime), cwd=REPO,
        # Ctrl-C as from a terminal: a test run started in the background inherits SIGINT ignored.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    try:
        wait_for(lambda: _scratch_windows(tmux_server), 60, 0.05)
        time.sleep(0.2)  # somewhere in the middle of the measurements
        proc.send_signal(signal.SIGINT)
        proc.wait(60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert proc.returncode != 0
    assert _scratch_windows(tmux_server) == []


def test_missing_agent_pane_fails_cleanly(
    sshd: Sshd, tmux_server: TmuxServer, make_registry: Callable[..., Path], broker_runtime: Path
) -> None:
    tmux_server.new_pane("other")
    registry = make_registry(
        sshd.host_toml("box", tmux_socket=tmux_server.socket), agent_toml("gone", "box", "agents:0.0")
    )
    result = subprocess.run(
        _argv(registry, "bench", "gone", "-n", "1"),
        capture_output=True, env=_env(broker_runtime), cwd=REPO, timeout=120,
    )  # fmt: skip
    assert result.returncode == 4, result.stderr.decode()
    assert b"not found" in result.stderr
    assert _scratch_windows(tmux_server) == []
