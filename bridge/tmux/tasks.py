"""Ending the task that reads a long-lived process (the control channel's, the lock holder's)."""

from __future__ import annotations

import asyncio


async def finish(task: asyncio.Task[None], timeout: float) -> None:
    """Let ``task`` end within ``timeout`` seconds, else cancel it; its outcome is not raised.

    Unlike ``suppress(CancelledError)`` around an await, a cancellation of the *caller* (Ctrl-C
    while closing) still goes through.
    """
    if not (await asyncio.wait({task}, timeout=timeout))[0]:
        task.cancel()
        await asyncio.wait({task}, timeout=timeout)
    if task.done() and not task.cancelled():
        task.exception()
