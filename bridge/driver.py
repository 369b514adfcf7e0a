"""The state machine for one agent pane: observe, classify, type, wait, read, menus, permissions.

Every step is a plain async method you can call alone. The driver never presses a key into a
screen it did not recognise: an unknown screen stops with :class:`UnrecognisedScreenError` and the
screen text. Timeouts carry the last screen.

Waiting is by observation: each observation is one tmux round trip (pane facts + capture), the
screen is classified by the agent's profile. With a tmux control channel the next look comes when
the pane writes something (``%output``); without, polling adapts (fast right after a change,
slower while nothing moves). "Done" is the profile's idle state plus a short stable window, never silence
alone.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bridge import transcript
from bridge.errors import (
    AgentNotReadyError,
    AgentTimeoutError,
    HostUnreachableError,
    PaneChangedError,
    PermissionPendingError,
    TargetNotFoundError,
    UnrecognisedScreenError,
)
from bridge.profiles import Profile
from bridge.reader import (
    Menu,
    PermissionQuestion,
    State,
    classify,
    find_reply,
    input_text,
    last_prompt,
    read_menu,
    read_permission,
    user_turns,
)
from bridge.screen import Snapshot, parse
from bridge.text import check
from bridge.tmux import PaneFacts, Tmux

if TYPE_CHECKING:
    from bridge.control import Stamp

log = logging.getLogger("bridge.driver")

POLL_MIN, POLL_MAX = 0.02, 0.25
EVENT_MAX = 1.0  # with %output events, a quiet pane is still looked at this often (a safety net)
RECONNECT_S = 20.0  # how long one observation may spend reconnecting after a dropped link
HISTORY_LINES = 3000


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


@dataclass(frozen=True)
class Reply:
    """An agent's answer to one prompt."""

    agent: str
    reply: str
    state: str
    source: str  # "transcript" (exact text from the agent's session file) or "screen"
    model: str | None
    elapsed_s: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "agent": self.agent,
            "reply": self.reply,
            "state": self.state,
            "source": self.source,
            "model": self.model,
            "elapsed_s": round(self.elapsed_s, 3),
        }


