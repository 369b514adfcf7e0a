"""The driver for one agent pane: observe, classify, type, wait, read, menus, permissions.

Every step is a plain async method you can call alone. The driver never presses a key into a
screen it did not recognise: an unknown screen stops with :class:`UnrecognisedScreenError` and the
screen text. Timeouts carry the last screen.

:class:`Driver` is a thin front over the phases, one module each:

* :mod:`.pane`: the :class:`Pane` handle (keys, paste, capture bound to one ``%id``);
* :mod:`.observe`: looking (:class:`Observation`), waiting, settling, requiring idle;
* :mod:`.submit`: typing a prompt exactly once, restarting a dead agent;
* :mod:`.reply`: waiting for and reading the answer (:class:`Reply`);
* :mod:`.menus`: menus, permission questions, switching the model.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from bridge.driver import menus, reply, submit
from bridge.driver.observe import Observation, Observer, StalePane
from bridge.driver.pane import Pane
from bridge.driver.reply import Reply
from bridge.errors import AgentNotReadyError, AgentTimeoutError, BridgeError, ConfigError, after_delivery
from bridge.profiles import Profile
from bridge.reading import last_prompt
from bridge.text import check
from bridge.tmux import PaneFacts, Tmux

__all__ = ["TYPE_MIN_S", "Driver", "Observation", "Pane", "Reply", "StalePane"]

TYPE_MIN_S = 1.0  # a prompt is typed only with at least this much of the timeout left


class Driver(Observer):
    """Drive the agent in one pane (``pane_id`` in ``tmux``), read through one :class:`Profile`.

    ``agent`` names it in messages and hints; ``permissions`` is its registry policy (``ask``:
    a permission question goes back to the caller; ``deny``: it is answered No). ``facts`` and
    ``expect``: see :class:`~bridge.driver.observe.Observer`.
    """

    def __init__(
        self,
        tmux: Tmux,
        pane_id: str,
        profile: Profile,
        *,
        agent: str = "agent",
        permissions: str = "ask",
        facts: PaneFacts | None = None,
        expect: Callable[[PaneFacts], bool] | None = None,
    ) -> None:
        super().__init__(Pane(tmux, pane_id), profile, agent=agent, facts=facts, expect=expect)
        self.permissions = permissions

    # -- typing ---------------------------------------------------------------------------------

    async def submit(
        self, prompt: str, *, before: Observation | None = None, deadline: float | None = None
    ) -> Observation:
        """Type ``prompt`` and see it taken, exactly once (see :func:`.submit.submit`)."""
        return await submit.submit(self, prompt, before=before, deadline=deadline)

    async def restart(
        self, command: str, *, session_id: str | None = None, timeout: float = 60.0
    ) -> Observation:
        """Type ``command`` (a start or resume command) into the shell of a dead agent and see it
        come up idle; ``session_id`` (the session it runs) is written on the pane first."""
        if session_id:
            await self.handle.set_session(session_id)
        return await submit.restart(self, command, timeout=timeout)

    # -- asking ---------------------------------------------------------------------------------

    async def ask(
        self, prompt: str, *, timeout: float, first: Observation | None = None, began: float | None = None
    ) -> Reply:
        """Submit ``prompt`` to an idle agent and return its reply when it is done.

        ``first``: an observation just taken (while holding the pane), used instead of a new one.
        ``timeout`` counts from ``began`` (the caller's start; default: now) and bounds the whole
        call: with less than :data:`TYPE_MIN_S` left, nothing is typed (exit 4, safe to retry); a
        failure once it is typed is ``delivered`` (exit 6 for a timeout:
        :func:`~bridge.errors.after_delivery`).
        """
        began = time.monotonic() if began is None else began
        safe = check(prompt)
        if not safe.strip():
            raise ConfigError("the prompt is empty", hint="pass some text, or - to read stdin")
        before = await self.require_idle("ask", first=first)
        left = timeout - (time.monotonic() - began)
        if left < TYPE_MIN_S:
            raise AgentTimeoutError(
                f"{self.agent}: nothing was typed: only {max(left, 0):.1f}s of the timeout were left, "
                f"too little to see the prompt taken",
                hint="raise --timeout", state=before.state.value, host=self.tmux.host, target=self.pane,
            )  # fmt: skip
        taken = await self.submit(safe, before=before, deadline=began + timeout)
        try:
            # wait_reply counts its timeout from `began`: the typing is already part of it
            return await self.wait_reply(safe, timeout=timeout, began=began, first=taken)
        except BridgeError as error:
            answer = after_delivery(error)
            if answer is error:
                raise
            raise answer from error

    async def wait_reply(
        self, prompt: str, *, timeout: float, began: float, first: Observation | None = None
    ) -> Reply:
        """Wait until the agent is done with ``prompt``; return its reply (transcript first)."""
        return await reply.wait_reply(
            self, prompt, timeout=timeout, began=began, first=first, permissions=self.permissions
        )

    async def read_reply(self, prompt: str, obs: Observation, *, began: float) -> Reply:
        """The reply to ``prompt`` on ``obs``'s pane: transcript first, else the screen."""
        return await reply.read_reply(self, prompt, obs, began=began)

    async def last_reply(self) -> Reply:
        """The reply to the last prompt on screen (e.g. after an ``ask`` timed out and the agent
        finished later): transcript first, else the screen. The agent must be idle: a reply it
        is still writing is not a reply yet."""
        began = time.monotonic()
        obs = await self.require_idle("read its last reply")
        prompt = last_prompt(obs.snapshot, self.profile)
        if prompt is None:
            raise AgentNotReadyError(
                f"{self.agent} shows no prompt on screen: no reply to read", state=obs.state.value,
                hint=f"look at it: agent-bridge screen {self.agent}", screen=obs.text,
            )  # fmt: skip
        return await self.read_reply(prompt.strip(), obs, began=began)

    # -- permission questions and menus -----------------------------------------------------------

    async def answer_permission(self, answer: str) -> Observation:
        """Choose an option of the pending permission question: ``yes``, ``no`` or its number."""
        return await menus.answer_permission(self, answer)

    async def approve(self, answer: str, *, wait: bool, timeout: float) -> Reply | Observation:
        """Answer the permission question; with ``wait``, return the reply like :meth:`ask`."""
        began = time.monotonic()
        after = await self.answer_permission(answer)
        if not wait:
            return after
        prompt = (last_prompt(after.snapshot, self.profile) or "").strip()  # the prompt answered
        return await self.wait_reply(prompt, timeout=timeout, began=began, first=after)

    async def open_menu(self, command: str, title: re.Pattern[str], timeout: float) -> Observation:
        """Type a slash command (e.g. ``/model``) at an idle prompt and wait for its menu."""
        return await menus.open_menu(self, command, title, timeout)

    async def switch_model(self, name: str, *, timeout: float = 30.0, save: bool = False) -> str:
        """Switch the agent's model through its own ``/model`` menu; return the confirmed name."""
        return await menus.switch_model(self, name, timeout=timeout, save=save)
