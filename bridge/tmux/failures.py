"""What a failed tmux command means, as an error of the tree: THE one mapper of tmux's messages.

Every failed tmux command, run by exec (:meth:`bridge.tmux.commands.Tmux.run`) or over a control
channel (:mod:`bridge.tmux.channel`, :mod:`bridge.tmux.paste`), becomes an error here
(:func:`failure`), and so does a control client that could not attach or that ended.

Facts verified on tmux 3.3a and 3.5a:

* A missing target or server says one of ``can't find``, ``no server running``, ``error
  connecting to``, ``no such``, ``no sessions`` (the last line of stderr, or of a ``%error`` block).
* tmux 3.4+ refuses ``paste-buffer`` into a dead pane ("target pane has exited"); 3.3a's server
  crashes on it instead, so a paste is always guarded (:func:`bridge.tmux.paste.paste_buffer`).
* tmux missing on the host: exit 127 or "command not found" from the login shell, or, for a
  control client, that shell's "not found" before any block arrived.
"""

from __future__ import annotations

from bridge.errors import (
    AgentNotReadyError,
    BridgeError,
    CommandError,
    HostUnreachableError,
    TargetNotFoundError,
)
from bridge.transport.base import Completed

_MISSING = ("can't find", "no server running", "error connecting to", "no such", "no sessions")


def failure(host: str, result: Completed, target: str | None) -> BridgeError:
    """THE mapping of a failed tmux command (exec or control) to an error of the tree.

    A missing target or server is :class:`TargetNotFoundError`; a dead pane (tmux 3.4+ refuses
    ``paste-buffer`` into one: "target pane has exited") is :class:`AgentNotReadyError` in state
    ``dead``; tmux not installed gets that hint; anything else is :class:`CommandError`.
    """
    err = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else ""
    if any(marker in err for marker in _MISSING):
        return TargetNotFoundError(
            f"tmux target {target or '?'} not found on {host}: {err}",
            hint="check the agent's target in the registry, or run: agent-bridge start AGENT",
            host=host,
            target=target,
        )
    if "pane has exited" in err:
        return AgentNotReadyError(
            f"the pane {target or '?'} on {host} is dead (its program exited): {err}",
            hint="run: agent-bridge restart AGENT",
            host=host,
            target=target,
            state="dead",
        )
    hint = f"install tmux on {host}" if result.exit_status == 127 or "command not found" in err else None
    return CommandError(
        f"tmux failed on {host} (exit {result.exit_status}): {err or 'no message'}",
        hint=hint,
        argv=list(result.argv),
        exit_status=result.exit_status,
        stderr=result.stderr,
        host=host,
        target=target,
    )


def attach_failure(host: str, session: str, said: str, *, before_tmux: bool = False) -> BridgeError:
    """Why a control client could not attach to ``session``, from what it ``said``.

    ``before_tmux``: the client ended before tmux answered at all, so ``said`` is what the host's
    shell printed (``tmux: not found``: tmux is not usable there); else it is tmux's own refusal.
    """
    if before_tmux and "not found" in said:
        return BridgeError(
            f"tmux is not usable on {host}: {said}",
            hint=f"install tmux on {host}",
            host=host,
        )
    return TargetNotFoundError(
        f"cannot attach a tmux control client to session {session} on {host}: {said or 'it is gone'}",
        hint="is the session (and the tmux server) running?",
        host=host,
        target=session,
    )


def channel_ended(host: str, said: str, *, exited: bool, remote: bool) -> BridgeError:
    """A control client's output ended, after ``%exit`` (``exited``) or without one; ``said`` is
    its exit reason or its last stray lines. Over SSH an end without ``%exit`` is the link."""
    if not exited and remote:
        return HostUnreachableError(
            f"the tmux control channel to {host} ended without %exit" + (f": {said}" if said else ""),
            hint=f"try again; if it persists: agent-bridge doctor {host}",
            host=host,
        )
    return BridgeError(
        f"tmux control client on {host} exited" + (f": {said}" if said else "")
        + " (tmux server killed, or session gone?)",
        host=host,
    )


def channel_lost(host: str, exc: BaseException, *, remote: bool) -> BridgeError:
    """Reading or writing a control channel failed with ``exc`` (an error of the tree stays one)."""
    if isinstance(exc, BridgeError):
        return exc
    reason = str(exc) or type(exc).__name__
    if remote:
        return HostUnreachableError(
            f"lost the tmux control channel to {host}: {reason}",
            hint=f"try again; if it persists: agent-bridge doctor {host}",
            host=host,
        )
    return BridgeError(f"lost the tmux control channel on {host}: {reason}", host=host)
