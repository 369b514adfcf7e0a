"""The agent-bridge Agent Skill, installed where a local agent looks for skills (``agent-bridge skill``).

The skill is one ``SKILL.md`` (YAML front matter with ``name`` and ``description``, then Markdown)
that teaches an agent when and how to delegate with ``agent-bridge``. It ships inside the package
(``bridge/skills_data/<name>/SKILL.md``, a copy of the repository's ``skills/<name>/SKILL.md``).

Where each agent looks (from their documentation):

* Claude Code: ``~/.claude/skills/<name>/SKILL.md`` (personal), ``.claude/skills/<name>/SKILL.md``
  in a project.
* Qwen Code: ``~/.qwen/skills/<name>/SKILL.md`` (personal), ``.qwen/skills/<name>/SKILL.md`` in a
  project.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal

from bridge.errors import ConfigError

SKILL_NAME = "agent-bridge"
SKILLS = ("agent-bridge", "agent-bridge-swarm")  # shipped in bridge/skills_data/
Client = Literal["claude-code", "qwen-code"]
CLIENTS: tuple[Client, ...] = ("claude-code", "qwen-code")
# The folder under HOME (personal skills) or under a project (project skills), per client.
FOLDERS: dict[Client, str] = {"claude-code": ".claude/skills", "qwen-code": ".qwen/skills"}
LABELS: dict[Client, str] = {"claude-code": "Claude Code", "qwen-code": "Qwen Code"}

_NAME_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class SkillError(ConfigError):
    """A SKILL.md that does not have the front matter agents require."""


@dataclass(frozen=True)
class Installed:
    """Where a skill was installed, and whether the file was new, changed or already the same."""

    client: Client
    path: Path
    status: Literal["installed", "updated", "unchanged"]


def skill_text(name: str = SKILL_NAME) -> str:
    """The shipped ``SKILL.md`` of skill ``name`` (package data, else the source checkout's)."""
    packaged = resources.files("bridge").joinpath("skills_data", name, "SKILL.md")
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    checkout = Path(__file__).resolve().parent.parent / "skills" / name / "SKILL.md"
    if checkout.is_file():
        return checkout.read_text(encoding="utf-8")
    raise FileNotFoundError(f"skill {name!r} is not shipped with this installation of agent-bridge")


def front_matter(text: str) -> dict[str, str]:
    """The front matter of a SKILL.md as a dict, checked the way agents check it.

    Reads the simple YAML subset skills use: ``key: value`` lines between two ``---`` lines
    (quoted values are unquoted). Raises :class:`SkillError` unless ``name`` and ``description``
    are non-empty and ``name`` is lowercase letters, digits and hyphens (at most 64 characters).
    """
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        raise SkillError("SKILL.md must start with a '---' line (YAML front matter)")
    try:
        end = next(i for i, line in enumerate(lines[1:], 1) if line.strip() == "---")
    except StopIteration:
        raise SkillError("the front matter has no closing '---' line") from None
    fields: dict[str, str] = {}
    for number, line in enumerate(lines[1:end], 2):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if "\t" in line:
            raise SkillError(f"line {number}: tabs are not allowed in YAML")
        key, sep, value = line.partition(":")
        if not sep or not key.strip() or key != key.strip():
            raise SkillError(f"line {number}: expected 'key: value', got {line!r}")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        elif value.startswith(("'", '"', "[", "{", "|", ">")) or ": " in value or " #" in value:
            raise SkillError(f"line {number}: quote the value of {key!r} (it has YAML syntax in it)")
        fields[key] = value
    for required in ("name", "description"):
        if not fields.get(required):
            raise SkillError(f"the front matter needs a non-empty {required!r}")
    if not _NAME_RE.match(fields["name"]) or len(fields["name"]) > 64:
        raise SkillError(f"name {fields['name']!r}: use lowercase letters, digits and hyphens")
    return fields


def skill_dir(client: Client, *, project: Path | None = None, home: Path | None = None,
              name: str = SKILL_NAME) -> Path:
    """The folder ``client`` loads skill ``name`` from: the project's, or the personal one."""
    base = project if project is not None else (home if home is not None else Path.home())
    return base.expanduser() / FOLDERS[client] / name


def install(client: Client, *, project: Path | None = None, home: Path | None = None,
            name: str = SKILL_NAME) -> Installed:
    """Copy the skill's SKILL.md to where ``client`` looks for it (atomically; 0644)."""
    text = skill_text(name)
    front = front_matter(text)
    if front["name"] != name:
        raise SkillError(f"the shipped skill is named {front['name']!r}, not {name!r}")
    folder = skill_dir(client, project=project, home=home, name=name)
    path = folder / "SKILL.md"
    old = path.read_text(encoding="utf-8") if path.is_file() else None
    if old == text:
        return Installed(client, path, "unchanged")
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".SKILL.md.", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Installed(client, path, "installed" if old is None else "updated")
