"""Waiting for the answer and reading it: from the agent's transcript when its profile names a
reader (exact text), else from the screen with as much scrollback as the reply needs.

A permission question while waiting goes back to the caller (:class:`PermissionPendingError`),
or, with ``permissions = "deny"``, is answered No.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bridge.driver.menus import answer_permission
from bridge.driver.observe import Observation, Observer
from bridge.errors import AgentNotReadyError, PermissionPendingError, ReplyLostError
from bridge.reading import State, find_reply, read_menu, read_permission
from bridge.sessions import valid_session_id
from bridge.tmux import PaneFacts
from bridge.transcripts import TranscriptReader, TranscriptReply, reader_for

__all__ = ["Reply", "read_reply", "wait_reply"]

log = logging.getLogger("bridge.driver")

HISTORY_LINES = 3000


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


class _DenyNow(Exception):
    def __init__(self, obs: Observation) -> None:
        self.obs = obs


class _Dialog(Exception):
    def __init__(self, obs: Observation) -> None:
        self.obs = obs


def dialog_error(eyes: Observer, obs: Observation) -> AgentNotReadyError:
    """An unexpected dialog stops the wait at once (it would never end by itself), with what it
    says in the error; nothing is pressed."""
    menu = read_menu(obs.snapshot, eyes.profile)
    if menu is not None:
        shown = f"{menu.title} [" + " / ".join(f"{i.number}. {i.label}" for i in menu.items) + "]"
    else:
        shown = " / ".join(line.strip() for line in obs.snapshot.lines if line.strip())[-300:]
    return AgentNotReadyError(
        f"{eyes.agent} shows a dialog instead of answering: {shown}",
        hint=f"look at it (agent-bridge screen {eyes.agent}) and answer it with agent-bridge keys "
        f"{eyes.agent} …; the prompt was typed before it appeared",
        state="dialog", screen=obs.text, host=eyes.tmux.host, target=eyes.pane,
    )  # fmt: skip


def permission_pending(eyes: Observer, obs: Observation) -> PermissionPendingError:
    """The error that hands a pending permission question (and its options) to the caller."""
    question = read_permission(obs.snapshot, eyes.profile)
    text = question.question if question else "(question not readable)"
    options = question.labels if question else []
    listed = " / ".join(f"{i}. {o}" for i, o in enumerate(options, 1))
    return PermissionPendingError(
        f"{eyes.agent} asks: {text} [{listed}]",
        hint=f"answer with: agent-bridge approve {eyes.agent} yes|always|no|N --wait",
        question=text,
        options=options,
        screen=obs.text,
        host=eyes.tmux.host,
        target=eyes.pane,
    )


async def wait_reply(
    eyes: Observer,
    prompt: str,
    *,
    timeout: float,
    began: float,
    first: Observation | None = None,
    permissions: str = "ask",
) -> Reply:
    """Wait until the agent is done with ``prompt``; return its reply (transcript first).

    ``timeout`` counts from ``began`` (the time already spent, e.g. typing, is part of it)."""

    def stop(obs: Observation) -> None:
        if obs.state is State.DEAD:
            raise AgentNotReadyError(
                f"{eyes.agent} died while answering",
                hint=f"agent-bridge restart {eyes.agent}",
                state="dead",
                screen=obs.text,
                host=eyes.tmux.host,
                target=eyes.pane,
            )
        if obs.state is State.PERMISSION:
            raise permission_pending(eyes, obs)
        if obs.state is State.DIALOG:
            raise _Dialog(obs)

    def left() -> float:  # the settles below end with the call's time too (``--timeout N``)
        return min(5.0, max(timeout - (time.monotonic() - began), 0.3))

    while True:
        try:
            obs = await eyes.wait_for(
                lambda o: o.state is State.IDLE, max(timeout - (time.monotonic() - began), 0.1),
                what="the reply", first=first, stop=_deny_or(stop) if permissions == "deny" else stop,
                said=timeout,
            )  # fmt: skip
        except _DenyNow:
            log.info("%s: permission question answered No (permissions = \"deny\")", eyes.agent)
            first = await answer_permission(eyes, "no")
            continue
        except _Dialog as seen:
            first = await eyes.settle(seen.obs, timeout=left())  # not a frame caught mid-redraw
            if first.state is State.DIALOG:
                raise dialog_error(eyes, first) from None
            continue
        settled = await eyes.settle(obs, timeout=left())
        if settled.state is State.IDLE:
            break
        first = settled
    return await read_reply(eyes, prompt, settled, began=began)


def _deny_or(stop: Callable[[Observation], None]) -> Callable[[Observation], None]:
    def deny_first(obs: Observation) -> None:
        if obs.state is State.PERMISSION:
            raise _DenyNow(obs)
        stop(obs)

    return deny_first


async def read_reply(eyes: Observer, prompt: str, obs: Observation, *, began: float) -> Reply:
    """The reply to ``prompt``: from the transcript when the profile has one, else the screen.

    The screen is read with only as much scrollback as the reply needs: the visible screen
    first (already in hand), then more history only while the reply's start is not in view.
    """
    reader = reader_for(eyes.profile.transcript.kind)
    if reader is not None:
        found = await _transcript_reply(eyes, reader, prompt, obs.facts)
        if found is not None and found.complete and not obs.facts.session_id:
            await _learn_session(eyes, reader, found)
        if found is not None:
            return Reply(eyes.agent, found.text, "idle", "transcript", found.model, time.monotonic() - began)
    text, view, covered, reply = "", obs, 0, None
    for history in (0, 200, 1000, HISTORY_LINES, obs.facts.history_size):
        if history:
            if covered >= obs.facts.history_size:
                break  # the previous capture already held all the scrollback there is
            view = await eyes.observe(history=min(history, obs.facts.history_size))
            covered = history
        reply = find_reply(view.snapshot, eyes.profile, prompt)
        if reply is not None:
            text = reply.text
            if reply.complete:
                break
    if reply is None and prompt.strip():
        raise lost_reply(eyes, obs)
    if reply is not None and reply.cut:
        raise ReplyLostError(
            f"{eyes.agent} shows only part of its reply on screen ({len(text)} characters of it, then "
            "a mark that the rest is not shown) and keeps no transcript the bridge can read; nothing "
            "of it is returned rather than a part (the prompt was delivered)",
            hint=f"ask for a shorter answer, or for it in a file; see it: agent-bridge screen {eyes.agent}",
            state="idle", screen=view.text, host=eyes.tmux.host, target=eyes.pane,
        )  # fmt: skip
    return Reply(eyes.agent, text, "idle", "screen", None, time.monotonic() - began)


async def _learn_session(eyes: Observer, reader: TranscriptReader, found: TranscriptReply) -> None:
    """The transcript that holds the reply to the prompt just typed is this agent's own: write
    its session id on the pane, so a restart resumes exactly this session."""
    session_id = reader.session_of(found.transcript)
    if session_id and valid_session_id(session_id):
        log.info("%s: session %s (learnt from its transcript)", eyes.agent, session_id)
        await eyes.handle.set_session(session_id)


def lost_reply(eyes: Observer, view: Observation) -> ReplyLostError:
    """The prompt's echo is nowhere in the pane, scrollback included: the reply outgrew it
    (``view``: the last look without scrollback)."""
    return ReplyLostError(
        f"{eyes.agent} answered, but its reply is longer than the pane keeps: its start (and the "
        f"prompt's echo) scrolled out of the {view.facts.history_size} lines of scrollback before "
        "it could be read; nothing of it is returned rather than a part (the prompt was delivered)",
        hint="raise tmux's history-limit (e.g. tmux set -g history-limit 50000, for new panes), or "
        f"ask for a shorter answer; its end is on: agent-bridge screen {eyes.agent} --history N",
        state="idle", screen=view.text, host=eyes.tmux.host, target=eyes.pane,
    )  # fmt: skip


async def _transcript_reply(
    eyes: Observer, reader: TranscriptReader, prompt: str, facts: PaneFacts
) -> TranscriptReply | None:
    rules = eyes.profile.transcript
    deadline = time.monotonic() + rules.wait_s
    while True:
        text = await reader.fetch(
            eyes.tmux.transport, pane_pid=facts.pid, cwd=facts.current_path, rules=rules,
            session_id=facts.session_id,
        )  # fmt: skip
        found = reader.reply_after(text, prompt) if text else None
        if found is not None:
            found = dataclasses.replace(found, transcript=text or "")
        if found is not None and found.complete:
            return found
        if time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.1)
