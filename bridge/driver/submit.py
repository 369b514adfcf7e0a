"""Typing: submit a prompt exactly once (paste, see it land, Enter, see it taken), and type the
resume command into the shell of a dead agent."""

from __future__ import annotations

import asyncio
import logging
import os
import time

from bridge.driver.observe import Observation, Observer, StalePane
from bridge.errors import (
    AgentNotReadyError,
    AgentTimeoutError,
    BridgeError,
    HostUnreachableError,
    PaneChangedError,
    TargetNotFoundError,
    after_delivery,
)
from bridge.profiles import Profile
from bridge.reading import State, input_text, user_turns

__all__ = ["echoes", "restart", "submit", "taken"]

log = logging.getLogger("bridge.driver")

# A restarted agent still the shell after this long did not start. A shell that reads rc files
# (the user's own, on a busy machine) can keep a typed command waiting for seconds: 20, not 10.
START_S = 20.0


def taken(obs: Observation, profile: Profile, before: Observation) -> bool:
    """The agent has taken what was typed: it is busy or asking, or the input box emptied.

    An empty box counts when the pane moved on from ``before`` (the look that showed the text in
    the box, or, with paste and Enter in one go, the one from before the paste): its screen
    differs, or its scrollback grew or was trimmed (lines scrolled off: a shell that ran the same
    command again ends on the very same screen). A screen equal to the one before the paste with
    the same scrollback proves nothing: the text may not even have been read yet.
    """
    if obs.state in (State.BUSY, State.PERMISSION, State.DEAD):
        return True
    if obs.state is State.IDLE:
        moved = obs.text != before.text or obs.facts.history_size != before.facts.history_size
        return not input_text(obs.snapshot, profile) and moved
    return False


def echoes(obs: Observation, profile: Profile, prompt: str) -> int:
    """How many past user turns on screen start like ``prompt`` (to tell whether it was taken)."""
    head = prompt.strip().splitlines()[0][:40] if prompt.strip() else ""
    return sum(1 for turn in user_turns(obs.snapshot, profile) if head and turn.text.startswith(head))


async def submit(
    eyes: Observer, prompt: str, *, before: Observation | None = None, deadline: float | None = None
) -> Observation:
    """Type ``prompt`` (bracketed paste), see it land, wait the gap, Enter, see it taken
    (with a gap of 0: paste and Enter in one go, then see it taken).

    Exactly once: Enter is pressed again (up to the profile's ``retries``) only while the text
    still sits unsent in the input box. If the link drops while typing, the bridge reconnects
    and reads the screen before doing anything: text already in the box is not pasted again,
    a prompt already taken is not submitted again.

    A ``before`` that is a :attr:`~Observation.reused` look is checked by tmux itself when the
    paste is due (same place, cursor, size, mode, command): if the pane changed or is gone,
    nothing is typed and :class:`StalePane` sends the caller back to resolve and look again.

    ``deadline`` (``time.monotonic()``) bounds every wait once the text is typed. A failure
    after the paste was sent is :func:`~bridge.errors.after_delivery` (``delivered``; never
    exit 4, which promises that nothing was typed).
    """
    typing = [False]  # set once the paste is sent: from then on the text may be in the pane
    try:
        return await _submit(eyes, prompt, before, typing, deadline)
    except BridgeError as error:
        if not typing[0]:
            raise
        answer = after_delivery(error)
        if answer is error:
            raise
        raise answer from error


