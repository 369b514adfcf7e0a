"""The checks of an agent: pane, profile, state and version, in that order."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import TYPE_CHECKING

from bridge.doctor.report import AGENT_EXIT, Check, fail, from_error, ok, one_line, skip, warn
from bridge.errors import AgentError, BridgeError

if TYPE_CHECKING:
    from bridge.api import Bridge
    from bridge.profiles import Profile
    from bridge.tmux import PaneFacts

VERSION_TIMEOUT = 15.0
# Programs whose `--version` names the interpreter, not the agent it runs.
INTERPRETERS = re.compile(r"^(?:python[\d.]*|node(?:js)?|bun|deno|ruby[\d.]*|perl[\d.]*|java|uv|npx)$")

def program_of(command: str | None) -> str | None:
    """The program a start command runs: ``claude --continue`` -> ``claude``; env assignments skipped."""
    if not command:
        return None
    try:
        words = shlex.split(command)
    except ValueError:
        words = command.split()
    words = [w for w in words if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", w)]
    if words and words[0] == "env":
        words = words[1:]
    return Path(words[0]).name if words else None

async def check_agent(bridge: Bridge, name: str, *, host_ok: bool = True) -> list[Check]:
    """pane, profile, state and version of the agent ``name``, in that order."""
    agent = bridge.registry.agent(name)
    spec = agent.spec
    names = ("pane", "profile", "state", "version")
    if not host_ok:
        why = f"not checked: host {agent.host_name} failed its checks (above)"
        return [skip(check, name, why) for check in names]

    checks: list[Check] = []
    facts: PaneFacts | None = None
    try:
        pane = await bridge.pane(name)
        facts = await pane.tmux.facts(pane.pane_id)
    except BridgeError as exc:
        start_fix = (
            f"start it: agent-bridge start {name}"
            if spec.start
            else f"start the agent in tmux pane {spec.target} on {agent.host_name}"
        )
        fix = f'{start_fix}, or correct target = "..." under [agents.{name}]'
        checks.append(from_error("pane", name, exc, fix if isinstance(exc, AgentError) else None))
    else:
        dead = ", pane dead" if facts.dead else ""
        checks.append(
            ok(
                "pane",
                name,
                f"{spec.target} on {agent.host_name} is {facts.pane_id} "
                f"(running {facts.current_command or '?'}, "
                f"{facts.width}x{facts.height}{dead})",
            )
        )

    profile: Profile | None = None
    try:
        profile = bridge.agent_profile(bridge.registry.agent(name))
    except BridgeError as exc:
        checks.append(
            from_error(
                "profile",
                name,
                exc,
                f'`agent-bridge profiles` lists the valid ones; fix profile = "..." under [agents.{name}] '
                f"or the profile file named above",
            )
        )
    else:
        checks.append(ok("profile", name, f"{profile.name}: {profile.agent} {profile.version}"))

    if facts is None or profile is None:
        checks.append(skip("state", name, "not checked: needs the pane and the profile"))
        checks.append(skip("version", name, "not checked: needs the pane and the profile"))
        return checks
    checks.append(await check_state(bridge, name))
    checks.append(await check_version(bridge, name, facts, profile, spec.start))
    return checks


_STATE_ADVICE = {
    "busy": "wait for it to finish (agent-bridge screen {name}), or interrupt it: agent-bridge keys {name} "
    "Escape",
    "permission": "it asks for permission: agent-bridge approve {name} yes|always|no",
    "menu": "a menu is open: agent-bridge keys {name} Escape (or: agent-bridge attach {name})",
    "dialog": "a dialog is open: look at it (agent-bridge screen {name}) and answer it "
    "(agent-bridge attach {name})",
}


async def check_state(bridge: Bridge, name: str) -> Check:
    """The agent's state: idle is ok; busy/permission/menu/dialog warn; dead/unknown fail."""
    try:
        obs = await bridge.state(name)
    except BridgeError as exc:
        return from_error("state", name, exc)
    state = obs.state.value
    command = obs.facts.current_command or "?"
    if state == "idle":
        return ok("state", name, f"idle (running {command})")
    if state in _STATE_ADVICE:
        return warn("state", name, f"{state}: ask waits for idle", _STATE_ADVICE[state].format(name=name))
    if state == "dead":
        return fail(
            "state",
            name,
            f"dead: the pane shows {command}, not the agent",
            f"agent-bridge restart {name} (or: agent-bridge start {name})",
            AGENT_EXIT,
        )
    return fail(
        "state",
        name,
        f"{state}: the screen matches nothing the profile knows (pane runs {command})",
        f"look at it (agent-bridge screen {name}); if the agent's version changed, its profile may need "
        f"an update (agent-bridge profiles)",
        AGENT_EXIT,
    )


async def check_version(
    bridge: Bridge, name: str, facts: PaneFacts, profile: Profile, agent_start: str | None
) -> Check:
    """``<program> --version`` on the host, only when the pane runs the agent's own program."""
    program = program_of(profile.start) or program_of(agent_start)
    if program is None:
        return skip("version", name, f"profile {profile.name} names no program to ask")
    from bridge.api import SHELLS

    if program in SHELLS or INTERPRETERS.match(program):
        return skip("version", name, f"the agent runs under {program}: its --version would be {program}'s")
    command = facts.current_command
    if command != program:
        return skip("version", name, f"the pane runs {command or '?'}, not {program}: not asking")
    agent = bridge.registry.agent(name)
    transport = bridge.tmux(agent.host_name).transport
    try:
        done = await transport.run([program, "--version"], timeout=VERSION_TIMEOUT)
    except BridgeError as exc:
        return skip("version", name, f"`{program} --version` could not run: {' '.join(exc.message.split())}")
    if done.exit_status == 127:
        return skip(
            "version",
            name,
            f"{program} is not on the PATH of a non-interactive login on {agent.host_name}: version unknown",
        )
    text = one_line(done.stdout.splitlines()[0] if done.stdout.strip() else "")
    if done.exit_status != 0 or not text:
        return warn(
            "version",
            name,
            f"`{program} --version` exited {done.exit_status}: {one_line(done.stderr) or 'no output'}",
            f"run it on {agent.host_name} to see why",
        )
    found = re.search(r"\d+\.\d+(?:\.\d+)?", text)
    if found and profile.version and found.group(0) != profile.version:
        return warn(
            "version",
            name,
            f"{text}; profile {profile.name} was made for {profile.version}",
            f"if reading its screen fails, add a profile for {found.group(0)} "
            f"(~/.config/agent-bridge/profiles/{profile.name}.toml)",
        )
    return ok("version", name, text)
