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
import shlex
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from bridge.config import HostSpec, Target, env_timeout
from bridge.errors import AgentNotReadyError, ConfigError, TargetNotFoundError
from bridge.paths import config_dir
from bridge.registry import Agent, Registry
from bridge.text import check, clean
from bridge.tmux import PaneFacts, Tmux, mismatch
from bridge.transport import Pool

if TYPE_CHECKING:
    from bridge.control import ControlLink
    from bridge.driver import Driver, Observation, Reply
    from bridge.lock import LockServer
    from bridge.profiles import Profile

# Control channels per host: with MAX_CHANNELS short commands, the lock holder and
# MAX_LOCK_CHANNELS fallback locks, within sshd's default MaxSessions (4 + 1 + 3 + 2 = 10).
# Agents in further sessions of that host are driven by exec and polling.
MAX_CONTROL_LINKS = 2

log = logging.getLogger("bridge.api")
T = TypeVar("T")

# What `#{pane_current_command}` shows when a pane is back at its shell.
SHELLS = frozenset({"bash", "sh", "zsh", "fish", "dash", "ksh", "mksh", "tcsh", "csh", "login"})


@dataclass(frozen=True)
class Pane:
    """An agent's pane, resolved: the agent, tmux on its host, and the stable pane id."""

    agent: Agent
    tmux: Tmux
    pane_id: str
    facts: PaneFacts | None = None  # what tmux said about it when it was resolved
    remembered: bool = False  # resolved by an earlier call, not checked yet