async def _submit(
    eyes: Observer, prompt: str, before: Observation | None, typing: list[bool], deadline: float | None
) -> Observation:
    profile, pane = eyes.profile, eyes.handle
    before = before or await eyes.require_idle("type a prompt")
    typed_before = input_text(before.snapshot, profile) or ""
    echoes_before = echoes(before, profile, prompt)
    drops = time.monotonic() + 30.0  # how long a dropped link may be ridden out while typing

    def within(seconds: float) -> float:
        """``seconds``, cut to what is left before the caller's deadline."""
        return seconds if deadline is None else max(min(seconds, deadline - time.monotonic()), 0.05)

    def landed(obs: Observation) -> bool:
        now = input_text(obs.snapshot, profile)
        return bool(now) and now != typed_before

    def was_taken(obs: Observation, since: Observation = before) -> bool:
        """Taken, judged against ``since``: the look before the paste, or the one showing it."""
        return taken(obs, profile, since) or echoes(obs, profile, prompt) > echoes_before

    # A program that takes Enter straight after a paste (gap_ms 0) gets both in one tmux
    # command list: Enter only if the paste worked, and no look in between.
    at_once = profile.submit.gap_ms == 0
    then = [profile.submit.enter_key] if at_once else []
    entered = at_once
    typing[0] = True
    try:
        await pane.paste(prompt, then=then, unless_changed=before.facts if before.reused else None)
    except (PaneChangedError, TargetNotFoundError) as error:
        typing[0] = False  # tmux refused the paste (or there is no pane): nothing was typed
        if not before.reused:
            raise
        raise StalePane(f"{pane.pane_id} changed since the last look ({error})") from error
    except HostUnreachableError as error:
        seen = await eyes.observe_through_drops(drops)
        if at_once and was_taken(seen):
            return seen
        if not landed(seen) and not was_taken(seen):
            if before.reused:  # nothing typed; start over from a look of its own (tmux may
                # have refused the paste because the pane had changed: the answer was lost)
                raise StalePane(f"the link dropped while typing; nothing was typed ({error})") from error
            log.info("%s: the paste was lost with the link; pasting it (once) again", eyes.agent)
            await pane.paste(prompt, then=then)
        else:
            entered = False  # the text is there: Enter (again) below if it was not taken
    await eyes.reached("pasted")

    # Before Enter nothing can have been submitted, except a prompt already taken before a drop
    # (one more echo of it): a busy-looking screen alone does not count here.
    def echoed(o: Observation) -> bool:
        return echoes(o, profile, prompt) > echoes_before

    if entered:
        landed_obs = before
    else:
        landed_obs = await eyes.wait_for(
            lambda o: landed(o) or echoed(o), within(10.0), what="the typed text to show"
        )
        if echoed(landed_obs):
            return landed_obs
        await asyncio.sleep(profile.submit.gap_ms / 1000)

    def seen_taken(o: Observation) -> bool:  # after Enter (against the landed text, if it was seen)
        return was_taken(o, landed_obs) and (landed_obs is before or o.text != landed_obs.text)

    attempts = 1 + profile.submit.retries
    for attempt in range(1, attempts + 1):
        try:
            if not (attempt == 1 and entered):
                await pane.keys([profile.submit.enter_key])
        except HostUnreachableError:
            seen = await eyes.observe_through_drops(drops)
            if was_taken(seen):
                return seen
            log.info("%s: Enter was lost with the link; the text is still unsent", eyes.agent)
            continue
        await eyes.reached("entered")
        try:
            return await eyes.wait_for(
                seen_taken,
                within(profile.submit.confirm_s),
                what="the agent to take the prompt",
            )
        except AgentTimeoutError:
            seen = await eyes.observe()
            if seen_taken(seen):
                return seen  # taken after all (e.g. the link dropped while we watched)
            if attempt == attempts or not landed(seen):
                raise
            log.info("%s: Enter not taken, pressing it once more", eyes.agent)
    raise AgentNotReadyError(
        f"{eyes.agent} did not take the prompt", state="unknown", host=pane.host, target=pane.pane_id
    )


async def restart(eyes: Observer, command: str, *, timeout: float) -> Observation:
    """Type ``command`` (the resume command) into the shell of a dead agent; wait for idle.

    The pane is cleared first (tmux resets it and drops its scrollback), so that only a screen the
    new process drew can say it is idle: the dead agent's last frame often still looks idle, and
    an ask typed before the new process set up its terminal would be lost. A process that dies at
    once (back at the shell after its own process was seen, or never seen within START_S) fails
    then, not at the timeout.
    """
    obs = await eyes.observe()
    if obs.state is not State.DEAD:
        raise eyes.not_ready(obs, "restart it", wanted="dead")
    shell = obs.facts.current_command
    await eyes.handle.clear()
    await eyes.handle.type_literal(command)
    await eyes.handle.keys(["Enter"])
    began, started = time.monotonic(), False

    def failed(o: Observation) -> None:
        nonlocal started
        # The agent's own process seen (its name, per the profile): not just "not the shell", as
        # between fork and exec tmux can name anything (the shell's parent, the shell again).
        running = os.path.basename(o.facts.current_command.strip()).lstrip("-")
        started = started or running in eyes.profile.process.names
        if o.state is State.DEAD and (started or time.monotonic() - began > START_S):
            raise AgentNotReadyError(
                f"{eyes.agent} did not come back: {'it exited at once' if started else 'it never started'}"
                f" (the command: {command})",
                hint=f"look at its pane: agent-bridge screen {eyes.agent}",
                state="dead", screen=o.text, host=eyes.tmux.host, target=eyes.pane,
            )  # fmt: skip

    back = await eyes.wait_for(
        lambda o: o.state is State.IDLE and o.facts.current_command != shell,
        timeout, what="the agent to come back", stop=failed,
    )  # fmt: skip
    # Some agents draw an idle prompt and only then load the session and draw it again (Gemini
    # CLI clears the screen ~0.2 s later): keys typed in between are lost. Idle AND settled.
    return await eyes.settle(back)