class Driver:
    """Drive the agent in one pane, read through one :class:`Profile`."""

    def __init__(
        self,
        tmux: Tmux,
        pane_id: str,
        profile: Profile,
        *,
        agent: str = "agent",
        permissions: str = "ask",
    ) -> None:
        self.tmux = tmux
        self.pane = pane_id
        self.profile = profile
        self.agent = agent
        self.permissions = permissions
        # Called with "pasted", "entered" and "waiting" as an ask passes those points (tests use it
        # to cut the real SSH connection exactly there).
        self.checkpoint: Callable[[str], Awaitable[None]] | None = None
        self.facts: PaneFacts | None = None  # tmux's facts from when the pane was resolved, if known
        # Set when the pane id came from an earlier call: the first look must confirm it (else
        # StalePane, before anything is typed) and then clears it.
        self.expect: Callable[[PaneFacts], bool] | None = None
        self.last: Observation | None = None  # the latest look at the screen (no scrollback)

    async def _reached(self, point: str) -> None:
        if self.checkpoint is not None:
            await self.checkpoint(point)

    # -- looking ----------------------------------------------------------------------------

    async def observe(self, *, history: int = 0) -> Observation:
        """Facts + screen in one round trip, classified by the profile (riding through a drop)."""
        return await self.observe_through_drops(time.monotonic() + RECONNECT_S, history=history)

    async def _observe_once(self, *, history: int = 0) -> Observation:
        expect = self.expect
        try:
            facts, raw, stamp = await self.tmux.observe(self.pane, history=history)
        except TargetNotFoundError:
            if expect is not None:
                raise StalePane(f"{self.pane} is gone") from None
            raise
        if expect is not None:
            if not expect(facts):
                raise StalePane(f"{self.pane} is not the agent's pane any more")
            self.expect = None
        snap = parse(
            raw, facts.width, (facts.cursor_x, facts.cursor_y), pane_height=facts.height
        )
        state = classify(snap, self.profile, current_command=facts.current_command, pane_dead=facts.dead)
        obs = Observation(facts, snap, state, stamp=stamp)
        if history == 0:
            self.last = obs
        return obs

    async def wait_for(
        self,
        done: Callable[[Observation], bool],
        timeout: float,
        *,
        what: str,
        first: Observation | None = None,
        stop: Callable[[Observation], None] | None = None,
    ) -> Observation:
        """Observe until ``done(obs)``; ``stop(obs)`` may raise to end early; time out with the screen."""
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
                    f"{self.agent}: timed out after {timeout:g}s waiting for {what} "
                    f"(state {obs.state.value})",
                    hint="raise --timeout, or look with: agent-bridge screen " + self.agent,
                    state=obs.state.value,
                    screen=obs.text,
                    host=self.tmux.host,
                    target=self.pane,
                )
            # With tmux's %output events this wakes as soon as the pane writes; without, it sleeps.
            evented = await self.tmux.wait_change(self.pane, min(interval, remaining))
            # A dropped link gets its own reconnect window: the wait's timeout is about the agent.
            new = await self.observe_through_drops(max(deadline, time.monotonic() + RECONNECT_S))
            ceiling = EVENT_MAX if evented else POLL_MAX
            interval = POLL_MIN if new.text != obs.text else min(interval * 1.6, ceiling)
            obs = new

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

    def _not_ready(self, obs: Observation, doing: str) -> AgentNotReadyError:
        state = obs.state.value
        hints = {
            "dead": f"agent-bridge restart {self.agent}",
            "busy": "wait for it, or press Escape: agent-bridge keys " + self.agent + " Escape",
            "permission": f"answer it: agent-bridge approve {self.agent} yes|no",
            "menu": f"close it: agent-bridge keys {self.agent} Escape",
            "dialog": f"look at it: agent-bridge screen {self.agent}",
            "unknown": f"look at it: agent-bridge screen {self.agent}",
        }
        return AgentNotReadyError(
            f"{self.agent} is {state}, not idle: cannot {doing}",
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
            raise self._not_ready(obs, doing)
        return obs

    # -- typing -----------------------------------------------------------------------------

    async def submit(self, prompt: str, *, before: Observation | None = None) -> Observation:
        """Type ``prompt`` (bracketed paste), see it land, wait the gap, Enter, see it taken
        (with a gap of 0: paste and Enter in one go, then see it taken).

        Exactly once: Enter is pressed again (up to the profile's ``retries``) only while the text
        still sits unsent in the input box. If the link drops while typing, the bridge reconnects
        and reads the screen before doing anything: text already in the box is not pasted again,
        a prompt already taken is not submitted again.

        A ``before`` that is a :attr:`~Observation.reused` look is checked by tmux itself when the
        paste is due (same place, cursor, size, mode, command): if the pane changed or is gone,
        nothing is typed and :class:`StalePane` sends the caller back to resolve and look again.
        """
        before = before or await self.require_idle("type a prompt")
        typed_before = input_text(before.snapshot, self.profile) or ""
        echoes_before = _echoes(before, self.profile, prompt)
        deadline = time.monotonic() + 30.0

        def landed(obs: Observation) -> bool:
            now = input_text(obs.snapshot, self.profile)
            return bool(now) and now != typed_before

        def taken(obs: Observation) -> bool:
            return _taken(obs, self.profile, before) or _echoes(obs, self.profile, prompt) > echoes_before

        # A program that takes Enter straight after a paste (gap_ms 0) gets both in one tmux
        # command list: Enter only if the paste worked, and no look in between.
        at_once = self.profile.submit.gap_ms == 0
        then = [self.profile.submit.enter_key] if at_once else []
        entered = at_once
        try:
            await self.tmux.paste(self.pane, prompt, then=then,
                                  unless_changed=before.facts if before.reused else None)  # fmt: skip
        except (PaneChangedError, TargetNotFoundError) as error:
            if not before.reused:
                raise
            raise StalePane(f"{self.pane} changed since the last look ({error})") from error
        except HostUnreachableError as error:
            seen = await self.observe_through_drops(deadline)
            if at_once and taken(seen):
                return seen
            if not landed(seen) and not taken(seen):
                if before.reused:  # nothing typed; start over from a look of its own (tmux may
                    # have refused the paste because the pane had changed: the answer was lost)
                    raise StalePane(f"the link dropped while typing; nothing was typed ({error})") from error
                log.info("%s: the paste was lost with the link; pasting it (once) again", self.agent)
                await self.tmux.paste(self.pane, prompt, then=then)
            else:
                entered = False  # the text is there: Enter (again) below if it was not taken
        await self._reached("pasted")
        # Before Enter nothing can have been submitted, except a prompt already taken before a drop
        # (one more echo of it): a busy-looking screen alone does not count here.
        def echoed(o: Observation) -> bool:
            return _echoes(o, self.profile, prompt) > echoes_before

        if entered:
            landed_obs = before
        else:
            landed_obs = await self.wait_for(
                lambda o: landed(o) or echoed(o), 10.0, what="the typed text to show"
            )
            if echoed(landed_obs):
                return landed_obs
            await asyncio.sleep(self.profile.submit.gap_ms / 1000)
        attempts = 1 + self.profile.submit.retries
        for attempt in range(1, attempts + 1):
            try:
                if not (attempt == 1 and entered):
                    await self.tmux.keys(self.pane, [self.profile.submit.enter_key])
            except HostUnreachableError:
                seen = await self.observe_through_drops(deadline)
                if taken(seen):
                    return seen
                log.info("%s: Enter was lost with the link; the text is still unsent", self.agent)
                continue
            await self._reached("entered")
            try:
                return await self.wait_for(
                    lambda o: taken(o) and o.text != landed_obs.text,
                    self.profile.submit.confirm_s,
                    what="the agent to take the prompt",
                )
            except AgentTimeoutError:
                seen = await self.observe()
                if taken(seen) and seen.text != landed_obs.text:
                    return seen  # taken after all (e.g. the link dropped while we watched)
                if attempt == attempts or not landed(seen):
                    raise
                log.info("%s: Enter not taken, pressing it once more", self.agent)
        raise AgentNotReadyError(
            f"{self.agent} did not take the prompt", state="unknown", host=self.tmux.host, target=self.pane
        )

    # -- asking -----------------------------------------------------------------------------

    async def ask(self, prompt: str, *, timeout: float, first: Observation | None = None) -> Reply:
        """Submit ``prompt`` to an idle agent and return its reply when it is done.

        ``first``: an observation just taken (while holding the pane), used instead of a new one.
        """
        began = time.monotonic()
        safe = check(prompt)
        if not safe.strip():
            from bridge.errors import ConfigError

            raise ConfigError("the prompt is empty", hint="pass some text, or - to read stdin")
        before = await self.require_idle("ask", first=first)
        taken = await self.submit(safe, before=before)
        return await self.wait_reply(safe, timeout=timeout - (time.monotonic() - began),
                                     began=began, first=taken)

    async def wait_reply(
        self, prompt: str, *, timeout: float, began: float, first: Observation | None = None
    ) -> Reply:
        """Wait until the agent is done with ``prompt``; return its reply (transcript first)."""

        def stop(obs: Observation) -> None:
            if obs.state is State.DEAD:
                raise AgentNotReadyError(
                    f"{self.agent} died while answering",
                    hint=f"agent-bridge restart {self.agent}",
                    state="dead",
                    screen=obs.text,
                    host=self.tmux.host,
                    target=self.pane,
                )
            if obs.state is State.PERMISSION:
                raise self._permission(obs)

        while True:
            try:
                obs = await self.wait_for(
                    lambda o: o.state is State.IDLE, max(timeout - (time.monotonic() - began), 0.1),
                    what="the reply", first=first, stop=self._deny_or(stop),
                )
            except _DenyNow:
                log.info("%s: permission question answered No (permissions = \"deny\")", self.agent)
                first = await self.answer_permission("no")
                continue
            settled = await self.settle(obs)
            if settled.state is State.IDLE:
                break
            first = settled
        return await self.read_reply(prompt, settled, began=began)

    def _deny_or(self, stop: Callable[[Observation], None]) -> Callable[[Observation], None]:
        if self.permissions != "deny":
            return stop

        def deny_first(obs: Observation) -> None:
            if obs.state is State.PERMISSION:
                raise _DenyNow(obs)
            stop(obs)

        return deny_first

    async def read_reply(self, prompt: str, obs: Observation, *, began: float) -> Reply:
        """The reply to ``prompt``: from the transcript when the profile has one, else the screen.

        The screen is read with only as much scrollback as the reply needs: the visible screen
        first (already in hand), then more history only while the reply's start is not in view.
        """
        if self.profile.transcript.kind == "claude-jsonl":
            found = await self._transcript_reply(prompt, obs.facts)
            if found is not None:
                return Reply(self.agent, found.text, "idle", "transcript", found.model,
                             time.monotonic() - began)
        text, view, covered = "", obs, 0
        for history in (0, 200, 1000, HISTORY_LINES):
            if history:
                if covered >= obs.facts.history_size:
                    break  # the previous capture already held all the scrollback there is
                view = await self.observe(history=min(history, obs.facts.history_size))
                covered = history
            reply = find_reply(view.snapshot, self.profile, prompt)
            if reply is not None:
                text = reply.text
                if reply.complete:
                    break
        return Reply(self.agent, text, "idle", "screen", None, time.monotonic() - began)

    async def _transcript_reply(self, prompt: str, facts: PaneFacts) -> transcript.TranscriptReply | None:
        deadline = time.monotonic() + self.profile.transcript.wait_s
        while True:
            jsonl = await transcript.fetch(
                self.tmux.transport,
                pane_pid=facts.pid,
                cwd=facts.current_path,
                sub=self.profile.transcript.config_dir or ".claude",
                override=self.profile.transcript.config_env or "CLAUDE_CONFIG_DIR",
            )
            found = transcript.reply_after(jsonl, prompt) if jsonl else None
            if found is not None and found.complete:
                return found
            if time.monotonic() > deadline:
                return found
            await asyncio.sleep(0.1)

    # -- permission questions -----------------------------------------------------------------

    def _permission(self, obs: Observation) -> PermissionPendingError:
        question = read_permission(obs.snapshot, self.profile)
        text = question.question if question else "(question not readable)"
        options = [o.label for o in question.options] if question else []
        listed = " / ".join(f"{i}. {o}" for i, o in enumerate(options, 1))
        return PermissionPendingError(
            f"{self.agent} asks: {text} [{listed}]",
            hint=f"answer with: agent-bridge approve {self.agent} yes|no|N --wait",
            question=text,
            options=options,
            screen=obs.text,
            host=self.tmux.host,
            target=self.pane,
        )

    async def answer_permission(self, answer: str) -> Observation:
        """Choose an option of the pending permission question: ``yes``, ``no`` or its number."""
        obs = await self.observe()
        question = read_permission(obs.snapshot, self.profile) if obs.state is State.PERMISSION else None
        if question is None:
            raise self._not_ready(obs, "answer a permission question (none is pending)")
        index = _option_index([o.label for o in question.options], answer)
        await self._move_to(index, lambda o: _highlight_of_permission(o, self.profile))
        await self.tmux.keys(self.pane, ["Enter"])
        return await self.wait_for(
            lambda o: o.state is not State.PERMISSION, 10.0, what="the answer to be taken"
        )

    async def approve(self, answer: str, *, wait: bool, timeout: float) -> Reply | Observation:
        """Answer the permission question; with ``wait``, return the reply like :meth:`ask`."""
        began = time.monotonic()
        after = await self.answer_permission(answer)
        if not wait:
            return after
        prompt = self._last_prompt(after)
        return await self.wait_reply(prompt, timeout=timeout, began=began, first=after)

    def _last_prompt(self, obs: Observation) -> str:
        """The text of the last submitted prompt on screen (for reading the reply after approve)."""
        return (last_prompt(obs.snapshot, self.profile) or "").strip()

    # -- menus --------------------------------------------------------------------------------

    async def _move_to(
        self, index: int, highlighted: Callable[[Observation], int | None]
    ) -> Observation:
        """Press Up/Down one key at a time until row ``index`` is highlighted, checking each move."""
        obs = await self.observe()
        current = highlighted(obs)
        if current is None:
            raise UnrecognisedScreenError(
                f"{self.agent}: no highlighted row on this screen; not pressing anything",
                screen=obs.text, state=obs.state.value, host=self.tmux.host, target=self.pane,
            )
        while current != index:
            key = "Down" if index > current else "Up"
            expected = current + (1 if key == "Down" else -1)
            await self.tmux.keys(self.pane, [key])
            obs = await self.wait_for(
                lambda o, e=expected: highlighted(o) == e,  # type: ignore[misc]
                2.0, what=f"the highlight to move to row {expected + 1}",
            )
            current = expected
        return obs

    async def open_menu(self, command: str, title: re.Pattern[str], timeout: float) -> Observation:
        """Type a slash command (e.g. ``/model``) at an idle prompt and wait for its menu."""
        await self.require_idle(f"open {command}")
        await self.tmux.type_literal(self.pane, command)
        await asyncio.sleep(self.profile.submit.gap_ms / 1000)
        await self.tmux.keys(self.pane, ["Enter"])

        def is_menu(o: Observation) -> bool:
            menu = read_menu(o.snapshot, self.profile)
            return menu is not None and bool(title.search(menu.title))

        return await self.wait_for(is_menu, timeout, what=f"the {command} menu")

    async def switch_model(self, name: str, *, timeout: float = 30.0) -> str:
        """Switch the agent's model through its own ``/model`` menu; return the confirmed name.

        ``name`` is a row number, a label, or a case-insensitive prefix of one. Each key press is
        checked (the highlight moved) before the next; a confirmation question is answered; the
        profile's confirmation line must appear.
        """
        spec = self.profile.model
        if spec is None:
            raise UnrecognisedScreenError(f"{self.agent}: profile {self.profile.name} has no /model menu")
        obs = await self.open_menu(spec.command, spec.title, timeout)
        menu = read_menu(obs.snapshot, self.profile)
        assert menu is not None
        index = _menu_index(menu, name)
        label = menu.items[index].label
        await self._move_to(index, lambda o: _highlight_of_menu(o, self.profile))
        await self.tmux.keys(self.pane, ["Enter"])
        done_re = spec.confirmed
        confirm_re = spec.confirm_title

        def since_command(o: Observation) -> list[str]:
            # Old confirmation lines stay on screen: only look below the newest echo of the command.
            rows = [i for i, line in enumerate(o.snapshot.lines) if spec.command in line]
            return list(o.snapshot.lines[rows[-1] if rows else 0 :])

        def finished(o: Observation) -> bool:
            return o.state is State.IDLE and any(done_re.search(line) for line in since_command(o))

        def pending_menu(o: Observation) -> re.Pattern[str] | None:
            m = read_menu(o.snapshot, self.profile)
            if m is None:
                return None
            for pattern in ([confirm_re] if confirm_re else []) + list(spec.next_titles):
                if pattern.search(m.title):
                    return pattern
            return None

        after = await self.wait_for(
            lambda o: finished(o) or pending_menu(o) is not None, timeout, what="the model to be set"
        )
        answered: set[str] = set()
        while not finished(after):
            pattern = pending_menu(after)
            if pattern is None or pattern.pattern in answered:
                raise UnrecognisedScreenError(
                    f"{self.agent}: unexpected screen after choosing {label!r}; not pressing anything",
                    screen=after.text, state=after.state.value, host=self.tmux.host, target=self.pane,
                )
            answered.add(pattern.pattern)
            if pattern is confirm_re:
                follow_up = read_menu(after.snapshot, self.profile)
                assert follow_up is not None
                yes = _option_index([i.label for i in follow_up.items], "yes")
                await self._move_to(yes, lambda o: _highlight_of_menu(o, self.profile))
            # A next menu (e.g. Codex's reasoning level): keep its highlighted default.
            await self.tmux.keys(self.pane, [self.profile.menu.select if self.profile.menu else "Enter"])
            after = await self.wait_for(
                lambda o, seen=pattern: finished(o) or pending_menu(o) not in (None, seen),  # type: ignore[misc]
                timeout, what="the model switch to be confirmed",
            )
        for line in reversed(since_command(after)):
            m = done_re.search(line)
            if m:
                return m.group("model").strip()
        return label

    # -- restarting -----------------------------------------------------------------------------

    async def restart(self, command: str, *, timeout: float = 60.0) -> Observation:
        """Type ``command`` (the resume command) into the shell of a dead agent; wait for idle."""
        obs = await self.observe()
        if obs.state is not State.DEAD:
            raise self._not_ready(obs, "restart (it is not dead)")
        await self.tmux.type_literal(self.pane, command)
        await self.tmux.keys(self.pane, ["Enter"])
        return await self.wait_for(
            lambda o: o.state is State.IDLE and o.facts.current_command != obs.facts.current_command,
            timeout, what="the agent to come back",
        )


class _DenyNow(Exception):
    def __init__(self, obs: Observation) -> None:
        self.obs = obs


def _taken(obs: Observation, profile: Profile, before: Observation) -> bool:
    """The agent has taken what was typed: it is busy or asking, or the input box emptied."""
    if obs.state in (State.BUSY, State.PERMISSION, State.DEAD):
        return True
    if obs.state is State.IDLE:
        return not input_text(obs.snapshot, profile) and obs.text != before.text
    return False


def _echoes(obs: Observation, profile: Profile, prompt: str) -> int:
    """How many past user turns on screen start like ``prompt`` (to tell whether it was taken)."""
    head = prompt.strip().splitlines()[0][:40] if prompt.strip() else ""
    return sum(1 for turn in user_turns(obs.snapshot, profile) if head and turn.text.startswith(head))


def _highlight_of_menu(obs: Observation, profile: Profile) -> int | None:
    menu = read_menu(obs.snapshot, profile)
    return None if menu is None else menu.highlighted


def _highlight_of_permission(obs: Observation, profile: Profile) -> int | None:
    question = read_permission(obs.snapshot, profile)
    return None if question is None else question.highlighted


def _option_index(labels: list[str], answer: str) -> int:
    """Index of the option ``answer`` names: a number, ``yes`` (first Yes), ``no`` (the No)."""
    wanted = answer.strip().lower()
    if wanted.isdigit() and 1 <= int(wanted) <= len(labels):
        return int(wanted) - 1
    for i, label in enumerate(labels):
        if label.strip().lower().startswith(wanted):
            return i
    from bridge.errors import ConfigError

    listed = ", ".join(f"{i}. {label}" for i, label in enumerate(labels, 1))
    raise ConfigError(f"no option {answer!r} (options: {listed})", hint="answer yes, no, or a number")


def _menu_index(menu: Menu, name: str) -> int:
    """Row of ``menu`` that ``name`` names: number, exact label, then a unique prefix/substring."""
    wanted = name.strip().lower()
    labels = [item.label.strip().lower() for item in menu.items]
    if wanted.isdigit():
        for i, item in enumerate(menu.items):
            if item.number == int(wanted):
                return i
    for test in (
        lambda label: label == wanted,
        lambda label: label.startswith(wanted),
        lambda label: wanted in label,
    ):
        hits = [i for i, label in enumerate(labels) if test(label)]
        if len(hits) == 1:
            return hits[0]
        if len(hits) > 1:
            break
    from bridge.errors import ConfigError

    listed = ", ".join(f"{item.number}. {item.label}" for item in menu.items)
    raise ConfigError(f"no single menu row matches {name!r} (rows: {listed})",
                      hint="give the row number or more of its label")


__all__ = ["Driver", "Observation", "PermissionQuestion", "Reply"]
