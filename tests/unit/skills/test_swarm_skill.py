"""The swarm skill (skills/agent-bridge-swarm/SKILL.md): valid front matter, and the commands and
MCP tools it names exist."""

from __future__ import annotations

from bridge.mcp_swarm import DESCRIPTIONS
from bridge.skills import front_matter
from tests.helpers.fixtures import REPO, run_cli

SKILL = REPO / "skills" / "agent-bridge-swarm" / "SKILL.md"


def test_front_matter_and_body() -> None:
    text = SKILL.read_text(encoding="utf-8")
    data = front_matter(text)
    assert data["name"] == "agent-bridge-swarm"
    assert "Use it when" in data["description"] and len(data["description"]) <= 1024
    body = text.split("\n---\n", 1)[1]
    for tool in DESCRIPTIONS:
        assert f"`{tool}(" in body, tool
    for needle in ("agent-bridge swarm run PLAN.md --workers", "agent-bridge swarm status PLAN.md",
                   "--done-file", "--permissions deny", "`0`", "`1`", "`2`"):  # fmt: skip
        assert needle in body, needle


def test_the_commands_it_names_exist() -> None:
    for command in (["swarm", "run", "--help"], ["swarm", "status", "--help"]):
        shown = run_cli(*command, timeout=60)
        assert shown.returncode == 0, shown.stderr
    assert b"--permissions" in run_cli("swarm", "run", "--help", timeout=60).stdout
