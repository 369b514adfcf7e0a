"""``agent-bridge init`` (#16): a first registry that works as written, never written over."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from bridge.config.registry import Registry
from tests.helpers.fixtures import run_cli, wait_for

pytestmark = pytest.mark.integration


def test_init_writes_a_registry_that_runs_the_demo(tmp_path: Path) -> None:
    """The written registry, used as is: `start demo` and `ask demo` work (on a tmux server made
    private to this test through $TMUX_TMPDIR: the registry names the user's default server)."""
    registry = tmp_path / "conf" / "registry.toml"
    tmux_dir = Path(f"/tmp/ab-init-{os.getpid()}")
    tmux_dir.mkdir(mode=0o700, exist_ok=True)
    # A home of its own too: the panes' shell reads no rc file of this machine's user (one that
    # hangs, as a stale pyenv lock once did, would keep the typed demo from starting).
    home = tmp_path / "home"
    home.mkdir()
    env = {"AGENT_BRIDGE_CONFIG": str(registry), "TMUX_TMPDIR": str(tmux_dir), "TMUX": "", "HOME": str(home)}
    try:
        made = run_cli("init", env=env, timeout=30)
        assert made.returncode == 0, made.stderr
        assert f"wrote {registry}" in made.stdout.decode() and registry.stat().st_mode & 0o077 == 0
        assert "[agents.demo]" in registry.read_text() and "# [agents.claude]" in registry.read_text()
        assert run_cli("start", "demo", env=env, timeout=60).returncode == 0
        # `start` returns once the command is typed (#16 item 2 makes it wait for the agent)
        wait_for(lambda: run_cli("state", "demo", env=env, timeout=30).stdout == b"idle\n", 30, 0.2)
        asked = run_cli("ask", "demo", "What is 6 x 7?", "--timeout", "30", env=env, timeout=60)
        assert asked.returncode == 0 and asked.stdout == b"42\n", asked.stderr
    finally:
        socket = tmux_dir / f"tmux-{os.getuid()}" / "default"
        subprocess.run(["tmux", "-S", str(socket), "kill-server"], capture_output=True, timeout=10)
    before = registry.read_text()
    again = run_cli("--json", "init", env=env, timeout=30)
    assert again.returncode == 2 and "already exists" in json.loads(again.stdout)["message"]
    assert registry.read_text() == before, "never overwritten"


def test_init_for_a_vps(tmp_path: Path) -> None:
    registry = tmp_path / "vps.toml"
    made = run_cli("--config", str(registry), "--json", "init", "--vps", "10.99.0.1", timeout=30)
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout) == {"registry": str(registry), "vps": "10.99.0.1"}
    model = Registry.load(registry).model
    assert model.hosts["vps"].address == "10.99.0.1"
    assert set(model.agents) == {"demo", "claude"} and model.agents["claude"].host == "vps"
