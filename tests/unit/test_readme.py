"""The README's copy-paste snippets stay true: commands exist, MCP snippets match the CLI."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text()


def test_quick_start_has_the_two_commands() -> None:
    quick = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = [line for line in quick.splitlines() if line and not line.startswith(("#", " ", "`"))]
    commands = [c for c in commands if "agent-bridge demo" in c or ".ci/run" in c]
    assert len(commands) == 2, commands


def test_every_command_is_in_the_cli_table() -> None:
    from typer.main import get_command

    from bridge.cli.main import app

    commands = get_command(app).commands  # type: ignore[attr-defined]
    names = {name for name, command in commands.items() if not command.hidden}
    table = README.split("## CLI", 1)[1].split("\n## ", 1)[0]
    missing = [n for n in names if f"`agent-bridge {n}" not in table]
    assert not missing, f"commands missing from the README's CLI table: {missing}"


@pytest.mark.parametrize("client", ["claude-code", "qwen-code"])
def test_mcp_config_snippet_matches_the_cli(client: str) -> None:
    match = re.search(rf"<!-- mcp-config:{client} .*?-->\n```json\n(.*?)\n```", README, re.S)
    assert match, f"no mcp-config:{client} block in the README"
    documented = json.loads(match.group(1))["mcpServers"]["agent-bridge"]
    registry = REPO / "hosts" / "local.toml"
    result = subprocess.run(
        [sys.executable, "-m", "bridge", "--config", str(registry), "mcp", "config", "--for", client],
        capture_output=True, text=True, timeout=60, check=True,
    )
    printed = json.loads(result.stdout)["mcpServers"]["agent-bridge"]
    assert set(printed) == set(documented)
    assert printed["args"] == documented["args"]
    assert set(printed.get("env", {})) == set(documented.get("env", {}))
    for key in set(printed) - {"command", "env"}:
        assert printed[key] == documented[key], key


def test_quick_start_needs_no_sudo_as_root(tmp_path: Path) -> None:
    """#16: command 1 said `sudo apt-get …`, which fails as root where sudo is not installed. Its
    privileged part runs here in bash with a PATH that has no sudo (apt-get replaced by `echo`)."""
    quick = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    first = next(line for line in quick.splitlines() if "agent-bridge demo" in line and "apt-get" in line)
    privileged = first.split(" && ", 1)[0]
    assert privileged.endswith("apt-get install -y tmux python3-venv"), privileged
    ran = subprocess.run(["/bin/bash", "-c", privileged.replace("apt-get", "echo apt-get")],
                         capture_output=True, text=True, timeout=10, env={"PATH": str(tmp_path)})  # fmt: skip
    assert ran.returncode == 0 and ran.stdout == "apt-get install -y tmux python3-venv\n", ran.stderr


def test_install_says_how_without_pypi() -> None:
    """agent-bridge is not on PyPI: the README installs it from a clone or a git URL."""
    assert "pip install 'agent-bridge" not in README
    assert "pipx install '.[mcp,qr]'" in README and "@ git+https://" in README