class Bridge:
    """Drive the agents of one registry. Use as ``async with``; it closes its connections."""

    def __init__(self, registry: Registry, *, pool: Pool | None = None) -> None:
        self.registry = registry
        self.pool = pool or Pool()
        # One tmux control-mode client per (host, session) an agent lives in (see bridge.control);
        # AGENT_BRIDGE_NO_CONTROL=1 turns them off (one exec per tmux command, polling).
        self.control = os.environ.get("AGENT_BRIDGE_NO_CONTROL", "") in ("", "0")
        self._links: dict[tuple[str, str], ControlLink] = {}
        self._locks: dict[str, LockServer] = {}  # the pane-lock holder on each host (bridge.lock)
        # (host, target) -> the pane it named last time: a warm ask skips resolving (one round
        # trip) and confirms it with its first look instead.
        self._resolved: dict[tuple[str, str], PaneFacts] = {}
        # Lock key -> the last look of an ask that kept its lock (bridge.lock: keep): while that
        # lock is kept and tmux's events say the pane is unchanged, the next ask starts from it.
        self._seen: dict[str, Observation] = {}

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
        held: list[ControlLink | LockServer] = [*self._links.values(), *self._locks.values()]
        self._links, self._locks = {}, {}
        for item in held:
            with contextlib.suppress(Exception):  # a dead one must not keep the rest open
                await item.close()
        await self.pool.close()

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
                from bridge.control import DEFAULT_TIMEOUT, ControlLink

                timeout = DEFAULT_TIMEOUT if spec.local else spec.connect_timeout
                link = ControlLink(transport, spec.tmux_socket, session, timeout=timeout)
                self._links[(host_name, session)] = link
        return Tmux(transport, spec.tmux_socket, control=link)

    async def pane(self, agent_name: str, *, remembered: bool = False) -> Pane:
        """Resolve an agent to its pane (raises if the target is missing).

        With ``remembered``, a pane resolved by an earlier call of this Bridge is returned as is
        (``Pane.remembered``): the caller must confirm it with its first look (see ``_driven``).
        """
        agent = self.registry.agent(agent_name)
        target = agent.spec.target
        key = (agent.host_name, target)
        known = self._resolved.get(key)
        if remembered and known is not None:
            return Pane(agent, self.tmux(agent.host_name, known.session), known.pane_id, known, True)
        if not target.startswith("%"):
            session = Target.parse(target).session
        elif known is not None:
            session = known.session
        else:  # a pane id names no session: one look (one exec) tells which to attach to
            session = (await self.tmux(agent.host_name).facts(target)).session
        tmux = self.tmux(agent.host_name, session)
        try:
            facts = await tmux.resolve_facts(target)
        except TargetNotFoundError:
            self._resolved.pop(key, None)
            raise
        self._resolved[key] = facts
        return Pane(agent, tmux, facts.pane_id, facts)

    # -- foundation operations ----------------------------------------------------------------

    async def screen(self, agent_name: str, *, ansi: bool = False, history: int = 0) -> str:
        """The agent's pane as text (with SGR codes when ``ansi``; ``history`` lines above)."""
        pane = await self.pane(agent_name)
        return await pane.tmux.capture(pane.pane_id, ansi=ansi, history=history)

    async def facts(self, agent_name: str) -> PaneFacts:
        """tmux's facts about the agent's pane."""
        pane = await self.pane(agent_name)
        return await pane.tmux.facts(pane.pane_id)

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
        gap = self.profile(self.registry.agent(agent_name).spec.profile).submit.gap_ms / 1000
        pane = await self.pane(agent_name)
        if safe:
            await pane.tmux.paste(pane.pane_id, safe)
            if enter:
                # The profile's gap: an agent like Claude Code takes an Enter that arrives right on
                # the heels of a paste as part of it (over a control channel that is ~1 ms).
                await asyncio.sleep(gap)
        if enter:
            await pane.tmux.keys(pane.pane_id, ["Enter"])
        return removed

    async def keys(self, agent_name: str, keys: list[str]) -> None:
        """Press tmux key names in the agent's pane, in order (``Down``, ``Enter``, ``C-c``)."""
        pane = await self.pane(agent_name)
        await pane.tmux.keys(pane.pane_id, keys)

    async def start(self, agent_name: str) -> dict[str, Any]:
        """Create the agent's session/window/pane if missing and run its ``start`` command there.

        The command is typed into a shell in the pane, so the pane survives the agent's exit and
        a dead agent shows as a shell. An agent that is already running is left alone.
        """
        agent = self.registry.agent(agent_name)
        tmux = self.tmux(agent.host_name)
        pane_id, created = await tmux.ensure_pane(agent.spec.target, cwd=agent.spec.cwd)
        facts = await tmux.facts(pane_id)
        running = facts.current_command not in SHELLS
        started = False
        if not running:
            if not agent.spec.start:
                if not created:
                    raise ConfigError(
                        f"agent {agent_name} has no start command",
                        hint=f'add start = "..." under [agents.{agent_name}]',
                    )
            else:
                await tmux.type_literal(pane_id, agent.spec.start)
                await tmux.keys(pane_id, ["Enter"])
                started = True
        return {
            "agent": agent_name,
            "pane": pane_id,
            "created": created,
            "started": started,
            "already_running": running,
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
        """The command that attaches this terminal to the agent's tmux session.

        Local hosts: ``tmux attach``; SSH hosts: ``ssh -t HOST tmux attach`` with the registry's
        port, user, key and host-key policy. ``read_only`` adds ``-r``: you watch, you cannot type.
        """
        agent = self.registry.agent(agent_name)
        spec = agent.host
        tmux = ["tmux"] + (["-S", spec.tmux_socket] if spec.tmux_socket else [])
        tmux += ["attach-session", "-t", agent.spec.target] + (["-r"] if read_only else [])
        if spec.local:
            return tmux
        return [*ssh_argv(spec), "-t", "--", shlex.join(tmux)]

    # -- the driver -------------------------------------------------------------------------

    @functools.cached_property
    def profiles_dir(self) -> Path:
        """Where user profiles live: ``<config dir>/profiles`` (they override built-ins by name)."""
        return config_dir() / "profiles"

    def profile(self, name: str) -> Profile:
        """The profile called ``name`` (user folder first, then built-in)."""
        from bridge.profiles import load_profile

        return load_profile(name, self.profiles_dir)

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
        from bridge.driver import Driver

        spec = self.registry.agent(agent_name).spec
        profile = self.profile(spec.profile)  # a configuration error comes before any network call
        pane = await self.pane(agent_name, remembered=remembered)
        driver = Driver(pane.tmux, pane.pane_id, profile, agent=agent_name, permissions=spec.permissions)
        driver.facts = pane.facts
        if pane.remembered and pane.facts is not None:
            driver.expect = functools.partial(_same_pane, spec.target, pane.facts)
        return driver

    async def _driven(self, agent_name: str, job: Callable[[Driver], Awaitable[T]]) -> T:
        """Run ``job`` on a driver whose pane is remembered from an earlier call, if any.

        Its first observation confirms the pane before anything is typed; if the pane is gone or
        the target names another one now, the pane is resolved again and ``job`` runs once more.
        """
        from bridge.driver import StalePane

        try:
            return await job(await self.driver(agent_name, remembered=True))
        except StalePane as stale:
            log.info("%s: %s; resolving its target again", agent_name, stale)
            agent = self.registry.agent(agent_name)
            self._resolved.pop((agent.host_name, agent.spec.target), None)
        return await job(await self.driver(agent_name))

    async def state(self, agent_name: str) -> Observation:
        """One observation of the agent: its state (idle, busy, permission, menu, ...) and screen."""
        return await self._driven(agent_name, lambda driver: driver.observe())

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
        return await self._driven(
            agent_name, lambda driver: self._ask(driver, prompt, limit=limit, began=began, model=model)
        )

    async def _ask(
        self, driver: Driver, prompt: str, *, limit: float, began: float, model: str | None
    ) -> Reply:
        agent_name = driver.agent
        async with self.exclusive(driver, limit, look=not model) as first:
            try:
                if model:
                    await driver.switch_model(model, timeout=min(limit, 60.0))
                left = max(limit - (time.monotonic() - began), 1.0)
                return await driver.ask(prompt, timeout=left, first=first)
            except AgentNotReadyError as error:
                if error.state != "dead" or self.registry.agent(agent_name).spec.restart != "auto":
                    raise
                command = self._resume_command(agent_name, driver)
                await driver.restart(command, timeout=60.0)
                raise AgentNotReadyError(
                    f"{agent_name} had died; it was restarted with `{command}` (restart = \"auto\") "
                    "and is idle again; the prompt was NOT sent again",
                    hint="ask again if you still want the answer",
                    state="restarted",
                    host=driver.tmux.host,
                    target=driver.pane,
                ) from error

    @contextlib.asynccontextmanager
    async def exclusive(
        self, driver: Driver, timeout: float, *, look: bool = False
    ) -> AsyncIterator[Observation | None]:
        """Hold the agent's pane for this caller only (across processes and machines).

        A second caller waits up to ``timeout`` seconds, then fails with exit 4 (state ``locked``).
        With ``look`` (an ask), yields an observation of the pane taken while holding it: it is
        read while the lock is being taken (one round trip for both) and read again after taking
        only if the lock says someone else may have held it in between (see
        :meth:`bridge.lock.Held.untouched_since`). An ask that ends well keeps the lock for
        ``settings.keep_lock`` seconds; the next ask then needs no round trip before typing when
        tmux's events say the pane did not change since the last look (:meth:`Observation.current`).
        """
        from bridge.lock import LockServer

        facts = driver.facts or await driver.tmux.facts(driver.pane)
        key = f"{facts.server_pid}-{facts.pane_id.lstrip('%')}"
        locks = self._locks.get(driver.tmux.host)
        if locks is None:
            spec = self.registry.host(driver.tmux.host)
            answer_s = 30.0 if spec.local else spec.connect_timeout  # a silent holder = a lost link
            locks = self._locks[driver.tmux.host] = LockServer(driver.tmux.transport, timeout=answer_s)
        seen = self._seen.pop(key, None)
        if not look:
            async with locks.hold(key, timeout=timeout, agent=driver.agent):
                yield None
            return
        if seen is not None and not (locks.keeps(key) and _still(seen, driver)):
            seen = None  # the lock was let go, or the pane may have changed: look afresh
        mark = locks.mark(key)
        # The first look is this ask's first word with the host (a kept lock needs none): a link
        # that is down fails it at once, as a lock request would, instead of riding it out.
        early = None
        if seen is None:
            early = asyncio.ensure_future(driver.observe_through_drops(time.monotonic()))
        keep = self.registry.model.settings.keep_lock
        try:
            async with locks.hold(key, timeout=timeout, agent=driver.agent, keep=keep) as held:
                if seen is not None and held.kept and _still(seen, driver):
                    first = driver.last = dataclasses.replace(seen, reused=True)
                    driver.expect = None
                elif early is None:  # the kept lock was let go meanwhile
                    first = await driver.observe_through_drops(time.monotonic())
                else:
                    first = await early
                    if not held.untouched_since(mark):
                        first = await driver.observe()  # it may have changed before the lock was ours
                yield first
                if driver.last is not None:
                    self._seen[key] = driver.last
        finally:
            if early is not None:
                if not early.done():
                    early.cancel()
                elif not early.cancelled():
                    early.exception()  # if the lock failed first, the look's outcome is not news

    async def switch_model(self, agent_name: str, name: str, *, timeout: float = 60.0) -> str:
        """Switch the agent's model via its own menu; returns the name the agent confirmed."""
        driver = await self.driver(agent_name)
        async with self.exclusive(driver, timeout):
            return await driver.switch_model(name, timeout=timeout)

    async def approve(
        self, agent_name: str, answer: str = "yes", *, wait: bool = False, timeout: float | None = None
    ) -> Reply | Observation:
        """Answer a pending permission question (``yes``, ``no`` or an option number)."""
        driver = await self.driver(agent_name)
        limit = self.timeout(timeout)
        async with self.exclusive(driver, limit):
            return await driver.approve(answer, wait=wait, timeout=limit)

    async def restart(self, agent_name: str, *, timeout: float = 60.0) -> Observation:
        """Run the profile's resume command in a dead agent's pane and wait until it is idle."""
        driver = await self.driver(agent_name)
        command = self._resume_command(agent_name, driver)
        async with self.exclusive(driver, timeout):
            return await driver.restart(command, timeout=timeout)

    def _resume_command(self, agent_name: str, driver: Driver) -> str:
        """The profile's resume command (e.g. ``claude --continue``), else the agent's ``start``."""
        command = driver.profile.resume or self.registry.agent(agent_name).spec.start
        if not command:
            raise ConfigError(
                f"no resume command for {agent_name}",
                hint=f'add start = "..." under [agents.{agent_name}]',
            )
        return command


def ssh_argv(spec: HostSpec) -> list[str]:
    """An OpenSSH ``ssh`` argv (without the remote command) matching a registry host."""
    assert spec.address
    argv = ["ssh"]
    if spec.port:
        argv += ["-p", str(spec.port)]
    if spec.user:
        argv += ["-l", spec.user]
    if spec.identity_file:
        argv += ["-i", os.path.expanduser(spec.identity_file)]
    if spec.known_hosts:
        argv += ["-o", f"UserKnownHostsFile={os.path.expanduser(spec.known_hosts)}"]
    policy = "accept-new" if spec.host_key_policy == "accept-new" else "yes"
    argv += ["-o", f"StrictHostKeyChecking={policy}", spec.address]
    return argv


def _still(seen: Observation, driver: Driver) -> bool:
    """Can ``driver`` start from ``seen``: the pane unchanged since, and the pane it expects?"""
    return seen.current() and (driver.expect is None or driver.expect(seen.facts))


def _same_pane(target: str, known: PaneFacts, facts: PaneFacts) -> bool:
    """Is ``facts`` still the pane ``known`` was (same tmux server, same id, still ``target``)?"""
    same = facts.pane_id == known.pane_id and facts.server_pid == known.server_pid
    return same and mismatch(target, facts) is None
