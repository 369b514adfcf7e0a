"""Looking at the pane: observe (facts + screen in one round trip, classified by the profile),
ride through a dropped link, wait for a condition, let the screen settle, require idle.

Waiting is by observation: with a tmux control channel the next look comes when the pane writes
something (``%output``); without, polling adapts (fast right after a change, slower while nothing
moves). "Done" is the profile's idle state plus a short stable window, never silence alone.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bridge.driver.pane import Pane
from bridge.errors import AgentNotReadyError, AgentTimeoutError, HostUnreachableError, TargetNotFoundError
from bridge.profiles import Profile
from bridge.reading import State, classify
from bridge.screen import Snapshot, parse
from bridge.tmux import PaneFacts, Tmux

if TYPE_CHECKING:
    from bridge.tmux.changes import Stamp

__all__ = ["Observation", "Observer", "StalePane"]

log = logging.getLogger("bridge.driver")

POLL_MIN, POLL_MAX = 0.02, 0.25
EVENT_MAX = 1.0  # with %output events, a quiet pane is still looked at this often (a safety net)
RECONNECT_S = 20.0  # how long one observation may spend reconnecting after a dropped link


class StalePane(Exception):
    """The remembered pane of an agent is gone or is another pane now: resolve it again."""


@dataclass(frozen=True)
class Observation:
    """One look at the pane: tmux facts, the rendered screen, and its state per the profile."""

    facts: PaneFacts
    snapshot: Snapshot
    state: State
    at: float = field(default_factory=time.monotonic)
    stamp: Stamp | None = None  # over a control channel: tells whether the pane changed since
    reused: bool = False  # an earlier ask's last look, handed on (see Bridge.exclusive)

    @property
    def text(self) -> str:
        return self.snapshot.text

    def current(self) -> bool:
        """True while, as far as tmux's events tell, the pane still shows exactly this.

        Only over a control channel (its ``%output`` and notifications); otherwise False.
        """
        return self.stamp is not None and self.stamp.unchanged(self.facts.pane_id)


class Observer:
    """Looks at one pane (a :class:`Pane` handle) through one :class:`Profile`.

    ``agent`` names it in messages and hints. ``facts``: tmux's facts from when the pane was
    resolved, if known. ``expect``: set when the pane id came from an earlier call; the first look
    must confirm it (else :class:`StalePane`, before anything is typed) and then clears it.
    """

    def __init__(
        self,
        handle: Pane,
        profile: Profile,
        *,
        agent: str = "agent",
        facts: PaneFacts | None = None,
        expect: Callable[[PaneFacts], bool] | None = None,
    ) -> None:
        self.handle = handle
        self.profile = profile
        self.agent = agent
        self.facts = facts
        self.expect = expect
        self.last: Observation | None = None  # the latest look at the screen (no scrollback)
        # Called with "pasted" and "entered" as a prompt passes those points (tests use it to cut
        # the real SSH connection exactly there).
        self.checkpoint: Callable[[str], Awaitable[None]] | None = None

    @property
    def tmux(self) -> Tmux:
        return self.handle.tmux

    @property
    def pane(self) -> str:
        """The pane's ``%id``."""
        return self.handle.pane_id

    async def reached(self, point: str) -> None:
        if self.checkpoint is not None:
            await self.checkpoint(point)

    # -- an earlier look ------------------------------------------------------------------------

    def can_start_from(self, seen: Observation) -> bool:
        """Can this driver start from ``seen`` (an earlier call's last look) instead of looking:
        tmux's events say the pane is unchanged since, and it is the pane this driver expects?"""
        return seen.current() and (self.expect is None or self.expect(seen.facts))

    def start_from(self, seen: Observation) -> Observation:
        """Take ``seen`` as this driver's latest look (marked :attr:`~Observation.reused`): it
        confirms the pane, as a first look would."""
        self.last = dataclasses.replace(seen, reused=True)
        self.expect = None
        return self.last

    # -- looking --------------------------------------------------------------------------------

    async def observe(self, *, history: int = 0) -> Observation:
        """Facts + screen in one round trip, classified by the profile (riding through a drop)."""
        return await self.observe_through_drops(time.monotonic() + RECONNECT_S, history=history)

    async def _observe_once(self, *, history: int = 0) -> Observation:
        expect = self.expect
        try:
            facts, raw, stamp = await self.handle.observe(history=history)
        except TargetNotFoundError:
            if expect is not None:
                raise StalePane(f"{self.pane} is gone") from None
            raise
        if expect is not None:
            if not expect(facts):
                raise StalePane(f"{self.pane} is not the agent's pane any more")
            self.expect = None
        snap = parse(raw, facts.width, (facts.cursor_x, facts.cursor_y), pane_height=facts.height)
        state = classify(snap, self.profile, current_command=facts.current_command, pane_dead=facts.dead)
        obs = Observation(facts, snap, state, stamp=stamp)
        if history == 0:
            self.last = obs
        return obs

    async def observe_through_drops(self, deadline: float, *, history: int = 0) -> Observation:
        """Observe; if the link dropped, reconnect with bounded backoff until ``deadline``.

        The SSH transport opens a new connection on the next call; tmux and the agent on the host
        never noticed, so waiting simply goes on. Past the deadline the link error is raised.
        """
        delay = 0.2
        while True:
            try:
                return await self._observe_once(history=history)
            except HostUnreachableError as error:
                if time.monotonic() + delay > deadline:
                    raise
                log.info("%s: link lost (%s); reconnecting in %.1fs", self.agent, error, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)

    async def wait_for(
        self,
        done: Callable[[Observation], bool],
        timeout: float,
        *,
        what: str,
        first: Observation | None = None,
        stop: Callable[[Observation], None] | None = None,
        said: float | None = None,
    ) -> Observation:
        """Observe until ``done(obs)``; ``stop(obs)`` may raise to end early; time out with the screen.

        ``said``: the time limit as the caller gave it (for the message), when ``timeout`` is
        only what is left of it."""
        deadline = time.monotonic() + timeout
        obs = first or await self.observe()
        interval = POLL_MIN
        while True:
            if stop is not None:
                stop(obs)
            if done(obs):
                return obs
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AgentTimeoutError(
                    f"{self.agent}: timed out after {said or timeout:.3g}s waiting for {what} "
                    f"(state {obs.state.value})",
                    hint="raise --timeout, or look with: agent-bridge screen " + self.agent,
                    state=obs.state.value,
                    screen=obs.text,
                    host=self.tmux.host,
                    target=self.pane,
                )
            # With tmux's %output events this wakes as soon as the pane writes; without, it sleeps.
            evented = await self.handle.wait_change(min(interval, remaining))
            # A dropped link gets its own reconnect window: the wait's timeout is about the agent.
            new = await self.observe_through_drops(max(deadline, time.monotonic() + RECONNECT_S))
            ceiling = EVENT_MAX if evented else POLL_MAX
            interval = POLL_MIN if new.text != obs.text else min(interval * 1.6, ceiling)
            obs = new

    async def settle(self, obs: Observation, *, timeout: float = 5.0) -> Observation:
        """Wait until the screen is unchanged for the profile's stable window."""
        window = self.profile.submit.stable_ms / 1000
        if window == 0:
            return obs  # the profile's idle marker alone means done (e.g. a shell prompt is back)
        last = obs
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            await asyncio.sleep(window)
            new = await self.observe()
            if new.text == last.text and new.state == last.state:
                return new
            last = new
        return last

    def not_ready(self, obs: Observation, doing: str, *, wanted: str = "idle") -> AgentNotReadyError:
        """The error for an agent that is not ``wanted`` (idle, dead, ...) when it must be, with
        what to do about it."""
        state = obs.state.value
        hints = {
            "dead": f"agent-bridge restart {self.agent}",
            "busy": f"wait for it, or interrupt it: agent-bridge keys {self.agent} "
            + self.profile.interrupt_key,
            "permission": f"answer it: agent-bridge approve {self.agent} yes|always|no",
            "menu": f"close it: agent-bridge keys {self.agent} Escape",
            "dialog": f"look at it: agent-bridge screen {self.agent}",
            "unknown": f"look at it: agent-bridge screen {self.agent}",
        }
        return AgentNotReadyError(
            f"{self.agent} is {state}, not {wanted}: cannot {doing}",
            hint=hints.get(state),
            state=state,
            screen=obs.text,
            host=self.tmux.host,
            target=self.pane,
        )

    async def require_idle(self, doing: str, *, first: Observation | None = None) -> Observation:
        """The current observation (``first``, if just taken), if the agent is idle; else
        :class:`AgentNotReadyError`."""
        obs = first or await self.observe()
        if obs.state is not State.IDLE:
            # A screen caught mid-redraw can look unknown for a moment: look once more.
            obs = await self.settle(obs, timeout=1.0)
        if obs.state is not State.IDLE:
            raise self.not_ready(obs, doing)
        return obs
