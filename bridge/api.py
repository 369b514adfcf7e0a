"""The Python API: a :class:`Bridge` over a registry, with one call per thing you can do.

>>> async with Bridge.from_config() as b:          # doctest: +SKIP
...     print(await b.screen("claude"))

Each method takes an agent name from the registry, reuses one connection per host, and raises
:mod:`bridge.errors` exceptions that say what failed and what to do.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from bridge.attach import attach_argv
from bridge.config import env_timeout
from bridge.config.paths import config_dir
from bridge.config.registry import Agent, Registry
from bridge.driver import Driver, Observation, Pane, Reply, StalePane
from bridge.errors import AgentError, AnswerError, ConfigError
from bridge.evidence import HOOKS, Recorder
from bridge.holding import Holding
from bridge.panes import AgentPane, Panes
from bridge.profiles import Profile, load_profile
from bridge.sessions import Launch, resume_command, start_command
from bridge.text import check, clean
from bridge.tmux import PaneFacts, Tmux
from bridge.transport import Pool

if TYPE_CHECKING:
    from bridge.tmux.link import ControlLink

__all__ = ["SHELLS", "AgentPane", "Bridge", "Pane"]

# Control channels per host: with MAX_CHANNELS short commands, the lock holder and
# MAX_LOCK_CHANNELS fallback locks, within sshd's default MaxSessions (4 + 1 + 3 + 2 = 10).
# Agents in further sessions of that host are driven by exec and polling.
MAX_CONTROL_LINKS = 2

log = logging.getLogger("bridge.api")
T = TypeVar("T")

# What `#{pane_current_command}` shows when a pane is back at its shell.
SHELLS = frozenset({"bash", "sh", "zsh", "fish", "dash", "ksh", "mksh", "tcsh", "csh", "login"})


class Bridge:
    """Drive the agents of one registry. Use as ``async with``; it closes its connections."""

    def __init__(self, registry: Registry, *, pool: Pool | None = None, hooks: bool = True) -> None:
        self.registry = registry
        self.recorder: Recorder | None = None  # where each operation's record goes, if anywhere
        self.pool = pool or Pool()
        # One tmux control-mode client per (host, session) an agent lives in (see bridge.tmux.link);
        # AGENT_BRIDGE_NO_CONTROL=1 turns them off (one exec per tmux command, polling).
        self.control = os.environ.get("AGENT_BRIDGE_NO_CONTROL", "") in ("", "0")
        self._links: dict[tuple[str, str], ControlLink] = {}
        # The pane-lock holder on each host (bridge.tmux.lock), and the looks handed between asks.
        self.holding = Holding(registry)
        # Each agent's pane, remembered: a warm ask skips resolving (one round trip) and confirms
        # it with its first look instead.
        self.panes = Panes(self.tmux)
        for hook in HOOKS if hooks else ():  # e.g. the CLI's: records go to the registry's hub
            hook(self)

    @classmethod
    def from_config(cls, path: str | os.PathLike[str] | None = None) -> Bridge:
        """A bridge over the registry found by precedence (``path``, env, default)."""
        return cls(Registry.from_cli(path))

    async def __aenter__(self) -> Bridge:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close every connection this bridge opened."""
        links, self._links = list(self._links.values()), {}
        for link in links:
            with contextlib.suppress(Exception):  # a dead one must not keep the rest open
                await link.close()
        await self.holding.close()
        await self.pool.close()
        if self.recorder is not None:
            await self.recorder.flush()

    # -- lookups ----------------------------------------------------------------------------

    def tmux(self, host_name: str, session: str | None = None) -> Tmux:
        """tmux on the host called ``host_name`` (its connection is pooled).

        With ``session`` (and control mode on), commands ride that session's control channel.
        """
        spec = self.registry.host(host_name)
        transport = self.pool.get(host_name, spec)
        link = None
        if session is not None and self.control:
            link = self._links.get((host_name, session))
            if link is None and sum(host == host_name for host, _ in self._links) < MAX_CONTROL_LINKS:
                from bridge.tmux.channel import DEFAULT_TIMEOUT
                from bridge.tmux.link import ControlLink

                timeout = DEFAULT_TIMEOUT if spec.local else spec.connect_timeout
                link = ControlLink(transport, spec.tmux_socket, session, timeout=timeout)
                self._links[(host_name, session)] = link
        return Tmux(transport, spec.tmux_socket, control=link)

    async def pane(self, agent_name: str, *, remembered: bool = False) -> AgentPane:
        """Resolve an agent to its pane (raises if the target is missing).

        With ``remembered``, a pane resolved by an earlier call of this Bridge is returned as is
        (``AgentPane.remembered``): the caller must confirm it with its first look (see ``_driven``).
        """
        return await self.panes.resolve(self.registry.agent(agent_name), remembered=remembered)

    # -- foundation operations ----------------------------------------------------------------

    async def screen(self, agent_name: str, *, ansi: bool = False, history: int = 0) -> str:
        """The agent's pane as text (with SGR codes when ``ansi``; ``history`` lines above)."""
        pane = await self.pane(agent_name)
        return await pane.capture(ansi=ansi, history=history)

    async def facts(self, agent_name: str) -> PaneFacts:
        """tmux's facts about the agent's pane."""
        pane = await self.pane(agent_name)
        return await pane.current_facts()

    async def send(
        self, agent_name: str, text: str, *, enter: bool = True, strip_controls: bool = False
    ) -> int:
        """Type ``text`` into the pane as a bracketed paste, then (after the profile's gap) Enter.

        ``enter=False`` types only.

        Text holding a control character that would act as a key is refused (see
        :mod:`bridge.text`), or with ``strip_controls`` those are removed; returns how many were.
        This does not wait for the agent; see ``ask`` for that.
        """
        safe, removed = clean(text) if strip_controls else (check(text), 0)
        agent = self.registry.agent(agent_name)
        gap = self.profile(agent.spec.profile).submit.gap_ms / 1000
        pane = await self.panes.resolve(agent)
        if safe:
            await pane.paste(safe)
            if enter:
                # The profile's gap: an agent like Claude Code takes an Enter that arrives right on
                # the heels of a paste as part of it (over a control channel that is ~1 ms).
                await asyncio.sleep(gap)
        if enter:
            await pane.keys(["Enter"])
        return removed

    async def keys(self, agent_name: str, keys: list[str]) -> None:
        """Press tmux key names in the agent's pane, in order (``Down``, ``Enter``, ``C-c``)."""
        pane = await self.pane(agent_name)
        await pane.keys(keys)

    async def start(self, agent_name: str, *, timeout: float = 60.0) -> dict[str, Any]:
        """Create the agent's session/window/pane if missing, run its start command there (with
        a new session id where the command takes one) and see the agent come up idle.

        The command is typed into a shell in the pane, so the pane survives the agent's exit and
        a dead agent shows as a shell. An agent that is already running is left alone.
        """
        agent = self.registry.agent(agent_name)
        profile = self.profile(agent.spec.profile)
        tmux = self.tmux(agent.host_name)
        pane_id, created = await tmux.ensure_pane(agent.spec.target, cwd=agent.spec.cwd, env=agent.spec.env)
        facts = await Pane(tmux, pane_id).current_facts()
        running = facts.current_command not in SHELLS
        launch = None if running else start_command(agent, profile)
        if launch is None and not running and not created:
            raise ConfigError(f"agent {agent_name} has no start command",
                              hint=f'add start = "..." under [agents.{agent_name}]')  # fmt: skip
        state = None
        if launch is not None:
            driver = await self._driver(agent)
            async with self.exclusive(driver, timeout):
                obs = await driver.observe()
                if obs.state.value == "dead":  # the profile knows its shell: confirm it comes up
                    obs = await driver.restart(launch.command, session_id=launch.session_id, timeout=timeout)
                else:  # a shell agent: its shell is the agent
                    await driver.handle.type_literal(launch.command)
                    await driver.handle.keys(["Enter"])
            state = obs.state.value
        return {
            "agent": agent_name,
            "pane": pane_id,
            "created": created,
            "started": launch is not None,
            "already_running": running,
            "state": state,
            "session_id": (launch.session_id if launch else None) or facts.session_id or None,
        }

    async def check_host(self, host_name: str) -> dict[str, Any]:
        """Reach the host and its tmux; report round-trip time and the tmux version."""
        tmux = self.tmux(host_name)
        began = time.perf_counter()
        version = await tmux.version()
        first = time.perf_counter()
        await tmux.run("-V")
        rtt = time.perf_counter() - first
        return {
            "host": host_name,
            "reachable": True,
            "tmux": version,
            "connect_ms": round((first - began) * 1000, 1),
            "rtt_ms": round(rtt * 1000, 1),
        }

    def attach_argv(self, agent_name: str, *, read_only: bool = False) -> list[str]:
        """The command that attaches this terminal to the agent's tmux session (see
        :func:`bridge.attach.attach_argv`)."""
        return attach_argv(self.registry.agent(agent_name), read_only=read_only)

    # -- the driver -------------------------------------------------------------------------

    @functools.cached_property
    def profiles_dir(self) -> Path:
        """Where user profiles live: ``<config dir>/profiles`` (they override built-ins by name)."""
        return config_dir() / "profiles"

    def profile(self, name: str, *, key: str | None = None) -> Profile:
        """The profile called ``name`` (user folder first, then built-in); ``key``: where it was
        named, for the error (see :func:`~bridge.profiles.load_profile`)."""
        return load_profile(name, self.profiles_dir, key=key)

    def agent_profile(self, agent: Agent) -> Profile:
        """The agent's profile; an unknown one is an error naming the registry file and key."""
        return self.profile(agent.spec.profile, key=f"{self.registry.path}: agents.{agent.name}.profile")

    def timeout(self, cli_value: float | None) -> float:
        """Seconds an ask may take: ``--timeout`` > ``$AGENT_BRIDGE_TIMEOUT`` > registry settings."""
        if cli_value is not None:
            return cli_value
        return env_timeout() or self.registry.model.settings.timeout

    async def driver(self, agent_name: str, *, remembered: bool = False) -> Driver:
        """A :class:`~bridge.driver.Driver` for the agent's pane and profile.

        ``remembered``: see :meth:`pane`; the driver's first observation then confirms the pane
        (raising :class:`~bridge.driver.StalePane` if it is gone or another one now).
        """
        return await self._driver(self.registry.agent(agent_name), remembered=remembered)

    async def _driver(self, agent: Agent, *, remembered: bool = False) -> Driver:
        profile = self.agent_profile(agent)  # a configuration error comes before any network call
        pane = await self.panes.resolve(agent, remembered=remembered)
        return Driver(pane.tmux, pane.pane_id, profile, agent=agent.name, permissions=agent.spec.permissions,
                      facts=pane.facts, expect=pane.expect())  # fmt: skip

    async def _driven(self, agent: Agent, job: Callable[[Driver], Awaitable[T]]) -> T:
        """Run ``job`` on a driver whose pane is remembered from an earlier call, if any.

        Its first observation confirms the pane before anything is typed; if the pane is gone or
        the target names another one now, the pane is resolved again and ``job`` runs once more.
        """
        try:
            return await job(await self._driver(agent, remembered=True))
        except StalePane as stale:
            log.info("%s: %s; resolving its target again", agent.name, stale)
            self.panes.forget(agent)
        return await job(await self._driver(agent))

    async def state(self, agent_name: str) -> Observation:
        """One observation of the agent: its state (idle, busy, permission, menu, ...) and screen."""
        return await self._driven(self.registry.agent(agent_name), lambda driver: driver.observe())

    async def ask(
        self,
        agent_name: str,
        prompt: str,
        *,
        timeout: float | None = None,
        model: str | None = None,
        strip_controls: bool = False,
    ) -> Reply:
        """Type ``prompt`` into an idle agent, wait until it is done, return its reply.

        With ``model``, switch the agent's model through its ``/model`` menu first. A prompt with
        key-like control characters is refused before anything is typed, unless ``strip_controls``.
        """
        prompt = clean(prompt)[0] if strip_controls else check(prompt)
        limit = self.timeout(timeout)
        began = time.monotonic()
        agent = self.registry.agent(agent_name)
        return await self._driven(
            agent, lambda driver: self._ask(agent, driver, prompt, limit=limit, began=began, model=model)
        )

    async def _ask(
        self, agent: Agent, driver: Driver, prompt: str, *, limit: float, began: float, model: str | None
    ) -> Reply:
        async with self.exclusive(driver, limit, look=not model) as first:
            for attempt in (1, 2):
                try:
                    confirmed = await driver.switch_model(model, timeout=min(limit, 60.0)) if model else None
                    # counted from `began`: the lock and the model switch are part of the call
                    reply = await driver.ask(prompt, timeout=limit, began=began, first=first)
                    # the model it was switched to (where the reply does not say), the whole call's time
                    return dataclasses.replace(
                        reply, model=reply.model or confirmed, elapsed_s=time.monotonic() - began
                    )
                except AgentError as error:
                    if error.state != "dead" or agent.spec.restart != "auto" or attempt == 2:
                        raise
                    _, launch = await self._revive(agent, driver, 60.0)
                    if not error.delivered:  # found dead before anything was typed: ask it now
                        log.info("%s was dead; restarted with %s, asking now", agent.name, launch.command)
                        first = None
                        continue
                    self._after_revive(agent, driver, launch, error)
        raise AssertionError("unreachable")

    @staticmethod
    def _after_revive(agent: Agent, driver: Driver, launch: Launch, error: AgentError) -> NoReturn:
        """The agent died with the prompt delivered, and is back: exit 6, not sent again."""
        raise AnswerError(
            f"{agent.name} had died; it was restarted with `{launch.command}` (restart = \"auto\") "
            "and is idle again; the prompt was NOT sent again (it had been delivered before the "
            "agent died)",
            hint="ask again if you still want the answer",
            state="restarted",
            host=driver.tmux.host,
            target=driver.pane,
        ) from error

    def exclusive(
        self, driver: Driver, timeout: float, *, look: bool = False
    ) -> contextlib.AbstractAsyncContextManager[Observation | None]:
        """Hold the agent's pane for this caller only (across processes and machines).

        A second caller waits up to ``timeout`` seconds, then fails with exit 4 (state ``locked``).
        With ``look`` (an ask), yields an observation of the pane taken while holding it: it is
        read while the lock is being taken (one round trip for both) and read again after taking
        only if the lock says someone else may have held it in between (see
        :meth:`bridge.tmux.lock.Held.untouched_since`). An ask that ends well keeps the lock for
        ``settings.keep_lock`` seconds; the next ask then needs no round trip before typing when
        tmux's events say the pane did not change since the last look (:meth:`Observation.current`).
        """
        return self.holding.exclusive(driver, timeout, look=look)

    async def switch_model(
        self, agent_name: str, name: str, *, timeout: float = 60.0, save: bool = False
    ) -> str:
        """Switch the agent's model via its own menu (this session only where the CLI offers
        that; ``save``: as the user's default); returns the name the agent confirmed."""
        driver = await self.driver(agent_name)
        async with self.exclusive(driver, timeout):
            return await driver.switch_model(name, timeout=timeout, save=save)

    async def approve(
        self, agent_name: str, answer: str = "yes", *, wait: bool = False, timeout: float | None = None
    ) -> Reply | Observation:
        """Answer a pending permission question (``yes``, ``no`` or an option number)."""
        driver = await self.driver(agent_name)
        limit = self.timeout(timeout)
        async with self.exclusive(driver, limit):
            return await driver.approve(answer, wait=wait, timeout=limit)

    async def restart(self, agent_name: str, *, timeout: float = 60.0) -> Observation:
        """Bring a dead agent back into its own session (see :mod:`bridge.sessions`) and wait
        until it is idle; the observation's facts carry the session id."""
        agent = self.registry.agent(agent_name)
        driver = await self._driver(agent)
        async with self.exclusive(driver, timeout):
            return (await self._revive(agent, driver, timeout))[0]

    async def _revive(self, agent: Agent, driver: Driver, timeout: float) -> tuple[Observation, Launch]:
        """Restart the dead agent into its own session; the observation of it idle, and how."""
        facts = await driver.handle.current_facts()
        launch = resume_command(agent, driver.profile, facts.session_id)
        log.info("%s: restarting with %s", agent.name, launch.command)
        new_id = launch.session_id if launch.session_id != facts.session_id else None
        return await driver.restart(launch.command, session_id=new_id, timeout=timeout), launch
