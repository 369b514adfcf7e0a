"""``agent-bridge skill``: install or show the agent-bridge Agent Skill (see :mod:`bridge.skills`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bridge.cli.app import OPTS, app, command_group, emit
from bridge.errors import BridgeError, ConfigError

if TYPE_CHECKING:
    from bridge.skills import Client

skill_app = command_group(
    "The agent-bridge Agent Skill (SKILL.md): teaches a local agent (Claude Code, Qwen Code) "
    "when and how to delegate with agent-bridge.",
    no_args_is_help=True,
)
app.add_typer(skill_app, name="skill")

NameOpt = Annotated[
    str,
    typer.Option("--name", help="The skill: agent-bridge (delegating) or agent-bridge-swarm (a PLAN.md "
                 "fanned out to workers)."),
]
ForOpt = Annotated[
    str,
    typer.Option("--for", help="The agent: claude-code or qwen-code.", show_default=False,
                 case_sensitive=False),
]


def _client(value: str) -> Client:
    from bridge.skills import CLIENTS  # lazy: `agent-bridge --help` stays fast

    chosen = value.lower()
    for client in CLIENTS:
        if chosen == client:
            return client
    raise ConfigError(f"unknown agent {value!r} (use --for claude-code or --for qwen-code)")


def _known(name: str) -> str:
    from bridge.skills import SKILLS

    if name not in SKILLS:
        raise ConfigError(f"no skill {name!r} (skills: {', '.join(SKILLS)})")
    return name


@skill_app.command("install")
def install_command(
    client: ForOpt,
    name: NameOpt = "agent-bridge",
    project: Annotated[
        Path | None,
        typer.Option("--project", help="Install into this project (else for you, in your home).",
                     show_default=False, file_okay=False),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")] = False,
) -> None:
    """Copy SKILL.md to where the agent looks for skills (personal, or --project DIR)."""
    from bridge.skills import LABELS, SkillError, install  # lazy: see _client

    kind = _client(client)
    try:
        done = install(kind, project=project, name=_known(name))
    except (OSError, SkillError) as exc:
        raise BridgeError(f"cannot install the skill: {exc}") from None
    text = f"{done.status} {done.path}"
    if done.status != "unchanged":
        text += f"\n{LABELS[kind]} loads it on its next start."
    emit({"client": kind, "path": str(done.path), "status": done.status}, text, as_json)


@skill_app.command("show")
def show_command(
    name: NameOpt = "agent-bridge",
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")] = False,
) -> None:
    """Print the SKILL.md that `install` copies."""
    from bridge.skills import skill_text  # lazy: see _client

    text = skill_text(_known(name))
    if as_json or OPTS.json:
        emit({"skill": text}, None, True)
        return
    print(text, end="")
