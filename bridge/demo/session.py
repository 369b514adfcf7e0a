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
from typing import TYPE_CHECKING

from bridge.config import AgentSpec, HostSpec, RegistryModel
from bridge.config.paths import runtime_dir
from bridge.config.registry import Registry
from bridge.driver import Reply
from bridge.errors import BridgeError, PermissionPendingError
from bridge.reading import State

if TYPE_CHECKING:
    from bridge.api import Bridge


@dataclass(frozen=True)
class DemoResult:
    reply: Reply
    socket: str


# A plain sh, without the user's rc files (ENV): `start` types the agent into it.
_SHELL = shlex.join(["env", "-u", "ENV", "PS1=$ ", "sh"])


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


async def run_demo(
    prompt: str, *, approve: str | None = None, socket: str | None = None, timeout: float = 60.0
) -> DemoResult:
    """Ask the demo agent ``prompt`` (or, with ``approve``, answer its pending permission question
    and wait for the reply); return the reply and the tmux socket.

    The private server is reused between runs, but a demo agent left in any state but idle (a
    permission question, a menu, a dead process) is replaced by a fresh one first: a run never
    times out on what an earlier run left. A permission question comes back as exit 5 with a hint
    this command itself can act on (``agent-bridge demo --approve yes``): no registry needed.
    """
    from bridge.api import Bridge

    if not shutil.which("tmux"):
        raise BridgeError("tmux is not installed", hint="sudo apt-get install -y tmux")
    socket = socket or str(runtime_dir() / "demo.sock")
    async with Bridge(demo_registry(socket)) as bridge:
        reply: Reply | None
        try:
            if approve is not None:
                answered = await bridge.approve("demo", approve, wait=True, timeout=timeout)
                reply = answered if isinstance(answered, Reply) else None
            else:
                await _idle_demo(bridge)
                reply = await bridge.ask("demo", prompt, timeout=timeout)
        except PermissionPendingError as error:
            error.hint = "answer with: agent-bridge demo --approve yes|no|N"
            raise
    if reply is None:  # approve(wait=True) always waits for the reply; this only narrows the type
        raise BridgeError("the demo agent answered without a reply")
    return DemoResult(reply, socket)


async def _idle_demo(bridge: Bridge) -> None:
    """Make sure an idle demo agent runs: start the server and the agent if missing, replace a
    demo agent that is not idle by a fresh one (a new process in the same pane)."""
    tmux = bridge.tmux("local")
    if not await tmux.has_session("demo"):
        # A clean server: the demo must not depend on (or wait for) the user's ~/.tmux.conf.
        await tmux.run("-f", "/dev/null", "new-session", "-d", "-s", "demo", "-n", "agent",
                       "-x", "200", "-y", "50", "-c", str(Path.home()), _SHELL)  # fmt: skip
    elif (await bridge.state("demo")).state is not State.IDLE:
        await tmux.run("respawn-pane", "-k", "-t", "demo:agent.0", "-c", str(Path.home()), _SHELL)
    await bridge.start("demo")
    driver = await bridge.driver("demo")
    await driver.wait_for(lambda o: o.state is State.IDLE, 20.0, what="the demo agent to start")
