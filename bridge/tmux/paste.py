"""Typing text into a pane exactly, as one bracketed paste, over either path.

On the exec path (:meth:`bridge.tmux.commands.Tmux.paste`) the text travels on stdin to
``load-buffer``; over a control channel (:func:`paste_via_control`) as quoted ``set-buffer`` lines
(``set-buffer`` with an empty string is a no-op: the buffer is not created). Either way the one
line :func:`paste_buffer` pastes it, guarded by tmux itself: tmux 3.3a's server crashes on a paste
into a dead pane (taking every agent of that server with it), 3.4+ refuses it ("target pane has
exited"), so every paste checks the pane first and says why it typed nothing
(:func:`refused_if_changed`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from bridge.errors import AgentNotReadyError, PaneChangedError, TargetNotFoundError
from bridge.tmux.channel import DEFAULT_TIMEOUT, ControlChannel
from bridge.tmux.failures import failure
from bridge.tmux.protocol import Chain, IfFormat
from bridge.transport.base import Completed

CHANGED = "agent-bridge-pane-changed"  # what a guarded paste prints when it typed nothing
DEAD = "agent-bridge-pane-dead"  # ... when the pane was dead
MISSING = "agent-bridge-pane-missing"  # ... when there is no such pane
ALIVE = "#{==:#{pane_dead},0}"  # the least a paste checks (see paste_buffer)


async def paste_via_control(
    channel: ControlChannel,
    pane: str,
    text: str,
    *,
    chunk: int = 16384,
    then: Sequence[str] = (),
    only_if: str | None = None,
) -> None:
    """Type ``text`` exactly into ``pane`` as one bracketed paste, in ONE round trip.

    ``set-buffer`` (then ``set-buffer -a`` per further ``chunk`` characters) fills a uniquely
    named buffer and ``paste-buffer -p -r -d`` pastes it (bracketed when the program asked for
    it, LF kept, buffer deleted), all written at once; ``then`` keys (e.g. ``Enter``) are pressed
    right after, in the same write, if the paste worked. Empty text pastes nothing.

    ``only_if``: a tmux format, expanded for the pane when the paste is due; unless it is true,
    nothing is typed, the buffer is deleted and :class:`~bridge.errors.PaneChangedError` raised.
    """
    if not text:
        return
    if chunk < 1:
        raise ValueError("chunk must be positive")
    name = f"agent-bridge-{uuid.uuid4().hex[:12]}"
    pieces = [text[i : i + chunk] for i in range(0, len(text), chunk)]
    commands: list[tuple[str, ...] | Chain | IfFormat] = [("set-buffer", "-b", name, "--", pieces[0])]
    commands += [("set-buffer", "-a", "-b", name, "--", piece) for piece in pieces[1:]]
    commands.append(paste_buffer(name, pane, then=then, only_if=only_if))
    results = await channel.commands(commands, timeout=max(DEFAULT_TIMEOUT, len(text) / 100_000))
    failed = next((r for r in results if not r.ok), None)
    if failed is not None:
        await channel.command("delete-buffer", "-b", name)  # whatever was set; an error is fine
        raise failure(channel.host, failed, pane)
    refused_if_changed(results[-1], host=channel.host, pane=pane)


def paste_buffer(
    name: str, pane: str, *, then: Sequence[str] = (), only_if: str | None = None
) -> IfFormat:
    """The one tmux line that pastes buffer ``name`` into ``pane`` (deleting it) and presses the
    ``then`` keys, for the control and the exec path alike.

    Always an :class:`IfFormat`: tmux checks the pane and pastes (then the keys, only if the paste
    worked), or deletes the buffer and prints :data:`MISSING`, :data:`DEAD` or :data:`CHANGED`,
    with nothing in between (see :func:`refused_if_changed`). The check is ``only_if`` (the facts
    of the last look, :func:`bridge.tmux.facts.same_as`, which include "alive") or at least
    :data:`ALIVE`: tmux 3.3a's server crashes on a paste into a dead pane, taking every agent of
    that server with it.
    """
    paste = ("paste-buffer", "-p", "-r", "-d", "-b", name, "-t", pane)
    keys = ("send-keys", "-t", pane, *then)  # no keys: a no-op
    said = f"#{{?pane_id,#{{?pane_dead,{DEAD},{CHANGED}}},{MISSING}}}"
    otherwise = (("delete-buffer", "-b", name), ("display-message", "-p", "-t", pane, said))
    return IfFormat(pane, only_if or ALIVE, (paste, keys), otherwise)


def refused_if_changed(result: Completed, *, host: str, pane: str) -> None:
    """Raise if a :func:`paste_buffer` typed nothing: :class:`TargetNotFoundError` for no pane,
    :class:`AgentNotReadyError` (state ``dead``) for a dead one, :class:`PaneChangedError` for one
    that changed since the last look."""
    said = result.stdout.split()
    if MISSING in said:
        raise TargetNotFoundError(
            f"tmux target {pane} not found on {host}; nothing was typed",
            hint="check the agent's target in the registry, or run: agent-bridge start AGENT",
            host=host,
            target=pane,
        )
    if DEAD in said:
        raise AgentNotReadyError(
            f"the pane {pane} on {host} is dead (its program exited); nothing was typed",
            hint="run: agent-bridge restart AGENT",
            host=host,
            target=pane,
            state="dead",
        )
    if CHANGED in said:
        raise PaneChangedError(f"pane {pane} changed since it was last seen; nothing was typed",
                               host=host, target=pane)  # fmt: skip
