"""The agent-bridge skill: a valid SKILL.md, installed where Claude Code and Qwen Code look."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bridge.errors import ConfigError
from bridge.skills import SKILL_NAME, SKILLS, SkillError, front_matter, install, skill_text
from tests.helpers.fixtures import REPO, run_cli

# Where the agents' documentation says personal and project skills live.
PERSONAL = {"claude-code": ".claude/skills", "qwen-code": ".qwen/skills"}


def parse_yaml_front_matter(text: str) -> dict[str, Any]:
    """Parse the front matter with a real YAML parser when one is installed, else our own."""
    assert text.startswith("---\n")
    block = text[4:].split("\n---\n", 1)[0]
    try:
        import yaml
    except ImportError:
        return dict(front_matter(text))
    data = yaml.safe_load(block)
    assert isinstance(data, dict)
    return data


def test_shipped_copy_is_the_repository_skill() -> None:
    assert sorted(p.name for p in (REPO / "skills").iterdir()) == sorted(SKILLS)
    for name in SKILLS:
        repo_copy = (REPO / "skills" / name / "SKILL.md").read_text(encoding="utf-8")
        packaged = (REPO / "bridge" / "skills_data" / name / "SKILL.md").read_text(encoding="utf-8")
        assert packaged == repo_copy, f"run: cp skills/{name}/SKILL.md bridge/skills_data/{name}/"
        assert skill_text(name) == repo_copy
    assert skill_text() == skill_text(SKILL_NAME)


def test_front_matter_is_valid_yaml_with_name_and_description() -> None:
    text = skill_text()
    data = parse_yaml_front_matter(text)
    assert data["name"] == SKILL_NAME
    description = data["description"]
    assert isinstance(description, str) and 50 < len(description) <= 1024
    assert "Use it when" in description
    assert front_matter(text) == {k: str(v) for k, v in data.items()}


def test_body_covers_what_a_small_model_needs() -> None:
    body = skill_text().split("\n---\n", 1)[1]
    for needle in (
        "agent-bridge ask claude", "sees NOTHING", "--model opus", "`3`", "`4`", "`5`",
        "agent-bridge approve claude yes --wait", "agent-bridge approve claude no",
        "Plain mode prints only the reply", "agent-bridge restart claude",
    ):
        assert needle in body, needle


@pytest.mark.parametrize("client", ["claude-code", "qwen-code"])
def test_install_personal(client: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    done = install(client)
    expected = home / PERSONAL[client] / SKILL_NAME / "SKILL.md"
    assert done.path == expected and done.status == "installed"
    assert expected.read_text(encoding="utf-8") == skill_text()
    assert stat.S_IMODE(expected.stat().st_mode) == 0o644
    assert parse_yaml_front_matter(expected.read_text(encoding="utf-8"))["name"] == SKILL_NAME
    assert install(client).status == "unchanged"
    expected.write_text("old version\n")
    assert install(client).status == "updated"
    assert expected.read_text(encoding="utf-8") == skill_text()
    assert [p.name for p in expected.parent.iterdir()] == ["SKILL.md"], "no temp files left"


@pytest.mark.parametrize("client", ["claude-code", "qwen-code"])
def test_install_project(client: Any, tmp_path: Path) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    done = install(client, project=project, home=tmp_path / "unused-home")
    assert done.path == project / PERSONAL[client] / SKILL_NAME / "SKILL.md"
    assert done.path.is_file()
    assert not (tmp_path / "unused-home").exists()


def test_cli_install(tmp_path: Path) -> None:
    home, project = tmp_path / "home", tmp_path / "proj"
    home.mkdir()
    project.mkdir()
    done = run_cli("skill", "install", "--for", "qwen-code", env={"HOME": str(home)}, timeout=60)
    assert done.returncode == 0, done.stderr.decode()
    path = home / ".qwen/skills/agent-bridge/SKILL.md"
    assert path.is_file() and str(path) in done.stdout.decode()
    done = run_cli("skill", "install", "--for", "claude-code", "--project", str(project), "--json",
                   env={"HOME": str(home)}, timeout=60)
    assert done.returncode == 0, done.stderr.decode()
    data = json.loads(done.stdout)
    assert data == {"client": "claude-code", "status": "installed",
                    "path": str(project / ".claude/skills/agent-bridge/SKILL.md")}
    bad = run_cli("skill", "install", "--for", "emacs", env={"HOME": str(home)}, timeout=60)
    assert bad.returncode == 2 and "unknown agent" in bad.stderr.decode()


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("# no front matter\n", "must start with"),
        ("---\nname: x\n", "no closing"),
        ("---\nname: x\n---\n", "'description'"),
        ("---\nname: Bad_Name\ndescription: d\n---\n", "lowercase"),
        ("---\nname: x\ndescription: a: b\n---\n", "quote the value"),
        ("---\nname: x\n\tdescription: d\n---\n", "tabs"),
    ],
)
def test_front_matter_rejects(text: str, why: str) -> None:
    with pytest.raises(SkillError, match=why) as error:
        front_matter(text)
    assert isinstance(error.value, ConfigError) and error.value.exit_code == 2, "one error tree"


def test_front_matter_unquotes() -> None:
    assert front_matter('---\nname: "x-1"\ndescription: \'a: b\'\n---\nbody\n') == {
        "name": "x-1", "description": "a: b",
    }


def test_the_swarm_skill_installs_beside_the_other(tmp_path: Path) -> None:
    done = install("claude-code", home=tmp_path, name="agent-bridge-swarm")
    assert done.path == tmp_path / ".claude/skills/agent-bridge-swarm/SKILL.md"
    assert done.path.read_text(encoding="utf-8") == skill_text("agent-bridge-swarm")
    result = subprocess.run([sys.executable, "-m", "bridge", "skill", "install", "--for", "qwen-code",
                             "--name", "nope"], capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 2 and "no skill 'nope'" in result.stderr
