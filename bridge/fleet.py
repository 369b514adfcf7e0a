"""The fleet: the agents the registry declares, brought up, taken down, and looked at together.

* :func:`up` creates missing sessions, windows and panes in registry order on every host (with each
  agent's ``env`` in its new pane), applies the ``[windows."S:W"] layout``s, and starts every agent
  that is not running, each with a session id the bridge chooses (see :mod:`bridge.sessions`),
  confirmed idle. Idempotent: a running agent is left alone, a second ``up`` changes nothing.
* :func:`down` exits agents cleanly (the profile's exit command; a busy one is interrupted first),
  then closes their panes; ``kill`` closes the panes at once.
* :func:`status` is one row per agent: state, session, model, uptime, tokens today.

One agent's failure never stops the others: each row says what happened to its agent.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from bridge.config import Agent
from bridge.config.models import Target
from bridge.errors import BridgeError, TargetNotFoundError

if TYPE_CHECKING:
    from bridge.api import Bridge

__all__ = ["down", "status", "up"]

log = logging.getLogger("bridge.fleet")
CONCURRENCY = 8
EXIT_S = 15.0  # how long a polite exit may take before the pane is closed anyway


def _error(agent: Agent, exc: BridgeError) -> dict[str, Any]:
    return {"agent": agent.name, "host": agent.host_name, "target": agent.spec.target,
            "error": str(exc), "exit_code": exc.exit_code}  # fmt: skip


Row = dict[str, Any]


async def _each(agents: Sequence[Agent], job: Callable[[Agent], Awaitable[Row]]) -> list[Row]:
    """``job`` for every agent, a few at a time; a failure is that agent's row, not the end."""
    limit = asyncio.Semaphore(CONCURRENCY)

    async def one(agent: Agent) -> dict[str, Any]:
        async with limit:
            try:
                return await job(agent)
            except BridgeError as exc:
                return _error(agent, exc)

    return list(await asyncio.gather(*(one(agent) for agent in agents)))


def _window_of(target: str) -> tuple[str, str | None]:
    parsed = Target.parse(target)
    return parsed.session, parsed.window


async def up(bridge: Bridge, names: Sequence[str] = (), *, timeout: float = 60.0) -> list[dict[str, Any]]:
    """Bring the agents ``names`` (agents or groups; all when empty) up; one row per agent."""
    agents = bridge.registry.select(list(names))
    created: dict[str, bool] = {}
    failed: dict[str, dict[str, Any]] = {}
    for agent in agents:  # in registry order: the order panes are made decides their indexes
        try:
            tmux = bridge.tmux(agent.host_name)
            _, created[agent.name] = await tmux.ensure_pane(agent.spec.target, cwd=agent.spec.cwd,
                                                            env=agent.spec.env)  # fmt: skip
        except BridgeError as exc:
            failed[agent.name] = _error(agent, exc)
    await _layouts(bridge, [a for a in agents if a.name not in failed])

    async def start(agent: Agent) -> dict[str, Any]:
        if agent.name in failed:
            return failed[agent.name]
        result = await bridge.start(agent.name, timeout=timeout)
        return {"agent": agent.name, "host": agent.host_name, "target": agent.spec.target,
                "pane": result["pane"], "created": created[agent.name], "started": result["started"],
                "state": result["state"] or "running", "session_id": result["session_id"]}  # fmt: skip

    return await _each(agents, start)


async def _layouts(bridge: Bridge, agents: Sequence[Agent]) -> None:
    """``select-layout`` for each declared window that holds one of ``agents``, on its host."""
    windows = bridge.registry.model.windows
    done: set[tuple[str, str]] = set()
    for agent in agents:
        session, window = _window_of(agent.spec.target)
        for key, spec in windows.items():
            if spec.layout is None or (agent.host_name, key) in done:
                continue
            w_session, w_window = _window_of(key)
            if (w_session, w_window) != (session, window):
                continue
            done.add((agent.host_name, key))
            await bridge.tmux(agent.host_name).run("select-layout", "-t", key, spec.layout, target=key)


async def down(bridge: Bridge, names: Sequence[str] = (), *, kill: bool = False) -> list[dict[str, Any]]:
    """Exit the agents ``names`` (all when empty) and close their panes; one row per agent."""

    async def stop(agent: Agent) -> dict[str, Any]:
        row = {"agent": agent.name, "host": agent.host_name, "target": agent.spec.target}
        try:
            pane = await bridge.pane(agent.name)
        except TargetNotFoundError:
            return {**row, "result": "not running (no pane)"}
        how = "killed"
        if not kill:
            how = await _exit_politely(bridge, agent)
        await pane.tmux.run("kill-pane", "-t", pane.pane_id, target=pane.pane_id, check=False)
        return {**row, "pane": pane.pane_id, "result": how}

    return await _each(bridge.registry.select(list(names)), stop)


async def _exit_politely(bridge: Bridge, agent: Agent) -> str:
    """The profile's exit command (after interrupting a busy agent); how it ended."""
    driver = await bridge.driver(agent.name)
    profile = driver.profile
    obs = await driver.observe()
    if obs.state.value == "dead":
        return "exited"
    if profile.exit_command is None:
        return "closed (the profile has no exit command)"
    if obs.state.value != "idle":
        await driver.handle.keys([profile.interrupt_key])
        try:
            obs = await driver.wait_for(lambda o: o.state.value in ("idle", "dead"), 5.0, what="idle")
        except BridgeError:
            return f"closed ({obs.state.value}: it did not stop when interrupted)"
    if obs.state.value == "idle":
        await driver.handle.type_literal(profile.exit_command)
        await asyncio.sleep(profile.submit.gap_ms / 1000)
        await driver.handle.keys([profile.submit.enter_key])
        try:
            await driver.wait_for(lambda o: o.state.value == "dead", EXIT_S, what="the agent to exit")
        except BridgeError:
            return f"closed (it did not exit within {EXIT_S:.0f} s of {profile.exit_command})"
    return "exited"


async def status(bridge: Bridge, names: Sequence[str] = ()) -> list[dict[str, Any]]:
    """One row per agent: host, target, state, session, model, uptime, tokens today."""
    from bridge.usage import agent_usage

    today = time.strftime("%Y-%m-%d", time.gmtime())

    async def look(agent: Agent) -> dict[str, Any]:
        row: dict[str, Any] = {"agent": agent.name, "host": agent.host_name, "target": agent.spec.target}
        try:
            obs = await bridge.state(agent.name)
        except BridgeError as exc:
            state = "unreachable" if exc.exit_code == 3 else "missing"
            return {**row, "state": state, "error": str(exc)}
        row.update(state=obs.state.value, session_id=obs.facts.session_id or None,
                   uptime_s=await _uptime(bridge, agent, obs.facts.pid))  # fmt: skip
        used = await agent_usage(bridge, agent.name, day=today)
        row.update(model=used.model if used else None,
                   tokens=None if used is None else {"input": used.input, "output": used.output,
                                                     "cached": used.cached, "calls": used.calls})  # fmt: skip
        return row

    return await _each(bridge.registry.select(list(names)), look)


async def _uptime(bridge: Bridge, agent: Agent, shell_pid: int) -> int | None:
    """Seconds the agent's process (the pane shell's child) has run, or None (none running)."""
    transport = bridge.pool.get(agent.host_name, agent.host)
    ran = await transport.run(["ps", "-o", "etimes=", "--ppid", str(shell_pid)])
    ages = [int(word) for word in ran.stdout.split() if word.isdigit()]
    return max(ages) if ages else None
