"""The requests that both the full CLI and its fast path send, built in one place.

Each is the JSON of a :mod:`bridge.ops` request model (``AskRequest``, ``StateRequest``): the broker,
or :func:`bridge.ops.call` in this process, validates it into that model. Built as plain dicts
because the fast path must not import pydantic (~50 ms of every call).
"""

from __future__ import annotations

from typing import Any


def ask_request(
    agent: str, prompt: str, *, timeout: float | None = None, model: str | None = None,
    strip_controls: bool = False,
) -> dict[str, Any]:  # fmt: skip
    """The ``ask`` request (the JSON of :class:`bridge.ops.AskRequest`), for both paths."""
    return {"agent": agent, "prompt": prompt, "timeout": timeout, "model": model,
            "strip_controls": strip_controls}  # fmt: skip


def state_request(agent: str) -> dict[str, Any]:
    """The ``state`` request (the JSON of :class:`bridge.ops.StateRequest`), for both paths."""
    return {"agent": agent}
