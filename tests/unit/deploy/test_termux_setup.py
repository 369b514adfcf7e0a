"""deploy/termux/setup.sh (#16): run with bash on this machine, Termux's `pkg` and `pip` replaced
by recorders (everything else is real: ssh-keygen, the files it writes). It installs agent-bridge
from the clone it is in (agent-bridge is not on PyPI), and a failed install no longer stops it
before the SSH key, the registry and the aliases are made."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
SCRIPT = REPO / "deploy" / "termux" / "setup.sh"

pytestmark = pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="ssh-keygen is not installed")


def run(tmp_path: Path, pip_exit: int, **env: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    tools = tmp_path / "bin"
    tools.mkdir()
    log = tmp_path / "calls.log"
    for name, code in (("pkg", 0), ("pip", pip_exit)):
        stub = tools / name
        stub.write_text(f'#!/bin/sh\necho "{name} $*" >> "{log}"\nexit {code}\n')
        stub.chmod(0o755)
    home = tmp_path / "home"
    home.mkdir()
    path = f"{tools}:{os.environ['PATH']}"
    result = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, timeout=60,
                            env={"HOME": str(home), "PATH": path, **env})  # fmt: skip
    return result, log


def test_setup_installs_from_its_clone(tmp_path: Path) -> None:
    result, log = run(tmp_path, 0)
    assert result.returncode == 0, result.stderr
    home = tmp_path / "home"
    assert (home / ".ssh" / "id_ed25519").is_file()
    assert 'address = "10.77.0.1"' in (home / ".config" / "agent-bridge" / "registry.toml").read_text()
    assert "alias ask='agent-bridge ask claude'" in (home / ".bashrc").read_text()
    assert f"pip install {REPO}" in log.read_text().splitlines()


def test_a_failed_install_leaves_the_rest_done(tmp_path: Path) -> None:
    result, _ = run(tmp_path, 1, AGENT_BRIDGE_PIP="git+https://example.invalid/agent-bridge.git")
    assert result.returncode == 1
    assert "retry with: pip install 'git+https://example.invalid/agent-bridge.git'" in result.stderr
    home = tmp_path / "home"
    assert (home / ".ssh" / "id_ed25519.pub").is_file() and (home / ".bashrc").is_file()
    assert (home / ".config" / "agent-bridge" / "registry.toml").is_file()
