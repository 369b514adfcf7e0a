"""What the bridge did and saw, for whoever keeps the record (the hub's event log).

Every operation that acts on an agent (:data:`RECORDED`: an ask and its reply, an approval, a model
switch, a start or restart, typed text or keys) becomes one record when it ends, with its outcome;
the hub adds who did it (the token's identity) and when. Recording never slows or fails the
operation: records are sent in the background and a hub that does not answer loses them (logged).

Texts (prompts, replies) are kept whole, or as their size and SHA-256 with ``log_text = false``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from bridge.errors import AgentTimeoutError, BridgeError, PermissionPendingError

__all__ = ["HOOKS", "RECORDED", "REPORTED", "Recorder", "Send", "record_of"]

log = logging.getLogger("bridge.evidence")

RECORDED = frozenset({"ask", "approve", "model", "restart", "start", "send", "keys"})
# Events a client reports as they are (no operation behind them): a swarm's task leases,
# dispatches, completions and failures (data: plan, task, worker, outcome, ...).
REPORTED = frozenset({"task"})
Send = Callable[[str, "str | None", dict[str, Any]], Awaitable[None]]
FLUSH_S = 3.0
# Called with every new Bridge (unless made with ``hooks=False``): the CLI adds the one that gives
# a Bridge whose registry names a hub a Recorder sending there (bridge.hub.evidence.connect).
HOOKS: list[Callable[[Any], None]] = []


def _text(text: str, keep: bool) -> dict[str, Any]:
    if keep:
        return {"text": text}
    return {"size": len(text.encode()), "sha256": hashlib.sha256(text.encode()).hexdigest()}


def _outcome(error: BridgeError) -> str:
    if isinstance(error, PermissionPendingError):
        return "permission"
    if isinstance(error, AgentTimeoutError):
        return "timeout"
    return "error"


def record_of(
    name: str,
    args: dict[str, Any],
    result: Any = None,
    error: BridgeError | None = None,
    *,
    keep_text: bool = True,
) -> dict[str, Any]:
    """The record of operation ``name`` called with ``args`` that returned ``result`` (its JSON)
    or failed with ``error``."""
    data: dict[str, Any] = {}
    if name == "ask":
        data["prompt"] = _text(str(args.get("prompt", "")), keep_text)
        if args.get("model"):
            data["model_asked"] = args["model"]
    elif name == "approve":
        data["answer"] = args.get("answer")
    elif name == "model":
        data["model_asked"] = args.get("name")
    elif name == "send":
        data["typed"] = _text(str(args.get("text", "")), keep_text)
    elif name == "keys":
        data["keys"] = args.get("keys")
    if error is not None:
        data.update(
            outcome=_outcome(error),
            error=type(error).__name__,
            detail=str(error)[:500],
            exit_code=error.exit_code,
            state=getattr(error, "state", None),
        )
        return data
    data["outcome"] = "ok"
    if isinstance(result, dict):
        if name in ("ask", "approve") and "reply" in result:
            data.update(
                outcome="replied",
                reply=_text(str(result["reply"]), keep_text),
                source=result.get("source"),
                model=result.get("model"),
                elapsed_s=result.get("elapsed_s"),
            )
        for key in ("model", "state", "session_id", "started"):
            if key in result and key not in data:
                data[key] = result[key]
    return data


class Recorder:
    """Sends records in the background (``send``: e.g. a POST to the hub); :meth:`flush` waits a
    little for the ones still on their way (a CLI call ends right after its operation)."""

    def __init__(
        self, send: Send, *, keep_text: bool = True, close: Callable[[], Awaitable[None]] | None = None
    ) -> None:
        self.send = send
        self.keep_text = keep_text
        self._close = close
        self._pending: set[asyncio.Task[None]] = set()

    def record(
        self,
        name: str,
        agent: str | None,
        args: dict[str, Any],
        result: Any = None,
        error: BridgeError | None = None,
    ) -> None:
        if name not in RECORDED:
            return
        data = record_of(name, args, result, error, keep_text=self.keep_text)
        task = asyncio.get_running_loop().create_task(self._send(name, agent, data))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    def event(self, kind: str, agent: str | None, data: dict[str, Any]) -> None:
        """Send an event of a :data:`REPORTED` kind as it is, in the background."""
        if kind not in REPORTED:
            raise ValueError(f"not a reported event kind: {kind!r}")
        task = asyncio.get_running_loop().create_task(self._send(kind, agent, data))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _send(self, kind: str, agent: str | None, data: dict[str, Any]) -> None:
        try:
            await self.send(kind, agent, data)
        except (BridgeError, OSError) as exc:
            log.info("the record of %s on %s was not kept: %s", kind, agent, exc)

    async def flush(self, timeout: float = FLUSH_S) -> None:
        """Wait (bounded) for the records still being sent, then close the sender."""
        if self._pending:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await asyncio.gather(*self._pending, return_exceptions=True)
        if self._close is not None:
            await self._close()
