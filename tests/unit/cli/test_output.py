"""What the CLI prints as tables (#16: the `profiles` table was misaligned by a long agent name)."""

from __future__ import annotations

import subprocess
import sys

from bridge.cli.output import agent_lines, profile_lines


def test_profiles_columns_line_up() -> None:
    out = subprocess.run([sys.executable, "-m", "bridge", "profiles"], capture_output=True, text=True,
                         timeout=30).stdout  # fmt: skip
    lines = out.splitlines()
    assert any("agent-bridge demo agent" in line for line in lines)
    assert len({line.index("/") for line in lines}) == 1, out  # the file column starts at one place
    rows = [{"name": "a", "agent": "a very long agent name", "version": "1", "source": "x.toml"},
            {"name": "bb", "agent": "B", "version": "22", "source": "y.toml"}]  # fmt: skip
    assert profile_lines(rows).splitlines() == [
        "a   a very long agent name  1   x.toml",
        "bb  B                       22  y.toml",
    ]


def test_agent_lines_line_up_with_their_state() -> None:
    rows = [
        {"agent": "a", "host": "vps", "target": "agents:a.0", "profile": "claude-code", "state": "idle"},
        {"agent": "longer-name", "host": "h", "target": "s:0", "profile": "demo", "state": "dead",
         "error": "gone"},
    ]  # fmt: skip
    assert agent_lines(rows, check=True).splitlines() == [
        "a            vps  agents:a.0  claude-code  idle",
        "longer-name  h    s:0         demo         dead  (gone)",
    ]
    assert agent_lines([], check=False) == "(no agents)"
