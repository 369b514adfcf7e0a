"""``agent-bridge demo``: the main job end to end on this machine, with nothing configured.

Starts the demo agent in a private tmux server (its own socket in the user's runtime dir), waits
until it is idle, asks it one question through the same registry/driver path a real agent uses,
and leaves it running so the user can attach and watch.
"""

from __future__ import annotations

import shlex
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from bridge.config import AgentSpec, HostSpec, RegistryModel
from bridge.config.paths import runtime_dir
from bridge.config.registry import Registry
from bridge.driver import Reply
from bridge.errors import BridgeError
from bridge.reading import State


@dataclass(frozen=True)
class DemoResult:
    reply: Reply
    socket: str


def demo_registry(socket: str) -> Registry:
    """A registry with one local host (private tmux socket) and the demo agent."""
    command = f"{shlex.quote(sys.executable)} -m bridge.demo"
    model = RegistryModel(
        hosts={"local": HostSpec(local=True, tmux_socket=socket)},
        agents={
            "demo": AgentSpec(
                host="local", target="demo:agent.0", profile="demo", start=command, cwd=str(Path.home())
            )
        },
    )
    return Registry(model)


async def run_demo(prompt: str, *, socket: str | None = None, timeout: float = 60.0) -> DemoResult:
    """Start (or reuse) the demo agent, ask it ``prompt``, return the reply and the tmux socket."""
    from bridge.api import Bridge

    if not shutil.which("tmux"):
        raise BridgeError("tmux is not installed", hint="sudo apt-get install -y tmux")
    socket = socket or str(runtime_dir() / "demo.sock")
    async with Bridge(demo_registry(socket)) as bridge:
        tmux = bridge.tmux("local")
        if not await tmux.has_session("demo"):
            # A clean server and a plain sh: the demo must not depend on (or wait for) the user's
            # ~/.tmux.conf or shell rc files. `start` then types the agent into that shell.
            shell = shlex.join(["env", "-u", "ENV", "PS1=$ ", "sh"])
            await tmux.run("-f", "/dev/null", "new-session", "-d", "-s", "demo", "-n", "agent",
                           "-x", "200", "-y", "50", "-c", str(Path.home()), shell)  # fmt: skip
        await bridge.start("demo")
        driver = await bridge.driver("demo")
        await driver.wait_for(lambda o: o.state is State.IDLE, 20.0, what="the demo agent to start")
        reply = await bridge.ask("demo", prompt, timeout=timeout)
    return DemoResult(reply, socket)
